//! `start` for the providers with nothing to run (own URL, local only), and
//! the handle's contract: state, subscribe, public_url, bounded stop.

mod support;

use std::time::Duration;

use amosync_tunnel::{Secret, TunnelConfig, TunnelState, start};
use support::{post_webhook, receiver, wait_for};

#[tokio::test]
async fn own_url_is_up_at_once_without_trailing_slash() {
    let (local, _r) = receiver("receiver").await;
    // A loopback "reverse proxy" URL is allowed over http: use the receiver itself.
    let handle = start(
        TunnelConfig::OwnUrl {
            url: format!("http://{local}/"),
        },
        local,
    )
    .unwrap();
    let mut rx = handle.subscribe();
    let up = wait_for(&mut rx, 5, "Up", |s| s.url().is_some()).await;
    let base = format!("http://{local}");
    assert_eq!(up, TunnelState::Up { url: base.clone() });
    assert_eq!(handle.public_url(), Some(base.clone()));
    assert_eq!(handle.state(), up);
    let (status, text) = post_webhook(&base, "hello").await;
    assert_eq!((status, text.as_str()), (200, "receiver got hello"));

    let t = std::time::Instant::now();
    handle.stop().await;
    assert!(t.elapsed() < Duration::from_secs(1));
    assert_eq!(
        *rx.borrow(),
        TunnelState::Down {
            reason: "stopped".into()
        }
    );
}

#[tokio::test]
async fn own_url_with_plain_http_to_a_public_host_is_refused() {
    let err = start(
        TunnelConfig::OwnUrl {
            url: "http://office.example.com/amosync".into(),
        },
        "127.0.0.1:1".parse().unwrap(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "TunnelConfig");
    assert!(err.to_string().contains("https://"), "{err}");
}

#[tokio::test]
async fn local_only_is_down_with_a_reason() {
    let handle = start(TunnelConfig::None, "127.0.0.1:1".parse().unwrap()).unwrap();
    let mut rx = handle.subscribe();
    let down = wait_for(&mut rx, 5, "Down", |s| {
        matches!(s, TunnelState::Down { .. })
    })
    .await;
    let TunnelState::Down { reason } = down else {
        unreachable!()
    };
    assert!(reason.contains("no tunnel configured"), "{reason}");
    assert_eq!(handle.public_url(), None);
    handle.stop().await;
}

#[tokio::test]
async fn ngrok_without_authtoken_is_a_config_error() {
    let err = start(
        TunnelConfig::Ngrok {
            authtoken: Secret::new(""),
            domain: None,
        },
        "127.0.0.1:1".parse().unwrap(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "TunnelConfig");
    assert!(err.to_string().contains("authtoken is missing"), "{err}");
}

#[test]
fn start_outside_a_runtime_is_an_error_not_a_panic() {
    let err = start(TunnelConfig::None, "127.0.0.1:1".parse().unwrap()).unwrap_err();
    assert_eq!(err.code(), "TunnelRuntime");
}

#[test]
fn state_serializes_with_a_state_tag() {
    let v = serde_json::to_value(TunnelState::Reconnecting {
        reason: "r".into(),
        attempt: 2,
        retry_in_ms: 2000,
    })
    .unwrap();
    assert_eq!(
        v,
        serde_json::json!({"state": "reconnecting", "reason": "r", "attempt": 2, "retry_in_ms": 2000})
    );
    assert_eq!(
        serde_json::to_value(TunnelState::Up {
            url: "https://x".into()
        })
        .unwrap(),
        serde_json::json!({"state": "up", "url": "https://x"})
    );
}
