//! The live links of a running `serve` besides the engine: the tunnel that
//! gives the receiver a public URL, the webhook keeper that registers that
//! URL with amoCRM, and the token keep-alive. Their states are what
//! `amosync status` shows under `serve`.

use std::net::SocketAddr;
use std::sync::{Arc, Weak};
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

/// Environment variable: seconds between the webhook keeper's checks
/// (default 300, at least 1). For tests and the end-to-end run, which need
/// a webhook amoCRM disabled to be noticed (and registered again) quickly.
pub const WEBHOOK_CHECK_SECS_ENV: &str = "AMOSYNC_WEBHOOK_CHECK_SECS";

/// The keeper's settings: the defaults, with the check interval from
/// [`WEBHOOK_CHECK_SECS_ENV`] when it is set (an unparsable value is
/// ignored with a warning).
pub fn keeper_config(secret: &WebhookSecret) -> KeeperConfig {
    let mut config = KeeperConfig::new(secret);
    if let Ok(raw) = std::env::var(WEBHOOK_CHECK_SECS_ENV) {
        match raw.trim().parse::<u64>() {
            Ok(secs) => config.check_every = Duration::from_secs(secs.max(1)),
            Err(_) => tracing::warn!(
                variable = WEBHOOK_CHECK_SECS_ENV,
                value = %raw,
                "ignoring a value that is not a number of seconds"
            ),
        }
    }
    config
}

/// Where the receiver's public URL comes from.
pub enum PublicUrl {
    /// amoCRM runs on this machine (the emulator): the local address works.
    Local,
    /// A tunnel provides it.
    Tunnel(TunnelConfig),
    /// Nothing: webhooks cannot arrive, catch-up still runs.
    Unavailable,
}

impl PublicUrl {
    /// `local`, `tunnel` or `none` (the status's `public_url`).
    fn kind(&self) -> &'static str {
        match self {
            PublicUrl::Local => "local",
            PublicUrl::Tunnel(_) => "tunnel",
            PublicUrl::Unavailable => "none",
        }
    }
}

/// The links' states, read when `status` asks.
#[derive(Clone)]
pub struct LinksStatus {
    tunnel: watch::Receiver<TunnelState>,
    provider: Option<&'static str>,
    public: &'static str,
    webhook: watch::Receiver<amosync_sync::KeeperStatus>,
    auth: Option<watch::Receiver<AuthState>>,
    /// Not kept alive by the status: [`Links::stop`] ends the keeper.
    keeper: Weak<KeeperHandle>,
}

impl LinksStatus {
    /// As `status` shows them (no secrets: the keeper redacts its URLs).
    /// `public_url` says where the receiver's public address comes from:
    /// `local` (amoCRM runs on this machine), `tunnel` or `none`.
    pub fn json(&self) -> Value {
        json!({
            "tunnel": serde_json::to_value(&*self.tunnel.borrow()).unwrap_or(Value::Null),
            "tunnel_provider": self.provider,
            "public_url": self.public,
            "webhook": serde_json::to_value(&*self.webhook.borrow()).unwrap_or(Value::Null),
            "auth": self.auth.as_ref().map(|a| serde_json::to_value(&*a.borrow()).unwrap_or(Value::Null)),
        })
    }

    /// A keeper check now (re-registers a missing or disabled webhook);
    /// the keeper's status after it. `None` once the links stopped.
    pub async fn check_webhook(&self) -> Option<amosync_sync::KeeperStatus> {
        let keeper = self.keeper.upgrade()?;
        Some(keeper.check_now().await)
    }
}

/// The running links; [`Links::stop`] ends them, each within a bound.
pub struct Links {
    tunnel: Option<TunnelHandle>,
    tunnel_state: watch::Receiver<TunnelState>,
    public: &'static str,
    keeper: Arc<KeeperHandle>,
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
        let public_kind = public.kind();
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
        let keeper = Arc::new(Keeper::start(
            client,
            Arc::new(SystemClock) as Arc<dyn Clock>,
            keeper_config(secret),
            url_rx,
            on_recovered,
        ));
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
            public: public_kind,
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
            public: self.public,
            webhook: self.keeper.subscribe(),
            auth: self.auth.clone(),
            keeper: Arc::downgrade(&self.keeper),
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
