//! ngrok without the internet: a loopback listener that is not ngrok stands in
//! for the ngrok server, so a failed connect must become `Reconnecting`, never a panic or a hang.

use std::time::Duration;

use tokio::net::TcpListener;

use super::*;

#[tokio::test]
async fn a_server_that_is_not_ngrok_gives_reconnecting_with_a_reason() {
    let fake = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fake_addr = fake.local_addr().unwrap();
    let accepted = Arc::new(AtomicU32::new(0));
    let counter = accepted.clone();
    let fake_server = tokio::spawn(async move {
        // Accept and hang up at once, a bounded number of times (aborted at the end).
        for _ in 0..20 {
            let Ok((s, _)) = fake.accept().await else {
                break;
            };
            counter.fetch_add(1, Ordering::Relaxed);
            drop(s);
        }
    });

    let receiver: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let tunnel = NgrokTunnel::new(Secret::new("not-a-real-token-XYZ"), None)
        .with_server_addr(fake_addr.to_string());
    assert!(!format!("{tunnel:?}").contains("not-a-real-token-XYZ"));
    let handle = crate::spawn(tunnel, receiver).unwrap();
    let mut rx = handle.subscribe();
    let state = tokio::time::timeout(
        Duration::from_secs(15),
        rx.wait_for(|s| matches!(s, TunnelState::Reconnecting { .. })),
    )
    .await
    .expect("no Reconnecting within 15 s")
    .unwrap()
    .clone();
    let TunnelState::Reconnecting {
        reason,
        attempt,
        retry_in_ms,
    } = state
    else {
        unreachable!()
    };
    eprintln!("ngrok reason: {reason}");
    assert!(reason.contains("cannot connect to ngrok"), "{reason}");
    assert!(!reason.contains("not-a-real-token-XYZ"), "{reason}");
    assert_eq!(attempt, 1);
    assert!((800..=1200).contains(&retry_in_ms), "{retry_in_ms}");

    let started = Instant::now();
    handle.stop().await;
    assert!(started.elapsed() < Duration::from_secs(6));
    fake_server.abort();
    assert!(
        accepted.load(Ordering::Relaxed) >= 1,
        "the fake server saw no connection"
    );
}

#[test]
fn auth_rejection_is_permanent_and_other_failures_retry() {
    let tcp = ConnectError::Tcp(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
    assert!(
        matches!(connect_failure(tcp), Ended::Retry(r) if r.starts_with("cannot connect to ngrok"))
    );
}
