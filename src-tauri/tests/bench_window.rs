//! The desktop app's figures (a benchmark, not a timed test): run by
//! `scripts/bench-desktop.sh`, which sets `AMOSYNC_BENCH_WINDOW=1` (without
//! it this ignored test returns at once, so the window stage of
//! `scripts/test.sh` skips it).
//!
//! (a) launch → funnel painted with N leads (default 100,000) in the store,
//!     the laptop offline (the emulator that filled the store is stopped),
//!     against a 300-lead store launched the same way in the same run;
//! (b) pipeline switches: the other pipeline and back, 10 times, as the UI
//!     measures them (`__amosyncMetrics.switches`);
//! (c) the app's resident memory after painting (and WebKit's processes);
//! (d) the UI bundle (ui/dist js + css, raw and gzip).
//!
//! One JSON object goes to `$AMOSYNC_BENCH_JSON` (and stdout); progress to
//! stderr. A missed target is reported in `meets_targets`, not failed; the
//! test fails only when a component does.

mod support;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use amo::{Secret, StaticToken};
use amo_emulator::limits::LimitsConfig;
use amo_emulator::{Emulator, EmulatorConfig};
use amosync::auth::AuthSecrets;
use amosync::cli::connect::{ConnectRequest, connect};
use amosync::cli::query;
use amosync::config::DataDir;
use amosync_sync::{CatchupOptions, SystemClock, catch_up};
use serde_json::{Map, Value, json};
use support::{AppEnv, Driver, now_ms, processes_of, tid};

const BASELINE_LEADS: usize = 300;
const TARGET_LAUNCH_MS: f64 = 1000.0;
const TARGET_SWITCH_MS: f64 = 100.0;
const SWITCH_ROUNDS: usize = 10;
/// The seed of the generated accounts (the same data every run).
const SEED: u64 = 7;

fn log(msg: &str) {
    eprintln!("bench-desktop: {msg}");
}

fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    Some(if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    })
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// A connected data folder whose store mirrors an emulator account of
/// `leads` leads; the emulator is stopped afterwards (offline).
async fn build_folder(dir: &Path, leads: usize) -> Result<Map<String, Value>, String> {
    let t = Instant::now();
    let emu = Emulator::start(EmulatorConfig {
        seed: SEED,
        leads,
        limits: LimitsConfig {
            per_token_per_second: 1_000_000,
            per_account_per_second: 1_000_000,
            block_after_429s: 0,
            ..LimitsConfig::default()
        },
        ..EmulatorConfig::default()
    })
    .await
    .map_err(|e| format!("emulator: {e}"))?;
    let seeded_s = t.elapsed().as_secs_f64();
    let data = DataDir::new(dir);
    let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, support::free_port()));
    connect(
        &data,
        ConnectRequest {
            base_url: emu.base_url(),
            auth: AuthSecrets::LongLived {
                token: Secret::new(emu.token()),
            },
            listen: Some(listen),
        },
    )
    .await
    .map_err(|e| format!("connect: {e}"))?;
    let store = query::open_store(&data)
        .await
        .map_err(|e| format!("store: {e}"))?;
    let mut config = amo::ClientConfig::from_url(&emu.base_url()).map_err(|e| e.to_string())?;
    config.rate_per_second = 1000.0;
    config.burst = 100;
    let client =
        amo::Client::new(config, StaticToken::new(emu.token())).map_err(|e| e.to_string())?;
    let t_sync = Instant::now();
    let report = tokio::time::timeout(
        Duration::from_secs(1200),
        catch_up(&store, &client, &SystemClock, &CatchupOptions::default()),
    )
    .await
    .map_err(|_| "catch-up did not finish within 20 min".to_owned())?
    .map_err(|e| format!("catch-up: {e}"))?;
    let synced_s = t_sync.elapsed().as_secs_f64();
    let stored = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.status())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("status: {e}"))?
    };
    let stored = serde_json::to_value(&stored).unwrap_or(Value::Null);
    let stored = json!({
        "leads": stored["leads"],
        "deleted_leads": stored["deleted_leads"],
        "contacts": stored["contacts"],
        "companies": stored["companies"],
        "talks": stored["talks"],
    });
    drop(store);
    drop(client);
    emu.shutdown().await;
    // A user who finished the wizard: the app opens on the funnel.
    let prefs = dir.join("desktop.json");
    if !prefs.exists() {
        std::fs::write(&prefs, r#"{"wizard_done": true}"#).map_err(|e| e.to_string())?;
    }
    let mut out = Map::new();
    out.insert("emulator_seeded_s".into(), json!(round1(seeded_s)));
    out.insert("catch_up_s".into(), json!(round1(synced_s)));
    out.insert("catch_up_leads".into(), json!(report.leads));
    out.insert("store".into(), stored);
    Ok(out)
}

/// One launch: spawn (new WebDriver session) → funnel painted; then the
/// switches (when asked) and the memory.
struct Launch {
    launch_ms: f64,
    session_ms: f64,
    switches: Vec<f64>,
    app_rss_kb: u64,
    webkit_rss_kb: u64,
    pipelines: usize,
}

async fn launch_once(dir: &Path, key: &Path, rounds: usize) -> Result<Launch, String> {
    let env = AppEnv::with_data(dir).key_file(key);
    let driver = Driver::start(&env);
    let t0 = now_ms();
    let started = Instant::now();
    let win = driver.open().await;
    let session_ms = started.elapsed().as_secs_f64() * 1000.0;
    let deadline = Instant::now() + Duration::from_secs(120);
    let painted_at = loop {
        let m = win.metrics().await;
        if let Some(at) = m["funnelPaintedAt"].as_f64() {
            break at;
        }
        if Instant::now() >= deadline {
            let text = win.page_text().await;
            let short: String = text.chars().take(800).collect();
            win.close().await;
            return Err(format!(
                "the funnel was not painted within 120 s (metrics {m}); the page shows: {short}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let launch_ms = painted_at - t0 as f64;

    let mut switches = Vec::new();
    let options: Vec<String> = win
        .js_strings(
            "const s = document.querySelector(arguments[0]); return s ? [...s.options].map(o => o.value) : [];",
            vec![json!(tid("pipeline"))],
        )
        .await;
    if rounds > 0 {
        if options.len() < 2 {
            win.close().await;
            return Err(format!(
                "the pipeline picker offers {options:?}: nothing to switch to"
            ));
        }
        let first = win
            .js(
                "return document.querySelector(arguments[0]).value;",
                vec![json!(tid("pipeline"))],
            )
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let other = options
            .iter()
            .find(|o| **o != first)
            .cloned()
            .unwrap_or_default();
        let count = |m: &Value| m["switches"].as_array().map(Vec::len).unwrap_or(0);
        let before = count(&win.metrics().await);
        for i in 0..rounds * 2 {
            let to = if i % 2 == 0 { &other } else { &first };
            let had = count(&win.metrics().await);
            win.select("pipeline", to).await;
            let deadline = Instant::now() + Duration::from_secs(20);
            while count(&win.metrics().await) <= had {
                if Instant::now() >= deadline {
                    win.close().await;
                    return Err(format!(
                        "switch {i} to pipeline {to}: __amosyncMetrics.switches did not grow within 20 s"
                    ));
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        switches = win.metrics().await["switches"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .skip(before)
            .filter_map(|v| v.as_f64())
            .collect();
    }

    // Memory once the window has settled.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let procs = processes_of(dir);
    let app_rss_kb = procs
        .iter()
        .filter(|p| p.1 == "amosync-desktop" || p.1.starts_with("amosync-deskto"))
        .map(|p| p.2)
        .max()
        .unwrap_or(0);
    let webkit_rss_kb = procs
        .iter()
        .filter(|p| p.1.starts_with("WebKit") && p.1 != "WebKitWebDriver")
        .map(|p| p.2)
        .sum();
    if app_rss_kb == 0 {
        log(&format!("no amosync-desktop process found among {procs:?}"));
    }
    // Quit as a user does before the session ends: WebKitWebDriver kills the
    // app (SIGKILL) when the session is deleted, which leaves the store not
    // closed cleanly, and the next launch would measure redb's repair of the
    // whole file (crash recovery), not a launch.
    quit_app(dir).await;
    win.close().await;
    drop(driver);
    Ok(Launch {
        launch_ms,
        session_ms,
        switches,
        app_rss_kb,
        webkit_rss_kb,
        pipelines: options.len(),
    })
}

/// SIGTERM to the app serving `dir` (it exits through `RunEvent::Exit`,
/// closing its store), then waits for it to be gone (bounded; logged if not).
async fn quit_app(dir: &Path) {
    let apps: Vec<u32> = processes_of(dir)
        .into_iter()
        .filter(|p| p.1.starts_with("amosync-deskto"))
        .map(|p| p.0)
        .collect();
    for pid in &apps {
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status();
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    // Gone: no /proc entry, or a zombie its parent has not reaped yet.
    let alive = |pid: &u32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
        })
    };
    while apps.iter().any(alive) {
        if Instant::now() >= deadline {
            log(&format!(
                "the app (pids {apps:?}) did not exit within 15 s of SIGTERM; the next launch may repair its store"
            ));
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Raw and gzip bytes of ui/dist's js and css.
fn bundle() -> Result<Map<String, Value>, String> {
    let dist = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui/dist");
    let mut files = Vec::new();
    let mut stack = vec![dist.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    let mut out = Map::new();
    for ext in ["js", "css"] {
        let (mut raw, mut gz) = (0u64, 0u64);
        for f in files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == ext))
        {
            raw += std::fs::metadata(f).map_err(|e| e.to_string())?.len();
            let zipped = std::process::Command::new("gzip")
                .args(["-9", "-c"])
                .arg(f)
                .output()
                .map_err(|e| format!("gzip: {e}"))?;
            gz += zipped.stdout.len() as u64;
        }
        out.insert(format!("ui_{ext}_bytes"), json!(raw));
        out.insert(format!("ui_{ext}_gzip_bytes"), json!(gz));
    }
    let total_gz = out["ui_js_gzip_bytes"].as_u64().unwrap_or(0)
        + out["ui_css_gzip_bytes"].as_u64().unwrap_or(0);
    out.insert("ui_total_gzip_bytes".into(), json!(total_gz));
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: scripts/bench-desktop.sh runs it under xvfb-run"]
async fn desktop_figures() {
    if std::env::var("AMOSYNC_BENCH_WINDOW").as_deref() != Ok("1") {
        eprintln!(
            "bench_window: skipped (scripts/bench-desktop.sh runs it with AMOSYNC_BENCH_WINDOW=1)"
        );
        return;
    }
    let _slot = support::window_slot();
    let started = Instant::now();
    let leads: usize = env_num("AMOSYNC_BENCH_LEADS", 100_000);
    let runs: usize = env_num("AMOSYNC_BENCH_RUNS", 3).max(1);
    let tmp = tempfile::tempdir().expect("tempdir");
    let key = tmp.path().join("vault.key");
    // This test binary holds only this test: no other thread reads the environment.
    unsafe {
        std::env::set_var("AMOSYNC_VAULT", "file");
        std::env::set_var("AMOSYNC_KEY_FILE", &key);
    }
    let mut out = Map::new();
    out.insert("bench".into(), json!("desktop"));
    out.insert(
        "build".into(),
        json!(if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }),
    );
    out.insert(
        "cpus".into(),
        json!(
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(0)
        ),
    );
    out.insert("leads".into(), json!(leads));
    out.insert("baseline_leads".into(), json!(BASELINE_LEADS));
    out.insert("runs".into(), json!(runs));
    let mut failures: Vec<String> = Vec::new();

    let big = tmp.path().join("big");
    let small = tmp.path().join("small");
    for (dir, n, label) in [
        (&big, leads, "store"),
        (&small, BASELINE_LEADS, "baseline_store"),
    ] {
        log(&format!(
            "building a connected folder with {n} leads (emulator + connect + catch-up)…"
        ));
        match build_folder(dir, n).await {
            Ok(info) => {
                log(&format!("{label}: {}", Value::Object(info.clone())));
                out.insert(label.into(), Value::Object(info));
            }
            Err(e) => failures.push(format!("{label}: {e}")),
        }
    }

    let mut launches = Vec::new();
    let mut baseline = Vec::new();
    if failures.is_empty() {
        for run in 0..runs {
            log(&format!("launch {}/{runs}: {leads} leads…", run + 1));
            let rounds = if run == 0 { SWITCH_ROUNDS } else { 0 };
            match launch_once(&big, &key, rounds).await {
                Ok(l) => {
                    log(&format!(
                        "  painted {:.0} ms after spawning (session {:.0} ms), app RSS {} MB",
                        l.launch_ms,
                        l.session_ms,
                        l.app_rss_kb / 1024
                    ));
                    launches.push(l);
                }
                Err(e) => {
                    failures.push(format!("launch with {leads} leads: {e}"));
                    break;
                }
            }
            log(&format!(
                "launch {}/{runs}: {BASELINE_LEADS} leads…",
                run + 1
            ));
            match launch_once(&small, &key, 0).await {
                Ok(l) => {
                    log(&format!("  painted {:.0} ms after spawning", l.launch_ms));
                    baseline.push(l);
                }
                Err(e) => {
                    failures.push(format!("launch with {BASELINE_LEADS} leads: {e}"));
                    break;
                }
            }
        }
    }
    let launch: Vec<f64> = launches.iter().map(|l| l.launch_ms).collect();
    let base: Vec<f64> = baseline.iter().map(|l| l.launch_ms).collect();
    let launch_med = median(&launch);
    let base_med = median(&base);
    out.insert("launch_to_funnel_ms".into(), json!(launch_med.map(round1)));
    out.insert(
        "launch_to_funnel_runs_ms".into(),
        json!(launch.iter().map(|x| round1(*x)).collect::<Vec<_>>()),
    );
    out.insert(
        "baseline_launch_to_funnel_ms".into(),
        json!(base_med.map(round1)),
    );
    out.insert(
        "baseline_launch_runs_ms".into(),
        json!(base.iter().map(|x| round1(*x)).collect::<Vec<_>>()),
    );
    out.insert(
        "launch_ratio_vs_baseline".into(),
        json!(match (launch_med, base_med) {
            (Some(a), Some(b)) if b > 0.0 => Some((a / b * 100.0).round() / 100.0),
            _ => None,
        }),
    );
    out.insert(
        "webdriver_session_ms".into(),
        json!(median(&launches.iter().map(|l| l.session_ms).collect::<Vec<_>>()).map(round1)),
    );
    let switches: Vec<f64> = launches
        .first()
        .map(|l| l.switches.clone())
        .unwrap_or_default();
    let sw_med = median(&switches);
    let sw_max = switches
        .iter()
        .cloned()
        .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
    out.insert("switch_ms_median".into(), json!(sw_med.map(round1)));
    out.insert("switch_ms_max".into(), json!(sw_max.map(round1)));
    out.insert("switch_count".into(), json!(switches.len()));
    out.insert(
        "switch_samples_ms".into(),
        json!(switches.iter().map(|x| round1(*x)).collect::<Vec<_>>()),
    );
    out.insert(
        "pipelines".into(),
        json!(launches.first().map(|l| l.pipelines)),
    );
    let rss = launches.iter().map(|l| l.app_rss_kb).max().unwrap_or(0);
    let webkit = launches.iter().map(|l| l.webkit_rss_kb).max().unwrap_or(0);
    out.insert("app_rss_mb".into(), json!(round1(rss as f64 / 1024.0)));
    out.insert(
        "app_rss_runs_mb".into(),
        json!(
            launches
                .iter()
                .map(|l| round1(l.app_rss_kb as f64 / 1024.0))
                .collect::<Vec<_>>()
        ),
    );
    out.insert(
        "webkit_rss_mb".into(),
        json!(round1(webkit as f64 / 1024.0)),
    );
    out.insert(
        "baseline_app_rss_mb".into(),
        json!(round1(
            baseline.iter().map(|l| l.app_rss_kb).max().unwrap_or(0) as f64 / 1024.0
        )),
    );
    match bundle() {
        Ok(b) => out.extend(b),
        Err(e) => failures.push(format!("UI bundle: {e}")),
    }
    out.insert(
        "targets".into(),
        json!({"launch_to_funnel_ms": TARGET_LAUNCH_MS, "switch_ms": TARGET_SWITCH_MS}),
    );
    out.insert(
        "meets_targets".into(),
        json!({
            "launch_to_funnel": launch_med.map(|m| m < TARGET_LAUNCH_MS),
            "switch": sw_max.map(|m| m < TARGET_SWITCH_MS),
            "switch_median": sw_med.map(|m| m < TARGET_SWITCH_MS),
        }),
    );
    out.insert(
        "method".into(),
        json!(format!(
            "each store: an in-process emulator seeded with N leads (seed {SEED}) and limits raised, `amosync connect` with its long-lived token, one catch_up with a 1000 req/s client, then the emulator stopped (offline). launch_to_funnel_ms: epoch ms from just before tauri-driver's new-session request (which spawns the app through WebKitWebDriver) to the UI's own __amosyncMetrics.funnelPaintedAt (Date.now() after the first funnel with data painted), median of `runs` launches, a fresh tauri-driver and session bus each; baseline: the same with {BASELINE_LEADS} leads, alternating. switch_ms: __amosyncMetrics.switches of the first N-lead launch, the other pipeline and back {SWITCH_ROUNDS} times through the picker. after each launch the app is quit with SIGTERM (a clean exit, as Quit does) before the WebDriver session ends, so no launch starts with a store left unclean (redb would repair the whole file first). app_rss_mb: VmRSS of the amosync-desktop process (found through /proc by its AMOSYNC_DATA) after painting (and the switches), max over launches; webkit_rss_mb: WebKit's web and network processes of that app summed. ui_*: ui/dist as built, gzip -9."
        )),
    );
    out.insert(
        "duration_s".into(),
        json!(round1(started.elapsed().as_secs_f64())),
    );
    out.insert("failures".into(), json!(failures));
    let text = serde_json::to_string_pretty(&Value::Object(out)).expect("json");
    if let Ok(path) = std::env::var("AMOSYNC_BENCH_JSON") {
        std::fs::write(&path, &text).expect("write the JSON");
    }
    println!("{text}");
    assert!(
        failures.is_empty(),
        "benchmark components failed: {failures:?}"
    );
}
