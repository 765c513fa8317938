//! Live round trips: an office action in the emulator (control API) → its
//! real webhook over HTTP → receiver → event log → applier → fetcher → the
//! store equals the API's view after `settle`.

mod support;

use amo::models::StatusKey;
use amosync_store::Direction;
use serde_json::json;
use support::{Harness, tick, u};

/// (pipeline id, ordinary status ids) of the main pipeline.
async fn main_pipeline(h: &Harness) -> (u64, Vec<u64>) {
    let pipelines = h.client.pipelines().await.expect("pipelines");
    let main = pipelines.iter().find(|p| p.is_main).expect("main pipeline");
    let open: Vec<u64> = main
        .statuses()
        .iter()
        .filter(|s| s.status_type == 0 && s.id != 142 && s.id != 143)
        .map(|s| s.id)
        .collect();
    (main.id, open)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lead_lifecycle_round_trip() {
    let h = Harness::start(20).await;
    let engine = h.engine(h.config()).await;
    let (pipeline, open) = main_pipeline(&h).await;

    // Add, with a new contact.
    let added = h
        .post("/leads", json!({"name": "Аренда Camry — «тест»", "price": 1500, "contact": {"name": "Нино Кварацхелия", "phone": "+995 555 12-34-56"}}))
        .await;
    let lead = u(&added["id"]);
    let contact = u(&added["_embedded"]["contacts"][0]["id"]);
    h.settle(&engine).await;
    h.assert_lead_synced(lead).await;
    h.assert_contact_synced(contact).await;
    let stored = h.store.lead_record(lead).expect("read").expect("stored");
    assert_eq!(
        stored.sync.origin,
        amosync_store::Origin::Api,
        "confirmed by the API"
    );

    // Update.
    tick().await;
    h.patch(
        &format!("/leads/{lead}"),
        json!({"name": "Аренда Camry (изм.)", "price": 0, "tags": ["vip"]}),
    )
    .await;
    h.settle(&engine).await;
    h.assert_lead_synced(lead).await;

    // Move twice: the history records both moves.
    tick().await;
    h.post(
        &format!("/leads/{lead}/move"),
        json!({"status_id": open[1]}),
    )
    .await;
    h.settle(&engine).await;
    tick().await;
    h.post(&format!("/leads/{lead}/move"), json!({"status_id": 142}))
        .await;
    h.settle(&engine).await;
    h.assert_lead_synced(lead).await;
    let detail = h.store.lead(lead).expect("read").expect("detail");
    let key = |s| StatusKey {
        pipeline_id: pipeline,
        status_id: s,
    };
    let moves: Vec<(Option<StatusKey>, StatusKey)> =
        detail.history.iter().map(|c| (c.from, c.to)).collect();
    assert!(
        moves.contains(&(Some(key(open[0])), key(open[1]))),
        "{moves:?}"
    );
    assert!(moves.contains(&(Some(key(open[1])), key(142))), "{moves:?}");

    // Responsible.
    let users = h.client.users().await.expect("users");
    let other = users
        .iter()
        .map(|u| u.id)
        .find(|id| *id != detail.lead.lead.responsible_user_id)
        .expect("a second user");
    tick().await;
    h.patch(
        &format!("/leads/{lead}"),
        json!({"responsible_user_id": other}),
    )
    .await;
    h.settle(&engine).await;
    h.assert_lead_synced(lead).await;

    // A note.
    h.post(
        "/notes",
        json!({"entity": "lead", "entity_id": lead, "text": "Клиент просит детское кресло"}),
    )
    .await;
    h.settle(&engine).await;
    let detail = h.store.lead(lead).expect("read").expect("detail");
    assert!(
        detail
            .notes
            .iter()
            .any(|n| n.note.text() == Some("Клиент просит детское кресло")),
        "{:?}",
        detail.notes
    );

    // Delete, then restore (a second apart: amoCRM times are seconds).
    tick().await;
    h.delete(&format!("/leads/{lead}")).await;
    h.settle(&engine).await;
    h.assert_lead_synced(lead).await;
    let stored = h.store.lead_record(lead).expect("read").expect("tombstone");
    assert!(stored.sync.deleted_at.is_some(), "tombstoned");
    tick().await;
    h.post(&format!("/leads/{lead}/restore"), json!({})).await;
    h.settle(&engine).await;
    h.assert_lead_synced(lead).await;

    let status = engine.status();
    assert!(status.webhooks_accepted >= 8, "{status:?}");
    assert_eq!(status.webhooks_rejected, 0);
    assert_eq!(status.last_error, None);
    assert!(
        !status
            .receiver
            .contains(engine.webhook_url().split('/').nth(4).expect("secret"))
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_and_companies_round_trip() {
    let h = Harness::start(10).await;
    let engine = h.engine(h.config()).await;
    let lead = u(&h
        .post("/leads", json!({"name": "Сделка с компанией"}))
        .await["id"]);
    let contact = u(&h.post("/contacts", json!({"name": "Давид Гелашвили", "phone": "+995 555 98-76-54", "email": "d@example.ge", "lead_id": lead})).await["id"]);
    h.settle(&engine).await;
    h.assert_contact_synced(contact).await;
    h.assert_lead_synced(lead).await;

    tick().await;
    h.patch(
        &format!("/contacts/{contact}"),
        json!({"name": "Давид Г.", "phone": "+995 555 00-00-00"}),
    )
    .await;
    h.settle(&engine).await;
    h.assert_contact_synced(contact).await;

    let company = u(&h
        .post(
            "/companies",
            json!({"name": "ООО «Рога и копыта»", "lead_id": lead}),
        )
        .await["id"]);
    h.settle(&engine).await;
    tick().await;
    h.patch(
        &format!("/companies/{company}"),
        json!({"name": "ООО «Рога»"}),
    )
    .await;
    h.settle(&engine).await;
    h.assert_lead_synced(lead).await;
    let api = h
        .client
        .company(company)
        .await
        .expect("GET")
        .expect("company");
    let detail = h.store.lead(lead).expect("read").expect("detail");
    let stored = detail
        .companies
        .iter()
        .find(|c| c.company.id == company)
        .expect("company in the lead detail");
    assert_eq!(stored.company.name, api.name);
    assert_eq!(stored.company.updated_at, api.updated_at);

    tick().await;
    h.delete(&format!("/contacts/{contact}")).await;
    h.settle(&engine).await;
    h.assert_contact_synced(contact).await;
    tick().await;
    h.post(&format!("/contacts/{contact}/restore"), json!({}))
        .await;
    h.settle(&engine).await;
    h.assert_contact_synced(contact).await;
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chats_and_unsorted_round_trip() {
    let h = Harness::start(10).await;
    let engine = h.engine(h.config()).await;
    let added = h
        .post(
            "/leads",
            json!({"name": "Чат из Telegram", "contact": {"name": "Тамара"}}),
        )
        .await;
    let lead = u(&added["id"]);
    let text = "Здравствуйте! Можно взять машину завтра в 9:00? 🚗";
    let msg = h
        .post(
            "/messages",
            json!({"lead_id": lead, "text": text, "origin": "telegram"}),
        )
        .await;
    let talk = u(&msg["talk_id"]);
    h.settle(&engine).await;
    let detail = h.store.lead(lead).expect("read").expect("detail");
    let m = detail
        .messages
        .iter()
        .find(|m| m.text.as_deref() == Some(text))
        .expect("message with its text");
    assert_eq!(m.direction, Direction::Incoming);
    assert_eq!(m.talk_id, Some(talk));
    let api_talk = h.client.talk(talk).await.expect("GET talk").expect("talk");
    let stored = detail
        .talks
        .iter()
        .find(|t| t.talk.talk_id == talk)
        .expect("talk stored");
    let mut a = api_talk.clone();
    a.links = None;
    let mut b = stored.talk.clone();
    b.links = None;
    assert_eq!(b, a, "talk equals the API view");

    tick().await;
    h.patch(
        &format!("/talks/{talk}"),
        json!({"is_read": true, "is_in_work": false}),
    )
    .await;
    h.settle(&engine).await;
    let api_talk = h.client.talk(talk).await.expect("GET talk").expect("talk");
    let stored = h
        .store
        .lead(lead)
        .expect("read")
        .expect("detail")
        .talks
        .into_iter()
        .find(|t| t.talk.talk_id == talk)
        .expect("talk");
    assert_eq!(
        (
            stored.talk.is_read,
            stored.talk.is_in_work,
            stored.talk.updated_at
        ),
        (api_talk.is_read, api_talk.is_in_work, api_talk.updated_at)
    );

    // Unsorted: a chat request accepted, a form request declined.
    let req = h.post("/unsorted", json!({"name": "Давид", "text": "Нужна машина на неделю", "category": "chats", "origin": "telegram"})).await;
    let accepted_lead = u(&req["lead_id"]);
    h.settle(&engine).await;
    h.assert_lead_synced(accepted_lead).await;
    tick().await;
    h.post(
        &format!("/unsorted/{}/accept", req["uid"].as_str().expect("uid")),
        json!({}),
    )
    .await;
    h.settle(&engine).await;
    h.assert_lead_synced(accepted_lead).await;
    let req = h
        .post(
            "/unsorted",
            json!({"name": "Заявка с сайта", "text": "Перезвоните", "category": "forms"}),
        )
        .await;
    let declined = u(&req["lead_id"]);
    h.settle(&engine).await;
    tick().await;
    h.post(
        &format!("/unsorted/{}/decline", req["uid"].as_str().expect("uid")),
        json!({}),
    )
    .await;
    h.settle(&engine).await;
    h.assert_lead_synced(declined).await;
    let stored = h
        .store
        .lead_record(declined)
        .expect("read")
        .expect("tombstone");
    assert!(stored.sync.deleted_at.is_some());
    engine.shutdown().await;
}
