//! Advisory whole-file locks between `amosync` processes (`flock(2)` on
//! Unix, `LockFileEx` on Windows — through `std::fs::File::try_lock`).
//!
//! A lock belongs to the open file: the kernel releases it when the holder
//! exits in any way (SIGKILL included), so "the lock is free" means "nobody
//! runs", whatever pid a leftover file names. Lock files are never deleted
//! (deleting one while another process opens it would split the lock).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::AppError;
use crate::config::local;

/// A held exclusive lock; released on drop (or when the process ends).
#[derive(Debug)]
pub struct FileLock {
    _file: File,
    path: PathBuf,
}

impl FileLock {
    /// Takes the exclusive lock of `path` (created owner-only if absent)
    /// without waiting; `None` when another process (or another open of the
    /// file in this one) holds it.
    pub fn try_exclusive(path: &Path) -> Result<Option<FileLock>, AppError> {
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(path).map_err(|e| {
            local(format!(
                "cannot open the lock file {} ({e}); check the data folder's permissions",
                path.display()
            ))
        })?;
        match file.try_lock() {
            Ok(()) => Ok(Some(FileLock {
                _file: file,
                path: path.to_owned(),
            })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(local(format!(
                "cannot lock {} ({e}); the data folder must be on a local disk",
                path.display()
            ))),
        }
    }

    /// [`FileLock::try_exclusive`], retried for up to `within`: a process
    /// that only checks the lock ([`FileLock::held`]) holds it for an instant.
    pub async fn exclusive_within(
        path: &Path,
        within: Duration,
    ) -> Result<Option<FileLock>, AppError> {
        let started = Instant::now();
        loop {
            if let Some(lock) = FileLock::try_exclusive(path)? {
                return Ok(Some(lock));
            }
            if started.elapsed() >= within {
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Whether some holder has the lock of `path`: `None` when that cannot be
    /// told (no such file, or locking is unsupported there).
    pub fn held(path: &Path) -> Option<bool> {
        let file = File::open(path).ok()?;
        // A shared probe: it never conflicts with another probe, and is
        // released right away (dropping the file closes it).
        match file.try_lock_shared() {
            Ok(()) => Some(false),
            Err(TryLockError::WouldBlock) => Some(true),
            Err(TryLockError::Error(_)) => None,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_released_on_drop() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("x.lock");
        assert_eq!(FileLock::held(&path), None, "no file yet");
        let first = FileLock::try_exclusive(&path).unwrap().expect("free");
        assert_eq!(first.path(), path);
        assert!(FileLock::try_exclusive(&path).unwrap().is_none(), "held");
        assert_eq!(FileLock::held(&path), Some(true));
        drop(first);
        assert_eq!(FileLock::held(&path), Some(false));
        assert!(FileLock::try_exclusive(&path).unwrap().is_some());
    }

    #[tokio::test]
    async fn waiting_is_bounded() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("x.lock");
        let _held = FileLock::try_exclusive(&path).unwrap().unwrap();
        let started = Instant::now();
        let again = FileLock::exclusive_within(&path, Duration::from_millis(100))
            .await
            .unwrap();
        assert!(again.is_none());
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
