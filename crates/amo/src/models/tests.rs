//! Model parsing from JSON samples shaped after amocrm.md §4–§5 and real
//! captures: tolerant input, faithful output.

use serde_json::{Value, json};

use super::*;

fn lead_sample() -> Value {
    json!({
        "id": 19619,
        "name": "Сделка для примера",
        "price": 46333,
        "responsible_user_id": 123321,
        "group_id": 625,
        "status_id": 142,
        "pipeline_id": 1300,
        "loss_reason_id": null,
        "source_id": null,
        "created_by": 321123,
        "updated_by": 321123,
        "created_at": 1453279607,
        "updated_at": 1502193501,
        "closed_at": 1483005931,
        "closest_task_at": null,
        "is_deleted": false,
        "custom_fields_values": null,
        "score": null,
        "account_id": 5135160,
        "labor_cost": null,
        "is_price_modified_by_robot": false,
        "_links": {"self": {"href": "https://example.amocrm.ru/api/v4/leads/19619"}},
        "_embedded": {
            "tags": [{"id": 100667, "name": "тест", "color": null}],
            "contacts": [
                {"id": 10, "is_main": false, "_links": {"self": {"href": "https://example.amocrm.ru/api/v4/contacts/10"}}},
                {"id": 11, "is_main": true}
            ],
            "companies": [{"id": 10971463, "_links": {"self": {"href": "https://example.amocrm.ru/api/v4/companies/10971463"}}}]
        }
    })
}

#[test]
fn lead_parses_and_serializes_back_identically() {
    let sample = lead_sample();
    let lead: Lead = serde_json::from_value(sample.clone()).expect("lead");
    assert_eq!(lead.id, 19619);
    assert_eq!(lead.status_key(), StatusKey::won(1300));
    assert!(lead.status_key().is_closed());
    assert_eq!(lead.contact_ids(), [11, 10]);
    assert_eq!(lead.main_contact_id(), Some(11));
    assert_eq!(lead.company_ids(), [10971463]);
    assert_eq!(lead.tags()[0].name, "тест");
    assert_eq!(
        lead.extra.get("is_price_modified_by_robot"),
        Some(&json!(false))
    );
    // source_id: null is dropped on output (it is only sent with with=source_id).
    let mut expected = sample;
    expected.as_object_mut().map(|o| o.remove("source_id"));
    assert_eq!(serde_json::to_value(&lead).expect("ser"), expected);
}

#[test]
fn lead_tolerates_strings_nulls_and_missing_fields() {
    let lead: Lead = serde_json::from_value(json!({
        "id": "42",
        "name": null,
        "price": "1500",
        "status_id": "143",
        "pipeline_id": 7,
        "loss_reason_id": "12",
        "updated_at": "1700000000",
        "custom_fields_values": [{"field_id": 5, "field_name": "Источник", "field_code": null, "field_type": "select",
                                   "values": [{"value": "Сайт", "enum_id": 9}]}],
        "_embedded": {"tags": null, "companies": []}
    }))
    .expect("lenient lead");
    assert_eq!(
        (lead.id, lead.price, lead.status_id, lead.loss_reason_id),
        (42, 1500, 143, Some(12))
    );
    assert_eq!(lead.name, "");
    assert_eq!(lead.updated_at, 1_700_000_000);
    assert!(lead.tags().is_empty());
    assert!(lead.contact_ids().is_empty(), "no with=contacts");
    assert_eq!(lead.custom_fields_values.as_ref().map(Vec::len), Some(1));
}

#[test]
fn lead_without_id_is_rejected() {
    assert!(serde_json::from_value::<Lead>(json!({"name": "x"})).is_err());
    assert!(serde_json::from_value::<Lead>(json!({"id": null})).is_err());
}

#[test]
fn contact_phones_and_emails_with_either_enum_key() {
    let contact: Contact = serde_json::from_value(json!({
        "id": 3, "name": "Иван Петров", "first_name": "Иван", "last_name": "Петров",
        "responsible_user_id": 1, "group_id": 0, "created_by": 1, "updated_by": 1,
        "created_at": 1, "updated_at": 2, "closest_task_at": null, "is_unsorted": false,
        "custom_fields_values": [
            {"field_id": 1, "field_name": "Телефон", "field_code": "PHONE", "field_type": "multitext",
             "values": [{"value": "+7 999 000-00-01", "enum_id": 1, "enum_code": "WORK"},
                        {"value": "+7 999 000-00-02", "enum": "MOB"}]},
            {"field_id": 2, "field_name": "Email", "field_code": "EMAIL", "field_type": "multitext",
             "values": [{"value": "ivan@example.com", "enum_code": "PRIV"}]}
        ],
        "account_id": 5,
        "_embedded": {"tags": [], "companies": [{"id": 8}], "leads": [{"id": 19619}]}
    }))
    .expect("contact");
    assert_eq!(
        contact.phones(),
        [
            (Some("WORK"), "+7 999 000-00-01".into()),
            (Some("MOB"), "+7 999 000-00-02".into())
        ]
    );
    assert_eq!(
        contact.emails(),
        [(Some("PRIV"), "ivan@example.com".into())]
    );
    assert_eq!(contact.lead_ids(), [19619]);
}

#[test]
fn pipelines_key_statuses_by_pipeline() {
    let pipeline: Pipeline = serde_json::from_value(json!({
        "id": 3177727, "name": "Воронка", "sort": 1, "is_main": true, "is_unsorted_on": true,
        "is_archive": false, "account_id": 12345678,
        "_links": {"self": {"href": "https://example.amocrm.ru/api/v4/leads/pipelines/3177727"}},
        "_embedded": {"statuses": [
            {"id": 32392156, "name": "Неразобранное", "sort": 10, "is_editable": false, "pipeline_id": 3177727,
             "color": "#c1c1c1", "type": 1, "account_id": 12345678},
            {"id": 142, "name": "Успешно реализовано", "sort": 10000, "is_editable": false, "pipeline_id": 3177727,
             "color": "#CCFF66", "type": 0, "account_id": 12345678},
            {"id": 143, "name": "Закрыто и не реализовано", "sort": 11000, "is_editable": false,
             "pipeline_id": "3177727", "color": "#D5D8DB", "type": "0", "account_id": 12345678,
             "descriptions": []}
        ]}
    }))
    .expect("pipeline");
    assert_eq!(pipeline.statuses().len(), 3);
    assert!(pipeline.statuses()[0].is_incoming());
    let won = pipeline.status(142).expect("won");
    assert!(won.is_won());
    assert_eq!(won.key(), StatusKey::won(3177727));
    assert!(pipeline.status(143).expect("lost").is_lost());
    assert_eq!(
        pipeline
            .status(143)
            .expect("lost")
            .extra
            .get("descriptions"),
        Some(&json!([]))
    );
    let back = serde_json::to_value(&pipeline).expect("ser");
    assert_eq!(back["_embedded"]["statuses"][1]["type"], 0);
}

#[test]
fn account_with_amojo_and_groups() {
    let account: Account = serde_json::from_value(json!({
        "id": 29085955, "name": "Example", "subdomain": "example", "created_at": 1585840134,
        "created_by": 3460222, "updated_at": 1589295998, "current_user_id": 3460222,
        "country": "RU", "currency": "RUB", "currency_symbol": "₽", "customers_mode": "disabled",
        "is_unsorted_on": true, "amojo_id": "f3c6340d-410e-4ad1-9f7e-c5e663599909",
        "_links": {"self": {"href": "https://example.amocrm.ru/api/v4/account"}},
        "_embedded": {"users_groups": [{"id": 0, "name": "Отдел продаж", "uuid": null}]}
    }))
    .expect("account");
    assert_eq!(
        account.amojo_id.as_deref(),
        Some("f3c6340d-410e-4ad1-9f7e-c5e663599909")
    );
    assert_eq!(account.users_groups()[0].name, "Отдел продаж");
    assert_eq!(
        account.extra.get("customers_mode"),
        Some(&json!("disabled"))
    );
}

#[test]
fn users_rights() {
    let user: User = serde_json::from_value(json!({
        "id": 3460222, "name": "Admin", "email": "admin@example.com", "lang": "ru",
        "rights": {"leads": {"view": "A"}, "is_admin": true, "is_free": false, "is_active": true, "group_id": null}
    }))
    .expect("user");
    assert!(user.rights.is_admin);
    assert_eq!(user.rights.group_id, None);
    assert!(user.rights.extra.contains_key("leads"));
}

#[test]
fn talk_sample() {
    let talk: Talk = serde_json::from_value(json!({
        "talk_id": 16, "created_at": 1639999999, "updated_at": 1640000000, "rate": 0,
        "contact_id": 3, "chat_id": "d5a1d5e4-6ba7-4d3c-8b1f-6f0e0fe7a2a4", "entity_id": 19619,
        "entity_type": "lead", "is_in_work": true, "is_read": false, "origin": "telegram",
        "missed_at": null, "account_id": 5
    }))
    .expect("talk");
    assert_eq!(
        (talk.talk_id, talk.entity_id, talk.origin.as_deref()),
        (16, Some(19619), Some("telegram"))
    );
    assert!(talk.is_in_work && !talk.is_read);
}

#[test]
fn events_typed_where_known_raw_otherwise() {
    let sample = json!([
        {"id": "01h2abc", "type": "lead_status_changed", "entity_id": 19619, "entity_type": "lead",
         "created_by": 1, "created_at": 1700000000,
         "value_after": [{"lead_status": {"id": 142, "pipeline_id": 1300}}],
         "value_before": [{"lead_status": {"id": 555, "pipeline_id": 1300}}],
         "account_id": 5, "_links": {"self": {"href": "https://example.amocrm.ru/api/v4/events/01h2abc"}},
         "_embedded": {"entity": {"id": 19619}}},
        {"id": "01h2abd", "type": "incoming_chat_message", "entity_id": 19619, "entity_type": "lead",
         "created_by": 0, "created_at": 1700000100,
         "value_after": [{"message": {"id": "5b6a1c3e-1111-2222-3333-444455556666", "origin": "telegram", "talk_id": 16}}],
         "value_before": []},
        {"id": "01h2abe", "type": "custom_field_value_changed", "entity_id": 1, "entity_type": "lead",
         "created_by": 1, "created_at": 1,
         "value_after": [{"custom_field_value": {"field_id": 5, "text": "x"}}],
         "value_before": null}
    ]);
    let events: Vec<Event> = serde_json::from_value(sample.clone()).expect("events");
    assert_eq!(
        events[0].status_after().map(LeadStatusValue::key),
        Some(StatusKey::won(1300))
    );
    assert_eq!(events[0].status_before().map(|s| s.id), Some(555));
    let message = events[1].message().expect("message");
    assert_eq!(
        (message.talk_id, message.origin.as_deref()),
        (Some(16), Some("telegram"))
    );
    assert!(matches!(events[2].value_after[0], EventValue::Other(_)));
    assert!(events[2].value_before.is_empty());
    let back = serde_json::to_value(&events).expect("ser");
    assert_eq!(back[0], sample[0]);
    assert_eq!(back[1], sample[1]);
    assert_eq!(back[2]["value_after"], sample[2]["value_after"]);
}

#[test]
fn unsorted_and_webhook() {
    let unsorted: Unsorted = serde_json::from_value(json!({
        "uid": "c2b3c4d5", "source_uid": "a1b2", "source_name": "Telegram", "category": "chats",
        "pipeline_id": 3177727, "created_at": 1600000000,
        "metadata": {"from": "Иван", "service": "telegram"}, "account_id": 5,
        "_embedded": {"leads": [{"id": 77}], "contacts": [{"id": 3}], "companies": []}
    }))
    .expect("unsorted");
    assert_eq!(unsorted.lead_id(), Some(77));

    let webhook: Webhook = serde_json::from_value(json!({
        "id": 1, "destination": "https://example.trycloudflare.com/hook/abc/", "created_at": 1, "updated_at": 2,
        "account_id": 5, "created_by": 3, "sort": 10, "disabled": false,
        "settings": ["add_lead", "status_lead", "add_message"]
    }))
    .expect("webhook");
    assert_eq!(webhook.settings.len(), 3);
    assert!(!webhook.disabled);
}

#[test]
fn notes_keep_text_typed_and_other_params_raw() {
    let sample = json!([
        {"id": 42, "entity_id": 19619, "created_by": 1, "updated_by": 1, "created_at": 1700000000,
         "updated_at": "1700000100", "responsible_user_id": 1, "group_id": 0, "note_type": "common",
         "params": {"text": "Перезвонить «завтра»"}, "account_id": 5,
         "is_needs_to_trigger_digital_pipeline": false,
         "_links": {"self": {"href": "https://example.amocrm.ru/api/v4/leads/19619/notes/42"}}},
        {"id": "43", "entity_id": 19619, "note_type": "call_in",
         "params": {"uniq": "8f52d38a", "duration": 60, "source": "onlinePBX", "phone": "+79990000000",
                    "link": "https://example.com/call.mp3", "call_status": 4}},
        {"id": 44, "entity_id": 3, "note_type": "attachment", "params": []},
        {"id": 45, "entity_id": 3, "note_type": "common", "params": null}
    ]);
    let notes: Vec<Note> = serde_json::from_value(sample.clone()).expect("notes");
    assert_eq!(notes[0].text(), Some("Перезвонить «завтра»"));
    assert_eq!(notes[0].updated_at, 1_700_000_100);
    assert_eq!(
        notes[0].extra.get("is_needs_to_trigger_digital_pipeline"),
        Some(&json!(false))
    );
    assert_eq!((notes[1].id, notes[1].text()), (43, None));
    assert_eq!(notes[1].params.extra["duration"], 60);
    assert_eq!(notes[1].params.extra["phone"], "+79990000000");
    assert_eq!(notes[2].params, NoteParams::default());
    assert_eq!(notes[3].params, NoteParams::default());
    let back = serde_json::to_value(&notes).expect("ser");
    assert_eq!(back[0]["params"], sample[0]["params"]);
    assert_eq!(back[1]["params"], sample[1]["params"]);
    assert_eq!(back[0]["_links"], sample[0]["_links"]);
    assert!(serde_json::from_value::<Note>(json!({"id": 1, "params": "text"})).is_err());
}
