//! The live links of a running `serve` besides the engine: the tunnel that
//! gives the receiver a public URL, the webhook keeper that registers that
//! URL with amoCRM, and the token keep-alive. Their states are what
//! `amosync status` shows under `serve`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use amosync_sync::{Clock, Keeper, KeeperConfig, KeeperHandle, SystemClock, WebhookSecret};
use amosync_tunnel::{TunnelConfig, TunnelHandle, TunnelState};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::auth::{AuthState, TokenManager};
use crate::control::server::EngineControl;

/// How often the token keep-alive looks at the pair's age.
const KEEP_ALIVE_EVERY: Duration = Duration::from_secs(3600);

/// Where the receiver's public URL comes from.
pub enum PublicUrl {
    /// amoCRM runs on this machine (the emulator): the local address works.
    Local,
    /// A tunnel provides it.
    Tunnel(TunnelConfig),
    /// Nothing: webhooks cannot arrive, catch-up still runs.
    Unavailable,
}

/// The links' states, read when `status` asks.
#[derive(Clone)]
pub struct LinksStatus {
    tunnel: watch::Receiver<TunnelState>,
    provider: Option<&'static str>,
    webhook: watch::Receiver<amosync_sync::KeeperStatus>,
    auth: Option<watch::Receiver<AuthState>>,
}

impl LinksStatus {
    /// As `status` shows them (no secrets: the keeper redacts its URLs).
    pub fn json(&self) -> Value {
        json!({
            "tunnel": serde_json::to_value(&*self.tunnel.borrow()).unwrap_or(Value::Null),
            "tunnel_provider": self.provider,
            "webhook": serde_json::to_value(&*self.webhook.borrow()).unwrap_or(Value::Null),
            "auth": self.auth.as_ref().map(|a| serde_json::to_value(&*a.borrow()).unwrap_or(Value::Null)),
        })
    }
}

/// The running links; [`Links::stop`] ends them, each within a bound.
pub struct Links {
    tunnel: Option<TunnelHandle>,
    tunnel_state: watch::Receiver<TunnelState>,
    keeper: KeeperHandle,
    auth: Option<watch::Receiver<AuthState>>,
    forward: JoinHandle<()>,
    keep_alive: Option<JoinHandle<()>>,
}

impl Links {
    /// Starts the tunnel (if any), the keeper and the keep-alive.
    pub fn start(
        client: amo::Client,
        tokens: Option<Arc<TokenManager>>,
        secret: &WebhookSecret,
        receiver: SocketAddr,
        public: PublicUrl,
        engine: Arc<dyn EngineControl>,
    ) -> Result<Links, crate::AppError> {
        let (url_tx, url_rx) = watch::channel(None::<String>);
        let (tunnel, tunnel_state) = match public {
            PublicUrl::Local => {
                url_tx.send_replace(Some(format!("http://{receiver}")));
                let (_tx, rx) = watch::channel(TunnelState::Down {
                    reason: "not needed: amoCRM runs on this machine".into(),
                });
                (None, rx)
            }
            PublicUrl::Unavailable => {
                let (_tx, rx) = watch::channel(TunnelState::Down {
                    reason: "no tunnel chosen: run `amosync tunnel --provider …`".into(),
                });
                (None, rx)
            }
            PublicUrl::Tunnel(config) => {
                let handle = amosync_tunnel::start(config, receiver)
                    .map_err(|e| crate::AppError::new(crate::ErrorCode::Local, format!("{e}")))?;
                let rx = handle.subscribe();
                (Some(handle), rx)
            }
        };
        // Tunnel state → the keeper's URL (only changes are sent on).
        let forward = {
            let mut states = tunnel_state.clone();
            tokio::spawn(async move {
                loop {
                    let url = states.borrow_and_update().url().map(str::to_owned);
                    if let Some(url) = url {
                        url_tx.send_if_modified(|old| {
                            let changed = old.as_deref() != Some(url.as_str());
                            *old = Some(url.clone());
                            changed
                        });
                    }
                    if states.changed().await.is_err() {
                        break;
                    }
                }
                // Keep the keeper's receiver alive until the end.
                url_tx.closed().await;
            })
        };
        let on_recovered: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
            let engine = engine.clone();
            tokio::spawn(async move {
                if let Err(e) = engine.catch_up().await {
                    tracing::warn!(error = %e, "the catch-up after a webhook change failed; the periodic one retries");
                }
            });
        });
        let keeper = Keeper::start(
            client,
            Arc::new(SystemClock) as Arc<dyn Clock>,
            KeeperConfig::new(secret),
            url_rx,
            on_recovered,
        );
        let auth = tokens.as_ref().map(|t| t.subscribe());
        let keep_alive = tokens.map(|tokens| {
            tokio::spawn(async move {
                loop {
                    match tokens.keep_alive().await {
                        Ok(true) => {
                            tracing::info!("refreshed a quiet account's tokens (keep-alive)")
                        }
                        Ok(false) => {}
                        Err(e) => tracing::warn!(error = %e, "token keep-alive failed"),
                    }
                    tokio::time::sleep(KEEP_ALIVE_EVERY).await;
                }
            })
        });
        Ok(Links {
            tunnel,
            tunnel_state,
            keeper,
            auth,
            forward,
            keep_alive,
        })
    }

    /// A cheap, cloneable view of the links' states for `status`.
    pub fn status_source(&self) -> LinksStatus {
        LinksStatus {
            tunnel: self.tunnel_state.clone(),
            provider: self.tunnel.as_ref().map(|t| t.provider_name()),
            webhook: self.keeper.subscribe(),
            auth: self.auth.clone(),
        }
    }

    /// The keeper (for `check_now`).
    pub fn keeper(&self) -> &KeeperHandle {
        &self.keeper
    }

    /// Stops the keeper, the tunnel and the keep-alive.
    pub async fn stop(mut self) {
        if let Some(k) = &self.keep_alive {
            k.abort();
        }
        self.keeper.stop().await;
        if let Some(tunnel) = self.tunnel.take() {
            tunnel.stop().await;
        }
        self.forward.abort();
    }
}

/// Dropped without [`Links::stop`] (a start cut short): no task outlives it.
impl Drop for Links {
    fn drop(&mut self) {
        if let Some(k) = &self.keep_alive {
            k.abort();
        }
        self.forward.abort();
    }
}
