//! `GET /api/v4/contacts` and `GET /api/v4/companies`: with filters, by ids, by id.

use crate::client::Client;
use crate::error::ApiError;
use crate::models::{Company, Contact};
use crate::paging::PageStream;
use crate::query::{
    EntityFilter, Pairs, SortDirection, WithToken, entity_filter_methods, with_pairs,
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
    filter: EntityFilter<ContactWith>,
    order: Option<ContactsOrder>,
}

impl WithToken for ContactWith {
    fn token(self) -> &'static str {
        self.as_str()
    }
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
            filter: EntityFilter::new(),
            order: None,
        }
    }

    entity_filter_methods!(ContactWith, "contacts", "contacts_by_ids");

    /// Sort order.
    pub fn order(mut self, order: ContactsOrder) -> Self {
        self.order = Some(order);
        self
    }

    /// Validates and renders the query string pairs.
    pub fn to_pairs(&self) -> Result<Vec<(String, String)>, ApiError> {
        let mut pairs = Pairs::default();
        self.filter.push_head(&mut pairs, "contacts_by_ids")?;
        let order = self.order.map(|order| match order {
            ContactsOrder::UpdatedAt(d) => ("updated_at", d),
            ContactsOrder::Id(d) => ("id", d),
        });
        self.filter.push_tail(&mut pairs, order);
        Ok(pairs.into_vec())
    }
}

/// Extra data for companies (`with=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompanyWith {
    /// `_embedded.leads`.
    Leads,
    /// `_embedded.contacts`.
    Contacts,
}

impl WithToken for CompanyWith {
    fn token(self) -> &'static str {
        match self {
            CompanyWith::Leads => "leads",
            CompanyWith::Contacts => "contacts",
        }
    }
}

/// Filters for [`Client::companies`] (same shape as contacts; sorted with
/// [`ContactsOrder`], whose fields companies share).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompaniesQuery {
    filter: EntityFilter<CompanyWith>,
    order: Option<ContactsOrder>,
}

impl Default for CompaniesQuery {
    fn default() -> Self {
        CompaniesQuery::new()
    }
}

impl CompaniesQuery {
    /// Every company, 250 per page.
    pub fn new() -> Self {
        CompaniesQuery {
            filter: EntityFilter::new(),
            order: None,
        }
    }

    entity_filter_methods!(CompanyWith, "companies", "companies_by_ids");

    /// Sort order.
    pub fn order(mut self, order: ContactsOrder) -> Self {
        self.order = Some(order);
        self
    }

    /// Validates and renders the query string pairs.
    pub fn to_pairs(&self) -> Result<Vec<(String, String)>, ApiError> {
        let mut pairs = Pairs::default();
        self.filter.push_head(&mut pairs, "companies_by_ids")?;
        let order = self.order.map(|order| match order {
            ContactsOrder::UpdatedAt(d) => ("updated_at", d),
            ContactsOrder::Id(d) => ("id", d),
        });
        self.filter.push_tail(&mut pairs, order);
        Ok(pairs.into_vec())
    }
}

impl Client {
    /// Companies matching `query`, page by page, following `_links.next`.
    pub fn companies(&self, query: &CompaniesQuery) -> PageStream<Company> {
        self.list("/api/v4/companies", "companies", query.to_pairs())
    }

    /// The companies with these ids (unknown ids left out), in batches of ≤ 250.
    pub async fn companies_by_ids(
        &self,
        ids: &[u64],
        with: &[CompanyWith],
    ) -> Result<Vec<Company>, ApiError> {
        self.by_ids(
            ids,
            |company: &Company| company.id,
            |batch| {
                let mut query = CompaniesQuery::new().ids(batch.iter().copied());
                with.iter().for_each(|w| query.filter.add_with(*w));
                self.companies(&query)
            },
        )
        .await
    }

    /// Contacts matching `query`, page by page, following `_links.next`.
    pub fn contacts(&self, query: &ContactsQuery) -> PageStream<Contact> {
        self.list("/api/v4/contacts", "contacts", query.to_pairs())
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
                let mut query = ContactsQuery::new().ids(batch.iter().copied());
                with.iter().for_each(|w| query.filter.add_with(*w));
                self.contacts(&query)
            },
        )
        .await
    }

    /// One contact; `None` when amoCRM has no such contact (204, or its
    /// problem+json 404).
    pub async fn contact(
        &self,
        id: u64,
        with: &[ContactWith],
    ) -> Result<Option<Contact>, ApiError> {
        self.get_by_id(self.url(&format!("/api/v4/contacts/{id}"), &with_pairs(with)))
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
