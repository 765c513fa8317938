//! `leads[note][i][note][…]` (also `contacts[note]`, `companies[note]`): the
//! doubled `note` level.

use serde::{Deserialize, Serialize};

use super::common::{CrmDate, read_date, write_date};
use crate::read::{FieldError, Reader};
use crate::tree::{Node, NodeMap};
use crate::write::Writer;

/// Which kind of entity a note was added to (the top-level key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteParent {
    /// `leads[note]`.
    Lead,
    /// `contacts[note]`.
    Contact,
    /// `companies[note]`.
    Company,
}

impl NoteParent {
    /// The top-level key on the wire, e.g. `"leads"`.
    pub fn entity_key(self) -> &'static str {
        match self {
            Self::Lead => "leads",
            Self::Contact => "contacts",
            Self::Company => "companies",
        }
    }
}

/// A note as a webhook sends it. Only `id` is required.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteEvent {
    /// Note id.
    pub id: u64,
    /// Type of the entity the note belongs to (2 = lead, 1 = contact, 3 = company).
    pub element_type: Option<u64>,
    /// Id of the entity the note belongs to.
    pub element_id: Option<u64>,
    /// Note type (4 = plain text).
    pub note_type: Option<u64>,
    /// Text (for service notes often a JSON string), as sent.
    pub text: Option<String>,
    /// Creation time, `"Y-m-d H:i:s"` as sent plus parsed.
    pub date_create: Option<CrmDate>,
    /// Last change time, `"Y-m-d H:i:s"` as sent plus parsed.
    pub timestamp_x: Option<CrmDate>,
    /// Author's user id.
    pub created_by: Option<u64>,
    /// Last modifier's user id.
    pub modified_by: Option<u64>,
    /// Responsible user id.
    pub main_user_id: Option<u64>,
    /// User group id.
    pub group_id: Option<u64>,
    /// Account id.
    pub account_id: Option<u64>,
    /// Unix time of creation (newer payloads).
    pub created_at: Option<i64>,
    /// Unix time of the last change (newer payloads).
    pub updated_at: Option<i64>,
    /// `metadata`, a JSON string, as sent: see [`NoteEvent::metadata_json`].
    pub metadata: Option<String>,
    /// Keys of the inner `note` level not listed above, as received.
    #[serde(default, skip_serializing_if = "NodeMap::is_empty")]
    pub extra: NodeMap,
    /// Keys of the outer level (beside `note`), as received.
    #[serde(default, skip_serializing_if = "NodeMap::is_empty")]
    pub outer_extra: NodeMap,
}

impl NoteEvent {
    /// Reads `[i][note][…]`; an item without the inner `note` level is read
    /// as the note itself.
    pub(crate) fn read(mut outer: Reader) -> Result<Self, FieldError> {
        match outer.take("note") {
            Some(Node::Map(inner)) => {
                Self::read_inner(Reader::new(inner, "note".into()), outer.finish())
            }
            Some(node) => {
                outer.put_back("note", node);
                Self::read_inner(outer, NodeMap::new())
            }
            None => Self::read_inner(outer, NodeMap::new()),
        }
    }

    fn read_inner(mut r: Reader, outer_extra: NodeMap) -> Result<Self, FieldError> {
        Ok(Self {
            id: r.required_u64("id")?,
            element_type: r.u64("element_type")?,
            element_id: r.u64("element_id")?,
            note_type: r.u64("note_type")?,
            text: r.string("text")?,
            date_create: read_date(&mut r, "date_create")?,
            timestamp_x: read_date(&mut r, "timestamp_x")?,
            created_by: r.u64("created_by")?,
            modified_by: r.u64("modified_by")?,
            main_user_id: r.u64("main_user_id")?,
            group_id: r.u64("group_id")?,
            account_id: r.u64("account_id")?,
            created_at: r.i64("created_at")?,
            updated_at: r.i64("updated_at")?,
            metadata: r.string("metadata")?,
            extra: r.finish(),
            outer_extra,
        })
    }

    pub(crate) fn write(&self) -> NodeMap {
        let mut w = Writer::new();
        w.u64("id", Some(self.id));
        w.u64("element_type", self.element_type);
        w.u64("element_id", self.element_id);
        w.u64("note_type", self.note_type);
        w.string("text", &self.text);
        write_date(&mut w, "date_create", &self.date_create);
        write_date(&mut w, "timestamp_x", &self.timestamp_x);
        w.u64("created_by", self.created_by);
        w.u64("modified_by", self.modified_by);
        w.u64("main_user_id", self.main_user_id);
        w.u64("group_id", self.group_id);
        w.u64("account_id", self.account_id);
        w.i64("created_at", self.created_at);
        w.i64("updated_at", self.updated_at);
        w.string("metadata", &self.metadata);
        let inner = w.finish(&self.extra);
        let mut outer = Writer::new();
        outer.object("note", inner);
        outer.finish(&self.outer_extra)
    }

    /// `metadata` parsed as JSON, when present and valid.
    pub fn metadata_json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(self.metadata.as_deref()?).ok()
    }
}
