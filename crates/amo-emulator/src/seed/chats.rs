//! A lead's chat: the talk and its messages.

use serde_json::json;

use super::{Generator, HOUR, data};
use crate::model::{Direction, Lead, Message, MessageAuthor, Talk};
use crate::world::chat_user_id;

impl Generator {
    pub(super) fn talk(&mut self, lead: &Lead, origin: &str) {
        let Some(contact_id) = lead.contacts.first().map(|c| c.id) else {
            return;
        };
        let created = lead.created_at + self.rng.range(0, 600);
        self.world.ids.talk += 1;
        let talk_id = self.world.ids.talk;
        let chat_id = self.rng.uuid();
        let client = self
            .world
            .contacts
            .get(&contact_id)
            .map(|c| c.name.clone())
            .unwrap_or_default();
        // Drawn and dropped to keep the seeded sequence; the author id is
        // derived from the contact, as for messages added later.
        let _ = self.rng.uuid();
        let account_id = self.world.account.id;
        let client_uuid = chat_user_id(account_id, "contact", contact_id);
        let avatar = (contact_id % 3 != 0).then(|| {
            format!("https://amojo.amocrm.ru/attachments/profiles/{client_uuid}/avatar.jpg")
        });
        let manager = self
            .world
            .user(lead.responsible_user_id)
            .map(|u| u.name.clone())
            .unwrap_or_default();
        let count = 1 + self.rng.index(8);
        let mut t = created;
        let mut last_direction = Direction::Incoming;
        for k in 0..count {
            if t >= self.now - 60 {
                break;
            }
            let direction = if k % 2 == 0 {
                Direction::Incoming
            } else {
                Direction::Outgoing
            };
            let (text, author) = match direction {
                Direction::Incoming => (
                    self.rng.pick(data::INCOMING_LINES),
                    MessageAuthor {
                        id: client_uuid.clone(),
                        kind: "external".into(),
                        name: client.clone(),
                        avatar_url: avatar.clone(),
                    },
                ),
                Direction::Outgoing => (
                    self.rng.pick(data::OUTGOING_LINES),
                    MessageAuthor {
                        id: chat_user_id(account_id, "user", lead.responsible_user_id),
                        kind: "internal".into(),
                        name: manager.clone(),
                        avatar_url: None,
                    },
                ),
            };
            let message = Message {
                id: self.rng.uuid(),
                chat_id: chat_id.clone(),
                talk_id,
                contact_id,
                text: text.to_string(),
                created_at: t,
                entity_type: "lead".into(),
                entity_id: lead.id,
                origin: origin.to_string(),
                direction,
                author,
                message_type: "text".into(),
                attachment: None,
            };
            let kind = if direction == Direction::Incoming {
                "incoming_chat_message"
            } else {
                "outgoing_chat_message"
            };
            let value =
                json!([{"message": {"id": message.id, "origin": origin, "talk_id": talk_id}}]);
            self.world
                .push_event(kind, ("lead", lead.id), 0, t, json!([]), value);
            self.world.messages.push(message);
            last_direction = direction;
            t += self.rng.range(60, 6 * HOUR);
        }
        let open = lead.closed_at.is_none();
        let updated = self
            .world
            .messages
            .last()
            .filter(|m| m.talk_id == talk_id)
            .map(|m| m.created_at)
            .unwrap_or(created);
        self.world.talks.insert(
            talk_id,
            Talk {
                talk_id,
                chat_id,
                contact_id,
                entity_id: lead.id,
                entity_type: "lead".into(),
                origin: origin.to_string(),
                is_in_work: open,
                is_read: !(open && last_direction == Direction::Incoming && self.rng.chance(0.5)),
                rate: 0,
                missed_at: None,
                created_at: created,
                updated_at: updated,
            },
        );
    }
}
