//! `unsorted[add][i]` (an incoming request) and `unsorted[delete][i]` (it was
//! accepted or declined).

use serde::{Deserialize, Serialize};

use crate::read::{FieldError, Reader, item_u64};
use crate::tree::{Node, NodeMap};
use crate::write::Writer;

/// A new unsorted request (call, mail, form, chat).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsortedAddEvent {
    /// Request uid. Required.
    pub uid: String,
    /// Source name.
    pub source: Option<String>,
    /// Source-side uid.
    pub source_uid: Option<String>,
    /// `sip`, `mail`, `forms`, `chats`.
    pub category: Option<String>,
    /// Pipeline id.
    pub pipeline_id: Option<u64>,
    /// Source id.
    pub source_id: Option<u64>,
    /// Id of the lead created for the request.
    pub lead_id: Option<u64>,
    /// Unix time of creation.
    pub created_at: Option<i64>,
    /// `source_data[…]` (client, origin, service, `data[0][text]`) as received.
    pub source_data: Option<Node>,
    /// `data[…]` (e.g. `data[contacts][0][id]`) as received: see
    /// [`UnsortedAddEvent::contact_ids`].
    pub data: Option<Node>,
    /// Keys not listed above, as received.
    #[serde(default, skip_serializing_if = "NodeMap::is_empty")]
    pub extra: NodeMap,
}

impl UnsortedAddEvent {
    pub(crate) fn read(mut r: Reader) -> Result<Self, FieldError> {
        Ok(Self {
            uid: r.required_string("uid")?,
            source: r.string("source")?,
            source_uid: r.string("source_uid")?,
            category: r.string("category")?,
            pipeline_id: r.u64("pipeline_id")?,
            source_id: r.u64("source_id")?,
            lead_id: r.u64("lead_id")?,
            created_at: r.i64("created_at")?,
            source_data: r.take("source_data"),
            data: r.take("data"),
            extra: r.finish(),
        })
    }

    pub(crate) fn write(&self) -> NodeMap {
        let mut w = Writer::new();
        w.str("uid", &self.uid);
        w.string("source", &self.source);
        w.string("source_uid", &self.source_uid);
        w.string("category", &self.category);
        w.u64("pipeline_id", self.pipeline_id);
        w.u64("source_id", self.source_id);
        w.u64("lead_id", self.lead_id);
        w.i64("created_at", self.created_at);
        write_node(&mut w, "source_data", &self.source_data);
        write_node(&mut w, "data", &self.data);
        w.finish(&self.extra)
    }

    /// Contact ids from `data[contacts][k][id]` that are numbers.
    pub fn contact_ids(&self) -> Vec<u64> {
        let Some(contacts) = self
            .data
            .as_ref()
            .and_then(|d| d.get_path(&["contacts"]))
            .and_then(Node::as_map)
        else {
            return Vec::new();
        };
        contacts
            .iter()
            .filter_map(|(_, c)| c.get_path(&["id"])?.as_str()?.parse().ok())
            .collect()
    }
}

fn write_node(w: &mut Writer, key: &str, node: &Option<Node>) {
    match node {
        Some(Node::Map(m)) => w.object(key, m.clone()),
        Some(Node::Value(v)) => w.str(key, v),
        None => {}
    }
}

/// An unsorted request that was accepted or declined.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsortedDeleteEvent {
    /// Request uid. Required.
    pub uid: String,
    /// `accept` or `decline`, as sent.
    pub action: Option<String>,
    /// `sip`, `mail`, `forms`, `chats`.
    pub category: Option<String>,
    /// Who accepted or declined.
    pub modified_user_id: Option<u64>,
    /// `accept_result[…]`: what accepting created.
    pub accept_result: Option<UnsortedResult>,
    /// `decline_result[…]`: what declining touched.
    pub decline_result: Option<UnsortedResult>,
    /// Keys not listed above, as received.
    #[serde(default, skip_serializing_if = "NodeMap::is_empty")]
    pub extra: NodeMap,
}

impl UnsortedDeleteEvent {
    pub(crate) fn read(mut r: Reader) -> Result<Self, FieldError> {
        Ok(Self {
            uid: r.required_string("uid")?,
            action: r.string("action")?,
            category: r.string("category")?,
            modified_user_id: r.u64("modified_user_id")?,
            accept_result: r.object("accept_result", UnsortedResult::read)?,
            decline_result: r.object("decline_result", UnsortedResult::read)?,
            extra: r.finish(),
        })
    }

    pub(crate) fn write(&self) -> NodeMap {
        let mut w = Writer::new();
        w.str("uid", &self.uid);
        w.string("action", &self.action);
        w.string("category", &self.category);
        w.u64("modified_user_id", self.modified_user_id);
        if let Some(res) = &self.accept_result {
            w.object("accept_result", res.write());
        }
        if let Some(res) = &self.decline_result {
            w.object("decline_result", res.write());
        }
        w.finish(&self.extra)
    }

    /// Lead ids of whichever result is present (accept first).
    pub fn result_lead_ids(&self) -> &[u64] {
        self.accept_result
            .as_ref()
            .or(self.decline_result.as_ref())
            .map(|r| r.leads.as_slice())
            .unwrap_or_default()
    }
}

/// `accept_result[leads][0]=…`, `[contacts][k]`, `[companies][k]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsortedResult {
    /// Lead ids.
    pub leads: Vec<u64>,
    /// Contact ids.
    pub contacts: Vec<u64>,
    /// Company ids.
    pub companies: Vec<u64>,
    /// Keys not listed above, as received.
    #[serde(default, skip_serializing_if = "NodeMap::is_empty")]
    pub extra: NodeMap,
}

impl UnsortedResult {
    fn read(mut r: Reader) -> Result<Self, FieldError> {
        Ok(Self {
            leads: r.list("leads", item_u64)?,
            contacts: r.list("contacts", item_u64)?,
            companies: r.list("companies", item_u64)?,
            extra: r.finish(),
        })
    }

    fn write(&self) -> NodeMap {
        let mut w = Writer::new();
        let id = |v: &u64| Node::Value(v.to_string());
        w.list("leads", &self.leads, id);
        w.list("contacts", &self.contacts, id);
        w.list("companies", &self.companies, id);
        w.finish(&self.extra)
    }
}
