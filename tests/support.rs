//! Shared helpers for the cross-component tests: start the emulator, drive its
//! control API (`/_emulator/...`), build clients, and record requests through a
//! small proxy.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use amo::{ApiError, Client, ClientConfig, Secret, TokenProvider};
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

/// The emulator's control API.
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
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Request counters.
    pub async fn stats(&self) -> Stats {
        let response = self
            .http
            .get(format!("{}/_emulator/stats", self.base))
            .send()
            .await
            .expect("GET /_emulator/stats");
        Stats(response.json().await.expect("stats JSON"))
    }

    /// Zeroes the request counters.
    pub async fn reset_stats(&self) {
        self.post("stats/reset", json!({})).await;
    }

    /// Issues a new access token.
    pub async fn issue_token(&self, admin: bool) -> String {
        let answer = self.post("tokens", json!({ "admin": admin })).await;
        ["access_token", "token"]
            .iter()
            .find_map(|k| answer.get(*k).and_then(Value::as_str))
            .or_else(|| answer.as_str())
            .unwrap_or_else(|| panic!("no token in {answer}"))
            .to_owned()
    }

    /// Revokes a token: every later use answers 401.
    pub async fn revoke(&self, token: &str) {
        self.post("tokens/revoke", json!({ "token": token })).await;
    }

    /// Random API faults.
    pub async fn api_faults(&self, faults: Value) {
        self.post("faults/api", faults).await;
    }

    /// The next `count` API requests answer `status` (429 or 403).
    pub async fn force(&self, status: u16, count: u32) {
        self.post("faults/force", json!({ "status": status, "count": count }))
            .await;
    }

    /// Clears every fault.
    pub async fn reset_faults(&self) {
        self.post("faults/reset", json!({})).await;
    }
}

/// `GET /_emulator/stats` as sent, with lookups that tolerate its layout.
#[derive(Debug, Clone)]
pub struct Stats(pub Value);

impl Stats {
    /// Answers with HTTP `status` counted by the emulator.
    pub fn status_count(&self, status: u16) -> u64 {
        let key = status.to_string();
        for map in [
            "by_status",
            "statuses",
            "status",
            "responses",
            "status_codes",
        ] {
            if let Some(n) = self
                .0
                .get(map)
                .and_then(|m| m.get(&key))
                .and_then(Value::as_u64)
            {
                return n;
            }
        }
        0
    }

    /// API requests counted by the emulator.
    pub fn total(&self) -> u64 {
        ["api_requests", "requests", "total"]
            .iter()
            .find_map(|k| self.0.get(*k).and_then(Value::as_u64))
            .unwrap_or(0)
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
