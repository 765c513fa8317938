//! The token endpoint over real HTTP: single-use expiring codes, exact
//! redirect URIs, client authentication, refresh rotation and reuse, access
//! expiry on the emulator clock, revocation, and malformed bodies.

mod common;
mod oauth_support;

use amo_emulator::OAuthLifetimes;
use common::*;
use oauth_support::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn codes_are_single_use_bound_and_expire() {
    let emu = start(1).await;
    let i = emu.register_integration("https://example.org/cb");
    let other = emu.register_integration("https://example.org/cb");
    let c = code(&emu, &i).await;
    pair(&exchange(&emu, &code_body(&i, &c)).await, 86_400);
    let again = exchange(&emu, &code_body(&i, &c)).await;
    oauth_problem(&again, 400, "Authorization code has been revoked");

    let stolen = code(&emu, &i).await;
    let wrong_client = exchange(&emu, &code_body(&other, &stolen)).await;
    oauth_problem(&wrong_client, 400, "not issued to this client");

    let late = code(&emu, &i).await;
    control(
        &emu,
        Method::POST,
        "/clock/advance",
        &json!({"seconds": 1_200}),
    )
    .await;
    oauth_problem(
        &exchange(&emu, &code_body(&i, &late)).await,
        400,
        "Authorization code has expired",
    );
    // The stolen code is expired too now; a fresh one still works.
    let fresh = code(&emu, &i).await;
    pair(&exchange(&emu, &code_body(&i, &fresh)).await, 86_400);
    let made_up = exchange(&emu, &code_body(&i, "def50200abcdef")).await;
    oauth_problem(&made_up, 400, "Cannot decrypt the authorization code");

    let stats = emu.oauth_stats();
    assert_eq!(stats.codes_issued, 4);
    assert_eq!(stats.codes_exchanged, 2);
    assert_eq!(stats.failed_exchanges, 4);
    emu.shutdown().await;
}

#[tokio::test]
async fn redirect_uri_and_secret_must_match_exactly() {
    let emu = start(1).await;
    let i = emu.register_integration("https://example.org/cb");
    let c = code(&emu, &i).await;
    let mut slash = code_body(&i, &c);
    slash["redirect_uri"] = json!("https://example.org/cb/");
    oauth_problem(&exchange(&emu, &slash).await, 400, "Redirect URI mismatch");

    let mut wrong = code_body(&i, &c);
    wrong["client_secret"] = json!(format!("{}x", i.client_secret.expose()));
    let refused = exchange(&emu, &wrong).await;
    oauth_problem(&refused, 401, "Client authentication failed");
    assert!(!refused.body.contains(i.client_secret.expose()));
    let mut unknown = code_body(&i, &c);
    unknown["client_id"] = json!("00000000-0000-4000-8000-000000000000");
    oauth_problem(
        &exchange(&emu, &unknown).await,
        401,
        "Client authentication failed",
    );

    // Refused attempts do not spend the code.
    pair(&exchange(&emu, &code_body(&i, &c)).await, 86_400);
    assert_eq!(emu.oauth_stats().failed_exchanges, 3);
    emu.shutdown().await;
}

#[tokio::test]
async fn refresh_rotates_and_reuse_is_revoked() {
    let emu = start(1).await;
    let i = emu.register_integration("https://example.org/cb");
    let (a1, r1) = connect(&emu, &i).await;

    let mut slash = refresh_body(&i, &r1);
    slash["redirect_uri"] = json!("https://example.org/cb/");
    oauth_problem(&exchange(&emu, &slash).await, 400, "Redirect URI mismatch");

    let (a2, r2) = pair(&exchange(&emu, &refresh_body(&i, &r1)).await, 86_400);
    assert_ne!(a2, a1);
    assert_ne!(r2, r1);
    // The old access token stays valid until it expires.
    assert_eq!(get(&emu, "/api/v4/account", Some(&a1)).await.status, 200);
    assert_eq!(get(&emu, "/api/v4/account", Some(&a2)).await.status, 200);
    assert_eq!(emu.oauth_stats().refresh_reuse, 0);

    let reuse = exchange(&emu, &refresh_body(&i, &r1)).await;
    assert_eq!(reuse.status, 401);
    assert_eq!(
        reuse.content_type.as_deref(),
        Some("application/problem+json")
    );
    assert_eq!(
        reuse.json(),
        json!({
            "title": "Unauthorized",
            "type": OAUTH_TYPE,
            "status": 401,
            "detail": "Неверный токен",
            "hint": "Token has been revoked",
        })
    );
    assert_eq!(emu.oauth_stats().refresh_reuse, 1);

    // The new refresh token works exactly once, with a form body too.
    let (_, r3) = pair(&exchange_form(&emu, &refresh_body(&i, &r2)).await, 86_400);
    oauth_problem(
        &exchange(&emu, &refresh_body(&i, &r2)).await,
        401,
        "Token has been revoked",
    );
    pair(&exchange(&emu, &refresh_body(&i, &r3)).await, 86_400);
    oauth_problem(
        &exchange(&emu, &refresh_body(&i, "def50200feed")).await,
        401,
        "Cannot decrypt the refresh token",
    );
    let stats = emu.oauth_stats();
    assert_eq!((stats.refreshes, stats.refresh_reuse), (3, 2));
    assert_eq!(stats.failed_exchanges, 4);
    emu.shutdown().await;
}

#[tokio::test]
async fn access_and_refresh_tokens_expire_on_the_emulator_clock() {
    let emu = start(1).await;
    let set = emu.set_oauth_lifetimes(OAuthLifetimes {
        access_ttl_secs: 2,
        code_ttl_secs: 1_200,
        refresh_ttl_secs: 100,
    });
    assert_eq!(set.access_ttl_secs, 2);
    let i = emu.register_integration("https://example.org/cb");
    let c = code(&emu, &i).await;
    let (access, refresh) = pair(&exchange(&emu, &code_body(&i, &c)).await, 2);
    assert_eq!(
        get(&emu, "/api/v4/account", Some(&access)).await.status,
        200
    );
    control(&emu, Method::POST, "/clock/advance", &json!({"seconds": 2})).await;
    let expired = get(&emu, "/api/v4/account", Some(&access)).await;
    assert_eq!(expired.status, 401, "{}", expired.body);
    assert_eq!(
        expired.json()["hint"],
        "The access token provided has expired"
    );

    let (fresh, late_refresh) = pair(&exchange(&emu, &refresh_body(&i, &refresh)).await, 2);
    assert_eq!(get(&emu, "/api/v4/account", Some(&fresh)).await.status, 200);
    control(
        &emu,
        Method::POST,
        "/clock/advance",
        &json!({"seconds": 100}),
    )
    .await;
    oauth_problem(
        &exchange(&emu, &refresh_body(&i, &late_refresh)).await,
        401,
        "Token has expired",
    );
    assert_eq!(emu.oauth_stats().refresh_reuse, 0);
    emu.shutdown().await;
}

#[tokio::test]
async fn revocation_kills_access_and_refresh_tokens() {
    let emu = start(1).await;
    let i = emu.register_integration("https://example.org/cb");
    let (access, refresh) = connect(&emu, &i).await;
    let pending = code(&emu, &i).await;
    let path = format!("/integrations/{}/revoke", i.client_id);
    let revoked = control(&emu, Method::POST, &path, &json!({})).await;
    assert_eq!(
        revoked,
        json!({"revoked": 2}),
        "one access, one refresh token"
    );

    let api = get(&emu, "/api/v4/account", Some(&access)).await;
    assert_eq!(api.status, 401);
    assert_eq!(api.json()["hint"], "Token has been revoked");
    oauth_problem(
        &exchange(&emu, &refresh_body(&i, &refresh)).await,
        401,
        "Token has been revoked",
    );
    oauth_problem(
        &exchange(&emu, &code_body(&i, &pending)).await,
        400,
        "Authorization code has been revoked",
    );
    assert_eq!(emu.oauth_stats().refresh_reuse, 0, "revoked is not reuse");
    assert_eq!(
        emu.revoke_integration(&i.client_id),
        0,
        "nothing left alive"
    );
    let unknown = send_json(
        &emu,
        Method::POST,
        "/_emulator/integrations/nope/revoke",
        None,
        &json!({}),
    )
    .await;
    assert_eq!(unknown.status, 404);

    // An admin reconnects: a new authorization works again.
    let (again, _) = connect(&emu, &i).await;
    assert_eq!(get(&emu, "/api/v4/account", Some(&again)).await.status, 200);
    assert_eq!(emu.revoke_integration(&i.client_id), 2);
    assert_eq!(get(&emu, "/api/v4/account", Some(&again)).await.status, 401);
    emu.shutdown().await;
}

#[tokio::test]
async fn malformed_requests_name_the_field() {
    let emu = start(1).await;
    let i = emu.register_integration("https://example.org/cb");
    let url = format!("{}/oauth2/access_token", emu.base_url());
    let full = code_body(&i, "some-code");
    let without = |field: &str| {
        let mut v = full.clone();
        if let Some(m) = v.as_object_mut() {
            m.remove(field);
        }
        v
    };
    let cases: Vec<(&str, String, &str)> = vec![
        ("application/json", String::new(), "invalid JSON"),
        (
            "application/x-www-form-urlencoded",
            String::new(),
            "`grant_type`",
        ),
        (
            "application/json",
            "{\"grant_type\":".into(),
            "invalid JSON",
        ),
        ("application/json", "[]".into(), "JSON object"),
        (
            "application/json",
            without("grant_type").to_string(),
            "`grant_type`",
        ),
        (
            "application/json",
            json!({"grant_type": "password"}).to_string(),
            "`grant_type`",
        ),
        (
            "application/json",
            without("client_id").to_string(),
            "`client_id`",
        ),
        (
            "application/json",
            without("client_secret").to_string(),
            "`client_secret`",
        ),
        (
            "application/json",
            without("redirect_uri").to_string(),
            "`redirect_uri`",
        ),
        ("application/json", without("code").to_string(), "`code`"),
        (
            "application/x-www-form-urlencoded",
            "grant_type=refresh_token&client_id=a&client_secret=b&redirect_uri=c".into(),
            "`refresh_token`",
        ),
        (
            "application/json",
            json!({"grant_type": "authorization_code", "client_id": 42}).to_string(),
            "`client_id` must be a string",
        ),
        ("text/plain", "\u{0}\u{1}garbage".into(), "`grant_type`"),
    ];
    let count = cases.len();
    for (content_type, body, field) in cases {
        let resp = browser()
            .post(&url)
            .header("content-type", content_type)
            .body(body.clone())
            .send()
            .await;
        let (a, _) = finish(resp).await;
        oauth_problem(&a, 400, field);
        assert!(!a.body.contains(i.client_secret.expose()), "{body}");
    }
    assert_eq!(emu.oauth_stats().failed_exchanges, count as u64);
    assert_eq!(emu.oauth_stats().codes_exchanged, 0);
    emu.shutdown().await;
}
