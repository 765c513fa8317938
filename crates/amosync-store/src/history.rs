//! Status history: each move stored once under (lead, at, to).

use redb::{ReadTransaction, ReadableTable};

use crate::codec::{from_json, to_json};
use crate::error::StoreResult;
use crate::model::StatusChange;
use crate::tables::HISTORY;
use crate::write::{Applied, WriteTx};

impl WriteTx<'_> {
    /// Records a status move once (key: lead, at, to).
    pub fn record_status_change(&mut self, change: &StatusChange) -> StoreResult<Applied> {
        let key = (
            change.lead_id,
            change.at,
            change.to.pipeline_id,
            change.to.status_id,
        );
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
