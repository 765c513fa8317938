//! `leads[note][i][note]…` (also `contacts[note]`, `companies[note]`).

use crate::model::Note;

use super::{Form, fields};

/// The note under its doubled level (`p` already ends in `[note]`).
pub(crate) fn note(form: &mut Form, p: &str, note: &Note) {
    form.field(p, "element_type", note.parent.element_type());
    form.field(p, "element_id", note.entity_id);
    form.field(p, "note_type", note_type_code(&note.note_type));
    form.field(p, "text", &note.text);
    form.field(p, "date_create", fields::ymd_his(note.created_at));
    form.field(p, "timestamp_x", fields::ymd_his(note.updated_at));
    form.field(p, "created_by", note.created_by);
    form.field(p, "modified_by", note.updated_by);
    form.field(p, "main_user_id", note.responsible_user_id);
    form.field(p, "group_id", note.group_id);
    form.field(p, "id", note.id);
    form.field(p, "created_at", note.created_at);
    form.field(p, "updated_at", note.updated_at);
}

/// Webhook numeric `note_type` of an API note type (`common` = 4). A numeric
/// string passes through; anything unknown is sent as a plain note (4).
fn note_type_code(api: &str) -> u32 {
    match api {
        "common" => 4,
        "call_in" => 10,
        "call_out" => 11,
        "geolocation" => 24,
        "service_message" => 25,
        "sms_in" => 102,
        "sms_out" => 103,
        other => other.parse().unwrap_or(4),
    }
}
