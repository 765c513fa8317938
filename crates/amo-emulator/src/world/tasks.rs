//! Tasks on leads, contacts and companies.

use serde::Deserialize;
use serde_json::json;

use super::{World, WorldError};
use crate::model::{Change, NoteParent, Task, Timestamp};

/// Task type "Связаться" (follow-up), amoCRM's default task type.
pub const TASK_TYPE_FOLLOW_UP: u64 = 1;

/// The longest task text the office may type.
const MAX_TEXT: usize = 10_000;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    pub entity: NoteParent,
    pub entity_id: u64,
    pub text: String,
    /// Unix seconds; default: the end of tomorrow (now + 1 day).
    pub complete_till: Option<Timestamp>,
    /// Default: the responsible user of the entity.
    pub responsible_user_id: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TaskPatch {
    pub text: Option<String>,
    pub is_completed: Option<bool>,
    pub responsible_user_id: Option<u64>,
}

fn check_text(text: &str) -> Result<(), WorldError> {
    if text.trim().is_empty() || text.len() > MAX_TEXT {
        return Err(WorldError::Invalid(format!(
            "text must be 1..={MAX_TEXT} bytes and not blank"
        )));
    }
    Ok(())
}

impl World {
    /// The responsible user of a live lead, contact or company.
    pub(crate) fn entity_responsible(
        &self,
        entity: NoteParent,
        id: u64,
    ) -> Result<u64, WorldError> {
        match entity {
            NoteParent::Lead => Ok(self.lead(id)?.responsible_user_id),
            NoteParent::Contact => self
                .contacts
                .get(&id)
                .filter(|c| !c.is_deleted)
                .map(|c| c.responsible_user_id)
                .ok_or_else(|| WorldError::NotFound(format!("contact {id} not found"))),
            NoteParent::Company => self
                .companies
                .get(&id)
                .filter(|c| !c.is_deleted)
                .map(|c| c.responsible_user_id)
                .ok_or_else(|| WorldError::NotFound(format!("company {id} not found"))),
        }
    }

    /// Recomputes `closest_task_at` (the earliest open task) of a lead or contact.
    fn refresh_closest_task(&mut self, entity: NoteParent, id: u64) {
        let closest = self
            .tasks
            .values()
            .filter(|t| t.parent == entity && t.entity_id == id && !t.is_completed)
            .map(|t| t.complete_till)
            .min();
        match entity {
            NoteParent::Lead => {
                if let Some(l) = self.leads.get_mut(&id) {
                    l.closest_task_at = closest;
                }
            }
            NoteParent::Contact => {
                if let Some(c) = self.contacts.get_mut(&id) {
                    c.closest_task_at = closest;
                }
            }
            NoteParent::Company => {}
        }
    }

    pub fn task(&self, id: u64) -> Result<&Task, WorldError> {
        self.tasks
            .get(&id)
            .ok_or_else(|| WorldError::NotFound(format!("task {id} not found")))
    }

    /// Sets a task on a lead, contact or company (`task[add]`, event `task_added`).
    pub fn add_task(&mut self, input: NewTask) -> Result<(Task, Vec<Change>), WorldError> {
        check_text(&input.text)?;
        let now = self.now();
        let actor = self.admin_id();
        let entity_responsible = self.entity_responsible(input.entity, input.entity_id)?;
        let responsible = input.responsible_user_id.unwrap_or(entity_responsible);
        self.check_user(responsible)?;
        let complete_till = input.complete_till.unwrap_or(now.saturating_add(86_400));
        self.ids.task += 1;
        let task = Task {
            id: self.ids.task,
            entity_id: input.entity_id,
            parent: input.entity,
            task_type_id: TASK_TYPE_FOLLOW_UP,
            text: input.text,
            is_completed: false,
            complete_till,
            responsible_user_id: responsible,
            created_by: actor,
            created_at: now,
            updated_at: now,
        };
        self.tasks.insert(task.id, task.clone());
        self.refresh_closest_task(task.parent, task.entity_id);
        self.push_event(
            "task_added",
            ("task", task.id),
            actor,
            now,
            json!([]),
            json!([]),
        );
        Ok((task.clone(), self.record(vec![Change::TaskAdded(task)])))
    }

    /// Edits a task's text, completion or responsible (`task[update]`).
    pub fn update_task(
        &mut self,
        id: u64,
        patch: TaskPatch,
    ) -> Result<(Task, Vec<Change>), WorldError> {
        if let Some(text) = &patch.text {
            check_text(text)?;
        }
        if let Some(uid) = patch.responsible_user_id {
            self.check_user(uid)?;
        }
        let now = self.now();
        let actor = self.admin_id();
        let mut task = self.task(id)?.clone();
        let old_responsible = task.responsible_user_id;
        // Event types as amoCRM names them; values are left empty.
        let mut events: Vec<&str> = Vec::new();
        if let Some(text) = patch.text
            && text != task.text
        {
            events.push("task_text_changed");
            task.text = text;
        }
        if let Some(done) = patch.is_completed
            && done != task.is_completed
        {
            task.is_completed = done;
            if done {
                events.push("task_completed");
            }
        }
        if let Some(uid) = patch.responsible_user_id {
            task.responsible_user_id = uid;
        }
        task.updated_at = now;
        self.tasks.insert(id, task.clone());
        self.refresh_closest_task(task.parent, task.entity_id);
        for kind in events {
            self.push_event(kind, ("task", id), actor, now, json!([]), json!([]));
        }
        let mut changes = vec![Change::TaskUpdated(task.clone())];
        if task.responsible_user_id != old_responsible {
            changes.push(Change::TaskResponsibleChanged {
                task: task.clone(),
                old_responsible_user_id: old_responsible,
            });
        }
        Ok((task, self.record(changes)))
    }

    /// Deletes a task (`task[delete]` carries only the id; event `task_deleted`).
    pub fn delete_task(&mut self, id: u64) -> Result<Vec<Change>, WorldError> {
        let task = self
            .tasks
            .remove(&id)
            .ok_or_else(|| WorldError::NotFound(format!("task {id} not found")))?;
        let now = self.now();
        let actor = self.admin_id();
        self.refresh_closest_task(task.parent, task.entity_id);
        self.push_event(
            "task_deleted",
            ("task", id),
            actor,
            now,
            json!([]),
            json!([]),
        );
        Ok(self.record(vec![Change::TaskDeleted { id }]))
    }
}
