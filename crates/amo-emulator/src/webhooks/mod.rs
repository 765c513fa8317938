//! Webhook management and delivery (amocrm.md §1).
//!
//! * [`subscriptions`] keeps what `GET/POST/DELETE /api/v4/webhooks` manage.
//! * [`encode`] renders [`Change`]s as the exact form-urlencoded body amoCRM
//!   sends.
//! * [`delivery`] posts those bodies like amoCRM does: 2-second timeout, the
//!   retry ladder, the disable rule, plus optional injected faults.
//!
//! [`WebhookHub`] ties them together; it is cheap to clone and shared by the
//! API routes (registration) and the world (every mutation calls
//! [`WebhookHub::emit`]).

mod config;
mod delivery;
pub mod encode;
mod faults;
mod hub;
mod lanes;
mod records;
mod subscriptions;

pub use config::{AccountRef, WebhookConfig, WebhookFaults};
pub use hub::WebhookHub;
pub use records::DeliveryRecord;
pub use subscriptions::{MAX_WEBHOOKS, RegisterError, WebhookSubscription};

/// `User-Agent` of every delivery, as amoCRM sends it.
pub const USER_AGENT: &str = "amoCRM-WebHook-client/1.0";
/// `Content-Type` of every delivery.
pub const CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

#[cfg(doc)]
use crate::model::Change;
