//! The door of `/api/v4`: block, forced faults, token, rate limits, random
//! faults, then the handler; every answer is counted.

use std::time::Instant;

use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::{AuthError, Principal};
use crate::faults::{Forced, Roll};
use crate::limits::Verdict;
use crate::problem::Problem;
use crate::state::{AppState, lock};

/// The page a blocked account gets instead of JSON.
pub const BLOCKED_HTML: &str = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>403 Forbidden</title></head>\n<body><h1>403 Forbidden</h1>\n<p>Доступ к API аккаунта временно ограничен: превышен лимит запросов.</p>\n<hr><center>nginx</center></body></html>\n";

fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

pub fn blocked_page() -> Response {
    html(StatusCode::FORBIDDEN, BLOCKED_HTML.to_string())
}

pub fn too_many() -> Response {
    Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "Too Many Requests",
        "Превышен лимит запросов к API",
    )
    .into_response()
}

/// A 5xx as the real stack shows it: JSON from the app, HTML from the gateway.
pub fn server_error(status: StatusCode) -> Response {
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        return Problem::new(status, "Internal Server Error", "Internal server error")
            .into_response();
    }
    let reason = status.canonical_reason().unwrap_or("Error");
    let code = status.as_u16();
    html(
        status,
        format!(
            "<html>\n<head><title>{code} {reason}</title></head>\n<body>\n<center><h1>{code} {reason}</h1></center>\n<hr><center>nginx</center>\n</body>\n</html>\n"
        ),
    )
}

/// The answer of a forced fault (see [`Forced`] for the defaults).
pub fn forced_response(f: &Forced) -> Response {
    let Ok(status) = StatusCode::from_u16(f.status) else {
        return server_error(StatusCode::INTERNAL_SERVER_ERROR);
    };
    let mut response = match f.status {
        429 => too_many(),
        403 => blocked_page(),
        402 => Problem::new(status, "Payment Required", "Account is not paid")
            .with_hint("Оплатите аккаунт, чтобы продолжить работу с API")
            .into_response(),
        401 => AuthError::Unknown.problem().into_response(),
        400 => Problem::bad_request("Request validation failed")
            .with_extra(serde_json::json!({"validation-errors": [{"request_id": "0", "errors": [{"code": "InvalidValue", "path": "0", "detail": "This value is not valid."}]}]}))
            .into_response(),
        other if (400..=499).contains(&other) => Problem::new(
            status,
            status.canonical_reason().unwrap_or("Client Error"),
            status.canonical_reason().unwrap_or("Client error"),
        )
        .into_response(),
        500..=599 => server_error(status),
        _ => {
            let mut r = status.into_response();
            if f.body.is_some() || status == StatusCode::OK {
                r.headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static(super::hal::HAL_JSON));
            }
            r
        }
    };
    if let Some(body) = &f.body {
        *response.body_mut() = axum::body::Body::from(body.clone());
    }
    if let Some(ct) = f.content_type.as_deref()
        && let Ok(value) = HeaderValue::from_str(ct)
    {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    if status == StatusCode::NO_CONTENT {
        response.headers_mut().remove(header::CONTENT_TYPE);
        *response.body_mut() = axum::body::Body::empty();
    }
    response
}

/// Why a request is answered before reaching its handler.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Refusal {
    Blocked,
    TooMany,
    Forced(Forced),
    Unauthorized(AuthError),
}

impl Refusal {
    fn response(self) -> Response {
        match self {
            Refusal::Blocked => blocked_page(),
            Refusal::TooMany => too_many(),
            Refusal::Forced(f) => forced_response(&f),
            Refusal::Unauthorized(e) => e.problem().into_response(),
        }
    }
}

/// Decides before the handler runs: block, forced fault, token, limits, random faults.
fn admit(state: &AppState, authorization: Option<&str>) -> Result<(Principal, Roll), Refusal> {
    let shared = &state.inner;
    let now = Instant::now();
    if lock(&shared.limiter).is_blocked(now) {
        lock(&shared.stats).blocked += 1;
        return Err(Refusal::Blocked);
    }
    let forced = lock(&shared.faults).take_forced();
    if let Some(f) = forced {
        if f.is_block_page() {
            lock(&shared.stats).blocked += 1;
        }
        return Err(Refusal::Forced(f));
    }
    let principal = lock(&shared.tokens)
        .check(authorization, shared.clock.now())
        .map_err(Refusal::Unauthorized)?;
    if lock(&shared.limiter).admit(&principal.limit_key(), now) == Verdict::Limited {
        return Err(Refusal::TooMany);
    }
    let roll = lock(&shared.faults).roll();
    if roll != Roll::default() {
        lock(&shared.stats).faults_injected += 1;
    }
    Ok((principal, roll))
}

pub async fn gate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_string();
    let path = req
        .extensions()
        .get::<OriginalUri>()
        .map(|u| u.0.path().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let response = match admit(&state, authorization.as_deref()) {
        Err(refusal) => refusal.response(),
        Ok((principal, roll)) => {
            if let Some(delay) = roll.delay {
                tokio::time::sleep(delay).await;
            }
            match roll.error {
                Some(status) => server_error(status),
                None => {
                    req.extensions_mut().insert(principal);
                    next.run(req).await
                }
            }
        }
    };
    let status = response.status().as_u16();
    tracing::debug!(%method, %path, status, "api request");
    lock(&state.inner.stats).record(&method, &path, status);
    response
}
