//! `GET /api/v4/contacts` with filters, by ids, by id; `GET /api/v4/companies/{id}`.

use futures::stream;

use crate::client::Client;
use crate::error::ApiError;
use crate::models::{Company, Contact};
use crate::paging::PageStream;
use crate::query::{
    MAX_IDS_PER_REQUEST, MAX_LIMIT, Pairs, SortDirection, check_limit, check_range, push_range,
};

/// Extra data for contacts (`with=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContactWith {
    /// `_embedded.leads`.
    Leads,
    /// `_embedded.customers`.
    Customers,
    /// `_embedded.catalog_elements`.
    CatalogElements,
}

impl ContactWith {
    /// The `with=` token.
    pub fn as_str(self) -> &'static str {
        match self {
            ContactWith::Leads => "leads",
            ContactWith::Customers => "customers",
            ContactWith::CatalogElements => "catalog_elements",
        }
    }
}

/// Sort field for contacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactsOrder {
    /// `order[updated_at]`.
    UpdatedAt(SortDirection),
    /// `order[id]`.
    Id(SortDirection),
}

/// Filters for [`Client::contacts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactsQuery {
    updated_from: Option<i64>,
    updated_to: Option<i64>,
    ids: Vec<u64>,
    search: Option<String>,
    order: Option<ContactsOrder>,
    with: Vec<ContactWith>,
    limit: u32,
}

impl Default for ContactsQuery {
    fn default() -> Self {
        ContactsQuery::new()
    }
}

impl ContactsQuery {
    /// Every contact, 250 per page.
    pub fn new() -> Self {
        ContactsQuery {
            updated_from: None,
            updated_to: None,
            ids: Vec::new(),
            search: None,
            order: None,
            with: Vec::new(),
            limit: MAX_LIMIT,
        }
    }

    /// Contacts updated at or after `unix` seconds.
    pub fn updated_from(mut self, unix: i64) -> Self {
        self.updated_from = Some(unix);
        self
    }

    /// Contacts updated at or before `unix` seconds.
    pub fn updated_to(mut self, unix: i64) -> Self {
        self.updated_to = Some(unix);
        self
    }

    /// Only these ids (≤ 250; use [`Client::contacts_by_ids`] for more).
    pub fn ids(mut self, ids: impl IntoIterator<Item = u64>) -> Self {
        self.ids.extend(ids);
        self
    }

    /// Search by name, phone, e-mail (`query=`).
    pub fn search(mut self, text: impl Into<String>) -> Self {
        self.search = Some(text.into());
        self
    }

    /// Sort order.
    pub fn order(mut self, order: ContactsOrder) -> Self {
        self.order = Some(order);
        self
    }

    /// Adds a `with=` extra (duplicates ignored).
    pub fn with(mut self, with: ContactWith) -> Self {
        if !self.with.contains(&with) {
            self.with.push(with);
        }
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
        check_range("updated_at", self.updated_from, self.updated_to)?;
        if self.ids.len() > MAX_IDS_PER_REQUEST {
            return Err(ApiError::invalid(format!(
                "at most {MAX_IDS_PER_REQUEST} ids per request, got {}; use contacts_by_ids",
                self.ids.len()
            )));
        }
        let mut pairs = Pairs::default();
        for id in crate::query::dedup_keep_order(&self.ids) {
            pairs.push("filter[id][]", id);
        }
        push_range(&mut pairs, "updated_at", self.updated_from, self.updated_to);
        if let Some(search) = self.search.as_deref().filter(|s| !s.is_empty()) {
            pairs.push("query", search);
        }
        match self.order {
            Some(ContactsOrder::UpdatedAt(d)) => pairs.push("order[updated_at]", d.as_str()),
            Some(ContactsOrder::Id(d)) => pairs.push("order[id]", d.as_str()),
            None => {}
        }
        if !self.with.is_empty() {
            let with: Vec<&str> = self.with.iter().map(|w| w.as_str()).collect();
            pairs.push("with", with.join(","));
        }
        pairs.push("limit", self.limit);
        Ok(pairs.into_vec())
    }
}

impl Client {
    /// Contacts matching `query`, page by page, following `_links.next`.
    pub fn contacts(&self, query: &ContactsQuery) -> PageStream<Contact> {
        match query.to_pairs() {
            Ok(pairs) => self.pages(self.url("/api/v4/contacts", &pairs), "contacts"),
            Err(e) => Box::pin(stream::once(async move { Err(e) })),
        }
    }

    /// The contacts with these ids, in the order given (duplicates removed,
    /// unknown ids left out), in batches of ≤ 250.
    pub async fn contacts_by_ids(
        &self,
        ids: &[u64],
        with: &[ContactWith],
    ) -> Result<Vec<Contact>, ApiError> {
        self.by_ids(
            ids,
            |contact: &Contact| contact.id,
            |batch| {
                let query = with
                    .iter()
                    .fold(ContactsQuery::new().ids(batch.iter().copied()), |q, w| {
                        q.with(*w)
                    });
                self.contacts(&query)
            },
        )
        .await
    }

    /// One contact; `None` when amoCRM has no such contact (204 or 404).
    pub async fn contact(
        &self,
        id: u64,
        with: &[ContactWith],
    ) -> Result<Option<Contact>, ApiError> {
        let mut pairs = Vec::new();
        if !with.is_empty() {
            let with: Vec<&str> = with.iter().map(|w| w.as_str()).collect();
            pairs.push(("with".to_owned(), with.join(",")));
        }
        self.get_by_id(self.url(&format!("/api/v4/contacts/{id}"), &pairs))
            .await
    }

    /// One company with its linked leads and contacts; `None` when unknown.
    pub async fn company(&self, id: u64) -> Result<Option<Company>, ApiError> {
        let pairs = [("with".to_owned(), "leads,contacts".to_owned())];
        self.get_by_id(self.url(&format!("/api/v4/companies/{id}"), &pairs))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_filters() {
        let pairs = ContactsQuery::new()
            .ids([7, 7, 8])
            .updated_from(5)
            .search("+7999")
            .order(ContactsOrder::UpdatedAt(SortDirection::Desc))
            .with(ContactWith::Leads)
            .limit(50)
            .to_pairs()
            .expect("valid");
        let rendered: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            rendered,
            [
                "filter[id][]=7",
                "filter[id][]=8",
                "filter[updated_at][from]=5",
                "query=+7999",
                "order[updated_at]=desc",
                "with=leads",
                "limit=50"
            ]
        );
        assert!(ContactsQuery::new().limit(300).to_pairs().is_err());
    }
}
