//! API v4 endpoints as methods on [`crate::Client`], with their query builders.

mod account;
mod batch;
mod contacts;
mod events;
mod leads;
mod pipelines;
mod talks;
mod unsorted;
mod webhooks;

pub use contacts::{ContactWith, ContactsOrder, ContactsQuery};
pub use events::EventsQuery;
pub use leads::{LeadWith, LeadsOrder, LeadsQuery};
pub use unsorted::UnsortedQuery;
