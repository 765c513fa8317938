//! The event log writer: **group commit** of raw webhook bodies.
//!
//! Every accepted webhook is handed to one writer task through a bounded
//! queue together with a oneshot reply. The writer takes the first body,
//! then drains whatever else is already queued (up to
//! [`IngestConfig::max_batch_bodies`] bodies / [`IngestConfig::max_batch_bytes`]),
//! makes the whole batch durable with **one** [`EventSink::append`] (one
//! redb commit, on `spawn_blocking`), answers every waiting request, and
//! wakes the applier. Under load the batches grow by themselves: while one
//! commit runs, the next batch queues up. The receiver answers 200 only
//! after its body's commit returned, so nothing acknowledged is ever lost.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use amosync_store::{RawEvent, Store};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;

/// Where the writer makes bodies durable (the store; a fake in tests).
pub trait EventSink: Send + Sync + 'static {
    /// Appends `events` in one durable commit and returns their sequence numbers.
    fn append(&self, events: &[RawEvent]) -> Result<Vec<u64>, String>;
}

impl EventSink for Store {
    fn append(&self, events: &[RawEvent]) -> Result<Vec<u64>, String> {
        self.append_events(events).map_err(|e| e.to_string())
    }
}

/// Group commit settings.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// Most bodies per commit (default 512).
    pub max_batch_bodies: usize,
    /// Most body bytes per commit (default 4 MiB; one body may exceed it alone).
    pub max_batch_bytes: usize,
    /// Bodies waiting for the writer before senders wait (default 8,192).
    /// Their bytes are bounded before they get here: the receiver reserves
    /// every body in [`crate::serve_limits::BodyBudget`] (32 MiB in flight)
    /// until its answer, so the queue never holds more than that.
    pub queue: usize,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            max_batch_bodies: 512,
            max_batch_bytes: 4 * 1024 * 1024,
            queue: 8192,
        }
    }
}

/// Why a body was not made durable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    /// The writer has stopped (engine shutting down).
    #[error("the event log writer has stopped")]
    Stopped,
    /// The commit failed (disk full, I/O error, …).
    #[error("the event log could not be written: {0}")]
    Store(String),
}

/// Counters shared by the writer and whoever reports status.
#[derive(Debug, Default)]
pub struct IngestStats {
    /// Bodies made durable.
    pub committed: AtomicU64,
    /// Commits made.
    pub commits: AtomicU64,
    /// Bodies handed in and not answered yet.
    pub in_flight: AtomicU64,
    /// Bodies whose commit failed.
    pub failed: AtomicU64,
    /// Microseconds spent in commits, all together.
    pub commit_us: AtomicU64,
    /// The slowest commit, in microseconds.
    pub max_commit_us: AtomicU64,
}

struct Job {
    body: Vec<u8>,
    received_at_ms: i64,
    reply: oneshot::Sender<Result<u64, IngestError>>,
}

/// Hands bodies to the writer. Cheap to clone; the writer stops once every
/// handle is dropped and the queue is drained.
#[derive(Clone)]
pub struct IngestHandle {
    tx: mpsc::Sender<Job>,
    stats: Arc<IngestStats>,
}

impl std::fmt::Debug for IngestHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestHandle").finish_non_exhaustive()
    }
}

impl IngestHandle {
    /// Makes `body` durable; returns its log sequence number once committed.
    pub async fn submit(&self, body: Vec<u8>, received_at_ms: i64) -> Result<u64, IngestError> {
        let (reply, answer) = oneshot::channel();
        self.stats.in_flight.fetch_add(1, Ordering::SeqCst);
        let job = Job {
            body,
            received_at_ms,
            reply,
        };
        let result = match self.tx.send(job).await {
            Ok(()) => answer.await.unwrap_or(Err(IngestError::Stopped)),
            Err(_) => Err(IngestError::Stopped),
        };
        self.stats.in_flight.fetch_sub(1, Ordering::SeqCst);
        result
    }

    /// The shared counters.
    pub fn stats(&self) -> &Arc<IngestStats> {
        &self.stats
    }
}

/// Starts the writer. `committed` is notified after every successful commit
/// (the applier waits on it).
pub fn spawn(
    sink: Arc<dyn EventSink>,
    committed: Arc<Notify>,
    config: IngestConfig,
) -> (IngestHandle, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(config.queue.max(1));
    let stats = Arc::new(IngestStats::default());
    let task = tokio::spawn(writer(sink, rx, committed, config, stats.clone()));
    (IngestHandle { tx, stats }, task)
}

/// Takes jobs already queued after `first`, within the batch limits.
fn drain(first: Job, rx: &mut mpsc::Receiver<Job>, config: &IngestConfig) -> Vec<Job> {
    let mut bytes = first.body.len();
    let mut batch = vec![first];
    while batch.len() < config.max_batch_bodies && bytes < config.max_batch_bytes {
        match rx.try_recv() {
            Ok(job) => {
                bytes += job.body.len();
                batch.push(job);
            }
            Err(_) => break,
        }
    }
    batch
}

async fn writer(
    sink: Arc<dyn EventSink>,
    mut rx: mpsc::Receiver<Job>,
    committed: Arc<Notify>,
    config: IngestConfig,
    stats: Arc<IngestStats>,
) {
    tracing::debug!("event log writer started");
    while let Some(first) = rx.recv().await {
        let batch = drain(first, &mut rx, &config);
        let mut replies = Vec::with_capacity(batch.len());
        let mut events = Vec::with_capacity(batch.len());
        for job in batch {
            replies.push(job.reply);
            events.push(RawEvent {
                received_at_ms: job.received_at_ms,
                body: job.body,
            });
        }
        let n = events.len();
        let sink = sink.clone();
        let started = std::time::Instant::now();
        let result = tokio::task::spawn_blocking(move || sink.append(&events))
            .await
            .unwrap_or_else(|e| Err(format!("the commit task failed: {e}")));
        let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        stats.commit_us.fetch_add(us, Ordering::Relaxed);
        stats.max_commit_us.fetch_max(us, Ordering::Relaxed);
        match result {
            Ok(seqs) if seqs.len() == n => {
                stats.committed.fetch_add(n as u64, Ordering::SeqCst);
                stats.commits.fetch_add(1, Ordering::SeqCst);
                tracing::trace!(bodies = n, elapsed_us = us, "event log commit");
                // Wake the applier before answering: by the time a sender
                // sees its 200, the applier is already on its way.
                committed.notify_one();
                for (reply, seq) in replies.into_iter().zip(seqs) {
                    let _ = reply.send(Ok(seq));
                }
            }
            Ok(seqs) => {
                // Should not happen; the bodies are durable but the mapping is
                // unknown. Still durable, so acknowledge with 0.
                tracing::error!(
                    bodies = n,
                    seqs = seqs.len(),
                    "event log returned a wrong number of sequence numbers"
                );
                stats.committed.fetch_add(n as u64, Ordering::SeqCst);
                committed.notify_one();
                for reply in replies {
                    let _ = reply.send(Ok(0));
                }
            }
            Err(e) => {
                tracing::error!(bodies = n, error = %e, "event log commit failed; the webhooks are answered 503 so amoCRM retries them");
                stats.failed.fetch_add(n as u64, Ordering::SeqCst);
                for reply in replies {
                    let _ = reply.send(Err(IngestError::Store(e.clone())));
                }
            }
        }
    }
    tracing::debug!("event log writer stopped");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    /// Records batch sizes; fails when told to; optionally slow.
    #[derive(Default)]
    struct FakeSink {
        batches: Mutex<Vec<usize>>,
        next: AtomicU64,
        fail: std::sync::atomic::AtomicBool,
        delay_ms: u64,
    }

    impl EventSink for FakeSink {
        fn append(&self, events: &[RawEvent]) -> Result<Vec<u64>, String> {
            if self.delay_ms > 0 {
                std::thread::sleep(Duration::from_millis(self.delay_ms));
            }
            if self.fail.load(Ordering::SeqCst) {
                return Err("disk full".into());
            }
            self.batches
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(events.len());
            Ok(events
                .iter()
                .map(|_| self.next.fetch_add(1, Ordering::SeqCst) + 1)
                .collect())
        }
    }

    #[tokio::test]
    async fn one_body_is_committed_and_numbered() {
        let sink = Arc::new(FakeSink::default());
        let notify = Arc::new(Notify::new());
        let (handle, task) = spawn(sink.clone(), notify.clone(), IngestConfig::default());
        assert_eq!(handle.submit(b"a=1".to_vec(), 1).await, Ok(1));
        assert_eq!(handle.submit(b"a=2".to_vec(), 2).await, Ok(2));
        tokio::time::timeout(Duration::from_secs(1), notify.notified())
            .await
            .expect("the applier is woken");
        drop(handle);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the writer stops when every handle is gone")
            .expect("no panic");
        assert_eq!(sink.next.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_bodies_are_grouped_into_few_commits() {
        let sink = Arc::new(FakeSink {
            delay_ms: 5,
            ..FakeSink::default()
        });
        let (handle, task) = spawn(
            sink.clone(),
            Arc::new(Notify::new()),
            IngestConfig::default(),
        );
        let mut joins = Vec::new();
        for i in 0..2000 {
            let h = handle.clone();
            joins.push(tokio::spawn(async move {
                h.submit(format!("n={i}").into_bytes(), i).await
            }));
        }
        let mut seqs = Vec::new();
        for j in joins {
            seqs.push(j.await.expect("join").expect("committed"));
        }
        seqs.sort_unstable();
        seqs.dedup();
        assert_eq!(seqs.len(), 2000, "every body has its own sequence number");
        let batches = sink
            .batches
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        assert_eq!(batches.iter().sum::<usize>(), 2000);
        assert!(
            batches.len() < 200,
            "group commit: {} commits for 2000 bodies",
            batches.len()
        );
        assert!(batches.iter().all(|b| *b <= 512));
        assert_eq!(handle.stats().committed.load(Ordering::SeqCst), 2000);
        assert_eq!(handle.stats().in_flight.load(Ordering::SeqCst), 0);
        drop(handle);
        task.await.expect("writer");
    }

    #[tokio::test]
    async fn a_failed_commit_is_reported_to_every_sender() {
        let sink = Arc::new(FakeSink::default());
        sink.fail.store(true, Ordering::SeqCst);
        let (handle, _task) = spawn(
            sink.clone(),
            Arc::new(Notify::new()),
            IngestConfig::default(),
        );
        let got = handle.submit(b"a=1".to_vec(), 1).await;
        assert_eq!(got, Err(IngestError::Store("disk full".into())));
        sink.fail.store(false, Ordering::SeqCst);
        assert_eq!(
            handle.submit(b"a=1".to_vec(), 1).await,
            Ok(1),
            "the writer keeps going"
        );
        assert_eq!(handle.stats().failed.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn drain_respects_the_limits() {
        let config = IngestConfig {
            max_batch_bodies: 3,
            max_batch_bytes: 10,
            queue: 16,
        };
        let (tx, mut rx) = mpsc::channel(16);
        let job = |n: usize| {
            let (reply, _) = oneshot::channel();
            Job {
                body: vec![b'x'; n],
                received_at_ms: 0,
                reply,
            }
        };
        for _ in 0..5 {
            tx.try_send(job(2)).expect("queued");
        }
        assert_eq!(drain(job(2), &mut rx, &config).len(), 3, "max bodies");
        assert_eq!(drain(job(9), &mut rx, &config).len(), 2, "max bytes");
        assert_eq!(
            drain(job(20), &mut rx, &config).len(),
            1,
            "a big body goes alone"
        );
    }
}
