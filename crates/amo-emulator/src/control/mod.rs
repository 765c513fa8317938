//! The control API under `/_emulator`: no auth, JSON in and out. Office
//! actions go through world mutations, so they update timestamps, write
//! events and emit the webhooks a real account would send.

mod oauth;
mod office;
mod ops;

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use serde::de::DeserializeOwned;

use crate::problem::Problem;
use crate::state::AppState;
use crate::world::WorldError;

/// The `/_emulator` routes (to be nested under `/_emulator`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(ops::health))
        .route("/stats", get(ops::stats))
        .route("/stats/reset", post(ops::reset_stats))
        .route("/tokens", post(ops::issue_token))
        .route("/tokens/revoke", post(ops::revoke_token))
        .route("/integrations", get(oauth::list).post(oauth::register))
        .route("/integrations/{client_id}/revoke", post(oauth::revoke))
        .route("/oauth/config", get(oauth::config).post(oauth::set_config))
        .route("/oauth/stats", get(oauth::stats))
        .route("/oauth/stats/reset", post(oauth::reset_stats))
        .route("/clock", get(ops::clock))
        .route("/clock/advance", post(ops::advance_clock))
        .route("/faults/api", post(ops::api_faults))
        .route("/faults/force", post(ops::force_fault))
        .route("/faults/reset", post(ops::reset_faults))
        .route("/limits", get(ops::limits).post(ops::set_limits))
        .route("/limits/reset", post(ops::reset_limits))
        .route("/webhooks/faults", post(ops::webhook_faults))
        .route(
            "/webhooks/config",
            get(ops::webhook_config).post(ops::set_webhook_config),
        )
        .route("/webhooks/deliveries", get(ops::webhook_deliveries))
        .route("/webhooks/disable", post(ops::disable_webhooks))
        .route("/leads", post(office::add_lead))
        .route("/leads/bulk-move", post(office::bulk_move))
        .route(
            "/leads/{id}",
            patch(office::update_lead).delete(office::delete_lead),
        )
        .route("/leads/{id}/move", post(office::move_lead))
        .route("/leads/{id}/restore", post(office::restore_lead))
        .route("/contacts", post(office::add_contact))
        .route(
            "/contacts/{id}",
            patch(office::update_contact).delete(office::delete_contact),
        )
        .route("/contacts/{id}/restore", post(office::restore_contact))
        .route("/companies", post(office::add_company))
        .route(
            "/companies/{id}",
            patch(office::update_company).delete(office::delete_company),
        )
        .route("/tasks", post(office::add_task))
        .route(
            "/tasks/{id}",
            patch(office::update_task).delete(office::delete_task),
        )
        .route("/notes", post(office::add_note))
        .route("/messages", post(office::add_message))
        .route("/talks", post(office::add_talk))
        .route("/talks/{id}", patch(office::update_talk))
        .route("/unsorted", post(office::add_unsorted))
        .route("/unsorted/{uid}/accept", post(office::accept_unsorted))
        .route("/unsorted/{uid}/decline", post(office::decline_unsorted))
        .fallback(|| async { Problem::not_found("No such control route") })
}

/// Parses a JSON body (an empty body reads as `{}`), or 400 saying what is wrong.
pub(crate) fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, Problem> {
    let raw: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    parse_json(raw)
}

/// Deserializes JSON, naming the offending field in the 400 (`per_token_per_second: invalid type…`).
pub(crate) fn parse_json<T: DeserializeOwned>(raw: &[u8]) -> Result<T, Problem> {
    let mut de = serde_json::Deserializer::from_slice(raw);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path.is_empty() || path == "." {
            Problem::bad_request(format!("invalid JSON body: {inner}"))
        } else {
            Problem::bad_request(format!("invalid JSON body: {path}: {inner}"))
        }
    })?;
    de.end()
        .map_err(|e| Problem::bad_request(format!("invalid JSON body: {e}")))?;
    Ok(value)
}

pub(crate) fn world_problem(e: WorldError) -> Problem {
    match e {
        WorldError::NotFound(m) => Problem::not_found(m),
        WorldError::Invalid(m) => Problem::new(StatusCode::BAD_REQUEST, "Bad Request", m),
    }
}

pub(crate) fn id(raw: &str) -> Result<u64, Problem> {
    crate::query::parse_u64("id", raw)
}
