//! `GET /api/v4/tasks[/{id}]`: tasks set through the control API.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::hal::{ListPage, hal, no_content};
use super::{Order, path_id, render};
use crate::model::{NoteParent, Task};
use crate::problem::Problem;
use crate::query::{Paging, Query, parse_ids};
use crate::state::AppState;

fn entity_type(p: NoteParent) -> &'static str {
    match p {
        NoteParent::Lead => "leads",
        NoteParent::Contact => "contacts",
        NoteParent::Company => "companies",
    }
}

/// Paged; `filter[entity_type]`, `filter[entity_id][]`, `filter[is_completed]`,
/// `order[created_at|complete_till|id]`.
pub async fn list(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    let q = Query::parse(raw.as_deref());
    let paging = Paging::from_query(&q, 50, 250)?;
    let entity = q.get("filter[entity_type]").map(str::to_string);
    let entity_ids = parse_ids("filter[entity_id]", &q.list("filter[entity_id]"))?;
    let completed = match q.get("filter[is_completed]") {
        None => None,
        Some("1" | "true") => Some(true),
        Some("0" | "false") => Some(false),
        Some(other) => {
            return Err(Problem::bad_request(format!(
                "filter[is_completed] must be 0 or 1, got {other:?}"
            )));
        }
    };
    let order = Order::parse(&q, &["created_at", "complete_till", "id"])?;
    let world = state.world();
    let mut found: Vec<&Task> = world
        .tasks
        .values()
        .filter(|t| {
            entity.as_deref().is_none_or(|e| e == entity_type(t.parent))
                && (entity_ids.is_empty() || entity_ids.contains(&t.entity_id))
                && completed.is_none_or(|c| c == t.is_completed)
        })
        .collect();
    order.sort(&mut found, |t, field| match field {
        "created_at" => t.created_at,
        "complete_till" => t.complete_till,
        _ => i64::try_from(t.id).unwrap_or(i64::MAX),
    });
    let (start, end, has_next) = paging.window(found.len());
    let items = found[start..end]
        .iter()
        .map(|t| render::task(&world, t))
        .collect();
    Ok(ListPage {
        base: state.base_url(),
        path: "/api/v4/tasks",
        query: &q,
        paging,
        key: "tasks",
        items,
        has_next,
        total: None,
    }
    .respond())
}

pub async fn one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = path_id(&id)?;
    let world = state.world();
    Ok(match world.tasks.get(&id) {
        Some(t) => hal(StatusCode::OK, &render::task(&world, t)),
        None => no_content(),
    })
}
