//! Push, don't poll: one task long-polls the control channel of whichever
//! `serve` holds the store (`/v1/watch`) and pushes what changed through the
//! [`super::EventSink`]:
//!
//! * `STORE_CHANGED` (the generation) after every change of the store;
//! * `SYNC` (the [`SyncView`]) when the view changes;
//! * `SETUP` while the wizard's checklist fills in;
//! * `NOTICE` (when notifications are on): a new lead, an incoming message,
//!   the webhook disabled by amoCRM, a reconnect needed — paced, so a burst
//!   becomes one notice ("12 new leads").
//!
//! Each long poll waits at most [`WATCH_WAIT`], so the rates and "offline
//! since" stay fresh while nothing happens; a mode switch interrupts it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use amosync_store::{LeadsOrder, LeadsQuery};
use serde_json::Value;

use super::notices::{self, Pacer};
use super::read::DEFAULT_CHATS_LIMIT;
use super::session::{Session, Snapshot, lock};
use super::setup;
use super::sync_view::{self, ViewInput, Windows};
use super::views::{
    Language, LeadsPage, Notice, NoticeKind, SessionMode, SyncIssueCode, SyncView, TalkRow,
    WebhookView, events,
};
use crate::AppError;
use crate::cli::query::Query;
use crate::control::client::ControlClient;
use crate::control::server::WatchAnswer;

/// The longest one long poll waits.
pub const WATCH_WAIT: Duration = Duration::from_secs(5);
/// The wait while notices are held back by the pacing.
const FLUSH_WAIT: Duration = Duration::from_millis(500);
/// New leads / messages are looked for at most this often.
const NEW_ITEMS_EVERY: Duration = Duration::from_secs(1);
/// Leads looked at per check (newest created first).
const NEW_LEADS_WINDOW: usize = 200;
/// `STORE_CHANGED` at most this often: a burst of writes (the first pull,
/// a bulk move) becomes one event per period, the UI reading once.
const STORE_CHANGED_EVERY: Duration = Duration::from_millis(200);

/// Counts waiting for the pacing.
#[derive(Debug, Default)]
struct Held {
    count: u64,
    /// The first item: (lead id, name) / (who, text, lead id).
    lead: Option<(u64, String)>,
    message: Option<(String, Option<String>, Option<u64>)>,
}

/// What the pump remembers about the serve it watches.
struct Pump {
    epoch: Option<u64>,
    generation: Option<u64>,
    status_hash: Option<String>,
    windows: Windows,
    offline_since: Option<i64>,
    failures: u32,
    pacer: Pacer,
    /// Highest lead id seen once the first sync was done.
    lead_baseline: Option<u64>,
    /// Per talk: the last incoming message time and the messages waiting
    /// for a reply, as seen once the first sync was done.
    message_baseline: Option<HashMap<u64, (Option<i64>, u32)>>,
    /// A store change not yet looked at for new leads / messages.
    items_due: bool,
    items_checked: Option<Instant>,
    held_leads: Held,
    held_messages: Held,
    /// The keeper's `last_disabled_s` already told.
    disabled_told: Option<i64>,
    reconnect_told: bool,
}

impl Pump {
    fn new() -> Pump {
        Pump {
            epoch: None,
            generation: None,
            status_hash: None,
            windows: Windows::new(),
            offline_since: None,
            failures: 0,
            pacer: Pacer::new(),
            lead_baseline: None,
            message_baseline: None,
            items_due: false,
            items_checked: None,
            held_leads: Held::default(),
            held_messages: Held::default(),
            disabled_told: None,
            reconnect_told: false,
        }
    }

    /// Another serve (a mode switch): start over.
    fn reset(&mut self, epoch: u64) {
        self.epoch = Some(epoch);
        self.generation = None;
        self.status_hash = None;
        self.windows.clear();
        self.offline_since = None;
        self.failures = 0;
        self.lead_baseline = None;
        self.message_baseline = None;
        self.items_due = false;
        self.held_leads = Held::default();
        self.held_messages = Held::default();
    }

    /// Notifications are off: nothing is held for later (no stale notice
    /// when they are turned on again, no quick polling meanwhile).
    fn notifications_off(&mut self) {
        self.items_due = false;
        self.held_leads = Held::default();
        self.held_messages = Held::default();
    }

    fn next_wait(&self) -> Duration {
        if self.held_leads.count > 0 || self.held_messages.count > 0 || self.items_due {
            FLUSH_WAIT
        } else {
            WATCH_WAIT
        }
    }
}

fn language(session: &Session) -> Language {
    lock(&session.prefs).language
}

fn notifications_on(session: &Session) -> bool {
    lock(&session.prefs).notifications
}

/// The view for a mode with no serve to ask (starting, stopped).
pub(crate) fn idle_view(session: &Session, snap: &Snapshot) -> SyncView {
    let seen = *lock(&session.disabled_seen);
    sync_view::derive(&ViewInput {
        mode: snap.mode,
        watch: None,
        events_per_minute: 0.0,
        api_per_second: 0.0,
        offline_since: None,
        disabled_seen_s: seen,
        start_error: snap.error.as_ref(),
        lang: language(session),
    })
}

/// The view from the last answer again (after "Re-register webhook").
pub(crate) fn refresh_view(session: &Session) {
    let snap = session.snapshot();
    let current = lock(&session.view).clone();
    let answer = lock(&session.last_answer).clone();
    let seen = *lock(&session.disabled_seen);
    let view = match (&snap.client, &answer) {
        (Some(_), Some(answer)) => sync_view::derive(&ViewInput {
            mode: snap.mode,
            watch: Some(answer),
            events_per_minute: current.events_per_minute,
            api_per_second: current.api_per_second,
            offline_since: current.offline_since,
            disabled_seen_s: seen,
            start_error: None,
            lang: language(session),
        }),
        _ => idle_view(session, &snap),
    };
    session.publish_view(view);
}

/// Runs until the session closes.
pub(crate) async fn run(session: Arc<Session>) {
    let mut pump = Pump::new();
    let mut changes = session.subscribe();
    while !session.is_closed() {
        changes.borrow_and_update();
        let snap = session.snapshot();
        let Some(client) = snap.client.clone() else {
            pump.epoch = None;
            *lock(&session.last_answer) = None;
            session.publish_view(idle_view(&session, &snap));
            setup::on_mode(&session, &snap);
            // Woken by the next switch; looked at again now and then.
            let _ = tokio::time::timeout(WATCH_WAIT, changes.changed()).await;
            continue;
        };
        if pump.epoch != Some(snap.epoch) {
            pump.reset(snap.epoch);
        }
        let wait = pump.next_wait();
        let polled = tokio::select! {
            answer = client.watch(pump.generation, pump.status_hash.as_deref(), wait) => Some(answer),
            _ = changes.changed() => None,
        };
        match polled {
            // A switch: look again.
            None => {}
            Some(Ok(answer)) => {
                pump.failures = 0;
                if session.epoch() == snap.epoch {
                    let before = pump.generation;
                    on_answer(&session, &snap, &client, &mut pump, answer).await;
                    if before.is_some() && pump.generation != before {
                        // Coalesce: what changes meanwhile goes in the next event.
                        let _ = tokio::time::timeout(STORE_CHANGED_EVERY, changes.changed()).await;
                    }
                }
            }
            Some(Err(e)) => {
                pump.failures = pump.failures.saturating_add(1);
                tracing::debug!(code = ?e.code, failures = pump.failures, "the watch failed: {e}");
                session.lost_contact(snap.epoch).await;
                let backoff = Duration::from_millis(250 * u64::from(pump.failures.min(8)));
                let _ = tokio::time::timeout(backoff, changes.changed()).await;
            }
        }
    }
}

async fn on_answer(
    session: &Arc<Session>,
    snap: &Snapshot,
    client: &ControlClient,
    pump: &mut Pump,
    answer: WatchAnswer,
) {
    let now = Instant::now();
    pump.windows.record_engine(now, &answer.engine);
    let last_error = answer
        .engine
        .get("last_error")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if sync_view::is_unreachable(last_error) {
        pump.offline_since
            .get_or_insert_with(|| chrono::Utc::now().timestamp());
    } else {
        pump.offline_since = None;
    }
    let seen = *lock(&session.disabled_seen);
    let view = sync_view::derive(&ViewInput {
        mode: snap.mode,
        watch: Some(&answer),
        events_per_minute: pump.windows.events_per_minute(now),
        api_per_second: pump.windows.api_per_second(now),
        offline_since: pump.offline_since,
        disabled_seen_s: seen,
        start_error: None,
        lang: language(session),
    });
    let store_changed = pump.generation != Some(answer.generation);
    pump.generation = Some(answer.generation);
    pump.status_hash = Some(answer.status_hash.clone());
    let disabled_at = answer
        .engine
        .get("webhook")
        .and_then(|w| w.get("last_disabled_s"))
        .and_then(Value::as_i64);
    *lock(&session.last_answer) = Some(answer.clone());

    if store_changed {
        session.emit(events::STORE_CHANGED, &answer.generation);
        pump.items_due = true;
    }
    session.publish_view(view.clone());
    setup::on_view(session, snap, &view);

    if !notifications_on(session) {
        pump.notifications_off();
        return;
    }
    let lang = language(session);
    // The webhook disabled by amoCRM (once per disable), a reconnect needed
    // (once until it clears).
    if view.webhook == WebhookView::Disabled {
        let at = disabled_at.unwrap_or(0);
        if pump.disabled_told.is_none_or(|told| at > told)
            && pump.pacer.allow(NoticeKind::WebhookDisabled, now)
        {
            pump.disabled_told = Some(at);
            session.emit(events::NOTICE, &notices::webhook_disabled(lang));
        }
    }
    let reconnect = view
        .issues
        .iter()
        .any(|i| i.code == SyncIssueCode::ReconnectNeeded);
    if reconnect && !pump.reconnect_told {
        if pump.pacer.allow(NoticeKind::ReconnectNeeded, now) {
            pump.reconnect_told = true;
            session.emit(events::NOTICE, &notices::reconnect_needed(lang));
        }
    } else if !reconnect {
        pump.reconnect_told = false;
    }

    // New leads and incoming messages: only after the first sync (the
    // initial pull is no news), at most once a second.
    if view.first_sync_done
        && pump.items_due
        && pump
            .items_checked
            .is_none_or(|t| now.saturating_duration_since(t) >= NEW_ITEMS_EVERY)
    {
        pump.items_due = false;
        pump.items_checked = Some(now);
        if let Err(e) = look_for_new_items(client, pump).await {
            tracing::debug!(code = ?e.code, "looking for new leads and messages failed: {e}");
        }
    }
    flush(session, pump, lang, now);
}

async fn ask<T: serde::de::DeserializeOwned>(
    client: &ControlClient,
    query: &Query,
) -> Result<T, AppError> {
    super::session::decode(client.query(query).await?)
}

async fn look_for_new_items(client: &ControlClient, pump: &mut Pump) -> Result<(), AppError> {
    let page: LeadsPage = ask(
        client,
        &Query::LeadsPage {
            filter: LeadsQuery {
                order: LeadsOrder::CreatedDesc,
                limit: Some(NEW_LEADS_WINDOW),
                ..LeadsQuery::default()
            },
        },
    )
    .await?;
    let max_id = page.rows.iter().map(|r| r.id).max();
    match pump.lead_baseline {
        None => pump.lead_baseline = Some(max_id.unwrap_or(0)),
        Some(base) => {
            let mut fresh: Vec<_> = page
                .rows
                .iter()
                .filter(|r| r.id > base && !r.deleted)
                .collect();
            fresh.sort_by_key(|r| r.id);
            if let Some(first) = fresh.first() {
                pump.held_leads
                    .lead
                    .get_or_insert_with(|| (first.id, first.name.clone()));
            }
            pump.held_leads.count += fresh.len() as u64;
            pump.lead_baseline = Some(base.max(max_id.unwrap_or(0)));
        }
    }

    // The newest talks only, through the store's activity index: not the
    // chats view, whose counts decode every talk.
    let talks: Vec<TalkRow> = ask(
        client,
        &Query::NewestTalks {
            limit: DEFAULT_CHATS_LIMIT,
        },
    )
    .await?;
    let now: HashMap<u64, (Option<i64>, u32)> = talks
        .iter()
        .map(|t| (t.talk_id, (t.last_incoming_at, t.waiting_messages)))
        .collect();
    if let Some(before) = pump.message_baseline.as_mut() {
        // A talk with a later incoming message, or more of them waiting
        // (the clock may not have moved); one new to the list that waits.
        let mut fresh: Vec<_> = talks
            .iter()
            .filter(|t| match before.get(&t.talk_id) {
                Some((at, waiting)) => t.last_incoming_at > *at || t.waiting_messages > *waiting,
                None => t.waiting_messages > 0,
            })
            .collect();
        fresh.sort_by_key(|t| t.last_incoming_at);
        if let Some(first) = fresh.first() {
            let who = first
                .contact_name
                .clone()
                .or_else(|| first.lead_name.clone())
                .unwrap_or_else(|| first.channel.clone());
            pump.held_messages
                .message
                .get_or_insert_with(|| (who, first.last_text.clone(), first.lead_id));
        }
        // Messages, not talks: what now waits beyond what waited (at least one).
        pump.held_messages.count += fresh
            .iter()
            .map(|t| {
                let before = before.get(&t.talk_id).map_or(0, |(_, waiting)| *waiting);
                u64::from(t.waiting_messages.saturating_sub(before).max(1))
            })
            .sum::<u64>();
        // Talks that left the list are kept (bounded by the list's size twice).
        if before.len() > 4 * now.len().max(200) {
            before.clear();
        }
        before.extend(now);
    } else {
        pump.message_baseline = Some(now);
    }
    Ok(())
}

/// Sends what the pacing lets through now; the rest waits.
fn flush(session: &Session, pump: &mut Pump, lang: Language, now: Instant) {
    if pump.held_leads.count > 0 && pump.pacer.allow(NoticeKind::NewLead, now) {
        let held = std::mem::take(&mut pump.held_leads);
        let first = held.lead.as_ref().map(|(id, name)| (*id, name.as_str()));
        let notice: Notice = notices::new_leads(lang, held.count, first);
        session.emit(events::NOTICE, &notice);
    }
    if pump.held_messages.count > 0 && pump.pacer.allow(NoticeKind::IncomingMessage, now) {
        let held = std::mem::take(&mut pump.held_messages);
        let first = held
            .message
            .as_ref()
            .map(|(who, text, lead)| (who.as_str(), text.as_deref(), *lead));
        session.emit(
            events::NOTICE,
            &notices::incoming_messages(lang, held.count, first),
        );
    }
}

/// Whether `mode` reads an account the user connected (not the demo).
pub(crate) fn is_account(mode: SessionMode) -> bool {
    matches!(mode, SessionMode::Embedded | SessionMode::Attached)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_off_hold_nothing_and_poll_slowly() {
        let mut pump = Pump::new();
        pump.items_due = true;
        pump.held_leads.count = 3;
        pump.held_leads.lead = Some((7, "Аренда".into()));
        pump.held_messages.count = 2;
        pump.held_messages.message = Some(("Nino".into(), None, None));
        assert_eq!(pump.next_wait(), FLUSH_WAIT);
        pump.notifications_off();
        assert_eq!(pump.held_leads.count, 0);
        assert!(pump.held_leads.lead.is_none());
        assert_eq!(pump.held_messages.count, 0);
        assert!(pump.held_messages.message.is_none());
        assert!(!pump.items_due);
        assert_eq!(pump.next_wait(), WATCH_WAIT);
    }
}
