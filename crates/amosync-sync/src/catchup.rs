//! Catch-up: close every gap (lost webhooks, downtime) from the API.
//!
//! One pass ([`catch_up`]):
//!
//! 1. `GET /api/v4/account` (must be the bound account), users (skipped
//!    with a warning when the token is not an admin's) and pipelines — both
//!    replaced in the store.
//! 2. Four list reads under the client's shared limiter (the store writes
//!    happen in a separate writer task on the blocking pool, overlapping the
//!    next request; each page is written with the moment its answer arrived
//!    as the write's clock, so an older read never replaces a newer one of
//!    the same second). An incremental pass runs the four **concurrently**,
//!    so the limiter always has a request queued. A **full pull reads the
//!    leads first**, alone, page after page (the limiter kept busy with lead
//!    pages only), and the other three concurrently after: the funnel is
//!    complete after about `lead pages / rate` seconds
//!    ([`CatchupReport::leads_done_ms`]) instead of at the end of the pass:
//!    * leads `with=contacts`, `order[updated_at]=asc`, 250 per page;
//!    * contacts, `order[updated_at]=asc`, 250 per page;
//!    * companies `with=leads,contacts`, `order[updated_at]=asc`, 250 per page;
//!    * events ([`EVENT_KINDS`]: lead added/moved/deleted/restored, contact
//!      and company deleted/restored, chat messages),
//!      `order[created_at]=asc`, 100 per page. The lists show live records
//!      only, so deletions come from here.
//! 3. Then, by id, everything in the store's durable **"to confirm" list**
//!    ([`amosync_store::Confirm`]): records the event pages queued — leads,
//!    contacts and companies restored, talks with chat activity newer than
//!    the stored copy — in the same transaction as the page and the events
//!    cursor, plus every talk the API never confirmed (placeholders built
//!    from messages, webhook hints; the store keeps those listed). An entry
//!    leaves the list only when the API answered for it, so a pass that
//!    fails or is stopped before these reads (or a crash) leaves them to the
//!    next pass instead of losing them behind the advanced cursor. Talks
//!    cost one request each (amoCRM has no talk list), so they come after
//!    every list, never between lead pages.
//! 4. The **tail**: each list read again from where it ended (usually one
//!    short page each), then step 3 again if events came. The pass then
//!    covers every change made before its tail started, which is what
//!    `EngineHandle::catch_up_now` relies on to reuse a running pass.
//! 5. Bookkeeping: the API usage of the pass (the client's counters, retries
//!    included) is added to `SyncState.api_requests`/`api_429s`; status
//!    moves and chat messages only a webhook reported, dated before the pass
//!    began (less the webhook clock skew), that the events read did not
//!    confirm are dropped (the events API is the truth).
//!
//! **Cursors never pass the request's start** ([`next_cursor`]): the
//! largest `updated_at` read, capped at the moment just before the page
//! was asked for, so one record dated in the future cannot make every
//! later pass ask from then on and leave lost webhooks unrepaired.
//!
//! Company deletions: amoCRM writes `company_deleted` (and
//! `company_restored`) events, read like the contact ones; the fetcher also
//! tombstones a company a webhook mentioned that the API no longer lists.
//!
//! **Full pull** (the store never finished one: `initial_sync_at` is
//! `None`): leads, contacts and companies from the beginning (or resumed from
//! a cursor an interrupted full pull left, minus the overlap); events of the last
//! [`CatchupOptions::initial_history`] (default 7 days). Older status history
//! and chat activity are not pulled: the current state of every lead is
//! complete after the pull, and history accumulates from then on — an
//! account's whole event history can be tens of thousands of pages at
//! 100 per page, which would hold the first sync for hours.
//!
//! **Incremental**: leads, contacts and companies with
//! `filter[updated_at][from] = cursor − overlap`, events with `filter[created_at][from] = events_cursor −
//! overlap`. Every write is idempotent (newest wins; status changes and
//! messages are recorded once), so the overlap only costs a few re-reads.
//!
//! **Keyset paging.** A list ordered by `updated_at` shifts under page
//! numbers when a record is updated mid-read (it moves to the end and the
//! record after it slides into the page already read — and would be missed
//! for good, since its `updated_at` is older than the cursor). So each page
//! restarts the query at the page's largest time ([`keyset_step`]); only when
//! a whole page shares one time does the read follow `_links.next` within
//! that time. The records at the boundary time are read twice; nothing is
//! skipped.
//!
//! Cursors are written in the same transaction as the page they cover
//! (one write transaction per page), so an interrupted pass resumes where
//! it stopped.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use amo::models::{Company, Contact, Event, Lead, StatusKey, event_kinds};
use amo::{
    ApiError, CompaniesQuery, CompanyWith, ContactsOrder, ContactsQuery, EventsQuery, LeadWith,
    LeadsOrder, LeadsQuery, PageStream, SortDirection,
};
use amosync_store::{
    ChatMessage, Confirm, Direction, Origin, StatusChange, Store, StoreResult, SyncState, WriteTx,
};
use futures::StreamExt;
use serde::Serialize;
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::clock::Clock;
use crate::error::SyncError;
use crate::usage::{ApiMeter, usage_delta};
use crate::util::{changed, read, write, write_counting};

/// Catch-up settings.
#[derive(Debug, Clone)]
pub struct CatchupOptions {
    /// Subtracted from each cursor (default 5 min).
    pub overlap: Duration,
    /// How far back the first full pull reads events (default 7 days).
    pub initial_history: Duration,
}

impl Default for CatchupOptions {
    fn default() -> Self {
        CatchupOptions {
            overlap: Duration::from_secs(300),
            initial_history: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ts_rs::TS)]
pub struct CatchupReport {
    /// This was the first full pull.
    pub full: bool,
    /// Leads read.
    pub leads: u64,
    /// Contacts read.
    pub contacts: u64,
    /// Companies read.
    pub companies: u64,
    /// Events read.
    pub events: u64,
    /// Talks read.
    pub talks: u64,
    /// Records that changed the store.
    pub changed: u64,
    /// API requests sent during the pass (the client's counter: retries
    /// included, and requests of clones running meanwhile).
    pub requests: u64,
    /// Of those, answered 429.
    pub rate_limited: u64,
    /// Milliseconds taken.
    pub elapsed_ms: u64,
    /// Milliseconds from the pass's start until every page of its lead list
    /// read was stored (the funnel is complete from then on; the tail may
    /// still add leads changed meanwhile). A full pull reads the leads
    /// first, alone, so this comes long before `elapsed_ms`.
    pub leads_done_ms: u64,
}

/// Event types catch-up reads beyond those `amo::models::event_kinds` names.
pub mod more_kinds {
    /// A contact was moved to the trash.
    pub const CONTACT_DELETED: &str = "contact_deleted";
    /// A deleted contact came back.
    pub const CONTACT_RESTORED: &str = "contact_restored";
    /// A company was deleted.
    pub const COMPANY_DELETED: &str = "company_deleted";
    /// A deleted company came back (amoCRM's event list has it; the
    /// emulator cannot restore companies, so it never writes one).
    pub const COMPANY_RESTORED: &str = "company_restored";
}

/// The event types catch-up reads.
///
/// Deletions must come from here: the lists (`/leads`, `/contacts`,
/// `/companies`) show live records only, so a record whose delete webhook was
/// lost would otherwise stay live in the store for ever.
pub const EVENT_KINDS: [&str; 10] = [
    event_kinds::LEAD_ADDED,
    event_kinds::LEAD_STATUS_CHANGED,
    event_kinds::LEAD_DELETED,
    event_kinds::LEAD_RESTORED,
    more_kinds::CONTACT_DELETED,
    more_kinds::CONTACT_RESTORED,
    more_kinds::COMPANY_DELETED,
    more_kinds::COMPANY_RESTORED,
    event_kinds::INCOMING_CHAT_MESSAGE,
    event_kinds::OUTGOING_CHAT_MESSAGE,
];

/// Where each read of a pass starts (pure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassPlan {
    /// A full pull.
    pub full: bool,
    /// Leads `filter[updated_at][from]` (`None` = everything).
    pub leads_from: Option<i64>,
    /// Contacts `filter[updated_at][from]`.
    pub contacts_from: Option<i64>,
    /// Companies `filter[updated_at][from]`.
    pub companies_from: Option<i64>,
    /// Events `filter[created_at][from]`.
    pub events_from: i64,
}

/// Plans a pass from the stored state (pure).
pub fn plan_pass(state: &SyncState, now_s: i64, options: &CatchupOptions) -> PassPlan {
    let overlap = i64::try_from(options.overlap.as_secs()).unwrap_or(i64::MAX / 4);
    let history = i64::try_from(options.initial_history.as_secs()).unwrap_or(i64::MAX / 4);
    // A cursor past now (written before cursors were capped) starts at now.
    let back = |cursor: Option<i64>| cursor.map(|c| c.min(now_s).saturating_sub(overlap).max(0));
    let full = state.initial_sync_at.is_none();
    let floor = now_s.saturating_sub(history).max(0);
    PassPlan {
        full,
        leads_from: back(state.leads_cursor),
        contacts_from: back(state.contacts_cursor),
        companies_from: back(state.companies_cursor),
        events_from: match (full, back(state.events_cursor)) {
            // A full pull reads the recent history, even when an interrupted
            // one left an events cursor further back.
            (true, Some(from)) => from.max(floor),
            (true, None) | (false, None) => floor,
            (false, Some(from)) => from,
        },
    }
}

/// What to do after a page of a keyset read (pure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeysetStep {
    /// The list is read.
    Done,
    /// Every record of the page has the start time: follow `_links.next`.
    NextPage,
    /// Start the query again at this time (inclusive).
    Restart(i64),
}

/// The next step after a page whose records have `times`, read from `from`.
/// An empty page ends the read; a page reaching past `from` restarts at its
/// largest time; a page entirely at `from` continues with the next page.
pub fn keyset_step(from: Option<i64>, times: &[i64]) -> KeysetStep {
    let Some(max) = times.iter().copied().max() else {
        return KeysetStep::Done;
    };
    match from {
        Some(f) if max <= f => KeysetStep::NextPage,
        _ => KeysetStep::Restart(max),
    }
}

/// When a page was read: the unix ms its HTTP answer arrived (the write's
/// clock: between two API versions of one second the later *read* wins, and
/// the writer may run behind the readers), and the unix seconds just before
/// its request was made (the cap of the cursor it advances).
#[derive(Debug, Clone, Copy)]
struct PageTimes {
    read_ms: i64,
    asked_s: i64,
}

/// One page for the writer.
enum Job {
    Leads(Vec<Lead>, PageTimes),
    Contacts(Vec<Contact>, PageTimes),
    Companies(Vec<Company>, PageTimes),
    Events(Vec<Event>, PageTimes),
}

/// A list cursor after a page whose largest time is `page_max`, asked at
/// `asked_s` (pure): the largest time read, **never later than the
/// request's start**. One record dated in the future (a clock gone wrong,
/// a bad import) would otherwise make every later pass ask from then on,
/// and changes made meanwhile — the lost webhooks catch-up exists to
/// repair — would never be read. A cursor already past `asked_s` (written
/// before this cap existed) is brought back to it.
pub fn next_cursor(old: Option<i64>, page_max: i64, asked_s: i64) -> i64 {
    old.map_or(page_max, |c| c.max(page_max)).min(asked_s)
}

/// Reads a list with keyset paging, sending each page (minus records already
/// sent at the same time) to `out`. Returns the records sent, the moment
/// just before the read's last request was made (the list as read includes
/// every change made before it), and where the read ended (its last start).
async fn keyset_read<T, O, K, I, W>(
    start: Option<i64>,
    open: O,
    time_of: K,
    id_of: I,
    wrap: W,
    clock: &dyn Clock,
    out: mpsc::Sender<Job>,
) -> Result<(u64, Instant, Option<i64>), SyncError>
where
    T: Send + 'static,
    O: Fn(Option<i64>) -> PageStream<T>,
    K: Fn(&T) -> i64,
    I: Fn(&T) -> String,
    W: Fn(Vec<T>, PageTimes) -> Job,
{
    let mut from = start;
    let mut seen: HashMap<String, i64> = HashMap::new();
    let mut sent = 0u64;
    let mut last_request;
    let mut asked_s;
    // A pass cannot loop forever: every restart moves `from` forward, and
    // within one time the stream follows its own (bounded) pages.
    'restart: loop {
        let mut stream = open(from);
        loop {
            last_request = Instant::now();
            asked_s = clock.now_s();
            // The read counts from when it was asked (not answered): an
            // answer that left amoCRM before a webhook arrived is no read
            // made after that webhook.
            let read_ms = clock.now_ms();
            let Some(page) = stream.next().await else {
                break 'restart;
            };
            let page = page?;
            let times: Vec<i64> = page.iter().map(&time_of).collect();
            let step = keyset_step(from, &times);
            let fresh: Vec<T> = page
                .into_iter()
                .filter(|item| {
                    let (id, t) = (id_of(item), time_of(item));
                    seen.insert(id, t) != Some(t)
                })
                .collect();
            if !fresh.is_empty() {
                sent += fresh.len() as u64;
                out.send(wrap(fresh, PageTimes { read_ms, asked_s }))
                    .await
                    .map_err(|_| SyncError::Stopped)?;
            }
            match step {
                KeysetStep::Done => break 'restart,
                KeysetStep::NextPage => {}
                KeysetStep::Restart(t) => {
                    from = Some(t);
                    continue 'restart;
                }
            }
        }
    }
    // Where a later read starts again: never past this read's start (a
    // record dated in the future must not hide what changes meanwhile).
    Ok((sent, last_request, from.map(|f| f.min(asked_s))))
}

/// What the writer did.
#[derive(Debug, Default)]
struct Written {
    changed: u64,
    /// When the last lead page was stored.
    leads_stored: Option<Instant>,
}

/// The store side of an event (pure): what to do with it.
#[derive(Debug, Clone, PartialEq)]
pub enum EventAction {
    /// Tombstone the lead at the event time (when known to the store).
    DeleteLead {
        /// Lead.
        id: u64,
        /// Unix seconds.
        at: i64,
    },
    /// Revive the lead and read it again.
    RestoreLead {
        /// Lead.
        id: u64,
        /// Unix seconds.
        at: i64,
    },
    /// Tombstone the contact at the event time (when known to the store).
    DeleteContact {
        /// Contact.
        id: u64,
        /// Unix seconds.
        at: i64,
    },
    /// Revive the contact and read it again.
    RestoreContact {
        /// Contact.
        id: u64,
        /// Unix seconds.
        at: i64,
    },
    /// Tombstone the company at the event time (when known to the store).
    DeleteCompany {
        /// Company.
        id: u64,
        /// Unix seconds.
        at: i64,
    },
    /// Revive the company and read it again.
    RestoreCompany {
        /// Company.
        id: u64,
        /// Unix seconds.
        at: i64,
    },
    /// Record a status move.
    Status(StatusChange),
    /// Record a chat message; read its talk when the store's copy is older
    /// (or never confirmed by the API).
    Message(ChatMessage),
    /// Nothing to do.
    Skip,
}

/// Plans one event (pure).
pub fn event_action(e: &Event) -> EventAction {
    let lead = (e.entity_type == "lead").then_some(e.entity_id);
    let of = |entity: &str| (e.entity_type == entity && e.entity_id != 0).then_some(e.entity_id);
    let at = e.created_at;
    match e.kind.as_str() {
        more_kinds::CONTACT_DELETED => of("contact").map_or(EventAction::Skip, |id| {
            EventAction::DeleteContact { id, at }
        }),
        more_kinds::CONTACT_RESTORED => of("contact").map_or(EventAction::Skip, |id| {
            EventAction::RestoreContact { id, at }
        }),
        more_kinds::COMPANY_DELETED => of("company").map_or(EventAction::Skip, |id| {
            EventAction::DeleteCompany { id, at }
        }),
        more_kinds::COMPANY_RESTORED => of("company").map_or(EventAction::Skip, |id| {
            EventAction::RestoreCompany { id, at }
        }),
        event_kinds::LEAD_DELETED => match lead {
            Some(id) => EventAction::DeleteLead {
                id,
                at: e.created_at,
            },
            None => EventAction::Skip,
        },
        event_kinds::LEAD_RESTORED => match lead {
            Some(id) => EventAction::RestoreLead {
                id,
                at: e.created_at,
            },
            None => EventAction::Skip,
        },
        event_kinds::LEAD_STATUS_CHANGED | event_kinds::LEAD_ADDED => {
            match (lead, e.status_after()) {
                (Some(lead_id), Some(after)) => {
                    let from: Option<StatusKey> = if e.kind == event_kinds::LEAD_ADDED {
                        None
                    } else {
                        e.status_before().map(|b| b.key())
                    };
                    EventAction::Status(StatusChange {
                        lead_id,
                        at: e.created_at,
                        from,
                        to: after.key(),
                        by: (e.created_by != 0).then_some(e.created_by),
                    })
                }
                _ => EventAction::Skip,
            }
        }
        event_kinds::INCOMING_CHAT_MESSAGE | event_kinds::OUTGOING_CHAT_MESSAGE => {
            match e.message() {
                Some(m) if !m.id.is_empty() => EventAction::Message(ChatMessage {
                    id: m.id.clone(),
                    talk_id: m.talk_id,
                    chat_id: None,
                    contact_id: (e.entity_type == "contact").then_some(e.entity_id),
                    lead_id: lead,
                    direction: if e.kind == event_kinds::OUTGOING_CHAT_MESSAGE {
                        Direction::Outgoing
                    } else {
                        Direction::Incoming
                    },
                    origin: m.origin.clone(),
                    text: None,
                    author_name: None,
                    created_at: e.created_at,
                }),
                _ => EventAction::Skip,
            }
        }
        _ => EventAction::Skip,
    }
}

/// Writes pages as they come (one write transaction per page, its clock the
/// page's read time).
///
/// Records an event asks to read again (restored leads, contacts and
/// companies; talks with newer chat activity or never confirmed) are queued
/// in the store's durable "to confirm" list **in the same transaction** as
/// the page and the events cursor, so a pass that fails before reading them
/// (API trouble, shutdown, crash) leaves them for the next one.
async fn writer(store: Store, mut rx: mpsc::Receiver<Job>) -> Result<Written, SyncError> {
    let mut w = Written::default();
    while let Some(job) = rx.recv().await {
        match job {
            Job::Leads(leads, times) => {
                let n = write(&store, times.read_ms, move |tx| {
                    let mut n = 0;
                    let mut max = None::<i64>;
                    for l in &leads {
                        if changed(tx.upsert_lead(l, Origin::Api)?) {
                            n += 1;
                        }
                        max = Some(max.map_or(l.updated_at, |m: i64| m.max(l.updated_at)));
                    }
                    if let Some(max) = max {
                        tx.update_sync_state(|s| {
                            s.leads_cursor = Some(next_cursor(s.leads_cursor, max, times.asked_s));
                        })?;
                    }
                    Ok(n)
                })
                .await?;
                w.changed += n;
                w.leads_stored = Some(Instant::now());
            }
            Job::Contacts(contacts, times) => {
                let n = write(&store, times.read_ms, move |tx| {
                    let mut n = 0;
                    let mut max = None::<i64>;
                    for c in &contacts {
                        if changed(tx.upsert_contact(c, Origin::Api)?) {
                            n += 1;
                        }
                        max = Some(max.map_or(c.updated_at, |m: i64| m.max(c.updated_at)));
                    }
                    if let Some(max) = max {
                        tx.update_sync_state(|s| {
                            s.contacts_cursor =
                                Some(next_cursor(s.contacts_cursor, max, times.asked_s));
                        })?;
                    }
                    Ok(n)
                })
                .await?;
                w.changed += n;
            }
            Job::Companies(companies, times) => {
                let n = write(&store, times.read_ms, move |tx| {
                    let mut n = 0;
                    let mut max = None::<i64>;
                    for c in &companies {
                        if changed(tx.upsert_company(c, Origin::Api)?) {
                            n += 1;
                        }
                        max = Some(max.map_or(c.updated_at, |m: i64| m.max(c.updated_at)));
                    }
                    if let Some(max) = max {
                        tx.update_sync_state(|s| {
                            s.companies_cursor =
                                Some(next_cursor(s.companies_cursor, max, times.asked_s));
                        })?;
                    }
                    Ok(n)
                })
                .await?;
                w.changed += n;
            }
            Job::Events(events, times) => {
                let n = write(&store, times.read_ms, move |tx| {
                    let mut n = 0;
                    let mut max = None::<i64>;
                    for e in &events {
                        max = Some(max.map_or(e.created_at, |m: i64| m.max(e.created_at)));
                        if apply_event(tx, e)? {
                            n += 1;
                        }
                    }
                    if let Some(max) = max {
                        tx.update_sync_state(|s| {
                            s.events_cursor =
                                Some(next_cursor(s.events_cursor, max, times.asked_s));
                        })?;
                    }
                    Ok(n)
                })
                .await?;
                w.changed += n;
            }
        }
    }
    Ok(w)
}

/// Applies one event inside the page's transaction; true when the store changed.
fn apply_event(tx: &mut WriteTx<'_>, e: &Event) -> StoreResult<bool> {
    Ok(match event_action(e) {
        EventAction::DeleteLead { id, at } => {
            tx.lead(id)?.is_some() && changed(tx.delete_lead(id, at)?)
        }
        EventAction::RestoreLead { id, at } => {
            tx.queue_confirm(Confirm::Lead, id)?;
            changed(tx.restore_lead(id, at)?)
        }
        EventAction::DeleteContact { id, at } => {
            tx.contact(id)?.is_some() && changed(tx.delete_contact(id, at)?)
        }
        EventAction::RestoreContact { id, at } => {
            tx.queue_confirm(Confirm::Contact, id)?;
            changed(tx.restore_contact(id, at)?)
        }
        EventAction::DeleteCompany { id, at } => {
            tx.company(id)?.is_some() && changed(tx.delete_company(id, at)?)
        }
        EventAction::RestoreCompany { id, at } => {
            tx.queue_confirm(Confirm::Company, id)?;
            changed(tx.restore_company(id, at)?)
        }
        EventAction::Status(change) => changed(tx.record_status_change(&change)?),
        EventAction::Message(m) => {
            if let Some(talk_id) = m.talk_id {
                let stale = tx.talk(talk_id)?.is_none_or(|t| {
                    t.talk.updated_at < m.created_at || t.sync.confirmed_at_ms.is_none()
                });
                if stale {
                    tx.queue_confirm(Confirm::Talk, talk_id)?;
                }
            }
            changed(tx.confirm_message(&m)?)
        }
        EventAction::Skip => false,
    })
}

/// Requests in flight at once for by-id reads (the limiter still paces them).
pub const BY_ID_CONCURRENCY: usize = 4;

/// Reads entities one id at a time, [`BY_ID_CONCURRENCY`] in flight; 204s
/// are left out.
pub(crate) async fn by_id<T, F, Fut>(
    ids: impl Iterator<Item = u64>,
    get: F,
) -> Result<Vec<T>, ApiError>
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, ApiError>>,
{
    let found: Vec<Option<T>> = futures::stream::iter(ids.map(get))
        .buffer_unordered(BY_ID_CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    Ok(found.into_iter().flatten().collect())
}

/// Like [`by_id`], but keeps what succeeded: `(id, asked, answer)` for every
/// id read (`asked`: just before its request was made; `None` = 204), and the
/// first error, if any.
pub(crate) async fn by_id_partial<T, F, Fut>(
    ids: impl Iterator<Item = u64>,
    get: F,
) -> (Vec<(u64, Instant, Option<T>)>, Option<ApiError>)
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, ApiError>>,
{
    let get = &get;
    let answers: Vec<(u64, Instant, Result<Option<T>, ApiError>)> =
        futures::stream::iter(ids.map(|id| async move {
            let asked = Instant::now();
            (id, asked, get(id).await)
        }))
        .buffer_unordered(BY_ID_CONCURRENCY)
        .collect()
        .await;
    let mut ok = Vec::with_capacity(answers.len());
    let mut error = None;
    for (id, asked, answer) in answers {
        match answer {
            Ok(found) => ok.push((id, asked, found)),
            Err(e) => {
                error.get_or_insert(e);
            }
        }
    }
    (ok, error)
}

/// What [`confirm_queued`] did.
#[derive(Debug, Default, Clone)]
struct Confirmed {
    leads: u64,
    contacts: u64,
    companies: u64,
    talks: u64,
    changed: u64,
    /// Talks the API answered for, each with the moment just before it was asked.
    talks_read: Vec<(u64, Instant)>,
}

/// Largest number of queued ids of one kind read per pass step.
const CONFIRM_BATCH: usize = 5_000;

/// Reads every record waiting in the store's durable "to confirm" list
/// (restored leads/contacts/companies queued by event pages, talks the API
/// never confirmed: placeholders built from messages, webhook hints) and
/// removes each from the list once the API answered for it, in the same
/// transaction as its upsert (the transaction clock is the read time).
/// Leads, contacts and companies are read by id in batches; talks one by
/// one, [`BY_ID_CONCURRENCY`] in flight. Talks read before an error are
/// still written; the error is returned and the rest stays queued.
async fn confirm_queued(
    store: &Store,
    client: &amo::Client,
    clock: &dyn Clock,
) -> Result<Confirmed, SyncError> {
    let (leads, contacts, companies, talks) = read(store, |s| {
        Ok((
            s.to_confirm(Confirm::Lead, CONFIRM_BATCH)?,
            s.to_confirm(Confirm::Contact, CONFIRM_BATCH)?,
            s.to_confirm(Confirm::Company, CONFIRM_BATCH)?,
            s.to_confirm(Confirm::Talk, crate::talk_reads::TALK_CONFIRMS_PER_PASS)?,
        ))
    })
    .await?;
    let mut done = Confirmed::default();
    if leads.is_empty() && contacts.is_empty() && companies.is_empty() && talks.is_empty() {
        return Ok(done);
    }
    tracing::debug!(
        leads = leads.len(),
        contacts = contacts.len(),
        companies = companies.len(),
        talks = talks.len(),
        "reading records queued for confirmation"
    );
    // Reads count from when they were asked (see the list reads above).
    let asked_ms = clock.now_ms();
    let entities = async {
        let l = if leads.is_empty() {
            Vec::new()
        } else {
            client.leads_by_ids(&leads, &[LeadWith::Contacts]).await?
        };
        let c = if contacts.is_empty() {
            Vec::new()
        } else {
            client.contacts_by_ids(&contacts, &[]).await?
        };
        let co = if companies.is_empty() {
            Vec::new()
        } else {
            client
                .companies_by_ids(&companies, &[CompanyWith::Leads, CompanyWith::Contacts])
                .await?
        };
        Ok::<_, ApiError>((l, c, co, asked_ms))
    };
    let talk_reads = async {
        let (found, error) = by_id_partial(talks.iter().copied(), |id| client.talk(id)).await;
        (found, error, asked_ms)
    };
    let (entities, (found_talks, talk_error, talks_read_ms)) = tokio::join!(entities, talk_reads);

    // Talks first: what was read is kept even when something else failed.
    done.talks = found_talks.iter().filter(|(_, _, t)| t.is_some()).count() as u64;
    done.talks_read = found_talks.iter().map(|(id, at, _)| (*id, *at)).collect();
    if !found_talks.is_empty() {
        done.changed += write(store, talks_read_ms, move |tx| {
            let mut n = 0;
            for (id, _, talk) in &found_talks {
                match talk {
                    // Unqueues it too.
                    Some(t) => {
                        if changed(tx.upsert_talk(t, Origin::Api)?) {
                            n += 1;
                        }
                    }
                    // 204: amoCRM has no such talk; stop asking.
                    None => tx.unqueue_confirm(Confirm::Talk, *id)?,
                }
            }
            Ok(n)
        })
        .await?;
    }
    let (found_leads, found_contacts, found_companies, read_ms) = entities?;
    done.leads = found_leads.len() as u64;
    done.contacts = found_contacts.len() as u64;
    done.companies = found_companies.len() as u64;
    done.changed += write(store, read_ms, move |tx| {
        let mut n = 0;
        for l in &found_leads {
            if changed(tx.upsert_lead(l, Origin::Api)?) {
                n += 1;
            }
        }
        for c in &found_contacts {
            if changed(tx.upsert_contact(c, Origin::Api)?) {
                n += 1;
            }
        }
        for c in &found_companies {
            if changed(tx.upsert_company(c, Origin::Api)?) {
                n += 1;
            }
        }
        // Answered for (found, or gone again: a later delete event or
        // fetch settles those).
        for id in &leads {
            tx.unqueue_confirm(Confirm::Lead, *id)?;
        }
        for id in &contacts {
            tx.unqueue_confirm(Confirm::Contact, *id)?;
        }
        for id in &companies {
            tx.unqueue_confirm(Confirm::Company, *id)?;
        }
        Ok(n)
    })
    .await?;
    if let Some(e) = talk_error {
        return Err(e.into());
    }
    Ok(done)
}

/// One catch-up pass (a full pull when the store has never synced).
pub async fn catch_up(
    store: &Store,
    client: &amo::Client,
    clock: &dyn Clock,
    options: &CatchupOptions,
) -> Result<CatchupReport, SyncError> {
    catch_up_metered(store, client, clock, options, &ApiMeter::new(client))
        .await
        .map(|outcome| outcome.report)
}

/// A finished pass, for the engine.
#[derive(Debug, Clone)]
pub(crate) struct PassOutcome {
    /// What it did.
    pub report: CatchupReport,
    /// Every change made in amoCRM before this moment is in the store after
    /// the pass (each list's last request, events included, came after it).
    pub covers: Instant,
    /// Talks the API answered for, each with the moment just before it was
    /// asked (a fetcher read of it queued earlier is redundant).
    pub talks_read: Vec<(u64, Instant)>,
}

/// [`catch_up`], recording API usage through `meter` (shared with the
/// fetcher in the engine, so no request is counted twice); with what the
/// engine needs besides the report ([`PassOutcome`]).
pub(crate) async fn catch_up_metered(
    store: &Store,
    client: &amo::Client,
    clock: &dyn Clock,
    options: &CatchupOptions,
    meter: &ApiMeter,
) -> Result<PassOutcome, SyncError> {
    let started = Instant::now();
    let result = pass(store, client, clock, options, started, meter)
        .instrument(tracing::info_span!("catch_up"))
        .await;
    if let Err(e) = &result {
        let message = e.to_string();
        let code = e.code();
        tracing::warn!(error = %message, code, "catch-up failed");
        let _ = write_counting(store, clock.now_ms(), meter, client, move |tx| {
            tx.update_sync_state(|s| s.last_error = Some(message))
        })
        .await;
    }
    result
}

/// Where each list read starts (`None` = from the beginning).
#[derive(Debug, Clone, Copy)]
struct ListsFrom {
    leads: Option<i64>,
    contacts: Option<i64>,
    companies: Option<i64>,
    events: Option<i64>,
}

/// What [`read_lists`] did.
#[derive(Debug, Clone, Copy)]
struct ListsRead {
    leads: u64,
    contacts: u64,
    companies: u64,
    events: u64,
    changed: u64,
    /// Where each read ended (its last `from`): a read started there again
    /// sees only what changed since (and the boundary second again).
    ends: ListsFrom,
    /// The earliest of the reads' last requests: every change made before
    /// it is in what was read.
    covers: Instant,
    /// When the lead read had every page stored (`None`: leads not read).
    leads_done: Option<Instant>,
}

impl ListsRead {
    /// `self` then `other` (lists read one after the other): counts added,
    /// each list's end from whichever read it.
    fn then(self, other: ListsRead, read: Lists) -> ListsRead {
        let pick = |mine: Option<i64>, theirs: Option<i64>, in_other: bool| {
            if in_other { theirs } else { mine }
        };
        ListsRead {
            leads: self.leads + other.leads,
            contacts: self.contacts + other.contacts,
            companies: self.companies + other.companies,
            events: self.events + other.events,
            changed: self.changed + other.changed,
            ends: ListsFrom {
                leads: pick(self.ends.leads, other.ends.leads, read.leads),
                contacts: pick(self.ends.contacts, other.ends.contacts, read.contacts),
                companies: pick(self.ends.companies, other.ends.companies, read.companies),
                events: pick(self.ends.events, other.ends.events, read.events),
            },
            covers: self.covers.min(other.covers),
            leads_done: other.leads_done.or(self.leads_done),
        }
    }
}

/// Which lists a [`read_lists`] call reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lists {
    leads: bool,
    contacts: bool,
    companies: bool,
    events: bool,
}

impl Lists {
    const ALL: Lists = Lists {
        leads: true,
        contacts: true,
        companies: true,
        events: true,
    };
    const LEADS: Lists = Lists {
        leads: true,
        contacts: false,
        companies: false,
        events: false,
    };
    const ALL_BUT_LEADS: Lists = Lists {
        leads: false,
        ..Lists::ALL
    };
}

/// One list read by [`read_lists`] (or skipped).
struct ListRead {
    sent: u64,
    /// Just before its last request (`None`: skipped).
    last_request: Option<Instant>,
    /// Where it ended (where it would have started, when skipped).
    end: Option<i64>,
    /// When its last page was read (`None`: skipped).
    done: Option<Instant>,
}

/// Runs `read` when `run`, else leaves the list alone (the future is dropped
/// unstarted).
async fn list_read<F>(run: bool, from: Option<i64>, read: F) -> Result<ListRead, SyncError>
where
    F: std::future::Future<Output = Result<(u64, Instant, Option<i64>), SyncError>>,
{
    if !run {
        return Ok(ListRead {
            sent: 0,
            last_request: None,
            end: from,
            done: None,
        });
    }
    let (sent, last_request, end) = read.await?;
    Ok(ListRead {
        sent,
        last_request: Some(last_request),
        end,
        done: Some(Instant::now()),
    })
}

/// The lists of `which` (leads, contacts, companies, events), read
/// concurrently under the shared limiter (so it always has a request queued)
/// with keyset paging; one writer task stores the pages as they come
/// (overlapping the next request).
async fn read_lists(
    store: &Store,
    client: &amo::Client,
    clock: &dyn Clock,
    from: ListsFrom,
    which: Lists,
) -> Result<ListsRead, SyncError> {
    let (tx, rx) = mpsc::channel::<Job>(8);
    let writer_task = writer(store.clone(), rx);
    let leads = {
        let client = client.clone();
        let read = keyset_read(
            from.leads,
            move |from| {
                let mut q = LeadsQuery::new()
                    .with(LeadWith::Contacts)
                    .order(LeadsOrder::UpdatedAt(SortDirection::Asc))
                    .limit(amo::MAX_LIMIT);
                if let Some(from) = from {
                    q = q.updated_from(from);
                }
                client.leads(&q)
            },
            |l: &Lead| l.updated_at,
            |l: &Lead| l.id.to_string(),
            Job::Leads,
            clock,
            tx.clone(),
        );
        list_read(which.leads, from.leads, read)
    };
    let contacts = {
        let client = client.clone();
        let read = keyset_read(
            from.contacts,
            move |from| {
                let mut q = ContactsQuery::new()
                    .order(ContactsOrder::UpdatedAt(SortDirection::Asc))
                    .limit(amo::MAX_LIMIT);
                if let Some(from) = from {
                    q = q.updated_from(from);
                }
                client.contacts(&q)
            },
            |c: &Contact| c.updated_at,
            |c: &Contact| c.id.to_string(),
            Job::Contacts,
            clock,
            tx.clone(),
        );
        list_read(which.contacts, from.contacts, read)
    };
    let companies = {
        let client = client.clone();
        let read = keyset_read(
            from.companies,
            move |from| {
                let mut q = CompaniesQuery::new()
                    .with(CompanyWith::Leads)
                    .with(CompanyWith::Contacts)
                    .order(ContactsOrder::UpdatedAt(SortDirection::Asc))
                    .limit(amo::MAX_LIMIT);
                if let Some(from) = from {
                    q = q.updated_from(from);
                }
                client.companies(&q)
            },
            |c: &Company| c.updated_at,
            |c: &Company| c.id.to_string(),
            Job::Companies,
            clock,
            tx.clone(),
        );
        list_read(which.companies, from.companies, read)
    };
    let events = {
        let client = client.clone();
        let read = keyset_read(
            from.events,
            move |from| {
                let q = EventsQuery::new()
                    .kinds(EVENT_KINDS)
                    .created_from(from.unwrap_or(0))
                    .order(SortDirection::Asc)
                    .limit(amo::MAX_EVENTS_LIMIT);
                client.events(&q)
            },
            |e: &Event| e.created_at,
            |e: &Event| e.id.clone(),
            Job::Events,
            clock,
            tx,
        );
        list_read(which.events, from.events, read)
    };
    let (reads, written) = tokio::join!(
        async { tokio::try_join!(leads, contacts, companies, events) },
        writer_task
    );
    let (leads, contacts, companies, events) = reads?;
    let written = written?;
    let covers = [&leads, &contacts, &companies, &events]
        .iter()
        .filter_map(|r| r.last_request)
        .min()
        .unwrap_or_else(Instant::now);
    // Stored: read to the end, and the writer done with its last page.
    let leads_done = leads
        .done
        .map(|d| written.leads_stored.map_or(d, |w| w.max(d)));
    Ok(ListsRead {
        leads: leads.sent,
        contacts: contacts.sent,
        companies: companies.sent,
        events: events.sent,
        changed: written.changed,
        ends: ListsFrom {
            leads: leads.end,
            contacts: contacts.end,
            companies: companies.end,
            events: events.end,
        },
        covers,
        leads_done,
    })
}

async fn pass(
    store: &Store,
    client: &amo::Client,
    clock: &dyn Clock,
    options: &CatchupOptions,
    started: Instant,
    meter: &ApiMeter,
) -> Result<PassOutcome, SyncError> {
    let usage_before = client.usage();
    // Webhook-only status moves and messages dated before this (with the
    // webhook clock skew) are covered by this pass's events read: what it
    // did not confirm is dropped at the end of a successful pass.
    let hints_covered_s = clock
        .now_s()
        .saturating_sub(crate::hint_times::WEBHOOK_CLOCK_SKEW_S);
    let (binding, state) = read(store, |s| Ok((s.binding()?, s.sync_state()?))).await?;
    let binding = binding.ok_or(SyncError::NotConnected)?;
    let plan = plan_pass(&state, clock.now_s(), options);
    tracing::info!(full = plan.full, leads_from = ?plan.leads_from, contacts_from = ?plan.contacts_from, companies_from = ?plan.companies_from, events_from = plan.events_from, "catch-up starts");
    let mut report = CatchupReport {
        full: plan.full,
        ..CatchupReport::default()
    };

    // 1. Account, users, pipelines.
    let account = client.account().await?;
    if account.id != binding.account_id {
        return Err(SyncError::WrongAccount {
            expected: binding.account_id,
            found: account.id,
        });
    }
    let users = match client.users().await {
        Ok(users) => Some(users),
        Err(ApiError::Forbidden { blocked: false, .. }) => {
            tracing::warn!("the token may not list users (not an admin); users are not refreshed");
            None
        }
        Err(e) => return Err(e.into()),
    };
    let pipelines = client.pipelines().await?;
    // The account's time zone (dates in exports and the UI): learned or
    // changed in amoCRM since `connect`.
    let rezoned = account
        .timezone()
        .filter(|tz| binding.timezone.as_deref() != Some(tz.as_str()))
        .map(|tz| amosync_store::AccountBinding {
            timezone: Some(tz),
            ..binding.clone()
        });
    write(store, clock.now_ms(), move |tx| {
        if let Some(binding) = &rezoned {
            tx.set_binding(binding)?;
        }
        tx.put_pipelines(&pipelines)?;
        if let Some(users) = &users {
            tx.put_users(users)?;
        }
        Ok(())
    })
    .await?;

    // 2. Leads, contacts, companies, events. A full pull reads every lead
    //    page first, back to back (the limiter busy with leads only, so the
    //    funnel is complete as early as the rate limit allows), then the
    //    other three concurrently; an incremental pass reads all four
    //    concurrently (a few pages each).
    let from = ListsFrom {
        leads: plan.leads_from,
        contacts: plan.contacts_from,
        companies: plan.companies_from,
        events: Some(plan.events_from),
    };
    let lists = if plan.full {
        let leads = read_lists(store, client, clock, from, Lists::LEADS).await?;
        tracing::info!(
            leads = leads.leads,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "catch-up: every lead page stored; contacts, companies and events next"
        );
        let rest = read_lists(store, client, clock, from, Lists::ALL_BUT_LEADS).await?;
        leads.then(rest, Lists::ALL_BUT_LEADS)
    } else {
        read_lists(store, client, clock, from, Lists::ALL).await?
    };
    report.leads_done_ms = lists.leads_done.map_or(0, |t| {
        u64::try_from(t.saturating_duration_since(started).as_millis()).unwrap_or(u64::MAX)
    });
    report.leads = lists.leads;
    report.contacts = lists.contacts;
    report.companies = lists.companies;
    report.events = lists.events;
    report.changed += lists.changed;

    // 3. By id: what the event pages (this pass's and any earlier, failed
    //    one's) queued in the store, and talks never confirmed by the API.
    let confirmed = confirm_queued(store, client, clock).await?;
    report.leads += confirmed.leads;
    report.contacts += confirmed.contacts;
    report.companies += confirmed.companies;
    report.talks = confirmed.talks;
    report.changed += confirmed.changed;
    let mut talks_read = confirmed.talks_read;

    // 3b. The tail: each list again from where it ended (usually one short
    //     page each), so what changed while the by-id reads ran is in too and
    //     the pass covers changes up to its end, not only up to its fastest
    //     list's last page (which lets `catch_up_now` use a running pass).
    let tail = read_lists(store, client, clock, lists.ends, Lists::ALL).await?;
    report.leads += tail.leads;
    report.contacts += tail.contacts;
    report.companies += tail.companies;
    report.events += tail.events;
    report.changed += tail.changed;
    let covers = tail.covers;
    if tail.events > 0 {
        let confirmed = confirm_queued(store, client, clock).await?;
        report.leads += confirmed.leads;
        report.contacts += confirmed.contacts;
        report.companies += confirmed.companies;
        report.talks += confirmed.talks;
        report.changed += confirmed.changed;
        talks_read.extend(confirmed.talks_read);
    }

    // 4. Bookkeeping (the pass's API usage in the same write).
    let now_s = clock.now_s();
    let full = plan.full;
    let used = usage_delta(client.usage(), usage_before);
    report.requests = used.requests;
    report.rate_limited = used.rate_limited;
    write_counting(store, clock.now_ms(), meter, client, move |tx| {
        tx.drop_status_hints_before(hints_covered_s)?;
        tx.drop_message_hints_before(
            hints_covered_s.saturating_sub(crate::hint_times::MESSAGE_HINT_GRACE_S),
        )?;
        tx.update_sync_state(|s| {
            s.last_catchup_at = Some(now_s);
            if full {
                s.initial_sync_at = Some(now_s);
            }
            s.last_error = None;
        })
    })
    .await?;
    report.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    tracing::info!(
        full = report.full,
        leads = report.leads,
        contacts = report.contacts,
        companies = report.companies,
        events = report.events,
        talks = report.talks,
        changed = report.changed,
        requests = report.requests,
        rate_limited = report.rate_limited,
        elapsed_ms = report.elapsed_ms,
        leads_done_ms = report.leads_done_ms,
        "catch-up finished"
    );
    Ok(PassOutcome {
        report,
        covers,
        talks_read,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyset_table() {
        use KeysetStep::*;
        let cases: &[(&str, Option<i64>, &[i64], KeysetStep)] = &[
            ("empty page ends", Some(5), &[], Done),
            (
                "first page restarts at its max",
                None,
                &[1, 2, 3],
                Restart(3),
            ),
            ("later page restarts", Some(3), &[3, 3, 4, 9], Restart(9)),
            (
                "a whole page at the start time follows next",
                Some(3),
                &[3, 3, 3],
                NextPage,
            ),
            (
                "unsorted answer still moves forward",
                Some(3),
                &[9, 4],
                Restart(9),
            ),
            (
                "older records (clock skew) do not move back",
                Some(10),
                &[7, 8],
                NextPage,
            ),
        ];
        for (name, from, times, want) in cases {
            assert_eq!(keyset_step(*from, times), *want, "{name}");
        }
    }

    #[test]
    fn pass_plan_table() {
        let o = CatchupOptions::default();
        let now = 1_000_000;
        let week = 7 * 24 * 3600;
        let st = |initial: Option<i64>, leads: Option<i64>, events: Option<i64>| SyncState {
            initial_sync_at: initial,
            leads_cursor: leads,
            contacts_cursor: leads,
            companies_cursor: leads,
            events_cursor: events,
            ..SyncState::default()
        };
        let cases = [
            (
                "fresh store: full pull, recent events",
                st(None, None, None),
                PassPlan {
                    full: true,
                    leads_from: None,
                    contacts_from: None,
                    companies_from: None,
                    events_from: now - week,
                },
            ),
            (
                "interrupted full pull resumes",
                st(None, Some(500_000), Some(999_000)),
                PassPlan {
                    full: true,
                    leads_from: Some(499_700),
                    contacts_from: Some(499_700),
                    companies_from: Some(499_700),
                    events_from: 998_700,
                },
            ),
            (
                "interrupted, old events cursor",
                st(None, Some(500_000), Some(10)),
                PassPlan {
                    full: true,
                    leads_from: Some(499_700),
                    contacts_from: Some(499_700),
                    companies_from: Some(499_700),
                    events_from: now - week,
                },
            ),
            (
                "incremental",
                st(Some(900_000), Some(990_000), Some(995_000)),
                PassPlan {
                    full: false,
                    leads_from: Some(989_700),
                    contacts_from: Some(989_700),
                    companies_from: Some(989_700),
                    events_from: 994_700,
                },
            ),
            (
                "incremental after a long sleep",
                st(Some(1), Some(100), Some(100)),
                PassPlan {
                    full: false,
                    leads_from: Some(0),
                    contacts_from: Some(0),
                    companies_from: Some(0),
                    events_from: 0,
                },
            ),
            (
                "cursors in the future (written before the cap) start at now",
                st(Some(900_000), Some(1_900_000_000), Some(1_900_000_000)),
                PassPlan {
                    full: false,
                    leads_from: Some(999_700),
                    contacts_from: Some(999_700),
                    companies_from: Some(999_700),
                    events_from: 999_700,
                },
            ),
        ];
        for (name, state, want) in cases {
            assert_eq!(plan_pass(&state, now, &o), want, "{name}");
        }
    }

    #[test]
    fn cursor_table() {
        // (name, old cursor, page's largest time, asked at, new cursor)
        let cases = [
            ("first page", None, 900, 1_000, 900),
            ("advances", Some(800), 900, 1_000, 900),
            ("never back", Some(950), 900, 1_000, 950),
            (
                "a record dated 2030 is capped",
                Some(800),
                1_900_000_000,
                1_000,
                1_000,
            ),
            ("first page dated 2030", None, 1_900_000_000, 1_000, 1_000),
            (
                "a future cursor comes back",
                Some(1_900_000_000),
                900,
                1_000,
                1_000,
            ),
            ("at the request's start", Some(800), 1_000, 1_000, 1_000),
        ];
        for (name, old, max, asked, want) in cases {
            assert_eq!(next_cursor(old, max, asked), want, "{name}");
        }
    }

    fn event(kind: &str, json: serde_json::Value) -> Event {
        let mut v = serde_json::json!({"id": "e1", "type": kind, "entity_id": 5, "entity_type": "lead", "created_by": 3, "created_at": 100});
        if let (Some(obj), Some(extra)) = (v.as_object_mut(), json.as_object()) {
            for (k, x) in extra {
                obj.insert(k.clone(), x.clone());
            }
        }
        serde_json::from_value(v).expect("event")
    }

    #[test]
    fn event_action_table() {
        let key = |p, s| StatusKey {
            pipeline_id: p,
            status_id: s,
        };
        let status =
            |id: u64, p: u64| serde_json::json!([{"lead_status": {"id": id, "pipeline_id": p}}]);
        let moved = event(
            event_kinds::LEAD_STATUS_CHANGED,
            serde_json::json!({"value_before": status(10, 2), "value_after": status(11, 2)}),
        );
        assert_eq!(
            event_action(&moved),
            EventAction::Status(StatusChange {
                lead_id: 5,
                at: 100,
                from: Some(key(2, 10)),
                to: key(2, 11),
                by: Some(3)
            })
        );
        let added = event(
            event_kinds::LEAD_ADDED,
            serde_json::json!({"value_after": status(10, 2)}),
        );
        assert_eq!(
            event_action(&added),
            EventAction::Status(StatusChange {
                lead_id: 5,
                at: 100,
                from: None,
                to: key(2, 10),
                by: Some(3)
            })
        );
        assert_eq!(
            event_action(&event(event_kinds::LEAD_DELETED, serde_json::json!({}))),
            EventAction::DeleteLead { id: 5, at: 100 }
        );
        assert_eq!(
            event_action(&event(event_kinds::LEAD_RESTORED, serde_json::json!({}))),
            EventAction::RestoreLead { id: 5, at: 100 }
        );
        let msg = event(
            event_kinds::OUTGOING_CHAT_MESSAGE,
            serde_json::json!({"value_after": [{"message": {"id": "m1", "origin": "waba", "talk_id": 7}}]}),
        );
        match event_action(&msg) {
            EventAction::Message(m) => {
                assert_eq!(
                    (m.id.as_str(), m.talk_id, m.lead_id, m.direction),
                    ("m1", Some(7), Some(5), Direction::Outgoing)
                );
                assert_eq!(m.origin.as_deref(), Some("waba"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            event_action(&event("contact_deleted", serde_json::json!({}))),
            EventAction::Skip,
            "a contact event about a lead"
        );
        let on = |kind: &str, entity: &str| {
            let mut e = event(kind, serde_json::json!({}));
            e.entity_type = entity.into();
            event_action(&e)
        };
        let cases = [
            (
                more_kinds::CONTACT_DELETED,
                "contact",
                EventAction::DeleteContact { id: 5, at: 100 },
            ),
            (
                more_kinds::CONTACT_RESTORED,
                "contact",
                EventAction::RestoreContact { id: 5, at: 100 },
            ),
            (
                more_kinds::COMPANY_DELETED,
                "company",
                EventAction::DeleteCompany { id: 5, at: 100 },
            ),
            (
                more_kinds::COMPANY_RESTORED,
                "company",
                EventAction::RestoreCompany { id: 5, at: 100 },
            ),
            (more_kinds::COMPANY_DELETED, "contact", EventAction::Skip),
        ];
        for (kind, entity, want) in cases {
            assert_eq!(on(kind, entity), want, "{kind} on a {entity}");
        }
        for kind in [
            more_kinds::CONTACT_DELETED,
            more_kinds::CONTACT_RESTORED,
            more_kinds::COMPANY_DELETED,
            more_kinds::COMPANY_RESTORED,
        ] {
            assert!(EVENT_KINDS.contains(&kind), "{kind} is read");
        }
        assert_eq!(
            event_action(&event(
                event_kinds::LEAD_STATUS_CHANGED,
                serde_json::json!({})
            )),
            EventAction::Skip,
            "no status after"
        );
    }
}
