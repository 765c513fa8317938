//! Catch-up against the emulator: a full pull, then an incremental pass
//! after every webhook was dropped, both ending equal to the API's view,
//! within the rate limit (no 429).

mod support;

use std::time::Duration;

use amo_emulator::EmulatorConfig;
use serde_json::json;
use support::{Harness, u};

fn status_429(h: &Harness) -> u64 {
    h.emu
        .state()
        .stats()
        .by_status
        .get(&429)
        .copied()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_pull_then_incremental_after_dropped_webhooks() {
    let h = Harness::start(300).await;
    let engine = h.engine(h.config()).await;

    // Full pull.
    let report = engine.catch_up_now().await.expect("full pull");
    assert!(report.full, "{report:?}");
    assert!(report.leads > 250, "{report:?}");
    assert!(report.contacts > 0 && report.events > 0, "{report:?}");
    h.assert_all_synced().await;
    let state = h.store.sync_state().expect("state");
    assert!(
        state.initial_sync_at.is_some()
            && state.leads_cursor.is_some()
            && state.events_cursor.is_some()
    );
    assert!(!h.store.pipelines().expect("pipelines").is_empty());
    assert!(!h.store.users().expect("users").is_empty());
    // The binding (made without a zone) learned the account's time zone.
    let binding = h.store.binding().expect("binding").expect("bound");
    assert_eq!(binding.timezone.as_deref(), Some("Asia/Tbilisi"));
    assert_eq!(engine.status().last_catchup_at, state.last_catchup_at);
    assert!(state.companies_cursor.is_some(), "{state:?}");
    let companies = h.assert_companies_synced().await;
    assert!(
        companies > 0 && report.companies >= companies as u64,
        "{report:?}"
    );

    // Every webhook is lost from now on.
    h.webhook_faults(json!({"drop_rate": 1.0})).await;
    let pipelines = h.client.pipelines().await.expect("pipelines");
    let main = pipelines.iter().find(|p| p.is_main).expect("main");
    let open: Vec<u64> = main
        .statuses()
        .iter()
        .filter(|s| s.status_type == 0 && s.id != 142 && s.id != 143)
        .map(|s| s.id)
        .collect();
    let new_lead = u(&h
        .post(
            "/leads",
            json!({"name": "Потерянный вебхук", "price": 900, "contact": {"name": "Гиорги"}}),
        )
        .await["id"]);
    let leads: Vec<u64> = {
        let page = h
            .store
            .leads(&amosync_store::LeadsQuery {
                limit: Some(5),
                ..Default::default()
            })
            .expect("leads");
        page.items.iter().map(|r| r.lead.id).collect()
    };
    h.patch(
        &format!("/leads/{}", leads[0]),
        json!({"name": "Изменено без вебхука"}),
    )
    .await;
    h.post(
        &format!("/leads/{new_lead}/move"),
        json!({"status_id": open[2]}),
    )
    .await;
    h.delete(&format!("/leads/{}", leads[1])).await;
    let msg = h
        .post(
            "/messages",
            json!({"lead_id": leads[2], "text": "Сообщение без вебхука", "origin": "waba"}),
        )
        .await;
    let talk = u(&msg["talk_id"]);
    let company = amo::collect_all(h.client.companies(&amo::CompaniesQuery::new()))
        .await
        .expect("companies")
        .first()
        .map(|c| c.id)
        .expect("a seeded company");
    h.patch(
        &format!("/companies/{company}"),
        json!({"name": "Компания без вебхука"}),
    )
    .await;
    let new_company = u(&h
        .post("/companies", json!({"name": "Новая компания без вебхука"}))
        .await["id"]);
    h.settle(&engine).await;
    assert_eq!(
        engine.status().webhooks_accepted,
        0,
        "every webhook was dropped"
    );
    assert!(
        h.store.lead_record(new_lead).expect("read").is_none(),
        "not known before catch-up"
    );
    let stale = h
        .store
        .write(|tx| tx.company(company))
        .expect("read")
        .expect("company from the full pull");
    assert_ne!(stale.company.name, "Компания без вебхука");

    // Incremental pass.
    let report = engine.catch_up_now().await.expect("incremental");
    assert!(!report.full, "{report:?}");
    h.settle(&engine).await;
    h.assert_all_synced().await;
    h.assert_lead_synced(leads[1]).await;
    let deleted = h
        .store
        .lead_record(leads[1])
        .expect("read")
        .expect("tombstone");
    assert!(
        deleted.sync.deleted_at.is_some(),
        "deletion learnt from the events API"
    );
    let detail = h.store.lead(new_lead).expect("read").expect("detail");
    assert!(
        detail.history.iter().any(|c| c.to.status_id == open[2]),
        "status move learnt from the events API: {:?}",
        detail.history
    );
    let detail = h.store.lead(leads[2]).expect("read").expect("detail");
    assert!(
        detail.messages.iter().any(|m| m.talk_id == Some(talk)),
        "chat activity learnt from events"
    );
    assert!(
        detail
            .talks
            .iter()
            .any(|t| t.talk.talk_id == talk && t.talk.updated_at > 0),
        "talk read by id"
    );
    // Companies: the edit and the new one came back from the companies list.
    h.assert_companies_synced().await;
    let edited = h
        .store
        .write(|tx| tx.company(company))
        .expect("read")
        .expect("company");
    assert_eq!(edited.company.name, "Компания без вебхука");
    assert_eq!(edited.sync.origin, amosync_store::Origin::Api);
    assert!(
        h.store
            .write(|tx| tx.company(new_company))
            .expect("read")
            .is_some(),
        "new company read by the incremental pass"
    );
    assert!(report.companies >= 2, "{report:?}");
    assert_eq!(status_429(&h), 0, "never over the limit");
    engine.shutdown().await;
}

/// `SyncState.api_requests`/`api_429s` count what the API really received:
/// a standalone pass, then the engine's catch-up and fetcher side by side.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_usage_is_recorded_in_sync_state() {
    let h = Harness::start(40).await;
    let client = h.new_client();
    h.emu.state().reset_stats();
    let report = amosync_sync::catch_up(
        &h.store,
        &client,
        &amosync_sync::SystemClock,
        &amosync_sync::CatchupOptions::default(),
    )
    .await
    .expect("full pull");
    let stats = h.emu.state().stats();
    let state = h.store.sync_state().expect("state");
    assert!(stats.requests > 5, "{stats:?}");
    assert_eq!(state.api_requests, stats.requests, "{report:?}");
    assert_eq!(report.requests, stats.requests);
    assert_eq!(
        (state.api_429s, report.rate_limited, stats.rate_limited),
        (0, 0, 0)
    );

    // The engine: its catch-up, then webhooks confirmed by the fetcher.
    let engine = h.engine(h.config()).await;
    assert_eq!(engine.status().api_requests, state.api_requests);
    h.emu.state().reset_stats();
    let report = engine.catch_up_now().await.expect("incremental");
    let lead = u(&h.post("/leads", json!({"name": "Считаем запросы"})).await["id"]);
    h.settle(&engine).await;
    assert!(
        h.store
            .lead_record(lead)
            .expect("read")
            .is_some_and(|r| r.sync.origin == amosync_store::Origin::Api),
        "confirmed by the fetcher"
    );
    let stats = h.emu.state().stats();
    let now = h.store.sync_state().expect("state");
    assert!(
        stats.requests > report.requests,
        "the fetcher read too: {stats:?}"
    );
    assert_eq!(now.api_requests - state.api_requests, stats.requests);
    assert_eq!(now.api_429s, 0);
    let status = engine.status();
    assert_eq!(
        (status.api_requests, status.api_429s),
        (now.api_requests, 0)
    );
    engine.shutdown().await;
}

/// Figures for the report: a 5,000-lead full pull against the emulator at
/// the client's default 5 req/s. `cargo test -p amosync-sync --test catchup_live -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: ~1 min; prints throughput figures"]
async fn full_pull_throughput_5k() {
    let h = Harness::start_with(EmulatorConfig {
        seed: 7,
        leads: 5000,
        ..EmulatorConfig::default()
    })
    .await;
    h.emu.state().reset_stats();
    let started = std::time::Instant::now();
    let report = amosync_sync::catch_up(
        &h.store,
        &h.client,
        &amosync_sync::SystemClock,
        &amosync_sync::CatchupOptions::default(),
    )
    .await
    .expect("full pull");
    let elapsed = started.elapsed().as_secs_f64();
    let stats = h.emu.state().stats();
    let rate = h.client.config().rate_per_second;
    let lead_pages = (report.leads as f64 / 250.0).ceil();
    println!(
        "full pull: {report:?}\n elapsed {elapsed:.2} s; emulator saw {} requests ({} × 429); \
         limiter efficiency {:.3} (requests / (elapsed × {rate}/s)); leads-only bound {:.2} s",
        stats.requests,
        stats.by_status.get(&429).copied().unwrap_or(0),
        stats.requests as f64 / (elapsed * rate),
        lead_pages / rate,
    );
    assert_eq!(stats.by_status.get(&429).copied().unwrap_or(0), 0);
    h.assert_all_synced().await;
    // Incremental right after: cheap.
    h.emu.state().reset_stats();
    let report = amosync_sync::catch_up(
        &h.store,
        &h.client,
        &amosync_sync::SystemClock,
        &amosync_sync::CatchupOptions::default(),
    )
    .await
    .expect("incremental");
    println!(
        "incremental: {report:?}; emulator saw {} requests",
        h.emu.state().stats().requests
    );
    let _ = Duration::ZERO;
}
