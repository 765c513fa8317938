//! JSON shapes printed by the query commands (pure functions).
//!
//! * A lead, contact, company, note or talk prints as amoCRM API v4 returns
//!   it (the stored `amo::models` value serialized), plus `_sync` (local
//!   bookkeeping: origin, stored/confirmed times, tombstone).
//! * What AmoSync knows beyond the API object goes under `_local`: a lead's
//!   linked contacts/companies/notes/talks/history/messages, a contact's
//!   leads/notes/talks, a talk's derived chat activity.

use amosync_store::{
    CompanyRecord, ContactDetail, ContactRecord, LeadDetail, LeadRecord, NoteRecord, StoreStatus,
    TalkRecord,
};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::vault::VaultLocation;

fn to_value<T: Serialize>(value: &T) -> Value {
    // Serializing our own plain data types cannot fail; keep a visible marker if it ever does.
    serde_json::to_value(value).unwrap_or_else(|e| json!({ "_error": e.to_string() }))
}

/// `value` (an object) with `key` set; non-objects are wrapped as `{"value": …}`.
fn with_key(value: Value, key: &str, extra: Value) -> Value {
    let mut map = match value {
        Value::Object(map) => map,
        other => {
            let mut map = Map::new();
            map.insert("value".into(), other);
            map
        }
    };
    map.insert(key.into(), extra);
    Value::Object(map)
}

pub fn lead(record: &LeadRecord) -> Value {
    with_key(to_value(&record.lead), "_sync", to_value(&record.sync))
}

pub fn contact(record: &ContactRecord) -> Value {
    with_key(to_value(&record.contact), "_sync", to_value(&record.sync))
}

pub fn company(record: &CompanyRecord) -> Value {
    with_key(to_value(&record.company), "_sync", to_value(&record.sync))
}

pub fn note(record: &NoteRecord) -> Value {
    with_key(to_value(&record.note), "_sync", to_value(&record.sync))
}

/// A talk as `GET /api/v4/talks/{id}` returns it, plus `_local` chat activity and `_sync`.
pub fn talk(record: &TalkRecord) -> Value {
    let local = json!({
        "last_message_at": record.last_message_at,
        "last_incoming_at": record.last_incoming_at,
        "last_outgoing_at": record.last_outgoing_at,
        "waiting_messages": record.waiting_messages,
        "last_text": record.last_text,
    });
    let value = with_key(to_value(&record.talk), "_local", local);
    with_key(value, "_sync", to_value(&record.sync))
}

/// `amosync lead ID`: the lead, `_sync`, and `_local` with everything linked.
pub fn lead_detail(detail: &LeadDetail) -> Value {
    let local = json!({
        "contacts": detail.contacts.iter().map(contact).collect::<Vec<_>>(),
        "companies": detail.companies.iter().map(company).collect::<Vec<_>>(),
        "notes": detail.notes.iter().map(note).collect::<Vec<_>>(),
        "talks": detail.talks.iter().map(talk).collect::<Vec<_>>(),
        "history": to_value(&detail.history),
        "messages": to_value(&detail.messages),
    });
    with_key(lead(&detail.lead), "_local", local)
}

/// `amosync contact ID`: the contact, `_sync`, and `_local` {leads, notes, talks}.
pub fn contact_detail(detail: &ContactDetail) -> Value {
    let local = json!({
        "leads": detail.leads.iter().map(lead).collect::<Vec<_>>(),
        "notes": detail.notes.iter().map(note).collect::<Vec<_>>(),
        "talks": detail.talks.iter().map(talk).collect::<Vec<_>>(),
    });
    with_key(contact(&detail.contact), "_local", local)
}

/// What `status` adds to the store's own view.
#[derive(Debug, Clone)]
pub struct StatusContext {
    pub data_dir: String,
    /// Set when other users can reach the data folder (what to do).
    pub data_dir_warning: Option<String>,
    pub store_path: String,
    /// Where the secrets are kept (`None` when the vault cannot be opened).
    pub credentials: Option<VaultLocation>,
    pub credentials_present: bool,
    /// `oauth` or `long_lived`.
    pub auth: Option<&'static str>,
    /// Why a reconnect is needed, when amoCRM refused the refresh token.
    pub reconnect: Option<String>,
    /// The chosen tunnel provider.
    pub tunnel_provider: Option<String>,
    /// Why the secrets could not be read.
    pub secrets_error: Option<String>,
    /// The running `serve` (pid, control URL, engine status), when it answered.
    pub serve: Option<Value>,
    /// The event log's retention in days (`config.json`, else the default).
    pub retention_days: u32,
}

/// `amosync status`.
pub fn status(status: &StoreStatus, ctx: &StatusContext) -> Value {
    let pipelines: Vec<Value> = status
        .pipelines
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "name": p.name,
                "is_main": p.is_main,
                "statuses": p.statuses().len(),
            })
        })
        .collect();
    json!({
        "data_dir": ctx.data_dir,
        "data_dir_warning": ctx.data_dir_warning,
        "connected": status.account.is_some() && ctx.credentials_present,
        "account": to_value(&status.account),
        "store": { "path": ctx.store_path, "schema_version": status.schema_version },
        "credentials": credentials(ctx),
        "sync": to_value(&status.sync),
        "counts": {
            "leads": status.leads,
            "deleted_leads": status.deleted_leads,
            "contacts": status.contacts,
            "companies": status.companies,
            "talks": status.talks,
            "messages": status.messages,
            "notes": status.notes,
            "status_changes": status.status_changes,
            "events_logged": status.events_logged,
            "events_pending": status.events_pending,
            "pipelines": status.pipelines.len(),
            "users": status.users.len(),
        },
        "pipelines": pipelines,
        "event_log": {
            "entries": status.events_logged,
            "pending": status.events_pending,
            "bytes": status.events_bytes,
            "retention_days": ctx.retention_days,
        },
        "serve": ctx.serve.clone().unwrap_or(Value::Null),
    })
}

/// `status` of a data folder that has no store yet.
pub fn status_unconnected(ctx: &StatusContext) -> Value {
    json!({
        "data_dir": ctx.data_dir,
        "data_dir_warning": ctx.data_dir_warning,
        "connected": false,
        "account": null,
        "store": { "path": ctx.store_path, "schema_version": null },
        "credentials": credentials(ctx),
        "sync": null,
        "counts": null,
        "pipelines": [],
        "event_log": null,
        "serve": null,
    })
}

fn credentials(ctx: &StatusContext) -> Value {
    json!({
        "backend": ctx.credentials.as_ref().map(|c| c.backend),
        "location": ctx.credentials.as_ref().map(|c| c.location.clone()),
        "present": ctx.credentials_present,
        "auth": ctx.auth,
        "reconnect_needed": ctx.reconnect.is_some(),
        "reconnect_reason": ctx.reconnect,
        "tunnel_provider": ctx.tunnel_provider,
        "error": ctx.secrets_error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_key_adds_to_objects_and_wraps_others() {
        assert_eq!(
            with_key(json!({"id": 1}), "_sync", json!({"origin": "api"})),
            json!({"id": 1, "_sync": {"origin": "api"}})
        );
        assert_eq!(
            with_key(json!(5), "_sync", json!(null)),
            json!({"value": 5, "_sync": null})
        );
    }
}
