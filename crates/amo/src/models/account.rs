//! The account (`GET /api/v4/account`) and its users (`GET /api/v4/users`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::Extra;
use super::de;

/// The connected account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    /// Account id (compare with webhooks' `account[id]`).
    #[serde(deserialize_with = "de::u64_")]
    pub id: u64,
    /// Display name.
    #[serde(default, deserialize_with = "de::string_or_empty")]
    pub name: String,
    /// Subdomain (compare with webhooks' `account[subdomain]`).
    #[serde(default, deserialize_with = "de::string_or_empty")]
    pub subdomain: String,
    /// ISO currency code, e.g. `RUB`.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub currency: Option<String>,
    /// Currency symbol, e.g. `₽`.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub currency_symbol: Option<String>,
    /// Country code.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub country: Option<String>,
    /// Unix seconds.
    #[serde(default, deserialize_with = "de::i64_or_zero")]
    pub created_at: i64,
    /// Creator user id.
    #[serde(
        default,
        deserialize_with = "de::opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_by: Option<u64>,
    /// The user the token belongs to.
    #[serde(
        default,
        deserialize_with = "de::opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub current_user_id: Option<u64>,
    /// Chat service id (`with=amojo_id`).
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub amojo_id: Option<String>,
    /// HAL links, kept raw.
    #[serde(default, rename = "_links", skip_serializing_if = "Option::is_none")]
    pub links: Option<Value>,
    /// User groups and other `with=` extras.
    #[serde(default, rename = "_embedded", skip_serializing_if = "Option::is_none")]
    pub embedded: Option<AccountEmbedded>,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `_embedded` of the account.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountEmbedded {
    /// User groups (`with=users_groups`).
    #[serde(default, deserialize_with = "de::null_default")]
    pub users_groups: Vec<UserGroup>,
    /// Fields this client does not model (`datetime_settings`, `task_types`…).
    #[serde(flatten)]
    pub extra: Extra,
}

impl Account {
    /// The account's IANA time zone (`datetime_settings.timezone`, e.g.
    /// `Asia/Tbilisi`) when the answer carries it: amoCRM sends it for
    /// `with=datetime_settings`, at the top level (or, seen in some
    /// answers, in `_embedded`).
    pub fn timezone(&self) -> Option<String> {
        let from = |extra: &Extra| {
            extra
                .get("datetime_settings")?
                .get("timezone")?
                .as_str()
                .map(str::trim)
                .filter(|tz| !tz.is_empty())
                .map(str::to_owned)
        };
        from(&self.extra).or_else(|| self.embedded.as_ref().and_then(|e| from(&e.extra)))
    }

    /// User groups (empty unless requested).
    pub fn users_groups(&self) -> &[UserGroup] {
        self.embedded
            .as_ref()
            .map_or(&[], |e| e.users_groups.as_slice())
    }
}

/// A user group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserGroup {
    /// Group id (0 is the default group).
    #[serde(deserialize_with = "de::u64_or_zero")]
    pub id: u64,
    /// Name.
    #[serde(default, deserialize_with = "de::string_or_empty")]
    pub name: String,
    /// Fields this client does not model (`uuid`, …).
    #[serde(flatten)]
    pub extra: Extra,
}

/// A user of the account (admin-only endpoint).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// User id.
    #[serde(deserialize_with = "de::u64_")]
    pub id: u64,
    /// Name.
    #[serde(default, deserialize_with = "de::string_or_empty")]
    pub name: String,
    /// E-mail (login).
    #[serde(default, deserialize_with = "de::opt_string")]
    pub email: Option<String>,
    /// Interface language.
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub lang: Option<String>,
    /// Rights, kept raw but with the commonly used flags typed.
    #[serde(default)]
    pub rights: UserRights,
    /// HAL links, kept raw.
    #[serde(default, rename = "_links", skip_serializing_if = "Option::is_none")]
    pub links: Option<Value>,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `rights` of a user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserRights {
    /// Account administrator.
    #[serde(default, deserialize_with = "de::bool_or_false")]
    pub is_admin: bool,
    /// Not deactivated.
    #[serde(
        default,
        deserialize_with = "de::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_active: Option<bool>,
    /// Group id.
    #[serde(
        default,
        deserialize_with = "de::opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub group_id: Option<u64>,
    /// Fields this client does not model (per-entity rights, …).
    #[serde(flatten)]
    pub extra: Extra,
}
