//! Moving off the clear `DATA/credentials.json` of earlier builds: read it
//! once for the caller to convert into its vault document, then wipe it.

use std::io::Write;
use std::path::Path;

use amo::Secret;
use zeroize::Zeroizing;

use super::SecretVault;
use super::fsutil::read_optional;
use crate::AppError;
use crate::config::local;

/// The raw content of the old clear credentials file at `plain`, for the
/// caller to convert and [`SecretVault::save`]; `None` when there is no such
/// file, or when `vault` already holds a document (the vault wins: the
/// caller then only calls [`remove_plain_file`]). The file is left in place.
pub fn migrate_plain_file(
    plain: &Path,
    vault: &dyn SecretVault,
) -> Result<Option<Secret>, AppError> {
    if !plain.exists() || vault.load()?.is_some() {
        return Ok(None);
    }
    let Some(bytes) = read_optional(plain)?.map(Zeroizing::new) else {
        return Ok(None);
    };
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Some(Secret::new(text.to_owned()))),
        Err(_) => Err(local(format!(
            "{} is damaged (not text); remove it and run `amosync connect` again",
            plain.display()
        ))),
    }
}

/// Overwrites the clear credentials file at `plain` with zeros, syncs it,
/// then deletes it; fine if it does not exist. (On copy-on-write or
/// journaling file systems the old blocks may survive: this is best effort.)
pub fn remove_plain_file(plain: &Path) -> Result<(), AppError> {
    let fail = |e: std::io::Error| {
        local(format!(
            "cannot remove {} ({e}); remove it by hand",
            plain.display()
        ))
    };
    let len = match std::fs::metadata(plain) {
        Ok(meta) => meta.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(fail(e)),
    };
    let wipe = || -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new().write(true).open(plain)?;
        let zeros = [0u8; 4096];
        let mut left = len;
        while left > 0 {
            let n = left.min(zeros.len() as u64) as usize;
            file.write_all(&zeros[..n])?;
            left -= n as u64;
        }
        file.sync_all()
    };
    wipe().map_err(fail)?;
    match std::fs::remove_file(plain) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(fail(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::EncryptedFileVault;

    const OLD: &str = r#"{"version":1,"access_token":"tok-old-123","webhook_secret":"whs-old"}"#;

    #[test]
    fn the_old_file_is_returned_once_then_wiped() {
        let tmp = tempfile::tempdir().unwrap();
        let plain = tmp.path().join("credentials.json");
        let vault = EncryptedFileVault::new(tmp.path().join("secrets.enc"), tmp.path().join("k"));
        assert!(migrate_plain_file(&plain, &vault).unwrap().is_none());

        std::fs::write(&plain, OLD).unwrap();
        let raw = migrate_plain_file(&plain, &vault).unwrap().unwrap();
        assert_eq!(raw.expose(), OLD);
        assert_eq!(format!("{raw:?}"), "***");
        assert!(plain.exists(), "deletion is the caller's call");

        vault.save(&raw).unwrap();
        assert!(
            migrate_plain_file(&plain, &vault).unwrap().is_none(),
            "a vault holding a document wins"
        );
        remove_plain_file(&plain).unwrap();
        assert!(!plain.exists());
        remove_plain_file(&plain).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn removal_overwrites_before_unlinking() {
        // A second link to the same inode shows what the blocks hold after.
        let tmp = tempfile::tempdir().unwrap();
        let plain = tmp.path().join("credentials.json");
        std::fs::write(&plain, OLD.repeat(300)).unwrap();
        let witness = tmp.path().join("witness");
        std::fs::hard_link(&plain, &witness).unwrap();
        remove_plain_file(&plain).unwrap();
        assert!(!plain.exists());
        let left = std::fs::read(&witness).unwrap();
        assert_eq!(left.len(), OLD.len() * 300);
        assert!(left.iter().all(|b| *b == 0));
    }
}
