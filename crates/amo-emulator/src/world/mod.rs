//! The whole account state, one struct behind one lock.
//!
//! Every mutation goes through a method here: it validates, changes the
//! entities, bumps `updated_at`/`updated_by`, appends [`Event`]s the way
//! amoCRM's events API shows them, and returns the [`Change`]s a real account
//! would announce by webhook. The caller hands those to the webhook hub.

mod chats;
mod contacts;
mod leads;
mod tasks;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::Clock;
use crate::model::{
    Account, Change, Company, Contact, CustomFieldDef, Event, Lead, Message, Note, Pipeline,
    Status, Tag, Talk, Task, Timestamp, Unsorted, User, UserGroup,
};
use crate::rng::Rng;

pub use chats::{
    NewMessage, NewUnsorted, ORIGINS, TalkPatch, UNSORTED_CATEGORIES, chat_user_id, origin_title,
};
pub use contacts::{CompanyPatch, ContactPatch, NewCompany, NewContact, NewNote, split_name};
pub use leads::{LeadContact, LeadPatch, NewLead};
pub use tasks::{NewTask, TASK_TYPE_FOLLOW_UP, TaskPatch};

/// How many recent changes the world keeps for inspection by tests.
const CHANGE_LOG_CAP: usize = 10_000;

/// Why a mutation was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WorldError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
}

/// A reason a lead was lost (`with=loss_reason`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LossReason {
    pub id: u64,
    pub name: String,
    pub sort: i64,
    pub created_at: Timestamp,
}

/// Next free ids, per entity kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IdCounters {
    pub lead: u64,
    pub contact: u64,
    pub company: u64,
    pub note: u64,
    pub talk: u64,
    pub tag: u64,
    pub event: u64,
    pub unsorted: u64,
    pub task: u64,
}

/// How much the control API may grow the account beyond its seed: each kind
/// of record may grow by this much; past it, mutations are refused with 400
/// (nothing is evicted: amoCRM never forgets events or messages).
pub const GROWTH_CAP: usize = 1_000_000;

/// The most records the account may hold (set after seeding: seed + [`GROWTH_CAP`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Room {
    /// `events`.
    pub events: usize,
    /// Leads, contacts, companies, notes, talks, messages, tasks, unsorted and tags together.
    pub records: usize,
}

/// The emulated account.
#[derive(Debug, Clone)]
pub struct World {
    pub clock: Clock,
    pub account: Account,
    pub users: Vec<User>,
    pub groups: Vec<UserGroup>,
    pub pipelines: Vec<Pipeline>,
    pub lead_fields: Vec<CustomFieldDef>,
    pub contact_fields: Vec<CustomFieldDef>,
    pub loss_reasons: Vec<LossReason>,
    /// Tag dictionary of leads and contacts.
    pub tags: Vec<Tag>,
    pub leads: BTreeMap<u64, Lead>,
    pub contacts: BTreeMap<u64, Contact>,
    pub companies: BTreeMap<u64, Company>,
    pub notes: Vec<Note>,
    pub talks: BTreeMap<u64, Talk>,
    pub messages: Vec<Message>,
    pub tasks: BTreeMap<u64, Task>,
    /// Sorted by (created_at, id): appends happen at "now".
    pub events: Vec<Event>,
    pub unsorted: Vec<Unsorted>,
    /// The most recent changes (bounded), newest last.
    pub change_log: Vec<Change>,
    pub ids: IdCounters,
    pub rng: Rng,
    /// Growth limits; see [`World::check_room`].
    pub room: Room,
}

impl World {
    /// Records held now: (events, everything else), as [`Room`] counts them.
    pub fn sizes(&self) -> (usize, usize) {
        let records = [
            self.leads.len(),
            self.contacts.len(),
            self.companies.len(),
            self.notes.len(),
            self.talks.len(),
            self.messages.len(),
            self.tasks.len(),
            self.unsorted.len(),
            self.tags.len(),
        ]
        .iter()
        .fold(0usize, |a, n| a.saturating_add(*n));
        (self.events.len(), records)
    }

    /// Sets the growth limits to what the account holds now plus [`GROWTH_CAP`].
    pub fn set_room_from_now(&mut self) {
        let (events, records) = self.sizes();
        self.room = Room {
            events: events.saturating_add(GROWTH_CAP),
            records: records.saturating_add(GROWTH_CAP),
        };
    }

    /// Refuses a mutation once the account is full (see [`GROWTH_CAP`]).
    pub fn check_room(&self) -> Result<(), WorldError> {
        let (events, records) = self.sizes();
        if events >= self.room.events || records >= self.room.records {
            return Err(WorldError::Invalid(format!(
                "the emulated account is full: the control API may add at most {GROWTH_CAP} events and {GROWTH_CAP} records beyond the seed"
            )));
        }
        Ok(())
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn admin(&self) -> Option<&User> {
        self.users.iter().find(|u| u.is_admin && u.is_active)
    }

    /// The admin's id (the actor of office actions without one).
    pub fn admin_id(&self) -> u64 {
        self.admin().map(|u| u.id).unwrap_or_default()
    }

    /// A user who is not an admin.
    pub fn regular_user(&self) -> Option<&User> {
        self.users.iter().find(|u| !u.is_admin && u.is_active)
    }

    pub fn user(&self, id: u64) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    pub fn pipeline(&self, id: u64) -> Option<&Pipeline> {
        self.pipelines.iter().find(|p| p.id == id)
    }

    pub fn main_pipeline(&self) -> Option<&Pipeline> {
        self.pipelines
            .iter()
            .find(|p| p.is_main)
            .or_else(|| self.pipelines.first())
    }

    /// A status keyed by (pipeline, status): 142/143 repeat in every pipeline.
    pub fn status(&self, pipeline_id: u64, status_id: u64) -> Option<&Status> {
        self.pipeline(pipeline_id)
            .and_then(|p| p.statuses.iter().find(|s| s.id == status_id))
    }

    /// The incoming ("Неразобранное", type 1) status of a pipeline.
    pub fn unsorted_status(&self, pipeline_id: u64) -> Option<&Status> {
        self.pipeline(pipeline_id)
            .and_then(|p| p.statuses.iter().find(|s| s.kind == 1))
    }

    /// The first ordinary status of a pipeline, by sort.
    pub fn first_open_status(&self, pipeline_id: u64) -> Option<&Status> {
        self.pipeline(pipeline_id).and_then(|p| {
            p.statuses
                .iter()
                .filter(|s| {
                    s.kind == 0
                        && s.id != crate::model::STATUS_WON
                        && s.id != crate::model::STATUS_LOST
                })
                .min_by_key(|s| s.sort)
        })
    }

    pub fn lead(&self, id: u64) -> Result<&Lead, WorldError> {
        self.leads
            .get(&id)
            .filter(|l| !l.is_deleted)
            .ok_or_else(|| WorldError::NotFound(format!("lead {id} not found")))
    }

    pub(crate) fn lead_mut(&mut self, id: u64) -> Result<&mut Lead, WorldError> {
        self.leads
            .get_mut(&id)
            .filter(|l| !l.is_deleted)
            .ok_or_else(|| WorldError::NotFound(format!("lead {id} not found")))
    }

    pub(crate) fn check_user(&self, id: u64) -> Result<&User, WorldError> {
        self.user(id)
            .ok_or_else(|| WorldError::Invalid(format!("user {id} does not exist")))
    }

    /// Looks up (or creates) tags by name, keeping the dictionary.
    pub(crate) fn tags_by_name(&mut self, names: &[String]) -> Vec<Tag> {
        let mut out: Vec<Tag> = Vec::new();
        for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
            if out.iter().any(|t| t.name == name) {
                continue;
            }
            let tag = match self.tags.iter().find(|t| t.name == name) {
                Some(t) => t.clone(),
                None => {
                    self.ids.tag += 1;
                    let t = Tag {
                        id: self.ids.tag,
                        name: name.to_string(),
                        color: None,
                    };
                    self.tags.push(t.clone());
                    t
                }
            };
            out.push(tag);
        }
        out
    }

    /// Appends an event at `created_at` with the next id.
    pub(crate) fn push_event(
        &mut self,
        kind: &str,
        entity: (&str, u64),
        created_by: u64,
        created_at: Timestamp,
        before: Value,
        after: Value,
    ) {
        self.ids.event += 1;
        self.events.push(Event {
            id: event_id(created_at, self.ids.event),
            kind: kind.to_string(),
            entity_id: entity.1,
            entity_type: entity.0.to_string(),
            created_by,
            created_at,
            value_after: after,
            value_before: before,
        });
    }

    /// Records changes in the bounded change log; returns them for the hub.
    pub(crate) fn record(&mut self, changes: Vec<Change>) -> Vec<Change> {
        self.change_log.extend(changes.iter().cloned());
        if self.change_log.len() > CHANGE_LOG_CAP {
            let excess = self.change_log.len() - CHANGE_LOG_CAP;
            self.change_log.drain(..excess);
        }
        changes
    }
}

/// amoCRM event ids are opaque strings; ours sort by time then sequence.
pub fn event_id(created_at: Timestamp, seq: u64) -> String {
    format!("01{:010x}{:014x}", created_at.max(0), seq)
}

/// `[{"lead_status":{"id":..,"pipeline_id":..}}]`.
pub fn lead_status_value(status_id: u64, pipeline_id: u64) -> Value {
    serde_json::json!([{"lead_status": {"id": status_id, "pipeline_id": pipeline_id}}])
}
