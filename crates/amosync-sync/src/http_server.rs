//! The receiver's HTTP/1 server: an accept loop that caps open connections
//! and times out slow headers (what `axum::serve` does not do; see
//! [`crate::serve_limits`] for the numbers).
//!
//! Each connection is served by hyper's HTTP/1 connection with its
//! `header_read_timeout` (on tokio's timer) and a bounded read buffer. A
//! connection holds one permit of a semaphore of
//! [`ServeLimits::max_connections`]; with none left the loop stops accepting
//! until one closes. On shutdown the loop stops accepting, every connection
//! finishes its request in flight and closes, and [`serve`] returns when the
//! last one has.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use crate::serve_limits::ServeLimits;

/// The hyper connection settings for `limits`.
fn connection_builder(limits: &ServeLimits) -> hyper::server::conn::http1::Builder {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // hyper's floor is 8 KiB; headers must fit.
        .max_buf_size(limits.read_buffer_bytes.max(8 * 1024));
    builder
}

/// Whether an accept error concerns one connection only (try the next at once).
fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// Serves `router` on `listener` within `limits` until `shutdown` resolves,
/// then closes gracefully.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()> + Send,
) {
    let max = limits.max_connections.clamp(1, u32::MAX as usize);
    let slots = Arc::new(Semaphore::new(max));
    let builder = connection_builder(&limits);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut full_logged = false;
    loop {
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => {
                full_logged = false;
                slot
            }
            Err(_) => {
                if !full_logged {
                    tracing::warn!(
                        max_connections = max,
                        "the webhook receiver has its maximum of open connections; new ones wait"
                    );
                    full_logged = true;
                }
                tokio::select! {
                    slot = slots.clone().acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_) => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(error = %e, "the webhook receiver cannot accept a connection; retrying in 1 s");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let builder = builder.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                _ = stop.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = result {
                tracing::trace!(error = %e, "a receiver connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection holds a slot: all of them back means all closed.
    let _ = slots
        .acquire_many(u32::try_from(max).unwrap_or(u32::MAX))
        .await;
}
