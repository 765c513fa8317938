//! Incoming requests waiting in "unsorted": `GET /api/v4/leads/unsorted`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::{EntityRef, Extra};
use super::de;

/// One unsorted request (a chat, form, call or mail not yet accepted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unsorted {
    /// Unsorted uid.
    #[serde(deserialize_with = "de::string_or_empty")]
    pub uid: String,
    /// The source's own id.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub source_uid: Option<String>,
    /// The source's display name.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub source_name: Option<String>,
    /// `chats`, `forms`, `sip`, `mail`.
    #[serde(default, deserialize_with = "de::string_or_empty")]
    pub category: String,
    /// Pipeline the request waits in.
    #[serde(default, deserialize_with = "de::u64_or_zero")]
    pub pipeline_id: u64,
    /// Unix seconds.
    #[serde(default, deserialize_with = "de::i64_or_zero")]
    pub created_at: i64,
    /// Category-specific metadata (client, origin, first message…), kept raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
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
    /// Leads, contacts and companies created for the request.
    #[serde(default, rename = "_embedded", skip_serializing_if = "Option::is_none")]
    pub embedded: Option<UnsortedEmbedded>,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `_embedded` of an unsorted request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UnsortedEmbedded {
    /// Leads.
    #[serde(default, deserialize_with = "de::null_default")]
    pub leads: Vec<EntityRef>,
    /// Contacts.
    #[serde(default, deserialize_with = "de::null_default")]
    pub contacts: Vec<EntityRef>,
    /// Companies.
    #[serde(default, deserialize_with = "de::null_default")]
    pub companies: Vec<EntityRef>,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Unsorted {
    /// The lead created for this request, if any.
    pub fn lead_id(&self) -> Option<u64> {
        self.embedded.as_ref()?.leads.first().map(|l| l.id)
    }
}
