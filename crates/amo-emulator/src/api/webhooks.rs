//! `GET/POST/DELETE /api/v4/webhooks` (admin only), backed by the webhook hub.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::catalog::require_admin;
use super::hal::{hal, no_content, self_link};
use crate::auth::Principal;
use crate::problem::Problem;
use crate::query::Query;
use crate::state::AppState;
use crate::webhooks::RegisterError;

#[derive(Debug, Deserialize)]
struct RegisterBody {
    destination: String,
    #[serde(default)]
    settings: Vec<String>,
    #[serde(default)]
    sort: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct UnregisterBody {
    destination: String,
}

fn json_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, Problem> {
    crate::control::parse_json(body)
}

fn register_problem(e: &RegisterError) -> Problem {
    match e {
        RegisterError::NotFound => Problem::not_found(e.to_string()),
        RegisterError::InvalidUrl(_)
        | RegisterError::UnknownSetting(_)
        | RegisterError::TooMany => {
            let path = match e {
                RegisterError::UnknownSetting(_) => "settings",
                _ => "destination",
            };
            Problem::bad_request(e.to_string()).with_extra(json!({"validation-errors": [{"request_id": "0", "errors": [{"code": "InvalidValue", "path": path, "detail": e.to_string()}]}]}))
        }
    }
}

pub async fn list(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    require_admin(&p)?;
    let q = Query::parse(raw.as_deref());
    let destination = q.get("filter[destination]");
    let items: Vec<Value> = state
        .hub()
        .list(destination)
        .iter()
        .map(|s| s.to_json())
        .collect();
    if items.is_empty() {
        return Ok(no_content());
    }
    let body = json!({
        "_total_items": items.len(),
        "_links": self_link(state.base_url(), "/api/v4/webhooks"),
        "_embedded": {"webhooks": items},
    });
    Ok(hal(StatusCode::OK, &body))
}

pub async fn register(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    body: Bytes,
) -> Result<Response, Problem> {
    require_admin(&p)?;
    let body: RegisterBody = json_body(&body)?;
    if body.settings.is_empty() {
        return Err(Problem::bad_request(
            "settings must list at least one event code",
        ));
    }
    let sub = state
        .hub()
        .register(
            &body.destination,
            &body.settings,
            body.sort.unwrap_or(10),
            p.user_id,
        )
        .map_err(|e| register_problem(&e))?;
    Ok(hal(StatusCode::OK, &sub.to_json()))
}

pub async fn unregister(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    body: Bytes,
) -> Result<Response, Problem> {
    require_admin(&p)?;
    let body: UnregisterBody = json_body(&body)?;
    state
        .hub()
        .unregister(&body.destination)
        .map_err(|e| register_problem(&e))?;
    Ok(no_content())
}
