//! bore end to end: a real bore server (`bore-cli`'s) on 127.0.0.1, a real
//! HTTP receiver, requests through the public URL, server restart, secrets.
//!
//! bore's server always listens on control port 7835, so these tests take a
//! lock and run one at a time.

mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use amosync_tunnel::{BORE_DEFAULT_PORT, Secret, TunnelConfig, TunnelState, start};
use support::{post_webhook, receiver, up_url, wait_for};
use tokio::sync::Mutex;

static BORE_PORT_LOCK: Mutex<()> = Mutex::const_new(());

/// A bore server on 127.0.0.1:7835 in its own runtime, so that killing it
/// (dropping the runtime) also drops every connection it holds.
struct BoreServer {
    rt: Option<tokio::runtime::Runtime>,
}

impl BoreServer {
    async fn start(secret: Option<&'static str>) -> Self {
        Self::start_on(20000..=60000, secret).await
    }

    /// A server handing out public ports from `ports` only.
    async fn start_on(ports: std::ops::RangeInclusive<u16>, secret: Option<&'static str>) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let mut server = bore_cli::server::Server::new(ports, secret);
        server.set_bind_addr(IpAddr::V4(Ipv4Addr::LOCALHOST));
        server.set_bind_tunnels(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let task = rt.spawn(server.listen());
        // Bounded wait until the control port accepts.
        for _ in 0..100 {
            if task.is_finished() {
                let err = task.await.unwrap().unwrap_err();
                panic!("bore server could not listen on 127.0.0.1:{BORE_DEFAULT_PORT}: {err}");
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", BORE_DEFAULT_PORT))
                .await
                .is_ok()
            {
                return Self { rt: Some(rt) };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("bore server did not start listening within 5 s");
    }

    /// Kills the server and all its connections, like a crashed process.
    async fn kill(mut self) {
        let rt = self.rt.take().unwrap();
        tokio::task::spawn_blocking(move || rt.shutdown_timeout(Duration::from_secs(2)))
            .await
            .unwrap();
    }
}

impl Drop for BoreServer {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

fn bore(secret: Option<&str>) -> TunnelConfig {
    TunnelConfig::Bore {
        server: "127.0.0.1".into(),
        secret: secret.map(Secret::new),
        public_url: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_through_the_public_url_reach_the_receiver_and_survive_a_server_restart() {
    let _lock = BORE_PORT_LOCK.lock().await;
    let server = BoreServer::start(None).await;
    let (local, _rx_task) = receiver("receiver").await;

    let handle = start(bore(None), local).unwrap();
    assert_eq!(handle.provider_name(), "bore");
    let log = support::record(handle.subscribe());
    let mut rx = handle.subscribe();
    let url1 = up_url(&wait_for(&mut rx, 20, "Up", |s| s.url().is_some()).await);
    assert!(url1.starts_with("http://127.0.0.1:"), "{url1}");
    assert!(!url1.ends_with('/'));
    assert_eq!(handle.public_url().as_deref(), Some(url1.as_str()));
    let port1: u16 = url1.rsplit(':').next().unwrap().parse().unwrap();
    assert_ne!(
        port1,
        local.port(),
        "the public port must be the server's, not the receiver's"
    );

    for i in 0..3 {
        let (status, text) = post_webhook(&url1, &format!("event-{i}")).await;
        assert_eq!(status, 200);
        assert_eq!(text, format!("receiver got event-{i}"));
    }

    server.kill().await;
    let reconnecting = wait_for(&mut rx, 20, "Reconnecting", |s| {
        matches!(s, TunnelState::Reconnecting { .. })
    })
    .await;
    let TunnelState::Reconnecting {
        reason, attempt, ..
    } = &reconnecting
    else {
        unreachable!()
    };
    assert!(*attempt >= 1);
    assert!(reason.contains("bore"), "{reason}");
    assert!(handle.public_url().is_none());

    let server = BoreServer::start(None).await;
    let url2 = up_url(&wait_for(&mut rx, 20, "Up again", |s| s.url().is_some()).await);
    let (status, text) = post_webhook(&url2, "after-restart").await;
    assert_eq!((status, text.as_str()), (200, "receiver got after-restart"));
    if url2 == url1 {
        eprintln!("note: the new bore session got the same port by chance ({url2})");
    }

    handle.stop().await;
    let seen = tokio::time::timeout(Duration::from_secs(5), log)
        .await
        .expect("state log did not end after stop")
        .unwrap();
    let kinds: Vec<&str> = seen
        .iter()
        .map(|s| match s {
            TunnelState::Starting => "starting",
            TunnelState::Up { .. } => "up",
            TunnelState::Reconnecting { .. } => "reconnecting",
            TunnelState::Down { .. } => "down",
        })
        .collect();
    let first_reconnect = kinds.iter().position(|k| *k == "reconnecting").unwrap();
    assert!(kinds[..first_reconnect].contains(&"up"), "{kinds:?}");
    assert!(kinds[first_reconnect..].contains(&"up"), "{kinds:?}");
    assert_eq!(
        seen.last(),
        Some(&TunnelState::Down {
            reason: "stopped".into()
        })
    );
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_given_local_port_is_forwarded() {
    let _lock = BORE_PORT_LOCK.lock().await;
    let _server = BoreServer::start(None).await;
    let (receiver_addr, _a) = receiver("receiver").await;
    let (control_addr, _b) = receiver("CONTROL-SERVER").await;

    let handle = start(bore(None), receiver_addr).unwrap();
    let mut rx = handle.subscribe();
    let url = up_url(&wait_for(&mut rx, 20, "Up", |s| s.url().is_some()).await);
    // Both local servers answer the same path; only the receiver's answer may come back.
    let (_, direct) = post_webhook(&format!("http://{control_addr}"), "x").await;
    assert_eq!(direct, "CONTROL-SERVER got x");
    for i in 0..5 {
        let (status, text) = post_webhook(&url, &format!("{i}")).await;
        assert_eq!((status, text), (200, format!("receiver got {i}")));
    }
    handle.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_secret_is_answered_and_a_wrong_or_missing_one_is_down() {
    let _lock = BORE_PORT_LOCK.lock().await;
    let _server = BoreServer::start(Some("server-SECRET-1")).await;
    let (local, _r) = receiver("receiver").await;

    let ok = start(bore(Some("server-SECRET-1")), local).unwrap();
    let mut rx = ok.subscribe();
    let url = up_url(&wait_for(&mut rx, 20, "Up", |s| s.url().is_some()).await);
    let (status, text) = post_webhook(&url, "authed").await;
    assert_eq!((status, text.as_str()), (200, "receiver got authed"));
    ok.stop().await;

    for (secret, expect) in [
        (Some("wrong-SECRET-2"), "rejected the secret"),
        (None, "requires a secret"),
    ] {
        let handle = start(bore(secret), local).unwrap();
        let mut rx = handle.subscribe();
        let down = wait_for(&mut rx, 20, "Down", |s| {
            matches!(s, TunnelState::Down { .. })
        })
        .await;
        let TunnelState::Down { reason } = down else {
            unreachable!()
        };
        assert!(reason.contains(expect), "{reason}");
        assert!(!reason.contains("SECRET"), "{reason}");
        handle.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_reports_reconnecting_with_backoff_and_stops_quickly() {
    // A port with nothing listening: bind, note the port, close.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let local: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let handle = start(
        TunnelConfig::Bore {
            server: format!("127.0.0.1:{port}"),
            secret: None,
            public_url: None,
        },
        local,
    )
    .unwrap();
    let mut rx = handle.subscribe();
    let first = wait_for(&mut rx, 10, "Reconnecting", |s| {
        matches!(s, TunnelState::Reconnecting { .. })
    })
    .await;
    let second = wait_for(&mut rx, 10, "a second attempt", |s| {
        matches!(s, TunnelState::Reconnecting { attempt: 2, .. })
    })
    .await;
    match (first, second) {
        (
            TunnelState::Reconnecting {
                reason,
                attempt: 1,
                retry_in_ms: d1,
            },
            TunnelState::Reconnecting {
                retry_in_ms: d2, ..
            },
        ) => {
            assert!(reason.contains(&format!("127.0.0.1:{port}")), "{reason}");
            assert!((800..=1200).contains(&d1), "{d1}");
            assert!((1600..=2400).contains(&d2), "{d2}");
        }
        other => panic!("unexpected states {other:?}"),
    }
    let t = std::time::Instant::now();
    handle.stop().await;
    assert!(t.elapsed() < Duration::from_secs(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_tls_proxy_the_https_address_is_the_public_url() {
    let _lock = BORE_PORT_LOCK.lock().await;
    // The documented set-up: one public port P (--min-port P --max-port P),
    // a TLS proxy forwarding https://hooks.example.test to P.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let _server = BoreServer::start_on(port..=port, None).await;
    let (local, _r) = receiver("receiver").await;
    let config = TunnelConfig::Bore {
        server: "127.0.0.1".into(),
        secret: None,
        public_url: Some("https://hooks.example.test/".into()),
    };
    assert!(config.check_for_account(false).is_ok());
    let handle = start(config, local).unwrap();
    let mut rx = handle.subscribe();
    let url = up_url(&wait_for(&mut rx, 20, "Up", |s| s.url().is_some()).await);
    assert_eq!(
        url, "https://hooks.example.test",
        "the proxy's address is registered"
    );
    // What the proxy forwards to: the one public port reaches the receiver.
    let (status, text) = post_webhook(&format!("http://127.0.0.1:{port}"), "via-proxy").await;
    assert_eq!((status, text.as_str()), (200, "receiver got via-proxy"));
    handle.stop().await;
}
