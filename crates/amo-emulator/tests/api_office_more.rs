//! The office actions behind the webhook kinds that the first control API
//! never produced (tasks, contact delete/restore, company edit/delete), the
//! chat links of contacts, and `_links` that must lead somewhere.

mod common;

use amo_emulator::model::Change;
use common::*;
use reqwest::Method;
use serde_json::{Value, json};

fn changes_since(emu: &amo_emulator::Emulator, mark: usize) -> Vec<&'static str> {
    emu.world().change_log[mark..]
        .iter()
        .map(Change::setting_code)
        .collect()
}

fn event_types(emu: &amo_emulator::Emulator, entity: &str, id: u64) -> Vec<String> {
    emu.world()
        .events
        .iter()
        .filter(|e| e.entity_type == entity && e.entity_id == id)
        .map(|e| e.kind.clone())
        .collect()
}

async fn control_status(
    emu: &amo_emulator::Emulator,
    method: Method,
    path: &str,
    body: &Value,
) -> u16 {
    send_json(emu, method, &format!("/_emulator{path}"), None, body)
        .await
        .status
}

fn first_lead(emu: &amo_emulator::Emulator) -> u64 {
    emu.world()
        .leads
        .values()
        .find(|l| !l.is_deleted)
        .map(|l| l.id)
        .unwrap_or_default()
}

#[tokio::test]
async fn tasks_are_set_edited_and_deleted() {
    let emu = start(5).await;
    let lead_id = first_lead(&emu);
    let mark = emu.world().change_log.len();
    let till = NOW + 3 * 86_400;
    let task = control(
        &emu,
        Method::POST,
        "/tasks",
        &json!({"entity": "lead", "entity_id": lead_id, "text": "Позвонить клиенту", "complete_till": till}),
    )
    .await;
    let task_id = task["id"].as_u64().unwrap_or_default();
    assert!(task_id > 0, "{task}");
    assert_eq!(task["entity_type"], "leads");
    assert_eq!(task["complete_till"], till);
    assert_eq!(task["is_completed"], false);
    assert_eq!(
        emu.world()
            .leads
            .get(&lead_id)
            .and_then(|l| l.closest_task_at),
        Some(till)
    );
    // The API shows it, and its `_links.self` resolves.
    let one = get_ok(&emu, &format!("/api/v4/tasks/{task_id}")).await;
    assert_eq!(one["text"], "Позвонить клиенту");
    let list = get_ok(
        &emu,
        &format!("/api/v4/tasks?filter[entity_id][]={lead_id}"),
    )
    .await;
    assert_eq!(list["_embedded"]["tasks"][0]["id"], task_id);

    let done = control(
        &emu,
        Method::PATCH,
        &format!("/tasks/{task_id}"),
        &json!({"is_completed": true, "text": "Позвонил"}),
    )
    .await;
    assert_eq!(
        (done["is_completed"].clone(), done["text"].clone()),
        (json!(true), json!("Позвонил"))
    );
    assert_eq!(
        emu.world()
            .leads
            .get(&lead_id)
            .and_then(|l| l.closest_task_at),
        None
    );
    assert_eq!(
        control_status(
            &emu,
            Method::DELETE,
            &format!("/tasks/{task_id}"),
            &json!(null)
        )
        .await,
        200
    );
    assert_eq!(
        changes_since(&emu, mark),
        vec!["add_task", "update_task", "delete_task"]
    );
    assert_eq!(
        event_types(&emu, "task", task_id),
        vec![
            "task_added",
            "task_text_changed",
            "task_completed",
            "task_deleted"
        ]
    );
    assert_eq!(
        get(
            &emu,
            &format!("/api/v4/tasks/{task_id}"),
            Some(&emu.token())
        )
        .await
        .status,
        204
    );
    // Refusals: gone, unknown entity, blank text, unknown field.
    for (method, path, body, want) in [
        (
            Method::DELETE,
            format!("/tasks/{task_id}"),
            json!(null),
            404,
        ),
        (
            Method::PATCH,
            format!("/tasks/{task_id}"),
            json!({"text": "x"}),
            404,
        ),
        (
            Method::POST,
            "/tasks".to_string(),
            json!({"entity": "lead", "entity_id": 1, "text": "x"}),
            404,
        ),
        (
            Method::POST,
            "/tasks".to_string(),
            json!({"entity": "lead", "entity_id": lead_id, "text": "  "}),
            400,
        ),
        (
            Method::POST,
            "/tasks".to_string(),
            json!({"entity": "deal", "entity_id": lead_id, "text": "x"}),
            400,
        ),
        (Method::PATCH, "/tasks/abc".to_string(), json!({}), 400),
    ] {
        assert_eq!(
            control_status(&emu, method.clone(), &path, &body).await,
            want,
            "{method} {path} {body}"
        );
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn contacts_are_deleted_and_restored_companies_edited_and_deleted() {
    let emu = start(5).await;
    let contact = control(
        &emu,
        Method::POST,
        "/contacts",
        &json!({"name": "Тамара Гелашвили"}),
    )
    .await;
    let contact_id = contact["id"].as_u64().unwrap_or_default();
    let company = control(
        &emu,
        Method::POST,
        "/companies",
        &json!({"name": "ООО «Тбилиси Моторс»", "contact_id": contact_id}),
    )
    .await;
    let company_id = company["id"].as_u64().unwrap_or_default();
    assert_eq!(
        emu.world()
            .contacts
            .get(&contact_id)
            .and_then(|c| c.company_name.clone())
            .as_deref(),
        Some("ООО «Тбилиси Моторс»")
    );

    let mark = emu.world().change_log.len();
    let before = emu
        .world()
        .contacts
        .get(&contact_id)
        .map(|c| c.updated_at)
        .unwrap_or_default();
    control(
        &emu,
        Method::POST,
        "/clock/advance",
        &json!({"seconds": 60}),
    )
    .await;
    control(
        &emu,
        Method::DELETE,
        &format!("/contacts/{contact_id}"),
        &json!(null),
    )
    .await;
    assert_eq!(
        get(
            &emu,
            &format!("/api/v4/contacts/{contact_id}"),
            Some(&emu.token())
        )
        .await
        .status,
        204
    );
    let restored = control(
        &emu,
        Method::POST,
        &format!("/contacts/{contact_id}/restore"),
        &json!(null),
    )
    .await;
    assert_eq!(restored["id"], contact_id);
    assert!(restored["updated_at"].as_i64().is_some_and(|t| t > before));
    get_ok(&emu, &format!("/api/v4/contacts/{contact_id}")).await;

    let renamed = control(
        &emu,
        Method::PATCH,
        &format!("/companies/{company_id}"),
        &json!({"name": "ООО «Батуми Моторс»"}),
    )
    .await;
    assert_eq!(renamed["name"], "ООО «Батуми Моторс»");
    assert_eq!(
        emu.world()
            .contacts
            .get(&contact_id)
            .and_then(|c| c.company_name.clone())
            .as_deref(),
        Some("ООО «Батуми Моторс»")
    );
    control(
        &emu,
        Method::DELETE,
        &format!("/companies/{company_id}"),
        &json!(null),
    )
    .await;
    assert_eq!(
        get(
            &emu,
            &format!("/api/v4/companies/{company_id}"),
            Some(&emu.token())
        )
        .await
        .status,
        204
    );
    assert_eq!(
        emu.world()
            .contacts
            .get(&contact_id)
            .and_then(|c| c.company_id),
        None
    );
    assert_eq!(
        changes_since(&emu, mark),
        vec![
            "delete_contact",
            "restore_contact",
            "update_company",
            "delete_company"
        ]
    );
    assert_eq!(
        event_types(&emu, "contact", contact_id),
        vec!["contact_deleted", "contact_restored"]
    );
    assert_eq!(
        event_types(&emu, "company", company_id),
        vec!["company_deleted"]
    );
    // Twice is an error; so is restoring what is not deleted.
    for (method, path) in [
        (Method::DELETE, format!("/companies/{company_id}")),
        (Method::PATCH, format!("/companies/{company_id}")),
        (Method::POST, format!("/contacts/{contact_id}/restore")),
    ] {
        assert_eq!(
            control_status(&emu, method.clone(), &path, &json!({})).await,
            404,
            "{method} {path}"
        );
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn contact_chats_link_chat_ids_to_contacts() {
    let emu = start(5).await;
    let lead_id = first_lead(&emu);
    let talk = control(
        &emu,
        Method::POST,
        "/talks",
        &json!({"lead_id": lead_id, "origin": "waba"}),
    )
    .await;
    let contact_id = talk["contact_id"].as_u64().unwrap_or_default();
    let chat_id = talk["chat_id"].as_str().unwrap_or_default().to_string();
    let chats = get_ok(
        &emu,
        &format!("/api/v4/contacts/chats?contact_id={contact_id}"),
    )
    .await;
    let items = chats["_embedded"]["chats"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        items.iter().any(|c| c["chat_id"] == chat_id.as_str()
            && c["contact_id"] == contact_id
            && c["id"].is_u64()),
        "{chats}"
    );
    let by_chat = get_ok(&emu, &format!("/api/v4/contacts/chats?chat_id={chat_id}")).await;
    assert_eq!(by_chat["_embedded"]["chats"][0]["contact_id"], contact_id);
    let none = get(
        &emu,
        "/api/v4/contacts/chats?contact_id=1",
        Some(&emu.token()),
    )
    .await;
    assert_eq!((none.status, none.body.as_str()), (204, ""));
    emu.shutdown().await;
}

/// Every `_links.self` of a status, an event and a loss reason is a route.
#[tokio::test]
async fn links_lead_to_routes_that_exist() {
    let emu = start(20).await;
    let token = emu.token();
    let statuses = get_ok(&emu, "/api/v4/leads/pipelines").await;
    let status_href =
        statuses["_embedded"]["pipelines"][0]["_embedded"]["statuses"][0]["_links"]["self"]["href"]
            .as_str()
            .unwrap_or_default()
            .to_string();
    let events = get_ok(&emu, "/api/v4/events?limit=1").await;
    let event_href = events["_embedded"]["events"][0]["_links"]["self"]["href"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let reasons = get_ok(&emu, "/api/v4/leads/loss_reasons").await;
    let reason_list = reasons["_embedded"]["loss_reasons"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(reason_list.len() >= 3, "{reasons}");
    let reason_href = reason_list[0]["_links"]["self"]["href"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    for href in [&status_href, &event_href, &reason_href] {
        assert!(href.starts_with(&emu.base_url()), "{href}");
        let a = get(&emu, href, Some(&token)).await;
        assert_eq!(a.status, 200, "{href}: {}", a.body);
        assert_eq!(a.json()["_links"]["self"]["href"], href.as_str());
    }
    // Unknown ones: 204, as every unknown id.
    for path in [
        "/api/v4/leads/pipelines/1/statuses/142",
        "/api/v4/events/nope",
        "/api/v4/leads/loss_reasons/1",
    ] {
        assert_eq!(get(&emu, path, Some(&token)).await.status, 204, "{path}");
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn a_full_account_refuses_more() {
    let emu = start(3).await;
    {
        let mut w = emu.world();
        let (events, records) = w.sizes();
        w.room.events = events + 1;
        w.room.records = records + 1_000;
    }
    let lead_id = first_lead(&emu);
    // One event of room: the first move fits, the next mutation is refused.
    let first = send_json(
        &emu,
        Method::POST,
        "/_emulator/notes",
        None,
        &json!({"entity": "lead", "entity_id": lead_id, "text": "ok"}),
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.body);
    control(&emu, Method::POST, "/leads", &json!({"name": "Ещё один"})).await;
    let full = send_json(
        &emu,
        Method::POST,
        "/_emulator/leads",
        None,
        &json!({"name": "Лишний"}),
    )
    .await;
    assert_eq!(full.status, 400);
    assert!(full.body.contains("full"), "{}", full.body);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_client_keeps_one_chat_author_id() {
    let emu = start(5).await;
    let lead_id = first_lead(&emu);
    let mark = emu.world().change_log.len();
    for text in ["Здравствуйте", "Машина ещё свободна?"] {
        control(
            &emu,
            Method::POST,
            "/messages",
            &json!({"lead_id": lead_id, "text": text, "origin": "telegram"}),
        )
        .await;
    }
    let authors: Vec<_> = emu.world().change_log[mark..]
        .iter()
        .filter_map(|c| match c {
            Change::MessageAdded(m) => Some((m.contact_id, m.author.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(authors.len(), 2);
    assert_eq!(authors[0].1, authors[1].1, "same client, same author");
    let (contact_id, author) = &authors[0];
    assert_eq!(author.id.len(), 36);
    assert_eq!(
        author.id,
        amo_emulator::world::chat_user_id(emu.world().account.id, "contact", *contact_id)
    );
    assert_eq!(author.avatar_url.is_some(), contact_id % 3 != 0);
    // Another client has another id.
    assert_ne!(
        amo_emulator::world::chat_user_id(1, "contact", 1),
        amo_emulator::world::chat_user_id(1, "contact", 2)
    );
    emu.shutdown().await;
}
