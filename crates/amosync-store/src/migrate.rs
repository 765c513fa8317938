//! Opening a file: creation, schema version, step-by-step migrations, and
//! the derived-index version with its "rebuild derived" step.

use std::path::Path;

use redb::{
    Database, DatabaseError, ReadableDatabase, ReadableTable, StorageError, WriteTransaction,
};

use crate::codec::{Facts, from_json, meta_u32};
use crate::error::{StoreError, StoreResult};
use crate::model::{ChatMessage, ContactRecord, LeadRecord, NoteRecord, TalkRecord};
use crate::tables::*;
use crate::write::WriteTx;

/// Version of the derived indexes (facts, aggregates, search text, links).
/// Bump it when their layout or meaning changes: the next open rebuilds them
/// from the primary records. (2: store-wide lead counts in `funnel_agg`;
/// 3: talks never confirmed by the API are queued in `to_confirm`;
/// 4: notes indexed by (entity type, entity id) in `notes_by_owner`;
/// 5: live leads by `updated_at` in `leads_by_updated`;
/// 6: talks by newest activity in `talks_by_activity`, the event log's byte
/// count in `meta`.)
pub(crate) const INDEX_VERSION: u32 = 6;

/// One step of the schema: turns a file at `from` into `from + 1`.
pub(crate) struct Migration {
    /// The schema version this step starts from.
    pub from: u32,
    /// What it does (logged).
    pub what: &'static str,
    /// The step, inside the open transaction.
    pub run: fn(&WriteTransaction) -> StoreResult<()>,
    /// Whether the derived indexes must be rebuilt afterwards.
    pub rebuild_derived: bool,
}

/// Every migration, oldest first. Version 1 is the first released schema, so
/// the list is empty; add `Migration { from: 1, .. }` with `SCHEMA_VERSION = 2`.
pub(crate) const MIGRATIONS: &[Migration] = &[];

/// Opens redb, mapping its errors to what the user can act on.
pub(crate) fn open_db(path: &Path) -> StoreResult<Database> {
    let shown = path.display().to_string();
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| {
            StoreError::Io(format!(
                "cannot create the folder {} for the store ({e}); choose a writable location",
                parent.display()
            ))
        })?;
    }
    if let Ok(md) = std::fs::metadata(path)
        && md.is_file()
        && md.len() == 0
    {
        return Err(StoreError::Corrupt {
            path: shown,
            reason: "the file is empty".into(),
        });
    }
    // redb checks some invariants with debug assertions; never let a damaged
    // file take the process down.
    let res = std::panic::catch_unwind(|| {
        Database::builder()
            .set_cache_size(crate::store::CACHE_BYTES)
            .create(path)
    });
    match res {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(e)) => Err(map_open_error(&shown, e)),
        Err(_) => Err(StoreError::Corrupt {
            path: shown,
            reason: "redb could not read the file".into(),
        }),
    }
}

fn map_open_error(path: &str, e: DatabaseError) -> StoreError {
    let path = path.to_string();
    match e {
        DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => {
            StoreError::Locked { path }
        }
        DatabaseError::Storage(StorageError::Io(io))
            if matches!(
                io.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::ResourceBusy
            ) =>
        {
            StoreError::Locked { path }
        }
        DatabaseError::Storage(StorageError::Io(io))
            if matches!(
                io.kind(),
                std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof
            ) =>
        {
            StoreError::Corrupt {
                path,
                reason: io.to_string(),
            }
        }
        DatabaseError::Storage(StorageError::Io(io)) => StoreError::Io(format!(
            "cannot open {path} ({io}); check the path and its permissions"
        )),
        // Damage is `Corrupt`; anything else (ENOSPC/EIO while redb repairs
        // the file, …) stays `Io`.
        other => crate::codec::redb_error(other.into()).at(Path::new(&path)),
    }
}

fn read_u32(tx: &WriteTransaction, key: &str) -> StoreResult<Option<u32>> {
    let t = tx.open_table(META)?;
    let v = t.get(key)?;
    Ok(v.and_then(|v| meta_u32(v.value())))
}

fn write_u32(tx: &WriteTransaction, key: &str, v: u32) -> StoreResult<()> {
    let mut t = tx.open_table(META)?;
    t.insert(key, v.to_le_bytes().as_slice())?;
    Ok(())
}

/// Brings the file to `target`: creates a new store, migrates an older one,
/// refuses a newer one, and rebuilds derived indexes of another version.
///
/// Checks in a read transaction first: an up-to-date file is not written
/// (no commit, no fsync), so opening works on read-only media and a full
/// disk, and costs nothing.
pub(crate) fn prepare(db: &Database, path: &Path, target: u32) -> StoreResult<()> {
    if up_to_date(db, target)? {
        return Ok(());
    }
    let tx = db.begin_write()?;
    let has_tables =
        tx.list_tables()?.next().is_some() || tx.list_multimap_tables()?.next().is_some();
    let version = match read_u32(&tx, meta::SCHEMA)? {
        Some(v) => v,
        None if has_tables => {
            return Err(StoreError::Corrupt {
                path: path.display().to_string(),
                reason: "the file is a redb database but not an AmoSync store".into(),
            });
        }
        None => {
            // A new file: every table, at the current versions.
            drop(WriteTx::new(&tx, 0)?);
            write_u32(&tx, meta::SCHEMA, target)?;
            write_u32(&tx, meta::INDEX, INDEX_VERSION)?;
            tx.commit()?;
            return Ok(());
        }
    };
    if version > target {
        return Err(StoreError::TooNew {
            found: version,
            supported: target,
        });
    }
    let rebuild = run_migrations(&tx, version, target, MIGRATIONS)?;
    if rebuild || read_u32(&tx, meta::INDEX)? != Some(INDEX_VERSION) {
        tracing::info!("rebuilding the store's derived indexes");
        rebuild_derived(&tx)?;
        write_u32(&tx, meta::INDEX, INDEX_VERSION)?;
    }
    tx.commit()?;
    Ok(())
}

/// Whether the file is at `target` with the current derived indexes and
/// every table present (nothing to write). [`StoreError::TooNew`] for a newer
/// file; anything unexpected is left to the write path to judge.
fn up_to_date(db: &Database, target: u32) -> StoreResult<bool> {
    let tx = db.begin_read()?;
    let meta_t = match tx.open_table(META) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    let read = |key: &str| -> StoreResult<Option<u32>> {
        Ok(meta_t.get(key)?.and_then(|v| meta_u32(v.value())))
    };
    match read(meta::SCHEMA)? {
        Some(v) if v > target => {
            return Err(StoreError::TooNew {
                found: v,
                supported: target,
            });
        }
        Some(v) if v == target => {}
        _ => return Ok(false),
    }
    if read(meta::INDEX)? != Some(INDEX_VERSION) {
        return Ok(false);
    }
    let tables: Vec<String> = tx
        .list_tables()?
        .map(|h| redb::TableHandle::name(&h).to_string())
        .collect();
    let multimaps: Vec<String> = tx
        .list_multimap_tables()?
        .map(|h| redb::MultimapTableHandle::name(&h).to_string())
        .collect();
    let (want_tables, want_multimaps) = table_names();
    Ok(want_tables.iter().all(|n| tables.contains(n))
        && want_multimaps.iter().all(|n| multimaps.contains(n)))
}

/// Runs the steps from `from` up to `to`; returns whether derived indexes
/// must be rebuilt.
pub(crate) fn run_migrations(
    tx: &WriteTransaction,
    from: u32,
    to: u32,
    steps: &[Migration],
) -> StoreResult<bool> {
    let mut v = from;
    let mut rebuild = false;
    while v < to {
        let step = steps.iter().find(|m| m.from == v).ok_or_else(|| {
            StoreError::Record(format!(
                "no migration from store schema {v}; move the file aside and run `amosync sync`"
            ))
        })?;
        tracing::info!(from = v, what = step.what, "migrating the store");
        (step.run)(tx)?;
        rebuild |= step.rebuild_derived;
        v += 1;
        write_u32(tx, meta::SCHEMA, v)?;
    }
    Ok(rebuild)
}

const BATCH: usize = 10_000;

/// Reads `(key, value)` rows of a u64-keyed JSON table in batches.
fn for_each_batch(
    tx: &WriteTransaction,
    def: redb::TableDefinition<u64, &'static [u8]>,
    mut f: impl FnMut(Vec<(u64, Vec<u8>)>) -> StoreResult<()>,
) -> StoreResult<()> {
    let mut start = 0u64;
    loop {
        let batch: Vec<(u64, Vec<u8>)> = {
            let t = tx.open_table(def)?;
            let mut b = Vec::with_capacity(BATCH);
            for row in t.range(start..)?.take(BATCH) {
                let (k, v) = row?;
                b.push((k.value(), v.value().to_vec()));
            }
            b
        };
        let Some(last) = batch.last().map(|r| r.0) else {
            return Ok(());
        };
        f(batch)?;
        match last.checked_add(1) {
            Some(n) => start = n,
            None => return Ok(()),
        }
    }
}

/// Drops and rebuilds every derived table from the primary records. A lost
/// lead's last open status is kept from the old facts, else learnt from the
/// status history.
pub(crate) fn rebuild_derived(tx: &WriteTransaction) -> StoreResult<()> {
    // Observed open statuses are not in the records: keep them.
    let mut seen: Vec<(u64, (i64, u64, u64))> = Vec::new();
    {
        let t = tx.open_table(LEAD_FACTS)?;
        for row in t.iter()? {
            let (k, v) = row?;
            let f = Facts::decode(v.value());
            if f.last_open != 0 {
                seen.push((k.value(), f.seen()));
            }
        }
    }
    tx.delete_table(LEAD_FACTS)?;
    tx.delete_table(FUNNEL_AGG)?;
    tx.delete_table(LEADS_BY_UPDATED)?;
    tx.delete_table(TALKS_BY_ACTIVITY)?;
    tx.delete_table(LEAD_SEARCH)?;
    tx.delete_table(CONTACT_SEARCH)?;
    tx.delete_multimap_table(NOTES_BY_ENTITY)?;
    for def in [CONTACT_LEADS, TALKS_BY_LEAD, TALKS_BY_CONTACT] {
        tx.delete_multimap_table(def)?;
    }
    tx.delete_multimap_table(LEGACY_NOTES_BY_ENTITY)?;
    tx.delete_multimap_table(MSG_BY_TALK)?;
    tx.delete_multimap_table(MSG_BY_LEAD)?;
    {
        let mut t = tx.open_table(LEAD_FACTS)?;
        for (id, s) in seen {
            let f = Facts {
                absent: true,
                ..Facts::default()
            }
            .with_seen(s);
            t.insert(id, &f.encode())?;
        }
    }

    // Primary records are read in batches; the WriteTx is opened per batch
    // so the tables it holds never overlap the reader.
    for_each_batch(tx, LEADS, |batch| {
        let mut w = WriteTx::new(tx, 0)?;
        for (id, bytes) in batch {
            let rec: LeadRecord = from_json(&bytes, "a stored lead")?;
            w.index_lead(id, None, Some(&rec))?;
        }
        w.finish()
    })?;
    let mut changes: Vec<crate::model::StatusChange> = Vec::new();
    {
        let t = tx.open_table(HISTORY)?;
        for row in t.iter()? {
            let (_, v) = row?;
            changes.push(from_json(v.value(), "a stored status change")?);
        }
    }
    {
        let mut w = WriteTx::new(tx, 0)?;
        for c in &changes {
            w.observe_change(c)?;
        }
        w.finish()?;
    }
    for_each_batch(tx, CONTACTS, |batch| {
        let mut w = WriteTx::new(tx, 0)?;
        for (id, bytes) in batch {
            let rec: ContactRecord = from_json(&bytes, "a stored contact")?;
            w.index_contact(id, Some(&rec))?;
        }
        w.finish()
    })?;
    for_each_batch(tx, NOTES, |batch| {
        let mut t = tx.open_multimap_table(NOTES_BY_ENTITY)?;
        for (id, bytes) in batch {
            let rec: NoteRecord = from_json(&bytes, "a stored note")?;
            t.insert(crate::entities::note_key(&rec.note, None), id)?;
        }
        Ok(())
    })?;
    // `to_confirm` is primary (it also holds ids only catch-up knows), so it
    // is kept; talks whose stored version the API never confirmed (webhook
    // hints, placeholders built from messages, also from stores written
    // before the list existed) are added to it.
    let talk_code = crate::model::Confirm::Talk.code();
    for_each_batch(tx, TALKS, |batch| {
        let mut by_lead = tx.open_multimap_table(TALKS_BY_LEAD)?;
        let mut by_contact = tx.open_multimap_table(TALKS_BY_CONTACT)?;
        let mut to_confirm = tx.open_table(TO_CONFIRM)?;
        let mut by_activity = tx.open_table(TALKS_BY_ACTIVITY)?;
        for (id, bytes) in batch {
            let rec: TalkRecord = from_json(&bytes, "a stored talk")?;
            by_activity.insert((crate::chats::activity(&rec), id), ())?;
            if rec.sync.origin != crate::model::Origin::Api
                && to_confirm.get((talk_code, id))?.is_none()
            {
                to_confirm.insert((talk_code, id), rec.sync.stored_at_ms)?;
            }
            if let Some(l) = crate::chats::lead_of(&rec.talk) {
                by_lead.insert(l, id)?;
            }
            if let Some(c) = rec.talk.contact_id {
                by_contact.insert(c, id)?;
            }
        }
        Ok(())
    })?;
    crate::retention::recount_log_bytes(tx)?;
    let msgs: Vec<ChatMessage> = {
        let t = tx.open_table(MESSAGES)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let (_, v) = row?;
            out.push(from_json(v.value(), "a stored chat message")?);
        }
        out
    };
    let mut by_talk = tx.open_multimap_table(MSG_BY_TALK)?;
    let mut by_lead = tx.open_multimap_table(MSG_BY_LEAD)?;
    for m in &msgs {
        if let Some(t) = m.talk_id {
            by_talk.insert(t, m.id.as_str())?;
        }
        if let Some(l) = m.lead_id {
            by_lead.insert(l, m.id.as_str())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// An in-memory file that counts writes and fsyncs, and can fail them
    /// like a full disk.
    #[derive(Debug, Default)]
    struct Probe {
        mem: redb::backends::InMemoryBackend,
        writes: AtomicUsize,
        syncs: AtomicUsize,
        full: AtomicBool,
    }

    #[derive(Debug, Clone, Default)]
    struct Disk(Arc<Probe>);

    impl Disk {
        fn full() -> std::io::Error {
            std::io::Error::from(std::io::ErrorKind::StorageFull)
        }
        fn open(&self) -> Database {
            Database::builder()
                .create_with_backend(self.clone())
                .expect("open")
        }
        fn reset(&self) {
            self.0.writes.store(0, Ordering::SeqCst);
            self.0.syncs.store(0, Ordering::SeqCst);
        }
        fn counts(&self) -> (usize, usize) {
            (
                self.0.writes.load(Ordering::SeqCst),
                self.0.syncs.load(Ordering::SeqCst),
            )
        }
    }

    impl redb::StorageBackend for Disk {
        fn len(&self) -> Result<u64, std::io::Error> {
            self.0.mem.len()
        }
        fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
            self.0.mem.read(offset, out)
        }
        fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
            if self.0.full.load(Ordering::SeqCst) {
                return Err(Disk::full());
            }
            self.0.writes.fetch_add(1, Ordering::SeqCst);
            self.0.mem.set_len(len)
        }
        fn sync_data(&self) -> Result<(), std::io::Error> {
            if self.0.full.load(Ordering::SeqCst) {
                return Err(Disk::full());
            }
            self.0.syncs.fetch_add(1, Ordering::SeqCst);
            self.0.mem.sync_data()
        }
        fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
            if self.0.full.load(Ordering::SeqCst) {
                return Err(Disk::full());
            }
            self.0.writes.fetch_add(1, Ordering::SeqCst);
            self.0.mem.write(offset, data)
        }
    }

    #[test]
    fn open_of_an_up_to_date_store_neither_writes_nor_syncs() {
        let disk = Disk::default();
        let path = Path::new("probe.redb");
        {
            let db = disk.open();
            disk.reset();
            prepare(&db, path, crate::SCHEMA_VERSION).expect("create");
            assert!(disk.counts().1 > 0, "a new store is committed");
        }
        for _ in 0..2 {
            let db = disk.open();
            disk.reset();
            prepare(&db, path, crate::SCHEMA_VERSION).expect("reopen");
            assert_eq!(disk.counts(), (0, 0), "opening an up-to-date store wrote");
        }
        // A stale index version is rebuilt: that open writes.
        {
            let db = disk.open();
            let tx = db.begin_write().expect("tx");
            write_u32(&tx, meta::INDEX, INDEX_VERSION - 1).expect("index");
            tx.commit().expect("commit");
            disk.reset();
            prepare(&db, path, crate::SCHEMA_VERSION).expect("rebuild");
            assert!(disk.counts().1 > 0);
        }
        let db = disk.open();
        disk.reset();
        prepare(&db, path, crate::SCHEMA_VERSION).expect("reopen");
        assert_eq!(disk.counts(), (0, 0));
    }

    #[test]
    fn a_full_disk_is_io_not_corrupt() {
        let disk = Disk::default();
        let path = Path::new("probe.redb");
        let db = disk.open();
        prepare(&db, path, crate::SCHEMA_VERSION).expect("create");
        // Needs a rebuild, and the disk is full: a failed commit is `Io`
        // (retry later), never `Corrupt` (which says to move the file aside).
        let tx = db.begin_write().expect("tx");
        write_u32(&tx, meta::INDEX, INDEX_VERSION - 1).expect("index");
        tx.commit().expect("commit");
        disk.0.full.store(true, Ordering::SeqCst);
        let err = prepare(&db, path, crate::SCHEMA_VERSION)
            .map_err(|e| e.at(path))
            .expect_err("full disk");
        assert!(matches!(err, StoreError::Io(_)), "{err:?}");
        assert!(err.to_string().contains("free disk space"), "{err}");
        // An up-to-date store still opens on a full (or read-only) disk.
        disk.0.full.store(false, Ordering::SeqCst);
        drop(db);
        let db = disk.open();
        prepare(&db, path, crate::SCHEMA_VERSION).expect("rebuilt");
        disk.0.full.store(true, Ordering::SeqCst);
        prepare(&db, path, crate::SCHEMA_VERSION).expect("no write needed");
        disk.0.full.store(false, Ordering::SeqCst);
    }

    #[test]
    fn damage_maps_to_corrupt_with_the_path() {
        let err = crate::codec::redb_error(redb::Error::Corrupted("bad page".into()))
            .at(Path::new("/d/s.redb"));
        assert!(
            matches!(&err, StoreError::Corrupt { path, .. } if path == "/d/s.redb"),
            "{err:?}"
        );
        let err = crate::codec::redb_error(redb::Error::Io(std::io::Error::from(
            std::io::ErrorKind::StorageFull,
        )));
        assert!(matches!(err, StoreError::Io(_)), "{err:?}");
    }

    fn mark(tx: &WriteTransaction, key: &str) -> StoreResult<()> {
        let mut t = tx.open_table(META)?;
        t.insert(key, [1u8].as_slice())?;
        Ok(())
    }

    #[test]
    fn migrations_run_step_by_step() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Database::create(dir.path().join("m.redb")).expect("db");
        let steps = [
            Migration {
                from: 1,
                what: "second",
                run: |tx| mark(tx, "step1"),
                rebuild_derived: true,
            },
            Migration {
                from: 0,
                what: "first",
                run: |tx| mark(tx, "step0"),
                rebuild_derived: false,
            },
        ];
        let tx = db.begin_write().expect("tx");
        assert!(!run_migrations(&tx, 0, 1, &steps).expect("0→1"));
        assert_eq!(read_u32(&tx, meta::SCHEMA).expect("read"), Some(1));
        assert!(run_migrations(&tx, 1, 2, &steps).expect("1→2"));
        assert_eq!(read_u32(&tx, meta::SCHEMA).expect("read"), Some(2));
        {
            let t = tx.open_table(META).expect("meta");
            assert!(t.get("step0").expect("get").is_some());
            assert!(t.get("step1").expect("get").is_some());
        }
        let err = run_migrations(&tx, 2, 3, &steps).expect_err("no step from 2");
        assert!(err.to_string().contains("no migration from store schema 2"));
        assert!(MIGRATIONS.iter().all(|m| m.from < crate::SCHEMA_VERSION));
    }
}
