//! Own URL and local-only "providers": nothing to run, a fixed state until stopped.

use std::net::SocketAddr;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::state::{TunnelState, report};
use crate::supervise::stopped;
use crate::{Tunnel, TunnelError};

/// The admin's reverse proxy forwards a public URL to the receiver.
#[derive(Debug, Clone)]
pub struct OwnUrlTunnel {
    url: String,
}

impl OwnUrlTunnel {
    /// Validates `url` (https, or http for loopback; no query/fragment).
    pub fn new(url: &str) -> Result<Self, TunnelError> {
        Ok(Self {
            url: crate::config::normalize_own_url(url)?,
        })
    }
}

impl Tunnel for OwnUrlTunnel {
    fn provider_name(&self) -> &'static str {
        "own_url"
    }

    async fn run(
        self,
        _local: SocketAddr,
        tx: watch::Sender<TunnelState>,
        stop: CancellationToken,
    ) {
        report(&tx, "own_url", TunnelState::Up { url: self.url });
        stop.cancelled().await;
        report(&tx, "own_url", stopped());
    }
}

/// No tunnel: the receiver stays reachable on this machine only.
#[derive(Debug, Clone, Default)]
pub struct LocalOnly;

impl Tunnel for LocalOnly {
    fn provider_name(&self) -> &'static str {
        "none"
    }

    async fn run(
        self,
        _local: SocketAddr,
        tx: watch::Sender<TunnelState>,
        stop: CancellationToken,
    ) {
        report(
            &tx,
            "none",
            TunnelState::Down {
                reason: "no tunnel configured: amoCRM cannot reach the receiver; pick a tunnel provider in the settings".into(),
            },
        );
        stop.cancelled().await;
    }
}
