//! Account, users and pipelines: the slow-changing shape of the account.

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::hal::{ListPage, collection, hal, no_content};
use super::{path_id, render};
use crate::auth::Principal;
use crate::problem::Problem;
use crate::query::{Paging, Query};
use crate::state::AppState;

fn admin_only(p: &Principal) -> Result<(), Problem> {
    if p.is_admin {
        Ok(())
    } else {
        Err(Problem::forbidden(
            "Access denied: this method requires administrator rights",
        ))
    }
}

pub async fn account(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = Query::parse(raw.as_deref());
    let world = state.world();
    hal(
        StatusCode::OK,
        &render::account(&world, &q.with(), p.user_id),
    )
}

pub async fn users(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    admin_only(&p)?;
    let q = Query::parse(raw.as_deref());
    let paging = Paging::from_query(&q, 50, 250)?;
    let world = state.world();
    let (start, end, has_next) = paging.window(world.users.len());
    let items = world.users[start..end]
        .iter()
        .map(|u| render::user(&world, u))
        .collect();
    Ok(ListPage {
        base: state.base_url(),
        path: "/api/v4/users",
        query: &q,
        paging,
        key: "users",
        items,
        has_next,
        total: Some(world.users.len()),
    }
    .respond())
}

pub async fn user(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    admin_only(&p)?;
    let id = path_id(&id)?;
    let world = state.world();
    Ok(match world.user(id) {
        Some(u) => hal(StatusCode::OK, &render::user(&world, u)),
        None => no_content(),
    })
}

pub async fn pipelines(State(state): State<AppState>) -> Response {
    let world = state.world();
    let items = world
        .pipelines
        .iter()
        .map(|p| render::pipeline(&world, p))
        .collect();
    collection(
        state.base_url(),
        "/api/v4/leads/pipelines",
        "pipelines",
        items,
    )
}

pub async fn pipeline(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = path_id(&id)?;
    let world = state.world();
    Ok(match world.pipeline(id) {
        Some(p) => hal(StatusCode::OK, &render::pipeline(&world, p)),
        None => no_content(),
    })
}

pub async fn statuses(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = path_id(&id)?;
    let world = state.world();
    let Some(p) = world.pipeline(id) else {
        return Ok(no_content());
    };
    let mut statuses: Vec<_> = p.statuses.iter().collect();
    statuses.sort_by_key(|s| s.sort);
    let items = statuses
        .into_iter()
        .map(|s| render::status(&world, s))
        .collect();
    Ok(collection(
        state.base_url(),
        &format!("/api/v4/leads/pipelines/{id}/statuses"),
        "statuses",
        items,
    ))
}

/// `GET /api/v4/leads/pipelines/{pipeline_id}/statuses/{id}` (the `_links.self` of a status).
pub async fn status(
    State(state): State<AppState>,
    Path((pid, id)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let pid = path_id(&pid)?;
    let id = path_id(&id)?;
    let world = state.world();
    Ok(match world.status(pid, id) {
        Some(s) => hal(StatusCode::OK, &render::status(&world, s)),
        None => no_content(),
    })
}

/// `GET /api/v4/leads/loss_reasons`.
pub async fn loss_reasons(State(state): State<AppState>) -> Response {
    let world = state.world();
    let mut reasons: Vec<_> = world.loss_reasons.iter().collect();
    reasons.sort_by_key(|r| (r.sort, r.id));
    let items = reasons
        .into_iter()
        .map(|r| render::loss_reason(&world, r))
        .collect();
    collection(
        state.base_url(),
        "/api/v4/leads/loss_reasons",
        "loss_reasons",
        items,
    )
}

/// `GET /api/v4/leads/loss_reasons/{id}`.
pub async fn loss_reason(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = path_id(&id)?;
    let world = state.world();
    Ok(match world.loss_reasons.iter().find(|r| r.id == id) {
        Some(r) => hal(StatusCode::OK, &render::loss_reason(&world, r)),
        None => no_content(),
    })
}

pub(crate) fn require_admin(p: &Principal) -> Result<(), Problem> {
    admin_only(p)
}
