//! The talk list read through `talks_by_activity` answers exactly what the
//! full decode-and-sort answers — for every limit and filter, right after
//! talk and message writes, after a rebuild and after an index migration.

mod common;

use amosync_store::{ChatMessage, Direction, Origin, Store, TalksQuery};
use common::*;

const ORIGINS: [&str; 4] = ["telegram", "whatsapp", "instagram", "avito"];

/// A small deterministic generator (the same store every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

fn message(n: u64, talk: u64, at: i64, incoming: bool) -> ChatMessage {
    ChatMessage {
        id: format!("m-{n}"),
        talk_id: Some(talk),
        chat_id: Some(format!("chat-{talk}")),
        contact_id: Some(500 + talk),
        lead_id: Some(talk),
        direction: if incoming {
            Direction::Incoming
        } else {
            Direction::Outgoing
        },
        origin: Some("telegram".into()),
        text: Some(format!("Сообщение №{n}")),
        author_name: None,
        created_at: at,
    }
}

/// Talks (some only known from a message) and messages, at times that
/// collide often (ties are ordered by talk id).
fn fill(s: &Store, rng: &mut Lcg, talks: u64, messages: u64, round: u64) {
    s.write(|w| {
        for _ in 0..talks {
            let id = 1 + rng.next(400);
            let origin = ORIGINS[rng.next(4) as usize];
            let at = 1_700_000_000 + rng.next(50) as i64 * 10;
            let origin_kind = if rng.next(2) == 0 {
                Origin::Api
            } else {
                Origin::Webhook
            };
            w.upsert_talk(
                &talk(id, id, 500 + id, origin, at, rng.next(3) == 0),
                origin_kind,
            )?;
        }
        for k in 0..messages {
            let id = 1 + rng.next(450);
            let at = 1_700_000_000 + rng.next(80) as i64 * 10;
            w.record_message(&message(round * 10_000 + k, id, at, rng.next(3) != 0))?;
        }
        Ok(())
    })
    .unwrap();
}

/// Every limit, channel and unread filter, and a few leads: the index
/// against the scan's whole list cut to the limit (the scan filters, then
/// takes: one scan per filter serves every limit).
fn same_as_scan(s: &Store, when: &str) {
    let limits = [0, 1, 2, 7, 100, 399, 450, 451, usize::MAX];
    let mut listed = 0;
    for origin in std::iter::once(None).chain(ORIGINS.iter().map(|o| Some(o.to_string()))) {
        for unread_only in [false, true] {
            let q = TalksQuery {
                lead_id: None,
                origin: origin.clone(),
                unread_only,
                limit: Some(usize::MAX),
            };
            let all = s.talks_by_scan(&q).unwrap();
            assert_eq!(s.talks(&q).unwrap(), all, "{when}: {q:?}");
            for limit in limits {
                let cut = &all[..limit.min(all.len())];
                let q = TalksQuery {
                    limit: Some(limit),
                    ..q.clone()
                };
                assert_eq!(s.talks(&q).unwrap(), cut, "{when}: {q:?}");
            }
            // The default limit (100).
            let q = TalksQuery { limit: None, ..q };
            assert_eq!(s.talks(&q).unwrap(), &all[..100.min(all.len())], "{when}");
            listed += all.len();
        }
    }
    for lead in [1, 17, 333] {
        let q = TalksQuery {
            lead_id: Some(lead),
            ..TalksQuery::default()
        };
        assert_eq!(
            s.talks(&q).unwrap(),
            s.talks_by_scan(&q).unwrap(),
            "{when}: {q:?}"
        );
    }
    assert!(
        listed > 600,
        "{when}: the filters listed too little ({listed})"
    );
}

#[test]
fn the_index_answers_like_the_scan() {
    let (_d, s) = store();
    let mut rng = Lcg(11);
    fill(&s, &mut rng, 400, 600, 0);
    assert!(s.talk_count().unwrap() > 300);
    same_as_scan(&s, "after the first writes");

    // Newer talk versions, stale ones, new messages that move talks up.
    for round in 1..=2 {
        fill(&s, &mut rng, 150, 200, round);
        same_as_scan(&s, &format!("after update round {round}"));
    }
    // The newest message wins the top of the list at once.
    s.write(|w| w.record_message(&message(99_999, 5, 1_800_000_000, true)))
        .unwrap();
    let top = s
        .talks(&TalksQuery {
            limit: Some(1),
            ..TalksQuery::default()
        })
        .unwrap();
    assert_eq!(top[0].talk.talk_id, 5);
    same_as_scan(&s, "after a newest message");

    s.rebuild_derived().unwrap();
    same_as_scan(&s, "after a rebuild");
}

#[test]
fn opening_a_store_without_the_index_builds_it() {
    let (d, s) = store();
    let mut rng = Lcg(5);
    fill(&s, &mut rng, 300, 300, 0);
    let want = s.talks_by_scan(&TalksQuery {
        limit: Some(usize::MAX),
        ..TalksQuery::default()
    });
    drop(s);
    let path = d.path().join("store.redb");
    // A store of index version 5: no talk index yet.
    {
        let db = redb::Database::create(&path).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let def: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");
            let mut t = tx.open_table(def).unwrap();
            t.insert("index_version", 5u32.to_le_bytes().as_slice())
                .unwrap();
            let index: redb::TableDefinition<(i64, u64), ()> =
                redb::TableDefinition::new("talks_by_activity");
            assert!(tx.delete_table(index).unwrap());
        }
        tx.commit().unwrap();
    }
    let s = Store::open(&path).unwrap();
    let got = s.talks(&TalksQuery {
        limit: Some(usize::MAX),
        ..TalksQuery::default()
    });
    assert_eq!(got.unwrap(), want.unwrap());
    same_as_scan(&s, "after the migration");
}
