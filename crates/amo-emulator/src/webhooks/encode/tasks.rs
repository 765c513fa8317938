//! `task[add|update|responsible|delete][i]`.

use crate::model::Task;

use super::Form;

/// A task; `status` is `1` when completed, else `0`; `old_responsible` for
/// `task[responsible]`.
pub(crate) fn task(form: &mut Form, p: &str, t: &Task, old_responsible: Option<u64>) {
    form.field(p, "id", t.id);
    form.field(p, "element_id", t.entity_id);
    form.field(p, "element_type", t.parent.element_type());
    form.field(p, "task_type", t.task_type_id);
    form.field(p, "text", &t.text);
    form.flag(p, "status", t.is_completed);
    form.field(p, "complete_till", t.complete_till);
    form.field(p, "responsible_user_id", t.responsible_user_id);
    if let Some(old) = old_responsible {
        form.field(p, "old_responsible_user_id", old);
    }
    form.field(p, "created_at", t.created_at);
    form.field(p, "updated_at", t.updated_at);
}
