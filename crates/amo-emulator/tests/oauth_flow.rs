//! The browser half of OAuth over real HTTP: the authorize page, its form,
//! the approve and deny redirects, and the first code exchange (JSON and
//! form bodies) whose access token then opens `/api/v4/account`.

mod common;
mod oauth_support;

use common::*;
use oauth_support::*;

#[tokio::test]
async fn approve_exchange_and_call_the_api() {
    let emu = start(3).await;
    // A redirect URI with a query: the emulator must append with `&`.
    let i = emu.register_integration("http://127.0.0.1:9/callback?from=amosync");
    let state = "s&t\"<é> 1";
    let (page, form) = open_page(&emu, &i.client_id, state).await;
    let account = emu.world().account.name.clone();
    assert!(page.contains(&account), "names the account: {page}");
    assert!(page.contains(&i.name), "names the integration: {page}");
    assert!(page.contains("Разрешить / Allow"), "{page}");
    assert_eq!(form.action, "/oauth/decision");
    let hidden: std::collections::HashMap<_, _> = form.hidden.iter().cloned().collect();
    assert_eq!(hidden.get("client_id"), Some(&i.client_id));
    assert_eq!(hidden.get("state").map(String::as_str), Some(state));
    assert_eq!(
        form.buttons.get("deny"),
        Some(&("decision".to_string(), "deny".to_string()))
    );

    let location = decide(&emu, &i.client_id, state, "approve").await;
    assert!(
        location.starts_with("http://127.0.0.1:9/callback?from=amosync&code="),
        "{location}"
    );
    let q = query(&location);
    assert_eq!(q.get("state").map(String::as_str), Some(state));
    assert_eq!(q.get("referer"), Some(&emu.referer()));
    assert_eq!(emu.referer(), emu.base_url().trim_start_matches("http://"));
    assert_eq!(q.get("client_id"), Some(&i.client_id));
    assert_eq!(q.get("from").map(String::as_str), Some("amosync"));
    let code = q.get("code").cloned().unwrap_or_default();
    assert!(code.len() >= 40, "{code}");

    let (access, refresh) = pair(&exchange(&emu, &code_body(&i, &code)).await, 86_400);
    let me = get(&emu, "/api/v4/account", Some(&access)).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["name"], account.as_str());

    // A second connection, exchanged with a form body.
    let code2 = self::code(&emu, &i).await;
    assert_ne!(code2, code);
    let (access2, refresh2) = pair(&exchange_form(&emu, &code_body(&i, &code2)).await, 86_400);
    assert_ne!(access2, access);
    assert_ne!(refresh2, refresh);
    assert_eq!(
        get(&emu, "/api/v4/account", Some(&access2)).await.status,
        200
    );

    let stats = emu.oauth_stats();
    assert_eq!((stats.codes_issued, stats.codes_exchanged), (2, 2));
    assert_eq!(
        (stats.refreshes, stats.refresh_reuse, stats.failed_exchanges),
        (0, 0, 0)
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn deny_redirects_with_access_denied() {
    let emu = start(1).await;
    let i = emu.register_integration("https://example.org/amo/cb");
    let location = decide(&emu, &i.client_id, "xyz", "deny").await;
    assert!(
        location.starts_with("https://example.org/amo/cb?error=access_denied"),
        "{location}"
    );
    let q = query(&location);
    assert_eq!(q.get("state").map(String::as_str), Some("xyz"));
    assert_eq!(q.get("client_id"), Some(&i.client_id));
    assert!(!q.contains_key("code"), "{location}");
    assert_eq!(emu.oauth_stats().codes_issued, 0);
    emu.shutdown().await;
}

#[tokio::test]
async fn bad_page_requests_get_html_400() {
    let emu = start(1).await;
    let i = emu.register_integration("https://example.org/cb");
    let base = emu.base_url();
    for url in [
        format!("{base}/oauth"),
        format!("{base}/oauth?state=x&client_id="),
        format!("{base}/oauth?client_id=00000000-0000-4000-8000-000000000000&state=x"),
    ] {
        let (a, _) = finish(browser().get(&url).send().await).await;
        assert_eq!(a.status, 400, "{url}: {}", a.body);
        assert_eq!(a.content_type.as_deref(), Some("text/html; charset=utf-8"));
        assert!(a.body.contains("client_id"), "{}", a.body);
    }
    let decision = format!("{base}/oauth/decision");
    for fields in [
        vec![
            ("client_id", "nope"),
            ("state", "s"),
            ("decision", "approve"),
        ],
        vec![
            ("client_id", i.client_id.as_str()),
            ("state", "s"),
            ("decision", "maybe"),
        ],
        vec![("client_id", i.client_id.as_str()), ("state", "s")],
    ] {
        let (a, location) = finish(browser().post(&decision).form(&fields).send().await).await;
        assert_eq!(a.status, 400, "{fields:?}: {}", a.body);
        assert!(location.is_none());
        assert!(a.body.contains("<html"), "{}", a.body);
    }
    assert_eq!(emu.oauth_stats().codes_issued, 0);
    emu.shutdown().await;
}
