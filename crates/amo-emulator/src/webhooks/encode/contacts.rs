//! `contacts[add|update|delete|restore|responsible][i]`: contacts and
//! companies alike, told apart by `[type]=contact|company`.

use crate::model::{Company, Contact};
use crate::webhooks::AccountRef;

use super::{Form, fields};

/// A contact; `company_name` and `linked_company_id` when it is linked to a
/// company.
pub(crate) fn contact(
    form: &mut Form,
    p: &str,
    account: &AccountRef,
    c: &Contact,
    old_responsible: Option<u64>,
) {
    form.field(p, "id", c.id);
    form.field(p, "name", &c.name);
    form.field(p, "responsible_user_id", c.responsible_user_id);
    if let Some(old) = old_responsible {
        form.field(p, "old_responsible_user_id", old);
    }
    form.field(p, "date_create", c.created_at);
    form.field(p, "last_modified", c.updated_at);
    form.field(p, "created_user_id", c.created_by);
    form.field(p, "modified_user_id", c.updated_by);
    if let Some(company_id) = c.company_id {
        if let Some(name) = c.company_name.as_deref().filter(|n| !n.is_empty()) {
            form.field(p, "company_name", name);
        }
        form.field(p, "linked_company_id", company_id);
    }
    form.field(p, "account_id", account.id);
    fields::custom_fields(form, p, &c.custom_fields);
    fields::tags(form, p, &c.tags);
    linked_leads(form, p, &c.lead_ids);
    form.field(p, "created_at", c.created_at);
    form.field(p, "updated_at", c.updated_at);
    form.field(p, "type", "contact");
}

/// A company (same key, `type=company`); `old_responsible` for `[responsible]`.
pub(crate) fn company(
    form: &mut Form,
    p: &str,
    account: &AccountRef,
    c: &Company,
    old_responsible: Option<u64>,
) {
    form.field(p, "id", c.id);
    form.field(p, "name", &c.name);
    form.field(p, "responsible_user_id", c.responsible_user_id);
    if let Some(old) = old_responsible {
        form.field(p, "old_responsible_user_id", old);
    }
    form.field(p, "date_create", c.created_at);
    form.field(p, "last_modified", c.updated_at);
    form.field(p, "created_user_id", c.created_by);
    form.field(p, "modified_user_id", c.updated_by);
    form.field(p, "account_id", account.id);
    fields::custom_fields(form, p, &c.custom_fields);
    fields::tags(form, p, &c.tags);
    linked_leads(form, p, &c.lead_ids);
    form.field(p, "created_at", c.created_at);
    form.field(p, "updated_at", c.updated_at);
    form.field(p, "type", "company");
}

/// `contacts[delete][i]`: id and type only.
pub(crate) fn deleted(form: &mut Form, p: &str, id: u64, kind: &str) {
    form.field(p, "id", id);
    form.field(p, "type", kind);
}

/// `linked_leads_id[<LEAD_ID>][ID]=<LEAD_ID>`: a map keyed by lead id.
fn linked_leads(form: &mut Form, p: &str, lead_ids: &[u64]) {
    for id in lead_ids {
        form.field(&format!("{p}[linked_leads_id][{id}]"), "ID", id);
    }
}
