//! ngrok provider: an in-process ngrok agent (the `ngrok` crate) with an HTTP
//! endpoint forwarding to exactly the local receiver address.
//!
//! ngrok reconnects its session by itself (keeping the URL); our connector
//! hook turns those reconnects into `Reconnecting`/`Up` states. If the first
//! connection fails we retry with our backoff; a rejected authtoken is `Down`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ngrok::config::ForwarderBuilder;
use ngrok::prelude::{EndpointInfo, TunnelCloser};
use ngrok::session::{ConnectError, default_connect};
use ngrok::tunnel::AcceptError;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::Tunnel;
use crate::backoff::Backoff;
use crate::secret::Secret;
use crate::state::{TunnelState, report};
use crate::supervise::{Ended, Outcome, supervise};

const PROVIDER: &str = "ngrok";
/// Bound on establishing the session and binding the endpoint.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// Bound on closing the endpoint and session on stop.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// An in-process ngrok agent.
#[derive(Debug, Clone)]
pub struct NgrokTunnel {
    authtoken: Secret,
    domain: Option<String>,
    /// Overrides ngrok's server (`host:port`); used by tests against a local listener.
    server_addr: Option<String>,
}

impl NgrokTunnel {
    /// An agent with this authtoken and optional reserved domain.
    pub fn new(authtoken: Secret, domain: Option<String>) -> Self {
        Self {
            authtoken,
            domain,
            server_addr: None,
        }
    }

    #[cfg(test)]
    pub(crate) fn with_server_addr(mut self, addr: String) -> Self {
        self.server_addr = Some(addr);
        self
    }

    async fn session(
        &self,
        local: SocketAddr,
        tx: &watch::Sender<TunnelState>,
        stop: &CancellationToken,
    ) -> Outcome {
        // ring is the only crypto provider we enable; make it the process default
        // so rustls never has to guess (no-op if one is installed already).
        let _ = rustls::crypto::ring::default_provider().install_default();

        let current_url: Arc<Mutex<Option<String>>> = Arc::default();
        let mut builder = ngrok::Session::builder();
        builder
            .authtoken(self.authtoken.expose())
            .client_info("amosync", env!("CARGO_PKG_VERSION"), None::<String>)
            .connector(reconnect_reporter(tx.clone(), current_url.clone()));
        if let Some(addr) = &self.server_addr
            && let Err(e) = builder.server_addr(addr.clone())
        {
            return Outcome::never_up(Ended::Fatal(format!("invalid ngrok server address: {e}")));
        }

        let connect = async {
            let session = builder.connect().await.map_err(connect_failure)?;
            let mut endpoint = session.http_endpoint();
            if let Some(domain) = &self.domain {
                endpoint.domain(domain.clone());
            }
            let to: url::Url = format!("http://{local}")
                .parse()
                .map_err(|e| Ended::Fatal(format!("bad local address {local}: {e}")))?;
            let forwarder = endpoint.listen_and_forward(to).await.map_err(|e| {
                Ended::Retry(format!(
                    "ngrok refused the endpoint: {}{}",
                    describe(&e),
                    if self.domain.is_some() {
                        " (check that the domain is reserved on this ngrok account)"
                    } else {
                        ""
                    }
                ))
            })?;
            Ok::<_, Ended>((session, forwarder))
        };
        let (mut session, mut forwarder) = tokio::select! {
            _ = stop.cancelled() => return Outcome::never_up(Ended::Stopped),
            r = tokio::time::timeout(CONNECT_TIMEOUT, connect) => match r {
                Ok(Ok(pair)) => pair,
                Ok(Err(ended)) => return Outcome::never_up(ended),
                Err(_) => return Outcome::never_up(Ended::Retry(format!(
                    "ngrok did not connect within {} s (no internet, or a firewall blocks it)",
                    CONNECT_TIMEOUT.as_secs()
                ))),
            },
        };

        let url = forwarder.url().trim_end_matches('/').to_owned();
        *current_url.lock().unwrap_or_else(|p| p.into_inner()) = Some(url.clone());
        let up_since = Instant::now();
        report(tx, PROVIDER, TunnelState::Up { url });

        let ended = tokio::select! {
            _ = stop.cancelled() => Ended::Stopped,
            r = forwarder.join() => Ended::Retry(match r {
                Ok(Ok(())) => "the ngrok endpoint closed".to_owned(),
                Ok(Err(e)) => format!("the ngrok endpoint failed: {e}"),
                Err(e) => format!("the ngrok forwarder stopped: {e}"),
            }),
        };
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, forwarder.close()).await;
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, session.close()).await;
        Outcome {
            up_since: Some(up_since),
            ended,
        }
    }
}

impl Tunnel for NgrokTunnel {
    fn provider_name(&self) -> &'static str {
        PROVIDER
    }

    async fn run(self, local: SocketAddr, tx: watch::Sender<TunnelState>, stop: CancellationToken) {
        supervise(PROVIDER, &tx, &stop, Backoff::new(), || {
            self.session(local, &tx, &stop)
        })
        .await;
    }
}

/// ngrok's default connector, reporting its internal reconnects as states.
fn reconnect_reporter(
    tx: watch::Sender<TunnelState>,
    current_url: Arc<Mutex<Option<String>>>,
) -> impl ngrok::session::Connector {
    let attempts = Arc::new(AtomicU32::new(0));
    move |host: String, port: u16, tls: Arc<rustls::ClientConfig>, err: Option<AcceptError>| {
        let tx = tx.clone();
        let current_url = current_url.clone();
        let attempts = attempts.clone();
        async move {
            let reconnecting = err.is_some();
            if let Some(e) = &err {
                let attempt = attempts.fetch_add(1, Ordering::Relaxed) + 1;
                report(
                    &tx,
                    PROVIDER,
                    TunnelState::Reconnecting {
                        reason: format!("ngrok connection lost: {}", chain(e)),
                        attempt,
                        retry_in_ms: 0,
                    },
                );
            }
            let result = default_connect(host, port, tls, err).await;
            if reconnecting && result.is_ok() {
                let url = current_url
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                if let Some(url) = url {
                    attempts.store(0, Ordering::Relaxed);
                    report(&tx, PROVIDER, TunnelState::Up { url });
                }
            }
            result
        }
    }
}

/// A failed first connect: a rejected authtoken is permanent, the rest is retried.
fn connect_failure(e: ConnectError) -> Ended {
    match &e {
        ConnectError::Auth(_) => Ended::Fatal(format!(
            "ngrok rejected the authtoken: {}; copy a valid authtoken from the ngrok dashboard into the tunnel settings",
            describe(&e)
        )),
        _ => Ended::Retry(format!("cannot connect to ngrok: {}", describe(&e))),
    }
}

/// ngrok's message and error code when it has them, else the error chain.
fn describe<E: ngrok::prelude::Error + std::error::Error + 'static>(e: &E) -> String {
    match e.error_code() {
        Some(code) => format!("{} ({code})", e.msg()),
        None => chain(e),
    }
}

/// An error and its sources, joined with `: `.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests;
