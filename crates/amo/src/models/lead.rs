//! Leads (deals): `GET /api/v4/leads`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::{CustomFieldValues, EntityRef, Extra, LinkedContact, Tag};
use super::de;
use super::pipeline::StatusKey;

/// A lead as API v4 returns it. Serializes back under the same field names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lead {
    /// Lead id.
    #[serde(deserialize_with = "de::u64_")]
    pub id: u64,
    /// Name; may be empty.
    #[serde(default, deserialize_with = "de::string_or_empty")]
    pub name: String,
    /// Budget; 0 when not set.
    #[serde(default, deserialize_with = "de::i64_or_zero")]
    pub price: i64,
    /// Responsible user.
    #[serde(default, deserialize_with = "de::u64_or_zero")]
    pub responsible_user_id: u64,
    /// The responsible user's group.
    #[serde(default, deserialize_with = "de::u64_or_zero")]
    pub group_id: u64,
    /// Status id; only unique together with `pipeline_id` (see [`Lead::status_key`]).
    #[serde(default, deserialize_with = "de::u64_or_zero")]
    pub status_id: u64,
    /// Pipeline id.
    #[serde(default, deserialize_with = "de::u64_or_zero")]
    pub pipeline_id: u64,
    /// Why the lead was lost (status 143), if set.
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub loss_reason_id: Option<u64>,
    /// Source id (`with=source_id`).
    #[serde(
        default,
        deserialize_with = "de::opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub source_id: Option<u64>,
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
    /// Unix seconds, when the lead reached 142/143.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub closed_at: Option<i64>,
    /// Unix seconds of the nearest open task.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub closest_task_at: Option<i64>,
    /// True for leads returned by `with=only_deleted`.
    #[serde(default, deserialize_with = "de::bool_or_false")]
    pub is_deleted: bool,
    /// Custom field values; null when none are set.
    #[serde(default)]
    pub custom_fields_values: Option<Vec<CustomFieldValues>>,
    /// Lead score.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub score: Option<i64>,
    /// Account id.
    #[serde(default, deserialize_with = "de::u64_or_zero")]
    pub account_id: u64,
    /// Labor cost.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub labor_cost: Option<i64>,
    /// HAL links, kept raw.
    #[serde(default, rename = "_links", skip_serializing_if = "Option::is_none")]
    pub links: Option<Value>,
    /// Tags, contacts, companies, loss reason.
    #[serde(default, rename = "_embedded", skip_serializing_if = "Option::is_none")]
    pub embedded: Option<LeadEmbedded>,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `_embedded` of a lead.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LeadEmbedded {
    /// Tags.
    #[serde(default, deserialize_with = "de::null_default")]
    pub tags: Vec<Tag>,
    /// Linked contacts (only with `with=contacts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contacts: Option<Vec<LinkedContact>>,
    /// Linked companies.
    #[serde(default, deserialize_with = "de::null_default")]
    pub companies: Vec<EntityRef>,
    /// The loss reason object (`with=loss_reason`), kept raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_reason: Option<Value>,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Lead {
    /// The lead's status, keyed by pipeline (142/143 exist in every pipeline).
    pub fn status_key(&self) -> StatusKey {
        StatusKey {
            pipeline_id: self.pipeline_id,
            status_id: self.status_id,
        }
    }

    /// Tags (empty when none were embedded).
    pub fn tags(&self) -> &[Tag] {
        self.embedded.as_ref().map_or(&[], |e| e.tags.as_slice())
    }

    /// Linked contact ids, main contact first (empty without `with=contacts`).
    pub fn contact_ids(&self) -> Vec<u64> {
        let mut contacts: Vec<&LinkedContact> = self
            .embedded
            .as_ref()
            .and_then(|e| e.contacts.as_ref())
            .map(|c| c.iter().collect())
            .unwrap_or_default();
        contacts.sort_by_key(|c| !c.is_main);
        contacts.into_iter().map(|c| c.id).collect()
    }

    /// The main contact's id, if contacts were embedded and one is main.
    pub fn main_contact_id(&self) -> Option<u64> {
        self.embedded
            .as_ref()?
            .contacts
            .as_ref()?
            .iter()
            .find(|c| c.is_main)
            .map(|c| c.id)
    }

    /// Linked company ids.
    pub fn company_ids(&self) -> Vec<u64> {
        self.embedded
            .as_ref()
            .map(|e| e.companies.iter().map(|c| c.id).collect())
            .unwrap_or_default()
    }
}
