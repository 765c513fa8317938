//! AmoSync's embedded store (redb).
//!
//! One file holds everything the app shows offline: the account binding,
//! users, pipelines and statuses, leads, contacts, companies, notes, talks and
//! chat messages, status history, the raw webhook **event log**, sync state
//! and the indexes the queries need. No secrets are stored here.
//!
//! * Writes go through [`Store::write`]: one redb write transaction, committed
//!   durably, in which [`WriteTx`] applies **newest wins** upserts (by
//!   `updated_at`), tombstone deletes and restores, and keeps every index
//!   (funnel aggregates, search text, links) in step.
//! * [`Store::append_events`] makes raw webhook bodies durable in one commit
//!   (the receiver groups many bodies per commit under load).
//! * Queries ([`Store::funnel`], [`Store::leads`], [`Store::lead`], …) read a
//!   snapshot and never block the writer.
//!
//! Open a file with [`Store::open`]; an older schema is migrated on open.
//!
//! Layout: `tables` (table definitions), `codec` (value encodings),
//! `migrate` (open, versions, rebuild of derived indexes), `newest`
//! (newest-wins rule), `leads`/`entities`/`chats`/`history` (writes and
//! their indexes), `funnel`, `search`, `detail`, `events` (queries),
//! `retention` (pruning the event log, compaction, the log's size).

mod chats;
mod codec;
mod detail;
mod entities;
mod error;
mod events;
mod funnel;
mod history;
mod leads;
mod migrate;
mod model;
mod newest;
mod private;
mod query;
mod retention;
mod search;
mod store;
mod tables;
mod write;

pub use error::{StoreError, StoreResult};
pub use model::{
    AccountBinding, ChatMessage, CompanyRecord, Confirm, ContactRecord, Direction, EventLogQuery,
    EventOutcome, LeadRecord, LoggedEvent, NoteEntity, NoteRecord, Origin, RawEvent, StatusChange,
    SyncMeta, SyncState, TalkRecord,
};
pub use query::{
    ChannelCount, ChatActivity, ContactDetail, ContactsQuery, Funnel, FunnelQuery, FunnelStatus,
    LeadDetail, LeadsOrder, LeadsQuery, Page, StatusKind, StoreStatus, TalksQuery, TimeRange,
};
pub use retention::{Compaction, EventLogSize, PruneBatch, PruneRule};
pub use store::{SCHEMA_VERSION, Store, StoreChanged};
pub use write::{Applied, WriteTx};
