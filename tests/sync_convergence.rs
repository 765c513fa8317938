//! Convergence under trouble: thousands of seeded random office actions on
//! a 5,000-lead account while the emulator drops 10 % of webhooks,
//! duplicates 10 % and reorders them; a burst of API 5xx during which the
//! fetcher must back off; a 30-second receiver outage in the middle (the
//! engine is shut down, the office keeps working, the emulator's retries hit
//! a closed port, then a new engine starts on the same store file and port).
//! After a final catch-up the store must equal the emulator — leads,
//! contacts, pipelines and statuses, deletions, talks — with ZERO
//! mismatches, and the emulator must have answered ZERO 429s.
//!
//! The emulator runs amoCRM's real limits (7 requests/s per integration,
//! 50 per account, block after repeated 429s); the engine's client runs
//! with the product defaults (5 requests/s). The test reads the emulator's
//! state in process (no API calls of its own that could eat the budget).
//!
//! Office actions go through `AppState::apply`, the same path the control
//! API takes, so each emits the webhook a real account would send.
//!
//! Duration: dominated by the real 30 s outage, the initial full pull and
//! the final catch-up at 5 requests/s; phase timings are printed.

#[path = "sync_harness.rs"]
mod sync_harness;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use amo_emulator::Emulator;
use amo_emulator::limits::LimitsConfig;
use amo_emulator::model::Direction;
use amo_emulator::world::{ContactPatch, LeadContact, LeadPatch, NewLead, NewMessage};
use amo_emulator::{AppState, world::World};
use amosync_store::Store;
use amosync_sync::{EngineHandle, WebhookSecret};
use reqwest::Method;
use serde_json::{Value, json};
use sync_harness::*;

const SEED: u64 = 0x00C0_FFEE_2024;
const LEADS: usize = 5_000;
/// Mutations per phase: before the outage (with a 5xx burst inside),
/// during the outage, after it.
const BEFORE: usize = 900;
const DURING: usize = 600;
const AFTER: usize = 600;
const OUTAGE: Duration = Duration::from_secs(30);
const BURST: Duration = Duration::from_secs(8);

/// One random office action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Move,
    BulkMove,
    Rename,
    Price,
    Responsible,
    Delete,
    Restore,
    NewLead,
    ContactEdit,
    ContactDelete,
    ContactRestore,
    Message,
}

const MIX: &[(Kind, u32)] = &[
    (Kind::Move, 20),
    (Kind::BulkMove, 3),
    (Kind::Rename, 9),
    (Kind::Price, 12),
    (Kind::Responsible, 8),
    (Kind::Delete, 6),
    (Kind::Restore, 4),
    (Kind::NewLead, 8),
    (Kind::ContactEdit, 12),
    (Kind::ContactDelete, 2),
    (Kind::ContactRestore, 1),
    (Kind::Message, 15),
];

struct Office {
    state: AppState,
    rng: SeededRng,
    done: BTreeMap<Kind, usize>,
    refused: usize,
    n: u64,
}

impl Office {
    fn pick_kind(&mut self) -> Kind {
        let total: u32 = MIX.iter().map(|(_, w)| w).sum();
        let mut roll = (self.rng.next_u64() % u64::from(total)) as u32;
        for (kind, weight) in MIX {
            if roll < *weight {
                return *kind;
            }
            roll -= weight;
        }
        Kind::Move
    }

    /// Performs one random action; false when the world refused it (then
    /// another is drawn).
    fn act(&mut self) {
        for _ in 0..20 {
            let kind = self.pick_kind();
            if self.try_act(kind) {
                *self.done.entry(kind).or_default() += 1;
                self.n += 1;
                return;
            }
            self.refused += 1;
        }
        panic!("20 random actions in a row were impossible or refused");
    }

    fn try_act(&mut self, kind: Kind) -> bool {
        let n = self.n;
        let rng = &mut self.rng;
        let (live, trash, contacts, dead_contacts, users, statuses) = {
            let world = self.state.world();
            snapshot_ids(&world)
        };
        if live.is_empty() {
            return false;
        }
        let result: Result<(), String> = match kind {
            Kind::Move => {
                let id = *rng.pick(&live);
                let (pipeline, status) = *rng.pick(&statuses);
                self.state
                    .apply(|w| w.move_lead(id, status, Some(pipeline)).map(|c| ((), c)))
                    .map_err(|e| e.to_string())
            }
            Kind::BulkMove => {
                let k = 2 + rng.below(15);
                let ids: Vec<u64> = (0..k).map(|_| *rng.pick(&live)).collect();
                let (pipeline, status) = *rng.pick(&statuses);
                self.state
                    .apply(|w| w.bulk_move(&ids, status, Some(pipeline)).map(|c| ((), c)))
                    .map_err(|e| e.to_string())
            }
            Kind::Rename => {
                let id = *rng.pick(&live);
                let name = format!("Сделка №{n} — «{}»", rng.pick(&NAMES));
                self.patch_lead(
                    id,
                    LeadPatch {
                        name: Some(name),
                        ..LeadPatch::default()
                    },
                )
            }
            Kind::Price => {
                let id = *rng.pick(&live);
                let price = (rng.below(400) as i64) * 500;
                self.patch_lead(
                    id,
                    LeadPatch {
                        price: Some(price),
                        ..LeadPatch::default()
                    },
                )
            }
            Kind::Responsible => {
                let id = *rng.pick(&live);
                let user = *rng.pick(&users);
                self.patch_lead(
                    id,
                    LeadPatch {
                        responsible_user_id: Some(user),
                        ..LeadPatch::default()
                    },
                )
            }
            Kind::Delete => {
                let id = *rng.pick(&live);
                self.state
                    .apply(|w| w.delete_lead(id).map(|c| ((), c)))
                    .map_err(|e| e.to_string())
            }
            Kind::Restore => {
                if trash.is_empty() {
                    return false;
                }
                let id = *rng.pick(&trash);
                self.state
                    .apply(|w| w.restore_lead(id).map(|c| ((), c)))
                    .map_err(|e| e.to_string())
            }
            Kind::NewLead => {
                let (pipeline, status) = *rng.pick(&statuses);
                let with_contact = rng.chance(0.5);
                let input = NewLead {
                    name: format!("Новая заявка №{n}"),
                    price: Some((rng.below(200) as i64) * 1_000),
                    pipeline_id: Some(pipeline),
                    status_id: Some(status),
                    responsible_user_id: Some(*rng.pick(&users)),
                    tags: Vec::new(),
                    contact: with_contact.then(|| LeadContact {
                        name: format!("Клиент {n}"),
                        phone: Some(format!(
                            "+7 900 {:03}-{:02}-{:02}",
                            n % 1000,
                            n % 97,
                            n % 89
                        )),
                        email: None,
                    }),
                };
                self.state
                    .apply(|w| w.add_lead(input).map(|(_, c)| ((), c)))
                    .map_err(|e| e.to_string())
            }
            Kind::ContactEdit => {
                if contacts.is_empty() {
                    return false;
                }
                let id = *rng.pick(&contacts);
                let patch = if rng.chance(0.5) {
                    ContactPatch {
                        name: Some(format!("{} {n}", rng.pick(&NAMES))),
                        ..ContactPatch::default()
                    }
                } else {
                    ContactPatch {
                        phone: Some(format!(
                            "+995 5{:02} {:03}-{:03}",
                            n % 100,
                            n % 997,
                            n % 991
                        )),
                        ..ContactPatch::default()
                    }
                };
                self.state
                    .apply(|w| w.update_contact(id, patch).map(|(_, c)| ((), c)))
                    .map_err(|e| e.to_string())
            }
            Kind::ContactDelete => {
                if contacts.is_empty() {
                    return false;
                }
                let id = *rng.pick(&contacts);
                self.state
                    .apply(|w| w.delete_contact(id).map(|c| ((), c)))
                    .map_err(|e| e.to_string())
            }
            Kind::ContactRestore => {
                if dead_contacts.is_empty() {
                    return false;
                }
                let id = *rng.pick(&dead_contacts);
                self.state
                    .apply(|w| w.restore_contact(id).map(|(_, c)| ((), c)))
                    .map_err(|e| e.to_string())
            }
            Kind::Message => {
                let id = *rng.pick(&live);
                let origin = rng.pick(&["telegram", "waba", "instagram", "onlinechat"]);
                let input = NewMessage {
                    lead_id: id,
                    text: format!("Сообщение клиента №{n}: {}", rng.pick(&NAMES)),
                    origin: rng.chance(0.7).then(|| (*origin).to_owned()),
                    direction: Some(if rng.chance(0.8) {
                        Direction::Incoming
                    } else {
                        Direction::Outgoing
                    }),
                };
                self.state
                    .apply(|w| w.add_message(input).map(|(_, c)| ((), c)))
                    .map_err(|e| e.to_string())
            }
        };
        result.is_ok()
    }

    fn patch_lead(&self, id: u64, patch: LeadPatch) -> Result<(), String> {
        self.state
            .apply(|w| w.update_lead(id, patch).map(|c| ((), c)))
            .map_err(|e| e.to_string())
    }

    /// `count` actions spread evenly over `over` (as fast as possible when zero).
    async fn run(&mut self, count: usize, over: Duration) {
        let started = Instant::now();
        for i in 0..count {
            self.act();
            if !over.is_zero() {
                let due = started + over.mul_f64((i + 1) as f64 / count as f64);
                tokio::time::sleep_until(due.into()).await;
            } else if i % 10 == 9 {
                tokio::task::yield_now().await;
            }
        }
    }
}

const NAMES: [&str; 8] = [
    "Нино Кварацхелия",
    "Давид Гелашвили",
    "Тамара Гогуа",
    "Иван Петров",
    "Ольга Смирнова",
    "Гиорги Беридзе",
    "Анна Кузнецова",
    "Lasha Tsiklauri",
];

type Ids = (
    Vec<u64>,
    Vec<u64>,
    Vec<u64>,
    Vec<u64>,
    Vec<u64>,
    Vec<(u64, u64)>,
);

/// (live leads, trashed leads, live contacts, trashed contacts, active
/// users, (pipeline, status) pairs a lead may be moved to).
fn snapshot_ids(world: &World) -> Ids {
    let mut live = Vec::new();
    let mut trash = Vec::new();
    for lead in world.leads.values() {
        if lead.is_deleted {
            trash.push(lead.id);
        } else {
            live.push(lead.id);
        }
    }
    let mut contacts = Vec::new();
    let mut dead = Vec::new();
    for c in world.contacts.values() {
        if c.is_deleted {
            dead.push(c.id);
        } else {
            contacts.push(c.id);
        }
    }
    let users = world
        .users
        .iter()
        .filter(|u| u.is_active)
        .map(|u| u.id)
        .collect();
    let statuses = world
        .pipelines
        .iter()
        .filter(|p| !p.is_archive)
        .flat_map(|p| {
            p.statuses
                .iter()
                .filter(|s| s.kind != 1)
                .map(move |s| (p.id, s.id))
        })
        .collect();
    (live, trash, contacts, dead, users, statuses)
}

// ---------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------

/// Everything that differs between the store and the emulator.
#[derive(Default)]
struct Mismatches {
    by_class: BTreeMap<&'static str, Vec<String>>,
}

impl Mismatches {
    fn add(&mut self, class: &'static str, what: String) {
        self.by_class.entry(class).or_default().push(what);
    }

    fn total(&self) -> usize {
        self.by_class.values().map(Vec::len).sum()
    }

    fn report(&self) -> String {
        let mut out = format!("{} mismatches", self.total());
        for (class, items) in &self.by_class {
            out.push_str(&format!("\n{class}: {}", items.len()));
            for item in items.iter().take(8) {
                out.push_str(&format!("\n    {item}"));
            }
        }
        out
    }
}

fn compare(emu: &Emulator, store: &Store, connected_at: i64) -> Mismatches {
    let mut m = Mismatches::default();
    let world = emu.world().clone();

    // Leads and deletions.
    let stored: BTreeMap<u64, amosync_store::LeadRecord> = store_leads(store)
        .into_iter()
        .map(|r| (r.lead.id, r))
        .collect();
    for lead in world.leads.values() {
        let record = stored.get(&lead.id);
        let tomb = record.is_some_and(|r| r.sync.deleted_at.is_some() || r.lead.is_deleted);
        if lead.is_deleted {
            if record.is_some() && !tomb {
                m.add(
                    "deletions: deleted in amoCRM, live in the store",
                    format!("lead {}", lead.id),
                );
            }
            continue;
        }
        let Some(r) = record else {
            m.add("leads: missing from the store", format!("lead {}", lead.id));
            continue;
        };
        if tomb {
            m.add(
                "deletions: live in amoCRM, tombstoned in the store",
                format!("lead {} (sync {:?})", lead.id, r.sync),
            );
            continue;
        }
        let want = json!({
            "name": lead.name, "price": lead.price, "status_id": lead.status_id,
            "pipeline_id": lead.pipeline_id, "responsible_user_id": lead.responsible_user_id,
            "is_deleted": false, "updated_at": lead.updated_at,
        });
        let got = json!({
            "name": r.lead.name, "price": r.lead.price, "status_id": r.lead.status_id,
            "pipeline_id": r.lead.pipeline_id, "responsible_user_id": r.lead.responsible_user_id,
            "is_deleted": r.lead.is_deleted, "updated_at": r.lead.updated_at,
        });
        let d = diff(&got, &want);
        if !d.is_empty() {
            m.add(
                "leads: fields differ",
                format!("lead {} ({:?}): {}", lead.id, r.sync.origin, d.join("; ")),
            );
        }
    }
    for (id, r) in &stored {
        let tomb = r.sync.deleted_at.is_some() || r.lead.is_deleted;
        if !tomb && !world.leads.contains_key(id) {
            m.add(
                "leads: in the store, unknown to amoCRM",
                format!("lead {id}"),
            );
        }
    }

    // Contacts.
    let stored: BTreeMap<u64, amosync_store::ContactRecord> = store_contacts(store)
        .into_iter()
        .map(|r| (r.contact.id, r))
        .collect();
    for c in world.contacts.values() {
        let record = stored.get(&c.id);
        let tomb = record
            .is_some_and(|r| r.sync.deleted_at.is_some() || r.contact.is_deleted == Some(true));
        if c.is_deleted {
            if record.is_some() && !tomb {
                m.add(
                    "deletions: contact deleted in amoCRM, live in the store",
                    format!("contact {}", c.id),
                );
            }
            continue;
        }
        let Some(r) = record else {
            m.add(
                "contacts: missing from the store",
                format!("contact {}", c.id),
            );
            continue;
        };
        if tomb {
            m.add(
                "deletions: contact live in amoCRM, tombstoned in the store",
                format!("contact {}", c.id),
            );
            continue;
        }
        let phones: Vec<String> = c
            .custom_fields
            .iter()
            .filter(|f| f.field_code.as_deref() == Some("PHONE"))
            .flat_map(|f| f.values.iter().map(|v| v.value.clone()))
            .collect();
        let want = json!({"name": c.name, "responsible_user_id": c.responsible_user_id, "updated_at": c.updated_at, "phones": phones});
        let got_phones: Vec<String> = r.contact.phones().into_iter().map(|(_, p)| p).collect();
        let got = json!({"name": r.contact.name, "responsible_user_id": r.contact.responsible_user_id, "updated_at": r.contact.updated_at, "phones": got_phones});
        let d = diff(&got, &want);
        if !d.is_empty() {
            m.add(
                "contacts: fields differ",
                format!("contact {}: {}", c.id, d.join("; ")),
            );
        }
    }
    for (id, r) in &stored {
        let tomb = r.sync.deleted_at.is_some() || r.contact.is_deleted == Some(true);
        if !tomb && !world.contacts.contains_key(id) {
            m.add(
                "contacts: in the store, unknown to amoCRM",
                format!("contact {id}"),
            );
        }
    }

    // Pipelines and statuses.
    let want: BTreeSet<(u64, String, u64, String, i64)> = world
        .pipelines
        .iter()
        .flat_map(|p| {
            p.statuses
                .iter()
                .map(move |s| (p.id, p.name.clone(), s.id, s.name.clone(), s.sort))
        })
        .collect();
    let got: BTreeSet<(u64, String, u64, String, i64)> = store
        .pipelines()
        .expect("pipelines")
        .iter()
        .flat_map(|p| {
            p.statuses()
                .iter()
                .map(move |s| (p.id, p.name.clone(), s.id, s.name.clone(), s.sort))
        })
        .collect();
    for missing in want.difference(&got) {
        m.add("statuses: missing from the store", format!("{missing:?}"));
    }
    for extra in got.difference(&want) {
        m.add(
            "statuses: in the store, not in amoCRM",
            format!("{extra:?}"),
        );
    }

    // Talks.
    let stored: BTreeMap<u64, amosync_store::TalkRecord> = store_talks(store)
        .into_iter()
        .map(|t| (t.talk.talk_id, t))
        .collect();
    // amoCRM has no talk list: talks are learnt from webhooks and chat
    // events. The documented contract (catchup.rs): the first full pull
    // reads the last 7 days of events. So a talk must be in the store when
    // it changed after connecting or had a chat event in those 7 days; an
    // older, quiet talk is only counted.
    let floor = connected_at - 7 * 24 * 3600;
    let promised: BTreeSet<u64> = world
        .events
        .iter()
        .filter(|e| e.kind.ends_with("_chat_message") && e.created_at >= floor)
        .filter_map(|e| {
            e.value_after
                .pointer("/0/message/talk_id")
                .and_then(Value::as_u64)
        })
        .chain(
            world
                .talks
                .values()
                .filter(|t| t.updated_at >= connected_at)
                .map(|t| t.talk_id),
        )
        .collect();
    let mut quiet = 0usize;
    for t in world.talks.values() {
        let Some(r) = stored.get(&t.talk_id) else {
            if promised.contains(&t.talk_id) {
                m.add(
                    "talks: missing from the store",
                    format!("talk {}", t.talk_id),
                );
            } else {
                quiet += 1;
            }
            continue;
        };
        let want = json!({"chat_id": t.chat_id, "contact_id": t.contact_id, "entity_id": t.entity_id, "origin": t.origin, "is_read": t.is_read, "is_in_work": t.is_in_work, "updated_at": t.updated_at});
        let got = json!({"chat_id": r.talk.chat_id, "contact_id": r.talk.contact_id, "entity_id": r.talk.entity_id, "origin": r.talk.origin, "is_read": r.talk.is_read, "is_in_work": r.talk.is_in_work, "updated_at": r.talk.updated_at});
        let d = diff(&got, &want);
        if !d.is_empty() {
            m.add(
                "talks: fields differ",
                format!("talk {}: {}", t.talk_id, d.join("; ")),
            );
        }
    }
    eprintln!(
        "talks: {} in amoCRM, {} promised, {} in the store, {quiet} older quiet talks not pulled (by design)",
        world.talks.len(),
        promised.len(),
        stored.len()
    );
    for id in stored.keys() {
        if !world.talks.contains_key(id) {
            m.add(
                "talks: in the store, unknown to amoCRM",
                format!("talk {id}"),
            );
        }
    }
    m
}

// ---------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------

fn phase(t0: Instant, what: &str) {
    eprintln!("[{:>6.1}s] {what}", t0.elapsed().as_secs_f64());
}

/// A reader for the few calls the test makes itself: slow, so it never
/// trips the real limits.
fn slow_reader(emu: &Emulator) -> amo::Client {
    let config = amo::ClientConfig {
        rate_per_second: 2.0,
        ..amo::ClientConfig::from_url(&base(emu)).expect("base URL")
    };
    amo::Client::new(config, amo::StaticToken::new(emu.issue_token(true))).expect("client")
}

async fn start(
    store: &Store,
    emu: &Emulator,
    listen: SocketAddr,
    secret: &WebhookSecret,
    api: &amo::Client,
) -> EngineHandle {
    // Product defaults: catch-up at start, every 5 minutes, 5 min overlap.
    let config = amosync_sync::EngineConfig::new(listen, secret.clone());
    start_engine(store, engine_client_default(emu), config, api).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_converges_through_lost_duplicated_reordered_webhooks_an_outage_and_5xx() {
    let t0 = Instant::now();
    let emu = emulator(SEED, LEADS, LimitsConfig::default()).await;
    let base_url = base(&emu);
    let http = http();
    let api = slow_reader(&emu);
    // Quick retries, so some deliveries that failed during the outage are
    // retried after it; amoCRM's real disable rule stays on.
    control(
        &http,
        &base_url,
        Method::POST,
        "/webhooks/config",
        json!({"retry_delays_ms": [2_000, 5_000, 12_000]}),
    )
    .await;
    let dir = tempdir();
    let path = store_path(&dir);
    let mut store = bound_store(&path, &api, &base_url).await;
    let secret = WebhookSecret::generate();
    phase(t0, "emulator seeded, store bound");

    let connected_at = emu.world().clock.now();
    let engine = start(&store, &emu, loopback_any(), &secret, &api).await;
    let listen = engine.local_addr();
    // As when an office connects: the first full pull runs while people
    // keep working (and, at 5 requests/s, is still running when the 5xx
    // burst comes).
    phase(
        t0,
        "engine started; the full pull runs while the office works",
    );

    control(
        &http,
        &base_url,
        Method::POST,
        "/webhooks/faults",
        json!({"drop_rate": 0.1, "duplicate_rate": 0.1, "reorder": true}),
    )
    .await;
    let mut office = Office {
        state: emu.state(),
        rng: SeededRng::new(SEED),
        done: BTreeMap::new(),
        refused: 0,
        n: 0,
    };

    // Before the outage: the office works through the full pull; then a
    // burst of API 5xx while only webhooks (the fetcher) drive the API.
    office.run(BEFORE / 2, Duration::from_secs(10)).await;
    let deadline = Instant::now() + Duration::from_secs(240);
    while engine.status().last_catchup_at.is_none() {
        assert!(
            Instant::now() < deadline,
            "the first full pull did not finish within 240 s: {:?}",
            engine.status()
        );
        office.run(10, Duration::from_secs(1)).await;
    }
    phase(
        t0,
        &format!(
            "full pull done ({} API requests so far); API 5xx burst starts",
            emu.state().stats().requests
        ),
    );
    let before_burst = emu.state().stats();
    control(
        &http,
        &base_url,
        Method::POST,
        "/faults/api",
        json!({"error_rate": 0.8, "error_status": 503}),
    )
    .await;
    office.run(BEFORE / 4, BURST).await;
    control(&http, &base_url, Method::POST, "/faults/reset", json!({})).await;
    let after_burst = emu.state().stats();
    let burst_requests = after_burst.requests - before_burst.requests;
    let burst_5xx = after_burst.faults_injected - before_burst.faults_injected;
    phase(
        t0,
        &format!(
            "5xx burst over: {burst_requests} API requests in {BURST:?}, {burst_5xx} answered 5xx"
        ),
    );
    office
        .run(BEFORE - BEFORE / 2 - BEFORE / 4, Duration::from_secs(8))
        .await;

    // The outage: the engine stops, the office keeps working.
    phase(t0, "receiver outage starts");
    engine.shutdown().await;
    drop(store);
    office.run(DURING, OUTAGE).await;
    phase(
        t0,
        "outage over; a new engine starts on the same store file and port",
    );
    store = reopen(&path).await;
    let engine = start(&store, &emu, listen, &secret, &api).await;
    assert_eq!(engine.local_addr(), listen, "the same port");
    office.run(AFTER, Duration::from_secs(10)).await;
    phase(
        t0,
        &format!(
            "{} mutations done ({} refused draws): {:?}",
            office.n, office.refused, office.done
        ),
    );
    assert!(office.n >= 2_000, "at least 2,000 mutations");

    // Let every delivery (and retry) finish, then a catch-up, then settle.
    let idle = emu.hub().wait_idle(Duration::from_secs(60)).await;
    phase(t0, &format!("webhook deliveries idle: {idle}"));
    let report = engine
        .catch_up_now()
        .await
        .expect("the final catch-up succeeds");
    phase(t0, &format!("catch-up: {report:?}"));
    assert!(
        engine.settle(Duration::from_secs(120)).await,
        "the engine did not settle after the catch-up: {:?}",
        engine.status()
    );
    phase(t0, "settled; comparing");

    let mismatches = compare(&emu, &store, connected_at);
    let stats = emu.state().stats();
    let deliveries: Vec<Value> =
        serde_json::from_value(json!(emu.hub().deliveries())).expect("deliveries as JSON");
    let faults: BTreeMap<String, usize> = deliveries.iter().fold(BTreeMap::new(), |mut acc, d| {
        if let Some(f) = d["fault"].as_str() {
            *acc.entry(f.to_owned()).or_default() += 1;
        }
        if d["ok"] == json!(false) {
            *acc.entry("failed attempts".to_owned()).or_default() += 1;
        }
        acc
    });
    phase(
        t0,
        &format!(
            "API requests {}, by status {:?}; delivery log {} records, {:?}",
            stats.requests,
            stats.by_status,
            deliveries.len(),
            faults
        ),
    );
    engine.shutdown().await;

    assert!(
        faults.get("dropped").copied().unwrap_or(0) > 0
            && faults.get("duplicate").copied().unwrap_or(0) > 0,
        "the webhook faults were not in effect: {faults:?}"
    );
    assert!(burst_5xx > 0, "the 5xx burst hit no request");
    // Backing off: the fetcher may not keep hammering an API that answers
    // 5xx. Without backoff, 5 requests/s would make ~40 requests in 8 s.
    // (The full pull is over by then, so the fetcher is the API's only
    // caller.)
    assert!(
        (burst_requests as f64) <= 5.0 * BURST.as_secs_f64() * 0.75,
        "{burst_requests} API requests during an {BURST:?} 5xx burst: no backoff"
    );
    assert_eq!(
        mismatches.total(),
        0,
        "the store does not equal the emulator: {}",
        mismatches.report()
    );
    assert_eq!(
        stats.rate_limited, 0,
        "the emulator answered 429: {:?}",
        stats.by_status
    );
    assert_eq!(stats.blocked, 0, "the account got blocked");
    phase(t0, "done");
}

/// Opens the store file again after the engine let go of it (bounded).
async fn reopen(path: &std::path::Path) -> Store {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match Store::open(path) {
            Ok(store) => return store,
            Err(e) if Instant::now() < deadline => {
                eprintln!("store not reopenable yet: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("the store file is still held 10 s after EngineHandle::shutdown: {e}"),
        }
    }
}
