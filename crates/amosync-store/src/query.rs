//! Query inputs and results (funnel, leads, contacts, chats, status).

use amo::models::{Pipeline, User};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::model::{
    AccountBinding, ChatMessage, CompanyRecord, ContactRecord, LeadRecord, NoteRecord,
    StatusChange, SyncState, TalkRecord,
};

/// A closed-open range of unix seconds `[from, to)`; either end optional.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TimeRange {
    /// Inclusive start.
    pub from: Option<i64>,
    /// Exclusive end.
    pub to: Option<i64>,
}

/// Which funnel to compute.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FunnelQuery {
    /// The pipeline.
    pub pipeline_id: u64,
    /// Only leads created in this range.
    pub created: Option<TimeRange>,
    /// Only leads closed (won/lost) in this range; open leads are then left out.
    pub closed: Option<TimeRange>,
    /// Only leads of these responsible users (empty = all).
    pub responsible_user_ids: Vec<u64>,
    /// Also compute the median time in each status from the history (slower).
    pub with_time_in_status: bool,
}

/// Open, won (142) or lost (143).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum StatusKind {
    /// A working status.
    Open,
    /// 142.
    Won,
    /// 143.
    Lost,
}

/// One status row of a funnel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct FunnelStatus {
    /// Status id.
    pub status_id: u64,
    /// Name (Cyrillic kept as is).
    pub name: String,
    /// `#rrggbb`.
    pub color: String,
    /// Sort order in the pipeline.
    pub sort: i64,
    /// Open / won / lost.
    pub kind: StatusKind,
    /// Leads currently in the status (not deleted).
    pub count: u64,
    /// Sum of their prices.
    pub price_sum: i64,
    /// Leads that reached this status or went further (open statuses): leads
    /// now in it or a later open status, every won lead, and lost leads whose
    /// last open status was this one or later (a lost lead whose last open
    /// status is unknown counts only at the first status). For the won and
    /// lost rows: their `count`.
    pub reached: u64,
    /// `reached(next open status) / reached(this)`; `None` for the last open status, won, lost, or 0 reached.
    pub conversion_to_next: Option<f64>,
    /// `won / reached(this)`; `None` for won/lost or 0 reached.
    pub conversion_to_won: Option<f64>,
    /// Median seconds a lead stayed in this status (only `with_time_in_status`;
    /// open statuses only). Counts finished stays only, from entering the
    /// status to the lead's next move in the history; leads still in the
    /// status are left out. `None` when no stay finished.
    pub median_seconds_in_status: Option<i64>,
}

/// A pipeline's funnel. Statuses in pipeline order, won and lost included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Funnel {
    /// Pipeline id.
    pub pipeline_id: u64,
    /// Pipeline name.
    pub pipeline_name: String,
    /// Every status, in `sort` order, 142 and 143 last.
    pub statuses: Vec<FunnelStatus>,
    /// Leads in the funnel (all statuses).
    pub total_count: u64,
    /// Their price sum.
    pub total_price: i64,
    /// Leads in open statuses.
    pub open_count: u64,
    /// Won leads (142).
    pub won_count: u64,
    /// Won money.
    pub won_price: i64,
    /// Lost leads (143).
    pub lost_count: u64,
    /// Lost money.
    pub lost_price: i64,
    /// `won / (won + lost)`, `None` when nothing is closed.
    pub win_rate: Option<f64>,
}

/// Lead list order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum LeadsOrder {
    /// Newest `updated_at` first (default).
    #[default]
    UpdatedDesc,
    /// Newest `created_at` first.
    CreatedDesc,
    /// By id ascending.
    IdAsc,
    /// Highest price first.
    PriceDesc,
}

/// Which leads to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LeadsQuery {
    /// Case-insensitive text: lead name, tag, or a linked contact's name,
    /// phone (digits compared) or email.
    pub search: Option<String>,
    /// Only this pipeline.
    pub pipeline_id: Option<u64>,
    /// Only this status (with `pipeline_id`).
    pub status_id: Option<u64>,
    /// Only these responsible users (empty = all).
    pub responsible_user_ids: Vec<u64>,
    /// Only leads created in this range.
    pub created: Option<TimeRange>,
    /// Only leads closed (won/lost) in this range; open leads are then left
    /// out (the rule of [`FunnelQuery::closed`]).
    #[serde(default)]
    pub closed: Option<TimeRange>,
    /// Include tombstoned leads.
    pub include_deleted: bool,
    /// Order.
    pub order: LeadsOrder,
    /// Skip this many.
    pub offset: usize,
    /// At most this many (default 100, max 100 000).
    pub limit: Option<usize>,
}

/// Which contacts to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ContactsQuery {
    /// Case-insensitive name/phone/email text.
    pub search: Option<String>,
    /// Include tombstoned contacts.
    pub include_deleted: bool,
    /// Skip this many.
    pub offset: usize,
    /// At most this many (default 100).
    pub limit: Option<usize>,
}

/// Which talks to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TalksQuery {
    /// Only talks of this lead.
    pub lead_id: Option<u64>,
    /// Only this channel (`origin`).
    pub origin: Option<String>,
    /// Only unread.
    pub unread_only: bool,
    /// At most this many (default 100).
    pub limit: Option<usize>,
}

/// A page of results with the total that matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// Matches before offset/limit.
    pub total: usize,
    /// This page.
    pub items: Vec<T>,
}

/// A lead with everything linked to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadDetail {
    /// The lead.
    pub lead: LeadRecord,
    /// Linked contacts (main first).
    pub contacts: Vec<ContactRecord>,
    /// Linked companies.
    pub companies: Vec<CompanyRecord>,
    /// Notes, oldest first.
    pub notes: Vec<NoteRecord>,
    /// Talks, newest activity first.
    pub talks: Vec<TalkRecord>,
    /// Status history, oldest first.
    pub history: Vec<StatusChange>,
    /// Chat messages of its talks, oldest first.
    pub messages: Vec<ChatMessage>,
}

/// A contact with its leads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactDetail {
    /// The contact.
    pub contact: ContactRecord,
    /// Leads linked to it (not deleted), newest `updated_at` first.
    pub leads: Vec<LeadRecord>,
    /// Notes, oldest first.
    pub notes: Vec<NoteRecord>,
    /// Talks of the contact, newest activity first.
    pub talks: Vec<TalkRecord>,
}

/// Talks per channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ChannelCount {
    /// Channel (`origin`).
    pub origin: String,
    /// Talks.
    pub talks: u64,
    /// Unread talks.
    pub unread: u64,
    /// Talks in work.
    pub in_work: u64,
}

/// Chat activity summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatActivity {
    /// Talks by last message, newest first.
    pub talks: Vec<TalkRecord>,
    /// Counts per channel.
    pub channels: Vec<ChannelCount>,
    /// Unread talks.
    pub unread: u64,
    /// In-work talks.
    pub in_work: u64,
    /// Talks whose reply deadline was missed.
    pub missed: u64,
}

/// What the store holds (`amosync status`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreStatus {
    /// Schema version of the file.
    pub schema_version: u32,
    /// The bound account, if connected.
    pub account: Option<AccountBinding>,
    /// Sync bookkeeping.
    pub sync: SyncState,
    /// Live (not deleted) leads.
    pub leads: u64,
    /// Tombstoned leads.
    pub deleted_leads: u64,
    /// Live contacts.
    pub contacts: u64,
    /// Live companies.
    pub companies: u64,
    /// Talks.
    pub talks: u64,
    /// Chat messages.
    pub messages: u64,
    /// Notes.
    pub notes: u64,
    /// Status changes in the history.
    pub status_changes: u64,
    /// Event log entries.
    pub events_logged: u64,
    /// Event log entries not applied yet.
    pub events_pending: u64,
    /// Bytes of the event log's entries (keys and values, before redb's
    /// page overhead).
    #[serde(default)]
    pub events_bytes: u64,
    /// Pipelines.
    pub pipelines: Vec<Pipeline>,
    /// Users.
    pub users: Vec<User>,
}
