//! Harness of the CLI tests: the real `amosync` binary against the real
//! emulator over loopback, with temporary data folders. Every wait is bounded.

#![allow(dead_code)]

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use amo_emulator::{Emulator, EmulatorConfig};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const BIN: &str = env!("CARGO_BIN_EXE_amosync");
/// The account clock of every test emulator (reproducible data).
pub const NOW: i64 = 1_750_000_000;
/// Upper bound of any one command or wait.
pub const WAIT: Duration = Duration::from_secs(120);

pub async fn emulator(leads: usize) -> Emulator {
    Emulator::start(EmulatorConfig {
        leads,
        now: Some(NOW),
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator starts")
}

/// A finished command.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Stdout as JSON; panics with the whole run when it is not.
    pub fn json(&self) -> Value {
        assert_eq!(self.code, 0, "command failed: {self:#?}");
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {self:#?}"))
    }

    /// The error line (exactly one non-empty stderr line).
    pub fn error_line(&self) -> &str {
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert_eq!(lines.len(), 1, "want exactly one stderr line: {self:#?}");
        lines[0]
    }
}

/// The vault key of every `amosync` this test binary starts: in the temp
/// folder, never the user's config folder; the file backend, never the
/// user's keychain.
pub fn test_key_file() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("amosync-test-{}.key", std::process::id()))
}

pub fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env("AMOSYNC_VAULT", "file")
        .env("AMOSYNC_KEY_FILE", test_key_file())
        .env_remove("AMOSYNC_DATA")
        .env_remove("AMOSYNC_TOKEN")
        // The default verbosity is part of the contract (one stderr line).
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    cmd
}

/// Runs `amosync ARGS` to its end (bounded).
pub async fn amosync(args: &[&str]) -> Run {
    let output = tokio::time::timeout(WAIT, command(args).output())
        .await
        .unwrap_or_else(|_| panic!("amosync {args:?} did not finish within {WAIT:?}"))
        .expect("amosync runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `amosync ARGS --data DIR`.
pub async fn amosync_in(data: &Path, args: &[&str]) -> Run {
    let data = data.to_str().expect("utf-8 path");
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--data", data]);
    amosync(&all).await
}

/// `amosync connect` to the emulator; its JSON.
pub async fn connect(data: &Path, emu: &Emulator) -> Value {
    let base_url = emu.base_url();
    let token = emu.token();
    amosync_in(
        data,
        &[
            "connect",
            "--base-url",
            &base_url,
            "--token",
            &token,
            "--listen",
            "127.0.0.1:0",
        ],
    )
    .await
    .json()
}

/// A long-running `amosync serve` / `amosync demo`.
pub struct Served {
    pub child: Child,
    /// Lines printed before `ready`.
    pub lines: Vec<String>,
}

impl Served {
    /// Starts `amosync ARGS` and waits (bounded) for its `ready` line.
    pub async fn start(args: &[&str]) -> Served {
        Served::ready(Served::spawn(args), args).await
    }

    /// Starts `amosync ARGS` (stdout piped, for [`Served::ready`]).
    pub fn spawn(args: &[&str]) -> Child {
        command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("amosync starts")
    }

    /// [`Served::spawn`] with stderr written to `log`.
    pub fn spawn_logged(args: &[&str], log: &Path) -> Child {
        let stderr = std::fs::File::create(log).expect("log file");
        command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("amosync starts")
    }

    /// Waits (bounded) for the `ready` line of a [`Served::spawn`]ed child.
    pub async fn ready(mut child: Child, args: &[&str]) -> Served {
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout).lines();
        let mut lines = Vec::new();
        let ready = tokio::time::timeout(WAIT, async {
            while let Some(line) = reader.next_line().await.expect("read stdout") {
                if line == "ready" {
                    return true;
                }
                lines.push(line);
            }
            false
        })
        .await;
        assert_eq!(
            ready,
            Ok(true),
            "no `ready` line from amosync {args:?}; got {lines:?}"
        );
        // Keep draining stdout so the process never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = reader.next_line().await {} });
        Served { child, lines }
    }

    /// The value of a `key: value` line.
    pub fn field(&self, key: &str) -> String {
        let prefix = format!("{key}: ");
        self.lines
            .iter()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no `{key}:` line in {:?}", self.lines))
            .to_owned()
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    /// Sends `signal` and waits (bounded) for the exit code.
    pub async fn stop_with(self, signal: i32) -> i32 {
        self.stop_with_all(&[signal]).await
    }

    /// Sends each of `signals` back to back, then waits (bounded) for the exit code.
    pub async fn stop_with_all(mut self, signals: &[i32]) -> i32 {
        let pid = libc::pid_t::try_from(self.pid()).expect("pid");
        for &signal in signals {
            // SAFETY: plain kill(2) of our own child.
            assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
        }
        let status = tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .expect("exits within 60 s after the signal")
            .expect("wait");
        status.code().unwrap_or(-1)
    }
}

/// Polls `check` every 100 ms until it returns `Some`, at most `WAIT`.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    let mut tries = 0u32;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        tries += 1;
        assert!(
            started.elapsed() < WAIT && tries < 1200,
            "gave up waiting for {what} after {tries} tries"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every item of an API v4 list (following `_links.next`), read with `token`.
pub async fn api_list(emu: &Emulator, token: &str, path_and_query: &str, key: &str) -> Vec<Value> {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut url = format!("{}{path_and_query}", emu.base_url());
    let mut items = Vec::new();
    for _page in 0..1000 {
        let mut attempts = 0;
        let response = loop {
            let r = http
                .get(&url)
                .bearer_auth(token)
                .send()
                .await
                .expect("API reachable");
            if r.status() == 429 && attempts < 20 {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            break r;
        };
        if response.status() == 204 {
            break;
        }
        assert!(
            response.status().is_success(),
            "{url}: {}",
            response.status()
        );
        let page: Value = response.json().await.expect("JSON");
        items.extend(
            page["_embedded"][key]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        );
        match page["_links"]["next"]["href"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    items
}

/// One API v4 object (`None` on 204).
pub async fn api_get(emu: &Emulator, token: &str, path: &str) -> Option<Value> {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let response = http
        .get(format!("{}{path}", emu.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("API reachable");
    if response.status() == 204 {
        return None;
    }
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    Some(response.json().await.expect("JSON"))
}

/// POST to the emulator's control API (office actions).
pub async fn office(emu: &Emulator, path: &str, body: Value) -> Value {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let response = http
        .post(format!("{}/_emulator{path}", emu.base_url()))
        .json(&body)
        .send()
        .await
        .expect("control API reachable");
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.expect("JSON")
}
