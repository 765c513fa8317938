//! The redb tables. Primary tables hold records as JSON (the amoCRM shape);
//! derived tables (facts, aggregates, search text, links) can be rebuilt
//! from them (see `migrate::rebuild_derived`).

use redb::{MultimapTableDefinition, TableDefinition};

use crate::codec::{AGG_LEN, FACTS_LEN};

/// Schema version, index version, account binding, sync state, event seq.
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// User id → `User` JSON.
pub(crate) const USERS: TableDefinition<u64, &[u8]> = TableDefinition::new("users");
/// Pipeline id → `Pipeline` JSON (statuses included).
pub(crate) const PIPELINES: TableDefinition<u64, &[u8]> = TableDefinition::new("pipelines");
/// (pipeline id, status id) → `Status` JSON.
pub(crate) const STATUSES: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("statuses");
/// Lead id → `LeadRecord` JSON.
pub(crate) const LEADS: TableDefinition<u64, &[u8]> = TableDefinition::new("leads");
/// Contact id → `ContactRecord` JSON.
pub(crate) const CONTACTS: TableDefinition<u64, &[u8]> = TableDefinition::new("contacts");
/// Company id → `CompanyRecord` JSON.
pub(crate) const COMPANIES: TableDefinition<u64, &[u8]> = TableDefinition::new("companies");
/// Note id → `NoteRecord` JSON.
pub(crate) const NOTES: TableDefinition<u64, &[u8]> = TableDefinition::new("notes");
/// Talk id → `TalkRecord` JSON.
pub(crate) const TALKS: TableDefinition<u64, &[u8]> = TableDefinition::new("talks");
/// Message id → `ChatMessage` JSON.
pub(crate) const MESSAGES: TableDefinition<&str, &[u8]> = TableDefinition::new("messages");
/// (lead, at, to pipeline, to status) → `StatusChange` JSON.
pub(crate) const HISTORY: TableDefinition<(u64, i64, u64, u64), &[u8]> =
    TableDefinition::new("status_history");
/// Seq → encoded raw event (see `codec::encode_event`).
pub(crate) const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("event_log");
/// Seqs not applied yet.
pub(crate) const EVENTS_PENDING: TableDefinition<u64, ()> = TableDefinition::new("event_pending");
/// (`Confirm` code, id) → unix ms when queued: records still to read from
/// the API (a durable "to confirm" list that survives failed passes and
/// restarts; see `WriteTx::queue_confirm`).
pub(crate) const TO_CONFIRM: TableDefinition<(u8, u64), i64> = TableDefinition::new("to_confirm");

// ---- derived (rebuildable) ----

/// Lead id → fixed-width lead facts (`codec::Facts`).
pub(crate) const LEAD_FACTS: TableDefinition<u64, &[u8; FACTS_LEN]> =
    TableDefinition::new("lead_facts");
/// (pipeline, status) → aggregates (`codec::Agg`); status 0 holds lost leads
/// whose last open status is unknown.
pub(crate) const FUNNEL_AGG: TableDefinition<(u64, u64), &[u8; AGG_LEN]> =
    TableDefinition::new("funnel_agg");
/// (`updated_at`, lead id) of every live lead (not deleted, not a
/// placeholder): the lead list's default order (newest first) and its
/// count, read without scanning the facts.
pub(crate) const LEADS_BY_UPDATED: TableDefinition<(i64, u64), ()> =
    TableDefinition::new("leads_by_updated");
/// (newest activity, talk id) of every talk (`chats::activity`): the talk
/// list's order (newest first), read without decoding every talk.
pub(crate) const TALKS_BY_ACTIVITY: TableDefinition<(i64, u64), ()> =
    TableDefinition::new("talks_by_activity");
/// Lead id → lowercase name and tags.
pub(crate) const LEAD_SEARCH: TableDefinition<u64, &str> = TableDefinition::new("lead_search");
/// Contact id → `codec::ContactKey` header + lowercase text.
pub(crate) const CONTACT_SEARCH: TableDefinition<u64, &[u8]> =
    TableDefinition::new("contact_search");
/// Contact id → lead ids (from the leads' `_embedded.contacts`).
pub(crate) const CONTACT_LEADS: MultimapTableDefinition<u64, u64> =
    MultimapTableDefinition::new("contact_leads");
/// (`NoteEntity` code, 0 = unknown; entity id) → note ids. Lead, contact
/// and company ids are separate sequences, so the type is part of the key.
pub(crate) const NOTES_BY_ENTITY: MultimapTableDefinition<(u8, u64), u64> =
    MultimapTableDefinition::new("notes_by_owner");
/// Index versions ≤ 3: entity id alone → note ids (dropped by the rebuild).
pub(crate) const LEGACY_NOTES_BY_ENTITY: MultimapTableDefinition<u64, u64> =
    MultimapTableDefinition::new("notes_by_entity");
/// Lead id → talk ids.
pub(crate) const TALKS_BY_LEAD: MultimapTableDefinition<u64, u64> =
    MultimapTableDefinition::new("talks_by_lead");
/// Contact id → talk ids.
pub(crate) const TALKS_BY_CONTACT: MultimapTableDefinition<u64, u64> =
    MultimapTableDefinition::new("talks_by_contact");
/// Talk id → message ids.
pub(crate) const MSG_BY_TALK: MultimapTableDefinition<u64, &str> =
    MultimapTableDefinition::new("messages_by_talk");
/// Lead id → message ids.
pub(crate) const MSG_BY_LEAD: MultimapTableDefinition<u64, &str> =
    MultimapTableDefinition::new("messages_by_lead");

/// Status moves only a webhook reported, not yet confirmed by the events
/// API (same key as [`HISTORY`] → unix ms stored; see `history.rs`).
pub(crate) const STATUS_HINTS: TableDefinition<(u64, i64, u64, u64), i64> =
    TableDefinition::new("status_hints");

/// Chat messages only a webhook reported (id → its `created_at`), not yet
/// confirmed by the events API (see `chats.rs`).
pub(crate) const MESSAGE_HINTS: TableDefinition<&str, i64> = TableDefinition::new("message_hints");

/// Names of every table [`crate::write::Tables::open`] creates, then of
/// every multimap table (an open without one of them must write).
pub(crate) fn table_names() -> (Vec<String>, Vec<String>) {
    use redb::{MultimapTableHandle, TableHandle};
    let tables = [
        META.name(),
        USERS.name(),
        PIPELINES.name(),
        STATUSES.name(),
        LEADS.name(),
        CONTACTS.name(),
        COMPANIES.name(),
        NOTES.name(),
        TALKS.name(),
        MESSAGES.name(),
        HISTORY.name(),
        EVENTS.name(),
        EVENTS_PENDING.name(),
        TO_CONFIRM.name(),
        LEAD_FACTS.name(),
        FUNNEL_AGG.name(),
        LEADS_BY_UPDATED.name(),
        TALKS_BY_ACTIVITY.name(),
        LEAD_SEARCH.name(),
        CONTACT_SEARCH.name(),
        STATUS_HINTS.name(),
        MESSAGE_HINTS.name(),
    ];
    let multimaps = [
        CONTACT_LEADS.name(),
        NOTES_BY_ENTITY.name(),
        TALKS_BY_LEAD.name(),
        TALKS_BY_CONTACT.name(),
        MSG_BY_TALK.name(),
        MSG_BY_LEAD.name(),
    ];
    (
        tables.iter().map(|s| s.to_string()).collect(),
        multimaps.iter().map(|s| s.to_string()).collect(),
    )
}

/// Meta keys.
pub(crate) mod meta {
    /// u32 LE schema version.
    pub const SCHEMA: &str = "schema_version";
    /// u32 LE version of the derived indexes.
    pub const INDEX: &str = "index_version";
    /// `AccountBinding` JSON.
    pub const BINDING: &str = "binding";
    /// `SyncState` JSON.
    pub const SYNC: &str = "sync_state";
    /// u64 LE last event seq handed out.
    pub const EVENT_SEQ: &str = "event_seq";
    /// u64 LE bytes of the event log's entries (keys and values; derived:
    /// recounted by `migrate::rebuild_derived`).
    pub const EVENT_BYTES: &str = "event_log_bytes";
}
