//! `GET /api/v4/leads` with filters, by ids, and by id.

use crate::client::Client;
use crate::error::ApiError;
use crate::models::{Lead, StatusKey};
use crate::paging::PageStream;
use crate::query::{
    EntityFilter, Pairs, SortDirection, WithToken, entity_filter_methods, with_pairs,
};

/// Extra data for leads (`with=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeadWith {
    /// `_embedded.contacts[{id, is_main}]`.
    Contacts,
    /// `_embedded.loss_reason`.
    LossReason,
    /// `source_id`.
    SourceId,
    /// Only deleted leads (the "trash"), instead of live ones.
    OnlyDeleted,
}

impl LeadWith {
    /// The `with=` token.
    pub fn as_str(self) -> &'static str {
        match self {
            LeadWith::Contacts => "contacts",
            LeadWith::LossReason => "loss_reason",
            LeadWith::SourceId => "source_id",
            LeadWith::OnlyDeleted => "only_deleted",
        }
    }
}

/// Sort field for leads (`order[field]=asc|desc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadsOrder {
    /// `order[updated_at]`.
    UpdatedAt(SortDirection),
    /// `order[id]`.
    Id(SortDirection),
    /// `order[created_at]`.
    CreatedAt(SortDirection),
}

/// Filters for [`Client::leads`]. Build with the chained methods:
/// `LeadsQuery::new().updated_from(cursor).order(LeadsOrder::UpdatedAt(SortDirection::Asc))`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadsQuery {
    filter: EntityFilter<LeadWith>,
    statuses: Vec<StatusKey>,
    pipeline_id: Option<u64>,
    order: Option<LeadsOrder>,
}

impl WithToken for LeadWith {
    fn token(self) -> &'static str {
        self.as_str()
    }
}

impl Default for LeadsQuery {
    fn default() -> Self {
        LeadsQuery::new()
    }
}

impl LeadsQuery {
    /// Every lead, 250 per page.
    pub fn new() -> Self {
        LeadsQuery {
            filter: EntityFilter::new(),
            statuses: Vec::new(),
            pipeline_id: None,
            order: None,
        }
    }

    entity_filter_methods!(LeadWith, "leads", "leads_by_ids");

    /// Leads in this status of this pipeline (may be called repeatedly).
    pub fn status(mut self, pipeline_id: u64, status_id: u64) -> Self {
        self.statuses.push(StatusKey {
            pipeline_id,
            status_id,
        });
        self
    }

    /// Leads in any of these statuses.
    pub fn statuses(mut self, keys: impl IntoIterator<Item = StatusKey>) -> Self {
        self.statuses.extend(keys);
        self
    }

    /// Leads of one pipeline.
    pub fn pipeline(mut self, pipeline_id: u64) -> Self {
        self.pipeline_id = Some(pipeline_id);
        self
    }

    /// Sort order.
    pub fn order(mut self, order: LeadsOrder) -> Self {
        self.order = Some(order);
        self
    }

    /// Validates and renders the query string pairs.
    pub fn to_pairs(&self) -> Result<Vec<(String, String)>, ApiError> {
        let mut pairs = Pairs::default();
        self.filter.push_head(&mut pairs, "leads_by_ids")?;
        for (i, key) in self.statuses.iter().enumerate() {
            pairs.push(
                format!("filter[statuses][{i}][pipeline_id]"),
                key.pipeline_id,
            );
            pairs.push(format!("filter[statuses][{i}][status_id]"), key.status_id);
        }
        if let Some(pipeline_id) = self.pipeline_id {
            pairs.push("filter[pipeline_id]", pipeline_id);
        }
        let order = self.order.map(|order| match order {
            LeadsOrder::UpdatedAt(d) => ("updated_at", d),
            LeadsOrder::Id(d) => ("id", d),
            LeadsOrder::CreatedAt(d) => ("created_at", d),
        });
        self.filter.push_tail(&mut pairs, order);
        Ok(pairs.into_vec())
    }
}

impl Client {
    /// Leads matching `query`, page by page, following `_links.next`.
    /// An invalid query yields one `InvalidRequest` error and nothing is sent.
    pub fn leads(&self, query: &LeadsQuery) -> PageStream<Lead> {
        self.list("/api/v4/leads", "leads", query.to_pairs())
    }

    /// The leads with these ids, in the order given (duplicates removed,
    /// unknown ids left out), fetched in batches of ≤ 250 via `filter[id][]`.
    pub async fn leads_by_ids(
        &self,
        ids: &[u64],
        with: &[LeadWith],
    ) -> Result<Vec<Lead>, ApiError> {
        self.by_ids(
            ids,
            |lead: &Lead| lead.id,
            |batch| {
                let mut query = LeadsQuery::new().ids(batch.iter().copied());
                with.iter().for_each(|w| query.filter.add_with(*w));
                self.leads(&query)
            },
        )
        .await
    }

    /// One lead; `None` when amoCRM has no such lead (204, or its
    /// problem+json 404).
    pub async fn lead(&self, id: u64, with: &[LeadWith]) -> Result<Option<Lead>, ApiError> {
        self.get_by_id(self.url(&format!("/api/v4/leads/{id}"), &with_pairs(with)))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(q: &LeadsQuery) -> String {
        q.to_pairs()
            .expect("valid")
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    }

    #[test]
    fn default_is_all_leads_250_per_page() {
        assert_eq!(render(&LeadsQuery::new()), "limit=250");
    }

    #[test]
    fn catch_up_query() {
        let q = LeadsQuery::new()
            .updated_from(1_700_000_000)
            .updated_to(1_700_000_600)
            .order(LeadsOrder::UpdatedAt(SortDirection::Asc))
            .with(LeadWith::Contacts)
            .with(LeadWith::LossReason)
            .with(LeadWith::Contacts)
            .limit(100);
        assert_eq!(
            render(&q),
            "filter[updated_at][from]=1700000000&filter[updated_at][to]=1700000600&order[updated_at]=asc&with=contacts,loss_reason&limit=100"
        );
    }

    #[test]
    fn statuses_pipeline_ids_search() {
        let q = LeadsQuery::new()
            .status(10, 142)
            .statuses([StatusKey {
                pipeline_id: 20,
                status_id: 143,
            }])
            .pipeline(10)
            .ids([3, 1, 3])
            .search("Иван")
            .order(LeadsOrder::Id(SortDirection::Desc))
            .with(LeadWith::OnlyDeleted);
        assert_eq!(
            render(&q),
            "filter[id][]=3&filter[id][]=1&filter[statuses][0][pipeline_id]=10&filter[statuses][0][status_id]=142&filter[statuses][1][pipeline_id]=20&filter[statuses][1][status_id]=143&filter[pipeline_id]=10&query=Иван&order[id]=desc&with=only_deleted&limit=250"
        );
    }

    #[test]
    fn validation() {
        let code = |q: LeadsQuery| q.to_pairs().map_err(|e| e.code()).err();
        assert_eq!(code(LeadsQuery::new().limit(0)), Some("InvalidRequest"));
        assert_eq!(code(LeadsQuery::new().limit(251)), Some("InvalidRequest"));
        assert_eq!(
            code(LeadsQuery::new().updated_from(10).updated_to(5)),
            Some("InvalidRequest")
        );
        assert_eq!(code(LeadsQuery::new().ids(0..251)), Some("InvalidRequest"));
        assert_eq!(code(LeadsQuery::new().ids(0..250)), None);
    }
}
