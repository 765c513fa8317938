//! Talks (chat conversations): `GET /api/v4/talks/{id}`. There is no list
//! endpoint; talk ids come from webhooks and events.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::Extra;
use super::de;

/// One conversation with a client in some chat channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Talk {
    /// Talk id.
    #[serde(deserialize_with = "de::u64_")]
    pub talk_id: u64,
    /// Chat UUID.
    #[serde(default, deserialize_with = "de::string_or_empty")]
    pub chat_id: String,
    /// The client contact.
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub contact_id: Option<u64>,
    /// The entity the talk is attached to (usually a lead).
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub entity_id: Option<u64>,
    /// `lead`, `customer`, …
    #[serde(default, deserialize_with = "de::opt_string")]
    pub entity_type: Option<String>,
    /// Channel: `telegram`, `waba`, `instagram`, `onlinechat`, …
    #[serde(default, deserialize_with = "de::opt_string")]
    pub origin: Option<String>,
    /// Being worked on.
    #[serde(default, deserialize_with = "de::bool_or_false")]
    pub is_in_work: bool,
    /// Read by the office.
    #[serde(default, deserialize_with = "de::bool_or_false")]
    pub is_read: bool,
    /// Client rating.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub rate: Option<i64>,
    /// Unix seconds when the reply deadline was missed.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub missed_at: Option<i64>,
    /// Unix seconds.
    #[serde(default, deserialize_with = "de::i64_or_zero")]
    pub created_at: i64,
    /// Unix seconds.
    #[serde(default, deserialize_with = "de::i64_or_zero")]
    pub updated_at: i64,
    /// Account id.
    #[serde(
        default,
        deserialize_with = "de::opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub account_id: Option<u64>,
    /// HAL links, kept raw.
    #[serde(default, rename = "_links", skip_serializing_if = "Option::is_none")]
    pub links: Option<Value>,
    /// Embedded objects, kept raw.
    #[serde(default, rename = "_embedded", skip_serializing_if = "Option::is_none")]
    pub embedded: Option<Value>,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}
