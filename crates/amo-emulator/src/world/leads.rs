//! Lead mutations: add, edit, move (one or many), delete, restore.

use serde::Deserialize;
use serde_json::json;

use super::{World, WorldError, lead_status_value};
use crate::model::{Change, Lead, LinkedContact, STATUS_LOST, STATUS_WON};

/// A contact created together with a lead.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LeadContact {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// What the office types in when it creates a lead.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NewLead {
    pub name: String,
    pub price: Option<i64>,
    pub pipeline_id: Option<u64>,
    pub status_id: Option<u64>,
    pub responsible_user_id: Option<u64>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub contact: Option<LeadContact>,
}

/// An edit of a lead's fields; `None` keeps the current value.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LeadPatch {
    pub name: Option<String>,
    pub price: Option<i64>,
    pub responsible_user_id: Option<u64>,
    pub tags: Option<Vec<String>>,
}

fn is_closed(status_id: u64) -> bool {
    status_id == STATUS_WON || status_id == STATUS_LOST
}

impl World {
    /// Creates a lead (and its contact, when given).
    pub fn add_lead(&mut self, input: NewLead) -> Result<(Lead, Vec<Change>), WorldError> {
        let (lead, changes) = self.create_lead(input)?;
        Ok((lead, self.record(changes)))
    }

    /// Creates a lead; the changes are returned unrecorded.
    pub(crate) fn create_lead(
        &mut self,
        input: NewLead,
    ) -> Result<(Lead, Vec<Change>), WorldError> {
        let now = self.now();
        let actor = self.admin_id();
        let pipeline_id = match input.pipeline_id {
            Some(id) => id,
            None => self
                .main_pipeline()
                .map(|p| p.id)
                .ok_or_else(|| WorldError::Invalid("no pipeline".into()))?,
        };
        if self.pipeline(pipeline_id).is_none() {
            return Err(WorldError::Invalid(format!(
                "pipeline {pipeline_id} does not exist"
            )));
        }
        let status_id = match input.status_id {
            Some(id) => id,
            None => self
                .first_open_status(pipeline_id)
                .map(|s| s.id)
                .ok_or_else(|| {
                    WorldError::Invalid(format!("pipeline {pipeline_id} has no open status"))
                })?,
        };
        if self.status(pipeline_id, status_id).is_none() {
            return Err(WorldError::Invalid(format!(
                "status {status_id} is not in pipeline {pipeline_id}"
            )));
        }
        if input.price.is_some_and(|p| p < 0) {
            return Err(WorldError::Invalid("price must not be negative".into()));
        }
        let responsible = input.responsible_user_id.unwrap_or(actor);
        let group_id = self.check_user(responsible)?.group_id;
        let mut changes = Vec::new();
        self.ids.lead += 1;
        let lead_id = self.ids.lead;
        let mut contacts = Vec::new();
        if let Some(c) = input.contact {
            let contact = self.create_contact(
                &c.name,
                c.phone.as_deref(),
                c.email.as_deref(),
                responsible,
                Some(lead_id),
            )?;
            contacts.push(LinkedContact {
                id: contact.id,
                is_main: true,
            });
            changes.push(Change::ContactAdded(contact));
        }
        let tags = self.tags_by_name(&input.tags);
        let lead = Lead {
            id: lead_id,
            name: input.name,
            price: input.price.unwrap_or(0),
            responsible_user_id: responsible,
            group_id,
            status_id,
            pipeline_id,
            loss_reason_id: None,
            source_id: None,
            created_by: actor,
            updated_by: actor,
            created_at: now,
            updated_at: now,
            closed_at: is_closed(status_id).then_some(now),
            closest_task_at: None,
            is_deleted: false,
            score: None,
            labor_cost: None,
            custom_fields: Vec::new(),
            tags,
            contacts,
            company_id: None,
        };
        self.leads.insert(lead_id, lead.clone());
        self.push_event(
            "lead_added",
            ("lead", lead_id),
            actor,
            now,
            json!([]),
            lead_status_value(status_id, pipeline_id),
        );
        changes.push(Change::LeadAdded(lead.clone()));
        Ok((lead, changes))
    }

    /// Edits name, price, responsible or tags.
    pub fn update_lead(&mut self, id: u64, patch: LeadPatch) -> Result<Vec<Change>, WorldError> {
        let now = self.now();
        let actor = self.admin_id();
        if let Some(uid) = patch.responsible_user_id {
            self.check_user(uid)?;
        }
        if patch.price.is_some_and(|p| p < 0) {
            return Err(WorldError::Invalid("price must not be negative".into()));
        }
        let tags = patch.tags.as_ref().map(|names| self.tags_by_name(names));
        let group_of = patch
            .responsible_user_id
            .and_then(|uid| self.user(uid).map(|u| u.group_id));
        let lead = self.lead_mut(id)?;
        let old_responsible = lead.responsible_user_id;
        if let Some(name) = patch.name {
            lead.name = name;
        }
        if let Some(price) = patch.price {
            lead.price = price;
        }
        if let Some(uid) = patch.responsible_user_id {
            lead.responsible_user_id = uid;
        }
        if let Some(group) = group_of {
            lead.group_id = group;
        }
        if let Some(tags) = tags {
            lead.tags = tags;
        }
        lead.updated_at = now;
        lead.updated_by = actor;
        let lead = lead.clone();
        let mut changes = vec![Change::LeadUpdated(lead.clone())];
        if lead.responsible_user_id != old_responsible {
            changes.push(Change::LeadResponsibleChanged {
                lead,
                old_responsible_user_id: old_responsible,
            });
        }
        Ok(self.record(changes))
    }

    fn check_move(
        &self,
        id: u64,
        status_id: u64,
        pipeline_id: Option<u64>,
    ) -> Result<u64, WorldError> {
        let lead = self.lead(id)?;
        let pipeline_id = pipeline_id.unwrap_or(lead.pipeline_id);
        if self.status(pipeline_id, status_id).is_none() {
            return Err(WorldError::Invalid(format!(
                "status {status_id} is not in pipeline {pipeline_id}"
            )));
        }
        Ok(pipeline_id)
    }

    /// Applies a validated move; returns the changes without recording them.
    pub(crate) fn apply_move(
        &mut self,
        id: u64,
        status_id: u64,
        pipeline_id: u64,
    ) -> Result<Vec<Change>, WorldError> {
        let now = self.now();
        let actor = self.admin_id();
        let lead = self.lead_mut(id)?;
        let (old_status, old_pipeline) = (lead.status_id, lead.pipeline_id);
        lead.status_id = status_id;
        lead.pipeline_id = pipeline_id;
        lead.updated_at = now;
        lead.updated_by = actor;
        if is_closed(status_id) {
            if !is_closed(old_status) {
                lead.closed_at = Some(now);
            }
        } else {
            lead.closed_at = None;
            lead.loss_reason_id = None;
        }
        let lead = lead.clone();
        if (old_status, old_pipeline) == (status_id, pipeline_id) {
            return Ok(vec![Change::LeadUpdated(lead)]);
        }
        self.push_event(
            "lead_status_changed",
            ("lead", id),
            actor,
            now,
            lead_status_value(old_status, old_pipeline),
            lead_status_value(status_id, pipeline_id),
        );
        Ok(vec![
            Change::LeadStatusChanged {
                lead: lead.clone(),
                old_status_id: old_status,
                old_pipeline_id: old_pipeline,
            },
            Change::LeadUpdated(lead),
        ])
    }

    /// Moves one lead to a status (of its pipeline or of `pipeline_id`).
    pub fn move_lead(
        &mut self,
        id: u64,
        status_id: u64,
        pipeline_id: Option<u64>,
    ) -> Result<Vec<Change>, WorldError> {
        let pipeline_id = self.check_move(id, status_id, pipeline_id)?;
        let changes = self.apply_move(id, status_id, pipeline_id)?;
        Ok(self.record(changes))
    }

    /// Moves many leads at once; all or nothing.
    pub fn bulk_move(
        &mut self,
        ids: &[u64],
        status_id: u64,
        pipeline_id: Option<u64>,
    ) -> Result<Vec<Change>, WorldError> {
        if ids.is_empty() {
            return Err(WorldError::Invalid("ids must not be empty".into()));
        }
        let mut targets = Vec::with_capacity(ids.len());
        for &id in ids {
            if targets.iter().any(|(seen, _)| *seen == id) {
                continue;
            }
            targets.push((id, self.check_move(id, status_id, pipeline_id)?));
        }
        let mut changes = Vec::new();
        for (id, pipeline) in targets {
            changes.extend(self.apply_move(id, status_id, pipeline)?);
        }
        Ok(self.record(changes))
    }

    /// Moves a lead to the trash.
    pub fn delete_lead(&mut self, id: u64) -> Result<Vec<Change>, WorldError> {
        let now = self.now();
        let actor = self.admin_id();
        let lead = self.lead_mut(id)?;
        lead.is_deleted = true;
        lead.updated_at = now;
        lead.updated_by = actor;
        let (status_id, pipeline_id) = (lead.status_id, lead.pipeline_id);
        self.push_event(
            "lead_deleted",
            ("lead", id),
            actor,
            now,
            json!([]),
            json!([]),
        );
        Ok(self.record(vec![Change::LeadDeleted {
            id,
            status_id,
            pipeline_id,
        }]))
    }

    /// Brings a deleted lead back.
    pub fn restore_lead(&mut self, id: u64) -> Result<Vec<Change>, WorldError> {
        let now = self.now();
        let actor = self.admin_id();
        let lead = self
            .leads
            .get_mut(&id)
            .filter(|l| l.is_deleted)
            .ok_or_else(|| WorldError::NotFound(format!("deleted lead {id} not found")))?;
        lead.is_deleted = false;
        lead.updated_at = now;
        lead.updated_by = actor;
        let lead = lead.clone();
        self.push_event(
            "lead_restored",
            ("lead", id),
            actor,
            now,
            json!([]),
            json!([]),
        );
        Ok(self.record(vec![Change::LeadRestored(lead)]))
    }
}
