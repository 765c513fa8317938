//! API v4 entities. Tolerant on input (unknown fields kept in `extra`, nulls
//! accepted, numbers as strings accepted) and faithful on output (the same
//! field names amoCRM uses).

mod account;
mod common;
mod company;
mod contact;
pub(crate) mod de;
mod event;
mod lead;
mod note;
mod pipeline;
mod talk;
mod unsorted;
mod webhook;

#[cfg(test)]
mod tests;

pub use account::{Account, AccountEmbedded, User, UserGroup, UserRights};
pub use common::{
    CustomFieldValues, EntityRef, Extra, FieldValue, LinkedContact, Tag, values_by_code,
};
pub use company::{Company, CompanyEmbedded};
pub use contact::{Contact, ContactEmbedded};
pub use event::{Event, EventValue, LeadStatusValue, MessageValue, kinds as event_kinds};
pub use lead::{Lead, LeadEmbedded};
pub use note::{Note, NoteParams};
pub use pipeline::{Pipeline, PipelineEmbedded, STATUS_LOST, STATUS_WON, Status, StatusKey};
pub use talk::Talk;
pub use unsorted::{Unsorted, UnsortedEmbedded};
pub use webhook::Webhook;
