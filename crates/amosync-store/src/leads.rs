//! Lead writes and the lead-derived indexes: facts row, funnel aggregates,
//! search text and contact links, all updated from the old→new record.

use amo::models::{Lead, STATUS_LOST, STATUS_WON};
use redb::ReadableTable;

use crate::codec::{Agg, Facts, from_json, to_stored_json};
use crate::error::StoreResult;
use crate::model::{LeadRecord, Origin};
use crate::newest::{Decision, Entity, Restore, decide, restore, tombstone};
use crate::search::lead_text;
use crate::write::{Applied, WriteTx};

/// The aggregate row holding store-wide lead counts: `count` = live leads,
/// `lost_from` = tombstoned leads (placeholders not counted).
pub(crate) const TOTALS: (u64, u64) = (u64::MAX, u64::MAX);

/// 142 or 143.
pub(crate) fn is_closed(status: u64) -> bool {
    status == STATUS_WON || status == STATUS_LOST
}

/// The facts row of a stored lead; `old` carries the observed open status over.
pub(crate) fn facts_of(rec: &LeadRecord, old: Option<Facts>) -> Facts {
    let l = &rec.lead;
    let mut seen = old.map(|o| o.seen()).filter(|s| s.1 != 0);
    if !is_closed(l.status_id) && l.status_id != 0 {
        let own = (l.updated_at, l.status_id, l.pipeline_id);
        if seen.is_none_or(|s| own > s) {
            seen = Some(own);
        }
    }
    let (seen_at, last_open, seen_pipeline) = seen.unwrap_or_default();
    Facts {
        pipeline: l.pipeline_id,
        status: l.status_id,
        price: l.price,
        responsible: l.responsible_user_id,
        created_at: l.created_at,
        closed_at: l.closed_at,
        updated_at: l.updated_at,
        last_open,
        seen_at,
        seen_pipeline,
        deleted: rec.sync.deleted_at.is_some() || l.is_deleted,
        placeholder: rec.sync.deleted_at.is_some() && l.is_placeholder(),
        absent: false,
    }
}

/// A live lead's share of its pipeline's funnel aggregates, times `sign`
/// (1 adds, -1 removes): `add(status, delta)` for its status, and for a lost
/// lead `lost_from` at [`Facts::lost_from`]. The maintained aggregates and
/// the filtered funnel scan both use it, so they always agree.
pub(crate) fn agg_share(f: &Facts, sign: i64, mut add: impl FnMut(u64, Agg)) {
    if !f.live() {
        return;
    }
    add(
        f.status,
        Agg {
            count: sign,
            price_sum: i128::from(sign) * i128::from(f.price),
            lost_from: 0,
        },
    );
    if f.status == STATUS_LOST {
        add(
            f.lost_from(),
            Agg {
                lost_from: sign,
                ..Agg::default()
            },
        );
    }
}

impl WriteTx<'_> {
    /// Adds (`sign` 1) or removes (-1) a facts row's share of the aggregates.
    pub(crate) fn agg_apply(&mut self, f: &Facts, sign: i64) {
        let deltas = &mut self.agg_delta;
        agg_share(f, sign, |status, d| {
            deltas.entry((f.pipeline, status)).or_default().add(&d);
        });
    }

    /// Moves the store-wide lead counts (see [`TOTALS`]).
    fn count_apply(&mut self, f: &Facts, sign: i64) {
        if f.placeholder || f.absent {
            return;
        }
        let e = self.agg_delta.entry(TOTALS).or_default();
        if f.deleted {
            e.lost_from += sign;
        } else {
            e.count += sign;
        }
    }

    /// Replaces the facts row of `id` and moves the aggregates and the
    /// list order (`leads_by_updated`) with it.
    pub(crate) fn put_facts(
        &mut self,
        id: u64,
        old: Option<Facts>,
        new: Option<Facts>,
    ) -> StoreResult<()> {
        let old_key = old.filter(Facts::live).map(|f| (f.updated_at, id));
        let new_key = new.filter(Facts::live).map(|f| (f.updated_at, id));
        if old_key != new_key {
            if let Some(k) = old_key {
                self.t.leads_by_updated.remove(k)?;
            }
            if let Some(k) = new_key {
                self.t.leads_by_updated.insert(k, ())?;
            }
        }
        if let Some(o) = old {
            self.agg_apply(&o, -1);
            self.count_apply(&o, -1);
        }
        match new {
            Some(n) => {
                self.agg_apply(&n, 1);
                self.count_apply(&n, 1);
                self.t.lead_facts.insert(id, &n.encode())?;
            }
            None => {
                self.t.lead_facts.remove(id)?;
            }
        }
        Ok(())
    }

    /// The facts row of a lead (inside this transaction).
    pub(crate) fn facts(&self, id: u64) -> StoreResult<Option<Facts>> {
        Ok(self.t.lead_facts.get(id)?.map(|v| Facts::decode(v.value())))
    }

    /// Brings every lead-derived index from `old` to `new` (`None` = gone).
    pub(crate) fn index_lead(
        &mut self,
        id: u64,
        old: Option<&LeadRecord>,
        new: Option<&LeadRecord>,
    ) -> StoreResult<()> {
        let old_facts = self.facts(id)?;
        let new_facts = match new {
            Some(r) => Some(facts_of(r, old_facts)),
            // Keep what was observed, without a record.
            None => old_facts.filter(|f| f.last_open != 0).map(|f| {
                Facts {
                    absent: true,
                    ..Facts::default()
                }
                .with_seen(f.seen())
            }),
        };
        self.put_facts(id, old_facts, new_facts)?;
        match new {
            Some(r) if !new_facts.is_some_and(|f| f.placeholder) => {
                let text = lead_text(&r.lead);
                self.t.lead_search.insert(id, text.as_str())?;
            }
            _ => {
                self.t.lead_search.remove(id)?;
            }
        }
        let old_contacts = old.map(|r| r.lead.contact_ids()).unwrap_or_default();
        let new_contacts = new.map(|r| r.lead.contact_ids()).unwrap_or_default();
        for c in &old_contacts {
            if !new_contacts.contains(c) {
                self.t.contact_leads.remove(*c, id)?;
            }
        }
        for c in &new_contacts {
            if !old_contacts.contains(c) {
                self.t.contact_leads.insert(*c, id)?;
            }
        }
        Ok(())
    }

    fn put_lead(&mut self, old: Option<&LeadRecord>, new: &LeadRecord) -> StoreResult<()> {
        let bytes = to_stored_json(new)?;
        self.t.leads.insert(new.lead.id, bytes.as_slice())?;
        self.index_lead(new.lead.id, old, Some(new))
    }

    /// A lead as stored, tombstones included (read inside this transaction).
    pub fn lead(&self, id: u64) -> StoreResult<Option<LeadRecord>> {
        match self.t.leads.get(id)? {
            Some(v) => Ok(Some(from_json(v.value(), "a stored lead")?)),
            None => Ok(None),
        }
    }

    /// Newest wins by `updated_at`; on a tie, `Origin::Api` beats `Origin::Webhook`
    /// and identical content is `Unchanged`. An API read with `is_deleted`
    /// tombstones; a version newer than the tombstone revives.
    ///
    /// A live API read also drops the status moves only a webhook reported
    /// that it shows never happened (`history.rs`).
    pub fn upsert_lead(&mut self, lead: &Lead, origin: Origin) -> StoreResult<Applied> {
        if origin == Origin::Api && !lead.is_deleted {
            self.drop_status_hints_after(lead.id, lead.updated_at)?;
        }
        let old = self.lead(lead.id)?;
        match decide(old.as_ref(), lead, origin, self.now_ms)? {
            Decision::Write(rec, applied) => {
                self.put_lead(old.as_ref(), &rec)?;
                Ok(applied)
            }
            Decision::Same(Some(rec)) => {
                let bytes = to_stored_json(&rec)?;
                self.t.leads.insert(lead.id, bytes.as_slice())?;
                Ok(Applied::Unchanged)
            }
            Decision::Same(None) => Ok(Applied::Unchanged),
            Decision::Stale => {
                self.observe(lead.id, lead.updated_at, lead.pipeline_id, lead.status_id)?;
                Ok(Applied::Stale)
            }
        }
    }

    /// Tombstones a lead deleted at `at` (unix s). Unknown ids get a tombstone
    /// too, so a late stale upsert cannot bring them back.
    pub fn delete_lead(&mut self, id: u64, at: i64) -> StoreResult<Applied> {
        let old = self.lead(id)?;
        let (rec, applied) = tombstone(old.as_ref(), id, at, self.now_ms)?;
        if let Some(rec) = rec {
            self.put_lead(old.as_ref(), &rec)?;
        }
        Ok(applied)
    }

    /// Revives a tombstoned lead restored at `at`.
    pub fn restore_lead(&mut self, id: u64, at: i64) -> StoreResult<Applied> {
        let old = self.lead(id)?;
        match restore(old.as_ref(), at, self.now_ms) {
            Restore::Write(rec) => {
                self.put_lead(old.as_ref(), &rec)?;
                Ok(Applied::Updated)
            }
            Restore::RemovePlaceholder => {
                self.t.leads.remove(id)?;
                self.index_lead(id, old.as_ref(), None)?;
                Ok(Applied::Updated)
            }
            Restore::Nothing(a) => Ok(a),
        }
    }

    /// Records that the lead was seen in `status` at `at` (a version, stale
    /// ones included, or a history entry): the newest open status observed is
    /// where a lost lead counts from in the funnel's `reached`.
    pub(crate) fn observe(
        &mut self,
        id: u64,
        at: i64,
        pipeline: u64,
        status: u64,
    ) -> StoreResult<()> {
        if is_closed(status) || status == 0 {
            return Ok(());
        }
        let old = self.facts(id)?;
        let base = old.unwrap_or(Facts {
            absent: true,
            ..Facts::default()
        });
        let cand = (at, status, pipeline);
        if base.last_open != 0 && cand <= base.seen() {
            return Ok(());
        }
        let new = Facts {
            seen_at: at,
            last_open: status,
            seen_pipeline: pipeline,
            ..base
        };
        self.put_facts(id, old, Some(new))
    }
}
