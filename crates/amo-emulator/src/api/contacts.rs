//! `GET /api/v4/contacts[/{id}]` and `GET /api/v4/companies[/{id}]`.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::hal::{ListPage, hal, no_content};
use super::{Order, path_id, render};
use crate::model::{Company, Contact};
use crate::problem::Problem;
use crate::query::{Paging, Query, parse_ids, time_range};
use crate::state::AppState;

type Range = (Option<i64>, Option<i64>);

fn in_range(v: i64, (from, to): Range) -> bool {
    from.is_none_or(|f| v >= f) && to.is_none_or(|t| v <= t)
}

/// Case-insensitive search over name and custom field values (phones, emails).
fn contact_matches(c: &Contact, needle: &str) -> bool {
    let digits: String = needle.chars().filter(char::is_ascii_digit).collect();
    c.name.to_lowercase().contains(needle)
        || c.custom_fields.iter().flat_map(|f| &f.values).any(|v| {
            v.value.to_lowercase().contains(needle)
                || (digits.len() >= 5
                    && v.value
                        .chars()
                        .filter(char::is_ascii_digit)
                        .collect::<String>()
                        .contains(&digits))
        })
}

pub async fn list(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    let q = Query::parse(raw.as_deref());
    let paging = Paging::from_query(&q, 50, 250)?;
    let ids = parse_ids("filter[id]", &q.list("filter[id]"))?;
    let updated = time_range(&q, "updated_at")?;
    let created = time_range(&q, "created_at")?;
    let order = Order::parse(&q, &["updated_at", "created_at", "id"])?;
    let search = q
        .get("query")
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty());
    let with_leads = q.with().iter().any(|w| w == "leads");
    let world = state.world();
    let mut found: Vec<&Contact> = world
        .contacts
        .values()
        .filter(|c| {
            !c.is_deleted
                && (ids.is_empty() || ids.contains(&c.id))
                && in_range(c.updated_at, updated)
                && in_range(c.created_at, created)
                && search.as_deref().is_none_or(|s| contact_matches(c, s))
        })
        .collect();
    order.sort(&mut found, |c, field| match field {
        "updated_at" => c.updated_at,
        "created_at" => c.created_at,
        _ => i64::try_from(c.id).unwrap_or(i64::MAX),
    });
    let (start, end, has_next) = paging.window(found.len());
    let items = found[start..end]
        .iter()
        .map(|c| render::contact(&world, c, with_leads))
        .collect();
    Ok(ListPage {
        base: state.base_url(),
        path: "/api/v4/contacts",
        query: &q,
        paging,
        key: "contacts",
        items,
        has_next,
        total: None,
    }
    .respond())
}

pub async fn one(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    let id = path_id(&id)?;
    let q = Query::parse(raw.as_deref());
    let with_leads = q.with().iter().any(|w| w == "leads");
    let world = state.world();
    Ok(match world.contacts.get(&id).filter(|c| !c.is_deleted) {
        Some(c) => hal(StatusCode::OK, &render::contact(&world, c, with_leads)),
        None => no_content(),
    })
}

pub async fn companies(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    let q = Query::parse(raw.as_deref());
    let paging = Paging::from_query(&q, 50, 250)?;
    let ids = parse_ids("filter[id]", &q.list("filter[id]"))?;
    let updated = time_range(&q, "updated_at")?;
    let order = Order::parse(&q, &["updated_at", "id"])?;
    let world = state.world();
    let mut found: Vec<&Company> = world
        .companies
        .values()
        .filter(|c| {
            !c.is_deleted
                && (ids.is_empty() || ids.contains(&c.id))
                && in_range(c.updated_at, updated)
        })
        .collect();
    order.sort(&mut found, |c, field| match field {
        "updated_at" => c.updated_at,
        _ => i64::try_from(c.id).unwrap_or(i64::MAX),
    });
    let (start, end, has_next) = paging.window(found.len());
    let items = found[start..end]
        .iter()
        .map(|c| render::company(&world, c))
        .collect();
    Ok(ListPage {
        base: state.base_url(),
        path: "/api/v4/companies",
        query: &q,
        paging,
        key: "companies",
        items,
        has_next,
        total: None,
    }
    .respond())
}

pub async fn company(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = path_id(&id)?;
    let world = state.world();
    Ok(match world.companies.get(&id).filter(|c| !c.is_deleted) {
        Some(c) => hal(StatusCode::OK, &render::company(&world, c)),
        None => no_content(),
    })
}

/// `GET /api/v4/contacts/chats?contact_id=…` (or `chat_id=…`; both may be
/// lists): which chats belong to which contacts (amocrm.md §5),
/// `_embedded.chats[{chat_id, contact_id, id}]`; 204 when none.
pub async fn chats(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    let q = Query::parse(raw.as_deref());
    let contact_ids = parse_ids("contact_id", &q.list("contact_id"))?;
    let chat_ids = q.list("chat_id");
    if contact_ids.is_empty() && chat_ids.is_empty() {
        return Err(Problem::bad_request("contact_id or chat_id is required")
            .with_extra(serde_json::json!({"validation-errors": [{"request_id": "0", "errors": [{"code": "NotBlank", "path": "contact_id", "detail": "This value should not be blank."}]}]})));
    }
    let world = state.world();
    let items: Vec<serde_json::Value> = world
        .talks
        .values()
        .filter(|t| {
            (contact_ids.is_empty() || contact_ids.contains(&t.contact_id))
                && (chat_ids.is_empty() || chat_ids.contains(&t.chat_id))
                && world
                    .contacts
                    .get(&t.contact_id)
                    .is_some_and(|c| !c.is_deleted)
        })
        .take(250)
        .map(render::chat_link)
        .collect();
    if items.is_empty() {
        return Ok(no_content());
    }
    let body = serde_json::json!({
        "_total_items": items.len(),
        "_links": super::hal::self_link(state.base_url(), "/api/v4/contacts/chats"),
        "_embedded": {"chats": items},
    });
    Ok(hal(StatusCode::OK, &body))
}
