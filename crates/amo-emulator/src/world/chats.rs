//! Talks, chat messages and unsorted (incoming) requests.

use serde::Deserialize;
use serde_json::json;

use super::{World, WorldError};
use crate::model::{
    Change, Direction, LinkedContact, Message, MessageAuthor, Talk, Unsorted, UnsortedResolution,
    UnsortedState,
};

/// Chat channels the account has connected.
pub const ORIGINS: &[&str] = &["waba", "telegram", "instagram", "onlinechat"];
/// Categories of unsorted requests.
pub const UNSORTED_CATEGORIES: &[&str] = &["chats", "forms", "sip", "mail"];

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    pub lead_id: u64,
    pub text: String,
    pub origin: Option<String>,
    pub direction: Option<Direction>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TalkPatch {
    pub is_read: Option<bool>,
    pub is_in_work: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NewUnsorted {
    /// The client's name (also the new lead's name).
    pub name: String,
    /// The first message / form text.
    pub text: String,
    pub category: Option<String>,
    pub origin: Option<String>,
    pub phone: Option<String>,
}

/// Human name of a chat origin, as amoCRM shows the source.
pub fn origin_title(origin: &str) -> &'static str {
    match origin {
        "waba" => "WhatsApp",
        "telegram" => "Telegram",
        "instagram" => "Instagram",
        "onlinechat" => "Онлайн-чат",
        "site" => "Сайт",
        _ => "Другой канал",
    }
}

/// The chat user id (a UUID) of a contact or user: the same every time, as
/// a messenger account keeps its id across messages.
pub fn chat_user_id(account_id: u64, kind: &str, id: u64) -> String {
    let salt = kind.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    crate::rng::Rng::new(account_id.rotate_left(29) ^ salt ^ id.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .uuid()
}

impl World {
    fn check_origin(origin: &str) -> Result<(), WorldError> {
        if origin.trim().is_empty() || origin.len() > 64 {
            return Err(WorldError::Invalid(
                "origin must be a short non-empty code, e.g. telegram".into(),
            ));
        }
        Ok(())
    }

    /// The lead's main (or first) contact, creating one when the lead has none.
    fn chat_contact(
        &mut self,
        lead_id: u64,
        origin: &str,
        changes: &mut Vec<Change>,
    ) -> Result<u64, WorldError> {
        let lead = self.lead(lead_id)?;
        if let Some(c) = lead
            .contacts
            .iter()
            .find(|c| c.is_main)
            .or_else(|| lead.contacts.first())
        {
            return Ok(c.id);
        }
        let responsible = lead.responsible_user_id;
        let name = format!("Клиент {}", origin_title(origin));
        let contact = self.create_contact(&name, None, None, responsible, Some(lead_id))?;
        let now = self.now();
        self.touch_lead(lead_id, now);
        let lead = self.lead_mut(lead_id)?;
        lead.contacts.push(LinkedContact {
            id: contact.id,
            is_main: true,
        });
        let lead = lead.clone();
        let id = contact.id;
        changes.push(Change::ContactAdded(contact));
        changes.push(Change::LeadUpdated(lead));
        Ok(id)
    }

    fn create_talk(
        &mut self,
        lead_id: u64,
        origin: &str,
        changes: &mut Vec<Change>,
    ) -> Result<Talk, WorldError> {
        Self::check_origin(origin)?;
        let contact_id = self.chat_contact(lead_id, origin, changes)?;
        let now = self.now();
        self.ids.talk += 1;
        let talk = Talk {
            talk_id: self.ids.talk,
            chat_id: self.rng.uuid(),
            contact_id,
            entity_id: lead_id,
            entity_type: "lead".into(),
            origin: origin.to_string(),
            is_in_work: true,
            is_read: false,
            rate: 0,
            missed_at: None,
            created_at: now,
            updated_at: now,
        };
        self.talks.insert(talk.talk_id, talk.clone());
        changes.push(Change::TalkAdded(talk.clone()));
        Ok(talk)
    }

    /// Opens a new talk on a lead.
    pub fn add_talk(
        &mut self,
        lead_id: u64,
        origin: &str,
    ) -> Result<(Talk, Vec<Change>), WorldError> {
        let mut changes = Vec::new();
        let talk = self.create_talk(lead_id, origin, &mut changes)?;
        Ok((talk, self.record(changes)))
    }

    /// Marks a talk read / in work.
    pub fn update_talk(
        &mut self,
        talk_id: u64,
        patch: TalkPatch,
    ) -> Result<(Talk, Vec<Change>), WorldError> {
        let now = self.now();
        let talk = self
            .talks
            .get_mut(&talk_id)
            .ok_or_else(|| WorldError::NotFound(format!("talk {talk_id} not found")))?;
        if let Some(v) = patch.is_read {
            talk.is_read = v;
        }
        if let Some(v) = patch.is_in_work {
            talk.is_in_work = v;
        }
        talk.updated_at = now;
        let talk = talk.clone();
        Ok((talk.clone(), self.record(vec![Change::TalkUpdated(talk)])))
    }

    fn message_changes(
        &mut self,
        input: NewMessage,
        changes: &mut Vec<Change>,
    ) -> Result<Message, WorldError> {
        if input.text.trim().is_empty() {
            return Err(WorldError::Invalid("text must not be empty".into()));
        }
        self.lead(input.lead_id)?;
        let existing = self
            .talks
            .values()
            .filter(|t| t.entity_id == input.lead_id)
            .max_by_key(|t| t.talk_id)
            .cloned();
        let mut talk = match (existing, &input.origin) {
            (Some(t), None) => t,
            (Some(t), Some(o)) if t.origin == *o => t,
            (_, origin) => {
                let origin = origin.clone().unwrap_or_else(|| "telegram".to_string());
                self.create_talk(input.lead_id, &origin, changes)?
            }
        };
        let now = self.now();
        let direction = input.direction.unwrap_or(Direction::Incoming);
        let author = match direction {
            Direction::Incoming => {
                let id = chat_user_id(self.account.id, "contact", talk.contact_id);
                MessageAuthor {
                    // Two of three clients have a profile picture in the messenger.
                    avatar_url: (talk.contact_id % 3 != 0).then(|| {
                        format!("https://amojo.amocrm.ru/attachments/profiles/{id}/avatar.jpg")
                    }),
                    id,
                    kind: "external".into(),
                    name: self
                        .contacts
                        .get(&talk.contact_id)
                        .map(|c| c.name.clone())
                        .unwrap_or_default(),
                }
            }
            Direction::Outgoing => MessageAuthor {
                id: chat_user_id(self.account.id, "user", self.admin_id()),
                kind: "internal".into(),
                name: self.admin().map(|u| u.name.clone()).unwrap_or_default(),
                avatar_url: None,
            },
        };
        let message = Message {
            id: self.rng.uuid(),
            chat_id: talk.chat_id.clone(),
            talk_id: talk.talk_id,
            contact_id: talk.contact_id,
            text: input.text,
            created_at: now,
            entity_type: "lead".into(),
            entity_id: input.lead_id,
            origin: talk.origin.clone(),
            direction,
            author,
            message_type: "text".into(),
            attachment: None,
        };
        talk.updated_at = now;
        talk.is_read = direction == Direction::Outgoing;
        talk.is_in_work = true;
        self.talks.insert(talk.talk_id, talk.clone());
        self.messages.push(message.clone());
        let kind = match direction {
            Direction::Incoming => "incoming_chat_message",
            Direction::Outgoing => "outgoing_chat_message",
        };
        let value = json!([{"message": {"id": message.id, "origin": message.origin, "talk_id": message.talk_id}}]);
        self.push_event(kind, ("lead", input.lead_id), 0, now, json!([]), value);
        if direction == Direction::Incoming {
            changes.push(Change::MessageAdded(message.clone()));
        }
        changes.push(Change::TalkUpdated(talk));
        Ok(message)
    }

    /// A chat message on a lead (its talk is created when missing).
    pub fn add_message(&mut self, input: NewMessage) -> Result<(Message, Vec<Change>), WorldError> {
        let mut changes = Vec::new();
        let message = self.message_changes(input, &mut changes)?;
        Ok((message, self.record(changes)))
    }

    /// A new incoming request in "Неразобранное": contact, lead, request (and chat message for chats).
    pub fn add_unsorted(
        &mut self,
        input: NewUnsorted,
    ) -> Result<(Unsorted, Vec<Change>), WorldError> {
        let category = input.category.clone().unwrap_or_else(|| "chats".into());
        if !UNSORTED_CATEGORIES.contains(&category.as_str()) {
            return Err(WorldError::Invalid(format!(
                "category must be one of {}",
                UNSORTED_CATEGORIES.join(", ")
            )));
        }
        if input.name.trim().is_empty() {
            return Err(WorldError::Invalid("name must not be empty".into()));
        }
        let origin = input.origin.clone().unwrap_or_else(|| {
            if category == "chats" {
                "telegram".into()
            } else {
                "site".into()
            }
        });
        Self::check_origin(&origin)?;
        let pipeline_id = self
            .main_pipeline()
            .map(|p| p.id)
            .ok_or_else(|| WorldError::Invalid("no pipeline".into()))?;
        let status_id = self
            .unsorted_status(pipeline_id)
            .map(|s| s.id)
            .ok_or_else(|| {
                WorldError::Invalid("the main pipeline has no unsorted status".into())
            })?;
        let (lead, mut changes) = self.add_lead_unrecorded(&input, pipeline_id, status_id)?;
        let contact_id = lead.contacts.first().map(|c| c.id);
        if let Some(cid) = contact_id
            && let Some(c) = self.contacts.get_mut(&cid)
        {
            c.is_unsorted = true;
        }
        self.ids.unsorted += 1;
        let unsorted = Unsorted {
            uid: self.rng.uuid().replace('-', ""),
            source_uid: self.rng.uuid(),
            source_name: origin_title(&origin).to_string(),
            category: category.clone(),
            pipeline_id,
            created_at: self.now(),
            lead_id: lead.id,
            contact_id,
            client_name: input.name.trim().to_string(),
            origin: origin.clone(),
            service: if category == "chats" {
                "umnico".into()
            } else {
                "amocrm".into()
            },
            text: input.text.clone(),
            state: UnsortedState::Pending,
        };
        self.unsorted.push(unsorted.clone());
        changes.push(Change::UnsortedAdded(unsorted.clone()));
        if category == "chats" {
            let msg = NewMessage {
                lead_id: lead.id,
                text: input.text,
                origin: Some(origin),
                direction: Some(Direction::Incoming),
            };
            self.message_changes(msg, &mut changes)?;
        }
        Ok((unsorted, self.record(changes)))
    }

    fn add_lead_unrecorded(
        &mut self,
        input: &NewUnsorted,
        pipeline_id: u64,
        status_id: u64,
    ) -> Result<(crate::model::Lead, Vec<Change>), WorldError> {
        let new = super::NewLead {
            name: input.name.trim().to_string(),
            pipeline_id: Some(pipeline_id),
            status_id: Some(status_id),
            contact: Some(super::leads::LeadContact {
                name: input.name.clone(),
                phone: input.phone.clone(),
                email: None,
            }),
            ..Default::default()
        };
        self.create_lead(new)
    }

    /// Accepts (into `status_id` or the first stage) or declines (deletes the lead) a pending request.
    pub fn resolve_unsorted(
        &mut self,
        uid: &str,
        resolution: UnsortedResolution,
        status_id: Option<u64>,
    ) -> Result<(Unsorted, Vec<Change>), WorldError> {
        let idx = self
            .unsorted
            .iter()
            .position(|u| u.uid == uid && u.state == UnsortedState::Pending)
            .ok_or_else(|| WorldError::NotFound(format!("pending unsorted {uid} not found")))?;
        let (lead_id, pipeline_id, contact_id) = {
            let u = &self.unsorted[idx];
            (u.lead_id, u.pipeline_id, u.contact_id)
        };
        let actor = self.admin_id();
        let mut lead_changes = Vec::new();
        match resolution {
            UnsortedResolution::Accept => {
                let target = match status_id {
                    Some(s) => s,
                    None => self
                        .first_open_status(pipeline_id)
                        .map(|s| s.id)
                        .ok_or_else(|| WorldError::Invalid("pipeline has no open status".into()))?,
                };
                if self.status(pipeline_id, target).is_none() {
                    return Err(WorldError::Invalid(format!(
                        "status {target} is not in pipeline {pipeline_id}"
                    )));
                }
                if self.lead(lead_id).is_ok() {
                    lead_changes = self.apply_move(lead_id, target, pipeline_id)?;
                }
                if let Some(c) = contact_id.and_then(|cid| self.contacts.get_mut(&cid)) {
                    c.is_unsorted = false;
                }
                self.unsorted[idx].state = UnsortedState::Accepted;
            }
            UnsortedResolution::Decline => {
                if let Ok(lead) = self.lead_mut(lead_id) {
                    lead.is_deleted = true;
                    let (s, p) = (lead.status_id, lead.pipeline_id);
                    let now = self.now();
                    self.touch_lead(lead_id, now);
                    self.push_event(
                        "lead_deleted",
                        ("lead", lead_id),
                        actor,
                        now,
                        json!([]),
                        json!([]),
                    );
                    lead_changes.push(Change::LeadDeleted {
                        id: lead_id,
                        status_id: s,
                        pipeline_id: p,
                    });
                }
                self.unsorted[idx].state = UnsortedState::Declined;
            }
        }
        let unsorted = self.unsorted[idx].clone();
        let mut changes = vec![Change::UnsortedDeleted {
            unsorted: unsorted.clone(),
            resolution,
            modified_user_id: actor,
        }];
        changes.extend(lead_changes);
        Ok((unsorted, self.record(changes)))
    }
}
