//! The desktop app's session (`amosync::desktop::Desktop`) against the real
//! emulator and real stores: the demo, the engine in process with events
//! pushed on store changes, attaching to a headless `amosync serve` (and
//! taking over when it goes away), the set-up wizard through the emulator's
//! OAuth, a webhook amoCRM disabled, the preferences file.
//!
//! Every test runs in a child process on the encrypted-file vault with its
//! key in a temporary folder ([`in_parent`]): the session opens the vault in
//! process, and the environment of a threaded test process cannot be
//! changed safely. No test touches the home folder or the keychain. Every
//! wait is bounded; nothing asserts on durations.

#[path = "support/oauth.rs"]
mod oauth;
mod support;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use amo_emulator::{Emulator, EmulatorConfig};
use amosync::config::DataDir;
use amosync::desktop::{
    Desktop, EventSink, ExportFormat, ExportKind, ExportRequest, Language, NoticeKind, Preferences,
    SessionMode, SetupRequest, SiteKind, SyncAction, SyncIssueCode, Theme, TunnelInput,
    WebhookView, events,
};
use amosync::{ErrorCode, Source};
use amosync_store::{FunnelQuery, LeadsQuery};
use oauth::*;
use serde_json::{Value, json};
use support::{Served, eventually, office};

/// Leads in the demo account of these tests (the default is 1500).
const DEMO_LEADS: usize = 40;

/// Records every event the session pushes.
#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<(String, Value)>>,
}

impl EventSink for Recorder {
    fn emit(&self, event: &str, payload: Value) {
        self.events
            .lock()
            .unwrap()
            .push((event.to_owned(), payload));
    }
}

impl Recorder {
    fn all(&self, name: &str) -> Vec<Value> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, p)| p.clone())
            .collect()
    }

    fn count(&self, name: &str) -> usize {
        self.all(name).len()
    }
}

/// In the parent: runs the test `name` again in a child process (the file
/// vault, its key in a temporary folder; `demo`: a small demo account) and
/// returns true — the parent then returns. False in that child.
async fn in_parent(name: &str, demo: bool) -> bool {
    if isolated_as(name) {
        return false;
    }
    let env = if demo {
        vec![
            ("AMOSYNC_DEMO_LEADS", DEMO_LEADS.to_string()),
            ("AMOSYNC_DEMO_NOW", NOW.to_string()),
        ]
    } else {
        Vec::new()
    };
    isolate(name, name, &env).await;
    true
}

async fn start(folder: &Folder) -> (Arc<Desktop>, Arc<Recorder>) {
    let sink = Arc::new(Recorder::default());
    let desktop = Desktop::start(DataDir::new(&folder.data), sink.clone()).await;
    (desktop, sink)
}

async fn until_mode(desktop: &Desktop, mode: SessionMode) {
    eventually(&format!("mode {mode:?}"), || async {
        let view = desktop.sync_view();
        assert_ne!(
            view.mode,
            SessionMode::Stopped,
            "the session stopped: {:?}",
            view.issues
        );
        (desktop.mode() == mode).then_some(())
    })
    .await;
}

async fn until_first_sync(desktop: &Desktop) {
    eventually("the first sync", || async {
        desktop.sync_view().first_sync_done.then_some(())
    })
    .await;
}

/// An emulator with fast limits (the engine's first pull does not wait).
async fn quick_emulator(leads: usize) -> Emulator {
    Emulator::start(EmulatorConfig {
        leads,
        now: Some(NOW),
        limits: amo_emulator::limits::LimitsConfig {
            per_token_per_second: 1_000,
            per_account_per_second: 1_000,
            ..Default::default()
        },
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator starts")
}

/// `amosync connect` with a long-lived token (the `amosync` binary).
async fn connect_with_token(folder: &Folder, emu: &Emulator) {
    let out = folder
        .run(&[
            "connect",
            "--base-url",
            &emu.base_url(),
            "--token",
            &emu.token(),
            "--listen",
            "127.0.0.1:0",
        ])
        .await
        .json();
    assert_eq!(out["connected"], true, "{out:#}");
}

/// The main pipeline's id, a lead in one of its open statuses (not the
/// first), that status and the next open one.
fn a_move(emu: &Emulator) -> (u64, u64, u64, u64) {
    let world = emu.world();
    let main = world
        .pipelines
        .iter()
        .find(|p| p.is_main)
        .expect("a main pipeline");
    let open: Vec<u64> = main
        .statuses
        .iter()
        .filter(|s| s.id != 142 && s.id != 143)
        .map(|s| s.id)
        .collect();
    for lead in world.leads.values() {
        if lead.is_deleted || lead.pipeline_id != main.id {
            continue;
        }
        if let Some(i) = open.iter().position(|s| *s == lead.status_id)
            && i >= 1
            && i + 1 < open.len()
        {
            return (main.id, lead.id, open[i], open[i + 1]);
        }
    }
    panic!("no lead to move in the main pipeline");
}

fn count_in(funnel: &amosync_store::Funnel, status: u64) -> u64 {
    funnel
        .statuses
        .iter()
        .find(|s| s.status_id == status)
        .map_or(0, |s| s.count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_mode_reads_the_built_in_account() {
    const NAME: &str = "demo_mode_reads_the_built_in_account";
    if in_parent(NAME, true).await {
        return;
    }
    let folder = Folder::new();
    let (desktop, sink) = start(&folder).await;
    // Reads wait for the demo's control channel: no sleep needed.
    let account = desktop.account().await.expect("the demo's account");
    assert_eq!(desktop.mode(), SessionMode::Demo);
    assert_eq!(account.source, Source::Demo);

    // The same account as an emulator seeded alike.
    let twin = Emulator::start(EmulatorConfig {
        leads: DEMO_LEADS,
        now: Some(NOW),
        ..EmulatorConfig::default()
    })
    .await
    .expect("twin emulator");
    until_first_sync(&desktop).await;
    let account = desktop.account().await.expect("account");
    let want: Vec<(u64, String, usize)> = {
        let world = twin.world();
        let mut p: Vec<_> = world
            .pipelines
            .iter()
            .map(|p| (p.id, p.name.clone(), p.statuses.len()))
            .collect();
        p.sort();
        p
    };
    let mut got: Vec<(u64, String, usize)> = account
        .pipelines
        .iter()
        .map(|p| (p.id, p.name.clone(), p.statuses.len()))
        .collect();
    got.sort();
    assert_eq!(got, want);
    assert!(account.pipelines[0].is_main, "the main pipeline first");
    assert_eq!(account.leads as usize, live_leads(&twin));

    let view = desktop.sync_view();
    assert_eq!(view.mode, SessionMode::Demo);
    assert_eq!(view.tunnel, amosync::desktop::TunnelView::Local);
    assert!(view.issues.is_empty(), "{:?}", view.issues);
    assert!(sink.count(events::SYNC) > 0, "the view was pushed");

    // The funnel of the main pipeline, through the same channel.
    let funnel = desktop
        .funnel(FunnelQuery {
            pipeline_id: account.pipelines[0].id,
            ..FunnelQuery::default()
        })
        .await
        .expect("funnel");
    assert_eq!(
        funnel.statuses.iter().map(|s| s.count).sum::<u64>(),
        funnel.total_count
    );

    desktop.shutdown().await;
    let demo = DataDir::new(folder.data.join("demo"));
    assert!(!demo.serve_path().exists(), "the demo's serve.json is gone");
    assert_eq!(
        desktop.account().await.map_err(|e| e.code),
        Err(ErrorCode::Local),
        "closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_engine_pushes_store_changes_and_the_funnel_follows() {
    const NAME: &str = "embedded_engine_pushes_store_changes_and_the_funnel_follows";
    if in_parent(NAME, false).await {
        return;
    }
    let emu = quick_emulator(LEADS).await;
    let folder = Folder::new();
    connect_with_token(&folder, &emu).await;
    let (desktop, sink) = start(&folder).await;
    until_mode(&desktop, SessionMode::Embedded).await;
    until_first_sync(&desktop).await;
    eventually("the webhook registered", || async {
        (desktop.sync_view().webhook == WebhookView::Registered).then_some(())
    })
    .await;
    let account = desktop.account().await.expect("account");
    assert_eq!(account.source, Source::Account);
    assert_eq!(account.leads as usize, live_leads(&emu));

    let (pipeline, lead, from, to) = a_move(&emu);
    let query = FunnelQuery {
        pipeline_id: pipeline,
        ..FunnelQuery::default()
    };
    let before = desktop.funnel(query.clone()).await.expect("funnel");
    let changes_before = sink.count(events::STORE_CHANGED);

    let moved_at = Instant::now();
    office(
        &emu,
        &format!("/leads/{lead}/move"),
        json!({"status_id": to}),
    )
    .await;
    // Pushed: a STORE_CHANGED event, then the funnel shows the move.
    eventually("a STORE_CHANGED event", || async {
        (sink.count(events::STORE_CHANGED) > changes_before).then_some(())
    })
    .await;
    let after = eventually("the funnel to show the move", || async {
        let f = desktop.funnel(query.clone()).await.expect("funnel");
        (count_in(&f, to) == count_in(&before, to) + 1).then_some(f)
    })
    .await;
    eprintln!(
        "the move reached the funnel {:?} after it was made",
        moved_at.elapsed()
    );
    assert_eq!(count_in(&after, from) + 1, count_in(&before, from));
    let generation = sink.all(events::STORE_CHANGED);
    assert!(generation.iter().all(Value::is_u64), "{generation:?}");

    // The lead panel and the leads table read the same store.
    let card = desktop.lead(lead).await.expect("lead card");
    assert_eq!(card.lead.status_id, to);
    let page = desktop
        .leads(LeadsQuery {
            limit: Some(5),
            ..LeadsQuery::default()
        })
        .await
        .expect("leads");
    assert_eq!(page.total as usize, live_leads(&emu));
    assert_eq!(page.rows.len(), 5);
    desktop.chats(Default::default()).await.expect("chats");

    // A new lead after the first sync is a notice (and the first sync's were not).
    office(&emu, "/leads", json!({"name": "Аренда Camry на неделю"})).await;
    let notice = eventually("a new-lead notice", || async {
        sink.all(events::NOTICE)
            .into_iter()
            .find(|n| n["kind"] == "new_lead")
    })
    .await;
    assert_eq!(notice["title"], "Новая сделка", "{notice}");
    assert_eq!(notice["body"], "Аренда Camry на неделю", "{notice}");
    let notices = sink.all(events::NOTICE);
    assert_eq!(
        notices.iter().filter(|n| n["kind"] == "new_lead").count(),
        1,
        "{notices:?}"
    );

    // An incoming chat message is a notice too.
    let talk_lead = emu
        .world()
        .talks
        .values()
        .map(|t| t.entity_id)
        .next()
        .expect("a talk in the account");
    office(&emu,
        "/messages",
        json!({"lead_id": talk_lead, "text": "Здравствуйте, машина свободна?", "direction": "incoming"}),
    )
    .await;
    let message = eventually("an incoming-message notice", || async {
        sink.all(events::NOTICE)
            .into_iter()
            .find(|n| n["kind"] == "incoming_message")
    })
    .await;
    assert_eq!(message["title"], "Новое сообщение", "{message}");
    assert!(
        message["body"]
            .as_str()
            .is_some_and(|b| b.ends_with("Здравствуйте, машина свободна?")),
        "{message}"
    );

    // The export reads the same rows.
    let downloads = tempfile::tempdir().expect("temp dir");
    let written = desktop
        .export(
            ExportRequest {
                kind: ExportKind::Leads,
                format: ExportFormat::Csv,
                leads: None,
                funnel: None,
            },
            downloads.path().to_path_buf(),
        )
        .await
        .expect("export");
    assert_eq!(written.rows as usize, live_leads(&emu));
    assert!(std::path::Path::new(&written.path).starts_with(downloads.path()));
    let funnel_file = desktop
        .export(
            ExportRequest {
                kind: ExportKind::Funnel,
                format: ExportFormat::Xlsx,
                leads: None,
                funnel: Some(query.clone()),
            },
            downloads.path().to_path_buf(),
        )
        .await
        .expect("funnel export");
    assert_eq!(funnel_file.rows as usize, after.statuses.len());

    // The sync view, as pushed and as asked.
    let view = desktop.sync_view();
    assert_eq!(view.mode, SessionMode::Embedded);
    assert_eq!(view.tunnel, amosync::desktop::TunnelView::Local);
    assert!(view.online);
    assert!(view.api_requests_total > 0);
    assert!(view.last_event_at_ms.is_some(), "{view:?}");
    let text = serde_json::to_string(&sink.all(events::SYNC)).unwrap();
    assert!(
        !text.replace("/amocrm/***/", "").contains("/amocrm/"),
        "every webhook path is redacted: {text}"
    );
    let secret_path = std::fs::read_to_string(folder.data.join("serve.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v["webhook_url"].as_str().map(str::to_owned))
        .expect("serve.json while the engine runs");
    let secret = secret_path
        .split("/amocrm/")
        .nth(1)
        .unwrap()
        .trim_end_matches('/');
    let all = format!("{:?}", sink.events.lock().unwrap());
    assert!(!all.contains(secret), "no event carries the webhook secret");

    desktop.shutdown().await;
    assert!(
        !folder.data.join("serve.json").exists(),
        "the engine stopped and unpublished itself"
    );
}

/// A long-running `amosync ARGS --data DIR` (`serve`, `demo`), read until `ready`.
async fn served(folder: &Folder, args: &[&str]) -> tokio::process::Child {
    let child = folder
        .command(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("amosync starts");
    Served::ready(child, args).await.child
}

/// A headless `amosync serve`.
async fn serve(folder: &Folder) -> tokio::process::Child {
    served(folder, &["serve", "--listen", "127.0.0.1:0"]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attaches_to_a_running_serve_and_takes_over_when_it_goes() {
    const NAME: &str = "attaches_to_a_running_serve_and_takes_over_when_it_goes";
    if in_parent(NAME, false).await {
        return;
    }
    let emu = quick_emulator(LEADS).await;
    let folder = Folder::new();
    connect_with_token(&folder, &emu).await;
    let mut child = serve(&folder).await;
    // The serve's first pull, so the funnel holds the account.
    folder.run(&["sync"]).await.json();

    let (desktop, _sink) = start(&folder).await;
    until_mode(&desktop, SessionMode::Attached).await;
    let account = desktop.account().await.expect("account");
    let main = account.pipelines[0].id;
    let funnel = desktop
        .funnel(FunnelQuery {
            pipeline_id: main,
            with_time_in_status: true,
            ..FunnelQuery::default()
        })
        .await
        .expect("funnel");
    let cli = folder
        .run(&[
            "funnel",
            "--pipeline",
            &main.to_string(),
            "--time-in-status",
            "--json",
        ])
        .await
        .json();
    assert_eq!(serde_json::to_value(&funnel).unwrap(), cli);
    assert_eq!(desktop.sync_view().mode, SessionMode::Attached);

    // The serve is killed: the app runs the engine itself.
    child.start_kill().expect("kill serve");
    let _ = tokio::time::timeout(WAIT, child.wait()).await;
    until_mode(&desktop, SessionMode::Embedded).await;
    let again = desktop
        .funnel(FunnelQuery {
            pipeline_id: main,
            ..FunnelQuery::default()
        })
        .await
        .expect("funnel after the take-over");
    assert_eq!(again.total_count, funnel.total_count);
    desktop.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wizard_connects_through_oauth_and_fills_its_checklist() {
    const NAME: &str = "the_wizard_connects_through_oauth_and_fills_its_checklist";
    if in_parent(NAME, true).await {
        return;
    }
    let emu = fast_emulator().await;
    let integration = emu.register_integration(DEEP_LINK);
    let folder = Folder::new();
    let (desktop, sink) = start(&folder).await;
    until_mode(&desktop, SessionMode::Demo).await;

    // Refusals say what to do.
    let bad = desktop
        .setup_begin(SetupRequest {
            site: SiteKind::Custom,
            subdomain: String::new(),
            base_url: None,
            client_id: integration.client_id.clone(),
            client_secret: integration.client_secret.expose().to_owned(),
            redirect_uri: DEEP_LINK.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code, ErrorCode::InvalidInput);
    assert!(bad.message.contains("address"), "{}", bad.message);

    let started = desktop
        .setup_begin(SetupRequest {
            site: SiteKind::Custom,
            subdomain: String::new(),
            base_url: Some(emu.base_url()),
            client_id: integration.client_id.clone(),
            client_secret: integration.client_secret.expose().to_owned(),
            redirect_uri: DEEP_LINK.into(),
        })
        .await
        .expect("connection started");
    assert!(
        started
            .authorize_url
            .starts_with(&format!("{}/oauth?", emu.base_url())),
        "{}",
        started.authorize_url
    );
    assert!(desktop.setup_progress().waiting_for_browser);
    assert!(sink.count(events::SETUP) > 0);
    // Started in the account folder, not the demo's.
    assert!(folder.data.join("secrets.enc").exists());

    let link = Browser::new().decide(&started.authorize_url, true).await;
    assert!(link.starts_with("amosync://oauth/callback?"), "{link}");
    desktop.setup_finish(link.clone()).await.expect("connected");
    assert_eq!(sink.count(events::CONNECTED), 1);
    let progress = desktop.setup_progress();
    assert!(progress.authorised && !progress.waiting_for_browser);
    assert_eq!(progress.error, None);

    let done = eventually("the checklist", || async {
        let p = desktop.setup_progress();
        (p.first_sync_done && p.webhook == WebhookView::Registered).then_some(p)
    })
    .await;
    assert_eq!(done.leads_synced as usize, live_leads(&emu));
    assert!(done.account_name.is_some());
    assert_eq!(desktop.mode(), SessionMode::Embedded);
    assert!(desktop.preferences().wizard_done);
    let account = desktop.account().await.expect("account");
    assert_eq!(account.source, Source::Account);
    assert_eq!(account.base_url, emu.base_url());
    let pushed = sink.all(events::SETUP);
    assert_eq!(
        pushed.last().map(|p| p["first_sync_done"].clone()),
        Some(json!(true)),
        "the checklist was pushed as it filled in"
    );
    assert!(!format!("{pushed:?}").contains(integration.client_secret.expose()));

    // The same link again is refused, and says what to do.
    let replay = desktop.setup_finish(link).await.unwrap_err();
    assert!(
        replay.message.contains("Connect again"),
        "{}",
        replay.message
    );
    assert_eq!(sink.count(events::CONNECT_FAILED), 1);
    // …and the account keeps running.
    until_mode(&desktop, SessionMode::Embedded).await;

    let settings = desktop.settings().await.expect("settings");
    assert!(settings.connected);
    assert_eq!(settings.vault_backend.as_deref(), Some("encrypted_file"));
    assert_eq!(settings.tunnel.provider, "none");
    assert!(settings.account_name.is_some());

    // Disconnect: our webhook leaves amoCRM, the app is back in the demo
    // with the wizard to do.
    assert_eq!(emu.hub().list(None).len(), 1);
    desktop.disconnect().await.expect("disconnected");
    assert!(emu.hub().list(None).is_empty(), "our webhook was removed");
    until_mode(&desktop, SessionMode::Demo).await;
    assert!(!desktop.preferences().wizard_done);
    assert!(!desktop.settings().await.expect("settings").connected);
    desktop.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_amocrm_disabled_shows_until_registered_again() {
    const NAME: &str = "a_webhook_amocrm_disabled_shows_until_registered_again";
    if in_parent(NAME, false).await {
        return;
    }
    let emu = quick_emulator(LEADS).await;
    // Disabled after more than 2 failed deliveries; no retries.
    office(
        &emu,
        "/webhooks/config",
        json!({"disable_threshold": 2, "retry_delays_ms": [], "timeout_ms": 2000}),
    )
    .await;
    let folder = Folder::new();
    connect_with_token(&folder, &emu).await;
    let (desktop, _) = start(&folder).await;
    until_mode(&desktop, SessionMode::Embedded).await;
    eventually("the webhook registered", || async {
        (desktop.sync_view().webhook == WebhookView::Registered).then_some(())
    })
    .await;
    let ours = |emu: &Emulator| {
        emu.hub()
            .list(None)
            .into_iter()
            .find(|h| h.destination.contains("/amocrm/"))
            .expect("our webhook")
    };
    assert!(!ours(&emu).disabled);

    // The app is closed; the office works on; deliveries fail until amoCRM
    // disables the webhook.
    desktop.shutdown().await;
    drop(desktop);
    for i in 0..10 {
        if ours(&emu).disabled {
            break;
        }
        office(&emu, "/leads", json!({"name": format!("Недоставка {i}")})).await;
        assert!(emu.hub().wait_idle(WAIT).await, "deliveries pending");
    }
    assert!(ours(&emu).disabled, "the emulator disabled the webhook");

    // The next start: the keeper finds it disabled (and registers it again);
    // the user is told until they deal with it.
    let (desktop, sink) = start(&folder).await;
    let view = eventually("the webhook shown disabled", || async {
        let v = desktop.sync_view();
        (v.webhook == WebhookView::Disabled).then_some(v)
    })
    .await;
    let issue = view
        .issues
        .iter()
        .find(|i| i.code == SyncIssueCode::WebhookDisabled)
        .expect("a webhook-disabled issue");
    assert_eq!(issue.action, Some(SyncAction::ReregisterWebhook));
    let notice = eventually("a webhook-disabled notice", || async {
        sink.all(events::NOTICE)
            .into_iter()
            .find(|n| n["kind"] == "webhook_disabled")
    })
    .await;
    assert_eq!(notice["title"], "Вебхук отключён");
    assert!(
        sink.all(events::SYNC)
            .iter()
            .any(|v| v["webhook"] == "disabled"),
        "pushed to the UI"
    );

    desktop
        .sync_action(SyncAction::ReregisterWebhook)
        .await
        .expect("re-register");
    let view = desktop.sync_view();
    assert_eq!(view.webhook, WebhookView::Registered, "{view:?}");
    assert!(
        view.issues
            .iter()
            .all(|i| i.code != SyncIssueCode::WebhookDisabled),
        "{:?}",
        view.issues
    );
    assert!(!ours(&emu).disabled, "registered again in amoCRM");
    assert_eq!(
        NoticeKind::WebhookDisabled,
        serde_json::from_value(notice["kind"].clone()).unwrap()
    );

    // Actions that only open a view.
    desktop.sync_action(SyncAction::OpenSettings).await.unwrap();
    desktop.sync_action(SyncAction::Reconnect).await.unwrap();
    assert_eq!(
        sink.all(events::SHOW),
        vec![json!("settings"), json!("wizard")]
    );
    desktop.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preferences_round_trip_and_a_damaged_file_gives_defaults() {
    const NAME: &str = "preferences_round_trip_and_a_damaged_file_gives_defaults";
    if in_parent(NAME, true).await {
        return;
    }
    let folder = Folder::new();
    std::fs::create_dir_all(&folder.data).unwrap();
    let file = folder.data.join("desktop.json");
    std::fs::write(&file, "{\"language\": ").unwrap();
    let (desktop, _) = start(&folder).await;
    assert_eq!(desktop.preferences(), Preferences::default());

    let wanted = Preferences {
        language: Language::En,
        theme: Theme::Dark,
        autostart: true,
        notifications: false,
        close_to_tray: false,
        wizard_done: false,
    };
    let saved = desktop
        .save_preferences(wanted.clone())
        .await
        .expect("saved");
    assert_eq!(saved, wanted);
    assert_eq!(desktop.preferences(), wanted);
    let on_disk: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(on_disk["language"], "en");

    // "Try the demo" marks the wizard done and keeps the demo.
    desktop.start_demo().await.expect("demo");
    until_mode(&desktop, SessionMode::Demo).await;
    assert!(desktop.preferences().wizard_done);
    let settings = desktop.settings().await.expect("settings");
    assert_eq!(settings.preferences, desktop.preferences());
    assert!(!settings.connected);
    assert_eq!(settings.tunnel.provider, "none");

    // Tunnel choices: refused with what to do, saved without showing secrets.
    let tunnel = |provider: &str, address: Option<&str>, secret: Option<&str>| TunnelInput {
        provider: provider.into(),
        address: address.map(str::to_owned),
        secret: secret.map(str::to_owned),
    };
    let err = desktop
        .set_tunnel(tunnel("ngrok", None, None))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    assert!(err.message.contains("authtoken"), "{}", err.message);
    let err = desktop
        .set_tunnel(tunnel("carrier-pigeon", None, None))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    let err = desktop
        .set_tunnel(tunnel("url", None, None))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    let saved = desktop
        .set_tunnel(tunnel("ngrok", Some("office.ngrok.app"), Some("2abcTOKEN")))
        .await
        .expect("ngrok saved");
    assert_eq!(
        (
            saved.provider.as_str(),
            saved.address.as_deref(),
            saved.has_secret
        ),
        ("ngrok", Some("office.ngrok.app"), true)
    );
    // No secret given: the saved one is kept.
    let kept = desktop
        .set_tunnel(tunnel("ngrok", Some("other.ngrok.app"), None))
        .await
        .expect("ngrok kept");
    assert!(kept.has_secret);
    let settings = desktop.settings().await.expect("settings");
    assert_eq!(settings.tunnel, kept);
    assert!(!format!("{settings:?}").contains("2abcTOKEN"));
    let url = desktop
        .set_tunnel(tunnel(
            "url",
            Some("https://office.example.com/amosync"),
            None,
        ))
        .await
        .expect("own URL saved");
    assert_eq!(
        (
            url.provider.as_str(),
            url.address.as_deref(),
            url.has_secret
        ),
        ("url", Some("https://office.example.com/amosync"), false)
    );
    desktop
        .set_tunnel(tunnel("none", None, None))
        .await
        .expect("none");
    assert_eq!(desktop.mode(), SessionMode::Demo, "the demo kept running");
    desktop.shutdown().await;

    // A new session reads what was saved.
    let (again, _) = start(&folder).await;
    assert_eq!(
        again.preferences(),
        Preferences {
            wizard_done: true,
            ..wanted
        }
    );
    again.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_start_shows_with_its_action_and_sync_now_retries() {
    const NAME: &str = "a_failed_start_shows_with_its_action_and_sync_now_retries";
    if in_parent(NAME, false).await {
        return;
    }
    let emu = quick_emulator(LEADS).await;
    let folder = Folder::new();
    connect_with_token(&folder, &emu).await;
    // Another program holds the receiver's port.
    let squatter = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = squatter.local_addr().unwrap().port();
    let config_path = folder.data.join("config.json");
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
    config["listen"] = json!(format!("127.0.0.1:{port}"));
    std::fs::write(&config_path, config.to_string()).unwrap();

    let (desktop, sink) = start(&folder).await;
    let view = eventually("the failed start", || async {
        let v = desktop.sync_view();
        (v.mode == SessionMode::Stopped).then_some(v)
    })
    .await;
    let issue = view.issues.first().expect("an issue");
    assert_eq!(issue.action, Some(SyncAction::SyncNow), "{issue:?}");
    assert!(issue.message.contains(&port.to_string()), "{issue:?}");
    assert!(
        sink.all(events::SYNC)
            .iter()
            .any(|v| v["mode"] == "stopped"),
        "pushed"
    );
    let err = desktop.account().await.unwrap_err();
    // The issue says it in the user's language (Russian), with the error's words.
    assert!(issue.message.contains(&err.message), "{issue:?} / {err:?}");
    assert!(
        issue.message.starts_with("Синхронизация не запустилась"),
        "{issue:?}"
    );

    // The port is free again: "Sync now" starts the engine.
    drop(squatter);
    desktop
        .sync_action(SyncAction::SyncNow)
        .await
        .expect("retry");
    until_mode(&desktop, SessionMode::Embedded).await;
    desktop.account().await.expect("account");
    desktop.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_demo_that_exits_is_replaced_by_the_demo_in_process() {
    const NAME: &str = "a_terminal_demo_that_exits_is_replaced_by_the_demo_in_process";
    if in_parent(NAME, true).await {
        return;
    }
    let folder = Folder::new();
    let (leads, now) = (DEMO_LEADS.to_string(), NOW.to_string());
    // `amosync demo` in a terminal, on the folder the app opens.
    let mut child = served(&folder, &["demo", "--leads", &leads, "--now", &now]).await;
    let pid = child.id().expect("running");
    let demo = DataDir::new(folder.data.join("demo"));
    let served_by = |demo: &DataDir| {
        std::fs::read_to_string(demo.serve_path())
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .and_then(|v| v["pid"].as_u64())
    };
    assert_eq!(served_by(&demo), Some(u64::from(pid)));

    let (desktop, _sink) = start(&folder).await;
    let account = desktop
        .account()
        .await
        .expect("the terminal demo's account");
    assert_eq!(account.source, Source::Demo);
    assert_eq!(desktop.mode(), SessionMode::Demo);
    assert_eq!(served_by(&demo), Some(u64::from(pid)), "attached, not run");

    // The terminal demo exits: the app runs the demo itself, reads work.
    child.start_kill().expect("kill amosync demo");
    let _ = tokio::time::timeout(WAIT, child.wait()).await;
    let again = eventually("the demo in process", || async {
        let ours = served_by(&demo) == Some(u64::from(std::process::id()));
        if !ours {
            return None;
        }
        desktop.account().await.ok()
    })
    .await;
    assert_eq!(again.source, Source::Demo);
    assert_eq!(desktop.mode(), SessionMode::Demo);
    until_first_sync(&desktop).await;
    assert_eq!(desktop.sync_view().mode, SessionMode::Demo);
    desktop.shutdown().await;
}
