//! Running a tunnel: `start`/`spawn` and the handle that watches and stops it.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::state::TunnelState;
use crate::supervise::stopped;
use crate::{Tunnel, TunnelConfig, TunnelError};

/// How long `stop` waits for the provider to wind down before aborting it.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// A running tunnel. Dropping it also stops the tunnel (without waiting).
#[derive(Debug)]
pub struct TunnelHandle {
    provider: &'static str,
    tx: watch::Sender<TunnelState>,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl TunnelHandle {
    /// The provider's name (`bore`, `cloudflared`, …).
    pub fn provider_name(&self) -> &'static str {
        self.provider
    }

    /// The current state.
    pub fn state(&self) -> TunnelState {
        self.tx.borrow().clone()
    }

    /// A receiver that sees every state change (and the final `Down` on stop).
    pub fn subscribe(&self) -> watch::Receiver<TunnelState> {
        self.tx.subscribe()
    }

    /// The public base URL while the tunnel is up.
    pub fn public_url(&self) -> Option<String> {
        self.tx.borrow().url().map(str::to_owned)
    }

    /// Stops the tunnel: waits up to [`STOP_TIMEOUT`], then aborts it. Ends in `Down { reason: "stopped" }`.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(STOP_TIMEOUT, &mut task).await.is_err()
        {
            tracing::warn!(
                provider = self.provider,
                "tunnel did not stop in time; aborted"
            );
            task.abort();
            let _ = tokio::time::timeout(Duration::from_secs(1), task).await;
        }
        self.tx.send_replace(stopped());
    }
}

impl Drop for TunnelHandle {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Starts the tunnel described by `config`, forwarding to `local` only, on the current tokio runtime.
///
/// Fails fast on invalid settings or a provider that cannot run here; later
/// problems (server down, rejected token) show up as states.
pub fn start(config: TunnelConfig, local: SocketAddr) -> Result<TunnelHandle, TunnelError> {
    config.validate()?;
    match config {
        TunnelConfig::Bore {
            server,
            secret,
            public_url,
        } => spawn(
            crate::bore::BoreTunnel::new(&server, secret)?.behind_tls(public_url.as_deref())?,
            local,
        ),
        TunnelConfig::Cloudflared { binary } => spawn(
            crate::cloudflared::CloudflaredTunnel::new(binary.as_deref())?,
            local,
        ),
        TunnelConfig::OwnUrl { url } => spawn(crate::own_url::OwnUrlTunnel::new(&url)?, local),
        TunnelConfig::None => spawn(crate::own_url::LocalOnly, local),
        #[cfg(feature = "ngrok")]
        TunnelConfig::Ngrok { authtoken, domain } => {
            spawn(crate::ngrok::NgrokTunnel::new(authtoken, domain), local)
        }
        #[cfg(not(feature = "ngrok"))]
        TunnelConfig::Ngrok { .. } => Err(TunnelError::Unavailable(
            "this build of AmoSync has no ngrok support (cargo feature `ngrok`): pick another provider".into(),
        )),
    }
}

/// Runs any [`Tunnel`] on the current tokio runtime.
pub fn spawn<T: Tunnel>(tunnel: T, local: SocketAddr) -> Result<TunnelHandle, TunnelError> {
    let rt = tokio::runtime::Handle::try_current().map_err(|_| TunnelError::NoRuntime)?;
    let provider = tunnel.provider_name();
    let (tx, _) = watch::channel(TunnelState::Starting);
    let stop = CancellationToken::new();
    let task = rt.spawn(tunnel.run(local, tx.clone(), stop.clone()));
    Ok(TunnelHandle {
        provider,
        tx,
        stop,
        task: Some(task),
    })
}
