//! The control channel: how query commands reach a running `amosync serve`.
//!
//! redb admits one process per file, so while `serve` holds the store the
//! query commands cannot open it. `serve` therefore also runs a small HTTP
//! server ([`server`]) on 127.0.0.1 with a random port — separate from the
//! webhook receiver, never exposed through a tunnel — and publishes
//! `DATA/serve.json` (0600): its pid, the control URL and a random bearer
//! token. A query command that finds the store locked reads that file and
//! asks the process ([`client`]); the answer is the same JSON. The file is
//! trusted only while `serve` holds `DATA/serve.lock` (see [`ServeFile::live`]).

pub mod client;
pub mod server;

use serde::{Deserialize, Serialize};

use crate::AppError;
use crate::config::{DataDir, read_json, write_json_atomic};
use crate::lock::FileLock;

/// `DATA/serve.json`, written by `serve` once it answers, removed at shutdown.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServeFile {
    pub pid: u32,
    /// `http://127.0.0.1:PORT`.
    pub control_url: String,
    /// Bearer token of the control API.
    pub token: String,
    /// The local webhook URL (with its secret) — why the file is 0600.
    pub webhook_url: Option<String>,
    /// Unix seconds.
    pub started_at: i64,
}

impl std::fmt::Debug for ServeFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeFile")
            .field("pid", &self.pid)
            .field("control_url", &self.control_url)
            .field("token", &"***")
            .field("webhook_url", &self.webhook_url.as_ref().map(|_| "***"))
            .field("started_at", &self.started_at)
            .finish()
    }
}

impl ServeFile {
    pub fn read(data: &DataDir) -> Result<Option<ServeFile>, AppError> {
        read_json(&data.serve_path())
    }

    pub fn write(&self, data: &DataDir) -> Result<(), AppError> {
        write_json_atomic(&data.serve_path(), self, true)
    }

    /// Removes `serve.json` whatever it holds: only for the process that
    /// holds `serve.lock` (so no other `serve` can have written it).
    pub fn remove(data: &DataDir) {
        let _ = std::fs::remove_file(data.serve_path());
    }

    /// Removes `serve.json` if it is still this file (same token): a file a
    /// starting `serve` renamed in meanwhile stays.
    pub fn remove_if_unchanged(&self, data: &DataDir) {
        if let Ok(Some(now)) = ServeFile::read(data)
            && now.token == self.token
        {
            tracing::info!(path = %data.serve_path().display(), pid = self.pid, "removing a stale serve.json");
            ServeFile::remove(data);
        }
    }

    /// Called by a process that holds the store: any `serve.json` whose
    /// `serve` no longer runs (a crash, SIGKILL) is removed.
    pub fn remove_if_stale(data: &DataDir) {
        let _ = ServeFile::live(data);
    }

    /// The published server, if it still runs; a stale file is removed.
    ///
    /// `serve` holds `serve.lock` for its whole life, and the kernel lets go
    /// of it when the process ends however it ends: a free lock means the
    /// file is stale, even when its pid has been reused by another process.
    /// A held lock with a dead pid is a `serve` still starting (the file is
    /// its crashed predecessor's; the new one replaces it). Without a lock
    /// file (a `serve` of an older build) the pid decides.
    pub fn live(data: &DataDir) -> Result<Option<ServeFile>, AppError> {
        let lock = FileLock::held(&data.serve_lock_path());
        let file = match ServeFile::read(data) {
            Ok(Some(file)) => file,
            Ok(None) => return Ok(None),
            // A damaged file (serve writes atomically, so not a live one's).
            Err(_) => {
                if lock != Some(true) && ServeFile::read(data).is_err() {
                    ServeFile::remove(data);
                }
                return Ok(None);
            }
        };
        let running = match lock {
            Some(true) => return Ok(pid_alive(file.pid).then_some(file)),
            Some(false) => false,
            None => pid_alive(file.pid),
        };
        if running {
            Ok(Some(file))
        } else {
            file.remove_if_unchanged(data);
            Ok(None)
        }
    }
}

/// A fresh random token (256 bits, hex).
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// True when a process with this pid exists.
pub fn pid_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        if pid <= 0 {
            return false;
        }
        // SAFETY: signal 0 only checks that the process exists; nothing is sent.
        let rc = unsafe { libc::kill(pid, 0) };
        rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_and_fresh() {
        let a = random_token();
        assert_eq!(a.len(), 64);
        assert_ne!(a, random_token());
    }

    #[test]
    fn this_process_lives_and_a_reaped_child_does_not() {
        assert!(pid_alive(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!pid_alive(pid));
    }

    #[test]
    fn a_dead_servers_file_is_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let data = DataDir::new(tmp.path());
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let file = ServeFile {
            pid,
            control_url: "http://127.0.0.1:1".into(),
            token: "t0ken".into(),
            webhook_url: Some("http://127.0.0.1:2/amocrm/s3cret/".into()),
            started_at: 0,
        };
        file.write(&data).unwrap();
        let text = format!("{file:?}");
        assert!(
            !text.contains("t0ken") && !text.contains("s3cret"),
            "{text}"
        );
        assert_eq!(ServeFile::live(&data).unwrap(), None);
        assert!(!data.serve_path().exists());
    }

    fn own_file(token: &str) -> ServeFile {
        ServeFile {
            pid: std::process::id(),
            control_url: "http://127.0.0.1:1".into(),
            token: token.into(),
            webhook_url: None,
            started_at: 0,
        }
    }

    #[test]
    fn the_serve_lock_decides_not_the_pid() {
        let tmp = tempfile::tempdir().unwrap();
        let data = DataDir::new(tmp.path());
        // The pid is alive (it is this process), as after a pid reuse.
        let file = own_file("a");
        file.write(&data).unwrap();

        // No lock file: an older build's serve — judged by its pid.
        assert_eq!(ServeFile::live(&data).unwrap(), Some(file.clone()));

        // The lock is held: a serve runs.
        let lock = FileLock::try_exclusive(&data.serve_lock_path())
            .unwrap()
            .unwrap();
        assert_eq!(ServeFile::live(&data).unwrap(), Some(file.clone()));

        // The lock is free: whatever the pid, the file is stale.
        drop(lock);
        assert_eq!(ServeFile::live(&data).unwrap(), None);
        assert!(!data.serve_path().exists());
    }

    #[test]
    fn a_replaced_file_is_not_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let data = DataDir::new(tmp.path());
        let old = own_file("old");
        old.write(&data).unwrap();
        let fresh = own_file("fresh");
        fresh.write(&data).unwrap();
        old.remove_if_unchanged(&data);
        assert_eq!(ServeFile::read(&data).unwrap(), Some(fresh.clone()));
        fresh.remove_if_unchanged(&data);
        assert!(!data.serve_path().exists());
    }
}
