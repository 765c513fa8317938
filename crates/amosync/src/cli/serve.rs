//! `amosync serve`: the webhook receiver + sync engine, and the control
//! channel that answers queries while the store is held.
//!
//! Life of a `serve`: take `serve.lock` (one `serve` per folder), open the
//! store, start the engine and the control server, publish `serve.json`,
//! print `ready`. On SIGINT/SIGTERM: the control server answers 503
//! "shutting down" (a `/v1/sync` in flight is cancelled), the engine stops,
//! the control server stops, `serve.json` is removed — last, so a query
//! never finds the store held with no explanation — and the lock is let go.
//! A second signal during that ends the process at once (exit 130).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use amosync_store::Store;
use amosync_sync::{Clock, Engine, EngineConfig, SystemClock, WebhookSecret};
use serde_json::Value;

use crate::auth::{Credentials, Secrets};
use crate::cli::connect::{Patience, client_for, is_loopback_url};
use crate::cli::links::{Links, PublicUrl};
use crate::cli::print_line;
use crate::cli::query::{Opened, not_connected, open_store_waiting};
use crate::cli::shutdown::{FORCED_EXIT, Shutdown};
use crate::cli::tunnel::saved_tunnel;
use crate::config::{Config, DataDir, check_loopback, check_retention_days};
use crate::control::server::{ControlServer, EngineControl, SharedEngine};
use crate::control::{ServeFile, random_token};
use crate::lock::FileLock;
use crate::{AppError, ErrorCode};
use amosync_tunnel::TunnelConfig;

pub use amosync_sync::receiver::WEBHOOK_SETTINGS;

/// How `serve` runs.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Receiver address (default: the saved one).
    pub listen: Option<SocketAddr>,
    /// `--no-tunnel`: local address only, even when a tunnel is chosen.
    pub no_tunnel: bool,
    /// `--retention-days` (default: the saved one).
    pub retention_days: Option<u32>,
}

/// The receiver's path for `secret` (the engine's path shape): what every
/// destination of this install ends with.
pub fn secret_path(secret: &WebhookSecret) -> String {
    format!("/amocrm/{}/", secret.expose())
}

/// The local receiver URL for `addr` and `secret`.
pub fn local_webhook_url(addr: SocketAddr, secret: &WebhookSecret) -> String {
    format!("http://{addr}{}", secret_path(secret))
}

/// A connected folder: its settings, secrets and where they are kept.
#[derive(Debug, Clone)]
pub struct Connected {
    pub config: Config,
    pub credentials: Credentials,
    pub secrets: Secrets,
    /// Set when amoCRM refused the refresh token (see [`crate::auth::AuthState`]).
    pub reconnect: Option<String>,
    /// The chosen tunnel (an `amosync_tunnel::TunnelConfig`), if any.
    pub tunnel: Option<Value>,
}

/// The connected folder's settings and secrets, or "connect first".
pub async fn connected(data: &DataDir) -> Result<Connected, AppError> {
    let config = data.load_config()?.ok_or_else(|| not_connected(data))?;
    config.check_account()?;
    let secrets = Secrets::open(data)?;
    let doc = secrets.load().await?;
    let credentials = doc.credentials().ok_or_else(|| not_connected(data))?;
    Ok(Connected {
        config,
        credentials,
        secrets,
        reconnect: doc.reconnect,
        tunnel: doc.tunnel,
    })
}

/// How long `serve` waits for a short-lived query process to let go of the store.
const STORE_FREE_WITHIN: Duration = Duration::from_secs(5);
/// Processes that only check `serve.lock` hold it for an instant.
const SERVE_LOCK_WITHIN: Duration = Duration::from_secs(1);
/// Bounds of the shutdown steps.
const ENGINE_STOPS_WITHIN: Duration = Duration::from_secs(20);
const CONTROL_STOPS_WITHIN: Duration = Duration::from_secs(10);

/// `serve.lock`, or "already served".
async fn lock_for_serve(data: &DataDir) -> Result<FileLock, AppError> {
    if let Some(lock) =
        FileLock::exclusive_within(&data.serve_lock_path(), SERVE_LOCK_WITHIN).await?
    {
        return Ok(lock);
    }
    let who = match ServeFile::live(data).ok().flatten() {
        Some(file) => format!("`amosync serve` (pid {})", file.pid),
        None => "another `amosync serve` (starting or stopping)".into(),
    };
    Err(AppError::new(
        ErrorCode::StoreUnavailable,
        format!(
            "{} is already served by {who}; stop it first or use another --data DIR",
            data.root().display()
        ),
    ))
}

async fn open_for_serve(data: &DataDir) -> Result<Store, AppError> {
    // We hold serve.lock: whoever holds the store is no `serve` of ours.
    let busy = || {
        AppError::new(
            ErrorCode::StoreUnavailable,
            format!(
                "the store in {} is in use by another AmoSync process (the desktop app?); close it first",
                data.root().display()
            ),
        )
    };
    match open_store_waiting(data, STORE_FREE_WITHIN, || Ok(None::<Infallible>), busy).await? {
        Opened::Store(store) => Ok(store),
        Opened::Held(never) => match never {},
    }
}

/// A started `serve`, not yet published.
struct Running {
    store: Store,
    links: Links,
    engine: Arc<SharedEngine>,
    control: ControlServer,
    control_url: String,
    webhook_url: String,
    local_addr: SocketAddr,
}

async fn stop_engine(engine: &SharedEngine) {
    if !engine.shutdown(ENGINE_STOPS_WITHIN).await {
        tracing::warn!("the sync engine did not stop within {ENGINE_STOPS_WITHIN:?}");
    }
}

impl Running {
    /// The shutdown, in order; every step bounded.
    async fn stop(self) {
        self.control.begin_stop();
        self.links.stop().await;
        stop_engine(&self.engine).await;
        if tokio::time::timeout(CONTROL_STOPS_WITHIN, self.control.stop())
            .await
            .is_err()
        {
            tracing::warn!("the control server did not stop within {CONTROL_STOPS_WITHIN:?}");
        }
        drop(self.store);
    }
}

/// The event log's retention in days for this run, and whether to save it
/// (`--retention-days` given and not the saved value). Out of range: an
/// error that says how to fix it.
fn retention(given: Option<u32>, config: &Config) -> Result<(u32, bool), AppError> {
    match given {
        Some(days) => Ok((
            check_retention_days(days)?,
            config.retention_days != Some(days),
        )),
        None => Ok((config.retention_days()?, false)),
    }
}

/// Starts the engine and the control server on `store`.
async fn start(
    data: &DataDir,
    connected: Connected,
    listen: SocketAddr,
    options: &ServeOptions,
    token: String,
    embedded: bool,
) -> Result<Running, AppError> {
    let store = open_for_serve(data).await?;
    let bound = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.binding())
            .await
            .map_err(|e| AppError::new(ErrorCode::Local, e.to_string()))??
    };
    if bound.is_none() {
        return Err(not_connected(data));
    }
    // We hold serve.lock and the store: any serve.json is a crashed run's.
    ServeFile::remove(data);

    let Connected {
        mut config,
        credentials,
        secrets,
        reconnect,
        tunnel,
    } = connected;
    let (client, tokens) = client_for(
        &config.base_url,
        &credentials,
        &secrets,
        reconnect,
        Patience::Background,
    )?;
    let (retention_days, save_retention) = retention(options.retention_days, &config)?;
    let mut engine_config = EngineConfig::new(listen, credentials.webhook_secret.clone());
    engine_config.retention.keep_for = amosync_sync::retention::days(retention_days);
    let engine = Engine::start(
        store.clone(),
        client.clone(),
        Arc::new(SystemClock),
        engine_config,
    )
    .await?;
    let webhook_url = engine.webhook_url();
    let local_addr = engine.local_addr();
    if webhook_url != local_webhook_url(local_addr, &credentials.webhook_secret) {
        tracing::warn!("the engine's webhook path differs from `amosync webhook-url`'s");
    }
    let engine = Arc::new(SharedEngine::new(engine));
    // Keep the actual port, so the URL amoCRM knows stays valid across
    // restarts; and a retention given on the command line.
    if config.listen != local_addr || save_retention {
        config.listen = local_addr;
        config.retention_days = Some(retention_days)
            .filter(|_| save_retention)
            .or(config.retention_days);
        if let Err(e) = data.save_config(&config) {
            stop_engine(&engine).await;
            return Err(e);
        }
    }

    // An explicitly chosen tunnel wins; an account on this machine (the
    // emulator) needs none; otherwise say how to choose one.
    let chosen = match saved_tunnel(tunnel.as_ref()) {
        Ok(chosen) => chosen.filter(|c| *c != TunnelConfig::None),
        Err(e) => {
            stop_engine(&engine).await;
            return Err(e);
        }
    };
    if let Some(tunnel) = chosen.as_ref().filter(|_| !options.no_tunnel)
        && let Err(e) = crate::cli::tunnel::check_for_account(tunnel, &config.base_url)
    {
        stop_engine(&engine).await;
        return Err(e);
    }
    let public = match chosen {
        Some(config) if !options.no_tunnel => PublicUrl::Tunnel(config),
        _ if is_loopback_url(&config.base_url) => PublicUrl::Local,
        _ => {
            if embedded {
                tracing::info!(
                    "amoCRM cannot reach this machine and no tunnel is chosen: catch-up only until one is chosen in the settings"
                );
            } else if !options.no_tunnel {
                eprintln!(
                    "note: amoCRM cannot reach {} on this machine and no tunnel is chosen; run `amosync tunnel --provider ngrok|cloudflared|url|bore …` and restart (--no-tunnel silences this note)",
                    redact(&webhook_url)
                );
            }
            PublicUrl::Unavailable
        }
    };
    let links = match Links::start(
        client.clone(),
        tokens,
        &credentials.webhook_secret,
        local_addr,
        public,
        engine.clone() as Arc<dyn EngineControl>,
    ) {
        Ok(links) => links,
        Err(e) => {
            stop_engine(&engine).await;
            return Err(e);
        }
    };
    engine.set_links(links.status_source());

    let control = ControlServer::start(
        store.clone(),
        data.clone(),
        token,
        Some(engine.clone() as Arc<dyn EngineControl>),
    )
    .await;
    let control = match control {
        Ok(c) => c,
        Err(e) => {
            links.stop().await;
            stop_engine(&engine).await;
            return Err(e);
        }
    };
    let control_url = control.url();
    Ok(Running {
        store,
        links,
        engine,
        control,
        control_url,
        webhook_url,
        local_addr,
    })
}

/// Runs until `shutdown` asks to stop, then stops cleanly. Prints
/// `webhook_url: …`, `control_url: …` and `ready` on stdout once queries
/// and webhooks are served (not with a [`Shutdown::manual`]: in process,
/// `serve.json` says when it is ready). A stop request while starting ends
/// the start.
pub async fn serve(
    data: &DataDir,
    options: ServeOptions,
    mut shutdown: Shutdown,
) -> Result<(), AppError> {
    let connected = connected(data).await?;
    let listen = check_loopback(
        options.listen.unwrap_or(connected.config.listen),
        "--listen",
    )?;
    let lock = lock_for_serve(data).await?;
    let token = random_token();

    let embedded = shutdown.is_manual();
    let starting = start(data, connected, listen, &options, token.clone(), embedded);
    let running = tokio::select! {
        running = starting => running?,
        stop = shutdown.requested() => {
            // Whatever had started stops as it is dropped; nothing was published.
            tracing::info!(signal = stop.name(), "stopped while starting");
            return Ok(());
        }
    };
    let file = ServeFile {
        pid: std::process::id(),
        control_url: running.control_url.clone(),
        token,
        webhook_url: Some(running.webhook_url.clone()),
        started_at: SystemClock.now_s(),
    };
    if let Err(e) = file.write(data) {
        running.stop().await;
        return Err(e);
    }

    // In process (the desktop app), nothing goes to stdout: the first line
    // carries the webhook secret.
    if !embedded {
        print_line(&format!("webhook_url: {}", running.webhook_url));
        print_line(&format!("control_url: {}", running.control_url));
        print_line("ready");
    }
    tracing::info!(receiver = %running.local_addr, control = %running.control_url, "serving");

    let stop = shutdown.requested().await;
    tracing::info!(signal = stop.name(), "stopping");
    // A second signal: the user does not want to wait.
    let forced = {
        let data = data.clone();
        let file = file.clone();
        tokio::spawn(async move {
            let again = shutdown.requested().await;
            file.remove_if_unchanged(&data);
            eprintln!(
                "amosync: stopped at once by a second {} before the shutdown finished; the next start catches up",
                again.name()
            );
            std::process::exit(FORCED_EXIT);
        })
    };
    running.stop().await;
    // Last: until here queries were told "shutting down".
    ServeFile::remove(data);
    drop(lock);
    forced.abort();
    Ok(())
}

/// `http://127.0.0.1:8787/amocrm/<secret>/` → `http://127.0.0.1:8787/amocrm/***/`.
pub fn redact(url: &str) -> String {
    match url.split_once("/amocrm/") {
        Some((head, _)) => format!("{head}/amocrm/***/"),
        None => "***".into(),
    }
}

/// `amosync webhook-url`: the running server's URL, else the saved address's.
pub async fn webhook_url(data: &DataDir) -> Result<Value, AppError> {
    if let Some(file) = ServeFile::live(data)?
        && let Some(url) = file.webhook_url
    {
        return Ok(Value::String(url));
    }
    let connected = connected(data).await?;
    Ok(Value::String(local_webhook_url(
        connected.config.listen,
        &connected.credentials.webhook_secret,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_the_secret() {
        assert_eq!(
            redact("http://127.0.0.1:8787/amocrm/abcdef/"),
            "http://127.0.0.1:8787/amocrm/***/"
        );
        assert_eq!(redact("weird"), "***");
    }

    #[test]
    fn settings_are_the_documented_codes() {
        assert_eq!(WEBHOOK_SETTINGS.len(), 27);
        assert!(WEBHOOK_SETTINGS.contains(&"status_lead"));
        assert!(WEBHOOK_SETTINGS.contains(&"add_message"));
    }

    #[test]
    fn the_retention_comes_from_the_flag_then_the_config() {
        let mut config = Config {
            base_url: "https://office.amocrm.ru".into(),
            listen: Config::default_listen(),
            retention_days: None,
        };
        assert_eq!(retention(None, &config).unwrap(), (30, false));
        assert_eq!(retention(Some(7), &config).unwrap(), (7, true));
        config.retention_days = Some(7);
        assert_eq!(retention(None, &config).unwrap(), (7, false));
        assert_eq!(retention(Some(7), &config).unwrap(), (7, false));
        assert_eq!(retention(Some(90), &config).unwrap(), (90, true));
        let err = retention(Some(0), &config).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert!(err.message.contains("--retention-days"), "{}", err.message);
        config.retention_days = Some(100_000);
        assert!(retention(None, &config).is_err());
    }
}
