//! `GET /api/v4/leads/unsorted`: incoming requests not yet accepted.

use crate::client::Client;
use crate::error::ApiError;
use crate::models::Unsorted;
use crate::paging::PageStream;
use crate::query::{MAX_LIMIT, Pairs, SortDirection, check_limit};

/// Filters for [`Client::unsorted`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsortedQuery {
    categories: Vec<String>,
    pipeline_id: Option<u64>,
    order: Option<SortDirection>,
    limit: u32,
}

impl Default for UnsortedQuery {
    fn default() -> Self {
        UnsortedQuery::new()
    }
}

impl UnsortedQuery {
    /// Every unsorted request, 250 per page.
    pub fn new() -> Self {
        UnsortedQuery {
            categories: Vec::new(),
            pipeline_id: None,
            order: None,
            limit: MAX_LIMIT,
        }
    }

    /// Only this category (`chats`, `forms`, `sip`, `mail`); may repeat.
    pub fn category(mut self, category: impl Into<String>) -> Self {
        self.categories.push(category.into());
        self
    }

    /// Only requests waiting in this pipeline.
    pub fn pipeline(mut self, pipeline_id: u64) -> Self {
        self.pipeline_id = Some(pipeline_id);
        self
    }

    /// `order[created_at]`.
    pub fn order(mut self, direction: SortDirection) -> Self {
        self.order = Some(direction);
        self
    }

    /// Page size, 1..=250.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    /// Validates and renders the query string pairs.
    pub fn to_pairs(&self) -> Result<Vec<(String, String)>, ApiError> {
        check_limit(self.limit, MAX_LIMIT)?;
        let mut pairs = Pairs::default();
        for category in &self.categories {
            pairs.push("filter[category][]", category);
        }
        if let Some(pipeline_id) = self.pipeline_id {
            pairs.push("filter[pipeline_id]", pipeline_id);
        }
        if let Some(direction) = self.order {
            pairs.push("order[created_at]", direction.as_str());
        }
        pairs.push("limit", self.limit);
        Ok(pairs.into_vec())
    }
}

impl Client {
    /// Unsorted requests matching `query`, page by page.
    pub fn unsorted(&self, query: &UnsortedQuery) -> PageStream<Unsorted> {
        self.list("/api/v4/leads/unsorted", "unsorted", query.to_pairs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders() {
        let pairs = UnsortedQuery::new()
            .category("chats")
            .category("forms")
            .pipeline(3)
            .order(SortDirection::Desc)
            .limit(10);
        let rendered: Vec<String> = pairs
            .to_pairs()
            .expect("valid")
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        assert_eq!(
            rendered,
            [
                "filter[category][]=chats",
                "filter[category][]=forms",
                "filter[pipeline_id]=3",
                "order[created_at]=desc",
                "limit=10"
            ]
        );
    }
}
