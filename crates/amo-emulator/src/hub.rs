//! Temporary in-process stand-in for `crate::webhooks` until that module lands.
//! Same signatures; keeps subscriptions and records emitted changes, sends nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::model::{Change, WEBHOOK_SETTINGS};

pub struct AccountRef {
    pub id: u64,
    pub subdomain: String,
    pub base_url: String,
}

pub struct WebhookConfig {
    pub timeout: Duration,
    pub retry_delays: Vec<Duration>,
    pub disable_threshold: usize,
    pub disable_window: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            timeout: Duration::from_secs(2),
            retry_delays: vec![Duration::from_secs(300), Duration::from_secs(900), Duration::from_secs(900), Duration::from_secs(3600)],
            disable_threshold: 100,
            disable_window: Duration::from_secs(7200),
        }
    }
}

#[derive(Default)]
pub struct WebhookFaults {
    pub drop_rate: f64,
    pub duplicate_rate: f64,
    pub reorder: bool,
    pub delay: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeliveryRecord {
    pub destination: String,
    pub settings: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct WebhookSubscription {
    id: u64,
    destination: String,
    settings: Vec<String>,
    sort: i64,
    created_by: u64,
    account_id: u64,
}

impl WebhookSubscription {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id, "destination": self.destination, "created_at": 0, "updated_at": 0,
            "account_id": self.account_id, "created_by": self.created_by, "sort": self.sort,
            "disabled": false, "settings": self.settings,
        })
    }
}

#[derive(Debug)]
pub enum RegisterError {
    InvalidUrl(String),
    UnknownSetting(String),
    TooMany,
    NotFound,
}

impl std::fmt::Display for RegisterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegisterError::InvalidUrl(u) => write!(f, "Invalid URL: {u}"),
            RegisterError::UnknownSetting(s) => write!(f, "Unknown setting: {s}"),
            RegisterError::TooMany => write!(f, "Too many webhooks"),
            RegisterError::NotFound => write!(f, "Webhook not found"),
        }
    }
}

#[derive(Default)]
struct Inner {
    subs: Vec<WebhookSubscription>,
    deliveries: Vec<DeliveryRecord>,
    next_id: u64,
}

#[derive(Clone)]
pub struct WebhookHub {
    account_id: u64,
    inner: Arc<Mutex<Inner>>,
}

impl WebhookHub {
    pub fn new(account: AccountRef, _config: WebhookConfig) -> Self {
        WebhookHub { account_id: account.id, inner: Arc::default() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn emit(&self, changes: Vec<Change>) {
        let mut inner = self.lock();
        let subs = inner.subs.clone();
        for sub in subs {
            let settings: Vec<String> =
                changes.iter().map(|c| c.setting_code().to_string()).filter(|c| sub.settings.contains(c)).collect();
            if !settings.is_empty() {
                inner.deliveries.push(DeliveryRecord { destination: sub.destination.clone(), settings });
            }
        }
    }

    pub fn list(&self, destination: Option<&str>) -> Vec<WebhookSubscription> {
        self.lock().subs.iter().filter(|s| destination.is_none_or(|d| s.destination == d)).cloned().collect()
    }

    pub fn register(&self, destination: &str, settings: &[String], sort: i64, created_by: u64) -> Result<WebhookSubscription, RegisterError> {
        if url::Url::parse(destination).is_err() {
            return Err(RegisterError::InvalidUrl(destination.to_string()));
        }
        if let Some(bad) = settings.iter().find(|s| !WEBHOOK_SETTINGS.contains(&s.as_str())) {
            return Err(RegisterError::UnknownSetting(bad.clone()));
        }
        let account_id = self.account_id;
        let mut inner = self.lock();
        inner.subs.retain(|s| s.destination != destination);
        if inner.subs.len() >= 100 {
            return Err(RegisterError::TooMany);
        }
        inner.next_id += 1;
        let sub = WebhookSubscription { id: inner.next_id, destination: destination.to_string(), settings: settings.to_vec(), sort, created_by, account_id };
        inner.subs.push(sub.clone());
        Ok(sub)
    }

    pub fn unregister(&self, destination: &str) -> Result<(), RegisterError> {
        let mut inner = self.lock();
        let before = inner.subs.len();
        inner.subs.retain(|s| s.destination != destination);
        if inner.subs.len() == before { Err(RegisterError::NotFound) } else { Ok(()) }
    }

    pub fn set_faults(&self, _faults: WebhookFaults) {}

    pub fn set_config(&self, _config: WebhookConfig) {}

    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.lock().deliveries.clone()
    }

    pub async fn wait_idle(&self, _timeout: Duration) -> bool {
        true
    }
}
