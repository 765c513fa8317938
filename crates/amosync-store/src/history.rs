//! Status history: each move stored once under (lead, at, to).
//!
//! **The events API is the truth, a webhook's move is a hint.** A move only
//! a webhook reported ([`WriteTx::record_status_hint`]) is also listed in
//! `status_hints` with the moment it was stored. It stands until the API
//! settles it:
//! * the events API reports the same move ([`WriteTx::record_status_change`])
//!   → confirmed, the hint mark goes;
//! * an API read of the lead, made after the hint was stored, says the lead
//!   last changed before the move (`updated_at` + [`HINT_SLACK_S`] < the
//!   move's time; amoCRM bumps `updated_at` on every move) → the move never
//!   happened: dropped ([`WriteTx::drop_status_hints_after`]);
//! * a catch-up pass whose events read covered the move's time without
//!   reporting it → dropped ([`WriteTx::drop_status_hints_before`]).

use redb::{ReadTransaction, ReadableTable};

use crate::codec::{from_json, to_json};
use crate::error::StoreResult;
use crate::model::StatusChange;
use crate::tables::HISTORY;
use crate::write::{Applied, WriteTx};

/// How far (seconds) a hinted move may be dated after the lead's
/// `updated_at` as the API read it and still stand: the webhook clock skew
/// the applier allows (a move a webhook dated by its receipt, on a computer
/// clock slightly ahead of amoCRM's, is not dropped for it).
pub(crate) const HINT_SLACK_S: i64 = 60;

fn history_key(c: &StatusChange) -> (u64, i64, u64, u64) {
    (c.lead_id, c.at, c.to.pipeline_id, c.to.status_id)
}

impl WriteTx<'_> {
    /// Records a status move the **events API** reported, once (key: lead,
    /// at, to); a webhook's hint of the same move is confirmed.
    pub fn record_status_change(&mut self, change: &StatusChange) -> StoreResult<Applied> {
        let key = history_key(change);
        // The events API reported it: no longer a hint.
        self.t.status_hints.remove(key)?;
        self.record_status_row(change)
    }

    /// Records a status move a **webhook** reported: like
    /// [`WriteTx::record_status_change`], and a move the store did not hold
    /// yet is marked a hint for the API to confirm or drop.
    pub fn record_status_hint(&mut self, change: &StatusChange) -> StoreResult<Applied> {
        let applied = self.record_status_row(change)?;
        if applied == Applied::Inserted {
            self.t
                .status_hints
                .insert(history_key(change), self.now_ms)?;
        }
        Ok(applied)
    }

    /// Drops the hinted moves of `lead_id` dated after `updated_at` +
    /// [`HINT_SLACK_S`] that were stored before this transaction's read
    /// (`now_ms`): an API read of the lead says it has not changed since.
    /// Returns how many were dropped.
    pub fn drop_status_hints_after(&mut self, lead_id: u64, updated_at: i64) -> StoreResult<u64> {
        let after = updated_at.saturating_add(HINT_SLACK_S).saturating_add(1);
        let read_ms = self.now_ms;
        let mut keys = Vec::new();
        for row in self
            .t
            .status_hints
            .range((lead_id, after, 0, 0)..=(lead_id, i64::MAX, u64::MAX, u64::MAX))?
        {
            let (k, stored_ms) = row?;
            if stored_ms.value() < read_ms {
                keys.push(k.value());
            }
        }
        self.drop_hinted(&keys)
    }

    /// Drops every hinted move dated at or before `covered_s`: a catch-up's
    /// events read covered that time and did not report it. Returns how many.
    pub fn drop_status_hints_before(&mut self, covered_s: i64) -> StoreResult<u64> {
        let mut keys = Vec::new();
        for row in self.t.status_hints.iter()? {
            let (k, _) = row?;
            let k = k.value();
            if k.1 <= covered_s {
                keys.push(k);
            }
        }
        self.drop_hinted(&keys)
    }

    fn drop_hinted(&mut self, keys: &[(u64, i64, u64, u64)]) -> StoreResult<u64> {
        for k in keys {
            self.t.status_hints.remove(*k)?;
            self.t.history.remove(*k)?;
        }
        if !keys.is_empty() {
            tracing::info!(
                moves = keys.len(),
                "status moves a webhook reported and amoCRM does not confirm were dropped"
            );
        }
        Ok(keys.len() as u64)
    }

    fn record_status_row(&mut self, change: &StatusChange) -> StoreResult<Applied> {
        let key = history_key(change);
        let old: Option<StatusChange> = match self.t.history.get(key)? {
            Some(v) => Some(from_json(v.value(), "a stored status change")?),
            None => None,
        };
        let (rec, applied) = match old {
            None => (change.clone(), Applied::Inserted),
            Some(o) => {
                // A second report may know more (the previous status, the user).
                let merged = StatusChange {
                    from: o.from.or(change.from),
                    by: o.by.or(change.by),
                    ..o.clone()
                };
                if merged == o {
                    return Ok(Applied::Unchanged);
                }
                (merged, Applied::Updated)
            }
        };
        let bytes = to_json(&rec)?;
        self.t.history.insert(key, bytes.as_slice())?;
        self.observe_change(&rec)?;
        Ok(applied)
    }
}

impl WriteTx<'_> {
    /// Feeds a move to the lead's observed open status: the lead was in
    /// `from` just before `at` and in `to` at `at`.
    pub(crate) fn observe_change(&mut self, c: &StatusChange) -> StoreResult<()> {
        if let Some(from) = c.from {
            self.observe(
                c.lead_id,
                c.at.saturating_sub(1),
                from.pipeline_id,
                from.status_id,
            )?;
        }
        self.observe(c.lead_id, c.at, c.to.pipeline_id, c.to.status_id)
    }
}

/// A lead's history, oldest first.
pub(crate) fn lead_history(tx: &ReadTransaction, lead_id: u64) -> StoreResult<Vec<StatusChange>> {
    let t = tx.open_table(HISTORY)?;
    let mut out = Vec::new();
    for row in t.range((lead_id, i64::MIN, 0, 0)..=(lead_id, i64::MAX, u64::MAX, u64::MAX))? {
        let (_, v) = row?;
        out.push(from_json(v.value(), "a stored status change")?);
    }
    Ok(out)
}
