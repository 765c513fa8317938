//! The running engine: receiver + event log writer + applier + fetcher + periodic catch-up.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use amosync_store::Store;
use serde::Serialize;

use crate::catchup::CatchupReport;
use crate::clock::Clock;
use crate::error::SyncError;
use crate::secret::WebhookSecret;

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
        let _ = (store, client, clock, config);
        todo!()
    }
}

/// A running engine.
pub struct EngineHandle {
    local_addr: SocketAddr,
}

impl EngineHandle {
    /// Where the receiver listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The full local webhook URL, secret included.
    pub fn webhook_url(&self) -> String {
        todo!()
    }

    /// Current status.
    pub fn status(&self) -> EngineStatus {
        todo!()
    }

    /// A receiver of status changes (push, not poll).
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<EngineStatus> {
        todo!()
    }

    /// Runs one catch-up pass now and waits for it.
    pub async fn catch_up_now(&self) -> Result<CatchupReport, SyncError> {
        todo!()
    }

    /// Waits until the event log is applied and no ids wait for confirmation
    /// (tests and `amosync sync`), or `timeout` passes (returns false).
    pub async fn settle(&self, timeout: Duration) -> bool {
        let _ = timeout;
        todo!()
    }

    /// Stops accepting webhooks, finishes in-flight commits, stops the tasks.
    pub async fn shutdown(self) {
        todo!()
    }
}
