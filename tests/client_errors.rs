//! Every error kind from the real emulator: 400, 401, 402, 403 (rights and
//! block, shared by every caller), 404/204, undecodable 200s, unexpected
//! statuses and redirects, and network failures.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use amo::{ApiError, Client, LeadsQuery, StaticToken, collect_all};
use amosync_tests::{
    Control, FakeServer, LogBuffer, StatsExt, base_url, client_with_token, closed_port_url,
    start_emulator, test_config,
};
use tokio::sync::Barrier;

#[tokio::test]
async fn missing_and_revoked_tokens_are_auth_errors() {
    let emu = start_emulator(11, 10).await;
    let url = base_url(&emu);

    // No usable token at all.
    let err = client_with_token(&url, "")
        .account()
        .await
        .expect_err("empty token");
    assert!(err.needs_reconnect(), "{err:?}");
    assert_eq!(
        err.code(),
        "AuthRevoked",
        "a long-lived token cannot be refreshed"
    );
    assert!(err.to_string().contains("Reconnect amoCRM in Settings"));

    // A revoked token.
    let token = emu.issue_token(true);
    let client = client_with_token(&url, &token);
    client.account().await.expect("works before revocation");
    assert!(emu.revoke_token(&token), "revoked");
    let err = client.account().await.expect_err("revoked");
    assert_eq!(err.code(), "AuthRevoked");
    assert!(
        !format!("{err:?} {err}").contains(&token),
        "the token never appears in errors"
    );

    emu.shutdown().await;
}

#[tokio::test]
async fn non_admin_gets_forbidden_without_retry() {
    let emu = start_emulator(12, 10).await;
    let url = base_url(&emu);
    let token = emu.issue_token(false);
    let client = client_with_token(&url, &token);
    client
        .account()
        .await
        .expect("a non-admin can read the account");

    emu.state().reset_stats();
    let err = client.users().await.expect_err("users need admin");
    assert!(
        matches!(err, ApiError::Forbidden { blocked: false, .. }),
        "{err:?}"
    );
    assert_eq!(err.code(), "Forbidden");
    assert!(!err.is_retryable());
    let stats = emu.state().stats();
    assert_eq!(
        stats.status_count(403),
        1,
        "403 is never retried: {stats:?}"
    );

    emu.shutdown().await;
}

#[tokio::test]
async fn html_block_is_account_blocked_and_not_retried() {
    let emu = start_emulator(13, 10).await;
    let url = base_url(&emu);
    let control = Control::new(&url);
    let client = client_with_token(&url, &emu.token().to_string());
    client.account().await.expect("works before the block");

    emu.state().reset_stats();
    control.force(403, 3).await;
    let err = client.account().await.expect_err("blocked");
    assert!(
        matches!(err, ApiError::Forbidden { blocked: true, .. }),
        "{err:?}"
    );
    assert_eq!(err.code(), "AccountBlocked");
    assert!(err.to_string().contains("wait and retry later"));
    assert_eq!(
        emu.state().stats().status_count(403),
        1,
        "one request, no retry loop"
    );

    emu.shutdown().await;
}

#[tokio::test]
async fn unknown_entities_are_none_and_empty_lists_are_empty() {
    let emu = start_emulator(14, 10).await;
    let client: Client = client_with_token(&base_url(&emu), &emu.token().to_string());
    assert!(
        client
            .lead(987_654_321, &[])
            .await
            .expect("204/404 is not an error")
            .is_none()
    );
    assert!(
        client
            .contact(987_654_321, &[])
            .await
            .expect("204/404 is not an error")
            .is_none()
    );
    assert!(
        client
            .talk(987_654_321)
            .await
            .expect("204/404 is not an error")
            .is_none()
    );
    let none = collect_all(client.leads(&LeadsQuery::new().ids([987_654_321])))
        .await
        .expect("204 → empty");
    assert!(none.is_empty());
    // An updated_at window in the far future: an empty list (204).
    let future = collect_all(client.leads(&LeadsQuery::new().updated_from(4_000_000_000)))
        .await
        .expect("empty");
    assert!(future.is_empty());
    emu.shutdown().await;
}

/// A client on the emulator whose next API answer is forced; returns the
/// error of `account()` and how many answers of `status` the emulator gave.
async fn forced_account_error(
    seed: u64,
    status: u16,
    body: Option<&str>,
    content_type: Option<&str>,
) -> (ApiError, u64) {
    let emu = start_emulator(seed, 5).await;
    let url = base_url(&emu);
    let client = client_with_token(&url, &emu.token());
    client.account().await.expect("works before the fault");
    emu.state().reset_stats();
    Control::new(&url)
        .force_with(status, 1, body, content_type)
        .await;
    let err = client.account().await.expect_err("forced fault");
    let count = emu.state().stats().status_count(status);
    // The fault was used up by this one call: the next one succeeds.
    client.account().await.expect("healthy after the fault");
    emu.shutdown().await;
    (err, count)
}

#[tokio::test]
async fn payment_required_is_reported_once() {
    let (err, count) = forced_account_error(15, 402, None, None).await;
    assert!(matches!(err, ApiError::PaymentRequired { .. }), "{err:?}");
    assert_eq!(err.code(), "PaymentRequired");
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("Renew the subscription"), "{err}");
    assert_eq!(count, 1, "402 is not retried");
}

#[tokio::test]
async fn bad_request_keeps_the_problem_detail() {
    let (err, count) = forced_account_error(16, 400, None, None).await;
    assert_eq!(err.code(), "BadRequest", "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(count, 1, "400 is not retried");
    let ApiError::BadRequest {
        status,
        detail,
        problem,
    } = err
    else {
        unreachable!()
    };
    assert_eq!(status, 400);
    assert!(detail.contains("Request validation failed"), "{detail}");
    let problem = problem.expect("the problem+json body is kept");
    assert_eq!(problem.status, Some(400));
    assert!(
        problem.validation_errors.is_some(),
        "validation-errors kept: {problem:?}"
    );
    assert!(detail.contains("InvalidValue"), "{detail}");
}

#[tokio::test]
async fn broken_json_in_a_200_is_a_decode_error() {
    let (err, count) = forced_account_error(17, 200, Some(r#"{"id": 5, "name": "#), None).await;
    assert!(matches!(err, ApiError::Decode { .. }), "{err:?}");
    assert!(!err.is_retryable());
    // One forced 200, no retry (the healthy call after it is the second).
    assert_eq!(count, 1);
    let ApiError::Decode { excerpt, .. } = err else {
        unreachable!()
    };
    assert!(excerpt.starts_with(r#"{"id": 5"#), "{excerpt}");
}

#[tokio::test]
async fn an_html_page_with_200_is_a_decode_error() {
    let page =
        "<!DOCTYPE html><html><head><title>Maintenance</title></head><body>back soon</body></html>";
    let (err, count) =
        forced_account_error(18, 200, Some(page), Some("text/html; charset=UTF-8")).await;
    assert_eq!(count, 1);
    let ApiError::Decode { detail, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(detail.contains("HTML"), "{detail}");
}

#[tokio::test]
async fn unusual_statuses_are_unexpected() {
    let (err, count) = forced_account_error(19, 418, None, None).await;
    assert!(
        matches!(err, ApiError::UnexpectedStatus { status: 418, .. }),
        "{err:?}"
    );
    assert_eq!(err.code(), "UnexpectedStatus");
    assert!(!err.is_retryable());
    assert_eq!(count, 1);
}

#[tokio::test]
async fn a_forced_204_is_an_empty_list_not_an_error() {
    let emu = start_emulator(20, 30).await;
    let url = base_url(&emu);
    let client = client_with_token(&url, &emu.token());
    Control::new(&url).force(204, 1).await;
    let leads = collect_all(client.leads(&LeadsQuery::new()))
        .await
        .expect("204 is an empty result");
    assert!(leads.is_empty());
    assert!(
        !collect_all(client.leads(&LeadsQuery::new()))
            .await
            .expect("then the real list")
            .is_empty()
    );
    emu.shutdown().await;
}

/// A closed port: `Network`, retried exactly `max_retries` times (counted
/// from the client's own log lines, not from timing).
#[tokio::test(flavor = "current_thread")]
async fn network_failures_are_retried_a_bounded_number_of_times() {
    let logs = LogBuffer::default();
    let _capture = logs.capture();
    let url = closed_port_url().await;
    let client = client_with_token(&url, "token-for-a-closed-port");
    let retries = client.config().max_retries;
    assert!(retries >= 2, "the test needs retries to count");

    let err = client.account().await.expect_err("nothing listens");
    assert!(matches!(err, ApiError::Network { .. }), "{err:?}");
    assert_eq!(err.code(), "Network");
    assert!(err.is_retryable());

    let logs = logs.text();
    let backoffs = logs.matches("retrying after backoff").count();
    let failures: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("amoCRM request failed"))
        .collect();
    assert_eq!(backoffs, retries as usize, "{logs}");
    assert_eq!(failures.len(), 1, "{logs}");
    assert!(
        failures[0].contains(&format!("attempt={}", retries + 1)),
        "first try + max_retries: {logs}"
    );
}

/// A server that accepts and drops every connection: each attempt is one
/// accepted connection, so the count is exact.
#[tokio::test]
async fn dropped_connections_are_network_errors_counted_by_accept() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    let server = tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    let client = client_with_token(&url, "token-for-a-rude-server");
    let retries = client.config().max_retries;
    let err = client.account().await.expect_err("no answer");
    assert_eq!(err.code(), "Network", "{err:?}");
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        retries as usize + 1,
        "first try + max_retries"
    );
    server.abort();
}

/// One HTML 403 blocks the account for every caller sharing the limiter:
/// of 20 concurrent callers exactly one request reaches amoCRM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_block_is_shared_by_every_caller() {
    const CALLERS: usize = 20;
    let emu = start_emulator(24, 5).await;
    let url = base_url(&emu);
    // One request per 10 s: the first caller goes at once, the second would
    // wait 10 s for its slot; the block (recorded when the first answer
    // arrives) fails it and everyone behind it long before.
    let config = amo::ClientConfig {
        rate_per_second: 0.1,
        ..test_config(&url)
    };
    let client = Client::new(config, StaticToken::new(emu.token())).expect("client");
    emu.state().reset_stats();
    Control::new(&url).force(403, 1).await;

    let start = Arc::new(Barrier::new(CALLERS));
    let mut tasks = Vec::new();
    for _ in 0..CALLERS {
        let client = client.clone();
        let start = start.clone();
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            client.account().await
        }));
    }
    for task in tasks {
        let err = task
            .await
            .expect("caller task")
            .expect_err("every caller is blocked");
        assert_eq!(err.code(), "AccountBlocked", "{err:?}");
        assert!(!err.is_retryable());
    }
    let stats = emu.state().stats();
    assert_eq!(stats.status_count(403), 1, "one 403 in all: {stats:?}");
    assert_eq!(stats.requests, 1, "nothing else was sent: {stats:?}");

    // A clone made later fails fast too, without sending.
    let remaining = client.limiter().blocked_for().expect("block recorded");
    assert!(remaining <= Duration::from_secs(60));
    let err = client.clone().account().await.expect_err("still blocked");
    assert_eq!(err.code(), "AccountBlocked");
    assert_eq!(emu.state().stats().requests, 1);
    emu.shutdown().await;
}

/// Redirects are never followed: a 302 on a POST would become a GET to
/// wherever `Location` points. The error names at most the target host.
#[tokio::test]
async fn redirects_are_errors_and_never_followed() {
    let followed = Arc::new(AtomicUsize::new(0));
    let hits = followed.clone();
    let app = axum::Router::new()
        .route(
            "/api/v4/webhooks",
            axum::routing::any(|| async {
                (
                    axum::http::StatusCode::FOUND,
                    [(
                        axum::http::header::LOCATION,
                        // Same server: were it followed, the counter would see it.
                        "/landing/redirectSecret42?q=1",
                    )],
                )
            }),
        )
        .route(
            "/landing/{*rest}",
            axum::routing::any(move || {
                let hits = hits.clone();
                async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    "followed"
                }
            }),
        );
    let server = FakeServer::start(app).await;
    let client = client_with_token(&server.base_url, "token-for-redirects");
    let err = client
        .register_webhook("https://hooks.example/amo/x/", &["add_lead"], None)
        .await
        .expect_err("302");
    assert!(
        matches!(err, ApiError::UnexpectedStatus { status: 302, .. }),
        "{err:?}"
    );
    let text = format!("{err} {err:?}");
    assert!(text.contains("redirect"), "{text}");
    assert!(!text.contains("redirectSecret42"), "{text}");
    assert_eq!(followed.load(Ordering::SeqCst), 0);
}

/// Only amoCRM's own "no such entity" (204, problem+json 404) is `None`; a
/// 404 page from a wrong host or path is an error.
#[tokio::test]
async fn only_a_problem_json_404_means_no_such_entity() {
    let app = axum::Router::new()
        .route(
            "/api/v4/leads/{id}",
            axum::routing::get(|| async {
                (
                    axum::http::StatusCode::NOT_FOUND,
                    [(axum::http::header::CONTENT_TYPE, "application/problem+json")],
                    r#"{"title":"Not Found","type":"https://httpstatus.es/404","status":404,"detail":"Lead not found"}"#,
                )
            }),
        )
        .route(
            "/api/v4/contacts/{id}",
            axum::routing::get(|| async {
                (
                    axum::http::StatusCode::NOT_FOUND,
                    [(axum::http::header::CONTENT_TYPE, "text/html")],
                    "<html><head><title>404 Not Found</title></head><body>nginx</body></html>",
                )
            }),
        );
    let server = FakeServer::start(app).await;
    let client = client_with_token(&server.base_url, "token-for-404s");
    assert!(
        client
            .lead(5, &[])
            .await
            .expect("problem+json 404 is absent")
            .is_none()
    );
    let err = client.contact(5, &[]).await.expect_err("an HTML 404 page");
    assert!(matches!(err, ApiError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("404 Not Found"), "{err}");
    // A list never treats 404 as empty.
    let err = collect_all(client.leads(&LeadsQuery::new()))
        .await
        .expect_err("no list route");
    assert_eq!(err.code(), "NotFound");
}
