//! The 32-byte key of the encrypted-file vault: where it lives (outside the
//! data folder), how it is created (once, atomically, owner-only) and the
//! checks made before trusting it (exact size, not readable by others).

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::fsutil::{create_private, ensure_private_dir, read_optional};
use crate::config::local;
use crate::{AppError, ErrorCode};

/// Environment variable naming the key file (default: [`default_key_path`]).
pub const KEY_FILE_ENV: &str = "AMOSYNC_KEY_FILE";

/// Size of the key in bytes.
pub(crate) const KEY_LEN: usize = 32;

/// `$AMOSYNC_KEY_FILE` if set, else a per-user place that is never the
/// default data folder: `~/.config/amosync/vault.key` on Linux,
/// `~/Library/Application Support/amosync-key/vault.key` on macOS (the data
/// folder is `.../amosync` there), `%LOCALAPPDATA%\amosync\vault.key` on
/// Windows (not roamed, unlike the data folder in `%APPDATA%`).
pub fn default_key_path() -> Result<PathBuf, AppError> {
    if let Some(env) = std::env::var_os(KEY_FILE_ENV).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(env));
    }
    #[cfg(windows)]
    let folder = dirs::config_local_dir().map(|base| base.join("amosync"));
    #[cfg(target_os = "macos")]
    let folder = dirs::config_dir().map(|base| base.join("amosync-key"));
    #[cfg(not(any(windows, target_os = "macos")))]
    let folder = dirs::config_dir().map(|base| base.join("amosync"));
    match folder {
        Some(folder) => Ok(folder.join("vault.key")),
        None => Err(local(format!(
            "no configuration directory is known for this user; set {KEY_FILE_ENV}=PATH \
             (outside the data folder) for the key of the encrypted secrets"
        ))),
    }
}

/// The key bytes, wiped from memory on drop; `Debug` prints `***`.
pub(crate) struct VaultKey(Zeroizing<[u8; KEY_LEN]>);

impl std::fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VaultKey(***)")
    }
}

impl VaultKey {
    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

/// The key at `path`; `None` when the file does not exist.
pub(crate) fn load_key(path: &Path) -> Result<Option<VaultKey>, AppError> {
    let Some(bytes) = read_optional(path)? else {
        return Ok(None);
    };
    let bytes = Zeroizing::new(bytes);
    check_private(path)?;
    let Ok(array) = <[u8; KEY_LEN]>::try_from(bytes.as_slice()) else {
        return Err(AppError::new(
            ErrorCode::NotConnected,
            format!(
                "{} is not an AmoSync vault key (it must hold exactly {KEY_LEN} bytes); \
                 move it aside and run `amosync connect` again",
                path.display()
            ),
        ));
    };
    Ok(Some(VaultKey(Zeroizing::new(array))))
}

/// The key at `path`, created (random, owner-only, in a 0700 folder) when absent.
pub(crate) fn load_or_create_key(path: &Path) -> Result<VaultKey, AppError> {
    if let Some(key) = load_key(path)? {
        return Ok(key);
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        ensure_private_dir(parent)?;
    }
    let mut fresh = Zeroizing::new([0u8; KEY_LEN]);
    rand::fill(fresh.as_mut_slice());
    // Another process may have created it meanwhile: then its key is the one.
    create_private(path, fresh.as_slice())?;
    load_key(path)?.ok_or_else(|| {
        local(format!(
            "the vault key {} vanished right after it was written; try again",
            path.display()
        ))
    })
}

/// Refuses a key file other users can read or write (Unix).
fn check_private(path: &Path) -> Result<(), AppError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| local(format!("cannot read {} ({e})", path.display())))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(AppError::new(
                ErrorCode::Local,
                format!(
                    "the vault key {} can be used by other users (mode {:o}); run `chmod 600 {}` and try again",
                    path.display(),
                    mode & 0o777,
                    path.display()
                ),
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_reused() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("cfg").join("amosync").join("vault.key");
        assert!(load_key(&path).unwrap().is_none());
        let first = load_or_create_key(&path).unwrap();
        let again = load_or_create_key(&path).unwrap();
        assert_eq!(first.bytes(), again.bytes());
        assert_ne!(first.bytes(), &[0u8; KEY_LEN]);
        assert_eq!(std::fs::read(&path).unwrap().len(), KEY_LEN);
        assert_eq!(format!("{first:?}"), "VaultKey(***)");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(path.parent().unwrap()), 0o700);
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_key_others_can_read_is_refused_with_the_fix() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("vault.key");
        load_or_create_key(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = load_key(&path).unwrap_err();
        assert!(
            err.message
                .contains(&format!("chmod 600 {}", path.display())),
            "{}",
            err.message
        );
        assert!(
            load_or_create_key(&path).is_err(),
            "never replaced silently"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(load_key(&path).unwrap().is_some());
    }

    #[test]
    fn a_file_of_the_wrong_size_is_not_a_key() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("vault.key");
        create_private(&path, b"short").unwrap();
        let err = load_key(&path).unwrap_err();
        assert_eq!(err.code, ErrorCode::NotConnected);
        assert!(err.message.contains("amosync connect"), "{}", err.message);
    }
}
