//! "Newest wins": the one rule every upsert of a versioned record follows.
//!
//! **The API read is the truth.** Before any time is compared: an **API
//! read made after a live webhook version was stored replaces it, whatever
//! the times say** ([`read_replaces_hint`]: the read's time, the transaction
//! clock, is later than the hint's `stored_at_ms`). A webhook body's times
//! are only as good as its sender; the applier caps them at the time of
//! receipt plus a small skew, and this rule makes the fetcher's read (made
//! because of that very webhook) stand even when the body dated itself in
//! the future. A read made *before* the hint was stored (a catch-up page
//! written late) is ranked by the rules below like any other version.
//!
//! Otherwise a version ranks by `(time, deleted, origin)`: the newer
//! `updated_at` wins; at the same time a tombstone beats a live version (an upsert not
//! newer than the deletion never revives) — except a live **API read made
//! after the tombstone was written**, which revives it (amoCRM lists only
//! live records; a late duplicate of a delete webhook tombstones at the
//! stored version's own time) — and then [`tie`] decides:
//!
//! * an **API read replaces** a webhook version at that time, and an API
//!   version **read earlier**: amoCRM versions are whole seconds, so two
//!   edits in one second share a version, and the later *read* is the truth.
//!   "Later" is the read time the caller passes as the transaction clock
//!   ([`crate::WriteTx::set_now_ms`]: when the HTTP answer arrived), compared
//!   with the stored `confirmed_at_ms` — not the order of the writes, since
//!   catch-up queues pages and may write a page read before a fetcher read
//!   after it. At equal read times the later write wins;
//! * a **webhook never replaces** an API version at the same time;
//! * between two **webhooks** the larger JSON wins, so applying any
//!   permutation of the same webhook hints ends in the same record.

use std::cmp::Ordering;

use amo::models::{Company, Contact, Lead, Note};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::to_json;
use crate::error::StoreResult;
use crate::model::{CompanyRecord, ContactRecord, LeadRecord, NoteRecord, Origin, SyncMeta};
use crate::write::Applied;

/// An amoCRM entity versioned by `updated_at`.
pub(crate) trait Entity: Clone + PartialEq + Serialize {
    fn id(&self) -> u64;
    fn updated_at(&self) -> i64;
    fn deleted_flag(&self) -> bool;
    fn set_deleted_flag(&mut self, deleted: bool);
    fn set_updated_at(&mut self, at: i64);
    /// An id-only record standing for "deleted before we ever saw it".
    fn placeholder(id: u64) -> StoreResult<Self>;
    fn is_placeholder(&self) -> bool;
}

/// A stored record: an entity plus `_sync`.
pub(crate) trait Record: Serialize + DeserializeOwned + PartialEq {
    type E: Entity;
    const WHAT: &'static str;
    fn entity(&self) -> &Self::E;
    fn entity_mut(&mut self) -> &mut Self::E;
    fn sync(&self) -> &SyncMeta;
    fn sync_mut(&mut self) -> &mut SyncMeta;
    fn make(entity: Self::E, sync: SyncMeta) -> Self;
}

fn placeholder_from_json<T: DeserializeOwned>(v: serde_json::Value) -> StoreResult<T> {
    serde_json::from_value(v)
        .map_err(|e| crate::StoreError::Record(format!("cannot build a tombstone record: {e}")))
}

macro_rules! entity_common {
    () => {
        fn id(&self) -> u64 {
            self.id
        }
        fn updated_at(&self) -> i64 {
            self.updated_at
        }
        fn set_updated_at(&mut self, at: i64) {
            self.updated_at = at;
        }
        fn is_placeholder(&self) -> bool {
            self.created_at == 0 && self.updated_at == 0 && self.name.is_empty()
        }
    };
}

impl Entity for Lead {
    entity_common!();
    fn deleted_flag(&self) -> bool {
        self.is_deleted
    }
    fn set_deleted_flag(&mut self, deleted: bool) {
        self.is_deleted = deleted;
    }
    fn placeholder(id: u64) -> StoreResult<Self> {
        placeholder_from_json(serde_json::json!({"id": id, "is_deleted": true}))
    }
}

/// Contacts and companies: `is_deleted` is optional (absent = live).
macro_rules! entity_optional_deleted {
    ($($t:ty),*) => {$(
        impl Entity for $t {
            entity_common!();
            fn deleted_flag(&self) -> bool {
                self.is_deleted == Some(true)
            }
            fn set_deleted_flag(&mut self, deleted: bool) {
                self.is_deleted = if deleted { Some(true) } else { None };
            }
            fn placeholder(id: u64) -> StoreResult<Self> {
                placeholder_from_json(serde_json::json!({"id": id, "is_deleted": true}))
            }
        }
    )*};
}
entity_optional_deleted!(Contact, Company);

impl Entity for Note {
    fn id(&self) -> u64 {
        self.id
    }
    fn updated_at(&self) -> i64 {
        self.updated_at
    }
    fn set_updated_at(&mut self, at: i64) {
        self.updated_at = at;
    }
    fn is_placeholder(&self) -> bool {
        false
    }
    fn deleted_flag(&self) -> bool {
        false
    }
    fn set_deleted_flag(&mut self, _deleted: bool) {}
    fn placeholder(id: u64) -> StoreResult<Self> {
        placeholder_from_json(serde_json::json!({"id": id}))
    }
}

macro_rules! record {
    ($rec:ty, $ent:ty, $field:ident, $what:literal) => {
        impl Record for $rec {
            type E = $ent;
            const WHAT: &'static str = $what;
            fn entity(&self) -> &$ent {
                &self.$field
            }
            fn entity_mut(&mut self) -> &mut $ent {
                &mut self.$field
            }
            fn sync(&self) -> &SyncMeta {
                &self.sync
            }
            fn sync_mut(&mut self) -> &mut SyncMeta {
                &mut self.sync
            }
            fn make(entity: $ent, sync: SyncMeta) -> Self {
                Self {
                    $field: entity,
                    sync,
                }
            }
        }
    };
}
record!(LeadRecord, Lead, lead, "a stored lead");
record!(ContactRecord, Contact, contact, "a stored contact");
record!(CompanyRecord, Company, company, "a stored company");
record!(NoteRecord, Note, note, "a stored note");

/// How an incoming version (`origin`, JSON `new`) ranks against a stored one
/// (`old_origin`, JSON `old`) with the same time and tombstone state and
/// different content: `Greater` replaces it.
///
/// `read_ms` is the incoming read's time (the transaction clock) and
/// `old_confirmed_ms` the stored version's `confirmed_at_ms`.
pub(crate) fn tie(
    origin: Origin,
    new: &[u8],
    read_ms: i64,
    old_origin: Origin,
    old: &[u8],
    old_confirmed_ms: Option<i64>,
) -> Ordering {
    match (origin, old_origin) {
        // The later API read is the truth; an older read never replaces a
        // newer one, whatever order they are written in.
        (Origin::Api, Origin::Api) => {
            if read_ms >= old_confirmed_ms.unwrap_or(i64::MIN) {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        // An API read beats a hint.
        (Origin::Api, Origin::Webhook) => Ordering::Greater,
        // A hint never overrides what the API said at that time.
        (Origin::Webhook, Origin::Api) => Ordering::Less,
        // Deterministic among hints (permutation invariance).
        (Origin::Webhook, Origin::Webhook) => new.cmp(old),
    }
}

/// Whether an incoming version from `origin`, read at `read_ms`, replaces a
/// stored live version from `old_origin` stored at `old_stored_ms` whatever
/// their times say (pure): an API read made after a webhook hint was stored.
///
/// Strictly after: a read at the very millisecond the hint was stored may
/// have been answered before the change the hint reports.
pub(crate) fn read_replaces_hint(
    origin: Origin,
    read_ms: i64,
    old_origin: Origin,
    old_stored_ms: i64,
) -> bool {
    origin == Origin::Api && old_origin == Origin::Webhook && read_ms > old_stored_ms
}

/// The version time of a stored record (a tombstone counts from its deletion).
pub(crate) fn stored_time<R: Record>(r: &R) -> i64 {
    r.entity()
        .updated_at()
        .max(r.sync().deleted_at.unwrap_or(i64::MIN))
}

/// Whether the stored record is a tombstone.
pub(crate) fn is_tombstone<R: Record>(r: &R) -> bool {
    r.sync().deleted_at.is_some()
}

/// The outcome of comparing an incoming version with the stored one.
pub(crate) enum Decision<R> {
    /// Store `new` (Inserted or Updated).
    Write(R, Applied),
    /// Same version: store `new` bookkeeping only when `Some`.
    Same(Option<R>),
    /// Older: ignore.
    Stale,
}

/// Decides what an upsert of `entity` from `origin` does to `old`.
pub(crate) fn decide<R: Record>(
    old: Option<&R>,
    entity: &R::E,
    origin: Origin,
    now_ms: i64,
) -> StoreResult<Decision<R>> {
    let deleted = entity.deleted_flag();
    let mut ent = entity.clone();
    let sync = SyncMeta {
        origin,
        stored_at_ms: now_ms,
        confirmed_at_ms: (origin == Origin::Api).then_some(now_ms),
        deleted_at: deleted.then_some(entity.updated_at()),
    };
    ent.set_deleted_flag(deleted);
    let new = R::make(ent, sync);
    let Some(old) = old else {
        return Ok(Decision::Write(new, Applied::Inserted));
    };
    let old_time = stored_time(old);
    let old_deleted = is_tombstone(old);
    let placeholder = old.entity().is_placeholder();
    if !old_deleted
        && read_replaces_hint(origin, now_ms, old.sync().origin, old.sync().stored_at_ms)
    {
        if to_json(entity)? == to_json(old.entity())? && !deleted {
            let mut same = R::make(old.entity().clone(), old.sync().clone());
            same.sync_mut().origin = Origin::Api;
            same.sync_mut().confirmed_at_ms = Some(now_ms);
            return Ok(Decision::Same(Some(same)));
        }
        return Ok(Decision::Write(new, Applied::Updated));
    }
    let ord = entity
        .updated_at()
        .cmp(&old_time)
        .then(deleted.cmp(&old_deleted));
    // A live API read at the tombstone's own time, made after the tombstone
    // was written, revives: amoCRM lists only live records, so it says the
    // record is live at that version (a late or duplicated delete webhook
    // tombstones at the stored version's time, which must not stick).
    let revived_by_later_read = ord == Ordering::Less
        && origin == Origin::Api
        && !deleted
        && old_deleted
        && !placeholder
        && entity.updated_at() == old_time
        && now_ms > old.sync().stored_at_ms;
    let ord = match ord {
        _ if revived_by_later_read => Ordering::Greater,
        Ordering::Equal if placeholder => Ordering::Less,
        Ordering::Equal => {
            let a = to_json(entity)?;
            let b = to_json(old.entity())?;
            if a == b {
                if origin == Origin::Api {
                    let mut same = R::make(old.entity().clone(), old.sync().clone());
                    same.sync_mut().origin = Origin::Api;
                    let confirmed = old.sync().confirmed_at_ms.map_or(now_ms, |c| c.max(now_ms));
                    same.sync_mut().confirmed_at_ms = Some(confirmed);
                    return Ok(Decision::Same(Some(same)));
                }
                return Ok(Decision::Same(None));
            }
            tie(
                origin,
                &a,
                now_ms,
                old.sync().origin,
                &b,
                old.sync().confirmed_at_ms,
            )
        }
        o => o,
    };
    Ok(match ord {
        Ordering::Greater if placeholder => Decision::Write(new, Applied::Inserted),
        Ordering::Greater => Decision::Write(new, Applied::Updated),
        _ => Decision::Stale,
    })
}

/// A tombstone of `old` (or a placeholder) deleted at `at`; `None` when stale
/// or already deleted at that time.
pub(crate) fn tombstone<R: Record>(
    old: Option<&R>,
    id: u64,
    at: i64,
    now_ms: i64,
) -> StoreResult<(Option<R>, Applied)> {
    let Some(old) = old else {
        let sync = SyncMeta {
            origin: Origin::Webhook,
            stored_at_ms: now_ms,
            confirmed_at_ms: None,
            deleted_at: Some(at),
        };
        return Ok((
            Some(R::make(R::E::placeholder(id)?, sync)),
            Applied::Inserted,
        ));
    };
    if let Some(d) = old.sync().deleted_at {
        if at <= d {
            return Ok((None, Applied::Unchanged));
        }
        let mut r = R::make(old.entity().clone(), old.sync().clone());
        r.sync_mut().deleted_at = Some(at);
        r.sync_mut().stored_at_ms = now_ms;
        return Ok((Some(r), Applied::Updated));
    }
    if at < old.entity().updated_at() {
        return Ok((None, Applied::Stale));
    }
    let mut r = R::make(old.entity().clone(), old.sync().clone());
    r.entity_mut().set_deleted_flag(true);
    r.sync_mut().deleted_at = Some(at);
    r.sync_mut().stored_at_ms = now_ms;
    Ok((Some(r), Applied::Updated))
}

/// What a restore at `at` does: `Ok(None)` deletes a placeholder.
pub(crate) enum Restore<R> {
    Write(R),
    RemovePlaceholder,
    Nothing(Applied),
}

/// Revives a tombstone restored at `at` (amoCRM bumps `updated_at`).
pub(crate) fn restore<R: Record>(old: Option<&R>, at: i64, now_ms: i64) -> Restore<R> {
    let Some(old) = old else {
        return Restore::Nothing(Applied::Stale);
    };
    let Some(d) = old.sync().deleted_at else {
        return Restore::Nothing(Applied::Unchanged);
    };
    if at < d {
        return Restore::Nothing(Applied::Stale);
    }
    if old.entity().is_placeholder() {
        return Restore::RemovePlaceholder;
    }
    let mut r = R::make(old.entity().clone(), old.sync().clone());
    r.entity_mut().set_deleted_flag(false);
    let t = r.entity().updated_at().max(at);
    r.entity_mut().set_updated_at(t);
    r.sync_mut().deleted_at = None;
    r.sync_mut().origin = Origin::Webhook;
    r.sync_mut().confirmed_at_ms = None;
    r.sync_mut().stored_at_ms = now_ms;
    Restore::Write(r)
}
