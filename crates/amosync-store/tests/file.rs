//! Opening files: locks, versions, damage; the event log across reopen.

mod common;

use amosync_store::{EventLogQuery, EventOutcome, RawEvent, SCHEMA_VERSION, Store, StoreError};

#[test]
fn creates_parent_directories_and_reports_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/store.redb");
    let s = Store::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(s.path(), path);
    assert!(s.binding().unwrap().is_none());
    assert_eq!(s.sync_state().unwrap(), Default::default());
}

#[test]
fn second_open_in_process_is_locked() {
    let (dir, _s) = common::store();
    let err = Store::open(&dir.path().join("store.redb")).unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
    assert!(err.to_string().contains("in use"));
}

#[test]
fn garbage_and_empty_files_are_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let random = dir.path().join("random.redb");
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..70_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&random, bytes).unwrap();
    let err = Store::open(&random).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    let empty = dir.path().join("empty.redb");
    std::fs::write(&empty, b"").unwrap();
    let err = Store::open(&empty).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("move it aside"));
    // A short text file too.
    let text = dir.path().join("text.redb");
    std::fs::write(&text, b"hello, I am not a database").unwrap();
    assert!(matches!(
        Store::open(&text).unwrap_err(),
        StoreError::Corrupt { .. }
    ));
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    drop(Store::open(&path).unwrap());
    {
        let db = redb::Database::create(&path).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let def: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");
            let mut t = tx.open_table(def).unwrap();
            t.insert(
                "schema_version",
                (SCHEMA_VERSION + 1).to_le_bytes().as_slice(),
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    let err = Store::open(&path).unwrap_err();
    assert!(
        matches!(err, StoreError::TooNew { found, supported } if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION),
        "{err:?}"
    );
}

#[test]
fn event_log_append_pending_mark_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let body = "leads%5Badd%5D%5B0%5D%5Bname%5D=%D0%A1%D0%B4%D0%B5%D0%BB%D0%BA%D0%B0"
        .as_bytes()
        .to_vec();
    {
        let s = Store::open(&path).unwrap();
        let seqs = s
            .append_events(&[
                RawEvent {
                    received_at_ms: 1,
                    body: body.clone(),
                },
                RawEvent {
                    received_at_ms: 2,
                    body: b"b".to_vec(),
                },
                RawEvent {
                    received_at_ms: 3,
                    body: b"c".to_vec(),
                },
            ])
            .unwrap();
        assert_eq!(seqs, [1, 2, 3]);
        assert_eq!(s.append_events(&[]).unwrap(), Vec::<u64>::new());
        s.write(|w| w.mark_event(2, &EventOutcome::Applied { events: 1 }))
            .unwrap();
        let err = s
            .write(|w| w.mark_event(99, &EventOutcome::Applied { events: 1 }))
            .unwrap_err();
        assert!(matches!(err, StoreError::Record(_)));
    }
    let s = Store::open(&path).unwrap();
    let pending = s.pending_events(10).unwrap();
    assert_eq!(pending.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 3]);
    assert_eq!(pending[0].body, body);
    assert_eq!(pending[0].received_at_ms, 1);
    assert_eq!(s.pending_events(1).unwrap().len(), 1);
    let all = s
        .events(&EventLogQuery {
            newest_first: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 2, 1]);
    assert_eq!(all[1].outcome, Some(EventOutcome::Applied { events: 1 }));
    let after = s
        .events(&EventLogQuery {
            after: Some(1),
            limit: Some(1),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(after[0].seq, 2);
    let pend = s
        .events(&EventLogQuery {
            pending_only: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(pend.len(), 2);
    s.write(|w| {
        w.mark_event(
            1,
            &EventOutcome::Rejected {
                code: "other_account".into(),
                message: "чужой аккаунт".into(),
            },
        )
    })
    .unwrap();
    assert_eq!(
        s.append_events(&[RawEvent {
            received_at_ms: 4,
            body: vec![]
        }])
        .unwrap(),
        [4]
    );
    let st = s.status().unwrap();
    assert_eq!((st.events_logged, st.events_pending), (4, 2));
}

#[test]
fn failed_write_leaves_nothing() {
    let (_d, s) = common::store();
    let r: Result<(), _> = s.write(|w| {
        w.upsert_lead(&common::lead(1, 1, 69641338, 1), amosync_store::Origin::Api)?;
        Err(StoreError::Record("boom".into()))
    });
    assert!(r.is_err());
    assert!(s.lead_record(1).unwrap().is_none());
    assert_eq!(s.status().unwrap().leads, 0);
}

#[test]
fn a_damaged_log_entry_is_rejected_without_stalling_the_ones_after_it() {
    let (dir, s) = common::store();
    let path = dir.path().join("store.redb");
    let raw = |body: &str| RawEvent {
        received_at_ms: 1,
        body: body.as_bytes().to_vec(),
    };
    let seqs = s
        .append_events(&[raw("first"), raw("second")])
        .expect("append");
    drop(s);
    // Damage the first entry's bytes behind the store's back.
    {
        const LOG: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("event_log");
        let db = redb::Database::open(&path).expect("raw open");
        let tx = db.begin_write().expect("tx");
        tx.open_table(LOG)
            .expect("table")
            .insert(seqs[0], [1u8, 2, 3].as_slice())
            .expect("damage");
        tx.commit().expect("commit");
    }
    let s = Store::open(&path).expect("reopen");
    assert_eq!(s.pending_event_count().expect("count"), 2);
    let pending = s.pending_events(10).expect("pending despite the damage");
    assert_eq!(pending.len(), 2);
    assert!(
        pending[0].body.is_empty(),
        "the damaged entry comes with no body"
    );
    assert_eq!(pending[1].body, b"second");
    let rejected = EventOutcome::Rejected {
        code: "damaged".into(),
        message: "unreadable".into(),
    };
    s.write(|w| w.mark_event(seqs[0], &rejected))
        .expect("a damaged entry can be marked");
    let pending = s.pending_events(10).expect("pending");
    assert_eq!(
        pending.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![seqs[1]]
    );
}
