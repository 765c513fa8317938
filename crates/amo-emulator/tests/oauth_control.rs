//! The OAuth part of the control API: registering and listing integrations,
//! acting as a chosen user, grant lifetimes and counters; and the Rust
//! helpers other crates' tests use.

mod common;
mod oauth_support;

use amo_emulator::{OAuthLifetimes, OAuthStats};
use common::*;
use oauth_support::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn integrations_are_registered_listed_without_secrets_and_act_as_their_user() {
    let emu = start(1).await;
    let created = send_json(
        &emu,
        Method::POST,
        "/_emulator/integrations",
        None,
        &json!({"redirect_uri": "amosync://oauth/callback", "name": "AmoSync <test>"}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let c = created.json();
    has_keys(
        &c,
        &["client_id", "client_secret", "redirect_uri", "name"],
        "created",
    );
    assert_eq!(c["redirect_uri"], "amosync://oauth/callback");
    assert_eq!(c["name"], "AmoSync <test>");
    let secret = c["client_secret"].as_str().unwrap_or_default().to_string();
    assert!(secret.len() >= 32, "{secret}");

    let regular = emu.world().regular_user().map(|u| u.id).unwrap_or_default();
    let as_user = send_json(
        &emu,
        Method::POST,
        "/_emulator/integrations",
        None,
        &json!({"redirect_uri": "https://example.org/cb", "user_id": regular}),
    )
    .await;
    assert_eq!(as_user.status, 201, "{}", as_user.body);
    assert_eq!(as_user.json()["user_id"], regular);

    let listed = get(&emu, "/_emulator/integrations", None).await;
    assert_eq!(listed.status, 200);
    assert!(
        !listed.body.contains(&secret),
        "secret listed: {}",
        listed.body
    );
    assert!(!listed.body.contains("client_secret"), "{}", listed.body);
    let all = listed.json();
    let ids: Vec<&str> = all
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["client_id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        ids,
        vec![
            c["client_id"].as_str().unwrap_or_default(),
            as_user.json()["client_id"].as_str().unwrap_or_default()
        ]
    );

    // The page escapes the integration's name.
    let (page, _) = open_page(&emu, c["client_id"].as_str().unwrap_or_default(), "s").await;
    assert!(page.contains("AmoSync &lt;test&gt;"), "{page}");

    // The regular user's integration gets the regular user's rights.
    let user_integration = emu
        .state()
        .integrations()
        .into_iter()
        .find(|i| i.user_id == regular)
        .unwrap_or_else(|| panic!("listed"));
    let (token, _) = connect(&emu, &user_integration).await;
    assert_eq!(get(&emu, "/api/v4/account", Some(&token)).await.status, 200);
    assert_eq!(
        get(&emu, "/api/v4/webhooks", Some(&token)).await.status,
        403
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn bad_integration_bodies_are_refused_with_the_field() {
    let emu = start(1).await;
    for (body, field) in [
        (json!({}), "redirect_uri"),
        (json!({"redirect_uri": "/relative"}), "redirect_uri"),
        (
            json!({"redirect_uri": "https://exa mple.org/"}),
            "redirect_uri",
        ),
        (json!({"redirect_uri": 5}), "redirect_uri"),
        (
            json!({"redirect_uri": "https://x.org/", "name": ""}),
            "name",
        ),
        (
            json!({"redirect_uri": "https://x.org/", "user_id": 1}),
            "user_id",
        ),
        (
            json!({"redirect_uri": "https://x.org/", "scope": "crm"}),
            "scope",
        ),
    ] {
        let a = send_json(&emu, Method::POST, "/_emulator/integrations", None, &body).await;
        assert_eq!(a.status, 400, "{body}: {}", a.body);
        assert!(a.body.contains(field), "{body}: {}", a.body);
    }
    assert_eq!(
        get(&emu, "/_emulator/integrations", None).await.json(),
        json!([])
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn lifetimes_and_stats_over_the_control_api() {
    let emu = start(1).await;
    let defaults = control(&emu, Method::GET, "/oauth/config", &json!({})).await;
    assert_eq!(
        defaults,
        json!({"access_ttl_secs": 86_400, "code_ttl_secs": 1_200, "refresh_ttl_secs": 7_776_000})
    );
    let set = control(
        &emu,
        Method::POST,
        "/oauth/config",
        &json!({"access_ttl_secs": 60}),
    )
    .await;
    assert_eq!(set["access_ttl_secs"], 60);
    assert_eq!(set["code_ttl_secs"], 1_200);
    for (body, field) in [
        (json!({"access_ttl_secs": 0}), "access_ttl_secs"),
        (json!({"code_ttl_secs": -1}), "code_ttl_secs"),
        (
            json!({"refresh_ttl_secs": 1_000_000_000_000u64}),
            "refresh_ttl_secs",
        ),
        (json!({"ttl": 5}), "ttl"),
    ] {
        let a = send_json(&emu, Method::POST, "/_emulator/oauth/config", None, &body).await;
        assert_eq!(a.status, 400, "{body}: {}", a.body);
        assert!(a.body.contains(field), "{body}: {}", a.body);
    }
    let i = emu.register_integration("https://example.org/cb");
    let c = code(&emu, &i).await;
    pair(&exchange(&emu, &code_body(&i, &c)).await, 60);
    oauth_problem(&exchange(&emu, &code_body(&i, &c)).await, 400, "revoked");
    let stats = control(&emu, Method::GET, "/oauth/stats", &json!({})).await;
    assert_eq!(
        stats,
        json!({"codes_issued": 1, "codes_exchanged": 1, "refreshes": 0, "refresh_reuse": 0, "failed_exchanges": 1})
    );
    control(&emu, Method::POST, "/oauth/stats/reset", &json!({})).await;
    assert_eq!(emu.oauth_stats(), OAuthStats::default());

    // The Rust setter clamps instead of refusing.
    let clamped = emu.set_oauth_lifetimes(OAuthLifetimes {
        access_ttl_secs: 0,
        code_ttl_secs: 5,
        refresh_ttl_secs: u64::MAX,
    });
    assert_eq!(clamped.access_ttl_secs, 1);
    assert_eq!(clamped.code_ttl_secs, 5);
    assert_eq!(clamped.refresh_ttl_secs, 10 * 365 * 86_400);
    assert_eq!(
        control(&emu, Method::GET, "/oauth/config", &json!({})).await["code_ttl_secs"],
        5
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn rust_helpers_shape_and_redaction() {
    let emu = start(1).await;
    let i = emu.register_integration("https://example.org/cb");
    let url = emu.authorize_url(&i.client_id, "a b&c");
    assert_eq!(
        url,
        format!(
            "{}/oauth?client_id={}&state=a+b%26c&mode=post_message",
            emu.base_url(),
            i.client_id
        )
    );
    let port = emu.addr().port();
    assert_eq!(emu.referer(), format!("127.0.0.1:{port}"));
    assert_eq!(i.client_id.len(), 36);
    let shown = format!("{i:?} {:?}", emu.oauth_stats());
    assert!(!shown.contains(i.client_secret.expose()), "{shown}");
    assert!(
        shown.contains(&i.client_id) && shown.contains("***"),
        "{shown}"
    );
    emu.shutdown().await;
}
