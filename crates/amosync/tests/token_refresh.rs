//! The token manager against the real emulator: one refresh however many
//! calls or processes need it (amoCRM refresh tokens are single-use), the
//! reconnect state after a revocation, and the keep-alive of old pairs.
//!
//! Each test runs its body in a child process of this test binary on the
//! encrypted-file vault (see `support/oauth.rs`, `isolate`), since the core
//! picks its vault from the environment.

#[path = "support/oauth.rs"]
mod oauth;

use std::sync::Arc;
use std::time::Duration;

use amo::{ApiError, Client, ClientConfig, TokenProvider};
use amo_emulator::{Emulator, Integration};
use amosync::auth::tokens::KEEP_ALIVE_AFTER_S;
use amosync::auth::{AuthSecrets, AuthState, Secrets, TokenManager};
use amosync::config::DataDir;
use amosync_sync::{Clock, SystemClock};
use oauth::*;

/// The system clock moved by `offset_s` (how the manager sees time pass).
struct ShiftedClock(i64);

impl Clock for ShiftedClock {
    fn now_ms(&self) -> i64 {
        SystemClock.now_ms() + self.0 * 1000
    }
}

/// A folder connected by OAuth through `amosync connect --code`.
async fn connected(emu: &Emulator) -> (Folder, Integration) {
    let integration = emu.register_integration(DEEP_LINK);
    let code = Browser::new().code_for(emu, &integration).await;
    let folder = Folder::new();
    let out = folder
        .connect_with_code(emu, &integration, DEEP_LINK, &code)
        .await
        .json();
    assert_eq!(out["auth"], "oauth", "{out:#}");
    (folder, integration)
}

/// The folder's vault and a manager for its pair, as a process starting up builds them.
async fn manager(
    data: &DataDir,
    base_url: &str,
    clock: Arc<dyn Clock>,
) -> (Secrets, Arc<TokenManager>) {
    let secrets = Secrets::open(data).expect("vault");
    let doc = secrets.load().await.expect("secrets");
    let Some(AuthSecrets::OAuth { app, tokens }) = doc.auth.clone() else {
        panic!("not connected by OAuth: {doc:?}");
    };
    let manager = TokenManager::new(
        secrets.clone(),
        base_url,
        &app,
        tokens,
        doc.reconnect,
        clock,
    )
    .expect("token manager");
    (secrets, Arc::new(manager))
}

/// The access token in the vault now.
async fn stored_access(secrets: &Secrets) -> String {
    match secrets.load().await.expect("secrets").auth {
        Some(AuthSecrets::OAuth { tokens, .. }) => tokens.access_token.expose().clone(),
        other => panic!("not connected by OAuth: {other:?}"),
    }
}

fn client(base_url: &str, manager: &Arc<TokenManager>) -> Client {
    let config = ClientConfig {
        rate_per_second: 1_000.0,
        burst: 100,
        ..ClientConfig::from_url(base_url).expect("config")
    };
    Client::new(config, manager.clone()).expect("client")
}

/// 50 calls at once, each needing a fresh token; all must succeed.
async fn fifty_calls(client: &Client) {
    let calls = (0..50).map(|_| {
        let client = client.clone();
        async move { client.account().await }
    });
    let results = tokio::time::timeout(WAIT, futures::future::join_all(calls))
        .await
        .expect("50 calls within the bound");
    let failed: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
        .collect();
    assert!(failed.is_empty(), "failed calls: {failed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_rejected_calls_refresh_once() {
    const NAME: &str = "fifty_rejected_calls_refresh_once";
    if !isolated_as(NAME) {
        isolate(NAME, NAME, &[]).await;
        return;
    }
    let emu = fast_emulator().await;
    let (folder, _) = connected(&emu).await;
    let (secrets, manager) = manager(
        &DataDir::new(&folder.data),
        &emu.base_url(),
        Arc::new(SystemClock),
    )
    .await;
    let before = stored_access(&secrets).await;
    // The emulator's day passes: it now answers 401 to the access token,
    // which the manager still believes valid.
    advance_clock(&emu, 86_400 + 60).await;

    fifty_calls(&client(&emu.base_url(), &manager)).await;
    let stats = emu.oauth_stats();
    assert_eq!(stats.refreshes, 1, "{stats:?}");
    assert_eq!(stats.refresh_reuse, 0, "{stats:?}");
    assert_eq!(manager.refreshes(), 1);
    let after = stored_access(&secrets).await;
    assert_ne!(after, before, "the new pair was persisted");
    assert!(matches!(manager.state(), AuthState::Connected { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_calls_on_an_expiring_token_refresh_once() {
    const NAME: &str = "fifty_calls_on_an_expiring_token_refresh_once";
    if !isolated_as(NAME) {
        isolate(NAME, NAME, &[]).await;
        return;
    }
    let emu = fast_emulator().await;
    let (folder, _) = connected(&emu).await;
    // The manager's day passes: it refreshes ahead of expiry, before calling.
    let (_, manager) = manager(
        &DataDir::new(&folder.data),
        &emu.base_url(),
        Arc::new(ShiftedClock(86_400)),
    )
    .await;
    fifty_calls(&client(&emu.base_url(), &manager)).await;
    let stats = emu.oauth_stats();
    assert_eq!(stats.refreshes, 1, "{stats:?}");
    assert_eq!(stats.refresh_reuse, 0, "{stats:?}");
    assert_eq!(manager.refreshes(), 1);
}

const DATA_ENV: &str = "AMOSYNC_OAUTH_TEST_DATA";
const BASE_ENV: &str = "AMOSYNC_OAUTH_TEST_BASE";
const START_ENV: &str = "AMOSYNC_OAUTH_TEST_START_MS";

/// Two processes on one data folder refresh the same expired token at the
/// same moment: amoCRM sees one refresh, both end with the same pair.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_refresh_once() {
    const NAME: &str = "two_processes_refresh_once";
    let refresher = format!("{NAME}/refresher");
    match role() {
        Some(r) if r == refresher && isolated_as(&r) => refresh_in_child().await,
        _ => two_processes_parent(NAME, &refresher).await,
    }
}

async fn two_processes_parent(name: &str, refresher: &str) {
    let emu = fast_emulator().await;
    let (folder, _) = connected(&emu).await;
    advance_clock(&emu, 86_400 + 60).await;
    let start = SystemClock.now_ms() + 5_000;
    let env = [
        (DATA_ENV, folder.data_str().to_owned()),
        (BASE_ENV, emu.base_url()),
        (START_ENV, start.to_string()),
    ];
    let (a, b) = tokio::join!(
        isolate_with_key(name, refresher, &folder.key, &env),
        isolate_with_key(name, refresher, &folder.key, &env),
    );
    let field = |out: &str, key: &str| -> String {
        out.lines()
            // The harness may print `test NAME ... ` on the same line first.
            .find_map(|l| l.split_once(&format!("{key}: ")).map(|(_, v)| v))
            .unwrap_or_else(|| panic!("no `{key}:` in\n{out}"))
            .trim()
            .to_owned()
    };
    let stats = emu.oauth_stats();
    assert_eq!(stats.refreshes, 1, "{stats:?}");
    assert_eq!(stats.refresh_reuse, 0, "{stats:?}");
    assert_eq!(
        field(&a, "access_token_fingerprint"),
        field(&b, "access_token_fingerprint"),
        "both processes ended with the same access token"
    );
    let sent: u64 = [&a, &b]
        .iter()
        .map(|o| field(o, "refreshes_sent").parse::<u64>().unwrap())
        .sum();
    assert_eq!(sent, 1, "one process refreshed, the other adopted its pair");
    // The token is the one in the folder, and it works.
    let report = folder.run(&["sync"]).await.json();
    assert!(report.is_object(), "{report:#}");
    assert_eq!(emu.oauth_stats().refreshes, 1);
}

async fn refresh_in_child() {
    let data = DataDir::new(std::env::var(DATA_ENV).expect("data folder"));
    let base = std::env::var(BASE_ENV).expect("base url");
    let start: i64 = std::env::var(START_ENV).unwrap().parse().unwrap();
    let (secrets, manager) = manager(&data, &base, Arc::new(SystemClock)).await;
    let seen = amo::Secret::new(stored_access(&secrets).await);
    let wait = (start - SystemClock.now_ms()).clamp(0, 10_000);
    if wait == 0 {
        eprintln!("started after the agreed moment: the refreshes may not overlap");
    }
    tokio::time::sleep(Duration::from_millis(wait.unsigned_abs())).await;
    let fresh = manager.refresh(&seen).await.expect("refresh");
    assert_ne!(fresh.expose(), seen.expose());
    client(&base, &manager)
        .account()
        .await
        .expect("the new token works");
    println!("access_token_fingerprint: {}", fingerprint(fresh.expose()));
    println!("refreshes_sent: {}", manager.refreshes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_integration_asks_for_a_reconnect_and_keeps_the_store() {
    const NAME: &str = "a_revoked_integration_asks_for_a_reconnect_and_keeps_the_store";
    if !isolated_as(NAME) {
        isolate(NAME, NAME, &[]).await;
        return;
    }
    let emu = emulator().await;
    let (folder, integration) = connected(&emu).await;
    folder.run(&["sync"]).await.json();
    let count = |v: serde_json::Value| v.as_array().map(Vec::len).expect("an array");
    let before = count(folder.run(&["leads", "--limit", "1000"]).await.json());
    assert_eq!(before, live_leads(&emu));

    assert!(emu.revoke_integration(&integration.client_id) > 0);
    let (_, manager) = manager(
        &DataDir::new(&folder.data),
        &emu.base_url(),
        Arc::new(SystemClock),
    )
    .await;
    let err = client(&emu.base_url(), &manager)
        .account()
        .await
        .expect_err("a revoked integration's token is refused");
    assert!(matches!(err, ApiError::AuthRevoked { .. }), "{err:?}");
    let AuthState::Reconnect { reason } = manager.state() else {
        panic!("want the reconnect state, got {:?}", manager.state());
    };
    assert!(reason.contains("Reconnect"), "{reason}");
    // Later calls fail at once, without asking amoCRM again.
    let refreshes = manager.refreshes();
    let again = client(&emu.base_url(), &manager).account().await;
    assert!(
        matches!(again, Err(ApiError::AuthRevoked { .. })),
        "{again:?}"
    );
    assert_eq!(manager.refreshes(), refreshes);

    let status = folder.run(&["status"]).await.json();
    let credentials = &status["credentials"];
    assert_eq!(credentials["reconnect_needed"], true, "{status:#}");
    let shown = credentials["reconnect_reason"].as_str().unwrap_or_default();
    assert!(
        shown.contains("Reconnect") && shown.contains("amosync connect"),
        "{shown}"
    );
    assert_eq!(credentials["auth"], "oauth", "{status:#}");
    // The local data stays readable.
    let after = count(folder.run(&["leads", "--limit", "1000"]).await.json());
    assert_eq!(after, before);
    // A sync says to reconnect rather than retrying forever.
    let line = folder.run(&["sync"]).await.error_line();
    assert!(
        line.to_lowercase().contains("reconnect") || line.contains("amosync connect"),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_refreshes_only_an_old_pair() {
    const NAME: &str = "keep_alive_refreshes_only_an_old_pair";
    if !isolated_as(NAME) {
        isolate(NAME, NAME, &[]).await;
        return;
    }
    let emu = emulator().await;
    let (folder, _) = connected(&emu).await;
    let data = DataDir::new(&folder.data);

    // A fresh pair is left alone.
    let (secrets, fresh) = manager(&data, &emu.base_url(), Arc::new(SystemClock)).await;
    assert!(!fresh.keep_alive().await.expect("keep-alive"));
    assert_eq!(emu.oauth_stats().refreshes, 0);

    // A pair older than KEEP_ALIVE_AFTER_S is refreshed and persisted.
    let aged_at = SystemClock.now_s() - KEEP_ALIVE_AFTER_S - 60;
    secrets
        .update(|doc| {
            match &mut doc.auth {
                Some(AuthSecrets::OAuth { tokens, .. }) => tokens.obtained_at = aged_at,
                _ => panic!("not OAuth"),
            }
            Ok(())
        })
        .await
        .expect("age the pair");
    let before = stored_access(&secrets).await;
    let (_, old) = manager(&data, &emu.base_url(), Arc::new(SystemClock)).await;
    assert!(old.keep_alive().await.expect("keep-alive"));
    assert_eq!(old.refreshes(), 1);
    assert_eq!(emu.oauth_stats().refreshes, 1);
    let doc = secrets.load().await.expect("secrets");
    let Some(AuthSecrets::OAuth { tokens, .. }) = doc.auth else {
        panic!("not OAuth");
    };
    assert_ne!(tokens.access_token.expose(), &before);
    assert!(
        tokens.obtained_at >= SystemClock.now_s() - 60,
        "renewed: {tokens:?}"
    );
    // Once renewed, the next look does nothing.
    assert!(!old.keep_alive().await.expect("keep-alive"));
    assert_eq!(emu.oauth_stats().refreshes, 1);
}
