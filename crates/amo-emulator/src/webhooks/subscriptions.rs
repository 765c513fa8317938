//! The account's webhook subscriptions (`GET/POST/DELETE /api/v4/webhooks`).

use serde::Serialize;
use serde_json::json;

use crate::model::{Timestamp, WEBHOOK_SETTINGS};

/// At most this many webhooks per account (amocrm.md §1).
pub const MAX_WEBHOOKS: usize = 100;

/// Id of the first webhook registered in a fresh account (realistic size).
const FIRST_ID: u64 = 839_656;

/// One registered webhook, exactly as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookSubscription {
    pub id: u64,
    pub destination: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub account_id: u64,
    pub created_by: u64,
    pub sort: i64,
    pub disabled: bool,
    pub settings: Vec<String>,
}

impl WebhookSubscription {
    /// The API object `{id, destination, created_at, updated_at, account_id,
    /// created_by, sort, disabled, settings:[…]}`.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "id": self.id,
            "destination": self.destination,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "account_id": self.account_id,
            "created_by": self.created_by,
            "sort": self.sort,
            "disabled": self.disabled,
            "settings": self.settings,
        })
    }

    /// True when this webhook wants changes of this settings code.
    pub fn wants(&self, code: &str) -> bool {
        self.settings.iter().any(|s| s == code)
    }
}

/// Why `POST`/`DELETE /api/v4/webhooks` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    /// Not an absolute http(s) URL with a host. Holds only what is safe to
    /// show (scheme, host, port): the path may carry the receiver's secret.
    #[error("Invalid URL: {0}")]
    InvalidUrl(String),
    /// Not one settings code the account knows (unknown codes are dropped
    /// silently when at least one known code remains). Holds the first
    /// code given (empty for an empty list).
    #[error("no webhook settings code this account knows (got `{0}`)")]
    UnknownSetting(String),
    #[error("at most {MAX_WEBHOOKS} webhooks per account")]
    TooMany,
    #[error("webhook not found")]
    NotFound,
}

/// A subscription plus the bookkeeping delivery needs.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub sub: WebhookSubscription,
    /// Bumped when the webhook is disabled: queued work of an older epoch is
    /// dropped.
    pub epoch: u64,
}

/// All webhooks of one account, in registration order.
#[derive(Debug)]
pub(crate) struct Registry {
    account_id: u64,
    entries: Vec<Entry>,
    next_id: u64,
    /// Epochs are never reused, so work queued for a removed or disabled
    /// webhook never matches a later registration of the same URL.
    next_epoch: u64,
}

impl Registry {
    pub fn new(account_id: u64) -> Self {
        Registry {
            account_id,
            entries: Vec::new(),
            next_id: FIRST_ID,
            next_epoch: 1,
        }
    }

    pub fn list(&self, destination: Option<&str>) -> Vec<WebhookSubscription> {
        self.entries
            .iter()
            .filter(|e| destination.is_none_or(|d| e.sub.destination == d))
            .map(|e| e.sub.clone())
            .collect()
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn get(&self, destination: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.sub.destination == destination)
    }

    /// Create, or update the webhook with the same destination (new settings
    /// and sort, re-enabled, `updated_at` bumped).
    pub fn register(
        &mut self,
        destination: &str,
        settings: &[String],
        sort: i64,
        created_by: u64,
        now: Timestamp,
    ) -> Result<WebhookSubscription, RegisterError> {
        validate_destination(destination)?;
        let settings = validate_settings(settings)?;
        if let Some(entry) = self
            .entries
            .iter_mut()
            .find(|e| e.sub.destination == destination)
        {
            entry.sub.settings = settings;
            entry.sub.sort = sort;
            entry.sub.disabled = false;
            entry.sub.updated_at = now.max(entry.sub.updated_at);
            return Ok(entry.sub.clone());
        }
        if self.entries.len() >= MAX_WEBHOOKS {
            return Err(RegisterError::TooMany);
        }
        let sub = WebhookSubscription {
            id: self.next_id,
            destination: destination.to_owned(),
            created_at: now,
            updated_at: now,
            account_id: self.account_id,
            created_by,
            sort,
            disabled: false,
            settings,
        };
        self.next_id += 1;
        self.next_epoch += 1;
        self.entries.push(Entry {
            sub: sub.clone(),
            epoch: self.next_epoch,
        });
        Ok(sub)
    }

    pub fn unregister(&mut self, destination: &str) -> Result<(), RegisterError> {
        let before = self.entries.len();
        self.entries.retain(|e| e.sub.destination != destination);
        if self.entries.len() == before {
            Err(RegisterError::NotFound)
        } else {
            Ok(())
        }
    }

    /// Mark a webhook disabled; returns false when it is gone or already off.
    pub fn disable(&mut self, destination: &str, now: Timestamp) -> bool {
        match self
            .entries
            .iter_mut()
            .find(|e| e.sub.destination == destination)
        {
            Some(entry) if !entry.sub.disabled => {
                entry.sub.disabled = true;
                entry.sub.updated_at = now.max(entry.sub.updated_at);
                self.next_epoch += 1;
                entry.epoch = self.next_epoch;
                true
            }
            _ => false,
        }
    }

    /// True when work of `epoch` for `destination` may still be sent.
    pub fn is_live(&self, destination: &str, epoch: u64) -> bool {
        self.get(destination)
            .is_some_and(|e| !e.sub.disabled && e.epoch == epoch)
    }
}

fn validate_destination(destination: &str) -> Result<(), RegisterError> {
    let invalid = || RegisterError::InvalidUrl(crate::webhooks::hub::safe_host(destination));
    let url = url::Url::parse(destination).map_err(|_| invalid())?;
    let http = matches!(url.scheme(), "http" | "https");
    let has_host = url.host_str().is_some_and(|h| !h.is_empty());
    if http && has_host && destination.len() <= 2048 {
        Ok(())
    } else {
        Err(invalid())
    }
}

/// The codes the account knows, duplicates removed, order kept; unknown
/// codes are dropped, as real accounts do ("lists differ by product and
/// era: register, then read back with GET", amocrm.md §1). At least one
/// known code must remain.
fn validate_settings(settings: &[String]) -> Result<Vec<String>, RegisterError> {
    let mut out: Vec<String> = Vec::with_capacity(WEBHOOK_SETTINGS.len());
    for code in settings {
        if WEBHOOK_SETTINGS.contains(&code.as_str()) && !out.contains(code) {
            out.push(code.clone());
        }
    }
    if out.is_empty() {
        let first: String = settings
            .first()
            .map(|c| c.chars().take(64).collect())
            .unwrap_or_default();
        return Err(RegisterError::UnknownSetting(first));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(codes: &[&str]) -> Vec<String> {
        codes.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn register_update_and_limits() {
        let mut r = Registry::new(7);
        let a = r
            .register("https://h.example/x", &s(&["add_lead"]), 10, 1, 100)
            .unwrap();
        assert_eq!(a.id, FIRST_ID);
        assert!(r.disable("https://h.example/x", 150));
        let b = r
            .register("https://h.example/x", &s(&["status_lead"]), 20, 1, 200)
            .unwrap();
        assert_eq!(
            (b.id, b.disabled, b.updated_at, b.created_at),
            (a.id, false, 200, 100)
        );
        assert_eq!(r.list(None).len(), 1);
        assert!(matches!(
            r.register("ftp://h/x", &s(&["add_lead"]), 0, 1, 0),
            Err(RegisterError::InvalidUrl(_))
        ));
        assert!(matches!(
            r.register("/relative", &s(&["add_lead"]), 0, 1, 0),
            Err(RegisterError::InvalidUrl(_))
        ));
        assert!(matches!(
            r.register("http://h/y", &s(&["nope"]), 0, 1, 0),
            Err(RegisterError::UnknownSetting(_))
        ));
        let kept = r
            .register(
                "http://h/y",
                &s(&[
                    "nope",
                    "add_lead",
                    "delete_unsorted",
                    "add_lead",
                    "add_unsorted",
                ]),
                0,
                1,
                0,
            )
            .unwrap();
        assert_eq!(kept.settings, s(&["add_lead", "add_unsorted"]));
        assert!(matches!(
            r.register("http://h/y", &[], 0, 1, 0),
            Err(RegisterError::UnknownSetting(_))
        ));
        assert_eq!(r.unregister("http://h/none"), Err(RegisterError::NotFound));
    }
}
