//! bore provider: a TCP tunnel through a self-hosted bore server
//! (<https://github.com/ekzhang/bore>), speaking its protocol directly so the
//! control port is configurable and the client can be stopped at any time.
//!
//! Each session asks for a random public port, so a reconnect usually gets a
//! new URL, reported as a new `Up`. Every visitor connection is piped to
//! exactly the configured local address and nowhere else.

mod proto;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::secret::Secret;
use crate::state::{TunnelState, report};
use crate::supervise::{Ended, Outcome, supervise};
use crate::{Tunnel, TunnelError};
use proto::{ClientMessage, Framed, ServerMessage};

/// Timeout for connecting and for each handshake message.
/// Most visitor connections piped at once.
const MAX_VISITORS: usize = 64;
/// Longest life of one visitor connection.
const VISITOR_LIFETIME: Duration = Duration::from_secs(120);
const NETWORK_TIMEOUT: Duration = Duration::from_secs(5);
/// The server heartbeats every 500 ms; this long without a frame means the link is dead.
const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(8);
const PROVIDER: &str = "bore";

/// A bore client for one server.
#[derive(Debug, Clone)]
pub struct BoreTunnel {
    host: String,
    port: u16,
    secret: Option<Secret>,
    /// The `https://` address of a TLS proxy in front of the public port.
    tls_url: Option<String>,
}

impl BoreTunnel {
    /// A client for `server` (`host[:port]`, default port 7835).
    pub fn new(server: &str, secret: Option<Secret>) -> Result<Self, TunnelError> {
        let (host, port) = crate::config::parse_bore_server(server)?;
        Ok(Self {
            host,
            port,
            secret,
            tls_url: None,
        })
    }

    /// Reports `url` (`https://…`, a TLS proxy forwarding to the tunnel's
    /// public port) as the public URL instead of bore's clear-text
    /// `http://host:port`. `None` keeps bore's own.
    pub fn behind_tls(mut self, url: Option<&str>) -> Result<Self, TunnelError> {
        self.tls_url = url.map(crate::config::normalize_tls_url).transpose()?;
        Ok(self)
    }

    /// The TLS proxy's address, else `http://host:port` for a public port on the server.
    fn public_url(&self, remote_port: u16) -> String {
        if let Some(url) = &self.tls_url {
            return url.clone();
        }
        if self.host.contains(':') {
            format!("http://[{}]:{remote_port}", self.host)
        } else {
            format!("http://{}:{remote_port}", self.host)
        }
    }

    fn server_display(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Opens a control connection and answers the server's challenge if we have a secret.
    async fn connect(&self) -> Result<Framed, Ended> {
        let stream = match timeout(
            NETWORK_TIMEOUT,
            TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                return Err(Ended::Retry(format!(
                    "cannot reach the bore server at {}: {e}",
                    self.server_display()
                )));
            }
            Err(_) => {
                return Err(Ended::Retry(format!(
                    "the bore server at {} did not answer within {} s",
                    self.server_display(),
                    NETWORK_TIMEOUT.as_secs()
                )));
            }
        };
        let _ = stream.set_nodelay(true);
        let mut conn = Framed::new(stream);
        if let Some(secret) = &self.secret {
            let challenge = match recv_timeout(&mut conn).await? {
                ServerMessage::Challenge(c) => c,
                ServerMessage::Error(e) => return Err(server_error(e)),
                _ => {
                    return Err(Ended::Fatal(
                        "the bore server did not ask for a secret: remove the secret from the tunnel settings or check the server address".into(),
                    ));
                }
            };
            let tag = proto::answer(secret.expose(), &challenge)
                .ok_or_else(|| Ended::Retry("the bore server sent a malformed challenge".into()))?;
            send(&mut conn, &ClientMessage::Authenticate(tag)).await?;
        }
        Ok(conn)
    }

    /// One control connection: hello, `Up`, then serve visitor connections until it drops.
    async fn session(
        &self,
        local: SocketAddr,
        tx: &watch::Sender<TunnelState>,
        stop: &CancellationToken,
    ) -> Outcome {
        let mut conn = match self.connect().await {
            Ok(c) => c,
            Err(ended) => return Outcome::never_up(ended),
        };
        if let Err(ended) = send(&mut conn, &ClientMessage::Hello(0)).await {
            return Outcome::never_up(ended);
        }
        let remote_port = match recv_timeout(&mut conn).await {
            Ok(ServerMessage::Hello(p)) => p,
            Ok(ServerMessage::Error(e)) => return Outcome::never_up(server_error(e)),
            Ok(ServerMessage::Challenge(_)) => {
                return Outcome::never_up(Ended::Fatal(
                    "the bore server requires a secret: enter the server's --secret in the tunnel settings".into(),
                ));
            }
            Ok(other) => {
                return Outcome::never_up(Ended::Retry(format!(
                    "the bore server sent {other:?} instead of Hello"
                )));
            }
            Err(ended) => return Outcome::never_up(ended),
        };
        let up_since = Instant::now();
        report(
            tx,
            PROVIDER,
            TunnelState::Up {
                url: self.public_url(remote_port),
            },
        );
        // Visitor connections; dropped (aborted) with the session.
        let mut proxies = JoinSet::new();
        let ended = loop {
            while proxies.try_join_next().is_some() {}
            let msg = tokio::select! {
                _ = stop.cancelled() => break Ended::Stopped,
                m = timeout(HEARTBEAT_TIMEOUT, conn.recv()) => m,
            };
            match msg {
                Err(_) => {
                    break Ended::Retry(format!(
                        "no heartbeat from the bore server for {} s",
                        HEARTBEAT_TIMEOUT.as_secs()
                    ));
                }
                Ok(Ok(None)) => break Ended::Retry("the bore server closed the connection".into()),
                Ok(Err(e)) => break Ended::Retry(format!("bore connection failed: {e}")),
                Ok(Ok(Some(ServerMessage::Heartbeat))) => {}
                Ok(Ok(Some(ServerMessage::Connection(_)))) if proxies.len() >= MAX_VISITORS => {
                    // Anyone can connect to the public port: a flood must
                    // not exhaust this machine's sockets.
                    tracing::warn!("{MAX_VISITORS} visitor connections are open; one more refused");
                }
                Ok(Ok(Some(ServerMessage::Connection(id)))) => {
                    let this = self.clone();
                    proxies.spawn(async move {
                        if let Err(e) = this.proxy(id, local).await {
                            tracing::debug!(error = %e, "bore visitor connection ended with an error");
                        }
                    });
                }
                Ok(Ok(Some(ServerMessage::Error(e)))) => {
                    tracing::warn!(error = %e, "bore server error");
                }
                Ok(Ok(Some(other))) => {
                    tracing::warn!(message = ?other, "unexpected bore message ignored");
                }
            }
        };
        Outcome {
            up_since: Some(up_since),
            ended,
        }
    }

    /// Pipes one visitor connection (`id`) to `local`.
    async fn proxy(&self, id: String, local: SocketAddr) -> Result<(), String> {
        let mut remote = self.connect().await.map_err(|e| match e {
            Ended::Retry(r) | Ended::Fatal(r) => r,
            Ended::Stopped => "stopped".into(),
        })?;
        remote
            .send(&ClientMessage::Accept(id))
            .await
            .map_err(|e| e.to_string())?;
        let mut local_conn = timeout(NETWORK_TIMEOUT, TcpStream::connect(local))
            .await
            .map_err(|_| format!("local receiver {local} did not accept in time"))?
            .map_err(|e| format!("local receiver {local}: {e}"))?;
        let (mut remote_stream, leftover) = remote.into_parts();
        if !leftover.is_empty() {
            tokio::io::AsyncWriteExt::write_all(&mut local_conn, &leftover)
                .await
                .map_err(|e| e.to_string())?;
        }
        // A webhook delivery is one short request; a visitor that lingers
        // is cut off.
        match timeout(
            VISITOR_LIFETIME,
            tokio::io::copy_bidirectional(&mut local_conn, &mut remote_stream),
        )
        .await
        {
            Ok(done) => done.map(|_| ()).map_err(|e| e.to_string()),
            Err(_) => Err(format!(
                "visitor connection closed after {} s",
                VISITOR_LIFETIME.as_secs()
            )),
        }
    }
}

impl Tunnel for BoreTunnel {
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

async fn send(conn: &mut Framed, msg: &ClientMessage) -> Result<(), Ended> {
    match timeout(NETWORK_TIMEOUT, conn.send(msg)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(Ended::Retry(format!("bore connection failed: {e}"))),
        Err(_) => Err(Ended::Retry("the bore server stopped reading".into())),
    }
}

async fn recv_timeout(conn: &mut Framed) -> Result<ServerMessage, Ended> {
    match timeout(NETWORK_TIMEOUT, conn.recv()).await {
        Ok(Ok(Some(m))) => Ok(m),
        Ok(Ok(None)) => Err(Ended::Retry(
            "the bore server closed the connection during the handshake".into(),
        )),
        Ok(Err(e)) => Err(Ended::Retry(format!("bore handshake failed: {e}"))),
        Err(_) => Err(Ended::Retry(format!(
            "the bore server did not answer within {} s (if the server has no --secret, remove the secret from the settings)",
            NETWORK_TIMEOUT.as_secs()
        ))),
    }
}

/// A server `Error` frame: a rejected secret is permanent, anything else is retried.
fn server_error(message: String) -> Ended {
    if message.contains("secret") {
        Ended::Fatal(format!(
            "the bore server rejected the secret ({message}): check the secret in the tunnel settings"
        ))
    } else {
        Ended::Retry(format!("bore server error: {message}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_url_uses_the_configured_host() {
        let t = BoreTunnel::new("bore.example.com", None).unwrap();
        assert_eq!(t.port, 7835);
        assert_eq!(t.public_url(41234), "http://bore.example.com:41234");
        let t = BoreTunnel::new("[::1]:9000", None).unwrap();
        assert_eq!(t.public_url(5), "http://[::1]:5");
        assert_eq!(t.server_display(), "[::1]:9000");
        let t = BoreTunnel::new("bore.example.com", None)
            .and_then(|t| t.behind_tls(Some("https://hooks.example.com/")))
            .unwrap();
        assert_eq!(t.public_url(41234), "https://hooks.example.com");
        let clear = BoreTunnel::new("bore.example.com", None)
            .and_then(|t| t.behind_tls(Some("http://hooks.example.com")))
            .unwrap_err();
        assert!(clear.to_string().contains("https://"), "{clear}");
    }
}
