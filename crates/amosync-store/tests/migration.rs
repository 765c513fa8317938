//! The checked-in store file from schema 1 opens with the current code, and
//! rebuilding the derived indexes gives identical query results.
//!
//! `UPDATE_FIXTURE=1 cargo test -p amosync-store --test migration` rewrites
//! `tests/fixtures/store-v1.redb` (only do that when schema 1 itself changes,
//! i.e. never after release).

mod common;

use std::path::{Path, PathBuf};

use amo::models::StatusKey;
use amosync_store::{
    ChatMessage, ContactsQuery, Direction, FunnelQuery, LeadsQuery, Origin, RawEvent, StatusChange,
    Store, TalksQuery,
};
use common::*;
use serde_json::json;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v1.redb")
}

fn fill(s: &Store) {
    s.append_events(&[
        RawEvent {
            received_at_ms: 1_700_000_000_000,
            body: b"leads%5Badd%5D%5B0%5D%5Bid%5D=1".to_vec(),
        },
        RawEvent {
            received_at_ms: 1_700_000_000_500,
            body: b"leads%5Bstatus%5D%5B0%5D%5Bid%5D=2".to_vec(),
        },
    ])
    .unwrap();
    s.write(|w| {
        w.set_now_ms(1_700_000_001_000);
        w.set_binding(&amosync_store::AccountBinding {
            account_id: 31234567,
            subdomain: "prokat".into(),
            name: "Прокат авто".into(),
            base_url: "https://prokat.amocrm.ru".into(),
            currency: Some("GEL".into()),
            timezone: Some("Asia/Tbilisi".into()),
            connected_at: 1_700_000_000,
        })?;
        w.put_pipelines(&[primary()])?;
        w.put_users(&[serde_json::from_value(json!({"id": 1, "name": "Анна Менеджер", "email": "anna@example.ru"})).unwrap()])?;
        w.upsert_contact(&contact(501, "Иванов Иван", "+7 (999) 123-45-67", "ivanov@example.ru", 100), Origin::Api)?;
        w.upsert_contact(&contact(502, "Сидорова Мария", "+995 555 12 34 56", "maria@example.ge", 100), Origin::Api)?;
        w.upsert_lead(
            &lead_json(json!({"id": 1, "name": "Аренда Toyota Camry", "price": 45000, "status_id": 69641342,
                "pipeline_id": PRIMARY, "created_at": 1_700_000_000, "updated_at": 1_700_000_300, "responsible_user_id": 1,
                "_embedded": {"tags": [{"id": 7, "name": "Постоянный"}], "contacts": [{"id": 501, "is_main": true}]}})),
            Origin::Api,
        )?;
        w.upsert_lead(&lead(2, 1_700_000_100, 69641338, 12000), Origin::Webhook)?;
        w.upsert_lead(&lead(2, 1_700_000_200, 143, 12000), Origin::Api)?;
        w.upsert_lead(
            &lead_json(json!({"id": 3, "name": "Hyundai Solaris на неделю", "price": 21000, "status_id": 142,
                "pipeline_id": PRIMARY, "created_at": 1_700_000_050, "updated_at": 1_700_000_400, "closed_at": 1_700_000_400,
                "responsible_user_id": 1, "_embedded": {"tags": [], "contacts": [{"id": 502, "is_main": true}]}})),
            Origin::Api,
        )?;
        w.upsert_lead(&lead(4, 1_700_000_100, 69641334, 0), Origin::Api)?;
        w.delete_lead(4, 1_700_000_500)?;
        for (lead_id, at, from, to) in [
            (1u64, 1_700_000_000i64, None, 69641338u64),
            (1, 1_700_000_300, Some(69641338u64), 69641342),
            (2, 1_700_000_100, None, 69641338),
            (2, 1_700_000_200, Some(69641338), 143),
        ] {
            w.record_status_change(&StatusChange {
                lead_id,
                at,
                from: from.map(|s| StatusKey { pipeline_id: PRIMARY, status_id: s }),
                to: StatusKey { pipeline_id: PRIMARY, status_id: to },
                by: Some(1),
            })?;
        }
        w.upsert_talk(&talk(77, 1, 501, "telegram", 1_700_000_600, false), Origin::Api)?;
        w.record_message(&ChatMessage {
            id: "5f1c1b9e-0000-4000-8000-000000000001".into(),
            talk_id: Some(77),
            chat_id: Some("chat-77".into()),
            contact_id: Some(501),
            lead_id: Some(1),
            direction: Direction::Incoming,
            origin: Some("telegram".into()),
            text: Some("Добрый день! Машина свободна на выходные?".into()),
            author_name: Some("Иван".into()),
            created_at: 1_700_000_650,
        })?;
        w.mark_event(1, &amosync_store::EventOutcome::Applied { events: 1 })?;
        w.update_sync_state(|st| {
            st.leads_cursor = Some(1_700_000_400);
            st.api_requests = 12;
        })
    })
    .unwrap();
}

/// Generates the fixture (only with UPDATE_FIXTURE=1).
#[test]
fn generate_fixture() {
    if std::env::var_os("UPDATE_FIXTURE").is_none() {
        return;
    }
    let path = fixture();
    let _ = std::fs::remove_file(&path);
    let s = Store::open(&path).unwrap();
    fill(&s);
    drop(s);
    let mut db = redb::Database::create(&path).unwrap();
    db.compact().unwrap();
}

fn open_copy() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    std::fs::copy(fixture(), &path).expect("copy the fixture");
    (dir, Store::open(&path).expect("open the v1 fixture"))
}

/// Everything the queries return, as text.
fn snapshot(s: &Store) -> String {
    let mut out = String::new();
    let leads = s
        .leads(&LeadsQuery {
            include_deleted: true,
            ..Default::default()
        })
        .unwrap();
    out += &serde_json::to_string(&leads).unwrap();
    for q in ["иванов", "999123", "постоянный", "maria@"] {
        let r = s
            .leads(&LeadsQuery {
                search: Some(q.into()),
                ..Default::default()
            })
            .unwrap();
        out += &format!(
            "\n{q}: {:?}",
            r.items.iter().map(|l| l.lead.id).collect::<Vec<_>>()
        );
    }
    let f = s
        .funnel(&FunnelQuery {
            pipeline_id: PRIMARY,
            with_time_in_status: true,
            ..Default::default()
        })
        .unwrap();
    out += &serde_json::to_string(&f).unwrap();
    let f = s
        .funnel(&FunnelQuery {
            pipeline_id: PRIMARY,
            responsible_user_ids: vec![1],
            ..Default::default()
        })
        .unwrap();
    out += &serde_json::to_string(&f).unwrap();
    for id in 1..=4 {
        out += &serde_json::to_string(&s.lead(id).unwrap()).unwrap();
    }
    out += &serde_json::to_string(&s.contact(501).unwrap()).unwrap();
    out += &serde_json::to_string(&s.contacts(&ContactsQuery::default()).unwrap()).unwrap();
    out += &serde_json::to_string(&s.talks(&TalksQuery::default()).unwrap()).unwrap();
    out += &serde_json::to_string(&s.status().unwrap()).unwrap();
    out
}

#[test]
fn v1_fixture_opens_and_answers() {
    let (_d, s) = open_copy();
    assert_eq!(s.schema_version().unwrap(), amosync_store::SCHEMA_VERSION);
    let st = s.status().unwrap();
    assert_eq!(st.account.as_ref().unwrap().name, "Прокат авто");
    assert_eq!(
        (
            st.leads,
            st.deleted_leads,
            st.contacts,
            st.talks,
            st.messages
        ),
        (3, 1, 2, 1, 1)
    );
    assert_eq!(
        (st.status_changes, st.events_logged, st.events_pending),
        (4, 2, 1)
    );
    assert_eq!(st.sync.leads_cursor, Some(1_700_000_400));
    assert_eq!(st.pipelines[0].name, "Первичка");
    assert_eq!(st.users[0].name, "Анна Менеджер");
    let found = s
        .leads(&LeadsQuery {
            search: Some("ИВАНОВ".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(found.items[0].lead.name, "Аренда Toyota Camry");
    let f = s
        .funnel(&FunnelQuery {
            pipeline_id: PRIMARY,
            ..Default::default()
        })
        .unwrap()
        .unwrap();
    assert_eq!(
        (f.total_count, f.won_count, f.lost_count, f.won_price),
        (3, 1, 1, 21000)
    );
    // Lead 2 was lost from «Новый лид» (index 3): counted up to there.
    let reached: Vec<u64> = f.statuses.iter().take(5).map(|s| s.reached).collect();
    assert_eq!(reached, [3, 3, 3, 3, 2]);
    let d = s.lead(1).unwrap().unwrap();
    assert_eq!(d.contacts[0].contact.name, "Иванов Иван");
    assert_eq!(d.history.len(), 2);
    assert_eq!(
        d.messages[0].text.as_deref(),
        Some("Добрый день! Машина свободна на выходные?")
    );
    assert_eq!(s.pending_events(10).unwrap()[0].seq, 2);
    assert!(s.lead_record(4).unwrap().unwrap().lead.is_deleted);
    // The file keeps working: new writes on the migrated copy.
    s.write(|w| w.upsert_lead(&lead(5, 1_700_001_000, 69641338, 1), Origin::Api))
        .unwrap();
    assert_eq!(s.status().unwrap().leads, 4);
}

#[test]
fn rebuilding_derived_indexes_changes_no_answer() {
    let (d, s) = open_copy();
    let before = snapshot(&s);
    s.rebuild_derived().unwrap();
    assert_eq!(before, snapshot(&s));
    // An index version mismatch makes open rebuild by itself.
    let path = d.path().join("store.redb");
    drop(s);
    {
        let db = redb::Database::create(&path).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let def: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");
            let mut t = tx.open_table(def).unwrap();
            t.insert("index_version", 0u32.to_le_bytes().as_slice())
                .unwrap();
            // Wreck a derived table: the rebuild must not depend on it.
            // (index version 4: 32-byte rows, i128 price sums).
            let agg: redb::TableDefinition<(u64, u64), &[u8; 32]> =
                redb::TableDefinition::new("funnel_agg");
            let mut a = tx.open_table(agg).unwrap();
            a.insert((PRIMARY, 142), &[9u8; 32]).unwrap();
        }
        tx.commit().unwrap();
    }
    let s = Store::open(&path).unwrap();
    assert_eq!(before, snapshot(&s));
}

#[test]
fn generated_store_matches_the_fixture() {
    // The fixture and a freshly filled store answer the same (except
    // bookkeeping times, which are fixed in `fill`).
    let (_d, fixture_store) = open_copy();
    let (_d2, fresh) = store();
    fill(&fresh);
    assert_eq!(snapshot(&fixture_store), snapshot(&fresh));
}
