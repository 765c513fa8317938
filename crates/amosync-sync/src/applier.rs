//! The applier: logged webhook bodies → typed events → store mutations.
//!
//! *Pure planning* ([`plan_payload`], and the `*_from_webhook` builders that
//! merge a webhook's fields over the stored record) is separate from the
//! *thin execution* ([`apply_pending`]): read a batch of pending log entries,
//! plan each, and apply every mutation **and** mark every entry's outcome in
//! one write transaction per [`APPLY_TX_ENTRIES`] entries. A crash before a
//! commit leaves its entries unmarked, so the next start re-applies exactly
//! those; every mutation is idempotent under the store's newest-wins rule,
//! so re-applying is harmless.
//!
//! Those transactions are **relaxed** (committed without fsync,
//! [`Store::write_relaxed`]): the event log is the durable record of every
//! acknowledged webhook, so the applier's commits need not be. A crash may
//! lose the applier's commits since the file's last durable commit; the
//! entries they marked are then still pending in the log and are replayed at
//! the next start (see [`apply_pending`]). This keeps the applier's commits
//! cheap and short, and off the webhooks' ack path, which shares redb's
//! single writer with it.
//!
//! Webhook-built records are stored with [`Origin::Webhook`]: a hint. The
//! ids they touch are handed to the fetcher, which confirms them by an API
//! read ([`Origin::Api`] wins on equal `updated_at`).
//!
//! Timestamps: amoCRM's own clock is used wherever the payload carries one
//! (`updated_at`, else `last_modified`). A delete carries none, so a
//! webhook delete tombstones at the stored version's `updated_at` (never
//! later than the real deletion; any newer version still wins), or at 0
//! for a lead never seen; the fetcher then reads the trash and stores the
//! real deletion time.

use std::collections::BTreeSet;

use amo::models::{
    Company, Contact, CustomFieldValues, FieldValue, Lead, LeadEmbedded, Note, NoteParams,
    StatusKey, Tag, Talk,
};
use amo::webhook::events::{
    ContactAction, ContactEvent, ContactKind, CustomField, CustomFieldValue, LeadAction, LeadEvent,
    MessageEvent, NoteEvent, NoteParent, TalkEvent,
};
use amo::webhook::{DecodeLimits, WebhookEvent, WebhookPayload};
use amosync_store::{
    ChatMessage, Direction, EventOutcome, LoggedEvent, NoteEntity, Origin, StatusChange, Store,
    StoreError, StoreResult, WriteTx,
};
use serde_json::{Map, Value};

use crate::receiver::{BoundAccount, account_matches};

/// Ids to confirm by an API read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touched {
    /// Lead ids.
    pub leads: BTreeSet<u64>,
    /// Contact ids.
    pub contacts: BTreeSet<u64>,
    /// Company ids.
    pub companies: BTreeSet<u64>,
    /// Talk ids.
    pub talks: BTreeSet<u64>,
}

impl Touched {
    /// Nothing to confirm.
    pub fn is_empty(&self) -> bool {
        self.leads.is_empty()
            && self.contacts.is_empty()
            && self.companies.is_empty()
            && self.talks.is_empty()
    }

    /// How many ids in all.
    pub fn len(&self) -> usize {
        self.leads.len() + self.contacts.len() + self.companies.len() + self.talks.len()
    }

    /// Adds every id of `other`.
    pub fn merge(&mut self, other: Touched) {
        self.leads.extend(other.leads);
        self.contacts.extend(other.contacts);
        self.companies.extend(other.companies);
        self.talks.extend(other.talks);
    }
}

/// One store mutation planned from a webhook event.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Merge the webhook lead over the stored one and upsert it; for
    /// `status` (and `add`) also record the status move.
    Lead {
        /// The action.
        action: LeadAction,
        /// The webhook's fields.
        lead: LeadEvent,
        /// Unix seconds of the change (amoCRM's clock, else receipt).
        at: i64,
    },
    /// Tombstone a lead.
    DeleteLead {
        /// Lead id.
        id: u64,
    },
    /// Revive a lead, then upsert the webhook version.
    RestoreLead {
        /// The webhook's fields.
        lead: LeadEvent,
        /// Unix seconds of the restore.
        at: i64,
    },
    /// Merge and upsert a contact.
    Contact(ContactEvent),
    /// Tombstone a contact.
    DeleteContact {
        /// Contact id.
        id: u64,
    },
    /// Revive a contact.
    RestoreContact {
        /// The webhook's fields.
        contact: ContactEvent,
        /// Unix seconds of the restore.
        at: i64,
    },
    /// Merge and upsert a company.
    Company(ContactEvent),
    /// Revive a company, then upsert the webhook version.
    RestoreCompany {
        /// The webhook's fields.
        company: ContactEvent,
        /// Unix seconds of the restore.
        at: i64,
    },
    /// Tombstone a company at `at` (the webhook's time), or, when the
    /// webhook carried none, at the version held (never later).
    DeleteCompany {
        /// Company id.
        id: u64,
        /// Unix seconds, when the webhook said.
        at: Option<i64>,
    },
    /// Upsert a note on an entity of `entity`'s type.
    Note {
        /// The note.
        note: Box<Note>,
        /// What it is attached to: the webhook's `element_type`, else the
        /// key it came under (`leads[note]`, `contacts[note]`, …).
        entity: NoteEntity,
    },
    /// Record a chat message.
    Message(ChatMessage),
    /// Merge and upsert a talk.
    Talk(TalkEvent),
}

/// What one logged body turns into.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// Mutations, in body order.
    pub ops: Vec<Op>,
    /// Ids for the fetcher.
    pub touched: Touched,
    /// Typed events in the body (the outcome's count).
    pub events: u32,
    /// What the body held that could not be typed (the outcome's anomalies).
    pub untyped: Vec<String>,
}

/// Most lines of untyped parts an event log entry's outcome lists.
pub const UNTYPED_LINES: usize = 32;

/// `updated_at`, else `last_modified`.
fn lead_time(l: &LeadEvent) -> Option<i64> {
    l.updated_at.or(l.last_modified)
}

fn contact_time(c: &ContactEvent) -> Option<i64> {
    c.updated_at.or(c.last_modified)
}

/// Plans the mutations of one decoded body (pure).
pub fn plan_payload(payload: &WebhookPayload, received_at_ms: i64) -> Plan {
    let received_s = received_at_ms.div_euclid(1000);
    let mut plan = Plan {
        events: u32::try_from(payload.events.len()).unwrap_or(u32::MAX),
        ..Plan::default()
    };
    // Times are capped at receipt (+ skew): a body cannot date itself later
    // than amoCRM could have sent it (`hint_times`).
    let latest = crate::hint_times::latest_time_s(received_at_ms);
    for event in &payload.events {
        plan_event(
            &crate::hint_times::capped(event, latest),
            received_s,
            &mut plan,
        );
    }
    // Entities that failed to type: at least confirm them by id.
    for e in &payload.errors {
        if let Some(id) = e.entity_id {
            match (e.entity.as_str(), e.action.as_str()) {
                (_, "note") => {}
                ("leads", _) => {
                    plan.touched.leads.insert(id);
                }
                ("contacts", _) => {
                    plan.touched.contacts.insert(id);
                }
                ("companies", _) => {
                    plan.touched.companies.insert(id);
                }
                ("talk", _) => {
                    plan.touched.talks.insert(id);
                }
                _ => {}
            }
        }
    }
    crate::talk_reads::cap_body_talks(&mut plan.touched.talks);
    if plan.touched.talks.len() == crate::talk_reads::TALK_READS_PER_BODY {
        tracing::debug!(
            cap = crate::talk_reads::TALK_READS_PER_BODY,
            "a body names more talks than one body may have read; the rest wait for catch-up"
        );
    }
    plan
}

fn plan_event(event: &WebhookEvent, received_s: i64, plan: &mut Plan) {
    match event {
        WebhookEvent::Lead { action, lead } => {
            plan.touched.leads.insert(lead.id);
            let at = lead_time(lead).unwrap_or(received_s);
            plan.ops.push(match action {
                LeadAction::Delete => Op::DeleteLead { id: lead.id },
                LeadAction::Restore => Op::RestoreLead {
                    lead: lead.clone(),
                    at,
                },
                _ => Op::Lead {
                    action: *action,
                    lead: lead.clone(),
                    at,
                },
            });
        }
        WebhookEvent::Contact { action, contact } => {
            let at = contact_time(contact).unwrap_or(received_s);
            match contact.kind {
                ContactKind::Contact => {
                    plan.touched.contacts.insert(contact.id);
                    plan.ops.push(match action {
                        ContactAction::Delete => Op::DeleteContact { id: contact.id },
                        ContactAction::Restore => Op::RestoreContact {
                            contact: contact.clone(),
                            at,
                        },
                        _ => Op::Contact(contact.clone()),
                    });
                }
                ContactKind::Company => {
                    plan.touched.companies.insert(contact.id);
                    match action {
                        ContactAction::Delete => plan.ops.push(Op::DeleteCompany {
                            id: contact.id,
                            at: contact_time(contact),
                        }),
                        ContactAction::Restore => plan.ops.push(Op::RestoreCompany {
                            company: contact.clone(),
                            at,
                        }),
                        _ => plan.ops.push(Op::Company(contact.clone())),
                    }
                }
            }
        }
        WebhookEvent::Note { parent, note } => {
            plan.ops.push(Op::Note {
                note: Box::new(note_from_webhook(note)),
                entity: note_entity(*parent, note),
            });
        }
        WebhookEvent::Message { message } => {
            if let Some(talk) = message.talk_id {
                plan.touched.talks.insert(talk);
            }
            plan.ops
                .push(Op::Message(message_from_webhook(message, received_s)));
        }
        WebhookEvent::Talk { talk, .. } => {
            // Beyond a body's share of talks, not applied (`talk_reads`).
            if crate::talk_reads::admit_talk(&mut plan.touched.talks, talk.talk_id) {
                plan.ops.push(Op::Talk(talk.clone()));
            }
        }
        WebhookEvent::UnsortedAdd { unsorted } | WebhookEvent::UnsortedUpdate { unsorted } => {
            if let Some(id) = unsorted.lead_id {
                plan.touched.leads.insert(id);
            }
            plan.touched.contacts.extend(unsorted.contact_ids());
        }
        WebhookEvent::UnsortedDelete { unsorted } => {
            plan.touched.leads.extend(unsorted.result_lead_ids());
        }
        WebhookEvent::Task { .. } | WebhookEvent::Unknown { .. } => {}
    }
}

/// A lead with only its id (the base when nothing is stored).
fn empty_lead(id: u64) -> Lead {
    // Every other field has a serde default.
    serde_json::from_value(serde_json::json!({ "id": id }))
        .expect("a lead with only an id always deserializes")
}

fn tags_from_webhook(tags: &[amo::webhook::events::Tag]) -> Vec<Tag> {
    tags.iter()
        .map(|t| Tag {
            id: t.id.unwrap_or(0),
            name: t.name.clone().unwrap_or_default(),
            color: None,
            extra: Map::new(),
        })
        .collect()
}

/// Webhook custom fields in API v4 shape (`None` when there are none).
pub fn custom_fields_from_webhook(fields: &[CustomField]) -> Option<Vec<CustomFieldValues>> {
    if fields.is_empty() {
        return None;
    }
    Some(
        fields
            .iter()
            .map(|f| CustomFieldValues {
                field_id: f.id.unwrap_or(0),
                field_name: f.name.clone(),
                field_code: f.code.clone(),
                field_type: None,
                values: f
                    .values
                    .iter()
                    .map(|v| {
                        let (value, code) = match v {
                            CustomFieldValue::Plain(s) => (Some(s.clone()), None),
                            CustomFieldValue::Item(item) => {
                                (item.value.clone(), item.enum_value.clone())
                            }
                        };
                        let (enum_id, enum_code) = match code {
                            Some(c) => match c.parse::<u64>() {
                                Ok(id) => (Some(id), None),
                                Err(_) => (None, Some(c)),
                            },
                            None => (None, None),
                        };
                        FieldValue {
                            value: value.map(Value::String).unwrap_or(Value::Null),
                            enum_id,
                            enum_code,
                            enum_legacy: None,
                            extra: Map::new(),
                        }
                    })
                    .collect(),
                extra: Map::new(),
            })
            .collect(),
    )
}

fn is_closed(status_id: u64) -> bool {
    status_id == amo::models::STATUS_WON || status_id == amo::models::STATUS_LOST
}

/// The lead a webhook describes, merged over the stored version (pure).
///
/// Lead webhooks other than `delete` carry the whole lead, so absent
/// `price` means 0 and the tags and custom fields sent are the lead's.
/// Fields a webhook never carries (embedded contacts and companies, loss
/// reason, score, …) are kept from the stored version.
pub fn lead_from_webhook(stored: Option<&Lead>, ev: &LeadEvent) -> Lead {
    let mut lead = stored.cloned().unwrap_or_else(|| empty_lead(ev.id));
    lead.id = ev.id;
    if let Some(name) = &ev.name {
        lead.name = name.clone();
    }
    lead.price = ev.price.unwrap_or(0);
    if let Some(v) = ev.responsible_user_id {
        lead.responsible_user_id = v;
    }
    if let Some(v) = ev.status_id {
        lead.status_id = v;
    }
    if let Some(v) = ev.pipeline_id {
        lead.pipeline_id = v;
    }
    if let Some(v) = ev.created_user_id {
        lead.created_by = v;
    }
    if let Some(v) = ev.modified_user_id {
        lead.updated_by = v;
    }
    if let Some(v) = ev.created_at.or(ev.date_create) {
        lead.created_at = v;
    }
    if let Some(v) = lead_time(ev) {
        lead.updated_at = v;
    }
    if let Some(v) = ev.account_id {
        lead.account_id = v;
    }
    lead.is_deleted = false;
    if is_closed(lead.status_id) {
        if lead.closed_at.is_none() {
            lead.closed_at = Some(lead.updated_at);
        }
    } else {
        lead.closed_at = None;
    }
    lead.custom_fields_values = custom_fields_from_webhook(&ev.custom_fields);
    let embedded = lead.embedded.get_or_insert_with(LeadEmbedded::default);
    embedded.tags = tags_from_webhook(&ev.tags);
    lead
}

/// The status move a lead webhook reports, if any (pure). `stored` is the
/// lead before this event.
pub fn status_change_from_webhook(
    stored: Option<&Lead>,
    action: LeadAction,
    ev: &LeadEvent,
    at: i64,
) -> Option<StatusChange> {
    let to = StatusKey {
        pipeline_id: ev.pipeline_id.or(stored.map(|l| l.pipeline_id))?,
        status_id: ev.status_id?,
    };
    let from = match (ev.old_status_id, stored) {
        (Some(old), _) => Some(StatusKey {
            pipeline_id: ev
                .old_pipeline_id
                .or(stored.map(|l| l.pipeline_id).filter(|p| *p != 0))
                .unwrap_or(to.pipeline_id),
            status_id: old,
        }),
        (None, Some(s)) if s.status_id != 0 => Some(s.status_key()),
        _ => None,
    };
    match action {
        LeadAction::Status => {}
        // The first status of a new lead.
        LeadAction::Add => {
            return Some(StatusChange {
                lead_id: ev.id,
                at: ev.created_at.or(ev.date_create).unwrap_or(at),
                from: None,
                to,
                by: ev.created_user_id.or(ev.modified_user_id),
            });
        }
        _ => return None,
    }
    if from == Some(to) {
        return None;
    }
    Some(StatusChange {
        lead_id: ev.id,
        at,
        from,
        to,
        by: ev.modified_user_id,
    })
}

/// Writes what a `contacts[…]` webhook event carries over a contact or a
/// company (the two share these field names); what it does not carry is kept.
macro_rules! overlay_contact_event {
    ($c:ident, $ev:ident) => {{
        $c.id = $ev.id;
        if let Some(name) = &$ev.name {
            $c.name = name.clone();
        }
        if let Some(v) = $ev.responsible_user_id {
            $c.responsible_user_id = v;
        }
        if let Some(v) = $ev.created_user_id {
            $c.created_by = v;
        }
        if let Some(v) = $ev.modified_user_id {
            $c.updated_by = v;
        }
        if let Some(v) = $ev.created_at.or($ev.date_create) {
            $c.created_at = v;
        }
        if let Some(v) = contact_time($ev) {
            $c.updated_at = v;
        }
        if let Some(v) = $ev.account_id {
            $c.account_id = v;
        }
        $c.is_deleted = None;
        $c.custom_fields_values = custom_fields_from_webhook(&$ev.custom_fields);
        let embedded = $c.embedded.get_or_insert_with(Default::default);
        embedded.tags = tags_from_webhook(&$ev.tags);
    }};
}

fn empty_contact(id: u64) -> Contact {
    serde_json::from_value(serde_json::json!({ "id": id }))
        .expect("a contact with only an id always deserializes")
}

/// The contact a webhook describes, merged over the stored version (pure).
pub fn contact_from_webhook(stored: Option<&Contact>, ev: &ContactEvent) -> Contact {
    let mut c = stored.cloned().unwrap_or_else(|| empty_contact(ev.id));
    overlay_contact_event!(c, ev);
    c
}

/// The company a `contacts[…]` event of type `company` describes, merged
/// over the stored version (pure): what webhooks never carry (linked leads
/// and contacts, fields of other integrations) is kept.
pub fn merge_company_from_webhook(stored: Option<&Company>, ev: &ContactEvent) -> Company {
    let Some(stored) = stored else {
        return company_from_webhook(ev);
    };
    let mut c = stored.clone();
    overlay_contact_event!(c, ev);
    c
}

/// The company a `contacts[…]` event of type `company` describes (pure).
pub fn company_from_webhook(ev: &ContactEvent) -> Company {
    let mut c: Company = serde_json::from_value(serde_json::json!({ "id": ev.id }))
        .expect("a company with only an id always deserializes");
    c.name = ev.name.clone().unwrap_or_default();
    c.responsible_user_id = ev.responsible_user_id.unwrap_or(0);
    c.created_by = ev.created_user_id.unwrap_or(0);
    c.updated_by = ev.modified_user_id.unwrap_or(0);
    c.created_at = ev.created_at.or(ev.date_create).unwrap_or(0);
    c.updated_at = contact_time(ev).unwrap_or(0);
    c.account_id = ev.account_id.unwrap_or(0);
    c.custom_fields_values = custom_fields_from_webhook(&ev.custom_fields);
    if !ev.tags.is_empty() {
        c.embedded = Some(amo::models::CompanyEmbedded {
            tags: tags_from_webhook(&ev.tags),
            ..Default::default()
        });
    }
    c
}

/// API v4 name of a webhook's numeric `note_type`.
pub fn note_type_name(code: Option<u64>) -> String {
    match code {
        Some(4) | None => "common".into(),
        Some(10) => "call_in".into(),
        Some(11) => "call_out".into(),
        Some(24) => "geolocation".into(),
        Some(25) => "service_message".into(),
        Some(102) => "sms_in".into(),
        Some(103) => "sms_out".into(),
        Some(other) => other.to_string(),
    }
}

/// What a webhook note is attached to (pure): its `element_type` when that
/// names a known type, else the key it came under.
pub fn note_entity(parent: NoteParent, ev: &NoteEvent) -> NoteEntity {
    ev.element_type
        .and_then(NoteEntity::from_element_type)
        .unwrap_or(match parent {
            NoteParent::Lead => NoteEntity::Lead,
            NoteParent::Contact => NoteEntity::Contact,
            NoteParent::Company => NoteEntity::Company,
        })
}

/// The note a webhook describes (pure).
pub fn note_from_webhook(ev: &NoteEvent) -> Note {
    let created = ev
        .created_at
        .or(ev.date_create.as_ref().and_then(|d| d.unix))
        .unwrap_or(0);
    let updated = ev
        .updated_at
        .or(ev.timestamp_x.as_ref().and_then(|d| d.unix))
        .unwrap_or(created);
    Note {
        id: ev.id,
        entity_id: ev.element_id.unwrap_or(0),
        created_by: ev.created_by.unwrap_or(0),
        updated_by: ev.modified_by.unwrap_or(0),
        created_at: created,
        updated_at: updated,
        responsible_user_id: ev.main_user_id.unwrap_or(0),
        group_id: ev.group_id.unwrap_or(0),
        note_type: note_type_name(ev.note_type),
        params: NoteParams {
            text: ev.text.clone(),
            extra: Map::new(),
        },
        account_id: ev.account_id.unwrap_or(0),
        links: None,
        extra: Map::new(),
    }
}

/// The chat message a `message[add]` webhook describes (pure).
pub fn message_from_webhook(ev: &MessageEvent, received_s: i64) -> ChatMessage {
    let on_lead = ev.entity_type.as_deref() == Some("lead") || ev.element_type == Some(2);
    ChatMessage {
        id: ev.id.clone(),
        talk_id: ev.talk_id,
        chat_id: ev.chat_id.clone(),
        contact_id: ev.contact_id,
        lead_id: if on_lead {
            ev.entity_id.or(ev.element_id)
        } else {
            None
        },
        direction: if ev.direction.as_deref() == Some("outgoing") {
            Direction::Outgoing
        } else {
            Direction::Incoming
        },
        origin: ev.origin.clone(),
        text: ev.text.clone(),
        author_name: ev.author.as_ref().and_then(|a| a.name.clone()),
        created_at: ev.created_at.unwrap_or(received_s),
    }
}

/// The talk a webhook describes, merged over the stored version (pure).
pub fn talk_from_webhook(stored: Option<&Talk>, ev: &TalkEvent) -> Talk {
    let mut t = stored.cloned().unwrap_or_else(|| {
        serde_json::from_value(serde_json::json!({ "talk_id": ev.talk_id }))
            .expect("a talk with only an id always deserializes")
    });
    t.talk_id = ev.talk_id;
    if let Some(v) = &ev.chat_id {
        t.chat_id = v.clone();
    }
    if ev.contact_id.is_some() {
        t.contact_id = ev.contact_id;
    }
    if ev.entity_id.is_some() {
        t.entity_id = ev.entity_id;
    }
    if ev.entity_type.is_some() {
        t.entity_type = ev.entity_type.clone();
    }
    if ev.origin.is_some() {
        t.origin = ev.origin.clone();
    }
    if let Some(v) = ev.is_read {
        t.is_read = v;
    }
    if let Some(v) = ev.is_in_work {
        t.is_in_work = v;
    }
    if ev.rate.is_some() {
        t.rate = ev.rate;
    }
    if let Some(v) = ev.created_at {
        t.created_at = v;
    }
    if let Some(v) = ev.updated_at {
        t.updated_at = v;
    } else if t.updated_at == 0 {
        t.updated_at = t.created_at;
    }
    t
}

/// Applies one plan inside a write transaction (the thin executor).
pub fn execute(tx: &mut WriteTx<'_>, plan: &Plan) -> StoreResult<()> {
    for op in &plan.ops {
        match op {
            Op::Lead { action, lead, at } => {
                let stored = tx.lead(lead.id)?.map(|r| r.lead);
                if let Some(change) =
                    status_change_from_webhook(stored.as_ref(), *action, lead, *at)
                {
                    tx.record_status_hint(&change)?;
                }
                let merged = lead_from_webhook(stored.as_ref(), lead);
                tx.upsert_lead(&merged, Origin::Webhook)?;
            }
            Op::DeleteLead { id } => {
                let at = tx.lead(*id)?.map_or(0, |r| r.lead.updated_at);
                tx.delete_lead(*id, at)?;
            }
            Op::RestoreLead { lead, at } => {
                tx.restore_lead(lead.id, *at)?;
                let stored = tx.lead(lead.id)?.map(|r| r.lead);
                let merged = lead_from_webhook(stored.as_ref(), lead);
                tx.upsert_lead(&merged, Origin::Webhook)?;
            }
            Op::Contact(ev) => {
                let stored = tx.contact(ev.id)?.map(|r| r.contact);
                tx.upsert_contact(&contact_from_webhook(stored.as_ref(), ev), Origin::Webhook)?;
            }
            Op::DeleteContact { id } => {
                let at = tx.contact(*id)?.map_or(0, |r| r.contact.updated_at);
                tx.delete_contact(*id, at)?;
            }
            Op::RestoreContact { contact, at } => {
                tx.restore_contact(contact.id, *at)?;
                let stored = tx.contact(contact.id)?.map(|r| r.contact);
                tx.upsert_contact(
                    &contact_from_webhook(stored.as_ref(), contact),
                    Origin::Webhook,
                )?;
            }
            Op::Company(ev) => {
                let stored = tx.company(ev.id)?.map(|r| r.company);
                tx.upsert_company(
                    &merge_company_from_webhook(stored.as_ref(), ev),
                    Origin::Webhook,
                )?;
            }
            Op::RestoreCompany { company, at } => {
                tx.restore_company(company.id, *at)?;
                let stored = tx.company(company.id)?.map(|r| r.company);
                tx.upsert_company(
                    &merge_company_from_webhook(stored.as_ref(), company),
                    Origin::Webhook,
                )?;
            }
            Op::DeleteCompany { id, at } => {
                // Without a time, like leads and contacts: the version we
                // hold, so a later API read of a live company still wins
                // (a late duplicate of the delete must not stick).
                // Never later than the version held: a webhook cannot
                // outdate a version the API read.
                let held = tx.company(*id)?.map(|r| r.company.updated_at);
                let at = match (at, held) {
                    (Some(at), Some(held)) => (*at).min(held),
                    (Some(at), None) => *at,
                    (None, held) => held.unwrap_or(0),
                };
                tx.delete_company(*id, at)?;
            }
            Op::Note { note, entity } => {
                tx.upsert_note_for(note, *entity, Origin::Webhook)?;
            }
            Op::Message(m) => {
                tx.record_message_hint(m)?;
            }
            Op::Talk(ev) => {
                let stored = tx.talk(ev.talk_id)?.map(|r| r.talk);
                tx.upsert_talk(&talk_from_webhook(stored.as_ref(), ev), Origin::Webhook)?;
            }
        }
    }
    Ok(())
}

/// A logged entry after decoding: its plan, or why it is rejected.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// Apply this plan.
    Apply(Plan),
    /// Mark rejected with this outcome.
    Reject(EventOutcome),
}

/// Decodes and plans one log entry (pure). The receiver checked the body
/// already; this checks again (limits may have changed, the log may hold
/// entries from an older version).
pub fn decode_entry(entry: &LoggedEvent, account: &BoundAccount, limits: &DecodeLimits) -> Decoded {
    match amo::webhook::decode_with_limits(&entry.body, limits) {
        Err(e) => Decoded::Reject(EventOutcome::Rejected {
            code: e.code().to_owned(),
            message: e.to_string(),
        }),
        Ok(p) if !account_matches(account, &p.account) => Decoded::Reject(EventOutcome::Rejected {
            code: "other_account".into(),
            message: format!(
                "webhook for account {} ({:?}), not the bound one",
                p.account.subdomain, p.account.id
            ),
        }),
        Ok(p) => Decoded::Apply(Plan {
            untyped: p.untyped_report(UNTYPED_LINES),
            ..plan_payload(&p, entry.received_at_ms)
        }),
    }
}

/// What one [`apply_pending`] call did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApplyReport {
    /// Log entries marked (applied or rejected).
    pub entries: usize,
    /// Typed events applied.
    pub events: u64,
    /// Entries rejected.
    pub rejected: usize,
    /// Ids for the fetcher.
    pub touched: Touched,
}

fn outcome_of(decoded: &Decoded) -> EventOutcome {
    match decoded {
        Decoded::Apply(plan) if plan.untyped.is_empty() => EventOutcome::Applied {
            events: plan.events,
        },
        Decoded::Apply(plan) => EventOutcome::AppliedWithAnomalies {
            events: plan.events,
            anomalies: plan.untyped.clone(),
        },
        Decoded::Reject(o) => o.clone(),
    }
}

/// Log entries applied per write transaction by [`apply_pending`]. Small
/// enough that one transaction holds redb's single writer for a few
/// milliseconds only (the event log's durable commits, on the webhooks' ack
/// path, wait for it), large enough that commits are few.
pub const APPLY_TX_ENTRIES: usize = 64;

/// Applies up to `limit` pending log entries (blocking: call it on
/// `spawn_blocking`).
///
/// The entries are decoded and applied [`APPLY_TX_ENTRIES`] at a time, each
/// group in one write transaction that also marks the group's entries;
/// decoding happens outside the transaction. If a group's transaction fails,
/// each of its entries is retried alone, and an entry that still fails is
/// marked rejected (`apply_failed`) so it cannot block the log.
///
/// **Relaxed commits.** These transactions are committed without fsync
/// ([`Store::write_relaxed`]): the bodies are already durable in the event
/// log ([`Store::append_events`], before the webhook was answered 200), so a
/// crash that loses applier commits loses nothing: the file reopens at its
/// last durable commit, where those entries are still pending, and the next
/// start replays them (every mutation is idempotent under newest-wins).
/// Relaxed commits become durable with the next durable commit of the file
/// (the next log append, catch-up or fetcher write, heartbeat, shutdown).
pub fn apply_pending(
    store: &Store,
    account: &BoundAccount,
    limits: &DecodeLimits,
    now_ms: i64,
    limit: usize,
) -> StoreResult<ApplyReport> {
    let mut report = ApplyReport::default();
    // Read the log a window of APPLY_READ_BYTES at a time: a backlog of
    // large bodies must not be loaded 512 at once (512 MiB).
    for _window in 0..limit {
        let want = limit - report.entries;
        if want == 0 {
            break;
        }
        let entries = store.pending_events_within(want, APPLY_READ_BYTES)?;
        if entries.is_empty() {
            break;
        }
        apply_window(store, account, limits, now_ms, &entries, &mut report)?;
    }
    Ok(report)
}

/// Body bytes [`apply_pending`] reads from the log at a time (**8 MiB**:
/// hundreds of real webhooks, or 8 of the largest; the entries in memory,
/// decoded, stay within a few times that).
pub const APPLY_READ_BYTES: usize = 8 * 1024 * 1024;

fn apply_window(
    store: &Store,
    account: &BoundAccount,
    limits: &DecodeLimits,
    now_ms: i64,
    entries: &[LoggedEvent],
    report: &mut ApplyReport,
) -> StoreResult<()> {
    for group in entries.chunks(APPLY_TX_ENTRIES) {
        let decoded: Vec<(u64, i64, Decoded)> = group
            .iter()
            .map(|e| (e.seq, e.received_at_ms, decode_entry(e, account, limits)))
            .collect();
        apply_decoded(store, now_ms, &decoded)?;
        for (_, _, d) in decoded {
            report.entries += 1;
            match d {
                Decoded::Apply(plan) => {
                    report.events += u64::from(plan.events);
                    report.touched.merge(plan.touched);
                }
                Decoded::Reject(_) => report.rejected += 1,
            }
        }
    }
    Ok(())
}

/// Applies and marks decoded entries in one relaxed transaction; entry by
/// entry when that fails.
fn apply_decoded(store: &Store, now_ms: i64, decoded: &[(u64, i64, Decoded)]) -> StoreResult<()> {
    let all = store.write_relaxed(|tx| {
        tx.set_now_ms(now_ms);
        let mut last = None::<i64>;
        for (seq, received, d) in decoded {
            if let Decoded::Apply(plan) = d {
                execute(tx, plan)?;
                last = Some(last.map_or(*received, |l: i64| l.max(*received)));
            }
            tx.mark_event(*seq, &outcome_of(d))?;
        }
        if let Some(last) = last {
            tx.update_sync_state(|s| {
                s.last_webhook_at_ms = Some(s.last_webhook_at_ms.map_or(last, |x| x.max(last)));
            })?;
        }
        Ok(())
    });
    let Err(e) = all else {
        return Ok(());
    };
    tracing::warn!(error = %e, entries = decoded.len(), "applying a batch failed; retrying entry by entry");
    for (seq, received, d) in decoded {
        let one = store.write_relaxed(|tx| {
            tx.set_now_ms(now_ms);
            if let Decoded::Apply(plan) = d {
                execute(tx, plan)?;
                tx.update_sync_state(|s| {
                    s.last_webhook_at_ms =
                        Some(s.last_webhook_at_ms.map_or(*received, |x| x.max(*received)));
                })?;
            }
            tx.mark_event(*seq, &outcome_of(d))
        });
        if let Err(e) = one {
            if !matches!(e, StoreError::Record(_)) {
                // I/O, disk full, …: not the entry's fault. Leave it pending
                // (it is durable in the log) and let the applier retry later.
                return Err(e);
            }
            tracing::error!(seq, error = %e, "a logged webhook cannot be applied; marked rejected");
            let message = e.to_string();
            store.write_relaxed(|tx| {
                tx.mark_event(
                    *seq,
                    &EventOutcome::Rejected {
                        code: "apply_failed".into(),
                        message,
                    },
                )
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(body: &str) -> WebhookPayload {
        amo::webhook::decode(body.as_bytes()).expect("decodes")
    }

    fn lead_ev(id: u64) -> LeadEvent {
        LeadEvent {
            id,
            ..LeadEvent::default()
        }
    }

    #[test]
    fn planner_table() {
        let acct = "account%5Bsubdomain%5D=office&account%5Bid%5D=1";
        struct Case {
            name: &'static str,
            body: String,
            ops: Vec<&'static str>,
            leads: Vec<u64>,
            contacts: Vec<u64>,
            companies: Vec<u64>,
            talks: Vec<u64>,
        }
        let case = |name,
                    body: &str,
                    ops: Vec<&'static str>,
                    leads: Vec<u64>,
                    contacts: Vec<u64>,
                    companies: Vec<u64>,
                    talks: Vec<u64>| Case {
            name,
            body: format!("{body}&{acct}"),
            ops,
            leads,
            contacts,
            companies,
            talks,
        };
        let cases = vec![
            case(
                "lead add",
                "leads[add][0][id]=5&leads[add][0][status_id]=10&leads[add][0][pipeline_id]=2",
                vec!["lead"],
                vec![5],
                vec![],
                vec![],
                vec![],
            ),
            case(
                "lead status",
                "leads[status][0][id]=5&leads[status][0][status_id]=11&leads[status][0][old_status_id]=10",
                vec!["lead"],
                vec![5],
                vec![],
                vec![],
                vec![],
            ),
            case(
                "lead delete",
                "leads[delete][0][id]=5&leads[delete][0][status_id]=11&leads[delete][0][pipeline_id]=2",
                vec!["delete_lead"],
                vec![5],
                vec![],
                vec![],
                vec![],
            ),
            case(
                "lead restore",
                "leads[restore][0][id]=5&leads[restore][0][updated_at]=100",
                vec!["restore_lead"],
                vec![5],
                vec![],
                vec![],
                vec![],
            ),
            case(
                "two leads",
                "leads[update][0][id]=5&leads[update][1][id]=6",
                vec!["lead", "lead"],
                vec![5, 6],
                vec![],
                vec![],
                vec![],
            ),
            case(
                "contact add",
                "contacts[add][0][id]=7&contacts[add][0][type]=contact",
                vec!["contact"],
                vec![],
                vec![7],
                vec![],
                vec![],
            ),
            case(
                "contact delete",
                "contacts[delete][0][id]=7&contacts[delete][0][type]=contact",
                vec!["delete_contact"],
                vec![],
                vec![7],
                vec![],
                vec![],
            ),
            case(
                "contact restore",
                "contacts[restore][0][id]=7&contacts[restore][0][type]=contact",
                vec!["restore_contact"],
                vec![],
                vec![7],
                vec![],
                vec![],
            ),
            case(
                "company update",
                "contacts[update][0][id]=8&contacts[update][0][type]=company",
                vec!["company"],
                vec![],
                vec![],
                vec![8],
                vec![],
            ),
            case(
                "company delete",
                "contacts[delete][0][id]=8&contacts[delete][0][type]=company",
                vec!["delete_company"],
                vec![],
                vec![],
                vec![8],
                vec![],
            ),
            case(
                "company restore",
                "contacts[restore][0][id]=8&contacts[restore][0][type]=company",
                vec!["restore_company"],
                vec![],
                vec![],
                vec![8],
                vec![],
            ),
            case(
                "note",
                "leads[note][0][note][id]=9&leads[note][0][note][element_id]=5&leads[note][0][note][note_type]=4&leads[note][0][note][text]=hi",
                vec!["note"],
                vec![],
                vec![],
                vec![],
                vec![],
            ),
            case(
                "message",
                "message[add][0][id]=m-1&message[add][0][talk_id]=3&message[add][0][entity_type]=lead&message[add][0][entity_id]=5&message[add][0][text]=hello",
                vec!["message"],
                vec![],
                vec![],
                vec![],
                vec![3],
            ),
            case(
                "talk",
                "talk[update][0][talk_id]=3&talk[update][0][is_read]=1",
                vec!["talk"],
                vec![],
                vec![],
                vec![],
                vec![3],
            ),
            case(
                "unsorted add",
                "unsorted[add][0][uid]=u1&unsorted[add][0][lead_id]=5&unsorted[add][0][data][contacts][0][id]=7",
                vec![],
                vec![5],
                vec![7],
                vec![],
                vec![],
            ),
            case(
                "unsorted accept",
                "unsorted[delete][0][uid]=u1&unsorted[delete][0][action]=accept&unsorted[delete][0][accept_result][leads][0]=5",
                vec![],
                vec![5],
                vec![],
                vec![],
                vec![],
            ),
            case(
                "task ignored",
                "task[add][0][id]=1&task[add][0][text]=call",
                vec![],
                vec![],
                vec![],
                vec![],
                vec![],
            ),
            case(
                "unknown ignored",
                "customers[add][0][id]=1",
                vec![],
                vec![],
                vec![],
                vec![],
                vec![],
            ),
            case(
                "untyped lead still confirmed",
                "leads[update][0][id]=5&leads[update][0][price]=abc",
                vec![],
                vec![5],
                vec![],
                vec![],
                vec![],
            ),
        ];
        for c in cases {
            let body = c.body.replace('[', "%5B").replace(']', "%5D");
            let plan = plan_payload(&payload(&body), 1_000_000);
            let kinds: Vec<&str> = plan
                .ops
                .iter()
                .map(|op| match op {
                    Op::Lead { .. } => "lead",
                    Op::DeleteLead { .. } => "delete_lead",
                    Op::RestoreLead { .. } => "restore_lead",
                    Op::Contact(_) => "contact",
                    Op::DeleteContact { .. } => "delete_contact",
                    Op::RestoreContact { .. } => "restore_contact",
                    Op::Company(_) => "company",
                    Op::DeleteCompany { .. } => "delete_company",
                    Op::RestoreCompany { .. } => "restore_company",
                    Op::Note { .. } => "note",
                    Op::Message(_) => "message",
                    Op::Talk(_) => "talk",
                })
                .collect();
            assert_eq!(kinds, c.ops, "{}", c.name);
            let ids = |s: &BTreeSet<u64>| s.iter().copied().collect::<Vec<_>>();
            assert_eq!(ids(&plan.touched.leads), c.leads, "{} leads", c.name);
            assert_eq!(
                ids(&plan.touched.contacts),
                c.contacts,
                "{} contacts",
                c.name
            );
            assert_eq!(
                ids(&plan.touched.companies),
                c.companies,
                "{} companies",
                c.name
            );
            assert_eq!(ids(&plan.touched.talks), c.talks, "{} talks", c.name);
        }
    }

    #[test]
    fn lead_merge_keeps_what_webhooks_never_carry() {
        let mut stored = empty_lead(5);
        stored.name = "Old".into();
        stored.price = 100;
        stored.status_id = 10;
        stored.pipeline_id = 2;
        stored.updated_at = 50;
        stored.score = Some(3);
        stored.embedded = Some(LeadEmbedded {
            contacts: Some(vec![amo::models::LinkedContact {
                id: 7,
                is_main: true,
                extra: Map::new(),
            }]),
            ..LeadEmbedded::default()
        });
        let ev = LeadEvent {
            name: Some("New".into()),
            status_id: Some(142),
            last_modified: Some(60),
            ..lead_ev(5)
        };
        let merged = lead_from_webhook(Some(&stored), &ev);
        assert_eq!(merged.name, "New");
        assert_eq!(merged.price, 0, "absent price is 0 in a whole-lead webhook");
        assert_eq!(merged.status_id, 142);
        assert_eq!(merged.pipeline_id, 2, "kept");
        assert_eq!(
            merged.updated_at, 60,
            "last_modified when updated_at is absent"
        );
        assert_eq!(merged.closed_at, Some(60));
        assert_eq!(merged.score, Some(3));
        assert_eq!(merged.contact_ids(), [7]);
        let fresh = lead_from_webhook(
            None,
            &LeadEvent {
                updated_at: Some(70),
                last_modified: Some(60),
                price: Some(5),
                ..lead_ev(9)
            },
        );
        assert_eq!((fresh.id, fresh.updated_at, fresh.price), (9, 70, 5));
    }

    #[test]
    fn status_change_table() {
        let mut stored = empty_lead(5);
        stored.status_id = 10;
        stored.pipeline_id = 2;
        let key = |p, s| StatusKey {
            pipeline_id: p,
            status_id: s,
        };
        let ev = |status: Option<u64>,
                  old: Option<u64>,
                  pipe: Option<u64>,
                  old_pipe: Option<u64>| LeadEvent {
            status_id: status,
            old_status_id: old,
            pipeline_id: pipe,
            old_pipeline_id: old_pipe,
            ..lead_ev(5)
        };
        type Want = Option<(Option<StatusKey>, StatusKey)>;
        let cases: Vec<(&str, Option<&Lead>, LeadAction, LeadEvent, Want)> = vec![
            (
                "old status given",
                Some(&stored),
                LeadAction::Status,
                ev(Some(11), Some(10), Some(2), None),
                Some((Some(key(2, 10)), key(2, 11))),
            ),
            (
                "pipeline move",
                Some(&stored),
                LeadAction::Status,
                ev(Some(20), Some(10), Some(3), Some(2)),
                Some((Some(key(2, 10)), key(3, 20))),
            ),
            (
                "no old: from stored",
                Some(&stored),
                LeadAction::Status,
                ev(Some(11), None, Some(2), None),
                Some((Some(key(2, 10)), key(2, 11))),
            ),
            (
                "unknown lead, no old",
                None,
                LeadAction::Status,
                ev(Some(11), None, Some(2), None),
                Some((None, key(2, 11))),
            ),
            (
                "unknown lead, old given",
                None,
                LeadAction::Status,
                ev(Some(11), Some(10), Some(2), None),
                Some((Some(key(2, 10)), key(2, 11))),
            ),
            (
                "same status",
                Some(&stored),
                LeadAction::Status,
                ev(Some(10), None, Some(2), None),
                None,
            ),
            (
                "add: first status",
                None,
                LeadAction::Add,
                ev(Some(10), None, Some(2), None),
                Some((None, key(2, 10))),
            ),
            (
                "update: none",
                Some(&stored),
                LeadAction::Update,
                ev(Some(11), None, Some(2), None),
                None,
            ),
            (
                "no status id",
                Some(&stored),
                LeadAction::Status,
                ev(None, Some(10), Some(2), None),
                None,
            ),
        ];
        for (name, stored, action, ev, want) in cases {
            let got = status_change_from_webhook(stored, action, &ev, 77).map(|c| (c.from, c.to));
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn message_note_talk_builders() {
        let p = payload(
            "message%5Badd%5D%5B0%5D%5Bid%5D=m-1&message%5Badd%5D%5B0%5D%5Btalk_id%5D=3&message%5Badd%5D%5B0%5D%5Bentity_type%5D=lead&message%5Badd%5D%5B0%5D%5Bentity_id%5D=5&message%5Badd%5D%5B0%5D%5Btext%5D=%D0%9F%D1%80%D0%B8%D0%B2%D0%B5%D1%82&message%5Badd%5D%5B0%5D%5Bauthor%5D%5Bname%5D=Nino&account%5Bsubdomain%5D=x",
        );
        let WebhookEvent::Message { message } = &p.events[0] else {
            panic!("a message")
        };
        let m = message_from_webhook(message, 99);
        assert_eq!(m.text.as_deref(), Some("Привет"));
        assert_eq!((m.lead_id, m.talk_id, m.created_at), (Some(5), Some(3), 99));
        assert_eq!(m.direction, Direction::Incoming);
        assert_eq!(m.author_name.as_deref(), Some("Nino"));

        let note = note_from_webhook(&NoteEvent {
            id: 9,
            element_id: Some(5),
            note_type: Some(4),
            text: Some("t".into()),
            created_at: Some(10),
            ..NoteEvent::default()
        });
        assert_eq!(
            (note.entity_id, note.note_type.as_str(), note.updated_at),
            (5, "common", 10)
        );
        assert_eq!(note.text(), Some("t"));

        let stored = talk_from_webhook(
            None,
            &TalkEvent {
                talk_id: 3,
                chat_id: Some("c".into()),
                created_at: Some(5),
                ..TalkEvent::default()
            },
        );
        assert_eq!(stored.updated_at, 5);
        let updated = talk_from_webhook(
            Some(&stored),
            &TalkEvent {
                talk_id: 3,
                is_read: Some(true),
                updated_at: Some(8),
                ..TalkEvent::default()
            },
        );
        assert_eq!(
            (
                updated.chat_id.as_str(),
                updated.is_read,
                updated.updated_at
            ),
            ("c", true, 8)
        );
    }

    /// A company deleted and restored by webhooks only comes back (the
    /// store's `restore_company`), keeping the links webhooks never carry.
    #[test]
    fn company_delete_then_restore_by_webhooks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.redb")).expect("store");
        let api: Company = serde_json::from_value(serde_json::json!({
            "id": 8, "name": "ООО Ромашка", "created_at": 50, "updated_at": 100,
            "_embedded": {"tags": [], "leads": [{"id": 5}]}
        }))
        .expect("company");
        store
            .write(|tx| tx.upsert_company(&api, Origin::Api))
            .expect("seed");
        let run = |body: &str| {
            let body = format!("{body}&account[subdomain]=office&account[id]=1")
                .replace('[', "%5B")
                .replace(']', "%5D");
            let plan = plan_payload(&payload(&body), 1_000_000);
            store.write(|tx| execute(tx, &plan)).expect("execute");
            store
                .write(|tx| tx.company(8))
                .expect("read")
                .expect("stored")
        };
        let gone = run(
            "contacts[delete][0][id]=8&contacts[delete][0][type]=company&contacts[delete][0][updated_at]=150",
        );
        // At the version held, not the body's later time: a webhook cannot
        // outdate what the API read (the events API's deletion time, or the
        // API read of a live company, settles it).
        assert_eq!(gone.sync.deleted_at, Some(100));
        let back = run(
            "contacts[restore][0][id]=8&contacts[restore][0][type]=company&contacts[restore][0][updated_at]=160&contacts[restore][0][name]=ООО Ромашка",
        );
        assert_eq!(back.sync.deleted_at, None, "{back:?}");
        assert_eq!(back.company.is_deleted, None);
        assert_eq!(back.company.updated_at, 160);
        assert_eq!(back.sync.origin, Origin::Webhook);
        let leads = back.company.embedded.as_ref().and_then(|e| e.leads.clone());
        assert_eq!(leads.map(|l| l.len()), Some(1), "links kept: {back:?}");
        // An update webhook merges over the stored company too.
        let renamed = run(
            "contacts[update][0][id]=8&contacts[update][0][type]=company&contacts[update][0][updated_at]=170&contacts[update][0][name]=ООО Лютик",
        );
        assert_eq!(renamed.company.name, "ООО Лютик");
        assert_eq!(renamed.company.created_at, 50, "not reset by the webhook");
        assert!(
            renamed
                .company
                .embedded
                .as_ref()
                .is_some_and(|e| e.leads.is_some())
        );
    }
}
