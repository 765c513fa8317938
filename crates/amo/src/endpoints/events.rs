//! `GET /api/v4/events`: status history, chat activity, deletions.

use crate::client::Client;
use crate::error::ApiError;
use crate::models::Event;
use crate::paging::PageStream;
use crate::query::{MAX_EVENTS_LIMIT, Pairs, SortDirection, check_limit, check_range, push_range};

/// amoCRM accepts at most this many `filter[entity_id][]` values.
pub const MAX_EVENT_ENTITY_IDS: usize = 10;

/// Filters for [`Client::events`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsQuery {
    types: Vec<String>,
    entity: Option<String>,
    entity_ids: Vec<u64>,
    created_from: Option<i64>,
    created_to: Option<i64>,
    order: Option<SortDirection>,
    limit: u32,
}

impl Default for EventsQuery {
    fn default() -> Self {
        EventsQuery::new()
    }
}

impl EventsQuery {
    /// Every event, 100 per page.
    pub fn new() -> Self {
        EventsQuery {
            types: Vec::new(),
            entity: None,
            entity_ids: Vec::new(),
            created_from: None,
            created_to: None,
            order: None,
            limit: MAX_EVENTS_LIMIT,
        }
    }

    /// Adds an event type (see [`crate::models::event_kinds`]).
    pub fn kind(mut self, kind: impl Into<String>) -> Self {
        self.types.push(kind.into());
        self
    }

    /// Adds several event types.
    pub fn kinds<S: Into<String>>(mut self, kinds: impl IntoIterator<Item = S>) -> Self {
        self.types.extend(kinds.into_iter().map(Into::into));
        self
    }

    /// Only events about this entity type (`lead`, `contact`, …).
    pub fn entity(mut self, entity: impl Into<String>) -> Self {
        self.entity = Some(entity.into());
        self
    }

    /// Only events about these entities (≤ 10, needs [`EventsQuery::entity`]).
    pub fn entity_ids(mut self, ids: impl IntoIterator<Item = u64>) -> Self {
        self.entity_ids.extend(ids);
        self
    }

    /// Events created at or after `unix` seconds.
    pub fn created_from(mut self, unix: i64) -> Self {
        self.created_from = Some(unix);
        self
    }

    /// Events created at or before `unix` seconds.
    pub fn created_to(mut self, unix: i64) -> Self {
        self.created_to = Some(unix);
        self
    }

    /// `order[created_at]`.
    pub fn order(mut self, direction: SortDirection) -> Self {
        self.order = Some(direction);
        self
    }

    /// Page size, 1..=100.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    /// Validates and renders the query string pairs.
    pub fn to_pairs(&self) -> Result<Vec<(String, String)>, ApiError> {
        check_limit(self.limit, MAX_EVENTS_LIMIT)?;
        check_range("created_at", self.created_from, self.created_to)?;
        if !self.entity_ids.is_empty() && self.entity.is_none() {
            return Err(ApiError::invalid(
                "filter by entity ids needs an entity type",
            ));
        }
        if self.entity_ids.len() > MAX_EVENT_ENTITY_IDS {
            return Err(ApiError::invalid(format!(
                "at most {MAX_EVENT_ENTITY_IDS} entity ids per events request, got {}",
                self.entity_ids.len()
            )));
        }
        let mut pairs = Pairs::default();
        for kind in &self.types {
            pairs.push("filter[type][]", kind);
        }
        if let Some(entity) = &self.entity {
            pairs.push("filter[entity]", entity);
        }
        for id in crate::query::dedup_keep_order(&self.entity_ids) {
            pairs.push("filter[entity_id][]", id);
        }
        push_range(&mut pairs, "created_at", self.created_from, self.created_to);
        if let Some(direction) = self.order {
            pairs.push("order[created_at]", direction.as_str());
        }
        pairs.push("limit", self.limit);
        Ok(pairs.into_vec())
    }
}

impl Client {
    /// Events matching `query`, page by page, following `_links.next`.
    pub fn events(&self, query: &EventsQuery) -> PageStream<Event> {
        self.list("/api/v4/events", "events", query.to_pairs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::event_kinds;

    #[test]
    fn renders_and_validates() {
        let pairs = EventsQuery::new()
            .kinds([
                event_kinds::INCOMING_CHAT_MESSAGE,
                event_kinds::OUTGOING_CHAT_MESSAGE,
            ])
            .entity("lead")
            .entity_ids([5, 6])
            .created_from(100)
            .created_to(200)
            .order(SortDirection::Asc)
            .to_pairs()
            .expect("valid");
        let rendered: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            rendered,
            [
                "filter[type][]=incoming_chat_message",
                "filter[type][]=outgoing_chat_message",
                "filter[entity]=lead",
                "filter[entity_id][]=5",
                "filter[entity_id][]=6",
                "filter[created_at][from]=100",
                "filter[created_at][to]=200",
                "order[created_at]=asc",
                "limit=100"
            ]
        );
        assert!(
            EventsQuery::new().limit(250).to_pairs().is_err(),
            "events pages are ≤ 100"
        );
        assert!(
            EventsQuery::new().entity_ids([1]).to_pairs().is_err(),
            "ids need an entity"
        );
        assert!(
            EventsQuery::new()
                .entity("lead")
                .entity_ids(0..11)
                .to_pairs()
                .is_err()
        );
        assert!(
            EventsQuery::new()
                .created_from(2)
                .created_to(1)
                .to_pairs()
                .is_err()
        );
    }
}
