//! `contacts[add|update|delete|restore|responsible][i]`: contacts and
//! companies alike, told apart by `[type]=contact|company`.

use crate::model::{Company, Contact, CustomFieldValues, Tag, Timestamp};
use crate::webhooks::AccountRef;

use super::{Form, fields};

/// What contacts and companies share: one block shape under `contacts`.
struct Card<'a> {
    id: u64,
    name: &'a str,
    responsible_user_id: u64,
    created_at: Timestamp,
    updated_at: Timestamp,
    created_by: u64,
    updated_by: u64,
    custom_fields: &'a [CustomFieldValues],
    tags: &'a [Tag],
    lead_ids: &'a [u64],
}

impl Card<'_> {
    /// From `id` to `modified_user_id`; `old_responsible` for `[responsible]`.
    fn head(&self, form: &mut Form, p: &str, old_responsible: Option<u64>) {
        form.field(p, "id", self.id);
        form.field(p, "name", self.name);
        form.field(p, "responsible_user_id", self.responsible_user_id);
        if let Some(old) = old_responsible {
            form.field(p, "old_responsible_user_id", old);
        }
        form.field(p, "date_create", self.created_at);
        form.field(p, "last_modified", self.updated_at);
        form.field(p, "created_user_id", self.created_by);
        form.field(p, "modified_user_id", self.updated_by);
    }

    /// From `account_id` to `type`.
    fn tail(&self, form: &mut Form, p: &str, account: &AccountRef, kind: &str) {
        form.field(p, "account_id", account.id);
        fields::custom_fields(form, p, self.custom_fields);
        fields::tags(form, p, self.tags);
        linked_leads(form, p, self.lead_ids);
        form.field(p, "created_at", self.created_at);
        form.field(p, "updated_at", self.updated_at);
        form.field(p, "type", kind);
    }
}

/// A contact; `company_name` and `linked_company_id` when it is linked to a
/// company.
pub(crate) fn contact(
    form: &mut Form,
    p: &str,
    account: &AccountRef,
    c: &Contact,
    old_responsible: Option<u64>,
) {
    let card = Card {
        id: c.id,
        name: &c.name,
        responsible_user_id: c.responsible_user_id,
        created_at: c.created_at,
        updated_at: c.updated_at,
        created_by: c.created_by,
        updated_by: c.updated_by,
        custom_fields: &c.custom_fields,
        tags: &c.tags,
        lead_ids: &c.lead_ids,
    };
    card.head(form, p, old_responsible);
    if let Some(company_id) = c.company_id {
        if let Some(name) = c.company_name.as_deref().filter(|n| !n.is_empty()) {
            form.field(p, "company_name", name);
        }
        form.field(p, "linked_company_id", company_id);
    }
    card.tail(form, p, account, "contact");
}

/// A company (same key, `type=company`); `old_responsible` for `[responsible]`.
pub(crate) fn company(
    form: &mut Form,
    p: &str,
    account: &AccountRef,
    c: &Company,
    old_responsible: Option<u64>,
) {
    let card = Card {
        id: c.id,
        name: &c.name,
        responsible_user_id: c.responsible_user_id,
        created_at: c.created_at,
        updated_at: c.updated_at,
        created_by: c.created_by,
        updated_by: c.updated_by,
        custom_fields: &c.custom_fields,
        tags: &c.tags,
        lead_ids: &c.lead_ids,
    };
    card.head(form, p, old_responsible);
    card.tail(form, p, account, "company");
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
