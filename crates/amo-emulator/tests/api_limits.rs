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
        &json!({"status": 418, "count": 1}),
    )
    .await;
    assert_eq!(bad.status, 400);
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
