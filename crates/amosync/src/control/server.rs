//! The control API of a running `amosync serve` (127.0.0.1, random port, bearer token).
//!
//! | route | answer |
//! |---|---|
//! | `GET /v1/health` | `{"pid": N}` |
//! | `POST /v1/query` with a [`Query`] | the query's JSON, exactly what the command prints |
//! | `POST /v1/sync` | a catch-up pass by the engine: its report |
//! | `GET /v1/watch?generation=G&timeout_ms=T&status_hash=H` | a long poll: answers at once when the store's change generation differs from `G` or the engine's status hash from `H` (without `H`: when the status changes during the wait), else after `T` ms (default and cap 25 000): [`WatchAnswer`] |
//! | `POST /v1/webhook/check` | a webhook keeper check now (re-registers a missing or disabled webhook): the keeper's status after it |
//!
//! Errors answer with `{code, message}` ([`AppError`]); a missing or wrong
//! token answers 401. From [`ControlServer::begin_stop`] on, every request
//! answers 503 "shutting down" and a `/v1/sync` in flight is cancelled.

use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use amosync_store::Store;
use axum::extract::{Query as UrlQuery, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::{RwLock, oneshot, watch};
use tokio::task::JoinHandle;

use crate::cli::query::{Query, context_for, execute};
use crate::config::DataDir;
use crate::control::client::shutting_down;
use crate::{AppError, ErrorCode};

/// What the control API needs from the sync engine.
pub trait EngineControl: Send + Sync + 'static {
    /// The engine's status as JSON (no secrets).
    fn status(&self) -> Value;
    /// One catch-up pass now; its report as JSON.
    fn catch_up(&self) -> BoxFuture<'_, Result<Value, AppError>>;
    /// A webhook keeper check now; the keeper's status after it as JSON.
    fn check_webhook(&self) -> BoxFuture<'_, Result<Value, AppError>>;
}

/// The sync engine shared by `serve` and the control API. `serve` shuts it
/// down through [`SharedEngine::shutdown`] whatever the router still holds.
#[derive(Debug)]
pub struct SharedEngine {
    slot: RwLock<Option<amosync_sync::EngineHandle>>,
    links: std::sync::Mutex<Option<crate::cli::links::LinksStatus>>,
}

impl std::fmt::Debug for crate::cli::links::LinksStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinksStatus")
    }
}

impl SharedEngine {
    pub fn new(engine: amosync_sync::EngineHandle) -> SharedEngine {
        SharedEngine {
            slot: RwLock::new(Some(engine)),
            links: std::sync::Mutex::new(None),
        }
    }

    /// Adds the tunnel, webhook and token states to the status.
    pub fn set_links(&self, links: crate::cli::links::LinksStatus) {
        if let Ok(mut slot) = self.links.lock() {
            *slot = Some(links);
        }
    }

    /// Takes the engine out (waiting for catch-ups in flight to let go of it)
    /// and stops it; `false` if that took longer than `within` (what is left
    /// stops when the handle drops).
    pub async fn shutdown(&self, within: Duration) -> bool {
        let stop = async {
            let engine = self.slot.write().await.take();
            if let Some(engine) = engine {
                engine.shutdown().await;
            }
        };
        tokio::time::timeout(within, stop).await.is_ok()
    }
}

impl EngineControl for SharedEngine {
    fn status(&self) -> Value {
        let mut status = match self.slot.try_read() {
            Ok(slot) => slot
                .as_ref()
                .and_then(|engine| serde_json::to_value(engine.status()).ok())
                .unwrap_or(Value::Null),
            // Being taken out for the shutdown.
            Err(_) => Value::Null,
        };
        let links = self
            .links
            .lock()
            .ok()
            .and_then(|l| l.as_ref().map(|l| l.json()));
        if let (Some(Value::Object(links)), Value::Object(map)) = (links, &mut status) {
            map.extend(links);
        }
        status
    }

    fn catch_up(&self) -> BoxFuture<'_, Result<Value, AppError>> {
        Box::pin(async move {
            let slot = self.slot.read().await;
            let engine = slot
                .as_ref()
                .ok_or_else(|| shutting_down(std::process::id()))?;
            let report = engine.catch_up_now().await?;
            Ok(serde_json::to_value(report).unwrap_or(Value::Null))
        })
    }

    fn check_webhook(&self) -> BoxFuture<'_, Result<Value, AppError>> {
        Box::pin(async move {
            let links = self.links.lock().ok().and_then(|l| l.clone());
            let links = links.ok_or_else(|| {
                AppError::new(
                    ErrorCode::Local,
                    "the webhook keeper is not running yet; try again in a moment",
                )
            })?;
            let status = links
                .check_webhook()
                .await
                .ok_or_else(|| shutting_down(std::process::id()))?;
            Ok(serde_json::to_value(status).unwrap_or(Value::Null))
        })
    }
}

/// The longest a `/v1/watch` waits, and its default.
pub const WATCH_MAX: Duration = Duration::from_secs(25);
/// How often a waiting `/v1/watch` looks at the engine's status.
const WATCH_STATUS_EVERY: Duration = Duration::from_millis(250);

/// What `/v1/watch` asks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchRequest {
    /// The store generation the caller has seen.
    pub generation: Option<u64>,
    /// The longest wait in ms (capped at [`WATCH_MAX`]).
    pub timeout_ms: Option<u64>,
    /// The `status_hash` of the last answer the caller got.
    pub status_hash: Option<String>,
}

/// What the store says about itself in a [`WatchAnswer`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreSummary {
    pub account_name: Option<String>,
    /// Live leads.
    pub leads: u64,
    /// Unix seconds when the first full pull finished.
    pub initial_sync_at: Option<i64>,
    /// Unix seconds when the last catch-up pass finished.
    pub last_catchup_at: Option<i64>,
    /// Unix ms of the last webhook accepted.
    pub last_webhook_at_ms: Option<i64>,
}

/// The answer of `/v1/watch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchAnswer {
    /// The store's change generation now.
    pub generation: u64,
    pub pid: u32,
    /// The engine's status with the links (`tunnel`, `tunnel_provider`,
    /// `public_url`, `webhook`, `auth`), as `status` shows it under `serve`;
    /// `null` without an engine.
    pub engine: Value,
    /// A fingerprint of `engine`, to send back as `status_hash`.
    pub status_hash: String,
    pub store: StoreSummary,
}

fn status_hash(status: &Value) -> String {
    // DefaultHasher::new() has fixed keys: stable within this process,
    // which is the only one comparing.
    let mut h = std::hash::DefaultHasher::new();
    status.to_string().hash(&mut h);
    format!("{:016x}", h.finish())
}

#[derive(Clone)]
struct Ctl {
    store: Store,
    data: DataDir,
    token: Arc<String>,
    engine: Option<Arc<dyn EngineControl>>,
    control_url: Arc<String>,
    stopping: watch::Receiver<bool>,
}

impl Ctl {
    fn serve_json(&self) -> Value {
        json!({
            "pid": std::process::id(),
            "control_url": *self.control_url,
            "engine": self.engine.as_ref().map(|e| e.status()),
        })
    }
}

/// A running control server.
pub struct ControlServer {
    addr: SocketAddr,
    stopping: watch::Sender<bool>,
    stop: Option<oneshot::Sender<()>>,
    join: JoinHandle<()>,
}

impl ControlServer {
    /// Binds 127.0.0.1 on a random port and serves until [`ControlServer::stop`].
    pub async fn start(
        store: Store,
        data: DataDir,
        token: String,
        engine: Option<Arc<dyn EngineControl>>,
    ) -> Result<ControlServer, AppError> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| {
                AppError::new(
                    ErrorCode::Local,
                    format!(
                        "cannot open the local control port ({e}); check the loopback interface"
                    ),
                )
            })?;
        let addr = listener
            .local_addr()
            .map_err(|e| AppError::new(ErrorCode::Local, format!("control port: {e}")))?;
        let (stopping, stopping_rx) = watch::channel(false);
        let ctl = Ctl {
            store,
            data,
            token: Arc::new(token),
            engine,
            control_url: Arc::new(format!("http://{addr}")),
            stopping: stopping_rx,
        };
        let app = router(ctl);
        let (tx, rx) = oneshot::channel::<()>();
        let join = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "control server stopped");
            }
        });
        Ok(ControlServer {
            addr,
            stopping,
            stop: Some(tx),
            join,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// From now on every request answers 503 "shutting down", and a
    /// `/v1/sync` in flight is cancelled (it answers the same).
    pub fn begin_stop(&self) {
        let _ = self.stopping.send(true);
    }

    /// Stops accepting, lets in-flight requests finish.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.join).await;
    }
}

fn router(ctl: Ctl) -> Router {
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/query", post(query))
        .route("/v1/sync", post(sync))
        .route("/v1/watch", get(watch))
        .route("/v1/webhook/check", post(check_webhook))
        .layer(middleware::from_fn_with_state(
            ctl.clone(),
            refuse_while_stopping,
        ))
        .layer(middleware::from_fn_with_state(ctl.clone(), auth))
        .with_state(ctl)
}

/// Constant-time comparison (the token is a secret).
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn auth(State(ctl): State<Ctl>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match presented {
        Some(token) if same(token.as_bytes(), ctl.token.as_bytes()) => next.run(request).await,
        _ => error_response(
            StatusCode::UNAUTHORIZED,
            AppError::new(
                ErrorCode::Local,
                "the control token was missing or wrong; query through `amosync` with the same --data",
            ),
        ),
    }
}

/// Runs after `auth` (the outer layer).
async fn refuse_while_stopping(State(ctl): State<Ctl>, request: Request, next: Next) -> Response {
    if *ctl.stopping.borrow() {
        return stopping_response();
    }
    next.run(request).await
}

fn stopping_response() -> Response {
    error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        shutting_down(std::process::id()),
    )
}

fn error_response(status: StatusCode, err: AppError) -> Response {
    (status, Json(err)).into_response()
}

fn status_for(err: &AppError) -> StatusCode {
    match err.code {
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::NotConnected => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

async fn health() -> Json<Value> {
    Json(json!({ "pid": std::process::id() }))
}

async fn query(State(ctl): State<Ctl>, Json(query): Json<Query>) -> Response {
    let serve = ctl.serve_json();
    let ctx = context_for(&query, &ctl.data, Some(serve)).await;
    let store = ctl.store.clone();
    let answer = tokio::task::spawn_blocking(move || execute(&store, &ctx, &query)).await;
    match answer {
        Ok(Ok(value)) => Json(value).into_response(),
        Ok(Err(err)) => error_response(status_for(&err), err),
        Err(e) => error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            AppError::new(ErrorCode::Local, format!("the query failed: {e}")),
        ),
    }
}

async fn sync(State(ctl): State<Ctl>) -> Response {
    on_engine(&ctl, |engine| engine.catch_up()).await
}

/// Runs `work` on the engine and answers its JSON. Shutting down: the work
/// is dropped (a catch-up pass resumes from its cursors, a keeper check is
/// made again at the next start), so the engine can stop now.
async fn on_engine<'a>(
    ctl: &'a Ctl,
    work: impl FnOnce(&'a dyn EngineControl) -> BoxFuture<'a, Result<Value, AppError>>,
) -> Response {
    let mut stopping = ctl.stopping.clone();
    match &ctl.engine {
        Some(engine) => tokio::select! {
            done = work(engine.as_ref()) => match done {
                Ok(answer) => Json(answer).into_response(),
                Err(err) => error_response(status_for(&err), err),
            },
            _ = stopping.wait_for(|stopping| *stopping) => stopping_response(),
        },
        None => error_response(
            StatusCode::CONFLICT,
            AppError::new(ErrorCode::Local, "this server runs no sync engine"),
        ),
    }
}

fn engine_status(ctl: &Ctl) -> Value {
    ctl.engine.as_ref().map_or(Value::Null, |e| e.status())
}

async fn store_summary(store: &Store) -> Result<StoreSummary, AppError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || -> Result<StoreSummary, AppError> {
        let sync = store.sync_state()?;
        Ok(StoreSummary {
            account_name: store.binding()?.map(|b| b.name),
            leads: store.lead_count()?,
            initial_sync_at: sync.initial_sync_at,
            last_catchup_at: sync.last_catchup_at,
            last_webhook_at_ms: sync.last_webhook_at_ms,
        })
    })
    .await
    .map_err(|e| AppError::new(ErrorCode::Local, format!("the store read failed: {e}")))?
}

async fn watch(State(ctl): State<Ctl>, UrlQuery(request): UrlQuery<WatchRequest>) -> Response {
    let wait = Duration::from_millis(request.timeout_ms.unwrap_or(u64::MAX)).min(WATCH_MAX);
    let deadline = tokio::time::Instant::now() + wait;
    let seen_generation = request.generation;
    let seen_hash = match request.status_hash {
        Some(hash) => hash,
        None => status_hash(&engine_status(&ctl)),
    };
    let mut stopping = ctl.stopping.clone();
    // Bounded: at most WATCH_MAX / WATCH_STATUS_EVERY rounds.
    loop {
        let generation = ctl.store.generation();
        let status = engine_status(&ctl);
        let hash = status_hash(&status);
        let changed = seen_generation != Some(generation) || hash != seen_hash;
        if changed || tokio::time::Instant::now() >= deadline {
            return match store_summary(&ctl.store).await {
                Ok(store) => Json(WatchAnswer {
                    generation,
                    pid: std::process::id(),
                    engine: status,
                    status_hash: hash,
                    store,
                })
                .into_response(),
                Err(err) => error_response(status_for(&err), err),
            };
        }
        let next = (tokio::time::Instant::now() + WATCH_STATUS_EVERY).min(deadline);
        tokio::select! {
            _ = ctl.store.changed(generation) => {}
            () = tokio::time::sleep_until(next) => {}
            _ = stopping.wait_for(|stopping| *stopping) => return stopping_response(),
        }
    }
}

async fn check_webhook(State(ctl): State<Ctl>) -> Response {
    on_engine(&ctl, |engine| engine.check_webhook()).await
}

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn token_comparison() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"ab"));
    }
}
