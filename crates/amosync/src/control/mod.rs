//! The control channel: how query commands reach a running `amosync serve`.
//!
//! redb admits one process per file, so while `serve` holds the store the
//! query commands cannot open it. `serve` therefore also runs a small HTTP
//! server ([`server`]) on 127.0.0.1 with a random port — separate from the
//! webhook receiver, never exposed through a tunnel — and publishes
//! `DATA/serve.json` (0600): its pid, the control URL and a random bearer
//! token. A query command that finds the store locked reads that file and
//! asks the process ([`client`]); the answer is the same JSON.

pub mod client;
pub mod server;

use serde::{Deserialize, Serialize};

use crate::AppError;
use crate::config::{DataDir, read_json, write_json_atomic};

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

    pub fn remove(data: &DataDir) {
        let _ = std::fs::remove_file(data.serve_path());
    }

    /// Called by a process that holds the store: no `serve` can be running
    /// on it then, so any `serve.json` left behind (a crash, SIGKILL) is stale.
    pub fn remove_if_stale(data: &DataDir) {
        if data.serve_path().exists() {
            tracing::info!(path = %data.serve_path().display(), "removing a stale serve.json");
            ServeFile::remove(data);
        }
    }

    /// The published server, if its process still lives (a dead one's file is removed).
    pub fn live(data: &DataDir) -> Result<Option<ServeFile>, AppError> {
        let file = match ServeFile::read(data) {
            Ok(file) => file,
            // A half-written or damaged file: treat it like a stale one.
            Err(_) => {
                ServeFile::remove(data);
                None
            }
        };
        match file {
            Some(file) if pid_alive(file.pid) => Ok(Some(file)),
            Some(_) => {
                ServeFile::remove(data);
                Ok(None)
            }
            None => Ok(None),
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
}
