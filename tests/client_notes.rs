//! Notes through the client against the emulator: a lead's notes equal the
//! emulator world's, paging by `_links.next`, unknown notes are `None` or
//! empty lists, invalid queries fail before anything is sent.

use amo::models::Note;
use amo::{NoteEntity, NotesOrder, NotesQuery, SortDirection, collect_all};
use amo_emulator::model::NoteParent;
use amosync_tests::{Control, base_url, client_with_token, start_emulator};

/// (id, entity id, type, text, created_at, updated_at, responsible) of notes.
type Row = (u64, u64, String, String, i64, i64, u64);

fn rows(notes: &[Note]) -> Vec<Row> {
    notes
        .iter()
        .map(|n| {
            (
                n.id,
                n.entity_id,
                n.note_type.clone(),
                n.text().unwrap_or_default().to_owned(),
                n.created_at,
                n.updated_at,
                n.responsible_user_id,
            )
        })
        .collect()
}

fn world_rows(emu: &amo_emulator::Emulator, parent: NoteParent, entity: Option<u64>) -> Vec<Row> {
    emu.world()
        .notes
        .iter()
        .filter(|n| n.parent == parent && entity.is_none_or(|e| e == n.entity_id))
        .map(|n| {
            (
                n.id,
                n.entity_id,
                n.note_type.clone(),
                n.text.clone(),
                n.created_at,
                n.updated_at,
                n.responsible_user_id,
            )
        })
        .collect()
}

#[tokio::test]
async fn notes_of_a_lead_match_the_emulator() {
    let emu = start_emulator(71, 60).await;
    let base = base_url(&emu);
    let client = client_with_token(&base, &emu.token().to_string());
    let control = Control::new(&base);
    let lead_id = emu
        .world()
        .leads
        .values()
        .find(|l| !l.is_deleted)
        .map(|l| l.id)
        .expect("a live lead");
    for text in [
        "Позвонить клиенту в понедельник",
        "Скидка 10% — согласовано",
        "Машина «Toyota Prius», залог 500 ₾",
        "Договор отправлен",
    ] {
        control.add_note("lead", lead_id, text).await;
    }
    let expected = world_rows(&emu, NoteParent::Lead, Some(lead_id));
    assert!(expected.len() >= 4);

    // One lead's route, two per page: several pages, each note once, in id order.
    let pages: Vec<Vec<Note>> = futures::TryStreamExt::try_collect(client.entity_notes(
        NoteEntity::Leads,
        lead_id,
        &NotesQuery::default().limit(2),
    ))
    .await
    .expect("entity notes");
    assert_eq!(pages.len(), expected.len().div_ceil(2), "paged by 2");
    let of_lead: Vec<Note> = pages.into_iter().flatten().collect();
    assert_eq!(rows(&of_lead), expected);
    assert!(
        of_lead
            .iter()
            .all(|n| n.account_id > 0 && n.links.is_some())
    );

    // The type-wide list filtered by entity id: the same notes.
    let filtered = collect_all(
        client.notes(
            &NotesQuery::new(NoteEntity::Leads)
                .entity_ids([lead_id])
                .limit(3),
        ),
    )
    .await
    .expect("filtered notes");
    assert_eq!(rows(&filtered), expected);

    // Every lead note, newest first by id.
    let all = collect_all(
        client
            .notes(&NotesQuery::new(NoteEntity::Leads).order(NotesOrder::Id(SortDirection::Desc))),
    )
    .await
    .expect("all lead notes");
    let mut want = world_rows(&emu, NoteParent::Lead, None);
    want.reverse();
    assert_eq!(rows(&all), want);

    // One note by its route equals the listed one.
    let last = of_lead.last().expect("a note");
    let one = client
        .note(NoteEntity::Leads, lead_id, last.id)
        .await
        .expect("note")
        .expect("exists");
    assert_eq!(&one, last);
    assert_eq!(one.text(), Some("Договор отправлен"));

    // Unknown or foreign: None, and empty lists.
    for (entity, entity_id, note_id) in [
        (NoteEntity::Leads, lead_id, 999_999_999),
        (NoteEntity::Contacts, lead_id, last.id),
        (NoteEntity::Leads, lead_id + 1_000_000, last.id),
    ] {
        let none = client
            .note(entity, entity_id, note_id)
            .await
            .expect("lookup");
        assert!(none.is_none(), "{entity:?} {entity_id} {note_id}");
    }
    let empty =
        collect_all(client.entity_notes(NoteEntity::Leads, 999_999_999, &NotesQuery::default()))
            .await
            .expect("unknown lead");
    assert!(empty.is_empty());
    let calls =
        collect_all(client.notes(&NotesQuery::new(NoteEntity::Leads).note_types(["call_in"])))
            .await
            .expect("no calls");
    assert!(calls.is_empty());
    let companies = collect_all(client.notes(&NotesQuery::new(NoteEntity::Companies)))
        .await
        .expect("company notes");
    assert_eq!(
        rows(&companies),
        world_rows(&emu, NoteParent::Company, None)
    );

    // Invalid queries fail without a request.
    let error = collect_all(client.notes(&NotesQuery::default().limit(251)))
        .await
        .expect_err("limit 251");
    assert_eq!(error.code(), "InvalidRequest");
    emu.shutdown().await;
}
