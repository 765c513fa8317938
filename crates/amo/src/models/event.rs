//! Events (the account's history): `GET /api/v4/events`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::common::Extra;
use super::de;

/// Event types this product reads.
pub mod kinds {
    /// A lead was created.
    pub const LEAD_ADDED: &str = "lead_added";
    /// A lead moved between statuses/pipelines.
    pub const LEAD_STATUS_CHANGED: &str = "lead_status_changed";
    /// A lead was deleted.
    pub const LEAD_DELETED: &str = "lead_deleted";
    /// A deleted lead came back.
    pub const LEAD_RESTORED: &str = "lead_restored";
    /// A client wrote in a chat.
    pub const INCOMING_CHAT_MESSAGE: &str = "incoming_chat_message";
    /// The office answered in a chat.
    pub const OUTGOING_CHAT_MESSAGE: &str = "outgoing_chat_message";
}

/// One event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Event id (a string in amoCRM, e.g. `01h…`).
    #[serde(deserialize_with = "de::string_or_empty")]
    pub id: String,
    /// `lead_status_changed`, `incoming_chat_message`, … (see [`kinds`]).
    #[serde(rename = "type", default, deserialize_with = "de::string_or_empty")]
    pub kind: String,
    /// The entity the event is about.
    #[serde(default, deserialize_with = "de::u64_or_zero")]
    pub entity_id: u64,
    /// `lead`, `contact`, `company`, …
    #[serde(default, deserialize_with = "de::string_or_empty")]
    pub entity_type: String,
    /// The user who caused it (0 for robots/system).
    #[serde(default, deserialize_with = "de::u64_or_zero")]
    pub created_by: u64,
    /// Unix seconds.
    #[serde(default, deserialize_with = "de::i64_or_zero")]
    pub created_at: i64,
    /// New values: `[{"lead_status":{…}}]`, `[{"message":{…}}]`, …
    #[serde(default, deserialize_with = "de::null_default")]
    pub value_after: Vec<EventValue>,
    /// Old values, same shape.
    #[serde(default, deserialize_with = "de::null_default")]
    pub value_before: Vec<EventValue>,
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
    /// Embedded entity, kept raw.
    #[serde(default, rename = "_embedded", skip_serializing_if = "Option::is_none")]
    pub embedded: Option<Value>,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Event {
    /// The status the lead moved to (`lead_status_changed`).
    pub fn status_after(&self) -> Option<&LeadStatusValue> {
        self.value_after.iter().find_map(EventValue::as_lead_status)
    }

    /// The status the lead moved from.
    pub fn status_before(&self) -> Option<&LeadStatusValue> {
        self.value_before
            .iter()
            .find_map(EventValue::as_lead_status)
    }

    /// The chat message reference (`incoming/outgoing_chat_message`).
    pub fn message(&self) -> Option<&MessageValue> {
        self.value_after.iter().find_map(|v| match v {
            EventValue::Message(m) => Some(m),
            _ => None,
        })
    }
}

/// One element of `value_after` / `value_before`: typed where this product
/// relies on the shape, raw JSON otherwise. Serializes back unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "Value", into = "Value")]
pub enum EventValue {
    /// `{"lead_status": {"id", "pipeline_id"}}`.
    LeadStatus(LeadStatusValue),
    /// `{"message": {"id", "origin", "talk_id"}}` (no text).
    Message(MessageValue),
    /// Anything else, as sent.
    Other(Value),
}

impl EventValue {
    /// The lead status, for status values.
    pub fn as_lead_status(&self) -> Option<&LeadStatusValue> {
        match self {
            EventValue::LeadStatus(s) => Some(s),
            _ => None,
        }
    }
}

/// A lead's status in an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadStatusValue {
    /// Status id.
    #[serde(deserialize_with = "de::u64_")]
    pub id: u64,
    /// Pipeline id.
    #[serde(deserialize_with = "de::u64_")]
    pub pipeline_id: u64,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl LeadStatusValue {
    /// The (pipeline, status) identity.
    pub fn key(&self) -> super::pipeline::StatusKey {
        super::pipeline::StatusKey {
            pipeline_id: self.pipeline_id,
            status_id: self.id,
        }
    }
}

/// A chat message reference in an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageValue {
    /// Message UUID.
    #[serde(deserialize_with = "de::string_or_empty")]
    pub id: String,
    /// Channel.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub origin: Option<String>,
    /// The talk it belongs to.
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub talk_id: Option<u64>,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl From<Value> for EventValue {
    fn from(value: Value) -> Self {
        let typed = |key: &str| {
            value
                .as_object()
                .filter(|o| o.len() == 1)
                .and_then(|o| o.get(key))
                .cloned()
        };
        if let Some(inner) = typed("lead_status")
            && let Ok(status) = serde_json::from_value(inner)
        {
            return EventValue::LeadStatus(status);
        }
        if let Some(inner) = typed("message")
            && let Ok(message) = serde_json::from_value(inner)
        {
            return EventValue::Message(message);
        }
        EventValue::Other(value)
    }
}

impl From<EventValue> for Value {
    fn from(value: EventValue) -> Self {
        let wrap = |key: &str, inner: Result<Value, serde_json::Error>| {
            let mut map = Map::new();
            map.insert(key.to_owned(), inner.unwrap_or(Value::Null));
            Value::Object(map)
        };
        match value {
            EventValue::LeadStatus(s) => wrap("lead_status", serde_json::to_value(s)),
            EventValue::Message(m) => wrap("message", serde_json::to_value(m)),
            EventValue::Other(v) => v,
        }
    }
}
