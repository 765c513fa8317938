//! Shared helpers of the conformance tests: start an emulator on loopback and
//! talk to it over real HTTP. Every helper is bounded in time.
#![allow(dead_code)]

use std::sync::OnceLock;
use std::time::Duration;

use amo_emulator::limits::LimitsConfig;
use amo_emulator::{Emulator, EmulatorConfig};
use reqwest::header::CONTENT_TYPE;
use serde_json::Value;

/// A fixed "now" so runs are comparable: 2025-06-01T00:00:00Z.
pub const NOW: i64 = 1_748_736_000;

/// An emulator with relaxed rate limits (tests fire requests back to back;
/// `api_limits.rs` checks the real limits with [`start_with`]).
pub async fn start(leads: usize) -> Emulator {
    start_with(EmulatorConfig {
        leads,
        seed: 7,
        now: Some(NOW),
        limits: relaxed(),
        ..Default::default()
    })
    .await
}

pub fn relaxed() -> LimitsConfig {
    LimitsConfig {
        per_token_per_second: 10_000,
        per_account_per_second: 10_000,
        ..Default::default()
    }
}

pub async fn start_with(config: EmulatorConfig) -> Emulator {
    match Emulator::start(config).await {
        Ok(emu) => emu,
        Err(e) => panic!("emulator did not start: {e}"),
    }
}

/// One shared client (building one per request is slow enough to dodge rate
/// limits). No idle pooling: each test runs its own runtime, and a pooled
/// connection must never outlive the runtime that opened it.
pub fn client() -> reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .no_proxy()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap_or_else(|e| panic!("client: {e}"))
        })
        .clone()
}

/// A finished response: status, content type, body text.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

async fn finish(resp: reqwest::Result<reqwest::Response>) -> Answer {
    let resp = resp.unwrap_or_else(|e| panic!("request failed: {e}"));
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = resp.text().await.unwrap_or_else(|e| panic!("body: {e}"));
    Answer {
        status,
        content_type,
        body,
    }
}

/// `GET base+path` with a bearer token (absolute URLs are used as they are).
pub async fn get(emu: &Emulator, path: &str, token: Option<&str>) -> Answer {
    let url = if path.starts_with("http") {
        path.to_string()
    } else {
        format!("{}{path}", emu.base_url())
    };
    let mut req = client().get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    finish(req.send().await).await
}

/// `GET` with the admin token, expecting 200 HAL JSON.
pub async fn get_ok(emu: &Emulator, path: &str) -> Value {
    let a = get(emu, path, Some(&emu.token())).await;
    assert_eq!(a.status, 200, "GET {path}: {}", a.body);
    assert_eq!(
        a.content_type.as_deref(),
        Some("application/hal+json"),
        "GET {path}"
    );
    a.json()
}

pub async fn send_json(
    emu: &Emulator,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: &Value,
) -> Answer {
    let mut req = client()
        .request(method, format!("{}{path}", emu.base_url()))
        .json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    finish(req.send().await).await
}

/// A control-API call expecting 200 JSON.
pub async fn control(emu: &Emulator, method: reqwest::Method, path: &str, body: &Value) -> Value {
    let a = send_json(
        emu,
        method.clone(),
        &format!("/_emulator{path}"),
        None,
        body,
    )
    .await;
    assert_eq!(a.status, 200, "{method} /_emulator{path}: {}", a.body);
    a.json()
}

/// Asserts `obj` has every key in `keys`.
pub fn has_keys(obj: &Value, keys: &[&str], what: &str) {
    for k in keys {
        assert!(obj.get(k).is_some(), "{what} lacks `{k}`: {obj}");
    }
}

/// Follows `_links.next` from `first`, returning every item under `key` (bounded).
pub async fn follow(emu: &Emulator, first: &str, key: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut next = Some(format!("{}{first}", emu.base_url()));
    for _ in 0..200 {
        let Some(url) = next.take() else { break };
        let a = get(emu, &url, Some(&emu.token())).await;
        if a.status == 204 {
            break;
        }
        assert_eq!(a.status, 200, "{url}: {}", a.body);
        let page = a.json();
        out.extend(
            page["_embedded"][key]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        );
        next = page["_links"]["next"]["href"].as_str().map(str::to_string);
    }
    assert!(next.is_none(), "paging did not finish");
    out
}

pub fn ids(items: &[Value]) -> Vec<u64> {
    items.iter().filter_map(|i| i["id"].as_u64()).collect()
}
