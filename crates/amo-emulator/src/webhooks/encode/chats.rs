//! `unsorted[add|delete]`, `message[add]`, `talk[add|update]`.

use crate::model::{Direction, Message, Talk, Unsorted, UnsortedResolution};

use super::{Form, element_type_of};

/// `unsorted[add][i]`. The model has no numeric `source_id` for an unsorted
/// request, so that field is not sent.
pub(crate) fn unsorted_added(form: &mut Form, p: &str, u: &Unsorted) {
    form.field(p, "uid", &u.uid);
    form.field(p, "source", &u.source_name);
    form.field(p, "source_uid", &u.source_uid);
    form.field(p, "category", &u.category);
    form.field(p, "pipeline_id", u.pipeline_id);
    form.field(p, "lead_id", u.lead_id);
    form.field(p, "created_at", u.created_at);
    let sd = format!("{p}[source_data]");
    form.field(&format!("{sd}[client]"), "name", &u.client_name);
    form.field(&sd, "origin", &u.origin);
    form.field(&sd, "service", &u.service);
    form.field(&format!("{sd}[data][0]"), "text", &u.text);
    if let Some(contact_id) = u.contact_id {
        form.field(&format!("{p}[data][contacts][0]"), "id", contact_id);
    }
}

/// `unsorted[delete][i]`: how the request left the queue.
pub(crate) fn unsorted_deleted(
    form: &mut Form,
    p: &str,
    u: &Unsorted,
    how: UnsortedResolution,
    modified_user_id: u64,
) {
    let (action, result) = match how {
        UnsortedResolution::Accept => ("accept", "accept_result"),
        UnsortedResolution::Decline => ("decline", "decline_result"),
    };
    form.field(p, "action", action);
    form.field(p, "uid", &u.uid);
    form.field(&format!("{p}[{result}][leads]"), "0", u.lead_id);
    form.field(p, "category", &u.category);
    form.field(p, "modified_user_id", modified_user_id);
}

/// `message[add][i]`. `message_type` and `attachment[…]` only for media.
pub(crate) fn message(form: &mut Form, p: &str, m: &Message) {
    form.field(p, "id", &m.id);
    form.field(p, "chat_id", &m.chat_id);
    form.field(p, "talk_id", m.talk_id);
    form.field(p, "contact_id", m.contact_id);
    form.field(p, "text", &m.text);
    form.field(p, "created_at", m.created_at);
    form.field(p, "entity_type", &m.entity_type);
    form.field(p, "entity_id", m.entity_id);
    form.field(p, "element_type", element_type_of(&m.entity_type));
    form.field(p, "element_id", m.entity_id);
    let direction = match m.direction {
        Direction::Incoming => "incoming",
        Direction::Outgoing => "outgoing",
    };
    form.field(p, "type", direction);
    form.field(p, "origin", &m.origin);
    let ap = format!("{p}[author]");
    form.field(&ap, "id", &m.author.id);
    form.field(&ap, "type", &m.author.kind);
    form.field(&ap, "name", &m.author.name);
    if let Some(url) = &m.author.avatar_url {
        form.field(&ap, "avatar_url", url);
    }
    if !m.message_type.is_empty() && m.message_type != "text" {
        form.field(p, "message_type", &m.message_type);
    }
    if let Some(att) = &m.attachment {
        let atp = format!("{p}[attachment]");
        form.field(&atp, "type", &att.kind);
        form.field(&atp, "link", &att.link);
        form.field(&atp, "file_name", &att.file_name);
    }
}

/// `talk[add|update][i]`; `is_read` / `is_in_work` as `1` / `0`.
pub(crate) fn talk(form: &mut Form, p: &str, t: &Talk) {
    form.field(p, "talk_id", t.talk_id);
    form.field(p, "chat_id", &t.chat_id);
    form.field(p, "contact_id", t.contact_id);
    form.field(p, "entity_id", t.entity_id);
    form.field(p, "entity_type", &t.entity_type);
    form.field(p, "origin", &t.origin);
    form.flag(p, "is_read", t.is_read);
    form.flag(p, "is_in_work", t.is_in_work);
    form.field(p, "rate", t.rate);
    form.field(p, "created_at", t.created_at);
    form.field(p, "updated_at", t.updated_at);
}
