//! End to end, over real HTTP on 127.0.0.1, for each webhook event kind the
//! office subscribes to: an office action through the emulator's control API
//! → the emulator's webhook delivery → the sync engine's receiver → the
//! durable event log → the applier/fetcher → the redb store. Then the store's
//! view must equal what the API shows (read with the `amo` client).
//!
//! Each test also checks that the change really came through the webhook
//! path: new event log entries appeared and every one was applied. The
//! periodic catch-up is pushed out to an hour, so it cannot paper over a
//! broken receiver.
//!
//! Waits are bounded: the emulator's delivery queue going idle, then
//! `EngineHandle::settle`, then polling the store (50 ms steps) up to a
//! deadline. No fixed sleep is an assertion.

#[path = "sync_harness.rs"]
mod sync_harness;

use std::time::Duration;

use amo::models::{Lead, StatusKey};
use amo::{Client, NoteEntity};
use amo_emulator::Emulator;
use amosync_store::{Direction, EventOutcome, Store};
use amosync_sync::{EngineHandle, WebhookSecret};
use reqwest::Method;
use serde_json::{Value, json};
use sync_harness::*;

/// Upper bound of every wait.
const WAIT: Duration = Duration::from_secs(20);

/// An emulated account mirrored by a running engine.
struct Live {
    emu: Emulator,
    base: String,
    http: reqwest::Client,
    api: Client,
    _dir: tempfile::TempDir,
    store: Store,
    engine: EngineHandle,
}

impl Live {
    /// 30 leads, relaxed limits; a first catch-up, then webhooks only.
    async fn start(seed: u64) -> Live {
        let emu = emulator(seed, 30, relaxed_limits()).await;
        let base = base(&emu);
        let api = reader(&emu);
        let dir = tempdir();
        let store = bound_store(&store_path(&dir), &api, &base).await;
        let secret = WebhookSecret::generate();
        let engine = start_engine(
            &store,
            engine_client_fast(&emu),
            engine_config(loopback_any(), &secret, true, false),
            &api,
        )
        .await;
        assert!(
            engine.settle(Duration::from_secs(90)).await,
            "the first catch-up did not settle: {:?}",
            engine.status()
        );
        Live {
            emu,
            base,
            http: http(),
            api,
            _dir: dir,
            store,
            engine,
        }
    }

    async fn ctl(&self, method: Method, path: &str, body: Value) -> Value {
        control(&self.http, &self.base, method, path, body).await
    }

    fn log_len(&self) -> usize {
        event_log(&self.store).len()
    }

    /// Waits for the deliveries and the engine, then checks that the action
    /// came in as new event log entries (after `mark`), all applied.
    async fn delivered(&self, mark: usize, what: &str) {
        quiesce(&self.emu, &self.engine, WAIT, what).await;
        let log = event_log(&self.store);
        let fresh = &log[mark.min(log.len())..];
        assert!(
            !fresh.is_empty(),
            "{what}: no webhook reached the event log (the receiver never logged it)"
        );
        for entry in fresh {
            assert!(
                matches!(entry.outcome, Some(EventOutcome::Applied { .. })),
                "{what}: event log entry {} was not applied: {:?}\n{}",
                entry.seq,
                entry.outcome,
                String::from_utf8_lossy(&entry.body)
            );
        }
    }

    /// The store's lead equals the API's (bounded polling).
    async fn lead_matches(&self, id: u64, what: &str) -> Lead {
        let api = api_lead(&self.api, id)
            .await
            .unwrap_or_else(|| panic!("{what}: the API has no lead {id}"));
        let want = lead_view(&api);
        let problems = eventually(WAIT, || async {
            match self.store.lead_record(id).expect("lead_record") {
                None => vec![format!("lead {id} is not in the store")],
                Some(r) => {
                    let mut p = diff(&lead_view(&r.lead), &want);
                    if r.sync.deleted_at.is_some() {
                        p.push(format!(
                            "lead {id} is tombstoned in the store: {:?}",
                            r.sync
                        ));
                    }
                    p
                }
            }
        })
        .await;
        assert!(
            problems.is_empty(),
            "{what}: store ≠ API for lead {id}:\n  {}",
            problems.join("\n  ")
        );
        api
    }

    /// The store's contact equals the API's.
    async fn contact_matches(&self, id: u64, what: &str) {
        let api = self
            .api
            .contact(id, &[])
            .await
            .expect("GET contact")
            .unwrap_or_else(|| panic!("{what}: the API has no contact {id}"));
        let want = contact_view(&api);
        let problems = eventually(WAIT, || async {
            match self.store.contact(id).expect("contact") {
                None => vec![format!("contact {id} is not in the store")],
                Some(d) => {
                    let mut p = diff(&contact_view(&d.contact.contact), &want);
                    if d.contact.sync.deleted_at.is_some() {
                        p.push(format!("contact {id} is tombstoned in the store"));
                    }
                    p
                }
            }
        })
        .await;
        assert!(
            problems.is_empty(),
            "{what}: store ≠ API for contact {id}:\n  {}",
            problems.join("\n  ")
        );
    }

    /// The store's talk equals the API's (`GET /api/v4/talks/{id}`).
    async fn talk_matches(&self, talk_id: u64, what: &str) {
        let api = self
            .api
            .talk(talk_id)
            .await
            .expect("GET talk")
            .unwrap_or_else(|| panic!("{what}: the API has no talk {talk_id}"));
        let want = talk_view(&api);
        let problems = eventually(WAIT, || async {
            let talks = store_talks(&self.store);
            match talks.iter().find(|t| t.talk.talk_id == talk_id) {
                None => vec![format!("talk {talk_id} is not in the store")],
                Some(t) => diff(&talk_view(&t.talk), &want),
            }
        })
        .await;
        assert!(
            problems.is_empty(),
            "{what}: store ≠ API for talk {talk_id}:\n  {}",
            problems.join("\n  ")
        );
    }

    /// A live lead of the seed.
    fn some_lead(&self, skip: usize) -> u64 {
        emulator_live_leads(&self.emu)[skip]
    }
}

fn emulator_live_leads(emu: &Emulator) -> Vec<u64> {
    emu.world()
        .leads
        .values()
        .filter(|l| !l.is_deleted)
        .map(|l| l.id)
        .collect()
}

fn id(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not an id: {v}"))
}

// ---------------------------------------------------------------------------
// Leads: add, update, status, responsible, delete, restore
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lead_add_update_status_responsible_delete_restore() {
    let live = Live::start(7_001).await;

    // add
    let mark = live.log_len();
    let added = live
        .ctl(
            Method::POST,
            "/leads",
            json!({"name": "Аренда «Камри» на 3 дня", "price": 45_000, "tags": ["сайт"]}),
        )
        .await;
    let lead_id = id(&added["id"]);
    live.delivered(mark, "leads[add]").await;
    live.lead_matches(lead_id, "leads[add]").await;

    // update (name and price)
    let mark = live.log_len();
    live.ctl(
        Method::PATCH,
        &format!("/leads/{lead_id}"),
        json!({"name": "Аренда «Камри» на 5 дней", "price": 71_500}),
    )
    .await;
    live.delivered(mark, "leads[update]").await;
    let lead = live.lead_matches(lead_id, "leads[update]").await;
    assert_eq!(lead.name, "Аренда «Камри» на 5 дней");
    assert_eq!(lead.price, 71_500);

    // status
    let pipelines = live.api.pipelines().await.expect("pipelines");
    let pipeline = pipelines
        .iter()
        .find(|p| p.id == lead.pipeline_id)
        .expect("the lead's pipeline");
    let target = pipeline
        .statuses()
        .iter()
        .find(|s| s.id != lead.status_id && s.status_type == 0 && s.id != 142 && s.id != 143)
        .expect("another open status");
    let from = lead.status_key();
    let mark = live.log_len();
    live.ctl(
        Method::POST,
        &format!("/leads/{lead_id}/move"),
        json!({"status_id": target.id}),
    )
    .await;
    live.delivered(mark, "leads[status]").await;
    let lead = live.lead_matches(lead_id, "leads[status]").await;
    assert_eq!(lead.status_id, target.id);
    let to = StatusKey {
        pipeline_id: pipeline.id,
        status_id: target.id,
    };
    let problems = eventually(WAIT, || async {
        let detail = live.store.lead(lead_id).expect("lead detail");
        let history = detail.map(|d| d.history).unwrap_or_default();
        if history.iter().any(|c| c.to == to && c.from == Some(from)) {
            Vec::new()
        } else {
            vec![format!(
                "no status change {from:?} → {to:?} in the history: {history:?}"
            )]
        }
    })
    .await;
    assert!(problems.is_empty(), "leads[status]: {problems:?}");

    // won (142): closed_at must come along
    let mark = live.log_len();
    live.ctl(
        Method::POST,
        &format!("/leads/{lead_id}/move"),
        json!({"status_id": 142}),
    )
    .await;
    live.delivered(mark, "leads[status] → won").await;
    let lead = live.lead_matches(lead_id, "leads[status] → won").await;
    assert!(lead.closed_at.is_some(), "a won lead has closed_at");

    // responsible
    let users = live.api.users().await.expect("users");
    let other = users
        .iter()
        .find(|u| u.id != lead.responsible_user_id && u.rights.is_active != Some(false))
        .expect("another active user");
    let mark = live.log_len();
    live.ctl(
        Method::PATCH,
        &format!("/leads/{lead_id}"),
        json!({"responsible_user_id": other.id}),
    )
    .await;
    live.delivered(mark, "leads[responsible]").await;
    let lead = live.lead_matches(lead_id, "leads[responsible]").await;
    assert_eq!(lead.responsible_user_id, other.id);

    // delete: the API answers 204, the store keeps a tombstone and lists
    // the lead no more
    let mark = live.log_len();
    live.ctl(Method::DELETE, &format!("/leads/{lead_id}"), json!({}))
        .await;
    live.delivered(mark, "leads[delete]").await;
    assert!(
        api_lead(&live.api, lead_id).await.is_none(),
        "the API still shows the deleted lead"
    );
    let problems = eventually(WAIT, || async {
        let mut p = Vec::new();
        match live.store.lead_record(lead_id).expect("lead_record") {
            Some(r) if r.sync.deleted_at.is_some() || r.lead.is_deleted => {}
            other => p.push(format!("not tombstoned: {other:?}")),
        }
        let listed = live
            .store
            .leads(&amosync_store::LeadsQuery {
                limit: Some(100_000),
                ..Default::default()
            })
            .expect("leads");
        if listed.items.iter().any(|r| r.lead.id == lead_id) {
            p.push("the deleted lead is still listed".into());
        }
        p
    })
    .await;
    assert!(problems.is_empty(), "leads[delete]: {problems:?}");

    // restore
    let mark = live.log_len();
    live.ctl(
        Method::POST,
        &format!("/leads/{lead_id}/restore"),
        json!({}),
    )
    .await;
    live.delivered(mark, "leads[restore]").await;
    let lead = live.lead_matches(lead_id, "leads[restore]").await;
    assert!(!lead.is_deleted);

    // A seeded lead edited by the office (the store knew it from catch-up).
    let seeded = live.some_lead(3);
    let mark = live.log_len();
    live.ctl(
        Method::PATCH,
        &format!("/leads/{seeded}"),
        json!({"price": 123_456, "tags": ["VIP", "повторный"]}),
    )
    .await;
    live.delivered(mark, "leads[update] of a seeded lead").await;
    live.lead_matches(seeded, "leads[update] of a seeded lead")
        .await;
    live.engine.shutdown().await;
}

// ---------------------------------------------------------------------------
// Contacts: add, update, delete
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_add_update_delete() {
    let live = Live::start(7_002).await;
    let lead_id = live.some_lead(1);

    let mark = live.log_len();
    let added = live
        .ctl(
            Method::POST,
            "/contacts",
            json!({"name": "Тамара Гогуа", "phone": "+995 555 12-34-56", "email": "tamara@example.ge", "lead_id": lead_id}),
        )
        .await;
    let contact_id = id(&added["id"]);
    live.delivered(mark, "contacts[add]").await;
    live.contact_matches(contact_id, "contacts[add]").await;
    // The lead now links the contact, in the store as in the API.
    live.lead_matches(lead_id, "contacts[add] → linked lead")
        .await;

    let mark = live.log_len();
    live.ctl(
        Method::PATCH,
        &format!("/contacts/{contact_id}"),
        json!({"name": "Тамара Гогуа-Кварацхелия", "phone": "+995 599 00-11-22"}),
    )
    .await;
    live.delivered(mark, "contacts[update]").await;
    live.contact_matches(contact_id, "contacts[update]").await;
    let stored = live
        .store
        .contact(contact_id)
        .expect("contact")
        .expect("stored");
    assert_eq!(stored.contact.contact.name, "Тамара Гогуа-Кварацхелия");

    let mark = live.log_len();
    live.ctl(
        Method::DELETE,
        &format!("/contacts/{contact_id}"),
        json!({}),
    )
    .await;
    live.delivered(mark, "contacts[delete]").await;
    let api = live
        .api
        .contact(contact_id, &[])
        .await
        .expect("GET contact");
    assert!(
        api.is_none() || api.as_ref().and_then(|c| c.is_deleted) == Some(true),
        "the API still shows the deleted contact: {api:?}"
    );
    let problems = eventually(WAIT, || async {
        let mut p = Vec::new();
        match live.store.contact(contact_id).expect("contact") {
            Some(d)
                if d.contact.sync.deleted_at.is_some()
                    || d.contact.contact.is_deleted == Some(true) => {}
            None => {}
            Some(d) => p.push(format!("not tombstoned: {:?}", d.contact.sync)),
        }
        let listed = live
            .store
            .contacts(&amosync_store::ContactsQuery {
                limit: Some(100_000),
                ..Default::default()
            })
            .expect("contacts");
        if listed.items.iter().any(|r| r.contact.id == contact_id) {
            p.push("the deleted contact is still listed".into());
        }
        p
    })
    .await;
    assert!(problems.is_empty(), "contacts[delete]: {problems:?}");
    live.engine.shutdown().await;
}

// ---------------------------------------------------------------------------
// Companies: add, update
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn company_add_update() {
    let live = Live::start(7_003).await;
    let lead_id = live.some_lead(2);

    let mark = live.log_len();
    let added = live
        .ctl(
            Method::POST,
            "/companies",
            json!({"name": "ООО «Ромашка»", "lead_id": lead_id}),
        )
        .await;
    let company_id = id(&added["id"]);
    live.delivered(mark, "contacts[add] type=company").await;

    let company_matches = |what: &'static str| {
        let live = &live;
        async move {
            let api = live
                .api
                .company(company_id)
                .await
                .expect("GET company")
                .unwrap_or_else(|| panic!("{what}: the API has no company {company_id}"));
            let want = json!({"id": api.id, "name": api.name, "responsible_user_id": api.responsible_user_id, "updated_at": api.updated_at, "created_at": api.created_at});
            let problems = eventually(WAIT, || async {
                let detail = live.store.lead(lead_id).expect("lead detail");
                let companies = detail.map(|d| d.companies).unwrap_or_default();
                match companies.iter().find(|c| c.company.id == company_id) {
                    None => vec![format!(
                        "company {company_id} is not linked to lead {lead_id} in the store (has {:?})",
                        companies.iter().map(|c| c.company.id).collect::<Vec<_>>()
                    )],
                    Some(c) => diff(
                        &json!({"id": c.company.id, "name": c.company.name, "responsible_user_id": c.company.responsible_user_id, "updated_at": c.company.updated_at, "created_at": c.company.created_at}),
                        &want,
                    ),
                }
            })
            .await;
            assert!(
                problems.is_empty(),
                "{what}: store ≠ API for company {company_id}:\n  {}",
                problems.join("\n  ")
            );
        }
    };
    company_matches("contacts[add] type=company").await;
    live.lead_matches(lead_id, "company linked to the lead")
        .await;

    let mark = live.log_len();
    live.ctl(
        Method::PATCH,
        &format!("/companies/{company_id}"),
        json!({"name": "АО «Ромашка и партнёры»"}),
    )
    .await;
    live.delivered(mark, "contacts[update] type=company").await;
    company_matches("contacts[update] type=company").await;
    live.engine.shutdown().await;
}

// ---------------------------------------------------------------------------
// Notes
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn note_add() {
    let live = Live::start(7_004).await;
    let lead_id = live.some_lead(4);
    let text = "Клиент просит детское кресло; перезвонить после 18:00 🚗";

    let mark = live.log_len();
    let note = live
        .ctl(
            Method::POST,
            "/notes",
            json!({"entity": "lead", "entity_id": lead_id, "text": text}),
        )
        .await;
    let note_id = id(&note["id"]);
    live.delivered(mark, "leads[note]").await;
    let api = live
        .api
        .note(NoteEntity::Leads, lead_id, note_id)
        .await
        .expect("GET note")
        .expect("the API has the note");
    let want = json!({"id": api.id, "entity_id": api.entity_id, "note_type": api.note_type, "text": api.params.text, "created_at": api.created_at, "updated_at": api.updated_at, "created_by": api.created_by});
    let problems = eventually(WAIT, || async {
        let notes = live
            .store
            .lead(lead_id)
            .expect("lead detail")
            .map(|d| d.notes)
            .unwrap_or_default();
        match notes.iter().find(|n| n.note.id == note_id) {
            None => vec![format!("note {note_id} is not on lead {lead_id} in the store")],
            Some(n) => diff(
                &json!({"id": n.note.id, "entity_id": n.note.entity_id, "note_type": n.note.note_type, "text": n.note.params.text, "created_at": n.note.created_at, "updated_at": n.note.updated_at, "created_by": n.note.created_by}),
                &want,
            ),
        }
    })
    .await;
    assert!(
        problems.is_empty(),
        "leads[note]: store ≠ API:\n  {}",
        problems.join("\n  ")
    );
    live.engine.shutdown().await;
}

// ---------------------------------------------------------------------------
// Unsorted, incoming chat messages, talks
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsorted_add() {
    let live = Live::start(7_005).await;
    let text = "Нужна машина на неделю, с 12 по 19 мая";
    let mark = live.log_len();
    let answer = live
        .ctl(
            Method::POST,
            "/unsorted",
            json!({"name": "Давид Гелашвили", "text": text, "category": "chats", "origin": "telegram", "phone": "+995 555 98-76-54"}),
        )
        .await;
    let lead_id = id(&answer["lead_id"]);
    let contact_id = id(&answer["_embedded"]["contacts"][0]["id"]);
    live.delivered(mark, "unsorted[add]").await;
    let lead = live.lead_matches(lead_id, "unsorted[add] → lead").await;
    assert!(lead.contact_ids().contains(&contact_id));
    live.contact_matches(contact_id, "unsorted[add] → contact")
        .await;
    let problems = eventually(WAIT, || async {
        let detail = live.store.lead(lead_id).expect("lead detail");
        let messages = detail.map(|d| d.messages).unwrap_or_default();
        if messages.iter().any(|m| m.text.as_deref() == Some(text)) {
            Vec::new()
        } else {
            vec![format!(
                "the request's chat message is not stored: {messages:?}"
            )]
        }
    })
    .await;
    assert!(problems.is_empty(), "unsorted[add]: {problems:?}");
    live.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incoming_chat_message() {
    let live = Live::start(7_006).await;
    let lead_id = live.some_lead(5);
    let text = "Здравствуйте! Можно взять машину завтра в 9:00?";

    let mark = live.log_len();
    let m = live
        .ctl(
            Method::POST,
            "/messages",
            json!({"lead_id": lead_id, "text": text, "origin": "waba"}),
        )
        .await;
    let message_id = m["id"].as_str().expect("message id").to_owned();
    let talk_id = id(&m["talk_id"]);
    let created_at = m["created_at"].as_i64().expect("created_at");
    live.delivered(mark, "message[add]").await;

    let problems = eventually(WAIT, || async {
        let Some(detail) = live.store.lead(lead_id).expect("lead detail") else {
            return vec![format!("lead {lead_id} is not in the store")];
        };
        let mut p = Vec::new();
        match detail.messages.iter().find(|x| x.id == message_id) {
            None => p.push(format!("message {message_id} not stored on lead {lead_id}")),
            Some(x) => {
                let got = json!({"text": x.text, "talk_id": x.talk_id, "chat_id": x.chat_id, "contact_id": x.contact_id, "incoming": x.direction == Direction::Incoming, "origin": x.origin, "created_at": x.created_at});
                let want = json!({"text": text, "talk_id": talk_id, "chat_id": m["chat_id"], "contact_id": m["contact_id"], "incoming": true, "origin": "waba", "created_at": created_at});
                p.extend(diff(&got, &want));
            }
        }
        match detail.talks.iter().find(|t| t.talk.talk_id == talk_id) {
            None => p.push(format!("talk {talk_id} not among the lead's talks")),
            Some(t) => {
                if t.last_text.as_deref() != Some(text) {
                    p.push(format!("talk last_text {:?}", t.last_text));
                }
                if t.last_incoming_at != Some(created_at) {
                    p.push(format!("talk last_incoming_at {:?}", t.last_incoming_at));
                }
                if t.waiting_messages == 0 {
                    p.push("talk waiting_messages is 0 after an incoming message".into());
                }
            }
        }
        p
    })
    .await;
    assert!(
        problems.is_empty(),
        "message[add]:\n  {}",
        problems.join("\n  ")
    );
    live.talk_matches(talk_id, "message[add] → talk").await;
    live.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn talk_add_update() {
    let live = Live::start(7_007).await;
    let lead_id = live.some_lead(6);

    let mark = live.log_len();
    let talk = live
        .ctl(
            Method::POST,
            "/talks",
            json!({"lead_id": lead_id, "origin": "instagram"}),
        )
        .await;
    let talk_id = id(&talk["talk_id"]);
    live.delivered(mark, "talk[add]").await;
    live.talk_matches(talk_id, "talk[add]").await;

    let mark = live.log_len();
    live.ctl(
        Method::PATCH,
        &format!("/talks/{talk_id}"),
        json!({"is_read": true, "is_in_work": false}),
    )
    .await;
    live.delivered(mark, "talk[update]").await;
    live.talk_matches(talk_id, "talk[update]").await;
    let stored = store_talks(&live.store);
    let t = stored
        .iter()
        .find(|t| t.talk.talk_id == talk_id)
        .expect("talk stored");
    assert!(t.talk.is_read && !t.talk.is_in_work, "{t:?}");
    live.engine.shutdown().await;
}
