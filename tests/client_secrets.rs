//! Tokens, webhook destinations and search text never reach logs, errors or
//! `Debug` output, even at TRACE level and through a refresh and a failure.

use amo::{Client, LeadsQuery, StaticToken, collect_all};
use amosync_tests::{
    LogBuffer, SwitchingToken, base_url, closed_port_url, start_emulator, test_config,
};

#[tokio::test(flavor = "current_thread")]
async fn tokens_never_appear_in_logs_or_errors() {
    let logs = LogBuffer::default();
    let _capture = logs.capture();

    let emu = start_emulator(51, 5).await;
    let url = base_url(&emu);
    let stale = emu.issue_token(true);
    assert!(emu.revoke_token(&stale), "revoked");
    let fresh = emu.issue_token(true);

    // A refresh, then success.
    let tokens = SwitchingToken::new(&stale, &fresh);
    let client = Client::new(test_config(&url), tokens.clone()).expect("client");
    client.account().await.expect("after refresh");
    assert_eq!(tokens.refreshes(), 1);

    // A failure with the revoked token.
    let revoked = Client::new(test_config(&url), StaticToken::new(stale.as_str())).expect("client");
    let err = revoked.account().await.expect_err("revoked");
    let rendered = format!("{err} {err:?} {client:?} {revoked:?}");

    let logs = logs.text();
    assert!(
        logs.contains("amo.request"),
        "request spans are logged: {logs}"
    );
    assert!(logs.contains("refreshing once"), "the refresh is logged");
    for token in [&stale, &fresh] {
        assert!(
            !logs.contains(token.as_str()),
            "a token leaked into the logs"
        );
        assert!(
            !rendered.contains(token.as_str()),
            "a token leaked into an error or Debug"
        );
    }
    emu.shutdown().await;
}

/// reqwest's error `Display` ends with `for url (<full URL>)`; the URL's
/// query carries the webhook destination (whose path is its secret) and
/// search text. None of it may reach an error or a log line.
#[tokio::test(flavor = "current_thread")]
async fn network_errors_never_echo_the_url_query() {
    let logs = LogBuffer::default();
    let _capture = logs.capture();

    const TOKEN: &str = "token-QpV7wYk2ZrT9xLm4";
    const HOOK_SECRET: &str = "hookSecretN8fJ3kq";
    const SEARCH: &str = "needle-search-7731";
    let url = closed_port_url().await;
    let config = amo::ClientConfig {
        max_retries: 1,
        ..test_config(&url)
    };
    let client = Client::new(config, StaticToken::new(TOKEN)).expect("client");

    let destination = format!("https://abc.trycloudflare.com/amo/{HOOK_SECRET}/");
    let hook_err = client
        .webhooks(Some(&destination))
        .await
        .expect_err("nothing listens");
    let search_err = collect_all(client.leads(&LeadsQuery::new().search(SEARCH)))
        .await
        .expect_err("nothing listens");
    // An invalid destination is refused without echoing it either.
    let invalid_err = client
        .register_webhook(&format!("ftp://host/{HOOK_SECRET}/"), &["add_lead"], None)
        .await
        .expect_err("not http(s)");

    for err in [&hook_err, &search_err] {
        assert_eq!(err.code(), "Network", "{err:?}");
    }
    assert_eq!(invalid_err.code(), "InvalidRequest");
    let rendered = format!(
        "{hook_err} {hook_err:?} {search_err} {search_err:?} {invalid_err} {invalid_err:?}"
    );
    let logs = logs.text();
    assert!(
        logs.contains("amoCRM request failed"),
        "the failures are logged: {logs}"
    );
    for secret in [TOKEN, HOOK_SECRET, SEARCH, "trycloudflare"] {
        assert!(
            !rendered.contains(secret),
            "{secret} leaked into an error: {rendered}"
        );
        assert!(
            !logs.contains(secret),
            "{secret} leaked into the logs: {logs}"
        );
    }
}
