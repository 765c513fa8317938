//! The webhook is a hint, the API read is the truth — against the emulator
//! over real HTTP and a real redb file:
//! * a body dating a real lead in the year 2100 does not outvote the
//!   fetcher's read;
//! * a record dated in the future does not stop catch-up repairing lost
//!   webhooks;
//! * a forged status move and a forged message time do not stand after the
//!   API reads them;
//! * one body naming thousands of talk ids costs a bounded number of
//!   `GET /talks/{id}`, and another body's lead is still confirmed.
//!
//! The engine's webhook is *not* registered with the emulator: every body
//! the receiver sees here is one the test posted.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use amosync_store::{Direction, Origin};
use amosync_sync::talk_reads::TALK_READS_PER_BODY;
use amosync_sync::{CatchupOptions, Engine, EngineHandle, SystemClock, catch_up};
use serde_json::json;
use support::{Harness, eventually, tick, u};

const YEAR_2100: i64 = 4_102_444_800;

/// PHP `urlencode`: only `A-Z a-z 0-9 - _ .` kept, space as `+`.
fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn form(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn pairs(list: &[(&str, String)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// The account block of the bound account.
fn account(h: &Harness) -> Vec<(String, String)> {
    pairs(&[
        ("account[subdomain]", h.subdomain.clone()),
        ("account[id]", h.account_id.to_string()),
    ])
}

/// A started engine (no catch-up, no webhook registered) over a fully
/// pulled store.
async fn pulled_engine(h: &Harness) -> EngineHandle {
    catch_up(
        &h.store,
        &h.new_client(),
        &SystemClock,
        &CatchupOptions::default(),
    )
    .await
    .expect("full pull");
    Engine::start(
        h.store.clone(),
        h.new_client(),
        Arc::new(SystemClock),
        h.config(),
    )
    .await
    .expect("engine starts")
}

async fn post(h: &Harness, engine: &EngineHandle, body: String) {
    let r = h
        .http
        .post(engine.webhook_url())
        .header("content-type", "application/x-www-form-urlencoded")
        .header("user-agent", "amoCRM-WebHook-client/1.0")
        .body(body)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 200, "acknowledged");
}

/// Any lead of the account, as the API has it.
async fn some_lead(h: &Harness, skip: usize) -> amo::models::Lead {
    let leads = amo::collect_all(h.client.leads(&amo::LeadsQuery::new()))
        .await
        .expect("leads");
    leads
        .into_iter()
        .filter(|l| l.status_id != 142 && l.status_id != 143)
        .nth(skip)
        .expect("an open lead")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_dated_2100_gives_way_to_the_fetchers_read() {
    let h = Harness::start(10).await;
    let engine = pulled_engine(&h).await;
    let real = some_lead(&h, 0).await;
    let mut body = pairs(&[
        ("leads[update][0][id]", real.id.to_string()),
        ("leads[update][0][name]", "Подделка".into()),
        ("leads[update][0][price]", "999999".into()),
        ("leads[update][0][status_id]", real.status_id.to_string()),
        (
            "leads[update][0][pipeline_id]",
            real.pipeline_id.to_string(),
        ),
        ("leads[update][0][updated_at]", YEAR_2100.to_string()),
        ("leads[update][0][last_modified]", YEAR_2100.to_string()),
    ]);
    body.extend(account(&h));
    post(&h, &engine, form(&body)).await;
    h.settle(&engine).await;
    // The fetcher read the lead after the hint: amoCRM's version stands.
    h.assert_lead_synced(real.id).await;
    let stored = h.store.lead_record(real.id).expect("read").expect("stored");
    assert_eq!(
        (
            stored.lead.price,
            stored.lead.updated_at,
            stored.sync.origin
        ),
        (real.price, real.updated_at, Origin::Api)
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_dated_in_the_future_does_not_stop_catch_up_repairing_lost_webhooks() {
    let h = Harness::start(10).await;
    let client = h.new_client();
    let opts = CatchupOptions::default();
    catch_up(&h.store, &client, &SystemClock, &opts)
        .await
        .expect("full pull");
    // One record amoCRM dates in 2030 (a bad import, a clock gone wrong).
    let future = some_lead(&h, 0).await.id;
    h.emu
        .world()
        .leads
        .get_mut(&future)
        .expect("lead")
        .updated_at = 1_900_000_000;
    catch_up(&h.store, &client, &SystemClock, &opts)
        .await
        .expect("pass reading the 2030 record");
    let state = h.store.sync_state().expect("state");
    let now = now_s();
    assert!(
        state.leads_cursor.is_some_and(|c| c <= now),
        "cursor capped at the request's start: {:?} (now {now})",
        state.leads_cursor
    );
    // A change whose webhook was lost (none is registered).
    tick().await;
    let other = some_lead(&h, 1).await.id;
    h.patch(
        &format!("/leads/{other}"),
        json!({"name": "Изменено без вебхука", "price": 4321}),
    )
    .await;
    catch_up(&h.store, &client, &SystemClock, &opts)
        .await
        .expect("next pass");
    h.assert_lead_synced(other).await;
    let stored = h.store.lead_record(other).expect("read").expect("stored");
    assert_eq!(stored.lead.price, 4321, "the lost webhook is repaired");
}

fn now_s() -> i64 {
    use amosync_sync::Clock;
    SystemClock.now_s()
}

/// The `message[add]` body of `message_id` in `talk_id` with its
/// `created_at` replaced by `at`.
fn message_body_at(h: &Harness, talk_id: u64, message_id: &str, text: &str, at: i64) -> String {
    let body = h
        .emu
        .incoming_message_body(talk_id, message_id, text)
        .expect("known talk");
    body.split('&')
        .map(|pair| {
            let (k, _) = pair.split_once('=').unwrap_or((pair, ""));
            let key = k.replace("%5B", "[").replace("%5D", "]");
            if key == "message[add][0][created_at]" {
                format!("{k}={at}")
            } else {
                pair.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_status_moves_and_message_times_do_not_stand_after_the_api_read() {
    let h = Harness::start(10).await;
    let engine = pulled_engine(&h).await;
    let real = some_lead(&h, 0).await;
    let pipelines = h.client.pipelines().await.expect("pipelines");
    let other_status = pipelines
        .iter()
        .find(|p| p.id == real.pipeline_id)
        .expect("pipeline")
        .statuses()
        .iter()
        .map(|s| s.id)
        .find(|s| *s != real.status_id && *s != 142 && *s != 143)
        .expect("another open status");

    // A status move that never happened, dated 2100.
    let mut body = pairs(&[
        ("leads[status][0][id]", real.id.to_string()),
        ("leads[status][0][status_id]", other_status.to_string()),
        (
            "leads[status][0][pipeline_id]",
            real.pipeline_id.to_string(),
        ),
        (
            "leads[status][0][old_status_id]",
            real.status_id.to_string(),
        ),
        ("leads[status][0][updated_at]", YEAR_2100.to_string()),
    ]);
    body.extend(account(&h));
    post(&h, &engine, form(&body)).await;
    h.settle(&engine).await;
    let detail = h.store.lead(real.id).expect("read").expect("lead");
    assert!(
        detail
            .history
            .iter()
            .all(|c| c.to.status_id != other_status),
        "the forged move is dropped after the fetcher's read: {:?}",
        detail.history
    );
    assert_eq!(detail.lead.lead.status_id, real.status_id);

    // A real message (its webhook lost), reported by a body dated 2100,
    // and a message amoCRM never had, dated an hour ago.
    let sent = h
        .post(
            "/messages",
            json!({"lead_id": real.id, "text": "Здравствуйте, машина свободна?"}),
        )
        .await;
    let (talk_id, message_id, at) = (
        u(&sent["talk_id"]),
        sent["id"].as_str().expect("id").to_owned(),
        sent["created_at"].as_i64().expect("created_at"),
    );
    let forged_time = message_body_at(
        &h,
        talk_id,
        &message_id,
        "Здравствуйте, машина свободна?",
        YEAR_2100,
    );
    post(&h, &engine, forged_time).await;
    let never = "5b0c6a52-0000-4000-8000-00000000f0f0";
    let forged_message = message_body_at(&h, talk_id, never, "spam", at - 3_600);
    post(&h, &engine, forged_message).await;
    h.settle(&engine).await;
    let hinted = h.store.lead(real.id).expect("read").expect("lead").messages;
    let hinted_time = hinted
        .iter()
        .find(|m| m.id == message_id)
        .map(|m| m.created_at)
        .expect("the hint is stored");
    assert!(
        hinted_time < YEAR_2100 && hinted_time <= now_s() + 60,
        "capped at receipt + skew: {hinted_time}"
    );

    // The events API (catch-up) is the truth.
    engine.catch_up_now().await.expect("catch-up");
    let detail = h.store.lead(real.id).expect("read").expect("lead");
    let messages: Vec<(&str, i64, Direction)> = detail
        .messages
        .iter()
        .map(|m| (m.id.as_str(), m.created_at, m.direction))
        .collect();
    assert_eq!(
        messages,
        vec![(message_id.as_str(), at, Direction::Incoming)],
        "amoCRM's time stands, the forged message is gone"
    );
    let talk = detail
        .talks
        .iter()
        .find(|t| t.talk.talk_id == talk_id)
        .expect("talk");
    assert_eq!(talk.last_message_at, Some(at));
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_talk_ids_costs_bounded_reads_and_other_leads_are_still_confirmed() {
    const FLOOD: u64 = 3_000;
    let h = Harness::start(10).await;
    let engine = pulled_engine(&h).await;
    let real = some_lead(&h, 1).await;
    let all_talks = amosync_store::TalksQuery {
        limit: Some(100_000),
        ..Default::default()
    };
    let talks_before = h.store.talks(&all_talks).expect("talks").len();
    h.emu.state().reset_stats();

    let mut flood: Vec<(String, String)> = (0..FLOOD)
        .map(|i| {
            (
                format!("talk[update][{i}][talk_id]"),
                (900_000 + i).to_string(),
            )
        })
        .collect();
    flood.extend(account(&h));
    post(&h, &engine, form(&flood)).await;
    // Another body right behind it: a hint about a real lead.
    let mut body = pairs(&[
        ("leads[update][0][id]", real.id.to_string()),
        ("leads[update][0][name]", "Подсказка".into()),
        ("leads[update][0][updated_at]", YEAR_2100.to_string()),
    ]);
    body.extend(account(&h));
    let posted = Instant::now();
    let posted_ms = {
        use amosync_sync::Clock;
        SystemClock.now_ms()
    };
    post(&h, &engine, form(&body)).await;
    // Confirmed: read by the API after the body was posted.
    eventually("the other body's lead confirmed by the API", || {
        h.store
            .lead_record(real.id)
            .ok()
            .flatten()
            .is_some_and(|r| {
                r.sync.origin == Origin::Api
                    && r.lead.name == real.name
                    && r.sync.confirmed_at_ms.is_some_and(|c| c > posted_ms)
            })
    })
    .await;
    let confirmed_in = posted.elapsed();
    h.settle(&engine).await;
    h.assert_lead_synced(real.id).await;
    let stats = h.emu.state().stats();
    let talk_reads = stats
        .by_endpoint
        .get("GET /api/v4/talks/{id}")
        .copied()
        .unwrap_or(0);
    println!(
        "{}",
        json!({"flood_talk_ids": FLOOD, "talk_reads": talk_reads, "requests": stats.requests,
               "other_lead_confirmed_ms": confirmed_in.as_millis() as u64})
    );
    assert!(
        talk_reads <= TALK_READS_PER_BODY as u64,
        "{talk_reads} talk reads for one body of {FLOOD} ids"
    );
    assert!(
        stats.requests <= TALK_READS_PER_BODY as u64 + 10,
        "{stats:?}"
    );
    assert!(confirmed_in < Duration::from_secs(10), "{confirmed_in:?}");
    let hints = h.store.talks(&all_talks).expect("talks").len() - talks_before;
    assert!(
        hints <= TALK_READS_PER_BODY,
        "{hints} talk hints stored from one body"
    );
    engine.shutdown().await;
}
