//! Render [`Change`]s as the form-urlencoded body amoCRM posts (amocrm.md §1).
//!
//! Shape, as real deliveries have it:
//! * PHP bracket keys built like `http_build_query`: `leads[status][0][id]`,
//!   brackets percent-encoded in the key (`leads%5Bstatus%5D%5B0%5D%5Bid%5D`);
//! * every value a string; UTF-8 bytes percent-encoded as uppercase hex,
//!   space as `+`, only `A-Z a-z 0-9 - _ .` left as they are (PHP `urlencode`);
//! * entities grouped by top-level key then action, in order of first
//!   appearance in the batch (`leads[add][0]`, `leads[add][1]`,
//!   `leads[status][0]`, `contacts[add][0]`, …);
//! * empty lists (no tags, no custom fields) are left out, as PHP does;
//! * booleans are `1` / `0` (what PHP's `http_build_query` makes of
//!   `true` / `false`);
//! * the `account[…]` block comes LAST.

mod chats;
mod contacts;
mod fields;
mod form;
mod leads;
mod notes;
mod tasks;

use crate::model::Change;
use crate::webhooks::AccountRef;

pub(crate) use form::Form;

/// The whole body of one delivery carrying `changes`.
pub fn encode_batch(account: &AccountRef, changes: &[Change]) -> String {
    let refs: Vec<&Change> = changes.iter().collect();
    encode_refs(account, &refs)
}

/// [`encode_batch`] over borrowed changes (what the hub filters per
/// destination).
pub(crate) fn encode_refs(account: &AccountRef, changes: &[&Change]) -> String {
    let mut form = Form::default();
    for (top, actions) in group(changes) {
        for (action, items) in actions {
            for (i, change) in items.into_iter().enumerate() {
                let prefix = format!("{top}[{action}][{i}]");
                render(&mut form, &prefix, account, change);
            }
        }
    }
    form.field("account", "subdomain", &account.subdomain);
    form.field("account", "id", account.id);
    form.field("account[_links]", "self", &account.base_url);
    form.finish()
}

type Groups<'a> = Vec<(&'static str, Vec<(&'static str, Vec<&'a Change>)>)>;

/// Group by top-level key, then action, each in order of first appearance.
fn group<'a>(changes: &[&'a Change]) -> Groups<'a> {
    let mut groups: Groups<'a> = Vec::new();
    for change in changes {
        let (top, action) = slot(change);
        let actions = match groups.iter().position(|(t, _)| *t == top) {
            Some(i) => &mut groups[i].1,
            None => {
                groups.push((top, Vec::new()));
                let last = groups.len() - 1;
                &mut groups[last].1
            }
        };
        match actions.iter().position(|(a, _)| *a == action) {
            Some(i) => actions[i].1.push(change),
            None => actions.push((action, vec![change])),
        }
    }
    groups
}

/// Top-level key and action of a change.
fn slot(change: &Change) -> (&'static str, &'static str) {
    match change {
        Change::LeadAdded(_) => ("leads", "add"),
        Change::LeadUpdated(_) => ("leads", "update"),
        Change::LeadStatusChanged { .. } => ("leads", "status"),
        Change::LeadResponsibleChanged { .. } => ("leads", "responsible"),
        Change::LeadDeleted { .. } => ("leads", "delete"),
        Change::LeadRestored(_) => ("leads", "restore"),
        Change::ContactAdded(_) | Change::CompanyAdded(_) => ("contacts", "add"),
        Change::ContactUpdated(_) | Change::CompanyUpdated(_) => ("contacts", "update"),
        Change::ContactResponsibleChanged { .. } | Change::CompanyResponsibleChanged { .. } => {
            ("contacts", "responsible")
        }
        Change::ContactDeleted { .. } | Change::CompanyDeleted { .. } => ("contacts", "delete"),
        Change::ContactRestored(_) => ("contacts", "restore"),
        Change::NoteAdded(note) => (note.parent.webhook_key(), "note"),
        Change::UnsortedAdded(_) => ("unsorted", "add"),
        Change::UnsortedDeleted { .. } => ("unsorted", "delete"),
        Change::MessageAdded(_) => ("message", "add"),
        Change::TalkAdded(_) => ("talk", "add"),
        Change::TalkUpdated(_) => ("talk", "update"),
        Change::TaskAdded(_) => ("task", "add"),
        Change::TaskUpdated(_) => ("task", "update"),
        Change::TaskResponsibleChanged { .. } => ("task", "responsible"),
        Change::TaskDeleted { .. } => ("task", "delete"),
    }
}

/// One entity under `prefix` (`leads[add][0]`).
fn render(form: &mut Form, prefix: &str, account: &AccountRef, change: &Change) {
    use leads::LeadExtra;
    match change {
        Change::LeadAdded(lead) | Change::LeadUpdated(lead) | Change::LeadRestored(lead) => {
            leads::lead(form, prefix, account, lead, LeadExtra::default())
        }
        Change::LeadStatusChanged {
            lead,
            old_status_id,
            old_pipeline_id,
        } => {
            let extra = LeadExtra {
                old_status_id: Some(*old_status_id),
                old_pipeline_id: (*old_pipeline_id != lead.pipeline_id).then_some(*old_pipeline_id),
                old_responsible_user_id: None,
            };
            leads::lead(form, prefix, account, lead, extra)
        }
        Change::LeadResponsibleChanged {
            lead,
            old_responsible_user_id,
        } => {
            let extra = LeadExtra {
                old_responsible_user_id: Some(*old_responsible_user_id),
                ..LeadExtra::default()
            };
            leads::lead(form, prefix, account, lead, extra)
        }
        Change::LeadDeleted {
            id,
            status_id,
            pipeline_id,
        } => leads::deleted(form, prefix, *id, *status_id, *pipeline_id),
        Change::ContactAdded(c) | Change::ContactUpdated(c) | Change::ContactRestored(c) => {
            contacts::contact(form, prefix, account, c, None)
        }
        Change::ContactResponsibleChanged {
            contact,
            old_responsible_user_id,
        } => contacts::contact(
            form,
            prefix,
            account,
            contact,
            Some(*old_responsible_user_id),
        ),
        Change::ContactDeleted { id } => contacts::deleted(form, prefix, *id, "contact"),
        Change::CompanyAdded(c) | Change::CompanyUpdated(c) => {
            contacts::company(form, prefix, account, c, None)
        }
        Change::CompanyResponsibleChanged {
            company,
            old_responsible_user_id,
        } => contacts::company(
            form,
            prefix,
            account,
            company,
            Some(*old_responsible_user_id),
        ),
        Change::CompanyDeleted { id } => contacts::deleted(form, prefix, *id, "company"),
        Change::NoteAdded(note) => notes::note(form, &format!("{prefix}[note]"), note),
        Change::UnsortedAdded(u) => chats::unsorted_added(form, prefix, u),
        Change::UnsortedDeleted {
            unsorted,
            resolution,
            modified_user_id,
        } => chats::unsorted_deleted(form, prefix, unsorted, *resolution, *modified_user_id),
        Change::MessageAdded(m) => chats::message(form, prefix, m),
        Change::TalkAdded(t) | Change::TalkUpdated(t) => chats::talk(form, prefix, t),
        Change::TaskAdded(t) | Change::TaskUpdated(t) => tasks::task(form, prefix, t, None),
        Change::TaskResponsibleChanged {
            task,
            old_responsible_user_id,
        } => tasks::task(form, prefix, task, Some(*old_responsible_user_id)),
        Change::TaskDeleted { id } => form.field(prefix, "id", id),
    }
}

/// Webhook `element_type` of an entity type string (`lead`, `contact`, …).
pub(crate) fn element_type_of(entity_type: &str) -> u8 {
    match entity_type {
        "contact" | "contacts" => 1,
        "company" | "companies" => 3,
        "customer" | "customers" => 12,
        _ => 2,
    }
}
