//! The OS-keychain vault: one entry per data folder (service `amosync`, user
//! `data:<canonical path>`) in the Secret Service (Linux/BSD, over pure-Rust
//! zbus), the macOS Keychain or the Windows Credential Manager.
//!
//! Every call runs on its own thread and is waited for a bounded time, so a
//! missing D-Bus session, a keychain daemon that never answers or an unlock
//! prompt nobody sees can never hang the caller. `DATA/vault.json` records
//! (without any secret) that this folder's secrets are in the keychain, so a
//! keychain that is unavailable for a while is reported, not silently replaced.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use amo::Secret;
use keyring_core::{CredentialStore, Entry, Error as KeyringError};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{SecretVault, VaultBackend, VaultLocation, fsutil};
use crate::config::{DataDir, local, read_json, write_json_atomic};
use crate::{AppError, ErrorCode};

/// The keychain service name of every AmoSync entry.
pub const SERVICE: &str = "amosync";

/// How long a load, save or delete may wait for the keychain (an unlock
/// prompt on a desktop needs a person).
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the probe of [`super::open_vault`] may take.
pub(crate) const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// File in the data folder saying the secrets are in the keychain.
pub const MARKER_FILE: &str = "vault.json";

/// The keychain entry of one data folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeychainVault {
    user: String,
    marker: PathBuf,
    timeout: Duration,
}

impl KeychainVault {
    /// The entry of `data` (service `amosync`, user `data:<canonical path>`).
    pub fn for_data(data: &DataDir) -> KeychainVault {
        KeychainVault {
            user: data_user(data.root()),
            marker: data.root().join(MARKER_FILE),
            timeout: CALL_TIMEOUT,
        }
    }

    /// The entry's user name (`data:<canonical path>`).
    pub fn user(&self) -> &str {
        &self.user
    }

    fn unavailable(&self, what: &str, reason: &str) -> AppError {
        AppError::new(
            ErrorCode::Local,
            format!(
                "cannot {what} the secrets in the {} ({reason}); unlock the keychain and try again, \
                 or set AMOSYNC_VAULT=file and run `amosync connect` again",
                store_name()
            ),
        )
    }

    fn write_marker(&self) -> Result<(), AppError> {
        let marker = Marker {
            version: 1,
            backend: VaultBackend::Keychain,
            service: SERVICE.into(),
            user: self.user.clone(),
        };
        write_json_atomic(&self.marker, &marker, true)
    }
}

/// `DATA/vault.json`: where the secrets are, never what they are.
#[derive(Serialize, Deserialize)]
struct Marker {
    version: u32,
    backend: VaultBackend,
    service: String,
    user: String,
}

/// Whether `DATA/vault.json` says this folder's secrets are in the keychain.
pub(crate) fn marker_says_keychain(data: &DataDir) -> bool {
    matches!(
        read_json::<Marker>(&data.root().join(MARKER_FILE)),
        Ok(Some(Marker {
            backend: VaultBackend::Keychain,
            ..
        }))
    )
}

/// `data:` + the canonical path of `root` (stable before and after the
/// folder is created, see [`fsutil::canonical_lenient`]).
fn data_user(root: &Path) -> String {
    format!("data:{}", fsutil::canonical_lenient(root).display())
}

#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
mod platform {
    use super::*;
    use std::collections::HashMap;

    pub(super) const NAME: &str = "Secret Service";

    /// No D-Bus session bus to talk to: say so at once rather than trying.
    pub(super) fn missing_session() -> Option<String> {
        let has = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        if has("DBUS_SESSION_BUS_ADDRESS") {
            return None;
        }
        match std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
            Some(dir) if Path::new(&dir).join("bus").exists() => None,
            _ => Some("no D-Bus session: DBUS_SESSION_BUS_ADDRESS is not set".into()),
        }
    }

    pub(super) fn connect() -> keyring_core::Result<Arc<CredentialStore>> {
        Ok(zbus_secret_service_keyring_store::Store::new()?)
    }

    pub(super) fn build(store: &CredentialStore, user: &str) -> keyring_core::Result<Entry> {
        let label = format!("AmoSync secrets ({user})");
        let modifiers = HashMap::from([("label", label.as_str())]);
        store.build(SERVICE, user, Some(&modifiers))
    }
}

#[cfg(target_os = "macos")]
mod platform {
    use super::*;

    pub(super) const NAME: &str = "macOS Keychain";

    pub(super) fn missing_session() -> Option<String> {
        None
    }

    pub(super) fn connect() -> keyring_core::Result<Arc<CredentialStore>> {
        Ok(apple_native_keyring_store::keychain::Store::new()?)
    }

    pub(super) fn build(store: &CredentialStore, user: &str) -> keyring_core::Result<Entry> {
        store.build(SERVICE, user, None)
    }
}

#[cfg(windows)]
mod platform {
    use super::*;

    pub(super) const NAME: &str = "Windows Credential Manager";

    pub(super) fn missing_session() -> Option<String> {
        None
    }

    pub(super) fn connect() -> keyring_core::Result<Arc<CredentialStore>> {
        Ok(windows_native_keyring_store::Store::new()?)
    }

    pub(super) fn build(store: &CredentialStore, user: &str) -> keyring_core::Result<Entry> {
        store.build(SERVICE, user, None)
    }
}

#[cfg(not(any(windows, all(unix, not(any(target_os = "ios", target_os = "android"))))))]
mod platform {
    use super::*;

    pub(super) const NAME: &str = "keychain";

    pub(super) fn missing_session() -> Option<String> {
        Some("no keychain is supported on this platform".into())
    }

    pub(super) fn connect() -> keyring_core::Result<Arc<CredentialStore>> {
        Err(KeyringError::NotSupportedByStore(
            "no keychain is supported on this platform".into(),
        ))
    }

    pub(super) fn build(store: &CredentialStore, user: &str) -> keyring_core::Result<Entry> {
        store.build(SERVICE, user, None)
    }
}

fn store_name() -> &'static str {
    platform::NAME
}

/// The entry of `user` in a fresh connection to the keychain.
fn open_entry(user: &str) -> keyring_core::Result<Entry> {
    if let Some(reason) = platform::missing_session() {
        return Err(KeyringError::NoStorageAccess(reason.into()));
    }
    let store = platform::connect()?;
    platform::build(store.as_ref(), user)
}

/// What a keychain error says, without any value it may carry.
fn describe(err: &KeyringError) -> String {
    match err {
        KeyringError::NoStorageAccess(e) => format!("no access: {e}"),
        KeyringError::PlatformFailure(e) => format!("it failed: {e}"),
        KeyringError::NoEntry => "no such entry".into(),
        KeyringError::BadEncoding(_) | KeyringError::BadDataFormat(..) => {
            "the entry holds damaged data".into()
        }
        KeyringError::Ambiguous(entries) => format!("{} entries match", entries.len()),
        KeyringError::TooLong(name, limit) => format!("{name} is longer than {limit}"),
        KeyringError::Invalid(name, reason) => format!("{name} is invalid: {reason}"),
        KeyringError::NoDefaultStore => "no keychain is set up".into(),
        KeyringError::NotSupportedByStore(what) => format!("not supported: {what}"),
        KeyringError::BadStoreFormat(reason) => format!("damaged keychain: {reason}"),
        _ => "an unexpected keychain error".into(),
    }
}

/// Runs `job` on its own thread and waits at most `within` for it; a job
/// still running then is left behind (it can only end or block, never
/// report). `Err` says why no result came.
fn bounded<T: Send + 'static>(
    within: Duration,
    job: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("amosync-keychain".into())
        .spawn(move || {
            let _ = tx.send(job());
        })
        .map_err(|e| format!("cannot start a thread: {e}"))?;
    rx.recv_timeout(within)
        .map_err(|_| format!("no answer within {} s", within.as_secs()))
}

/// What the probe of [`super::open_vault`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Probe {
    /// The keychain answers and already holds this folder's document.
    HasDocument,
    /// The keychain answers: a probe entry was written, read back and deleted.
    Available,
    /// No usable keychain (the reason, for logs; never a value).
    Unavailable(String),
}

/// Checks, within `within`, that the keychain can keep `vault`'s entry.
pub(crate) fn probe(vault: &KeychainVault, within: Duration) -> Probe {
    if let Some(reason) = platform::missing_session() {
        return Probe::Unavailable(reason);
    }
    let user = vault.user.clone();
    let outcome = bounded(within, move || -> Result<Probe, KeyringError> {
        match open_entry(&user)?.get_secret() {
            Ok(_) | Err(KeyringError::Ambiguous(_)) => return Ok(Probe::HasDocument),
            Err(KeyringError::NoEntry) => {}
            Err(e) => return Err(e),
        }
        let token: [u8; 16] = rand::random();
        let value: String = token.iter().map(|b| format!("{b:02x}")).collect();
        let probe = open_entry(&format!("probe:{value}"))?;
        probe.set_secret(value.as_bytes())?;
        let back = probe.get_secret();
        probe.delete_credential()?;
        if back? != value.as_bytes() {
            return Ok(Probe::Unavailable(
                "the keychain returned another value than the one written".into(),
            ));
        }
        Ok(Probe::Available)
    });
    match outcome {
        Ok(Ok(probe)) => probe,
        Ok(Err(e)) => Probe::Unavailable(describe(&e)),
        Err(reason) => Probe::Unavailable(reason),
    }
}

impl SecretVault for KeychainVault {
    fn load(&self) -> Result<Option<Secret>, AppError> {
        let user = self.user.clone();
        let outcome = bounded(self.timeout, move || {
            open_entry(&user)?.get_secret().map(Zeroizing::new)
        })
        .map_err(|reason| self.unavailable("read", &reason))?;
        let bytes = match outcome {
            Ok(bytes) => bytes,
            Err(KeyringError::NoEntry) => return Ok(None),
            Err(KeyringError::Ambiguous(entries)) => {
                return Err(AppError::new(
                    ErrorCode::NotConnected,
                    format!(
                        "{} entries of the {} hold the secrets of {}; run `amosync connect` again",
                        entries.len(),
                        store_name(),
                        self.user
                    ),
                ));
            }
            Err(e) => return Err(self.unavailable("read", &describe(&e))),
        };
        match std::str::from_utf8(&bytes) {
            Ok(text) => Ok(Some(Secret::new(text.to_owned()))),
            Err(_) => Err(AppError::new(
                ErrorCode::NotConnected,
                format!(
                    "the {} entry {SERVICE} / {} holds damaged data; run `amosync connect` again",
                    store_name(),
                    self.user
                ),
            )),
        }
    }

    fn save(&self, document: &Secret) -> Result<(), AppError> {
        let user = self.user.clone();
        let bytes = Zeroizing::new(document.expose().as_bytes().to_vec());
        let outcome = bounded(self.timeout, move || {
            let entry = open_entry(&user)?;
            match entry.set_secret(&bytes) {
                Err(KeyringError::Ambiguous(entries)) => {
                    // Duplicates (another tool's copies): keep exactly one.
                    for duplicate in entries {
                        duplicate.delete_credential()?;
                    }
                    entry.set_secret(&bytes)
                }
                other => other,
            }
        })
        .map_err(|reason| self.unavailable("save", &reason))?;
        outcome.map_err(|e| self.unavailable("save", &describe(&e)))?;
        if let Some(parent) = self.marker.parent() {
            fsutil::ensure_private_dir(parent)?;
        }
        self.write_marker()
    }

    fn delete(&self) -> Result<(), AppError> {
        let user = self.user.clone();
        let outcome = bounded(self.timeout, move || {
            let entry = open_entry(&user)?;
            match entry.delete_credential() {
                Err(KeyringError::NoEntry) => Ok(()),
                Err(KeyringError::Ambiguous(entries)) => {
                    entries.iter().try_for_each(Entry::delete_credential)
                }
                other => other,
            }
        })
        .map_err(|reason| self.unavailable("delete", &reason))?;
        outcome.map_err(|e| self.unavailable("delete", &describe(&e)))?;
        match std::fs::remove_file(&self.marker) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(local(format!(
                "cannot remove {} ({e}); remove it by hand",
                self.marker.display()
            ))),
        }
    }

    fn location(&self) -> VaultLocation {
        VaultLocation {
            backend: VaultBackend::Keychain,
            location: format!("{}: {SERVICE} / {}", store_name(), self.user),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entry_user_is_stable_before_and_after_the_folder_exists() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("not").join("yet");
        let before = KeychainVault::for_data(&DataDir::new(&root));
        std::fs::create_dir_all(&root).unwrap();
        let after = KeychainVault::for_data(&DataDir::new(&root));
        assert_eq!(before.user(), after.user());
        let canonical = root.canonicalize().unwrap();
        assert_eq!(after.user(), format!("data:{}", canonical.display()));
        let dotted = KeychainVault::for_data(&DataDir::new(root.join("..").join("yet")));
        assert_eq!(dotted.user(), after.user());
    }

    #[test]
    fn the_location_names_the_entry_not_a_value() {
        let tmp = tempfile::tempdir().unwrap();
        let vault = KeychainVault::for_data(&DataDir::new(tmp.path()));
        let location = vault.location();
        assert_eq!(location.backend, VaultBackend::Keychain);
        assert!(
            location.location.contains("amosync / data:"),
            "{location:?}"
        );
        assert!(location.location.starts_with(store_name()));
    }

    #[test]
    fn bounded_waits_no_longer_than_told() {
        let started = std::time::Instant::now();
        let slow = bounded(Duration::from_millis(50), || {
            std::thread::sleep(Duration::from_secs(3));
            1
        });
        assert!(slow.unwrap_err().contains("no answer"));
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(bounded(Duration::from_secs(5), || 7), Ok(7));
    }

    #[test]
    fn errors_are_described_without_the_bytes_they_carry() {
        let text = describe(&KeyringError::BadEncoding(b"tok-very-secret".to_vec()));
        assert!(!text.contains("tok-very"), "{text}");
        let text = describe(&KeyringError::BadDataFormat(
            b"tok-very-secret".to_vec(),
            "x".into(),
        ));
        assert!(!text.contains("tok-very"), "{text}");
    }

    #[test]
    fn the_marker_holds_no_secret_and_is_recognised() {
        let tmp = tempfile::tempdir().unwrap();
        let data = DataDir::new(tmp.path());
        assert!(!marker_says_keychain(&data));
        KeychainVault::for_data(&data).write_marker().unwrap();
        assert!(marker_says_keychain(&data));
        let text = std::fs::read_to_string(tmp.path().join(MARKER_FILE)).unwrap();
        assert!(text.contains("\"keychain\""), "{text}");
        std::fs::write(tmp.path().join(MARKER_FILE), "{damaged").unwrap();
        assert!(!marker_says_keychain(&data));
    }
}
