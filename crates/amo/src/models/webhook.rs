//! Webhook subscriptions: `GET/POST/DELETE /api/v4/webhooks`.

use serde::{Deserialize, Serialize};

use super::common::Extra;
use super::de;

/// One registered webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    /// Webhook id.
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub id: Option<u64>,
    /// The URL amoCRM posts to.
    #[serde(deserialize_with = "de::string_or_empty")]
    pub destination: String,
    /// Unix seconds.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub created_at: Option<i64>,
    /// Unix seconds.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub updated_at: Option<i64>,
    /// Account id.
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub account_id: Option<u64>,
    /// Who registered it.
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub created_by: Option<u64>,
    /// Delivery order.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub sort: Option<i64>,
    /// True once amoCRM disabled it after failed deliveries; an admin must
    /// re-enable it (or it must be registered again).
    #[serde(default, deserialize_with = "de::bool_or_false")]
    pub disabled: bool,
    /// Subscribed event codes (`add_lead`, `status_lead`, …) as accepted.
    #[serde(default, deserialize_with = "de::null_default")]
    pub settings: Vec<String>,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}
