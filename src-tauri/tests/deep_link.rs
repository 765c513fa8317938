//! The OAuth deep link in the real desktop app: the app runs (under Xvfb,
//! with its own D-Bus session bus), the admin approves on the emulator's
//! page, and a second launch with the `amosync://oauth/callback?…` link as
//! its argument — what the browser does — hands the link to the running
//! instance, which finishes the connection. Run by `scripts/test.sh` with
//! the other window tests (`--run-ignored only`, under `xvfb-run`).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use amo::Secret;
use amo::oauth::OAuthApp;
use amo_emulator::{Emulator, EmulatorConfig};
use amosync::auth::{AuthSecrets, Secrets, begin_oauth};
use amosync::config::DataDir;
use amosync_sync::SystemClock;

const APP: &str = env!("CARGO_BIN_EXE_amosync-desktop");
const WAIT: Duration = Duration::from_secs(60);

/// A child that is stopped (SIGTERM, then SIGKILL) when the test ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A private session bus: single-instance talks over D-Bus.
fn session_bus() -> (Running, String) {
    let mut child = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--print-address=1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("dbus-daemon (apt-get install dbus; scripts/setup.sh test installs it)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("bus address");
    assert!(line.starts_with("unix:"), "dbus-daemon printed {line:?}");
    (Running(child), line.trim().to_owned())
}

fn app(envs: &[(&str, &str)], arg: Option<&str>) -> Command {
    let mut cmd = Command::new(APP);
    cmd.envs(envs.iter().copied())
        .env("RUST_LOG", "info")
        .env("AMOSYNC_NO_SCHEME_REGISTER", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(arg) = arg {
        cmd.arg(arg);
    }
    cmd
}

/// Forwards a child's stderr lines to a channel (and to ours, for the log).
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[app] {line}");
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_for_line(lines: &mpsc::Receiver<String>, needle: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return,
            Ok(_) => {}
            Err(_) => panic!("the app never logged {needle:?} within {WAIT:?}"),
        }
    }
}

/// The value of a hidden `<input name=NAME value=…>` of the approval page.
fn input(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\"");
    let at = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} input"));
    let tag_start = page[..at].rfind('<').expect("tag start");
    let tag_end = at + page[at..].find('>').expect("tag end");
    let tag = &page[tag_start..tag_end];
    let value = tag
        .split("value=\"")
        .nth(1)
        .expect("value")
        .split('"')
        .next()
        .expect("quote");
    value.replace("&amp;", "&").replace("&quot;", "\"")
}

/// Presses Allow on the emulator's approval page; the redirect's Location.
async fn approve(authorize_url: &str) -> String {
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let page = http
        .get(authorize_url)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    let base = authorize_url.split("/oauth").next().expect("base");
    let form = [
        ("client_id", input(&page, "client_id")),
        ("state", input(&page, "state")),
        ("mode", input(&page, "mode")),
        ("decision", "approve".to_owned()),
    ];
    let answer = http
        .post(format!("{base}/oauth/decision"))
        .form(&form)
        .send()
        .await
        .expect("decision");
    assert_eq!(answer.status().as_u16(), 302);
    answer.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned()
}

async fn connected(data: &Path) -> bool {
    let Ok(secrets) = Secrets::open(&DataDir::new(data)) else {
        return false;
    };
    matches!(
        secrets.load().await.map(|d| d.auth),
        Ok(Some(AuthSecrets::OAuth { .. }))
    ) && data.join("config.json").exists()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a display: run under xvfb-run with --run-ignored only (scripts/test.sh)"]
async fn a_second_launch_with_the_callback_link_connects_the_running_app() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let key = tmp.path().join("vault.key");
    let xdg = tmp.path().join("xdg");
    // This test binary holds only this test: no other thread reads the environment.
    unsafe {
        std::env::set_var("AMOSYNC_VAULT", "file");
        std::env::set_var("AMOSYNC_KEY_FILE", &key);
    }
    let emu = Emulator::start(EmulatorConfig {
        leads: 30,
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator");
    let integration = emu.register_integration("amosync://oauth/callback");

    // The admin pressed Connect in the app: a connection waits in the vault.
    let data_dir = DataDir::new(&data);
    data_dir.ensure().expect("data folder");
    let secrets = Secrets::open(&data_dir).expect("vault");
    let start = begin_oauth(
        &secrets,
        OAuthApp {
            client_id: integration.client_id.clone(),
            client_secret: Secret::new(integration.client_secret.expose().to_owned()),
            redirect_uri: integration.redirect_uri.clone(),
        },
        Some(emu.base_url()),
        None,
        &SystemClock,
    )
    .await
    .expect("begin");

    let (_bus, bus) = session_bus();
    let (data_s, key_s, xdg_s) = (
        data.display().to_string(),
        key.display().to_string(),
        xdg.display().to_string(),
    );
    let envs = [
        ("DBUS_SESSION_BUS_ADDRESS", bus.as_str()),
        ("AMOSYNC_DATA", data_s.as_str()),
        ("AMOSYNC_VAULT", "file"),
        ("AMOSYNC_KEY_FILE", key_s.as_str()),
        ("XDG_DATA_HOME", xdg_s.as_str()),
    ];
    let mut first = app(&envs, None).spawn().expect("the app starts");
    let lines = lines_of(&mut first);
    let _first = Running(first);
    wait_for_line(&lines, "ready for amosync:// links");

    // The browser opens the link: a second launch with it as the argument.
    let link = approve(&start.authorize_url).await;
    assert!(link.starts_with("amosync://oauth/callback?"), "{link}");
    let mut second = app(&envs, Some(&link)).spawn().expect("second launch");
    let second_lines = lines_of(&mut second);
    let deadline = Instant::now() + WAIT;
    let code = loop {
        if let Some(status) = second.try_wait().expect("wait") {
            break status.code();
        }
        assert!(
            Instant::now() < deadline,
            "the second launch did not hand over and exit"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        code,
        Some(0),
        "the second launch exits after handing the link over"
    );
    drop(second_lines);

    // The running instance finished the connection.
    wait_for_line(&lines, "amoCRM connected through the amosync:// link");
    assert!(
        connected(&data).await,
        "the folder holds the OAuth pair and the account"
    );
    let stats = emu.oauth_stats();
    assert_eq!((stats.codes_exchanged, stats.refresh_reuse), (1, 0));
}
