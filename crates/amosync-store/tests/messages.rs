//! A chat message reported twice (events API without text, webhook with it)
//! ends the same whichever report lands first.

mod common;

use amosync_store::{Applied, ChatMessage, Direction, Store, TalkRecord, TalksQuery};
use common::*;

/// What catch-up's events-API read knows: no text, no author, no chat id.
fn from_events(id: &str, at: i64) -> ChatMessage {
    ChatMessage {
        id: id.into(),
        talk_id: Some(3),
        chat_id: None,
        contact_id: None,
        lead_id: Some(1),
        direction: Direction::Incoming,
        origin: Some("waba".into()),
        text: None,
        author_name: None,
        created_at: at,
    }
}

/// What the `message[add]` webhook carries.
fn from_webhook(id: &str, at: i64, text: &str) -> ChatMessage {
    ChatMessage {
        chat_id: Some("chat-3".into()),
        contact_id: Some(5),
        text: Some(text.into()),
        author_name: Some("Гиорги".into()),
        ..from_events(id, at)
    }
}

fn record(s: &Store, m: &ChatMessage) -> Applied {
    s.write(|w| {
        w.set_now_ms(1000);
        w.record_message(m)
    })
    .expect("write")
}

fn outcome(s: &Store) -> (Vec<ChatMessage>, Vec<TalkRecord>) {
    let detail = s.lead(1).expect("read").expect("lead");
    (
        detail.messages,
        s.talks(&TalksQuery::default()).expect("talks"),
    )
}

fn both_orders(known_talk: bool) {
    let run = |first: &[ChatMessage], second: &[ChatMessage]| {
        let (d, s) = store();
        s.write(|w| w.put_pipelines(&[primary()])).unwrap();
        s.write(|w| w.upsert_lead(&lead(1, 100, 69641338, 10), amosync_store::Origin::Api))
            .unwrap();
        if known_talk {
            s.write(|w| {
                w.set_now_ms(1000);
                w.upsert_talk(
                    &talk(3, 1, 5, "waba", 150, false),
                    amosync_store::Origin::Api,
                )
            })
            .unwrap();
        }
        let mut applied = Vec::new();
        for m in first.iter().chain(second) {
            applied.push(record(&s, m));
        }
        let out = outcome(&s);
        drop(d);
        (applied, out)
    };
    let events = [from_events("m-1", 200), from_events("m-2", 300)];
    let hooks = [
        from_webhook("m-1", 200, "Здравствуйте"),
        from_webhook("m-2", 300, "Можно забронировать?"),
    ];
    let (a1, events_first) = run(&events, &hooks);
    let (a2, hooks_first) = run(&hooks, &events);
    assert_eq!(events_first, hooks_first, "known talk: {known_talk}");
    assert_eq!(
        a1,
        [
            Applied::Inserted,
            Applied::Inserted,
            Applied::Updated,
            Applied::Updated
        ]
    );
    assert_eq!(
        a2,
        [
            Applied::Inserted,
            Applied::Inserted,
            Applied::Unchanged,
            Applied::Unchanged
        ]
    );
    let (messages, talks) = events_first;
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1].text.as_deref(), Some("Можно забронировать?"));
    assert_eq!(messages[1].author_name.as_deref(), Some("Гиорги"));
    assert_eq!(messages[1].chat_id.as_deref(), Some("chat-3"));
    assert_eq!(messages[1].contact_id, Some(5));
    assert_eq!(talks.len(), 1);
    let t = &talks[0];
    assert_eq!(t.last_text.as_deref(), Some("Можно забронировать?"));
    assert_eq!(t.last_message_at, Some(300));
    assert_eq!(t.waiting_messages, 2, "each message counted once");
    assert_eq!(t.talk.chat_id, "chat-3");
    assert_eq!(t.talk.contact_id, Some(5));
}

#[test]
fn text_survives_either_arrival_order_with_a_placeholder_talk() {
    both_orders(false);
}

#[test]
fn text_survives_either_arrival_order_with_a_known_talk() {
    both_orders(true);
}

/// The text of an older message does not become the talk's last text.
#[test]
fn late_text_of_an_older_message_keeps_the_newest_last_text() {
    let (_d, s) = store();
    record(&s, &from_webhook("m-2", 300, "новое"));
    record(&s, &from_events("m-1", 200));
    assert_eq!(
        record(&s, &from_webhook("m-1", 200, "старое")),
        Applied::Updated
    );
    let talks = s.talks(&TalksQuery::default()).unwrap();
    assert_eq!(talks[0].last_text.as_deref(), Some("новое"));
    assert_eq!(talks[0].waiting_messages, 2);
    // A report that adds nothing changes nothing.
    assert_eq!(record(&s, &from_events("m-1", 200)), Applied::Unchanged);
}

/// A message first known without its talk is counted once the talk id arrives.
#[test]
fn talk_id_learnt_later_links_the_message() {
    let (_d, s) = store();
    s.write(|w| w.put_pipelines(&[primary()])).unwrap();
    s.write(|w| w.upsert_lead(&lead(1, 100, 69641338, 10), amosync_store::Origin::Api))
        .unwrap();
    let mut bare = from_events("m-1", 200);
    bare.talk_id = None;
    record(&s, &bare);
    assert!(s.talks(&TalksQuery::default()).unwrap().is_empty());
    assert_eq!(
        record(&s, &from_webhook("m-1", 200, "привет")),
        Applied::Updated
    );
    let talks = s.talks(&TalksQuery::default()).unwrap();
    assert_eq!(talks.len(), 1);
    assert_eq!(talks[0].last_text.as_deref(), Some("привет"));
    assert_eq!(talks[0].waiting_messages, 1);
    assert_eq!(s.lead(1).unwrap().unwrap().messages.len(), 1);
}

/// The durable "to confirm" list: a talk known only from a message (a
/// placeholder) or from a webhook stays listed until an API read of it.
#[test]
fn unconfirmed_talks_stay_listed_until_an_api_read() {
    use amosync_store::{Confirm, Origin};
    let (_d, s) = store();
    s.write(|w| {
        w.record_message(&amosync_store::ChatMessage {
            id: "m-1".into(),
            talk_id: Some(41),
            chat_id: None,
            contact_id: None,
            lead_id: Some(1),
            direction: amosync_store::Direction::Incoming,
            origin: None,
            text: None,
            author_name: None,
            created_at: 100,
        })
    })
    .unwrap();
    assert_eq!(
        s.to_confirm(Confirm::Talk, 10).unwrap(),
        [41],
        "placeholder"
    );
    s.write(|w| w.upsert_talk(&talk(42, 1, 7, "waba", 50, false), Origin::Webhook))
        .unwrap();
    assert_eq!(s.to_confirm(Confirm::Talk, 10).unwrap(), [41, 42], "hint");
    s.write(|w| w.upsert_talk(&talk(41, 1, 7, "waba", 120, false), Origin::Api))
        .unwrap();
    assert_eq!(s.to_confirm(Confirm::Talk, 10).unwrap(), [42], "read");
    // Other kinds: queued and removed explicitly (catch-up).
    s.write(|w| {
        w.queue_confirm(Confirm::Lead, 9)?;
        w.queue_confirm(Confirm::Lead, 3)?;
        w.queue_confirm(Confirm::Contact, 9)
    })
    .unwrap();
    assert_eq!(s.to_confirm(Confirm::Lead, 10).unwrap(), [3, 9]);
    assert_eq!(s.to_confirm(Confirm::Lead, 1).unwrap(), [3], "limit");
    s.write(|w| w.unqueue_confirm(Confirm::Lead, 3)).unwrap();
    assert_eq!(s.to_confirm(Confirm::Lead, 10).unwrap(), [9]);
    assert_eq!(s.to_confirm(Confirm::Contact, 10).unwrap(), [9]);
    // A rebuild of the derived indexes keeps the list.
    s.rebuild_derived().unwrap();
    assert_eq!(s.to_confirm(Confirm::Talk, 10).unwrap(), [42]);
    assert_eq!(s.to_confirm(Confirm::Lead, 10).unwrap(), [9]);
}
