//! Operating the emulator: health, counters, tokens, clock, faults, limits, webhook delivery.

use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::body;
use crate::auth::MAX_TOKENS;
use crate::faults::{ApiFaultConfig, Forced};
use crate::limits::LimitsPatch;
use crate::problem::Problem;
use crate::state::{AppState, WebhookSettings, lock};
use crate::webhooks::WebhookFaults;

type Reply = Result<Json<Value>, Problem>;

pub async fn health() -> Json<Value> {
    Json(json!({"ok": true}))
}

pub async fn stats(State(s): State<AppState>) -> Json<Value> {
    Json(json!(s.stats()))
}

pub async fn reset_stats(State(s): State<AppState>) -> Json<Value> {
    s.reset_stats();
    Json(json!({"ok": true}))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    #[serde(default)]
    admin: bool,
    /// Issue within this integration (an id from an earlier answer): its
    /// tokens share one 7/s window. Default: a new integration.
    #[serde(default)]
    integration_id: Option<u64>,
}

/// `POST /_emulator/tokens {admin?, integration_id?}` → `{token, user_id, admin, integration_id}`.
/// At most [`MAX_TOKENS`] tokens per emulator run (400 beyond).
pub async fn issue_token(State(s): State<AppState>, b: Bytes) -> Reply {
    let t: TokenBody = body(&b)?;
    if lock(&s.inner.tokens).len() >= MAX_TOKENS {
        return Err(Problem::bad_request(format!(
            "at most {MAX_TOKENS} tokens may be issued"
        )));
    }
    let (token, user_id) = s.issue_token_in(t.admin, t.integration_id);
    let integration_id = lock(&s.inner.tokens)
        .record(&token)
        .map(|r| r.integration_id);
    Ok(Json(
        json!({"token": token, "user_id": user_id, "admin": t.admin, "integration_id": integration_id}),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeBody {
    token: String,
}

pub async fn revoke_token(State(s): State<AppState>, b: Bytes) -> Reply {
    let r: RevokeBody = body(&b)?;
    if !s.revoke_token(&r.token) {
        return Err(Problem::not_found("no such token"));
    }
    Ok(Json(json!({"ok": true})))
}

pub async fn clock(State(s): State<AppState>) -> Json<Value> {
    Json(json!({"now": s.clock().now(), "anchor": s.clock().anchor()}))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdvanceBody {
    seconds: i64,
}

pub async fn advance_clock(State(s): State<AppState>, b: Bytes) -> Reply {
    let a: AdvanceBody = body(&b)?;
    if !(0..=10 * 365 * 86_400).contains(&a.seconds) {
        return Err(Problem::bad_request(
            "seconds must be between 0 and ten years",
        ));
    }
    s.clock().advance(a.seconds);
    Ok(Json(json!({"now": s.clock().now()})))
}

pub async fn api_faults(State(s): State<AppState>, b: Bytes) -> Reply {
    let config: ApiFaultConfig = body(&b)?;
    config.validate().map_err(Problem::bad_request)?;
    lock(&s.inner.faults).config = config;
    tracing::info!(?config, "API faults set");
    Ok(Json(json!(config)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForceBody {
    status: u16,
    count: u32,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    content_type: Option<String>,
}

/// `POST /_emulator/faults/force`: the next `count` API requests (under
/// `/api/v4`, before the token is even checked) answer `status`.
///
/// Body: `{"status": 100..=599, "count": n, "body"?: string, "content_type"?: string}`.
/// `count: 0` clears a pending run; a new call replaces the pending run.
///
/// Default answers when no `body` is given:
/// * `429` → problem+json "Too Many Requests" (as the rate limit answers);
/// * `403` → the HTML page of a blocked account (`text/html`, counted in
///   stats as `blocked`);
/// * `402` → problem+json "Payment Required" (amoCRM's account-not-paid answer);
/// * `401` → problem+json "Unauthorized" with `hint` "Access token could not be verified";
/// * `400` → problem+json "Bad Request" with a `validation-errors` list;
/// * other `4xx` → problem+json titled with the status' reason;
/// * `500` → problem+json; other `5xx` → the gateway's HTML page (as
///   `/faults/api` random errors do);
/// * `204` → no body, no content type (a `body` is refused with 400);
/// * `200` and any other status → empty body as `application/hal+json`
///   (`1xx` cannot be a final answer: the HTTP server turns it into a 500).
///
/// `body` (at most 1 MiB) replaces the default body and keeps the default
/// content type (`application/hal+json` where the status has none), so
/// `{"status":200,"count":1,"body":"{\"_embedded\":"}` is a broken JSON
/// page and adding `"content_type":"text/html"` makes it an HTML page with
/// 200. `content_type` alone replaces the header. The answer echoes
/// `{status, count}` plus `body` / `content_type` when given; 400
/// (problem+json naming the field) for an out-of-range status, an oversize
/// body or an invalid content type.
pub async fn force_fault(State(s): State<AppState>, b: Bytes) -> Reply {
    let f: ForceBody = body(&b)?;
    let forced = Forced {
        status: f.status,
        body: f.body,
        content_type: f.content_type,
    };
    forced.validate().map_err(Problem::bad_request)?;
    let mut out = json!({"status": forced.status, "count": f.count});
    if let Some(b) = &forced.body {
        out["body"] = json!(b);
    }
    if let Some(ct) = &forced.content_type {
        out["content_type"] = json!(ct);
    }
    lock(&s.inner.faults).force(forced, f.count);
    Ok(Json(out))
}

pub async fn reset_faults(State(s): State<AppState>) -> Json<Value> {
    lock(&s.inner.faults).reset();
    Json(json!({"ok": true}))
}

fn limits_json(s: &AppState) -> Value {
    let limiter = lock(&s.inner.limiter);
    let blocked_for = limiter.blocked_for(Instant::now()).map(|d| d.as_millis());
    json!({"config": limiter.config, "blocked": blocked_for.is_some(), "blocked_for_ms": blocked_for})
}

pub async fn limits(State(s): State<AppState>) -> Json<Value> {
    Json(limits_json(&s))
}

pub async fn set_limits(State(s): State<AppState>, b: Bytes) -> Reply {
    let patch: LimitsPatch = body(&b)?;
    {
        let mut limiter = lock(&s.inner.limiter);
        let mut config = limiter.config;
        config.apply(patch);
        config.validate().map_err(Problem::bad_request)?;
        limiter.config = config;
    }
    Ok(Json(limits_json(&s)))
}

pub async fn reset_limits(State(s): State<AppState>) -> Json<Value> {
    lock(&s.inner.limiter).reset();
    Json(limits_json(&s))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookFaultsBody {
    #[serde(default)]
    drop_rate: f64,
    #[serde(default)]
    duplicate_rate: f64,
    #[serde(default)]
    reorder: bool,
    #[serde(default)]
    delay_ms: u64,
}

pub async fn webhook_faults(State(s): State<AppState>, b: Bytes) -> Reply {
    let f: WebhookFaultsBody = body(&b)?;
    for (name, rate) in [
        ("drop_rate", f.drop_rate),
        ("duplicate_rate", f.duplicate_rate),
    ] {
        if !(0.0..=1.0).contains(&rate) {
            return Err(Problem::bad_request(format!(
                "{name} must be between 0 and 1, got {rate}"
            )));
        }
    }
    if f.delay_ms > 600_000 {
        return Err(Problem::bad_request("delay_ms must be at most 600000"));
    }
    s.hub().set_faults(WebhookFaults {
        drop_rate: f.drop_rate,
        duplicate_rate: f.duplicate_rate,
        reorder: f.reorder,
        delay: Duration::from_millis(f.delay_ms),
    });
    Ok(Json(
        json!({"drop_rate": f.drop_rate, "duplicate_rate": f.duplicate_rate, "reorder": f.reorder, "delay_ms": f.delay_ms}),
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfigBody {
    timeout_ms: Option<u64>,
    retry_delays_ms: Option<Vec<u64>>,
    disable_threshold: Option<usize>,
    disable_window_ms: Option<u64>,
}

pub async fn webhook_config(State(s): State<AppState>) -> Json<Value> {
    Json(json!(*lock(&s.inner.webhook_settings)))
}

pub async fn set_webhook_config(State(s): State<AppState>, b: Bytes) -> Reply {
    let c: WebhookConfigBody = body(&b)?;
    if c.timeout_ms == Some(0) {
        return Err(Problem::bad_request("timeout_ms must be at least 1"));
    }
    if c.retry_delays_ms.as_ref().is_some_and(|d| d.len() > 20) {
        return Err(Problem::bad_request(
            "retry_delays_ms may list at most 20 delays",
        ));
    }
    let settings: WebhookSettings = {
        let mut current = lock(&s.inner.webhook_settings);
        current.timeout_ms = c.timeout_ms.unwrap_or(current.timeout_ms);
        current.retry_delays_ms = c
            .retry_delays_ms
            .unwrap_or_else(|| current.retry_delays_ms.clone());
        current.disable_threshold = c.disable_threshold.unwrap_or(current.disable_threshold);
        current.disable_window_ms = c.disable_window_ms.unwrap_or(current.disable_window_ms);
        current.clone()
    };
    s.hub().set_config(settings.to_config());
    Ok(Json(json!(settings)))
}

/// `POST /_emulator/webhooks/disable` `{"destination": "…"}` (optional):
/// switches webhooks off as amoCRM does after failed deliveries.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisableBody {
    #[serde(default)]
    pub destination: Option<String>,
}

pub async fn disable_webhooks(State(s): State<AppState>, b: Bytes) -> Reply {
    let f: DisableBody = if b.is_empty() {
        DisableBody::default()
    } else {
        body(&b)?
    };
    let disabled = s.hub().disable(f.destination.as_deref());
    Ok(Json(json!({ "disabled": disabled })))
}

pub async fn webhook_deliveries(State(s): State<AppState>) -> Json<Value> {
    Json(json!(s.hub().deliveries()))
}
