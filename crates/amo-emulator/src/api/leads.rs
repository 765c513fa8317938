//! `GET /api/v4/leads` and `/api/v4/leads/{id}`.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::hal::{ListPage, hal, no_content};
use super::render::{self, LeadWith};
use super::{Order, path_id};
use crate::model::Lead;
use crate::problem::Problem;
use crate::query::{Paging, Query, parse_ids, parse_u64, time_range};
use crate::state::AppState;

/// A parsed leads query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeadFilter {
    pub ids: Vec<u64>,
    pub updated: (Option<i64>, Option<i64>),
    pub created: (Option<i64>, Option<i64>),
    pub closed: (Option<i64>, Option<i64>),
    /// (pipeline, status) pairs; a `None` status means any status of the pipeline.
    pub statuses: Vec<(u64, Option<u64>)>,
    pub pipelines: Vec<u64>,
    pub status_ids: Vec<u64>,
    pub responsible: Vec<u64>,
    pub search: Option<String>,
    pub only_deleted: bool,
}

impl LeadFilter {
    pub fn parse(q: &Query) -> Result<LeadFilter, Problem> {
        let mut statuses = Vec::new();
        for (index, fields) in q.indexed("filter[statuses]") {
            let pipeline = fields.get("pipeline_id").ok_or_else(|| {
                Problem::bad_request(format!(
                    "filter[statuses][{index}][pipeline_id] is required"
                ))
            })?;
            let pipeline = parse_u64("filter[statuses][][pipeline_id]", pipeline)?;
            let status = fields
                .get("status_id")
                .map(|s| parse_u64("filter[statuses][][status_id]", s))
                .transpose()?;
            statuses.push((pipeline, status));
        }
        Ok(LeadFilter {
            ids: parse_ids("filter[id]", &q.list("filter[id]"))?,
            updated: time_range(q, "updated_at")?,
            created: time_range(q, "created_at")?,
            closed: time_range(q, "closed_at")?,
            statuses,
            pipelines: parse_ids("filter[pipeline_id]", &q.list("filter[pipeline_id]"))?,
            status_ids: parse_ids("filter[status_id]", &q.list("filter[status_id]"))?,
            responsible: parse_ids(
                "filter[responsible_user_id]",
                &q.list("filter[responsible_user_id]"),
            )?,
            search: q
                .get("query")
                .map(|s| s.trim().to_lowercase())
                .filter(|s| !s.is_empty()),
            only_deleted: q.with().iter().any(|w| w == "only_deleted"),
        })
    }

    pub fn matches(&self, l: &Lead) -> bool {
        let in_range = |v: i64, (from, to): (Option<i64>, Option<i64>)| {
            from.is_none_or(|f| v >= f) && to.is_none_or(|t| v <= t)
        };
        l.is_deleted == self.only_deleted
            && (self.ids.is_empty() || self.ids.contains(&l.id))
            && in_range(l.updated_at, self.updated)
            && in_range(l.created_at, self.created)
            && (self.closed == (None, None)
                || l.closed_at.is_some_and(|c| in_range(c, self.closed)))
            && (self.statuses.is_empty()
                || self
                    .statuses
                    .iter()
                    .any(|(p, s)| *p == l.pipeline_id && s.is_none_or(|s| s == l.status_id)))
            && (self.pipelines.is_empty() || self.pipelines.contains(&l.pipeline_id))
            && (self.status_ids.is_empty() || self.status_ids.contains(&l.status_id))
            && (self.responsible.is_empty() || self.responsible.contains(&l.responsible_user_id))
            && self.search.as_ref().is_none_or(|s| {
                l.name.to_lowercase().contains(s.as_str()) || l.id.to_string() == *s
            })
    }
}

fn lead_with(q: &Query) -> LeadWith {
    let with = q.with();
    let has = |k: &str| with.iter().any(|w| w == k);
    LeadWith {
        contacts: has("contacts"),
        loss_reason: has("loss_reason"),
        source_id: has("source_id"),
    }
}

pub async fn list(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    let q = Query::parse(raw.as_deref());
    let paging = Paging::from_query(&q, 50, 250)?;
    let filter = LeadFilter::parse(&q)?;
    let order = Order::parse(&q, &["updated_at", "created_at", "id"])?;
    let with = lead_with(&q);
    let world = state.world();
    let mut found: Vec<&Lead> = world.leads.values().filter(|l| filter.matches(l)).collect();
    order.sort(&mut found, |l, field| match field {
        "updated_at" => l.updated_at,
        "created_at" => l.created_at,
        _ => i64::try_from(l.id).unwrap_or(i64::MAX),
    });
    let (start, end, has_next) = paging.window(found.len());
    let items = found[start..end]
        .iter()
        .map(|l| render::lead(&world, l, with))
        .collect();
    Ok(ListPage {
        base: state.base_url(),
        path: "/api/v4/leads",
        query: &q,
        paging,
        key: "leads",
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
    let only_deleted = q.with().iter().any(|w| w == "only_deleted");
    let world = state.world();
    Ok(
        match world
            .leads
            .get(&id)
            .filter(|l| l.is_deleted == only_deleted)
        {
            Some(lead) => hal(StatusCode::OK, &render::lead(&world, lead, lead_with(&q))),
            None => no_content(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_filters() {
        let q = Query::parse(Some(
            "filter[id][]=1&filter[id][]=2&filter[updated_at][from]=10&filter[statuses][0][pipeline_id]=5&filter[statuses][0][status_id]=142&filter[statuses][1][pipeline_id]=6&filter[pipeline_id]=5&with=only_deleted",
        ));
        let f = LeadFilter::parse(&q).ok();
        let f = f.unwrap_or_default();
        assert_eq!(f.ids, vec![1, 2]);
        assert_eq!(f.updated, (Some(10), None));
        assert_eq!(f.statuses, vec![(5, Some(142)), (6, None)]);
        assert_eq!(f.pipelines, vec![5]);
        assert!(f.only_deleted);
    }

    #[test]
    fn rejects_bad_values() {
        for bad in [
            "filter[id][]=x",
            "filter[updated_at][from]=yesterday",
            "filter[statuses][0][status_id]=1",
            "filter[pipeline_id]=-1",
        ] {
            assert!(
                LeadFilter::parse(&Query::parse(Some(bad))).is_err(),
                "{bad}"
            );
        }
    }
}
