//! The webhook keeper against the emulator over real HTTP on 127.0.0.1:
//! registration and read-back, URL changes, a hook amoCRM disabled, the
//! errors a person must act on, and `remove_webhooks`.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use amosync_sync::keeper::LIMIT_MESSAGE;
use amosync_sync::{
    Clock, Engine, Keeper, KeeperConfig, KeeperHandle, KeeperStatus, SystemClock, WebhookSecret,
    WebhookState, remove_webhooks,
};
use serde_json::json;
use support::{ALL_SETTINGS, Harness, WAIT, client_for, eventually};
use tokio::sync::watch;

/// A keeper under test plus what it was given.
struct Rig {
    keeper: KeeperHandle,
    url: watch::Sender<Option<String>>,
    recovered: Arc<AtomicU32>,
    secret: WebhookSecret,
    /// A clone of the keeper's client (clones share the usage counters).
    client: amo::Client,
}

impl Rig {
    fn start(
        client: amo::Client,
        config: KeeperConfig,
        secret: WebhookSecret,
        base: Option<String>,
    ) -> Rig {
        let (url, url_rx) = watch::channel(base);
        let recovered = Arc::new(AtomicU32::new(0));
        let counter = recovered.clone();
        let keeper = Keeper::start(
            client.clone(),
            Arc::new(SystemClock),
            config,
            url_rx,
            Arc::new(move || {
                counter.fetch_add(1, Ordering::SeqCst);
            }),
        );
        Rig {
            keeper,
            url,
            recovered,
            secret,
            client,
        }
    }

    fn recovered(&self) -> u32 {
        self.recovered.load(Ordering::SeqCst)
    }

    fn destination(&self, base: &str) -> String {
        format!("{base}/amocrm/{}/", self.secret.expose())
    }

    /// Waits (bounded) until the status satisfies `f`.
    async fn wait(&self, what: &str, f: impl Fn(&KeeperStatus) -> bool) -> KeeperStatus {
        let mut rx = self.keeper.subscribe();
        match tokio::time::timeout(WAIT, rx.wait_for(|s| f(s))).await {
            Ok(Ok(s)) => s.clone(),
            _ => panic!("timed out waiting for {what}: {:?}", self.keeper.status()),
        }
    }

    async fn check_now(&self) -> KeeperStatus {
        tokio::time::timeout(WAIT, self.keeper.check_now())
            .await
            .expect("check_now within the bound")
    }

    /// Asserts the secret appears nowhere in the status (JSON and Debug).
    fn assert_no_secret(&self, status: &KeeperStatus) {
        let text = format!(
            "{} {status:?}",
            serde_json::to_string(status).expect("json")
        );
        assert!(
            !text.contains(self.secret.expose()),
            "secret leaked: {text}"
        );
    }
}

/// A config for tests: only explicit triggers run checks.
fn config(secret: &WebhookSecret) -> KeeperConfig {
    KeeperConfig {
        check_every: Duration::from_secs(3600),
        ..KeeperConfig::new(secret)
    }
}

fn registered(s: &KeeperStatus) -> bool {
    matches!(s.state, WebhookState::Registered { .. })
}

/// `http://127.0.0.1:PORT` where nothing listens (connections are refused).
async fn dead_base() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

fn destinations(h: &Harness) -> Vec<String> {
    let mut d: Vec<String> = h
        .emu
        .hub()
        .list(None)
        .into_iter()
        .map(|s| s.destination)
        .collect();
    d.sort();
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_reads_back_and_deliveries_reach_the_engine() {
    let h = Harness::start(0).await;
    let secret = WebhookSecret::generate();
    let mut engine_config = h.config();
    engine_config.secret = secret.clone();
    let engine = Engine::start(
        h.store.clone(),
        h.new_client(),
        Arc::new(SystemClock),
        engine_config,
    )
    .await
    .expect("engine");
    let base = format!("http://{}", engine.local_addr());

    let mut cfg = config(&secret);
    // A code this account does not know: the read-back must report it.
    cfg.settings.push("add_customer".to_owned());
    let requested = cfg.settings.clone();
    let rig = Rig::start(
        h.new_client(),
        cfg,
        secret.clone(),
        Some(format!("{base}/")),
    );
    let status = rig.wait("Registered", registered).await;

    let dest = rig.destination(&base);
    assert_eq!(
        dest,
        engine.webhook_url(),
        "the keeper registers the engine's receiver URL"
    );
    let hub = h.emu.hub().list(Some(&dest));
    assert_eq!(hub.len(), 1, "{hub:?}");
    assert!(!hub[0].disabled);
    let WebhookState::Registered {
        url_redacted,
        accepted,
        missing,
    } = &status.state
    else {
        unreachable!()
    };
    assert_eq!(url_redacted, &format!("{base}/amocrm/***/"));
    assert_eq!(
        accepted, &hub[0].settings,
        "accepted = what the account kept"
    );
    let want_missing: Vec<String> = requested
        .iter()
        .filter(|c| !hub[0].settings.contains(c))
        .cloned()
        .collect();
    assert_eq!(missing, &want_missing);
    assert_eq!(missing, &["add_customer".to_owned()]);
    assert_eq!(accepted.len(), ALL_SETTINGS.len());
    assert_eq!(
        rig.recovered(),
        1,
        "a catch-up after the first registration"
    );
    assert!(
        status
            .last_check_s
            .is_some_and(|t| (t - SystemClock.now_s()).abs() < 60)
    );
    assert_eq!((status.reregistrations, status.stale_removed), (0, 0));
    rig.assert_no_secret(&status);

    // The destination is right: an office change reaches the engine.
    h.post("/leads", json!({"name": "Через хранителя"})).await;
    eventually("a webhook accepted by the engine", || {
        engine.status().webhooks_accepted >= 1
    })
    .await;

    // A periodic check with nothing to do changes nothing and calls nothing.
    let again = rig.check_now().await;
    assert_eq!(again.state, status.state);
    assert_eq!(rig.recovered(), 1);
    assert_eq!(h.emu.hub().list(None).len(), 1);

    rig.keeper.stop().await;
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_change_moves_the_hook_and_spares_other_integrations() {
    let h = Harness::start(0).await;
    let secret = WebhookSecret::generate();
    let other_install = format!(
        "http://127.0.0.1:9/amocrm/{}/",
        WebhookSecret::generate().expose()
    );
    let other_integration = "http://127.0.0.1:9/other-integration/hook/".to_owned();
    let settings = ["add_lead"];
    for d in [&other_install, &other_integration] {
        h.client
            .register_webhook(d, &settings, Some(5))
            .await
            .expect("other hook");
    }
    // Left over from an earlier run of this install (another tunnel URL).
    let leftover = format!("http://127.0.0.1:7/amocrm/{}/", secret.expose());
    h.client
        .register_webhook(&leftover, &settings, Some(10))
        .await
        .expect("leftover");

    let base1 = "http://127.0.0.1:11".to_owned();
    let rig = Rig::start(
        h.new_client(),
        config(&secret),
        secret.clone(),
        Some(base1.clone()),
    );
    let first = rig.wait("Registered at base1", registered).await;
    let mut want = vec![
        rig.destination(&base1),
        other_install.clone(),
        other_integration.clone(),
    ];
    want.sort();
    assert_eq!(
        destinations(&h),
        want,
        "the leftover of this install is gone, others stay"
    );
    assert_eq!((first.stale_removed, rig.recovered()), (1, 1));

    let base2 = "http://127.0.0.2:12".to_owned();
    rig.url.send_replace(Some(base2.clone()));
    let second = rig
        .wait("Registered at base2", |s| {
            matches!(&s.state, WebhookState::Registered { url_redacted, .. } if url_redacted.starts_with(&base2))
        })
        .await;
    let mut want = vec![
        rig.destination(&base2),
        other_install.clone(),
        other_integration.clone(),
    ];
    want.sort();
    assert_eq!(destinations(&h), want);
    assert_eq!(second.stale_removed, 2);
    assert_eq!(
        second.reregistrations, 0,
        "a URL change is not a re-registration"
    );
    assert_eq!(rig.recovered(), 2, "a catch-up after the URL change");
    let other = h.emu.hub().list(Some(&other_integration));
    assert_eq!(
        other[0].settings,
        vec!["add_lead".to_owned()],
        "other hooks untouched"
    );
    rig.assert_no_secret(&second);

    // No public URL: nothing registered, nothing deleted.
    rig.url.send_replace(None);
    rig.wait("NotRegistered", |s| s.state == WebhookState::NotRegistered)
        .await;
    assert_eq!(destinations(&h), want);
    rig.keeper.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_hook_is_registered_again() {
    let h = Harness::start(0).await;
    // Disable after more than 2 invalid answers; no retries.
    h.post(
        "/webhooks/config",
        json!({"disable_threshold": 2, "retry_delays_ms": [], "timeout_ms": 1000}),
    )
    .await;
    let secret = WebhookSecret::generate();
    let base = dead_base().await;
    let rig = Rig::start(
        h.new_client(),
        config(&secret),
        secret.clone(),
        Some(base.clone()),
    );
    rig.wait("Registered", registered).await;
    let dest = rig.destination(&base);

    // Office changes whose deliveries fail until amoCRM disables the hook.
    let is_disabled = || {
        h.emu
            .hub()
            .list(Some(&dest))
            .first()
            .is_some_and(|s| s.disabled)
    };
    for i in 0..20 {
        if is_disabled() {
            break;
        }
        h.post("/leads", json!({"name": format!("Недоставка {i}")}))
            .await;
        assert!(h.emu.hub().wait_idle(WAIT).await, "deliveries pending");
    }
    assert!(
        is_disabled(),
        "the emulator disabled the hook: {:?}",
        h.emu.hub().list(None)
    );

    // Every API answer takes 200 ms, so the Disabled state is observable.
    h.post("/faults/api", json!({"slow_rate": 1.0, "slow_ms": 200}))
        .await;
    let mut rx = rig.keeper.subscribe();
    let recorder = tokio::spawn(async move {
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + WAIT;
        while let Ok(Ok(())) = tokio::time::timeout_at(deadline, rx.changed()).await {
            let state = rx.borrow_and_update().state.clone();
            let done = matches!(state, WebhookState::Registered { .. });
            seen.push(state);
            if done {
                break;
            }
        }
        seen
    });
    let status = rig.check_now().await;
    let seen = tokio::time::timeout(WAIT, recorder)
        .await
        .expect("recorder")
        .expect("join");
    h.post("/faults/reset", json!({})).await;

    let url_redacted = format!("{base}/amocrm/***/");
    assert_eq!(
        seen.first(),
        Some(&WebhookState::Disabled {
            url_redacted: url_redacted.clone()
        }),
        "{seen:?}"
    );
    assert!(registered(&status), "{status:?}");
    assert_eq!(seen.last(), Some(&status.state));
    let hub = h.emu.hub().list(Some(&dest));
    assert_eq!(hub.len(), 1);
    assert!(!hub[0].disabled, "re-posting re-enabled it");
    assert_eq!(status.reregistrations, 1);
    assert!(status.last_disabled_s.is_some());
    assert_eq!(rig.recovered(), 2, "registration, then recovery");
    rig.assert_no_secret(&status);
    rig.keeper.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_hook_is_registered_again() {
    let h = Harness::start(0).await;
    let secret = WebhookSecret::generate();
    let base = "http://127.0.0.1:13".to_owned();
    let rig = Rig::start(
        h.new_client(),
        config(&secret),
        secret.clone(),
        Some(base.clone()),
    );
    rig.wait("Registered", registered).await;
    // Someone deletes it in amoCRM's settings.
    h.client
        .delete_webhook(&rig.destination(&base))
        .await
        .expect("delete");
    let status = rig.check_now().await;
    assert!(registered(&status), "{status:?}");
    assert_eq!(h.emu.hub().list(Some(&rig.destination(&base))).len(), 1);
    assert_eq!((status.reregistrations, rig.recovered()), (1, 2));
    rig.keeper.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_admin_gets_not_admin() {
    let h = Harness::start(0).await;
    let secret = WebhookSecret::generate();
    let client = client_for(&h.base, &h.emu.issue_token(false));
    let rig = Rig::start(
        client,
        config(&secret),
        secret.clone(),
        Some("https://t.example".into()),
    );
    let status = rig
        .wait("NotAdmin", |s| {
            matches!(s.state, WebhookState::NotAdmin { .. })
        })
        .await;
    let WebhookState::NotAdmin { message } = &status.state else {
        unreachable!()
    };
    assert!(
        message.starts_with("the connected user is not an amoCRM administrator: reconnect as an admin, or register the webhook by hand"),
        "{message}"
    );
    assert!(
        message.contains("https://t.example/amocrm/***/"),
        "{message}"
    );
    rig.assert_no_secret(&status);
    assert!(h.emu.hub().list(None).is_empty());
    assert_eq!(rig.recovered(), 0);
    // A second check asks once more and stays put (no loop in between).
    let before = rig.client.usage().requests;
    let again = rig.check_now().await;
    assert_eq!(again.state, status.state);
    assert_eq!(
        rig.client.usage().requests,
        before + 1,
        "one GET per check, 403 never retried"
    );
    rig.keeper.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hundred_hook_cap_is_limit_reached_until_room_is_made() {
    let h = Harness::start(0).await;
    let secret = WebhookSecret::generate();
    let codes = vec!["add_lead".to_owned()];
    for i in 0..amo_emulator::webhooks::MAX_WEBHOOKS {
        h.emu
            .hub()
            .register(&format!("http://127.0.0.1:9/other/{i}/"), &codes, 10, 1)
            .expect("fill");
    }
    let rig = Rig::start(
        h.new_client(),
        config(&secret),
        secret.clone(),
        Some("https://t.example".into()),
    );
    let status = rig
        .wait("LimitReached", |s| {
            matches!(s.state, WebhookState::LimitReached { .. })
        })
        .await;
    let WebhookState::LimitReached { message } = &status.state else {
        unreachable!()
    };
    assert!(message.starts_with(LIMIT_MESSAGE), "{message}");
    assert!(message.contains("amoCRM allows 100 webhooks per account; delete unused ones in Settings → Integrations → Webhooks"));
    rig.assert_no_secret(&status);
    assert_eq!(h.emu.hub().list(None).len(), 100);

    // The admin deletes one: the next check registers.
    h.client
        .delete_webhook("http://127.0.0.1:9/other/0/")
        .await
        .expect("delete");
    let status = rig.check_now().await;
    assert!(registered(&status), "{status:?}");
    assert_eq!(h.emu.hub().list(None).len(), 100);
    rig.keeper.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_account_makes_room_by_deleting_our_own_stale_hook() {
    let h = Harness::start(0).await;
    let secret = WebhookSecret::generate();
    let codes = vec!["add_lead".to_owned()];
    let stale = format!("http://127.0.0.1:7/amocrm/{}/", secret.expose());
    h.emu.hub().register(&stale, &codes, 10, 1).expect("stale");
    for i in 1..amo_emulator::webhooks::MAX_WEBHOOKS {
        h.emu
            .hub()
            .register(&format!("http://127.0.0.1:9/other/{i}/"), &codes, 10, 1)
            .expect("fill");
    }
    let base = "https://new.example".to_owned();
    let rig = Rig::start(
        h.new_client(),
        config(&secret),
        secret.clone(),
        Some(base.clone()),
    );
    let status = rig.wait("Registered", registered).await;
    assert_eq!(status.stale_removed, 1);
    let all = destinations(&h);
    assert_eq!(all.len(), 100);
    assert!(all.contains(&rig.destination(&base)) && !all.contains(&stale));
    rig.keeper.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_auth_revoked() {
    let h = Harness::start(0).await;
    let secret = WebhookSecret::generate();
    let token = h.emu.issue_token(true);
    let rig = Rig::start(
        client_for(&h.base, &token),
        config(&secret),
        secret.clone(),
        Some("https://t.example".into()),
    );
    rig.wait("Registered", registered).await;
    assert!(h.emu.revoke_token(&token));
    let status = rig.check_now().await;
    match &status.state {
        WebhookState::Failed { code, message } => {
            assert_eq!(code, "AuthRevoked");
            assert!(message.contains("Reconnect amoCRM"), "{message}");
        }
        other => panic!("not AuthRevoked: {other:?}"),
    }
    rig.keeper.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_errors_keep_the_state_and_retry_with_backoff() {
    let h = Harness::start(0).await;
    let secret = WebhookSecret::generate();
    let mut cfg = config(&secret);
    cfg.retry_base = Duration::from_secs(1);
    let rig = Rig::start(
        h.new_client(),
        cfg,
        secret.clone(),
        Some("https://t.example".into()),
    );
    let ok = rig.wait("Registered", registered).await;

    h.post("/faults/force", json!({"status": 503, "count": 1000}))
        .await;
    let status = rig.check_now().await;
    assert_eq!(status.state, ok.state, "a 503 keeps the state");
    let error = status.last_error.clone().expect("last_error set");
    assert!(error.contains("503"), "{error}");
    // Not hot: nothing is sent before the first backoff delay (1 s) ends.
    let after = rig.client.usage().requests;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        rig.client.usage().requests,
        after,
        "no request within the backoff"
    );

    // The keeper retries on its own and clears the error once amoCRM answers.
    h.post("/faults/reset", json!({})).await;
    let started = Instant::now();
    let healed = rig
        .wait("the error cleared", |s| s.last_error.is_none())
        .await;
    assert!(started.elapsed() < Duration::from_secs(8));
    assert_eq!(healed.state, ok.state);
    assert_eq!(healed.reregistrations, 0);
    assert!(
        rig.client.usage().requests - after < 20,
        "a few retries, not a loop"
    );
    rig.keeper.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_is_bounded_and_check_now_after_stop_answers() {
    let h = Harness::start(0).await;
    let secret = WebhookSecret::generate();
    let rig = Rig::start(
        h.new_client(),
        config(&secret),
        secret.clone(),
        Some("https://t.example".into()),
    );
    let status = rig.wait("Registered", registered).await;
    let started = Instant::now();
    rig.keeper.stop().await;
    assert!(started.elapsed() < Duration::from_secs(6));
    let before = rig.client.usage().requests;
    assert_eq!(rig.check_now().await, status);
    assert_eq!(
        rig.client.usage().requests,
        before,
        "a stopped keeper sends nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_webhooks_deletes_ours_and_nothing_else() {
    let h = Harness::start(0).await;
    let secret = WebhookSecret::generate();
    let secret_path = format!("/amocrm/{}/", secret.expose());
    let codes = ["add_lead"];
    let ours = [
        format!("https://a.example{secret_path}"),
        format!("http://127.0.0.1:7{secret_path}"),
    ];
    let others = [
        format!(
            "https://a.example/amocrm/{}/",
            WebhookSecret::generate().expose()
        ),
        "https://a.example/other/hook/".to_owned(),
        format!("https://a.example/amocrm/{}/more/", secret.expose()),
    ];
    for d in ours.iter().chain(&others) {
        h.client
            .register_webhook(d, &codes, None)
            .await
            .expect("register");
    }
    // Bad input deletes nothing and says what to do.
    for bad in ["", "/", "/amocrm/short/"] {
        let e = remove_webhooks(&h.client, bad).await.expect_err(bad);
        assert_eq!(e.code(), "InvalidRequest");
        assert!(e.to_string().contains("/amocrm/<secret>/"), "{e}");
    }
    assert_eq!(h.emu.hub().list(None).len(), 5);

    assert_eq!(
        remove_webhooks(&h.client, &secret_path)
            .await
            .expect("remove"),
        2
    );
    let mut want = others.to_vec();
    want.sort();
    assert_eq!(destinations(&h), want);
    assert_eq!(
        remove_webhooks(&h.client, &secret_path)
            .await
            .expect("again"),
        0
    );

    // A non-admin's 403 comes back as an error without the secret.
    let user = client_for(&h.base, &h.emu.issue_token(false));
    let e = remove_webhooks(&user, &secret_path).await.expect_err("403");
    assert_eq!(e.code(), "Forbidden");
    assert!(!format!("{e} {e:?}").contains(secret.expose()));
}
