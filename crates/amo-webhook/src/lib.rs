//! Decoder for amoCRM (Kommo) account webhooks.
//!
//! amoCRM POSTs `application/x-www-form-urlencoded` bodies with PHP bracket
//! keys (`leads[status][0][custom_fields][0][values][0][value]=…`), every
//! value a string, many entities and actions per body. This crate turns such
//! a body — arbitrary bytes from the internet — into a [`WebhookPayload`] of
//! typed [`WebhookEvent`]s:
//!
//! 1. [`parse_form`]: strict form parsing into a [`NodeMap`] tree, with
//!    [`DecodeLimits`] enforced before any work that depends on them. Bad
//!    percent-escapes, invalid UTF-8, malformed brackets, duplicate or
//!    conflicting keys reject the whole body with a [`DecodeError`].
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

mod encode;
mod error;
pub mod events;
mod form;
mod key;
mod limits;
mod read;
mod tree;
mod write;

pub use encode::{encode, encode_tree};
pub use error::{DecodeError, EntityError, EntityProblem, KeyProblem, PairPart};
pub use events::{AccountBlock, WebhookEvent, WebhookPayload};
pub use form::parse_form;
pub use limits::DecodeLimits;
pub use tree::{Node, NodeMap};

/// Decodes a webhook body with the default [`DecodeLimits`].
pub fn decode(body: &[u8]) -> Result<WebhookPayload, DecodeError> {
    decode_with_limits(body, &DecodeLimits::default())
}

/// Checks a body the way [`decode_with_limits`] does (limits, percent-encoding,
/// UTF-8, key syntax, duplicates, `account[subdomain]` present) and returns
/// only its account block, without typing the events: what a receiver needs
/// to accept or refuse a body before making it durable, at a fraction of the
/// cost. A body accepted here is accepted by [`decode_with_limits`] too.
pub fn read_account(body: &[u8], limits: &DecodeLimits) -> Result<AccountBlock, DecodeError> {
    let mut root = parse_form(body, limits)?;
    AccountBlock::read(root.remove("account"))
}

/// Decodes a webhook body with the given limits.
///
/// Fails when the body breaks a limit, is not well-formed, or has no
/// `account[subdomain]`. Entities that cannot be typed do not fail the body:
/// they are listed in [`WebhookPayload::errors`].
pub fn decode_with_limits(
    body: &[u8],
    limits: &DecodeLimits,
) -> Result<WebhookPayload, DecodeError> {
    events::build_payload(parse_form(body, limits)?)
}
