//! The engine's retention task on a real store file, with an injected
//! clock: it prunes settled entries past the retention (never unapplied
//! ones), compacts once the store is quiet, prunes again as time passes,
//! and stops when told.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use amosync_store::{EventLogQuery, EventOutcome, RawEvent, Store};
use amosync_sync::Clock;
use amosync_sync::retention::{RetentionConfig, days, run};

const DAY_MS: i64 = 86_400_000;
const START_MS: i64 = 1_760_000_000_000;
/// Every wait below polls at most this many times.
const POLLS: usize = 400;

struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// `count` entries received at `at_ms`; all applied except the first
/// `pending`.
fn log(s: &Store, count: u64, pending: u64, at_ms: i64) -> Vec<u64> {
    let events: Vec<RawEvent> = (0..count)
        .map(|i| RawEvent {
            received_at_ms: at_ms + i as i64,
            body: vec![b'a' + (i % 26) as u8; 2_000],
        })
        .collect();
    let seqs = s.append_events(&events).unwrap();
    let done = seqs[pending as usize..].to_vec();
    s.write(|w| {
        for seq in &done {
            w.mark_event(*seq, &EventOutcome::Applied { events: 1 })?;
        }
        Ok(())
    })
    .unwrap();
    seqs
}

fn seqs(s: &Store) -> Vec<u64> {
    s.events(&EventLogQuery {
        limit: Some(usize::MAX),
        ..EventLogQuery::default()
    })
    .unwrap()
    .into_iter()
    .map(|e| e.seq)
    .collect()
}

/// Polls `done` every 25 ms, at most [`POLLS`] times.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..POLLS {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{what} did not happen within {POLLS} polls");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_task_prunes_compacts_and_follows_the_clock() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store.redb")).unwrap();
    let old = log(&store, 20_000, 10, START_MS - 40 * DAY_MS);
    let recent = log(&store, 100, 0, START_MS - 2 * DAY_MS);
    let file_before = store.file_len().unwrap();

    let clock = Arc::new(TestClock(AtomicI64::new(START_MS)));
    let config = RetentionConfig {
        keep_for: days(30),
        every: Duration::from_millis(200),
        first_pass_after: Duration::ZERO,
        tick: Duration::from_millis(20),
        pause: Duration::from_millis(1),
        batch: 500,
        compact_min_freed: 1 << 20,
        // The newest entry is two days old: the store counts as quiet.
        compact_after_idle: Duration::from_secs(3600),
        ..RetentionConfig::default()
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(run(store.clone(), clock.clone(), config, stop_rx));

    // The old settled entries go; the 10 old unapplied and the recent stay.
    let mut want: Vec<u64> = old[..10].to_vec();
    want.extend(&recent);
    eventually("the first pass", || seqs(&store) == want).await;
    // The file shrinks once the task compacts.
    eventually("the compaction", || {
        store.file_len().unwrap() < file_before / 4
    })
    .await;

    // Thirty days later, the recent entries are past the retention too.
    clock.0.fetch_add(30 * DAY_MS, Ordering::SeqCst);
    eventually("the next pass", || seqs(&store) == old[..10]).await;
    assert_eq!(store.pending_event_count().unwrap(), 10);

    stop_tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the task stops when told")
        .unwrap();
}
