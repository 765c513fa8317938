//! Keeps the event log bounded while the engine runs.
//!
//! A minute after start, then every [`RetentionConfig::every`], a **pass**
//! removes settled (applied or rejected) log entries received longer than
//! [`RetentionConfig::keep_for`] ago, and the oldest settled ones beyond [`RetentionConfig::max_settled`]
//! ([`Store::prune_events`]). Entries waiting for the applier are never
//! removed. Each batch is one short write transaction of at most
//! [`RetentionConfig::batch`] rows, with a pause after it, so the
//! receiver's appends (redb has one writer) wait a few milliseconds at most.
//!
//! redb reuses the freed pages, so the file stops growing; to give the
//! space back, the task **compacts** ([`Store::compact`]) once enough was
//! freed and the store is idle: no webhook for
//! [`RetentionConfig::compact_after_idle`] (the applier has long caught up
//! by then; an entry it cannot apply stays pending and must not block this). A compaction holds the store alone for its length (seconds for
//! a large file), which is why it waits for a quiet moment; a webhook that
//! arrives meanwhile is answered once it ends, and if a transaction is open
//! redb refuses and the task tries again at its next tick.

use std::sync::Arc;
use std::time::Duration;

use amosync_store::{Compaction, PruneRule, Store, StoreError, StoreResult};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::clock::Clock;

/// Days a settled entry is kept by default.
pub const DEFAULT_KEEP_DAYS: u32 = 30;

/// How the event log is bounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionConfig {
    /// Settled entries older than this are removed (default 30 days).
    pub keep_for: Duration,
    /// At most this many settled entries are kept whatever their age
    /// (default 1,000,000).
    pub max_settled: u64,
    /// Time between passes (default 1 h).
    pub every: Duration,
    /// The first pass waits this long after start (default 1 min: the
    /// start-up replay and catch-up go first).
    pub first_pass_after: Duration,
    /// Rows looked at per write transaction (default 1,000).
    pub batch: usize,
    /// Pause after each batch (default 5 ms): the receiver's turn.
    pub pause: Duration,
    /// Compact only after this long without a webhook (default 10 min).
    pub compact_after_idle: Duration,
    /// Compact only once pruning freed at least this many bytes since the
    /// last compaction (default 16 MiB).
    pub compact_min_freed: u64,
    /// How often the idle check runs between passes (default 30 s).
    pub tick: Duration,
}

impl Default for RetentionConfig {
    fn default() -> RetentionConfig {
        RetentionConfig {
            keep_for: days(DEFAULT_KEEP_DAYS),
            max_settled: 1_000_000,
            every: Duration::from_secs(3600),
            first_pass_after: Duration::from_secs(60),
            batch: 1_000,
            pause: Duration::from_millis(5),
            compact_after_idle: Duration::from_secs(600),
            compact_min_freed: 16 << 20,
            tick: Duration::from_secs(30),
        }
    }
}

/// `n` days.
pub fn days(n: u32) -> Duration {
    Duration::from_secs(u64::from(n) * 86_400)
}

/// Batches a single pass runs at most (bounds a pass over a huge log; the
/// next pass goes on where this one stopped).
const MAX_BATCHES: usize = 100_000;

/// The rule of a pass starting at `now_ms`.
pub fn rule_at(now_ms: i64, config: &RetentionConfig) -> PruneRule {
    let keep_ms = i64::try_from(config.keep_for.as_millis()).unwrap_or(i64::MAX);
    PruneRule {
        cutoff_ms: now_ms.saturating_sub(keep_ms),
        max_settled: config.max_settled,
    }
}

/// Whether to compact now: enough freed, and the newest log entry (the
/// last webhook) at least `compact_after_idle` old.
pub fn compaction_due(
    freed: u64,
    newest_received_at_ms: Option<i64>,
    now_ms: i64,
    config: &RetentionConfig,
) -> bool {
    let idle_ms = i64::try_from(config.compact_after_idle.as_millis()).unwrap_or(i64::MAX);
    let quiet = newest_received_at_ms.is_none_or(|at| now_ms.saturating_sub(at) >= idle_ms);
    freed > 0 && freed >= config.compact_min_freed && quiet
}

/// What one pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Entries removed.
    pub removed: u64,
    /// Their bytes.
    pub removed_bytes: u64,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(StoreError::Io(format!("a store task failed: {e}"))))
}

/// One pass, batch by batch; ends early when `stop` changes.
pub async fn prune_pass(
    store: &Store,
    clock: &dyn Clock,
    config: &RetentionConfig,
    stop: &mut watch::Receiver<bool>,
) -> StoreResult<PassReport> {
    let rule = rule_at(clock.now_ms(), config);
    let mut report = PassReport::default();
    let mut from = 0u64;
    for _ in 0..MAX_BATCHES {
        let s = store.clone();
        let batch = config.batch;
        let b = blocking(move || s.prune_events(rule, from, batch)).await?;
        report.removed += b.removed;
        report.removed_bytes += b.removed_bytes;
        let Some(next) = b.next else { break };
        from = next;
        tokio::select! {
            () = tokio::time::sleep(config.pause) => {}
            _ = stop.changed() => break,
        }
    }
    Ok(report)
}

/// Compacts if [`compaction_due`]; returns whether it did.
pub async fn compact_if_due(
    store: &Store,
    clock: &dyn Clock,
    config: &RetentionConfig,
    freed: u64,
) -> StoreResult<bool> {
    let s = store.clone();
    let size = blocking(move || s.event_log_size()).await?;
    if !compaction_due(freed, size.newest_received_at_ms, clock.now_ms(), config) {
        return Ok(false);
    }
    let s = store.clone();
    match blocking(move || s.compact()).await? {
        Compaction::Done { before, after } => {
            tracing::info!(before, after, "compacted the store");
            Ok(true)
        }
        Compaction::Busy => Ok(false),
    }
}

/// The task: a pass `first_pass_after` the start and every `every`,
/// compaction when due.
pub async fn run(
    store: Store,
    clock: Arc<dyn Clock>,
    config: RetentionConfig,
    mut stop: watch::Receiver<bool>,
) {
    tokio::select! {
        () = tokio::time::sleep(config.first_pass_after) => {}
        _ = stop.changed() => return,
    }
    let mut freed = 0u64;
    loop {
        match prune_pass(&store, &*clock, &config, &mut stop).await {
            Ok(r) if r.removed > 0 => {
                tracing::info!(
                    removed = r.removed,
                    bytes = r.removed_bytes,
                    "pruned settled event log entries past the retention"
                );
                freed = freed.saturating_add(r.removed_bytes);
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "pruning the event log failed; it is retried at the next pass")
            }
        }
        let next_pass = Instant::now() + config.every;
        while Instant::now() < next_pass {
            if *stop.borrow() {
                return;
            }
            match compact_if_due(&store, &*clock, &config, freed).await {
                Ok(true) => freed = 0,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "compacting the store failed; it is retried later")
                }
            }
            let wait = config
                .tick
                .min(next_pass.saturating_duration_since(Instant::now()));
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stop.changed() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cutoff_is_the_retention_before_now() {
        let c = RetentionConfig::default();
        let r = rule_at(40 * 86_400_000, &c);
        assert_eq!(r.cutoff_ms, 10 * 86_400_000);
        assert_eq!(r.max_settled, 1_000_000);
        let forever = RetentionConfig {
            keep_for: Duration::MAX,
            ..c
        };
        assert_eq!(rule_at(5, &forever).cutoff_ms, 5 - i64::MAX);
    }

    #[test]
    fn compaction_waits_for_freed_space_and_a_quiet_store() {
        let c = RetentionConfig::default();
        let idle = 600_000;
        let now = 10_000_000;
        let enough = c.compact_min_freed;
        assert!(compaction_due(enough, Some(now - idle), now, &c));
        assert!(compaction_due(enough, None, now, &c));
        // Not enough freed, or a webhook just now.
        assert!(!compaction_due(enough - 1, Some(now - idle), now, &c));
        assert!(!compaction_due(enough, Some(now - idle + 1), now, &c));
        // Nothing freed: nothing to give back, whatever the threshold.
        let eager = RetentionConfig {
            compact_min_freed: 0,
            ..c
        };
        assert!(!compaction_due(0, None, now, &eager));
        assert!(compaction_due(1, None, now, &eager));
    }
}
