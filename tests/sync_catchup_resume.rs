//! A catch-up pass that fails half way must not lose work for the next one.
//!
//! A pass commits event pages (and advances the events cursor) before it
//! reads the talks those events mention. When the talk reads fail (API
//! trouble, the app quits), the next pass starts from the advanced cursor
//! and must still read those talks: the store may not keep placeholder talks
//! (no chat id, `updated_at` 0) that no later pass will ever fill.
//!
//! Real emulator, real store; the only addition is a pass-through proxy on
//! 127.0.0.1 that answers `GET /api/v4/talks/{id}` with 503 while told to
//! (the emulator's own faults cannot aim at one endpoint).

#[path = "sync_harness.rs"]
mod sync_harness;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use amo::{Client, ClientConfig, StaticToken};
use amosync_sync::{CatchupOptions, SystemClock, catch_up};
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use sync_harness::*;

#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    fail_talks: Arc<AtomicBool>,
}

async fn forward(State(p): State<Proxy>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|x| x.as_str().to_owned())
        .unwrap_or_default();
    if p.fail_talks.load(Ordering::SeqCst) && parts.uri.path().starts_with("/api/v4/talks/") {
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "<html>503 Service Temporarily Unavailable</html>",
        )
            .into_response();
    }
    let body = axum::body::to_bytes(body, 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let mut out = p
        .http
        .request(parts.method, format!("{}{path_and_query}", p.upstream));
    for (name, value) in &parts.headers {
        if name != axum::http::header::HOST && name != axum::http::header::CONTENT_LENGTH {
            out = out.header(name, value);
        }
    }
    match out.body(body).send().await {
        Ok(r) => {
            let status = r.status();
            let content_type = r.headers().get(reqwest::header::CONTENT_TYPE).cloned();
            let bytes = r.bytes().await.unwrap_or_default();
            let mut response = Response::new(axum::body::Body::from(bytes));
            *response.status_mut() = status;
            if let Some(ct) = content_type {
                response
                    .headers_mut()
                    .insert(axum::http::header::CONTENT_TYPE, ct);
            }
            response
        }
        Err(_) => axum::http::StatusCode::BAD_GATEWAY.into_response(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn talks_of_an_interrupted_pass_are_read_by_the_next_one() {
    let emu = emulator(7_201, 300, relaxed_limits()).await;
    let base_url = base(&emu);
    let api = reader(&emu);
    let dir = tempdir();
    let store = bound_store(&store_path(&dir), &api, &base_url).await;

    let fail_talks = Arc::new(AtomicBool::new(true));
    let app = axum::Router::new().fallback(forward).with_state(Proxy {
        upstream: base_url.clone(),
        http: http(),
        fail_talks: fail_talks.clone(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind proxy");
    let proxy_url = format!("http://{}", listener.local_addr().expect("proxy address"));
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let client = Client::new(
        ClientConfig {
            rate_per_second: 200.0,
            max_retries: 1,
            backoff_base: Duration::from_millis(20),
            backoff_max: Duration::from_millis(50),
            max_total_backoff: Duration::from_millis(200),
            ..ClientConfig::from_url(&proxy_url).expect("proxy URL")
        },
        StaticToken::new(emu.token()),
    )
    .expect("client");

    // Talks the documented contract promises: chat events of the last 7 days.
    let promised: BTreeSet<u64> = {
        let world = emu.world();
        let floor = world.clock.now() - 7 * 24 * 3600;
        world
            .events
            .iter()
            .filter(|e| e.kind.ends_with("_chat_message") && e.created_at >= floor)
            .filter_map(|e| {
                e.value_after
                    .pointer("/0/message/talk_id")
                    .and_then(Value::as_u64)
            })
            .collect()
    };
    assert!(
        !promised.is_empty(),
        "the seed has no recent chat activity; pick another seed"
    );

    let first = catch_up(&store, &client, &SystemClock, &CatchupOptions::default()).await;
    eprintln!("pass with failing talk reads: {first:?}");
    fail_talks.store(false, Ordering::SeqCst);
    let second = catch_up(&store, &client, &SystemClock, &CatchupOptions::default())
        .await
        .expect("the second pass succeeds");
    eprintln!("second pass: {second:?}");

    let stored = store_talks(&store);
    let mut problems = Vec::new();
    let ids: BTreeSet<u64> = stored.iter().map(|t| t.talk.talk_id).collect();
    for id in promised.difference(&ids) {
        problems.push(format!("talk {id}: missing"));
    }
    for t in &stored {
        match api.talk(t.talk.talk_id).await.expect("GET talk") {
            None => problems.push(format!("talk {}: unknown to the API", t.talk.talk_id)),
            Some(a) => {
                let d = diff(&talk_view(&t.talk), &talk_view(&a));
                if !d.is_empty() {
                    problems.push(format!("talk {}: {}", t.talk.talk_id, d.join("; ")));
                }
            }
        }
    }
    server.abort();
    assert!(
        problems.is_empty(),
        "{} of {} stored talks are wrong after the interrupted pass was followed by a good one:\n  {}",
        problems.len(),
        stored.len(),
        problems
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}
