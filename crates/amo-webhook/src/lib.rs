//! Decoder for amoCRM (Kommo) account webhooks.
//!
//! amoCRM POSTs `application/x-www-form-urlencoded` bodies with PHP bracket
//! keys (`leads[status][0][custom_fields][0][values][0][value]=…`), every
//! value a string, many entities and actions per body. This crate turns such
//! a body — arbitrary bytes from the internet — into a [`WebhookPayload`] of
//! typed [`WebhookEvent`]s:
//!
//! 1. [`parse_form`]: form parsing into a [`NodeMap`] tree with the rules of
//!    PHP's `parse_str` (which amoCRM's bodies are made for; listed in
//!    `form.rs`): the last duplicate wins, broken escapes stay text, odd keys
//!    are read as PHP reads them. Only the size limits of [`DecodeLimits`]
//!    reject a body ([`DecodeError`]); whatever PHP's rules resolved is kept
//!    as an [`Anomaly`] in [`WebhookPayload::anomalies`].
//! 2. Typing: known (entity, action) pairs become typed events; unknown ones
//!    become [`WebhookEvent::Unknown`]; unknown keys of known entities are
//!    kept in each struct's `extra`. An entity that cannot be typed (e.g. a
//!    non-numeric id) is reported in [`WebhookPayload::errors`] with its raw
//!    fields while the rest of the body is still decoded.
//!
//! [`encode`] writes a payload back in the same shape.
//!
//! ```
//! let body = b"leads%5Bstatus%5D%5B0%5D%5Bid%5D=42&leads%5Bstatus%5D%5B0%5D%5Bstatus_id%5D=142\
//!              &account%5Bsubdomain%5D=acme";
//! let payload = amo_webhook::decode(body).unwrap();
//! assert_eq!(payload.account.subdomain, "acme");
//! assert_eq!(payload.events[0].entity_id(), Some(42));
//! ```

mod anomaly;
mod encode;
mod error;
pub mod events;
mod form;
mod key;
mod limits;
mod read;
mod tree;
mod write;

pub use anomaly::Anomaly;
pub use encode::{encode, encode_tree};
pub use error::{DecodeError, EntityError, EntityProblem, PairPart};
pub use events::{AccountBlock, WebhookEvent, WebhookPayload};
pub use form::{ParsedForm, parse_form};
pub use limits::DecodeLimits;
pub use tree::{Node, NodeMap};

/// Decodes a webhook body with the default [`DecodeLimits`].
pub fn decode(body: &[u8]) -> Result<WebhookPayload, DecodeError> {
    decode_with_limits(body, &DecodeLimits::default())
}

/// Checks a body the way [`decode_with_limits`] does (size limits,
/// `account[subdomain]` present) and returns
/// only its account block, without typing the events: what a receiver needs
/// to accept or refuse a body before making it durable, at a fraction of the
/// cost. A body accepted here is accepted by [`decode_with_limits`] too.
pub fn read_account(body: &[u8], limits: &DecodeLimits) -> Result<AccountBlock, DecodeError> {
    let mut form = parse_form(body, limits)?;
    AccountBlock::read(form.tree.remove("account"))
}

/// Decodes a webhook body with the given limits.
///
/// Fails when the body breaks a size limit or has no usable
/// `account[subdomain]`. Entities that cannot be typed do not fail the body:
/// they are listed in [`WebhookPayload::errors`].
pub fn decode_with_limits(
    body: &[u8],
    limits: &DecodeLimits,
) -> Result<WebhookPayload, DecodeError> {
    events::build_payload(parse_form(body, limits)?)
}
