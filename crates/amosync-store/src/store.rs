//! Opening the file, schema versions and migrations, and the read side.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use amo::models::{Pipeline, User};

use crate::error::StoreResult;
use crate::model::{
    AccountBinding, ContactRecord, EventLogQuery, LeadRecord, LoggedEvent, RawEvent, SyncState,
    TalkRecord,
};
use crate::query::{
    ChatActivity, ContactDetail, ContactsQuery, Funnel, FunnelQuery, LeadDetail, LeadsQuery,
    Page, StoreStatus, TalksQuery,
};
use crate::write::WriteTx;

/// Schema version this build writes. Older files are migrated on open.
pub const SCHEMA_VERSION: u32 = 1;

/// A handle to one store file. Cheap to clone; share it between tasks.
/// Blocking: call from `spawn_blocking` in async code.
#[derive(Clone)]
pub struct Store {
    db: Arc<redb::Database>,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating if absent) the store at `path`, migrating an older
    /// schema. [`crate::StoreError::Locked`] when another process holds it.
    pub fn open(path: &Path) -> StoreResult<Store> {
        let _ = path;
        todo!()
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Schema version of the open file (== [`SCHEMA_VERSION`] after open).
    pub fn schema_version(&self) -> StoreResult<u32> {
        let _ = &self.db;
        todo!()
    }

    /// Appends raw webhook bodies to the event log in **one durable commit**
    /// and returns their sequence numbers. When this returns, they survive a crash.
    pub fn append_events(&self, events: &[RawEvent]) -> StoreResult<Vec<u64>> {
        let _ = events;
        todo!()
    }

    /// Log entries not applied yet, oldest first, at most `limit`.
    pub fn pending_events(&self, limit: usize) -> StoreResult<Vec<LoggedEvent>> {
        let _ = limit;
        todo!()
    }

    /// Log entries for display (`amosync events`).
    pub fn events(&self, query: &EventLogQuery) -> StoreResult<Vec<LoggedEvent>> {
        let _ = query;
        todo!()
    }

    /// Runs `f` in one write transaction and commits it durably. If `f`
    /// returns an error nothing is written.
    pub fn write<T>(&self, f: impl FnOnce(&mut WriteTx<'_>) -> StoreResult<T>) -> StoreResult<T> {
        let _ = f;
        todo!()
    }

    /// The bound account.
    pub fn binding(&self) -> StoreResult<Option<AccountBinding>> {
        todo!()
    }

    /// Sync bookkeeping.
    pub fn sync_state(&self) -> StoreResult<SyncState> {
        todo!()
    }

    /// Pipelines with their statuses, in `sort` order.
    pub fn pipelines(&self) -> StoreResult<Vec<Pipeline>> {
        todo!()
    }

    /// Users.
    pub fn users(&self) -> StoreResult<Vec<User>> {
        todo!()
    }

    /// The funnel of one pipeline; `None` for an unknown pipeline.
    pub fn funnel(&self, query: &FunnelQuery) -> StoreResult<Option<Funnel>> {
        let _ = query;
        todo!()
    }

    /// Leads matching `query`.
    pub fn leads(&self, query: &LeadsQuery) -> StoreResult<Page<LeadRecord>> {
        let _ = query;
        todo!()
    }

    /// One lead (tombstoned ones too).
    pub fn lead_record(&self, id: u64) -> StoreResult<Option<LeadRecord>> {
        let _ = id;
        todo!()
    }

    /// A lead with its contacts, companies, notes, talks, messages and history.
    pub fn lead(&self, id: u64) -> StoreResult<Option<LeadDetail>> {
        let _ = id;
        todo!()
    }

    /// Contacts matching `query`.
    pub fn contacts(&self, query: &ContactsQuery) -> StoreResult<Page<ContactRecord>> {
        let _ = query;
        todo!()
    }

    /// One contact with its leads, notes and talks.
    pub fn contact(&self, id: u64) -> StoreResult<Option<ContactDetail>> {
        let _ = id;
        todo!()
    }

    /// Talks, newest activity first.
    pub fn talks(&self, query: &TalksQuery) -> StoreResult<Vec<TalkRecord>> {
        let _ = query;
        todo!()
    }

    /// Chat activity: talks by last message, unread, in work, per channel.
    pub fn chat_activity(&self, limit: usize) -> StoreResult<ChatActivity> {
        let _ = limit;
        todo!()
    }

    /// Counts, cursors and the account (`amosync status`).
    pub fn status(&self) -> StoreResult<StoreStatus> {
        todo!()
    }
}
