//! Records kept in the store, besides the amoCRM models themselves.

use amo::models::{Company, Contact, Lead, Note, StatusKey, Talk};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Where a record's current version came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Built from a webhook (a hint, not yet confirmed).
    Webhook,
    /// Read from the API (the truth). On equal `updated_at`, an API read
    /// replaces a webhook version, and an API version read earlier (by
    /// `confirmed_at_ms`, the read time the writer passes as the transaction
    /// clock) — never one read later; a webhook never replaces an API version.
    Api,
}

/// The kind of entity a note hangs on. amoCRM numbers leads, contacts,
/// companies and customers in separate sequences, so a note's `entity_id`
/// means nothing without it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum NoteEntity {
    /// `/api/v4/leads/notes`, webhook `element_type` 2.
    Lead,
    /// `/api/v4/contacts/notes`, webhook `element_type` 1.
    Contact,
    /// `/api/v4/companies/notes`, webhook `element_type` 3.
    Company,
    /// `/api/v4/customers/notes`, webhook `element_type` 12.
    Customer,
}

impl NoteEntity {
    /// From a webhook note's `element_type` (1 contact, 2 lead, 3 company,
    /// 12 customer).
    pub fn from_element_type(code: u64) -> Option<NoteEntity> {
        match code {
            1 => Some(NoteEntity::Contact),
            2 => Some(NoteEntity::Lead),
            3 => Some(NoteEntity::Company),
            12 => Some(NoteEntity::Customer),
            _ => None,
        }
    }

    /// From an entity type name, singular or plural (`lead`, `leads`,
    /// `contact`, `companies`, …) as in API paths and `entity_type` fields.
    pub fn from_name(name: &str) -> Option<NoteEntity> {
        match name.trim().to_ascii_lowercase().as_str() {
            "lead" | "leads" => Some(NoteEntity::Lead),
            "contact" | "contacts" => Some(NoteEntity::Contact),
            "company" | "companies" => Some(NoteEntity::Company),
            "customer" | "customers" => Some(NoteEntity::Customer),
            _ => None,
        }
    }

    /// What the note itself says: its `entity_type` field, else the entity
    /// path in its `_links.self.href` (`…/api/v4/leads/notes/7`). `None`
    /// when it says neither (webhook notes: pass the `element_type` to
    /// [`crate::WriteTx::upsert_note_for`]).
    pub fn of(note: &amo::models::Note) -> Option<NoteEntity> {
        if let Some(t) = note.extra.get("entity_type").and_then(|v| v.as_str()) {
            return NoteEntity::from_name(t);
        }
        let href = note
            .links
            .as_ref()?
            .pointer("/self/href")
            .and_then(|v| v.as_str())?;
        let path = href.split(['?', '#']).next().unwrap_or(href);
        let mut parts = path
            .split('/')
            .rev()
            .skip_while(|p| !p.eq_ignore_ascii_case("notes"));
        parts.next()?;
        // `…/{entity}/notes/{id}` or `…/{entity}/{entity_id}/notes/{id}`.
        let a = parts.next()?;
        if let Some(e) = NoteEntity::from_name(a) {
            return Some(e);
        }
        NoteEntity::from_name(parts.next()?)
    }

    /// The plural API name (`leads`, `contacts`, `companies`, `customers`),
    /// stored in the note's `entity_type`.
    pub fn name(self) -> &'static str {
        match self {
            NoteEntity::Lead => "leads",
            NoteEntity::Contact => "contacts",
            NoteEntity::Company => "companies",
            NoteEntity::Customer => "customers",
        }
    }

    /// Index key code; 0 is "unknown".
    pub(crate) fn code(self) -> u8 {
        match self {
            NoteEntity::Lead => 1,
            NoteEntity::Contact => 2,
            NoteEntity::Company => 3,
            NoteEntity::Customer => 4,
        }
    }
}

/// What kind of record waits in the durable "to confirm" list
/// ([`crate::WriteTx::queue_confirm`], [`crate::Store::to_confirm`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Confirm {
    /// A lead (e.g. restored: read it again).
    Lead,
    /// A contact.
    Contact,
    /// A company.
    Company,
    /// A talk: its stored version is a webhook hint or a placeholder built
    /// from messages, never confirmed by `GET /api/v4/talks/{id}`.
    Talk,
}

impl Confirm {
    /// Every kind.
    pub const ALL: [Confirm; 4] = [
        Confirm::Lead,
        Confirm::Contact,
        Confirm::Company,
        Confirm::Talk,
    ];

    /// The stored code.
    pub(crate) fn code(self) -> u8 {
        match self {
            Confirm::Lead => 1,
            Confirm::Contact => 2,
            Confirm::Company => 3,
            Confirm::Talk => 4,
        }
    }
}

/// Local bookkeeping printed under `_sync` next to a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct SyncMeta {
    /// Origin of the stored version.
    pub origin: Origin,
    /// Unix ms when this version was written locally.
    pub stored_at_ms: i64,
    /// Unix ms of the last API read that confirmed the record, if any.
    pub confirmed_at_ms: Option<i64>,
    /// Unix seconds of the tombstone, when deleted.
    pub deleted_at: Option<i64>,
}

/// The account this store mirrors. No secrets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AccountBinding {
    /// amoCRM account id (`account[id]` in webhooks).
    pub account_id: u64,
    /// Subdomain (`account[subdomain]`).
    pub subdomain: String,
    /// Account name.
    pub name: String,
    /// API base URL, e.g. `https://office.amocrm.ru` (or the emulator's).
    pub base_url: String,
    /// ISO currency code, e.g. `RUB`.
    pub currency: Option<String>,
    /// IANA time zone of the account.
    pub timezone: Option<String>,
    /// Unix seconds of `connect`.
    pub connected_at: i64,
}

/// A webhook body as received, before it is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEvent {
    /// Unix ms of receipt.
    pub received_at_ms: i64,
    /// The form-encoded body, byte for byte.
    pub body: Vec<u8>,
}

/// How applying a logged event ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventOutcome {
    /// Applied; this many typed events were in it.
    Applied {
        /// Typed events in the body.
        events: u32,
    },
    /// Applied, but parts of the body could not be typed or were resolved
    /// by PHP's parsing rules (a later duplicate won, a broken escape kept as
    /// text, an unknown entity kept raw): one line each, `code: what`.
    AppliedWithAnomalies {
        /// Typed events in the body.
        events: u32,
        /// What could not be typed, one line each (bounded).
        anomalies: Vec<String>,
    },
    /// Not applied, with the reason (decode error code, other account, …).
    Rejected {
        /// Short machine code.
        code: String,
        /// What was wrong.
        message: String,
    },
}

/// One entry of the raw event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct LoggedEvent {
    /// Monotonic sequence number (1, 2, …).
    pub seq: u64,
    /// Unix ms of receipt.
    pub received_at_ms: i64,
    /// The raw body (UTF-8 form text; lossy for display only).
    #[ts(type = "string")]
    #[serde(with = "body_text")]
    pub body: Vec<u8>,
    /// `None` while waiting for the applier.
    pub outcome: Option<EventOutcome>,
}

mod body_text {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&String::from_utf8_lossy(b))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        Ok(String::deserialize(d)?.into_bytes())
    }
}

/// Which log entries to list (`amosync events`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventLogQuery {
    /// Newest first when true.
    pub newest_first: bool,
    /// Only entries with `seq > after`.
    pub after: Option<u64>,
    /// Only not yet applied entries.
    pub pending_only: bool,
    /// At most this many (default 100).
    pub limit: Option<usize>,
}

/// A lead with its local bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadRecord {
    /// The lead, in API v4 shape.
    pub lead: Lead,
    /// `_sync`.
    pub sync: SyncMeta,
}

/// A contact with its local bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactRecord {
    /// The contact, in API v4 shape.
    pub contact: Contact,
    /// `_sync`.
    pub sync: SyncMeta,
}

/// A company with its local bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompanyRecord {
    /// The company, in API v4 shape.
    pub company: Company,
    /// `_sync`.
    pub sync: SyncMeta,
}

/// A note with its local bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteRecord {
    /// The note, in API v4 shape.
    pub note: Note,
    /// `_sync`.
    pub sync: SyncMeta,
}

/// A talk plus the chat activity derived from its messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TalkRecord {
    /// The talk, in API v4 shape (`GET /api/v4/talks/{id}`).
    pub talk: Talk,
    /// Unix seconds of the newest message seen (either direction).
    pub last_message_at: Option<i64>,
    /// Unix seconds of the newest incoming message.
    pub last_incoming_at: Option<i64>,
    /// Unix seconds of the newest outgoing message.
    pub last_outgoing_at: Option<i64>,
    /// Incoming messages after the last outgoing one (0 when answered).
    pub waiting_messages: u32,
    /// Text of the newest message, when a webhook carried it.
    pub last_text: Option<String>,
    /// `_sync`.
    pub sync: SyncMeta,
}

/// Message direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the client.
    Incoming,
    /// From the office.
    Outgoing,
}

/// Chat message metadata (text only when a webhook carried it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ChatMessage {
    /// Message id (webhook `message[add][0][id]` or the event's message id).
    pub id: String,
    /// Talk id, if known.
    pub talk_id: Option<u64>,
    /// Chat UUID, if known.
    pub chat_id: Option<String>,
    /// Client contact.
    pub contact_id: Option<u64>,
    /// Lead (entity) the chat is attached to.
    pub lead_id: Option<u64>,
    /// Incoming or outgoing.
    pub direction: Direction,
    /// Channel (`telegram`, `waba`, …).
    pub origin: Option<String>,
    /// Text, when the webhook carried it.
    pub text: Option<String>,
    /// Author's display name.
    pub author_name: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// One status move in a lead's history. Recorded once however many times it
/// is reported (webhook, events API): the key is (lead, at, to).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct StatusChange {
    /// The lead.
    pub lead_id: u64,
    /// Unix seconds of the move.
    pub at: i64,
    /// Previous status (unknown for a lead's first status).
    #[ts(type = "{ pipeline_id: number, status_id: number } | null")]
    pub from: Option<StatusKey>,
    /// New status.
    #[ts(type = "{ pipeline_id: number, status_id: number }")]
    pub to: StatusKey,
    /// User who moved it, when known.
    pub by: Option<u64>,
}

/// Sync bookkeeping kept in the store (one record).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct SyncState {
    /// Leads catch-up cursor: max `updated_at` confirmed by a full pass.
    pub leads_cursor: Option<i64>,
    /// Contacts catch-up cursor.
    pub contacts_cursor: Option<i64>,
    /// Companies catch-up cursor.
    pub companies_cursor: Option<i64>,
    /// Events API cursor (max `created_at` read).
    pub events_cursor: Option<i64>,
    /// Unix seconds when the first full pull finished.
    pub initial_sync_at: Option<i64>,
    /// Unix seconds when the last catch-up pass finished.
    pub last_catchup_at: Option<i64>,
    /// Unix ms of the last webhook accepted.
    pub last_webhook_at_ms: Option<i64>,
    /// Unix seconds when the receiver was last seen running (to detect downtime).
    pub receiver_alive_at: Option<i64>,
    /// API requests made, all time.
    pub api_requests: u64,
    /// 429 answers seen, all time.
    pub api_429s: u64,
    /// The last sync error, if the last pass failed.
    pub last_error: Option<String>,
}
