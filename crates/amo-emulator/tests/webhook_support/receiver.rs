//! A tiny webhook receiver on 127.0.0.1 that records every POST.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

/// How the receiver answers.
#[derive(Debug, Clone)]
pub enum Mode {
    Ok,
    Status(u16),
    /// Answer 500 to the first `n` requests, then 200.
    FailFirst(usize),
    /// Sleep this long, then answer 200.
    Sleep(Duration),
    /// 302 to `/elsewhere`.
    Redirect,
}

#[derive(Debug, Clone)]
pub struct Hit {
    pub path: String,
    pub content_type: String,
    pub user_agent: String,
    pub body: String,
    pub at: Instant,
}

#[derive(Clone, Default)]
struct Shared {
    hits: Arc<Mutex<Vec<Hit>>>,
    mode: Arc<Mutex<Option<Mode>>>,
    seen: Arc<Mutex<usize>>,
}

pub struct Receiver {
    pub base: String,
    shared: Shared,
}

impl Receiver {
    pub async fn start(mode: Mode) -> Receiver {
        let shared = Shared::default();
        *shared.mode.lock().unwrap() = Some(mode);
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let addr = listener.local_addr().expect("receiver addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            base: format!("http://{addr}"),
            shared,
        }
    }

    /// A destination URL on this receiver (with a "secret" path).
    pub fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = Some(mode);
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.shared.hits.lock().unwrap().clone()
    }

    pub fn hits_at(&self, path: &str) -> Vec<Hit> {
        self.hits()
            .into_iter()
            .filter(|h| h.path == format!("/{path}"))
            .collect()
    }

    /// Wait (bounded) until at least `n` hits arrived.
    pub async fn wait_hits(&self, n: usize, timeout: Duration) -> Vec<Hit> {
        let deadline = Instant::now() + timeout;
        loop {
            let hits = self.hits();
            if hits.len() >= n || Instant::now() >= deadline {
                return hits;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn handle(
    State(shared): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let get = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    shared.hits.lock().unwrap().push(Hit {
        path: uri.path().to_owned(),
        content_type: get(header::CONTENT_TYPE),
        user_agent: get(header::USER_AGENT),
        body: String::from_utf8_lossy(&body).into_owned(),
        at: Instant::now(),
    });
    let seen = {
        let mut seen = shared.seen.lock().unwrap();
        *seen += 1;
        *seen
    };
    let mode = shared.mode.lock().unwrap().clone().unwrap_or(Mode::Ok);
    match mode {
        Mode::Ok => StatusCode::OK.into_response(),
        Mode::Status(code) => StatusCode::from_u16(code)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response(),
        Mode::FailFirst(n) if seen <= n => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Mode::FailFirst(_) => StatusCode::OK.into_response(),
        Mode::Sleep(d) => {
            tokio::time::sleep(d).await;
            StatusCode::OK.into_response()
        }
        Mode::Redirect => (StatusCode::FOUND, [(header::LOCATION, "/elsewhere")]).into_response(),
    }
}
