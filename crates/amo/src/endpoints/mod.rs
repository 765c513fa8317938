//! API v4 endpoints as methods on [`crate::Client`], with their query builders.

mod account;
mod batch;
mod contacts;
mod events;
mod leads;
mod notes;
mod pipelines;
mod talks;
mod unsorted;
mod webhooks;

pub use contacts::{CompaniesQuery, CompanyWith, ContactWith, ContactsOrder, ContactsQuery};
pub use events::EventsQuery;
pub use leads::{LeadWith, LeadsOrder, LeadsQuery};
pub use notes::{NoteEntity, NotesOrder, NotesQuery};
pub use unsorted::UnsortedQuery;
