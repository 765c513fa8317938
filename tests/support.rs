//! Shared helpers for the cross-component tests: start the emulator, drive its
//! control API (`/_emulator/...`), build clients, and record requests through a
//! small proxy.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use amo::{ApiError, Client, ClientConfig, Secret, TokenProvider};
use amo_emulator::stats::Stats;
use amo_emulator::{Emulator, EmulatorConfig};
use serde_json::{Value, json};

/// Starts an emulator with `leads` leads and a fixed seed.
pub async fn start_emulator(seed: u64, leads: usize) -> Emulator {
    Emulator::start(EmulatorConfig {
        seed,
        leads,
        ..Default::default()
    })
    .await
    .expect("the emulator starts")
}

/// Ids of the emulator's leads, live (`deleted == false`) or in the trash.
pub fn emulator_lead_ids(emu: &Emulator, deleted: bool) -> std::collections::BTreeSet<u64> {
    emu.world()
        .leads
        .values()
        .filter(|l| l.is_deleted == deleted)
        .map(|l| l.id)
        .collect()
}

/// The emulator's base URL as a string (no trailing slash).
pub fn base_url(emu: &Emulator) -> String {
    emu.base_url().to_string().trim_end_matches('/').to_owned()
}

/// A client config for tests: fast backoff, short slowdown, 5 req/s.
pub fn test_config(base_url: &str) -> ClientConfig {
    ClientConfig {
        timeout: Duration::from_secs(10),
        max_retries: 3,
        backoff_base: Duration::from_millis(100),
        backoff_max: Duration::from_secs(2),
        max_total_backoff: Duration::from_secs(10),
        slowdown: Duration::from_secs(2),
        ..ClientConfig::from_url(base_url).expect("base URL")
    }
}

/// A client with a long-lived token.
pub fn client_with_token(base_url: &str, token: &str) -> Client {
    Client::new(test_config(base_url), amo::StaticToken::new(token)).expect("client")
}

/// The emulator's control API, for what has no in-process equivalent
/// (faults). Counters and tokens: use [`Emulator::state`]`().stats()` /
/// `reset_stats()` (with [`StatsExt`]) and [`Emulator::issue_token`] /
/// [`Emulator::revoke_token`].
#[derive(Clone)]
pub struct Control {
    http: reqwest::Client,
    base: String,
}

impl Control {
    /// Control API of the emulator at `base_url`.
    pub fn new(base_url: &str) -> Self {
        Control {
            http: reqwest::Client::new(),
            base: base_url.trim_end_matches('/').to_owned(),
        }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}/_emulator/{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST /_emulator/{path}: {e}"));
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(
            status.is_success(),
            "POST /_emulator/{path} → {status}: {text}"
        );
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("POST /_emulator/{path}: {e}: {text}"))
    }

    /// Random API faults.
    pub async fn api_faults(&self, faults: Value) {
        self.post("faults/api", faults).await;
    }

    /// The next `count` API requests answer `status` with the emulator's
    /// default answer for it (429 problem+json, 403 HTML block page, …).
    pub async fn force(&self, status: u16, count: u32) {
        self.force_with(status, count, None, None).await;
    }

    /// The next `count` API requests answer `status`, with `body` and/or
    /// `content_type` replacing the defaults. Panics unless the emulator
    /// echoes exactly what was asked.
    pub async fn force_with(
        &self,
        status: u16,
        count: u32,
        body: Option<&str>,
        content_type: Option<&str>,
    ) {
        let mut request = json!({ "status": status, "count": count });
        if let Some(body) = body {
            request["body"] = json!(body);
        }
        if let Some(content_type) = content_type {
            request["content_type"] = json!(content_type);
        }
        let echo = self.post("faults/force", request.clone()).await;
        assert_eq!(echo, request, "the emulator forced something else");
    }

    /// Clears every fault.
    pub async fn reset_faults(&self) {
        self.post("faults/reset", json!({})).await;
    }

    /// Adds a plain-text note to a `lead`, `contact` or `company`; returns
    /// the note as the API renders it.
    pub async fn add_note(&self, entity: &str, entity_id: u64, text: &str) -> Value {
        self.post(
            "notes",
            json!({ "entity": entity, "entity_id": entity_id, "text": text }),
        )
        .await
    }
}

/// Typed lookups on the emulator's own counters (`emu.state().stats()`).
pub trait StatsExt {
    /// Answers with HTTP `status` (0 when there were none: the map is keyed
    /// by status code, so a missing key really means none).
    fn status_count(&self, status: u16) -> u64;
}

impl StatsExt for Stats {
    fn status_count(&self, status: u16) -> u64 {
        self.by_status.get(&status).copied().unwrap_or(0)
    }
}

/// A token provider for tests: hands out `first`, and on refresh `fresh`;
/// counts refreshes and remembers which token each refresh was asked about.
pub struct SwitchingToken {
    current: Mutex<Secret>,
    fresh: Secret,
    refreshes: AtomicUsize,
    rejected: Mutex<Vec<String>>,
}

impl SwitchingToken {
    /// Starts with `first`; a refresh switches to `fresh`.
    pub fn new(first: &str, fresh: &str) -> Arc<Self> {
        Arc::new(SwitchingToken {
            current: Mutex::new(Secret::from(first)),
            fresh: Secret::from(fresh),
            refreshes: AtomicUsize::new(0),
            rejected: Mutex::new(Vec::new()),
        })
    }

    /// How many times the client asked for a refresh.
    pub fn refreshes(&self) -> usize {
        self.refreshes.load(Ordering::SeqCst)
    }

    /// The tokens the client reported as rejected.
    pub fn rejected(&self) -> Vec<String> {
        self.rejected
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl TokenProvider for SwitchingToken {
    async fn access_token(&self) -> Result<Secret, ApiError> {
        Ok(self
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone())
    }

    async fn refresh(&self, rejected: &Secret) -> Result<Secret, ApiError> {
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        self.rejected
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(rejected.expose().clone());
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        *current = self.fresh.clone();
        Ok(current.clone())
    }
}

/// A hand-written HTTP server on 127.0.0.1 (for answers the emulator never
/// gives: redirects, endless paging, foreign 404 pages). Stops on drop.
pub struct FakeServer {
    /// Base URL to point clients at.
    pub base_url: String,
    task: tokio::task::JoinHandle<()>,
}

impl FakeServer {
    /// Serves `app` on an ephemeral loopback port.
    pub async fn start(app: axum::Router) -> FakeServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake server");
        let addr = listener.local_addr().expect("fake server address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeServer {
            base_url: format!("http://{addr}"),
            task,
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A loopback URL where nothing listens: a port bound, then released.
pub async fn closed_port_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a port to close");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    format!("http://{addr}")
}

/// Everything written through the writer it hands out (for `tracing`
/// subscribers in tests).
#[derive(Clone, Default)]
pub struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogBuffer {
    /// The text written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }

    /// Captures every log line (TRACE and up) emitted on this thread until
    /// the guard drops. Use it in a `current_thread` test, so every task of
    /// the test runs (and logs) on this thread.
    ///
    /// One process-wide subscriber routes lines to the capturing thread's
    /// buffer: per-thread `set_default` subscribers race with callsite
    /// registration in other tests running in parallel and can lose events.
    pub fn capture(&self) -> CaptureGuard {
        install_capture_subscriber();
        CAPTURE.with(|c| *c.borrow_mut() = Some(self.clone()));
        CaptureGuard {
            _not_send: std::marker::PhantomData,
        }
    }
}

thread_local! {
    static CAPTURE: std::cell::RefCell<Option<LogBuffer>> = const { std::cell::RefCell::new(None) };
}

fn capturing() -> bool {
    CAPTURE.with(|c| c.borrow().is_some())
}

fn install_capture_subscriber() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::{Layer, filter};
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(|| ThreadWriter)
            .with_filter(filter::filter_fn(|_| capturing()));
        let subscriber =
            tracing_subscriber::registry().with(layer.with_filter(filter::LevelFilter::TRACE));
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other global subscriber in the test binaries");
    });
}

/// Writes to the current thread's capture buffer, if any.
struct ThreadWriter;

impl std::io::Write for ThreadWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with(|c| {
            if let Some(buffer) = c.borrow_mut().as_mut() {
                buffer.write_all(buf)?;
            }
            Ok(buf.len())
        })
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Ends a [`LogBuffer::capture`] when dropped.
pub struct CaptureGuard {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        CAPTURE.with(|c| *c.borrow_mut() = None);
    }
}

/// One request as the recorder saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// HTTP method.
    pub method: String,
    /// Path and query, as sent.
    pub path_and_query: String,
    /// Every header except `Authorization`, in order, lower-case names.
    pub headers: Vec<(String, String)>,
    /// The `Authorization` header value.
    pub authorization: Option<String>,
    /// The body bytes.
    pub body: Vec<u8>,
    /// The status the upstream answered.
    pub status: u16,
}

impl Recorded {
    /// Everything but the token: what must be identical on a re-send.
    pub fn without_auth(&self) -> (String, String, Vec<(String, String)>, Vec<u8>) {
        (
            self.method.clone(),
            self.path_and_query.clone(),
            self.headers.clone(),
            self.body.clone(),
        )
    }
}

/// A recording HTTP proxy on 127.0.0.1 in front of `upstream`.
pub struct Recorder {
    /// Base URL to point clients at.
    pub base_url: String,
    log: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct ProxyState {
    upstream: String,
    http: reqwest::Client,
    log: Arc<Mutex<Vec<Recorded>>>,
}

impl Recorder {
    /// Starts the proxy.
    pub async fn start(upstream: &str) -> Recorder {
        let log = Arc::new(Mutex::new(Vec::new()));
        let state = ProxyState {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            log: log.clone(),
        };
        let app = axum::Router::new().fallback(proxy).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind recorder");
        let addr = listener.local_addr().expect("recorder address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Recorder {
            base_url: format!("http://{addr}"),
            log,
            task,
        }
    }

    /// Requests seen so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn proxy(
    axum::extract::State(state): axum::extract::State<ProxyState>,
    request: axum::extract::Request,
) -> axum::response::Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let mut headers = Vec::new();
    let mut authorization = None;
    let mut forward = state.http.request(
        parts.method.clone(),
        format!("{}{path_and_query}", state.upstream),
    );
    for (name, value) in &parts.headers {
        let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == axum::http::header::AUTHORIZATION {
            authorization = Some(text);
        } else {
            headers.push((name.as_str().to_owned(), text));
        }
        if name != axum::http::header::HOST && name != axum::http::header::CONTENT_LENGTH {
            forward = forward.header(name, value);
        }
    }
    let upstream = forward.body(body.clone()).send().await;
    let (status, content_type, answer) = match upstream {
        Ok(r) => {
            let status = r.status();
            let content_type = r.headers().get(reqwest::header::CONTENT_TYPE).cloned();
            (status, content_type, r.bytes().await.unwrap_or_default())
        }
        Err(_) => (reqwest::StatusCode::BAD_GATEWAY, None, Default::default()),
    };
    state
        .log
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Recorded {
            method: parts.method.to_string(),
            path_and_query,
            headers,
            authorization,
            body: body.to_vec(),
            status: status.as_u16(),
        });
    let mut response = axum::response::Response::new(axum::body::Body::from(answer));
    *response.status_mut() = status;
    if let Some(ct) = content_type {
        response
            .headers_mut()
            .insert(axum::http::header::CONTENT_TYPE, ct);
    }
    response
}
