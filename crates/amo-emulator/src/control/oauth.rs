//! Operating OAuth: register, list and revoke integrations (as an admin does
//! on the integrations page), grant lifetimes, and the flow's counters.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::body;
use crate::oauth::registry::MAX_INTEGRATIONS;
use crate::oauth::{OAuthLifetimesPatch, validate_redirect_uri};
use crate::problem::Problem;
use crate::state::{AppState, lock};

type Reply = Result<Json<Value>, Problem>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationBody {
    redirect_uri: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    user_id: Option<u64>,
}

/// `POST /_emulator/integrations {redirect_uri, name?, user_id?}` → 201
/// `{client_id, client_secret, redirect_uri, name, integration_id, user_id}`.
pub async fn register(
    State(s): State<AppState>,
    b: Bytes,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let i: IntegrationBody = body(&b)?;
    validate_redirect_uri(&i.redirect_uri).map_err(Problem::bad_request)?;
    if let Some(name) = &i.name
        && (name.trim().is_empty() || name.chars().count() > 255)
    {
        return Err(Problem::bad_request("name must be 1 to 255 characters"));
    }
    if lock(&s.inner.oauth).len() >= MAX_INTEGRATIONS {
        return Err(Problem::bad_request(format!(
            "at most {MAX_INTEGRATIONS} integrations may be registered"
        )));
    }
    let user = s
        .integration_user(i.user_id)
        .map_err(Problem::bad_request)?;
    let integration = s.add_integration(&i.redirect_uri, i.name.as_deref(), user);
    let mut out = integration.public_json();
    out["client_secret"] = json!(integration.client_secret.expose());
    Ok((StatusCode::CREATED, Json(out)))
}

/// `GET /_emulator/integrations` → `[{client_id, redirect_uri, name, integration_id, user_id}]`.
pub async fn list(State(s): State<AppState>) -> Json<Value> {
    Json(Value::Array(
        s.integrations().iter().map(|i| i.public_json()).collect(),
    ))
}

/// `POST /_emulator/integrations/{client_id}/revoke` → `{revoked: n}`.
pub async fn revoke(State(s): State<AppState>, Path(client_id): Path<String>) -> Reply {
    let revoked = s
        .revoke_integration(&client_id)
        .ok_or_else(|| Problem::not_found("no integration has this client_id"))?;
    Ok(Json(json!({"revoked": revoked})))
}

pub async fn config(State(s): State<AppState>) -> Json<Value> {
    Json(json!(s.oauth_lifetimes()))
}

/// `POST /_emulator/oauth/config {access_ttl_secs?, code_ttl_secs?, refresh_ttl_secs?}`.
pub async fn set_config(State(s): State<AppState>, b: Bytes) -> Reply {
    let patch: OAuthLifetimesPatch = body(&b)?;
    let mut lifetimes = s.oauth_lifetimes();
    lifetimes.apply(patch);
    lifetimes.validate().map_err(Problem::bad_request)?;
    Ok(Json(json!(s.set_oauth_lifetimes(lifetimes))))
}

pub async fn stats(State(s): State<AppState>) -> Json<Value> {
    Json(json!(s.oauth_stats()))
}

pub async fn reset_stats(State(s): State<AppState>) -> Json<Value> {
    s.reset_oauth_stats();
    Json(json!(s.oauth_stats()))
}
