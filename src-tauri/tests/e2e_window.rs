//! End to end in a real window: the debug build under Xvfb, driven through
//! `tauri-driver` + `WebKitWebDriver`. Run by `scripts/test.sh` as
//! `xvfb-run cargo nextest run -p amosync-desktop --run-ignored only`.
//!
//! Two launches cover the issue's "Done when":
//! * the demo — wizard, "Try the demo", the funnel equal to what
//!   `amosync funnel --json` answers for the app's own store, a lead moved in
//!   the emulator reaching the funnel and the leads table within 2 s without
//!   a reload, the language switch, and a screenshot of every view;
//! * the wizard against an emulator's OAuth through the `amosync://` deep
//!   link (a second launch hands it over), the checklist, the funnel of the
//!   connected account, then the sync pill showing the webhook amoCRM
//!   disabled, and its re-registration.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use amo_emulator::{Emulator, EmulatorConfig};
use amosync::cli::query::{self, Query};
use amosync::config::DataDir;
use serde_json::{Value, json};
use support::{AppEnv, Driver, PaintedStatus, Proc, Window, approve, money_matches, tid};

const DEMO_LEADS: usize = 300;
/// «Первичка», the main pipeline of the emulator's sample account.
const MAIN_PIPELINE_NAME: &str = "Первичка";
/// What the issue allows from an office change to the window showing it.
const LIVE_BOUND: Duration = Duration::from_secs(2);
const WAIT: Duration = Duration::from_secs(30);

/// `amosync funnel --json --pipeline ID --time-in-status`: the library call
/// the CLI makes, answered by whoever holds the store (the running app).
async fn cli_funnel(data: &Path, pipeline: Option<u64>) -> Value {
    tokio::time::timeout(
        Duration::from_secs(20),
        query::run(
            &DataDir::new(data),
            Query::Funnel {
                pipeline,
                time_in_status: true,
                created: None,
                closed: None,
                responsible: vec![],
            },
        ),
    )
    .await
    .expect("the funnel query answered within 20 s")
    .unwrap_or_else(|e| panic!("amosync funnel on {}: {e}", data.display()))
}

/// The main pipeline's funnel as the CLI prints it.
async fn cli_main_funnel(data: &Path) -> Value {
    let all = cli_funnel(data, None).await;
    let id = all
        .as_array()
        .expect("funnels")
        .iter()
        .find(|f| f["pipeline_name"] == MAIN_PIPELINE_NAME)
        .unwrap_or_else(|| panic!("no «{MAIN_PIPELINE_NAME}» among {all}"))["pipeline_id"]
        .as_u64()
        .expect("pipeline_id");
    cli_funnel(data, Some(id)).await
}

/// Differences between the painted funnel and the CLI's (empty = equal).
async fn funnel_differences(win: &Window, want: &Value) -> Vec<String> {
    let rows = win.funnel_rows().await;
    let statuses = want["statuses"].as_array().expect("statuses");
    let mut diff = Vec::new();
    if rows.is_empty() {
        diff.push("no funnel-row painted".to_owned());
        return diff;
    }
    for s in statuses {
        let id = s["status_id"].as_u64().expect("status_id");
        let name = s["name"].as_str().unwrap_or_default();
        let kind = s["kind"].as_str().unwrap_or_default();
        let count = s["count"].as_u64().unwrap_or(0);
        let money = s["price_sum"].as_i64().unwrap_or(0);
        match rows.iter().find(|r| r.status_id == id) {
            None if kind == "open" => diff.push(format!("status {id} «{name}» has no row")),
            None => {} // won and lost may be painted apart (won-count / lost-count)
            Some(r) => {
                if r.count != Some(count) {
                    diff.push(format!(
                        "«{name}» ({id}): painted count {:?}, CLI {count}",
                        r.count
                    ));
                }
                if !money_matches(r, money) {
                    diff.push(format!(
                        "«{name}» ({id}): painted money {:?}, CLI {money}",
                        r.money
                    ));
                }
                if !r.text.contains(name) {
                    diff.push(format!(
                        "row {id} does not show the name «{name}»: {:?}",
                        r.text
                    ));
                }
            }
        }
    }
    for r in &rows {
        if !statuses.iter().any(|s| s["status_id"] == r.status_id) {
            diff.push(format!(
                "a painted row {} is not in the CLI's funnel",
                r.status_id
            ));
        }
    }
    for (testid, key) in [("won-count", "won_count"), ("lost-count", "lost_count")] {
        let painted = win.text(&tid(testid)).await;
        let want = want[key].as_u64().unwrap_or(0);
        if painted.as_deref().and_then(support::digits) != Some(want) {
            diff.push(format!("{testid}: painted {painted:?}, CLI {want}"));
        }
    }
    diff
}

/// Waits (bounded) until the painted funnel equals the CLI's answer, which
/// is asked again each round (a first sync may still be filling the store).
async fn assert_funnel_equals_cli(win: &Window, data: &Path, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let want = cli_main_funnel(data).await;
        let diff = funnel_differences(win, &want).await;
        if diff.is_empty() {
            return want;
        }
        if Instant::now() >= deadline {
            panic!(
                "the painted funnel differs from `amosync funnel --json` after {within:?}:\n  {}",
                diff.join("\n  ")
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until the demo's first full catch-up has finished: until then the
/// store (and so both funnels) holds only the pages read so far, and a busy
/// machine can paint a funnel whose open statuses are all still empty.
async fn wait_first_sync(data: &Path, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let status = query::run(&DataDir::new(data), Query::Status).await;
        if let Ok(s) = &status
            && !s["sync"]["initial_sync_at"].is_null()
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the demo's first sync did not finish within {within:?}: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Makes the pipeline picker show `pipeline_id` (the default should already).
async fn show_pipeline(win: &Window, pipeline_id: u64) {
    let current = win
        .js(
            "const el = document.querySelector(arguments[0]); return el ? el.value : null;",
            vec![json!(tid("pipeline"))],
        )
        .await;
    if current.as_str() != Some(&pipeline_id.to_string()) {
        eprintln!("the picker shows pipeline {current}; choosing {pipeline_id}");
        win.select("pipeline", &pipeline_id.to_string()).await;
    }
}

/// The texts of the navigation.
async fn nav_labels(win: &Window) -> Vec<String> {
    let mut out = Vec::new();
    for id in [
        "nav-funnel",
        "nav-leads",
        "nav-chats",
        "nav-sync",
        "nav-settings",
    ] {
        out.push(
            win.text(&tid(id))
                .await
                .unwrap_or_default()
                .trim()
                .to_owned(),
        );
    }
    out
}

/// The visible headings.
async fn headings(win: &Window) -> Vec<String> {
    win.js_strings(
        "return [...document.querySelectorAll('h1, h2, h3, th')].map(e => e.innerText.trim()).filter(t => t);",
        vec![],
    )
    .await
}

fn cyrillic(s: &str) -> bool {
    s.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c))
}

/// Goes to a view through the navigation and waits for its marker.
async fn go(win: &Window, nav: &str, marker: &str) {
    win.click(nav).await;
    win.wait_tid(marker, WAIT).await;
}

/// Polls (25 ms) until `check` holds; the time it took from `since`.
async fn live<F, Fut>(what: &str, since: Instant, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let give_up = since + Duration::from_secs(15);
    loop {
        if check().await {
            let took = since.elapsed();
            eprintln!("live: {what} shown after {} ms", took.as_millis());
            return took;
        }
        assert!(
            Instant::now() < give_up,
            "live: {what} did not show within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A lead of the main pipeline in an open status, and two other open statuses.
struct Move {
    lead_id: u64,
    lead_name: String,
    from: (u64, String),
    to: (u64, String),
    then: (u64, String),
}

async fn pick_move(data: &Path, funnel: &Value) -> Move {
    let open: Vec<(u64, String, u64)> = funnel["statuses"]
        .as_array()
        .expect("statuses")
        .iter()
        .filter(|s| s["kind"] == "open")
        .map(|s| {
            (
                s["status_id"].as_u64().unwrap(),
                s["name"].as_str().unwrap_or_default().to_owned(),
                s["count"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let from = open
        .iter()
        .find(|s| s.2 > 0)
        .expect("an open status with leads")
        .clone();
    let others: Vec<_> = open.iter().filter(|s| s.0 != from.0).cloned().collect();
    assert!(others.len() >= 2, "two other open statuses");
    let leads = query::run(
        &DataDir::new(data),
        Query::Leads {
            search: None,
            pipeline: funnel["pipeline_id"].as_u64(),
            status: Some(from.0),
            limit: Some(1),
            offset: 0,
            include_deleted: false,
        },
    )
    .await
    .expect("amosync leads");
    let lead = &leads.as_array().expect("leads")[0];
    Move {
        lead_id: lead["id"].as_u64().expect("lead id"),
        lead_name: lead["name"].as_str().unwrap_or_default().to_owned(),
        from: (from.0, from.1),
        to: (others[0].0, others[0].1.clone()),
        then: (others[1].0, others[1].1.clone()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a display, tauri-driver and WebKitWebDriver: run by scripts/test.sh under xvfb-run"]
async fn the_demo_paints_the_cli_funnel_live_in_both_languages() {
    let _slot = support::window_slot();
    // The demo's history around the real "now": catch-up reads the last
    // 7 days of events, where the talks are found.
    let env = AppEnv::new().set("AMOSYNC_DEMO_LEADS", DEMO_LEADS);
    let demo_dir = env.data.join("demo");
    let driver = Driver::start(&env);
    let win = driver.open().await;

    // First run: the wizard, with the way into the demo.
    win.wait_tid("wizard", WAIT).await;
    win.wait_tid("try-demo", WAIT).await;
    win.screenshot("wizard", "ru").await;
    win.click("try-demo").await;
    win.wait_ready(Duration::from_secs(60)).await;
    win.wait_tid("funnel-row", WAIT).await;
    let painted_at = win.wait_funnel_painted(WAIT).await;
    eprintln!("funnel painted at {painted_at}");
    wait_first_sync(&demo_dir, Duration::from_secs(90)).await;
    assert_eq!(
        win.attr(&tid("sync-pill"), "data-mode").await.as_deref(),
        Some("demo"),
        "the pill says demo"
    );

    // The numbers are the CLI's for the app's own store (asked through its
    // control channel: the app holds the store).
    let want = cli_main_funnel(&demo_dir).await;
    let main_id = want["pipeline_id"].as_u64().expect("pipeline id");
    assert_eq!(
        want["statuses"].as_array().map(Vec::len),
        Some(21),
        "«Первичка» has 21 statuses"
    );
    show_pipeline(&win, main_id).await;
    let want = assert_funnel_equals_cli(&win, &demo_dir, Duration::from_secs(20)).await;
    let rows: Vec<PaintedStatus> = win.funnel_rows().await;
    assert!(
        rows.iter().any(|r| r.text.contains("Неразобранное")),
        "Cyrillic status names intact: {rows:?}"
    );
    win.screenshot("funnel", "ru").await;

    // Live: the office moves a lead; the funnel follows within 2 s, no reload.
    // The demo's emulator is locked: its control API wants the per-run
    // secret the demo keeps in DATA/demo/emulator.json (0600).
    let emulator = amosync::cli::demo::EmulatorFile::read(&DataDir::new(&demo_dir))
        .ok()
        .flatten()
        .expect("DATA/demo/emulator.json names the demo emulator and its secret");
    let base = emulator.base_url.clone();
    let mv = pick_move(&demo_dir, &want).await;
    let mark = win.mark_page().await;
    let from_before = win.status_count(mv.from.0).await.expect("from count");
    let to_before = win.status_count(mv.to.0).await.expect("to count");
    let t0 = Instant::now();
    support::control_locked(
        &base,
        &emulator.control_secret,
        &format!("/leads/{}/move", mv.lead_id),
        json!({"status_id": mv.to.0}),
    )
    .await;
    let (w, from_id, to_id) = (&win, mv.from.0, mv.to.0);
    let funnel_latency = live("the move in the funnel", t0, || async move {
        w.status_count(from_id).await == Some(from_before - 1)
            && w.status_count(to_id).await == Some(to_before + 1)
    })
    .await;
    win.assert_not_reloaded(mark).await;
    assert_funnel_equals_cli(&win, &demo_dir, Duration::from_secs(5)).await;

    // The leads table, searched by the lead's name, follows the next move.
    go(&win, "nav-leads", "leads-table").await;
    win.fill("search", &mv.lead_name).await;
    let row = format!("{}[data-lead-id=\"{}\"]", tid("lead-row"), mv.lead_id);
    win.wait_css(&row, WAIT).await;
    let shows = |status: String| {
        let row = row.clone();
        let win = &win;
        async move {
            win.text(&row)
                .await
                .is_some_and(|t| t.contains(status.as_str()))
        }
    };
    assert!(
        shows(mv.to.1.clone()).await,
        "the row shows «{}»: {:?}",
        mv.to.1,
        win.text(&row).await
    );
    let t0 = Instant::now();
    support::control_locked(
        &base,
        &emulator.control_secret,
        &format!("/leads/{}/move", mv.lead_id),
        json!({"status_id": mv.then.0}),
    )
    .await;
    let table_latency = live("the move in the leads table", t0, || {
        shows(mv.then.1.clone())
    })
    .await;
    win.assert_not_reloaded(mark).await;
    eprintln!(
        "LIVE LATENCY: funnel {} ms, leads table {} ms (bound {} ms)",
        funnel_latency.as_millis(),
        table_latency.as_millis(),
        LIVE_BOUND.as_millis()
    );
    assert!(
        funnel_latency <= LIVE_BOUND,
        "the funnel showed the move after {funnel_latency:?}"
    );
    assert!(
        table_latency <= LIVE_BOUND,
        "the leads table showed the move after {table_latency:?}"
    );
    assert!(
        win.text(&tid("leads-total"))
            .await
            .and_then(|t| support::digits(&t))
            .is_some(),
        "leads-total shows a number"
    );

    // The detail panel.
    win.click("lead-row").await;
    win.wait_tid("lead-panel", WAIT).await;
    win.screenshot("leads", "ru").await;

    // Chats: the talks the store holds (the CLI's `amosync talks`), or the empty state.
    let talks = query::run(
        &DataDir::new(&demo_dir),
        Query::Talks {
            lead: None,
            limit: Some(5),
        },
    )
    .await
    .expect("amosync talks");
    win.click("nav-chats").await;
    if talks.as_array().is_some_and(|t| !t.is_empty()) {
        win.wait_tid("chats-list", WAIT).await;
        win.wait_tid("talk-row", WAIT).await;
    } else {
        eprintln!("the demo store holds no talks: the chats view's empty state");
        win.wait_tid("empty", WAIT).await;
    }
    win.screenshot("chats", "ru").await;
    go(&win, "nav-sync", "sync-pill").await;
    win.screenshot("sync", "ru").await;
    go(&win, "nav-settings", "language").await;
    win.screenshot("settings", "ru").await;

    // Language: English at once, every label; then back to Russian.
    let ru_nav = nav_labels(&win).await;
    assert!(
        ru_nav.iter().all(|l| cyrillic(l)),
        "Russian by default: {ru_nav:?}"
    );
    let t0 = Instant::now();
    win.select("language", "en").await;
    win.until(
        "the navigation in English",
        Duration::from_secs(2),
        r#"return ['nav-funnel','nav-leads','nav-chats','nav-sync','nav-settings'].every(id => {
             const el = document.querySelector('[data-testid="' + id + '"]');
             return el && el.innerText.trim() && !/[\u0400-\u04FF]/.test(el.innerText);
           });"#,
        vec![],
    )
    .await;
    eprintln!("language switch: {} ms", t0.elapsed().as_millis());
    let en_nav = nav_labels(&win).await;
    let en_heads = headings(&win).await;
    assert!(
        en_heads.iter().all(|h| !cyrillic(h)),
        "settings headings in English: {en_heads:?}"
    );
    win.assert_not_reloaded(mark).await;
    win.screenshot("settings", "en").await;
    go(&win, "nav-funnel", "funnel-row").await;
    let en_heads = headings(&win).await;
    assert!(
        en_heads
            .iter()
            .filter(|h| !want["statuses"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["name"].as_str() == Some(h.as_str())))
            .all(|h| !cyrillic(h)),
        "funnel headings in English (status names stay Cyrillic): {en_heads:?}"
    );
    win.screenshot("funnel", "en").await;
    go(&win, "nav-leads", "leads-table").await;
    if win.exists(&tid("lead-row")).await && !win.exists(&tid("lead-panel")).await {
        win.click("lead-row").await;
        win.wait_tid("lead-panel", WAIT).await;
    }
    win.screenshot("leads", "en").await;
    win.click("nav-chats").await;
    win.wait_css(
        "[data-testid=\"chats-list\"], [data-testid=\"empty\"]",
        WAIT,
    )
    .await;
    win.screenshot("chats", "en").await;
    go(&win, "nav-sync", "sync-pill").await;
    win.screenshot("sync", "en").await;
    go(&win, "nav-settings", "language").await;
    win.select("language", "ru").await;
    win.until(
        "the navigation back in Russian",
        Duration::from_secs(2),
        r#"return ['nav-funnel','nav-leads','nav-chats','nav-sync','nav-settings'].every(id => {
             const el = document.querySelector('[data-testid="' + id + '"]');
             return el && /[\u0400-\u04FF]/.test(el.innerText);
           });"#,
        vec![],
    )
    .await;
    assert_eq!(nav_labels(&win).await, ru_nav, "the same Russian labels");
    assert_ne!(en_nav, ru_nav);
    win.assert_not_reloaded(mark).await;

    win.close().await;
    drop(driver);
}

/// The painted funnel equals the emulator account's own numbers (live
/// leads per status of the main pipeline, straight from its world).
fn emulator_counts(emu: &Emulator) -> (u64, Vec<(u64, u64)>) {
    let w = emu.world();
    let main = w
        .pipelines
        .iter()
        .find(|p| p.is_main)
        .expect("a main pipeline");
    let counts = main
        .statuses
        .iter()
        .map(|s| {
            let n = w
                .leads
                .values()
                .filter(|l| !l.is_deleted && l.pipeline_id == main.id && l.status_id == s.id)
                .count() as u64;
            (s.id, n)
        })
        .collect();
    (main.id, counts)
}

/// Our webhook in the emulator's registry (the app registered one only).
fn our_hook_disabled(emu: &Emulator) -> Option<bool> {
    let hooks = emu.hub().list(None);
    hooks.first().map(|h| h.disabled)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a display, tauri-driver, WebKitWebDriver and dbus-daemon: run by scripts/test.sh under xvfb-run"]
async fn the_wizard_connects_through_the_deep_link_and_the_pill_sees_a_disabled_webhook() {
    let _slot = support::window_slot();
    let emu = Emulator::start(EmulatorConfig {
        leads: 200,
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator");
    let base = emu.base_url();
    let integration = emu.register_integration("amosync://oauth/callback");
    let env = AppEnv::new()
        .set("AMOSYNC_DEMO_LEADS", DEMO_LEADS)
        .set("AMOSYNC_WEBHOOK_CHECK_SECS", 2);
    let driver = Driver::start(&env);
    let win = driver.open().await;

    // The wizard: a custom address (the emulator), the integration's keys.
    win.wait_tid("wizard", WAIT).await;
    win.select("site", "custom").await;
    win.fill("base-url", &base).await;
    if win.exists(&tid("subdomain")).await {
        let sub = emu.world().account.subdomain.clone();
        // Some layouts keep it for custom sites too; harmless when ignored.
        let editable = win
            .js(
                "const el = document.querySelector(arguments[0]); return !!el && !el.disabled && el.offsetParent !== null;",
                vec![json!(tid("subdomain"))],
            )
            .await;
        if editable == json!(true) {
            win.fill("subdomain", &sub).await;
        }
    }
    win.fill("client-id", &integration.client_id).await;
    win.fill("client-secret", integration.client_secret.expose())
        .await;
    win.fill("redirect-uri", &integration.redirect_uri).await;
    win.click("connect").await;

    // The browser part: the authorize page, Allow, the amosync:// link.
    let authorize = win
        .until(
            "the authorize URL",
            WAIT,
            r#"const el = document.querySelector('[data-testid="authorize-url"]');
               if (!el) return null;
               const v = el.getAttribute('href') || el.value || el.innerText;
               return v && v.startsWith('http') ? v.trim() : null;"#,
            vec![],
        )
        .await
        .as_str()
        .expect("url")
        .to_owned();
    assert!(
        authorize.starts_with(&base),
        "the authorize page is the emulator's: {authorize}"
    );
    win.assert_no_secret_path("wizard").await;
    let link = approve(&authorize).await;
    assert!(link.starts_with("amosync://oauth/callback?"), "{link}");
    let mut second = Proc::new(
        "amosync-desktop (second launch)",
        env.command(Some(&link)).spawn().expect("second launch"),
    );
    let _lines = support::lines_of(second.child(), "second");
    assert_eq!(
        second.wait_exit(WAIT),
        Some(0),
        "the second launch hands the link to the running app and exits 0"
    );

    // The checklist fills in live.
    for check in ["check-authorised", "check-webhook", "check-sync"] {
        win.until(
            &format!("{check} ticked"),
            Duration::from_secs(60),
            "const el = document.querySelector(arguments[0]); return !!el && el.getAttribute('data-done') === 'true';",
            vec![json!(tid(check))],
        )
        .await;
    }
    win.screenshot("wizard_done", "ru").await;
    let stats = emu.oauth_stats();
    assert_eq!(stats.codes_exchanged, 1, "one code exchanged");
    win.click("wizard-finish").await;
    win.wait_tid("funnel-row", WAIT).await;
    win.wait_ready(WAIT).await;

    // The funnel is the emulator account's: the CLI over the app's store,
    // and the emulator's own per-status counts.
    let (main_id, counts) = emulator_counts(&emu);
    show_pipeline(&win, main_id).await;
    assert_funnel_equals_cli(&win, &env.data, Duration::from_secs(20)).await;
    let rows = win.funnel_rows().await;
    for (status, n) in &counts {
        if let Some(r) = rows.iter().find(|r| r.status_id == *status) {
            assert_eq!(
                r.count,
                Some(*n),
                "status {status}: the emulator holds {n} leads"
            );
        }
    }
    win.until(
        "the pill: embedded, webhook registered",
        WAIT,
        "const p = document.querySelector(arguments[0]); return !!p && p.getAttribute('data-mode') === 'embedded' && p.getAttribute('data-webhook') === 'registered';",
        vec![json!(tid("sync-pill"))],
    )
    .await;
    assert_eq!(our_hook_disabled(&emu), Some(false), "the hook is live");

    // amoCRM disables the hook: every delivery times out (1 ms) and one
    // invalid answer is over the threshold.
    win.js(
        r#"window.__webhookSeen = [];
           const pill = document.querySelector('[data-testid="sync-pill"]');
           const note = () => window.__webhookSeen.push(pill.getAttribute('data-webhook'));
           note();
           new MutationObserver(note).observe(pill, {attributes: true, attributeFilter: ['data-webhook']});
           return true;"#,
        vec![],
    )
    .await;
    go(&win, "nav-sync", "sync-pill").await;
    support::control(
        &base,
        "/webhooks/config",
        json!({"disable_threshold": 0, "retry_delays_ms": [], "timeout_ms": 1}),
    )
    .await;
    for i in 0..20 {
        if our_hook_disabled(&emu) == Some(true) {
            break;
        }
        support::control(&base, "/leads", json!({"name": format!("Недоставка {i}")})).await;
        assert!(
            emu.hub().wait_idle(Duration::from_secs(10)).await,
            "deliveries pending"
        );
    }
    assert_eq!(
        our_hook_disabled(&emu),
        Some(true),
        "the emulator disabled the hook"
    );
    let disabled_at = Instant::now();
    support::control(
        &base,
        "/webhooks/config",
        json!({"disable_threshold": 100, "timeout_ms": 2000}),
    )
    .await;
    // Slow API answers keep the Disabled state on screen while the keeper
    // registers the hook again.
    support::control(
        &base,
        "/faults/api",
        json!({"slow_rate": 1.0, "slow_ms": 1500}),
    )
    .await;
    let seen = win
        .until(
            "the pill showing data-webhook=disabled",
            Duration::from_secs(12),
            "return (window.__webhookSeen || []).includes('disabled') ? window.__webhookSeen : null;",
            vec![],
        )
        .await;
    eprintln!(
        "webhook disabled shown after {} ms (states seen: {seen})",
        disabled_at.elapsed().as_millis()
    );
    if win.attr(&tid("sync-pill"), "data-webhook").await.as_deref() == Some("disabled") {
        win.screenshot("sync_disabled", "ru").await;
    }
    support::control(&base, "/faults/reset", json!({})).await;
    let reregister =
        "[data-testid=\"reregister-webhook\"], [data-testid=\"action-reregister_webhook\"]";
    if win.attr(&tid("sync-pill"), "data-webhook").await.as_deref() == Some("disabled")
        && win.exists(reregister).await
    {
        win.js(
            "document.querySelector(arguments[0]).click(); return true;",
            vec![json!(reregister)],
        )
        .await;
    }
    win.until(
        "the pill back to registered",
        Duration::from_secs(20),
        "const p = document.querySelector(arguments[0]); return !!p && p.getAttribute('data-webhook') === 'registered';",
        vec![json!(tid("sync-pill"))],
    )
    .await;
    assert_eq!(our_hook_disabled(&emu), Some(false), "registered again");
    win.assert_no_secret_path("sync").await;

    win.close().await;
    drop(driver);
    emu.shutdown().await;
}
