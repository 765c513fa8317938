//! The core facade against the real emulator over loopback HTTP: the overview's
//! numbers equal the emulator's own data, and failures reach the UI as the
//! codes it branches on.

use std::collections::BTreeMap;

use amo::ApiError;
use amo_emulator::model::{STATUS_LOST, STATUS_WON};
use amosync::demo::{Demo, DemoOptions};
use amosync::{AppError, ErrorCode, Source};

const NOW: i64 = 1_750_000_000;

async fn demo(leads: usize) -> Demo {
    Demo::start(DemoOptions {
        leads,
        now: Some(NOW),
    })
    .await
    .expect("demo starts")
}

#[tokio::test]
async fn overview_totals_equal_the_emulator_data() {
    let demo = demo(400).await;
    let overview = demo.overview().await.expect("overview");

    // Expected totals straight from the emulator's world, live leads only.
    let mut expected: BTreeMap<(u64, u64), (u64, i64)> = BTreeMap::new();
    let (pipelines, account_name) = {
        let world = demo.emulator().world();
        for lead in world.leads.values().filter(|l| !l.is_deleted) {
            let entry = expected
                .entry((lead.pipeline_id, lead.status_id))
                .or_default();
            entry.0 += 1;
            entry.1 += lead.price;
        }
        (world.pipelines.clone(), world.account.name.clone())
    };

    assert_eq!(overview.source, Source::Demo);
    assert_eq!(overview.account_name, account_name);
    assert_eq!(overview.currency, "GEL");
    assert_eq!(overview.pipelines.len(), pipelines.len());
    let main = &overview.pipelines[0];
    assert!(main.is_main, "the main pipeline comes first");
    assert_eq!(main.id, 8_580_102);
    assert_eq!(main.statuses.len(), 21);
    assert_eq!(main.statuses[0].name, "Неразобранное");

    let mut seen_leads = 0;
    for pipeline in &overview.pipelines {
        let ids: Vec<u64> = pipeline.statuses.iter().map(|s| s.id).collect();
        assert!(
            ids.contains(&STATUS_WON) && ids.contains(&STATUS_LOST),
            "142/143 in pipeline {}",
            pipeline.id
        );
        assert!(
            pipeline.statuses.windows(2).all(|w| w[0].sort <= w[1].sort),
            "board order"
        );
        for status in &pipeline.statuses {
            let (leads, price_sum) = expected
                .get(&(pipeline.id, status.id))
                .copied()
                .unwrap_or_default();
            assert_eq!(
                (status.leads, status.price_sum),
                (leads, price_sum),
                "{} / {}",
                pipeline.name,
                status.name
            );
            seen_leads += status.leads;
        }
    }
    let live: u64 = expected.values().map(|(n, _)| n).sum();
    assert_eq!(seen_leads, live, "every live lead is counted once");
    assert!(
        live > 0 && live < 400,
        "some leads are deleted in the sample data, the rest counted"
    );
}

#[tokio::test]
async fn the_same_options_give_the_same_account() {
    let a = demo(150).await.overview().await.expect("overview a");
    let b = demo(150).await.overview().await.expect("overview b");
    assert_eq!(a, b);
}

#[tokio::test]
async fn a_revoked_token_asks_to_reconnect() {
    let demo = demo(20).await;
    assert!(demo.emulator().revoke_token(&demo.emulator().token()));
    let err = demo.overview().await.expect_err("revoked token");
    assert_eq!(err.code, ErrorCode::AuthRevoked);
    assert!(
        err.message.contains("Reconnect amoCRM"),
        "says what to do: {}",
        err.message
    );
}

#[tokio::test]
async fn server_errors_read_as_unreachable() {
    let demo = demo(20).await;
    let force = format!("{}/_emulator/faults/force", demo.emulator().base_url());
    let answer = reqwest::Client::new()
        .post(force)
        .header(amo_emulator::SECRET_HEADER, demo.control_secret())
        .json(&serde_json::json!({"status": 503, "count": 50}))
        .send()
        .await
        .expect("control API");
    assert!(answer.status().is_success());
    let err = demo.overview().await.expect_err("503 every time");
    assert_eq!(err.code, ErrorCode::Unreachable, "{err:?}");
}

#[test]
fn every_api_error_maps_to_the_code_the_ui_branches_on() {
    let d = || "detail".to_string();
    let table = [
        (
            ApiError::Unauthorized { detail: d() },
            ErrorCode::AuthRevoked,
        ),
        (
            ApiError::AuthRevoked { detail: d() },
            ErrorCode::AuthRevoked,
        ),
        (
            ApiError::Forbidden {
                blocked: true,
                detail: d(),
            },
            ErrorCode::AccountBlocked,
        ),
        (
            ApiError::Forbidden {
                blocked: false,
                detail: d(),
            },
            ErrorCode::Forbidden,
        ),
        (
            ApiError::PaymentRequired { detail: d() },
            ErrorCode::PaymentRequired,
        ),
        (
            ApiError::RateLimited { detail: d() },
            ErrorCode::RateLimited,
        ),
        (
            ApiError::Server {
                status: 502,
                detail: d(),
            },
            ErrorCode::Unreachable,
        ),
        (ApiError::Timeout { detail: d() }, ErrorCode::Unreachable),
        (ApiError::Network { detail: d() }, ErrorCode::Unreachable),
        (ApiError::NotFound { detail: d() }, ErrorCode::Api),
        (
            ApiError::Decode {
                detail: d(),
                excerpt: String::new(),
            },
            ErrorCode::Api,
        ),
        (
            ApiError::UnexpectedStatus {
                status: 418,
                detail: d(),
            },
            ErrorCode::Api,
        ),
    ];
    for (api, code) in table {
        let app = AppError::from(api);
        assert_eq!(app.code, code, "{}", app.message);
        assert!(!app.message.is_empty());
    }
}

#[test]
fn errors_serialize_as_code_and_message() {
    let err = AppError::new(ErrorCode::DemoUnavailable, "Перезапустите AmoSync");
    let json = serde_json::to_value(&err).expect("json");
    assert_eq!(
        json,
        serde_json::json!({"code": "DemoUnavailable", "message": "Перезапустите AmoSync"})
    );
}

#[tokio::test]
async fn the_demo_handle_starts_once_and_serves_every_caller() {
    let handle = amosync::demo::DemoHandle::default();
    let (a, b) = tokio::join!(handle.ensure_started(), handle.ensure_started());
    let (a, b) = (a.expect("first caller"), b.expect("second caller"));
    assert_eq!(
        a.emulator().base_url(),
        b.emulator().base_url(),
        "one emulator for both"
    );
    assert_eq!(
        handle.overview().await.expect("overview").source,
        Source::Demo
    );
}
