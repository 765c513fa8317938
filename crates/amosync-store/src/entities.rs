//! Contact, company and note writes (newest wins) and their indexes.

use amo::models::{Company, Contact, Note};
use redb::{ReadableTable, Table};

use crate::codec::{encode_contact_search, from_json};
use crate::error::StoreResult;
use crate::model::{CompanyRecord, ContactRecord, NoteEntity, NoteRecord, Origin};
use crate::newest::{Decision, Entity, Record, Restore, decide, restore, tombstone};
use crate::search::contact_text;
use crate::write::{Applied, WriteTx};

type JsonTable<'a> = Table<'a, u64, &'static [u8]>;

fn get<R: Record>(t: &JsonTable<'_>, id: u64) -> StoreResult<Option<R>> {
    match t.get(id)? {
        Some(v) => Ok(Some(from_json(v.value(), R::WHAT)?)),
        None => Ok(None),
    }
}

fn put<R: Record>(t: &mut JsonTable<'_>, r: &R) -> StoreResult<()> {
    let bytes = crate::codec::to_stored_json(r)?;
    t.insert(r.entity().id(), bytes.as_slice())?;
    Ok(())
}

/// Runs the newest-wins decision; returns the record to index when it changed.
fn upsert<R: Record>(
    t: &mut JsonTable<'_>,
    e: &R::E,
    origin: Origin,
    now_ms: i64,
) -> StoreResult<(Applied, Option<R>, Option<R>)> {
    let old: Option<R> = get(t, e.id())?;
    match decide(old.as_ref(), e, origin, now_ms)? {
        Decision::Write(rec, applied) => {
            put(t, &rec)?;
            Ok((applied, old, Some(rec)))
        }
        Decision::Same(Some(rec)) => {
            put(t, &rec)?;
            Ok((Applied::Unchanged, None, None))
        }
        Decision::Same(None) => Ok((Applied::Unchanged, None, None)),
        Decision::Stale => Ok((Applied::Stale, None, None)),
    }
}

impl WriteTx<'_> {
    pub(crate) fn index_contact(
        &mut self,
        id: u64,
        rec: Option<&ContactRecord>,
    ) -> StoreResult<()> {
        match rec {
            Some(r) if !(r.sync.deleted_at.is_some() && r.contact.is_placeholder()) => {
                let live = r.sync.deleted_at.is_none();
                let row =
                    encode_contact_search(r.contact.updated_at, live, &contact_text(&r.contact));
                self.t.contact_search.insert(id, row.as_slice())?;
            }
            _ => {
                self.t.contact_search.remove(id)?;
            }
        }
        Ok(())
    }

    /// A contact as stored.
    pub fn contact(&self, id: u64) -> StoreResult<Option<ContactRecord>> {
        get(&self.t.contacts, id)
    }

    /// Newest wins, like [`WriteTx::upsert_lead`].
    pub fn upsert_contact(&mut self, contact: &Contact, origin: Origin) -> StoreResult<Applied> {
        let (applied, _old, new) =
            upsert::<ContactRecord>(&mut self.t.contacts, contact, origin, self.now_ms)?;
        if let Some(new) = new {
            self.index_contact(contact.id, Some(&new))?;
        }
        Ok(applied)
    }

    /// Tombstones a contact.
    pub fn delete_contact(&mut self, id: u64, at: i64) -> StoreResult<Applied> {
        let old: Option<ContactRecord> = get(&self.t.contacts, id)?;
        let (rec, applied) = tombstone(old.as_ref(), id, at, self.now_ms)?;
        if let Some(rec) = rec {
            put(&mut self.t.contacts, &rec)?;
            self.index_contact(id, Some(&rec))?;
        }
        Ok(applied)
    }

    /// Revives a contact.
    pub fn restore_contact(&mut self, id: u64, at: i64) -> StoreResult<Applied> {
        let old: Option<ContactRecord> = get(&self.t.contacts, id)?;
        match restore(old.as_ref(), at, self.now_ms) {
            Restore::Write(rec) => {
                put(&mut self.t.contacts, &rec)?;
                self.index_contact(id, Some(&rec))?;
                Ok(Applied::Updated)
            }
            Restore::RemovePlaceholder => {
                self.t.contacts.remove(id)?;
                self.index_contact(id, None)?;
                Ok(Applied::Updated)
            }
            Restore::Nothing(a) => Ok(a),
        }
    }

    /// A company as stored (tombstones included), read inside this transaction.
    pub fn company(&self, id: u64) -> StoreResult<Option<CompanyRecord>> {
        get(&self.t.companies, id)
    }

    /// Newest wins, like [`WriteTx::upsert_lead`].
    pub fn upsert_company(&mut self, company: &Company, origin: Origin) -> StoreResult<Applied> {
        let (applied, _, _) =
            upsert::<CompanyRecord>(&mut self.t.companies, company, origin, self.now_ms)?;
        Ok(applied)
    }

    /// Tombstones a company.
    pub fn delete_company(&mut self, id: u64, at: i64) -> StoreResult<Applied> {
        let old: Option<CompanyRecord> = get(&self.t.companies, id)?;
        let (rec, applied) = tombstone(old.as_ref(), id, at, self.now_ms)?;
        if let Some(rec) = rec {
            put(&mut self.t.companies, &rec)?;
        }
        Ok(applied)
    }

    /// Revives a company restored at `at` (additive API).
    pub fn restore_company(&mut self, id: u64, at: i64) -> StoreResult<Applied> {
        let old: Option<CompanyRecord> = get(&self.t.companies, id)?;
        match restore(old.as_ref(), at, self.now_ms) {
            Restore::Write(rec) => {
                put(&mut self.t.companies, &rec)?;
                Ok(Applied::Updated)
            }
            Restore::RemovePlaceholder => {
                self.t.companies.remove(id)?;
                Ok(Applied::Updated)
            }
            Restore::Nothing(a) => Ok(a),
        }
    }

    /// Newest wins (by `updated_at`). The entity type comes from the note
    /// itself ([`NoteEntity::of`]: its `entity_type`, else its
    /// `_links.self.href`); a note that says neither is indexed as "unknown"
    /// and shown with both the lead and the contact of that id. Prefer
    /// [`WriteTx::upsert_note_for`] when the caller knows the type.
    pub fn upsert_note(&mut self, note: &Note, origin: Origin) -> StoreResult<Applied> {
        self.put_note(note, NoteEntity::of(note), origin)
    }

    /// Newest wins (by `updated_at`), for a note on `entity` (webhooks:
    /// [`NoteEntity::from_element_type`]; API reads: the endpoint). The type
    /// is stored in the note's `entity_type` (plural API name, e.g.
    /// `"leads"`) unless the note already carries one, so a rebuild of the
    /// indexes keeps it.
    pub fn upsert_note_for(
        &mut self,
        note: &Note,
        entity: NoteEntity,
        origin: Origin,
    ) -> StoreResult<Applied> {
        if note.extra.contains_key("entity_type") {
            return self.put_note(note, NoteEntity::of(note).or(Some(entity)), origin);
        }
        let mut typed = note.clone();
        typed
            .extra
            .insert("entity_type".into(), entity.name().into());
        self.put_note(&typed, Some(entity), origin)
    }

    fn put_note(
        &mut self,
        note: &Note,
        entity: Option<NoteEntity>,
        origin: Origin,
    ) -> StoreResult<Applied> {
        let (applied, old, new) =
            upsert::<NoteRecord>(&mut self.t.notes, note, origin, self.now_ms)?;
        if let Some(new) = new {
            if let Some(old) = old {
                self.t
                    .notes_by_entity
                    .remove(note_key(&old.note, None), note.id)?;
            }
            let entity = entity.or_else(|| NoteEntity::of(&new.note));
            self.t
                .notes_by_entity
                .insert(note_key(&new.note, entity), note.id)?;
        }
        Ok(applied)
    }
}

/// The `notes_by_owner` key of a stored note: `entity`, else what the note
/// says, else 0 (unknown).
pub(crate) fn note_key(note: &Note, entity: Option<NoteEntity>) -> (u8, u64) {
    let code = entity
        .or_else(|| NoteEntity::of(note))
        .map_or(0, NoteEntity::code);
    (code, note.entity_id)
}
