//! The token manager against the real emulator: one refresh however many
//! calls or processes need it (amoCRM refresh tokens are single-use), the
//! reconnect state after a revocation, the keep-alive of old pairs, and a
//! refreshed pair whose save fails (retried, kept, never lost — not even to
//! another manager's reconnect mark made with the spent pair).
//!
//! Each test runs its body in a child process of this test binary on the
//! encrypted-file vault (see `support/oauth.rs`, `isolate`), since the core
//! picks its vault from the environment.

#[path = "support/oauth.rs"]
mod oauth;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use amo::{ApiError, Client, ClientConfig, TokenProvider};
use amo_emulator::{Emulator, Integration};
use amosync::auth::tokens::KEEP_ALIVE_AFTER_S;
use amosync::auth::{AuthSecrets, AuthState, Secrets, TokenManager};
use amosync::config::DataDir;
use amosync::vault::{EncryptedFileVault, SecretVault, VaultLocation};
use amosync::{AppError, ErrorCode};
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
    manager_on(Secrets::open(data).expect("vault"), base_url, clock).await
}

/// A manager for the pair in `secrets`.
async fn manager_on(
    secrets: Secrets,
    base_url: &str,
    clock: Arc<dyn Clock>,
) -> (Secrets, Arc<TokenManager>) {
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

/// The folder's encrypted-file vault whose next `fail_next` saves fail
/// (`u32::MAX`: until [`FlakyVault::heal`]); loads always work.
#[derive(Debug)]
struct FlakyVault {
    inner: EncryptedFileVault,
    fail_next: AtomicU32,
    failed: AtomicU32,
}

impl FlakyVault {
    fn new(folder: &Folder, fail_next: u32) -> Arc<FlakyVault> {
        Arc::new(FlakyVault {
            inner: EncryptedFileVault::for_data(&DataDir::new(&folder.data), &folder.key),
            fail_next: AtomicU32::new(fail_next),
            failed: AtomicU32::new(0),
        })
    }

    fn heal(&self) {
        self.fail_next.store(0, Ordering::SeqCst);
    }

    fn failed(&self) -> u32 {
        self.failed.load(Ordering::SeqCst)
    }
}

impl SecretVault for FlakyVault {
    fn load(&self) -> Result<Option<amo::Secret>, AppError> {
        self.inner.load()
    }

    fn save(&self, document: &amo::Secret) -> Result<(), AppError> {
        let left = self.fail_next.load(Ordering::SeqCst);
        if left > 0 {
            if left != u32::MAX {
                self.fail_next.store(left - 1, Ordering::SeqCst);
            }
            self.failed.fetch_add(1, Ordering::SeqCst);
            return Err(AppError::new(ErrorCode::Local, "disk full (test vault)"));
        }
        self.inner.save(document)
    }

    fn delete(&self) -> Result<(), AppError> {
        self.inner.delete()
    }

    fn location(&self) -> VaultLocation {
        self.inner.location()
    }
}

/// The reconnect mark in the vault now.
async fn stored_mark(secrets: &Secrets) -> Option<String> {
    secrets.load().await.expect("secrets").reconnect
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refreshed_pair_is_saved_by_the_retries_when_the_vault_fails_twice() {
    const NAME: &str = "a_refreshed_pair_is_saved_by_the_retries_when_the_vault_fails_twice";
    if !isolated_as(NAME) {
        isolate(NAME, NAME, &[]).await;
        return;
    }
    let emu = fast_emulator().await;
    let (folder, _) = connected(&emu).await;
    let data = DataDir::new(&folder.data);
    let flaky = FlakyVault::new(&folder, 2);
    let on_flaky = Secrets::with_vault(&data, flaky.clone());
    let (_, kept) = manager_on(on_flaky, &emu.base_url(), Arc::new(SystemClock)).await;
    let plain = Secrets::open(&data).expect("vault");
    let before = stored_access(&plain).await;
    advance_clock(&emu, 86_400 + 60).await;

    fifty_calls(&client(&emu.base_url(), &kept)).await;
    assert_eq!(flaky.failed(), 2, "two saves failed");
    assert!(!kept.has_unsaved_pair(), "the third attempt saved it");
    let after = stored_access(&plain).await;
    assert_ne!(after, before, "the new pair is in the vault");
    // A process starting now runs on the saved pair without refreshing.
    let (_, next) = manager(&data, &emu.base_url(), Arc::new(SystemClock)).await;
    client(&emu.base_url(), &next)
        .account()
        .await
        .expect("the saved pair works");
    let stats = emu.oauth_stats();
    assert_eq!((stats.refreshes, stats.refresh_reuse), (1, 0), "{stats:?}");
    assert_eq!(next.refreshes(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pair_the_vault_refuses_is_used_and_saved_before_the_next_refresh() {
    const NAME: &str = "a_pair_the_vault_refuses_is_used_and_saved_before_the_next_refresh";
    if !isolated_as(NAME) {
        isolate(NAME, NAME, &[]).await;
        return;
    }
    let emu = fast_emulator().await;
    let (folder, _) = connected(&emu).await;
    let data = DataDir::new(&folder.data);
    let flaky = FlakyVault::new(&folder, u32::MAX);
    let on_flaky = Secrets::with_vault(&data, flaky.clone());
    let (_, kept) = manager_on(on_flaky, &emu.base_url(), Arc::new(SystemClock)).await;
    let plain = Secrets::open(&data).expect("vault");
    let spent = stored_access(&plain).await;
    advance_clock(&emu, 86_400 + 60).await;

    // Every save fails: the calls still run, on the pair kept in memory.
    let api = client(&emu.base_url(), &kept);
    fifty_calls(&api).await;
    assert_eq!(flaky.failed(), 4, "one save and three bounded retries");
    assert!(kept.has_unsaved_pair());
    assert_eq!(
        stored_access(&plain).await,
        spent,
        "the vault still holds the spent pair"
    );
    assert!(matches!(kept.state(), AuthState::Connected { .. }));

    // The vault works again; the next refresh saves the kept pair first
    // and refreshes from it (not from the vault's spent one).
    flaky.heal();
    advance_clock(&emu, 86_400 + 60).await;
    api.account().await.expect("the next refresh works");
    let stats = emu.oauth_stats();
    assert_eq!((stats.refreshes, stats.refresh_reuse), (2, 0), "{stats:?}");
    assert!(!kept.has_unsaved_pair());
    let (_, next) = manager(&data, &emu.base_url(), Arc::new(SystemClock)).await;
    client(&emu.base_url(), &next)
        .account()
        .await
        .expect("the vault's pair is the live one");
    assert_eq!(emu.oauth_stats().refreshes, 2);
}

/// Manager A refreshed but could not save; manager B on the same folder,
/// still on the spent pair, is refused and marks the folder "reconnect".
/// A's pair is live: A keeps working, saves its pair over the mark, and B
/// adopts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_pair_in_memory_outlives_a_reconnect_mark_made_with_the_spent_one() {
    const NAME: &str = "a_newer_pair_in_memory_outlives_a_reconnect_mark_made_with_the_spent_one";
    if !isolated_as(NAME) {
        isolate(NAME, NAME, &[]).await;
        return;
    }
    let emu = fast_emulator().await;
    let (folder, _) = connected(&emu).await;
    let data = DataDir::new(&folder.data);
    let flaky = FlakyVault::new(&folder, u32::MAX);
    let on_flaky = Secrets::with_vault(&data, flaky.clone());
    let (_, a) = manager_on(on_flaky, &emu.base_url(), Arc::new(SystemClock)).await;
    let (plain, b) = manager(&data, &emu.base_url(), Arc::new(SystemClock)).await;
    advance_clock(&emu, 86_400 + 60).await;

    let api_a = client(&emu.base_url(), &a);
    let api_b = client(&emu.base_url(), &b);
    api_a.account().await.expect("A refreshes; its save fails");
    assert!(a.has_unsaved_pair());
    let refused = api_b.account().await.expect_err("B's pair is spent");
    assert!(
        matches!(refused, ApiError::AuthRevoked { .. }),
        "{refused:?}"
    );
    assert!(matches!(b.state(), AuthState::Reconnect { .. }));
    assert!(stored_mark(&plain).await.is_some(), "B marked the folder");
    let stats = emu.oauth_stats();
    assert_eq!((stats.refreshes, stats.refresh_reuse), (1, 1), "{stats:?}");

    // A does not obey the mark: its calls go on, and once the vault works
    // its next refresh saves its pair, clears the mark and goes on from it.
    api_a.account().await.expect("A's pair works");
    flaky.heal();
    advance_clock(&emu, 86_400 + 60).await;
    api_a
        .account()
        .await
        .expect("A refreshes from its own pair");
    assert!(
        matches!(a.state(), AuthState::Connected { .. }),
        "{:?}",
        a.state()
    );
    assert!(!a.has_unsaved_pair());
    assert_eq!(stored_mark(&plain).await, None, "the stale mark is gone");
    let stats = emu.oauth_stats();
    assert_eq!((stats.refreshes, stats.refresh_reuse), (2, 1), "{stats:?}");

    // B sees the folder connected again and runs on A's pair.
    api_b.account().await.expect("B adopts A's pair");
    assert!(matches!(b.state(), AuthState::Connected { .. }));
    assert_eq!(b.refreshes(), 1, "B sent no second refresh");
    let status = folder.run(&["status"]).await.json();
    assert_eq!(
        status["credentials"]["reconnect_needed"], false,
        "{status:#}"
    );
}

/// The hourly keep-alive saves a kept pair even when nothing refreshes,
/// clearing a mark another manager made with the spent pair meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keep_alive_saves_a_kept_pair_and_clears_a_stale_mark() {
    const NAME: &str = "the_keep_alive_saves_a_kept_pair_and_clears_a_stale_mark";
    if !isolated_as(NAME) {
        isolate(NAME, NAME, &[]).await;
        return;
    }
    let emu = fast_emulator().await;
    let (folder, _) = connected(&emu).await;
    let data = DataDir::new(&folder.data);
    let flaky = FlakyVault::new(&folder, u32::MAX);
    let on_flaky = Secrets::with_vault(&data, flaky.clone());
    let (_, a) = manager_on(on_flaky, &emu.base_url(), Arc::new(SystemClock)).await;
    let (plain, b) = manager(&data, &emu.base_url(), Arc::new(SystemClock)).await;
    advance_clock(&emu, 86_400 + 60).await;
    let api_a = client(&emu.base_url(), &a);
    api_a.account().await.expect("A refreshes; its save fails");
    let api_b = client(&emu.base_url(), &b);
    api_b.account().await.expect_err("B's pair is spent");
    assert!(stored_mark(&plain).await.is_some());

    flaky.heal();
    assert!(
        !a.keep_alive().await.expect("keep-alive"),
        "the pair is young"
    );
    assert!(!a.has_unsaved_pair());
    assert_eq!(stored_mark(&plain).await, None);
    api_b.account().await.expect("B adopts A's pair");
    api_a.account().await.expect("A goes on");
    let stats = emu.oauth_stats();
    assert_eq!((stats.refreshes, stats.refresh_reuse), (1, 1), "{stats:?}");
}
