//! `talk[add|update][i]`: a chat conversation opened or changed.

use serde::{Deserialize, Serialize};

use crate::read::{FieldError, Reader};
use crate::tree::NodeMap;
use crate::write::Writer;

/// What happened to a talk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TalkAction {
    /// `talk[add]`.
    Add,
    /// `talk[update]`.
    Update,
}

impl TalkAction {
    /// The action key on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Update => "update",
        }
    }
}

/// A talk as a webhook sends it. Only `talk_id` is required.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TalkEvent {
    /// Talk id.
    pub talk_id: u64,
    /// Chat id (a UUID).
    pub chat_id: Option<String>,
    /// Contact id.
    pub contact_id: Option<u64>,
    /// Linked entity id.
    pub entity_id: Option<u64>,
    /// Linked entity type, e.g. `lead`.
    pub entity_type: Option<String>,
    /// Channel, e.g. `telegram`.
    pub origin: Option<String>,
    /// Read by a user (`1`/`0`, `true`/`false`).
    pub is_read: Option<bool>,
    /// Taken into work.
    pub is_in_work: Option<bool>,
    /// Rating.
    pub rate: Option<i64>,
    /// Unix time of creation.
    pub created_at: Option<i64>,
    /// Unix time of the last change.
    pub updated_at: Option<i64>,
    /// Keys not listed above, as received.
    #[serde(default, skip_serializing_if = "NodeMap::is_empty")]
    pub extra: NodeMap,
}

impl TalkEvent {
    pub(crate) fn read(mut r: Reader) -> Result<Self, FieldError> {
        Ok(Self {
            talk_id: r.required_u64("talk_id")?,
            chat_id: r.string("chat_id")?,
            contact_id: r.u64("contact_id")?,
            entity_id: r.u64("entity_id")?,
            entity_type: r.string("entity_type")?,
            origin: r.string("origin")?,
            is_read: r.bool("is_read")?,
            is_in_work: r.bool("is_in_work")?,
            rate: r.i64("rate")?,
            created_at: r.i64("created_at")?,
            updated_at: r.i64("updated_at")?,
            extra: r.finish(),
        })
    }

    pub(crate) fn write(&self) -> NodeMap {
        let mut w = Writer::new();
        w.u64("talk_id", Some(self.talk_id));
        w.string("chat_id", &self.chat_id);
        w.u64("contact_id", self.contact_id);
        w.u64("entity_id", self.entity_id);
        w.string("entity_type", &self.entity_type);
        w.string("origin", &self.origin);
        w.bool("is_read", self.is_read);
        w.bool("is_in_work", self.is_in_work);
        w.i64("rate", self.rate);
        w.i64("created_at", self.created_at);
        w.i64("updated_at", self.updated_at);
        w.finish(&self.extra)
    }
}
