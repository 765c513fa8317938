//! A bounded event log: pruning settled entries past the retention, the
//! log's size, and compaction of the file.
//!
//! * [`Store::prune_events`] removes, in one short write transaction,
//!   applied or rejected entries received before a cutoff (or beyond a cap
//!   on their number), oldest first; entries still waiting for the applier
//!   are never removed. A caller loops over the returned cursor, so the
//!   receiver's appends slip in between the batches.
//! * [`Store::compact`] gives the freed pages back to the file system. redb
//!   needs the [`redb::Database`] alone for it, so the store's handle is an
//!   `RwLock`: every transaction begins under a read lock held only for
//!   that call, and a compaction takes it exclusively. A transaction still
//!   open then makes redb refuse ([`Compaction::Busy`]) — the caller tries
//!   again later; nothing waits on a transaction that may never end.

use redb::{
    ReadTransaction, ReadableDatabase, ReadableTable, ReadableTableMetadata, Table,
    WriteTransaction,
};

use crate::codec::meta_u64;
use crate::error::{StoreError, StoreResult};
use crate::store::Store;
use crate::tables::*;

/// Bytes one entry counts for: its u64 key and its value.
pub(crate) fn entry_bytes(value_len: usize) -> u64 {
    8 + value_len as u64
}

/// Adds `delta` to the log's byte count (never below zero).
pub(crate) fn add_log_bytes(
    meta_t: &mut Table<'_, &'static str, &'static [u8]>,
    delta: i64,
) -> StoreResult<()> {
    if delta == 0 {
        return Ok(());
    }
    let now = match meta_t.get(meta::EVENT_BYTES)? {
        Some(v) => meta_u64(v.value()).unwrap_or(0),
        None => 0,
    };
    let next = (now as i128 + delta as i128).clamp(0, u64::MAX as i128) as u64;
    meta_t.insert(meta::EVENT_BYTES, next.to_le_bytes().as_slice())?;
    Ok(())
}

/// The log's byte count.
pub(crate) fn log_bytes(tx: &ReadTransaction) -> StoreResult<u64> {
    let t = tx.open_table(META)?;
    let v = t.get(meta::EVENT_BYTES)?;
    Ok(v.and_then(|v| meta_u64(v.value())).unwrap_or(0))
}

/// Counts the log's bytes again (part of rebuilding the derived data).
pub(crate) fn recount_log_bytes(tx: &WriteTransaction) -> StoreResult<()> {
    let mut total = 0u64;
    for row in tx.open_table(EVENTS)?.iter()? {
        let (_, v) = row?;
        total += entry_bytes(v.value().len());
    }
    let mut meta_t = tx.open_table(META)?;
    meta_t.insert(meta::EVENT_BYTES, total.to_le_bytes().as_slice())?;
    Ok(())
}

/// What pruning keeps: settled entries received at or after `cutoff_ms`,
/// at most `max_settled` of them, and every unapplied entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PruneRule {
    /// Settled entries received before this (unix ms) are removed.
    pub cutoff_ms: i64,
    /// Beyond this many settled entries, the oldest are removed too.
    pub max_settled: u64,
}

/// What to do with one entry, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Unapplied: kept, look further.
    Keep,
    /// Settled and past the bound: removed.
    Remove,
    /// Inside the retention and the cap: this one and every newer one stay.
    Stop,
}

/// The pure rule for one entry. `excess` is how many settled entries are
/// still beyond the cap. Entries are visited in seq order, which is the order
/// of receipt, so the first one inside the retention ends the pass.
pub(crate) fn verdict(received_at_ms: i64, pending: bool, cutoff_ms: i64, excess: u64) -> Verdict {
    if received_at_ms >= cutoff_ms && excess == 0 {
        Verdict::Stop
    } else if pending {
        Verdict::Keep
    } else {
        Verdict::Remove
    }
}

/// What one [`Store::prune_events`] batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneBatch {
    /// Entries removed.
    pub removed: u64,
    /// Their bytes ([`StoreStatus::events_bytes`](crate::StoreStatus)).
    pub removed_bytes: u64,
    /// Where the next batch starts; `None` when the pass is over.
    pub next: Option<u64>,
}

/// How a [`Store::compact`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compaction {
    /// Done; the file's length before and after.
    Done {
        /// Bytes before.
        before: u64,
        /// Bytes after.
        after: u64,
    },
    /// A transaction was open: nothing done, try again later.
    Busy,
}

/// The event log's size (`amosync status`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventLogSize {
    /// Entries (applied, rejected and unapplied).
    pub entries: u64,
    /// Of those, unapplied.
    pub pending: u64,
    /// Bytes of the entries.
    pub bytes: u64,
    /// Receipt time of the oldest entry (unix ms).
    pub oldest_received_at_ms: Option<i64>,
    /// Receipt time of the newest entry (the last webhook; unix ms).
    pub newest_received_at_ms: Option<i64>,
}

/// Tries (2 ms apart) to take the store alone before [`Compaction::Busy`].
const EXCLUSIVE_TRIES: usize = 100;

fn received_at(value: &[u8]) -> i64 {
    // A damaged entry (shorter than its header) counts as received at 0:
    // once settled, it is the first to go.
    match value.get(..8) {
        Some(b) => i64::from_le_bytes(b.try_into().unwrap_or([0; 8])),
        None => 0,
    }
}

impl Store {
    /// Removes at most `batch` settled entries past `rule`, starting at
    /// seq `from` (0 at the start of a pass), in one durable write
    /// transaction; at most `batch` entries are looked at. Loop on
    /// [`PruneBatch::next`] until it is `None`.
    pub fn prune_events(
        &self,
        rule: PruneRule,
        from: u64,
        batch: usize,
    ) -> StoreResult<PruneBatch> {
        let run = || -> StoreResult<PruneBatch> {
            let tx = self.db().begin_write()?;
            let mut out = PruneBatch::default();
            {
                let mut log = tx.open_table(EVENTS)?;
                let pending = tx.open_table(EVENTS_PENDING)?;
                let settled = log.len()?.saturating_sub(pending.len()?);
                let mut excess = settled.saturating_sub(rule.max_settled);
                let mut doomed: Vec<u64> = Vec::new();
                for (seen, row) in log.range(from..)?.enumerate() {
                    let (k, v) = row?;
                    let seq = k.value();
                    if seen >= batch.max(1) {
                        out.next = Some(seq);
                        break;
                    }
                    let is_pending = pending.get(seq)?.is_some();
                    match verdict(received_at(v.value()), is_pending, rule.cutoff_ms, excess) {
                        Verdict::Keep => {}
                        Verdict::Remove => {
                            doomed.push(seq);
                            out.removed_bytes += entry_bytes(v.value().len());
                            excess = excess.saturating_sub(1);
                        }
                        Verdict::Stop => break,
                    }
                }
                for seq in &doomed {
                    log.remove(*seq)?;
                }
                out.removed = doomed.len() as u64;
                drop(pending);
                let mut meta_t = tx.open_table(META)?;
                add_log_bytes(&mut meta_t, -(out.removed_bytes as i64))?;
            }
            tx.commit()?;
            Ok(out)
        };
        run().map_err(|e| e.at(self.path()))
    }

    /// The event log's size.
    pub fn event_log_size(&self) -> StoreResult<EventLogSize> {
        let tx = self.db().begin_read()?;
        let log = tx.open_table(EVENTS)?;
        let oldest = log.first()?.map(|(_, v)| received_at(v.value()));
        let newest = log.last()?.map(|(_, v)| received_at(v.value()));
        Ok(EventLogSize {
            entries: log.len()?,
            pending: tx.open_table(EVENTS_PENDING)?.len()?,
            bytes: log_bytes(&tx)?,
            oldest_received_at_ms: oldest,
            newest_received_at_ms: newest,
        })
    }

    /// The file's length in bytes.
    pub fn file_len(&self) -> StoreResult<u64> {
        std::fs::metadata(self.path())
            .map(|m| m.len())
            .map_err(|e| {
                StoreError::Io(format!(
                    "cannot read the size of {} ({e}); check the data folder",
                    self.path().display()
                ))
            })
    }

    /// Compacts the file (redb `Database::compact`), giving free pages
    /// back. Blocks every other use of the store while it runs (seconds for a
    /// large file): call it when the store is idle. [`Compaction::Busy`]
    /// when a transaction is open (or keeps beginning), without waiting for it.
    pub fn compact(&self) -> StoreResult<Compaction> {
        let before = self.file_len()?;
        // Transactions hold the lock only while they begin: a few tries
        // find it free unless the store is busy (then: later).
        let mut db = None;
        for _ in 0..EXCLUSIVE_TRIES {
            db = self.try_db_exclusive();
            if db.is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let Some(mut db) = db else {
            return Ok(Compaction::Busy);
        };
        let result = db.compact();
        drop(db);
        match result {
            Ok(_) => Ok(Compaction::Done {
                before,
                after: self.file_len()?,
            }),
            Err(redb::CompactionError::TransactionInProgress) => Ok(Compaction::Busy),
            Err(e) => Err(crate::codec::redb_error(e.into()).at(self.path())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_keeps_unapplied_and_recent_entries() {
        // Old and settled: removed; old and unapplied: kept, look on.
        assert_eq!(verdict(10, false, 100, 0), Verdict::Remove);
        assert_eq!(verdict(10, true, 100, 0), Verdict::Keep);
        // Inside the retention: the pass ends, pending or not.
        assert_eq!(verdict(100, false, 100, 0), Verdict::Stop);
        assert_eq!(verdict(150, true, 100, 0), Verdict::Stop);
        // Beyond the cap: recent settled entries go too, unapplied stay.
        assert_eq!(verdict(150, false, 100, 3), Verdict::Remove);
        assert_eq!(verdict(150, true, 100, 3), Verdict::Keep);
    }

    #[test]
    fn a_damaged_entry_counts_as_oldest() {
        assert_eq!(received_at(&[1, 2]), 0);
        assert_eq!(received_at(&42i64.to_le_bytes()), 42);
    }
}
