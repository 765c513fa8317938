//! Notes of leads, contacts and companies:
//! `GET /api/v4/{leads|contacts|companies}/notes`,
//! `GET /api/v4/{entity}/{entity_id}/notes` and
//! `GET /api/v4/{entity}/{entity_id}/notes/{note_id}`.
//!
//! Filters: `filter[entity_id][]`, `filter[note_type][]`, `filter[id][]`,
//! `filter[updated_at][from|to]`; `order[updated_at|id]`; `limit` ≤ 250.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;

use super::hal::{ListPage, hal, no_content};
use super::{Order, path_id, render};
use crate::model::{Note, NoteParent};
use crate::problem::Problem;
use crate::query::{Paging, Query, parse_ids, time_range};
use crate::state::AppState;

/// The entities that carry notes, with their path segment.
const ENTITIES: [(NoteParent, &str); 3] = [
    (NoteParent::Lead, "leads"),
    (NoteParent::Contact, "contacts"),
    (NoteParent::Company, "companies"),
];

/// Adds the notes routes of every entity type to `router`.
pub fn routes(router: Router<AppState>) -> Router<AppState> {
    ENTITIES
        .into_iter()
        .fold(router, |router, (parent, segment)| {
            router
                .route(
                    &format!("/{segment}/notes"),
                    get(move |state: State<AppState>, raw: RawQuery| {
                        list(state, parent, None, raw)
                    }),
                )
                .route(
                    &format!("/{segment}/{{entity_id}}/notes"),
                    get(
                        move |state: State<AppState>, Path(id): Path<String>, raw: RawQuery| {
                            list(state, parent, Some(id), raw)
                        },
                    ),
                )
                .route(
                    &format!("/{segment}/{{entity_id}}/notes/{{note_id}}"),
                    get(
                        move |state: State<AppState>, Path(ids): Path<(String, String)>| {
                            one(state, parent, ids)
                        },
                    ),
                )
        })
}

fn segment(parent: NoteParent) -> &'static str {
    match parent {
        NoteParent::Lead => "leads",
        NoteParent::Contact => "contacts",
        NoteParent::Company => "companies",
    }
}

/// A parsed notes query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NoteFilter {
    pub entity_ids: Vec<u64>,
    pub note_types: Vec<String>,
    pub ids: Vec<u64>,
    pub updated: (Option<i64>, Option<i64>),
}

impl NoteFilter {
    pub fn parse(q: &Query) -> Result<NoteFilter, Problem> {
        let note_types = q.list("filter[note_type]");
        if let Some(bad) = note_types.iter().find(|t| {
            !t.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        }) {
            return Err(Problem::bad_request(format!(
                "filter[note_type] must be a note type such as common or call_in, got {bad:?}"
            )));
        }
        Ok(NoteFilter {
            entity_ids: parse_ids("filter[entity_id]", &q.list("filter[entity_id]"))?,
            note_types,
            ids: parse_ids("filter[id]", &q.list("filter[id]"))?,
            updated: time_range(q, "updated_at")?,
        })
    }

    pub fn matches(&self, n: &Note) -> bool {
        let (from, to) = self.updated;
        (self.entity_ids.is_empty() || self.entity_ids.contains(&n.entity_id))
            && (self.note_types.is_empty() || self.note_types.contains(&n.note_type))
            && (self.ids.is_empty() || self.ids.contains(&n.id))
            && from.is_none_or(|f| n.updated_at >= f)
            && to.is_none_or(|t| n.updated_at <= t)
    }
}

/// One page of notes of `parent`'s type, of one entity when `entity` is given.
async fn list(
    State(state): State<AppState>,
    parent: NoteParent,
    entity: Option<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    let entity = entity.as_deref().map(path_id).transpose()?;
    let q = Query::parse(raw.as_deref());
    let paging = Paging::from_query(&q, 50, 250)?;
    let filter = NoteFilter::parse(&q)?;
    let order = Order::parse(&q, &["updated_at", "id"])?;
    let path = match entity {
        Some(id) => format!("/api/v4/{}/{id}/notes", segment(parent)),
        None => format!("/api/v4/{}/notes", segment(parent)),
    };
    let world = state.world();
    let mut found: Vec<&Note> = world
        .notes
        .iter()
        .filter(|n| {
            n.parent == parent && entity.is_none_or(|e| e == n.entity_id) && filter.matches(n)
        })
        .collect();
    order.sort(&mut found, |n, field| match field {
        "updated_at" => n.updated_at,
        _ => i64::try_from(n.id).unwrap_or(i64::MAX),
    });
    let (start, end, has_next) = paging.window(found.len());
    let items = found[start..end]
        .iter()
        .map(|n| render::note(&world, n))
        .collect();
    Ok(ListPage {
        base: state.base_url(),
        path: &path,
        query: &q,
        paging,
        key: "notes",
        items,
        has_next,
        total: None,
    }
    .respond())
}

/// One note of one entity; 204 when unknown or not that entity's.
async fn one(
    State(state): State<AppState>,
    parent: NoteParent,
    (entity_id, note_id): (String, String),
) -> Result<Response, Problem> {
    let entity_id = path_id(&entity_id)?;
    let note_id = path_id(&note_id)?;
    let world = state.world();
    Ok(
        match world
            .notes
            .iter()
            .find(|n| n.id == note_id && n.parent == parent && n.entity_id == entity_id)
        {
            Some(n) => hal(StatusCode::OK, &render::note(&world, n)),
            None => no_content(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_filters() {
        let q = Query::parse(Some(
            "filter[entity_id][]=1&filter[entity_id][]=2&filter[note_type][]=common&filter[note_type]=call_in,call_out&filter[id]=9&filter[updated_at][from]=10&filter[updated_at][to]=20",
        ));
        let f = NoteFilter::parse(&q).unwrap_or_default();
        assert_eq!(f.entity_ids, vec![1, 2]);
        assert_eq!(f.note_types, vec!["common", "call_in", "call_out"]);
        assert_eq!(f.ids, vec![9]);
        assert_eq!(f.updated, (Some(10), Some(20)));
        let single = NoteFilter::parse(&Query::parse(Some("filter[entity_id]=7")));
        assert_eq!(single.map(|f| f.entity_ids).ok(), Some(vec![7]));
    }

    #[test]
    fn rejects_bad_values() {
        for bad in [
            "filter[entity_id][]=x",
            "filter[entity_id]=-1",
            "filter[id][]=1.5",
            "filter[updated_at][from]=yesterday",
            "filter[note_type][]=Common%20note",
            "filter[note_type]=%D0%B7%D0%B0%D0%BC%D0%B5%D1%82%D0%BA%D0%B0",
        ] {
            assert!(
                NoteFilter::parse(&Query::parse(Some(bad))).is_err(),
                "{bad}"
            );
        }
    }
}
