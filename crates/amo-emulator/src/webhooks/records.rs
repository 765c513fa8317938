//! The delivery log: one record per attempt (or per faulted non-attempt).

use std::collections::VecDeque;

use serde::Serialize;

/// At most this many records are kept; the oldest are forgotten first.
pub(crate) const LOG_CAP: usize = 10_000;

/// One delivery attempt as the control API and tests see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliveryRecord {
    /// Order of the record in the log (1, 2, …; never reused).
    pub seq: u64,
    /// Id of the delivery (one emit to one destination); retries and
    /// duplicates of it share this id.
    pub delivery_id: u64,
    pub destination: String,
    /// 1 for the first attempt, 2.. for retries.
    pub attempt: u32,
    /// HTTP status of the answer, when one arrived.
    pub status: Option<u16>,
    /// Why the attempt failed without a status (timeout, connection refused),
    /// or why it was not sent.
    pub error: Option<String>,
    /// True when the receiver answered 100–299 within the timeout.
    pub ok: bool,
    /// Injected fault that shaped this record: `dropped`, `duplicate`,
    /// `reordered`, `delayed`.
    pub fault: Option<String>,
    /// True when this was the last attempt and it failed (retries exhausted,
    /// or the webhook got disabled).
    pub gave_up: bool,
    /// Unix milliseconds.
    pub started_at_ms: i64,
    pub finished_at_ms: i64,
    /// Bytes of the body; 0 when the delivery was refused before its body
    /// was rendered (lane full).
    pub body_len: usize,
    /// Number of changes (entities) in the body.
    pub changes: usize,
}

/// The bounded log.
#[derive(Debug, Default)]
pub(crate) struct DeliveryLog {
    records: VecDeque<DeliveryRecord>,
    next_seq: u64,
}

impl DeliveryLog {
    pub fn push(&mut self, mut record: DeliveryRecord) {
        self.next_seq += 1;
        record.seq = self.next_seq;
        if self.records.len() >= LOG_CAP {
            self.records.pop_front();
        }
        self.records.push_back(record);
    }

    pub fn snapshot(&self) -> Vec<DeliveryRecord> {
        self.records.iter().cloned().collect()
    }
}
