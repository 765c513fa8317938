//! Newest wins: duplicates, reordering, ties, tombstones, restores.

mod common;

use amosync_store::{Applied, LeadsQuery, Origin, Store};
use common::*;
use proptest::prelude::*;

const NEW: u64 = 69641338;
const WORK: u64 = 69641342;

fn up(s: &Store, l: &amo::models::Lead, o: Origin) -> Applied {
    s.write(|w| {
        w.set_now_ms(1000);
        w.upsert_lead(l, o)
    })
    .expect("write")
}

#[test]
fn table_of_cases() {
    let (_d, s) = store();
    let v1 = lead(1, 100, NEW, 10);
    let v2 = lead(1, 200, WORK, 20);
    assert_eq!(up(&s, &v1, Origin::Webhook), Applied::Inserted);
    assert_eq!(
        up(&s, &v1, Origin::Webhook),
        Applied::Unchanged,
        "duplicate"
    );
    assert_eq!(up(&s, &v2, Origin::Webhook), Applied::Updated);
    assert_eq!(
        up(&s, &v1, Origin::Api),
        Applied::Stale,
        "reordered old version"
    );
    assert_eq!(s.lead_record(1).unwrap().unwrap().lead.status_id, WORK);

    // Tie: Api beats Webhook, Webhook does not beat Api.
    let mut v2b = v2.clone();
    v2b.price = 25;
    assert_eq!(up(&s, &v2b, Origin::Api), Applied::Updated);
    let r = s.lead_record(1).unwrap().unwrap();
    assert_eq!(
        (r.lead.price, r.sync.origin, r.sync.confirmed_at_ms),
        (25, Origin::Api, Some(1000))
    );
    assert_eq!(up(&s, &v2, Origin::Webhook), Applied::Stale);

    // Identical Api read: Unchanged but confirmed again.
    let r = s
        .write(|w| {
            w.set_now_ms(2000);
            w.upsert_lead(&v2b, Origin::Api)
        })
        .unwrap();
    assert_eq!(r, Applied::Unchanged);
    assert_eq!(
        s.lead_record(1).unwrap().unwrap().sync.confirmed_at_ms,
        Some(2000)
    );
}

#[test]
fn tombstones_and_restores() {
    let (_d, s) = store();
    up(&s, &lead(1, 100, NEW, 10), Origin::Api);
    assert_eq!(
        s.write(|w| w.delete_lead(1, 150)).unwrap(),
        Applied::Updated
    );
    let r = s.lead_record(1).unwrap().unwrap();
    assert!(r.lead.is_deleted);
    assert_eq!(r.sync.deleted_at, Some(150));
    assert_eq!(s.leads(&LeadsQuery::default()).unwrap().total, 0);
    // Stale upserts (older or equal to the deletion) do not revive.
    assert_eq!(
        up(&s, &lead(1, 120, WORK, 10), Origin::Webhook),
        Applied::Stale
    );
    assert_eq!(up(&s, &lead(1, 150, WORK, 10), Origin::Api), Applied::Stale);
    assert!(s.lead_record(1).unwrap().unwrap().lead.is_deleted);
    // A newer version (amoCRM bumps updated_at on restore) revives.
    assert_eq!(
        up(&s, &lead(1, 151, WORK, 10), Origin::Api),
        Applied::Updated
    );
    let r = s.lead_record(1).unwrap().unwrap();
    assert!(!r.lead.is_deleted);
    assert_eq!(r.sync.deleted_at, None);
    assert_eq!(s.leads(&LeadsQuery::default()).unwrap().total, 1);

    // restore_lead revives too; older restore is stale.
    s.write(|w| w.delete_lead(1, 300)).unwrap();
    assert_eq!(s.write(|w| w.restore_lead(1, 250)).unwrap(), Applied::Stale);
    assert_eq!(
        s.write(|w| w.restore_lead(1, 310)).unwrap(),
        Applied::Updated
    );
    assert!(!s.lead_record(1).unwrap().unwrap().lead.is_deleted);
    assert_eq!(
        up(&s, &lead(1, 305, NEW, 10), Origin::Webhook),
        Applied::Stale
    );

    // An API read with is_deleted tombstones.
    let mut gone = lead(1, 400, WORK, 10);
    gone.is_deleted = true;
    assert_eq!(up(&s, &gone, Origin::Api), Applied::Updated);
    assert_eq!(
        s.lead_record(1).unwrap().unwrap().sync.deleted_at,
        Some(400)
    );
    assert_eq!(s.status().unwrap().deleted_leads, 1);
    let all = s
        .leads(&LeadsQuery {
            include_deleted: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(all.total, 1);
}

#[test]
fn delete_of_unknown_id_blocks_late_webhooks() {
    let (_d, s) = store();
    s.write(|w| w.put_pipelines(&[primary()])).unwrap();
    assert_eq!(
        s.write(|w| w.delete_lead(9, 500)).unwrap(),
        Applied::Inserted
    );
    assert_eq!(
        up(&s, &lead(9, 400, NEW, 10), Origin::Webhook),
        Applied::Stale
    );
    assert_eq!(
        up(&s, &lead(9, 500, NEW, 10), Origin::Webhook),
        Applied::Stale
    );
    // The placeholder shows nowhere.
    let st = s.status().unwrap();
    assert_eq!((st.leads, st.deleted_leads), (0, 0));
    let all = s
        .leads(&LeadsQuery {
            include_deleted: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(all.total, 0);
    assert!(s.lead(9).unwrap().is_none());
    let f = s
        .funnel(&amosync_store::FunnelQuery {
            pipeline_id: PRIMARY,
            ..Default::default()
        })
        .unwrap()
        .unwrap();
    assert_eq!(f.total_count, 0);
    // A newer version is a real lead.
    assert_eq!(
        up(&s, &lead(9, 501, NEW, 10), Origin::Api),
        Applied::Inserted
    );
    assert_eq!(s.status().unwrap().leads, 1);
    // Contacts behave the same.
    assert_eq!(
        s.write(|w| w.delete_contact(5, 500)).unwrap(),
        Applied::Inserted
    );
    let c = contact(5, "Пётр", "+7 999 000-00-00", "p@example.ru", 400);
    assert_eq!(
        s.write(|w| w.upsert_contact(&c, Origin::Webhook)).unwrap(),
        Applied::Stale
    );
    assert_eq!(s.status().unwrap().contacts, 0);
}

/// A lead id and its version.
type Tagged = (u64, (i64, u64, i64, bool, bool));

/// A compact description of one lead version.
fn version() -> impl Strategy<Value = (i64, u64, i64, bool, bool)> {
    // (updated_at, status, price, api, deleted)
    (
        0i64..6,
        prop::sample::select(vec![NEW, WORK, 142, 143]),
        0i64..3,
        any::<bool>(),
        prop::bool::weighted(0.15),
    )
}

fn snapshot(s: &Store) -> String {
    let leads = s
        .leads(&LeadsQuery {
            include_deleted: true,
            order: amosync_store::LeadsOrder::IdAsc,
            ..Default::default()
        })
        .unwrap();
    let f = s
        .funnel(&amosync_store::FunnelQuery {
            pipeline_id: PRIMARY,
            ..Default::default()
        })
        .unwrap();
    format!("{}\n{:?}", serde_json::to_string(&leads).unwrap(), f)
}

/// Keeps at most one API version per (lead, time): the rest become webhook
/// versions. Two API reads of one version are ordered by when they were read
/// (the later wins, [`api_reads_in_one_second_later_wins`]), so only webhook
/// hints — and API reads of distinct times — may arrive in any order.
fn api_times_distinct(versions: Vec<Tagged>) -> Vec<Tagged> {
    let mut api = std::collections::BTreeSet::new();
    versions
        .into_iter()
        .map(|(id, (t, status, price, is_api, deleted))| {
            let is_api = is_api && api.insert((id, t));
            (id, (t, status, price, is_api, deleted))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn any_permutation_converges(
        versions in prop::collection::vec((1u64..4, version()), 1..12)
            .prop_map(api_times_distinct),
        seed in any::<u64>(),
    ) {
        let build = |(id, (t, status, price, api, deleted)): &Tagged| {
            let mut l = lead(*id, 1000 + t, *status, *price * 100);
            l.is_deleted = *deleted;
            (l, if *api { Origin::Api } else { Origin::Webhook })
        };
        let mut dup = versions.clone();
        dup.extend(versions.iter().take(3).cloned());
        // A deterministic shuffle from the seed.
        let mut shuffled = dup.clone();
        let mut x = seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let apply = |list: &[Tagged]| {
            let (d, s) = store();
            s.write(|w| w.put_pipelines(&[primary()])).unwrap();
            for v in list {
                let (l, o) = build(v);
                s.write(|w| { w.set_now_ms(7); w.upsert_lead(&l, o) }).unwrap();
            }
            let snap = snapshot(&s);
            drop(d);
            snap
        };
        prop_assert_eq!(apply(&versions), apply(&shuffled));
    }
}

fn company(id: u64, name: &str, updated_at: i64) -> amo::models::Company {
    serde_json::from_value(serde_json::json!({
        "id": id, "name": name, "responsible_user_id": 1, "created_at": 1_700_000_000,
        "updated_at": updated_at, "account_id": 31234567
    }))
    .expect("company")
}

fn note(id: u64, lead: u64, text: &str, updated_at: i64) -> amo::models::Note {
    serde_json::from_value(serde_json::json!({
        "id": id, "entity_id": lead, "note_type": "common", "params": {"text": text},
        "created_at": 1_700_000_000, "updated_at": updated_at, "account_id": 31234567
    }))
    .expect("note")
}

/// Two edits in one second share `updated_at`: the API read made later is
/// the truth, whatever its JSON sorts like; a webhook of that second never
/// overrides it. Leads, contacts, companies, notes and talks alike.
#[test]
fn api_reads_in_one_second_later_wins() {
    let (_d, s) = store();
    s.write(|w| w.put_pipelines(&[primary()])).unwrap();
    let apply =
        |f: &dyn Fn(&mut amosync_store::WriteTx<'_>) -> amosync_store::StoreResult<Applied>| {
            s.write(|w| {
                w.set_now_ms(1000);
                f(w)
            })
            .unwrap()
        };

    // Leads: the second read's JSON sorts lower ("price":100 < "price":900).
    let first = lead(1, 500, WORK, 900);
    let later = lead(1, 500, WORK, 100);
    assert_eq!(
        apply(&|w| w.upsert_lead(&first, Origin::Api)),
        Applied::Inserted
    );
    assert_eq!(
        apply(&|w| w.upsert_lead(&later, Origin::Api)),
        Applied::Updated
    );
    assert_eq!(s.lead_record(1).unwrap().unwrap().lead.price, 100);
    // …and the other way round.
    assert_eq!(
        apply(&|w| w.upsert_lead(&first, Origin::Api)),
        Applied::Updated
    );
    assert_eq!(s.lead_record(1).unwrap().unwrap().lead.price, 900);
    // A webhook of that second does not override the API, in either JSON order.
    assert_eq!(
        apply(&|w| w.upsert_lead(&later, Origin::Webhook)),
        Applied::Stale
    );
    let mut higher = first.clone();
    higher.price = 999;
    assert_eq!(
        apply(&|w| w.upsert_lead(&higher, Origin::Webhook)),
        Applied::Stale
    );
    let f = s
        .funnel(&amosync_store::FunnelQuery {
            pipeline_id: PRIMARY,
            ..Default::default()
        })
        .unwrap()
        .unwrap();
    assert_eq!(
        (f.total_count, f.total_price),
        (1, 900),
        "aggregates follow"
    );
    // Among webhooks the JSON decides (permutation invariance).
    let w1 = lead(2, 500, WORK, 100);
    let w2 = lead(2, 500, WORK, 900);
    assert_eq!(
        apply(&|w| w.upsert_lead(&w2, Origin::Webhook)),
        Applied::Inserted
    );
    assert_eq!(
        apply(&|w| w.upsert_lead(&w1, Origin::Webhook)),
        Applied::Stale
    );
    assert_eq!(s.lead_record(2).unwrap().unwrap().lead.price, 900);

    // Contacts ("Б…" > "А…").
    let first = contact(5, "Борис", "+7 900 000-00-01", "b@example.ru", 500);
    let later = contact(5, "Анна", "+7 900 000-00-01", "b@example.ru", 500);
    assert_eq!(
        apply(&|w| w.upsert_contact(&first, Origin::Api)),
        Applied::Inserted
    );
    assert_eq!(
        apply(&|w| w.upsert_contact(&later, Origin::Api)),
        Applied::Updated
    );
    assert_eq!(s.contact(5).unwrap().unwrap().contact.contact.name, "Анна");
    assert_eq!(
        apply(&|w| w.upsert_contact(&first, Origin::Webhook)),
        Applied::Stale
    );
    assert_eq!(
        s.contacts(&amosync_store::ContactsQuery {
            search: Some("Анна".into()),
            ..Default::default()
        })
        .unwrap()
        .total,
        1,
        "search text follows"
    );

    // Companies.
    assert_eq!(
        apply(&|w| w.upsert_company(&company(7, "Бета", 500), Origin::Api)),
        Applied::Inserted
    );
    assert_eq!(
        apply(&|w| w.upsert_company(&company(7, "Альфа", 500), Origin::Api)),
        Applied::Updated
    );
    assert_eq!(
        apply(&|w| w.upsert_company(&company(7, "Бета", 500), Origin::Webhook)),
        Applied::Stale
    );
    let stored = s.write(|w| w.company(7)).unwrap().unwrap();
    assert_eq!(stored.company.name, "Альфа");

    // Notes ("второй" < "первый").
    assert_eq!(
        apply(&|w| w.upsert_note(&note(9, 1, "первый", 500), Origin::Api)),
        Applied::Inserted
    );
    assert_eq!(
        apply(&|w| w.upsert_note(&note(9, 1, "второй", 500), Origin::Api)),
        Applied::Updated
    );
    let notes = s.lead(1).unwrap().unwrap().notes;
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].note.text(), Some("второй"));

    // Talks (read ↔ unread in one second: "is_read":false < "is_read":true).
    assert_eq!(
        apply(&|w| w.upsert_talk(&talk(3, 1, 5, "waba", 500, true), Origin::Api)),
        Applied::Inserted
    );
    assert_eq!(
        apply(&|w| w.upsert_talk(&talk(3, 1, 5, "waba", 500, false), Origin::Api)),
        Applied::Updated
    );
    assert_eq!(
        apply(&|w| w.upsert_talk(&talk(3, 1, 5, "waba", 500, true), Origin::Webhook)),
        Applied::Stale
    );
    let talks = s.talks(&amosync_store::TalksQuery::default()).unwrap();
    assert!(!talks[0].talk.is_read);
    assert_eq!(talks[0].sync.origin, Origin::Api);
}

/// Two API reads of one version second, written out of read order (catch-up
/// queues pages, so a page read before a fetcher read may be written after
/// it): the later *read* wins, by the transaction clock = read time.
#[test]
fn same_second_api_reads_rank_by_read_time_not_write_order() {
    let (_d, s) = store();
    let at = |ms: i64, l: &amo::models::Lead| {
        s.write(|w| {
            w.set_now_ms(ms);
            w.upsert_lead(l, Origin::Api)
        })
        .expect("write")
    };
    let older = lead(1, 100, NEW, 10);
    let newer = lead(1, 100, NEW, 20);
    // The newer read (ms 2000) lands first, the older one (ms 1500) after.
    assert_eq!(at(2000, &newer), Applied::Inserted);
    assert_eq!(at(1500, &older), Applied::Stale, "an older read never wins");
    let r = s.lead_record(1).unwrap().unwrap();
    assert_eq!((r.lead.price, r.sync.confirmed_at_ms), (20, Some(2000)));
    // An identical older read does not move the confirmation back.
    assert_eq!(at(1800, &newer), Applied::Unchanged);
    assert_eq!(
        s.lead_record(1).unwrap().unwrap().sync.confirmed_at_ms,
        Some(2000)
    );
    // A later read wins at the same second; an equal read time, the later write.
    assert_eq!(at(2500, &older), Applied::Updated);
    assert_eq!(at(2500, &newer), Applied::Updated);
    assert_eq!(s.lead_record(1).unwrap().unwrap().lead.price, 20);
    // A webhook still never beats an API version of its second.
    let mut hint = newer.clone();
    hint.price = 99;
    assert_eq!(
        s.write(|w| {
            w.set_now_ms(9_000);
            w.upsert_lead(&hint, Origin::Webhook)
        })
        .unwrap(),
        Applied::Stale
    );

    // Contacts and talks follow the same rule.
    let c_old = contact(7, "Old", "+995 555 000-001", "a@b.ge", 300);
    let c_new = contact(7, "New", "+995 555 000-001", "a@b.ge", 300);
    let up_c = |ms: i64, c: &amo::models::Contact| {
        s.write(|w| {
            w.set_now_ms(ms);
            w.upsert_contact(c, Origin::Api)
        })
        .unwrap()
    };
    assert_eq!(up_c(2000, &c_new), Applied::Inserted);
    assert_eq!(up_c(1000, &c_old), Applied::Stale);
    let stored = s.write(|w| w.contact(7)).unwrap().unwrap();
    assert_eq!(stored.contact.name, "New", "contact");
    let t_old = talk(5, 1, 7, "telegram", 400, false);
    let t_new = talk(5, 1, 7, "telegram", 400, true);
    let up_t = |ms: i64, t: &amo::models::Talk| {
        s.write(|w| {
            w.set_now_ms(ms);
            w.upsert_talk(t, Origin::Api)
        })
        .unwrap()
    };
    assert_eq!(up_t(2000, &t_new), Applied::Inserted);
    assert_eq!(up_t(1000, &t_old), Applied::Stale);
    assert_eq!(up_t(3000, &t_old), Applied::Updated);
}

#[test]
fn a_live_api_read_after_a_same_time_tombstone_revives_it() {
    // A late duplicate of a delete webhook tombstones at the version we hold
    // (the webhook carries no time). amoCRM lists only live records, so an
    // API read made after that, showing the same version live, wins; a read
    // made before the tombstone was written does not.
    let (_d, s) = store();
    let at = |ms: i64,
              f: &dyn Fn(
        &mut amosync_store::WriteTx<'_>,
    ) -> amosync_store::StoreResult<Applied>| {
        s.write(|w| {
            w.set_now_ms(ms);
            f(w)
        })
        .unwrap()
    };
    at(1_000, &|w| {
        w.upsert_lead(&lead(1, 100, NEW, 10), Origin::Api)
    });
    at(2_000, &|w| w.delete_lead(1, 100));
    assert!(s.lead_record(1).unwrap().unwrap().lead.is_deleted);
    // A read from before the tombstone: stays deleted.
    assert_eq!(
        at(1_500, &|w| w
            .upsert_lead(&lead(1, 100, NEW, 10), Origin::Api)),
        Applied::Stale
    );
    // A webhook at that version: stays deleted.
    assert_eq!(
        at(3_000, &|w| w
            .upsert_lead(&lead(1, 100, NEW, 10), Origin::Webhook)),
        Applied::Stale
    );
    // A later API read: live again, counted again.
    assert_eq!(
        at(3_000, &|w| w
            .upsert_lead(&lead(1, 100, NEW, 10), Origin::Api)),
        Applied::Updated
    );
    let r = s.lead_record(1).unwrap().unwrap();
    assert!(!r.lead.is_deleted);
    assert_eq!(r.sync.deleted_at, None);
    assert_eq!(s.leads(&LeadsQuery::default()).unwrap().total, 1);
}

/// The API read is the truth: an API read made after a webhook version was
/// stored replaces it whatever the times say; one made before it (a
/// catch-up page written late) ranks by time as before.
#[test]
fn an_api_read_after_a_hint_replaces_it_whatever_the_times() {
    const YEAR_2100: i64 = 4_102_444_800;
    // (name, hint updated_at, hint stored at ms, API updated_at, API read at ms,
    //  what stands: price, origin)
    let cases: Vec<(&str, i64, i64, i64, i64, i64, Origin)> = vec![
        (
            "forged future, read after",
            YEAR_2100,
            1_000,
            500,
            2_000,
            100,
            Origin::Api,
        ),
        (
            "newer hint, read after",
            900,
            1_000,
            500,
            2_000,
            100,
            Origin::Api,
        ),
        (
            "same time, read after",
            500,
            1_000,
            500,
            2_000,
            100,
            Origin::Api,
        ),
        (
            "newer hint, read before (late page)",
            900,
            2_000,
            500,
            1_000,
            999,
            Origin::Webhook,
        ),
        (
            "newer hint, read at the same ms",
            900,
            1_000,
            500,
            1_000,
            999,
            Origin::Webhook,
        ),
        (
            "older hint, read before",
            400,
            2_000,
            500,
            1_000,
            100,
            Origin::Api,
        ),
    ];
    for (name, hint_t, hint_ms, api_t, api_ms, price, origin) in cases {
        let (_d, s) = store();
        let hint = lead(1, hint_t, WORK, 999);
        let read = lead(1, api_t, NEW, 100);
        s.write(|w| {
            w.set_now_ms(hint_ms);
            w.upsert_lead(&hint, Origin::Webhook)
        })
        .unwrap();
        s.write(|w| {
            w.set_now_ms(api_ms);
            w.upsert_lead(&read, Origin::Api)
        })
        .unwrap();
        let r = s.lead_record(1).unwrap().unwrap();
        assert_eq!((r.lead.price, r.sync.origin), (price, origin), "{name}");
        if origin == Origin::Api {
            assert_eq!(r.lead.updated_at, api_t, "{name}: amoCRM's version");
            assert_eq!(r.sync.confirmed_at_ms, Some(api_ms), "{name}");
        }
    }
    // A hint after the read still ranks by time (a real newer change) …
    let (_d, s) = store();
    s.write(|w| {
        w.set_now_ms(1_000);
        w.upsert_lead(&lead(1, 500, NEW, 100), Origin::Api)
    })
    .unwrap();
    let hinted = s
        .write(|w| {
            w.set_now_ms(2_000);
            w.upsert_lead(&lead(1, 600, WORK, 700), Origin::Webhook)
        })
        .unwrap();
    assert_eq!(hinted, Applied::Updated);
    // … and the next read confirms or corrects it, even reading it back older.
    s.write(|w| {
        w.set_now_ms(3_000);
        w.upsert_lead(&lead(1, 550, NEW, 100), Origin::Api)
    })
    .unwrap();
    let r = s.lead_record(1).unwrap().unwrap();
    assert_eq!((r.lead.updated_at, r.lead.price), (550, 100));
    // The same rule for contacts and talks.
    let (_d, s) = store();
    s.write(|w| {
        w.set_now_ms(1_000);
        w.upsert_contact(
            &contact(7, "Forged", "+7", "f@x", YEAR_2100),
            Origin::Webhook,
        )?;
        w.upsert_talk(&talk(3, 1, 7, "waba", YEAR_2100, false), Origin::Webhook)
    })
    .unwrap();
    s.write(|w| {
        w.set_now_ms(2_000);
        w.upsert_contact(&contact(7, "Real", "+7", "r@x", 500), Origin::Api)?;
        w.upsert_talk(&talk(3, 1, 7, "telegram", 500, true), Origin::Api)
    })
    .unwrap();
    let c = s.contact_records(&[7]).unwrap();
    assert_eq!(c[0].contact.name, "Real");
    let t = s.talks(&amosync_store::TalksQuery::default()).unwrap();
    assert_eq!(
        (
            t[0].talk.origin.as_deref(),
            t[0].talk.updated_at,
            t[0].sync.origin
        ),
        (Some("telegram"), 500, Origin::Api)
    );
}
