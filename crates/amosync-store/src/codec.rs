//! Encoding of stored values: JSON records, fixed-width lead facts and
//! funnel aggregates, the event log entries, and redb error mapping.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::StoreError;
use crate::model::{EventOutcome, LoggedEvent};

/// JSON-encodes a record.
pub(crate) fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value)
        .map_err(|e| StoreError::Record(format!("cannot encode a record: {e}")))
}

/// JSON-encodes a stored record without its `null` object members (about a
/// sixth of a lead: `loss_reason_id`, `score`, `labor_cost`, …, which read
/// back the same when absent). Falls back to the full encoding when the
/// short one would not read back equal, so what is read is always what was
/// written.
pub(crate) fn to_stored_json<T>(value: &T) -> Result<Vec<u8>, StoreError>
where
    T: Serialize + DeserializeOwned + PartialEq,
{
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.retain(|_, v| !v.is_null());
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(value)
        .map_err(|e| StoreError::Record(format!("cannot encode a record: {e}")))?;
    strip(&mut v);
    let short = to_json(&v)?;
    match serde_json::from_slice::<T>(&short) {
        Ok(back) if back == *value => Ok(short),
        _ => to_json(value),
    }
}

/// Decodes a stored JSON record; `what` names it in the error.
pub(crate) fn from_json<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| {
        // Starts with "; run `" so callers can swap the advice for their own.
        StoreError::Record(format!(
            "{what} is damaged ({e}); run `amosync connect` again after moving the file aside, then `amosync sync`"
        ))
    })
}

/// Maps a redb failure to [`StoreError::Io`] (disk full, permissions, EIO:
/// retrying may work, the file is fine).
pub(crate) fn io<E: std::fmt::Display>(e: E) -> StoreError {
    StoreError::Io(format!(
        "{e}; check free disk space and permissions, then retry"
    ))
}

/// Maps a redb error: damage or a foreign layout becomes
/// [`StoreError::Corrupt`] (without a path; [`StoreError::at`] adds it),
/// everything else [`StoreError::Io`].
pub(crate) fn redb_error(e: redb::Error) -> StoreError {
    use redb::Error as E;
    let damaged = match &e {
        E::Corrupted(_)
        | E::UpgradeRequired(_)
        | E::TableTypeMismatch { .. }
        | E::TableIsMultimap(_)
        | E::TableIsNotMultimap(_)
        | E::TypeDefinitionChanged { .. } => true,
        E::Io(io) => matches!(
            io.kind(),
            std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof
        ),
        _ => false,
    };
    if damaged {
        StoreError::Corrupt {
            path: String::new(),
            reason: e.to_string(),
        }
    } else {
        io(e)
    }
}

macro_rules! redb_errors {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                redb_error(e.into())
            }
        }
    )*};
}
redb_errors!(
    redb::Error,
    redb::StorageError,
    redb::TableError,
    redb::TransactionError,
    redb::CommitError
);

/// Width of a [`Facts`] row.
pub(crate) const FACTS_LEN: usize = 88;
/// Width of an [`Agg`] row (index version 4: i128 price sum).
pub(crate) const AGG_LEN: usize = 32;

const FLAG_DELETED: u8 = 1;
const FLAG_PLACEHOLDER: u8 = 2;
const FLAG_ABSENT: u8 = 4;

/// The compact per-lead row the funnel and lists scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Facts {
    pub pipeline: u64,
    pub status: u64,
    pub price: i64,
    pub responsible: u64,
    pub created_at: i64,
    pub closed_at: Option<i64>,
    pub updated_at: i64,
    /// The newest open status ever observed for the lead (0 = none): by
    /// any version, stale ones included, and by the status history. Kept
    /// as a maximum of `(seen_at, last_open, seen_pipeline)`, so it does not
    /// depend on the order in which versions arrive.
    pub last_open: u64,
    /// When `last_open` was observed.
    pub seen_at: i64,
    /// The pipeline of `last_open`.
    pub seen_pipeline: u64,
    pub deleted: bool,
    pub placeholder: bool,
    /// Only observations: no lead record exists yet.
    pub absent: bool,
}

fn rd_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

fn rd_i64(b: &[u8], at: usize) -> i64 {
    rd_u64(b, at) as i64
}

impl Facts {
    /// Counts in the funnel and lists (not deleted, not a placeholder).
    pub fn live(&self) -> bool {
        !self.deleted && !self.placeholder && !self.absent
    }

    /// This row with the observation `seen` (see [`Facts::seen`]).
    pub fn with_seen(self, seen: (i64, u64, u64)) -> Facts {
        Facts {
            seen_at: seen.0,
            last_open: seen.1,
            seen_pipeline: seen.2,
            ..self
        }
    }

    /// The observation key (compared as a maximum).
    pub fn seen(&self) -> (i64, u64, u64) {
        (self.seen_at, self.last_open, self.seen_pipeline)
    }

    /// The status a lost lead counts from in `reached`: its last open status
    /// when that was in the lead's current pipeline, else 0 (unknown).
    pub fn lost_from(&self) -> u64 {
        if self.seen_pipeline == self.pipeline {
            self.last_open
        } else {
            0
        }
    }

    pub fn encode(&self) -> [u8; FACTS_LEN] {
        let mut b = [0u8; FACTS_LEN];
        b[0..8].copy_from_slice(&self.pipeline.to_le_bytes());
        b[8..16].copy_from_slice(&self.status.to_le_bytes());
        b[16..24].copy_from_slice(&self.price.to_le_bytes());
        b[24..32].copy_from_slice(&self.responsible.to_le_bytes());
        b[32..40].copy_from_slice(&self.created_at.to_le_bytes());
        b[40..48].copy_from_slice(&self.closed_at.unwrap_or(i64::MIN).to_le_bytes());
        b[48..56].copy_from_slice(&self.updated_at.to_le_bytes());
        b[56..64].copy_from_slice(&self.last_open.to_le_bytes());
        b[64..72].copy_from_slice(&self.seen_at.to_le_bytes());
        b[72..80].copy_from_slice(&self.seen_pipeline.to_le_bytes());
        b[80] = (if self.deleted { FLAG_DELETED } else { 0 })
            | (if self.placeholder {
                FLAG_PLACEHOLDER
            } else {
                0
            })
            | (if self.absent { FLAG_ABSENT } else { 0 });
        b
    }

    pub fn decode(b: &[u8; FACTS_LEN]) -> Facts {
        let closed = rd_i64(b, 40);
        Facts {
            pipeline: rd_u64(b, 0),
            status: rd_u64(b, 8),
            price: rd_i64(b, 16),
            responsible: rd_u64(b, 24),
            created_at: rd_i64(b, 32),
            closed_at: (closed != i64::MIN).then_some(closed),
            updated_at: rd_i64(b, 48),
            last_open: rd_u64(b, 56),
            seen_at: rd_i64(b, 64),
            seen_pipeline: rd_u64(b, 72),
            deleted: b[80] & FLAG_DELETED != 0,
            placeholder: b[80] & FLAG_PLACEHOLDER != 0,
            absent: b[80] & FLAG_ABSENT != 0,
        }
    }
}

/// Maintained per (pipeline, status) aggregates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Agg {
    /// Live leads currently in the status.
    pub count: i64,
    /// Their price sum, exact (prices are i64; a sum of them cannot
    /// overflow i128), so adding and removing leads stays invertible.
    /// Shown saturated to i64 ([`Agg::price`]).
    pub price_sum: i128,
    /// Lost leads whose last open status is this one.
    pub lost_from: i64,
}

impl Agg {
    pub fn encode(&self) -> [u8; AGG_LEN] {
        let mut b = [0u8; AGG_LEN];
        b[0..8].copy_from_slice(&self.count.to_le_bytes());
        b[8..24].copy_from_slice(&self.price_sum.to_le_bytes());
        b[24..32].copy_from_slice(&self.lost_from.to_le_bytes());
        b
    }

    pub fn decode(b: &[u8; AGG_LEN]) -> Agg {
        let mut p = [0u8; 16];
        p.copy_from_slice(&b[8..24]);
        Agg {
            count: rd_i64(b, 0),
            price_sum: i128::from_le_bytes(p),
            lost_from: rd_i64(b, 24),
        }
    }

    pub fn add(&mut self, other: &Agg) {
        self.count = self.count.saturating_add(other.count);
        self.price_sum = self.price_sum.saturating_add(other.price_sum);
        self.lost_from = self.lost_from.saturating_add(other.lost_from);
    }

    /// The price sum for display: saturated to the i64 range.
    pub fn price(&self) -> i64 {
        saturate(self.price_sum)
    }

    pub fn is_zero(&self) -> bool {
        *self == Agg::default()
    }
}

/// `v` clamped to the i64 range.
pub(crate) fn saturate(v: i128) -> i64 {
    v.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// Encodes an event log entry: received_at, outcome JSON length, outcome, body.
pub(crate) fn encode_event(
    received_at_ms: i64,
    outcome: Option<&EventOutcome>,
    body: &[u8],
) -> Result<Vec<u8>, StoreError> {
    let outcome = match outcome {
        Some(o) => to_json(o)?,
        None => Vec::new(),
    };
    let mut b = Vec::with_capacity(12 + outcome.len() + body.len());
    b.extend_from_slice(&received_at_ms.to_le_bytes());
    b.extend_from_slice(&(outcome.len() as u32).to_le_bytes());
    b.extend_from_slice(&outcome);
    b.extend_from_slice(body);
    Ok(b)
}

/// Decodes an event log entry.
pub(crate) fn decode_event(seq: u64, b: &[u8]) -> Result<LoggedEvent, StoreError> {
    let bad = || StoreError::Record(format!("event log entry {seq} is damaged"));
    if b.len() < 12 {
        return Err(bad());
    }
    let received_at_ms = rd_i64(b, 0);
    let mut l = [0u8; 4];
    l.copy_from_slice(&b[8..12]);
    let olen = u32::from_le_bytes(l) as usize;
    let rest = &b[12..];
    if rest.len() < olen {
        return Err(bad());
    }
    let outcome = if olen == 0 {
        None
    } else {
        Some(from_json(&rest[..olen], "an event outcome")?)
    };
    Ok(LoggedEvent {
        seq,
        received_at_ms,
        body: rest[olen..].to_vec(),
        outcome,
    })
}

/// Contact search row: updated_at, flags, then the lowercase text.
pub(crate) fn encode_contact_search(updated_at: i64, live: bool, text: &str) -> Vec<u8> {
    let mut b = Vec::with_capacity(9 + text.len());
    b.extend_from_slice(&updated_at.to_le_bytes());
    b.push(u8::from(live));
    b.extend_from_slice(text.as_bytes());
    b
}

/// Decodes a contact search row: (updated_at, live, text).
pub(crate) fn decode_contact_search(b: &[u8]) -> (i64, bool, &str) {
    if b.len() < 9 {
        return (0, false, "");
    }
    let text = std::str::from_utf8(&b[9..]).unwrap_or("");
    (rd_i64(b, 0), b[8] != 0, text)
}

/// u32 little-endian meta value.
pub(crate) fn meta_u32(b: &[u8]) -> Option<u32> {
    let a: [u8; 4] = b.try_into().ok()?;
    Some(u32::from_le_bytes(a))
}

/// u64 little-endian meta value.
pub(crate) fn meta_u64(b: &[u8]) -> Option<u64> {
    let a: [u8; 8] = b.try_into().ok()?;
    Some(u64::from_le_bytes(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_round_trip() {
        let f = Facts {
            pipeline: 8580102,
            status: 143,
            price: -5,
            responsible: 7,
            created_at: 1_700_000_000,
            closed_at: Some(1_700_000_100),
            updated_at: 1_700_000_200,
            last_open: 69641342,
            seen_at: 1_700_000_050,
            seen_pipeline: 8580102,
            deleted: true,
            placeholder: false,
            absent: true,
        };
        assert_eq!(Facts::decode(&f.encode()), f);
        let g = Facts {
            closed_at: None,
            ..f
        };
        assert_eq!(Facts::decode(&g.encode()), g);
    }

    #[test]
    fn event_round_trip_and_damage() {
        let o = EventOutcome::Applied { events: 3 };
        let b = encode_event(5, Some(&o), b"leads%5Badd%5D").expect("enc");
        let e = decode_event(1, &b).expect("dec");
        assert_eq!(e.outcome, Some(o));
        assert_eq!(e.body, b"leads%5Badd%5D");
        assert!(decode_event(1, &b[..5]).is_err());
        let o = EventOutcome::AppliedWithAnomalies {
            events: 1,
            anomalies: vec!["replaced: `a` was written again".into()],
        };
        let b = encode_event(5, Some(&o), b"a=1&a=2").expect("enc");
        assert_eq!(decode_event(2, &b).expect("dec").outcome, Some(o));
    }
}
