//! The encrypted-file vault: `DATA/secrets.enc`, XChaCha20-Poly1305 under a
//! key kept outside the data folder (see [`super::key`]).
//!
//! ```text
//! offset 0   8 bytes   "AMSVAULT"
//! offset 8   1 byte    format version (1)
//! offset 9   24 bytes  random nonce, new on every write
//! offset 33  ...       ciphertext + 16-byte tag; the first 9 bytes are the associated data
//! ```
//!
//! The data folder's path is not bound in: a folder moved to another place
//! on the same machine keeps working (the key is what stays behind).

use std::path::{Path, PathBuf};

use amo::Secret;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use super::fsutil::{ensure_private_dir, read_optional, replace_private};
use super::key::{VaultKey, load_key, load_or_create_key};
use super::{SecretVault, VaultBackend, VaultLocation};
use crate::config::{DataDir, local};
use crate::{AppError, ErrorCode};

const MAGIC: &[u8; 8] = b"AMSVAULT";
const VERSION: u8 = 1;
const HEADER_LEN: usize = MAGIC.len() + 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// File name of the encrypted secrets inside the data folder.
pub const SECRETS_FILE: &str = "secrets.enc";

/// `DATA/secrets.enc`, readable only with the key at `key_path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedFileVault {
    path: PathBuf,
    key_path: PathBuf,
}

impl EncryptedFileVault {
    /// A vault at `path` whose key is (or will be created) at `key_path`.
    pub fn new(path: impl Into<PathBuf>, key_path: impl Into<PathBuf>) -> EncryptedFileVault {
        EncryptedFileVault {
            path: path.into(),
            key_path: key_path.into(),
        }
    }

    /// `DATA/secrets.enc` with the key at `key_path`.
    pub fn for_data(data: &DataDir, key_path: impl Into<PathBuf>) -> EncryptedFileVault {
        EncryptedFileVault::new(data.root().join(SECRETS_FILE), key_path)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn key_path(&self) -> &Path {
        &self.key_path
    }

    /// Whether the file exists (it then holds a document or is damaged).
    pub fn holds_document(&self) -> bool {
        self.path.exists()
    }

    fn undecryptable(&self) -> AppError {
        AppError::new(
            ErrorCode::NotConnected,
            format!(
                "the secrets in {} cannot be decrypted with {}; run `amosync connect` again",
                self.path.display(),
                self.key_path.display()
            ),
        )
    }

    fn open(&self, bytes: &[u8], key: &VaultKey) -> Result<Secret, AppError> {
        if bytes.len() < HEADER_LEN + NONCE_LEN + TAG_LEN || &bytes[..MAGIC.len()] != MAGIC {
            return Err(AppError::new(
                ErrorCode::NotConnected,
                format!(
                    "{} is not an AmoSync secrets file; move it aside and run `amosync connect` again",
                    self.path.display()
                ),
            ));
        }
        let version = bytes[MAGIC.len()];
        if version != VERSION {
            return Err(local(format!(
                "{} was written by another version of AmoSync (format {version}); \
                 update AmoSync, or move the file aside and run `amosync connect` again",
                self.path.display()
            )));
        }
        let (header, rest) = bytes.split_at(HEADER_LEN);
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| self.undecryptable())?;
        let cipher = cipher(key);
        let plain = Zeroizing::new(
            cipher
                .decrypt(
                    &nonce,
                    Payload {
                        msg: ciphertext,
                        aad: header,
                    },
                )
                .map_err(|_| self.undecryptable())?,
        );
        let text = std::str::from_utf8(&plain).map_err(|_| self.undecryptable())?;
        Ok(Secret::new(text.to_owned()))
    }
}

fn cipher(key: &VaultKey) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(&(*key.bytes()).into())
}

impl SecretVault for EncryptedFileVault {
    fn load(&self) -> Result<Option<Secret>, AppError> {
        let Some(bytes) = read_optional(&self.path)? else {
            return Ok(None);
        };
        let Some(key) = load_key(&self.key_path)? else {
            return Err(AppError::new(
                ErrorCode::NotConnected,
                format!(
                    "the secrets in {} cannot be decrypted: their key {} is missing; \
                     run `amosync connect` again",
                    self.path.display(),
                    self.key_path.display()
                ),
            ));
        };
        self.open(&bytes, &key).map(Some)
    }

    fn save(&self, document: &Secret) -> Result<(), AppError> {
        let key = load_or_create_key(&self.key_path)?;
        if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            ensure_private_dir(parent)?;
        }
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce);
        let mut header = [0u8; HEADER_LEN];
        header[..MAGIC.len()].copy_from_slice(MAGIC);
        header[MAGIC.len()] = VERSION;
        let ciphertext = cipher(&key)
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: document.expose().as_bytes(),
                    aad: &header,
                },
            )
            .map_err(|_| local("cannot encrypt the secrets (document too large)"))?;
        let mut bytes = Vec::with_capacity(HEADER_LEN + NONCE_LEN + ciphertext.len());
        bytes.extend_from_slice(&header);
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&ciphertext);
        replace_private(&self.path, &bytes)
    }

    fn delete(&self) -> Result<(), AppError> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(local(format!(
                "cannot remove {} ({e}); remove it by hand",
                self.path.display()
            ))),
        }
    }

    fn location(&self) -> VaultLocation {
        VaultLocation {
            backend: VaultBackend::EncryptedFile,
            location: format!("{} (key {})", self.path.display(), self.key_path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALUE: &str =
        r#"{"token":"tok-very-secret-4242","webhook_secret":"whs-also-secret-777"}"#;

    struct Fixture {
        _tmp: tempfile::TempDir,
        data: PathBuf,
        key: PathBuf,
    }

    fn fixture() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        Fixture {
            data: tmp.path().join("data"),
            key: tmp.path().join("config").join("amosync").join("vault.key"),
            _tmp: tmp,
        }
    }

    fn vault(f: &Fixture) -> EncryptedFileVault {
        EncryptedFileVault::for_data(&DataDir::new(&f.data), &f.key)
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn round_trip_replace_and_delete() {
        let f = fixture();
        let v = vault(&f);
        assert!(v.load().unwrap().is_none());
        assert!(!f.key.exists(), "loading nothing creates no key");
        v.save(&Secret::from(VALUE)).unwrap();
        assert!(v.holds_document());
        assert_eq!(v.load().unwrap().unwrap().expose(), VALUE);
        v.save(&Secret::from("second")).unwrap();
        assert_eq!(v.load().unwrap().unwrap().expose(), "second");
        v.delete().unwrap();
        assert!(v.load().unwrap().is_none());
        v.delete().unwrap();
        assert!(f.key.exists(), "the key is kept for the next connect");
    }

    #[cfg(unix)]
    #[test]
    fn file_and_key_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let f = fixture();
        let v = vault(&f);
        v.save(&Secret::from(VALUE)).unwrap();
        assert_eq!(mode(v.path()), 0o600);
        assert_eq!(mode(&f.key), 0o600);
        assert_eq!(mode(f.key.parent().unwrap()), 0o700);
    }

    #[test]
    fn the_values_never_appear_in_the_file_debug_or_location() {
        let f = fixture();
        let v = vault(&f);
        v.save(&Secret::from(VALUE)).unwrap();
        let raw = std::fs::read(v.path()).unwrap();
        for needle in ["tok-very-secret-4242", "whs-also-secret-777", "token"] {
            assert!(!contains(&raw, needle.as_bytes()), "{needle} in the file");
        }
        let key = std::fs::read(&f.key).unwrap();
        assert!(!contains(&raw, &key), "the key is not in the file");
        let shown = format!("{v:?} {:?} {}", v.location(), v.location().location);
        assert!(!shown.contains("tok-very"), "{shown}");
        assert!(shown.contains("secrets.enc"), "{shown}");
        assert_eq!(v.location().backend, VaultBackend::EncryptedFile);
        // A fresh nonce per write: the same document never gives the same bytes.
        v.save(&Secret::from(VALUE)).unwrap();
        assert_ne!(std::fs::read(v.path()).unwrap(), raw);
    }

    #[test]
    fn tampering_is_a_clear_error_without_values() {
        let f = fixture();
        let v = vault(&f);
        v.save(&Secret::from(VALUE)).unwrap();
        let good = std::fs::read(v.path()).unwrap();
        // Flip one bit in the header, the nonce, the ciphertext and the tag.
        for at in [
            MAGIC.len(),
            HEADER_LEN + 3,
            HEADER_LEN + NONCE_LEN + 2,
            good.len() - 1,
        ] {
            let mut bad = good.clone();
            bad[at] ^= 0x01;
            std::fs::write(v.path(), &bad).unwrap();
            let err = v.load().unwrap_err();
            assert!(!err.message.contains("tok-very"), "{}", err.message);
            assert!(err.message.contains("amosync"), "{}", err.message);
            if at > MAGIC.len() {
                assert_eq!(err.code, ErrorCode::NotConnected);
                assert!(
                    err.message.contains("cannot be decrypted"),
                    "{}",
                    err.message
                );
            }
        }
        std::fs::write(v.path(), &good[..20]).unwrap();
        let err = v.load().unwrap_err();
        assert!(
            err.message.contains("not an AmoSync secrets file"),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_wrong_or_missing_key_is_a_clear_error() {
        let f = fixture();
        let v = vault(&f);
        v.save(&Secret::from(VALUE)).unwrap();
        let other_key = f.key.with_file_name("other.key");
        let wrong = EncryptedFileVault::new(v.path(), &other_key);
        let err = wrong.load().unwrap_err();
        assert_eq!(err.code, ErrorCode::NotConnected);
        assert!(err.message.contains("key"), "{}", err.message);
        assert!(err.message.contains("missing"), "{}", err.message);

        // Another key that exists: the message names both files and the fix.
        wrong.save(&Secret::from("x")).unwrap();
        vault(&f).save(&Secret::from(VALUE)).unwrap();
        let err = EncryptedFileVault::new(v.path(), &other_key)
            .load()
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::NotConnected);
        let expected = format!(
            "the secrets in {} cannot be decrypted with {}; run `amosync connect` again",
            v.path().display(),
            other_key.display()
        );
        assert_eq!(err.message, expected);
    }

    #[test]
    fn a_crash_before_the_rename_leaves_the_old_document() {
        let f = fixture();
        let v = vault(&f);
        v.save(&Secret::from(VALUE)).unwrap();
        // What a crash mid-write leaves: a half-written temp file beside it.
        let leftover = f
            .data
            .join(format!(".{SECRETS_FILE}.999.00000000deadbeef.tmp"));
        std::fs::write(&leftover, b"AMSVAULT\x01half").unwrap();
        assert_eq!(v.load().unwrap().unwrap().expose(), VALUE);
        v.save(&Secret::from("after")).unwrap();
        assert_eq!(v.load().unwrap().unwrap().expose(), "after");
    }

    #[test]
    fn a_newer_format_asks_for_an_update() {
        let f = fixture();
        let v = vault(&f);
        v.save(&Secret::from(VALUE)).unwrap();
        let mut bytes = std::fs::read(v.path()).unwrap();
        bytes[MAGIC.len()] = 9;
        std::fs::write(v.path(), &bytes).unwrap();
        let err = v.load().unwrap_err();
        assert!(err.message.contains("update AmoSync"), "{}", err.message);
    }
}
