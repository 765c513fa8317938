//! Notes of leads, contacts and companies:
//! `GET /api/v4/{leads|contacts|companies}/notes`.

use serde::de::Deserializer;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::Extra;
use super::de;

/// A note as API v4 returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    /// Note id.
    #[serde(deserialize_with = "de::u64_")]
    pub id: u64,
    /// The lead, contact or company the note hangs on.
    #[serde(default, deserialize_with = "de::u64_or_zero")]
    pub entity_id: u64,
    /// Creator user id.
    #[serde(default, deserialize_with = "de::u64_or_zero")]
    pub created_by: u64,
    /// Last editor user id.
    #[serde(default, deserialize_with = "de::u64_or_zero")]
    pub updated_by: u64,
    /// Unix seconds.
    #[serde(default, deserialize_with = "de::i64_or_zero")]
    pub created_at: i64,
    /// Unix seconds.
    #[serde(default, deserialize_with = "de::i64_or_zero")]
    pub updated_at: i64,
    /// Responsible user.
    #[serde(default, deserialize_with = "de::u64_or_zero")]
    pub responsible_user_id: u64,
    /// The responsible user's group.
    #[serde(default, deserialize_with = "de::u64_or_zero")]
    pub group_id: u64,
    /// `common`, `call_in`, `call_out`, `service_message`, `sms_in`, …
    #[serde(default, deserialize_with = "de::string_or_empty")]
    pub note_type: String,
    /// The note's content; its shape depends on `note_type`.
    #[serde(default, deserialize_with = "params")]
    pub params: NoteParams,
    /// Account id.
    #[serde(default, deserialize_with = "de::u64_or_zero")]
    pub account_id: u64,
    /// HAL links, kept raw.
    #[serde(default, rename = "_links", skip_serializing_if = "Option::is_none")]
    pub links: Option<Value>,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Note {
    /// The note's text (`params.text`), where its type has one.
    pub fn text(&self) -> Option<&str> {
        self.params.text.as_deref()
    }
}

/// `params` of a note: `text` typed, everything else (call `phone`,
/// `duration`, `link`, `service`, geolocation, …) kept raw in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NoteParams {
    /// The text of `common`, `service_message`, `sms_*`, `geolocation`, … notes.
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub text: Option<String>,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `params` as an object; null and PHP's empty array `[]` are empty params.
fn params<'de, D: Deserializer<'de>>(d: D) -> Result<NoteParams, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(NoteParams::default()),
        Value::Array(items) if items.is_empty() => Ok(NoteParams::default()),
        object @ Value::Object(_) => {
            serde_json::from_value(object).map_err(serde::de::Error::custom)
        }
        other => Err(serde::de::Error::custom(format!(
            "note params must be an object, got {}",
            match other {
                Value::Array(_) => "a non-empty array",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                _ => "a boolean",
            }
        ))),
    }
}
