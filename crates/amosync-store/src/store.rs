//! Opening the file, schema versions and migrations, and the read side.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError};
use std::task::{Context, Poll, Waker};

use amo::models::{Pipeline, User};
use redb::{ReadTransaction, ReadableDatabase, ReadableTable, ReadableTableMetadata};

use crate::codec::{Agg, decode_contact_search, from_json, meta_u32};
use crate::error::{StoreError, StoreResult};
use crate::model::{
    AccountBinding, CompanyRecord, ContactRecord, EventLogQuery, LeadRecord, LoggedEvent, RawEvent,
    SyncState, TalkRecord,
};
use crate::query::{
    ChatActivity, ContactDetail, ContactsQuery, Funnel, FunnelQuery, LeadDetail, LeadsQuery, Page,
    StoreStatus, TalksQuery,
};
use crate::tables::*;
use crate::write::WriteTx;

/// Schema version this build writes. Older files are migrated on open.
pub const SCHEMA_VERSION: u32 = 1;

/// redb's page cache per open store: **64 MiB** (redb's default is 1 GiB).
/// redb keeps every page it writes in this cache after the commit, so a
/// stream of large webhook bodies grew `serve`'s memory by the bodies'
/// total up to 1 GiB (a flood lifted it to 1.4 GB). The queries' working set
/// is far smaller: `serve` over a 1M-lead store answers a funnel in under
/// 20 MB; pages beyond the cache are read again from the OS's file cache.
pub const CACHE_BYTES: usize = 64 * 1024 * 1024;

/// A handle to one store file. Cheap to clone; share it between tasks.
/// Blocking: call from `spawn_blocking` in async code.
#[derive(Clone)]
pub struct Store {
    /// Shared by every transaction (a read lock held only while one
    /// begins); [`Store::compact`] takes it exclusively (see `retention`).
    db: Arc<RwLock<redb::Database>>,
    path: PathBuf,
    changes: Arc<Changes>,
}

/// Wakers parked by [`StoreChanged`] beyond this are woken early (they
/// re-check and park again): dropped waiters cannot pile up.
const MAX_PARKED: usize = 256;

/// The change generation of an open store, shared by its clones.
struct Changes {
    generation: AtomicU64,
    parked: Mutex<Vec<Waker>>,
}

impl Changes {
    fn new() -> Changes {
        // Starts at the opening time in ms: a store opened again (another
        // `serve`) never repeats a generation an observer saw before.
        Changes {
            generation: AtomicU64::new(now_ms().max(0) as u64),
            parked: Mutex::new(Vec::new()),
        }
    }

    fn parked(&self) -> std::sync::MutexGuard<'_, Vec<Waker>> {
        self.parked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        let woken = std::mem::take(&mut *self.parked());
        for waker in woken {
            waker.wake();
        }
    }
}

/// Resolves to the store's generation once it differs from the one given
/// to [`Store::changed`] (at once if it already does). Runtime-agnostic: no
/// polling, woken by the commit that bumps the generation.
pub struct StoreChanged {
    changes: Arc<Changes>,
    seen: u64,
}

impl Future for StoreChanged {
    type Output = u64;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u64> {
        let changes = &self.changes;
        let now = changes.generation.load(Ordering::SeqCst);
        if now != self.seen {
            return Poll::Ready(now);
        }
        let mut parked = changes.parked();
        // Again under the lock: a bump in between has taken the list already.
        let now = changes.generation.load(Ordering::SeqCst);
        if now != self.seen {
            return Poll::Ready(now);
        }
        if !parked.iter().any(|w| w.will_wake(cx.waker())) {
            if parked.len() >= MAX_PARKED {
                for waker in parked.drain(..) {
                    waker.wake();
                }
            }
            parked.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Store {
    /// Opens (creating if absent, owner-only) the store at `path`, migrating an older
    /// schema. [`crate::StoreError::Locked`] when another process holds it.
    pub fn open(path: &Path) -> StoreResult<Store> {
        // Created (or narrowed to) 0600 before any CRM data goes in.
        crate::private::ensure_private(path)?;
        let db = crate::migrate::open_db(path)?;
        // A failed commit (disk full, EIO, read-only media) stays `Io`: the
        // file and its event log are fine. Only damage is `Corrupt`.
        crate::migrate::prepare(&db, path, SCHEMA_VERSION).map_err(|e| e.at(path))?;
        Ok(Store {
            db: Arc::new(RwLock::new(db)),
            path: path.to_path_buf(),
            changes: Arc::new(Changes::new()),
        })
    }

    /// The change generation: a number bumped after every committed data
    /// write through this handle or its clones ([`Store::write`],
    /// [`Store::write_relaxed`], [`Store::rebuild_derived`]). Appends to the
    /// raw event log do not count: the applier's commit that follows does.
    /// It starts at the opening time in milliseconds, so generations of two
    /// openings of a file do not repeat each other.
    pub fn generation(&self) -> u64 {
        self.changes.generation.load(Ordering::SeqCst)
    }

    /// Waits (without polling) until the generation differs from `seen`;
    /// returns the new generation. Bound the wait with a timeout.
    pub fn changed(&self, seen: u64) -> StoreChanged {
        StoreChanged {
            changes: self.changes.clone(),
            seen,
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> StoreResult<ReadTransaction> {
        Ok(self.db().begin_read()?)
    }

    /// The database, to begin a transaction (never hold the guard longer:
    /// a compaction waits for it, and every other caller waits for that).
    pub(crate) fn db(&self) -> RwLockReadGuard<'_, redb::Database> {
        self.db
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The database alone, for [`Store::compact`], if no transaction is
    /// beginning right now. Never waits: a waiting writer would hold back
    /// every new reader, also one that a thread inside a write transaction
    /// needs (that transaction could then never end).
    pub(crate) fn try_db_exclusive(&self) -> Option<RwLockWriteGuard<'_, redb::Database>> {
        match self.db.try_write() {
            Ok(guard) => Some(guard),
            Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    /// Schema version of the open file (== [`SCHEMA_VERSION`] after open).
    pub fn schema_version(&self) -> StoreResult<u32> {
        let tx = self.read()?;
        let t = tx.open_table(META)?;
        let v = t.get(meta::SCHEMA)?;
        v.and_then(|v| meta_u32(v.value()))
            .ok_or_else(|| StoreError::Record("the store has no schema version".into()))
    }

    /// Drops and rebuilds the derived indexes (funnel aggregates, lead
    /// facts, search text, links) from the primary records. Open does this by
    /// itself when the index version changes; exposed for repair and tests.
    pub fn rebuild_derived(&self) -> StoreResult<()> {
        let run = || -> StoreResult<()> {
            let tx = self.db().begin_write()?;
            crate::migrate::rebuild_derived(&tx)?;
            tx.commit()?;
            Ok(())
        };
        run().map_err(|e| e.at(&self.path))?;
        self.changes.bump();
        Ok(())
    }

    /// Appends raw webhook bodies to the event log in **one durable commit**
    /// and returns their sequence numbers. When this returns, they survive a crash.
    pub fn append_events(&self, events: &[RawEvent]) -> StoreResult<Vec<u64>> {
        crate::events::append(&self.db(), events).map_err(|e| e.at(&self.path))
    }

    /// Log entries not applied yet, oldest first, at most `limit`.
    pub fn pending_events(&self, limit: usize) -> StoreResult<Vec<LoggedEvent>> {
        crate::events::pending(&self.db(), limit)
    }

    /// Like [`Store::pending_events`], but stops once the bodies read reach
    /// `max_bytes` (at least one entry): what bounds the applier's memory
    /// when the log holds many large bodies.
    pub fn pending_events_within(
        &self,
        limit: usize,
        max_bytes: usize,
    ) -> StoreResult<Vec<LoggedEvent>> {
        crate::events::pending_within(&self.db(), limit, max_bytes)
    }

    /// How many log entries wait for the applier (without reading them).
    pub fn pending_event_count(&self) -> StoreResult<u64> {
        let tx = self.db().begin_read()?;
        Ok(tx.open_table(EVENTS_PENDING)?.len()?)
    }

    /// Log entries for display (`amosync events`).
    pub fn events(&self, query: &EventLogQuery) -> StoreResult<Vec<LoggedEvent>> {
        crate::events::list(&self.db(), query)
    }

    /// Runs `f` in one write transaction and commits it durably. If `f`
    /// returns an error nothing is written.
    pub fn write<T>(&self, f: impl FnOnce(&mut WriteTx<'_>) -> StoreResult<T>) -> StoreResult<T> {
        self.write_with(redb::Durability::Immediate, f)
    }

    /// Like [`Store::write`] (one transaction, all or nothing, the same
    /// [`WriteTx`]), but committed **without fsync** (redb's
    /// `Durability::None`). Meant for the applier: records plus
    /// [`WriteTx::mark_event`] for events already made durable by
    /// [`Store::append_events`].
    ///
    /// Crash contract:
    ///
    /// * When this returns, the changes are visible to every later read and
    ///   write through this process's [`Store`] (and its clones).
    /// * They become durable with the next durable commit of the file — any
    ///   [`Store::write`], [`Store::append_events`], [`Store::rebuild_derived`]
    ///   — which persists every relaxed commit before it, in order. (redb
    ///   also tries a durable commit when the last clone is dropped; do not
    ///   rely on it, it is skipped on panic or after an I/O error.)
    /// * If the process or the machine crashes before that (a process abort
    ///   is enough), the relaxed commits since the last durable one are lost:
    ///   the file reopens at the last durable commit, never at a torn or
    ///   partial transaction. An event marked applied in a lost commit is therefore still
    ///   pending in the (durable) log and is replayed; this is safe because
    ///   upserts are newest-wins and deletes/restores are idempotent.
    /// * Never use it for data that exists only in this transaction (for
    ///   example the event log itself, or the account binding): nothing
    ///   replays that after a crash.
    pub fn write_relaxed<T>(
        &self,
        f: impl FnOnce(&mut WriteTx<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        self.write_with(redb::Durability::None, f)
    }

    fn write_with<T>(
        &self,
        durability: redb::Durability,
        f: impl FnOnce(&mut WriteTx<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let out = self
            .write_inner(durability, f)
            .map_err(|e| e.at(&self.path))?;
        self.changes.bump();
        Ok(out)
    }

    fn write_inner<T>(
        &self,
        durability: redb::Durability,
        f: impl FnOnce(&mut WriteTx<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut tx = self.db().begin_write()?;
        tx.set_durability(durability).map_err(crate::codec::io)?;
        let out = {
            let mut w = WriteTx::new(&tx, now_ms())?;
            let out = f(&mut w)?;
            w.finish()?;
            out
        };
        tx.commit()?;
        Ok(out)
    }

    /// The bound account.
    pub fn binding(&self) -> StoreResult<Option<AccountBinding>> {
        let tx = self.read()?;
        let t = tx.open_table(META)?;
        let v = t.get(meta::BINDING)?;
        v.map(|v| from_json(v.value(), "the account binding"))
            .transpose()
    }

    /// Live (not deleted) leads in the store: one read of the totals.
    pub fn lead_count(&self) -> StoreResult<u64> {
        let tx = self.read()?;
        let totals = match tx.open_table(FUNNEL_AGG)?.get(crate::leads::TOTALS)? {
            Some(v) => Agg::decode(v.value()),
            None => Agg::default(),
        };
        Ok(totals.count.max(0) as u64)
    }

    /// Talks in the store (a table length: no record is read).
    pub fn talk_count(&self) -> StoreResult<u64> {
        Ok(self.read()?.open_table(TALKS)?.len()?)
    }

    /// Sync bookkeeping.
    pub fn sync_state(&self) -> StoreResult<SyncState> {
        let tx = self.read()?;
        let t = tx.open_table(META)?;
        let v = t.get(meta::SYNC)?;
        Ok(v.map(|v| from_json(v.value(), "the sync state"))
            .transpose()?
            .unwrap_or_default())
    }

    /// Ids of `kind` waiting in the durable "to confirm" list (records
    /// still to read from the API), ascending, at most `limit`.
    pub fn to_confirm(&self, kind: crate::model::Confirm, limit: usize) -> StoreResult<Vec<u64>> {
        let tx = self.read()?;
        let t = match tx.open_table(TO_CONFIRM) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let code = kind.code();
        let mut out = Vec::new();
        for row in t.range((code, 0)..=(code, u64::MAX))? {
            if out.len() >= limit {
                break;
            }
            out.push(row?.0.value().1);
        }
        Ok(out)
    }

    /// Pipelines with their statuses, in `sort` order.
    pub fn pipelines(&self) -> StoreResult<Vec<Pipeline>> {
        let tx = self.read()?;
        let mut out: Vec<Pipeline> = Vec::new();
        for row in tx.open_table(PIPELINES)?.iter()? {
            let (_, v) = row?;
            let mut p: Pipeline = from_json(v.value(), "a stored pipeline")?;
            p.embedded.statuses = crate::funnel::ordered_statuses(&p)
                .into_iter()
                .filter(|s| p.status(s.id).is_some())
                .collect();
            out.push(p);
        }
        out.sort_by_key(|p| (p.sort, p.id));
        Ok(out)
    }

    /// Users.
    pub fn users(&self) -> StoreResult<Vec<User>> {
        let tx = self.read()?;
        let mut out = Vec::new();
        for row in tx.open_table(USERS)?.iter()? {
            let (_, v) = row?;
            out.push(from_json(v.value(), "a stored user")?);
        }
        Ok(out)
    }

    /// The funnel of one pipeline; `None` for an unknown pipeline.
    pub fn funnel(&self, query: &FunnelQuery) -> StoreResult<Option<Funnel>> {
        crate::funnel::funnel(&self.read()?, query)
    }

    /// Leads matching `query`.
    pub fn leads(&self, query: &LeadsQuery) -> StoreResult<Page<LeadRecord>> {
        crate::search::leads(&self.read()?, query)
    }

    /// One lead (tombstoned ones too).
    pub fn lead_record(&self, id: u64) -> StoreResult<Option<LeadRecord>> {
        crate::detail::lead_record(&self.read()?, id)
    }

    /// Leads by id as stored (tombstones included), in the order asked;
    /// unknown ids are skipped. One read transaction, for lists that show a
    /// lead per row.
    pub fn lead_records(&self, ids: &[u64]) -> StoreResult<Vec<LeadRecord>> {
        let tx = self.read()?;
        let t = tx.open_table(LEADS)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(v) = t.get(*id)? {
                out.push(from_json(v.value(), "a stored lead")?);
            }
        }
        Ok(out)
    }

    /// Contacts by id as stored (tombstones included), in the order asked;
    /// unknown ids are skipped. One read transaction, for lists that show a
    /// contact per row (cheaper than [`Store::contact`], which also reads
    /// every linked lead, note and talk).
    pub fn contact_records(&self, ids: &[u64]) -> StoreResult<Vec<ContactRecord>> {
        let tx = self.read()?;
        let t = tx.open_table(CONTACTS)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(v) = t.get(*id)? {
                out.push(from_json(v.value(), "a stored contact")?);
            }
        }
        Ok(out)
    }

    /// A lead with its contacts, companies, notes, talks, messages and history.
    pub fn lead(&self, id: u64) -> StoreResult<Option<LeadDetail>> {
        crate::detail::lead(&self.read()?, id)
    }

    /// Contacts matching `query`.
    pub fn contacts(&self, query: &ContactsQuery) -> StoreResult<Page<ContactRecord>> {
        crate::search::contacts(&self.read()?, query)
    }

    /// One contact with its leads, notes and talks.
    pub fn contact(&self, id: u64) -> StoreResult<Option<ContactDetail>> {
        crate::detail::contact(&self.read()?, id)
    }

    /// Talks, newest activity first.
    pub fn talks(&self, query: &TalksQuery) -> StoreResult<Vec<TalkRecord>> {
        crate::chats::talks(&self.read()?, query)
    }

    /// [`Store::talks`] without the activity index: every talk decoded and
    /// sorted (the old way; tests and benchmarks compare the two).
    #[doc(hidden)]
    pub fn talks_by_scan(&self, query: &TalksQuery) -> StoreResult<Vec<TalkRecord>> {
        crate::chats::talks_by_scan(&self.read()?, query)
    }

    /// Chat activity: talks by last message, unread, in work, per channel.
    pub fn chat_activity(&self, limit: usize) -> StoreResult<ChatActivity> {
        crate::chats::chat_activity(&self.read()?, limit)
    }

    /// Bytes per table: `(name, stored, metadata, fragmented)` (redb's
    /// table stats), largest first. For size measurements.
    #[doc(hidden)]
    pub fn table_sizes(&self) -> StoreResult<Vec<(String, u64, u64, u64)>> {
        let tx = self.read()?;
        let mut out = Vec::new();
        let (tables, multimaps) = table_names();
        for name in tables {
            let t = tx.open_untyped_table(redb::TableDefinition::<(), ()>::new(&name))?;
            let st = t.stats()?;
            out.push((
                name,
                st.stored_bytes(),
                st.metadata_bytes(),
                st.fragmented_bytes(),
            ));
        }
        for name in multimaps {
            let t = tx
                .open_untyped_multimap_table(redb::MultimapTableDefinition::<(), ()>::new(&name))?;
            let st = t.stats()?;
            out.push((
                name,
                st.stored_bytes(),
                st.metadata_bytes(),
                st.fragmented_bytes(),
            ));
        }
        out.sort_by_key(|r| std::cmp::Reverse(r.1 + r.2 + r.3));
        Ok(out)
    }

    /// Counts, cursors and the account (`amosync status`).
    pub fn status(&self) -> StoreResult<StoreStatus> {
        let tx = self.read()?;
        let totals = match tx.open_table(FUNNEL_AGG)?.get(crate::leads::TOTALS)? {
            Some(v) => Agg::decode(v.value()),
            None => Agg::default(),
        };
        let (leads, deleted_leads) = (totals.count.max(0) as u64, totals.lost_from.max(0) as u64);
        let mut contacts = 0u64;
        for row in tx.open_table(CONTACT_SEARCH)?.iter()? {
            let (_, v) = row?;
            if decode_contact_search(v.value()).1 {
                contacts += 1;
            }
        }
        let mut companies = 0u64;
        for row in tx.open_table(COMPANIES)?.iter()? {
            let (_, v) = row?;
            let c: CompanyRecord = from_json(v.value(), "a stored company")?;
            if c.sync.deleted_at.is_none() {
                companies += 1;
            }
        }
        Ok(StoreStatus {
            schema_version: self.schema_version()?,
            account: self.binding()?,
            sync: self.sync_state()?,
            leads,
            deleted_leads,
            contacts,
            companies,
            talks: tx.open_table(TALKS)?.len()?,
            messages: tx.open_table(MESSAGES)?.len()?,
            notes: tx.open_table(NOTES)?.len()?,
            status_changes: tx.open_table(HISTORY)?.len()?,
            events_logged: tx.open_table(EVENTS)?.len()?,
            events_pending: tx.open_table(EVENTS_PENDING)?.len()?,
            events_bytes: crate::retention::log_bytes(&tx)?,
            pipelines: self.pipelines()?,
            users: self.users()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::task::Wake;
    use std::time::Duration;

    struct Flag(AtomicBool, std::thread::Thread);

    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
            self.1.unpark();
        }
    }

    /// Polls `fut` on this thread until it is ready (bounded).
    fn block_on<F: Future>(fut: F) -> F::Output {
        let flag = Arc::new(Flag(AtomicBool::new(false), std::thread::current()));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let mut fut = std::pin::pin!(fut);
        for _ in 0..1000 {
            if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                return out;
            }
            while !flag.0.swap(false, Ordering::SeqCst) {
                std::thread::park_timeout(Duration::from_millis(50));
            }
        }
        panic!("the future never became ready");
    }

    #[test]
    fn committed_writes_bump_the_generation_and_wake_waiters() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&tmp.path().join("s.redb")).unwrap();
        let first = store.generation();
        assert!(first > 1_600_000_000_000, "starts at the opening time");

        // Already different: ready at once.
        assert_eq!(block_on(store.changed(first - 1)), first);

        // A failed write commits nothing and bumps nothing.
        let failed: StoreResult<()> = store.write(|_| Err(StoreError::Record("no".into())));
        assert!(failed.is_err());
        assert_eq!(store.generation(), first);

        // A waiter on another thread is woken by a commit on a clone.
        let clone = store.clone();
        let waiter = std::thread::spawn(move || block_on(clone.changed(first)));
        std::thread::sleep(Duration::from_millis(50));
        store.write(|_| Ok(())).unwrap();
        let seen = waiter.join().unwrap();
        assert_eq!(seen, first + 1);
        assert_eq!(store.generation(), first + 1);
        store.write_relaxed(|_| Ok(())).unwrap();
        assert_eq!(store.generation(), first + 2);
    }
}
