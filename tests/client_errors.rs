//! Every error kind from the real emulator: 401, 403 (rights and block), 404/204.

use amo::{ApiError, Client, LeadsQuery, collect_all};
use amosync_tests::{Control, base_url, client_with_token, start_emulator};

#[tokio::test]
async fn missing_and_revoked_tokens_are_auth_errors() {
    let emu = start_emulator(11, 10).await;
    let url = base_url(&emu);
    let control = Control::new(&url);

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
    let token = control.issue_token(true).await;
    let client = client_with_token(&url, &token);
    client.account().await.expect("works before revocation");
    control.revoke(&token).await;
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
    let control = Control::new(&url);
    let token = control.issue_token(false).await;
    let client = client_with_token(&url, &token);
    client
        .account()
        .await
        .expect("a non-admin can read the account");

    control.reset_stats().await;
    let err = client.users().await.expect_err("users need admin");
    assert!(
        matches!(err, ApiError::Forbidden { blocked: false, .. }),
        "{err:?}"
    );
    assert_eq!(err.code(), "Forbidden");
    assert!(!err.is_retryable());
    let stats = control.stats().await;
    assert_eq!(
        stats.status_count(403),
        1,
        "403 is never retried: {:?}",
        stats.0
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

    control.reset_stats().await;
    control.force(403, 3).await;
    let err = client.account().await.expect_err("blocked");
    assert!(
        matches!(err, ApiError::Forbidden { blocked: true, .. }),
        "{err:?}"
    );
    assert_eq!(err.code(), "AccountBlocked");
    assert!(err.to_string().contains("wait and retry later"));
    assert_eq!(
        control.stats().await.status_count(403),
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
