//! The write side: one [`WriteTx`] per [`crate::Store::write`] call.
//!
//! Entity-specific methods live in `leads.rs`, `entities.rs`, `chats.rs` and
//! `history.rs`; this file holds the transaction itself and the small
//! bookkeeping writes (binding, pipelines, users, sync state, event outcomes).

use std::collections::HashMap;

use amo::models::{Pipeline, User};
use redb::{MultimapTable, ReadableTable, Table};

use crate::codec::{AGG_LEN, Agg, FACTS_LEN, encode_event, from_json, io, to_json};
use crate::error::{StoreError, StoreResult};
use crate::model::{AccountBinding, Confirm, EventOutcome, LoggedEvent, SyncState};
use crate::tables::*;

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

/// Every table, opened once per write transaction.
pub(crate) struct Tables<'a> {
    pub meta: Table<'a, &'static str, &'static [u8]>,
    pub users: Table<'a, u64, &'static [u8]>,
    pub pipelines: Table<'a, u64, &'static [u8]>,
    pub statuses: Table<'a, (u64, u64), &'static [u8]>,
    pub leads: Table<'a, u64, &'static [u8]>,
    pub contacts: Table<'a, u64, &'static [u8]>,
    pub companies: Table<'a, u64, &'static [u8]>,
    pub notes: Table<'a, u64, &'static [u8]>,
    pub talks: Table<'a, u64, &'static [u8]>,
    pub messages: Table<'a, &'static str, &'static [u8]>,
    pub history: Table<'a, (u64, i64, u64, u64), &'static [u8]>,
    pub events: Table<'a, u64, &'static [u8]>,
    pub events_pending: Table<'a, u64, ()>,
    pub to_confirm: Table<'a, (u8, u64), i64>,
    pub lead_facts: Table<'a, u64, &'static [u8; FACTS_LEN]>,
    pub funnel_agg: Table<'a, (u64, u64), &'static [u8; AGG_LEN]>,
    pub leads_by_updated: Table<'a, (i64, u64), ()>,
    pub talks_by_activity: Table<'a, (i64, u64), ()>,
    pub lead_search: Table<'a, u64, &'static str>,
    pub contact_search: Table<'a, u64, &'static [u8]>,
    pub status_hints: Table<'a, (u64, i64, u64, u64), i64>,
    pub message_hints: Table<'a, &'static str, i64>,
    pub contact_leads: MultimapTable<'a, u64, u64>,
    pub notes_by_entity: MultimapTable<'a, (u8, u64), u64>,
    pub talks_by_lead: MultimapTable<'a, u64, u64>,
    pub talks_by_contact: MultimapTable<'a, u64, u64>,
    pub msg_by_talk: MultimapTable<'a, u64, &'static str>,
    pub msg_by_lead: MultimapTable<'a, u64, &'static str>,
}

impl<'a> Tables<'a> {
    /// Opens (creating) every table.
    pub(crate) fn open(tx: &'a redb::WriteTransaction) -> StoreResult<Tables<'a>> {
        Ok(Tables {
            meta: tx.open_table(META)?,
            users: tx.open_table(USERS)?,
            pipelines: tx.open_table(PIPELINES)?,
            statuses: tx.open_table(STATUSES)?,
            leads: tx.open_table(LEADS)?,
            contacts: tx.open_table(CONTACTS)?,
            companies: tx.open_table(COMPANIES)?,
            notes: tx.open_table(NOTES)?,
            talks: tx.open_table(TALKS)?,
            messages: tx.open_table(MESSAGES)?,
            history: tx.open_table(HISTORY)?,
            events: tx.open_table(EVENTS)?,
            events_pending: tx.open_table(EVENTS_PENDING)?,
            to_confirm: tx.open_table(TO_CONFIRM)?,
            lead_facts: tx.open_table(LEAD_FACTS)?,
            funnel_agg: tx.open_table(FUNNEL_AGG)?,
            leads_by_updated: tx.open_table(LEADS_BY_UPDATED)?,
            talks_by_activity: tx.open_table(TALKS_BY_ACTIVITY)?,
            lead_search: tx.open_table(LEAD_SEARCH)?,
            contact_search: tx.open_table(CONTACT_SEARCH)?,
            status_hints: tx.open_table(STATUS_HINTS)?,
            message_hints: tx.open_table(MESSAGE_HINTS)?,
            contact_leads: tx.open_multimap_table(CONTACT_LEADS)?,
            notes_by_entity: tx.open_multimap_table(NOTES_BY_ENTITY)?,
            talks_by_lead: tx.open_multimap_table(TALKS_BY_LEAD)?,
            talks_by_contact: tx.open_multimap_table(TALKS_BY_CONTACT)?,
            msg_by_talk: tx.open_multimap_table(MSG_BY_TALK)?,
            msg_by_lead: tx.open_multimap_table(MSG_BY_LEAD)?,
        })
    }
}

/// An open write transaction. Every method keeps the indexes in step.
pub struct WriteTx<'a> {
    pub(crate) tx: &'a redb::WriteTransaction,
    /// Unix ms used for `stored_at_ms`/`confirmed_at_ms` (the caller's clock).
    pub(crate) now_ms: i64,
    /// The open tables.
    pub(crate) t: Tables<'a>,
    /// Funnel aggregate changes, applied in one pass by [`WriteTx::finish`].
    pub(crate) agg_delta: HashMap<(u64, u64), Agg>,
    /// Change of the event log's byte count, written by [`WriteTx::finish`].
    pub(crate) log_bytes_delta: i64,
}

impl<'a> WriteTx<'a> {
    /// Opens the tables of `tx`.
    pub(crate) fn new(tx: &'a redb::WriteTransaction, now_ms: i64) -> StoreResult<WriteTx<'a>> {
        Ok(WriteTx {
            tx,
            now_ms,
            t: Tables::open(tx)?,
            agg_delta: HashMap::new(),
            log_bytes_delta: 0,
        })
    }

    /// Applies the buffered aggregate deltas; call before commit.
    pub(crate) fn finish(mut self) -> StoreResult<()> {
        let _ = self.tx;
        crate::retention::add_log_bytes(&mut self.t.meta, self.log_bytes_delta)?;
        let mut deltas: Vec<_> = std::mem::take(&mut self.agg_delta).into_iter().collect();
        deltas.sort_by_key(|(k, _)| *k);
        for (key, d) in deltas {
            if d.is_zero() {
                continue;
            }
            let mut agg = match self.t.funnel_agg.get(key)? {
                Some(v) => Agg::decode(v.value()),
                None => Agg::default(),
            };
            agg.add(&d);
            if agg.is_zero() {
                self.t.funnel_agg.remove(key)?;
            } else {
                self.t.funnel_agg.insert(key, &agg.encode())?;
            }
        }
        Ok(())
    }
}

impl WriteTx<'_> {
    /// Sets the clock used for bookkeeping in this transaction (tests pass time in).
    ///
    /// For API reads, pass the moment the HTTP answer arrived: it becomes the
    /// record's `confirmed_at_ms`, and between two API versions with the same
    /// `updated_at` the one read later wins ([`crate::Origin`]), whatever
    /// order they are written in.
    pub fn set_now_ms(&mut self, now_ms: i64) {
        self.now_ms = now_ms;
    }

    /// The clock of this transaction (unix ms).
    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    /// Queues a record to be read from the API (durably: the entry stays
    /// until [`WriteTx::unqueue_confirm`] removes it, across failed passes
    /// and restarts). Queuing an id already queued keeps the first time.
    pub fn queue_confirm(&mut self, kind: Confirm, id: u64) -> StoreResult<()> {
        let key = (kind.code(), id);
        if self.t.to_confirm.get(key)?.is_none() {
            self.t.to_confirm.insert(key, self.now_ms)?;
        }
        Ok(())
    }

    /// Removes a record from the "to confirm" list (the API answered for it).
    pub fn unqueue_confirm(&mut self, kind: Confirm, id: u64) -> StoreResult<()> {
        self.t.to_confirm.remove((kind.code(), id))?;
        Ok(())
    }

    /// Ids of `kind` waiting for an API read, ascending, at most `limit`.
    pub fn to_confirm(&self, kind: Confirm, limit: usize) -> StoreResult<Vec<u64>> {
        let code = kind.code();
        let mut out = Vec::new();
        for row in self.t.to_confirm.range((code, 0)..=(code, u64::MAX))? {
            if out.len() >= limit {
                break;
            }
            out.push(row?.0.value().1);
        }
        Ok(out)
    }

    /// Binds the store to an account (replaces any earlier binding).
    pub fn set_binding(&mut self, binding: &AccountBinding) -> StoreResult<()> {
        let bytes = to_json(binding)?;
        self.t.meta.insert(meta::BINDING, bytes.as_slice())?;
        Ok(())
    }

    /// Replaces the set of pipelines (statuses included).
    pub fn put_pipelines(&mut self, pipelines: &[Pipeline]) -> StoreResult<()> {
        self.t.pipelines.retain(|_, _| false)?;
        self.t.statuses.retain(|_, _| false)?;
        for p in pipelines {
            let bytes = to_json(p)?;
            self.t.pipelines.insert(p.id, bytes.as_slice())?;
            for s in p.statuses() {
                let bytes = to_json(s)?;
                // The status belongs to the pipeline it is listed under.
                self.t.statuses.insert((p.id, s.id), bytes.as_slice())?;
            }
        }
        Ok(())
    }

    /// Replaces the set of users.
    pub fn put_users(&mut self, users: &[User]) -> StoreResult<()> {
        self.t.users.retain(|_, _| false)?;
        for u in users {
            let bytes = to_json(u)?;
            self.t.users.insert(u.id, bytes.as_slice())?;
        }
        Ok(())
    }

    /// Marks a logged event as applied or rejected.
    pub fn mark_event(&mut self, seq: u64, outcome: &EventOutcome) -> StoreResult<()> {
        let (entry, old_len) = match self.t.events.get(seq)? {
            // A damaged entry is replaced by its outcome with an empty body.
            Some(v) => (
                crate::codec::decode_event(seq, v.value()).unwrap_or(LoggedEvent {
                    seq,
                    received_at_ms: 0,
                    body: Vec::new(),
                    outcome: None,
                }),
                v.value().len(),
            ),
            None => {
                return Err(StoreError::Record(format!(
                    "event {seq} is not in the event log; list it with `amosync events`"
                )));
            }
        };
        let bytes = encode_event(entry.received_at_ms, Some(outcome), &entry.body)?;
        self.t.events.insert(seq, bytes.as_slice())?;
        self.t.events_pending.remove(seq)?;
        self.log_bytes_delta += bytes.len() as i64 - old_len as i64;
        Ok(())
    }

    /// Reads, changes and writes the sync bookkeeping.
    pub fn update_sync_state(&mut self, f: impl FnOnce(&mut SyncState)) -> StoreResult<()> {
        let mut state: SyncState = match self.t.meta.get(meta::SYNC)? {
            Some(v) => from_json(v.value(), "the sync state")?,
            None => SyncState::default(),
        };
        f(&mut state);
        let bytes = to_json(&state)?;
        self.t
            .meta
            .insert(meta::SYNC, bytes.as_slice())
            .map_err(io)?;
        Ok(())
    }
}
