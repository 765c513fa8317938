//! Search, lead and contact detail, chats.

mod common;

use amosync_store::{
    ChatMessage, ContactsQuery, Direction, LeadsOrder, LeadsQuery, Origin, Store, TalksQuery,
};
use common::*;
use serde_json::json;

fn seeded() -> (tempfile::TempDir, Store) {
    let (d, s) = store();
    s.write(|w| {
        w.put_pipelines(&[primary()])?;
        w.upsert_contact(&contact(501, "Иванов Иван", "+7 (999) 123-45-67", "Ivanov@Example.RU", 100), Origin::Api)?;
        w.upsert_contact(&contact(502, "Пётр Сидоров", "8 912 000 11 22", "petr@example.ru", 100), Origin::Api)?;
        w.upsert_lead(
            &lead_json(json!({"id": 1, "name": "Аренда Camry", "price": 5000, "status_id": 69641338,
                "pipeline_id": PRIMARY, "created_at": 10, "updated_at": 300, "responsible_user_id": 1,
                "_embedded": {"tags": [{"id": 1, "name": "VIP-Клиент"}],
                    "contacts": [{"id": 502, "is_main": false}, {"id": 501, "is_main": true}],
                    "companies": [{"id": 901}]}})),
            Origin::Api,
        )?;
        w.upsert_lead(
            &lead_json(json!({"id": 2, "name": "Продление", "price": 100, "status_id": 142,
                "pipeline_id": PRIMARY, "created_at": 20, "updated_at": 200, "responsible_user_id": 2,
                "_embedded": {"tags": [], "contacts": [{"id": 502, "is_main": true}]}})),
            Origin::Api,
        )?;
        w.upsert_lead(&lead(3, 100, 69641342, 900), Origin::Webhook)?;
        w.upsert_company(
            &serde_json::from_value(json!({"id": 901, "name": "ООО Ромашка", "updated_at": 5})).unwrap(),
            Origin::Api,
        )?;
        for (id, at, text) in [(11u64, 50i64, "Первая заметка"), (10, 40, "Нулевая")] {
            w.upsert_note(
                &serde_json::from_value(json!({"id": id, "entity_id": 1, "created_at": at, "updated_at": at,
                    "note_type": "common", "params": {"text": text}})).unwrap(),
                Origin::Api,
            )?;
        }
        Ok(())
    })
    .unwrap();
    (d, s)
}

fn search(s: &Store, q: &str) -> Vec<u64> {
    let mut ids: Vec<u64> = s
        .leads(&LeadsQuery {
            search: Some(q.into()),
            ..Default::default()
        })
        .unwrap()
        .items
        .iter()
        .map(|r| r.lead.id)
        .collect();
    ids.sort();
    ids
}

#[test]
fn search_by_name_tag_contact_phone_email() {
    let (_d, s) = seeded();
    assert_eq!(
        search(&s, "иванов"),
        [1],
        "Cyrillic, case-insensitive, via contact"
    );
    assert_eq!(search(&s, "ИВАНОВ"), [1]);
    assert_eq!(search(&s, "camry"), [1]);
    assert_eq!(search(&s, "vip-клиент"), [1], "tag");
    assert_eq!(search(&s, "9991234567"), [1], "phone digits");
    assert_eq!(search(&s, "+7 (999) 123-45-67"), [1]);
    assert_eq!(search(&s, "ivanov@example.ru"), [1], "email");
    assert_eq!(search(&s, "петр"), [1, 2], "ё folded to е");
    assert_eq!(
        search(&s, "+7 912 000-11-22"),
        [1, 2],
        "8… and +7… are the same number"
    );
    assert_eq!(search(&s, "нет такого"), Vec::<u64>::new());
    let c = s
        .contacts(&ContactsQuery {
            search: Some("СИДОРОВ".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(c.total, 1);
    assert_eq!(c.items[0].contact.id, 502);
}

#[test]
fn list_filters_order_and_paging() {
    let (_d, s) = seeded();
    let all = s.leads(&LeadsQuery::default()).unwrap();
    assert_eq!(all.total, 3);
    let ids: Vec<u64> = all.items.iter().map(|r| r.lead.id).collect();
    assert_eq!(ids, [1, 2, 3], "updated_at desc");
    let by_price = s
        .leads(&LeadsQuery {
            order: LeadsOrder::PriceDesc,
            limit: Some(2),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(by_price.total, 3);
    assert_eq!(
        by_price.items.iter().map(|r| r.lead.id).collect::<Vec<_>>(),
        [1, 3]
    );
    let page = s
        .leads(&LeadsQuery {
            order: LeadsOrder::IdAsc,
            offset: 1,
            limit: Some(1),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(page.items[0].lead.id, 2);
    let won = s
        .leads(&LeadsQuery {
            pipeline_id: Some(PRIMARY),
            status_id: Some(142),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(won.total, 1);
    let r2 = s
        .leads(&LeadsQuery {
            responsible_user_ids: vec![2],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(r2.items[0].lead.id, 2);
    let created = s
        .leads(&LeadsQuery {
            created: Some(amosync_store::TimeRange {
                from: Some(15),
                to: Some(25),
            }),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(created.items[0].lead.id, 2);
}

#[test]
fn lead_detail_and_contact_detail() {
    let (_d, s) = seeded();
    s.write(|w| {
        w.upsert_talk(&talk(77, 1, 501, "telegram", 400, false), Origin::Api)?;
        w.record_message(&msg(
            "m2",
            77,
            Direction::Incoming,
            410,
            Some("Здравствуйте"),
        ))?;
        w.record_message(&msg("m1", 77, Direction::Outgoing, 405, None))?;
        Ok(())
    })
    .unwrap();
    let d = s.lead(1).unwrap().unwrap();
    assert_eq!(
        d.contacts.iter().map(|c| c.contact.id).collect::<Vec<_>>(),
        [501, 502],
        "main first"
    );
    assert_eq!(d.companies[0].company.name, "ООО Ромашка");
    assert_eq!(
        d.notes.iter().map(|n| n.note.id).collect::<Vec<_>>(),
        [10, 11],
        "oldest first"
    );
    assert_eq!(d.talks.len(), 1);
    assert_eq!(
        d.messages.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
        ["m1", "m2"]
    );
    assert!(s.lead(404).unwrap().is_none());
    let c = s.contact(502).unwrap().unwrap();
    assert_eq!(
        c.leads.iter().map(|l| l.lead.id).collect::<Vec<_>>(),
        [1, 2]
    );
    let c = s.contact(501).unwrap().unwrap();
    assert_eq!(c.talks.len(), 1);
}

fn msg(id: &str, talk: u64, dir: Direction, at: i64, text: Option<&str>) -> ChatMessage {
    ChatMessage {
        id: id.into(),
        talk_id: Some(talk),
        chat_id: Some(format!("chat-{talk}")),
        contact_id: Some(501),
        lead_id: Some(1),
        direction: dir,
        origin: Some("telegram".into()),
        text: text.map(Into::into),
        author_name: Some("Иван".into()),
        created_at: at,
    }
}

#[test]
fn chats_placeholder_dedupe_and_activity() {
    let (_d, s) = seeded();
    s.write(|w| {
        // A message before the talk is known creates a placeholder talk.
        assert_eq!(
            w.record_message(&msg("a", 5, Direction::Incoming, 100, Some("Привет")))?,
            amosync_store::Applied::Inserted
        );
        assert_eq!(
            w.record_message(&msg("a", 5, Direction::Incoming, 100, Some("Привет")))?,
            amosync_store::Applied::Unchanged
        );
        w.record_message(&msg("b", 5, Direction::Incoming, 120, Some("Есть машины?")))?;
        Ok(())
    })
    .unwrap();
    let t = s.talks(&TalksQuery::default()).unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!(
        (t[0].waiting_messages, t[0].last_text.as_deref()),
        (2, Some("Есть машины?"))
    );
    // The API read fills the talk and keeps the activity.
    s.write(|w| w.upsert_talk(&talk(5, 1, 501, "telegram", 130, false), Origin::Api))
        .unwrap();
    s.write(|w| w.record_message(&msg("c", 5, Direction::Outgoing, 125, None)))
        .unwrap();
    s.write(|w| w.upsert_talk(&talk(6, 2, 502, "waba", 90, true), Origin::Api))
        .unwrap();
    let t = s.talks(&TalksQuery::default()).unwrap();
    assert_eq!(
        t.iter().map(|t| t.talk.talk_id).collect::<Vec<_>>(),
        [5, 6],
        "newest activity first"
    );
    let t5 = &t[0];
    assert_eq!(t5.talk.chat_id, "chat-5");
    assert_eq!(t5.last_message_at, Some(125));
    assert_eq!(t5.last_incoming_at, Some(120));
    assert_eq!(t5.last_outgoing_at, Some(125));
    assert_eq!(t5.waiting_messages, 0, "answered");
    assert_eq!(
        s.talks(&TalksQuery {
            lead_id: Some(2),
            ..Default::default()
        })
        .unwrap()
        .len(),
        1
    );
    assert_eq!(
        s.talks(&TalksQuery {
            unread_only: true,
            ..Default::default()
        })
        .unwrap()
        .len(),
        1
    );
    assert_eq!(
        s.talks(&TalksQuery {
            origin: Some("waba".into()),
            ..Default::default()
        })
        .unwrap()[0]
            .talk
            .talk_id,
        6
    );
    let mut missed = talk(6, 2, 502, "waba", 95, true);
    missed.missed_at = Some(94);
    s.write(|w| w.upsert_talk(&missed, Origin::Webhook))
        .unwrap();
    let a = s.chat_activity(10).unwrap();
    assert_eq!((a.unread, a.in_work, a.missed), (1, 1, 1));
    assert_eq!(a.channels.len(), 2);
    assert_eq!(a.channels[0].origin, "telegram");
    assert_eq!(a.channels[0].unread, 1);
    assert_eq!(s.status().unwrap().messages, 3);
}

#[test]
fn talk_activity_does_not_depend_on_message_order() {
    let msgs = [
        msg("1", 9, Direction::Incoming, 100, Some("а")),
        msg("2", 9, Direction::Outgoing, 110, None),
        msg("3", 9, Direction::Incoming, 120, Some("б")),
        msg("4", 9, Direction::Incoming, 130, Some("в")),
    ];
    let run = |order: &[usize]| {
        let (_d, s) = store();
        s.write(|w| {
            for i in order {
                w.record_message(&msgs[*i])?;
            }
            Ok(())
        })
        .unwrap();
        let t = s.talks(&TalksQuery::default()).unwrap().remove(0);
        (
            t.waiting_messages,
            t.last_message_at,
            t.last_text,
            t.last_outgoing_at,
            t.last_incoming_at,
        )
    };
    let expected = (2, Some(130), Some("в".to_string()), Some(110), Some(130));
    assert_eq!(run(&[0, 1, 2, 3]), expected);
    assert_eq!(run(&[3, 2, 1, 0]), expected);
    assert_eq!(run(&[2, 0, 3, 1]), expected);
}

fn note_on(id: u64, entity: u64, text: &str) -> amo::models::Note {
    serde_json::from_value(
        json!({"id": id, "entity_id": entity, "created_at": id as i64,
        "updated_at": id as i64, "note_type": "common", "params": {"text": text}}),
    )
    .unwrap()
}

fn note_ids(notes: &[amosync_store::NoteRecord]) -> Vec<u64> {
    notes.iter().map(|n| n.note.id).collect()
}

/// Lead 5 and contact 5 are different entities (separate id sequences).
#[test]
fn notes_of_a_lead_and_a_contact_with_the_same_id_stay_apart() {
    use amosync_store::NoteEntity;
    let (_d, s) = store();
    s.write(|w| {
        w.put_pipelines(&[primary()])?;
        w.upsert_lead(&lead(5, 100, 69641338, 10), Origin::Api)?;
        w.upsert_contact(
            &contact(5, "Пять", "+7 900 000-00-05", "five@example.ru", 100),
            Origin::Api,
        )?;
        // Typed by the caller (webhooks: element_type 2 = lead, 1 = contact).
        w.upsert_note_for(
            &note_on(71, 5, "о сделке"),
            NoteEntity::from_element_type(2).unwrap(),
            Origin::Webhook,
        )?;
        w.upsert_note_for(
            &note_on(72, 5, "о контакте"),
            NoteEntity::Contact,
            Origin::Webhook,
        )?;
        // Typed by the note itself: its API link, or its entity_type.
        let mut api = note_on(73, 5, "из API");
        api.links = Some(json!({"self": {"href": "https://x.amocrm.ru/api/v4/contacts/notes/73"}}));
        w.upsert_note(&api, Origin::Api)?;
        let mut api = note_on(74, 5, "из API по сделке");
        api.links = Some(json!({"self": {"href": "https://x.amocrm.ru/api/v4/leads/5/notes/74"}}));
        w.upsert_note(&api, Origin::Api)?;
        let mut company = note_on(75, 5, "о компании");
        company
            .extra
            .insert("entity_type".into(), "companies".into());
        w.upsert_note(&company, Origin::Api)?;
        Ok(())
    })
    .unwrap();
    let check = |s: &Store| {
        assert_eq!(note_ids(&s.lead(5).unwrap().unwrap().notes), [71, 74]);
        assert_eq!(note_ids(&s.contact(5).unwrap().unwrap().notes), [72, 73]);
    };
    check(&s);
    // The type survives a rebuild of the indexes (it is stored with the note).
    s.rebuild_derived().unwrap();
    check(&s);
    // A later webhook version keeps its place; moving the note re-indexes it.
    s.write(|w| {
        let mut n = note_on(71, 5, "о сделке, правка");
        n.updated_at = 500;
        w.upsert_note_for(&n, NoteEntity::Lead, Origin::Webhook)?;
        let mut n = note_on(72, 5, "теперь о сделке");
        n.updated_at = 500;
        w.upsert_note_for(&n, NoteEntity::Lead, Origin::Webhook)?;
        Ok(())
    })
    .unwrap();
    let lead = s.lead(5).unwrap().unwrap();
    assert_eq!(note_ids(&lead.notes), [71, 72, 74]);
    assert_eq!(lead.notes[0].note.text(), Some("о сделке, правка"));
    assert_eq!(
        lead.notes[0].note.extra.get("entity_type").unwrap(),
        "leads"
    );
    assert_eq!(note_ids(&s.contact(5).unwrap().unwrap().notes), [73]);
}

#[test]
fn note_entity_is_read_from_names_codes_and_links() {
    use amosync_store::NoteEntity;
    assert_eq!(NoteEntity::from_element_type(1), Some(NoteEntity::Contact));
    assert_eq!(
        NoteEntity::from_element_type(12),
        Some(NoteEntity::Customer)
    );
    assert_eq!(NoteEntity::from_element_type(9), None);
    assert_eq!(NoteEntity::from_name("Leads"), Some(NoteEntity::Lead));
    assert_eq!(NoteEntity::from_name("company"), Some(NoteEntity::Company));
    let mut n = note_on(1, 1, "x");
    assert_eq!(NoteEntity::of(&n), None);
    n.links = Some(json!({"self": {"href": "/api/v4/companies/notes/1?page=2"}}));
    assert_eq!(NoteEntity::of(&n), Some(NoteEntity::Company));
    n.extra.insert("entity_type".into(), "lead".into());
    assert_eq!(NoteEntity::of(&n), Some(NoteEntity::Lead));
}

/// A contact deleted before it was ever seen is an id-only placeholder: no
/// detail, like `lead(id)`; a real contact deleted later still has one.
#[test]
fn contact_detail_hides_placeholders() {
    let (_d, s) = store();
    s.write(|w| {
        w.delete_contact(77, 500)?;
        w.delete_lead(78, 500)?;
        w.upsert_contact(
            &contact(79, "Был", "+7 900 000-00-79", "was@example.ru", 100),
            Origin::Api,
        )?;
        w.delete_contact(79, 500)?;
        Ok(())
    })
    .unwrap();
    assert!(s.contact(77).unwrap().is_none());
    assert!(s.lead(78).unwrap().is_none());
    let c = s.contact(79).unwrap().expect("a real tombstoned contact");
    assert!(c.contact.sync.deleted_at.is_some());
}
