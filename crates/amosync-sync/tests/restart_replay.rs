//! A restart applies what the log holds unapplied (e.g. after a crash
//! between the 200 and the applier), and the fetcher confirms it.

mod support;

use amo::webhook::events::{LeadAction, LeadEvent};
use amo::webhook::{AccountBlock, WebhookEvent, WebhookPayload};
use amosync_store::{EventLogQuery, EventOutcome, RawEvent};
use serde_json::json;
use support::{Harness, u};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_replays_unapplied_log_entries() {
    let h = Harness::start(5).await;
    // A lead changed while nothing listened.
    let lead = u(&h
        .post("/leads", json!({"name": "До сбоя", "price": 10}))
        .await["id"]);
    h.patch(&format!("/leads/{lead}"), json!({"name": "После сбоя"}))
        .await;
    let api = h.api_lead(lead).await.expect("lead");

    // The log holds its webhook, acknowledged but never applied.
    let payload = WebhookPayload {
        account: AccountBlock {
            subdomain: h.subdomain.clone(),
            id: Some(h.account_id),
            ..AccountBlock::default()
        },
        events: vec![WebhookEvent::Lead {
            action: LeadAction::Update,
            lead: LeadEvent {
                id: lead,
                name: Some(api.name.clone()),
                status_id: Some(api.status_id),
                pipeline_id: Some(api.pipeline_id),
                updated_at: Some(api.updated_at),
                ..LeadEvent::default()
            },
        }],
        errors: Vec::new(),
        anomalies: Vec::new(),
    };
    let body = amo::webhook::encode(&payload);
    h.store
        .append_events(&[RawEvent {
            received_at_ms: 1,
            body: body.into_bytes(),
        }])
        .expect("logged");
    assert_eq!(h.store.pending_events(10).expect("pending").len(), 1);

    let engine = amosync_sync::Engine::start(
        h.store.clone(),
        h.new_client(),
        std::sync::Arc::new(amosync_sync::SystemClock),
        h.config(),
    )
    .await
    .expect("engine");
    assert!(engine.settle(support::WAIT).await, "{:?}", engine.status());
    assert!(h.store.pending_events(10).expect("pending").is_empty());
    let logged = h.store.events(&EventLogQuery::default()).expect("log");
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].outcome, Some(EventOutcome::Applied { events: 1 }));
    h.assert_lead_synced(lead).await;
    let stored = h.store.lead_record(lead).expect("read").expect("lead");
    assert_eq!(
        stored.sync.origin,
        amosync_store::Origin::Api,
        "confirmed by the fetcher"
    );
    assert_eq!(stored.lead.name, "После сбоя");
    engine.shutdown().await;

    // A second restart has nothing to replay.
    let engine = amosync_sync::Engine::start(
        h.store.clone(),
        h.new_client(),
        std::sync::Arc::new(amosync_sync::SystemClock),
        h.config(),
    )
    .await
    .expect("engine");
    assert_eq!(engine.status().events_pending, 0);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_keeps_every_acknowledged_webhook() {
    let h = Harness::start(5).await;
    let engine = h.engine(h.config()).await;
    let url = engine.webhook_url();
    let acct = format!(
        "account%5Bsubdomain%5D={}&account%5Bid%5D={}",
        h.subdomain, h.account_id
    );
    // Fire many webhooks, then shut down while they are in flight.
    let mut sent = Vec::new();
    for i in 0..200u64 {
        let http = h.http.clone();
        let url = url.clone();
        let body = format!(
            "leads%5Bdelete%5D%5B0%5D%5Bid%5D={}&{acct}",
            900_000_000 + i
        );
        sent.push(tokio::spawn(async move {
            http.post(&url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    engine.shutdown().await;
    let mut ok = 0;
    for s in sent {
        if s.await.expect("join") == 200 {
            ok += 1;
        }
    }
    let logged = h
        .store
        .events(&EventLogQuery {
            limit: Some(1000),
            ..EventLogQuery::default()
        })
        .expect("log")
        .len();
    assert!(
        logged >= ok,
        "every 200 is in the log: {ok} acknowledged, {logged} logged"
    );
}
