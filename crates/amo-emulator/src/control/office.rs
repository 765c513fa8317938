//! What office staff do: leads, contacts, companies, notes, chats, unsorted.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{body, id, world_problem};
use crate::api::render::{self, LeadWith};
use crate::model::UnsortedResolution;
use crate::problem::Problem;
use crate::state::AppState;
use crate::world::{
    CompanyPatch, ContactPatch, LeadPatch, NewCompany, NewContact, NewLead, NewMessage, NewNote,
    NewTask, NewUnsorted, TalkPatch, TaskPatch, World,
};

type Reply = Result<Json<Value>, Problem>;

const FULL: LeadWith = LeadWith {
    contacts: true,
    loss_reason: true,
    source_id: false,
};

fn lead_json(w: &World, id: u64) -> Value {
    w.leads
        .get(&id)
        .map(|l| render::lead(w, l, FULL))
        .unwrap_or(Value::Null)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveBody {
    status_id: u64,
    pipeline_id: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkMoveBody {
    ids: Vec<u64>,
    status_id: u64,
    pipeline_id: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTalkBody {
    lead_id: u64,
    origin: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptBody {
    status_id: Option<u64>,
}

pub async fn add_lead(State(s): State<AppState>, b: Bytes) -> Reply {
    let input: NewLead = body(&b)?;
    let lead_id = s
        .apply(|w| w.add_lead(input).map(|(l, c)| (l.id, c)))
        .map_err(world_problem)?;
    Ok(Json(lead_json(&s.world(), lead_id)))
}

pub async fn update_lead(State(s): State<AppState>, Path(raw): Path<String>, b: Bytes) -> Reply {
    let lead_id = id(&raw)?;
    let patch: LeadPatch = body(&b)?;
    s.apply(|w| w.update_lead(lead_id, patch).map(|c| ((), c)))
        .map_err(world_problem)?;
    Ok(Json(lead_json(&s.world(), lead_id)))
}

pub async fn move_lead(State(s): State<AppState>, Path(raw): Path<String>, b: Bytes) -> Reply {
    let lead_id = id(&raw)?;
    let m: MoveBody = body(&b)?;
    s.apply(|w| {
        w.move_lead(lead_id, m.status_id, m.pipeline_id)
            .map(|c| ((), c))
    })
    .map_err(world_problem)?;
    Ok(Json(lead_json(&s.world(), lead_id)))
}

pub async fn bulk_move(State(s): State<AppState>, b: Bytes) -> Reply {
    let m: BulkMoveBody = body(&b)?;
    if m.ids.len() > 500 {
        return Err(Problem::bad_request("at most 500 ids per bulk move"));
    }
    let changes = s
        .apply(|w| {
            w.bulk_move(&m.ids, m.status_id, m.pipeline_id)
                .map(|c| (c.len(), c))
        })
        .map_err(world_problem)?;
    let world = s.world();
    let leads: Vec<Value> = m.ids.iter().map(|id| lead_json(&world, *id)).collect();
    Ok(Json(
        json!({"moved": leads.len(), "changes": changes, "leads": leads}),
    ))
}

pub async fn delete_lead(State(s): State<AppState>, Path(raw): Path<String>) -> Reply {
    let lead_id = id(&raw)?;
    s.apply(|w| w.delete_lead(lead_id).map(|c| ((), c)))
        .map_err(world_problem)?;
    Ok(Json(lead_json(&s.world(), lead_id)))
}

pub async fn restore_lead(State(s): State<AppState>, Path(raw): Path<String>) -> Reply {
    let lead_id = id(&raw)?;
    s.apply(|w| w.restore_lead(lead_id).map(|c| ((), c)))
        .map_err(world_problem)?;
    Ok(Json(lead_json(&s.world(), lead_id)))
}

pub async fn add_contact(State(s): State<AppState>, b: Bytes) -> Reply {
    let input: NewContact = body(&b)?;
    let contact = s.apply(|w| w.add_contact(input)).map_err(world_problem)?;
    let world = s.world();
    Ok(Json(render::contact(&world, &contact, true)))
}

pub async fn update_contact(State(s): State<AppState>, Path(raw): Path<String>, b: Bytes) -> Reply {
    let contact_id = id(&raw)?;
    let patch: ContactPatch = body(&b)?;
    let contact = s
        .apply(|w| w.update_contact(contact_id, patch))
        .map_err(world_problem)?;
    let world = s.world();
    Ok(Json(render::contact(&world, &contact, true)))
}

/// `DELETE /_emulator/contacts/{id}`: trash a contact (`contacts[delete]`).
pub async fn delete_contact(State(s): State<AppState>, Path(raw): Path<String>) -> Reply {
    let contact_id = id(&raw)?;
    s.apply(|w| w.delete_contact(contact_id).map(|c| ((), c)))
        .map_err(world_problem)?;
    Ok(Json(json!({"id": contact_id, "is_deleted": true})))
}

/// `POST /_emulator/contacts/{id}/restore`: bring a trashed contact back (`contacts[restore]`).
pub async fn restore_contact(State(s): State<AppState>, Path(raw): Path<String>) -> Reply {
    let contact_id = id(&raw)?;
    let contact = s
        .apply(|w| w.restore_contact(contact_id))
        .map_err(world_problem)?;
    let world = s.world();
    Ok(Json(render::contact(&world, &contact, true)))
}

/// `PATCH /_emulator/companies/{id}` `{name?, responsible_user_id?}` (`contacts[update]`, type company).
pub async fn update_company(State(s): State<AppState>, Path(raw): Path<String>, b: Bytes) -> Reply {
    let company_id = id(&raw)?;
    let patch: CompanyPatch = body(&b)?;
    let company = s
        .apply(|w| w.update_company(company_id, patch))
        .map_err(world_problem)?;
    let world = s.world();
    Ok(Json(render::company(&world, &company)))
}

/// `DELETE /_emulator/companies/{id}` (`contacts[delete]`, type company).
pub async fn delete_company(State(s): State<AppState>, Path(raw): Path<String>) -> Reply {
    let company_id = id(&raw)?;
    s.apply(|w| w.delete_company(company_id).map(|c| ((), c)))
        .map_err(world_problem)?;
    Ok(Json(json!({"id": company_id, "is_deleted": true})))
}

/// `POST /_emulator/tasks` `{entity: "lead"|"contact"|"company", entity_id, text,
/// complete_till?, responsible_user_id?}` (`task[add]`).
pub async fn add_task(State(s): State<AppState>, b: Bytes) -> Reply {
    let input: NewTask = body(&b)?;
    let task = s.apply(|w| w.add_task(input)).map_err(world_problem)?;
    let world = s.world();
    Ok(Json(render::task(&world, &task)))
}

/// `PATCH /_emulator/tasks/{id}` `{text?, is_completed?, responsible_user_id?}` (`task[update]`).
pub async fn update_task(State(s): State<AppState>, Path(raw): Path<String>, b: Bytes) -> Reply {
    let task_id = id(&raw)?;
    let patch: TaskPatch = body(&b)?;
    let task = s
        .apply(|w| w.update_task(task_id, patch))
        .map_err(world_problem)?;
    let world = s.world();
    Ok(Json(render::task(&world, &task)))
}

/// `DELETE /_emulator/tasks/{id}` (`task[delete]`).
pub async fn delete_task(State(s): State<AppState>, Path(raw): Path<String>) -> Reply {
    let task_id = id(&raw)?;
    s.apply(|w| w.delete_task(task_id).map(|c| ((), c)))
        .map_err(world_problem)?;
    Ok(Json(json!({"id": task_id, "deleted": true})))
}

pub async fn add_company(State(s): State<AppState>, b: Bytes) -> Reply {
    let input: NewCompany = body(&b)?;
    let company = s.apply(|w| w.add_company(input)).map_err(world_problem)?;
    let world = s.world();
    Ok(Json(render::company(&world, &company)))
}

pub async fn add_note(State(s): State<AppState>, b: Bytes) -> Reply {
    let input: NewNote = body(&b)?;
    let note = s.apply(|w| w.add_note(input)).map_err(world_problem)?;
    let world = s.world();
    Ok(Json(render::note(&world, &note)))
}

pub async fn add_message(State(s): State<AppState>, b: Bytes) -> Reply {
    let input: NewMessage = body(&b)?;
    let m = s.apply(|w| w.add_message(input)).map_err(world_problem)?;
    Ok(Json(json!({
        "id": m.id, "chat_id": m.chat_id, "talk_id": m.talk_id, "contact_id": m.contact_id, "entity_id": m.entity_id,
        "entity_type": m.entity_type, "origin": m.origin, "direction": m.direction, "text": m.text, "created_at": m.created_at,
    })))
}

pub async fn add_talk(State(s): State<AppState>, b: Bytes) -> Reply {
    let input: NewTalkBody = body(&b)?;
    let talk = s
        .apply(|w| w.add_talk(input.lead_id, &input.origin))
        .map_err(world_problem)?;
    let world = s.world();
    Ok(Json(render::talk(&world, &talk)))
}

pub async fn update_talk(State(s): State<AppState>, Path(raw): Path<String>, b: Bytes) -> Reply {
    let talk_id = id(&raw)?;
    let patch: TalkPatch = body(&b)?;
    let talk = s
        .apply(|w| w.update_talk(talk_id, patch))
        .map_err(world_problem)?;
    let world = s.world();
    Ok(Json(render::talk(&world, &talk)))
}

fn unsorted_json(w: &World, u: &crate::model::Unsorted) -> Value {
    let mut out = render::unsorted(w, u);
    out["lead_id"] = json!(u.lead_id);
    out["state"] = json!(u.state);
    out
}

pub async fn add_unsorted(State(s): State<AppState>, b: Bytes) -> Reply {
    let input: NewUnsorted = body(&b)?;
    let u = s.apply(|w| w.add_unsorted(input)).map_err(world_problem)?;
    let world = s.world();
    Ok(Json(unsorted_json(&world, &u)))
}

pub async fn accept_unsorted(
    State(s): State<AppState>,
    Path(uid): Path<String>,
    b: Bytes,
) -> Reply {
    let a: AcceptBody = body(&b)?;
    let u = s
        .apply(|w| w.resolve_unsorted(&uid, UnsortedResolution::Accept, a.status_id))
        .map_err(world_problem)?;
    let world = s.world();
    Ok(Json(unsorted_json(&world, &u)))
}

pub async fn decline_unsorted(State(s): State<AppState>, Path(uid): Path<String>) -> Reply {
    let u = s
        .apply(|w| w.resolve_unsorted(&uid, UnsortedResolution::Decline, None))
        .map_err(world_problem)?;
    let world = s.world();
    Ok(Json(unsorted_json(&world, &u)))
}
