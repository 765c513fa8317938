//! `message[add][i]`: an incoming chat message, the only place its text
//! arrives.

use serde::{Deserialize, Serialize};

use crate::read::{FieldError, Reader};
use crate::tree::NodeMap;
use crate::write::Writer;

/// An incoming chat message. Only `id` is required.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageEvent {
    /// Message id (a UUID).
    pub id: String,
    /// Chat id (a UUID).
    pub chat_id: Option<String>,
    /// Talk id.
    pub talk_id: Option<u64>,
    /// Contact id.
    pub contact_id: Option<u64>,
    /// Message text.
    pub text: Option<String>,
    /// Unix time of creation.
    pub created_at: Option<i64>,
    /// Linked entity type, e.g. `lead`.
    pub entity_type: Option<String>,
    /// Linked entity id.
    pub entity_id: Option<u64>,
    /// Linked element type (numeric).
    pub element_type: Option<u64>,
    /// Linked element id.
    pub element_id: Option<u64>,
    /// Direction: the `type` key, e.g. `incoming`.
    #[serde(rename = "type")]
    pub direction: Option<String>,
    /// Channel: `telegram`, `waba`, `onlinechat`, `instagram`, …
    pub origin: Option<String>,
    /// Media kind, e.g. `picture`.
    pub message_type: Option<String>,
    /// `author[…]`.
    pub author: Option<MessageAuthor>,
    /// `attachment[…]`, for media messages.
    pub attachment: Option<MessageAttachment>,
    /// Keys not listed above, as received.
    #[serde(default, skip_serializing_if = "NodeMap::is_empty")]
    pub extra: NodeMap,
}

impl MessageEvent {
    pub(crate) fn read(mut r: Reader) -> Result<Self, FieldError> {
        Ok(Self {
            id: r.required_string("id")?,
            chat_id: r.string("chat_id")?,
            talk_id: r.u64("talk_id")?,
            contact_id: r.u64("contact_id")?,
            text: r.string("text")?,
            created_at: r.i64("created_at")?,
            entity_type: r.string("entity_type")?,
            entity_id: r.u64("entity_id")?,
            element_type: r.u64("element_type")?,
            element_id: r.u64("element_id")?,
            direction: r.string("type")?,
            origin: r.string("origin")?,
            message_type: r.string("message_type")?,
            author: r.object("author", MessageAuthor::read)?,
            attachment: r.object("attachment", MessageAttachment::read)?,
            extra: r.finish(),
        })
    }

    pub(crate) fn write(&self) -> NodeMap {
        let mut w = Writer::new();
        w.str("id", &self.id);
        w.string("chat_id", &self.chat_id);
        w.u64("talk_id", self.talk_id);
        w.u64("contact_id", self.contact_id);
        w.string("text", &self.text);
        w.i64("created_at", self.created_at);
        w.string("entity_type", &self.entity_type);
        w.u64("entity_id", self.entity_id);
        w.u64("element_type", self.element_type);
        w.u64("element_id", self.element_id);
        w.string("type", &self.direction);
        w.string("origin", &self.origin);
        w.string("message_type", &self.message_type);
        if let Some(a) = &self.author {
            w.object("author", a.write());
        }
        if let Some(a) = &self.attachment {
            w.object("attachment", a.write());
        }
        w.finish(&self.extra)
    }
}

/// `author[id|type|name|avatar_url]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageAuthor {
    /// Author id (a UUID in chats).
    pub id: Option<String>,
    /// Author type, e.g. `external`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Avatar URL.
    pub avatar_url: Option<String>,
    /// Keys not listed above, as received.
    #[serde(default, skip_serializing_if = "NodeMap::is_empty")]
    pub extra: NodeMap,
}

impl MessageAuthor {
    fn read(mut r: Reader) -> Result<Self, FieldError> {
        Ok(Self {
            id: r.string("id")?,
            kind: r.string("type")?,
            name: r.string("name")?,
            avatar_url: r.string("avatar_url")?,
            extra: r.finish(),
        })
    }

    fn write(&self) -> NodeMap {
        let mut w = Writer::new();
        w.string("id", &self.id);
        w.string("type", &self.kind);
        w.string("name", &self.name);
        w.string("avatar_url", &self.avatar_url);
        w.finish(&self.extra)
    }
}

/// `attachment[type|link|file_name]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageAttachment {
    /// Attachment type, e.g. `picture`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Download link.
    pub link: Option<String>,
    /// File name.
    pub file_name: Option<String>,
    /// Keys not listed above, as received.
    #[serde(default, skip_serializing_if = "NodeMap::is_empty")]
    pub extra: NodeMap,
}

impl MessageAttachment {
    fn read(mut r: Reader) -> Result<Self, FieldError> {
        Ok(Self {
            kind: r.string("type")?,
            link: r.string("link")?,
            file_name: r.string("file_name")?,
            extra: r.finish(),
        })
    }

    fn write(&self) -> NodeMap {
        let mut w = Writer::new();
        w.string("type", &self.kind);
        w.string("link", &self.link);
        w.string("file_name", &self.file_name);
        w.finish(&self.extra)
    }
}
