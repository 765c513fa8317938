//! The event log is bounded: settled entries past the retention are pruned
//! in short batches, unapplied ones and those inside the retention stay,
//! and compaction gives the space back to the file system (a real redb file).

mod common;

use amosync_store::{
    Compaction, EventLogQuery, EventOutcome, LoggedEvent, PruneRule, RawEvent, Store,
};
use common::*;

const DAY_MS: i64 = 86_400_000;
const NOW_MS: i64 = 1_760_000_000_000;
/// Rows built per commit (the fixture is built in big batches, fast).
const BUILD_BATCH: usize = 10_000;
/// Rows looked at per prune transaction (like the engine's task).
const PRUNE_BATCH: usize = 1_000;

/// A webhook-sized body (~300 bytes of form text), different per seq.
fn body(i: u64) -> Vec<u8> {
    let mut b = format!(
        "leads%5Bstatus%5D%5B0%5D%5Bid%5D={i}&leads%5Bstatus%5D%5B0%5D%5Bstatus_id%5D=69641338\
         &leads%5Bstatus%5D%5B0%5D%5Bpipeline_id%5D=8580102&account%5Bid%5D=31234567\
         &account%5Bsubdomain%5D=prokat&leads%5Bstatus%5D%5B0%5D%5Bname%5D="
    )
    .into_bytes();
    b.resize(300, b'x');
    b
}

/// Appends `count` entries received at `at_ms`, marks every one applied
/// except those `pending(i)` says, `rejected(i)` ones rejected; returns
/// their seqs.
fn build(
    s: &Store,
    count: u64,
    at_ms: i64,
    pending: impl Fn(u64) -> bool,
    rejected: impl Fn(u64) -> bool,
) -> Vec<u64> {
    let mut seqs = Vec::new();
    let mut i = 0u64;
    while i < count {
        let n = (count - i).min(BUILD_BATCH as u64);
        let events: Vec<RawEvent> = (i..i + n)
            .map(|j| RawEvent {
                received_at_ms: at_ms + j as i64,
                body: body(j),
            })
            .collect();
        let batch = s.append_events(&events).unwrap();
        s.write_relaxed(|w| {
            for (k, seq) in batch.iter().enumerate() {
                let j = i + k as u64;
                if pending(j) {
                    continue;
                }
                let outcome = if rejected(j) {
                    EventOutcome::Rejected {
                        code: "other_account".into(),
                        message: "the body names account 1".into(),
                    }
                } else {
                    EventOutcome::Applied { events: 1 }
                };
                w.mark_event(*seq, &outcome)?;
            }
            Ok(())
        })
        .unwrap();
        seqs.extend(batch);
        i += n;
    }
    seqs
}

/// Runs a whole pass (bounded: at most `limit` batches); returns removed.
fn prune_all(s: &Store, rule: PruneRule, limit: usize) -> u64 {
    let (mut from, mut removed) = (0u64, 0u64);
    for _ in 0..limit {
        let b = s.prune_events(rule, from, PRUNE_BATCH).unwrap();
        removed += b.removed;
        match b.next {
            Some(n) => from = n,
            None => return removed,
        }
    }
    panic!("the pass did not end within {limit} batches");
}

fn all(s: &Store) -> Vec<LoggedEvent> {
    s.events(&EventLogQuery {
        limit: Some(usize::MAX),
        ..EventLogQuery::default()
    })
    .unwrap()
}

#[test]
fn old_settled_entries_are_pruned_and_the_file_shrinks() {
    let (_d, s) = store();
    let old_at = NOW_MS - 40 * DAY_MS;
    // 100,000 settled old entries (every 50th rejected), plus 100 old
    // unapplied ones among them.
    let old = build(&s, 100_100, old_at, |j| j % 1001 == 500, |j| j % 50 == 7);
    let old_pending: Vec<u64> = old
        .iter()
        .enumerate()
        .filter(|(j, _)| *j as u64 % 1001 == 500)
        .map(|(_, seq)| *seq)
        .collect();
    assert_eq!(old_pending.len(), 100);
    // Inside the retention: 2,000 settled (some rejected) and 50 unapplied.
    let recent_at = NOW_MS - DAY_MS;
    let recent = build(&s, 2_050, recent_at, |j| j >= 2_000, |j| j % 10 == 3);

    let before = s.event_log_size().unwrap();
    assert_eq!(before.entries, 102_150);
    assert_eq!(before.pending, 150);
    assert!(before.bytes > 102_150 * 300, "{before:?}");
    let file_before = s.file_len().unwrap();

    let rule = PruneRule {
        cutoff_ms: NOW_MS - 30 * DAY_MS,
        max_settled: u64::MAX,
    };
    assert_eq!(prune_all(&s, rule, 1_000), 100_000);

    // Kept: every unapplied entry, old or recent, and every recent one.
    let left = all(&s);
    let left_seqs: Vec<u64> = left.iter().map(|e| e.seq).collect();
    let mut want: Vec<u64> = old_pending.clone();
    want.extend(&recent);
    assert_eq!(left_seqs, want);
    assert!(left.iter().take(100).all(|e| e.outcome.is_none()));
    assert_eq!(s.pending_events(1_000).unwrap().len(), 150);
    let recent_rejected = left
        .iter()
        .filter(|e| matches!(e.outcome, Some(EventOutcome::Rejected { .. })))
        .count();
    assert_eq!(recent_rejected, 200);

    // The byte count followed the removals and agrees with a recount.
    let after = s.event_log_size().unwrap();
    assert_eq!((after.entries, after.pending), (2_150, 150));
    assert!(after.bytes < before.bytes / 40, "{before:?} → {after:?}");
    s.rebuild_derived().unwrap();
    assert_eq!(s.event_log_size().unwrap().bytes, after.bytes);
    assert_eq!(s.status().unwrap().events_bytes, after.bytes);

    // A second pass finds nothing more.
    assert_eq!(prune_all(&s, rule, 10), 0);

    // Compaction gives the space back.
    let Compaction::Done {
        before: b,
        after: a,
    } = s.compact().unwrap()
    else {
        panic!("no transaction was open, yet compaction was refused");
    };
    assert!(a < b / 10, "the file did not shrink: {b} → {a}");
    assert!(a < file_before / 10, "{file_before} → {a}");
    assert_eq!(s.file_len().unwrap(), a);
    // Everything still reads, the applier's list too, and new appends
    // continue the seqs.
    assert_eq!(all(&s).len(), 2_150);
    let next = s
        .append_events(&[RawEvent {
            received_at_ms: NOW_MS,
            body: body(1),
        }])
        .unwrap();
    assert_eq!(next, [recent.last().unwrap() + 1]);
    drop(s);
    let reopened = Store::open(&_d.path().join("store.redb")).unwrap();
    assert_eq!(all(&reopened).len(), 2_151);
}

#[test]
fn the_cap_bounds_settled_entries_inside_the_retention() {
    let (_d, s) = store();
    let seqs = build(&s, 3_000, NOW_MS - DAY_MS, |j| j % 100 == 0, |_| false);
    let rule = PruneRule {
        cutoff_ms: NOW_MS - 30 * DAY_MS,
        max_settled: 1_000,
    };
    // 2,970 settled: the oldest 1,970 go; the 30 unapplied stay.
    assert_eq!(prune_all(&s, rule, 100), 1_970);
    let left = all(&s);
    assert_eq!(left.len(), 1_030);
    assert_eq!(left.iter().filter(|e| e.outcome.is_none()).count(), 30);
    assert_eq!(left.iter().filter(|e| e.outcome.is_some()).count(), 1_000);
    // The newest settled ones are those kept.
    assert_eq!(left.last().unwrap().seq, *seqs.last().unwrap());
}

#[test]
fn compaction_waits_for_open_transactions() {
    let (_d, s) = store();
    build(&s, 100, NOW_MS, |_| false, |_| false);
    // The applier's write transaction is open: refused, nothing waits.
    let other = s.clone();
    s.write(|_| {
        assert_eq!(other.compact().unwrap(), Compaction::Busy);
        Ok(())
    })
    .unwrap();
    assert!(matches!(s.compact().unwrap(), Compaction::Done { .. }));
    assert_eq!(all(&s).len(), 100);
}
