//! Cloudflare quick tunnel: runs `cloudflared tunnel --url http://<local>`,
//! reads the `https://*.trycloudflare.com` URL from its output, and restarts
//! it (getting a new URL) whenever it exits.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::state::{TunnelState, report};
use crate::supervise::{Ended, Outcome, supervise};
use crate::{Tunnel, TunnelError};

const PROVIDER: &str = "cloudflared";
/// How long cloudflared may take to print its URL before it is restarted.
const URL_TIMEOUT: Duration = Duration::from_secs(60);

/// A Cloudflare quick tunnel run by the `cloudflared` program.
#[derive(Debug, Clone)]
pub struct CloudflaredTunnel {
    binary: PathBuf,
    url_timeout: Duration,
}

impl CloudflaredTunnel {
    /// Uses `binary`, or finds `cloudflared` on `PATH`; fails if it is not there.
    pub fn new(binary: Option<&Path>) -> Result<Self, TunnelError> {
        let binary = match binary {
            Some(p) => {
                if !is_executable(p) {
                    return Err(TunnelError::Unavailable(format!(
                        "cloudflared was not found at {} (or is not executable): install cloudflared, fix the path, or pick another provider",
                        p.display()
                    )));
                }
                p.to_path_buf()
            }
            None => find_in_path("cloudflared", std::env::var_os("PATH")).ok_or_else(|| {
                TunnelError::Unavailable(
                    "cloudflared was not found on PATH: install cloudflared (https://developers.cloudflare.com/cloudflare-one/connections/connect-networks/downloads/), set its path in the tunnel settings, or pick another provider".into(),
                )
            })?,
        };
        Ok(Self {
            binary,
            url_timeout: URL_TIMEOUT,
        })
    }

    /// The program that will be run.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// One run of cloudflared: spawn, wait for the URL, wait for exit or stop.
    async fn session(
        &self,
        local: SocketAddr,
        tx: &watch::Sender<TunnelState>,
        stop: &CancellationToken,
    ) -> Outcome {
        let mut child = match Command::new(&self.binary)
            .args(["tunnel", "--no-autoupdate", "--url"])
            .arg(format!("http://{local}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                return Outcome::never_up(Ended::Retry(format!(
                    "cannot run {}: {e}",
                    self.binary.display()
                )));
            }
        };
        let (lines_tx, mut lines) = mpsc::channel::<String>(64);
        if let Some(out) = child.stdout.take() {
            tokio::spawn(forward_lines(out, lines_tx.clone()));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(forward_lines(err, lines_tx));
        }

        let started = Instant::now();
        let mut up_since = None;
        let ended = loop {
            let url_deadline = async {
                if up_since.is_none() {
                    tokio::time::sleep_until((started + self.url_timeout).into()).await;
                } else {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                _ = stop.cancelled() => {
                    kill(&mut child).await;
                    break Ended::Stopped;
                }
                status = child.wait() => {
                    let status = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                    break Ended::Retry(format!("cloudflared exited ({status})"));
                }
                _ = url_deadline => {
                    kill(&mut child).await;
                    break Ended::Retry(format!(
                        "cloudflared printed no trycloudflare.com URL within {} s",
                        self.url_timeout.as_secs()
                    ));
                }
                Some(line) = lines.recv() => {
                    tracing::debug!(target: "amosync_tunnel::cloudflared", "{line}");
                    if up_since.is_none() && let Some(url) = parse_quick_tunnel_url(&line) {
                        up_since = Some(Instant::now());
                        report(tx, PROVIDER, TunnelState::Up { url });
                    }
                }
            }
        };
        Outcome { up_since, ended }
    }
}

impl Tunnel for CloudflaredTunnel {
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

/// Kills cloudflared and reaps it (bounded).
async fn kill(child: &mut Child) {
    let _ = child.start_kill();
    let _ = tokio::time::timeout(Duration::from_secs(3), child.wait()).await;
}

async fn forward_lines(stream: impl AsyncRead + Unpin, tx: mpsc::Sender<String>) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if tx.send(line).await.is_err() {
            break;
        }
    }
}

/// Finds the quick tunnel URL (`https://<name>.trycloudflare.com`) in a line of
/// cloudflared output; `api.trycloudflare.com` (the API it calls) is not one.
pub(crate) fn parse_quick_tunnel_url(line: &str) -> Option<String> {
    let mut rest = line;
    while let Some(i) = rest.find("https://") {
        let after = &rest[i + "https://".len()..];
        let host: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
            .collect();
        let host = host.to_ascii_lowercase();
        if let Some(name) = host.strip_suffix(".trycloudflare.com")
            && !name.is_empty()
            && name != "api"
            && !name.contains('.')
        {
            return Some(format!("https://{host}"));
        }
        rest = after;
    }
    None
}

/// Looks `name` up in a `PATH`-style list (adds `.exe` on Windows).
pub(crate) fn find_in_path(name: &str, path: Option<OsString>) -> Option<PathBuf> {
    let path = path?;
    std::env::split_paths(&path).find_map(|dir| {
        let candidate = dir.join(name);
        if is_executable(&candidate) {
            return Some(candidate);
        }
        if cfg!(windows) {
            let exe = dir.join(format!("{name}.exe"));
            if exe.is_file() {
                return Some(exe);
            }
        }
        None
    })
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_url_in_cloudflared_output() {
        let banner = "2024-05-01T10:00:00Z INF |  https://seasonal-deck-organisms-sf.trycloudflare.com                                   |";
        assert_eq!(
            parse_quick_tunnel_url(banner).as_deref(),
            Some("https://seasonal-deck-organisms-sf.trycloudflare.com")
        );
        for noise in [
            "2024-05-01T10:00:00Z INF Requesting new quick Tunnel on trycloudflare.com...",
            r#"2024-05-01T10:00:00Z ERR failed to request quick Tunnel: Post "https://api.trycloudflare.com/tunnel": dial tcp"#,
            "2024-05-01T10:00:00Z INF |  Your quick Tunnel has been created! Visit it at (it may take some time to be reachable):  |",
            "https://example.com",
            "https://a.b.trycloudflare.com",
            "https://.trycloudflare.com",
        ] {
            assert_eq!(parse_quick_tunnel_url(noise), None, "{noise}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn finds_only_executables_on_path() {
        use std::os::unix::fs::PermissionsExt;
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let plain = a.path().join("cloudflared");
        std::fs::write(&plain, "not executable").unwrap();
        let exe = b.path().join("cloudflared");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = std::env::join_paths([a.path(), b.path()]).unwrap();
        assert_eq!(find_in_path("cloudflared", Some(path)), Some(exe));
        let only_a = std::env::join_paths([a.path()]).unwrap();
        assert_eq!(find_in_path("cloudflared", Some(only_a)), None);
        assert_eq!(find_in_path("cloudflared", None), None);
    }

    #[test]
    fn missing_binary_is_a_clear_error() {
        let err = CloudflaredTunnel::new(Some(Path::new("/nonexistent/cloudflared"))).unwrap_err();
        assert_eq!(err.code(), "TunnelUnavailable");
        assert!(err.to_string().contains("install cloudflared"), "{err}");
        assert!(err.to_string().contains("pick another provider"), "{err}");
    }
}
