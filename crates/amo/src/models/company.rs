//! Companies: `GET /api/v4/companies`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::{CustomFieldValues, EntityRef, Extra, Tag};
use super::de;

/// A company as API v4 returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Company {
    /// Company id.
    #[serde(deserialize_with = "de::u64_")]
    pub id: u64,
    /// Name.
    #[serde(default, deserialize_with = "de::string_or_empty")]
    pub name: String,
    /// Responsible user.
    #[serde(default, deserialize_with = "de::u64_or_zero")]
    pub responsible_user_id: u64,
    /// The responsible user's group.
    #[serde(default, deserialize_with = "de::u64_or_zero")]
    pub group_id: u64,
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
    /// Unix seconds of the nearest open task.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub closest_task_at: Option<i64>,
    /// True for deleted companies, where amoCRM reports them.
    #[serde(
        default,
        deserialize_with = "de::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_deleted: Option<bool>,
    /// Custom field values; null when none.
    #[serde(default)]
    pub custom_fields_values: Option<Vec<CustomFieldValues>>,
    /// Account id.
    #[serde(default, deserialize_with = "de::u64_or_zero")]
    pub account_id: u64,
    /// HAL links, kept raw.
    #[serde(default, rename = "_links", skip_serializing_if = "Option::is_none")]
    pub links: Option<Value>,
    /// Tags, contacts, leads.
    #[serde(default, rename = "_embedded", skip_serializing_if = "Option::is_none")]
    pub embedded: Option<CompanyEmbedded>,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `_embedded` of a company.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CompanyEmbedded {
    /// Tags.
    #[serde(default, deserialize_with = "de::null_default")]
    pub tags: Vec<Tag>,
    /// Linked contacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contacts: Option<Vec<EntityRef>>,
    /// Linked leads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leads: Option<Vec<EntityRef>>,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}
