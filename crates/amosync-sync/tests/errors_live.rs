//! API failures the engine must surface and survive: a revoked token stops
//! the fetcher (shown in the status) until a catch-up succeeds; 5xx is
//! retried with backoff and still converges.

mod support;

use serde_json::json;
use support::{Harness, WAIT, eventually, tick, u};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_token_stops_fetching_until_catch_up() {
    let h = Harness::start(5).await;
    let engine = h.engine(h.config()).await;
    let lead = u(&h.post("/leads", json!({"name": "До отзыва"})).await["id"]);
    h.settle(&engine).await;
    h.assert_lead_synced(lead).await;

    // The next API calls answer 401: the fetcher must stop, not loop.
    h.post("/faults/force", json!({"status": 401, "count": 1}))
        .await;
    tick().await;
    h.patch(&format!("/leads/{lead}"), json!({"name": "После отзыва"}))
        .await;
    assert!(h.emu.hub().wait_idle(WAIT).await);
    let mut status = engine.subscribe();
    let got = tokio::time::timeout(WAIT, status.wait_for(|s| s.last_error.is_some()))
        .await
        .expect("an error shows in the status")
        .expect("status channel")
        .clone();
    assert!(
        got.last_error
            .as_deref()
            .unwrap_or("")
            .contains("Reconnect"),
        "{got:?}"
    );
    let status = engine.status();
    assert_eq!(
        status.halted_code.as_deref(),
        Some("auth_revoked"),
        "{status:?}"
    );
    assert!(
        status.halted.as_deref().unwrap_or("").contains("Reconnect"),
        "{status:?}"
    );
    assert!(engine.settle(WAIT).await, "halted fetcher is idle");
    // The webhook version was applied; the API confirmation did not happen.
    let stored = h.store.lead_record(lead).expect("read").expect("lead");
    assert_eq!(stored.lead.name, "После отзыва");
    assert_eq!(stored.sync.origin, amosync_store::Origin::Webhook);

    // A successful catch-up resumes fetching and clears the error.
    engine
        .catch_up_now()
        .await
        .expect("catch-up after the fault");
    assert_eq!(engine.status().last_error, None);
    assert_eq!(
        (engine.status().halted, engine.status().halted_code),
        (None, None),
        "resumed"
    );
    tick().await;
    h.patch(&format!("/leads/{lead}"), json!({"price": 4200}))
        .await;
    h.settle(&engine).await;
    h.assert_lead_synced(lead).await;
    assert_eq!(
        h.store
            .lead_record(lead)
            .expect("read")
            .expect("lead")
            .sync
            .origin,
        amosync_store::Origin::Api
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_and_converge() {
    let h = Harness::start(5).await;
    let engine = h.engine(h.config()).await;
    // More 500s than the client's own retries: the fetcher backs off and requeues.
    h.post("/faults/force", json!({"status": 500, "count": 6}))
        .await;
    let lead = u(&h.post("/leads", json!({"name": "Сбой сервера"})).await["id"]);
    let start = std::time::Instant::now();
    eventually("the lead confirmed by the API", || {
        h.store
            .lead_record(lead)
            .ok()
            .flatten()
            .is_some_and(|r| r.sync.origin == amosync_store::Origin::Api)
    })
    .await;
    assert!(start.elapsed() < WAIT);
    h.settle(&engine).await;
    h.assert_lead_synced(lead).await;
    engine.shutdown().await;
}
