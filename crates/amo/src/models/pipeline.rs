//! Pipelines and their statuses: `GET /api/v4/leads/pipelines`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::Extra;
use super::de;

/// Status id of "won" in every pipeline.
pub const STATUS_WON: u64 = 142;
/// Status id of "lost" in every pipeline.
pub const STATUS_LOST: u64 = 143;

/// A status identity: status ids repeat across pipelines (142/143 always do),
/// so a status is only unique together with its pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StatusKey {
    /// The pipeline.
    pub pipeline_id: u64,
    /// The status within it.
    pub status_id: u64,
}

impl StatusKey {
    /// The "won" status (142) of a pipeline.
    pub fn won(pipeline_id: u64) -> Self {
        StatusKey {
            pipeline_id,
            status_id: STATUS_WON,
        }
    }

    /// The "lost" status (143) of a pipeline.
    pub fn lost(pipeline_id: u64) -> Self {
        StatusKey {
            pipeline_id,
            status_id: STATUS_LOST,
        }
    }

    /// 142 or 143.
    pub fn is_closed(&self) -> bool {
        matches!(self.status_id, STATUS_WON | STATUS_LOST)
    }
}

/// A pipeline with its statuses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    /// Pipeline id.
    #[serde(deserialize_with = "de::u64_")]
    pub id: u64,
    /// Name.
    #[serde(default, deserialize_with = "de::string_or_empty")]
    pub name: String,
    /// Display order.
    #[serde(default, deserialize_with = "de::i64_or_zero")]
    pub sort: i64,
    /// The account's main pipeline.
    #[serde(default, deserialize_with = "de::bool_or_false")]
    pub is_main: bool,
    /// Whether the "unsorted" stage is on.
    #[serde(default, deserialize_with = "de::bool_or_false")]
    pub is_unsorted_on: bool,
    /// Archived pipelines still hold leads.
    #[serde(default, deserialize_with = "de::bool_or_false")]
    pub is_archive: bool,
    /// Account id.
    #[serde(default, deserialize_with = "de::u64_or_zero")]
    pub account_id: u64,
    /// HAL links, kept raw.
    #[serde(default, rename = "_links", skip_serializing_if = "Option::is_none")]
    pub links: Option<Value>,
    /// Statuses.
    #[serde(default, rename = "_embedded")]
    pub embedded: PipelineEmbedded,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `_embedded` of a pipeline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PipelineEmbedded {
    /// The pipeline's statuses.
    #[serde(default, deserialize_with = "de::null_default")]
    pub statuses: Vec<Status>,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Pipeline {
    /// The statuses, in amoCRM's order.
    pub fn statuses(&self) -> &[Status] {
        &self.embedded.statuses
    }

    /// A status of this pipeline by id.
    pub fn status(&self, status_id: u64) -> Option<&Status> {
        self.embedded.statuses.iter().find(|s| s.id == status_id)
    }
}

/// A status of one pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// Status id (142 won, 143 lost in every pipeline).
    #[serde(deserialize_with = "de::u64_")]
    pub id: u64,
    /// Name.
    #[serde(default, deserialize_with = "de::string_or_empty")]
    pub name: String,
    /// Display order.
    #[serde(default, deserialize_with = "de::i64_or_zero")]
    pub sort: i64,
    /// False for system statuses.
    #[serde(default, deserialize_with = "de::bool_or_false")]
    pub is_editable: bool,
    /// The pipeline this status belongs to.
    #[serde(default, deserialize_with = "de::u64_or_zero")]
    pub pipeline_id: u64,
    /// `#rrggbb`.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub color: Option<String>,
    /// 1 = incoming/unsorted, 0 = ordinary.
    #[serde(default, rename = "type", deserialize_with = "de::i64_or_zero")]
    pub status_type: i64,
    /// Account id.
    #[serde(default, deserialize_with = "de::u64_or_zero")]
    pub account_id: u64,
    /// HAL links, kept raw.
    #[serde(default, rename = "_links", skip_serializing_if = "Option::is_none")]
    pub links: Option<Value>,
    /// Fields this client does not model (`descriptions`, …).
    #[serde(flatten)]
    pub extra: Extra,
}

impl Status {
    /// The (pipeline, status) identity.
    pub fn key(&self) -> StatusKey {
        StatusKey {
            pipeline_id: self.pipeline_id,
            status_id: self.id,
        }
    }

    /// 142.
    pub fn is_won(&self) -> bool {
        self.id == STATUS_WON
    }

    /// 143.
    pub fn is_lost(&self) -> bool {
        self.id == STATUS_LOST
    }

    /// `type` 1: the incoming ("unsorted") stage.
    pub fn is_incoming(&self) -> bool {
        self.status_type == 1
    }
}
