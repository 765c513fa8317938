//! The webhook receiver over a real socket on 127.0.0.1, fed bad input: each
//! request gets the documented status (crates/amosync-sync/src/receiver.rs),
//! NOTHING refused reaches the event log or the store; bodies PHP's
//! `parse_str` reads (broken escapes, invalid UTF-8, keys nested past 64
//! levels) are acknowledged 200, logged byte for byte and applied with their
//! anomalies in the outcome; and afterwards the server is still healthy: a
//! valid webhook gets 200, is logged byte for byte and is applied.
//!
//! The engine's webhook is deliberately *not* registered with the emulator:
//! every request the receiver sees in this test is one the test sent.

#[path = "sync_harness.rs"]
mod sync_harness;

use std::time::Duration;

use amosync_store::{EventOutcome, Store};
use amosync_sync::WebhookSecret;
use reqwest::{Method, StatusCode};
use serde_json::json;
use sync_harness::*;

const WAIT: Duration = Duration::from_secs(20);

/// PHP `urlencode`: only `A-Z a-z 0-9 - _ .` kept, space as `+`.
fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `key=value` pairs, form-encoded.
fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The account block of the connected account.
struct Acct {
    id: u64,
    subdomain: String,
    base: String,
}

impl Acct {
    fn block(&self) -> String {
        form(&[
            ("account[subdomain]", &self.subdomain),
            ("account[id]", &self.id.to_string()),
            ("account[_links][self]", &self.base),
        ])
    }

    /// A well-formed lead update of lead `id` (with the real account block),
    /// with extra pairs in front.
    fn lead_update(&self, lead_id: u64, extra: &str) -> String {
        let mut body = String::new();
        if !extra.is_empty() {
            body.push_str(extra);
            body.push('&');
        }
        body.push_str(&form(&[
            ("leads[update][0][id]", &lead_id.to_string()),
            ("leads[update][0][name]", "Проверка"),
        ]));
        body.push('&');
        body.push_str(&self.block());
        body
    }
}

/// (what, method, url, content type, body, documented status).
type Case<'a> = (&'a str, Method, &'a str, &'a str, Vec<u8>, u16);

/// One request; the status, or the transport error as text.
async fn send(
    http: &reqwest::Client,
    method: Method,
    url: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Result<StatusCode, String> {
    http.request(method, url)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .header(reqwest::header::USER_AGENT, "amoCRM-WebHook-client/1.0")
        .body(body)
        .send()
        .await
        .map(|r| r.status())
        .map_err(|e| format!("{e:?}"))
}

/// Sends only the head of a form POST declaring `content_length` bytes and
/// reads the status line of the answer (bounded).
async fn head_only_status(url: &str, content_length: usize) -> Result<u16, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").ok_or("not http")?;
    let (host, path) = rest.split_once('/').ok_or("no path")?;
    let mut socket = tokio::net::TcpStream::connect(host)
        .await
        .map_err(|e| e.to_string())?;
    let head = format!(
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nUser-Agent: amoCRM-WebHook-client/1.0\r\nContent-Length: {content_length}\r\n\r\n"
    );
    socket
        .write_all(head.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buf))
        .await
        .map_err(|_| "no answer within 5 s to the head alone".to_owned())?
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or(format!("not an HTTP answer: {text:?}"))
}

/// What the store shows, for "nothing changed" comparisons.
fn snapshot(store: &Store) -> (Vec<(u64, usize, Option<EventOutcome>)>, serde_json::Value) {
    let log = event_log(store)
        .into_iter()
        .map(|e| (e.seq, e.body.len(), e.outcome))
        .collect();
    let status = store.status().expect("store status");
    let counts = json!({
        "leads": status.leads, "deleted_leads": status.deleted_leads, "contacts": status.contacts,
        "companies": status.companies, "talks": status.talks, "messages": status.messages,
        "notes": status.notes, "status_changes": status.status_changes,
        "events_logged": status.events_logged, "events_pending": status.events_pending,
    });
    (log, counts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_the_documented_status_and_change_nothing() {
    let emu = emulator(7_101, 20, relaxed_limits()).await;
    let base_url = base(&emu);
    let api = reader(&emu);
    let dir = tempdir();
    let store = bound_store(&store_path(&dir), &api, &base_url).await;
    let secret = WebhookSecret::generate();
    let engine = amosync_sync::Engine::start(
        store.clone(),
        engine_client_fast(&emu),
        std::sync::Arc::new(amosync_sync::SystemClock),
        engine_config(loopback_any(), &secret, true, false),
    )
    .await
    .expect("the engine starts");
    assert!(
        engine.settle(Duration::from_secs(90)).await,
        "first catch-up"
    );
    let url = engine.webhook_url();
    assert!(
        url.contains(secret.expose()),
        "the webhook URL carries the secret"
    );
    let http = http();
    let account = api.account().await.expect("account");
    let acct = Acct {
        id: account.id,
        subdomain: account.subdomain.clone(),
        base: base_url.clone(),
    };
    let lead_id = *emu.world().leads.keys().next().expect("a lead");

    // A talk to post a real message into later (created with no webhook
    // registered: nothing is delivered).
    let talk = control(
        &http,
        &base_url,
        Method::POST,
        "/talks",
        json!({"lead_id": lead_id, "origin": "telegram"}),
    )
    .await;
    let talk_id = talk["talk_id"].as_u64().expect("talk id");

    let before = snapshot(&store);
    let lead_before = store.lead_record(lead_id).expect("lead_record");

    let wrong_secret = {
        let other = WebhookSecret::generate();
        url.replace(secret.expose(), other.expose())
    };
    let form_ct = "application/x-www-form-urlencoded";
    let valid = acct.lead_update(lead_id, "").into_bytes();

    // 2 MiB of an otherwise valid body.
    let big = {
        let filler = "Я".repeat(2 * 1024 * 1024 / 6 + 1024);
        acct.lead_update(lead_id, &form(&[("leads[update][0][text]", &filler)]))
            .into_bytes()
    };
    assert!(big.len() > 2 * 1024 * 1024, "{}", big.len());
    // 60,000 pairs (over the 50,000 limit), every one well formed, the
    // body under 1 MiB.
    let many = {
        let pairs: Vec<String> = (0..60_000).map(|i| format!("x{i}=1")).collect();
        acct.lead_update(lead_id, &pairs.join("&")).into_bytes()
    };
    // 70 levels of brackets in a short key (PHP's limit is 64).
    let deep = {
        let key = format!("leads[update][0]{}", "[x]".repeat(67));
        assert!(
            key.len() < 256,
            "short enough not to trip the key length limit"
        );
        // Raw brackets, so the key stays within the key length limit.
        acct.lead_update(lead_id, &format!("{key}=1")).into_bytes()
    };
    let no_account = form(&[
        ("leads[update][0][id]", &lead_id.to_string()),
        ("leads[update][0][name]", "Без аккаунта"),
    ])
    .into_bytes();
    let broken_percent = acct
        .lead_update(lead_id, "leads%5Bupdate%5D%5B0%5D%5Bprice%5D=%ZZ1%E")
        .into_bytes();
    let bad_utf8_escaped = acct
        .lead_update(lead_id, "leads%5Bupdate%5D%5B0%5D%5Bname%5D=%FF%FE%C3%28")
        .into_bytes();
    let bad_utf8_raw = {
        let mut b = b"leads%5Bupdate%5D%5B0%5D%5Bname%5D=\xff\xfe&".to_vec();
        b.extend_from_slice(acct.lead_update(lead_id, "").as_bytes());
        b
    };
    let other_account = format!(
        "{}&{}",
        form(&[
            ("leads[update][0][id]", &lead_id.to_string()),
            ("leads[update][0][name]", "Чужой"),
        ]),
        form(&[
            ("account[subdomain]", "someoneelse"),
            ("account[id]", &(account.id + 1).to_string()),
            ("account[_links][self]", "https://someoneelse.amocrm.ru"),
        ])
    )
    .into_bytes();
    let other_subdomain_only = format!(
        "{}&{}",
        form(&[("leads[update][0][id]", &lead_id.to_string())]),
        form(&[
            ("account[subdomain]", "someoneelse"),
            ("account[id]", &account.id.to_string()),
        ])
    )
    .into_bytes();
    let other_id_only = format!(
        "{}&{}",
        form(&[("leads[update][0][id]", &lead_id.to_string())]),
        form(&[
            ("account[subdomain]", &account.subdomain),
            ("account[id]", &(account.id + 1).to_string()),
        ])
    )
    .into_bytes();
    let json_body = serde_json::to_vec(&json!({
        "leads": {"update": [{"id": lead_id, "name": "JSON"}]},
        "account": {"subdomain": account.subdomain, "id": account.id}
    }))
    .expect("json");

    let cases: Vec<Case> = vec![
        (
            "wrong secret",
            Method::POST,
            &wrong_secret,
            form_ct,
            valid.clone(),
            404,
        ),
        ("GET", Method::GET, &url, form_ct, Vec::new(), 404),
        (
            "other account (id + subdomain)",
            Method::POST,
            &url,
            form_ct,
            other_account,
            403,
        ),
        (
            "other subdomain, our id",
            Method::POST,
            &url,
            form_ct,
            other_subdomain_only,
            403,
        ),
        (
            "other id, our subdomain",
            Method::POST,
            &url,
            form_ct,
            other_id_only,
            403,
        ),
        (
            "JSON body",
            Method::POST,
            &url,
            "application/json",
            json_body,
            415,
        ),
        ("60,000 pairs", Method::POST, &url, form_ct, many, 413),
        (
            "no account block",
            Method::POST,
            &url,
            form_ct,
            no_account,
            400,
        ),
    ];
    let mut wrong = Vec::new();
    for (what, method, target, ct, body, expected) in cases {
        let len = body.len();
        match send(&http, method.clone(), target, ct, body).await {
            Ok(status) if status.as_u16() == expected => {}
            Ok(status) => wrong.push(format!(
                "{what} ({method}, {len} bytes): got {status}, documented {expected}"
            )),
            Err(e) => wrong.push(format!(
                "{what} ({method}, {len} bytes): no answer ({e}), documented {expected}"
            )),
        }
    }

    // 2 MiB. By `Content-Length` the receiver answers 413 before reading
    // the body: seen exactly over a raw socket that sends only the head.
    match head_only_status(&url, big.len()).await {
        Ok(413) => {}
        other => wrong.push(format!(
            "2 MiB by Content-Length (head only): {other:?}, documented 413"
        )),
    }
    // Sending the whole 2 MiB anyway: the early 413 closes the connection,
    // so the client may see it or a broken pipe while still writing the
    // body (HTTP/1.1 without `Expect: 100-continue`). Either is a refused
    // delivery; anything else (a 2xx, a timeout) is not.
    let len = big.len();
    match send(&http, Method::POST, &url, form_ct, big).await {
        Ok(status) if status.as_u16() == 413 => {}
        Err(e) if e.contains("BodyWrite") => {
            eprintln!(
                "2 MiB body: connection closed while the body was being written (after an early 413)"
            )
        }
        other => wrong.push(format!(
            "2 MiB body ({len} bytes): {other:?}, documented 413"
        )),
    }

    // Nothing was logged or applied. (Give a wrongly accepted body the
    // time to be applied before looking.)
    assert!(engine.settle(WAIT).await, "the engine did not settle");
    let after = snapshot(&store);
    let lead_after = store.lead_record(lead_id).expect("lead_record");
    let mut changed = Vec::new();
    if after.0 != before.0 {
        changed.push(format!(
            "event log changed: {} → {} entries; new: {:?}",
            before.0.len(),
            after.0.len(),
            &after.0[before.0.len().min(after.0.len())..]
        ));
    }
    if after.1 != before.1 {
        changed.push(format!("store counts changed: {} → {}", before.1, after.1));
    }
    if lead_after != lead_before {
        changed.push(format!(
            "lead {lead_id} changed: {lead_before:?} → {lead_after:?}"
        ));
    }
    assert!(
        wrong.is_empty() && changed.is_empty(),
        "bad input was not handled as documented:\n  {}",
        wrong
            .iter()
            .chain(changed.iter())
            .cloned()
            .collect::<Vec<_>>()
            .join("\n  ")
    );

    // Bodies PHP reads: acknowledged, logged byte for byte, applied, with
    // what PHP's rules resolved in the outcome (a 4xx here would count
    // toward amoCRM disabling the webhook).
    let php_cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("broken percent-encoding", broken_percent, "broken_escape"),
        ("deep nesting (70 levels)", deep, "too_deep"),
        (
            "invalid UTF-8 (percent-encoded)",
            bad_utf8_escaped,
            "invalid_utf8",
        ),
        ("invalid UTF-8 (raw bytes)", bad_utf8_raw, "invalid_utf8"),
    ];
    for (what, body, _) in &php_cases {
        let status = send(&http, Method::POST, &url, form_ct, body.clone())
            .await
            .unwrap_or_else(|e| panic!("{what}: no answer ({e})"));
        assert_eq!(status, StatusCode::OK, "{what}");
    }
    assert!(engine.settle(WAIT).await, "the engine did not settle");
    let log = event_log(&store);
    assert_eq!(log.len(), before.0.len() + php_cases.len());
    for ((what, body, code), entry) in php_cases.iter().zip(&log[before.0.len()..]) {
        assert_eq!(&entry.body, body, "{what}: the raw body, byte for byte");
        match &entry.outcome {
            Some(EventOutcome::AppliedWithAnomalies { anomalies, .. })
                if anomalies.iter().any(|a| a.starts_with(code)) => {}
            other => panic!("{what}: expected applied with `{code}`, got {other:?}"),
        }
    }

    // Still healthy: a valid webhook gets 200, is logged byte for byte and
    // applied, and its effect is visible.
    let text = "Добрый день! Машина ещё свободна? — проверка после мусора";
    let message_id = message_uuid(1);
    let body = message_body(&emu, talk_id, &message_id, text);
    let status = send(
        &http,
        Method::POST,
        &url,
        form_ct,
        body.clone().into_bytes(),
    )
    .await
    .expect("the receiver answers a valid webhook");
    assert_eq!(
        status,
        StatusCode::OK,
        "a valid webhook after the bad input"
    );
    assert!(engine.settle(WAIT).await, "the engine did not settle");
    let log = event_log(&store);
    assert_eq!(
        log.len(),
        before.0.len() + php_cases.len() + 1,
        "exactly one new event log entry"
    );
    let entry = log.last().expect("an entry");
    assert_eq!(entry.body, body.as_bytes(), "the raw body, byte for byte");
    assert!(
        matches!(entry.outcome, Some(EventOutcome::Applied { .. })),
        "the valid webhook was not applied: {:?}",
        entry.outcome
    );
    let problems = eventually(WAIT, || async {
        let detail = store.lead(lead_id).expect("lead detail");
        let messages = detail.map(|d| d.messages).unwrap_or_default();
        match messages.iter().find(|m| m.id == message_id) {
            Some(m) if m.text.as_deref() == Some(text) => Vec::new(),
            other => vec![format!("message not stored as sent: {other:?}")],
        }
    })
    .await;
    assert!(problems.is_empty(), "{problems:?}");
    engine.shutdown().await;
}
