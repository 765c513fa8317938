//! The store file is the owner's alone: created 0600 on Unix (whatever the
//! umask), and an existing file others could read is narrowed to 0600 on
//! open. It holds the account's CRM data (names, phones, chats).
//!
//! A new file is made under a temporary name — opened 0600 from its first
//! byte, initialised by redb — and linked into place without replacing
//! anything, so a concurrent opener sees either no file or a whole one.

use std::path::Path;

use crate::error::{StoreError, StoreResult};

/// Makes sure `path` exists as a redb file readable by its owner only.
pub(crate) fn ensure_private(path: &Path) -> StoreResult<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::metadata(path) {
            Ok(md) => {
                if md.is_file() && md.permissions().mode() & 0o077 != 0 {
                    narrow(path)?;
                }
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path),
            // Let the open report what is wrong (permissions, a folder, …).
            Err(_) => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

#[cfg(unix)]
fn narrow(path: &Path) -> StoreResult<()> {
    use std::os::unix::fs::PermissionsExt;
    // Best effort: a filesystem without Unix modes (exFAT, vfat) refuses
    // chmod, and the store must still open there; `amosync status` warns
    // about a store others can read.
    if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
        tracing::warn!(
            store = %path.display(),
            error = %e,
            "cannot make the store owner-only; run chmod 600 on it"
        );
    }
    Ok(())
}

#[cfg(unix)]
fn create(path: &Path) -> StoreResult<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let io = |what: &str, e: std::io::Error| {
        StoreError::Io(format!(
            "cannot {what} the store {} ({e}); choose a writable location",
            path.display()
        ))
    };
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| io("create the folder of", e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "store".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = parent.join(format!(".{name}.{}.{nanos}.new", std::process::id()));
    let made = (|| {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| io("create", e))?;
        let failed = |e: redb::DatabaseError| {
            StoreError::Io(format!("cannot create the store {} ({e})", path.display()))
        };
        let backend = redb::backends::FileBackend::new(file).map_err(failed)?;
        drop(
            redb::Database::builder()
                .create_with_backend(backend)
                .map_err(failed)?,
        );
        match std::fs::hard_link(&tmp, path) {
            Ok(()) => Ok(()),
            // Another process made it first: theirs is used.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            // A filesystem without hard links (exFAT, vfat, many network
            // mounts): move the file into place instead, unless another
            // process made one meanwhile.
            Err(_) if !path.exists() => std::fs::rename(&tmp, path).map_err(|e| io("create", e)),
            Err(_) => Ok(()),
        }
    })();
    let _ = std::fs::remove_file(&tmp);
    made
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn a_new_store_is_owner_only_and_an_open_one_is_narrowed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nested").join("amosync.redb");
        ensure_private(&path).expect("created");
        assert_eq!(mode(&path), 0o600);
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().expect("parent"))
            .expect("read dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left: {leftovers:?}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        ensure_private(&path).expect("narrowed");
        assert_eq!(mode(&path), 0o600);
    }
}
