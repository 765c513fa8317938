//! Resident memory of a serving process over the big store.
//!
//! The parent re-runs this binary as `--serve-child STORE`: the child opens the
//! store, starts the [`Engine`] (receiver, applier, fetcher; no catch-up),
//! answers one funnel query, prints `ready`, and waits for its stdin to close.
//! The parent reads `VmRSS`/`VmHWM` from `/proc/<pid>/status` while it waits.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use amosync_store::{FunnelQuery, Store};
use amosync_sync::{Engine, EngineConfig, SystemClock, WebhookSecret};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use crate::funnel::round;
use crate::log;

pub(crate) const TOKEN_ENV: &str = "AMOSYNC_BENCH_TOKEN";
const READY_TIMEOUT: Duration = Duration::from_secs(300);
/// The child never outlives this, whatever happens to the parent.
const CHILD_LIFETIME: Duration = Duration::from_secs(600);

/// The child's side.
pub async fn serve_child(store: &Path, api_url: &str, pipeline_id: u64) -> Result<(), String> {
    let token = std::env::var(TOKEN_ENV).map_err(|_| format!("{TOKEN_ENV} is not set"))?;
    let path = store.to_path_buf();
    let store = tokio::task::spawn_blocking(move || Store::open(&path))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("Store::open: {e}"))?;
    let config = amo::ClientConfig::from_url(api_url).map_err(|e| e.to_string())?;
    let client =
        amo::Client::new(config, amo::StaticToken::new(token)).map_err(|e| e.to_string())?;
    let mut cfg = EngineConfig::new(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        WebhookSecret::generate(),
    );
    cfg.catchup_at_start = false;
    cfg.catchup_every = Duration::from_secs(3600);
    let engine = Engine::start(store.clone(), client, Arc::new(SystemClock), cfg)
        .await
        .map_err(|e| format!("Engine::start: {e}"))?;
    let t = Instant::now();
    let funnel = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || {
            store.funnel(&FunnelQuery {
                pipeline_id,
                ..FunnelQuery::default()
            })
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("Store::funnel: {e}"))?
    };
    let leads = funnel.map(|f| f.total_count).unwrap_or(0);
    println!(
        "ready funnel_ms={:.3} leads={leads} webhook_url={}",
        t.elapsed().as_secs_f64() * 1000.0,
        engine.webhook_url()
    );
    // Wait for the parent to close stdin (bounded).
    let mut stdin = tokio::io::stdin();
    let mut buf = [0u8; 64];
    let _ = tokio::time::timeout(CHILD_LIFETIME, async {
        while let Ok(n) = stdin.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
    engine.shutdown().await;
    Ok(())
}

/// Memory figures of `/proc/<pid>/status`, in MB: (VmRSS, VmHWM, RssAnon, RssFile).
pub(crate) fn proc_mem(pid: u32) -> Result<(f64, f64, f64, f64), String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    let kb = |key: &str| -> Option<f64> {
        status
            .lines()
            .find(|l| l.starts_with(key))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    Ok((
        kb("VmRSS:").ok_or("no VmRSS")? / 1024.0,
        kb("VmHWM:").unwrap_or(0.0) / 1024.0,
        kb("RssAnon:").unwrap_or(0.0) / 1024.0,
        kb("RssFile:").unwrap_or(0.0) / 1024.0,
    ))
}

/// Runs `amosync ARGS` to completion (bounded), returning stdout.
async fn amosync(bin: &Path, args: &[&str], token: &str) -> Result<String, String> {
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(bin)
            .args(args)
            .env("AMOSYNC_TOKEN", token)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .map_err(|_| format!("amosync {} did not finish within 120 s", args[0]))?
    .map_err(|e| format!("amosync {}: {e}", args[0]))?;
    if !out.status.success() {
        return Err(format!(
            "amosync {} failed ({}): {}",
            args[0],
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The real thing: `amosync connect` a data folder to the emulator, put the
/// big store in it, `amosync serve` it, ask it for a funnel with
/// `amosync funnel` (answered by the serving process through its control
/// channel), then read the serving process's memory. Needs the `amosync`
/// binary next to this one (`cargo build --release -p amosync`).
pub async fn measure_amosync_serve(
    work: &Path,
    store: &Path,
    api_url: &str,
    token: &str,
    pipeline_id: u64,
) -> Result<serde_json::Map<String, Value>, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let bin = exe.with_file_name("amosync");
    if !bin.exists() {
        return Err(format!(
            "{} is not built (cargo build --release -p amosync)",
            bin.display()
        ));
    }
    let data = work.join("amosync-data");
    let data_s = data.to_string_lossy().into_owned();
    amosync(
        &bin,
        &[
            "connect",
            "--data",
            &data_s,
            "--base-url",
            api_url,
            "--listen",
            "127.0.0.1:0",
        ],
        token,
    )
    .await?;
    std::fs::rename(store, data.join("amosync.redb"))
        .map_err(|e| format!("moving the store into the data folder: {e}"))?;
    let t = Instant::now();
    let mut child = tokio::process::Command::new(&bin)
        .args(["serve", "--data", &data_s, "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("spawn amosync serve: {e}"))?;
    let pid = child.id().ok_or("amosync serve has no pid")?;
    let stdout = child.stdout.take().ok_or("amosync serve stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let ready = tokio::time::timeout(READY_TIMEOUT, async {
        for _ in 0..1000 {
            match lines.next_line().await {
                Ok(Some(l)) if l.trim() == "ready" => return Ok(()),
                Ok(Some(_)) => {}
                Ok(None) => return Err("amosync serve exited before it was ready".to_string()),
                Err(e) => return Err(format!("amosync serve stdout: {e}")),
            }
        }
        Err("amosync serve printed too much before ready".to_string())
    })
    .await
    .map_err(|_| {
        format!(
            "amosync serve not ready within {} s",
            READY_TIMEOUT.as_secs()
        )
    })?;
    let result = async {
        ready?;
        let ready_s = t.elapsed().as_secs_f64();
        let q = Instant::now();
        let funnel = amosync(
            &bin,
            &["funnel", "--data", &data_s, "--pipeline", &pipeline_id.to_string()],
            token,
        )
        .await?;
        let query_ms = q.elapsed().as_secs_f64() * 1000.0;
        let funnel: Value = serde_json::from_str(&funnel)
            .map_err(|e| format!("amosync funnel printed no JSON: {e}"))?;
        let total = funnel.get("total_count").cloned().unwrap_or(Value::Null);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (rss, hwm, anon, file) = proc_mem(pid)?;
        log(&format!(
            "rss: amosync serve ready in {ready_s:.1} s; `amosync funnel` answered in {query_ms:.0} ms (total_count {total}); VmRSS {rss:.1} MB (anon {anon:.1}, file {file:.1}), peak {hwm:.1} MB"
        ));
        let mut out = serde_json::Map::new();
        out.insert("serve_rss_mb_1m".into(), json!(round(rss, 1)));
        out.insert("serve_rss_anon_mb".into(), json!(round(anon, 1)));
        out.insert("serve_rss_file_mb".into(), json!(round(file, 1)));
        out.insert("serve_peak_rss_mb".into(), json!(round(hwm, 1)));
        out.insert("serve_ready_s".into(), json!(round(ready_s, 2)));
        out.insert("serve_funnel_cli_ms".into(), json!(round(query_ms, 1)));
        out.insert("serve_funnel_total_count".into(), total);
        out.insert(
            "serve_rss_source".into(),
            json!("amosync serve (release binary) over the big store, after it printed ready and answered `amosync funnel --pipeline MAIN` through its control channel; /proc/<pid>/status"),
        );
        Ok::<_, String>(out)
    }
    .await;
    // Stop it gently (SIGTERM to the process started here, by its pid), then for sure.
    let _ = tokio::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .await;
    if tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .is_err()
    {
        log("rss: amosync serve did not stop within 20 s of SIGTERM; killing it");
        let _ = child.kill().await;
    }
    result
}

/// The parent's side: spawns the child and reads its memory once it is ready.
pub async fn measure(
    store: &Path,
    api_url: &str,
    token: &str,
    pipeline_id: u64,
) -> Result<serde_json::Map<String, Value>, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let t = Instant::now();
    let mut child = tokio::process::Command::new(exe)
        .arg("--serve-child")
        .arg(store)
        .arg("--api-url")
        .arg(api_url)
        .arg("--pipeline")
        .arg(pipeline_id.to_string())
        .env(TOKEN_ENV, token)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("spawn serve child: {e}"))?;
    let pid = child.id().ok_or("serve child has no pid")?;
    let stdout = child.stdout.take().ok_or("serve child stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(READY_TIMEOUT, lines.next_line())
        .await
        .map_err(|_| format!("serve child not ready within {} s", READY_TIMEOUT.as_secs()))?
        .map_err(|e| format!("serve child stdout: {e}"))?
        .ok_or("serve child exited before it was ready")?;
    let ready_s = t.elapsed().as_secs_f64();
    // Let the engine's tasks settle into their idle state.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (rss, hwm, anon, file) = proc_mem(pid)?;
    drop(child.stdin.take());
    match tokio::time::timeout(Duration::from_secs(30), child.wait()).await {
        Ok(Ok(s)) if s.success() => {}
        Ok(Ok(s)) => log(&format!("rss: serve child exited with {s}")),
        Ok(Err(e)) => log(&format!("rss: serve child wait: {e}")),
        Err(_) => {
            log("rss: serve child did not stop within 30 s; killing it");
            let _ = child.kill().await;
        }
    }
    log(&format!(
        "rss: serving process ready in {ready_s:.1} s ({line}); VmRSS {rss:.1} MB (anon {anon:.1}, file {file:.1}), peak {hwm:.1} MB"
    ));
    let mut out = serde_json::Map::new();
    out.insert("serve_rss_mb_1m".into(), json!(round(rss, 1)));
    out.insert("serve_rss_anon_mb".into(), json!(round(anon, 1)));
    out.insert("serve_rss_file_mb".into(), json!(round(file, 1)));
    out.insert("serve_peak_rss_mb".into(), json!(round(hwm, 1)));
    out.insert("serve_ready_s".into(), json!(round(ready_s, 2)));
    out.insert("serve_ready_line".into(), json!(line));
    out.insert(
        "serve_rss_source".into(),
        json!("amosync-bench --serve-child: Store::open + Engine::start (no catch-up) + one Store::funnel, then /proc/<pid>/status"),
    );
    Ok(out)
}
