//! A small webhook receiver on 127.0.0.1 for the live webhook tests: it records
//! every request (method, path, headers, raw body) and answers 200, or 500 for
//! as many upcoming requests as it was told to fail.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use tokio::sync::oneshot;

/// Polling step of [`Receiver::wait_for`].
const POLL_STEP: Duration = Duration::from_millis(20);

/// One request as it reached the receiver.
#[derive(Debug, Clone)]
pub struct Hit {
    pub method: Method,
    /// Path only (the "secret" part of a destination).
    pub path: String,
    pub headers: HeaderMap,
    /// The body, byte for byte.
    pub body: Vec<u8>,
    /// The status the receiver answered with.
    pub answered: u16,
}

impl Hit {
    /// A header as text (`""` when absent or not visible ASCII).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

#[derive(Default)]
struct Shared {
    hits: Mutex<Vec<Hit>>,
    /// Answer 500 to this many upcoming requests.
    fail_next: AtomicUsize,
}

/// The running receiver; stops when dropped.
pub struct Receiver {
    base: String,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
}

impl Receiver {
    /// Binds 127.0.0.1 on a free port and serves every path.
    pub async fn start() -> Receiver {
        let shared = Arc::new(Shared::default());
        let app = Router::new().fallback(record).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the webhook receiver on 127.0.0.1");
        let addr = listener.local_addr().expect("receiver address");
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        Receiver {
            base: format!("http://{addr}"),
            shared,
            stop: Some(stop),
        }
    }

    /// A destination URL on this receiver; `path` starts with `/`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Answer 500 to the next `n` requests (any path), then 200 again.
    pub fn fail_next(&self, n: usize) {
        self.shared.fail_next.store(n, Ordering::SeqCst);
    }

    /// Everything received so far, in arrival order.
    pub fn hits(&self) -> Vec<Hit> {
        self.shared
            .hits
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// What arrived at `path`, in arrival order.
    pub fn hits_at(&self, path: &str) -> Vec<Hit> {
        self.hits().into_iter().filter(|h| h.path == path).collect()
    }

    /// Polls (bounded) until at least `n` requests arrived at `path`; panics
    /// with what did arrive when `timeout` passes first.
    pub async fn wait_for(&self, path: &str, n: usize, timeout: Duration) -> Vec<Hit> {
        let deadline = Instant::now() + timeout;
        loop {
            let hits = self.hits_at(path);
            if hits.len() >= n {
                return hits;
            }
            if Instant::now() >= deadline {
                let bodies: Vec<String> = hits
                    .iter()
                    .map(|h| String::from_utf8_lossy(&h.body).into_owned())
                    .collect();
                panic!(
                    "waited {timeout:?} for {n} request(s) at {path}, got {}: {bodies:#?}",
                    hits.len()
                );
            }
            tokio::time::sleep(POLL_STEP).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn record(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let fail = shared
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    let status = if fail {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    shared
        .hits
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Hit {
            method,
            path: uri.path().to_owned(),
            headers,
            body: body.to_vec(),
            answered: status.as_u16(),
        });
    status
}
