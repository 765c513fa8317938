//! `leads[add|update|status|responsible|restore|delete][i]`.

use serde::{Deserialize, Serialize};

use super::common::{CustomField, Tag};
use crate::read::{FieldError, Reader};
use crate::tree::NodeMap;
use crate::write::Writer;

/// What happened to a lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadAction {
    /// `leads[add]`.
    Add,
    /// `leads[update]`.
    Update,
    /// `leads[status]`: moved to another status or pipeline.
    Status,
    /// `leads[responsible]`: responsible user changed.
    Responsible,
    /// `leads[restore]`.
    Restore,
    /// `leads[delete]`: carries only id, status_id, pipeline_id.
    Delete,
}

impl LeadAction {
    pub(crate) const ALL: [Self; 6] = [
        Self::Add,
        Self::Update,
        Self::Status,
        Self::Responsible,
        Self::Restore,
        Self::Delete,
    ];

    /// The action key on the wire, e.g. `"status"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Update => "update",
            Self::Status => "status",
            Self::Responsible => "responsible",
            Self::Restore => "restore",
            Self::Delete => "delete",
        }
    }
}

/// A lead as a webhook sends it. Only `id` is required.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadEvent {
    /// Lead id.
    pub id: u64,
    /// Name; may be empty (`Some("")`).
    pub name: Option<String>,
    /// Status id (keyed with `pipeline_id`: 142/143 exist in every pipeline).
    pub status_id: Option<u64>,
    /// Previous status id, on a status change.
    pub old_status_id: Option<u64>,
    /// Pipeline id.
    pub pipeline_id: Option<u64>,
    /// Previous pipeline id, sometimes sent on a status change.
    pub old_pipeline_id: Option<u64>,
    /// Budget; `None` when absent or empty.
    pub price: Option<i64>,
    /// Responsible user id.
    pub responsible_user_id: Option<u64>,
    /// Previous responsible user id.
    pub old_responsible_user_id: Option<u64>,
    /// Creator's user id.
    pub created_user_id: Option<u64>,
    /// Last modifier's user id.
    pub modified_user_id: Option<u64>,
    /// Unix time of the last change (older payloads).
    pub last_modified: Option<i64>,
    /// Unix time of creation (older payloads).
    pub date_create: Option<i64>,
    /// Unix time of creation (newer payloads).
    pub created_at: Option<i64>,
    /// Unix time of the last change (newer payloads).
    pub updated_at: Option<i64>,
    /// Account id.
    pub account_id: Option<u64>,
    /// Tags in order.
    pub tags: Vec<Tag>,
    /// Custom fields in order.
    pub custom_fields: Vec<CustomField>,
    /// Keys not listed above, as received.
    #[serde(default, skip_serializing_if = "NodeMap::is_empty")]
    pub extra: NodeMap,
}

impl LeadEvent {
    pub(crate) fn read(mut r: Reader) -> Result<Self, FieldError> {
        Ok(Self {
            id: r.required_u64("id")?,
            name: r.string("name")?,
            status_id: r.u64("status_id")?,
            old_status_id: r.u64("old_status_id")?,
            pipeline_id: r.u64("pipeline_id")?,
            old_pipeline_id: r.u64("old_pipeline_id")?,
            price: r.i64("price")?,
            responsible_user_id: r.u64("responsible_user_id")?,
            old_responsible_user_id: r.u64("old_responsible_user_id")?,
            created_user_id: r.u64("created_user_id")?,
            modified_user_id: r.u64("modified_user_id")?,
            last_modified: r.i64("last_modified")?,
            date_create: r.i64("date_create")?,
            created_at: r.i64("created_at")?,
            updated_at: r.i64("updated_at")?,
            account_id: r.u64("account_id")?,
            tags: r.list("tags", Tag::read_item)?,
            custom_fields: r.list("custom_fields", CustomField::read_item)?,
            extra: r.finish(),
        })
    }

    pub(crate) fn write(&self) -> NodeMap {
        let mut w = Writer::new();
        w.u64("id", Some(self.id));
        w.string("name", &self.name);
        w.u64("status_id", self.status_id);
        w.u64("old_status_id", self.old_status_id);
        w.u64("pipeline_id", self.pipeline_id);
        w.u64("old_pipeline_id", self.old_pipeline_id);
        w.i64("price", self.price);
        w.u64("responsible_user_id", self.responsible_user_id);
        w.u64("old_responsible_user_id", self.old_responsible_user_id);
        w.u64("created_user_id", self.created_user_id);
        w.u64("modified_user_id", self.modified_user_id);
        w.i64("last_modified", self.last_modified);
        w.i64("date_create", self.date_create);
        w.i64("created_at", self.created_at);
        w.i64("updated_at", self.updated_at);
        w.u64("account_id", self.account_id);
        w.list("tags", &self.tags, Tag::write);
        w.list("custom_fields", &self.custom_fields, CustomField::write);
        w.finish(&self.extra)
    }
}
