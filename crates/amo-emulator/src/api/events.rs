//! `GET /api/v4/events`: newest first unless `order[created_at]=asc`.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::hal::{ListPage, hal, no_content};
use super::{Order, render};
use crate::model::Event;
use crate::problem::Problem;
use crate::query::{Paging, Query, parse_ids, time_range};
use crate::state::AppState;

pub async fn list(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    let q = Query::parse(raw.as_deref());
    let paging = Paging::from_query(&q, 50, 100)?;
    let types = q.list("filter[type]");
    let entities = q.list("filter[entity]");
    let entity_ids = parse_ids("filter[entity_id]", &q.list("filter[entity_id]"))?;
    let created_by = parse_ids("filter[created_by]", &q.list("filter[created_by]"))?;
    let (from, to) = time_range(&q, "created_at")?;
    let order = Order::parse_with_default(&q, &["created_at", "id"], ("created_at", true))?;
    let world = state.world();
    let mut found: Vec<&Event> = world
        .events
        .iter()
        .filter(|e| {
            (types.is_empty() || types.contains(&e.kind))
                && (entities.is_empty() || entities.contains(&e.entity_type))
                && (entity_ids.is_empty() || entity_ids.contains(&e.entity_id))
                && (created_by.is_empty() || created_by.contains(&e.created_by))
                && from.is_none_or(|f| e.created_at >= f)
                && to.is_none_or(|t| e.created_at <= t)
        })
        .collect();
    // Events are stored in (created_at, id) order, so both fields sort the same way.
    order.sort(&mut found, |e, _| e.created_at);
    let (start, end, has_next) = paging.window(found.len());
    let items = found[start..end]
        .iter()
        .map(|e| render::event(&world, e))
        .collect();
    Ok(ListPage {
        base: state.base_url(),
        path: "/api/v4/events",
        query: &q,
        paging,
        key: "events",
        items,
        has_next,
        total: None,
    }
    .respond())
}

/// `GET /api/v4/events/{id}` (the `_links.self` of an event); 204 when unknown.
pub async fn one(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let world = state.world();
    // Ids are appended in order, so the list is sorted by id as well as by time.
    match world.events.iter().find(|e| e.id == id) {
        Some(e) => hal(StatusCode::OK, &render::event(&world, e)),
        None => no_content(),
    }
}
