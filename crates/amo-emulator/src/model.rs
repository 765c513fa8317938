//! The emulated account's domain: what amoCRM holds, in the emulator's own terms.
//!
//! These structs are the single source of truth inside the emulator. The API
//! module renders them as HAL JSON (amocrm.md §4); the webhook module renders
//! them as form bodies (amocrm.md §1). Keeping one model and two independent
//! renderers means the API and the webhooks can never disagree about a lead.
//!
//! Times are unix seconds (`i64`), as amoCRM sends them. Ids are `u64`.

use serde::{Deserialize, Serialize};

/// Unix seconds.
pub type Timestamp = i64;

/// The emulated account's timezone (`datetime_settings.timezone`). Tbilisi
/// keeps +04:00 all year (no daylight saving time since 2005).
pub const ACCOUNT_TIMEZONE: &str = "Asia/Tbilisi";
/// `datetime_settings.timezone_offset` of the account.
pub const ACCOUNT_TIMEZONE_OFFSET: &str = "+04:00";
/// The same offset in seconds east of UTC: webhook `Y-m-d H:i:s` dates
/// (note `date_create`, `timestamp_x`) are written in it, as amoCRM writes
/// them in the account's timezone.
pub const ACCOUNT_UTC_OFFSET_SECS: i32 = 4 * 3600;

/// The account itself (`GET /api/v4/account`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Account {
    pub id: u64,
    pub name: String,
    pub subdomain: String,
    pub currency: String,
    pub currency_symbol: String,
    pub country: String,
    pub created_at: Timestamp,
    pub created_by: u64,
    /// Chat service id (`with=amojo_id`).
    pub amojo_id: String,
    /// Base URL of the account host as this emulator serves it,
    /// e.g. `http://127.0.0.1:38211`. Used for `_links.self` and the webhook
    /// `account[_links][self]` field.
    pub base_url: String,
}

/// A user group (`with=users_groups`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UserGroup {
    pub id: u64,
    pub name: String,
}

/// A user of the account (`GET /api/v4/users`, admin only).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct User {
    pub id: u64,
    pub name: String,
    pub email: String,
    pub lang: String,
    pub is_admin: bool,
    pub is_active: bool,
    pub group_id: u64,
}

/// A pipeline with its statuses (142 and 143 in every pipeline).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Pipeline {
    pub id: u64,
    pub name: String,
    pub sort: i64,
    pub is_main: bool,
    pub is_unsorted_on: bool,
    pub is_archive: bool,
    pub statuses: Vec<Status>,
}

/// A status of one pipeline; keyed by (pipeline_id, id) because 142/143 repeat.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Status {
    pub id: u64,
    pub name: String,
    pub sort: i64,
    pub is_editable: bool,
    pub pipeline_id: u64,
    /// `#rrggbb` as amoCRM stores it (case kept).
    pub color: String,
    /// 1 = incoming/unsorted, 0 = ordinary.
    pub kind: u8,
}

/// Status id of "Успешно реализовано" (won) in every pipeline.
pub const STATUS_WON: u64 = 142;
/// Status id of "Закрыто и не реализовано" (lost) in every pipeline.
pub const STATUS_LOST: u64 = 143;

/// The kind of a custom field, as the API names it (`field_type`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    Numeric,
    Select,
    Multitext,
    Date,
    Url,
}

impl FieldType {
    /// The API's `field_type` string.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Numeric => "numeric",
            FieldType::Select => "select",
            FieldType::Multitext => "multitext",
            FieldType::Date => "date",
            FieldType::Url => "url",
        }
    }
}

/// A custom field definition of an entity type.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CustomFieldDef {
    pub id: u64,
    pub name: String,
    /// `PHONE`, `EMAIL`, `POSITION`, `IM` for system fields, else `None`.
    pub code: Option<String>,
    pub field_type: FieldType,
    /// Enum options for select/multitext fields: (enum_id, value / enum_code).
    pub enums: Vec<FieldEnum>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FieldEnum {
    pub id: u64,
    pub value: String,
}

/// One value of a custom field on an entity.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FieldValue {
    /// Text as amoCRM holds it. For `Date` fields: unix seconds as a string
    /// (the API renders it as a number, webhooks as `values[0]=<unix>`).
    pub value: String,
    pub enum_id: Option<u64>,
    /// `WORK`, `MOB`, … for PHONE/EMAIL; `None` otherwise.
    pub enum_code: Option<String>,
}

/// The values of one custom field on an entity (`custom_fields_values[i]`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CustomFieldValues {
    pub field_id: u64,
    pub field_name: String,
    pub field_code: Option<String>,
    pub field_type: FieldType,
    pub values: Vec<FieldValue>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Tag {
    pub id: u64,
    pub name: String,
    pub color: Option<String>,
}

/// A deal.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Lead {
    pub id: u64,
    /// May be empty.
    pub name: String,
    /// 0 means "no price" (the API shows 0, webhooks omit `price`).
    pub price: i64,
    pub responsible_user_id: u64,
    pub group_id: u64,
    pub status_id: u64,
    pub pipeline_id: u64,
    pub loss_reason_id: Option<u64>,
    pub source_id: Option<u64>,
    pub created_by: u64,
    pub updated_by: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    pub closest_task_at: Option<Timestamp>,
    pub is_deleted: bool,
    pub score: Option<i64>,
    pub labor_cost: Option<i64>,
    pub custom_fields: Vec<CustomFieldValues>,
    pub tags: Vec<Tag>,
    /// Linked contacts: (contact_id, is_main).
    pub contacts: Vec<LinkedContact>,
    pub company_id: Option<u64>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct LinkedContact {
    pub id: u64,
    pub is_main: bool,
}

/// A person. Companies are a separate struct but share the webhook key `contacts`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Contact {
    pub id: u64,
    pub name: String,
    pub first_name: String,
    pub last_name: String,
    pub responsible_user_id: u64,
    pub group_id: u64,
    pub created_by: u64,
    pub updated_by: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub closest_task_at: Option<Timestamp>,
    pub is_deleted: bool,
    pub is_unsorted: bool,
    /// PHONE / EMAIL (multitext with enum_code WORK, MOB, …), POSITION, IM.
    pub custom_fields: Vec<CustomFieldValues>,
    pub tags: Vec<Tag>,
    pub company_id: Option<u64>,
    /// Name of the linked company, kept in step by the world (webhooks send
    /// it as `company_name` beside `linked_company_id`).
    #[serde(default)]
    pub company_name: Option<String>,
    /// Leads this contact is linked to.
    pub lead_ids: Vec<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Company {
    pub id: u64,
    pub name: String,
    pub responsible_user_id: u64,
    pub group_id: u64,
    pub created_by: u64,
    pub updated_by: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub is_deleted: bool,
    pub custom_fields: Vec<CustomFieldValues>,
    pub tags: Vec<Tag>,
    pub lead_ids: Vec<u64>,
    pub contact_ids: Vec<u64>,
}

/// What a note hangs on.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum NoteParent {
    Lead,
    Contact,
    Company,
}

impl NoteParent {
    /// Webhook `element_type`: 1 contact, 2 lead, 3 company.
    pub fn element_type(self) -> u8 {
        match self {
            NoteParent::Contact => 1,
            NoteParent::Lead => 2,
            NoteParent::Company => 3,
        }
    }
    /// Top-level webhook key: `leads`, `contacts`, `companies`.
    pub fn webhook_key(self) -> &'static str {
        match self {
            NoteParent::Lead => "leads",
            NoteParent::Contact => "contacts",
            NoteParent::Company => "companies",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Note {
    pub id: u64,
    pub parent: NoteParent,
    pub entity_id: u64,
    /// API `note_type` string, e.g. `common`. Webhooks send 4 for `common`.
    pub note_type: String,
    pub text: String,
    pub created_by: u64,
    pub updated_by: u64,
    pub responsible_user_id: u64,
    pub group_id: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A conversation (talk) between the office and a client in some chat channel.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Talk {
    pub talk_id: u64,
    /// UUID.
    pub chat_id: String,
    pub contact_id: u64,
    /// The lead the talk belongs to.
    pub entity_id: u64,
    /// `lead`.
    pub entity_type: String,
    /// `telegram`, `waba` (WhatsApp), `instagram`, `onlinechat`, …
    pub origin: String,
    pub is_in_work: bool,
    pub is_read: bool,
    pub rate: i64,
    pub missed_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Incoming,
    Outgoing,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MessageAuthor {
    /// UUID of the chat user.
    pub id: String,
    /// `external` for clients.
    pub kind: String,
    pub name: String,
    pub avatar_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Attachment {
    /// `picture`, `file`, `voice`, …
    pub kind: String,
    pub link: String,
    pub file_name: String,
}

/// One chat message. The CRM API never returns its text; only webhooks carry it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Message {
    /// UUID.
    pub id: String,
    pub chat_id: String,
    pub talk_id: u64,
    pub contact_id: u64,
    pub text: String,
    pub created_at: Timestamp,
    /// `lead`.
    pub entity_type: String,
    pub entity_id: u64,
    pub origin: String,
    pub direction: Direction,
    pub author: MessageAuthor,
    /// `text` or `picture` etc.
    pub message_type: String,
    pub attachment: Option<Attachment>,
}

/// `GET /api/v4/events` entries.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Event {
    /// amoCRM event ids are strings (`"01h…"`).
    pub id: String,
    /// `lead_added`, `lead_status_changed`, `lead_deleted`, `lead_restored`,
    /// `incoming_chat_message`, `outgoing_chat_message`.
    pub kind: String,
    pub entity_id: u64,
    /// `lead`, `contact`, …
    pub entity_type: String,
    pub created_by: u64,
    pub created_at: Timestamp,
    /// Rendered as-is: e.g. `[{"lead_status":{"id":..,"pipeline_id":..}}]`.
    pub value_after: serde_json::Value,
    pub value_before: serde_json::Value,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum UnsortedState {
    Pending,
    Accepted,
    Declined,
}

/// An incoming request waiting in "Неразобранное" (`GET /api/v4/leads/unsorted`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Unsorted {
    pub uid: String,
    pub source_uid: String,
    pub source_name: String,
    /// `chats`, `forms`, `sip`, `mail`.
    pub category: String,
    pub pipeline_id: u64,
    pub created_at: Timestamp,
    pub lead_id: u64,
    pub contact_id: Option<u64>,
    /// Client name / origin / service / first message text, as `source_data`.
    pub client_name: String,
    pub origin: String,
    pub service: String,
    pub text: String,
    pub state: UnsortedState,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Task {
    pub id: u64,
    pub entity_id: u64,
    pub parent: NoteParent,
    pub task_type_id: u64,
    pub text: String,
    pub is_completed: bool,
    pub complete_till: Timestamp,
    pub responsible_user_id: u64,
    pub created_by: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// How an unsorted request left the queue.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum UnsortedResolution {
    Accept,
    Decline,
}

/// Something that happened in the account, as a webhook reports it.
///
/// The world (state) produces these on every mutation; the webhook hub turns
/// them into form bodies for each registered destination whose `settings`
/// include [`Change::setting_code`]. One mutation may produce several changes
/// (a status move is `LeadStatusChanged`, which amoCRM sends under
/// `leads[status]`; an edit that also moves gives both `update` and `status`).
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    LeadAdded(Lead),
    LeadUpdated(Lead),
    LeadStatusChanged {
        lead: Lead,
        old_status_id: u64,
        old_pipeline_id: u64,
    },
    LeadResponsibleChanged {
        lead: Lead,
        old_responsible_user_id: u64,
    },
    /// Deletes carry only ids.
    LeadDeleted {
        id: u64,
        status_id: u64,
        pipeline_id: u64,
    },
    LeadRestored(Lead),
    ContactAdded(Contact),
    ContactUpdated(Contact),
    ContactResponsibleChanged {
        contact: Contact,
        old_responsible_user_id: u64,
    },
    ContactDeleted {
        id: u64,
    },
    ContactRestored(Contact),
    CompanyAdded(Company),
    CompanyUpdated(Company),
    CompanyDeleted {
        id: u64,
    },
    NoteAdded(Note),
    UnsortedAdded(Unsorted),
    UnsortedDeleted {
        unsorted: Unsorted,
        resolution: UnsortedResolution,
        modified_user_id: u64,
    },
    MessageAdded(Message),
    TalkAdded(Talk),
    TalkUpdated(Talk),
    TaskAdded(Task),
    TaskUpdated(Task),
    TaskResponsibleChanged {
        task: Task,
        old_responsible_user_id: u64,
    },
    TaskDeleted {
        id: u64,
    },
    CompanyResponsibleChanged {
        company: Company,
        old_responsible_user_id: u64,
    },
}

impl Change {
    /// The webhook `settings` code that subscribes to this change.
    pub fn setting_code(&self) -> &'static str {
        match self {
            Change::LeadAdded(_) => "add_lead",
            Change::LeadUpdated(_) => "update_lead",
            Change::LeadStatusChanged { .. } => "status_lead",
            Change::LeadResponsibleChanged { .. } => "responsible_lead",
            Change::LeadDeleted { .. } => "delete_lead",
            Change::LeadRestored(_) => "restore_lead",
            Change::ContactAdded(_) => "add_contact",
            Change::ContactUpdated(_) => "update_contact",
            Change::ContactResponsibleChanged { .. } => "responsible_contact",
            Change::ContactDeleted { .. } => "delete_contact",
            Change::ContactRestored(_) => "restore_contact",
            Change::CompanyAdded(_) => "add_company",
            Change::CompanyUpdated(_) => "update_company",
            Change::CompanyDeleted { .. } => "delete_company",
            Change::NoteAdded(n) => match n.parent {
                NoteParent::Lead => "note_lead",
                NoteParent::Contact => "note_contact",
                NoteParent::Company => "note_company",
            },
            Change::UnsortedAdded(_) => "add_unsorted",
            // amocrm.md lists no `delete_unsorted`; real accounts offer only
            // `add_unsorted` for the unsorted queue, so an accepted or
            // declined request goes to the hooks subscribed to `add_unsorted`.
            Change::UnsortedDeleted { .. } => "add_unsorted",
            Change::MessageAdded(_) => "add_message",
            Change::TalkAdded(_) => "add_talk",
            Change::TalkUpdated(_) => "update_talk",
            Change::TaskAdded(_) => "add_task",
            Change::TaskUpdated(_) => "update_task",
            Change::TaskResponsibleChanged { .. } => "responsible_task",
            Change::TaskDeleted { .. } => "delete_task",
            Change::CompanyResponsibleChanged { .. } => "responsible_company",
        }
    }
}

/// Every settings code the emulated account accepts for `POST /api/v4/webhooks`
/// (amocrm.md §1); other codes in a registration are dropped.
pub const WEBHOOK_SETTINGS: &[&str] = &[
    "add_lead",
    "update_lead",
    "delete_lead",
    "restore_lead",
    "status_lead",
    "responsible_lead",
    "note_lead",
    "add_contact",
    "update_contact",
    "delete_contact",
    "restore_contact",
    "responsible_contact",
    "note_contact",
    "add_company",
    "update_company",
    "delete_company",
    "restore_company",
    "responsible_company",
    "note_company",
    "add_task",
    "update_task",
    "delete_task",
    "responsible_task",
    "add_talk",
    "update_talk",
    "add_message",
    "add_unsorted",
];
