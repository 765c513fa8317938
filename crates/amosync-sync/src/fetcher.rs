//! The fetcher: confirm what webhooks hinted at with authenticated API reads.
//!
//! The applier pushes the ids it touched into a [`FetchQueue`]. The fetcher
//! waits [`FetcherConfig::window`] after the first id arrives (ids that
//! arrive meanwhile, or while a fetch runs, join the next batch), then reads
//! everything in as few requests as the API allows, under the client's one
//! shared rate limiter:
//!
//! 1. **talks** — `GET /api/v4/talks/{id}` each (no list endpoint; 204 →
//!    left as is), at most [`crate::talk_reads::TALK_READS_PER_BATCH`] per
//!    batch (the rest wait for the next batch, so one flood of talk ids
//!    cannot hold back the leads of other bodies). A talk's lead/contact that the store does not know is
//!    added to this batch.
//! 2. **leads** — `GET /api/v4/leads?filter[id][]=…&with=contacts` (≤ 250 ids
//!    per request). Ids missing from the answer are looked up in the trash
//!    (`with=only_deleted`): found there → stored as a tombstone with
//!    amoCRM's deletion time. Missing from both (purged from the trash, or
//!    merged) → a stored live lead is tombstoned at *now*; a newer version
//!    still revives it, so a lead that was merely not visible yet recovers on
//!    its next change or the next catch-up. Linked contacts the store does
//!    not know are added to this batch.
//! 3. **contacts** — `GET /api/v4/contacts?filter[id][]=…`; a stored live
//!    contact missing from the answer is tombstoned at now (the client has no
//!    trash read for contacts).
//! 4. **companies** — `GET /api/v4/companies?filter[id][]=…&with=leads,contacts`
//!    (≤ 250 ids per request); ids missing from the answer → tombstone at now.
//!
//! Records read here are upserted with [`Origin::Api`], the write's clock
//! being the moment the answer arrived: on equal `updated_at` the API read
//! replaces a webhook version or an API version read earlier (a catch-up
//! page may be written after a newer fetcher read; it does not win). A
//! talk read removes it from the store's durable "to confirm" list; talks
//! of a batch this fetcher drops stay in that list, and the next catch-up
//! reads them. Each write also
//! adds the API usage since the last one (the client's counters, retries
//! included) to `SyncState.api_requests`/`api_429s`.
//!
//! While a catch-up pass runs (the engine calls [`FetchQueue::hold`]), no
//! new batch starts: the pass reads the same records under the same limiter,
//! and the ids gathered meanwhile are read in a few batched requests after it.
//!
//! Errors: retryable API errors (429, 5xx, timeouts, network) put the
//! unfinished ids back and back off (doubling, bounded; after
//! [`FetcherConfig::max_attempts`] failures in a row the batch is dropped —
//! the next catch-up covers it: leads, contacts and companies through the
//! `updated_at` lists and events, talks through the "to confirm" list). 401 (revoked), 403 (blocked) and 402 stop
//! the fetcher: the error shows in `EngineStatus::halted` (with
//! `halted_code`) and `last_error`, queued ids are dropped, and fetching
//! resumes after the next successful catch-up.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use amo::models::{Company, Contact, Lead, Talk};
use amo::{ApiError, CompanyWith, LeadWith};
use amosync_store::{Origin, Store, StoreError};
use tokio::sync::{Notify, watch};
use tracing::Instrument;

use crate::applier::Touched;
use crate::clock::Clock;
use crate::error::{api_code, api_stops};
use crate::usage::ApiMeter;
use crate::util::{changed, write_counting, write_relaxed_groups};

/// Records written per transaction when a batch confirms many: all groups
/// but the last are relaxed commits, the last is durable (and persists
/// them), so redb's single writer, which the webhooks' ack path shares, is
/// held for one group at a time (see `util::write_relaxed_groups`).
const FETCH_TX_RECORDS: usize = 100;

/// Fetcher settings.
#[derive(Debug, Clone)]
pub struct FetcherConfig {
    /// How long ids are gathered before one batched read (default 300 ms).
    pub window: Duration,
    /// Failed attempts in a row before a batch is dropped (default 5).
    pub max_attempts: u32,
    /// First backoff delay after a retryable error (default 1 s).
    pub backoff_base: Duration,
    /// Largest backoff delay (default 30 s).
    pub backoff_max: Duration,
}

impl Default for FetcherConfig {
    fn default() -> Self {
        FetcherConfig {
            window: Duration::from_millis(300),
            max_attempts: 5,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
        }
    }
}

/// The delay before attempt `attempt + 1` (pure): base · 2^(attempt−1), capped.
pub fn backoff(config: &FetcherConfig, attempt: u32) -> Duration {
    let factor = 1u32
        .checked_shl(attempt.saturating_sub(1))
        .unwrap_or(u32::MAX);
    config
        .backoff_base
        .checked_mul(factor)
        .unwrap_or(config.backoff_max)
        .min(config.backoff_max)
}

#[derive(Debug, Default)]
struct QueueState {
    pending: Touched,
    in_flight: bool,
    /// Catch-up passes running (the fetcher starts no batch meanwhile).
    held: u32,
    /// When each pending talk id was last pushed.
    talk_pushed: HashMap<u64, Instant>,
    halted: Option<String>,
    halted_code: Option<&'static str>,
    last_error: Option<String>,
}

/// Ids waiting for confirmation, shared by the applier (producer), the
/// fetcher (consumer), catch-up (resume) and the status reporter.
#[derive(Debug, Default)]
pub struct FetchQueue {
    state: Mutex<QueueState>,
    notify: Notify,
    generation: AtomicU64,
    requests: AtomicU64,
    /// API usage recording shared by the fetcher and catch-up.
    meter: Mutex<Option<Arc<ApiMeter>>>,
}

impl FetchQueue {
    /// An empty queue.
    pub fn new() -> Arc<FetchQueue> {
        Arc::new(FetchQueue::default())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Adds ids to confirm. Dropped while the fetcher is halted (the next
    /// catch-up reads everything changed anyway).
    pub fn push(&self, touched: Touched) {
        if touched.is_empty() {
            return;
        }
        {
            let mut s = self.lock();
            if s.halted.is_some() {
                return;
            }
            let now = Instant::now();
            for id in &touched.talks {
                s.talk_pushed.insert(*id, now);
            }
            s.pending.merge(touched);
        }
        self.bump();
        self.notify.notify_one();
    }

    /// Ids waiting.
    pub fn pending(&self) -> usize {
        self.lock().pending.len()
    }

    /// No ids waiting and no fetch running.
    pub fn is_idle(&self) -> bool {
        let s = self.lock();
        s.pending.is_empty() && !s.in_flight
    }

    /// Changes whenever ids are pushed, taken or finished (for `settle`).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Why fetching is stopped, if it is.
    pub fn halted(&self) -> Option<String> {
        self.lock().halted.clone()
    }

    /// The last fetch error (cleared by a successful fetch).
    pub fn last_error(&self) -> Option<String> {
        self.lock().last_error.clone()
    }

    /// The stable code of why fetching is stopped (`auth_revoked`,
    /// `account_blocked`, `payment_required`), when known.
    pub fn halted_code(&self) -> Option<&'static str> {
        self.lock().halted_code
    }

    /// The usage meter of `client` shared by whoever uses this queue (the
    /// fetcher and the engine's catch-up); created on first use, counting
    /// from then.
    pub(crate) fn meter(&self, client: &amo::Client) -> Arc<ApiMeter> {
        let mut m = self
            .meter
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        m.get_or_insert_with(|| Arc::new(ApiMeter::new(client)))
            .clone()
    }

    /// API requests made by the fetcher since start.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Stops fetching (a person must act) and drops the queued ids.
    pub fn halt(&self, reason: String) {
        self.halt_inner(None, reason);
    }

    /// [`FetchQueue::halt`] for an API refusal, keeping its code.
    pub(crate) fn halt_api(&self, e: &ApiError) {
        self.halt_inner(Some(api_code(e)), e.to_string());
    }

    fn halt_inner(&self, code: Option<&'static str>, reason: String) {
        {
            let mut s = self.lock();
            s.pending = Touched::default();
            s.talk_pushed.clear();
            s.last_error = Some(reason.clone());
            s.halted = Some(reason);
            s.halted_code = code;
        }
        self.bump();
    }

    /// Resumes fetching (after a successful catch-up).
    pub fn resume(&self) {
        let was = {
            let mut s = self.lock();
            let was = s.halted.take().is_some();
            s.halted_code = None;
            if was {
                s.last_error = None;
            }
            was
        };
        if was {
            tracing::info!("fetcher resumed after a successful catch-up");
            self.bump();
        }
    }

    /// Holds new batches while a catch-up pass runs: the pass reads the same
    /// records and shares the one rate limiter, so ids wait (coalescing) and
    /// are read in a few batched requests after it ([`FetchQueue::release`]).
    /// A batch already running finishes.
    pub fn hold(&self) {
        self.lock().held += 1;
        self.bump();
    }

    /// Ends a [`FetchQueue::hold`].
    pub fn release(&self) {
        {
            let mut s = self.lock();
            s.held = s.held.saturating_sub(1);
        }
        self.bump();
        self.notify.notify_one();
    }

    /// Drops pending talk ids that catch-up read after they were pushed
    /// (`read`: id and the moment just before its request): that read saw
    /// whatever the push was about.
    pub(crate) fn drop_talks_read(&self, read: &[(u64, Instant)]) {
        let dropped = {
            let mut s = self.lock();
            let mut n = 0usize;
            for (id, asked) in read {
                if s.talk_pushed.get(id).is_some_and(|pushed| pushed < asked) {
                    s.talk_pushed.remove(id);
                    s.pending.talks.remove(id);
                    n += 1;
                }
            }
            n
        };
        if dropped > 0 {
            tracing::debug!(
                talks = dropped,
                "talks already read by catch-up left out of the fetch queue"
            );
            self.bump();
        }
    }

    fn held(&self) -> bool {
        self.lock().held > 0
    }

    fn take(&self) -> Option<Touched> {
        let taken = {
            let mut s = self.lock();
            if s.pending.is_empty() || s.halted.is_some() || s.held > 0 {
                return None;
            }
            s.in_flight = true;
            s.talk_pushed.clear();
            std::mem::take(&mut s.pending)
        };
        self.bump();
        Some(taken)
    }

    fn finish(&self, requeue: Option<Touched>, error: Option<String>) {
        {
            let mut s = self.lock();
            s.in_flight = false;
            if let Some(back) = requeue
                && s.halted.is_none()
            {
                let now = Instant::now();
                for id in &back.talks {
                    s.talk_pushed.entry(*id).or_insert(now);
                }
                s.pending.merge(back);
            }
            match error {
                Some(e) => s.last_error = Some(e),
                None if s.halted.is_none() => s.last_error = None,
                None => {}
            }
        }
        self.bump();
    }
}

/// What one batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchReport {
    /// Records read from the API.
    pub read: u64,
    /// Records that changed the store.
    pub changed: u64,
    /// Records tombstoned because the API no longer has them.
    pub tombstoned: u64,
    /// API requests made.
    pub requests: u64,
}

/// Why a batch stopped.
#[derive(Debug)]
pub enum FetchError {
    /// The API failed.
    Api(ApiError),
    /// The store failed.
    Store(StoreError),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Api(e) => write!(f, "{e}"),
            FetchError::Store(e) => write!(f, "{e}"),
        }
    }
}

/// Ids in `requested` that `found` lacks, in order (pure).
pub fn missing_ids(requested: &[u64], found: &BTreeSet<u64>) -> Vec<u64> {
    requested
        .iter()
        .copied()
        .filter(|id| !found.contains(id))
        .collect()
}

fn chunks_of(n: usize) -> u64 {
    n.div_ceil(amo::MAX_IDS_PER_REQUEST) as u64
}

/// Confirms one batch. On error, `work` holds what is still unconfirmed.
/// The batch's API usage is added to the sync state with its records.
pub async fn fetch_batch(
    store: &Store,
    client: &amo::Client,
    clock: &dyn Clock,
    work: &mut Touched,
) -> Result<FetchReport, FetchError> {
    fetch_batch_metered(store, client, clock, work, &ApiMeter::new(client)).await
}

/// [`fetch_batch`], recording API usage through `meter`.
pub(crate) async fn fetch_batch_metered(
    store: &Store,
    client: &amo::Client,
    clock: &dyn Clock,
    work: &mut Touched,
    meter: &ApiMeter,
) -> Result<FetchReport, FetchError> {
    let mut report = FetchReport::default();

    // 1. Talks.
    if !work.talks.is_empty() {
        // A bounded share of this batch; the rest stays in `work.talks` for
        // the next batch (`talk_reads`).
        let ids: Vec<u64> = crate::talk_reads::take_batch(&mut work.talks);
        report.requests += ids.len() as u64;
        // The read counts from when it was asked: an answer that left amoCRM
        // before a webhook arrived must not count as a read made after it.
        let read_ms = clock.now_ms();
        let talks: Vec<Talk> = crate::catchup::by_id(ids.iter().copied(), |id| client.talk(id))
            .await
            .map_err(FetchError::Api)?;
        report.read += talks.len() as u64;
        let (n, leads, contacts) = write_counting(store, read_ms, meter, client, move |tx| {
            let mut n = 0;
            let mut leads = Vec::new();
            let mut contacts = Vec::new();
            for t in &talks {
                if changed(tx.upsert_talk(t, Origin::Api)?) {
                    n += 1;
                }
                if t.entity_type.as_deref() == Some("lead")
                    && let Some(id) = t.entity_id
                    && tx.lead(id)?.is_none()
                {
                    leads.push(id);
                }
                if let Some(id) = t.contact_id
                    && tx.contact(id)?.is_none()
                {
                    contacts.push(id);
                }
            }
            Ok((n, leads, contacts))
        })
        .await
        .map_err(FetchError::Store)?;
        report.changed += n;
        work.leads.extend(leads);
        work.contacts.extend(contacts);
    }

    // 2. Leads, then the trash for those missing.
    if !work.leads.is_empty() {
        let ids: Vec<u64> = work.leads.iter().copied().collect();
        let mut requests = chunks_of(ids.len());
        let read_ms = clock.now_ms();
        let found = client
            .leads_by_ids(&ids, &[LeadWith::Contacts])
            .await
            .map_err(FetchError::Api)?;
        let found_ids: BTreeSet<u64> = found.iter().map(|l| l.id).collect();
        let missing = missing_ids(&ids, &found_ids);
        let mut trashed: Vec<Lead> = Vec::new();
        if !missing.is_empty() {
            requests += chunks_of(missing.len());
            trashed = client
                .leads_by_ids(&missing, &[LeadWith::OnlyDeleted])
                .await
                .map_err(FetchError::Api)?;
        }
        let trashed_ids: BTreeSet<u64> = trashed.iter().map(|l| l.id).collect();
        let gone = missing_ids(&missing, &trashed_ids);
        report.requests += requests;
        report.read += (found.len() + trashed.len()) as u64;
        let put_leads = |tx: &mut amosync_store::WriteTx<'_>,
                         leads: &[Lead]|
         -> amosync_store::StoreResult<(u64, Vec<u64>)> {
            let mut n = 0u64;
            let mut contacts = Vec::new();
            for l in leads {
                if changed(tx.upsert_lead(l, Origin::Api)?) {
                    n += 1;
                }
                for cid in l.contact_ids() {
                    if tx.contact(cid)?.is_none() {
                        contacts.push(cid);
                    }
                }
            }
            Ok((n, contacts))
        };
        let (groups, found) =
            write_relaxed_groups(store, read_ms, found, FETCH_TX_RECORDS, put_leads)
                .await
                .map_err(FetchError::Store)?;
        for (n, contacts) in groups {
            report.changed += n;
            work.contacts.extend(contacts);
        }
        let (n, dead, contacts) = write_counting(store, read_ms, meter, client, move |tx| {
            let mut dead = 0;
            let (mut n, contacts) = put_leads(tx, &found)?;
            for l in &mut trashed {
                l.is_deleted = true;
                if changed(tx.upsert_lead(l, Origin::Api)?) {
                    n += 1;
                }
            }
            for id in &gone {
                // Tombstone at the version we hold, not at "now": a later API
                // read that finds it live after all (same or newer version)
                // revives it.
                let held = tx
                    .lead(*id)?
                    .filter(|r| r.sync.deleted_at.is_none())
                    .map(|r| r.lead.updated_at);
                if let Some(at) = held
                    && changed(tx.delete_lead(*id, at)?)
                {
                    dead += 1;
                }
            }
            Ok((n, dead, contacts))
        })
        .await
        .map_err(FetchError::Store)?;
        if dead > 0 {
            tracing::info!(
                count = dead,
                "leads no longer in amoCRM (not even in the trash) tombstoned"
            );
        }
        report.changed += n;
        report.tombstoned += dead;
        work.leads.clear();
        work.contacts.extend(contacts);
    }

    // 3. Contacts.
    if !work.contacts.is_empty() {
        let ids: Vec<u64> = work.contacts.iter().copied().collect();
        let requests = chunks_of(ids.len());
        let read_ms = clock.now_ms();
        let found: Vec<Contact> = client
            .contacts_by_ids(&ids, &[])
            .await
            .map_err(FetchError::Api)?;
        let found_ids: BTreeSet<u64> = found.iter().map(|c| c.id).collect();
        let gone = missing_ids(&ids, &found_ids);
        report.requests += requests;
        report.read += found.len() as u64;
        let put_contacts = |tx: &mut amosync_store::WriteTx<'_>,
                            contacts: &[Contact]|
         -> amosync_store::StoreResult<u64> {
            let mut n = 0u64;
            for c in contacts {
                if changed(tx.upsert_contact(c, Origin::Api)?) {
                    n += 1;
                }
            }
            Ok(n)
        };
        let (groups, found) =
            write_relaxed_groups(store, read_ms, found, FETCH_TX_RECORDS, put_contacts)
                .await
                .map_err(FetchError::Store)?;
        report.changed += groups.iter().sum::<u64>();
        let (n, dead) = write_counting(store, read_ms, meter, client, move |tx| {
            let mut dead = 0;
            let n = put_contacts(tx, &found)?;
            for id in &gone {
                let held = tx
                    .contact(*id)?
                    .filter(|r| r.sync.deleted_at.is_none())
                    .map(|r| r.contact.updated_at);
                if let Some(at) = held
                    && changed(tx.delete_contact(*id, at)?)
                {
                    dead += 1;
                }
            }
            Ok((n, dead))
        })
        .await
        .map_err(FetchError::Store)?;
        report.changed += n;
        report.tombstoned += dead;
        work.contacts.clear();
    }

    // 4. Companies.
    if !work.companies.is_empty() {
        let ids: Vec<u64> = work.companies.iter().copied().collect();
        let read_ms = clock.now_ms();
        let found: Vec<Company> = client
            .companies_by_ids(&ids, &[CompanyWith::Leads, CompanyWith::Contacts])
            .await
            .map_err(FetchError::Api)?;
        let found_ids: BTreeSet<u64> = found.iter().map(|c| c.id).collect();
        let gone = missing_ids(&ids, &found_ids);
        report.requests += chunks_of(ids.len());
        report.read += found.len() as u64;
        let n = write_counting(store, read_ms, meter, client, move |tx| {
            let mut n = 0;
            for c in &found {
                if changed(tx.upsert_company(c, Origin::Api)?) {
                    n += 1;
                }
            }
            for id in &gone {
                let held = tx
                    .company(*id)?
                    .filter(|r| r.sync.deleted_at.is_none())
                    .map(|r| r.company.updated_at);
                if let Some(at) = held
                    && changed(tx.delete_company(*id, at)?)
                {
                    n += 1;
                }
            }
            Ok(n)
        })
        .await
        .map_err(FetchError::Store)?;
        report.changed += n;
        work.companies.clear();
    }
    Ok(report)
}

/// The fetcher task: runs until `stop` turns true.
pub async fn run(
    queue: Arc<FetchQueue>,
    store: Store,
    client: amo::Client,
    clock: Arc<dyn Clock>,
    config: FetcherConfig,
    mut stop: watch::Receiver<bool>,
) {
    let meter = queue.meter(&client);
    let mut failures: u32 = 0;
    loop {
        if *stop.borrow() {
            break;
        }
        if queue.pending() == 0 || queue.halted().is_some() || queue.held() {
            tokio::select! {
                () = queue.notify.notified() => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        // Coalesce: let more ids arrive.
        tokio::select! {
            () = tokio::time::sleep(config.window) => {}
            _ = stop.changed() => break,
        }
        let Some(mut work) = queue.take() else {
            continue;
        };
        let span = tracing::debug_span!(
            "fetch",
            leads = work.leads.len(),
            contacts = work.contacts.len(),
            companies = work.companies.len(),
            talks = work.talks.len()
        );
        let result = tokio::select! {
            r = fetch_batch_metered(&store, &client, &*clock, &mut work, &meter).instrument(span) => r,
            _ = stop.changed() => {
                queue.finish(None, None);
                break;
            }
        };
        match result {
            Ok(report) => {
                failures = 0;
                queue.requests.fetch_add(report.requests, Ordering::Relaxed);
                tracing::debug!(
                    read = report.read,
                    changed = report.changed,
                    tombstoned = report.tombstoned,
                    requests = report.requests,
                    "fetch confirmed"
                );
                // Talks beyond this batch's share wait for the next one.
                queue.finish((!work.is_empty()).then_some(work), None);
            }
            Err(FetchError::Api(e)) if e.is_retryable() => {
                failures += 1;
                let message = format!("{} ({})", e, api_code(&e));
                if failures >= config.max_attempts {
                    tracing::warn!(error = %e, attempts = failures, ids = work.len(), "fetch keeps failing; dropped the batch until the next catch-up");
                    failures = 0;
                    queue.finish(None, Some(message));
                } else {
                    let delay = backoff(&config, failures);
                    tracing::info!(error = %e, attempt = failures, delay_ms = delay.as_millis() as u64, "fetch failed; retrying");
                    queue.finish(Some(work), Some(message));
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        _ = stop.changed() => break,
                    }
                }
            }
            Err(FetchError::Api(e)) if api_stops(&e) => {
                failures = 0;
                tracing::error!(error = %e, code = api_code(&e), "amoCRM refused the fetcher; stopped until the next catch-up");
                queue.finish(None, None);
                queue.halt_api(&e);
            }
            Err(e) => {
                failures = 0;
                tracing::warn!(error = %e, ids = work.len(), "fetch failed; dropped the batch until the next catch-up");
                queue.finish(None, Some(e.to_string()));
            }
        }
    }
    tracing::debug!("fetcher stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_table() {
        let c = FetcherConfig::default();
        let cases = [(1, 1), (2, 2), (3, 4), (4, 8), (5, 16), (6, 30), (40, 30)];
        for (attempt, secs) in cases {
            assert_eq!(
                backoff(&c, attempt),
                Duration::from_secs(secs),
                "attempt {attempt}"
            );
        }
    }

    #[test]
    fn missing_ids_keep_order() {
        let found: BTreeSet<u64> = [2, 4].into_iter().collect();
        assert_eq!(missing_ids(&[5, 4, 3, 2, 1], &found), [5, 3, 1]);
        assert!(missing_ids(&[], &found).is_empty());
    }

    #[test]
    fn talks_read_by_catch_up_leave_the_queue() {
        let q = FetchQueue::new();
        let before = Instant::now();
        q.push(Touched {
            talks: [1, 2].into_iter().collect(),
            leads: [5].into_iter().collect(),
            ..Touched::default()
        });
        let after = Instant::now();
        // Talk 1 asked before the push (may have missed it), 2 after.
        q.drop_talks_read(&[(1, before), (2, after), (3, after)]);
        let taken = q.take().expect("work");
        assert_eq!(taken.talks, [1].into_iter().collect());
        assert_eq!(taken.leads, [5].into_iter().collect());
    }

    #[test]
    fn held_queue_starts_no_batch() {
        let q = FetchQueue::new();
        q.hold();
        q.push(Touched {
            leads: [1].into_iter().collect(),
            ..Touched::default()
        });
        assert!(q.take().is_none(), "held");
        assert!(!q.is_idle());
        q.release();
        assert!(q.take().is_some());
    }

    #[test]
    fn queue_lifecycle() {
        let q = FetchQueue::new();
        assert!(q.is_idle());
        let g0 = q.generation();
        let mut t = Touched::default();
        t.leads.insert(1);
        t.talks.insert(9);
        q.push(t.clone());
        assert_eq!(q.pending(), 2);
        assert!(!q.is_idle());
        assert!(q.generation() > g0);
        let taken = q.take().expect("work");
        assert_eq!(taken, t);
        assert!(!q.is_idle(), "in flight");
        q.push(Touched {
            leads: [2].into_iter().collect(),
            ..Touched::default()
        });
        q.finish(Some(taken), Some("boom".into()));
        assert_eq!(q.pending(), 3, "requeued and merged");
        assert_eq!(q.last_error().as_deref(), Some("boom"));
        q.halt("revoked".into());
        assert_eq!(q.pending(), 0);
        q.push(t.clone());
        assert_eq!(q.pending(), 0, "dropped while halted");
        assert!(q.take().is_none());
        q.resume();
        assert!(q.halted().is_none() && q.last_error().is_none());
        q.push(t);
        assert_eq!(q.pending(), 2);
    }
}
