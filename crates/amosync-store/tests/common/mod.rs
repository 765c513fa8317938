//! Builders shared by the store tests.
#![allow(dead_code)]

use amo::models::{Contact, Lead, Pipeline, Talk};
use amosync_store::Store;
use serde_json::{Value, json};

/// Pipeline «Первичка» (8580102) of the original account: 19 open statuses, 142, 143.
pub const PRIMARY: u64 = 8580102;

/// The open statuses of «Первичка» in order.
pub const OPEN: [(u64, &str); 19] = [
    (69641334, "Неразобранное"),
    (76072006, "Партнерские сделки"),
    (76057418, "Объедини сделку"),
    (69641338, "Новый лид"),
    (69641342, "Взят в работу"),
    (75648530, "Подбор отправлен"),
    (69695126, "Нет ответа на предложение"),
    (75558642, "Финальный контакт"),
    (70390022, "Не отвечают"),
    (70363398, "Ожидаем Доки"),
    (69717006, "Получены доки"),
    (72457238, "Брони из Rentprog"),
    (71150590, "Синхронизация с Rentprog"),
    (69695130, "Отправлен дог"),
    (70724666, "Выдача"),
    (72177974, "Аренда"),
    (70724674, "Приемка"),
    (75235938, "Электронный договор"),
    (71480394, "Для разработки - не удалять"),
];

/// «Первичка» with its 21 statuses (listed out of order on purpose).
pub fn primary() -> Pipeline {
    let mut statuses: Vec<Value> = vec![
        json!({"id": 143, "name": "Закрыто и не реализовано", "sort": 11000, "color": "#D5D8DB", "pipeline_id": PRIMARY, "type": 0}),
        json!({"id": 142, "name": "Успешно реализовано", "sort": 10000, "color": "#CCFF66", "pipeline_id": PRIMARY, "type": 0}),
    ];
    for (i, (id, name)) in OPEN.iter().enumerate().rev() {
        statuses.push(
            json!({"id": id, "name": name, "sort": (i as i64 + 1) * 10, "color": "#99ccff",
            "pipeline_id": PRIMARY, "type": if i == 0 { 1 } else { 0 }}),
        );
    }
    serde_json::from_value(
        json!({"id": PRIMARY, "name": "Первичка", "sort": 1, "is_main": true,
        "_embedded": {"statuses": statuses}}),
    )
    .expect("pipeline")
}

/// A small second pipeline with three open statuses.
pub fn small(id: u64, open: &[u64]) -> Pipeline {
    let mut statuses: Vec<Value> = open
        .iter()
        .enumerate()
        .map(|(i, s)| json!({"id": s, "name": format!("Этап {i}"), "sort": (i + 1) * 10, "pipeline_id": id}))
        .collect();
    statuses.push(json!({"id": 142, "name": "Успешно", "sort": 10000, "pipeline_id": id}));
    statuses.push(json!({"id": 143, "name": "Закрыто", "sort": 11000, "pipeline_id": id}));
    serde_json::from_value(
        json!({"id": id, "name": "Вторая", "sort": 2, "_embedded": {"statuses": statuses}}),
    )
    .expect("pipeline")
}

/// A lead.
pub fn lead(id: u64, updated_at: i64, status: u64, price: i64) -> Lead {
    lead_in(id, PRIMARY, updated_at, status, price)
}

/// A lead in a pipeline.
pub fn lead_in(id: u64, pipeline: u64, updated_at: i64, status: u64, price: i64) -> Lead {
    serde_json::from_value(json!({
        "id": id, "name": format!("Сделка {id}"), "price": price, "responsible_user_id": 1,
        "status_id": status, "pipeline_id": pipeline, "created_at": 1_700_000_000 + id as i64,
        "updated_at": updated_at, "closed_at": if status == 142 || status == 143 { Some(updated_at) } else { None },
        "is_deleted": false, "custom_fields_values": null, "account_id": 31234567,
        "_embedded": {"tags": [], "companies": []}
    }))
    .expect("lead")
}

/// A lead from JSON.
pub fn lead_json(v: Value) -> Lead {
    serde_json::from_value(v).expect("lead")
}

/// A contact with a phone and an e-mail.
pub fn contact(id: u64, name: &str, phone: &str, email: &str, updated_at: i64) -> Contact {
    serde_json::from_value(json!({
        "id": id, "name": name, "first_name": null, "last_name": null, "responsible_user_id": 1,
        "created_at": 1_700_000_000, "updated_at": updated_at,
        "custom_fields_values": [
            {"field_id": 1, "field_name": "Телефон", "field_code": "PHONE", "field_type": "multitext",
             "values": [{"value": phone, "enum_code": "MOB"}]},
            {"field_id": 2, "field_name": "Email", "field_code": "EMAIL", "field_type": "multitext",
             "values": [{"value": email, "enum_code": "WORK"}]}
        ],
        "account_id": 31234567
    }))
    .expect("contact")
}

/// A talk.
pub fn talk(id: u64, lead: u64, contact: u64, origin: &str, updated_at: i64, read: bool) -> Talk {
    serde_json::from_value(json!({
        "talk_id": id, "chat_id": format!("chat-{id}"), "contact_id": contact, "entity_id": lead,
        "entity_type": "lead", "origin": origin, "is_in_work": !read, "is_read": read, "rate": null,
        "missed_at": null, "created_at": updated_at - 100, "updated_at": updated_at, "account_id": 31234567
    }))
    .expect("talk")
}

/// A fresh store in a temp dir (keep the dir alive).
pub fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Store::open(&dir.path().join("store.redb")).expect("open");
    (dir, s)
}
