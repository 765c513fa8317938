//! "Nothing acknowledged is ever lost", with the real binary: `amosync serve`
//! is SIGKILLed 10 times at random moments while webhooks stream in, and
//! restarted each time on the same data folder (and the port it saved).
//!
//! * The emulator runs in this process; `amosync connect` binds a temporary
//!   data folder to it; `serve` registers its receiver with the emulator.
//! * One task performs office actions through the emulator's control API
//!   (so the emulator delivers webhooks, and retries failed ones to the
//!   registered URL).
//! * Another task POSTs its own valid `message[add]` bodies straight to the
//!   receiver and records every one that was answered 200.
//! * After the last restart: every acknowledged body is in the event log
//!   (`amosync events --json`), byte for byte, and applied; and every
//!   acknowledged message is visible on its lead (`amosync lead ID --json`).
//!
//! Every loop is bounded in count and time.
#![cfg(unix)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use amo_emulator::limits::LimitsConfig;
use amo_emulator::{Emulator, EmulatorConfig};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_amosync");
const KILLS: usize = 10;
const SEED: u64 = 0x6b69_6c6c;

/// SplitMix64: the same seed, the same kill moments.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Runs `amosync ARGS` to completion (bounded); (exit code, stdout, stderr).
async fn amosync(args: &[&str]) -> (i32, String, String) {
    let child = Command::new(BIN)
        .args(args)
        .env("AMOSYNC_VAULT", "file")
        .env(
            "AMOSYNC_KEY_FILE",
            std::env::temp_dir().join(format!("amosync-test-{}.key", std::process::id())),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {BIN}: {e}"));
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("`amosync {}` did not finish within 60 s", args.join(" ")))
        .expect("amosync output");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `amosync ARGS --json` that must succeed; its JSON.
async fn query(args: &[&str]) -> Value {
    let mut all: Vec<&str> = args.to_vec();
    all.push("--json");
    let (code, stdout, stderr) = amosync(&all).await;
    assert_eq!(
        code,
        0,
        "`amosync {}` exited {code}: {stderr}",
        all.join(" ")
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "`amosync {}` printed no JSON ({e}): {stdout}",
            all.join(" ")
        )
    })
}

/// A running `amosync serve`.
struct Serve {
    child: Child,
    webhook_url: Option<String>,
}

/// Starts `amosync serve` (stderr appended to `log`).
fn spawn_serve(data: &Path, listen: Option<&str>, log: &Path) -> Child {
    let stderr = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("serve log file");
    let mut command = Command::new(BIN);
    command
        .env("AMOSYNC_VAULT", "file")
        .env(
            "AMOSYNC_KEY_FILE",
            std::env::temp_dir().join(format!("amosync-test-{}.key", std::process::id())),
        )
        .arg("serve")
        .arg("--data")
        .arg(data)
        .arg("--no-tunnel")
        .arg("-v");
    if let Some(listen) = listen {
        command.arg("--listen").arg(listen);
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr))
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {BIN} serve: {e}"))
}

/// Reads serve's stdout until `ready` (bounded); the `webhook_url:` line.
async fn wait_ready(child: &mut Child, log: &Path) -> String {
    let stdout = child.stdout.take().expect("serve stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut url = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = match tokio::time::timeout(left, lines.next_line()).await {
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) | Ok(Err(_)) => panic!(
                "serve exited before `ready` ({:?}); log:\n{}",
                child.try_wait(),
                tail(log)
            ),
            Err(_) => panic!("serve printed no `ready` within 60 s; log:\n{}", tail(log)),
        };
        if let Some(u) = line.strip_prefix("webhook_url: ") {
            url = Some(u.trim().to_owned());
        }
        if line.trim() == "ready" {
            // Keep draining stdout so serve never blocks on a full pipe.
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return url.unwrap_or_else(|| panic!("`ready` without a `webhook_url:` line"));
        }
    }
}

fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// A `message[add]` body as the emulator would render it, for its talk
/// `talk_id`; the emulator itself learns nothing of it.
fn message_body(emu: &Emulator, talk_id: u64, message_id: &str, text: &str) -> String {
    emu.incoming_message_body(talk_id, message_id, text)
        .expect("talk exists")
}

/// One acknowledged webhook of the poster.
#[derive(Debug, Clone)]
struct Acked {
    lead_id: u64,
    message_id: String,
    text: String,
    body: String,
}

async fn control(
    http: &reqwest::Client,
    base: &str,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> Value {
    let response = http
        .request(method.clone(), format!("{base}/_emulator{path}"))
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} /_emulator{path}: {e}"));
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert!(
        status.is_success(),
        "{method} /_emulator{path} → {status}: {text}"
    );
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_serve_loses_no_acknowledged_webhook() {
    let t0 = Instant::now();
    let emu = Emulator::start(EmulatorConfig {
        seed: SEED,
        leads: 200,
        limits: LimitsConfig {
            per_token_per_second: 10_000,
            per_account_per_second: 10_000,
            ..LimitsConfig::default()
        },
        ..EmulatorConfig::default()
    })
    .await
    .expect("the emulator starts");
    let base = emu.base_url().trim_end_matches('/').to_owned();
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("HTTP client");
    // Retries follow quickly, so the emulator's own deliveries also keep
    // hitting the receiver across the restarts.
    control(
        &http,
        &base,
        reqwest::Method::POST,
        "/webhooks/config",
        json!({"retry_delays_ms": [300, 700, 1_500, 3_000]}),
    )
    .await;

    let dir = tempfile::Builder::new()
        .prefix("amosync-kill-serve-")
        .tempdir()
        .expect("temporary folder");
    let data = dir.path().join("data");
    let log: PathBuf = dir.path().join("serve.log");
    let data_arg = data.to_str().expect("UTF-8 path").to_owned();
    let token = emu.token();
    let (code, stdout, stderr) = amosync(&[
        "connect",
        "--data",
        &data_arg,
        "--base-url",
        &base,
        "--token",
        &token,
    ])
    .await;
    assert_eq!(code, 0, "connect failed: {stderr}\n{stdout}");

    // Three talks on three leads for the poster's messages.
    let leads: Vec<u64> = emu
        .world()
        .leads
        .values()
        .filter(|l| !l.is_deleted)
        .map(|l| l.id)
        .take(3)
        .collect();
    let mut talks = Vec::new();
    for (i, lead_id) in leads.iter().enumerate() {
        let origin = ["telegram", "waba", "instagram"][i % 3];
        let talk = control(
            &http,
            &base,
            reqwest::Method::POST,
            "/talks",
            json!({"lead_id": lead_id, "origin": origin}),
        )
        .await;
        talks.push((*lead_id, talk["talk_id"].as_u64().expect("talk id")));
    }

    // First start: any free port; serve saves it for the restarts.
    let mut serve = Serve {
        child: spawn_serve(&data, Some("127.0.0.1:0"), &log),
        webhook_url: None,
    };
    let url = wait_ready(&mut serve.child, &log).await;
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    serve.webhook_url = Some(url.clone());
    eprintln!("[{:>5.1}s] serve ready", t0.elapsed().as_secs_f64());

    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::new(Mutex::new(Vec::new()));
    let url_now = Arc::new(Mutex::new(url.clone()));

    // The office: control API actions, continuously.
    let office = {
        let stop = stop.clone();
        let http = http.clone();
        let base = base.clone();
        let ids: Vec<u64> = emu.world().leads.keys().copied().take(150).collect();
        tokio::spawn(async move {
            let mut rng = Rng(SEED ^ 1);
            let mut n = 0u64;
            let deadline = Instant::now() + Duration::from_secs(240);
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline && n < 20_000 {
                let id = ids[rng.below(ids.len() as u64) as usize];
                let (method, path, body) = match rng.below(3) {
                    0 => (
                        reqwest::Method::PATCH,
                        format!("/leads/{id}"),
                        json!({"price": rng.below(1_000) * 100}),
                    ),
                    1 => (
                        reqwest::Method::PATCH,
                        format!("/leads/{id}"),
                        json!({"name": format!("Сделка {n}")}),
                    ),
                    _ => (
                        reqwest::Method::POST,
                        "/messages".to_owned(),
                        json!({"lead_id": id, "text": format!("Офис {n}")}),
                    ),
                };
                // Deleted or otherwise refused targets are fine: skip them.
                let _ = http
                    .request(method, format!("{base}/_emulator{path}"))
                    .json(&body)
                    .send()
                    .await;
                n += 1;
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
            n
        })
    };

    // The poster: own bodies, straight to the receiver; records the 200s.
    let bodies: Vec<(u64, u64)> = talks.clone();
    let poster = {
        let stop = stop.clone();
        let acked = acked.clone();
        let url_now = url_now.clone();
        let emu_bodies: Vec<(u64, String, String, String)> = (0..4_000u64)
            .map(|n| {
                let (lead_id, talk_id) = bodies[(n % 3) as usize];
                let message_id = format!("4b111000-0000-4000-8000-{n:012x}");
                let text = format!("Клиент пишет №{n}: машина нужна к 9:00");
                let body = message_body(&emu, talk_id, &message_id, &text);
                (lead_id, message_id, text, body)
            })
            .collect();
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(3))
            .pool_max_idle_per_host(0)
            .build()
            .expect("HTTP client");
        tokio::spawn(async move {
            let mut sent = 0usize;
            let mut failed = 0usize;
            let deadline = Instant::now() + Duration::from_secs(240);
            for (lead_id, message_id, text, body) in emu_bodies {
                if stop.load(Ordering::Relaxed) || Instant::now() >= deadline {
                    break;
                }
                let url = url_now.lock().expect("url").clone();
                sent += 1;
                let answer = http
                    .post(&url)
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .header(reqwest::header::USER_AGENT, "amoCRM-WebHook-client/1.0")
                    .body(body.clone())
                    .send()
                    .await;
                match answer {
                    Ok(r) if r.status() == reqwest::StatusCode::OK => {
                        acked.lock().expect("acked").push(Acked {
                            lead_id,
                            message_id,
                            text,
                            body,
                        })
                    }
                    _ => failed += 1,
                }
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
            (sent, failed)
        })
    };

    // Ten SIGKILLs at random moments: mostly while serving, sometimes while
    // it is still starting (catch-up, registration).
    let mut rng = Rng(SEED);
    let mut ready = true;
    for kill in 0..KILLS {
        let while_starting = kill % 4 == 3;
        if !while_starting {
            tokio::time::sleep(Duration::from_millis(400 + rng.below(1_600))).await;
        }
        let before = acked.lock().expect("acked").len();
        serve.child.start_kill().expect("SIGKILL serve");
        let status = tokio::time::timeout(Duration::from_secs(10), serve.child.wait())
            .await
            .expect("serve dies within 10 s of SIGKILL")
            .expect("wait");
        eprintln!(
            "[{:>5.1}s] kill {} ({}): {status}; {} acknowledged so far",
            t0.elapsed().as_secs_f64(),
            kill + 1,
            if while_starting {
                "while starting"
            } else {
                "while serving"
            },
            before
        );
        // Restart on the same data folder; serve reuses the saved port.
        serve.child = spawn_serve(&data, None, &log);
        if kill % 4 == 2 {
            // The next kill hits the start itself: wait a random short while.
            tokio::time::sleep(Duration::from_millis(50 + rng.below(400))).await;
            ready = false;
            continue;
        }
        let url = wait_ready(&mut serve.child, &log).await;
        ready = true;
        assert_eq!(
            Some(&url),
            serve.webhook_url.as_ref(),
            "the receiver URL changed across a restart (port or secret)"
        );
        *url_now.lock().expect("url") = url;
    }
    // The final start must come up (a start may have been the last kill's target).
    if !ready {
        let url = wait_ready(&mut serve.child, &log).await;
        *url_now.lock().expect("url") = url;
    }
    assert!(
        serve.child.try_wait().expect("try_wait").is_none(),
        "the final serve exited; log:\n{}",
        tail(&log)
    );
    tokio::time::sleep(Duration::from_secs(2)).await; // more traffic after the last restart
    stop.store(true, Ordering::Relaxed);
    let office_actions = office.await.expect("office task");
    let (sent, failed) = poster.await.expect("poster task");
    let acked = acked.lock().expect("acked").clone();
    eprintln!(
        "[{:>5.1}s] office actions {office_actions}; poster sent {sent}, acknowledged {}, failed {failed}",
        t0.elapsed().as_secs_f64(),
        acked.len()
    );
    assert!(
        acked.len() >= 50,
        "too few acknowledged webhooks to mean anything: {}",
        acked.len()
    );
    assert!(
        failed > 0,
        "no webhook failed: the kills did not interrupt anything"
    );

    // Let the emulator's deliveries finish and the log drain (bounded).
    emu.hub().wait_idle(Duration::from_secs(30)).await;
    let data_arg = data_arg.as_str();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let pending = query(&["events", "--data", data_arg, "--pending", "--limit", "1000"]).await;
        let n = pending.as_array().map_or(usize::MAX, Vec::len);
        if n == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{n} event log entries still not applied 90 s after the last restart; log:\n{}",
            tail(&log)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Every acknowledged body is in the log, byte for byte, and applied.
    let mut log_bodies: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut after = 0u64;
    for _ in 0..10_000 {
        let page = query(&[
            "events",
            "--data",
            data_arg,
            "--oldest-first",
            "--after",
            &after.to_string(),
            "--limit",
            "1000",
        ])
        .await;
        let page = page.as_array().cloned().unwrap_or_default();
        if page.is_empty() {
            break;
        }
        for entry in page {
            after = after.max(entry["seq"].as_u64().expect("seq"));
            let body = entry["body"].as_str().expect("body").to_owned();
            log_bodies
                .entry(body)
                .or_default()
                .push(entry["outcome"].clone());
        }
    }
    let mut missing = Vec::new();
    let mut unapplied = Vec::new();
    for a in &acked {
        match log_bodies.get(&a.body) {
            None => missing.push(a.message_id.clone()),
            Some(outcomes) => {
                if !outcomes.iter().any(|o| o["kind"] == json!("applied")) {
                    unapplied.push(format!("{}: {outcomes:?}", a.message_id));
                }
            }
        }
    }
    assert!(
        missing.is_empty() && unapplied.is_empty(),
        "{} of {} acknowledged webhooks are not in the event log (first: {:?}); {} not applied (first: {:?})",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(5)],
        unapplied.len(),
        &unapplied[..unapplied.len().min(5)]
    );

    // And their effect is visible: each acknowledged message on its lead.
    let mut by_lead: BTreeMap<u64, Vec<&Acked>> = BTreeMap::new();
    for a in &acked {
        by_lead.entry(a.lead_id).or_default().push(a);
    }
    for (lead_id, want) in by_lead {
        let lead = query(&["lead", &lead_id.to_string(), "--data", data_arg]).await;
        assert_eq!(lead["id"], json!(lead_id), "{lead}");
        assert!(
            lead.get("_sync").is_some(),
            "a lead prints with `_sync`: {lead}"
        );
        let stored: BTreeMap<String, Option<String>> = lead["_local"]["messages"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|m| {
                (
                    m["id"].as_str().unwrap_or_default().to_owned(),
                    m["text"].as_str().map(str::to_owned),
                )
            })
            .collect();
        let lost: BTreeSet<&str> = want
            .iter()
            .filter(|a| stored.get(&a.message_id) != Some(&Some(a.text.clone())))
            .map(|a| a.message_id.as_str())
            .collect();
        assert!(
            lost.is_empty(),
            "lead {lead_id}: {} of {} acknowledged messages not visible (first: {:?})",
            lost.len(),
            want.len(),
            lost.iter().take(5).collect::<Vec<_>>()
        );
    }

    // A clean stop: SIGTERM → exit 0.
    let pid = serve.child.id().expect("serve pid");
    // SAFETY: sending a signal to our own child process by its pid.
    let rc = unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0, "SIGTERM");
    let status = tokio::time::timeout(Duration::from_secs(30), serve.child.wait())
        .await
        .expect("serve stops within 30 s of SIGTERM")
        .expect("wait");
    assert!(status.success(), "serve exited with {status} on SIGTERM");
    eprintln!("[{:>5.1}s] done", t0.elapsed().as_secs_f64());
}
