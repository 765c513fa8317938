//! Property tests: no input panics the decoder, and every payload the decoder
//! can produce survives `encode` → `decode` (and JSON) unchanged.

use std::collections::{HashMap, HashSet};

use amo_webhook::events::*;
use amo_webhook::{
    DecodeLimits, Node, NodeMap, WebhookEvent, WebhookPayload, decode, decode_with_limits, encode,
    parse_form, read_account,
};
use proptest::prelude::*;

// ---------- inputs that must never panic ----------

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = decode(&body);
    }

    #[test]
    fn bracket_heavy_strings_never_panic(body in "[\\[\\]%&=+a-c0-9FfZ\u{0430}]{0,300}") {
        let _ = decode(body.as_bytes());
        let tight = DecodeLimits { max_body_bytes: 200, max_pairs: 5, max_depth: 2, max_key_bytes: 12, max_value_bytes: 6 };
        let _ = decode_with_limits(body.as_bytes(), &tight);
    }

    #[test]
    fn php_parsing_rejects_nothing_within_the_size_limits(body in prop::collection::vec(any::<u8>(), 0..2048)) {
        // PHP's parse_str reads any body; so does parse_form, unless a size
        // limit is broken.
        let limits = DecodeLimits::default();
        let pairs = body.split(|&b| b == b'&').filter(|p| !p.is_empty()).count();
        let longest_key = body
            .split(|&b| b == b'&')
            .map(|p| p.iter().position(|&b| b == b'=').unwrap_or(p.len()))
            .max()
            .unwrap_or(0);
        let within = pairs <= limits.max_pairs && longest_key <= limits.max_key_bytes;
        prop_assert_eq!(parse_form(&body, &limits).is_ok(), within);
        let mut with_account = body.clone();
        with_account.extend_from_slice(b"&account[subdomain]=acme");
        if within && longest_key <= limits.max_key_bytes {
            prop_assert!(decode(&with_account).is_ok());
        }
    }

    #[test]
    fn read_account_accepts_exactly_what_decode_accepts(pairs in prop::collection::vec(pair(), 0..30), account in any::<bool>()) {
        let mut body = pairs.join("&");
        if account {
            body.push_str("&account[subdomain]=acme&account[id]=7");
        }
        let limits = DecodeLimits { max_pairs: 20, ..DecodeLimits::default() };
        match (decode_with_limits(body.as_bytes(), &limits), read_account(body.as_bytes(), &limits)) {
            (Ok(p), Ok(a)) => prop_assert_eq!(p.account, a),
            (Err(d), Err(r)) => prop_assert_eq!(d.code(), r.code()),
            (d, r) => prop_assert!(false, "decode {:?} but read_account {:?}", d.map(|_| ()), r.map(|_| ())),
        }
    }

    #[test]
    fn structured_keys_never_panic_and_reencode_stably(pairs in prop::collection::vec(pair(), 0..30)) {
        let mut body = pairs.join("&");
        body.push_str("&account[subdomain]=acme");
        if let Ok(p) = decode(body.as_bytes()) {
            // Whatever decodes, encodes to a body that decodes to the same
            // events (entities that failed are not encoded).
            let again = decode(encode(&p).as_bytes()).expect("encoded body decodes");
            prop_assert!(again.errors.is_empty(), "{:?}", again.errors);
            prop_assert_eq!(&again.events, &p.events);
            prop_assert_eq!(&again.account, &p.account);
        }
    }
}

/// A `key=value` pair from amoCRM's vocabulary, so that bodies often decode.
fn pair() -> impl Strategy<Value = String> {
    let entity = prop::sample::select(vec![
        "leads", "contacts", "task", "talk", "message", "unsorted", "zz", "account",
    ]);
    let action = prop::sample::select(vec![
        "add",
        "update",
        "status",
        "note",
        "delete",
        "responsible",
        "x",
        "",
    ]);
    let index = prop::sample::select(vec!["0", "1", "12", ""]);
    let field = prop::sample::select(vec![
        "id",
        "name",
        "price",
        "type",
        "note",
        "custom_fields",
        "tags",
        "values",
        "value",
        "enum",
        "linked_leads_id",
        "ID",
        "talk_id",
        "uid",
        "is_read",
        "accept_result",
        "author",
        "0",
        "1",
        "x",
    ]);
    let value = prop::sample::select(vec![
        "",
        "1",
        "42",
        "abc",
        "company",
        "contact",
        "2018-11-13+09%3A05%3A00",
        "%D0%AF",
        "true",
    ]);
    (
        entity,
        action,
        index,
        prop::collection::vec(field, 0..5),
        value,
    )
        .prop_map(|(e, a, i, fields, v)| {
            let mut key = e.to_string();
            for seg in [a, i].into_iter().chain(fields) {
                key.push('[');
                key.push_str(seg);
                key.push(']');
            }
            format!("{key}={v}")
        })
}

// ---------- generated payloads round-trip ----------

fn text() -> BoxedStrategy<String> {
    prop_oneof![
        "[a-zA-Z0-9 ._-]{0,8}",
        "[а-яА-ЯёЁ ]{0,8}",
        "[&=+%\\[\\]#?/ ]{0,6}",
        prop::collection::vec(any::<char>(), 0..6).prop_map(String::from_iter),
    ]
    .boxed()
}

fn opt<T: std::fmt::Debug + Clone + 'static>(
    s: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Option<T>> {
    prop::option::of(s).boxed()
}

/// A node at most `depth` map levels deep; maps are never empty (an empty
/// map has no pairs on the wire).
fn node(depth: u32) -> BoxedStrategy<Node> {
    let leaf = text().prop_map(Node::Value).boxed();
    if depth == 0 {
        return leaf;
    }
    leaf.prop_recursive(depth, 12, 3, |inner| {
        prop::collection::vec(("[a-z0-9_]{1,5}", inner), 1..3)
            .prop_map(|kv| Node::Map(kv.into_iter().collect()))
    })
    .boxed()
}

/// Unknown keys: prefixed `x_` so they never collide with typed ones.
fn extra(depth: u32) -> BoxedStrategy<NodeMap> {
    prop::collection::vec(("x_[a-z0-9_]{1,5}", node(depth)), 0..3)
        .prop_map(|kv| kv.into_iter().collect())
        .boxed()
}

fn tag() -> impl Strategy<Value = Tag> {
    (opt(any::<u64>()), text(), extra(1)).prop_map(|(id, name, extra)| Tag {
        id,
        name: Some(name),
        extra,
    })
}

fn custom_field() -> impl Strategy<Value = CustomField> {
    let value = prop_oneof![
        text().prop_map(CustomFieldValue::Plain),
        (text(), opt(text()), extra(0)).prop_map(|(v, e, extra)| CustomFieldValue::Item(
            CustomFieldItem {
                value: Some(v),
                enum_value: e,
                extra
            }
        )),
    ];
    (
        any::<u64>(),
        opt(text()),
        opt(text()),
        prop::collection::vec(value, 0..3),
        extra(1),
    )
        .prop_map(|(id, name, code, values, extra)| CustomField {
            id: Some(id),
            name,
            code,
            values,
            extra,
        })
}

fn ou64() -> BoxedStrategy<Option<u64>> {
    opt(any::<u64>())
}

fn oi64() -> BoxedStrategy<Option<i64>> {
    opt(any::<i64>())
}

fn lead() -> impl Strategy<Value = LeadEvent> {
    (
        (
            any::<u64>(),
            opt(text()),
            ou64(),
            ou64(),
            ou64(),
            ou64(),
            oi64(),
            ou64(),
            ou64(),
        ),
        (ou64(), ou64(), oi64(), oi64(), oi64(), oi64(), ou64()),
        (
            prop::collection::vec(tag(), 0..2),
            prop::collection::vec(custom_field(), 0..3),
            extra(2),
        ),
    )
        .prop_map(
            |(
                (id, name, st, ost, pl, opl, price, ru, oru),
                (cu, mu, lm, dc, ca, ua, acc),
                (tags, custom_fields, extra),
            )| {
                LeadEvent {
                    id,
                    name,
                    status_id: st,
                    old_status_id: ost,
                    pipeline_id: pl,
                    old_pipeline_id: opl,
                    price,
                    responsible_user_id: ru,
                    old_responsible_user_id: oru,
                    created_user_id: cu,
                    modified_user_id: mu,
                    last_modified: lm,
                    date_create: dc,
                    created_at: ca,
                    updated_at: ua,
                    account_id: acc,
                    tags,
                    custom_fields,
                    extra,
                }
            },
        )
}

fn contact() -> impl Strategy<Value = ContactEvent> {
    (
        (
            any::<u64>(),
            prop::sample::select(vec![ContactKind::Contact, ContactKind::Company]),
            opt(text()),
            ou64(),
            ou64(),
            ou64(),
            ou64(),
        ),
        (oi64(), oi64(), oi64(), oi64(), opt(text()), ou64(), ou64()),
        (
            prop::collection::vec(any::<u64>(), 0..3),
            prop::collection::vec(tag(), 0..2),
            prop::collection::vec(custom_field(), 0..3),
            extra(2),
        ),
    )
        .prop_map(
            |(
                (id, kind, name, ru, oru, cu, mu),
                (dc, lm, ca, ua, company_name, lc, acc),
                (linked_lead_ids, tags, custom_fields, extra),
            )| {
                ContactEvent {
                    id,
                    kind,
                    name,
                    responsible_user_id: ru,
                    old_responsible_user_id: oru,
                    created_user_id: cu,
                    modified_user_id: mu,
                    date_create: dc,
                    last_modified: lm,
                    created_at: ca,
                    updated_at: ua,
                    company_name,
                    linked_company_id: lc,
                    account_id: acc,
                    linked_lead_ids,
                    tags,
                    custom_fields,
                    extra,
                }
            },
        )
}

fn crm_date() -> BoxedStrategy<Option<CrmDate>> {
    opt(prop_oneof![
        "[0-9]{4}-[0-1][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9]",
        "[0-9]{1,10}",
        text(),
    ]
    .prop_map(CrmDate::parse))
}

fn note() -> impl Strategy<Value = NoteEvent> {
    (
        (
            any::<u64>(),
            ou64(),
            ou64(),
            ou64(),
            opt(text()),
            crm_date(),
            crm_date(),
        ),
        (
            ou64(),
            ou64(),
            ou64(),
            ou64(),
            ou64(),
            oi64(),
            oi64(),
            opt(text()),
        ),
        (extra(2), extra(2)),
    )
        .prop_map(
            |(
                (id, et, eid, nt, text, dc, tx),
                (cb, mb, mu, g, acc, ca, ua, metadata),
                (extra, outer_extra),
            )| NoteEvent {
                id,
                element_type: et,
                element_id: eid,
                note_type: nt,
                text,
                date_create: dc,
                timestamp_x: tx,
                created_by: cb,
                modified_by: mb,
                main_user_id: mu,
                group_id: g,
                account_id: acc,
                created_at: ca,
                updated_at: ua,
                metadata,
                extra,
                outer_extra,
            },
        )
}

fn unsorted_result() -> BoxedStrategy<Option<UnsortedResult>> {
    opt((
        prop::collection::vec(any::<u64>(), 1..3),
        prop::collection::vec(any::<u64>(), 0..2),
        prop::collection::vec(any::<u64>(), 0..2),
        extra(2),
    )
        .prop_map(|(leads, contacts, companies, extra)| UnsortedResult {
            leads,
            contacts,
            companies,
            extra,
        }))
}

fn event() -> impl Strategy<Value = WebhookEvent> {
    let lead_action = prop::sample::select(vec![
        LeadAction::Add,
        LeadAction::Update,
        LeadAction::Status,
        LeadAction::Responsible,
        LeadAction::Restore,
        LeadAction::Delete,
    ]);
    let contact_action = prop::sample::select(vec![
        ContactAction::Add,
        ContactAction::Update,
        ContactAction::Delete,
        ContactAction::Restore,
        ContactAction::Responsible,
    ]);
    let parent = prop::sample::select(vec![
        NoteParent::Lead,
        NoteParent::Contact,
        NoteParent::Company,
    ]);
    let task_action = prop::sample::select(vec![
        TaskAction::Add,
        TaskAction::Update,
        TaskAction::Delete,
        TaskAction::Responsible,
    ]);
    let talk_action = prop::sample::select(vec![TalkAction::Add, TalkAction::Update]);
    let unsorted_add = (
        (
            text(),
            opt(text()),
            opt(text()),
            opt(text()),
            ou64(),
            ou64(),
            ou64(),
            oi64(),
        ),
        (opt(node(3)), opt(node(3)), extra(3)),
    )
        .prop_map(
            |(
                (uid, source, source_uid, category, pl, sid, lid, ca),
                (source_data, data, extra),
            )| {
                WebhookEvent::UnsortedAdd {
                    unsorted: UnsortedAddEvent {
                        uid,
                        source,
                        source_uid,
                        category,
                        pipeline_id: pl,
                        source_id: sid,
                        lead_id: lid,
                        created_at: ca,
                        source_data,
                        data,
                        extra,
                    },
                }
            },
        );
    let unsorted_delete = (
        text(),
        opt(text()),
        opt(text()),
        ou64(),
        unsorted_result(),
        unsorted_result(),
        extra(3),
    )
        .prop_map(
            |(uid, action, category, mu, accept_result, decline_result, extra)| {
                WebhookEvent::UnsortedDelete {
                    unsorted: UnsortedDeleteEvent {
                        uid,
                        action,
                        category,
                        modified_user_id: mu,
                        accept_result,
                        decline_result,
                        extra,
                    },
                }
            },
        );
    let author = opt(
        (text(), opt(text()), opt(text()), opt(text()), extra(2)).prop_map(
            |(id, kind, name, avatar_url, extra)| MessageAuthor {
                id: Some(id),
                kind,
                name,
                avatar_url,
                extra,
            },
        ),
    );
    let attachment = opt((text(), opt(text()), opt(text()), extra(2)).prop_map(
        |(kind, link, file_name, extra)| MessageAttachment {
            kind: Some(kind),
            link,
            file_name,
            extra,
        },
    ));
    let message = (
        (
            text(),
            opt(text()),
            ou64(),
            ou64(),
            opt(text()),
            oi64(),
            opt(text()),
            ou64(),
        ),
        (
            ou64(),
            ou64(),
            opt(text()),
            opt(text()),
            opt(text()),
            author,
            attachment,
            extra(3),
        ),
    )
        .prop_map(
            |(
                (id, chat_id, talk_id, contact_id, text, ca, et, eid),
                (elt, elid, direction, origin, mt, author, attachment, extra),
            )| {
                WebhookEvent::Message {
                    message: MessageEvent {
                        id,
                        chat_id,
                        talk_id,
                        contact_id,
                        text,
                        created_at: ca,
                        entity_type: et,
                        entity_id: eid,
                        element_type: elt,
                        element_id: elid,
                        direction,
                        origin,
                        message_type: mt,
                        author,
                        attachment,
                        extra,
                    },
                }
            },
        );
    let talk = (
        talk_action,
        (
            any::<u64>(),
            opt(text()),
            ou64(),
            ou64(),
            opt(text()),
            opt(text()),
        ),
        (
            opt(any::<bool>()),
            opt(any::<bool>()),
            oi64(),
            oi64(),
            oi64(),
            extra(3),
        ),
    )
        .prop_map(
            |(
                action,
                (talk_id, chat_id, contact_id, entity_id, entity_type, origin),
                (is_read, is_in_work, rate, ca, ua, extra),
            )| {
                WebhookEvent::Talk {
                    action,
                    talk: TalkEvent {
                        talk_id,
                        chat_id,
                        contact_id,
                        entity_id,
                        entity_type,
                        origin,
                        is_read,
                        is_in_work,
                        rate,
                        created_at: ca,
                        updated_at: ua,
                        extra,
                    },
                }
            },
        );
    let task = (
        task_action,
        (
            any::<u64>(),
            ou64(),
            ou64(),
            ou64(),
            opt(text()),
            ou64(),
            oi64(),
        ),
        (
            ou64(),
            ou64(),
            ou64(),
            ou64(),
            ou64(),
            oi64(),
            oi64(),
            extra(3),
        ),
    )
        .prop_map(
            |(
                action,
                (id, eid, et, tt, text, status, till),
                (ru, oru, cu, mu, acc, ca, ua, extra),
            )| WebhookEvent::Task {
                action,
                task: TaskEvent {
                    id,
                    element_id: eid,
                    element_type: et,
                    task_type: tt,
                    text,
                    status,
                    complete_till: till,
                    responsible_user_id: ru,
                    old_responsible_user_id: oru,
                    created_user_id: cu,
                    modified_user_id: mu,
                    account_id: acc,
                    created_at: ca,
                    updated_at: ua,
                    extra,
                },
            },
        );
    let unknown = prop_oneof![
        ("zz_[a-z]{1,3}", "[a-z]{1,4}", node(4)).prop_map(|(entity, action, fields)| {
            WebhookEvent::Unknown {
                entity,
                action: Some(action),
                fields,
            }
        }),
        ("x_[a-z]{1,4}", node(3)).prop_map(|(action, fields)| WebhookEvent::Unknown {
            entity: "leads".into(),
            action: Some(action),
            fields
        }),
        ("zz_[a-z]{1,3}", text()).prop_map(|(entity, v)| WebhookEvent::Unknown {
            entity,
            action: None,
            fields: Node::Value(v)
        }),
    ];
    prop_oneof![
        (lead_action, lead()).prop_map(|(action, lead)| WebhookEvent::Lead { action, lead }),
        (contact_action, contact())
            .prop_map(|(action, contact)| WebhookEvent::Contact { action, contact }),
        (parent, note()).prop_map(|(parent, note)| WebhookEvent::Note { parent, note }),
        (any::<bool>(), unsorted_add).prop_map(|(update, e)| match e {
            WebhookEvent::UnsortedAdd { unsorted } if update => {
                WebhookEvent::UnsortedUpdate { unsorted }
            }
            e => e,
        }),
        unsorted_delete,
        message,
        talk,
        task,
        unknown,
    ]
}

/// Where an event goes on the wire: (top-level key, action key).
fn wire(e: &WebhookEvent) -> (String, Option<String>) {
    let (entity, action) = match e {
        WebhookEvent::Lead { action, .. } => ("leads", action.as_str()),
        WebhookEvent::Contact { action, .. } => ("contacts", action.as_str()),
        WebhookEvent::Note { parent, .. } => (parent.entity_key(), "note"),
        WebhookEvent::UnsortedAdd { .. } => ("unsorted", "add"),
        WebhookEvent::UnsortedUpdate { .. } => ("unsorted", "update"),
        WebhookEvent::UnsortedDelete { .. } => ("unsorted", "delete"),
        WebhookEvent::Message { .. } => ("message", "add"),
        WebhookEvent::Talk { action, .. } => ("talk", action.as_str()),
        WebhookEvent::Task { action, .. } => ("task", action.as_str()),
        WebhookEvent::Unknown { entity, action, .. } => return (entity.clone(), action.clone()),
    };
    (entity.to_string(), Some(action.to_string()))
}

/// Makes a generated list of events one that a body can carry: unknown
/// events own their key alone, and events are grouped by entity then action
/// in order of first appearance (a form body cannot interleave them).
fn canonical(events: Vec<WebhookEvent>) -> Vec<WebhookEvent> {
    let mut unknown_keys = HashSet::new();
    let mut whole_entities = HashSet::new();
    let mut seen_entities = HashSet::new();
    let kept: Vec<WebhookEvent> = events
        .into_iter()
        .filter(|e| {
            let (entity, action) = wire(e);
            let ok = match (e, &action) {
                (WebhookEvent::Unknown { .. }, None) => !seen_entities.contains(&entity),
                (WebhookEvent::Unknown { .. }, Some(_)) => {
                    !whole_entities.contains(&entity)
                        && unknown_keys.insert((entity.clone(), action.clone()))
                }
                _ => !whole_entities.contains(&entity),
            };
            if ok {
                if action.is_none() {
                    whole_entities.insert(entity.clone());
                }
                seen_entities.insert(entity);
            }
            ok
        })
        .collect();
    let mut entity_rank = HashMap::new();
    let mut action_rank = HashMap::new();
    for e in &kept {
        let (entity, action) = wire(e);
        let n = entity_rank.len();
        entity_rank.entry(entity.clone()).or_insert(n);
        let n = action_rank.len();
        action_rank.entry((entity, action)).or_insert(n);
    }
    let mut kept = kept;
    kept.sort_by_key(|e| {
        let (entity, action) = wire(e);
        (entity_rank[&entity], action_rank[&(entity, action)])
    });
    kept
}

fn payload() -> impl Strategy<Value = WebhookPayload> {
    let account =
        (text(), ou64(), opt(text()), extra(2)).prop_map(|(subdomain, id, self_link, extra)| {
            AccountBlock {
                subdomain,
                id,
                self_link,
                extra,
            }
        });
    (account, prop::collection::vec(event(), 0..8)).prop_map(|(account, events)| WebhookPayload {
        account,
        events: canonical(events),
        errors: Vec::new(),
        anomalies: Vec::new(),
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn decode_inverts_encode(p in payload()) {
        let body = encode(&p);
        let decoded = decode(body.as_bytes());
        prop_assert_eq!(decoded.as_ref().ok(), Some(&p), "body: {}\nresult: {:?}", body, decoded);
    }

    #[test]
    fn json_round_trip(p in payload()) {
        let json = serde_json::to_string(&p).expect("serialize");
        let back: WebhookPayload = serde_json::from_str(&json).expect("deserialize");
        prop_assert_eq!(back, p);
    }
}
