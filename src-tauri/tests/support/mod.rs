//! What the window tests share: child processes stopped politely, a private
//! D-Bus session bus, an isolated app environment (data folder, vault key,
//! XDG folder), `tauri-driver` + WebDriver sessions with the app, page
//! helpers keyed on the UI's `data-testid`s, and the scripted OAuth browser.
//!
//! Every wait here is bounded; every process started here is stopped by id
//! when its guard drops.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// The desktop binary cargo built for these tests.
pub const APP: &str = env!("CARGO_BIN_EXE_amosync-desktop");

/// Default bound of a wait for something the app does on its own.
pub const WAIT: Duration = Duration::from_secs(30);

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

// ---------------------------------------------------------------- processes

/// A child process stopped when the guard drops: SIGTERM, up to 10 s for it
/// to exit, then SIGKILL. tauri-driver in particular must get SIGTERM: a
/// SIGKILLed driver orphans WebKitWebDriver, which keeps the output pipe
/// open and hangs the test run.
pub struct Proc {
    child: Child,
    name: &'static str,
}

impl Proc {
    pub fn new(name: &'static str, child: Child) -> Proc {
        Proc { child, name }
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Waits (bounded) for the process to exit on its own; its exit code.
    pub fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "{} (pid {}) did not exit within {within:?}",
                self.name,
                self.child.id()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!(
            "{} (pid {}) ignored SIGTERM for 10 s: killing it",
            self.name,
            self.child.id()
        );
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A private session bus: single-instance talks over D-Bus, so each app
/// under test gets its own and never meets another test's (or the
/// developer's) instance.
pub fn session_bus() -> (Proc, String) {
    let mut child = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--print-address=1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("dbus-daemon (apt-get install dbus; scripts/setup.sh test installs it)");
    let stdout = child.stdout.take().expect("stdout");
    let guard = Proc::new("dbus-daemon", child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("dbus-daemon printed its address within 10 s");
    assert!(line.starts_with("unix:"), "dbus-daemon printed {line:?}");
    (guard, line.trim().to_owned())
}

/// One window test at a time, across test binaries (nextest runs them in
/// parallel): on 2 cores two WebKit windows starve each other and the
/// latency bounds would measure the neighbour. Held until the guard drops;
/// waiting is bounded (5 min).
pub struct WindowSlot(std::fs::File);

pub fn window_slot() -> WindowSlot {
    let path = std::env::temp_dir().join("amosync-window-tests.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        match file.try_lock() {
            Ok(()) => return WindowSlot(file),
            Err(std::fs::TryLockError::WouldBlock) => {
                assert!(
                    Instant::now() < deadline,
                    "another window test held {} for 5 min",
                    path.display()
                );
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(std::fs::TryLockError::Error(e)) => panic!("{}: {e}", path.display()),
        }
    }
}

// ------------------------------------------------------------ app environment

/// An isolated home for one app under test: its data folder, vault key,
/// XDG data folder and session bus. The environment reaches the app through
/// tauri-driver (which passes it on) or a direct launch.
pub struct AppEnv {
    pub tmp: tempfile::TempDir,
    pub data: PathBuf,
    pub key: PathBuf,
    pub xdg: PathBuf,
    pub bus: String,
    _bus: Proc,
    extra: Vec<(String, String)>,
}

impl AppEnv {
    pub fn new() -> AppEnv {
        let tmp = tempfile::tempdir().expect("tempdir");
        AppEnv::in_dir(tmp)
    }

    /// Uses `data` as the data folder (e.g. one prepared beforehand).
    pub fn with_data(data: &Path) -> AppEnv {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut env = AppEnv::in_dir(tmp);
        env.data = data.to_path_buf();
        env
    }

    fn in_dir(tmp: tempfile::TempDir) -> AppEnv {
        let data = tmp.path().join("data");
        let key = tmp.path().join("vault.key");
        let xdg = tmp.path().join("xdg");
        std::fs::create_dir_all(&xdg).expect("xdg dir");
        let (guard, bus) = session_bus();
        AppEnv {
            tmp,
            data,
            key,
            xdg,
            bus,
            _bus: guard,
            extra: Vec::new(),
        }
    }

    /// Uses this vault key file instead of the one in the temp folder.
    pub fn key_file(mut self, key: &Path) -> AppEnv {
        self.key = key.to_path_buf();
        self
    }

    pub fn set(mut self, name: &str, value: impl ToString) -> AppEnv {
        self.extra.push((name.to_owned(), value.to_string()));
        self
    }

    /// Everything the app needs to stay inside this environment.
    pub fn vars(&self) -> Vec<(String, String)> {
        let mut vars = vec![
            ("DBUS_SESSION_BUS_ADDRESS".into(), self.bus.clone()),
            ("AMOSYNC_DATA".into(), self.data.display().to_string()),
            ("AMOSYNC_VAULT".into(), "file".into()),
            ("AMOSYNC_KEY_FILE".into(), self.key.display().to_string()),
            ("XDG_DATA_HOME".into(), self.xdg.display().to_string()),
            ("AMOSYNC_NO_SCHEME_REGISTER".into(), "1".into()),
            ("AMOSYNC_NO_BROWSER".into(), "1".into()),
            (
                "RUST_LOG".into(),
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            ),
        ];
        vars.extend(self.extra.iter().cloned());
        vars
    }

    /// A direct launch of the app binary (no WebDriver), stderr piped.
    pub fn command(&self, arg: Option<&str>) -> Command {
        let mut cmd = Command::new(APP);
        cmd.envs(self.vars())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(arg) = arg {
            cmd.arg(arg);
        }
        cmd
    }
}

/// Forwards a child's stderr lines to a channel (and to ours, for the log).
pub fn lines_of(child: &mut Child, tag: &'static str) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().expect("stderr piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[{tag}] {line}");
            let _ = tx.send(line);
        }
    });
    rx
}

/// Waits (bounded) for a line containing `needle`.
pub fn wait_for_line(lines: &mpsc::Receiver<String>, needle: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return,
            Ok(_) => {}
            Err(_) => panic!("the app never logged {needle:?} within {within:?}"),
        }
    }
}

// ------------------------------------------------------------------ webdriver

fn tauri_driver_path() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("tauri-driver"))
        .find(|p| p.is_file());
    if let Some(p) = on_path {
        return p;
    }
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo")
        });
    home.join("bin/tauri-driver")
}

/// A `tauri-driver` whose environment (and so the app's) is `env`'s.
pub struct Driver {
    pub port: u16,
    _proc: Proc,
}

impl Driver {
    pub fn start(env: &AppEnv) -> Driver {
        let port = free_port();
        let native = free_port();
        let child = Command::new(tauri_driver_path())
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .envs(env.vars())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tauri-driver on PATH or in ~/.cargo/bin (scripts/setup.sh test installs it)");
        let guard = Proc::new("tauri-driver", child);
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "tauri-driver did not listen on {addr} within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver { port, _proc: guard }
    }

    /// A new WebDriver session: launches the app.
    pub async fn open(&self) -> Window {
        let caps = json!({
            "browserName": "wry",
            "tauri:options": { "application": APP }
        });
        let client = tokio::time::timeout(
            Duration::from_secs(60),
            ClientBuilder::native()
                .capabilities(caps.as_object().expect("object").clone())
                .connect(&format!("http://127.0.0.1:{}", self.port)),
        )
        .await
        .expect("a WebDriver session within 60 s")
        .expect("WebDriver session with the app");
        Window { client }
    }
}

/// The app's window through WebDriver.
pub struct Window {
    pub client: Client,
}

/// `[data-testid=ID]`.
pub fn tid(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}

impl Window {
    pub async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(10), self.client.close()).await;
    }

    /// Runs `body` (a function body using `arguments`) in the page.
    pub async fn js(&self, body: &str, args: Vec<Value>) -> Value {
        tokio::time::timeout(Duration::from_secs(20), self.client.execute(body, args))
            .await
            .unwrap_or_else(|_| panic!("script did not answer within 20 s: {body}"))
            .unwrap_or_else(|e| panic!("script failed: {e}: {body}"))
    }

    /// Runs `body`, which returns an array of strings (other items are skipped).
    pub async fn js_strings(&self, body: &str, args: Vec<Value>) -> Vec<String> {
        self.js(body, args)
            .await
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    }

    /// The first element with this test id (waits for it first).
    async fn element(&self, id: &str) -> fantoccini::elements::Element {
        self.wait_tid(id, WAIT).await;
        self.client
            .find(Locator::Css(&tid(id)))
            .await
            .unwrap_or_else(|e| panic!("{id}: {e}"))
    }

    /// Polls `body` every 25 ms until it returns something truthy (not
    /// null/false/0/""); panics with `what` after `within`.
    pub async fn until(&self, what: &str, within: Duration, body: &str, args: Vec<Value>) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let v = self.js(body, args.clone()).await;
            let truthy = match &v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return v;
            }
            if Instant::now() >= deadline {
                let last = v;
                let page = self.page_text().await;
                let short: String = page.chars().take(1500).collect();
                panic!(
                    "{what}: not within {within:?} (last answer {last}); the page shows:\n{short}"
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits until an element matching `css` is in the page.
    pub async fn wait_css(&self, css: &str, within: Duration) {
        self.until(
            &format!("{css} to appear"),
            within,
            "return document.querySelector(arguments[0]) !== null;",
            vec![json!(css)],
        )
        .await;
    }

    pub async fn wait_tid(&self, id: &str, within: Duration) {
        self.wait_css(&tid(id), within).await
    }

    pub async fn exists(&self, css: &str) -> bool {
        self.js(
            "return document.querySelector(arguments[0]) !== null;",
            vec![json!(css)],
        )
        .await
        .as_bool()
        .unwrap_or(false)
    }

    /// Clicks the first element with this test id (waits for it first).
    pub async fn click(&self, id: &str) {
        let el = self.element(id).await;
        if let Err(e) = el.click().await {
            // Covered or scrolled away: a DOM click does what the user's would.
            eprintln!("WebDriver click on {id} failed ({e}); clicking through the DOM");
            self.js(
                "document.querySelector(arguments[0]).click(); return true;",
                vec![json!(tid(id))],
            )
            .await;
        }
    }

    /// Types into an input (replacing its value); checks it took.
    pub async fn fill(&self, id: &str, text: &str) {
        let el = self.element(id).await;
        let _ = el.clear().await;
        let typed = el.send_keys(text).await.is_ok();
        let value = el.prop("value").await.ok().flatten().unwrap_or_default();
        if !typed || value != text {
            // Set it the way a paste would, with the events frameworks bind to.
            self.set_value(id, text).await;
        }
    }

    /// Sets an input's / select's value and fires `input` and `change`.
    pub async fn set_value(&self, id: &str, value: &str) {
        self.wait_tid(id, WAIT).await;
        let ok = self
            .js(
                r#"const el = document.querySelector(arguments[0]);
                   if (!el) return false;
                   const proto = el instanceof HTMLSelectElement ? HTMLSelectElement.prototype
                     : el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype
                     : HTMLInputElement.prototype;
                   Object.getOwnPropertyDescriptor(proto, 'value').set.call(el, arguments[1]);
                   el.dispatchEvent(new Event('input', {bubbles: true}));
                   el.dispatchEvent(new Event('change', {bubbles: true}));
                   return el.value === arguments[1];"#,
                vec![json!(tid(id)), json!(value)],
            )
            .await;
        assert_eq!(ok, json!(true), "{id} did not take the value {value:?}");
    }

    /// Picks an option of a `<select>` by value.
    pub async fn select(&self, id: &str, value: &str) {
        self.set_value(id, value).await
    }

    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.js(
            "const el = document.querySelector(arguments[0]); return el ? el.getAttribute(arguments[1]) : null;",
            vec![json!(css), json!(name)],
        )
        .await
        .as_str()
        .map(str::to_owned)
    }

    pub async fn text(&self, css: &str) -> Option<String> {
        self.js(
            "const el = document.querySelector(arguments[0]); return el ? el.innerText : null;",
            vec![json!(css)],
        )
        .await
        .as_str()
        .map(str::to_owned)
    }

    /// What the page shows: its text plus the values of its fields.
    pub async fn page_text(&self) -> String {
        self.js(
            r#"const fields = [...document.querySelectorAll('input, textarea')].map(e => e.value);
               return (document.body ? document.body.innerText : '') + '\n' + fields.join('\n');"#,
            vec![],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// The webhook address carries its secret: it must never be on screen.
    pub async fn assert_no_secret_path(&self, view: &str) {
        let text = self.page_text().await;
        assert!(
            !text.contains("/amocrm/"),
            "the {view} view shows a webhook path (/amocrm/…): {text}"
        );
    }

    /// Saves `desktop-<view>-<lang>.png` into `$AMOSYNC_ARTIFACTS` when set.
    pub async fn screenshot(&self, view: &str, lang: &str) {
        self.assert_no_secret_path(view).await;
        let Ok(dir) = std::env::var("AMOSYNC_ARTIFACTS") else {
            return;
        };
        // Let transitions and fonts settle.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let png = tokio::time::timeout(Duration::from_secs(20), self.client.screenshot())
            .await
            .expect("screenshot within 20 s")
            .expect("screenshot");
        std::fs::create_dir_all(&dir).expect("artifacts dir");
        let path = PathBuf::from(dir).join(format!("desktop-{view}-{lang}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        eprintln!("screenshot: {}", path.display());
    }

    /// `window.__amosyncMetrics`, or null.
    pub async fn metrics(&self) -> Value {
        self.js("return window.__amosyncMetrics || null;", vec![])
            .await
    }

    /// Waits for the root to say the first view painted with data.
    pub async fn wait_ready(&self, within: Duration) {
        self.wait_css(&format!("{}[data-ready=\"true\"]", tid("app")), within)
            .await
    }

    /// Waits for `__amosyncMetrics.funnelPaintedAt`; returns it (epoch ms).
    pub async fn wait_funnel_painted(&self, within: Duration) -> i64 {
        self.until(
            "the funnel painted (__amosyncMetrics.funnelPaintedAt)",
            within,
            "const m = window.__amosyncMetrics; return m && m.funnelPaintedAt ? m.funnelPaintedAt : null;",
            vec![],
        )
        .await
        .as_f64()
        .expect("a number") as i64
    }

    /// The funnel as painted: one entry per `funnel-row`.
    pub async fn funnel_rows(&self) -> Vec<PaintedStatus> {
        let v = self
            .js(
                r#"return [...document.querySelectorAll('[data-testid="funnel-row"]')].map(r => {
                     const c = r.querySelector('[data-testid="count"]');
                     const m = r.querySelector('[data-testid="money"]');
                     return {
                       id: r.getAttribute('data-status-id'),
                       text: r.innerText,
                       count: c ? c.innerText : null,
                       money: m ? m.innerText : null,
                       money_value: m ? m.getAttribute('data-value') : null,
                     };
                   });"#,
                vec![],
            )
            .await;
        v.as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|r| PaintedStatus {
                status_id: r["id"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0),
                text: r["text"].as_str().unwrap_or_default().to_owned(),
                count: r["count"].as_str().and_then(digits),
                money: r["money"].as_str().unwrap_or_default().to_owned(),
                money_value: r["money_value"].as_str().and_then(|s| s.parse().ok()),
            })
            .collect()
    }

    /// The painted count of one status, if its row is there.
    pub async fn status_count(&self, status_id: u64) -> Option<u64> {
        self.js(
            r#"const r = document.querySelector('[data-testid="funnel-row"][data-status-id="' + arguments[0] + '"]');
               const c = r && r.querySelector('[data-testid="count"]');
               return c ? c.innerText : null;"#,
            vec![json!(status_id)],
        )
        .await
        .as_str()
        .and_then(digits)
    }

    /// Marks the page; [`Window::assert_not_reloaded`] checks the mark survived.
    pub async fn mark_page(&self) -> i64 {
        let mark = now_ms();
        self.js(
            "window.__e2eMark = arguments[0]; return true;",
            vec![json!(mark)],
        )
        .await;
        mark
    }

    pub async fn assert_not_reloaded(&self, mark: i64) {
        let v = self.js("return window.__e2eMark || null;", vec![]).await;
        assert_eq!(v, json!(mark), "the page was reloaded");
    }
}

/// One painted funnel row.
#[derive(Debug, Clone)]
pub struct PaintedStatus {
    pub status_id: u64,
    pub text: String,
    pub count: Option<u64>,
    pub money: String,
    pub money_value: Option<i64>,
}

/// The integer a formatted number shows ("1 234", "1,234") — digits only.
pub fn digits(s: &str) -> Option<u64> {
    let d: String = s.chars().filter(char::is_ascii_digit).collect();
    d.parse().ok()
}

/// True when the painted money says `amount`: whole units, with or without
/// a zero fraction ("12 345 ₾", "GEL 12,345.00"), or its `data-value`.
pub fn money_matches(painted: &PaintedStatus, amount: i64) -> bool {
    if let Some(v) = painted.money_value {
        return v == amount;
    }
    let Some(d) = digits(&painted.money) else {
        return amount == 0 && painted.money.trim().is_empty();
    };
    d as i64 == amount || d as i64 == amount * 100
}

// ---------------------------------------------------------- emulator, OAuth

/// An HTTP client for the emulator (loopback, no proxy, no redirects).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

/// `POST {base}/_emulator{path}` with a JSON body; the JSON answer.
pub async fn control(base: &str, path: &str, body: Value) -> Value {
    control_request(http().post(format!("{base}/_emulator{path}")), path, body).await
}

/// [`control`] on a locked emulator (the demo's): with its per-run secret.
pub async fn control_locked(base: &str, secret: &str, path: &str, body: Value) -> Value {
    let request = http()
        .post(format!("{base}/_emulator{path}"))
        .header(amo_emulator::SECRET_HEADER, secret);
    control_request(request, path, body).await
}

async fn control_request(request: reqwest::RequestBuilder, path: &str, body: Value) -> Value {
    let answer = request
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST /_emulator{path}: {e}"));
    let status = answer.status();
    let text = answer.text().await.unwrap_or_default();
    assert!(
        status.is_success(),
        "POST /_emulator{path} answered {status}: {text}"
    );
    serde_json::from_str(&text).unwrap_or(Value::Null)
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

/// The scripted browser: presses Allow on the emulator's approval page and
/// returns the redirect's Location (the `amosync://oauth/callback?…` link).
pub async fn approve(authorize_url: &str) -> String {
    let http = http();
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
    assert_eq!(answer.status().as_u16(), 302, "the approval redirects");
    answer.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned()
}

// --------------------------------------------------------------------- /proc

/// Processes whose environment holds `AMOSYNC_DATA=<data>`: (pid, comm, VmRSS kB).
pub fn processes_of(data: &Path) -> Vec<(u32, String, u64)> {
    let needle = format!("AMOSYNC_DATA={}", data.display());
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if !environ
            .split(|b| *b == 0)
            .any(|var| var == needle.as_bytes())
        {
            continue;
        }
        let comm = std::fs::read_to_string(entry.path().join("comm"))
            .unwrap_or_default()
            .trim()
            .to_owned();
        let rss = std::fs::read_to_string(entry.path().join("status"))
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
            .unwrap_or(0);
        out.push((pid, comm, rss));
    }
    out
}
