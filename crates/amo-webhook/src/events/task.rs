//! `task[add|update|delete|responsible][i]`.

use serde::{Deserialize, Serialize};

use crate::read::{FieldError, Reader};
use crate::tree::NodeMap;
use crate::write::Writer;

/// What happened to a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskAction {
    /// `task[add]`.
    Add,
    /// `task[update]`.
    Update,
    /// `task[delete]`.
    Delete,
    /// `task[responsible]`.
    Responsible,
}

impl TaskAction {
    pub(crate) const ALL: [Self; 4] = [Self::Add, Self::Update, Self::Delete, Self::Responsible];

    /// The action key on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Responsible => "responsible",
        }
    }
}

/// A task as a webhook sends it. Only `id` is required.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskEvent {
    /// Task id.
    pub id: u64,
    /// Id of the entity the task is attached to.
    pub element_id: Option<u64>,
    /// Type of that entity (1 contact, 2 lead, 3 company).
    pub element_type: Option<u64>,
    /// Task type id (1 call, 2 meeting, …).
    pub task_type: Option<u64>,
    /// Task text.
    pub text: Option<String>,
    /// Status (0 open, 1 done).
    pub status: Option<u64>,
    /// Unix deadline.
    pub complete_till: Option<i64>,
    /// Responsible user id.
    pub responsible_user_id: Option<u64>,
    /// Previous responsible user id.
    pub old_responsible_user_id: Option<u64>,
    /// Creator's user id.
    pub created_user_id: Option<u64>,
    /// Last modifier's user id.
    pub modified_user_id: Option<u64>,
    /// Account id.
    pub account_id: Option<u64>,
    /// Unix time of creation.
    pub created_at: Option<i64>,
    /// Unix time of the last change.
    pub updated_at: Option<i64>,
    /// Keys not listed above, as received.
    #[serde(default, skip_serializing_if = "NodeMap::is_empty")]
    pub extra: NodeMap,
}

impl TaskEvent {
    pub(crate) fn read(mut r: Reader) -> Result<Self, FieldError> {
        Ok(Self {
            id: r.required_u64("id")?,
            element_id: r.u64("element_id")?,
            element_type: r.u64("element_type")?,
            task_type: r.u64("task_type")?,
            text: r.string("text")?,
            status: r.u64("status")?,
            complete_till: r.i64("complete_till")?,
            responsible_user_id: r.u64("responsible_user_id")?,
            old_responsible_user_id: r.u64("old_responsible_user_id")?,
            created_user_id: r.u64("created_user_id")?,
            modified_user_id: r.u64("modified_user_id")?,
            account_id: r.u64("account_id")?,
            created_at: r.i64("created_at")?,
            updated_at: r.i64("updated_at")?,
            extra: r.finish(),
        })
    }

    pub(crate) fn write(&self) -> NodeMap {
        let mut w = Writer::new();
        w.u64("id", Some(self.id));
        w.u64("element_id", self.element_id);
        w.u64("element_type", self.element_type);
        w.u64("task_type", self.task_type);
        w.string("text", &self.text);
        w.u64("status", self.status);
        w.i64("complete_till", self.complete_till);
        w.u64("responsible_user_id", self.responsible_user_id);
        w.u64("old_responsible_user_id", self.old_responsible_user_id);
        w.u64("created_user_id", self.created_user_id);
        w.u64("modified_user_id", self.modified_user_id);
        w.u64("account_id", self.account_id);
        w.i64("created_at", self.created_at);
        w.i64("updated_at", self.updated_at);
        w.finish(&self.extra)
    }
}
