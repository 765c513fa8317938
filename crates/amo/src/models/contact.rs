//! Contacts: `GET /api/v4/contacts`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::{CustomFieldValues, EntityRef, Extra, Tag, values_by_code};
use super::de;

/// A contact (a person) as API v4 returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// Contact id.
    #[serde(deserialize_with = "de::u64_")]
    pub id: u64,
    /// Full name.
    #[serde(default, deserialize_with = "de::string_or_empty")]
    pub name: String,
    /// First name.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub last_name: Option<String>,
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
    /// Still waiting in "unsorted".
    #[serde(default, deserialize_with = "de::bool_or_false")]
    pub is_unsorted: bool,
    /// True for deleted contacts, where amoCRM reports them.
    #[serde(
        default,
        deserialize_with = "de::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_deleted: Option<bool>,
    /// Custom field values (PHONE / EMAIL are multitext); null when none.
    #[serde(default)]
    pub custom_fields_values: Option<Vec<CustomFieldValues>>,
    /// Account id.
    #[serde(default, deserialize_with = "de::u64_or_zero")]
    pub account_id: u64,
    /// HAL links, kept raw.
    #[serde(default, rename = "_links", skip_serializing_if = "Option::is_none")]
    pub links: Option<Value>,
    /// Tags, companies, leads.
    #[serde(default, rename = "_embedded", skip_serializing_if = "Option::is_none")]
    pub embedded: Option<ContactEmbedded>,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `_embedded` of a contact.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContactEmbedded {
    /// Tags.
    #[serde(default, deserialize_with = "de::null_default")]
    pub tags: Vec<Tag>,
    /// Linked companies.
    #[serde(default, deserialize_with = "de::null_default")]
    pub companies: Vec<EntityRef>,
    /// Linked leads (`with=leads`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leads: Option<Vec<EntityRef>>,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Contact {
    /// Phone numbers with their enum code (`WORK`, `MOB`, …).
    pub fn phones(&self) -> Vec<(Option<&str>, String)> {
        values_by_code(self.custom_fields_values.as_deref(), "PHONE")
    }

    /// E-mail addresses with their enum code.
    pub fn emails(&self) -> Vec<(Option<&str>, String)> {
        values_by_code(self.custom_fields_values.as_deref(), "EMAIL")
    }

    /// Linked lead ids (empty without `with=leads`).
    pub fn lead_ids(&self) -> Vec<u64> {
        self.embedded
            .as_ref()
            .and_then(|e| e.leads.as_ref())
            .map(|l| l.iter().map(|r| r.id).collect())
            .unwrap_or_default()
    }
}
