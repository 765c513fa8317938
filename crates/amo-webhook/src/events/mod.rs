//! Typed webhook events built from the decoded tree.
//!
//! Top-level keys are entities (`leads`, `contacts`, …), the next level the
//! action (`add`, `status`, …), then one index per entity. Recognised
//! (entity, action) pairs become typed events; anything else becomes
//! [`WebhookEvent::Unknown`] with its fields as received. An entity of a
//! recognised kind that cannot be typed (a non-numeric id, a missing required
//! field, …) is left out of `events` and reported in
//! [`WebhookPayload::errors`] with its raw fields; the rest of the body is
//! still decoded. An action whose items are lists of entities
//! (`task[update][0][0][id]`, as amoCRM documents its task webhook) is read
//! item by item.

mod common;
mod contact;
mod lead;
mod message;
mod note;
mod talk;
mod task;
mod unsorted;

pub use common::{CrmDate, CustomField, CustomFieldItem, CustomFieldValue, LocalDateTime, Tag};
pub use contact::{ContactAction, ContactEvent, ContactKind};
pub use lead::{LeadAction, LeadEvent};
pub use message::{MessageAttachment, MessageAuthor, MessageEvent};
pub use note::{NoteEvent, NoteParent};
pub use talk::{TalkAction, TalkEvent};
pub use task::{TaskAction, TaskEvent};
pub use unsorted::{UnsortedAddEvent, UnsortedDeleteEvent, UnsortedResult};

use serde::{Deserialize, Serialize};

use crate::anomaly::Anomaly;
use crate::error::{DecodeError, EntityError, EntityProblem};
use crate::form::ParsedForm;
use crate::read::{FieldError, Reader, parse_u64};
use crate::tree::{Node, NodeMap};
use crate::write::Writer;

/// A decoded webhook body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookPayload {
    /// The `account[…]` block.
    pub account: AccountBlock,
    /// Events in body order (entities in the order their keys first appear,
    /// then actions, then indexes).
    pub events: Vec<WebhookEvent>,
    /// Entities of a known kind that could not be typed; see [`EntityError`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<EntityError>,
    /// What PHP's parsing rules resolved on the way (a later duplicate won,
    /// a broken escape kept as text, …), with what was replaced; see
    /// [`Anomaly`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub anomalies: Vec<Anomaly>,
}

impl WebhookPayload {
    /// One line per thing of this body that could not be typed or was
    /// resolved by PHP's rules (anomalies, entities that failed, unknown
    /// events), at most `max` lines (the last says how many more): what an
    /// event log records beside "applied".
    pub fn untyped_report(&self, max: usize) -> Vec<String> {
        let anomalies = self.anomalies.iter().map(|a| format!("{}: {a}", a.code()));
        let errors = self.errors.iter().map(|e| format!("{}: {e}", e.code()));
        let unknown = self.events.iter().filter_map(|e| match e {
            WebhookEvent::Unknown {
                entity,
                action: Some(action),
                ..
            } => Some(format!("untyped: {entity}[{action}] kept as received")),
            WebhookEvent::Unknown {
                entity,
                action: None,
                ..
            } => Some(format!("untyped: {entity} kept as received")),
            _ => None,
        });
        let mut lines: Vec<String> = anomalies.chain(errors).chain(unknown).collect();
        if lines.len() > max {
            let more = lines.len() - max.saturating_sub(1);
            lines.truncate(max.saturating_sub(1));
            lines.push(format!("… and {more} more"));
        }
        lines
    }
}

/// `account[subdomain]`, `account[id]`, `account[_links][self]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountBlock {
    /// Account subdomain (`x` of `x.amocrm.ru`). Always present.
    pub subdomain: String,
    /// Account id (newer payloads).
    pub id: Option<u64>,
    /// `account[_links][self]`, e.g. `https://x.amocrm.ru` (newer payloads).
    pub self_link: Option<String>,
    /// Keys not listed above, as received.
    #[serde(default, skip_serializing_if = "NodeMap::is_empty")]
    pub extra: NodeMap,
}

impl AccountBlock {
    pub(crate) fn read(node: Option<Node>) -> Result<Self, DecodeError> {
        let invalid = |e: FieldError| DecodeError::InvalidAccount {
            reason: format!("account[{}]: {}", e.field.unwrap_or_default(), e.problem),
        };
        let map = match node {
            None => return Err(DecodeError::MissingAccount),
            Some(Node::Value(_)) => {
                return Err(DecodeError::InvalidAccount {
                    reason: "`account` is a plain value, not an object".into(),
                });
            }
            Some(Node::Map(m)) => m,
        };
        let mut r = Reader::new(map, String::new());
        let subdomain = r
            .string("subdomain")
            .map_err(invalid)?
            .ok_or(DecodeError::MissingAccount)?;
        Ok(Self {
            subdomain,
            id: r.u64("id").map_err(invalid)?,
            // An unreadable `_links` says nothing about the account: it
            // stays in `extra` rather than failing the body.
            self_link: r.nested_string("_links", "self").unwrap_or(None),
            extra: r.finish(),
        })
    }

    fn write(&self) -> NodeMap {
        let mut w = Writer::new();
        w.str("subdomain", &self.subdomain);
        w.u64("id", self.id);
        if let Some(link) = &self.self_link {
            w.object("_links", NodeMap::from_iter([("self", link.as_str())]));
        }
        w.finish(&self.extra)
    }
}

/// One entity and what happened to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WebhookEvent {
    /// `leads[add|update|status|responsible|restore|delete]`.
    Lead {
        /// What happened.
        action: LeadAction,
        /// The lead's fields.
        lead: LeadEvent,
    },
    /// `contacts[add|update|delete|restore|responsible]`, for contacts and
    /// companies alike (see [`ContactEvent::kind`]). `companies[…]` with the
    /// same actions is read here too, as companies.
    Contact {
        /// What happened.
        action: ContactAction,
        /// The contact's or company's fields.
        contact: ContactEvent,
    },
    /// `leads[note]`, `contacts[note]`, `companies[note]`.
    Note {
        /// Which kind of entity the note was added to.
        parent: NoteParent,
        /// The note's fields.
        note: NoteEvent,
    },
    /// `unsorted[add]`.
    UnsortedAdd {
        /// The request's fields.
        unsorted: UnsortedAddEvent,
    },
    /// `unsorted[update]`: an unsorted request changed (same fields as `add`).
    UnsortedUpdate {
        /// The request's fields.
        unsorted: UnsortedAddEvent,
    },
    /// `unsorted[delete]`: accepted or declined.
    UnsortedDelete {
        /// The request's fields.
        unsorted: UnsortedDeleteEvent,
    },
    /// `message[add]`: an incoming chat message.
    Message {
        /// The message's fields.
        message: MessageEvent,
    },
    /// `talk[add|update]`.
    Talk {
        /// What happened.
        action: TalkAction,
        /// The talk's fields.
        talk: TalkEvent,
    },
    /// `task[add|update|delete|responsible]` (also read from `tasks[…]`).
    Task {
        /// What happened.
        action: TaskAction,
        /// The task's fields.
        task: TaskEvent,
    },
    /// Anything not recognised, kept whole: `entity[action]…` with `fields`
    /// the subtree under the action (all its indexes), or `entity=…` /
    /// `entity[…]` with no action level when `action` is `None`.
    Unknown {
        /// Top-level key.
        entity: String,
        /// Action key, when the entity is an object of actions.
        action: Option<String>,
        /// Everything under it, as received.
        fields: Node,
    },
}

impl WebhookEvent {
    /// The id of the entity the event is about, for confirming it by an API
    /// read: lead, contact/company, note, task or talk id; the created lead
    /// of an unsorted request; `None` for messages and unknown events.
    pub fn entity_id(&self) -> Option<u64> {
        match self {
            Self::Lead { lead, .. } => Some(lead.id),
            Self::Contact { contact, .. } => Some(contact.id),
            Self::Note { note, .. } => Some(note.id),
            Self::Task { task, .. } => Some(task.id),
            Self::Talk { talk, .. } => Some(talk.talk_id),
            Self::UnsortedAdd { unsorted } | Self::UnsortedUpdate { unsorted } => unsorted.lead_id,
            Self::UnsortedDelete { .. } | Self::Message { .. } | Self::Unknown { .. } => None,
        }
    }

    /// The top-level key and action key this event is written under, for a
    /// typed event (`None` for [`WebhookEvent::Unknown`]).
    pub(crate) fn wire_key(&self) -> Option<(&'static str, &'static str)> {
        Some(match self {
            Self::Lead { action, .. } => ("leads", action.as_str()),
            Self::Contact { action, .. } => ("contacts", action.as_str()),
            Self::Note { parent, .. } => (parent.entity_key(), "note"),
            Self::UnsortedAdd { .. } => ("unsorted", "add"),
            Self::UnsortedUpdate { .. } => ("unsorted", "update"),
            Self::UnsortedDelete { .. } => ("unsorted", "delete"),
            Self::Message { .. } => ("message", "add"),
            Self::Talk { action, .. } => ("talk", action.as_str()),
            Self::Task { action, .. } => ("task", action.as_str()),
            Self::Unknown { .. } => return None,
        })
    }

    /// The fields of a typed event as a map (`None` for unknown events).
    pub(crate) fn write_fields(&self) -> Option<NodeMap> {
        Some(match self {
            Self::Lead { lead, .. } => lead.write(),
            Self::Contact { contact, .. } => contact.write(),
            Self::Note { note, .. } => note.write(),
            Self::UnsortedAdd { unsorted } | Self::UnsortedUpdate { unsorted } => unsorted.write(),
            Self::UnsortedDelete { unsorted } => unsorted.write(),
            Self::Message { message } => message.write(),
            Self::Talk { talk, .. } => talk.write(),
            Self::Task { task, .. } => task.write(),
            Self::Unknown { .. } => return None,
        })
    }
}

/// A recognised (entity, action) pair.
#[derive(Clone, Copy)]
enum Kind {
    Lead(LeadAction),
    Contact(ContactAction, ContactKind),
    Note(NoteParent),
    UnsortedAdd,
    UnsortedUpdate,
    UnsortedDelete,
    Message,
    Talk(TalkAction),
    Task(TaskAction),
}

impl Kind {
    fn classify(entity: &str, action: &str) -> Option<Self> {
        Some(match (entity, action) {
            ("leads", "note") => Self::Note(NoteParent::Lead),
            ("contacts", "note") => Self::Note(NoteParent::Contact),
            ("companies", "note") => Self::Note(NoteParent::Company),
            ("leads", _) => Self::Lead(pick(&LeadAction::ALL, LeadAction::as_str, action)?),
            ("contacts", _) => Self::Contact(
                pick(&ContactAction::ALL, ContactAction::as_str, action)?,
                ContactKind::Contact,
            ),
            ("companies", _) => Self::Contact(
                pick(&ContactAction::ALL, ContactAction::as_str, action)?,
                ContactKind::Company,
            ),
            ("unsorted", "add") => Self::UnsortedAdd,
            ("unsorted", "update") => Self::UnsortedUpdate,
            ("unsorted", "delete") => Self::UnsortedDelete,
            ("message", "add") => Self::Message,
            ("talk", "add") => Self::Talk(TalkAction::Add),
            ("talk", "update") => Self::Talk(TalkAction::Update),
            ("task" | "tasks", _) => {
                Self::Task(pick(&TaskAction::ALL, TaskAction::as_str, action)?)
            }
            _ => return None,
        })
    }

    fn read(self, r: Reader) -> Result<WebhookEvent, FieldError> {
        Ok(match self {
            Self::Lead(action) => WebhookEvent::Lead {
                action,
                lead: LeadEvent::read(r)?,
            },
            Self::Contact(action, kind) => WebhookEvent::Contact {
                action,
                contact: ContactEvent::read(r, kind)?,
            },
            Self::Note(parent) => WebhookEvent::Note {
                parent,
                note: NoteEvent::read(r)?,
            },
            Self::UnsortedAdd => WebhookEvent::UnsortedAdd {
                unsorted: UnsortedAddEvent::read(r)?,
            },
            Self::UnsortedUpdate => WebhookEvent::UnsortedUpdate {
                unsorted: UnsortedAddEvent::read(r)?,
            },
            Self::UnsortedDelete => WebhookEvent::UnsortedDelete {
                unsorted: UnsortedDeleteEvent::read(r)?,
            },
            Self::Message => WebhookEvent::Message {
                message: MessageEvent::read(r)?,
            },
            Self::Talk(action) => WebhookEvent::Talk {
                action,
                talk: TalkEvent::read(r)?,
            },
            Self::Task(action) => WebhookEvent::Task {
                action,
                task: TaskEvent::read(r)?,
            },
        })
    }

    /// The id to report for an entity that failed, read from its raw fields.
    fn raw_id(self, raw: &NodeMap) -> Option<u64> {
        let path: &[&str] = match self {
            Self::Lead(_) | Self::Contact(..) | Self::Task(_) => &["id"],
            Self::Note(_) => match raw.get("note") {
                Some(Node::Map(_)) => &["note", "id"],
                _ => &["id"],
            },
            Self::Talk(_) => &["talk_id"],
            Self::UnsortedAdd | Self::UnsortedUpdate => &["lead_id"],
            Self::UnsortedDelete | Self::Message => return None,
        };
        let (first, rest) = path.split_first()?;
        parse_u64(raw.get(first)?.get_path(rest)?.as_str()?)
    }
}

/// The action among `all` whose wire key is `key`.
fn pick<T: Copy>(all: &[T], name: fn(T) -> &'static str, key: &str) -> Option<T> {
    all.iter().copied().find(|a| name(*a) == key)
}

/// Whether `node` is a list of entities rather than one entity: a non-empty
/// map whose keys are all list indexes and whose items are all maps (an
/// entity always has named fields such as `id`).
fn is_list_of_entities(m: &NodeMap) -> bool {
    !m.is_empty()
        && m.iter()
            .all(|(k, n)| parse_u64(k).is_some() && matches!(n, Node::Map(_)))
}

/// The entities of one action in body order, with their index paths:
/// `task[update][0][0][…]` gives the entity at index `0][0`, so an error
/// about it reads `task[update][0][0]…`.
fn entity_items(items: NodeMap) -> Vec<(String, Node)> {
    let mut out = Vec::new();
    let mut stack: Vec<(String, Node)> = items.into_iter().rev().collect();
    while let Some((index, node)) = stack.pop() {
        match node {
            Node::Map(inner) if is_list_of_entities(&inner) => {
                let nested: Vec<(String, Node)> = inner
                    .into_iter()
                    .map(|(k, n)| (format!("{index}][{k}"), n))
                    .collect();
                stack.extend(nested.into_iter().rev());
            }
            node => out.push((index, node)),
        }
    }
    out
}

/// Builds the payload from the decoded tree.
pub(crate) fn build_payload(form: ParsedForm) -> Result<WebhookPayload, DecodeError> {
    let ParsedForm {
        tree: mut root,
        anomalies,
    } = form;
    let account = AccountBlock::read(root.remove("account"))?;
    let mut events = Vec::new();
    let mut errors = Vec::new();
    for (entity, node) in root {
        let actions = match node {
            Node::Map(actions) => actions,
            value => {
                events.push(WebhookEvent::Unknown {
                    entity,
                    action: None,
                    fields: value,
                });
                continue;
            }
        };
        for (action, node) in actions {
            let (kind, items) = match (Kind::classify(&entity, &action), node) {
                (Some(kind), Node::Map(items)) => (kind, items),
                (_, fields) => {
                    events.push(WebhookEvent::Unknown {
                        entity: entity.clone(),
                        action: Some(action),
                        fields,
                    });
                    continue;
                }
            };
            for (index, item) in entity_items(items) {
                let error = |raw: Node, entity_id, e: FieldError| EntityError {
                    entity: entity.clone(),
                    action: action.clone(),
                    index: index.clone(),
                    entity_id,
                    field: e.field,
                    problem: e.problem,
                    raw,
                };
                match item {
                    Node::Map(fields) => {
                        let raw = fields.clone();
                        match kind.read(Reader::new(fields, String::new())) {
                            Ok(event) => events.push(event),
                            Err(e) => {
                                let id = kind.raw_id(&raw);
                                errors.push(error(Node::Map(raw), id, e));
                            }
                        }
                    }
                    value => errors.push(error(
                        value,
                        None,
                        FieldError::whole(EntityProblem::NotAnObject),
                    )),
                }
            }
        }
    }
    Ok(WebhookPayload {
        account,
        events,
        errors,
        anomalies,
    })
}

/// Builds the tree for a payload: the inverse of [`build_payload`].
pub(crate) fn payload_tree(payload: &WebhookPayload) -> NodeMap {
    let mut root = NodeMap::new();
    for event in &payload.events {
        match event {
            WebhookEvent::Unknown {
                entity,
                action: Some(action),
                fields,
            } => {
                if let Some(actions) = root.child_map_force(entity) {
                    actions.merge_insert(action, fields.clone());
                }
            }
            WebhookEvent::Unknown {
                entity,
                action: None,
                fields,
            } => {
                root.merge_insert(entity, fields.clone());
            }
            typed => {
                if let (Some((entity, action)), Some(fields)) =
                    (typed.wire_key(), typed.write_fields())
                {
                    let items = root
                        .child_map_force(entity)
                        .and_then(|actions| actions.child_map_force(action));
                    if let Some(items) = items {
                        let index = items.next_index_key();
                        items.insert(index, Node::Map(fields));
                    }
                }
            }
        }
    }
    root.merge_insert("account", Node::Map(payload.account.write()));
    root
}
