//! Every endpoint decodes what the emulator serves: users, contacts,
//! companies, events (typed status and message values), talks, unsorted,
//! webhooks.

use amo::models::event_kinds;
use amo::{
    CompaniesQuery, CompanyWith, ContactWith, ContactsOrder, ContactsQuery, EventsQuery, LeadWith,
    LeadsQuery, UnsortedQuery, collect_all,
};
use amosync_tests::{base_url, client_with_token, start_emulator};

#[tokio::test]
async fn every_endpoint_decodes_the_emulator() {
    let emu = start_emulator(61, 150).await;
    let client = client_with_token(&base_url(&emu), &emu.token().to_string());

    let users = client.users().await.expect("users as admin");
    assert!(users.iter().any(|u| u.rights.is_admin));

    let account = client.account().await.expect("account");
    assert!(!account.users_groups().is_empty(), "with=users_groups");

    // Contacts: list, by ids (order kept), one, and phones.
    let contacts = collect_all(client.contacts(&ContactsQuery::new().limit(100)))
        .await
        .expect("contacts");
    assert!(!contacts.is_empty());
    let mut wanted: Vec<u64> = contacts.iter().map(|c| c.id).take(30).collect();
    wanted.reverse();
    let by_ids = client
        .contacts_by_ids(&wanted, &[ContactWith::Leads])
        .await
        .expect("by ids");
    assert_eq!(by_ids.iter().map(|c| c.id).collect::<Vec<_>>(), wanted);
    let one = client
        .contact(wanted[0], &[ContactWith::Leads])
        .await
        .expect("contact")
        .expect("exists");
    assert_eq!(one.id, wanted[0]);
    assert!(
        contacts.iter().any(|c| !c.phones().is_empty()),
        "PHONE multitext decoded"
    );

    // Companies: list by updated_at (ascending), the `from` filter, by ids.
    let companies = collect_all(client.companies(
        &CompaniesQuery::new().order(ContactsOrder::UpdatedAt(amo::SortDirection::Asc)),
    ))
    .await
    .expect("companies");
    assert!(!companies.is_empty(), "seed 61 has companies");
    assert!(
        companies
            .windows(2)
            .all(|w| w[0].updated_at <= w[1].updated_at)
    );
    let middle = companies[companies.len() / 2].updated_at;
    let newer = collect_all(client.companies(&CompaniesQuery::new().updated_from(middle)))
        .await
        .expect("companies from");
    assert_eq!(
        newer.len(),
        companies.iter().filter(|c| c.updated_at >= middle).count()
    );
    let some: Vec<u64> = companies.iter().map(|c| c.id).take(3).collect();
    let by_ids = client
        .companies_by_ids(&some, &[CompanyWith::Leads])
        .await
        .expect("companies by ids");
    assert_eq!(by_ids.len(), some.len());

    // Leads with contacts link to contacts that exist.
    let leads = collect_all(client.leads(&LeadsQuery::new().with(LeadWith::Contacts)))
        .await
        .expect("leads");
    let linked = leads
        .iter()
        .find_map(|l| l.main_contact_id())
        .expect("a lead with a main contact");
    assert!(
        client
            .contact(linked, &[])
            .await
            .expect("contact")
            .is_some()
    );
    // Seed 61 links companies to leads: a missing one is a regression.
    let company_id = leads
        .iter()
        .flat_map(|l| l.company_ids())
        .next()
        .expect("a lead linked to a company");
    assert!(client.company(company_id).await.expect("company").is_some());

    // Events: status changes typed, chat messages typed, talks readable.
    let moves = collect_all(
        client.events(
            &EventsQuery::new()
                .kind(event_kinds::LEAD_STATUS_CHANGED)
                .entity("lead"),
        ),
    )
    .await
    .expect("status events");
    assert!(!moves.is_empty());
    for event in &moves {
        assert_eq!(event.kind, event_kinds::LEAD_STATUS_CHANGED);
        assert!(
            event.status_after().is_some() && event.status_before().is_some(),
            "{event:?}"
        );
    }
    let chats = collect_all(client.events(&EventsQuery::new().kinds([
        event_kinds::INCOMING_CHAT_MESSAGE,
        event_kinds::OUTGOING_CHAT_MESSAGE,
    ])))
    .await
    .expect("chat events");
    // Seed 61 has chat events with talk ids: a missing one is a regression.
    assert!(!chats.is_empty(), "chat events");
    let talk_id = chats
        .iter()
        .find_map(|e| e.message().and_then(|m| m.talk_id))
        .expect("a chat event with a talk id");
    let talk = client.talk(talk_id).await.expect("talk").expect("exists");
    assert_eq!(talk.talk_id, talk_id);

    // Unsorted.
    let unsorted = collect_all(client.unsorted(&UnsortedQuery::new()))
        .await
        .expect("unsorted");
    assert!(unsorted.iter().all(|u| !u.uid.is_empty()));

    // Webhooks: register (200/201), read back, delete (204). Loopback only.
    let destination = "http://127.0.0.1:9/amo/endpoint-test/";
    let hook = client
        .register_webhook(destination, &["add_lead", "update_lead"], Some(5))
        .await
        .expect("register");
    assert_eq!(hook.destination, destination);
    let listed = client.webhooks(Some(destination)).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert!(listed[0].settings.iter().any(|s| s == "add_lead"));
    client.delete_webhook(destination).await.expect("delete");
    assert!(
        client
            .webhooks(Some(destination))
            .await
            .expect("list")
            .is_empty(),
        "204 → empty"
    );

    emu.shutdown().await;
}
