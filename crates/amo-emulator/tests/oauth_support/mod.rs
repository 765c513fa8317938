//! Driving the OAuth flow the way a browser and an integration do, over real
//! HTTP on 127.0.0.1: read the authorize page, find its form, submit a
//! decision, follow nothing (the 302 is read), and call the token endpoint.
//! Needs `mod common;` next to `mod oauth_support;` in the test file.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use amo_emulator::{Emulator, Integration};
use reqwest::header::{CONTENT_TYPE, LOCATION};
use serde_json::{Value, json};

use crate::common::Answer;

pub const OAUTH_TYPE: &str = "https://developers.amocrm.ru/v3/errors/OAuthProblemJson";

/// A client that never follows redirects: the test reads the `Location`.
pub fn browser() -> reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .pool_max_idle_per_host(0)
                .build()
                .unwrap_or_else(|e| panic!("client: {e}"))
        })
        .clone()
}

pub async fn finish(resp: reqwest::Result<reqwest::Response>) -> (Answer, Option<String>) {
    let resp = resp.unwrap_or_else(|e| panic!("request failed: {e}"));
    let location = resp
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = resp.text().await.unwrap_or_else(|e| panic!("body: {e}"));
    (
        Answer {
            status,
            content_type,
            body,
        },
        location,
    )
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of `name="…"` inside one tag.
fn attr(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let len = tag[start..].find('"')?;
    Some(unescape(&tag[start..start + len]))
}

/// Every tag `<{kind} …>` of a page, in order.
fn tags<'a>(page: &'a str, kind: &str) -> Vec<&'a str> {
    let open = format!("<{kind} ");
    let mut out = Vec::new();
    let mut rest = page;
    while let Some(at) = rest.find(&open) {
        let Some(len) = rest[at..].find('>') else {
            break;
        };
        out.push(&rest[at..at + len + 1]);
        rest = &rest[at + len + 1..];
    }
    out
}

/// What the authorize page's form submits: its action, method, hidden
/// fields and the buttons' `decision` values by id.
#[derive(Debug)]
pub struct ConsentForm {
    pub action: String,
    pub method: String,
    pub hidden: Vec<(String, String)>,
    pub buttons: HashMap<String, (String, String)>,
}

pub fn consent_form(page: &str) -> ConsentForm {
    let forms = tags(page, "form");
    assert_eq!(forms.len(), 1, "one form on the page: {page}");
    let hidden = tags(page, "input")
        .into_iter()
        .filter(|t| attr(t, "type").as_deref() == Some("hidden"))
        .filter_map(|t| Some((attr(t, "name")?, attr(t, "value").unwrap_or_default())))
        .collect();
    let buttons = tags(page, "button")
        .into_iter()
        .filter_map(|t| Some((attr(t, "id")?, (attr(t, "name")?, attr(t, "value")?))))
        .collect();
    ConsentForm {
        action: attr(forms[0], "action").unwrap_or_default(),
        method: attr(forms[0], "method").unwrap_or_default(),
        hidden,
        buttons,
    }
}

/// GETs the authorize page (asserting 200 HTML) and returns it with its form.
pub async fn open_page(emu: &Emulator, client_id: &str, state: &str) -> (String, ConsentForm) {
    let url = emu.authorize_url(client_id, state);
    let (page, _) = finish(browser().get(url).send().await).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        page.content_type.as_deref(),
        Some("text/html; charset=utf-8")
    );
    let form = consent_form(&page.body);
    (page.body, form)
}

/// Clicks the button with `id` ("approve" or "deny"); returns the 302's Location.
pub async fn decide(emu: &Emulator, client_id: &str, state: &str, id: &str) -> String {
    let (_, form) = open_page(emu, client_id, state).await;
    assert_eq!(form.method, "post");
    let (name, value) = form
        .buttons
        .get(id)
        .unwrap_or_else(|| panic!("no button #{id}: {form:?}"))
        .clone();
    let mut fields = form.hidden.clone();
    fields.push((name, value));
    let url = format!("{}{}", emu.base_url(), form.action);
    let (answer, location) = finish(browser().post(url).form(&fields).send().await).await;
    assert_eq!(answer.status, 302, "{}", answer.body);
    location.unwrap_or_else(|| panic!("302 without Location"))
}

/// The query parameters of a URL.
pub fn query(url: &str) -> HashMap<String, String> {
    let parsed = url::Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    parsed.query_pairs().into_owned().collect()
}

/// Approves and returns the code from the redirect.
pub async fn code(emu: &Emulator, integration: &Integration) -> String {
    let location = decide(emu, &integration.client_id, "st", "approve").await;
    query(&location)
        .remove("code")
        .unwrap_or_else(|| panic!("no code in {location}"))
}

/// The body of an `authorization_code` exchange.
pub fn code_body(i: &Integration, code: &str) -> Value {
    json!({
        "client_id": i.client_id,
        "client_secret": i.client_secret.expose(),
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": i.redirect_uri,
    })
}

/// The body of a `refresh_token` exchange.
pub fn refresh_body(i: &Integration, refresh_token: &str) -> Value {
    json!({
        "client_id": i.client_id,
        "client_secret": i.client_secret.expose(),
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "redirect_uri": i.redirect_uri,
    })
}

/// `POST /oauth2/access_token` with a JSON body.
pub async fn exchange(emu: &Emulator, body: &Value) -> Answer {
    let url = format!("{}/oauth2/access_token", emu.base_url());
    finish(browser().post(url).json(body).send().await).await.0
}

/// `POST /oauth2/access_token` with the same fields as a form.
pub async fn exchange_form(emu: &Emulator, body: &Value) -> Answer {
    let fields: Vec<(String, String)> = body
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let url = format!("{}/oauth2/access_token", emu.base_url());
    finish(browser().post(url).form(&fields).send().await)
        .await
        .0
}

/// A successful exchange: (access_token, refresh_token), shape checked.
pub fn pair(answer: &Answer, expires_in: u64) -> (String, String) {
    assert_eq!(answer.status, 200, "{}", answer.body);
    let v = answer.json();
    assert_eq!(v["token_type"], "Bearer", "{v}");
    assert_eq!(v["expires_in"], expires_in, "{v}");
    let access = v["access_token"].as_str().unwrap_or_default().to_string();
    let refresh = v["refresh_token"].as_str().unwrap_or_default().to_string();
    assert_eq!(access.split('.').count(), 3, "JWT-looking: {access}");
    assert!(refresh.len() >= 64, "long opaque refresh token: {refresh}");
    (access, refresh)
}

/// The full flow: approve, exchange (JSON); returns the pair.
pub async fn connect(emu: &Emulator, i: &Integration) -> (String, String) {
    let code = code(emu, i).await;
    pair(&exchange(emu, &code_body(i, &code)).await, 86_400)
}

/// Asserts an OAuth problem: status, type and a hint containing `hint`.
pub fn oauth_problem(a: &Answer, status: u16, hint: &str) {
    assert_eq!(a.status, status, "{}", a.body);
    assert_eq!(
        a.content_type.as_deref(),
        Some("application/problem+json"),
        "{}",
        a.body
    );
    let v = a.json();
    assert_eq!(v["type"], OAUTH_TYPE, "{v}");
    assert_eq!(v["status"], status, "{v}");
    let got = v["hint"].as_str().unwrap_or_default();
    assert!(got.contains(hint), "hint {got:?} lacks {hint:?}: {v}");
}
