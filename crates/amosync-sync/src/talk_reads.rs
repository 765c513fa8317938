//! Talk reads are one request each (`GET /api/v4/talks/{id}`: amoCRM has no
//! talk list), so a body naming thousands of talk ids must not cost
//! thousands of requests, nor hold the one shared rate limiter while other
//! bodies' leads wait. Pure planning of how many talks are read when:
//!
//! * **per body**: at most [`TALK_READS_PER_BODY`] talk ids of one body go
//!   to the fetcher (ids are a set, so repeats coalesce), and `talk[…]`
//!   events of further talks are not applied ([`admit_talk`]): one body
//!   cannot fill the store's durable "to confirm" list either. A talk known
//!   only from a message is still listed there, and catch-up reads that
//!   list; a talk whose hint was not applied is read when its chat activity
//!   shows in the events API (catch-up queues it then);
//! * **per fetcher batch**: at most [`TALK_READS_PER_BATCH`] talks are read
//!   before the batch's leads, contacts and companies (a few batched
//!   requests); the rest wait for the next batch, so a lead named by another
//!   body waits behind at most that many talk reads;
//! * **per catch-up pass**: at most [`TALK_CONFIRMS_PER_PASS`] queued talks
//!   are read (the fetcher is held while a pass runs); the rest stay queued
//!   for the next pass.

use std::collections::BTreeSet;

/// Talk ids of one webhook body handed to the fetcher.
pub const TALK_READS_PER_BODY: usize = 16;

/// Talks one fetcher batch reads (before its batched record reads).
pub const TALK_READS_PER_BATCH: usize = 16;

/// Queued talks one catch-up confirmation step reads (a pass has one, plus
/// one after its tail): a busy account's talks with new messages fit, and
/// a flood of placeholder talks holds the limiter for minutes, not hours.
pub const TALK_CONFIRMS_PER_PASS: usize = 1_000;

/// Whether a `talk[…]` event of `id` is applied, given the talk ids the
/// body has touched so far (adds it): a talk already touched always, a new
/// one while the body's share lasts.
pub fn admit_talk(touched: &mut BTreeSet<u64>, id: u64) -> bool {
    if touched.contains(&id) {
        return true;
    }
    if touched.len() >= TALK_READS_PER_BODY {
        return false;
    }
    touched.insert(id)
}

/// Keeps at most [`TALK_READS_PER_BODY`] of one body's talk ids (the
/// lowest: deterministic for a re-applied entry).
pub fn cap_body_talks(talks: &mut BTreeSet<u64>) {
    while talks.len() > TALK_READS_PER_BODY {
        talks.pop_last();
    }
}

/// Takes the talks this batch reads out of `pending` (at most
/// [`TALK_READS_PER_BATCH`], lowest first); what is left waits for the next
/// batch.
pub fn take_batch(pending: &mut BTreeSet<u64>) -> Vec<u64> {
    let mut out = Vec::with_capacity(pending.len().min(TALK_READS_PER_BATCH));
    while out.len() < TALK_READS_PER_BATCH {
        match pending.pop_first() {
            Some(id) => out.push(id),
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_table() {
        // (ids in, kept by the body cap, taken by one batch, left after it)
        let cases: Vec<(u64, usize, usize, usize)> = vec![
            (0, 0, 0, 0),
            (3, 3, 3, 0),
            (16, 16, 16, 0),
            (17, 16, 16, 0),
            (5_000, 16, 16, 0),
        ];
        for (n, kept, taken, left) in cases {
            let mut body: BTreeSet<u64> = (1..=n).collect();
            cap_body_talks(&mut body);
            assert_eq!(body.len(), kept, "body cap of {n}");
            assert_eq!(body.iter().copied().max().unwrap_or(0), kept as u64);
            let batch = take_batch(&mut body);
            assert_eq!((batch.len(), body.len()), (taken, left), "batch of {n}");
        }
        // Talk events: repeats of a touched talk always, new ones while the
        // share lasts.
        let mut touched = BTreeSet::new();
        let admitted = (0..40u64)
            .chain([3, 39])
            .filter(|id| admit_talk(&mut touched, *id))
            .count();
        assert_eq!((admitted, touched.len()), (17, 16));
        // Many bodies merged in one queue: one batch takes 16, the rest waits.
        let mut queue: BTreeSet<u64> = (1..=40).collect();
        assert_eq!(take_batch(&mut queue), (1..=16).collect::<Vec<_>>());
        assert_eq!(queue.len(), 24);
    }
}
