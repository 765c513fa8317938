//! The raw webhook event log: durable appends, pending list, display.

use redb::{Database, ReadableDatabase, ReadableTable};

use crate::codec::{decode_event, encode_event, meta_u64};
use crate::error::StoreResult;
use crate::model::{EventLogQuery, LoggedEvent, RawEvent};
use crate::tables::*;

/// Appends in one durable commit; returns the seqs.
pub(crate) fn append(db: &Database, events: &[RawEvent]) -> StoreResult<Vec<u64>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let tx = db.begin_write()?;
    let mut seqs = Vec::with_capacity(events.len());
    {
        let mut meta_t = tx.open_table(META)?;
        let mut log = tx.open_table(EVENTS)?;
        let mut pending = tx.open_table(EVENTS_PENDING)?;
        let mut seq = match meta_t.get(meta::EVENT_SEQ)? {
            Some(v) => meta_u64(v.value()).unwrap_or(0),
            None => 0,
        };
        // Never hand out a seq below one already in the log.
        if let Some((k, _)) = log.last()? {
            seq = seq.max(k.value());
        }
        let mut added = 0u64;
        for e in events {
            seq += 1;
            let bytes = encode_event(e.received_at_ms, None, &e.body)?;
            added += crate::retention::entry_bytes(bytes.len());
            log.insert(seq, bytes.as_slice())?;
            pending.insert(seq, ())?;
            seqs.push(seq);
        }
        meta_t.insert(meta::EVENT_SEQ, seq.to_le_bytes().as_slice())?;
        crate::retention::add_log_bytes(&mut meta_t, added as i64)?;
    }
    tx.commit()?;
    Ok(seqs)
}

/// Not applied yet, oldest first.
pub(crate) fn pending(db: &Database, limit: usize) -> StoreResult<Vec<LoggedEvent>> {
    pending_within(db, limit, usize::MAX)
}

/// Not applied yet, oldest first: at most `limit` entries, and no more once
/// their bodies reach `max_bytes` (the first entry is always included).
pub(crate) fn pending_within(
    db: &Database,
    limit: usize,
    max_bytes: usize,
) -> StoreResult<Vec<LoggedEvent>> {
    let tx = db.begin_read()?;
    let log = tx.open_table(EVENTS)?;
    let mut out = Vec::new();
    let mut bytes = 0usize;
    for row in tx.open_table(EVENTS_PENDING)?.iter()?.take(limit) {
        if !out.is_empty() && bytes >= max_bytes {
            break;
        }
        let (k, _) = row?;
        let seq = k.value();
        if let Some(v) = log.get(seq)? {
            out.push(decode_event(seq, v.value()).unwrap_or_else(|e| {
                // A damaged entry must not stall every later one: hand it
                // over with an empty body, which the applier rejects (and
                // `mark_event` then replaces the damaged bytes).
                tracing::warn!(seq, error = %e, "damaged event log entry; it will be marked rejected");
                LoggedEvent {
                    seq,
                    received_at_ms: 0,
                    body: Vec::new(),
                    outcome: None,
                }
            }));
            bytes = bytes.saturating_add(out.last().map_or(0, |e| e.body.len()));
        }
    }
    Ok(out)
}

/// For display.
pub(crate) fn list(db: &Database, q: &EventLogQuery) -> StoreResult<Vec<LoggedEvent>> {
    let tx = db.begin_read()?;
    let log = tx.open_table(EVENTS)?;
    let limit = q.limit.unwrap_or(100);
    let start = q.after.map_or(0, |a| a.saturating_add(1));
    let mut out = Vec::new();
    if q.pending_only {
        let pend = tx.open_table(EVENTS_PENDING)?;
        let range = pend.range(start..)?;
        let iter: Box<dyn Iterator<Item = _>> = if q.newest_first {
            Box::new(range.rev())
        } else {
            Box::new(range)
        };
        for row in iter.take(limit) {
            let (k, _) = row?;
            if let Some(v) = log.get(k.value())? {
                out.push(decode_event(k.value(), v.value())?);
            }
        }
    } else {
        let range = log.range(start..)?;
        let iter: Box<dyn Iterator<Item = _>> = if q.newest_first {
            Box::new(range.rev())
        } else {
            Box::new(range)
        };
        for row in iter.take(limit) {
            let (k, v) = row?;
            out.push(decode_event(k.value(), v.value())?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::{RawEvent, Store};

    #[test]
    fn pending_within_stops_at_the_byte_bound_but_takes_one_at_least() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&tmp.path().join("s.redb")).unwrap();
        let events: Vec<RawEvent> = (0..10)
            .map(|i| RawEvent {
                received_at_ms: i,
                body: vec![b'a'; 1000],
            })
            .collect();
        store.append_events(&events).unwrap();
        let seqs = |v: Vec<crate::LoggedEvent>| v.iter().map(|e| e.seq).collect::<Vec<_>>();
        // 1000 + 1000 < 2500, the third reaches it: three, oldest first.
        assert_eq!(
            seqs(store.pending_events_within(100, 2500).unwrap()),
            [1, 2, 3]
        );
        // The count limit still applies.
        assert_eq!(
            seqs(store.pending_events_within(2, 1 << 20).unwrap()),
            [1, 2]
        );
        // A body larger than the bound comes alone, never not at all.
        assert_eq!(seqs(store.pending_events_within(100, 10).unwrap()), [1]);
        assert_eq!(seqs(store.pending_events_within(100, 0).unwrap()), [1]);
        // Without a byte bound: everything.
        assert_eq!(store.pending_events(100).unwrap().len(), 10);
    }
}
