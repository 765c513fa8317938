//! Rate limits, the account block (HTML 403), forced and random faults, counters.

mod common;

use amo_emulator::limits::LimitsConfig;
use amo_emulator::{EmulatorConfig, faults::ApiFaultConfig};
use common::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn eighth_request_in_a_second_gets_429_then_the_account_is_blocked() {
    let emu = start_with(EmulatorConfig {
        leads: 5,
        now: Some(NOW),
        limits: LimitsConfig {
            block_after_429s: 5,
            block_seconds: 60,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let token = emu.token();
    // A burst of 12 at once: 7 pass, 5 are over the per-token budget of the second.
    let mut burst = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let base = emu.base_url();
        let token = token.clone();
        burst.spawn(async move {
            let resp = client()
                .get(format!("{base}/api/v4/leads/pipelines"))
                .bearer_auth(token)
                .send()
                .await;
            resp.map(|r| r.status().as_u16()).unwrap_or(0)
        });
    }
    let mut statuses = burst.join_all().await;
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        vec![200, 200, 200, 200, 200, 200, 200, 429, 429, 429, 429, 429]
    );
    // Five 429s within the window: the account is blocked, with an HTML 403.
    let blocked = get(&emu, "/api/v4/leads/pipelines", Some(&token)).await;
    assert_eq!(blocked.status, 403);
    assert!(
        blocked
            .content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("text/html")),
        "{:?}",
        blocked.content_type
    );
    assert!(blocked.body.contains("<html"));
    // Blocked for every token, even a fresh one; the control API still answers.
    let other = emu.issue_token(true);
    assert_eq!(get(&emu, "/api/v4/account", Some(&other)).await.status, 403);
    let limits = control(&emu, Method::GET, "/limits", &json!(null)).await;
    assert_eq!(limits["blocked"], true);
    let stats = control(&emu, Method::GET, "/stats", &json!(null)).await;
    assert!(stats["rate_limited"].as_u64().is_some_and(|n| n >= 5));
    assert!(stats["blocked"].as_u64().is_some_and(|n| n >= 2));
    // Lifting the block restores service.
    control(&emu, Method::POST, "/limits/reset", &json!({})).await;
    assert_eq!(get(&emu, "/api/v4/account", Some(&other)).await.status, 200);
    emu.shutdown().await;
}

#[tokio::test]
async fn limits_are_per_token_and_configurable() {
    let emu = start(5).await;
    control(
        &emu,
        Method::POST,
        "/limits",
        &json!({"per_token_per_second": 2, "block_after_429s": 0}),
    )
    .await;
    let a = emu.issue_token(true);
    let b = emu.issue_token(true);
    let s1 = get(&emu, "/api/v4/account", Some(&a)).await.status;
    let s2 = get(&emu, "/api/v4/account", Some(&a)).await.status;
    let s3 = get(&emu, "/api/v4/account", Some(&a)).await.status;
    let other = get(&emu, "/api/v4/account", Some(&b)).await;
    assert_eq!((s1, s2), (200, 200));
    if s3 == 429 {
        assert_eq!(other.status, 200, "another token has its own budget");
    }
    let bad = send_json(
        &emu,
        Method::POST,
        "/_emulator/limits",
        None,
        &json!({"per_token_per_second": "many"}),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("per_token_per_second"));
    emu.shutdown().await;
}

#[tokio::test]
async fn forced_faults_then_normal_service() {
    let emu = start(5).await;
    let t = emu.token();
    control(
        &emu,
        Method::POST,
        "/faults/force",
        &json!({"status": 429, "count": 2}),
    )
    .await;
    assert_eq!(get(&emu, "/api/v4/account", Some(&t)).await.status, 429);
    assert_eq!(get(&emu, "/api/v4/account", Some(&t)).await.status, 429);
    assert_eq!(get(&emu, "/api/v4/account", Some(&t)).await.status, 200);
    control(
        &emu,
        Method::POST,
        "/faults/force",
        &json!({"status": 403, "count": 1}),
    )
    .await;
    let blocked = get(&emu, "/api/v4/account", Some(&t)).await;
    assert_eq!(blocked.status, 403);
    assert!(
        blocked
            .content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("text/html"))
    );
    let bad = send_json(
        &emu,
        Method::POST,
        "/_emulator/faults/force",
        None,
        &json!({"status": 600, "count": 1}),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("status"));
    // The control API is never counted.
    let stats = control(&emu, Method::GET, "/stats", &json!(null)).await;
    assert_eq!(stats["requests"], 4);
    control(&emu, Method::POST, "/stats/reset", &json!({})).await;
    assert_eq!(
        control(&emu, Method::GET, "/stats", &json!(null)).await["requests"],
        0
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn random_errors_and_delays() {
    let emu = start_with(EmulatorConfig {
        leads: 5,
        now: Some(NOW),
        faults: ApiFaultConfig {
            error_rate: 1.0,
            error_status: 503,
            slow_rate: 0.0,
            slow_ms: 0,
        },
        ..Default::default()
    })
    .await;
    let t = emu.token();
    let a = get(&emu, "/api/v4/account", Some(&t)).await;
    assert_eq!(a.status, 503);
    control(
        &emu,
        Method::POST,
        "/faults/api",
        &json!({"error_rate": 0.0, "slow_rate": 1.0, "slow_ms": 150}),
    )
    .await;
    let started = std::time::Instant::now();
    assert_eq!(get(&emu, "/api/v4/account", Some(&t)).await.status, 200);
    assert!(started.elapsed() >= std::time::Duration::from_millis(150));
    let bad = send_json(
        &emu,
        Method::POST,
        "/_emulator/faults/api",
        None,
        &json!({"error_rate": 3}),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("error_rate"));
    control(&emu, Method::POST, "/faults/reset", &json!({})).await;
    let stats = control(&emu, Method::GET, "/stats", &json!(null)).await;
    assert_eq!(stats["faults_injected"], 2);
    emu.shutdown().await;
}

#[tokio::test]
async fn refuses_non_loopback_addresses() {
    let config = EmulatorConfig {
        listen: "0.0.0.0:0".parse().unwrap_or_else(|e| panic!("{e}")),
        leads: 1,
        ..Default::default()
    };
    match amo_emulator::Emulator::start(config).await {
        Err(e) => assert!(e.to_string().contains("loopback")),
        Ok(_) => panic!("bound a non-loopback address"),
    }
}

/// One forced answer: (status, content type, body).
async fn forced(
    emu: &amo_emulator::Emulator,
    token: &str,
    force: serde_json::Value,
) -> (u16, Option<String>, String) {
    control(emu, Method::POST, "/faults/force", &force).await;
    let a = get(emu, "/api/v4/leads/pipelines", Some(token)).await;
    (a.status, a.content_type, a.body)
}

#[tokio::test]
async fn forced_faults_take_any_status() {
    let emu = start(5).await;
    let t = emu.token();
    let problem = Some("application/problem+json".to_string());

    let (status, ct, body) = forced(&emu, &t, json!({"status": 402, "count": 1})).await;
    assert_eq!((status, &ct), (402, &problem), "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    assert_eq!(v["title"], "Payment Required");
    assert_eq!(v["status"], 402);

    let (status, ct, body) = forced(&emu, &t, json!({"status": 401, "count": 1})).await;
    assert_eq!((status, &ct), (401, &problem), "{body}");
    assert!(body.contains("\"hint\""));

    let (status, ct, body) = forced(&emu, &t, json!({"status": 400, "count": 1})).await;
    assert_eq!((status, &ct), (400, &problem), "{body}");
    assert!(body.contains("validation-errors"));

    let (status, ct, body) = forced(&emu, &t, json!({"status": 500, "count": 1})).await;
    assert_eq!((status, &ct), (500, &problem), "{body}");
    let (status, ct, body) = forced(&emu, &t, json!({"status": 502, "count": 1})).await;
    assert_eq!(status, 502);
    assert!(ct.is_some_and(|c| c.starts_with("text/html")) && body.contains("502"));

    let (status, ct, body) = forced(&emu, &t, json!({"status": 204, "count": 1})).await;
    assert_eq!((status, ct, body.as_str()), (204, None, ""));

    // 200 with broken JSON, then 200 with an HTML page.
    let (status, ct, body) = forced(
        &emu,
        &t,
        json!({"status": 200, "count": 1, "body": "{\"_embedded\":"}),
    )
    .await;
    assert_eq!(
        (status, ct.as_deref(), body.as_str()),
        (200, Some("application/hal+json"), "{\"_embedded\":")
    );
    let (status, ct, body) = forced(
        &emu,
        &t,
        json!({"status": 200, "count": 1, "body": "<html>maintenance</html>", "content_type": "text/html; charset=utf-8"}),
    )
    .await;
    assert_eq!(
        (status, ct.as_deref(), body.as_str()),
        (
            200,
            Some("text/html; charset=utf-8"),
            "<html>maintenance</html>"
        )
    );
    // 1xx cannot be a final answer: the server sends 500 and keeps serving.
    let (status, _, _) = forced(&emu, &t, json!({"status": 100, "count": 1})).await;
    assert_eq!(status, 500);
    // A custom body for 418 keeps the problem+json content type.
    let (status, ct, body) = forced(
        &emu,
        &t,
        json!({"status": 418, "count": 1, "body": "{\"detail\":\"teapot\"}"}),
    )
    .await;
    assert_eq!(
        (status, &ct, body.as_str()),
        (418, &problem, "{\"detail\":\"teapot\"}")
    );
    // The run ends: normal service.
    assert_eq!(
        get(&emu, "/api/v4/leads/pipelines", Some(&t)).await.status,
        200
    );

    // The original two still answer exactly as before, and echo {status, count}.
    let echo = control(
        &emu,
        Method::POST,
        "/faults/force",
        &json!({"status": 403, "count": 1}),
    )
    .await;
    assert_eq!(echo, json!({"status": 403, "count": 1}));
    let blocked = get(&emu, "/api/v4/account", Some(&t)).await;
    assert_eq!(blocked.status, 403);
    assert!(blocked.body.contains("<html"));

    for (bad, field) in [
        (json!({"status": 99, "count": 1}), "status"),
        (json!({"status": 204, "count": 1, "body": "x"}), "body"),
        (
            json!({"status": 200, "count": 1, "content_type": "a\nb"}),
            "content_type",
        ),
        (
            json!({"status": 200, "count": 1, "body": "x".repeat(1024 * 1024 + 1)}),
            "body",
        ),
        (json!({"status": 200}), "count"),
    ] {
        let a = send_json(&emu, Method::POST, "/_emulator/faults/force", None, &bad).await;
        assert_eq!(a.status, 400, "{bad}");
        assert!(a.body.contains(field), "{field}: {}", a.body);
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn limits_out_of_range_are_refused_and_a_huge_block_cannot_panic() {
    let emu = start(5).await;
    for (patch, field) in [
        (json!({"block_seconds": u64::MAX}), "block_seconds"),
        (json!({"block_seconds": 86_401}), "block_seconds"),
        (json!({"block_window_ms": 86_400_001}), "block_window_ms"),
        (json!({"block_window_ms": 0}), "block_window_ms"),
        (json!({"per_token_per_second": 0}), "per_token_per_second"),
        (
            json!({"per_account_per_second": 10_001}),
            "per_account_per_second",
        ),
        (json!({"block_after_429s": 1_000_000}), "block_after_429s"),
    ] {
        let a = send_json(&emu, Method::POST, "/_emulator/limits", None, &patch).await;
        assert_eq!(a.status, 400, "{patch}");
        assert!(a.body.contains(field), "{field}: {}", a.body);
    }
    // Nothing was applied.
    let limits = control(&emu, Method::GET, "/limits", &json!(null)).await;
    assert_eq!(limits["config"]["block_seconds"], 60);
    // The longest allowed block: over-limit requests answer, nothing panics.
    control(
        &emu,
        Method::POST,
        "/limits",
        &json!({"per_token_per_second": 1, "block_after_429s": 1, "block_seconds": 86_400}),
    )
    .await;
    let t = emu.token();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(get(&emu, "/api/v4/account", Some(&t)).await.status);
    }
    assert!(
        statuses.contains(&403) || statuses.contains(&429),
        "{statuses:?}"
    );
    let limits = control(&emu, Method::GET, "/limits", &json!(null)).await;
    assert!(
        limits["blocked_for_ms"]
            .as_u64()
            .is_some_and(|ms| ms <= 86_400_000)
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn absurd_start_values_are_clamped() {
    for now in [i64::MIN, -1, 0, i64::MAX] {
        let emu = start_with(EmulatorConfig {
            leads: 3,
            now: Some(now),
            ..Default::default()
        })
        .await;
        let clock = control(&emu, Method::GET, "/clock", &json!(null)).await;
        let anchor = clock["anchor"].as_i64().unwrap_or_default();
        assert!(
            (amo_emulator::seed::MIN_NOW..=amo_emulator::seed::MAX_NOW).contains(&anchor),
            "{now} → {anchor}"
        );
        assert_eq!(
            get(&emu, "/api/v4/account", Some(&emu.token()))
                .await
                .status,
            200
        );
        emu.shutdown().await;
    }
}

#[tokio::test]
async fn the_per_second_limit_is_per_integration() {
    let emu = start(5).await;
    control(
        &emu,
        Method::POST,
        "/limits",
        &json!({"per_token_per_second": 2, "block_after_429s": 0}),
    )
    .await;
    let a = control(&emu, Method::POST, "/tokens", &json!({"admin": true})).await;
    let integration = a["integration_id"].as_u64().unwrap_or_default();
    assert!(integration > 0, "{a}");
    // A second token of the same integration (as an OAuth refresh gives).
    let b = control(
        &emu,
        Method::POST,
        "/tokens",
        &json!({"admin": true, "integration_id": integration}),
    )
    .await;
    assert_eq!(b["integration_id"], integration);
    let c = control(&emu, Method::POST, "/tokens", &json!({"admin": true})).await;
    assert_ne!(c["integration_id"], integration);
    let token = |v: &serde_json::Value| v["token"].as_str().unwrap_or_default().to_string();
    let (a, b, c) = (token(&a), token(&b), token(&c));
    // The window is one wall-clock second: try the sequence until one run fits
    // inside it (bounded), then assert on that run — never skip the assertion.
    let mut timely = None;
    for _ in 0..5 {
        let started = std::time::Instant::now();
        let s1 = get(&emu, "/api/v4/account", Some(&a)).await.status;
        let s2 = get(&emu, "/api/v4/account", Some(&a)).await.status;
        let s3 = get(&emu, "/api/v4/account", Some(&b)).await.status;
        let s4 = get(&emu, "/api/v4/account", Some(&c)).await.status;
        if started.elapsed() < std::time::Duration::from_millis(900) {
            timely = Some((s1, s2, s3, s4));
            break;
        }
        // Let every window empty before the next try.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    }
    assert_eq!(
        timely.expect("no run of 4 loopback requests finished within 900 ms in 5 tries"),
        (200, 200, 429, 200),
        "the new token shares its integration's window; another integration has its own"
    );
    emu.shutdown().await;
}
