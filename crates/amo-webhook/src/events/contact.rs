//! `contacts[add|update|delete|restore|responsible][i]`: contacts and
//! companies (told apart by `[type]`).

use serde::{Deserialize, Serialize};

use super::common::{CustomField, Tag};
use crate::error::EntityProblem;
use crate::read::{FieldError, Reader, parse_u64};
use crate::tree::{Node, NodeMap};
use crate::write::Writer;

/// What happened to a contact or company.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactAction {
    /// `contacts[add]`.
    Add,
    /// `contacts[update]`.
    Update,
    /// `contacts[delete]`.
    Delete,
    /// `contacts[restore]`.
    Restore,
    /// `contacts[responsible]`.
    Responsible,
}

impl ContactAction {
    pub(crate) const ALL: [Self; 5] = [
        Self::Add,
        Self::Update,
        Self::Delete,
        Self::Restore,
        Self::Responsible,
    ];

    /// The action key on the wire, e.g. `"add"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Restore => "restore",
            Self::Responsible => "responsible",
        }
    }
}

/// Whether a `contacts[…]` entity is a person or a company (`[type]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    /// `type=contact` (also the default under `contacts`).
    #[default]
    Contact,
    /// `type=company` (also the default under `companies`).
    Company,
}

impl ContactKind {
    /// The `type` value on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Contact => "contact",
            Self::Company => "company",
        }
    }
}

/// A contact or company as a webhook sends it. Only `id` is required.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactEvent {
    /// Contact or company id.
    pub id: u64,
    /// Person or company.
    pub kind: ContactKind,
    /// Name.
    pub name: Option<String>,
    /// Responsible user id.
    pub responsible_user_id: Option<u64>,
    /// Previous responsible user id.
    pub old_responsible_user_id: Option<u64>,
    /// Creator's user id.
    pub created_user_id: Option<u64>,
    /// Last modifier's user id.
    pub modified_user_id: Option<u64>,
    /// Unix time of creation (older payloads).
    pub date_create: Option<i64>,
    /// Unix time of the last change (older payloads).
    pub last_modified: Option<i64>,
    /// Unix time of creation (newer payloads).
    pub created_at: Option<i64>,
    /// Unix time of the last change (newer payloads).
    pub updated_at: Option<i64>,
    /// Name of the linked company.
    pub company_name: Option<String>,
    /// Id of the linked company.
    pub linked_company_id: Option<u64>,
    /// Account id.
    pub account_id: Option<u64>,
    /// Lead ids from `linked_leads_id[<ID>][ID]=<ID>` (or `linked_leads_id[k]=<ID>`),
    /// in body order. A `linked_leads_id` of any other shape stays in `extra`.
    pub linked_lead_ids: Vec<u64>,
    /// Tags in order.
    pub tags: Vec<Tag>,
    /// Custom fields in order (phones and e-mails are those with code
    /// `PHONE` / `EMAIL`: see [`ContactEvent::phones`]).
    pub custom_fields: Vec<CustomField>,
    /// Keys not listed above, as received.
    #[serde(default, skip_serializing_if = "NodeMap::is_empty")]
    pub extra: NodeMap,
}

impl ContactEvent {
    pub(crate) fn read(mut r: Reader, default_kind: ContactKind) -> Result<Self, FieldError> {
        let id = r.required_u64("id")?;
        let kind = match r.string("type")? {
            None => default_kind,
            Some(t) if t == "contact" => ContactKind::Contact,
            Some(t) if t == "company" => ContactKind::Company,
            Some(value) => {
                return Err(FieldError {
                    field: Some("type".into()),
                    problem: EntityProblem::UnknownType { value },
                });
            }
        };
        let linked_lead_ids = match r.take("linked_leads_id") {
            None => Vec::new(),
            Some(node) => match linked_ids(&node) {
                Some(ids) => ids,
                None => {
                    r.put_back("linked_leads_id", node);
                    Vec::new()
                }
            },
        };
        Ok(Self {
            id,
            kind,
            name: r.string("name")?,
            responsible_user_id: r.u64("responsible_user_id")?,
            old_responsible_user_id: r.u64("old_responsible_user_id")?,
            created_user_id: r.u64("created_user_id")?,
            modified_user_id: r.u64("modified_user_id")?,
            date_create: r.i64("date_create")?,
            last_modified: r.i64("last_modified")?,
            created_at: r.i64("created_at")?,
            updated_at: r.i64("updated_at")?,
            company_name: r.string("company_name")?,
            linked_company_id: r.u64("linked_company_id")?,
            account_id: r.u64("account_id")?,
            linked_lead_ids,
            tags: r.list("tags", Tag::read_item)?,
            custom_fields: r.list("custom_fields", CustomField::read_item)?,
            extra: r.finish(),
        })
    }

    pub(crate) fn write(&self) -> NodeMap {
        let mut w = Writer::new();
        w.u64("id", Some(self.id));
        w.str("type", self.kind.as_str());
        w.string("name", &self.name);
        w.u64("responsible_user_id", self.responsible_user_id);
        w.u64("old_responsible_user_id", self.old_responsible_user_id);
        w.u64("created_user_id", self.created_user_id);
        w.u64("modified_user_id", self.modified_user_id);
        w.i64("date_create", self.date_create);
        w.i64("last_modified", self.last_modified);
        w.i64("created_at", self.created_at);
        w.i64("updated_at", self.updated_at);
        w.string("company_name", &self.company_name);
        w.u64("linked_company_id", self.linked_company_id);
        w.u64("account_id", self.account_id);
        // amoCRM's shape `[<ID>][ID]=<ID>` cannot hold an id twice; a list
        // with repeats is written as `[k]=<ID>`, which reads back the same.
        let mut seen = std::collections::HashSet::new();
        let linked: NodeMap = if self.linked_lead_ids.iter().all(|id| seen.insert(*id)) {
            self.linked_lead_ids
                .iter()
                .map(|id| {
                    (
                        id.to_string(),
                        Node::Map(NodeMap::from_iter([("ID", id.to_string())])),
                    )
                })
                .collect()
        } else {
            self.linked_lead_ids
                .iter()
                .enumerate()
                .map(|(i, id)| (i.to_string(), id.to_string()))
                .collect()
        };
        w.object("linked_leads_id", linked);
        w.list("tags", &self.tags, Tag::write);
        w.list("custom_fields", &self.custom_fields, CustomField::write);
        w.finish(&self.extra)
    }

    /// Values of custom fields with code `PHONE`.
    pub fn phones(&self) -> Vec<&str> {
        self.values_with_code("PHONE")
    }

    /// Values of custom fields with code `EMAIL`.
    pub fn emails(&self) -> Vec<&str> {
        self.values_with_code("EMAIL")
    }

    /// Values of custom fields whose `code` is `code`.
    pub fn values_with_code(&self, code: &str) -> Vec<&str> {
        self.custom_fields
            .iter()
            .filter(|f| f.code.as_deref() == Some(code))
            .flat_map(CustomField::value_strs)
            .collect()
    }
}

/// Ids of `linked_leads_id` when every item is `<ID>` or `{ID: <ID>}`.
fn linked_ids(node: &Node) -> Option<Vec<u64>> {
    let map = node.as_map()?;
    map.iter()
        .map(|(_, item)| match item {
            Node::Value(v) => parse_u64(v),
            Node::Map(m) if m.len() == 1 => m.get("ID")?.as_str().and_then(parse_u64),
            Node::Map(_) => None,
        })
        .collect()
}
