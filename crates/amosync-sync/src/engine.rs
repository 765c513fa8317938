//! The running engine: receiver + event log writer + applier + fetcher + periodic catch-up.
//!
//! [`Engine::start`] refuses a non-loopback address (a tunnel forwards the
//! public URL to 127.0.0.1), binds, and spawns:
//!
//! * the **receiver** (axum, graceful shutdown) and the **event log writer**
//!   (group commit, [`crate::ingest`]);
//! * the **applier**, which first replays whatever the log holds unapplied
//!   from before, then, woken by a log commit (or every second as a safety
//!   net), gathers entries for up to [`APPLY_GATHER`] (or until
//!   [`APPLY_GATHER_MIN`] are pending) and applies them in batches of
//!   [`APPLY_BATCH`]. Its transactions are relaxed (no fsync): the log is
//!   already durable, and whatever a crash takes from the applier's commits
//!   is still pending in the log and replayed at the next start (see
//!   [`crate::applier::apply_pending`]). The webhooks' ack path (receiver →
//!   log commit → 200) never waits for the applier, except for redb's single
//!   writer, which it holds a few milliseconds at a time;
//! * the **fetcher** ([`crate::fetcher`]), fed by the applier;
//! * the **catch-up** task: a pass at start (also forced when the receiver
//!   was down longer than [`DOWNTIME`], judged by `SyncState::receiver_alive_at`),
//!   then every `catchup_every`, and on [`EngineHandle::catch_up_now`];
//! * a **heartbeat** writing `receiver_alive_at` every [`HEARTBEAT`];
//! * a **status** publisher feeding a `watch` channel ([`EngineHandle::subscribe`]);
//! * the **retention** task ([`crate::retention`]): prunes settled log
//!   entries past the retention and compacts the file when idle.
//!
//! Nothing here logs the token or the path secret: URLs are logged with
//! `***` in place of the secret.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use amosync_store::Store;
use serde::Serialize;
use tokio::sync::{Notify, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::applier::apply_pending;
use crate::catchup::{CatchupOptions, CatchupReport, catch_up_metered};
use crate::clock::Clock;
use crate::error::{SyncError, api_stops};
use crate::fetcher::{FetchQueue, FetcherConfig};
use crate::ingest::{IngestConfig, IngestStats};
use crate::receiver::{BoundAccount, ReceiverState, ReceiverStats};
use crate::secret::WebhookSecret;
use crate::usage::{ApiMeter, usage_delta};
use crate::util::{read, write_counting};

/// How often `receiver_alive_at` is written.
pub const HEARTBEAT: Duration = Duration::from_secs(30);
/// A receiver silent for longer than this was down: catch up at start.
pub const DOWNTIME: Duration = Duration::from_secs(90);
/// Log entries the applier takes per `apply_pending` call (applied in
/// transactions of [`crate::applier::APPLY_TX_ENTRIES`]).
pub const APPLY_BATCH: usize = 512;
/// Woken by a log commit, the applier gathers entries for up to this long…
pub const APPLY_GATHER: Duration = Duration::from_millis(8);
/// …or until this many are pending, whichever comes first.
pub const APPLY_GATHER_MIN: u64 = 256;

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Receiver address; must be loopback (port 0 = any free port).
    pub listen: SocketAddr,
    /// The path secret.
    pub secret: WebhookSecret,
    /// Catch-up period (default 5 min).
    pub catchup_every: Duration,
    /// Cursor overlap (default 5 min).
    pub overlap: Duration,
    /// How long the fetcher gathers ids before one batched read (default 300 ms).
    pub fetch_window: Duration,
    /// Run a catch-up pass at start (default true).
    pub catchup_at_start: bool,
    /// How the event log is bounded ([`crate::retention`]).
    pub retention: crate::retention::RetentionConfig,
}

impl EngineConfig {
    /// Defaults with the given address and secret.
    pub fn new(listen: SocketAddr, secret: WebhookSecret) -> EngineConfig {
        EngineConfig {
            listen,
            secret,
            catchup_every: Duration::from_secs(300),
            overlap: Duration::from_secs(300),
            fetch_window: Duration::from_millis(300),
            catchup_at_start: true,
            retention: crate::retention::RetentionConfig::default(),
        }
    }
}

/// A snapshot of what the engine is doing (fed to the UI/CLI).
#[derive(Debug, Clone, Default, PartialEq, Serialize, ts_rs::TS)]
pub struct EngineStatus {
    /// Receiver URL without the secret, e.g. `http://127.0.0.1:8787/amocrm/***/`.
    pub receiver: String,
    /// Webhooks accepted since start.
    pub webhooks_accepted: u64,
    /// Webhooks rejected since start.
    pub webhooks_rejected: u64,
    /// Log entries waiting for the applier.
    pub events_pending: u64,
    /// Ids waiting for API confirmation.
    pub fetch_pending: u64,
    /// A catch-up pass is running.
    pub catching_up: bool,
    /// Unix seconds of the last finished catch-up.
    pub last_catchup_at: Option<i64>,
    /// The last error, if any.
    pub last_error: Option<String>,
    /// Why API reads are stopped until the next successful catch-up (the
    /// token was revoked, the account blocked or unpaid: a person must act,
    /// e.g. "Reconnect amoCRM in Settings"); `None` while syncing normally.
    pub halted: Option<String>,
    /// The stable code of `halted`: `auth_revoked`, `account_blocked` or
    /// `payment_required` (branch on this, not on the message).
    pub halted_code: Option<String>,
    /// API requests sent, all time (`SyncState.api_requests` plus this run's).
    pub api_requests: u64,
    /// Of those, answered 429, all time.
    pub api_429s: u64,
}

/// What the applier did since the engine started (diagnostics, benchmarks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplierStats {
    /// Log entries marked (applied or rejected).
    pub entries: u64,
    /// `apply_pending` calls that marked at least one entry.
    pub runs: u64,
    /// Microseconds spent in those calls (decoding, applying, committing).
    pub busy_us: u64,
}

/// Everything the tasks share.
struct Shared {
    store: Store,
    client: amo::Client,
    clock: Arc<dyn Clock>,
    config: EngineConfig,
    account: BoundAccount,
    receiver_url: String,
    receiver_stats: Arc<ReceiverStats>,
    ingest_stats: Arc<IngestStats>,
    queue: Arc<FetchQueue>,
    /// API usage recording shared by catch-up and the fetcher.
    meter: Arc<ApiMeter>,
    /// Client usage at start, and the all-time counters stored then.
    usage_at_start: amo::ApiUsage,
    stored_usage_at_start: amo::ApiUsage,
    committed: Arc<Notify>,
    /// Log entries pending when the engine started.
    initial_pending: u64,
    /// Log entries marked by the applier since start.
    applied: AtomicU64,
    /// `apply_pending` calls that applied something, and their time.
    applier_runs: AtomicU64,
    applier_us: AtomicU64,
    applier_busy: AtomicBool,
    /// Bumped on every applier transition (for `settle`).
    activity: AtomicU64,
    catching_up: AtomicBool,
    /// The pass the engine runs at start has not finished yet (for `settle`).
    start_pass_pending: AtomicBool,
    catchup_lock: tokio::sync::Mutex<()>,
    /// The last successful pass: its report and the moment its list reads
    /// cover (see [`EngineHandle::catch_up_now`]).
    last_pass: Mutex<Option<(CatchupReport, std::time::Instant)>>,
    last_catchup_at: Mutex<Option<i64>>,
    catchup_error: Mutex<Option<String>>,
    applier_error: Mutex<Option<String>>,
    status_tx: watch::Sender<EngineStatus>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    fn events_pending(&self) -> u64 {
        (self.initial_pending + self.ingest_stats.committed.load(Ordering::SeqCst))
            .saturating_sub(self.applied.load(Ordering::SeqCst))
    }

    fn status(&self) -> EngineStatus {
        let last_error = self
            .queue
            .halted()
            .or_else(|| lock(&self.catchup_error).clone())
            .or_else(|| self.queue.last_error())
            .or_else(|| lock(&self.applier_error).clone());
        let run = usage_delta(self.client.usage(), self.usage_at_start);
        EngineStatus {
            receiver: self.receiver_url.clone(),
            webhooks_accepted: self.receiver_stats.accepted.load(Ordering::Relaxed),
            webhooks_rejected: self.receiver_stats.rejected.load(Ordering::Relaxed),
            events_pending: self.events_pending(),
            fetch_pending: self.queue.pending() as u64,
            catching_up: self.catching_up.load(Ordering::SeqCst),
            last_catchup_at: *lock(&self.last_catchup_at),
            last_error,
            halted: self.queue.halted(),
            halted_code: self.queue.halted_code().map(str::to_owned),
            api_requests: self
                .stored_usage_at_start
                .requests
                .saturating_add(run.requests),
            api_429s: self
                .stored_usage_at_start
                .rate_limited
                .saturating_add(run.rate_limited),
        }
    }

    fn publish(&self) {
        let now = self.status();
        self.status_tx.send_if_modified(|s| {
            if *s == now {
                false
            } else {
                *s = now;
                true
            }
        });
    }

    /// A number that changes whenever any stage moves.
    fn generation(&self) -> (u64, u64, u64, u64) {
        (
            self.activity.load(Ordering::SeqCst),
            self.queue.generation(),
            self.ingest_stats.committed.load(Ordering::SeqCst),
            self.ingest_stats.in_flight.load(Ordering::SeqCst),
        )
    }

    /// Nothing waits anywhere.
    fn quiet(&self) -> bool {
        !self.start_pass_pending.load(Ordering::SeqCst)
            && !self.catching_up.load(Ordering::SeqCst)
            && self.ingest_stats.in_flight.load(Ordering::SeqCst) == 0
            && self.events_pending() == 0
            && !self.applier_busy.load(Ordering::SeqCst)
            && self.queue.is_idle()
    }

    async fn run_catchup(&self) -> Result<CatchupReport, SyncError> {
        let one_at_a_time = self.catchup_lock.lock().await;
        self.run_catchup_locked(one_at_a_time).await
    }

    /// Runs one pass; `_one_at_a_time` is the held `catchup_lock`.
    async fn run_catchup_locked(
        &self,
        _one_at_a_time: tokio::sync::MutexGuard<'_, ()>,
    ) -> Result<CatchupReport, SyncError> {
        self.catching_up.store(true, Ordering::SeqCst);
        self.activity.fetch_add(1, Ordering::SeqCst);
        self.publish();
        let options = CatchupOptions {
            overlap: self.config.overlap,
            ..CatchupOptions::default()
        };
        // The fetcher waits for the pass (same records, same limiter); the
        // hold and `catching_up` end also when this future is dropped half way.
        self.queue.hold();
        let release = Release(self);
        let result = catch_up_metered(
            &self.store,
            &self.client,
            &*self.clock,
            &options,
            &self.meter,
        )
        .await;
        let result = result.map(|outcome| {
            // Talks the pass read after the fetcher was asked to: done.
            self.queue.drop_talks_read(&outcome.talks_read);
            *lock(&self.last_pass) = Some((outcome.report.clone(), outcome.covers));
            outcome.report
        });
        match &result {
            Ok(_) => {
                *lock(&self.last_catchup_at) = Some(self.clock.now_s());
                *lock(&self.catchup_error) = None;
                self.queue.resume();
            }
            Err(e) => {
                *lock(&self.catchup_error) = Some(format!("catch-up failed: {e}"));
                if let SyncError::Api(api) = e
                    && api_stops(api)
                {
                    self.queue.halt_api(api);
                }
            }
        }
        drop(release);
        self.publish();
        result
    }
}

/// Ends a pass's bookkeeping when dropped: releases the fetcher's hold and
/// clears `catching_up`.
struct Release<'a>(&'a Shared);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.queue.release();
        if self.0.catching_up.swap(false, Ordering::SeqCst) {
            self.0.activity.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Starts the engine.
pub struct Engine;

impl Engine {
    /// Binds the receiver, replays unapplied log entries, and starts the
    /// applier, fetcher and catch-up tasks. The store must be bound to an
    /// account ([`SyncError::NotConnected`] otherwise).
    pub async fn start(
        store: Store,
        client: amo::Client,
        clock: Arc<dyn Clock>,
        config: EngineConfig,
    ) -> Result<EngineHandle, SyncError> {
        if !config.listen.ip().is_loopback() {
            return Err(SyncError::Bind {
                addr: config.listen.to_string(),
                reason: "the receiver listens on loopback only (127.0.0.1 or ::1); a tunnel forwards the public URL to it".into(),
            });
        }
        let (binding, state, initial_pending) = read(&store, |s| {
            let pending = s.pending_event_count()?;
            Ok((s.binding()?, s.sync_state()?, pending))
        })
        .await?;
        let binding = binding.ok_or(SyncError::NotConnected)?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| SyncError::Bind {
                addr: config.listen.to_string(),
                reason: e.to_string(),
            })?;
        let local_addr = listener.local_addr().map_err(|e| SyncError::Bind {
            addr: config.listen.to_string(),
            reason: e.to_string(),
        })?;
        let now_s = clock.now_s();
        let downtime = state
            .receiver_alive_at
            .map(|t| now_s.saturating_sub(t))
            .filter(|d| *d > DOWNTIME.as_secs() as i64);
        if let Some(secs) = downtime {
            tracing::info!(
                down_for_s = secs,
                "the receiver was down; webhooks sent meanwhile may be lost, so a catch-up runs now"
            );
        }
        let catchup_first = config.catchup_at_start || downtime.is_some();

        let account = BoundAccount {
            id: binding.account_id,
            subdomain: binding.subdomain.clone(),
        };
        let committed = Arc::new(Notify::new());
        let (ingest, ingest_task) = crate::ingest::spawn(
            Arc::new(store.clone()),
            committed.clone(),
            IngestConfig::default(),
        );
        let receiver_state = ReceiverState::new(
            config.secret.clone(),
            account.clone(),
            ingest.clone(),
            clock.clone(),
        );
        let receiver_url = format!("http://{local_addr}/amocrm/***/");
        let (status_tx, _) = watch::channel(EngineStatus {
            receiver: receiver_url.clone(),
            events_pending: initial_pending,
            api_requests: state.api_requests,
            api_429s: state.api_429s,
            ..EngineStatus::default()
        });
        let queue = FetchQueue::new();
        let meter = queue.meter(&client);
        let shared = Arc::new(Shared {
            store: store.clone(),
            client: client.clone(),
            clock: clock.clone(),
            config: config.clone(),
            account,
            receiver_url: receiver_url.clone(),
            receiver_stats: receiver_state.stats.clone(),
            ingest_stats: ingest.stats().clone(),
            queue,
            meter,
            usage_at_start: client.usage(),
            stored_usage_at_start: amo::ApiUsage {
                requests: state.api_requests,
                rate_limited: state.api_429s,
            },
            committed,
            initial_pending,
            applied: AtomicU64::new(0),
            applier_runs: AtomicU64::new(0),
            applier_us: AtomicU64::new(0),
            applier_busy: AtomicBool::new(false),
            activity: AtomicU64::new(0),
            catching_up: AtomicBool::new(false),
            start_pass_pending: AtomicBool::new(catchup_first),
            catchup_lock: tokio::sync::Mutex::new(()),
            last_pass: Mutex::new(None),
            last_catchup_at: Mutex::new(state.last_catchup_at),
            catchup_error: Mutex::new(None),
            applier_error: Mutex::new(None),
            status_tx,
        });
        drop(ingest);

        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(
            applier_task(shared.clone(), stop_rx.clone())
                .instrument(tracing::info_span!("applier")),
        ));
        tasks.push(tokio::spawn(
            crate::fetcher::run(
                shared.queue.clone(),
                store.clone(),
                client.clone(),
                clock.clone(),
                FetcherConfig {
                    window: config.fetch_window,
                    ..FetcherConfig::default()
                },
                stop_rx.clone(),
            )
            .instrument(tracing::info_span!("fetcher")),
        ));
        tasks.push(tokio::spawn(
            catchup_task(shared.clone(), catchup_first, stop_rx.clone())
                .instrument(tracing::info_span!("catchup_timer")),
        ));
        tasks.push(tokio::spawn(
            heartbeat_task(shared.clone(), stop_rx.clone())
                .instrument(tracing::info_span!("heartbeat")),
        ));
        tasks.push(tokio::spawn(status_task(shared.clone(), stop_rx.clone())));
        tasks.push(tokio::spawn(
            crate::retention::run(
                store.clone(),
                clock.clone(),
                config.retention.clone(),
                stop_rx.clone(),
            )
            .instrument(tracing::info_span!("retention")),
        ));

        // Floods and slow clients: bytes in flight, connections, timeouts.
        let limits = crate::serve_limits::ServeLimits::default();
        let budget = crate::serve_limits::BodyBudget::new(&limits)
            .for_receiver(receiver_state.secret.clone());
        let router =
            crate::serve_limits::limit_bodies(crate::receiver::app(receiver_state), budget);
        let (server_stop, server_stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(crate::http_server::serve(
            listener,
            router,
            limits,
            async move {
                let _ = server_stopped.await;
            },
        ));
        tracing::info!(receiver = %receiver_url, pending = initial_pending, "sync engine started");
        Ok(EngineHandle {
            local_addr,
            webhook_url: format!("http://{local_addr}/amocrm/{}/", config.secret.expose()),
            shared,
            stop: stop_tx,
            server_stop: Some(server_stop),
            server: Some(server),
            ingest_task: Some(ingest_task),
            tasks,
        })
    }
}

async fn applier_task(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let limits = crate::receiver::receiver_limits();
    loop {
        if *stop.borrow() {
            break;
        }
        loop {
            shared.applier_busy.store(true, Ordering::SeqCst);
            shared.activity.fetch_add(1, Ordering::SeqCst);
            let store = shared.store.clone();
            let account = shared.account.clone();
            let limits = limits.clone();
            let now_ms = shared.clock.now_ms();
            let started = std::time::Instant::now();
            let result = tokio::task::spawn_blocking(move || {
                apply_pending(&store, &account, &limits, now_ms, APPLY_BATCH)
            })
            .await
            .unwrap_or_else(|e| {
                Err(amosync_store::StoreError::Io(format!(
                    "the applier task failed: {e}"
                )))
            });
            let again = match result {
                Ok(report) => {
                    if report.entries > 0 {
                        tracing::debug!(
                            entries = report.entries,
                            events = report.events,
                            rejected = report.rejected,
                            touched = report.touched.len(),
                            "applied"
                        );
                    }
                    shared.queue.push(report.touched);
                    if report.entries > 0 {
                        shared.applier_runs.fetch_add(1, Ordering::Relaxed);
                        shared.applier_us.fetch_add(
                            u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                            Ordering::Relaxed,
                        );
                    }
                    shared
                        .applied
                        .fetch_add(report.entries as u64, Ordering::SeqCst);
                    *lock(&shared.applier_error) = None;
                    report.entries >= APPLY_BATCH
                }
                Err(e) => {
                    tracing::error!(error = %e, "applying logged webhooks failed; retrying in a second");
                    *lock(&shared.applier_error) = Some(format!("applying webhooks failed: {e}"));
                    false
                }
            };
            shared.activity.fetch_add(1, Ordering::SeqCst);
            shared.applier_busy.store(false, Ordering::SeqCst);
            if !again {
                break;
            }
        }
        tokio::select! {
            () = shared.committed.notified() => {}
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => continue,
        }
        // Gather: a few milliseconds of commits make one batch instead of
        // one small transaction per log commit.
        let deadline = tokio::time::Instant::now() + APPLY_GATHER;
        while shared.events_pending() < APPLY_GATHER_MIN {
            tokio::select! {
                () = shared.committed.notified() => {}
                () = tokio::time::sleep_until(deadline) => break,
                _ = stop.changed() => break,
            }
        }
    }
    tracing::debug!("applier stopped");
}

async fn catchup_task(shared: Arc<Shared>, first: bool, mut stop: watch::Receiver<bool>) {
    if first {
        let stopped = tokio::select! {
            _ = shared.run_catchup() => false,
            _ = stop.changed() => true,
        };
        shared.start_pass_pending.store(false, Ordering::SeqCst);
        shared.activity.fetch_add(1, Ordering::SeqCst);
        if stopped {
            return;
        }
    }
    let every = shared.config.catchup_every.max(Duration::from_secs(1));
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        tokio::select! {
            _ = shared.run_catchup() => {}
            _ = stop.changed() => return,
        }
    }
}

/// Writes `receiver_alive_at`, and the API usage not recorded yet (requests
/// of failed reads, which no record write carried).
async fn beat(shared: &Shared) {
    let now_s = shared.clock.now_s();
    if let Err(e) = write_counting(
        &shared.store,
        shared.clock.now_ms(),
        &shared.meter,
        &shared.client,
        move |tx| tx.update_sync_state(|s| s.receiver_alive_at = Some(now_s)),
    )
    .await
    {
        tracing::warn!(error = %e, "heartbeat not written");
    }
}

async fn heartbeat_task(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        beat(&shared).await;
        tokio::select! {
            () = tokio::time::sleep(HEARTBEAT) => {}
            _ = stop.changed() => return,
        }
    }
}

async fn status_task(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        shared.publish();
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// A running engine.
pub struct EngineHandle {
    local_addr: SocketAddr,
    webhook_url: String,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    server_stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    ingest_task: Option<JoinHandle<()>>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for EngineHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineHandle")
            .field("local_addr", &self.local_addr)
            .field("receiver", &self.shared.receiver_url)
            .finish_non_exhaustive()
    }
}

impl EngineHandle {
    /// Where the receiver listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The full local webhook URL, secret included.
    pub fn webhook_url(&self) -> String {
        self.webhook_url.clone()
    }

    /// Current status.
    pub fn status(&self) -> EngineStatus {
        self.shared.status()
    }

    /// Counters of the event log writer (commits, bodies, commit time).
    pub fn ingest_stats(&self) -> Arc<IngestStats> {
        self.shared.ingest_stats.clone()
    }

    /// Counters of the applier since start.
    pub fn applier_stats(&self) -> ApplierStats {
        ApplierStats {
            entries: self.shared.applied.load(Ordering::SeqCst),
            runs: self.shared.applier_runs.load(Ordering::Relaxed),
            busy_us: self.shared.applier_us.load(Ordering::Relaxed),
        }
    }

    /// A receiver of status changes (push, not poll).
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<EngineStatus> {
        self.shared.status_tx.subscribe()
    }

    /// Catches up now: when this returns `Ok`, every change amoCRM held
    /// when it was called is in the store, and the report is that of the
    /// pass that covered it.
    ///
    /// Passes run one at a time. With none running, one runs now. When one
    /// is running (the pass at start, a periodic one, another caller's), this
    /// waits for it; if that pass made the last request of each of its list
    /// reads (leads, contacts, companies, events) after this call, it saw
    /// every change made before the call, so its report is returned and no
    /// second pass runs. Otherwise (it read some list before the call, or
    /// failed) one more pass runs and its report is returned.
    pub async fn catch_up_now(&self) -> Result<CatchupReport, SyncError> {
        if *self.stop.borrow() {
            return Err(SyncError::Stopped);
        }
        let called = std::time::Instant::now();
        let guard = match self.shared.catchup_lock.try_lock() {
            Ok(guard) => guard,
            Err(_) => {
                tracing::info!("a catch-up pass is running; waiting for it");
                let guard = self.shared.catchup_lock.lock().await;
                let covered = lock(&self.shared.last_pass)
                    .as_ref()
                    .filter(|(_, covers)| *covers > called)
                    .map(|(report, _)| report.clone());
                if let Some(report) = covered {
                    tracing::info!(
                        "the running pass read every list after the request; no second pass needed"
                    );
                    return Ok(report);
                }
                if *self.stop.borrow() {
                    return Err(SyncError::Stopped);
                }
                guard
            }
        };
        self.shared.run_catchup_locked(guard).await
    }

    /// Waits until the engine is quiescent, or `timeout` passes (returns
    /// false). Quiescent means, seen twice 5 ms apart with nothing moving in
    /// between: the catch-up pass the engine runs at start has finished (with
    /// or without success), no catch-up pass is running (at start, periodic
    /// or [`EngineHandle::catch_up_now`]), no webhook is being committed,
    /// the event log is applied, and no ids wait for (or are being
    /// confirmed by) the fetcher. A periodic pass that starts later is not
    /// waited for. For tests and `amosync sync`.
    pub async fn settle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let before = self.shared.generation();
            if self.shared.quiet() {
                // Quiet twice, with nothing moving in between.
                tokio::time::sleep(Duration::from_millis(5)).await;
                if self.shared.quiet() && self.shared.generation() == before {
                    return true;
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops accepting webhooks, finishes in-flight commits, stops the tasks.
    pub async fn shutdown(mut self) {
        self.stop_all().await;
    }

    async fn stop_all(&mut self) {
        let bound = Duration::from_secs(10);
        // 1. The receiver: no new connections; in-flight requests finish
        //    (they wait for their commit, so the writer is still running).
        if let Some(tx) = self.server_stop.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let abort = server.abort_handle();
            if tokio::time::timeout(bound, server).await.is_err() {
                tracing::warn!("the receiver did not stop within {bound:?}; aborted");
                abort.abort();
            }
        }
        // 2. The writer drains its queue and stops once the receiver's
        //    handles are gone.
        if let Some(task) = self.ingest_task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(bound, task).await.is_err() {
                abort.abort();
            }
        }
        // 3. Everything else.
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            let abort = task.abort_handle();
            if tokio::time::timeout(bound, task).await.is_err() {
                abort.abort();
            }
        }
        beat(&self.shared).await;
        self.shared.publish();
        tracing::info!("sync engine stopped");
    }
}

impl Drop for EngineHandle {
    fn drop(&mut self) {
        // Not shut down properly: at least stop everything (the log keeps
        // whatever was acknowledged; the next start replays it).
        if let Some(tx) = self.server_stop.take() {
            let _ = tx.send(());
        }
        let _ = self.stop.send(true);
        if let Some(s) = self.server.take() {
            s.abort();
        }
    }
}
