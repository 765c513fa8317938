//! amoCRM (Kommo) API v4 client.
//!
//! * [`Client`]: one per account, cheap to clone; every clone shares one
//!   FIFO [`RateLimiter`] so all callers together stay under the limit.
//! * Errors are [`ApiError`] variants with a stable [`ApiError::code`] and an
//!   [`ApiError::is_retryable`] verdict; 204 is an empty result, never an error.
//! * 401 refreshes the token once through the [`TokenProvider`] and re-sends
//!   the identical request; 429 backs off and slows every caller; 403 stops.
//! * Lists are [`PageStream`]s that follow `_links.next`.
//! * Tokens are [`Secret`]s: `Debug`/`Display` print `***`.
//! * Webhook bodies are decoded by [`webhook`] (the `amo-webhook` crate).

mod account_url;
mod backoff;
mod classify;
mod client;
mod config;
mod decode;
mod endpoints;
mod error;
mod excerpt;
mod limiter;
pub mod models;
pub mod oauth;
mod pacer;
mod paging;
mod problem;
mod query;
mod request;
mod secret;
mod token;

pub use account_url::{check_account_url, is_loopback_url};
pub use client::{ApiUsage, Client};
pub use config::ClientConfig;
pub use endpoints::{
    CompaniesQuery, CompanyWith, ContactWith, ContactsOrder, ContactsQuery, EventsQuery, LeadWith,
    LeadsOrder, LeadsQuery, NoteEntity, NotesOrder, NotesQuery, UnsortedQuery,
};
pub use error::ApiError;
pub use limiter::RateLimiter;
pub use paging::{PageStream, collect_all, items};
pub use problem::Problem;
pub use query::{MAX_EVENTS_LIMIT, MAX_IDS_PER_REQUEST, MAX_LIMIT, SortDirection};
pub use secret::{Secret, Sensitive};
pub use token::{StaticToken, TokenProvider};

/// The webhook decoder: form bodies with PHP bracket keys into typed events.
pub use amo_webhook as webhook;
