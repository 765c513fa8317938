//! The world's entities as amoCRM API v4 JSON (amocrm.md §4).

use serde_json::{Value, json};

use super::hal::{href, self_link};
use crate::model::{
    Company, Contact, CustomFieldValues, Event, FieldType, Lead, Note, Pipeline, Status, Talk,
    Task, Unsorted, User,
};
use crate::world::{LossReason, World};

/// `custom_fields_values`: null when empty; date values as numbers.
pub fn custom_fields(fields: &[CustomFieldValues]) -> Value {
    if fields.is_empty() {
        return Value::Null;
    }
    Value::Array(
        fields
            .iter()
            .map(|f| {
                let values: Vec<Value> = f
                    .values
                    .iter()
                    .map(|v| {
                        let mut out = serde_json::Map::new();
                        let value = match f.field_type {
                            FieldType::Date => v
                                .value
                                .parse::<i64>()
                                .map(Value::from)
                                .unwrap_or_else(|_| json!(v.value)),
                            _ => json!(v.value),
                        };
                        out.insert("value".into(), value);
                        if let Some(id) = v.enum_id {
                            out.insert("enum_id".into(), json!(id));
                        }
                        if let Some(code) = &v.enum_code {
                            out.insert("enum_code".into(), json!(code));
                        }
                        Value::Object(out)
                    })
                    .collect();
                json!({
                    "field_id": f.field_id,
                    "field_name": f.field_name,
                    "field_code": f.field_code,
                    "field_type": f.field_type.as_str(),
                    "values": values,
                })
            })
            .collect(),
    )
}

fn tags(tags: &[crate::model::Tag]) -> Value {
    Value::Array(
        tags.iter()
            .map(|t| json!({"id": t.id, "name": t.name, "color": t.color}))
            .collect(),
    )
}

/// What a lead answer embeds beyond tags and companies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeadWith {
    pub contacts: bool,
    pub loss_reason: bool,
    pub source_id: bool,
}

pub fn lead(w: &World, l: &Lead, with: LeadWith) -> Value {
    let base = w.account.base_url.as_str();
    let mut embedded = serde_json::Map::new();
    embedded.insert("tags".into(), tags(&l.tags));
    let companies: Vec<Value> = l
        .company_id
        .iter()
        .map(|id| json!({"id": id, "_links": self_link(base, &format!("/api/v4/companies/{id}"))}))
        .collect();
    embedded.insert("companies".into(), Value::Array(companies));
    if with.contacts {
        let contacts: Vec<Value> = l
            .contacts
            .iter()
            .map(|c| json!({"id": c.id, "is_main": c.is_main, "_links": self_link(base, &format!("/api/v4/contacts/{}", c.id))}))
            .collect();
        embedded.insert("contacts".into(), Value::Array(contacts));
    }
    if with.loss_reason {
        let reasons: Vec<Value> = l
            .loss_reason_id
            .and_then(|id| w.loss_reasons.iter().find(|r| r.id == id))
            .map(|r| loss_reason(w, r))
            .into_iter()
            .collect();
        embedded.insert("loss_reason".into(), Value::Array(reasons));
    }
    let mut out = json!({
        "id": l.id,
        "name": l.name,
        "price": l.price,
        "responsible_user_id": l.responsible_user_id,
        "group_id": l.group_id,
        "status_id": l.status_id,
        "pipeline_id": l.pipeline_id,
        "loss_reason_id": l.loss_reason_id,
        "created_by": l.created_by,
        "updated_by": l.updated_by,
        "created_at": l.created_at,
        "updated_at": l.updated_at,
        "closed_at": l.closed_at,
        "closest_task_at": l.closest_task_at,
        "is_deleted": l.is_deleted,
        "custom_fields_values": custom_fields(&l.custom_fields),
        "score": l.score,
        "account_id": w.account.id,
        "labor_cost": l.labor_cost,
        "_links": self_link(base, &format!("/api/v4/leads/{}", l.id)),
        "_embedded": embedded,
    });
    if with.source_id {
        out["source_id"] = json!(l.source_id);
    }
    out
}

pub fn contact(w: &World, c: &Contact, with_leads: bool) -> Value {
    let base = w.account.base_url.as_str();
    let mut embedded = serde_json::Map::new();
    embedded.insert("tags".into(), tags(&c.tags));
    let companies: Vec<Value> = c
        .company_id
        .iter()
        .map(|id| json!({"id": id, "_links": self_link(base, &format!("/api/v4/companies/{id}"))}))
        .collect();
    embedded.insert("companies".into(), Value::Array(companies));
    if with_leads {
        let leads: Vec<Value> = c
            .lead_ids
            .iter()
            .filter(|id| w.leads.get(id).is_some_and(|l| !l.is_deleted))
            .map(|id| json!({"id": id, "_links": self_link(base, &format!("/api/v4/leads/{id}"))}))
            .collect();
        embedded.insert("leads".into(), Value::Array(leads));
    }
    json!({
        "id": c.id,
        "name": c.name,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "responsible_user_id": c.responsible_user_id,
        "group_id": c.group_id,
        "created_by": c.created_by,
        "updated_by": c.updated_by,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "closest_task_at": c.closest_task_at,
        "is_deleted": c.is_deleted,
        "is_unsorted": c.is_unsorted,
        "custom_fields_values": custom_fields(&c.custom_fields),
        "account_id": w.account.id,
        "_links": self_link(base, &format!("/api/v4/contacts/{}", c.id)),
        "_embedded": embedded,
    })
}

pub fn company(w: &World, c: &Company) -> Value {
    let base = w.account.base_url.as_str();
    json!({
        "id": c.id,
        "name": c.name,
        "responsible_user_id": c.responsible_user_id,
        "group_id": c.group_id,
        "created_by": c.created_by,
        "updated_by": c.updated_by,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "closest_task_at": null,
        "is_deleted": c.is_deleted,
        "custom_fields_values": custom_fields(&c.custom_fields),
        "account_id": w.account.id,
        "_links": self_link(base, &format!("/api/v4/companies/{}", c.id)),
        "_embedded": {"tags": tags(&c.tags)},
    })
}

pub fn status(w: &World, s: &Status) -> Value {
    let base = w.account.base_url.as_str();
    json!({
        "id": s.id,
        "name": s.name,
        "sort": s.sort,
        "is_editable": s.is_editable,
        "pipeline_id": s.pipeline_id,
        "color": s.color,
        "type": s.kind,
        "account_id": w.account.id,
        "_links": self_link(base, &format!("/api/v4/leads/pipelines/{}/statuses/{}", s.pipeline_id, s.id)),
    })
}

pub fn pipeline(w: &World, p: &Pipeline) -> Value {
    let base = w.account.base_url.as_str();
    let mut statuses: Vec<&Status> = p.statuses.iter().collect();
    statuses.sort_by_key(|s| s.sort);
    json!({
        "id": p.id,
        "name": p.name,
        "sort": p.sort,
        "is_main": p.is_main,
        "is_unsorted_on": p.is_unsorted_on,
        "is_archive": p.is_archive,
        "account_id": w.account.id,
        "_links": self_link(base, &format!("/api/v4/leads/pipelines/{}", p.id)),
        "_embedded": {"statuses": statuses.into_iter().map(|s| status(w, s)).collect::<Vec<_>>()},
    })
}

fn rights(is_admin: bool) -> Value {
    let level = if is_admin { "A" } else { "M" };
    let entity = json!({"view": level, "edit": level, "add": "A", "delete": if is_admin { "A" } else { "D" }, "export": if is_admin { "A" } else { "D" }});
    json!({
        "leads": entity, "contacts": entity, "companies": entity,
        "tasks": {"edit": level, "delete": level},
        "mail_access": true, "catalog_access": true, "files_access": true,
        "status_rights": [], "catalog_rights": null, "custom_fields_rights": null, "oper_day_reports_view_access": false,
        "oper_day_user_tracking": false,
        "is_admin": is_admin, "is_free": false, "is_active": true, "group_id": null, "role_id": null,
    })
}

pub fn user(w: &World, u: &User) -> Value {
    let mut r = rights(u.is_admin);
    r["is_active"] = json!(u.is_active);
    r["group_id"] = json!(u.group_id);
    json!({
        "id": u.id, "name": u.name, "email": u.email, "lang": u.lang, "rights": r,
        "_links": self_link(&w.account.base_url, &format!("/api/v4/users/{}", u.id)),
    })
}

/// `GET /api/v4/account`; `with` may include amojo_id, users_groups, datetime_settings.
pub fn account(w: &World, with: &[String], current_user_id: u64) -> Value {
    let a = &w.account;
    let mut out = json!({
        "id": a.id, "name": a.name, "subdomain": a.subdomain,
        "created_at": a.created_at, "created_by": a.created_by, "updated_at": a.created_at, "updated_by": a.created_by,
        "current_user_id": current_user_id, "country": a.country, "currency": a.currency, "currency_symbol": a.currency_symbol,
        "customers_mode": "disabled", "is_unsorted_on": true, "mobile_feature_version": 0, "is_loss_reason_enabled": true,
        "is_helpbot_enabled": false, "is_technical_account": false, "contact_name_display_order": 1,
        "_links": self_link(&a.base_url, "/api/v4/account"),
    });
    let has = |k: &str| with.iter().any(|x| x == k);
    if has("amojo_id") {
        out["amojo_id"] = json!(a.amojo_id);
    }
    if has("users_groups") {
        let groups: Vec<Value> = w
            .groups
            .iter()
            .map(|g| json!({"id": g.id, "name": g.name, "uuid": null}))
            .collect();
        out["_embedded"] = json!({"users_groups": groups});
    }
    if has("datetime_settings") {
        out["datetime_settings"] = json!({
            "date_pattern": "d.m.Y H:i", "short_date_pattern": "d.m.Y", "short_time_pattern": "H:i",
            "date_format": "d.m.Y", "time_format": "H:i:s", "timezone": crate::model::ACCOUNT_TIMEZONE, "timezone_offset": crate::model::ACCOUNT_TIMEZONE_OFFSET,
        });
    }
    out
}

pub fn event(w: &World, e: &Event) -> Value {
    let base = w.account.base_url.as_str();
    let entity_path = match e.entity_type.as_str() {
        "lead" => format!("/api/v4/leads/{}", e.entity_id),
        "contact" => format!("/api/v4/contacts/{}", e.entity_id),
        "company" => format!("/api/v4/companies/{}", e.entity_id),
        other => format!("/api/v4/{other}s/{}", e.entity_id),
    };
    json!({
        "id": e.id, "type": e.kind, "entity_id": e.entity_id, "entity_type": e.entity_type,
        "created_by": e.created_by, "created_at": e.created_at,
        "value_after": e.value_after, "value_before": e.value_before, "account_id": w.account.id,
        "_links": self_link(base, &format!("/api/v4/events/{}", e.id)),
        "_embedded": {"entity": {"id": e.entity_id, "_links": {"self": href(base, &entity_path)}}},
    })
}

pub fn talk(w: &World, t: &Talk) -> Value {
    let base = w.account.base_url.as_str();
    json!({
        "talk_id": t.talk_id, "created_at": t.created_at, "updated_at": t.updated_at, "rate": t.rate,
        "contact_id": t.contact_id, "chat_id": t.chat_id, "entity_id": t.entity_id, "entity_type": t.entity_type,
        "is_in_work": t.is_in_work, "is_read": t.is_read, "origin": t.origin, "missed_at": t.missed_at,
        "account_id": w.account.id,
        "_links": self_link(base, &format!("/api/v4/talks/{}", t.talk_id)),
        "_embedded": {
            "contacts": [{"id": t.contact_id, "_links": self_link(base, &format!("/api/v4/contacts/{}", t.contact_id))}],
            "leads": [{"id": t.entity_id, "_links": self_link(base, &format!("/api/v4/leads/{}", t.entity_id))}],
        },
    })
}

pub fn unsorted(w: &World, u: &Unsorted) -> Value {
    let base = w.account.base_url.as_str();
    let metadata = match u.category.as_str() {
        "chats" => json!({
            "from": u.client_name, "received_at": u.created_at, "service": u.service,
            "client": {"name": u.client_name, "id": u.source_uid}, "origin": u.origin,
            "last_message_text": u.text, "source_name": u.source_name,
        }),
        _ => json!({
            "form_id": "site_form", "form_name": "Заявка с сайта", "form_page": "https://kavkazdrive.ge/",
            "ip": "192.0.2.10", "form_sent_at": u.created_at, "referer": "https://kavkazdrive.ge/",
        }),
    };
    let contacts: Vec<Value> = u
        .contact_id
        .iter()
        .map(|id| json!({"id": id, "_links": self_link(base, &format!("/api/v4/contacts/{id}"))}))
        .collect();
    json!({
        "uid": u.uid, "source_uid": u.source_uid, "source_name": u.source_name, "category": u.category,
        "pipeline_id": u.pipeline_id, "created_at": u.created_at, "metadata": metadata, "account_id": w.account.id,
        "_links": self_link(base, &format!("/api/v4/leads/unsorted/{}", u.uid)),
        "_embedded": {
            "contacts": contacts,
            "leads": [{"id": u.lead_id, "_links": self_link(base, &format!("/api/v4/leads/{}", u.lead_id))}],
            "companies": [],
        },
    })
}

pub fn note(w: &World, n: &Note) -> Value {
    let base = w.account.base_url.as_str();
    let entity = match n.parent {
        crate::model::NoteParent::Lead => "leads",
        crate::model::NoteParent::Contact => "contacts",
        crate::model::NoteParent::Company => "companies",
    };
    json!({
        "id": n.id, "entity_id": n.entity_id, "created_by": n.created_by, "updated_by": n.updated_by,
        "created_at": n.created_at, "updated_at": n.updated_at, "responsible_user_id": n.responsible_user_id,
        "group_id": n.group_id, "note_type": n.note_type, "params": {"text": n.text}, "account_id": w.account.id,
        "_links": self_link(base, &format!("/api/v4/{entity}/{}/notes/{}", n.entity_id, n.id)),
    })
}

/// `GET /api/v4/leads/loss_reasons[/{id}]` item.
pub fn loss_reason(w: &World, r: &LossReason) -> Value {
    let base = w.account.base_url.as_str();
    json!({
        "id": r.id, "name": r.name, "sort": r.sort, "created_at": r.created_at, "updated_at": r.created_at,
        "_links": self_link(base, &format!("/api/v4/leads/loss_reasons/{}", r.id)),
    })
}

/// `GET /api/v4/tasks[/{id}]` item.
pub fn task(w: &World, t: &Task) -> Value {
    let base = w.account.base_url.as_str();
    let entity_type = match t.parent {
        crate::model::NoteParent::Lead => "leads",
        crate::model::NoteParent::Contact => "contacts",
        crate::model::NoteParent::Company => "companies",
    };
    let group_id = w
        .user(t.responsible_user_id)
        .map(|u| u.group_id)
        .unwrap_or_default();
    json!({
        "id": t.id, "created_by": t.created_by, "updated_by": t.created_by, "created_at": t.created_at,
        "updated_at": t.updated_at, "responsible_user_id": t.responsible_user_id, "group_id": group_id,
        "entity_id": t.entity_id, "entity_type": entity_type, "duration": 0, "is_completed": t.is_completed,
        "task_type_id": t.task_type_id, "text": t.text, "result": [], "complete_till": t.complete_till,
        "account_id": w.account.id,
        "_links": self_link(base, &format!("/api/v4/tasks/{}", t.id)),
    })
}

/// One `GET /api/v4/contacts/chats` link: the chat of a talk and its contact.
pub fn chat_link(t: &Talk) -> Value {
    json!({"chat_id": t.chat_id, "contact_id": t.contact_id, "id": t.talk_id})
}
