//! Status moves and chat messages a webhook reported are hints: the API
//! (a lead read, the events API) confirms them or they are dropped.

mod common;

use amo::models::StatusKey;
use amosync_store::{ChatMessage, Direction, Origin, StatusChange, Store, TalksQuery};
use common::*;

const NEW: u64 = 69641338;
const WORK: u64 = 69641342;

fn mv(at: i64, to: u64) -> StatusChange {
    StatusChange {
        lead_id: 1,
        at,
        from: Some(StatusKey {
            pipeline_id: PRIMARY,
            status_id: NEW,
        }),
        to: StatusKey {
            pipeline_id: PRIMARY,
            status_id: to,
        },
        by: None,
    }
}

fn history(s: &Store) -> Vec<(i64, u64)> {
    s.lead(1)
        .unwrap()
        .unwrap()
        .history
        .iter()
        .map(|c| (c.at, c.to.status_id))
        .collect()
}

fn seeded() -> (tempfile::TempDir, Store) {
    let (d, s) = store();
    s.write(|w| {
        w.put_pipelines(&[primary()])?;
        w.set_now_ms(500);
        w.upsert_lead(&lead(1, 1_000, NEW, 10), Origin::Api)
    })
    .unwrap();
    (d, s)
}

#[test]
fn a_hinted_move_the_lead_read_disproves_is_dropped() {
    // (name, move at, hint stored ms, lead read: updated_at, read ms, kept)
    let cases: Vec<(&str, i64, i64, i64, i64, bool)> = vec![
        (
            "forged: dated after the lead's last change",
            5_000,
            1_000,
            1_000,
            2_000,
            false,
        ),
        (
            "genuine: at the lead's version",
            1_000,
            1_000,
            1_000,
            2_000,
            true,
        ),
        ("within the clock skew", 1_060, 1_000, 1_000, 2_000, true),
        (
            "read before the hint (late page)",
            5_000,
            2_000,
            1_000,
            1_000,
            true,
        ),
    ];
    for (name, at, hint_ms, updated_at, read_ms, kept) in cases {
        let (_d, s) = seeded();
        s.write(|w| {
            w.set_now_ms(hint_ms);
            w.record_status_hint(&mv(at, WORK)).map(|_| ())
        })
        .unwrap();
        assert!(history(&s).contains(&(at, WORK)), "{name}: recorded");
        s.write(|w| {
            w.set_now_ms(read_ms);
            w.upsert_lead(&lead(1, updated_at, NEW, 10), Origin::Api)
                .map(|_| ())
        })
        .unwrap();
        assert_eq!(history(&s).contains(&(at, WORK)), kept, "{name}");
    }
}

#[test]
fn the_events_api_confirms_a_hinted_move_or_it_is_dropped() {
    let (_d, s) = seeded();
    s.write(|w| {
        w.set_now_ms(1_000);
        w.record_status_hint(&mv(900, WORK))?;
        // Forged, in the past (a lead read cannot disprove it).
        w.record_status_hint(&mv(800, 143))?;
        // The events API reports the first one.
        w.set_now_ms(2_000);
        w.record_status_change(&mv(900, WORK))?;
        // Covered up to 950: the unconfirmed one goes, the confirmed stays.
        w.drop_status_hints_before(950).map(|_| ())
    })
    .unwrap();
    assert_eq!(history(&s), vec![(900, WORK)]);
    // A move the events API reported first is never a hint.
    s.write(|w| {
        w.record_status_change(&mv(940, 143))?;
        w.record_status_hint(&mv(940, 143))?;
        w.drop_status_hints_before(10_000).map(|_| ())
    })
    .unwrap();
    assert_eq!(history(&s), vec![(900, WORK), (940, 143)]);
}

fn message(id: &str, at: i64, direction: Direction, text: Option<&str>) -> ChatMessage {
    ChatMessage {
        id: id.into(),
        talk_id: Some(3),
        chat_id: Some("chat-3".into()),
        contact_id: Some(5),
        lead_id: Some(1),
        direction,
        origin: Some("waba".into()),
        text: text.map(str::to_owned),
        author_name: None,
        created_at: at,
    }
}

#[test]
fn a_forged_message_time_gives_way_to_the_events_api_and_unconfirmed_messages_go() {
    let (_d, s) = seeded();
    s.write(|w| {
        w.set_now_ms(1_000);
        w.upsert_talk(&talk(3, 1, 5, "waba", 800, false), Origin::Api)?;
        // A real message, its time forged into the future by the body.
        w.record_message_hint(&message(
            "real",
            9_000,
            Direction::Outgoing,
            Some("Добрый день"),
        ))?;
        // A message amoCRM never had.
        w.record_message_hint(&message("forged", 8_000, Direction::Incoming, Some("spam")))?;
        Ok(())
    })
    .unwrap();
    let t = &s.talks(&TalksQuery::default()).unwrap()[0];
    assert_eq!(t.last_message_at, Some(9_000));

    // The events API: the real one at 1 000, incoming.
    s.write(|w| {
        w.set_now_ms(2_000);
        let mut read = message("real", 1_000, Direction::Incoming, None);
        read.chat_id = None;
        w.confirm_message(&read)?;
        w.drop_message_hints_before(10_000).map(|_| ())
    })
    .unwrap();
    let detail = s.lead(1).unwrap().unwrap();
    let got: Vec<(&str, i64, Direction, Option<&str>)> = detail
        .messages
        .iter()
        .map(|m| (m.id.as_str(), m.created_at, m.direction, m.text.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![("real", 1_000, Direction::Incoming, Some("Добрый день"))]
    );
    let t = &s.talks(&TalksQuery::default()).unwrap()[0];
    assert_eq!(
        (
            t.last_message_at,
            t.last_incoming_at,
            t.last_outgoing_at,
            t.waiting_messages,
            t.last_text.as_deref()
        ),
        (Some(1_000), Some(1_000), None, 1, Some("Добрый день"))
    );
}
