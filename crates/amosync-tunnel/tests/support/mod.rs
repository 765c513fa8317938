//! Shared test helpers: a stand-in receiver, an HTTP client that never uses a
//! proxy, and bounded waits on tunnel states.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use amosync_tunnel::TunnelState;
use axum::Router;
use axum::routing::post;
use tokio::sync::watch;

/// A tiny HTTP server on 127.0.0.1 answering `POST /amocrm/<secret>/` with `answer`.
pub async fn receiver(answer: &'static str) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let app = Router::new().route(
        "/amocrm/s3cr3t/",
        post(move |body: String| async move { format!("{answer} got {body}") }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (addr, task)
}

/// A client with short timeouts that ignores proxy environment variables.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// POSTs `body` to `<base>/amocrm/s3cr3t/` and returns status and text.
pub async fn post_webhook(base: &str, body: &str) -> (u16, String) {
    let resp = client()
        .post(format!("{base}/amocrm/s3cr3t/"))
        .body(body.to_owned())
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST through {base} failed: {e}"));
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// Waits (at most `secs`) for a state matching `pred`; panics with the last state otherwise.
pub async fn wait_for(
    rx: &mut watch::Receiver<TunnelState>,
    secs: u64,
    what: &str,
    pred: impl FnMut(&TunnelState) -> bool,
) -> TunnelState {
    let result = tokio::time::timeout(Duration::from_secs(secs), rx.wait_for(pred))
        .await
        .map(|r| r.map(|s| s.clone()));
    match result {
        Ok(Ok(s)) => s,
        Ok(Err(_)) => panic!("tunnel ended while waiting for {what}"),
        Err(_) => panic!("no {what} within {secs} s; last state: {:?}", *rx.borrow()),
    }
}

pub fn up_url(s: &TunnelState) -> String {
    s.url().expect("not Up").to_owned()
}

/// Records every state a receiver sees, until the sender is gone (or 120 s).
pub fn record(mut rx: watch::Receiver<TunnelState>) -> tokio::task::JoinHandle<Vec<TunnelState>> {
    tokio::spawn(async move {
        let mut seen = vec![rx.borrow_and_update().clone()];
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        while let Ok(Ok(())) = tokio::time::timeout_at(deadline, rx.changed()).await {
            seen.push(rx.borrow_and_update().clone());
        }
        seen
    })
}
