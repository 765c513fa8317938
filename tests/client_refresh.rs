//! 401 → one refresh → the identical request re-sent, seen through a
//! recording proxy in front of the emulator.

use amo::{Client, LeadWith, LeadsOrder, LeadsQuery, SortDirection, collect_all};
use amosync_tests::{
    Recorder, SwitchingToken, base_url, emulator_lead_ids, start_emulator, test_config,
};

#[tokio::test]
async fn refresh_once_and_resend_identical_requests() {
    let emu = start_emulator(31, 30).await;
    let url = base_url(&emu);
    let stale = emu.issue_token(true);
    assert!(emu.revoke_token(&stale), "revoked");
    let fresh = emu.issue_token(true);

    let recorder = Recorder::start(&url).await;
    let tokens = SwitchingToken::new(&stale, &fresh);
    let client = Client::new(test_config(&recorder.base_url), tokens.clone()).expect("client");

    // A GET with a query string.
    let query = LeadsQuery::new()
        .updated_from(0)
        .order(LeadsOrder::UpdatedAt(SortDirection::Asc))
        .with(LeadWith::Contacts)
        .limit(50);
    let leads = collect_all(client.leads(&query))
        .await
        .expect("leads after refresh");
    assert_eq!(leads.len(), emulator_lead_ids(&emu, false).len());
    assert_eq!(tokens.refreshes(), 1, "refreshed exactly once");
    assert_eq!(
        tokens.rejected(),
        std::slice::from_ref(&stale),
        "with the token that was rejected"
    );

    // A POST and a DELETE with JSON bodies, each after its own 401.
    // Loopback only: the emulator may try to deliver to it.
    let destination = "http://127.0.0.1:9/amo/secret-path/";
    let tokens2 = SwitchingToken::new(&stale, &fresh);
    let client2 = Client::new(test_config(&recorder.base_url), tokens2.clone()).expect("client");
    let hook = client2
        .register_webhook(destination, &["add_lead", "status_lead"], Some(10))
        .await
        .expect("register");
    assert_eq!(hook.destination, destination);
    let tokens3 = SwitchingToken::new(&stale, &fresh);
    let client3 = Client::new(test_config(&recorder.base_url), tokens3.clone()).expect("client");
    client3.delete_webhook(destination).await.expect("delete");
    assert_eq!((tokens2.refreshes(), tokens3.refreshes()), (1, 1));

    let seen = recorder.requests();
    let statuses: Vec<u16> = seen.iter().map(|r| r.status).collect();
    assert_eq!(&statuses[..2], [401, 200], "{seen:#?}");
    for pair in [
        (&seen[0], &seen[1]),
        (&seen[seen.len() - 4], &seen[seen.len() - 3]),
        (&seen[seen.len() - 2], &seen[seen.len() - 1]),
    ] {
        let (rejected, resent) = pair;
        assert_eq!(rejected.status, 401);
        assert_eq!(
            rejected.without_auth(),
            resent.without_auth(),
            "identical method, URL, headers, body"
        );
        assert_eq!(
            rejected.authorization.as_deref(),
            Some(format!("Bearer {stale}").as_str())
        );
        assert_eq!(
            resent.authorization.as_deref(),
            Some(format!("Bearer {fresh}").as_str())
        );
    }
    let post = &seen[seen.len() - 3];
    assert_eq!(post.method, "POST");
    let body: serde_json::Value = serde_json::from_slice(&post.body).expect("JSON body");
    assert_eq!(body["destination"], destination);
    let delete = &seen[seen.len() - 1];
    assert_eq!(delete.method, "DELETE");
    assert!(!delete.body.is_empty(), "DELETE carries its JSON body");

    emu.shutdown().await;
}

#[tokio::test]
async fn a_second_401_ends_the_call() {
    let emu = start_emulator(32, 5).await;
    let url = base_url(&emu);
    let stale = emu.issue_token(true);
    assert!(emu.revoke_token(&stale), "revoked");
    // The "fresh" token is revoked too: the re-sent request fails again.
    let also_stale = emu.issue_token(true);
    assert!(emu.revoke_token(&also_stale), "revoked");

    let recorder = Recorder::start(&url).await;
    let tokens = SwitchingToken::new(&stale, &also_stale);
    let client = Client::new(test_config(&recorder.base_url), tokens.clone()).expect("client");
    let err = client.account().await.expect_err("still unauthorized");
    assert!(err.needs_reconnect(), "{err:?}");
    assert_eq!(tokens.refreshes(), 1, "no refresh loop");
    assert_eq!(
        recorder.requests().len(),
        2,
        "the first try and one re-send"
    );

    emu.shutdown().await;
}
