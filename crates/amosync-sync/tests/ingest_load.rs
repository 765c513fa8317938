//! Quick local figures for the receiver + group commit over a real socket
//! and a real redb file (the real benchmark lives in amosync-bench).
//! `cargo test -p amosync-sync --test ingest_load -- --ignored --nocapture`

use std::sync::Arc;
use std::time::{Duration, Instant};

use amosync_store::{AccountBinding, Store};
use amosync_sync::SystemClock;
use amosync_sync::WebhookSecret;
use amosync_sync::ingest::{IngestConfig, spawn};
use amosync_sync::receiver::{BoundAccount, ReceiverState, app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "load figures; run by hand"]
async fn receiver_group_commit_throughput() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(&dir.path().join("load.redb")).expect("store");
    store
        .write(|tx| {
            tx.set_binding(&AccountBinding {
                account_id: 1,
                subdomain: "office".into(),
                name: "Office".into(),
                base_url: "http://127.0.0.1:1".into(),
                currency: None,
                timezone: None,
                connected_at: 0,
            })
        })
        .expect("bind");
    let (ingest, _task) = spawn(
        Arc::new(store.clone()),
        Arc::new(tokio::sync::Notify::new()),
        IngestConfig::default(),
    );
    let secret = WebhookSecret::generate();
    let state = ReceiverState::new(
        secret.clone(),
        BoundAccount {
            id: 1,
            subdomain: "office".into(),
        },
        ingest.clone(),
        Arc::new(SystemClock),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app(state)).await });
    let url = format!("http://{addr}/amocrm/{}/", secret.expose());
    let body = "leads%5Bstatus%5D%5B0%5D%5Bid%5D=42&leads%5Bstatus%5D%5B0%5D%5Bstatus_id%5D=142&leads%5Bstatus%5D%5B0%5D%5Bpipeline_id%5D=7&leads%5Bstatus%5D%5B0%5D%5Bname%5D=%D0%A1%D0%B4%D0%B5%D0%BB%D0%BA%D0%B0&account%5Bsubdomain%5D=office&account%5Bid%5D=1";
    let clients = 64;
    let per_client = 150;
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(clients)
        .build()
        .expect("http");
    let started = Instant::now();
    let mut joins = Vec::new();
    for _ in 0..clients {
        let http = http.clone();
        let url = url.clone();
        joins.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_client);
            for _ in 0..per_client {
                let t = Instant::now();
                let r = http
                    .post(&url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await
                    .expect("send");
                assert_eq!(r.status().as_u16(), 200);
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut lat: Vec<Duration> = Vec::new();
    for j in joins {
        lat.extend(j.await.expect("join"));
    }
    let elapsed = started.elapsed();
    lat.sort();
    let n = lat.len();
    let p = |q: f64| lat[((n as f64 * q) as usize).min(n - 1)];
    let commits = ingest
        .stats()
        .commits
        .load(std::sync::atomic::Ordering::Relaxed);
    let commit_us = ingest
        .stats()
        .commit_us
        .load(std::sync::atomic::Ordering::Relaxed);
    let max_us = ingest
        .stats()
        .max_commit_us
        .load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "commits: mean {} µs, max {max_us} µs",
        commit_us / commits.max(1)
    );
    println!(
        "{n} webhooks in {:.2} s = {:.0}/s; p50 {:?} p99 {:?} max {:?}; {commits} commits ({:.1} bodies/commit)",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        p(0.5),
        p(0.99),
        lat[n - 1],
        n as f64 / commits.max(1) as f64
    );
    assert_eq!(store.status().expect("status").events_logged as usize, n);
}
