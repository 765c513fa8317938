//! The webhook receiver: `POST /amocrm/{secret}/` on 127.0.0.1.
//!
//! amoCRM (through a tunnel) POSTs form-encoded bodies here and counts any
//! answer other than 100–299 within 2 s as a failed delivery (amocrm.md §1).
//! The receiver checks cheap things first, parses the form the way PHP does and
//! reads the account block ([`amo::webhook::read_account`]: the same acceptance
//! as the full decode, without typing the events), makes a valid body durable in the
//! event log (group commit, see [`crate::ingest`]) and only then answers 200.
//! Decoding into typed events and writing records happens later, in the
//! applier.
//!
//! | Request | Status | Body | Stored |
//! |---|---|---|---|
//! | `POST /amocrm/<secret>/` (or without the trailing slash), form body of the bound account | **200** | `ok` | yes, durable before the answer |
//! | the same with what PHP's `parse_str` resolves silently: duplicate or conflicting keys (the later wins), broken percent-escapes, invalid UTF-8, malformed brackets, keys nested deeper than 64 levels | **200** | `ok` | yes; the applier reports what it could not type in the entry's outcome |
//! | any other path, a wrong secret, or any method other than `POST` | **404** | `not found` | no |
//! | `Content-Type` not `application/x-www-form-urlencoded` (a `charset` parameter is fine) | **415** | `unsupported media type: …` | no |
//! | body over 1 MiB (by `Content-Length` or while reading) | **413** | `payload too large: …` | no |
//! | more than 50,000 `key=value` pairs, a key over 4 KiB (raw, percent-encoded: a Cyrillic name takes 6 bytes a letter) or a value over 128 KiB | **413** | `payload too large: <code>: …` | no |
//! | no `account[subdomain]`, or an account block that cannot be read (`account[id]` not a number) | **400** | `bad request: <code>: …` (one line) | no |
//! | `account[id]` or `account[subdomain]` of another account | **403** | `forbidden: webhook for another account` | no (logged as a warning) |
//! | the event log cannot be written (disk full, I/O) or the engine is stopping | **503** | `service unavailable: …` | no — amoCRM retries later |
//!
//! Every error body is one short line of text and never contains the path
//! secret. Rejections that reach the decoder are counted in
//! `EngineStatus::webhooks_rejected`; the wrong-secret 404s are not logged
//! above `debug` (the internet scans).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use amo::webhook::{DecodeError, DecodeLimits};
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;

use crate::clock::Clock;
use crate::ingest::{IngestError, IngestHandle};
use crate::secret::WebhookSecret;

/// Every settings code of amocrm.md §1: what the office does that the mirror
/// must hear about, registered with the account for this receiver.
/// Accounts drop codes they do not support.
pub const WEBHOOK_SETTINGS: &[&str] = &[
    "add_lead",
    "update_lead",
    "delete_lead",
    "restore_lead",
    "status_lead",
    "responsible_lead",
    "note_lead",
    "add_contact",
    "update_contact",
    "delete_contact",
    "restore_contact",
    "responsible_contact",
    "note_contact",
    "add_company",
    "update_company",
    "delete_company",
    "restore_company",
    "responsible_company",
    "note_company",
    "add_task",
    "update_task",
    "delete_task",
    "responsible_task",
    "add_talk",
    "update_talk",
    "add_message",
    "add_unsorted",
];

/// Largest body accepted (amoCRM bodies of hundreds of entities stay far below).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The decoder limits the receiver applies (tighter than the decoder's
/// defaults in pairs; PHP's nesting rule of 64 levels).
pub fn receiver_limits() -> DecodeLimits {
    DecodeLimits {
        max_body_bytes: MAX_BODY_BYTES,
        max_pairs: 50_000,
        max_depth: 64,
        max_key_bytes: 4096,
        max_value_bytes: 128 * 1024,
    }
}

/// The account webhooks must come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundAccount {
    /// `account[id]`.
    pub id: u64,
    /// `account[subdomain]` (compared case-insensitively).
    pub subdomain: String,
}

/// Counters of the receiver.
#[derive(Debug, Default)]
pub struct ReceiverStats {
    /// Webhooks made durable and answered 200.
    pub accepted: AtomicU64,
    /// Webhooks at the right path answered with an error (400/403/413/415/503).
    pub rejected: AtomicU64,
    /// Unix ms of the last accepted webhook (0 = none).
    pub last_accepted_ms: AtomicU64,
}

/// What the receiver needs.
#[derive(Clone)]
pub struct ReceiverState {
    /// The path secret.
    pub secret: WebhookSecret,
    /// The bound account.
    pub account: BoundAccount,
    /// The event log writer.
    pub ingest: IngestHandle,
    /// The clock (`received_at_ms`).
    pub clock: Arc<dyn Clock>,
    /// Counters.
    pub stats: Arc<ReceiverStats>,
    /// Decoder limits (default [`receiver_limits`]).
    pub limits: DecodeLimits,
}

impl ReceiverState {
    /// A state with the default limits and fresh counters.
    pub fn new(
        secret: WebhookSecret,
        account: BoundAccount,
        ingest: IngestHandle,
        clock: Arc<dyn Clock>,
    ) -> ReceiverState {
        ReceiverState {
            secret,
            account,
            ingest,
            clock,
            stats: Arc::new(ReceiverStats::default()),
            limits: receiver_limits(),
        }
    }
}

impl std::fmt::Debug for ReceiverState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiverState")
            .field("secret", &self.secret)
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

/// The receiver's router: `POST /amocrm/{secret}/` (and without the slash);
/// everything else answers 404 (never 405: a scan learns nothing).
pub fn app(state: ReceiverState) -> Router {
    Router::new()
        .route("/amocrm/{secret}", any(receive))
        .route("/amocrm/{secret}/", any(receive))
        .fallback(not_found)
        .with_state(state)
}

fn text(status: StatusCode, body: impl Into<String>) -> Response {
    let mut body: String = body.into();
    // One line, short.
    if let Some(cut) = body.find(['\n', '\r']) {
        body.truncate(cut);
    }
    if body.len() > 300 {
        let mut cut = 300;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        body.truncate(cut);
    }
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn not_found() -> Response {
    text(StatusCode::NOT_FOUND, "not found")
}

/// `application/x-www-form-urlencoded`, optionally with parameters.
pub(crate) fn is_form(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/x-www-form-urlencoded")
}

/// The status a decode error answers with: 413 for a size limit, 400 for a
/// missing or unreadable account block (the only other errors).
pub fn decode_status(e: &DecodeError) -> StatusCode {
    match e {
        DecodeError::BodyTooLarge { .. }
        | DecodeError::TooManyPairs { .. }
        | DecodeError::KeyTooLong { .. }
        | DecodeError::ValueTooLong { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// Whether a decoded account block is the bound account. Old payloads carry
/// only the subdomain; when `account[id]` is present it must match too.
pub fn account_matches(bound: &BoundAccount, block: &amo::webhook::AccountBlock) -> bool {
    block.subdomain.eq_ignore_ascii_case(&bound.subdomain)
        && block.id.is_none_or(|id| id == bound.id)
}

async fn receive(
    State(state): State<ReceiverState>,
    Path(secret): Path<String>,
    request: Request,
) -> Response {
    if !state.secret.matches(&secret) {
        tracing::debug!("webhook path with a wrong secret; answered 404");
        return not_found().await;
    }
    if request.method() != Method::POST {
        return not_found().await;
    }
    let reject = |status: StatusCode, body: String| {
        state.stats.rejected.fetch_add(1, Ordering::Relaxed);
        text(status, body)
    };
    if !is_form(request.headers()) {
        tracing::debug!("webhook with a wrong content type; answered 415");
        return reject(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported media type: expected application/x-www-form-urlencoded".into(),
        );
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return reject(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("payload too large: the limit is {MAX_BODY_BYTES} bytes"),
        );
    }
    let body: Body = request.into_body();
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return reject(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("payload too large: the limit is {MAX_BODY_BYTES} bytes"),
            );
        }
    };
    // The same acceptance as the applier's full decode (limits, form syntax,
    // the account block), without typing the events: that is the applier's
    // work, off the ack path.
    let account = match amo::webhook::read_account(&bytes, &state.limits) {
        Ok(a) => a,
        Err(e) => {
            let status = decode_status(&e);
            tracing::debug!(
                code = e.code(),
                status = status.as_u16(),
                "webhook body rejected by the decoder"
            );
            let prefix = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "payload too large"
            } else {
                "bad request"
            };
            return reject(status, format!("{prefix}: {}: {e}", e.code()));
        }
    };
    if !account_matches(&state.account, &account) {
        tracing::warn!(
            subdomain = %account.subdomain,
            account_id = ?account.id,
            "webhook for another account rejected (403, not stored)"
        );
        return reject(
            StatusCode::FORBIDDEN,
            "forbidden: webhook for another account".into(),
        );
    }
    let received_at_ms = state.clock.now_ms();
    match state.ingest.submit(bytes.to_vec(), received_at_ms).await {
        Ok(seq) => {
            state.stats.accepted.fetch_add(1, Ordering::Relaxed);
            state.stats.last_accepted_ms.fetch_max(
                u64::try_from(received_at_ms).unwrap_or(0),
                Ordering::Relaxed,
            );
            tracing::debug!(seq, bytes = bytes.len(), "webhook logged");
            text(StatusCode::OK, "ok")
        }
        Err(e) => {
            let detail = match e {
                IngestError::Stopped => "the engine is stopping; retry later",
                IngestError::Store(_) => "the event log cannot be written; retry later",
            };
            reject(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("service unavailable: {detail}"),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use crate::ingest::{EventSink, IngestConfig};
    use amosync_store::RawEvent;
    use std::sync::Mutex;
    use tower::ServiceExt;

    #[derive(Default)]
    struct MemSink(Mutex<Vec<Vec<u8>>>);

    impl EventSink for MemSink {
        fn append(&self, events: &[RawEvent]) -> Result<Vec<u64>, String> {
            let mut all = self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut seqs = Vec::new();
            for e in events {
                all.push(e.body.clone());
                seqs.push(all.len() as u64);
            }
            Ok(seqs)
        }
    }

    fn secret() -> WebhookSecret {
        WebhookSecret::parse(&"c0ffee".repeat(8)).expect("secret")
    }

    fn setup() -> (Router, Arc<MemSink>, Arc<ReceiverStats>) {
        let sink = Arc::new(MemSink::default());
        let (ingest, _task) = crate::ingest::spawn(
            sink.clone(),
            Arc::new(tokio::sync::Notify::new()),
            IngestConfig::default(),
        );
        let state = ReceiverState::new(
            secret(),
            BoundAccount {
                id: 31_000_001,
                subdomain: "office".into(),
            },
            ingest,
            Arc::new(SystemClock),
        );
        let stats = state.stats.clone();
        (app(state), sink, stats)
    }

    const GOOD: &str = "leads%5Bstatus%5D%5B0%5D%5Bid%5D=42&leads%5Bstatus%5D%5B0%5D%5Bstatus_id%5D=142&account%5Bsubdomain%5D=office&account%5Bid%5D=31000001";

    async fn send(
        router: &Router,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, String) {
        let mut req = axum::http::Request::builder().method(method).uri(path);
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        let req = req.body(Body::from(body)).expect("request");
        let resp = router.clone().oneshot(req).await.expect("answer");
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .expect("body");
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    #[tokio::test]
    async fn bad_input_table() {
        let (router, sink, stats) = setup();
        let s = secret();
        let good = format!("/amocrm/{}/", s.expose());
        let form = Some("application/x-www-form-urlencoded");
        // Raw brackets: 70 levels within the 256-byte key limit.
        let deep = format!("a{}=1&account%5Bsubdomain%5D=office", "[x]".repeat(70));
        let many: String = (0..60_000).map(|i| format!("x{i}=1&")).collect::<String>()
            + "account%5Bsubdomain%5D=office";
        type Case<'a> = (&'a str, Method, String, Option<&'a str>, Vec<u8>, u16);
        let cases: Vec<Case> = vec![
            (
                "wrong secret",
                Method::POST,
                format!("/amocrm/{}/", "0".repeat(48)),
                form,
                GOOD.into(),
                404,
            ),
            (
                "no secret",
                Method::POST,
                "/amocrm/".into(),
                form,
                GOOD.into(),
                404,
            ),
            (
                "other path",
                Method::POST,
                "/".into(),
                form,
                GOOD.into(),
                404,
            ),
            ("GET", Method::GET, good.clone(), form, Vec::new(), 404),
            ("PUT", Method::PUT, good.clone(), form, GOOD.into(), 404),
            (
                "JSON body",
                Method::POST,
                good.clone(),
                Some("application/json"),
                b"{\"a\":1}".to_vec(),
                415,
            ),
            (
                "no content type",
                Method::POST,
                good.clone(),
                None,
                GOOD.into(),
                415,
            ),
            (
                "2 MiB",
                Method::POST,
                good.clone(),
                form,
                vec![b'a'; 2 << 20],
                413,
            ),
            (
                "broken percent",
                Method::POST,
                good.clone(),
                form,
                b"a=%zz&account%5Bsubdomain%5D=office".to_vec(),
                200,
            ),
            (
                "invalid utf-8",
                Method::POST,
                good.clone(),
                form,
                b"a=%ff%fe&account%5Bsubdomain%5D=office".to_vec(),
                200,
            ),
            (
                "60,000 pairs",
                Method::POST,
                good.clone(),
                form,
                many.into_bytes(),
                413,
            ),
            (
                "deep nesting",
                Method::POST,
                good.clone(),
                form,
                deep.into_bytes(),
                200,
            ),
            (
                "duplicate and conflicting keys",
                Method::POST,
                good.clone(),
                form,
                b"a=1&a=2&a%5Bb%5D=3&account%5Bsubdomain%5D=x&account%5Bsubdomain%5D=office"
                    .to_vec(),
                200,
            ),
            (
                "no account",
                Method::POST,
                good.clone(),
                form,
                b"leads%5Badd%5D%5B0%5D%5Bid%5D=1".to_vec(),
                400,
            ),
            (
                "other subdomain",
                Method::POST,
                good.clone(),
                form,
                GOOD.replace("=office", "=evil").into_bytes(),
                403,
            ),
            (
                "other account id",
                Method::POST,
                good.clone(),
                form,
                GOOD.replace("31000001", "31000002").into_bytes(),
                403,
            ),
        ];
        for (name, method, path, ct, body, want) in cases {
            let (status, text) = send(&router, method, &path, ct, body).await;
            assert_eq!(status.as_u16(), want, "{name}: {text}");
            assert!(!text.contains(s.expose()), "{name}: secret echoed");
            assert!(!text.contains('\n'), "{name}: one line");
        }
        // The four bodies PHP would parse are stored; nothing else is.
        assert_eq!(
            sink.0.lock().expect("lock").len(),
            4,
            "only PHP-parsable bodies stored"
        );
        // Still healthy.
        let (status, text) = send(
            &router,
            Method::POST,
            &good,
            Some("application/x-www-form-urlencoded; charset=UTF-8"),
            GOOD.into(),
        )
        .await;
        assert_eq!((status.as_u16(), text.as_str()), (200, "ok"));
        let no_slash = good.trim_end_matches('/').to_owned();
        let (status, _) = send(&router, Method::POST, &no_slash, form, GOOD.into()).await;
        assert_eq!(status.as_u16(), 200);
        assert_eq!(sink.0.lock().expect("lock").len(), 6);
        assert_eq!(stats.accepted.load(Ordering::Relaxed), 6);
        assert_eq!(stats.rejected.load(Ordering::Relaxed), 7);
    }

    #[test]
    fn account_match_table() {
        let bound = BoundAccount {
            id: 7,
            subdomain: "Office".into(),
        };
        let block = |sub: &str, id: Option<u64>| amo::webhook::AccountBlock {
            subdomain: sub.into(),
            id,
            ..Default::default()
        };
        assert!(account_matches(&bound, &block("office", Some(7))));
        assert!(
            account_matches(&bound, &block("OFFICE", None)),
            "old payloads"
        );
        assert!(!account_matches(&bound, &block("office", Some(8))));
        assert!(!account_matches(&bound, &block("other", Some(7))));
    }
}
