//! What a running tunnel reports through its watch channel.

use serde::Serialize;
use tokio::sync::watch;

/// The observable state of a tunnel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TunnelState {
    /// Connecting for the first time.
    Starting,
    /// Reachable: `url` is the public base URL, without a trailing slash.
    Up {
        /// Public base URL, e.g. `https://abc.trycloudflare.com`.
        url: String,
    },
    /// Lost or failed; the next attempt starts in `retry_in_ms`.
    Reconnecting {
        /// What went wrong, for a person.
        reason: String,
        /// How many attempts failed in a row (1 for the first failure).
        attempt: u32,
        /// Delay before the next attempt.
        retry_in_ms: u64,
    },
    /// Not running and not retrying (stopped, local only, or a permanent error).
    Down {
        /// Why, for a person.
        reason: String,
    },
}

impl TunnelState {
    /// The public base URL when the tunnel is up.
    pub fn url(&self) -> Option<&str> {
        match self {
            TunnelState::Up { url } => Some(url),
            _ => None,
        }
    }
}

/// Publishes a new state, logging it (reasons and URLs carry no secrets).
pub(crate) fn report(tx: &watch::Sender<TunnelState>, provider: &str, state: TunnelState) {
    match &state {
        TunnelState::Up { url } => tracing::info!(provider, %url, "tunnel up"),
        TunnelState::Reconnecting {
            reason,
            attempt,
            retry_in_ms,
        } => tracing::warn!(provider, %reason, attempt, retry_in_ms, "tunnel reconnecting"),
        TunnelState::Down { reason } => tracing::info!(provider, %reason, "tunnel down"),
        TunnelState::Starting => tracing::debug!(provider, "tunnel starting"),
    }
    tx.send_replace(state);
}
