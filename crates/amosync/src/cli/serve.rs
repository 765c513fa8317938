//! `amosync serve`: the webhook receiver + sync engine, and the control
//! channel that answers queries while the store is held.

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use amosync_store::{Store, StoreError};
use amosync_sync::{Clock, Engine, EngineConfig, EngineHandle, SystemClock, WebhookSecret};
use serde_json::Value;

use crate::cli::connect::{client, is_loopback_url};
use crate::cli::query::{not_connected, open_store};
use crate::config::{Config, DataDir, check_loopback};
use crate::control::server::{ControlServer, EngineControl};
use crate::control::{ServeFile, random_token};
use crate::credentials::{CredentialStore, Credentials, FileCredentialStore};
use crate::{AppError, ErrorCode};

/// Every settings code of amocrm.md §1: what the office does that the mirror
/// must hear about. Accounts drop codes they do not support.
pub const WEBHOOK_SETTINGS: &[&str] = &[
    "add_lead",
    "update_lead",
    "delete_lead",
    "restore_lead",
    "status_lead",
    "responsible_lead",
    "note_lead",
    "add_contact",
    "update_contact",
    "delete_contact",
    "restore_contact",
    "responsible_contact",
    "note_contact",
    "add_company",
    "update_company",
    "delete_company",
    "restore_company",
    "responsible_company",
    "note_company",
    "add_task",
    "update_task",
    "delete_task",
    "responsible_task",
    "add_talk",
    "update_talk",
    "add_message",
    "add_unsorted",
];

/// How `serve` runs.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Receiver address (default: the saved one).
    pub listen: Option<SocketAddr>,
    /// `--no-tunnel`: local address only (currently the only mode).
    pub no_tunnel: bool,
}

/// The local receiver URL for `addr` and `secret` (the engine's path shape).
pub fn local_webhook_url(addr: SocketAddr, secret: &WebhookSecret) -> String {
    format!("http://{addr}/amocrm/{}/", secret.expose())
}

/// The connected folder's settings and secrets, or "connect first".
pub fn connected(data: &DataDir) -> Result<(Config, Credentials), AppError> {
    let config = data.load_config()?.ok_or_else(|| not_connected(data))?;
    let credentials = FileCredentialStore::new(data.credentials_path())
        .load()?
        .ok_or_else(|| not_connected(data))?;
    Ok((config, credentials))
}

/// How long `serve` waits for a short-lived query process to let go of the store.
const STORE_FREE_WITHIN: Duration = Duration::from_secs(5);

async fn open_for_serve(data: &DataDir) -> Result<Store, AppError> {
    let started = Instant::now();
    loop {
        match open_store(data).await {
            Ok(store) => return Ok(store),
            Err(StoreError::Locked { .. }) => {
                if let Some(file) = ServeFile::live(data)? {
                    return Err(AppError::new(
                        ErrorCode::StoreUnavailable,
                        format!(
                            "{} is already served by `amosync serve` (pid {}); stop it first or use another --data DIR",
                            data.root().display(),
                            file.pid
                        ),
                    ));
                }
                if started.elapsed() >= STORE_FREE_WITHIN {
                    return Err(AppError::new(
                        ErrorCode::StoreUnavailable,
                        format!(
                            "the store in {} is in use by another AmoSync process (the desktop app?); close it first",
                            data.root().display()
                        ),
                    ));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Runs until `shutdown` resolves, then stops cleanly. Prints
/// `webhook_url: …` and `ready` on stdout once queries and webhooks are served.
pub async fn serve(
    data: &DataDir,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), AppError> {
    let (mut config, credentials) = connected(data)?;
    let listen = check_loopback(options.listen.unwrap_or(config.listen), "--listen")?;
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
    ServeFile::remove_if_stale(data);

    let client = client(&config.base_url, credentials.token.clone())?;
    let engine = Engine::start(
        store.clone(),
        client.clone(),
        Arc::new(SystemClock),
        EngineConfig::new(listen, credentials.webhook_secret.clone()),
    )
    .await?;
    let webhook_url = engine.webhook_url();
    let local_addr = engine.local_addr();
    if webhook_url != local_webhook_url(local_addr, &credentials.webhook_secret) {
        tracing::warn!("the engine's webhook path differs from `amosync webhook-url`'s");
    }
    // Keep the actual port, so the URL amoCRM knows stays valid across restarts.
    if config.listen != local_addr {
        config.listen = local_addr;
        data.save_config(&config)?;
    }

    if is_loopback_url(&config.base_url) {
        // The emulator (or an account on this machine) can reach us directly.
        match client
            .register_webhook(&webhook_url, WEBHOOK_SETTINGS, None)
            .await
        {
            Ok(hook) => tracing::info!(settings = hook.settings.len(), "webhook registered"),
            Err(e) => tracing::warn!(
                error = %e,
                "could not register the webhook with the account; webhooks will not arrive, catch-up still runs"
            ),
        }
    } else if !options.no_tunnel {
        eprintln!(
            "note: amoCRM cannot reach 127.0.0.1; the built-in tunnel arrives with the OAuth setup — until then expose {} yourself and register it (--no-tunnel silences this note)",
            redact(&webhook_url)
        );
    }

    let engine = Arc::new(engine);
    let token = random_token();
    let control = ControlServer::start(
        store.clone(),
        data.clone(),
        token.clone(),
        Some(engine.clone() as Arc<dyn EngineControl>),
    )
    .await;
    let control = match control {
        Ok(c) => c,
        Err(e) => {
            stop_engine(engine).await;
            return Err(e);
        }
    };
    let control_url = control.url();
    let file = ServeFile {
        pid: std::process::id(),
        control_url: control_url.clone(),
        token,
        webhook_url: Some(webhook_url.clone()),
        started_at: SystemClock.now_s(),
    };
    if let Err(e) = file.write(data) {
        control.stop().await;
        stop_engine(engine).await;
        return Err(e);
    }

    say(&format!("webhook_url: {webhook_url}"));
    say(&format!("control_url: {control_url}"));
    say("ready");
    tracing::info!(receiver = %local_addr, control = %control_url, "serving");

    shutdown.await;
    tracing::info!("stopping");
    ServeFile::remove(data);
    if tokio::time::timeout(Duration::from_secs(10), control.stop())
        .await
        .is_err()
    {
        tracing::warn!("the control server did not stop within 10 s");
    }
    stop_engine(engine).await;
    Ok(())
}

async fn stop_engine(engine: Arc<EngineHandle>) {
    match Arc::try_unwrap(engine) {
        Ok(engine) => {
            if tokio::time::timeout(Duration::from_secs(20), engine.shutdown())
                .await
                .is_err()
            {
                tracing::warn!("the sync engine did not stop within 20 s");
            }
        }
        Err(_) => tracing::warn!("the sync engine is still in use; leaving it to the exit"),
    }
}

/// `http://127.0.0.1:8787/amocrm/<secret>/` → `http://127.0.0.1:8787/amocrm/***/`.
pub fn redact(url: &str) -> String {
    match url.split_once("/amocrm/") {
        Some((head, _)) => format!("{head}/amocrm/***/"),
        None => "***".into(),
    }
}

/// `amosync webhook-url`: the running server's URL, else the saved address's.
pub fn webhook_url(data: &DataDir) -> Result<Value, AppError> {
    if let Some(file) = ServeFile::live(data)?
        && let Some(url) = file.webhook_url
    {
        return Ok(Value::String(url));
    }
    let (config, credentials) = connected(data)?;
    Ok(Value::String(local_webhook_url(
        config.listen,
        &credentials.webhook_secret,
    )))
}

/// Resolves on SIGINT or SIGTERM.
pub async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
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
}
