//! One lead or contact with everything linked to it.

use redb::ReadTransaction;

use crate::chats::{linked, messages, talks_by_ids};
use crate::codec::from_json;
use crate::error::StoreResult;
use crate::history::lead_history;
use crate::model::{CompanyRecord, ContactRecord, LeadRecord, NoteEntity, NoteRecord};
use crate::newest::Entity;
use crate::query::{ContactDetail, LeadDetail};
use crate::tables::*;

fn get<T: serde::de::DeserializeOwned>(
    tx: &ReadTransaction,
    def: redb::TableDefinition<u64, &'static [u8]>,
    id: u64,
    what: &str,
) -> StoreResult<Option<T>> {
    match tx.open_table(def)?.get(id)? {
        Some(v) => Ok(Some(from_json(v.value(), what)?)),
        None => Ok(None),
    }
}

/// One lead as stored (tombstones and placeholders included).
pub(crate) fn lead_record(tx: &ReadTransaction, id: u64) -> StoreResult<Option<LeadRecord>> {
    get(tx, LEADS, id, "a stored lead")
}

/// Notes of an entity, oldest first: those indexed under its type, and
/// those whose type is unknown (legacy untyped notes) with the same id.
fn notes(tx: &ReadTransaction, entity_id: u64, kind: NoteEntity) -> StoreResult<Vec<NoteRecord>> {
    let t = tx.open_multimap_table(NOTES_BY_ENTITY)?;
    let mut ids = Vec::new();
    for key in [(kind.code(), entity_id), (0, entity_id)] {
        for v in t.get(key)? {
            ids.push(v?.value());
        }
    }
    let mut out: Vec<NoteRecord> = Vec::new();
    for id in ids {
        if let Some(n) = get::<NoteRecord>(tx, NOTES, id, "a stored note")? {
            out.push(n);
        }
    }
    out.sort_by_key(|n| (n.note.created_at, n.note.id));
    Ok(out)
}

/// The lead detail; `None` for unknown ids and id-only tombstones.
pub(crate) fn lead(tx: &ReadTransaction, id: u64) -> StoreResult<Option<LeadDetail>> {
    let Some(lead) = lead_record(tx, id)? else {
        return Ok(None);
    };
    if lead.sync.deleted_at.is_some() && lead.lead.is_placeholder() {
        return Ok(None);
    }
    let mut contacts = Vec::new();
    for c in lead.lead.contact_ids() {
        if let Some(r) = get::<ContactRecord>(tx, CONTACTS, c, "a stored contact")? {
            contacts.push(r);
        }
    }
    let mut companies = Vec::new();
    for c in lead.lead.company_ids() {
        if let Some(r) = get::<CompanyRecord>(tx, COMPANIES, c, "a stored company")? {
            companies.push(r);
        }
    }
    let talks = talks_by_ids(tx, linked(tx, TALKS_BY_LEAD, id)?)?;
    let mut ids: Vec<String> = Vec::new();
    let by_lead = tx.open_multimap_table(MSG_BY_LEAD)?;
    for v in by_lead.get(id)? {
        ids.push(v?.value().to_string());
    }
    let by_talk = tx.open_multimap_table(MSG_BY_TALK)?;
    for t in &talks {
        for v in by_talk.get(t.talk.talk_id)? {
            ids.push(v?.value().to_string());
        }
    }
    Ok(Some(LeadDetail {
        notes: notes(tx, id, NoteEntity::Lead)?,
        history: lead_history(tx, id)?,
        messages: messages(tx, ids)?,
        lead,
        contacts,
        companies,
        talks,
    }))
}

/// The contact detail; `None` for unknown ids and id-only tombstones.
pub(crate) fn contact(tx: &ReadTransaction, id: u64) -> StoreResult<Option<ContactDetail>> {
    let Some(contact) = get::<ContactRecord>(tx, CONTACTS, id, "a stored contact")? else {
        return Ok(None);
    };
    if contact.sync.deleted_at.is_some() && contact.contact.is_placeholder() {
        return Ok(None);
    }
    let mut lead_ids = linked(tx, CONTACT_LEADS, id)?;
    lead_ids.extend(contact.contact.lead_ids());
    lead_ids.sort_unstable();
    lead_ids.dedup();
    let mut leads = Vec::new();
    for l in lead_ids {
        if let Some(r) = lead_record(tx, l)?
            && r.sync.deleted_at.is_none()
        {
            leads.push(r);
        }
    }
    leads.sort_by_key(|l| std::cmp::Reverse((l.lead.updated_at, l.lead.id)));
    Ok(Some(ContactDetail {
        notes: notes(tx, id, NoteEntity::Contact)?,
        talks: talks_by_ids(tx, linked(tx, TALKS_BY_CONTACT, id)?)?,
        contact,
        leads,
    }))
}
