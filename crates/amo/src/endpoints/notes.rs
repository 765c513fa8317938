//! Notes: `GET /api/v4/{leads|contacts|companies}/notes`,
//! `GET /api/v4/{entity}/{entity_id}/notes` and
//! `GET /api/v4/{entity}/{entity_id}/notes/{note_id}`.

use crate::client::Client;
use crate::error::ApiError;
use crate::models::Note;
use crate::paging::PageStream;
use crate::query::{
    MAX_IDS_PER_REQUEST, MAX_LIMIT, Pairs, SortDirection, check_limit, check_range,
    dedup_keep_order, push_range,
};

/// The kind of entity notes hang on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NoteEntity {
    /// Notes of leads (`/api/v4/leads/notes`).
    #[default]
    Leads,
    /// Notes of contacts.
    Contacts,
    /// Notes of companies.
    Companies,
}

impl NoteEntity {
    /// The path segment: `leads`, `contacts`, `companies`.
    pub fn as_str(self) -> &'static str {
        match self {
            NoteEntity::Leads => "leads",
            NoteEntity::Contacts => "contacts",
            NoteEntity::Companies => "companies",
        }
    }
}

/// Sort field for notes (`order[field]=asc|desc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotesOrder {
    /// `order[updated_at]`.
    UpdatedAt(SortDirection),
    /// `order[id]`.
    Id(SortDirection),
}

/// Filters for [`Client::notes`] and [`Client::entity_notes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotesQuery {
    entity: NoteEntity,
    entity_ids: Vec<u64>,
    note_types: Vec<String>,
    ids: Vec<u64>,
    updated_from: Option<i64>,
    updated_to: Option<i64>,
    order: Option<NotesOrder>,
    limit: u32,
}

impl Default for NotesQuery {
    fn default() -> Self {
        NotesQuery::new(NoteEntity::default())
    }
}

impl NotesQuery {
    /// Every note of `entity`'s type, 250 per page.
    pub fn new(entity: NoteEntity) -> Self {
        NotesQuery {
            entity,
            entity_ids: Vec::new(),
            note_types: Vec::new(),
            ids: Vec::new(),
            updated_from: None,
            updated_to: None,
            order: None,
            limit: MAX_LIMIT,
        }
    }

    /// The entity type whose notes [`Client::notes`] lists.
    pub fn entity(&self) -> NoteEntity {
        self.entity
    }

    /// Only notes of these entities (≤ 250 per request).
    pub fn entity_ids(mut self, ids: impl IntoIterator<Item = u64>) -> Self {
        self.entity_ids.extend(ids);
        self
    }

    /// Only notes of these types (`common`, `call_in`, …); duplicates ignored.
    pub fn note_types<S: Into<String>>(mut self, types: impl IntoIterator<Item = S>) -> Self {
        for note_type in types {
            let note_type = note_type.into();
            if !self.note_types.contains(&note_type) {
                self.note_types.push(note_type);
            }
        }
        self
    }

    /// Only these note ids (≤ 250 per request).
    pub fn ids(mut self, ids: impl IntoIterator<Item = u64>) -> Self {
        self.ids.extend(ids);
        self
    }

    /// Only notes updated at or after `unix` seconds.
    pub fn updated_from(mut self, unix: i64) -> Self {
        self.updated_from = Some(unix);
        self
    }

    /// Only notes updated at or before `unix` seconds.
    pub fn updated_to(mut self, unix: i64) -> Self {
        self.updated_to = Some(unix);
        self
    }

    /// Sort order.
    pub fn order(mut self, order: NotesOrder) -> Self {
        self.order = Some(order);
        self
    }

    /// Page size, 1..=250 (checked when the query is sent).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    /// Validates and renders the query string pairs.
    pub fn to_pairs(&self) -> Result<Vec<(String, String)>, ApiError> {
        check_limit(self.limit, MAX_LIMIT)?;
        check_range("updated_at", self.updated_from, self.updated_to)?;
        let ids = dedup_keep_order(&self.ids);
        let entity_ids = dedup_keep_order(&self.entity_ids);
        for (name, count) in [("ids", ids.len()), ("entity ids", entity_ids.len())] {
            if count > MAX_IDS_PER_REQUEST {
                return Err(ApiError::invalid(format!(
                    "at most {MAX_IDS_PER_REQUEST} {name} per notes request, got {count}"
                )));
            }
        }
        if let Some(bad) = self.note_types.iter().find(|t| {
            t.is_empty()
                || !t
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        }) {
            return Err(ApiError::invalid(format!(
                "note type must be like common or call_in, got {bad:?}"
            )));
        }
        let mut pairs = Pairs::default();
        for id in ids {
            pairs.push("filter[id][]", id);
        }
        for id in entity_ids {
            pairs.push("filter[entity_id][]", id);
        }
        for note_type in &self.note_types {
            pairs.push("filter[note_type][]", note_type);
        }
        push_range(&mut pairs, "updated_at", self.updated_from, self.updated_to);
        if let Some(order) = self.order {
            let (field, direction) = match order {
                NotesOrder::UpdatedAt(d) => ("updated_at", d),
                NotesOrder::Id(d) => ("id", d),
            };
            pairs.push(format!("order[{field}]"), direction.as_str());
        }
        pairs.push("limit", self.limit);
        Ok(pairs.into_vec())
    }
}

impl Client {
    /// Notes of the query's entity type, page by page, following `_links.next`.
    pub fn notes(&self, query: &NotesQuery) -> PageStream<Note> {
        let path = format!("/api/v4/{}/notes", query.entity.as_str());
        self.list(&path, "notes", query.to_pairs())
    }

    /// Notes of one lead, contact or company, page by page. The path names
    /// the entity; the query's own entity type is not used, its filters are.
    pub fn entity_notes(
        &self,
        entity: NoteEntity,
        entity_id: u64,
        query: &NotesQuery,
    ) -> PageStream<Note> {
        let path = format!("/api/v4/{}/{entity_id}/notes", entity.as_str());
        self.list(&path, "notes", query.to_pairs())
    }

    /// One note of one entity; `None` when amoCRM has no such note there
    /// (204, or its problem+json 404).
    pub async fn note(
        &self,
        entity: NoteEntity,
        entity_id: u64,
        note_id: u64,
    ) -> Result<Option<Note>, ApiError> {
        let path = format!("/api/v4/{}/{entity_id}/notes/{note_id}", entity.as_str());
        self.get_by_id(self.url(&path, &[])).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(query: &NotesQuery) -> Vec<String> {
        query
            .to_pairs()
            .map(|pairs| pairs.iter().map(|(k, v)| format!("{k}={v}")).collect())
            .unwrap_or_default()
    }

    #[test]
    fn renders_filters() {
        let query = NotesQuery::new(NoteEntity::Contacts)
            .ids([3, 3, 4])
            .entity_ids([9, 8, 9])
            .note_types(["common", "call_in", "common"])
            .updated_from(5)
            .updated_to(6)
            .order(NotesOrder::UpdatedAt(SortDirection::Desc))
            .limit(50);
        assert_eq!(query.entity(), NoteEntity::Contacts);
        assert_eq!(
            rendered(&query),
            [
                "filter[id][]=3",
                "filter[id][]=4",
                "filter[entity_id][]=9",
                "filter[entity_id][]=8",
                "filter[note_type][]=common",
                "filter[note_type][]=call_in",
                "filter[updated_at][from]=5",
                "filter[updated_at][to]=6",
                "order[updated_at]=desc",
                "limit=50",
            ]
        );
        assert_eq!(rendered(&NotesQuery::default()), ["limit=250"]);
    }

    #[test]
    fn rejects_invalid_queries() {
        let invalid = |q: NotesQuery| q.to_pairs().map_err(|e| e.code()).err();
        assert_eq!(
            invalid(NotesQuery::default().limit(0)),
            Some("InvalidRequest")
        );
        assert!(invalid(NotesQuery::default().limit(251)).is_some());
        assert!(invalid(NotesQuery::default().updated_from(2).updated_to(1)).is_some());
        assert!(invalid(NotesQuery::default().ids(1..=251)).is_some());
        assert!(invalid(NotesQuery::default().entity_ids(1..=251)).is_some());
        assert!(invalid(NotesQuery::default().note_types([""])).is_some());
        assert!(invalid(NotesQuery::default().note_types(["common,call_in"])).is_some());
        assert!(invalid(NotesQuery::default().ids(1..=250).limit(250)).is_none());
    }
}
