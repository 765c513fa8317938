//! Office actions through the control API: they change the account the way a
//! real one changes (timestamps, events, webhooks), and the API shows it.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use amo_emulator::model::Change;
use common::*;
use reqwest::Method;
use serde_json::{Value, json};

/// A local webhook receiver that stores every body and answers 200.
async fn receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let bodies: Arc<Mutex<Vec<String>>> = Arc::default();
    let store = bodies.clone();
    let app = axum::Router::new().route(
        "/hook/",
        axum::routing::post(move |body: String| {
            let store = store.clone();
            async move {
                store.lock().unwrap_or_else(|e| e.into_inner()).push(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("addr: {e}"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/hook/"), bodies)
}

fn changes_since(emu: &amo_emulator::Emulator, mark: usize) -> Vec<&'static str> {
    emu.world().change_log[mark..]
        .iter()
        .map(Change::setting_code)
        .collect()
}

#[tokio::test]
async fn webhooks_api_is_admin_only_and_round_trips() {
    let emu = start(5).await;
    let admin = emu.token();
    let regular = emu.issue_token(false);
    let dest = "https://example.org/amo/secret-path/";
    let body = json!({"destination": dest, "settings": ["add_lead", "status_lead"], "sort": 10});
    assert_eq!(
        get(&emu, "/api/v4/webhooks", Some(&regular)).await.status,
        403
    );
    assert_eq!(
        send_json(
            &emu,
            Method::POST,
            "/api/v4/webhooks",
            Some(&regular),
            &body
        )
        .await
        .status,
        403
    );
    assert_eq!(
        send_json(
            &emu,
            Method::DELETE,
            "/api/v4/webhooks",
            Some(&regular),
            &json!({"destination": dest})
        )
        .await
        .status,
        403
    );
    assert_eq!(
        get(&emu, "/api/v4/webhooks", Some(&admin)).await.status,
        204
    );

    let created = send_json(&emu, Method::POST, "/api/v4/webhooks", Some(&admin), &body).await;
    assert_eq!(created.status, 200, "{}", created.body);
    let w = created.json();
    has_keys(
        &w,
        &[
            "id",
            "destination",
            "created_at",
            "updated_at",
            "account_id",
            "created_by",
            "sort",
            "disabled",
            "settings",
        ],
        "webhook",
    );
    assert_eq!(w["destination"], dest);

    let list = get_ok(&emu, "/api/v4/webhooks").await;
    assert_eq!(list["_total_items"], 1);
    assert_eq!(list["_embedded"]["webhooks"][0]["destination"], dest);
    let filtered = get(
        &emu,
        "/api/v4/webhooks?filter[destination]=https://other.example/",
        Some(&admin),
    )
    .await;
    assert_eq!(filtered.status, 204);
    assert_eq!(emu.hub().list(Some(dest)).len(), 1);

    let bad_url = send_json(
        &emu,
        Method::POST,
        "/api/v4/webhooks",
        Some(&admin),
        &json!({"destination": "not a url", "settings": ["add_lead"]}),
    )
    .await;
    assert_eq!(bad_url.status, 400);
    assert_eq!(
        bad_url.content_type.as_deref(),
        Some("application/problem+json")
    );
    let bad_setting = send_json(
        &emu,
        Method::POST,
        "/api/v4/webhooks",
        Some(&admin),
        &json!({"destination": dest, "settings": ["no_such"]}),
    )
    .await;
    assert_eq!(bad_setting.status, 400);
    // Unknown codes beside known ones are dropped: the answer shows what was kept.
    let mixed = send_json(
        &emu,
        Method::POST,
        "/api/v4/webhooks",
        Some(&admin),
        &json!({"destination": dest, "settings": ["add_lead", "add_customer", "delete_unsorted", "status_lead"]}),
    )
    .await;
    assert_eq!(mixed.status, 200);
    let kept: Value = serde_json::from_str(&mixed.body).unwrap_or_default();
    assert_eq!(kept["settings"], json!(["add_lead", "status_lead"]));
    let bad_json = send_json(
        &emu,
        Method::POST,
        "/api/v4/webhooks",
        Some(&admin),
        &json!({"settings": []}),
    )
    .await;
    assert_eq!(bad_json.status, 400);

    let deleted = send_json(
        &emu,
        Method::DELETE,
        "/api/v4/webhooks",
        Some(&admin),
        &json!({"destination": dest}),
    )
    .await;
    assert_eq!(deleted.status, 204);
    assert!(deleted.body.is_empty());
    let again = send_json(
        &emu,
        Method::DELETE,
        "/api/v4/webhooks",
        Some(&admin),
        &json!({"destination": dest}),
    )
    .await;
    assert_eq!(again.status, 404);
    emu.shutdown().await;
}

#[tokio::test]
async fn lead_lifecycle_updates_timestamps_events_and_changes() {
    let emu = start(30).await;
    let mark = emu.world().change_log.len();
    let lead = control(
        &emu,
        Method::POST,
        "/leads",
        &json!({"name": "Аренда Toyota Prius", "price": 450, "tags": ["Аэропорт"], "contact": {"name": "Нино Гелашвили", "phone": "+995 599 00 11 22"}}),
    )
    .await;
    let id = lead["id"].as_u64().unwrap_or_default();
    assert_eq!(lead["name"], "Аренда Toyota Prius");
    assert_eq!(
        lead["status_id"], 76072006,
        "first ordinary status of Первичка"
    );
    assert_eq!(lead["_embedded"]["contacts"][0]["is_main"], true);
    assert_eq!(changes_since(&emu, mark), vec!["add_contact", "add_lead"]);
    let api = get_ok(&emu, &format!("/api/v4/leads/{id}?with=contacts")).await;
    assert_eq!(api["_embedded"]["tags"][0]["name"], "Аэропорт");
    let contact_id = api["_embedded"]["contacts"][0]["id"]
        .as_u64()
        .unwrap_or_default();
    let contact = get_ok(&emu, &format!("/api/v4/contacts/{contact_id}")).await;
    assert_eq!(contact["name"], "Нино Гелашвили");
    assert_eq!(contact["first_name"], "Нино");

    // A seeded lead: edits move updated_at past the seed's history.
    let seeded = emu
        .world()
        .leads
        .values()
        .find(|l| !l.is_deleted && l.status_id != 142 && l.status_id != 143)
        .map(|l| (l.id, l.updated_at, l.responsible_user_id, l.pipeline_id));
    let Some((sid, old_updated, old_resp, pipeline)) = seeded else {
        panic!("no open seeded lead")
    };
    let other_user = emu
        .world()
        .users
        .iter()
        .find(|u| u.id != old_resp)
        .map(|u| u.id)
        .unwrap_or_default();
    let mark = emu.world().change_log.len();
    let patched = control(
        &emu,
        Method::PATCH,
        &format!("/leads/{sid}"),
        &json!({"price": 999, "responsible_user_id": other_user}),
    )
    .await;
    assert!(
        patched["updated_at"]
            .as_i64()
            .is_some_and(|t| t > old_updated)
    );
    assert_eq!(patched["price"], 999);
    assert_eq!(
        changes_since(&emu, mark),
        vec!["update_lead", "responsible_lead"]
    );

    let mark = emu.world().change_log.len();
    let events_before = emu.world().events.len();
    let moved = control(
        &emu,
        Method::POST,
        &format!("/leads/{sid}/move"),
        &json!({"status_id": 142}),
    )
    .await;
    assert_eq!(moved["status_id"], 142);
    assert!(moved["closed_at"].is_i64());
    assert_eq!(
        changes_since(&emu, mark),
        vec!["status_lead", "update_lead"]
    );
    let ev = get_ok(
        &emu,
        &format!(
            "/api/v4/events?filter[entity_id][]={sid}&filter[type][]=lead_status_changed&limit=1"
        ),
    )
    .await;
    let e = &ev["_embedded"]["events"][0];
    assert_eq!(e["value_after"][0]["lead_status"]["id"], 142);
    assert_eq!(e["value_after"][0]["lead_status"]["pipeline_id"], pipeline);
    assert!(e["value_before"][0]["lead_status"]["id"].is_u64());
    assert_eq!(emu.world().events.len(), events_before + 1);

    // Delete, see it only with only_deleted, restore.
    control(&emu, Method::DELETE, &format!("/leads/{sid}"), &json!(null)).await;
    assert_eq!(
        get(&emu, &format!("/api/v4/leads/{sid}"), Some(&emu.token()))
            .await
            .status,
        204
    );
    let trash = get_ok(
        &emu,
        &format!("/api/v4/leads?with=only_deleted&filter[id][]={sid}"),
    )
    .await;
    assert_eq!(trash["_embedded"]["leads"][0]["id"], sid);
    let deleted_events = get_ok(
        &emu,
        &format!("/api/v4/events?filter[type][]=lead_deleted&filter[entity_id][]={sid}"),
    )
    .await;
    assert_eq!(
        deleted_events["_embedded"]["events"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    control(
        &emu,
        Method::POST,
        &format!("/leads/{sid}/restore"),
        &json!({}),
    )
    .await;
    assert_eq!(
        get_ok(&emu, &format!("/api/v4/leads/{sid}")).await["id"],
        sid
    );

    // Bad input is a clear 400/404.
    let bad = send_json(
        &emu,
        Method::POST,
        &format!("/_emulator/leads/{sid}/move"),
        None,
        &json!({"status_id": 1}),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("not in pipeline"));
    let missing = send_json(
        &emu,
        Method::POST,
        "/_emulator/leads/1/move",
        None,
        &json!({"status_id": 142}),
    )
    .await;
    assert_eq!(missing.status, 404);
    let typo = send_json(
        &emu,
        Method::POST,
        "/_emulator/leads",
        None,
        &json!({"nmae": "x"}),
    )
    .await;
    assert_eq!(typo.status, 400);
    assert!(typo.body.contains("nmae"));
    emu.shutdown().await;
}

#[tokio::test]
async fn chats_unsorted_notes_companies() {
    let emu = start(30).await;
    let lead = control(
        &emu,
        Method::POST,
        "/leads",
        &json!({"name": "Без контакта"}),
    )
    .await;
    let id = lead["id"].as_u64().unwrap_or_default();
    let mark = emu.world().change_log.len();
    let msg = control(
        &emu,
        Method::POST,
        "/messages",
        &json!({"lead_id": id, "text": "Здравствуйте! Есть машина?", "origin": "waba"}),
    )
    .await;
    assert_eq!(
        changes_since(&emu, mark),
        vec![
            "add_contact",
            "update_lead",
            "add_talk",
            "add_message",
            "update_talk"
        ]
    );
    let talk_id = msg["talk_id"].as_u64().unwrap_or_default();
    let talk = get_ok(&emu, &format!("/api/v4/talks/{talk_id}")).await;
    assert_eq!(talk["origin"], "waba");
    assert_eq!(talk["is_read"], false);
    let ev = get_ok(
        &emu,
        &format!("/api/v4/events?filter[type][]=incoming_chat_message&filter[entity_id][]={id}"),
    )
    .await;
    assert_eq!(
        ev["_embedded"]["events"][0]["value_after"][0]["message"]["talk_id"],
        talk_id
    );
    let mark = emu.world().change_log.len();
    control(
        &emu,
        Method::POST,
        "/messages",
        &json!({"lead_id": id, "text": "Да, есть", "direction": "outgoing"}),
    )
    .await;
    assert_eq!(
        changes_since(&emu, mark),
        vec!["update_talk"],
        "outgoing messages send no message[add]"
    );
    let read = control(
        &emu,
        Method::PATCH,
        &format!("/talks/{talk_id}"),
        &json!({"is_read": true}),
    )
    .await;
    assert_eq!(read["is_read"], true);

    let before = get_ok(&emu, "/api/v4/leads/unsorted").await["_embedded"]["unsorted"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    let u = control(
        &emu,
        Method::POST,
        "/unsorted",
        &json!({"name": "Леван Беридзе", "text": "Нужен джип в Казбеги", "origin": "telegram"}),
    )
    .await;
    let uid = u["uid"].as_str().unwrap_or_default().to_string();
    let lead_id = u["lead_id"].as_u64().unwrap_or_default();
    assert_eq!(
        get_ok(&emu, &format!("/api/v4/leads/{lead_id}")).await["status_id"],
        69641334
    );
    let after = get_ok(&emu, "/api/v4/leads/unsorted").await["_embedded"]["unsorted"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    assert_eq!(after, before + 1);
    let mark = emu.world().change_log.len();
    control(
        &emu,
        Method::POST,
        &format!("/unsorted/{uid}/accept"),
        &json!({"status_id": 69641338}),
    )
    .await;
    assert_eq!(
        changes_since(&emu, mark),
        vec!["add_unsorted", "status_lead", "update_lead"]
    );
    assert_eq!(
        get_ok(&emu, &format!("/api/v4/leads/{lead_id}")).await["status_id"],
        69641338
    );
    assert_eq!(
        send_json(
            &emu,
            Method::POST,
            &format!("/_emulator/unsorted/{uid}/decline"),
            None,
            &json!({})
        )
        .await
        .status,
        404
    );

    let note = control(
        &emu,
        Method::POST,
        "/notes",
        &json!({"entity": "lead", "entity_id": lead_id, "text": "Перезвонить после 18:00"}),
    )
    .await;
    assert_eq!(note["params"]["text"], "Перезвонить после 18:00");
    let company = control(
        &emu,
        Method::POST,
        "/companies",
        &json!({"name": "ООО «Тест»", "lead_id": lead_id}),
    )
    .await;
    let cid = company["id"].as_u64().unwrap_or_default();
    assert_eq!(
        get_ok(&emu, &format!("/api/v4/leads/{lead_id}")).await["_embedded"]["companies"][0]["id"],
        cid
    );
    let contact = control(
        &emu,
        Method::POST,
        "/contacts",
        &json!({"name": "Мариам Цхакая", "email": "m@example.ge"}),
    )
    .await;
    let contact_id = contact["id"].as_u64().unwrap_or_default();
    let patched = control(
        &emu,
        Method::PATCH,
        &format!("/contacts/{contact_id}"),
        &json!({"phone": "+995 555 12 12 12"}),
    )
    .await;
    let codes: Vec<&str> = patched["custom_fields_values"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["field_code"].as_str())
        .collect();
    assert!(
        codes.contains(&"PHONE") && codes.contains(&"EMAIL"),
        "{codes:?}"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn mutations_reach_registered_webhooks() {
    let emu = start(30).await;
    let (url, bodies) = receiver().await;
    let reg = send_json(
        &emu,
        Method::POST,
        "/api/v4/webhooks",
        Some(&emu.token()),
        &json!({"destination": url, "settings": ["add_lead", "status_lead", "update_lead"], "sort": 10}),
    )
    .await;
    assert_eq!(reg.status, 200, "{}", reg.body);
    let open: Vec<u64> = emu
        .world()
        .leads
        .values()
        .filter(|l| !l.is_deleted && l.status_id != 142 && l.status_id != 143)
        .take(5)
        .map(|l| l.id)
        .collect();
    assert_eq!(open.len(), 5);
    control(&emu, Method::POST, "/leads", &json!({"name": "Вебхук"})).await;
    assert!(emu.hub().wait_idle(Duration::from_secs(5)).await);
    let bulk = control(
        &emu,
        Method::POST,
        "/leads/bulk-move",
        &json!({"ids": open, "status_id": 143}),
    )
    .await;
    assert_eq!(bulk["moved"], 5);
    assert!(emu.hub().wait_idle(Duration::from_secs(5)).await);
    let got: Vec<String> = bodies.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert_eq!(got.len(), 2, "one POST per emit: {got:?}");
    assert!(got[0].contains("leads%5Badd%5D"), "{}", got[0]);
    let bulk_body: Vec<(String, String)> = form_urlencoded::parse(got[1].as_bytes())
        .into_owned()
        .collect();
    let status_ids: Vec<&str> = bulk_body
        .iter()
        .filter(|(k, _)| {
            let (base, segs) = amo_emulator::query::split_key(k);
            base == "leads" && segs.len() == 3 && segs[0] == "status" && segs[2] == "id"
        })
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(status_ids.len(), 5, "all five leads in one POST");
    let deliveries = control(&emu, Method::GET, "/webhooks/deliveries", &json!(null)).await;
    assert!(
        deliveries
            .as_array()
            .is_some_and(|d| d.len() >= 2 && d.iter().all(|r| r["ok"] == true)),
        "{deliveries}"
    );

    let cfg = control(
        &emu,
        Method::POST,
        "/webhooks/config",
        &json!({"timeout_ms": 500, "retry_delays_ms": [10, 20]}),
    )
    .await;
    assert_eq!(cfg["timeout_ms"], 500);
    assert_eq!(cfg["disable_threshold"], 100);
    control(
        &emu,
        Method::POST,
        "/webhooks/faults",
        &json!({"drop_rate": 0.0, "duplicate_rate": 0.0, "reorder": false, "delay_ms": 0}),
    )
    .await;
    let bad = send_json(
        &emu,
        Method::POST,
        "/_emulator/webhooks/faults",
        None,
        &json!({"drop_rate": 5}),
    )
    .await;
    assert_eq!(bad.status, 400);

    // amoCRM's "disabled after failures", on demand.
    let off = control(&emu, Method::POST, "/webhooks/disable", &json!({})).await;
    assert!(off["disabled"].as_u64().is_some_and(|n| n >= 1), "{off}");
    let again = control(&emu, Method::POST, "/webhooks/disable", &json!({})).await;
    assert_eq!(again["disabled"], 0, "nothing left to disable");
    let bad = send_json(
        &emu,
        Method::POST,
        "/_emulator/webhooks/disable",
        None,
        &json!({"destinaton": "x"}),
    )
    .await;
    assert_eq!(bad.status, 400, "unknown fields are refused");
    emu.shutdown().await;
}

#[tokio::test]
async fn control_basics() {
    let emu = start(3).await;
    assert_eq!(
        control(&emu, Method::GET, "/health", &Value::Null).await,
        json!({"ok": true})
    );
    let t = control(&emu, Method::POST, "/tokens", &json!({"admin": false})).await;
    let token = t["token"].as_str().unwrap_or_default().to_string();
    assert_eq!(get(&emu, "/api/v4/users", Some(&token)).await.status, 403);
    let before = control(&emu, Method::GET, "/clock", &Value::Null).await["now"]
        .as_i64()
        .unwrap_or_default();
    let after = control(
        &emu,
        Method::POST,
        "/clock/advance",
        &json!({"seconds": 3600}),
    )
    .await["now"]
        .as_i64()
        .unwrap_or_default();
    assert!(after >= before + 3600);
    let unknown = send_json(&emu, Method::POST, "/_emulator/nope", None, &json!({})).await;
    assert_eq!(unknown.status, 404);
    let broken = client()
        .post(format!("{}/_emulator/leads", emu.base_url()))
        .body("{not json")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(broken.status().as_u16(), 400);
    emu.shutdown().await;
}
