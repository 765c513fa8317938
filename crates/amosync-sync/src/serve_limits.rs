//! Floods and slow clients: the receiver's bounds on memory, connections and
//! time.
//!
//! The receiver's port is reachable from the internet through the tunnel, so
//! whoever learns the path secret (or just the port) can send as much as
//! they like. These limits keep `serve`'s memory bounded and keep a slot free
//! for amoCRM's own deliveries, which it abandons after 2 s:
//!
//! | limit | value | why this number |
//! |---|---|---|
//! | body bytes in flight ([`ServeLimits::bytes_in_flight`]) | **32 MiB** | 32 bodies of the 1 MiB maximum, or ~10,000 real webhooks (1–5 KB): far above what group commit needs (the ingest benchmark's 32 clients hold ~100 KB), and at ~3 bytes of memory per reserved byte (the read buffer, the log's copy, the decoder) about 100 MB at worst |
//! | open connections ([`ServeLimits::max_connections`]) | **256** | amoCRM opens a handful at a time; 256 with a 64 KiB read buffer each is 16 MiB; past it the listener stops accepting and the kernel's backlog holds the rest until a slot frees |
//! | request headers ([`ServeLimits::header_read_timeout`]) | **5 s** | from the connection's accept (or the end of the previous answer, when idle on keep-alive) to the end of the headers; amoCRM sends its whole request at once and gives up after 2 s, so anything slower is not amoCRM and only holds a tunnel slot |
//! | request body ([`ServeLimits::body_read_timeout`]) | **5 s** | from the end of the headers to the last byte; same reasoning |
//! | large bodies checked at once ([`ServeLimits::large_bodies_at_once`]) | **1** (over [`ServeLimits::large_body_bytes`] = **64 KiB**) | the receiver parses a body on the async runtime; on a 2-core machine a few 800 KB bodies parsed at once took both worker threads and delayed everyone's answer by over a second. Real webhooks are a few KB: they never wait for this lane, and the big ones take turns on one thread (a wait longer than the body timeout is answered 503) |
//!
//! Bytes are reserved **before** the body is read: the declared
//! `Content-Length` (hyper reads no more than that), or the 1 MiB maximum
//! when the body is chunked. A request that finds no room is answered **503**
//! at once — amoCRM's documented "retry later", which does not count toward
//! disabling the webhook like a 4xx would — and its body is never read. The
//! reservation is held until the answer: through the read, the account check
//! and the durable commit in the event log, so the ingest queue never holds
//! more than this budget either.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;

use crate::secret::WebhookSecret;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use tokio::sync::Semaphore;

use crate::receiver::MAX_BODY_BYTES;

/// The receiver's bounds (see the module table for the numbers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeLimits {
    /// Body bytes being read or waiting for the event log, all requests together.
    pub bytes_in_flight: usize,
    /// Connections open at once.
    pub max_connections: usize,
    /// Longest wait for a request's headers.
    pub header_read_timeout: Duration,
    /// Longest wait for a request's body, after its headers.
    pub body_read_timeout: Duration,
    /// hyper's per-connection read buffer (headers must fit in it).
    pub read_buffer_bytes: usize,
    /// A body larger than this is "large": it takes a turn in the large lane.
    pub large_body_bytes: usize,
    /// Large bodies being checked and logged at once.
    pub large_bodies_at_once: usize,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            bytes_in_flight: 32 * 1024 * 1024,
            max_connections: 256,
            header_read_timeout: Duration::from_secs(5),
            body_read_timeout: Duration::from_secs(5),
            read_buffer_bytes: 64 * 1024,
            large_body_bytes: 64 * 1024,
            large_bodies_at_once: 1,
        }
    }
}

/// Counters of the limits (for logs and tests).
#[derive(Debug, Default)]
pub struct LimitStats {
    /// Requests answered 503 because the bytes in flight were at the limit.
    pub refused_busy: AtomicU64,
    /// Requests whose body did not arrive within the body timeout (408).
    pub body_timeouts: AtomicU64,
    /// Large bodies answered 503 after waiting a body timeout for their turn.
    pub large_refused: AtomicU64,
}

/// The shared budget of body bytes in flight.
#[derive(Debug, Clone)]
pub struct BodyBudget {
    bytes: Arc<Semaphore>,
    large: Arc<Semaphore>,
    large_body_bytes: usize,
    timeout: Duration,
    stats: Arc<LimitStats>,
    /// When set, only requests the receiver would read (its secret path, a
    /// form body) reserve bytes; every other request is answered by the
    /// receiver (404, 415) without its body being read, so whoever knows
    /// only the port cannot spend the budget amoCRM's deliveries need.
    receiver_secret: Option<WebhookSecret>,
}

impl BodyBudget {
    /// A budget of `limits.bytes_in_flight` bytes.
    pub fn new(limits: &ServeLimits) -> BodyBudget {
        BodyBudget {
            bytes: Arc::new(Semaphore::new(
                limits.bytes_in_flight.min(Semaphore::MAX_PERMITS),
            )),
            large: Arc::new(Semaphore::new(limits.large_bodies_at_once.max(1))),
            large_body_bytes: limits.large_body_bytes,
            timeout: limits.body_read_timeout,
            stats: Arc::new(LimitStats::default()),
            receiver_secret: None,
        }
    }

    /// The same budget, spent only by requests to the receiver's secret
    /// path with a form body (see [`BodyBudget::spends`]).
    pub fn for_receiver(mut self, secret: WebhookSecret) -> BodyBudget {
        self.receiver_secret = Some(secret);
        self
    }

    /// Whether `request` reserves bytes: every `POST` without a receiver
    /// secret; with one, only a `POST` of a form body to
    /// `/amocrm/<secret>[/]` (what the receiver reads).
    fn spends(&self, request: &Request) -> bool {
        let Some(secret) = &self.receiver_secret else {
            return true;
        };
        let path = request.uri().path();
        let Some(rest) = path.strip_prefix("/amocrm/") else {
            return false;
        };
        let candidate = rest.strip_suffix('/').unwrap_or(rest);
        secret.matches(candidate) && crate::receiver::is_form(request.headers())
    }

    /// Bytes not reserved right now.
    pub fn available(&self) -> usize {
        self.bytes.available_permits()
    }

    /// The counters.
    pub fn stats(&self) -> &Arc<LimitStats> {
        &self.stats
    }
}

/// `router` behind the body budget: every `POST` body is reserved, read
/// within the body timeout and handed to the router whole.
pub fn limit_bodies(router: Router, budget: BodyBudget) -> Router {
    router.layer(axum::middleware::from_fn_with_state(
        budget,
        hold_body_budget,
    ))
}

/// What a request's body reserves, or `None` when the receiver answers it
/// without reading the body (not a `POST`, or a declared size over the
/// limit: the receiver's own 413).
pub fn reservation(method: &Method, declared: Option<u64>) -> Option<usize> {
    if method != Method::POST {
        return None;
    }
    match declared {
        Some(n) if n > MAX_BODY_BYTES as u64 => None,
        Some(n) => usize::try_from(n).ok(),
        None => Some(MAX_BODY_BYTES),
    }
}

fn text(status: StatusCode, body: impl Into<String>) -> Response {
    let body: String = body.into();
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// Why a body could not be read whole.
enum ReadError {
    TooLarge,
    Broken,
}

async fn read_body(body: Body, capacity: usize) -> Result<Bytes, ReadError> {
    let mut stream = body.into_data_stream();
    let mut out = Vec::with_capacity(capacity.min(MAX_BODY_BYTES));
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ReadError::Broken)?;
        if out.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ReadError::TooLarge);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(out))
}

async fn hold_body_budget(
    State(budget): State<BodyBudget>,
    request: Request,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let Some(reserve) = reservation(request.method(), declared).filter(|_| budget.spends(&request))
    else {
        return next.run(request).await;
    };
    let permits = u32::try_from(reserve).unwrap_or(u32::MAX);
    let Ok(_held) = budget.bytes.clone().try_acquire_many_owned(permits) else {
        let n = budget.stats.refused_busy.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_power_of_two() {
            tracing::warn!(
                refused = n,
                "webhook bytes in flight at the limit; answering 503 so the sender retries later"
            );
        }
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "service unavailable: too many webhooks in flight; retry later",
        );
    };
    let (parts, body) = request.into_parts();
    let bytes = match tokio::time::timeout(budget.timeout, read_body(body, reserve)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(ReadError::TooLarge)) => {
            return text(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("payload too large: the limit is {MAX_BODY_BYTES} bytes"),
            );
        }
        Ok(Err(ReadError::Broken)) => {
            tracing::debug!("a webhook body broke off while being read");
            return text(
                StatusCode::BAD_REQUEST,
                "bad request: the body could not be read",
            );
        }
        Err(_) => {
            budget.stats.body_timeouts.fetch_add(1, Ordering::Relaxed);
            tracing::debug!("a webhook body did not arrive within the body timeout; answered 408");
            let mut response = text(
                StatusCode::REQUEST_TIMEOUT,
                "request timeout: the body did not arrive in time",
            );
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return response;
        }
    };
    // Large bodies take turns: parsing one is CPU work on the runtime.
    let _turn = if bytes.len() > budget.large_body_bytes {
        match tokio::time::timeout(budget.timeout, budget.large.clone().acquire_owned()).await {
            Ok(Ok(turn)) => Some(turn),
            _ => {
                budget.stats.large_refused.fetch_add(1, Ordering::Relaxed);
                return text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "service unavailable: too many large webhooks at once; retry later",
                );
            }
        }
    } else {
        None
    };
    // `_held` and `_turn` live until the receiver's answer: through the
    // account check and the durable commit.
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::post;
    use tower::ServiceExt;

    #[test]
    fn reservation_table() {
        let cases: [(Method, Option<u64>, Option<usize>); 6] = [
            (Method::POST, Some(700), Some(700)),
            (Method::POST, Some(0), Some(0)),
            (Method::POST, None, Some(MAX_BODY_BYTES)),
            (
                Method::POST,
                Some(MAX_BODY_BYTES as u64),
                Some(MAX_BODY_BYTES),
            ),
            (Method::POST, Some(MAX_BODY_BYTES as u64 + 1), None),
            (Method::GET, None, None),
        ];
        for (method, declared, want) in cases {
            assert_eq!(
                reservation(&method, declared),
                want,
                "{method} {declared:?}"
            );
        }
    }

    /// A router whose handler waits for a permit of `gate` before
    /// answering, so the test controls how long a reservation is held.
    fn gated(budget: BodyBudget, gate: Arc<Semaphore>) -> Router {
        let app = Router::new().route(
            "/",
            post(move |body: Bytes| {
                let gate = gate.clone();
                async move {
                    drop(gate.acquire().await);
                    format!("{}", body.len())
                }
            }),
        );
        limit_bodies(app, budget)
    }

    fn post_of(len: usize) -> Request {
        axum::http::Request::post("/")
            .header(header::CONTENT_LENGTH, len)
            .body(Body::from(vec![b'a'; len]))
            .expect("request")
    }

    #[tokio::test]
    async fn a_body_past_the_budget_is_answered_503_without_reading_it() {
        let budget = BodyBudget::new(&ServeLimits {
            bytes_in_flight: 1000,
            ..ServeLimits::default()
        });
        let gate = Arc::new(Semaphore::new(0));
        let app = gated(budget.clone(), gate.clone());
        let first = tokio::spawn(app.clone().oneshot(post_of(800)));
        for _ in 0..100 {
            if budget.available() == 200 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(budget.available(), 200, "800 bytes held by the first body");
        let refused = app.clone().oneshot(post_of(300)).await.expect("answer");
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(budget.stats().refused_busy.load(Ordering::Relaxed), 1);
        // A small body still fits beside the big one.
        let small = tokio::spawn(app.clone().oneshot(post_of(150)));
        gate.add_permits(1);
        let first = first.await.expect("join").expect("answer");
        assert_eq!(first.status(), StatusCode::OK);
        let small = small.await.expect("join").expect("answer");
        assert_eq!(small.status(), StatusCode::OK);
        assert_eq!(budget.available(), 1000, "released after the answers");
    }

    #[tokio::test]
    async fn only_the_receivers_own_requests_spend_the_budget() {
        let secret = WebhookSecret::parse(&"c0ffee".repeat(8)).expect("secret");
        let budget = BodyBudget::new(&ServeLimits {
            bytes_in_flight: 100,
            ..ServeLimits::default()
        })
        .for_receiver(secret.clone());
        let own = format!("/amocrm/{}/", secret.expose());
        let app = Router::new()
            .route(
                &own,
                post(|body: Bytes| async move { format!("{}", body.len()) }),
            )
            .fallback(|| async { (StatusCode::NOT_FOUND, "not found") });
        let app = limit_bodies(app, budget.clone());
        let form = "application/x-www-form-urlencoded";
        let send = |path: String, content_type: &'static str| {
            let app = app.clone();
            async move {
                let request = axum::http::Request::post(path)
                    .header(header::CONTENT_TYPE, content_type)
                    .header(header::CONTENT_LENGTH, 500)
                    .body(Body::from(vec![b'a'; 500]))
                    .expect("request");
                app.oneshot(request).await.expect("answer").status()
            }
        };
        // 500 bytes do not fit a budget of 100: only the receiver's path spends it.
        assert_eq!(
            send(own.clone(), form).await,
            StatusCode::SERVICE_UNAVAILABLE
        );
        let wrong = format!("/amocrm/{}/", "0".repeat(48));
        assert_eq!(send(wrong, form).await, StatusCode::NOT_FOUND);
        assert_eq!(send("/x".into(), form).await, StatusCode::NOT_FOUND);
        assert_eq!(
            send(own, "application/json").await,
            StatusCode::OK,
            "not reserved: the receiver answers it 415 without reading it"
        );
        assert_eq!(budget.stats().refused_busy.load(Ordering::Relaxed), 1);
        assert_eq!(budget.available(), 100);
    }

    #[tokio::test]
    async fn large_bodies_take_turns_and_small_ones_pass_them() {
        let budget = BodyBudget::new(&ServeLimits {
            large_body_bytes: 1000,
            large_bodies_at_once: 1,
            body_read_timeout: Duration::from_millis(300),
            ..ServeLimits::default()
        });
        let gate = Arc::new(Semaphore::new(0));
        let app = gated(budget.clone(), gate.clone());
        let first = tokio::spawn(app.clone().oneshot(post_of(5000)));
        for _ in 0..100 {
            if budget.large.available_permits() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            budget.large.available_permits(),
            0,
            "the first large body has the lane"
        );
        // A second large body waits for its turn, then gives up with 503.
        let second = app.clone().oneshot(post_of(5000)).await.expect("answer");
        assert_eq!(second.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(budget.stats().large_refused.load(Ordering::Relaxed), 1);
        // A small body does not wait for the lane.
        let small = tokio::spawn(app.clone().oneshot(post_of(500)));
        tokio::time::sleep(Duration::from_millis(50)).await;
        gate.add_permits(1);
        assert_eq!(
            small.await.expect("join").expect("answer").status(),
            StatusCode::OK
        );
        assert_eq!(
            first.await.expect("join").expect("answer").status(),
            StatusCode::OK
        );
        assert_eq!(budget.large.available_permits(), 1);
    }

    #[tokio::test]
    async fn a_chunked_body_reserves_the_maximum() {
        let budget = BodyBudget::new(&ServeLimits {
            bytes_in_flight: MAX_BODY_BYTES - 1,
            ..ServeLimits::default()
        });
        let app = gated(budget.clone(), Arc::new(Semaphore::new(1)));
        let chunks = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"a=1"))]);
        let request = axum::http::Request::post("/")
            .body(Body::from_stream(chunks))
            .expect("request");
        let answer = app.oneshot(request).await.expect("answer");
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[tokio::test]
    async fn a_chunked_body_over_the_maximum_is_413() {
        let budget = BodyBudget::new(&ServeLimits::default());
        let app = gated(budget.clone(), Arc::new(Semaphore::new(1)));
        let chunk = Bytes::from(vec![b'a'; 64 * 1024]);
        let chunks =
            futures::stream::iter((0..17).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
        let request = axum::http::Request::post("/")
            .body(Body::from_stream(chunks))
            .expect("request");
        let answer = app.oneshot(request).await.expect("answer");
        assert_eq!(answer.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(budget.available(), ServeLimits::default().bytes_in_flight);
    }

    #[tokio::test]
    async fn a_slow_body_is_cut_off_with_408() {
        let budget = BodyBudget::new(&ServeLimits {
            body_read_timeout: Duration::from_millis(100),
            ..ServeLimits::default()
        });
        let app = gated(budget.clone(), Arc::new(Semaphore::new(1)));
        let chunks = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"a="))])
            .chain(futures::stream::pending::<Result<Bytes, std::io::Error>>());
        let request = axum::http::Request::post("/")
            .header(header::CONTENT_LENGTH, 10)
            .body(Body::from_stream(chunks))
            .expect("request");
        let answer = tokio::time::timeout(Duration::from_secs(5), app.oneshot(request))
            .await
            .expect("answered within the timeout")
            .expect("answer");
        assert_eq!(answer.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(budget.stats().body_timeouts.load(Ordering::Relaxed), 1);
        assert_eq!(budget.available(), ServeLimits::default().bytes_in_flight);
    }
}
