//! The receiver's accept loop over real sockets: slow headers are cut off,
//! the connection cap holds new connections back until a slot frees, and a
//! shutdown closes idle connections and returns.

use std::time::{Duration, Instant};

use amosync_sync::http_server::serve;
use amosync_sync::serve_limits::ServeLimits;
use axum::Router;
use axum::routing::post;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const REQUEST: &[u8] = b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\n\r\na=1";

async fn start(
    limits: ServeLimits,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let router = Router::new().route("/", post(|body: String| async move { body }));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, router, limits, async move {
        let _ = stopped.await;
    }));
    (addr, stop, task)
}

/// Reads until the server closes the connection (or `within` passes);
/// whether it closed.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 256];
    let deadline = Instant::now() + within;
    for _ in 0..100 {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
    false
}

/// Sends one request on `stream` and reads its answer's status line.
async fn status_of(stream: &mut TcpStream, within: Duration) -> Option<String> {
    stream.write_all(REQUEST).await.ok()?;
    let mut buf = vec![0u8; 512];
    let n = tokio::time::timeout(within, stream.read(&mut buf))
        .await
        .ok()?
        .ok()?;
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    text.lines().next().map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_are_cut_off() {
    let (addr, _stop, _task) = start(ServeLimits {
        header_read_timeout: Duration::from_millis(300),
        ..ServeLimits::default()
    })
    .await;
    // Nothing sent at all.
    let mut silent = TcpStream::connect(&addr).await.expect("connect");
    // Half a request line, then nothing.
    let mut half = TcpStream::connect(&addr).await.expect("connect");
    half.write_all(b"POST / HTTP/1.1\r\nhost:")
        .await
        .expect("write");
    assert!(
        closed_within(&mut silent, Duration::from_secs(5)).await,
        "silent connection kept"
    );
    assert!(
        closed_within(&mut half, Duration::from_secs(5)).await,
        "half-sent headers kept"
    );
    // A prompt request is served.
    let mut prompt = TcpStream::connect(&addr).await.expect("connect");
    assert_eq!(
        status_of(&mut prompt, Duration::from_secs(5))
            .await
            .as_deref(),
        Some("HTTP/1.1 200 OK")
    );
    // And the same connection, idle afterwards on keep-alive, is closed too.
    assert!(
        closed_within(&mut prompt, Duration::from_secs(5)).await,
        "idle keep-alive kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_cap_holds_new_connections_until_a_slot_frees() {
    let (addr, _stop, _task) = start(ServeLimits {
        max_connections: 2,
        header_read_timeout: Duration::from_secs(30),
        ..ServeLimits::default()
    })
    .await;
    let first = TcpStream::connect(&addr).await.expect("connect");
    let mut second = TcpStream::connect(&addr).await.expect("connect");
    assert_eq!(
        status_of(&mut second, Duration::from_secs(5))
            .await
            .as_deref(),
        Some("HTTP/1.1 200 OK"),
        "the second connection is within the cap"
    );
    // The third waits in the backlog: connected by the kernel, not served.
    let mut third = TcpStream::connect(&addr).await.expect("connect");
    third.write_all(REQUEST).await.expect("write");
    let mut buf = vec![0u8; 512];
    let early = tokio::time::timeout(Duration::from_millis(700), third.read(&mut buf)).await;
    assert!(early.is_err(), "served beyond the cap: {early:?}");
    // A slot frees: the third is served.
    drop(first);
    let n = tokio::time::timeout(Duration::from_secs(5), third.read(&mut buf))
        .await
        .expect("served once a slot freed")
        .expect("read");
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200 OK"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_idle_connections_and_returns() {
    let (addr, stop, task) = start(ServeLimits {
        header_read_timeout: Duration::from_secs(30),
        ..ServeLimits::default()
    })
    .await;
    let mut idle = TcpStream::connect(&addr).await.expect("connect");
    let mut served = TcpStream::connect(&addr).await.expect("connect");
    assert!(
        status_of(&mut served, Duration::from_secs(5))
            .await
            .is_some()
    );
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("serve returns after the shutdown signal")
        .expect("no panic");
    assert!(closed_within(&mut idle, Duration::from_secs(2)).await);
    assert!(closed_within(&mut served, Duration::from_secs(2)).await);
    assert!(
        TcpStream::connect(&addr).await.is_err(),
        "no longer listening"
    );
}
