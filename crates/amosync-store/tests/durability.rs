//! `Store::write_relaxed`: non-durable applier commits and the crash contract.
//!
//! A crash is simulated by a child process (this test binary, re-run with
//! an environment variable) that aborts without running any destructor, so
//! redb never gets to close the file.

mod common;

use std::path::Path;
use std::process::Command;

use amosync_store::{EventLogQuery, EventOutcome, Origin, RawEvent, Store};

const CHILD_ENV: &str = "AMOSYNC_STORE_RELAXED_CHILD";

fn events(n: i64) -> Vec<RawEvent> {
    (1..=n)
        .map(|i| RawEvent {
            received_at_ms: i,
            body: format!("event {i}").into_bytes(),
        })
        .collect()
}

/// Applies events 1 and 2 (a lead each, plus the mark) in one relaxed write.
fn apply_relaxed(s: &Store) {
    s.write_relaxed(|w| {
        for seq in [1u64, 2] {
            w.upsert_lead(&common::lead(seq, 10, 69641338, 100), Origin::Webhook)?;
            w.mark_event(seq, &EventOutcome::Applied { events: 1 })?;
        }
        Ok(())
    })
    .unwrap();
    // Visible at once to this process.
    let pending: Vec<u64> = s
        .pending_events(10)
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(pending, [3]);
    assert!(s.lead_record(1).unwrap().is_some());
}

/// The crashing side: runs only when re-executed by [`crash_after`].
#[test]
fn relaxed_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (mode, path) = spec.split_once(':').unwrap();
    let s = Store::open(Path::new(path)).unwrap();
    assert_eq!(s.append_events(&events(3)).unwrap(), [1, 2, 3]);
    apply_relaxed(&s);
    if mode == "durable-after" {
        assert_eq!(s.append_events(&events(1)).unwrap(), [4]);
    }
    // No destructor runs: redb's close never happens.
    std::process::abort();
}

fn crash_after(mode: &str, path: &Path) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "relaxed_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, format!("{mode}:{}", path.display()))
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "the child should have aborted: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // It got as far as the abort (its asserts passed).
    assert!(path.exists());
}

/// Each applied event is either still marked with its lead stored, or still
/// pending with its lead absent (one transaction: never half of it). Returns
/// whether the relaxed write survived.
fn marked_or_pending(s: &Store) -> bool {
    let log = s.events(&EventLogQuery::default()).unwrap();
    assert_eq!(
        log.iter().map(|e| e.seq).take(3).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let pending: Vec<u64> = s
        .pending_events(10)
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    let survived = !pending.contains(&1);
    for seq in [1u64, 2] {
        let e = &log[seq as usize - 1];
        if survived {
            assert_eq!(e.outcome, Some(EventOutcome::Applied { events: 1 }));
            assert!(!pending.contains(&seq));
            assert!(s.lead_record(seq).unwrap().is_some());
        } else {
            assert_eq!(e.outcome, None);
            assert!(pending.contains(&seq), "event {seq} lost: {pending:?}");
            assert!(s.lead_record(seq).unwrap().is_none());
        }
    }
    // Event 3 was never applied: always pending.
    assert!(pending.contains(&3));
    survived
}

#[test]
fn relaxed_write_then_crash_is_marked_or_still_pending() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    crash_after("crash", &path);
    let s = Store::open(&path).unwrap();
    let survived = marked_or_pending(&s);
    eprintln!("relaxed write survived a process crash: {survived}");
    // Replaying what is pending converges either way.
    let pending: Vec<u64> = s
        .pending_events(10)
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    s.write_relaxed(|w| {
        for seq in pending {
            w.upsert_lead(&common::lead(seq, 10, 69641338, 100), Origin::Webhook)?;
            w.mark_event(seq, &EventOutcome::Applied { events: 1 })?;
        }
        Ok(())
    })
    .unwrap();
    assert!(s.pending_events(10).unwrap().is_empty());
    assert_eq!(s.status().unwrap().leads, 3);
}

#[test]
fn relaxed_write_is_persisted_by_a_later_durable_commit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    crash_after("durable-after", &path);
    let s = Store::open(&path).unwrap();
    assert!(marked_or_pending(&s), "the durable append must persist it");
    let pending: Vec<u64> = s
        .pending_events(10)
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(pending, [3, 4]);
    assert_eq!(s.status().unwrap().leads, 2);
}

#[test]
fn relaxed_write_then_plain_drop_is_marked_or_still_pending() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    {
        let s = Store::open(&path).unwrap();
        s.append_events(&events(3)).unwrap();
        apply_relaxed(&s);
        // Dropped without any durable commit after the relaxed one.
    }
    let s = Store::open(&path).unwrap();
    marked_or_pending(&s);
}

#[test]
fn failed_relaxed_write_leaves_nothing() {
    let (_d, s) = common::store();
    s.append_events(&events(1)).unwrap();
    let r: Result<(), _> = s.write_relaxed(|w| {
        w.upsert_lead(&common::lead(1, 1, 69641338, 1), Origin::Api)?;
        w.mark_event(1, &EventOutcome::Applied { events: 1 })?;
        Err(amosync_store::StoreError::Record("boom".into()))
    });
    assert!(r.is_err());
    assert!(s.lead_record(1).unwrap().is_none());
    assert_eq!(s.pending_events(10).unwrap().len(), 1);
}
