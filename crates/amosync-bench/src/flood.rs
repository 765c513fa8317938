//! Floods and slow clients: the serving process's peak memory and the
//! acknowledgement latency of real webhooks while [`FloodSpec::senders`]
//! clients post 800 KB valid-secret bodies as fast as they are answered and
//! [`FloodSpec::idle`] connections sit idle. Baseline: the same real webhooks
//! against the same process before the flood, in the same run.
//!
//! The serving process is this binary's `--serve-child` (Store::open +
//! Engine::start over a real redb file bound to the account; its
//! `ready … webhook_url=…` line says where to post), so its
//! `/proc/<pid>/status` holds the receiver, the event log, the applier and
//! the fetcher, and none of the load clients.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use amosync_store::Store;
use axum::body::Bytes;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::data::Account;
use crate::funnel::round;
use crate::log;
use crate::rss::{TOKEN_ENV, proc_mem};

/// The flood's body: 7 values of 114 KiB (each under the 128 KiB value limit).
const FLOOD_VALUES: usize = 7;
const FLOOD_VALUE_BYTES: usize = 114 * 1024;
/// One real webhook every this often, each on a new connection (as amoCRM
/// delivers through a tunnel).
const LEGIT_EVERY: Duration = Duration::from_millis(20);
/// amoCRM's own patience.
const ACK_WITHIN: Duration = Duration::from_secs(2);
const READY_TIMEOUT: Duration = Duration::from_secs(120);

pub struct FloodSpec {
    pub senders: usize,
    pub idle: usize,
    pub duration: Duration,
}

fn flood_body(account: &Account) -> Bytes {
    let mut body = format!(
        "account%5Bsubdomain%5D={}&account%5Bid%5D={}",
        account.binding.subdomain, account.binding.account_id
    );
    for i in 0..FLOOD_VALUES {
        body.push_str(&format!("&flood%5B{i}%5D="));
        body.push_str(&"a".repeat(FLOOD_VALUE_BYTES));
    }
    Bytes::from(body)
}

/// Real webhooks, one at a time on fresh connections, for `duration`:
/// sorted latencies in µs and the number not answered 200 within 2 s.
async fn legit(url: &str, bodies: &[Bytes], duration: Duration) -> Result<(Vec<u32>, u64), String> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(ACK_WITHIN)
        .http1_only()
        .user_agent("amoCRM-WebHook-client/1.0")
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let start = Instant::now();
    let mut latencies = Vec::new();
    let mut failures = 0u64;
    for i in 0..100_000usize {
        if start.elapsed() >= duration || bodies.is_empty() {
            break;
        }
        let t = Instant::now();
        let answer = http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(bodies[(i * 97) % bodies.len()].clone())
            .send()
            .await;
        let took = t.elapsed();
        match answer {
            Ok(r) if r.status() == reqwest::StatusCode::OK && took < ACK_WITHIN => {
                latencies.push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
            }
            _ => failures += 1,
        }
        tokio::time::sleep(LEGIT_EVERY.saturating_sub(took)).await;
    }
    latencies.sort_unstable();
    Ok((latencies, failures))
}

fn pct_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let i = ((sorted_us.len() as f64 * p).ceil() as usize).clamp(1, sorted_us.len());
    f64::from(sorted_us[i - 1]) / 1000.0
}

#[derive(Debug, Default)]
struct FloodCounts {
    ok: AtomicU64,
    busy: AtomicU64,
    other: AtomicU64,
    errors: AtomicU64,
}

/// The flood senders: keep-alive clients posting `body` until `stop`.
fn senders(
    url: &str,
    body: Bytes,
    n: usize,
    stop: Arc<AtomicBool>,
    counts: Arc<FloodCounts>,
) -> Result<Vec<tokio::task::JoinHandle<()>>, String> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(n)
        .timeout(Duration::from_secs(10))
        .http1_only()
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    Ok((0..n)
        .map(|_| {
            let (http, url, body, stop, counts) = (
                http.clone(),
                url.to_string(),
                body.clone(),
                stop.clone(),
                counts.clone(),
            );
            tokio::spawn(async move {
                for _ in 0..1_000_000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let answer = http
                        .post(&url)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(body.clone())
                        .send()
                        .await;
                    let counter = match answer.map(|r| r.status().as_u16()) {
                        Ok(200) => &counts.ok,
                        Ok(503) => &counts.busy,
                        Ok(_) => &counts.other,
                        Err(_) => &counts.errors,
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect())
}

pub async fn run(
    dir: &Path,
    api_url: &str,
    token: &str,
    account: &Account,
    bodies: Arc<Vec<Bytes>>,
    spec: &FloodSpec,
) -> Result<Map<String, Value>, String> {
    // A real store bound to the account, served by a child process.
    let path = dir.join("flood.redb");
    {
        let store = Store::open(&path).map_err(|e| format!("Store::open: {e}"))?;
        let account = account.clone();
        tokio::task::spawn_blocking(move || {
            store.write(|tx| {
                tx.set_binding(&account.binding)?;
                tx.put_pipelines(&account.pipelines)?;
                tx.put_users(&account.users)
            })
        })
        .await
        .map_err(|e| format!("store setup task: {e}"))?
        .map_err(|e| format!("store setup: {e}"))?;
    }
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut child = tokio::process::Command::new(exe)
        .arg("--serve-child")
        .arg(&path)
        .arg("--api-url")
        .arg(api_url)
        .env(TOKEN_ENV, token)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("spawn serve child: {e}"))?;
    let pid = child.id().ok_or("serve child has no pid")?;
    let stdout = child.stdout.take().ok_or("serve child stdout")?;
    let line = tokio::time::timeout(READY_TIMEOUT, BufReader::new(stdout).lines().next_line())
        .await
        .map_err(|_| "serve child not ready in time".to_string())?
        .map_err(|e| format!("serve child stdout: {e}"))?
        .ok_or("serve child exited before it was ready")?;
    let url = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("webhook_url="))
        .ok_or_else(|| format!("no webhook_url in the child's ready line: {line}"))?
        .to_string();
    let addr = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();

    let result = async {
        // Baseline: real webhooks alone.
        let (base, base_failures) = legit(&url, &bodies, spec.duration).await?;
        let (rss_before, _, _, _) = proc_mem(pid)?;
        // The flood: idle connections, senders, and the same real webhooks.
        let mut idle = Vec::with_capacity(spec.idle);
        for _ in 0..spec.idle {
            idle.push(
                tokio::net::TcpStream::connect(&addr)
                    .await
                    .map_err(|e| format!("idle connection: {e}"))?,
            );
        }
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(FloodCounts::default());
        let flood = flood_body(account);
        let flood_len = flood.len() as u64;
        let t = Instant::now();
        let tasks = senders(&url, flood, spec.senders, stop.clone(), counts.clone())?;
        let measured = legit(&url, &bodies, spec.duration).await;
        stop.store(true, Ordering::Relaxed);
        for task in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(15), task).await;
        }
        let flood_s = t.elapsed().as_secs_f64();
        let (under, under_failures) = measured?;
        let (rss_after, hwm, _, _) = proc_mem(pid)?;
        drop(idle);
        let ok = counts.ok.load(Ordering::Relaxed);
        let (p99_base, p99) = (pct_ms(&base, 0.99), pct_ms(&under, 0.99));
        log(&format!(
            "flood: {} senders × {} KB + {} idle connections for {flood_s:.1} s: {ok} × 200 ({:.0} MB), {} × 503; serve peak {hwm:.0} MB (before {rss_before:.0} MB); real webhooks p99 {p99:.1} ms (baseline {p99_base:.1} ms), {under_failures} failed",
            spec.senders,
            flood_len / 1024,
            spec.idle,
            (ok * flood_len) as f64 / 1048576.0,
            counts.busy.load(Ordering::Relaxed)
        ));
        let mut out = Map::new();
        out.insert("flood_rss_peak_mb".into(), json!(round(hwm, 1)));
        out.insert("flood_rss_before_mb".into(), json!(round(rss_before, 1)));
        out.insert("flood_rss_after_mb".into(), json!(round(rss_after, 1)));
        out.insert("flood_ack_p99_ms".into(), json!(round(p99, 2)));
        out.insert("flood_ack_p50_ms".into(), json!(round(pct_ms(&under, 0.5), 2)));
        out.insert("flood_ack_count".into(), json!(under.len()));
        out.insert("flood_ack_failures".into(), json!(under_failures));
        out.insert("flood_baseline_ack_p99_ms".into(), json!(round(p99_base, 2)));
        out.insert("flood_baseline_ack_p50_ms".into(), json!(round(pct_ms(&base, 0.5), 2)));
        out.insert("flood_baseline_ack_failures".into(), json!(base_failures));
        out.insert(
            "flood_ack_p99_ratio_vs_baseline".into(),
            json!(round(p99 / p99_base.max(1e-3), 2)),
        );
        out.insert(
            "flood_acked_mb".into(),
            json!(round((ok * flood_len) as f64 / 1048576.0, 1)),
        );
        out.insert("flood_bodies_ok".into(), json!(ok));
        out.insert(
            "flood_bodies_503".into(),
            json!(counts.busy.load(Ordering::Relaxed)),
        );
        out.insert(
            "flood_bodies_other".into(),
            json!(counts.other.load(Ordering::Relaxed)),
        );
        out.insert(
            "flood_bodies_errors".into(),
            json!(counts.errors.load(Ordering::Relaxed)),
        );
        out.insert("flood_seconds".into(), json!(round(flood_s, 2)));
        Ok::<_, String>(out)
    }
    .await;
    drop(child.stdin.take());
    if tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .is_err()
    {
        log("flood: serve child did not stop within 30 s; killing it");
        let _ = child.kill().await;
    }
    result
}
