//! The write side: one [`WriteTx`] per [`crate::Store::write`] call.

use amo::models::{Company, Contact, Lead, Note, Pipeline, Talk, User};

use crate::error::StoreResult;
use crate::model::{
    AccountBinding, ChatMessage, ContactRecord, EventOutcome, LeadRecord, Origin, StatusChange,
    SyncState, TalkRecord,
};

/// What an upsert/delete did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// A new record.
    Inserted,
    /// Replaced an older version (or revived a tombstone).
    Updated,
    /// Same content as stored; only bookkeeping (e.g. `confirmed_at_ms`) may change.
    Unchanged,
    /// Older than what is stored: ignored (newest wins).
    Stale,
}

/// An open write transaction. Every method keeps the indexes in step.
pub struct WriteTx<'a> {
    pub(crate) tx: &'a redb::WriteTransaction,
    /// Unix ms used for `stored_at_ms`/`confirmed_at_ms` (the caller's clock).
    pub(crate) now_ms: i64,
}

impl WriteTx<'_> {
    /// Sets the clock used for bookkeeping in this transaction (tests pass time in).
    pub fn set_now_ms(&mut self, now_ms: i64) {
        self.now_ms = now_ms;
    }

    /// Binds the store to an account (replaces any earlier binding).
    pub fn set_binding(&mut self, binding: &AccountBinding) -> StoreResult<()> {
        let _ = (binding, self.tx);
        todo!()
    }

    /// Replaces the set of pipelines (statuses included).
    pub fn put_pipelines(&mut self, pipelines: &[Pipeline]) -> StoreResult<()> {
        let _ = pipelines;
        todo!()
    }

    /// Replaces the set of users.
    pub fn put_users(&mut self, users: &[User]) -> StoreResult<()> {
        let _ = users;
        todo!()
    }

    /// A lead as stored, tombstones included (read inside this transaction).
    pub fn lead(&self, id: u64) -> StoreResult<Option<LeadRecord>> {
        let _ = id;
        todo!()
    }

    /// Newest wins by `updated_at`; on a tie, `Origin::Api` beats `Origin::Webhook`
    /// and identical content is `Unchanged`. An API read with `is_deleted`
    /// tombstones; a version newer than the tombstone revives.
    pub fn upsert_lead(&mut self, lead: &Lead, origin: Origin) -> StoreResult<Applied> {
        let _ = (lead, origin);
        todo!()
    }

    /// Tombstones a lead deleted at `at` (unix s). Unknown ids get a tombstone
    /// too, so a late stale upsert cannot bring them back.
    pub fn delete_lead(&mut self, id: u64, at: i64) -> StoreResult<Applied> {
        let _ = (id, at);
        todo!()
    }

    /// Revives a tombstoned lead restored at `at`.
    pub fn restore_lead(&mut self, id: u64, at: i64) -> StoreResult<Applied> {
        let _ = (id, at);
        todo!()
    }

    /// A contact as stored.
    pub fn contact(&self, id: u64) -> StoreResult<Option<ContactRecord>> {
        let _ = id;
        todo!()
    }

    /// Newest wins, like [`WriteTx::upsert_lead`].
    pub fn upsert_contact(&mut self, contact: &Contact, origin: Origin) -> StoreResult<Applied> {
        let _ = (contact, origin);
        todo!()
    }

    /// Tombstones a contact.
    pub fn delete_contact(&mut self, id: u64, at: i64) -> StoreResult<Applied> {
        let _ = (id, at);
        todo!()
    }

    /// Revives a contact.
    pub fn restore_contact(&mut self, id: u64, at: i64) -> StoreResult<Applied> {
        let _ = (id, at);
        todo!()
    }

    /// Newest wins.
    pub fn upsert_company(&mut self, company: &Company, origin: Origin) -> StoreResult<Applied> {
        let _ = (company, origin);
        todo!()
    }

    /// Tombstones a company.
    pub fn delete_company(&mut self, id: u64, at: i64) -> StoreResult<Applied> {
        let _ = (id, at);
        todo!()
    }

    /// Newest wins (by `updated_at`).
    pub fn upsert_note(&mut self, note: &Note, origin: Origin) -> StoreResult<Applied> {
        let _ = (note, origin);
        todo!()
    }

    /// A talk as stored.
    pub fn talk(&self, talk_id: u64) -> StoreResult<Option<TalkRecord>> {
        let _ = talk_id;
        todo!()
    }

    /// Newest wins (by `updated_at`); message-derived activity is kept.
    pub fn upsert_talk(&mut self, talk: &Talk, origin: Origin) -> StoreResult<Applied> {
        let _ = (talk, origin);
        todo!()
    }

    /// Records a chat message once (by id) and updates its talk's activity
    /// (creating a placeholder talk record when the talk is not known yet).
    pub fn record_message(&mut self, message: &ChatMessage) -> StoreResult<Applied> {
        let _ = message;
        todo!()
    }

    /// Records a status move once (key: lead, at, to).
    pub fn record_status_change(&mut self, change: &StatusChange) -> StoreResult<Applied> {
        let _ = change;
        todo!()
    }

    /// Marks a logged event as applied or rejected.
    pub fn mark_event(&mut self, seq: u64, outcome: &EventOutcome) -> StoreResult<()> {
        let _ = (seq, outcome);
        todo!()
    }

    /// Reads, changes and writes the sync bookkeeping.
    pub fn update_sync_state(&mut self, f: impl FnOnce(&mut SyncState)) -> StoreResult<()> {
        let _ = f;
        todo!()
    }
}
