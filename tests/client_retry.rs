//! Retries against the real emulator: 429 backoff, bounded 5xx retries, timeouts.

use std::time::Duration;

use amo::{ApiError, Client, StaticToken};
use amosync_tests::{Control, StatsExt, base_url, client_with_token, start_emulator, test_config};
use serde_json::json;

#[tokio::test]
async fn forced_429_backs_off_slows_everyone_then_succeeds() {
    let emu = start_emulator(21, 10).await;
    let url = base_url(&emu);
    let control = Control::new(&url);
    // A long slowdown, so the check below cannot race its end.
    let config = amo::ClientConfig {
        slowdown: Duration::from_secs(120),
        ..test_config(&url)
    };
    let client = Client::new(config, StaticToken::new(emu.token().to_string())).expect("client");
    client.account().await.expect("warm up");
    let normal = client.limiter().current_interval();

    emu.state().reset_stats();
    control.force(429, 2).await;
    let account = client.account().await.expect("succeeds after backing off");
    assert!(account.id > 0);
    let stats = emu.state().stats();
    assert_eq!(stats.status_count(429), 2, "{stats:?}");
    assert_eq!(stats.status_count(200), 1, "{stats:?}");
    assert_eq!(
        client.limiter().current_interval(),
        normal * 2,
        "the shared limiter slowed down"
    );
    let clone = client.clone();
    assert_eq!(
        clone.limiter().current_interval(),
        normal * 2,
        "for every clone too"
    );

    emu.shutdown().await;
}

#[tokio::test]
async fn server_errors_are_retried_a_bounded_number_of_times() {
    let emu = start_emulator(22, 10).await;
    let url = base_url(&emu);
    let control = Control::new(&url);
    let client = client_with_token(&url, &emu.token().to_string());
    let retries = client.config().max_retries;
    let normal_interval = client.limiter().current_interval();

    emu.state().reset_stats();
    control
        .api_faults(json!({ "error_rate": 1.0, "error_status": 503 }))
        .await;
    let err = client.account().await.expect_err("always 503");
    assert!(
        client.limiter().current_interval() > normal_interval,
        "a 5xx slows every caller sharing the limiter, not only the one that got it"
    );
    assert!(
        matches!(err, ApiError::Server { status: 503, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(
        emu.state().stats().status_count(503),
        u64::from(retries) + 1,
        "first try + max_retries"
    );

    control.reset_faults().await;
    client.account().await.expect("healthy again");
    emu.shutdown().await;
}

#[tokio::test]
async fn slow_answers_time_out() {
    let emu = start_emulator(23, 10).await;
    let url = base_url(&emu);
    let control = Control::new(&url);
    // A 1 s timeout against 5 s answers: a wide margin either way, even on
    // a loaded machine.
    let config = amo::ClientConfig {
        timeout: Duration::from_secs(1),
        max_retries: 1,
        ..test_config(&url)
    };
    let impatient = Client::new(config, StaticToken::new(emu.token())).expect("client");

    control
        .api_faults(json!({ "slow_rate": 1.0, "slow_ms": 5000 }))
        .await;
    let err = impatient.account().await.expect_err("too slow");
    assert_eq!(err.code(), "Timeout", "{err:?}");
    assert!(err.is_retryable());

    // The healthy call uses a client with the normal timeout: the short one
    // is only for provoking the failure.
    control.reset_faults().await;
    client_with_token(&url, &emu.token())
        .account()
        .await
        .expect("fast again");
    emu.shutdown().await;
}
