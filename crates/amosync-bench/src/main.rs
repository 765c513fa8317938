//! `amosync-bench`: prints one JSON object with every figure.
//!
//! ```text
//! cargo run --release -p amosync-bench -- [--quick] [--only ingest,flood,funnel,rss,catchup]
//! ```
//!
//! Progress goes to stderr, the JSON object alone to stdout. Exit status 1
//! (with a one-line reason on stderr) when a component fails — a webhook not
//! answered 200, a funnel that disagrees with SQLite, a catch-up error — but
//! not when a figure misses its target: `meets_targets` says that.

mod catchup;
mod data;
mod flood;
mod funnel;
mod ingest;
mod retention;
mod rss;

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use amo_emulator::{Emulator, EmulatorConfig};
use amosync_store::TimeRange;
use clap::Parser;
use serde_json::{Map, Value, json};

#[derive(Debug, Parser)]
#[command(
    name = "amosync-bench",
    about = "AmoSync benchmarks; prints one JSON object"
)]
struct Cli {
    /// Small sizes, finishes in about a minute (100k leads, 5k-lead catch-up, 3 s ingest).
    #[arg(long)]
    quick: bool,
    /// Run only these parts (comma separated): ingest, flood, funnel, rss, catchup, retention.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Folder for the store and SQLite files (default: a temporary folder, removed at the end).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Leads in the funnel store (default 1 000 000; 100 000 with --quick).
    #[arg(long)]
    leads: Option<u64>,
    /// Leads in the catch-up emulator (default 50 000; 5 000 with --quick).
    #[arg(long)]
    catchup_leads: Option<usize>,
    /// Concurrent webhook clients.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Seconds of sustained ingest load per target (default 10; 3 with --quick).
    #[arg(long)]
    ingest_seconds: Option<f64>,
    /// Also measure where ingest time goes (receiver without disk, receiver +
    /// durable log without the applier, bare commits). Default: on, off with --quick.
    #[arg(long)]
    ingest_breakdown: Option<bool>,
    /// Internal: run as the serving child process over this store.
    #[arg(long, hide = true)]
    serve_child: Option<PathBuf>,
    #[arg(long, hide = true)]
    api_url: Option<String>,
    #[arg(long, hide = true)]
    pipeline: Option<u64>,
}

/// Seeded leads the big data set is scaled up from.
const TEMPLATE_LEADS: usize = 20_000;
const DAY: i64 = 86_400;

pub fn log(msg: &str) {
    eprintln!("[bench] {msg}");
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("amosync-bench: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(store) = cli.serve_child.clone() {
        let url = cli.api_url.clone().unwrap_or_default();
        let pipeline = cli.pipeline.unwrap_or(0);
        return match runtime.block_on(rss::serve_child(&store, &url, pipeline)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("amosync-bench --serve-child: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let (out, failures) = runtime.block_on(run(&cli));
    println!(
        "{}",
        serde_json::to_string_pretty(&Value::Object(out)).unwrap_or_default()
    );
    // Do not wait for stragglers (e.g. an engine task that never stops).
    runtime.shutdown_timeout(Duration::from_secs(5));
    match failures.first() {
        None => ExitCode::SUCCESS,
        Some(first) => {
            eprintln!("amosync-bench: FAILED: {}", first.replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: &Cli) -> (Map<String, Value>, Vec<String>) {
    let started = Instant::now();
    let mut out = Map::new();
    let mut failures: Vec<String> = Vec::new();
    let parts: BTreeSet<String> = if cli.only.is_empty() {
        ["ingest", "flood", "funnel", "rss", "catchup", "retention"]
            .into_iter()
            .map(String::from)
            .collect()
    } else {
        cli.only.iter().map(|s| s.trim().to_lowercase()).collect()
    };
    let leads = cli
        .leads
        .unwrap_or(if cli.quick { 100_000 } else { 1_000_000 });
    let catchup_leads = cli
        .catchup_leads
        .unwrap_or(if cli.quick { 5_000 } else { 50_000 });
    let ingest_s = cli
        .ingest_seconds
        .unwrap_or(if cli.quick { 3.0 } else { 10.0 });
    let clients = cli.clients.clamp(1, 512);

    out.insert("bench".into(), json!("amosync"));
    out.insert("quick".into(), json!(cli.quick));
    // Debug-build figures are a smoke check only; the README quotes release runs.
    let profile = if cfg!(debug_assertions) {
        "dev"
    } else {
        "release"
    };
    out.insert("profile".into(), json!(profile));
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
                .unwrap_or(1)
        ),
    );

    // Work folder.
    let tmp;
    let dir = match &cli.dir {
        Some(d) => {
            if let Err(e) = std::fs::create_dir_all(d) {
                failures.push(format!("cannot create {}: {e}", d.display()));
                return (out, failures);
            }
            d.clone()
        }
        None => match tempfile::Builder::new().prefix("amosync-bench-").tempdir() {
            Ok(t) => {
                tmp = t;
                tmp.path().to_path_buf()
            }
            Err(e) => {
                failures.push(format!("cannot create a temporary folder: {e}"));
                return (out, failures);
            }
        },
    };
    log(&format!("work folder {}", dir.display()));

    // The seeded account every part draws from.
    log(&format!(
        "seeding the template account ({TEMPLATE_LEADS} leads, seed {}, now {})…",
        data::SEED,
        data::FIXED_NOW
    ));
    let emu = match Emulator::start(EmulatorConfig {
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        seed: data::SEED,
        leads: TEMPLATE_LEADS,
        now: Some(data::FIXED_NOW),
        ..EmulatorConfig::default()
    })
    .await
    {
        Ok(e) => e,
        Err(e) => {
            failures.push(format!("emulator: {e}"));
            return (out, failures);
        }
    };
    let prepared = {
        let w = emu.world();
        data::account(&w, now_ms() / 1000)
            .and_then(|a| Ok((a, data::leads(&w)?, ingest::bodies(&w))))
    };
    let (account, templates, bodies) = match prepared {
        Ok(p) => p,
        Err(e) => {
            failures.push(e);
            return (out, failures);
        }
    };
    // The flood part's real webhooks (cheap clones of the same bodies).
    let flood_bodies = std::sync::Arc::new(bodies.iter().take(500).cloned().collect::<Vec<_>>());
    let main_pipeline = account
        .pipelines
        .iter()
        .find(|p| p.is_main)
        .or(account.pipelines.first())
        .map(|p| p.id)
        .unwrap_or(0);

    // The ingest part takes the bodies; the retention part logs them too.
    let retention_bodies = bodies.clone();

    // ---- ingest
    if parts.contains("ingest") {
        let spec = ingest::LoadSpec {
            clients,
            duration: Duration::from_secs_f64(ingest_s.clamp(0.5, 600.0)),
            max_requests: 2_000_000,
        };
        let breakdown = cli.ingest_breakdown.unwrap_or(!cli.quick);
        let task = {
            let dir = dir.clone();
            let url = emu.base_url();
            let token = emu.token();
            let account = account.clone();
            tokio::spawn(async move {
                ingest::run(&dir, &url, &token, &account, bodies, &spec, breakdown).await
            })
        };
        match flatten(task.await, "ingest") {
            Ok(r) => {
                out.extend(r.json);
                failures.extend(r.failure);
            }
            Err(e) => failures.push(e),
        }
    }

    // ---- floods and slow clients
    if parts.contains("flood") {
        let spec = flood::FloodSpec {
            senders: 8,
            idle: 64,
            duration: Duration::from_secs(if cli.quick { 2 } else { 5 }),
        };
        let task = {
            let dir = dir.clone();
            let url = emu.base_url();
            let token = emu.token();
            let account = account.clone();
            let bodies = flood_bodies.clone();
            tokio::spawn(
                async move { flood::run(&dir, &url, &token, &account, bodies, &spec).await },
            )
        };
        match flatten(task.await, "flood") {
            Ok(r) => {
                for key in [
                    "flood_ack_failures",
                    "flood_baseline_ack_failures",
                    "flood_bodies_other",
                ] {
                    let n = r.get(key).and_then(Value::as_u64).unwrap_or(0);
                    if n > 0 {
                        failures.push(format!("flood: {key} = {n} (every real webhook must get 200 within 2 s; flood bodies 200 or 503)"));
                    }
                }
                out.extend(r);
            }
            Err(e) => failures.push(e),
        }
    }

    // ---- funnel (+ rss over the same store)
    let funnel_store = dir.join("funnel.redb");
    let mut funnel_ok = false;
    if parts.contains("funnel") {
        let users: Vec<u64> = account.users.iter().skip(1).take(2).map(|u| u.id).collect();
        let created = TimeRange {
            from: Some(data::FIXED_NOW - 180 * DAY),
            to: Some(data::FIXED_NOW - 30 * DAY),
        };
        out.insert(
            "funnel_filter".into(),
            json!({"pipeline_id": main_pipeline, "created": created, "responsible_user_ids": users}),
        );
        let task = {
            let dir = dir.clone();
            let account = account.clone();
            tokio::task::spawn_blocking(move || {
                funnel::run(&funnel::Setup {
                    dir: &dir,
                    leads,
                    account: &account,
                    templates: &templates,
                    main_pipeline,
                    created,
                    responsible: users,
                })
            })
        };
        match flatten(task.await, "funnel") {
            Ok(r) => {
                out.extend(r.json);
                out.insert("funnel_leads".into(), json!(leads));
                funnel_ok = r.mismatch.is_none();
                failures.extend(r.mismatch);
            }
            Err(e) => failures.push(e),
        }
    }
    if parts.contains("rss") {
        if funnel_store.exists() && (funnel_ok || !parts.contains("funnel")) {
            let mut child = Map::new();
            match rss::measure(&funnel_store, &emu.base_url(), &emu.token(), main_pipeline).await {
                Ok(r) => {
                    for (k, v) in r {
                        out.insert(k.replacen("serve_", "serve_child_", 1), v.clone());
                        child.insert(k, v);
                    }
                }
                Err(e) => failures.push(format!("rss: {e}")),
            }
            match rss::measure_amosync_serve(
                &dir,
                &funnel_store,
                &emu.base_url(),
                &emu.token(),
                main_pipeline,
            )
            .await
            {
                Ok(r) => out.extend(r),
                Err(e) => {
                    log(&format!(
                        "rss: `amosync serve` not measured ({e}); serve_rss_mb_1m is the --serve-child figure"
                    ));
                    out.insert("serve_amosync_error".into(), json!(e));
                    for k in ["serve_rss_mb_1m", "serve_rss_source"] {
                        if let Some(v) = child.get(k) {
                            out.insert(k.into(), v.clone());
                        }
                    }
                }
            }
        } else {
            failures.push("rss: no funnel store to serve (run the funnel part first)".into());
        }
    }
    emu.shutdown().await;

    // ---- catch-up
    if parts.contains("catchup") {
        let timeout = Duration::from_secs(if cli.quick { 120 } else { 1800 });
        let dir = dir.clone();
        let task = tokio::spawn(async move { catchup::run(&dir, catchup_leads, timeout).await });
        match flatten(task.await, "catch-up") {
            Ok(r) => {
                out.extend(r.json);
                failures.extend(r.failure);
            }
            Err(e) => failures.push(e),
        }
    }

    // ---- retention (the event log's bound, the chats index)
    if parts.contains("retention") {
        let sizes = retention::Sizes {
            entries: if cli.quick { 40_000 } else { 200_000 },
            talks: if cli.quick { 5_000 } else { 20_000 },
        };
        let task = {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || retention::run(&dir, &retention_bodies, &sizes))
        };
        match flatten(task.await, "retention") {
            Ok(r) => out.extend(r),
            Err(e) => failures.push(e),
        }
    }

    targets(&mut out);
    out.insert("notes".into(), notes(leads, catchup_leads, clients));
    out.insert(
        "duration_s".into(),
        json!(funnel::round(started.elapsed().as_secs_f64(), 1)),
    );
    if !failures.is_empty() {
        out.insert("failures".into(), json!(failures));
    }
    (out, failures)
}

fn flatten<T>(
    r: Result<Result<T, String>, tokio::task::JoinError>,
    part: &str,
) -> Result<T, String> {
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("{part}: {e}")),
        Err(e) if e.is_panic() => {
            let p = e.into_panic();
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(format!("{part}: panicked: {msg}"))
        }
        Err(e) => Err(format!("{part}: {e}")),
    }
}

fn targets(out: &mut Map<String, Value>) {
    let num = |k: &str| out.get(k).and_then(Value::as_f64);
    let check = |v: Option<f64>, ok: fn(f64) -> bool| v.map(ok).map_or(Value::Null, Value::Bool);
    let meets = json!({
        "ingest_eps": check(num("ingest_eps"), |v| v >= 5000.0),
        "ingest_p99_ms": check(num("ingest_p99_ms"), |v| v < 20.0),
        "ingest_ratio_vs_trivial": check(num("ingest_ratio_vs_trivial"), |v| v >= 0.3),
        "funnel_ms_1m": check(num("funnel_ms_1m"), |v| v <= 50.0),
        "funnel_ratio_vs_sqlite": check(num("funnel_ratio_vs_sqlite"), |v| v > 1.0),
        "catchup_fraction_of_bound": check(num("catchup_fraction_of_bound"), |v| v >= 0.9),
        "catchup_429s": check(num("catchup_429s"), |v| v == 0.0),
        "flood_rss_peak_mb": check(num("flood_rss_peak_mb"), |v| v <= 300.0),
        "flood_ack_p99_ms": check(num("flood_ack_p99_ms"), |v| v < 2000.0),
    });
    out.insert(
        "targets".into(),
        json!({
            "ingest_eps": ">= 5000",
            "ingest_p99_ms": "< 20",
            "ingest_ratio_vs_trivial": ">= 0.3",
            "funnel_ms_1m": "<= 50",
            "funnel_ratio_vs_sqlite": "> 1 (faster than SQLite)",
            "catchup_fraction_of_bound": ">= 0.9",
            "catchup_429s": "== 0",
            "flood_rss_peak_mb": "<= 300",
            "flood_ack_p99_ms": "< 2000 (amoCRM's patience)",
        }),
    );
    out.insert("meets_targets".into(), meets);
}

fn notes(leads: u64, catchup_leads: usize, clients: usize) -> Value {
    json!({
        "sizes": format!("funnel/rss store: {leads} leads (keys end in _1m whatever the size; see funnel_leads); catch-up: {catchup_leads} seeded leads"),
        "data": format!("leads are the amoCRM emulator's seeded account (seed {}, now {}: «Первичка» with 21 statuses + a corporate pipeline, 6 users, custom fields, tags, contacts, ~funnel-shaped status mix, some deleted) scaled from {TEMPLATE_LEADS} templates: lead i copies template i mod {TEMPLATE_LEADS}, dates shifted by one random 0–60 days, price ±30 %", data::SEED, data::FIXED_NOW),
        "ingest": format!("{clients} concurrent reqwest clients (HTTP/1.1 keep-alive) POST real `leads[status]` form bodies (the emulator's webhook encoder, 5 000 distinct) to Engine::start's receiver over loopback (real redb file; the applier and the fetcher run too, fetching from a local emulator); every request must be answered 200; after a 0.5 s warm-up, a fixed duration is measured; eps = 200 answers / wall time; latency = client-side send→full answer; ratio = ingest_eps / eps of a trivial axum handler that reads the body and answers 200, same clients, same process, measured first; settle = time after the load until Engine::settle reports the log applied and fetches done (the fetcher confirms the touched leads from the emulator at 5 req/s). ingest_breakdown (full mode; --ingest-breakdown true|false): the same load against receiver::app + ingest::spawn with a sink that writes nothing, with the store's durable log alone, and with the log plus an applier loop shaped like the engine's (woken by a log commit, gathering for up to engine::APPLY_GATHER or engine::APPLY_GATHER_MIN pending entries, applier::apply_pending in batches of engine::APPLY_BATCH: relaxed (no fsync) transactions of applier::APPLY_TX_ENTRIES); then sequential Store::append_events commits of 1 and 32 bodies (the disk's fsync floor), apply_pending alone over the logged bodies, and parse_per_body: µs per body on one thread of read_account (the receiver's check) and decode_with_limits (the applier's full decode). Disk latency on a shared machine varies several-fold from minute to minute: compare figures of the same run only"),
        "funnel": "median of 7 timed runs after 1 warm-up, same process, store closed/reopened never (warm OS cache for both); store = Store::funnel(FunnelQuery{pipeline_id: main}); SQLite = rusqlite bundled, table leads(id INTEGER PRIMARY KEY, pipeline_id, status_id, price, responsible_user_id, created_at, updated_at, closed_at, is_deleted, name), WAL, cache 256 MB, mmap 1 GB, ANALYZE; funnel_ratio_vs_sqlite uses an index on pipeline_id only (as asked); *_covering_* adds a covering index (pipeline_id, is_deleted, status_id, price, created_at, responsible_user_id), SQLite's best case; filtered = created in a 150-day range and 2 responsible users (a literal IN list). Both answers are compared per status (count, price sum): a mismatch fails the run",
        "store_fill": "leads/s of Store::write batches of upsert_lead(Origin::Api), 10 000 per durable commit, data generation time excluded; sqlite_fill is the same rows into the narrow table (not comparable: the store keeps full records and indexes)",
        "catchup": "a fresh store bound to the account, one catch_up(store, client, SystemClock, CatchupOptions::default()) against an emulator seeded with the leads (default limits: 7 req/s per token, 50 per account), client at its default limiter rate (ClientConfig::rate_per_second = 5/s, burst 1); the first full pull reads account, users, pipelines, then every lead page back to back, then contacts, companies and events concurrently, then the records queued for confirmation by id (talks: one request each, amoCRM has no talk list), then a short tail of each list; catchup_bound_s = ceil(live leads / 250) / rate = the least time the lead pages alone need; catchup_leads_done_s = CatchupReport::leads_done_ms = from the pass's start until every lead page was stored (the time to mirror the N leads: what the bound describes); catchup_fraction_of_bound = bound / catchup_leads_done_s; catchup_total_s (= catchup_seconds) = the whole pass, and catchup_whole_pass_fraction_of_bound = bound / catchup_total_s (the other lists and the talk reads cost requests too, so this cannot reach 1 unless leads are all there is); catchup_requests_by_kind groups the emulator's per-endpoint counters; catchup_request_bound_s = (total requests - 1) / rate, catchup_fraction_of_request_bound = how close the whole pass ran to the limiter's pace; requests and 429s from the emulator's /_emulator/stats counters",
        "flood": "floods and slow clients: this binary's --serve-child (Store::open + Engine::start over a fresh real redb file bound to the account, no catch-up) on loopback; baseline = real `leads[status]` webhooks (the ingest bodies) posted one at a time every 20 ms on a new connection each (as through a tunnel) for 5 s (2 s with --quick), client-side latency; then 64 idle TCP connections, 8 keep-alive senders posting 800 KB valid-secret bodies (account block + 7 values of 114 KiB) as fast as they are answered, and the same real webhooks for the same time; flood_rss_peak_mb = the child's VmHWM (/proc/<pid>/status) after the flood; flood_ack_p99_ratio_vs_baseline = flood_ack_p99_ms / flood_baseline_ack_p99_ms. A real webhook not answered 200 within 2 s, or a flood body answered other than 200/503, fails the run",
        "retention": "a store file gets 200 000 (40 000 with --quick) real `leads[status]` webhook bodies (the ingest part's), half received 40 days ago and half one day ago, all applied; Store::prune_events with the engine's default rule (30 days) and batch (1 000 rows per durable transaction) removes the old half, then Store::compact; store_bytes_per_retained_event = file length after compaction / entries kept; retention_entry_bytes_per_event = the entries' own bytes (key + received-at + outcome + body) per entry, same run; retention_file_overhead_ratio = the two divided (redb's pages and the store's other tables); retention_prune_longest_tx_ms = the longest single prune transaction (what an arriving webhook may wait for redb's writer). chats: 20 000 (5 000) talks over 90 days with 3 messages each; the first 200 of the talk list read through the activity index (Store::talks) vs the old decode-every-talk-and-sort (Store::talks_by_scan), both answers compared, medians of 7 after a warm-up, same store, same run",
        "rss": "serve_rss_mb_1m = VmRSS of `amosync serve` (the release binary next to this one): `amosync connect` a data folder to a local emulator, the funnel store moved in (its sync state says a full pull just finished, so serve's start-up catch-up is a short incremental one), `amosync serve --listen 127.0.0.1:0` until it prints ready, one `amosync funnel --pipeline MAIN` answered by it, then /proc/<pid>/status 0.5 s later. serve_child_* = the same for this binary's --serve-child (Store::open + Engine::start without catch-up + one Store::funnel), the fallback when amosync is not built (serve_amosync_error says why). RSS includes file-backed pages of the store (serve_rss_file_mb)",
    })
}
