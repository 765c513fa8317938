//! The reconnect loop shared by the providers that can drop: run a session,
//! report `Reconnecting` with backoff when it ends, stop when told.

use std::future::Future;
use std::time::Instant;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::state::{TunnelState, report};

/// How one session (connection, process run) ended.
pub(crate) enum Ended {
    /// Transient: try again after the backoff delay.
    Retry(String),
    /// Permanent (e.g. rejected credentials): report `Down` and stop trying.
    Fatal(String),
    /// `stop` was cancelled.
    Stopped,
}

/// The result of one session: when it came up (if it did) and how it ended.
pub(crate) struct Outcome {
    pub(crate) up_since: Option<Instant>,
    pub(crate) ended: Ended,
}

impl Outcome {
    pub(crate) fn never_up(ended: Ended) -> Self {
        Self {
            up_since: None,
            ended,
        }
    }
}

/// Runs `session` again and again until `stop` is cancelled or a session ends fatally.
///
/// A session reports `Up` itself and must return promptly once `stop` is cancelled.
pub(crate) async fn supervise<F, Fut>(
    provider: &'static str,
    tx: &watch::Sender<TunnelState>,
    stop: &CancellationToken,
    mut backoff: Backoff,
    mut session: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Outcome>,
{
    report(tx, provider, TunnelState::Starting);
    loop {
        let outcome = session().await;
        if let Some(since) = outcome.up_since {
            backoff.connection_ended(since);
        }
        match outcome.ended {
            Ended::Stopped => break,
            Ended::Fatal(reason) => {
                report(tx, provider, TunnelState::Down { reason });
                return;
            }
            Ended::Retry(reason) => {
                if stop.is_cancelled() {
                    break;
                }
                let (attempt, delay) = backoff.fail();
                report(
                    tx,
                    provider,
                    TunnelState::Reconnecting {
                        reason,
                        attempt,
                        retry_in_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    },
                );
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
    report(tx, provider, stopped());
}

/// The state after a requested stop.
pub(crate) fn stopped() -> TunnelState {
    TunnelState::Down {
        reason: "stopped".to_owned(),
    }
}
