//! Notes: `GET /api/v4/{leads|contacts|companies}/notes`,
//! `/{entity}/{id}/notes` and `/{entity}/{id}/notes/{note_id}`: shape,
//! filters, paging, 204s, auth, and notes added through the control API.

mod common;

use std::collections::BTreeSet;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

const NOTE_KEYS: &[&str] = &[
    "id",
    "entity_id",
    "created_by",
    "updated_by",
    "created_at",
    "updated_at",
    "responsible_user_id",
    "group_id",
    "note_type",
    "params",
    "account_id",
    "_links",
];

/// Every note reachable from `first` by `_links.next`.
async fn all_notes(emu: &amo_emulator::Emulator, first: &str) -> Vec<Value> {
    follow(emu, first, "notes").await
}

/// (note id, entity id) of every lead note in the world.
fn lead_notes(emu: &amo_emulator::Emulator) -> Vec<(u64, u64)> {
    emu.world()
        .notes
        .iter()
        .filter(|n| n.parent == amo_emulator::model::NoteParent::Lead)
        .map(|n| (n.id, n.entity_id))
        .collect()
}

#[tokio::test]
async fn list_shape_and_single_note() {
    let emu = start(80).await;
    let notes = lead_notes(&emu);
    assert!(!notes.is_empty(), "the seed writes lead notes");
    let base = emu.base_url();

    let page = get_ok(&emu, "/api/v4/leads/notes?limit=5").await;
    assert_eq!(page["_page"], 1);
    let self_href = page["_links"]["self"]["href"].as_str().unwrap_or_default();
    assert!(
        self_href.starts_with(&format!("{base}/api/v4/leads/notes?")),
        "{self_href}"
    );
    let items = page["_embedded"]["notes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(items.len(), 5.min(notes.len()));
    let account_id = emu.world().account.id;
    for n in &items {
        has_keys(n, NOTE_KEYS, "note");
        assert!(n["params"]["text"].is_string(), "{n}");
        assert_eq!(n["note_type"], "common");
        assert_eq!(n["account_id"], account_id);
        let (id, entity) = (
            n["id"].as_u64().unwrap_or_default(),
            n["entity_id"].as_u64().unwrap_or_default(),
        );
        let href = n["_links"]["self"]["href"].as_str().unwrap_or_default();
        assert_eq!(href, format!("{base}/api/v4/leads/{entity}/notes/{id}"));
        // The self link leads to the same note.
        let one = get_ok(&emu, href).await;
        assert_eq!(&one, n);
    }

    // Default order is ascending id.
    let got = ids(&items);
    let mut sorted = got.clone();
    sorted.sort_unstable();
    assert_eq!(got, sorted);
    emu.shutdown().await;
}

#[tokio::test]
async fn paging_visits_each_note_once() {
    let emu = start(200).await;
    let expected: BTreeSet<u64> = lead_notes(&emu).into_iter().map(|(id, _)| id).collect();
    assert!(expected.len() > 14, "enough notes for several pages");
    for order in ["", "&order[updated_at]=desc", "&order[id]=desc"] {
        let seen = ids(&all_notes(&emu, &format!("/api/v4/leads/notes?limit=7{order}")).await);
        assert_eq!(
            seen.len(),
            expected.len(),
            "no duplicates, no gaps ({order})"
        );
        assert_eq!(seen.iter().copied().collect::<BTreeSet<_>>(), expected);
    }
    let desc = ids(&all_notes(&emu, "/api/v4/leads/notes?limit=250&order[id]=desc").await);
    assert!(desc.windows(2).all(|w| w[0] > w[1]), "order[id]=desc");
    let by_update = all_notes(&emu, "/api/v4/leads/notes?limit=250&order[updated_at]=asc").await;
    let times: Vec<i64> = by_update
        .iter()
        .filter_map(|n| n["updated_at"].as_i64())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "order[updated_at]=asc"
    );

    // Page 2 carries first/prev; the filters survive in the links.
    let p2 = get_ok(
        &emu,
        "/api/v4/leads/notes?limit=3&page=2&filter[note_type][]=common",
    )
    .await;
    for link in ["self", "next", "first", "prev"] {
        let href = p2["_links"][link]["href"].as_str().unwrap_or_default();
        assert!(
            href.contains("filter%5Bnote_type%5D%5B%5D=common"),
            "{link}: {href}"
        );
    }
    // A page past the end is empty: 204.
    let past = get(
        &emu,
        "/api/v4/leads/notes?limit=250&page=50",
        Some(&emu.token()),
    )
    .await;
    assert_eq!(past.status, 204);
    assert!(past.body.is_empty());
    emu.shutdown().await;
}

#[tokio::test]
async fn filters_select_notes() {
    let emu = start(120).await;
    let notes = lead_notes(&emu);
    let (first_id, first_entity) = notes[0];
    let (second_id, second_entity) = notes[1];

    // filter[entity_id][] and the single-value spelling.
    for query in [
        format!("filter[entity_id][]={first_entity}&filter[entity_id][]={second_entity}"),
        format!("filter[entity_id]={first_entity},{second_entity}"),
    ] {
        let got = ids(&all_notes(&emu, &format!("/api/v4/leads/notes?{query}")).await);
        let want: Vec<u64> = notes
            .iter()
            .filter(|(_, e)| *e == first_entity || *e == second_entity)
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(got, want, "{query}");
    }

    // filter[id][]
    let got = ids(&all_notes(
        &emu,
        &format!("/api/v4/leads/notes?filter[id][]={second_id}&filter[id][]={first_id}"),
    )
    .await);
    assert_eq!(got, vec![first_id, second_id]);

    // filter[note_type][]
    let common = all_notes(
        &emu,
        "/api/v4/leads/notes?filter[note_type][]=common&limit=250",
    )
    .await;
    assert_eq!(common.len(), notes.len());
    let calls = get(
        &emu,
        "/api/v4/leads/notes?filter[note_type][]=call_in",
        Some(&emu.token()),
    )
    .await;
    assert_eq!(calls.status, 204);

    // filter[updated_at][from|to] is inclusive.
    let times: Vec<(u64, i64)> = emu
        .world()
        .notes
        .iter()
        .map(|n| (n.id, n.updated_at))
        .collect();
    let mid = times[times.len() / 2].1;
    let got: BTreeSet<u64> = ids(&all_notes(
        &emu,
        &format!("/api/v4/leads/notes?filter[updated_at][from]={mid}&limit=250"),
    )
    .await)
    .into_iter()
    .collect();
    let want: BTreeSet<u64> = times
        .iter()
        .filter(|(_, t)| *t >= mid)
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(got, want);
    let got: BTreeSet<u64> = ids(&all_notes(
        &emu,
        &format!("/api/v4/leads/notes?filter[updated_at][to]={mid}&limit=250"),
    )
    .await)
    .into_iter()
    .collect();
    let want: BTreeSet<u64> = times
        .iter()
        .filter(|(_, t)| *t <= mid)
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(got, want);

    // One entity's route, with the same filters.
    let of_one = ids(&all_notes(&emu, &format!("/api/v4/leads/{first_entity}/notes")).await);
    let want: Vec<u64> = notes
        .iter()
        .filter(|(_, e)| *e == first_entity)
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(of_one, want);
    let page = get_ok(&emu, &format!("/api/v4/leads/{first_entity}/notes")).await;
    let self_href = page["_links"]["self"]["href"].as_str().unwrap_or_default();
    assert!(
        self_href.contains(&format!("/api/v4/leads/{first_entity}/notes?")),
        "{self_href}"
    );
    let filtered = get(
        &emu,
        &format!("/api/v4/leads/{first_entity}/notes?filter[id][]={second_id}"),
        Some(&emu.token()),
    )
    .await;
    if first_entity != second_entity {
        assert_eq!(
            filtered.status, 204,
            "another lead's note: {}",
            filtered.body
        );
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn bad_queries_are_400_problems() {
    let emu = start(10).await;
    for query in [
        "limit=251",
        "limit=0",
        "page=0",
        "filter[entity_id][]=abc",
        "filter[id][]=-3",
        "filter[updated_at][from]=yesterday",
        "filter[note_type][]=%3Cscript%3E",
        "order[created_at]=asc",
        "order[id]=sideways",
    ] {
        for path in ["/api/v4/leads/notes", "/api/v4/contacts/1/notes"] {
            let a = get(&emu, &format!("{path}?{query}"), Some(&emu.token())).await;
            assert_eq!(a.status, 400, "{path}?{query}: {}", a.body);
            assert_eq!(
                a.content_type.as_deref(),
                Some("application/problem+json"),
                "{path}?{query}"
            );
        }
    }
    // A non-numeric id names no entity: 404 problem, as for /leads/{id}.
    for path in ["/api/v4/leads/abc/notes", "/api/v4/leads/1/notes/abc"] {
        let a = get(&emu, path, Some(&emu.token())).await;
        assert_eq!(a.status, 404, "{path}: {}", a.body);
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn unknown_and_foreign_notes_are_204_and_auth_is_required() {
    let emu = start(40).await;
    let notes = lead_notes(&emu);
    let (note_id, lead_id) = notes[0];
    let token = emu.token();
    for path in [
        format!("/api/v4/leads/{lead_id}/notes/999999999"),
        format!("/api/v4/leads/{}/notes/{note_id}", lead_id + 1_000_000),
        format!("/api/v4/contacts/{lead_id}/notes/{note_id}"),
        format!("/api/v4/companies/{lead_id}/notes/{note_id}"),
        "/api/v4/leads/999999999/notes".to_string(),
        "/api/v4/companies/notes".to_string(),
    ] {
        let a = get(&emu, &path, Some(&token)).await;
        assert_eq!(a.status, 204, "{path}: {}", a.body);
        assert!(a.body.is_empty(), "{path}");
        assert_eq!(a.content_type, None, "{path}");
    }
    for path in [
        "/api/v4/leads/notes".to_string(),
        format!("/api/v4/leads/{lead_id}/notes"),
        format!("/api/v4/leads/{lead_id}/notes/{note_id}"),
    ] {
        let a = get(&emu, &path, None).await;
        assert_eq!(a.status, 401, "{path}: {}", a.body);
        assert_eq!(a.content_type.as_deref(), Some("application/problem+json"));
        let a = get(&emu, &path, Some("not-a-token")).await;
        assert_eq!(a.status, 401, "{path}: {}", a.body);
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn added_notes_appear_newer_with_cyrillic_intact() {
    let emu = start(30).await;
    let newest_seeded = emu
        .world()
        .notes
        .iter()
        .map(|n| n.updated_at)
        .max()
        .unwrap_or_default();
    let (lead_id, contact_id, company_id) = {
        let w = emu.world();
        let lead = w.leads.values().find(|l| !l.is_deleted).map(|l| l.id);
        let contact = w.contacts.values().find(|c| !c.is_deleted).map(|c| c.id);
        let company = w.companies.values().find(|c| !c.is_deleted).map(|c| c.id);
        (
            lead.unwrap_or_default(),
            contact.unwrap_or_default(),
            company.unwrap_or_default(),
        )
    };
    let text = "Клиент перезвонит завтра «после 15:00» — ёжик & <тест>";
    for (entity, segment, id) in [
        ("lead", "leads", lead_id),
        ("contact", "contacts", contact_id),
        ("company", "companies", company_id),
    ] {
        let added = control(
            &emu,
            Method::POST,
            "/notes",
            &json!({"entity": entity, "entity_id": id, "text": text}),
        )
        .await;
        let note_id = added["id"].as_u64().unwrap_or_default();
        assert!(note_id > 0, "{added}");

        let one = get_ok(&emu, &format!("/api/v4/{segment}/{id}/notes/{note_id}")).await;
        assert_eq!(one["params"]["text"], text, "{segment}");
        assert_eq!(one["entity_id"], id);
        assert!(
            one["updated_at"].as_i64().unwrap_or_default() > newest_seeded,
            "{one}"
        );
        assert_eq!(one, added, "the control answer renders the same note");

        // Newest first by updated_at: the added note leads the list.
        let page = get_ok(
            &emu,
            &format!("/api/v4/{segment}/notes?order[updated_at]=desc&limit=1"),
        )
        .await;
        assert_eq!(page["_embedded"]["notes"][0]["id"], note_id, "{segment}");
        assert_eq!(page["_embedded"]["notes"][0]["params"]["text"], text);

        // Seen since the newest seeded note, in the entity's own list too.
        let since = ids(&all_notes(
            &emu,
            &format!(
                "/api/v4/{segment}/{id}/notes?filter[updated_at][from]={}",
                newest_seeded + 1
            ),
        )
        .await);
        assert_eq!(since, vec![note_id], "{segment}");
    }
    emu.shutdown().await;
}
