//! `GET /api/v4/talks/{id}` and the unsorted queue `GET /api/v4/leads/unsorted[/{uid}]`.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::hal::{ListPage, hal, no_content};
use super::{Order, path_id, render};
use crate::model::{Unsorted, UnsortedState};
use crate::problem::Problem;
use crate::query::{Paging, Query};
use crate::state::AppState;

pub async fn talk(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = path_id(&id)?;
    let world = state.world();
    Ok(match world.talks.get(&id) {
        Some(t) => hal(StatusCode::OK, &render::talk(&world, t)),
        None => no_content(),
    })
}

pub async fn unsorted_list(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    let q = Query::parse(raw.as_deref());
    let paging = Paging::from_query(&q, 50, 250)?;
    let categories = q.list("filter[category]");
    let order = Order::parse(&q, &["created_at", "updated_at"])?;
    let world = state.world();
    let mut found: Vec<&Unsorted> = world
        .unsorted
        .iter()
        .filter(|u| {
            u.state == UnsortedState::Pending
                && (categories.is_empty() || categories.contains(&u.category))
        })
        .collect();
    order.sort(&mut found, |u, _| u.created_at);
    let (start, end, has_next) = paging.window(found.len());
    let items = found[start..end]
        .iter()
        .map(|u| render::unsorted(&world, u))
        .collect();
    Ok(ListPage {
        base: state.base_url(),
        path: "/api/v4/leads/unsorted",
        query: &q,
        paging,
        key: "unsorted",
        items,
        has_next,
        total: None,
    }
    .respond())
}

pub async fn unsorted_one(State(state): State<AppState>, Path(uid): Path<String>) -> Response {
    let world = state.world();
    match world
        .unsorted
        .iter()
        .find(|u| u.uid == uid && u.state == UnsortedState::Pending)
    {
        Some(u) => hal(StatusCode::OK, &render::unsorted(&world, u)),
        None => no_content(),
    }
}
