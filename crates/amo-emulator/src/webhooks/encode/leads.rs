//! `leads[add|update|status|responsible|restore|delete][i]`.

use crate::model::Lead;
use crate::webhooks::AccountRef;

use super::{Form, fields};

/// The `old_*` fields a status or responsible change adds.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct LeadExtra {
    pub old_status_id: Option<u64>,
    /// Only when the pipeline changed.
    pub old_pipeline_id: Option<u64>,
    pub old_responsible_user_id: Option<u64>,
}

/// A whole lead. `price` is absent when 0; `name` may be empty.
pub(crate) fn lead(form: &mut Form, p: &str, account: &AccountRef, lead: &Lead, extra: LeadExtra) {
    form.field(p, "id", lead.id);
    form.field(p, "name", &lead.name);
    form.field(p, "status_id", lead.status_id);
    if let Some(old) = extra.old_status_id {
        form.field(p, "old_status_id", old);
    }
    if lead.price != 0 {
        form.field(p, "price", lead.price);
    }
    form.field(p, "responsible_user_id", lead.responsible_user_id);
    if let Some(old) = extra.old_responsible_user_id {
        form.field(p, "old_responsible_user_id", old);
    }
    form.field(p, "last_modified", lead.updated_at);
    form.field(p, "modified_user_id", lead.updated_by);
    form.field(p, "created_user_id", lead.created_by);
    form.field(p, "date_create", lead.created_at);
    form.field(p, "pipeline_id", lead.pipeline_id);
    if let Some(old) = extra.old_pipeline_id {
        form.field(p, "old_pipeline_id", old);
    }
    fields::tags(form, p, &lead.tags);
    form.field(p, "account_id", account.id);
    fields::custom_fields(form, p, &lead.custom_fields);
    form.field(p, "created_at", lead.created_at);
    form.field(p, "updated_at", lead.updated_at);
}

/// `leads[delete][i]`: ids only.
pub(crate) fn deleted(form: &mut Form, p: &str, id: u64, status_id: u64, pipeline_id: u64) {
    form.field(p, "id", id);
    form.field(p, "status_id", status_id);
    form.field(p, "pipeline_id", pipeline_id);
}
