//! AmoSync's built-in tunnels: make the local webhook receiver reachable from
//! amoCRM. One [`Tunnel`] trait, several providers (bore, Cloudflare quick
//! tunnel, ngrok, own URL), all forwarding to exactly one local address — the
//! receiver's — and reporting [`TunnelState`] through a watch channel.
//!
//! ```no_run
//! # async fn demo(receiver: std::net::SocketAddr) -> Result<(), amosync_tunnel::TunnelError> {
//! use amosync_tunnel::{TunnelConfig, start};
//! let handle = start(TunnelConfig::Bore { server: "bore.example.com".into(), secret: None, public_url: Some("https://hooks.example.com".into()) }, receiver)?;
//! let mut states = handle.subscribe();
//! while states.changed().await.is_ok() {
//!     if let Some(url) = handle.public_url() { println!("register {url}/amocrm/<secret>/"); break; }
//! }
//! handle.stop().await;
//! # Ok(()) }
//! ```

mod backoff;
mod bore;
mod cloudflared;
mod config;
mod error;
mod handle;
#[cfg(feature = "ngrok")]
mod ngrok;
mod own_url;
mod secret;
mod state;
mod supervise;

use std::future::Future;
use std::net::SocketAddr;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub use bore::BoreTunnel;
pub use cloudflared::CloudflaredTunnel;
pub use config::{BORE_DEFAULT_PORT, TunnelConfig};
pub use error::TunnelError;
pub use handle::{STOP_TIMEOUT, TunnelHandle, spawn, start};
#[cfg(feature = "ngrok")]
pub use ngrok::NgrokTunnel;
pub use own_url::{LocalOnly, OwnUrlTunnel};
pub use secret::Secret;
pub use state::TunnelState;
pub use tokio_util::sync::CancellationToken as StopToken;

/// A tunnel provider.
pub trait Tunnel: Send + 'static {
    /// The provider's name, as in [`TunnelConfig::provider_name`].
    fn provider_name(&self) -> &'static str;

    /// Runs until `stop` is cancelled, forwarding public traffic to `local` only
    /// and publishing every state change on `report`. Must return promptly
    /// after `stop` is cancelled.
    fn run(
        self,
        local: SocketAddr,
        report: watch::Sender<TunnelState>,
        stop: CancellationToken,
    ) -> impl Future<Output = ()> + Send;
}
