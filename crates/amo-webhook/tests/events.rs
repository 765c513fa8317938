//! Decoding hand-written bodies shaped like amoCRM's (amocrm.md §1), one
//! test per event kind and quirk.

use amo_webhook::events::*;
use amo_webhook::{Node, NodeMap, WebhookEvent, WebhookPayload, decode, encode};

/// Joins pairs with `&`. Brackets may stay literal: they are decoded the
/// same whether sent as `[` or `%5B`.
fn body(pairs: &[&str]) -> Vec<u8> {
    pairs.join("&").into_bytes()
}

fn decode_ok(pairs: &[&str]) -> WebhookPayload {
    let payload = decode(&body(pairs)).expect("body decodes");
    assert!(
        payload.errors.is_empty(),
        "unexpected entity errors: {:?}",
        payload.errors
    );
    payload
}

const ACCOUNT: [&str; 3] = [
    "account[subdomain]=acme",
    "account[id]=29085055",
    "account[_links][self]=https%3A%2F%2Facme.amocrm.ru",
];

fn with_account(pairs: &[&str]) -> Vec<String> {
    pairs
        .iter()
        .chain(ACCOUNT.iter())
        .map(|s| s.to_string())
        .collect()
}

fn decode_with_account(pairs: &[&str]) -> WebhookPayload {
    let all = with_account(pairs);
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    decode_ok(&refs)
}

fn only_lead(p: &WebhookPayload) -> (LeadAction, &LeadEvent) {
    assert_eq!(p.events.len(), 1, "{:?}", p.events);
    match &p.events[0] {
        WebhookEvent::Lead { action, lead } => (*action, lead),
        other => panic!("expected a lead event, got {other:?}"),
    }
}

#[test]
fn account_block_new_and_old_style() {
    let p = decode_with_account(&[]);
    assert_eq!(p.account.subdomain, "acme");
    assert_eq!(p.account.id, Some(29085055));
    assert_eq!(
        p.account.self_link.as_deref(),
        Some("https://acme.amocrm.ru")
    );
    assert!(p.account.extra.is_empty());
    assert!(p.events.is_empty());

    let old = decode_ok(&["account[subdomain]=old"]);
    assert_eq!(
        old.account,
        AccountBlock {
            subdomain: "old".into(),
            ..Default::default()
        }
    );

    let extra = decode_ok(&[
        "account[subdomain]=x",
        "account[_links][other]=y",
        "account[zone]=ru",
    ]);
    assert_eq!(extra.account.self_link, None);
    assert_eq!(extra.account.extra.get("zone"), Some(&Node::from("ru")));
    assert_eq!(
        extra
            .account
            .extra
            .get("_links")
            .and_then(|n| n.get_path(&["other"])),
        Some(&Node::from("y"))
    );
}

#[test]
fn lead_status_change_with_cyrillic_custom_fields_and_date_quirk() {
    let p = decode_with_account(&[
        "leads[status][0][id]=25399013",
        // "Сделка #1" with `+` for the space.
        "leads[status][0][name]=%D0%A1%D0%B4%D0%B5%D0%BB%D0%BA%D0%B0+%231",
        "leads[status][0][status_id]=142",
        "leads[status][0][old_status_id]=142001",
        "leads[status][0][pipeline_id]=1001",
        "leads[status][0][old_pipeline_id]=1000",
        "leads[status][0][price]=15000",
        "leads[status][0][responsible_user_id]=3003",
        "leads[status][0][last_modified]=1542067300",
        "leads[status][0][modified_user_id]=3003",
        "leads[status][0][created_user_id]=3004",
        "leads[status][0][date_create]=1542000000",
        "leads[status][0][account_id]=29085055",
        "leads[status][0][created_at]=1542000000",
        "leads[status][0][updated_at]=1542067300",
        "leads[status][0][tags][0][id]=11",
        "leads[status][0][tags][0][name]=VIP",
        "leads[status][0][custom_fields][0][id]=501",
        // "Источник"
        "leads[status][0][custom_fields][0][name]=%D0%98%D1%81%D1%82%D0%BE%D1%87%D0%BD%D0%B8%D0%BA",
        "leads[status][0][custom_fields][0][values][0][value]=%D0%A1%D0%B0%D0%B9%D1%82",
        "leads[status][0][custom_fields][0][values][0][enum]=7001",
        "leads[status][0][custom_fields][1][id]=502",
        "leads[status][0][custom_fields][1][name]=Date",
        "leads[status][0][custom_fields][1][values][0]=1542067200",
    ]);
    let (action, lead) = only_lead(&p);
    assert_eq!(action, LeadAction::Status);
    assert_eq!(lead.id, 25399013);
    assert_eq!(lead.name.as_deref(), Some("Сделка #1"));
    assert_eq!(
        (lead.status_id, lead.old_status_id),
        (Some(142), Some(142001))
    );
    assert_eq!(
        (lead.pipeline_id, lead.old_pipeline_id),
        (Some(1001), Some(1000))
    );
    assert_eq!(lead.price, Some(15000));
    assert_eq!(lead.responsible_user_id, Some(3003));
    assert_eq!(
        (lead.created_user_id, lead.modified_user_id),
        (Some(3004), Some(3003))
    );
    assert_eq!(
        (lead.date_create, lead.last_modified),
        (Some(1542000000), Some(1542067300))
    );
    assert_eq!(
        (lead.created_at, lead.updated_at),
        (Some(1542000000), Some(1542067300))
    );
    assert_eq!(lead.account_id, Some(29085055));
    assert_eq!(
        lead.tags,
        vec![Tag {
            id: Some(11),
            name: Some("VIP".into()),
            extra: NodeMap::new()
        }]
    );
    assert_eq!(lead.custom_fields.len(), 2);
    let source = &lead.custom_fields[0];
    assert_eq!(
        (source.id, source.name.as_deref()),
        (Some(501), Some("Источник"))
    );
    assert_eq!(
        source.values,
        vec![CustomFieldValue::Item(CustomFieldItem {
            value: Some("Сайт".into()),
            enum_value: Some("7001".into()),
            extra: NodeMap::new()
        })]
    );
    assert_eq!(
        lead.custom_fields[1].values,
        vec![CustomFieldValue::Plain("1542067200".into())]
    );
    assert_eq!(
        lead.custom_fields[1].value_strs().collect::<Vec<_>>(),
        ["1542067200"]
    );
    assert!(lead.extra.is_empty(), "{:?}", lead.extra);
}

#[test]
fn lead_empty_name_and_price_absent_or_empty() {
    let p = decode_with_account(&[
        "leads[add][0][id]=1",
        "leads[add][0][name]=",
        "leads[add][0][price]=",
    ]);
    let (action, lead) = only_lead(&p);
    assert_eq!(action, LeadAction::Add);
    assert_eq!(lead.name.as_deref(), Some(""));
    assert_eq!(lead.price, None);
    let p = decode_with_account(&["leads[update][0][id]=1"]);
    assert_eq!(only_lead(&p).1.price, None);
}

#[test]
fn every_lead_action_is_recognised() {
    for (key, action) in [
        ("add", LeadAction::Add),
        ("update", LeadAction::Update),
        ("status", LeadAction::Status),
        ("responsible", LeadAction::Responsible),
        ("restore", LeadAction::Restore),
        ("delete", LeadAction::Delete),
    ] {
        let pair = format!("leads[{key}][0][id]=7");
        let p = decode_with_account(&[&pair]);
        assert_eq!(only_lead(&p).0, action, "{key}");
    }
}

#[test]
fn lead_responsible_change_keeps_old_user() {
    let p = decode_with_account(&[
        "leads[responsible][0][id]=5",
        "leads[responsible][0][responsible_user_id]=2",
        "leads[responsible][0][old_responsible_user_id]=1",
    ]);
    let (_, lead) = only_lead(&p);
    assert_eq!(
        (lead.responsible_user_id, lead.old_responsible_user_id),
        (Some(2), Some(1))
    );
}

#[test]
fn lead_delete_carries_ids_only() {
    let p = decode_with_account(&[
        "leads[delete][0][id]=25399013",
        "leads[delete][0][status_id]=142",
        "leads[delete][0][pipeline_id]=1001",
    ]);
    let (action, lead) = only_lead(&p);
    assert_eq!(action, LeadAction::Delete);
    assert_eq!(
        *lead,
        LeadEvent {
            id: 25399013,
            status_id: Some(142),
            pipeline_id: Some(1001),
            ..Default::default()
        }
    );
}

#[test]
fn lists_as_arrays_or_objects_keyed_by_index_are_the_same() {
    let as_object = decode_with_account(&[
        "leads[update][0][id]=1",
        "leads[update][0][custom_fields][1][id]=20",
        "leads[update][0][custom_fields][0][id]=10",
        "leads[update][0][tags][0][name]=a",
    ]);
    let appended = decode_with_account(&[
        "leads[update][0][id]=1",
        "leads[update][0][custom_fields][][id]=20",
        "leads[update][0][custom_fields][][id]=10",
        "leads[update][0][tags][][name]=a",
    ]);
    let ids = |p: &WebhookPayload| {
        only_lead(p)
            .1
            .custom_fields
            .iter()
            .map(|f| f.id)
            .collect::<Vec<_>>()
    };
    // Body order is kept either way.
    assert_eq!(ids(&as_object), [Some(20), Some(10)]);
    assert_eq!(ids(&appended), [Some(20), Some(10)]);
    assert_eq!(only_lead(&as_object).1.tags, only_lead(&appended).1.tags);
}

#[test]
fn contact_add_with_phones_emails_linked_leads_and_company() {
    let p = decode_with_account(&[
        "contacts[add][0][id]=700",
        "contacts[add][0][type]=contact",
        // "Иван Петров"
        "contacts[add][0][name]=%D0%98%D0%B2%D0%B0%D0%BD+%D0%9F%D0%B5%D1%82%D1%80%D0%BE%D0%B2",
        "contacts[add][0][responsible_user_id]=3003",
        "contacts[add][0][date_create]=1542000000",
        "contacts[add][0][last_modified]=1542000001",
        "contacts[add][0][created_user_id]=3003",
        "contacts[add][0][modified_user_id]=3003",
        "contacts[add][0][company_name]=%D0%9E%D0%9E%D0%9E+%C2%AB%D0%A0%D0%BE%D0%B3%D0%B0%C2%BB",
        "contacts[add][0][linked_company_id]=800",
        "contacts[add][0][account_id]=29085055",
        "contacts[add][0][created_at]=1542000000",
        "contacts[add][0][updated_at]=1542000001",
        "contacts[add][0][custom_fields][0][id]=1",
        "contacts[add][0][custom_fields][0][name]=%D0%A2%D0%B5%D0%BB%D0%B5%D1%84%D0%BE%D0%BD",
        "contacts[add][0][custom_fields][0][code]=PHONE",
        "contacts[add][0][custom_fields][0][values][0][value]=%2B79990001122",
        "contacts[add][0][custom_fields][0][values][0][enum]=WORK",
        "contacts[add][0][custom_fields][0][values][1][value]=%2B79990003344",
        "contacts[add][0][custom_fields][0][values][1][enum]=MOB",
        "contacts[add][0][custom_fields][1][id]=2",
        "contacts[add][0][custom_fields][1][code]=EMAIL",
        "contacts[add][0][custom_fields][1][values][0][value]=ivan%40example.ru",
        "contacts[add][0][linked_leads_id][25399013][ID]=25399013",
        "contacts[add][0][linked_leads_id][25399014][ID]=25399014",
    ]);
    assert_eq!(p.events.len(), 1);
    let WebhookEvent::Contact { action, contact } = &p.events[0] else {
        panic!("{:?}", p.events)
    };
    assert_eq!(*action, ContactAction::Add);
    assert_eq!(contact.id, 700);
    assert_eq!(contact.kind, ContactKind::Contact);
    assert_eq!(contact.name.as_deref(), Some("Иван Петров"));
    assert_eq!(contact.company_name.as_deref(), Some("ООО «Рога»"));
    assert_eq!(contact.linked_company_id, Some(800));
    assert_eq!(contact.linked_lead_ids, [25399013, 25399014]);
    assert_eq!(contact.phones(), ["+79990001122", "+79990003344"]);
    assert_eq!(contact.emails(), ["ivan@example.ru"]);
    assert_eq!(
        (contact.date_create, contact.updated_at),
        (Some(1542000000), Some(1542000001))
    );
    assert!(contact.extra.is_empty(), "{:?}", contact.extra);
}

#[test]
fn companies_arrive_under_contacts_with_type_company() {
    let p = decode_with_account(&[
        "contacts[update][0][id]=800",
        "contacts[update][0][type]=company",
        "contacts[update][0][name]=Acme",
        "contacts[delete][0][id]=801",
        "contacts[delete][0][type]=company",
        "companies[restore][0][id]=802",
    ]);
    let kinds: Vec<_> = p
        .events
        .iter()
        .map(|e| match e {
            WebhookEvent::Contact { action, contact } => (*action, contact.kind, contact.id),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (ContactAction::Update, ContactKind::Company, 800),
            (ContactAction::Delete, ContactKind::Company, 801),
            (ContactAction::Restore, ContactKind::Company, 802),
        ]
    );
}

#[test]
fn contact_responsible_and_restore() {
    let p = decode_with_account(&[
        "contacts[responsible][0][id]=1",
        "contacts[responsible][0][old_responsible_user_id]=5",
        "contacts[responsible][0][responsible_user_id]=6",
        "contacts[restore][0][id]=2",
    ]);
    assert!(matches!(
        &p.events[0],
        WebhookEvent::Contact { action: ContactAction::Responsible, contact }
            if contact.old_responsible_user_id == Some(5) && contact.responsible_user_id == Some(6)
    ));
    assert!(
        matches!(&p.events[1], WebhookEvent::Contact { action: ContactAction::Restore, contact } if contact.id == 2)
    );
}

#[test]
fn linked_leads_of_an_unexpected_shape_stay_in_extra() {
    let p = decode_with_account(&[
        "contacts[update][0][id]=1",
        "contacts[update][0][linked_leads_id][5][ID]=5",
        "contacts[update][0][linked_leads_id][6][NAME]=x",
    ]);
    let WebhookEvent::Contact { contact, .. } = &p.events[0] else {
        panic!()
    };
    assert!(contact.linked_lead_ids.is_empty());
    let kept = contact.extra.get("linked_leads_id").expect("kept in extra");
    assert_eq!(kept.get_path(&["6", "NAME"]), Some(&Node::from("x")));
    // A plain list of ids is accepted too.
    let p = decode_with_account(&[
        "contacts[update][0][id]=1",
        "contacts[update][0][linked_leads_id][0]=9",
    ]);
    let WebhookEvent::Contact { contact, .. } = &p.events[0] else {
        panic!()
    };
    assert_eq!(contact.linked_lead_ids, [9]);
}

#[test]
fn lead_note_with_doubled_level_and_text_dates() {
    let p = decode_with_account(&[
        "leads[note][0][note][id]=9001",
        "leads[note][0][note][element_type]=2",
        "leads[note][0][note][element_id]=25399013",
        "leads[note][0][note][note_type]=4",
        // "Перезвонить завтра"
        "leads[note][0][note][text]=%D0%9F%D0%B5%D1%80%D0%B5%D0%B7%D0%B2%D0%BE%D0%BD%D0%B8%D1%82%D1%8C+%D0%B7%D0%B0%D0%B2%D1%82%D1%80%D0%B0",
        "leads[note][0][note][date_create]=2018-11-13+09%3A05%3A00",
        "leads[note][0][note][timestamp_x]=2018-11-13+09%3A06%3A30",
        "leads[note][0][note][created_by]=3003",
        "leads[note][0][note][modified_by]=3003",
        "leads[note][0][note][main_user_id]=3003",
        "leads[note][0][note][group_id]=0",
        "leads[note][0][note][account_id]=29085055",
        "leads[note][0][note][created_at]=1542099900",
        "leads[note][0][note][updated_at]=1542099990",
        "leads[note][0][note][metadata]=%7B%22event_source%22%3A%7B%22type%22%3A%22api%22%7D%7D",
        "contacts[note][0][note][id]=9002",
        "contacts[note][0][note][element_type]=1",
        "companies[note][0][note][id]=9003",
    ]);
    assert_eq!(p.events.len(), 3);
    let WebhookEvent::Note { parent, note } = &p.events[0] else {
        panic!("{:?}", p.events)
    };
    assert_eq!(*parent, NoteParent::Lead);
    assert_eq!(note.id, 9001);
    assert_eq!(
        (note.element_type, note.element_id, note.note_type),
        (Some(2), Some(25399013), Some(4))
    );
    assert_eq!(note.text.as_deref(), Some("Перезвонить завтра"));
    let created = note.date_create.as_ref().expect("date_create");
    assert_eq!(created.raw, "2018-11-13 09:05:00");
    assert_eq!(
        created.local,
        Some(LocalDateTime {
            year: 2018,
            month: 11,
            day: 13,
            hour: 9,
            minute: 5,
            second: 0
        })
    );
    assert_eq!(
        note.timestamp_x.as_ref().map(|d| d.raw.as_str()),
        Some("2018-11-13 09:06:30")
    );
    assert_eq!(note.group_id, Some(0));
    assert_eq!(
        note.metadata_json()
            .and_then(|m| m["event_source"]["type"].as_str().map(String::from)),
        Some("api".into())
    );
    assert!(note.extra.is_empty() && note.outer_extra.is_empty());
    assert!(
        matches!(&p.events[1], WebhookEvent::Note { parent: NoteParent::Contact, note } if note.id == 9002)
    );
    assert!(
        matches!(&p.events[2], WebhookEvent::Note { parent: NoteParent::Company, note } if note.id == 9003)
    );
}

#[test]
fn unsorted_add_and_accept_and_decline() {
    let p = decode_with_account(&[
        "unsorted[add][0][uid]=a1b2c3",
        "unsorted[add][0][source]=telegram",
        "unsorted[add][0][source_uid]=tg-42",
        "unsorted[add][0][category]=chats",
        "unsorted[add][0][pipeline_id]=1001",
        "unsorted[add][0][source_id]=77",
        "unsorted[add][0][lead_id]=25399020",
        "unsorted[add][0][created_at]=1542100000",
        "unsorted[add][0][source_data][client][name]=%D0%90%D0%BD%D0%BD%D0%B0",
        "unsorted[add][0][source_data][origin][chat_id]=123",
        "unsorted[add][0][source_data][service]=Telegram",
        "unsorted[add][0][source_data][data][0][text]=%D0%9F%D1%80%D0%B8%D0%B2%D0%B5%D1%82",
        "unsorted[add][0][data][contacts][0][id]=700",
        "unsorted[delete][0][action]=accept",
        "unsorted[delete][0][uid]=a1b2c3",
        "unsorted[delete][0][category]=chats",
        "unsorted[delete][0][modified_user_id]=3003",
        "unsorted[delete][0][accept_result][leads][0]=25399020",
        "unsorted[delete][1][action]=decline",
        "unsorted[delete][1][uid]=d4e5",
        "unsorted[delete][1][decline_result][leads][0]=25399021",
    ]);
    assert_eq!(p.events.len(), 3);
    let WebhookEvent::UnsortedAdd { unsorted } = &p.events[0] else {
        panic!("{:?}", p.events)
    };
    assert_eq!(unsorted.uid, "a1b2c3");
    assert_eq!(unsorted.category.as_deref(), Some("chats"));
    assert_eq!(
        (unsorted.pipeline_id, unsorted.source_id, unsorted.lead_id),
        (Some(1001), Some(77), Some(25399020))
    );
    assert_eq!(unsorted.contact_ids(), [700]);
    let source = unsorted.source_data.as_ref().expect("source_data");
    assert_eq!(
        source.get_path(&["client", "name"]),
        Some(&Node::from("Анна"))
    );
    assert_eq!(
        source.get_path(&["data", "0", "text"]),
        Some(&Node::from("Привет"))
    );
    assert_eq!(p.events[0].entity_id(), Some(25399020));

    let WebhookEvent::UnsortedDelete { unsorted: accepted } = &p.events[1] else {
        panic!()
    };
    assert_eq!(accepted.action.as_deref(), Some("accept"));
    assert_eq!(accepted.modified_user_id, Some(3003));
    assert_eq!(accepted.result_lead_ids(), [25399020]);
    let WebhookEvent::UnsortedDelete { unsorted: declined } = &p.events[2] else {
        panic!()
    };
    assert_eq!(declined.action.as_deref(), Some("decline"));
    assert_eq!(declined.accept_result, None);
    assert_eq!(declined.result_lead_ids(), [25399021]);
}

#[test]
fn message_with_picture_attachment_and_author() {
    let p = decode_with_account(&[
        "message[add][0][id]=0f3b2d8e-5c1a-4f7e-9a2b-7d6c5b4a3e21",
        "message[add][0][chat_id]=6a1f9c2e-0000-4000-8000-000000000001",
        "message[add][0][talk_id]=314",
        "message[add][0][contact_id]=700",
        "message[add][0][text]=%D0%A4%D0%BE%D1%82%D0%BE+%F0%9F%93%B7",
        "message[add][0][created_at]=1542100100",
        "message[add][0][element_type]=2",
        "message[add][0][entity_type]=lead",
        "message[add][0][element_id]=25399020",
        "message[add][0][entity_id]=25399020",
        "message[add][0][type]=incoming",
        "message[add][0][origin]=telegram",
        "message[add][0][message_type]=picture",
        "message[add][0][author][id]=a7e0c9d2-1111-4000-8000-000000000002",
        "message[add][0][author][type]=external",
        "message[add][0][author][name]=%D0%90%D0%BD%D0%BD%D0%B0",
        "message[add][0][author][avatar_url]=https%3A%2F%2Fexample.com%2Fa.png",
        "message[add][0][attachment][type]=picture",
        "message[add][0][attachment][link]=https%3A%2F%2Fexample.com%2Fp.jpg%3Fx%3D1%26y%3D2",
        "message[add][0][attachment][file_name]=p.jpg",
    ]);
    let WebhookEvent::Message { message } = &p.events[0] else {
        panic!("{:?}", p.events)
    };
    assert_eq!(message.id, "0f3b2d8e-5c1a-4f7e-9a2b-7d6c5b4a3e21");
    assert_eq!(message.text.as_deref(), Some("Фото 📷"));
    assert_eq!(
        (message.talk_id, message.contact_id),
        (Some(314), Some(700))
    );
    assert_eq!(
        (message.entity_type.as_deref(), message.entity_id),
        (Some("lead"), Some(25399020))
    );
    assert_eq!(
        (message.element_type, message.element_id),
        (Some(2), Some(25399020))
    );
    assert_eq!(message.direction.as_deref(), Some("incoming"));
    assert_eq!(message.origin.as_deref(), Some("telegram"));
    assert_eq!(message.message_type.as_deref(), Some("picture"));
    let author = message.author.as_ref().expect("author");
    assert_eq!(
        (author.kind.as_deref(), author.name.as_deref()),
        (Some("external"), Some("Анна"))
    );
    let attachment = message.attachment.as_ref().expect("attachment");
    assert_eq!(attachment.kind.as_deref(), Some("picture"));
    assert_eq!(
        attachment.link.as_deref(),
        Some("https://example.com/p.jpg?x=1&y=2")
    );
    assert_eq!(attachment.file_name.as_deref(), Some("p.jpg"));
    assert!(message.extra.is_empty());
}

#[test]
fn talk_add_and_update_with_booleans() {
    let p = decode_with_account(&[
        "talk[add][0][talk_id]=314",
        "talk[add][0][chat_id]=6a1f9c2e-0000-4000-8000-000000000001",
        "talk[add][0][contact_id]=700",
        "talk[add][0][entity_id]=25399020",
        "talk[add][0][entity_type]=lead",
        "talk[add][0][origin]=telegram",
        "talk[add][0][is_read]=0",
        "talk[add][0][is_in_work]=1",
        "talk[add][0][rate]=0",
        "talk[add][0][created_at]=1542100100",
        "talk[add][0][updated_at]=1542100100",
        "talk[update][0][talk_id]=314",
        "talk[update][0][is_read]=true",
        "talk[update][0][is_in_work]=false",
        "talk[update][0][rate]=",
    ]);
    let talks: Vec<_> = p
        .events
        .iter()
        .map(|e| match e {
            WebhookEvent::Talk { action, talk } => {
                (*action, talk.is_read, talk.is_in_work, talk.rate)
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        talks,
        [
            (TalkAction::Add, Some(false), Some(true), Some(0)),
            (TalkAction::Update, Some(true), Some(false), None)
        ]
    );
    let bad = decode(&body(&[
        "talk[add][0][talk_id]=1",
        "talk[add][0][is_read]=maybe",
        "account[subdomain]=a",
    ]))
    .unwrap();
    assert_eq!(bad.errors.len(), 1);
    assert_eq!(bad.errors[0].code(), "not_a_bool");
    assert_eq!(bad.errors[0].entity_id, Some(1));
}

#[test]
fn task_actions() {
    let p = decode_with_account(&[
        "task[add][0][id]=55",
        "task[add][0][element_id]=25399013",
        "task[add][0][element_type]=2",
        "task[add][0][task_type]=1",
        "task[add][0][text]=%D0%9F%D0%BE%D0%B7%D0%B2%D0%BE%D0%BD%D0%B8%D1%82%D1%8C",
        "task[add][0][status]=0",
        "task[add][0][complete_till]=1542153599",
        "task[add][0][responsible_user_id]=3003",
        "task[add][0][created_at]=1542100000",
        "task[add][0][updated_at]=1542100000",
        "task[update][0][id]=55",
        "task[update][0][status]=1",
        "task[responsible][0][id]=55",
        "task[delete][0][id]=55",
    ]);
    let WebhookEvent::Task {
        action: TaskAction::Add,
        task,
    } = &p.events[0]
    else {
        panic!("{:?}", p.events)
    };
    assert_eq!(task.text.as_deref(), Some("Позвонить"));
    assert_eq!(
        (task.element_id, task.element_type, task.task_type),
        (Some(25399013), Some(2), Some(1))
    );
    assert_eq!(
        (task.status, task.complete_till),
        (Some(0), Some(1542153599))
    );
    let actions: Vec<_> = p
        .events
        .iter()
        .map(|e| match e {
            WebhookEvent::Task { action, .. } => *action,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        actions,
        [
            TaskAction::Add,
            TaskAction::Update,
            TaskAction::Responsible,
            TaskAction::Delete
        ]
    );
}

#[test]
fn several_entities_and_actions_in_one_body_keep_body_order() {
    let p = decode_with_account(&[
        "leads[update][0][id]=1",
        "leads[update][1][id]=2",
        "contacts[update][0][id]=3",
        "leads[status][0][id]=1",
        "leads[status][0][status_id]=142",
        "task[add][0][id]=4",
        "leads[note][0][note][id]=5",
    ]);
    let summary: Vec<(String, Option<u64>)> = p
        .events
        .iter()
        .map(|e| {
            let kind = match e {
                WebhookEvent::Lead { action, .. } => format!("lead:{}", action.as_str()),
                WebhookEvent::Contact { action, .. } => format!("contact:{}", action.as_str()),
                WebhookEvent::Task { action, .. } => format!("task:{}", action.as_str()),
                WebhookEvent::Note { .. } => "note".into(),
                other => panic!("{other:?}"),
            };
            (kind, e.entity_id())
        })
        .collect();
    // Grouped by entity (first appearance), then action, then index.
    let expected = [
        ("lead:update", 1),
        ("lead:update", 2),
        ("lead:status", 1),
        ("note", 5),
        ("contact:update", 3),
        ("task:add", 4),
    ];
    assert_eq!(summary, expected.map(|(k, id)| (k.to_string(), Some(id))));
}

#[test]
fn bulk_status_change_of_fifty_leads() {
    let mut pairs = Vec::new();
    for i in 0..50u64 {
        pairs.push(format!("leads%5Bstatus%5D%5B{i}%5D%5Bid%5D={}", 1000 + i));
        pairs.push(format!("leads%5Bstatus%5D%5B{i}%5D%5Bstatus_id%5D=142"));
        pairs.push(format!(
            "leads%5Bstatus%5D%5B{i}%5D%5Bold_status_id%5D={}",
            100 + i % 3
        ));
        pairs.push(format!("leads%5Bstatus%5D%5B{i}%5D%5Bpipeline_id%5D=1001"));
        pairs.push(format!(
            "leads%5Bstatus%5D%5B{i}%5D%5Bname%5D=%D0%A1%D0%B4%D0%B5%D0%BB%D0%BA%D0%B0+{i}"
        ));
    }
    let refs: Vec<&str> = pairs.iter().map(String::as_str).collect();
    let p = decode_with_account(&refs);
    assert_eq!(p.events.len(), 50);
    for (i, e) in p.events.iter().enumerate() {
        let WebhookEvent::Lead {
            action: LeadAction::Status,
            lead,
        } = e
        else {
            panic!("{e:?}")
        };
        let i = i as u64;
        assert_eq!(lead.id, 1000 + i, "order kept past index 9");
        assert_eq!(
            (lead.status_id, lead.old_status_id),
            (Some(142), Some(100 + i % 3))
        );
        assert_eq!(lead.name.as_deref(), Some(format!("Сделка {i}").as_str()));
    }
}

#[test]
fn unknown_entities_and_actions_and_keys_are_kept() {
    let p = decode_with_account(&[
        "customers[add][0][id]=9",
        "customers[add][0][name]=X",
        "leads[merge][0][id]=1",
        "leads[update][0][id]=2",
        "leads[update][0][loss_reason_id]=3",
        "leads[update][0][custom_fields][0][id]=4",
        "leads[update][0][custom_fields][0][is_system]=1",
        "ping=1",
    ]);
    assert_eq!(p.events.len(), 4, "{:?}", p.events);
    let WebhookEvent::Unknown {
        entity,
        action,
        fields,
    } = &p.events[0]
    else {
        panic!()
    };
    assert_eq!(
        (entity.as_str(), action.as_deref()),
        ("customers", Some("add"))
    );
    assert_eq!(fields.get_path(&["0", "name"]), Some(&Node::from("X")));
    assert!(
        matches!(&p.events[1], WebhookEvent::Unknown { entity, action: Some(a), .. } if entity == "leads" && a == "merge")
    );
    let WebhookEvent::Lead { lead, .. } = &p.events[2] else {
        panic!()
    };
    assert_eq!(lead.extra.get("loss_reason_id"), Some(&Node::from("3")));
    assert_eq!(
        lead.custom_fields[0].extra.get("is_system"),
        Some(&Node::from("1"))
    );
    assert_eq!(
        p.events[3],
        WebhookEvent::Unknown {
            entity: "ping".into(),
            action: None,
            fields: Node::from("1")
        }
    );
}

#[test]
fn a_bad_entity_is_reported_and_the_rest_decoded() {
    let p = decode(&body(&[
        "leads[update][0][id]=1",
        "leads[update][1][id]=abc",
        "leads[update][1][name]=kept",
        "leads[update][2][id]=3",
        "leads[update][2][price]=1500.50",
        "leads[update][3]=oops",
        "leads[update][4][id]=5",
        "leads[update][4][custom_fields][0][id]=x",
        "leads[update][5][name]=no+id",
        "account[subdomain]=acme",
    ]))
    .unwrap();
    assert_eq!(
        p.events
            .iter()
            .map(WebhookEvent::entity_id)
            .collect::<Vec<_>>(),
        [Some(1)]
    );
    let summary: Vec<_> = p
        .errors
        .iter()
        .map(|e| (e.index.as_str(), e.entity_id, e.field.as_deref(), e.code()))
        .collect();
    assert_eq!(
        summary,
        [
            ("1", None, Some("id"), "not_a_number"),
            ("2", Some(3), Some("price"), "not_a_number"),
            ("3", None, None, "not_an_object"),
            ("4", Some(5), Some("custom_fields[0][id]"), "not_a_number"),
            ("5", None, Some("id"), "missing_field"),
        ]
    );
    let first = &p.errors[0];
    assert_eq!(first.raw.get_path(&["name"]), Some(&Node::from("kept")));
    assert_eq!(
        first.to_string(),
        "leads[update][1][id]: expected a number, found `abc`"
    );
}

#[test]
fn contact_with_unknown_type_is_an_entity_error() {
    let p = decode(&body(&[
        "contacts[add][0][id]=1",
        "contacts[add][0][type]=robot",
        "account[subdomain]=a",
    ]))
    .unwrap();
    assert!(p.events.is_empty());
    assert_eq!(p.errors[0].code(), "unknown_type");
    assert_eq!(p.errors[0].entity_id, Some(1));
}

#[test]
fn payload_survives_json_with_utf8_intact() {
    let p = decode_with_account(&[
        "leads[add][0][id]=1",
        "leads[add][0][name]=%D0%A1%D0%B4%D0%B5%D0%BB%D0%BA%D0%B0+%F0%9F%9A%80",
        "leads[add][0][x_custom][deep]=%D1%8F",
        "leads[note][0][note][id]=2",
        "leads[note][0][note][date_create]=2018-11-13+09%3A05%3A00",
        "zzz[q]=1",
    ]);
    let json = serde_json::to_string(&p).unwrap();
    assert!(json.contains("Сделка 🚀"), "{json}");
    let back: WebhookPayload = serde_json::from_str(&json).unwrap();
    assert_eq!(back, p);
}

#[test]
fn encode_writes_http_build_query_shape() {
    let p = decode_with_account(&[
        "leads[status][0][id]=7",
        "leads[status][0][name]=%D0%AF+x%26y",
    ]);
    assert_eq!(
        encode(&p),
        "leads%5Bstatus%5D%5B0%5D%5Bid%5D=7&leads%5Bstatus%5D%5B0%5D%5Bname%5D=%D0%AF+x%26y\
         &account%5Bsubdomain%5D=acme&account%5Bid%5D=29085055\
         &account%5B_links%5D%5Bself%5D=https%3A%2F%2Facme.amocrm.ru"
    );
    assert_eq!(decode(encode(&p).as_bytes()).unwrap(), p);
}

/// Found by the fuzzer: `custom_fields[][id]=` (an empty number) read as
/// `None` and vanished on re-encoding. An empty value reads as `None` and the
/// key is kept in `extra`, so nothing received is lost.
#[test]
fn empty_numbers_read_as_none_and_survive_reencoding() {
    let body = "leads%5Bstatus%5D%5B34%5D%5Bid%5D=2\
        &leads%5Bstatus%5D%5B34%5D%5Bprice%5D=\
        &leads%5Bstatus%5D%5B34%5D%5Bcustom_fields%5D%5B%5D%5Bid%5D=\
        &account%5Bsubdomain%5D=rentcar";
    let payload = decode(body.as_bytes()).expect("decodes");
    let WebhookEvent::Lead { lead, .. } = &payload.events[0] else {
        panic!("a lead event: {:?}", payload.events);
    };
    assert_eq!(lead.price, None);
    assert_eq!(lead.custom_fields.len(), 1);
    assert_eq!(lead.custom_fields[0].id, None);
    let again = decode(encode(&payload).as_bytes()).expect("re-encoded body decodes");
    assert_eq!(again.events, payload.events);
}

/// An action whose items are lists of entities (`task[update][0][0][…]`,
/// as amoCRM documents its task webhook) is read item by item; an entity
/// there that cannot be typed is reported under its full index.
#[test]
fn nested_entity_lists_are_read_item_by_item() {
    let p = decode_allowing_errors(&[
        "task[update][0][0][id]=1",
        "task[update][0][1][id]=2",
        "task[update][1][id]=3",
        "task[update][2][0][id]=x",
    ]);
    let ids: Vec<_> = p
        .events
        .iter()
        .filter_map(WebhookEvent::entity_id)
        .collect();
    assert_eq!(ids, vec![1, 2, 3]);
    assert_eq!(p.errors.len(), 1);
    assert_eq!(
        p.errors[0].to_string(),
        "task[update][2][0][id]: expected a number, found `x`"
    );
}

/// The outcome report lists anomalies, entities that failed and unknown
/// events, and is bounded.
#[test]
fn untyped_report_is_complete_and_bounded() {
    let p = decode_allowing_errors(&["a=1", "a=2", "zz[x][0][id]=1", "leads[add][0][id]=no"]);
    let report = p.untyped_report(8);
    assert_eq!(report.len(), 4, "{report:?}");
    assert!(report[0].starts_with("replaced: `a`"), "{report:?}");
    assert!(
        report[1].starts_with("not_a_number: leads[add][0][id]"),
        "{report:?}"
    );
    assert!(
        report
            .iter()
            .any(|l| l == "untyped: zz[x] kept as received"),
        "{report:?}"
    );
    assert!(
        report.iter().any(|l| l == "untyped: a kept as received"),
        "{report:?}"
    );
    let short = p.untyped_report(2);
    assert_eq!(short.len(), 2);
    assert_eq!(short[1], "… and 3 more");
}

fn decode_allowing_errors(pairs: &[&str]) -> WebhookPayload {
    let all = with_account(pairs);
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    decode(&body(&refs)).expect("body decodes")
}
