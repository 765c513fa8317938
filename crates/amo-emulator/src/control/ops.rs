//! Operating the emulator: health, counters, tokens, clock, faults, limits, webhook delivery.

use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::body;
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
}

pub async fn issue_token(State(s): State<AppState>, b: Bytes) -> Reply {
    let t: TokenBody = body(&b)?;
    let (token, user_id) = s.issue_token(t.admin);
    Ok(Json(
        json!({"token": token, "user_id": user_id, "admin": t.admin}),
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
}

pub async fn force_fault(State(s): State<AppState>, b: Bytes) -> Reply {
    let f: ForceBody = body(&b)?;
    let forced = Forced::from_status(f.status)
        .ok_or_else(|| Problem::bad_request("status must be 429 or 403"))?;
    lock(&s.inner.faults).force(forced, f.count);
    Ok(Json(json!({"status": f.status, "count": f.count})))
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
        if config.per_token_per_second == 0 || config.per_account_per_second == 0 {
            return Err(Problem::bad_request("per-second limits must be at least 1"));
        }
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

pub async fn webhook_deliveries(State(s): State<AppState>) -> Json<Value> {
    Json(json!(s.hub().deliveries()))
}
