//! Harness of the OAuth acceptance tests (`oauth_connect`, `token_refresh`,
//! `no_secrets_leak`): the real emulator over loopback with an OAuth
//! integration, the real `amosync` binary run on the encrypted-file vault
//! (its key in the test's temporary folder, never the home folder), a
//! scripted browser that presses Allow or Deny on the emulator's consent
//! page, and [`isolate`]: re-running one test in a child process whose
//! environment selects the file vault, so the core (`Secrets::open`) can be
//! used in-process without touching the environment of a threaded process.
//! Every wait is bounded.

#![allow(dead_code)]

use std::hash::{Hash, Hasher};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use amo_emulator::limits::LimitsConfig;
use amo_emulator::{Emulator, EmulatorConfig, Integration};
use amosync::vault::{KEY_FILE_ENV, VAULT_ENV};
use serde_json::Value;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub const BIN: &str = env!("CARGO_BIN_EXE_amosync");
/// Upper bound of any one command or wait.
pub const WAIT: Duration = Duration::from_secs(60);
/// The account clock of every test emulator (reproducible data).
pub const NOW: i64 = 1_750_000_000;
/// Leads in the test account.
pub const LEADS: usize = 30;
/// The deep-link redirect URI of the desktop app.
pub const DEEP_LINK: &str = "amosync://oauth/callback";
/// Which test (and role) a re-run child process plays; see [`isolate`].
pub const ROLE_ENV: &str = "AMOSYNC_OAUTH_TEST_ROLE";

/// An emulator with realistic request limits.
pub async fn emulator() -> Emulator {
    start(LimitsConfig::default()).await
}

/// An emulator whose request limits do not slow down bursts of calls.
pub async fn fast_emulator() -> Emulator {
    start(LimitsConfig {
        per_token_per_second: 1_000,
        per_account_per_second: 1_000,
        ..LimitsConfig::default()
    })
    .await
}

async fn start(limits: LimitsConfig) -> Emulator {
    Emulator::start(EmulatorConfig {
        leads: LEADS,
        now: Some(NOW),
        limits,
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator starts")
}

/// Leads the account holds (not deleted).
pub fn live_leads(emu: &Emulator) -> usize {
    emu.world().leads.values().filter(|l| !l.is_deleted).count()
}

/// Moves the emulator's clock forward (access tokens expire by it).
pub async fn advance_clock(emu: &Emulator, seconds: i64) {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let response = http
        .post(format!("{}/_emulator/clock/advance", emu.base_url()))
        .json(&serde_json::json!({ "seconds": seconds }))
        .send()
        .await
        .expect("control API reachable");
    assert!(response.status().is_success(), "{}", response.status());
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A short, stable fingerprint of a secret, to print or compare in place of it.
pub fn fingerprint(secret: &str) -> String {
    // DefaultHasher::new() has fixed keys: equal across processes.
    let mut h = std::hash::DefaultHasher::new();
    secret.hash(&mut h);
    format!("{:016x}", h.finish())
}

/// One value of a URL's query.
pub fn query_param(url: &str, key: &str) -> Option<String> {
    let url = url::Url::parse(url).expect("a URL");
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// `url` with the value of `key` in its query replaced by `value`.
pub fn with_param(url: &str, key: &str, value: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("a URL");
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == key {
                value.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.to_string()
}

/// A finished command.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Stdout as JSON; panics with the whole run when it failed or is not JSON.
    pub fn json(&self) -> Value {
        assert_eq!(self.code, 0, "command failed: {self:#?}");
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {self:#?}"))
    }

    /// The error line of a failed command (exit 1, exactly one `amosync:` line).
    pub fn error_line(&self) -> String {
        assert_eq!(self.code, 1, "want exit code 1: {self:#?}");
        let errors: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("amosync: "))
            .collect();
        assert_eq!(errors.len(), 1, "want exactly one error line: {self:#?}");
        errors[0].to_owned()
    }
}

/// A temporary data folder and a vault key outside it.
pub struct Folder {
    _tmp: TempDir,
    pub data: PathBuf,
    pub key: PathBuf,
}

impl Default for Folder {
    fn default() -> Self {
        Folder::new()
    }
}

impl Folder {
    /// A fresh folder. Inside an [`isolate`]d child the key file is the one
    /// its environment names, so the binary and the in-process core agree.
    pub fn new() -> Folder {
        let tmp = tempfile::tempdir().expect("temp dir");
        let data = tmp.path().join("data");
        let key = match std::env::var_os(KEY_FILE_ENV) {
            Some(key) if std::env::var_os(ROLE_ENV).is_some() => PathBuf::from(key),
            _ => tmp.path().join("keys").join("vault.key"),
        };
        Folder {
            _tmp: tmp,
            data,
            key,
        }
    }

    pub fn data_str(&self) -> &str {
        self.data.to_str().expect("utf-8 path")
    }

    /// `amosync ARGS --data DIR` on the file vault, nothing inherited that
    /// could change its behaviour.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .args(["--data", self.data_str()])
            .env(VAULT_ENV, "file")
            .env(KEY_FILE_ENV, &self.key)
            .env_remove("AMOSYNC_DATA")
            .env_remove("AMOSYNC_TOKEN")
            .env_remove("AMOSYNC_CLIENT_SECRET")
            .env_remove("RUST_LOG")
            .env_remove(ROLE_ENV)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    /// Runs `amosync ARGS --data DIR` to its end (bounded).
    pub async fn run(&self, args: &[&str]) -> Run {
        let output = tokio::time::timeout(WAIT, self.command(args).output())
            .await
            .unwrap_or_else(|_| panic!("amosync {args:?} did not finish within {WAIT:?}"))
            .expect("amosync runs");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// `amosync connect` by OAuth without `--code`: runs until it printed
    /// its `authorize_url:` line.
    pub async fn start_connect(
        &self,
        emu: &Emulator,
        integration: &Integration,
        redirect_uri: &str,
    ) -> Connecting {
        self.start_connect_with(emu, integration, redirect_uri, &[])
            .await
    }

    /// [`Folder::start_connect`] with more arguments (e.g. `-vv`).
    pub async fn start_connect_with(
        &self,
        emu: &Emulator,
        integration: &Integration,
        redirect_uri: &str,
        extra: &[&str],
    ) -> Connecting {
        let mut args = connect_args(emu, integration, redirect_uri);
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Connecting::spawn(self.command(&args)).await
    }

    /// `amosync connect … --code CODE` to its end.
    pub async fn connect_with_code(
        &self,
        emu: &Emulator,
        integration: &Integration,
        redirect_uri: &str,
        code: &str,
    ) -> Run {
        let mut args = connect_args(emu, integration, redirect_uri);
        args.extend(["--code".to_owned(), code.to_owned()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run(&args).await
    }

    /// Every file under the data folder, recursively (bounded depth and count).
    pub fn files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut dirs = vec![(self.data.clone(), 0)];
        while let Some((dir, depth)) = dirs.pop() {
            assert!(
                depth < 8 && out.len() < 10_000,
                "unexpectedly deep data folder"
            );
            for entry in std::fs::read_dir(&dir).expect("read data folder") {
                let path = entry.expect("dir entry").path();
                if path.is_dir() {
                    dirs.push((path, depth + 1));
                } else {
                    out.push(path);
                }
            }
        }
        out
    }
}

fn connect_args(emu: &Emulator, integration: &Integration, redirect_uri: &str) -> Vec<String> {
    [
        "connect",
        "--base-url",
        &emu.base_url(),
        "--client-id",
        &integration.client_id,
        "--client-secret",
        integration.client_secret.expose(),
        "--redirect-uri",
        redirect_uri,
        "--listen",
        "127.0.0.1:0",
        "--wait",
        "45",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// A running `amosync connect` waiting for the browser's answer.
pub struct Connecting {
    child: Child,
    stdin: Option<ChildStdin>,
    stderr_lines: mpsc::UnboundedReceiver<String>,
    seen: Vec<String>,
    stdout: JoinHandle<String>,
    /// The approval page it asks the admin to open.
    pub authorize_url: String,
}

impl Connecting {
    async fn spawn(mut cmd: Command) -> Connecting {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("amosync connect starts");
        let stdin = child.stdin.take();
        let mut out = child.stdout.take().expect("stdout");
        let stdout = tokio::spawn(async move {
            let mut text = String::new();
            let _ = out.read_to_string(&mut text).await;
            text
        });
        let err = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut lines = BufReader::new(err).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut connecting = Connecting {
            child,
            stdin,
            stderr_lines: rx,
            seen: Vec::new(),
            stdout,
            authorize_url: String::new(),
        };
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, connecting.stderr_lines.recv()).await {
                Ok(Some(line)) => {
                    let url = line.strip_prefix("authorize_url: ").map(str::to_owned);
                    connecting.seen.push(line);
                    if let Some(url) = url {
                        connecting.authorize_url = url;
                        return connecting;
                    }
                }
                Ok(None) => panic!(
                    "amosync connect ended before printing authorize_url: {:?}",
                    connecting.seen
                ),
                Err(_) => panic!(
                    "no authorize_url within {WAIT:?}; stderr so far: {:?}",
                    connecting.seen
                ),
            }
        }
    }

    /// Pastes `answer` (a redirect address or a code) as the admin would.
    pub async fn paste(&mut self, answer: &str) {
        let mut stdin = self.stdin.take().expect("stdin not yet used");
        stdin
            .write_all(format!("{answer}\n").as_bytes())
            .await
            .expect("write to amosync connect");
        stdin.flush().await.expect("flush");
    }

    /// Waits (bounded; killed after) for the end; the whole run.
    pub async fn finish(mut self) -> Run {
        drop(self.stdin.take());
        let status = match tokio::time::timeout(WAIT, self.child.wait()).await {
            Ok(status) => status.expect("wait for amosync connect"),
            Err(_) => {
                let _ = self.child.kill().await;
                panic!(
                    "amosync connect did not finish within {WAIT:?}; stderr: {:?}",
                    self.seen
                );
            }
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while let Ok(Some(line)) = tokio::time::timeout_at(deadline, self.stderr_lines.recv()).await
        {
            self.seen.push(line);
        }
        let stdout = tokio::time::timeout(Duration::from_secs(10), self.stdout)
            .await
            .expect("stdout closes")
            .expect("stdout reader");
        Run {
            code: status.code().unwrap_or(-1),
            stdout,
            stderr: self.seen.join("\n"),
        }
    }
}

/// A browser that does not follow redirects: the tests read `Location`.
pub struct Browser {
    http: reqwest::Client,
}

impl Default for Browser {
    fn default() -> Self {
        Browser::new()
    }
}

impl Browser {
    pub fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(WAIT)
                .build()
                .expect("HTTP client"),
        }
    }

    /// Opens the consent page, presses Allow (`approve`) or Deny, and
    /// returns where the page redirects (the integration's redirect URI).
    pub async fn decide(&self, authorize_url: &str, approve: bool) -> String {
        let (status, page) = self.get(authorize_url).await;
        assert_eq!(status, 200, "consent page {authorize_url}: {page}");
        let form = Form::parse(&page);
        let action = url::Url::parse(authorize_url)
            .and_then(|u| u.join(&form.action))
            .expect("form action resolves");
        let mut fields = form.hidden;
        let decision = if approve { "approve" } else { "deny" };
        fields.push(("decision".to_owned(), decision.to_owned()));
        let response = self
            .http
            .post(action)
            .form(&fields)
            .send()
            .await
            .expect("decision posted");
        assert_eq!(response.status().as_u16(), 302, "decision answer");
        response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .expect("a Location header")
            .to_owned()
    }

    /// `GET url`: status and body.
    pub async fn get(&self, url: &str) -> (u16, String) {
        let response = self.http.get(url).send().await.expect("GET");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    /// A code of `integration`, approved on the consent page with any state.
    pub async fn code_for(&self, emu: &Emulator, integration: &Integration) -> String {
        let location = self
            .decide(
                &emu.authorize_url(&integration.client_id, "any-state"),
                true,
            )
            .await;
        query_param(&location, "code").expect("the redirect carries a code")
    }
}

/// The consent page's form: where it posts and its hidden inputs.
pub struct Form {
    pub action: String,
    pub hidden: Vec<(String, String)>,
}

impl Form {
    /// A small reader of `<form action>` and `<input type="hidden">` tags
    /// (attributes in double quotes, as the consent page writes them).
    pub fn parse(html: &str) -> Form {
        let form_tag = tags(html, "<form").next().expect("a <form> on the page");
        let action = attribute(form_tag, "action").expect("the form has an action");
        let hidden = tags(html, "<input")
            .filter(|tag| attribute(tag, "type").as_deref() == Some("hidden"))
            .map(|tag| {
                (
                    attribute(tag, "name").expect("input name"),
                    attribute(tag, "value").unwrap_or_default(),
                )
            })
            .collect();
        Form { action, hidden }
    }
}

/// The opening tags `<name …>` of `html`, each as its text.
fn tags<'a>(html: &'a str, open: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    html.match_indices(open).filter_map(move |(start, _)| {
        let rest = &html[start..];
        rest.find('>').map(|end| &rest[..=end])
    })
}

/// `name="value"` of a tag, HTML entities decoded.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The role this process plays: the name [`isolate`] gave it, if any.
pub fn role() -> Option<String> {
    std::env::var(ROLE_ENV).ok()
}

/// True inside the child that [`isolate`] started for `name`.
pub fn isolated_as(name: &str) -> bool {
    role().as_deref() == Some(name)
        && std::env::var(VAULT_ENV).as_deref() == Ok("file")
        && std::env::var_os(KEY_FILE_ENV).is_some()
}

/// Re-runs test `test` of this test binary in a child process (with
/// `ROLE_ENV=role`, the file vault and a fresh key file outside any data
/// folder, plus `env`), and asserts it ran and passed. Returns its output.
pub async fn isolate(test: &str, role: &str, env: &[(&str, String)]) -> String {
    let keys = tempfile::tempdir().expect("temp dir");
    let key = keys.path().join("vault.key");
    isolate_with_key(test, role, &key, env).await
}

/// [`isolate`] with a given key file (children sharing one data folder).
pub async fn isolate_with_key(
    test: &str,
    role: &str,
    key: &Path,
    env: &[(&str, String)],
) -> String {
    let exe = std::env::current_exe().expect("the test binary");
    let mut cmd = Command::new(exe);
    cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(ROLE_ENV, role)
        .env(VAULT_ENV, "file")
        .env(KEY_FILE_ENV, key)
        .env_remove("AMOSYNC_DATA")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = tokio::time::timeout(Duration::from_secs(180), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("the child running {test} ({role}) did not finish in 180 s"))
        .expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "the child running {test} ({role}) failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains(&format!("test {test} ")) && stdout.contains("test result: ok. 1 passed"),
        "the child did not run {test}:\n{stdout}\n{stderr}"
    );
    stdout
}
