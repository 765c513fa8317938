//! Webhook ingest: N keep-alive HTTP clients POSTing real lead-status bodies
//! at the engine's receiver, against a trivial axum endpoint under the same load.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use amo_emulator::model::Change;
use amo_emulator::webhooks::AccountRef;
use amo_emulator::webhooks::encode::encode_batch;
use amo_emulator::world::World;
use amosync_store::{RawEvent, Store};
use amosync_sync::engine::{APPLY_BATCH, APPLY_GATHER, APPLY_GATHER_MIN};
use amosync_sync::ingest::{EventSink, IngestConfig, IngestStats};
use amosync_sync::receiver::{BoundAccount, ReceiverState};
use amosync_sync::{Engine, EngineConfig, SystemClock, WebhookSecret};
use axum::body::Bytes;
use serde_json::{Value, json};

use crate::data::Account;
use crate::funnel::round;
use crate::log;

/// Distinct bodies cycled through by the clients.
const BODIES: usize = 5_000;
/// Per-request timeout (a request slower than amoCRM's 2 s is a failure anyway).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

pub struct LoadSpec {
    pub clients: usize,
    pub duration: Duration,
    pub max_requests: u64,
}

#[derive(Debug, Default)]
pub struct Load {
    pub ok: u64,
    pub failures: u64,
    pub statuses: BTreeMap<String, u64>,
    pub elapsed: Duration,
    /// Microseconds, sorted.
    pub latencies: Vec<u32>,
}

impl Load {
    pub fn eps(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    pub fn pct_ms(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies.len() as f64 * p).ceil() as usize).clamp(1, self.latencies.len());
        f64::from(self.latencies[i - 1]) / 1000.0
    }
}

/// Real webhook bodies: one `leads[status]` move each (the emulator's own
/// encoder, the shape amoCRM sends), for leads of the seeded account.
pub fn bodies(w: &World) -> Vec<Bytes> {
    let account = AccountRef {
        id: w.account.id,
        subdomain: w.account.subdomain.clone(),
        base_url: w.account.base_url.clone(),
    };
    let leads: Vec<_> = w.leads.values().filter(|l| !l.is_deleted).collect();
    let mut out = Vec::with_capacity(BODIES);
    for i in 0..BODIES {
        if leads.is_empty() {
            break;
        }
        // The lead exactly as the account holds it, announced as a move from
        // the status before its current one (what the API then confirms).
        let lead = leads[i % leads.len()].clone();
        let statuses: Vec<u64> = w
            .pipelines
            .iter()
            .find(|p| p.id == lead.pipeline_id)
            .map(|p| p.statuses.iter().map(|s| s.id).collect())
            .unwrap_or_default();
        let old_status_id = match statuses.iter().position(|s| *s == lead.status_id) {
            Some(pos) if pos > 0 => statuses[pos - 1],
            _ => statuses.last().copied().unwrap_or(lead.status_id),
        };
        let change = Change::LeadStatusChanged {
            old_pipeline_id: lead.pipeline_id,
            lead,
            old_status_id,
        };
        out.push(Bytes::from(encode_batch(&account, &[change])));
    }
    out
}

/// Drives `url` with `spec.clients` concurrent keep-alive clients.
pub async fn load(url: &str, bodies: Arc<Vec<Bytes>>, spec: &LoadSpec) -> Result<Load, String> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(spec.clients)
        .timeout(REQUEST_TIMEOUT)
        .http1_only()
        .user_agent("amoCRM-WebHook-client/1.0")
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let issued = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + spec.duration;
    let per_client_cap = (spec.max_requests as usize / spec.clients.max(1)).min(1 << 20) + 1;
    let mut tasks = Vec::with_capacity(spec.clients);
    for c in 0..spec.clients {
        let client = client.clone();
        let url = url.to_string();
        let bodies = bodies.clone();
        let issued = issued.clone();
        let max = spec.max_requests;
        tasks.push(tokio::spawn(async move {
            let mut load = Load {
                latencies: Vec::with_capacity(per_client_cap.min(200_000)),
                ..Load::default()
            };
            let mut i = c;
            loop {
                if Instant::now() >= deadline || issued.fetch_add(1, Ordering::Relaxed) >= max {
                    break;
                }
                let body = bodies[i % bodies.len()].clone();
                i += spec_stride(bodies.len());
                let t = Instant::now();
                let r = client
                    .post(&url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await;
                let key = match r {
                    Ok(resp) => {
                        let status = resp.status();
                        let _ = resp.bytes().await;
                        if status == reqwest::StatusCode::OK {
                            load.ok += 1;
                        } else {
                            load.failures += 1;
                        }
                        status.as_u16().to_string()
                    }
                    Err(e) => {
                        load.failures += 1;
                        if e.is_timeout() {
                            "timeout".to_string()
                        } else {
                            "error".to_string()
                        }
                    }
                };
                *load.statuses.entry(key).or_default() += 1;
                if load.latencies.len() < per_client_cap {
                    load.latencies
                        .push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
                }
            }
            load
        }));
    }
    let mut total = Load::default();
    for t in tasks {
        let l = t.await.map_err(|e| format!("load task: {e}"))?;
        total.ok += l.ok;
        total.failures += l.failures;
        for (k, v) in l.statuses {
            *total.statuses.entry(k).or_default() += v;
        }
        total.latencies.extend(l.latencies);
    }
    total.elapsed = start.elapsed();
    total.latencies.sort_unstable();
    Ok(total)
}

/// Clients walk the body list with a stride so they do not send the same
/// lead at the same moment.
fn spec_stride(len: usize) -> usize {
    if len > 97 { 97 } else { 1 }
}

/// A trivial endpoint: reads the body, answers 200.
async fn trivial_server() -> Result<(String, tokio::sync::oneshot::Sender<()>), String> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .map_err(|e| format!("bind: {e}"))?;
    let addr = listener.local_addr().map_err(|e| format!("addr: {e}"))?;
    let app = axum::Router::new().route(
        "/amocrm/{secret}/",
        axum::routing::post(|body: Bytes| async move {
            std::hint::black_box(body.len());
            axum::http::StatusCode::OK
        }),
    );
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
    });
    Ok((format!("http://{addr}/amocrm/trivial/"), tx))
}

/// An event sink that makes nothing durable: what the receiver costs without the disk.
struct NullSink(AtomicU64);

impl EventSink for NullSink {
    fn append(&self, events: &[RawEvent]) -> Result<Vec<u64>, String> {
        let first = self.0.fetch_add(events.len() as u64, Ordering::Relaxed);
        Ok((1..=events.len() as u64).map(|i| first + i).collect())
    }
}

/// `receiver::app` + `ingest::spawn(sink)` alone (no applier, no fetcher) on a loopback port.
async fn receiver_only(
    sink: Arc<dyn EventSink>,
    account: &Account,
    committed: Arc<tokio::sync::Notify>,
) -> Result<(String, Arc<IngestStats>, tokio::sync::oneshot::Sender<()>), String> {
    let (handle, _task) = amosync_sync::ingest::spawn(sink, committed, IngestConfig::default());
    let stats = handle.stats().clone();
    let secret = WebhookSecret::generate();
    let path_secret = secret.expose().to_string();
    let state = ReceiverState::new(
        secret,
        BoundAccount {
            id: account.binding.account_id,
            subdomain: account.binding.subdomain.clone(),
        },
        handle,
        Arc::new(SystemClock),
    );
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .map_err(|e| format!("bind: {e}"))?;
    let addr = listener.local_addr().map_err(|e| format!("addr: {e}"))?;
    let app = amosync_sync::receiver::app(state);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
    });
    Ok((format!("http://{addr}/amocrm/{path_secret}/"), stats, tx))
}

fn stage_json(load: &Load, stats: Option<&IngestStats>) -> Value {
    let mut v = json!({
        "eps": load.eps().round(),
        "p50_ms": round(load.pct_ms(0.5), 3),
        "p99_ms": round(load.pct_ms(0.99), 3),
        "failures": load.failures,
    });
    if let Some(st) = stats {
        let commits = st.commits.load(Ordering::Relaxed).max(1);
        let committed = st.committed.load(Ordering::Relaxed);
        v["commits"] = json!(commits);
        v["mean_bodies_per_commit"] = json!(round(committed as f64 / commits as f64, 1));
        v["mean_commit_ms"] = json!(round(
            st.commit_us.load(Ordering::Relaxed) as f64 / commits as f64 / 1000.0,
            3
        ));
        v["max_commit_ms"] = json!(round(
            st.max_commit_us.load(Ordering::Relaxed) as f64 / 1000.0,
            3
        ));
    }
    v
}

/// Where the time goes: the same load against the receiver with a sink that
/// writes nothing, against the receiver + the durable log alone (no applier),
/// and the bare cost of one durable `append_events` commit.
pub async fn breakdown(
    dir: &Path,
    account: &Account,
    bodies: Arc<Vec<Bytes>>,
    spec: &LoadSpec,
) -> Result<Value, String> {
    let mut out = serde_json::Map::new();
    // 1. receiver + group commit writer, nothing durable.
    let (url, stats, stop) = receiver_only(
        Arc::new(NullSink(AtomicU64::new(0))),
        account,
        Arc::new(tokio::sync::Notify::new()),
    )
    .await?;
    let l = load(&url, bodies.clone(), spec).await?;
    let _ = stop.send(());
    log(&format!(
        "ingest breakdown: receiver + writer, no disk: {:.0} req/s, p99 {:.2} ms",
        l.eps(),
        l.pct_ms(0.99)
    ));
    out.insert("receiver_null_sink".into(), stage_json(&l, Some(&stats)));

    // 2. receiver + durable log in a fresh store, no applier or fetcher.
    let store = Store::open(&dir.join("ingest-log-only.redb")).map_err(|e| e.to_string())?;
    let (url, stats, stop) = receiver_only(
        Arc::new(store.clone()),
        account,
        Arc::new(tokio::sync::Notify::new()),
    )
    .await?;
    let l = load(&url, bodies.clone(), spec).await?;
    let _ = stop.send(());
    log(&format!(
        "ingest breakdown: receiver + durable log, no applier: {:.0} req/s, p99 {:.2} ms, {}",
        l.eps(),
        l.pct_ms(0.99),
        stage_json(&l, Some(&stats))
    ));
    out.insert(
        "receiver_durable_log_only".into(),
        stage_json(&l, Some(&stats)),
    );

    // 2b. the same plus an applier loop shaped like the engine's (woken by a
    // log commit, gathering for up to APPLY_GATHER or APPLY_GATHER_MIN
    // entries, `apply_pending` in batches of APPLY_BATCH on spawn_blocking,
    // relaxed commits): both write through redb's single write transaction.
    {
        let store2 =
            Store::open(&dir.join("ingest-log-applier.redb")).map_err(|e| e.to_string())?;
        let binding = account.binding.clone();
        let s2 = store2.clone();
        tokio::task::spawn_blocking(move || s2.write(|tx| tx.set_binding(&binding)))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let committed = Arc::new(tokio::sync::Notify::new());
        let (url, stats, stop) =
            receiver_only(Arc::new(store2.clone()), account, committed.clone()).await?;
        let logged = stats.clone();
        let applier_commits = Arc::new(AtomicU64::new(0));
        let applied = Arc::new(AtomicU64::new(0));
        let apply_us = Arc::new(AtomicU64::new(0));
        let (stop_applier, mut stopped) = tokio::sync::watch::channel(false);
        let applier = {
            let (applier_commits, applied, apply_us) =
                (applier_commits.clone(), applied.clone(), apply_us.clone());
            let bound = BoundAccount {
                id: account.binding.account_id,
                subdomain: account.binding.subdomain.clone(),
            };
            tokio::spawn(async move {
                let limits = amosync_sync::receiver::receiver_limits();
                let pending = || {
                    logged
                        .committed
                        .load(Ordering::SeqCst)
                        .saturating_sub(applied.load(Ordering::SeqCst))
                };
                for _ in 0..1_000_000 {
                    loop {
                        let (store, bound, limits) =
                            (store2.clone(), bound.clone(), limits.clone());
                        let t = Instant::now();
                        let r = tokio::task::spawn_blocking(move || {
                            amosync_sync::applier::apply_pending(
                                &store,
                                &bound,
                                &limits,
                                crate::now_ms(),
                                APPLY_BATCH,
                            )
                        })
                        .await;
                        let n = match r {
                            Ok(Ok(r)) => r.entries,
                            _ => 0,
                        };
                        if n > 0 {
                            apply_us.fetch_add(t.elapsed().as_micros() as u64, Ordering::Relaxed);
                            applier_commits.fetch_add(1, Ordering::Relaxed);
                            applied.fetch_add(n as u64, Ordering::Relaxed);
                        }
                        if n < APPLY_BATCH {
                            break;
                        }
                    }
                    tokio::select! {
                        () = committed.notified() => {}
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = stopped.changed() => break,
                    }
                    let deadline = tokio::time::Instant::now() + APPLY_GATHER;
                    while pending() < APPLY_GATHER_MIN {
                        tokio::select! {
                            () = committed.notified() => {}
                            () = tokio::time::sleep_until(deadline) => break,
                            _ = stopped.changed() => break,
                        }
                    }
                }
            })
        };
        let l = load(&url, bodies.clone(), spec).await?;
        let _ = stop.send(());
        let _ = stop_applier.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(30), applier).await;
        let mut v = stage_json(&l, Some(&stats));
        let ac = applier_commits.load(Ordering::Relaxed).max(1);
        v["applier_commits"] = json!(ac);
        v["applier_mean_entries_per_commit"] =
            json!(round(applied.load(Ordering::Relaxed) as f64 / ac as f64, 1));
        v["applier_mean_ms_per_commit"] = json!(round(
            apply_us.load(Ordering::Relaxed) as f64 / ac as f64 / 1000.0,
            3
        ));
        v["applier_busy_fraction"] = json!(round(
            apply_us.load(Ordering::Relaxed) as f64 / 1e6 / l.elapsed.as_secs_f64(),
            3
        ));
        log(&format!(
            "ingest breakdown: receiver + durable log + engine-shaped applier loop: {v}"
        ));
        out.insert("receiver_durable_log_plus_applier".into(), v);
    }

    // 3. the floor: sequential durable commits of one body and of 32 bodies.
    let floor = {
        let store = store.clone();
        let bodies = bodies.clone();
        tokio::task::spawn_blocking(move || -> Result<Value, String> {
            let mut v = serde_json::Map::new();
            for batch in [1usize, 32] {
                let events: Vec<RawEvent> = (0..batch)
                    .map(|i| RawEvent {
                        received_at_ms: crate::now_ms(),
                        body: bodies[i % bodies.len()].to_vec(),
                    })
                    .collect();
                let start = Instant::now();
                let mut n = 0u32;
                while n < 200 && start.elapsed() < Duration::from_secs(5) {
                    store.append_events(&events).map_err(|e| e.to_string())?;
                    n += 1;
                }
                let ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(n.max(1));
                v.insert(format!("append_events_{batch}_ms"), json!(round(ms, 3)));
                v.insert(
                    format!("append_events_{batch}_max_eps"),
                    json!((batch as f64 * 1000.0 / ms).round()),
                );
            }
            Ok(Value::Object(v))
        })
        .await
        .map_err(|e| e.to_string())??
    };
    log(&format!(
        "ingest breakdown: sequential durable commits: {floor}"
    ));
    out.insert("durable_commit_floor".into(), floor);

    // 4. the applier alone, over what the log-only store now holds.
    let applier = {
        let bound = BoundAccount {
            id: account.binding.account_id,
            subdomain: account.binding.subdomain.clone(),
        };
        tokio::task::spawn_blocking(move || applier_alone(&store, &bound))
            .await
            .map_err(|e| e.to_string())??
    };
    log(&format!("ingest breakdown: applier alone: {applier}"));
    out.insert("applier_alone".into(), applier);

    // 5. what parsing costs the receiver per body (one thread).
    let parse = tokio::task::spawn_blocking(move || parse_cost(&bodies))
        .await
        .map_err(|e| e.to_string())?;
    log(&format!("ingest breakdown: parse cost per body: {parse}"));
    out.insert("parse_per_body".into(), parse);
    Ok(Value::Object(out))
}

/// Microseconds per body, one thread, over the load's bodies (≥ 1 s each):
/// `read_account` (the receiver's check) and `decode_with_limits` (the
/// applier's full decode, which the receiver did before).
fn parse_cost(bodies: &[Bytes]) -> Value {
    let limits = amosync_sync::receiver::receiver_limits();
    let time = |f: &dyn Fn(&[u8]) -> bool| {
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < Duration::from_secs(1) {
            for b in bodies {
                std::hint::black_box(f(b));
                n += 1;
            }
        }
        start.elapsed().as_secs_f64() * 1e6 / n.max(1) as f64
    };
    let read_account = time(&|b| amo::webhook::read_account(b, &limits).is_ok());
    let decode = time(&|b| amo::webhook::decode_with_limits(b, &limits).is_ok());
    let mean_bytes =
        bodies.iter().map(|b| b.len()).sum::<usize>() as f64 / bodies.len().max(1) as f64;
    json!({
        "bodies": bodies.len(),
        "mean_body_bytes": mean_bytes.round(),
        "read_account_us": round(read_account, 2),
        "decode_with_limits_us": round(decode, 2),
    })
}

/// Times `applier::apply_pending` in the engine's batches of [`APPLY_BATCH`]
/// over the store's pending log entries (bounded: 10 s), and, for the same
/// entries, reading them (`pending_events`) and decoding them alone.
fn applier_alone(store: &Store, account: &BoundAccount) -> Result<Value, String> {
    const BATCH: usize = APPLY_BATCH;
    let limits = amosync_sync::receiver::receiver_limits();
    let start = Instant::now();
    let (mut read_s, mut decode_s, mut apply_s) = (0f64, 0f64, 0f64);
    let (mut entries, mut batches) = (0usize, 0u32);
    while start.elapsed() < Duration::from_secs(10) {
        let t = Instant::now();
        let pending = store.pending_events(BATCH).map_err(|e| e.to_string())?;
        read_s += t.elapsed().as_secs_f64();
        if pending.is_empty() {
            break;
        }
        let t = Instant::now();
        for e in &pending {
            std::hint::black_box(amo::webhook::decode_with_limits(&e.body, &limits).is_ok());
        }
        decode_s += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let r =
            amosync_sync::applier::apply_pending(store, account, &limits, crate::now_ms(), BATCH)
                .map_err(|e| e.to_string())?;
        apply_s += t.elapsed().as_secs_f64();
        entries += r.entries;
        batches += 1;
        if r.entries == 0 {
            break;
        }
    }
    let b = f64::from(batches.max(1));
    Ok(json!({
        "entries": entries,
        "batch": BATCH,
        "batches": batches,
        "apply_pending_eps": (entries as f64 / apply_s.max(1e-9)).round(),
        "apply_pending_ms_per_batch": round(apply_s * 1000.0 / b, 2),
        "of_which_read_pending_ms_per_batch": round(read_s * 1000.0 / b, 2),
        "of_which_decode_ms_per_batch": round(decode_s * 1000.0 / b, 2),
    }))
}

pub struct IngestResult {
    pub json: serde_json::Map<String, Value>,
    pub failure: Option<String>,
}

pub async fn run(
    dir: &Path,
    emulator_url: &str,
    token: &str,
    account: &Account,
    bodies: Vec<Bytes>,
    spec: &LoadSpec,
    with_breakdown: bool,
) -> Result<IngestResult, String> {
    let mut out = serde_json::Map::new();
    let bodies = Arc::new(bodies);
    let warm = LoadSpec {
        clients: spec.clients,
        duration: Duration::from_millis(500),
        max_requests: 5_000,
    };

    // ---- baseline: trivial axum endpoint
    let (trivial_url, stop) = trivial_server().await?;
    load(&trivial_url, bodies.clone(), &warm).await?;
    log(&format!(
        "ingest: trivial endpoint, {} clients for {:.1} s…",
        spec.clients,
        spec.duration.as_secs_f64()
    ));
    let trivial = load(&trivial_url, bodies.clone(), spec).await?;
    let _ = stop.send(());
    log(&format!(
        "ingest: trivial {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, failures {}",
        trivial.eps(),
        trivial.pct_ms(0.5),
        trivial.pct_ms(0.99),
        trivial.failures
    ));

    // ---- the engine: receiver + durable event log + applier + fetcher
    let path = dir.join("ingest.redb");
    let store = Store::open(&path).map_err(|e| format!("Store::open: {e}"))?;
    let now_ms = crate::now_ms();
    {
        let store = store.clone();
        let account = account.clone();
        tokio::task::spawn_blocking(move || {
            store.write(|tx| {
                tx.set_now_ms(now_ms);
                tx.set_binding(&account.binding)?;
                tx.put_pipelines(&account.pipelines)?;
                tx.put_users(&account.users)
            })
        })
        .await
        .map_err(|e| format!("store setup task: {e}"))?
        .map_err(|e| format!("store setup: {e}"))?;
    }
    let config = amo::ClientConfig::from_url(emulator_url).map_err(|e| e.to_string())?;
    let client = amo::Client::new(config, amo::StaticToken::new(token.to_string()))
        .map_err(|e| e.to_string())?;
    let mut cfg = EngineConfig::new(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        WebhookSecret::generate(),
    );
    cfg.catchup_at_start = false;
    cfg.catchup_every = Duration::from_secs(3600);
    let engine = Engine::start(store.clone(), client, Arc::new(SystemClock), cfg)
        .await
        .map_err(|e| format!("Engine::start: {e}"))?;
    let url = engine.webhook_url();
    let warm_load = load(&url, bodies.clone(), &warm).await?;
    let log_stats = engine.ingest_stats();
    let log_before = (
        log_stats.commits.load(Ordering::Relaxed),
        log_stats.committed.load(Ordering::Relaxed),
        log_stats.commit_us.load(Ordering::Relaxed),
    );
    let applier_before = engine.applier_stats();
    log(&format!(
        "ingest: engine receiver, {} clients for {:.1} s…",
        spec.clients,
        spec.duration.as_secs_f64()
    ));
    let real = load(&url, bodies.clone(), spec).await?;
    let at_end = engine.status();
    {
        // The engine's own log writer and applier during the measured load.
        let commits = log_stats.commits.load(Ordering::Relaxed) - log_before.0;
        let bodies_n = log_stats.committed.load(Ordering::Relaxed) - log_before.1;
        let us = log_stats.commit_us.load(Ordering::Relaxed) - log_before.2;
        let a = engine.applier_stats();
        let (runs, entries, busy) = (
            a.runs - applier_before.runs,
            a.entries - applier_before.entries,
            a.busy_us - applier_before.busy_us,
        );
        let v = json!({
            "log_commits": commits,
            "log_mean_bodies_per_commit": round(bodies_n as f64 / commits.max(1) as f64, 1),
            "log_mean_commit_ms": round(us as f64 / commits.max(1) as f64 / 1000.0, 3),
            "applier_runs": runs,
            "applier_entries": entries,
            "applier_mean_entries_per_run": round(entries as f64 / runs.max(1) as f64, 1),
            "applier_mean_ms_per_run": round(busy as f64 / runs.max(1) as f64 / 1000.0, 3),
            "applier_busy_fraction": round(busy as f64 / 1e6 / real.elapsed.as_secs_f64(), 3),
        });
        log(&format!("ingest: engine internals during the load: {v}"));
        out.insert("ingest_engine_internals".into(), v);
    }
    log(&format!(
        "ingest: at the end of the load {} log entries wait for the applier, {} ids for the fetcher",
        at_end.events_pending, at_end.fetch_pending
    ));
    out.insert("ingest_pending_at_end".into(), json!(at_end.events_pending));
    out.insert(
        "ingest_fetch_pending_at_end".into(),
        json!(at_end.fetch_pending),
    );
    log(&format!(
        "ingest: engine {:.0} events/s, p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms, failures {} {:?}",
        real.eps(),
        real.pct_ms(0.5),
        real.pct_ms(0.99),
        real.pct_ms(1.0),
        real.failures,
        real.statuses
    ));
    let t = Instant::now();
    let settled = engine.settle(Duration::from_secs(120)).await;
    let settle_ms = t.elapsed().as_secs_f64() * 1000.0;
    let status = engine.status();
    engine.shutdown().await;
    let logged = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.status())
            .await
            .map_err(|e| format!("status task: {e}"))?
            .map_err(|e| format!("Store::status: {e}"))?
    };
    let acknowledged = real.ok + warm_load.ok;
    log(&format!(
        "ingest: settle {settle_ms:.0} ms (settled: {settled}); log holds {} events, {} pending; acknowledged {acknowledged}",
        logged.events_logged, logged.events_pending
    ));

    let ratio = real.eps() / trivial.eps().max(1e-9);
    out.insert("ingest_eps".into(), json!(real.eps().round()));
    out.insert("ingest_p50_ms".into(), json!(round(real.pct_ms(0.5), 3)));
    out.insert("ingest_p99_ms".into(), json!(round(real.pct_ms(0.99), 3)));
    out.insert("ingest_max_ms".into(), json!(round(real.pct_ms(1.0), 3)));
    out.insert("ingest_requests".into(), json!(real.ok + real.failures));
    out.insert("ingest_failures".into(), json!(real.failures));
    out.insert("ingest_statuses".into(), json!(real.statuses));
    out.insert("ingest_clients".into(), json!(spec.clients));
    out.insert(
        "ingest_seconds".into(),
        json!(round(real.elapsed.as_secs_f64(), 2)),
    );
    out.insert("trivial_eps".into(), json!(trivial.eps().round()));
    out.insert(
        "trivial_p99_ms".into(),
        json!(round(trivial.pct_ms(0.99), 3)),
    );
    out.insert("trivial_failures".into(), json!(trivial.failures));
    out.insert("ingest_ratio_vs_trivial".into(), json!(round(ratio, 3)));
    out.insert("ingest_settle_ms".into(), json!(settle_ms.round()));
    out.insert("ingest_settled".into(), json!(settled));
    out.insert("ingest_events_logged".into(), json!(logged.events_logged));
    out.insert("ingest_acknowledged".into(), json!(acknowledged));
    out.insert(
        "ingest_engine_status".into(),
        serde_json::to_value(&status).unwrap_or(Value::Null),
    );

    if with_breakdown {
        let b = LoadSpec {
            clients: spec.clients,
            duration: spec.duration.min(Duration::from_secs(5)),
            max_requests: spec.max_requests,
        };
        match breakdown(dir, account, bodies.clone(), &b).await {
            Ok(v) => {
                out.insert("ingest_breakdown".into(), v);
            }
            Err(e) => log(&format!("ingest breakdown failed: {e}")),
        }
    }

    let failure = if real.failures > 0 || warm_load.failures > 0 {
        Some(format!(
            "ingest: {} of {} webhook POSTs were not answered 200 ({:?})",
            real.failures + warm_load.failures,
            real.ok + real.failures + warm_load.ok + warm_load.failures,
            real.statuses
        ))
    } else if logged.events_logged < acknowledged {
        Some(format!(
            "ingest: {acknowledged} webhooks acknowledged but only {} in the durable log",
            logged.events_logged
        ))
    } else if trivial.failures > 0 {
        Some(format!(
            "ingest: the trivial baseline endpoint failed {} requests",
            trivial.failures
        ))
    } else {
        None
    };
    Ok(IngestResult { json: out, failure })
}
