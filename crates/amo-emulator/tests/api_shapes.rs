//! HAL shapes of every endpoint, checked against amocrm.md §4.

mod common;

use common::*;
use serde_json::Value;

const LEAD_KEYS: &[&str] = &[
    "id",
    "name",
    "price",
    "responsible_user_id",
    "group_id",
    "status_id",
    "pipeline_id",
    "loss_reason_id",
    "created_by",
    "updated_by",
    "created_at",
    "updated_at",
    "closed_at",
    "closest_task_at",
    "is_deleted",
    "custom_fields_values",
    "score",
    "account_id",
    "labor_cost",
    "_links",
    "_embedded",
];

#[tokio::test]
async fn main_pipeline_has_exactly_the_21_statuses() {
    let emu = start(20).await;
    let p = get_ok(&emu, "/api/v4/leads/pipelines/8580102").await;
    has_keys(
        &p,
        &[
            "id",
            "name",
            "sort",
            "is_main",
            "is_unsorted_on",
            "is_archive",
            "account_id",
            "_links",
            "_embedded",
        ],
        "pipeline",
    );
    assert_eq!(p["name"], "Первичка");
    assert_eq!(p["is_main"], true);
    let statuses = p["_embedded"]["statuses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let expected: &[(u64, &str, i64, &str)] = &[
        (69641334, "Неразобранное", 10, "#c1c1c1"),
        (76072006, "Партнерские сделки", 20, "#fff000"),
        (76057418, "Объедини сделку", 30, "#87f2c0"),
        (69641338, "Новый лид", 40, "#ff8f92"),
        (69641342, "Взят в работу", 50, "#eb93ff"),
        (75648530, "Подбор отправлен", 60, "#99ccff"),
        (69695126, "Нет ответа на предложение", 70, "#ccc8f9"),
        (75558642, "Финальный контакт", 80, "#f3beff"),
        (70390022, "Не отвечают", 90, "#87f2c0"),
        (70363398, "Ожидаем Доки", 100, "#ebffb1"),
        (69717006, "Получены доки", 110, "#c1e0ff"),
        (72457238, "Брони из Rentprog", 120, "#ff8f92"),
        (71150590, "Синхронизация с Rentprog", 130, "#ffc8c8"),
        (69695130, "Отправлен дог", 140, "#ffce5a"),
        (70724666, "Выдача", 150, "#99ccff"),
        (72177974, "Аренда", 160, "#99ccff"),
        (70724674, "Приемка", 170, "#99ccff"),
        (75235938, "Электронный договор", 180, "#99ccff"),
        (71480394, "Для разработки - не удалять", 190, "#99ccff"),
        (142, "Успешно реализовано", 10000, "#CCFF66"),
        (143, "Закрыто и не реализовано", 11000, "#D5D8DB"),
    ];
    assert_eq!(statuses.len(), 21);
    for (s, (id, name, sort, color)) in statuses.iter().zip(expected) {
        has_keys(
            s,
            &[
                "id",
                "name",
                "sort",
                "is_editable",
                "pipeline_id",
                "color",
                "type",
                "account_id",
                "_links",
            ],
            "status",
        );
        assert_eq!(s["id"], *id);
        assert_eq!(s["name"], *name);
        assert_eq!(s["sort"], *sort);
        assert_eq!(s["color"], *color);
        assert_eq!(s["pipeline_id"], 8580102);
        assert_eq!(s["type"], if *id == 69641334 { 1 } else { 0 });
    }
    let list = get_ok(&emu, "/api/v4/leads/pipelines").await;
    let pipelines = list["_embedded"]["pipelines"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(list["_total_items"], 2);
    for p in &pipelines {
        let ids: Vec<u64> = p["_embedded"]["statuses"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["id"].as_u64())
            .collect();
        assert!(
            ids.contains(&142) && ids.contains(&143),
            "142/143 in every pipeline: {ids:?}"
        );
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn account_and_users() {
    let emu = start(10).await;
    let a = get_ok(
        &emu,
        "/api/v4/account?with=amojo_id,users_groups,datetime_settings",
    )
    .await;
    has_keys(
        &a,
        &[
            "id",
            "name",
            "subdomain",
            "currency",
            "currency_symbol",
            "country",
            "created_at",
            "amojo_id",
            "datetime_settings",
            "_links",
        ],
        "account",
    );
    assert_eq!(a["currency"], "GEL");
    assert_eq!(a["currency_symbol"], "₾");
    assert_eq!(a["country"], "GE");
    assert!(
        a["_embedded"]["users_groups"]
            .as_array()
            .is_some_and(|g| g.len() == 2)
    );
    assert_eq!(
        a["_links"]["self"]["href"],
        format!("{}/api/v4/account", emu.base_url())
    );
    let plain = get_ok(&emu, "/api/v4/account").await;
    assert!(plain.get("amojo_id").is_none());

    let users = get_ok(&emu, "/api/v4/users").await;
    let list = users["_embedded"]["users"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(list.len(), 6);
    assert_eq!(
        list.iter()
            .filter(|u| u["rights"]["is_admin"] == true)
            .count(),
        1
    );
    for u in &list {
        has_keys(u, &["id", "name", "email", "rights", "_links"], "user");
    }
    let regular = emu.issue_token(false);
    let denied = get(&emu, "/api/v4/users", Some(&regular)).await;
    assert_eq!(denied.status, 403);
    assert_eq!(
        denied.content_type.as_deref(),
        Some("application/problem+json")
    );
    assert_eq!(
        get(&emu, "/api/v4/account", Some(&regular)).await.status,
        200
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn lead_and_contact_shapes() {
    let emu = start(60).await;
    let page = get_ok(&emu, "/api/v4/leads?limit=250&with=contacts").await;
    has_keys(&page, &["_page", "_links", "_embedded"], "lead list");
    let leads = page["_embedded"]["leads"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!leads.is_empty());
    for l in &leads {
        has_keys(l, LEAD_KEYS, "lead");
        has_keys(
            &l["_embedded"],
            &["tags", "companies", "contacts"],
            "lead _embedded",
        );
        assert_eq!(l["is_deleted"], false);
        assert!(
            l["_links"]["self"]["href"]
                .as_str()
                .is_some_and(|h| h.starts_with("http://127.0.0.1:"))
        );
        for c in l["_embedded"]["contacts"].as_array().into_iter().flatten() {
            has_keys(c, &["id", "is_main", "_links"], "embedded contact");
        }
        if let Some(fields) = l["custom_fields_values"].as_array() {
            for f in fields {
                has_keys(
                    f,
                    &[
                        "field_id",
                        "field_name",
                        "field_code",
                        "field_type",
                        "values",
                    ],
                    "custom field",
                );
            }
        }
    }
    assert!(
        leads.iter().any(|l| l["price"] == 0),
        "some leads have no price"
    );
    assert!(leads.iter().any(|l| {
        l["_embedded"]["tags"]
            .as_array()
            .is_some_and(|t| !t.is_empty())
    }));
    // Without with=contacts the contacts are not embedded.
    let bare = get_ok(&emu, "/api/v4/leads?limit=5").await;
    assert!(
        bare["_embedded"]["leads"][0]["_embedded"]
            .get("contacts")
            .is_none()
    );

    let id = leads[0]["id"].as_u64().unwrap_or_default();
    let one = get_ok(
        &emu,
        &format!("/api/v4/leads/{id}?with=contacts,loss_reason"),
    )
    .await;
    has_keys(&one, LEAD_KEYS, "single lead");
    assert!(one["_embedded"]["loss_reason"].is_array());

    let contacts = get_ok(&emu, "/api/v4/contacts?limit=50&with=leads").await;
    let list = contacts["_embedded"]["contacts"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for c in &list {
        has_keys(
            c,
            &[
                "id",
                "name",
                "first_name",
                "last_name",
                "responsible_user_id",
                "group_id",
                "created_by",
                "updated_by",
                "created_at",
                "updated_at",
                "closest_task_at",
                "is_unsorted",
                "custom_fields_values",
                "account_id",
                "_links",
                "_embedded",
            ],
            "contact",
        );
        has_keys(
            &c["_embedded"],
            &["tags", "companies", "leads"],
            "contact _embedded",
        );
    }
    let phones: Vec<&Value> = list
        .iter()
        .filter_map(|c| c["custom_fields_values"].as_array())
        .flatten()
        .filter(|f| f["field_code"] == "PHONE")
        .collect();
    assert!(!phones.is_empty());
    for p in phones {
        assert_eq!(p["field_type"], "multitext");
        assert!(p["values"][0]["enum_code"].is_string());
    }
    // Search by name, Cyrillic intact.
    let name = list[0]["name"].as_str().unwrap_or_default().to_string();
    let found = get(
        &emu,
        &format!("/api/v4/contacts?query={}", urlencode(&name)),
        Some(&emu.token()),
    )
    .await;
    assert_eq!(found.status, 200);
    assert!(found.body.contains(&name));
    emu.shutdown().await;
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn events_talks_unsorted() {
    let emu = start(80).await;
    let ev = get_ok(
        &emu,
        "/api/v4/events?filter[type][]=lead_status_changed&limit=100",
    )
    .await;
    let events = ev["_embedded"]["events"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!events.is_empty());
    for e in &events {
        has_keys(
            e,
            &[
                "id",
                "type",
                "entity_id",
                "entity_type",
                "created_by",
                "created_at",
                "value_after",
                "value_before",
                "account_id",
                "_links",
            ],
            "event",
        );
        assert_eq!(e["type"], "lead_status_changed");
        assert!(e["value_after"][0]["lead_status"]["id"].is_u64());
        assert!(e["value_before"][0]["lead_status"]["pipeline_id"].is_u64());
    }
    // Newest first by default.
    let times: Vec<i64> = events
        .iter()
        .filter_map(|e| e["created_at"].as_i64())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]));
    assert_eq!(
        get(&emu, "/api/v4/events?limit=101", Some(&emu.token()))
            .await
            .status,
        400
    );

    let chats = get_ok(&emu, "/api/v4/events?filter[type][]=incoming_chat_message&filter[type][]=outgoing_chat_message&limit=100").await;
    let first = &chats["_embedded"]["events"][0];
    let message = &first["value_after"][0]["message"];
    has_keys(message, &["id", "origin", "talk_id"], "message event");
    let talk_id = message["talk_id"].as_u64().unwrap_or_default();
    let talk = get_ok(&emu, &format!("/api/v4/talks/{talk_id}")).await;
    has_keys(
        &talk,
        &[
            "talk_id",
            "chat_id",
            "contact_id",
            "entity_id",
            "entity_type",
            "origin",
            "is_in_work",
            "is_read",
            "rate",
            "missed_at",
            "created_at",
            "updated_at",
        ],
        "talk",
    );
    assert!(
        ["waba", "telegram", "instagram", "onlinechat"]
            .contains(&talk["origin"].as_str().unwrap_or_default())
    );

    let unsorted = get_ok(&emu, "/api/v4/leads/unsorted").await;
    let items = unsorted["_embedded"]["unsorted"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(items.len(), 3);
    for u in &items {
        has_keys(
            u,
            &[
                "uid",
                "source_uid",
                "source_name",
                "category",
                "pipeline_id",
                "created_at",
                "metadata",
                "_embedded",
            ],
            "unsorted",
        );
    }
    let forms = get_ok(&emu, "/api/v4/leads/unsorted?filter[category][]=forms").await;
    assert_eq!(
        forms["_embedded"]["unsorted"].as_array().map(Vec::len),
        Some(1)
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn empty_and_unknown_give_204_without_body() {
    let emu = start(10).await;
    for path in [
        "/api/v4/leads/1",
        "/api/v4/contacts/1",
        "/api/v4/talks/999999",
        "/api/v4/leads/pipelines/1",
        "/api/v4/leads?filter[id][]=1",
        "/api/v4/leads?page=99",
        "/api/v4/events?filter[entity_id][]=1",
        "/api/v4/webhooks",
    ] {
        let a = get(&emu, path, Some(&emu.token())).await;
        assert_eq!(a.status, 204, "{path}");
        assert!(a.body.is_empty(), "{path}");
        assert_eq!(a.content_type, None, "{path}");
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn bad_requests_and_unknown_paths() {
    let emu = start(10).await;
    let t = emu.token();
    for path in [
        "/api/v4/leads?limit=0",
        "/api/v4/leads?limit=251",
        "/api/v4/leads?limit=ten",
        "/api/v4/leads?page=0",
        "/api/v4/leads?filter[id][]=abc",
        "/api/v4/leads?order[name]=asc",
        "/api/v4/leads?order[id]=sideways",
        "/api/v4/leads?filter[updated_at][from]=yesterday",
        "/api/v4/contacts/chats",
    ] {
        let a = get(&emu, path, Some(&t)).await;
        assert_eq!(a.status, 400, "{path}: {}", a.body);
        assert_eq!(
            a.content_type.as_deref(),
            Some("application/problem+json"),
            "{path}"
        );
        assert_eq!(a.json()["status"], 400);
    }
    // A non-numeric id names no entity: 404, as an unknown path.
    for path in [
        "/api/v4/nothing",
        "/nothing/at/all",
        "/api/v4/leads/abc",
        "/api/v4/contacts/-1",
        "/api/v4/companies/1e3",
        "/api/v4/tasks/x",
        "/api/v4/leads/pipelines/abc/statuses/1",
        "/api/v4/leads/loss_reasons/99999999999999999999999",
    ] {
        let a = get(&emu, path, Some(&t)).await;
        assert_eq!(a.status, 404, "{path}");
        assert_eq!(a.content_type.as_deref(), Some("application/problem+json"));
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn unauthorized_without_valid_token() {
    let emu = start(10).await;
    let missing = get(&emu, "/api/v4/leads", None).await;
    assert_eq!(missing.status, 401);
    assert_eq!(
        missing.content_type.as_deref(),
        Some("application/problem+json")
    );
    assert_eq!(missing.json()["title"], "Unauthorized");
    assert_eq!(
        get(&emu, "/api/v4/leads", Some("not.a.token")).await.status,
        401
    );

    let token = emu.issue_token(true);
    assert_eq!(token.split('.').count(), 3);
    assert_eq!(get(&emu, "/api/v4/account", Some(&token)).await.status, 200);
    control(
        &emu,
        reqwest::Method::POST,
        "/tokens/revoke",
        &serde_json::json!({"token": token}),
    )
    .await;
    let revoked = get(&emu, "/api/v4/account", Some(&token)).await;
    assert_eq!(revoked.status, 401);
    assert_eq!(revoked.json()["hint"], "Token has been revoked");
    // The start token still works.
    assert_eq!(
        get(&emu, "/api/v4/account", Some(&emu.token()))
            .await
            .status,
        200
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn in_process_router_answers_without_a_socket() {
    use tower::ServiceExt;
    let state = amo_emulator::AppState::new(
        amo_emulator::EmulatorConfig {
            leads: 5,
            now: Some(NOW),
            ..Default::default()
        },
        "http://emu.test",
    );
    let req = axum::http::Request::builder()
        .uri("/api/v4/leads/pipelines")
        .header("Authorization", format!("Bearer {}", state.admin_token()))
        .body(axum::body::Body::empty())
        .unwrap_or_else(|e| panic!("request: {e}"));
    let resp = amo_emulator::app(state)
        .oneshot(req)
        .await
        .unwrap_or_else(|e| match e {});
    assert_eq!(resp.status(), 200);
}
