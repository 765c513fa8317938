//! End to end in a real window: the debug build under Xvfb, driven through
//! `tauri-driver` + `WebKitWebDriver`. Run by `scripts/test.sh` as
//! `xvfb-run cargo nextest run -p amosync-desktop --run-ignored only`.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

const DEMO_LEADS: usize = 300;
/// Both the app and the reference demo generate their history around this "now".
const DEMO_NOW: i64 = 1_750_000_000;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn tauri_driver_path() -> PathBuf {
    if let Ok(p) = which("tauri-driver") {
        return p;
    }
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo")
        });
    home.join("bin/tauri-driver")
}

fn which(name: &str) -> Result<PathBuf, ()> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .ok_or(())
}

/// tauri-driver must be stopped with SIGTERM: SIGKILL orphans WebKitWebDriver,
/// which keeps the output pipe open and hangs the test run.
struct Driver(Child);

impl Drop for Driver {
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
    }
}

fn start_driver(port: u16, data_home: &std::path::Path) -> Driver {
    let native = free_port();
    let child = Command::new(tauri_driver_path())
        .args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native.to_string(),
        ])
        .env("AMOSYNC_DEMO_LEADS", DEMO_LEADS.to_string())
        .env("AMOSYNC_DEMO_NOW", DEMO_NOW.to_string())
        .env("XDG_DATA_HOME", data_home)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tauri-driver on PATH or in ~/.cargo/bin (scripts/setup.sh test installs it)");
    let driver = Driver(child);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(
            Instant::now() < deadline,
            "tauri-driver did not listen on {addr} within 20 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    driver
}

async fn wait_for(client: &Client, css: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} did not appear within 30 s: {e}"))
}

async fn texts(client: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for el in client.find_all(Locator::Css(css)).await.expect("query") {
        out.push(el.text().await.expect("text"));
    }
    out
}

/// Saves a screenshot of the window into `$AMOSYNC_ARTIFACTS` when set.
async fn screenshot(client: &Client, name: &str) {
    if let Ok(dir) = std::env::var("AMOSYNC_ARTIFACTS") {
        let png = client.screenshot().await.expect("screenshot");
        std::fs::write(PathBuf::from(dir).join(name), png).expect("write screenshot");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a display, tauri-driver and WebKitWebDriver: run by scripts/test.sh under xvfb-run"]
async fn demo_window_shows_the_funnel_the_core_computes() {
    let tmp = std::env::temp_dir().join(format!("amosync-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp dir");
    let port = free_port();
    let _driver = start_driver(port, &tmp);

    let caps = json!({
        "browserName": "wry",
        "tauri:options": { "application": env!("CARGO_BIN_EXE_amosync-desktop") }
    });
    let client = ClientBuilder::native()
        .capabilities(caps.as_object().expect("object").clone())
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("WebDriver session with the app");

    // The demo account's main pipeline, painted from the emulator through the client.
    wait_for(&client, "[data-testid=statuses]").await;
    let names = texts(&client, "[data-testid=statuses] tbody td:first-child").await;
    assert_eq!(
        names.len(),
        21,
        "Первичка has 21 statuses, the window showed {names:?}"
    );
    assert_eq!(names.first().map(String::as_str), Some("Неразобранное"));
    assert!(
        names.iter().any(|n| n == "Успешно реализовано"),
        "won status missing: {names:?}"
    );
    assert!(
        names.iter().any(|n| n == "Закрыто и не реализовано"),
        "lost status missing: {names:?}"
    );

    // The numbers equal what the core computes from an identical demo account.
    let demo = amosync::demo::Demo::start(amosync::demo::DemoOptions {
        leads: DEMO_LEADS,
        now: Some(DEMO_NOW),
    })
    .await
    .expect("reference demo");
    let expected = demo.overview().await.expect("reference overview");
    let main = expected
        .pipelines
        .iter()
        .find(|p| p.is_main)
        .expect("main pipeline");
    let counts = texts(&client, "[data-testid=statuses] tbody [data-testid=count]").await;
    let want: Vec<String> = main.statuses.iter().map(|s| s.leads.to_string()).collect();
    let got: Vec<String> = counts
        .iter()
        .map(|c| c.chars().filter(char::is_ascii_digit).collect())
        .collect();
    assert_eq!(got, want, "per-status lead counts in the window");

    screenshot(&client, "desktop-demo-ru.png").await;

    // Language switch.
    let header = client
        .find(Locator::Css("[data-testid=statuses] thead"))
        .await
        .expect("thead");
    assert!(header.text().await.expect("text").contains("Сделки"));
    client
        .find(Locator::Css("[data-testid=lang]"))
        .await
        .expect("lang")
        .select_by_value("en")
        .await
        .expect("select en");
    let header = client
        .find(Locator::Css("[data-testid=statuses] thead"))
        .await
        .expect("thead");
    assert!(
        header.text().await.expect("text").contains("Leads"),
        "language switch to English"
    );

    screenshot(&client, "desktop-demo-en.png").await;
    client.close().await.expect("close session");
    let _ = std::fs::remove_dir_all(&tmp);
}
