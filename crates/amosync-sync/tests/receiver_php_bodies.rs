//! Property: any body PHP's `parse_str` would read, within the size limits and
//! from the bound account, is stored and answered 200 by the receiver — never
//! a 4xx (amoCRM counts those toward disabling the webhook). The receiver's
//! router is driven in process (`tower::ServiceExt::oneshot`); the bodies mix
//! amoCRM's vocabulary with everything PHP tolerates: duplicate and
//! conflicting keys, broken escapes, invalid UTF-8, malformed brackets, keys
//! nested past PHP's 64 levels.

use std::sync::{Arc, Mutex, PoisonError};

use amosync_store::RawEvent;
use amosync_sync::ingest::{EventSink, IngestConfig};
use amosync_sync::receiver::{BoundAccount, ReceiverState, app, receiver_limits};
use amosync_sync::{SystemClock, WebhookSecret};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use proptest::prelude::*;
use tower::ServiceExt;

#[derive(Default)]
struct MemSink(Mutex<Vec<Vec<u8>>>);

impl EventSink for MemSink {
    fn append(&self, events: &[RawEvent]) -> Result<Vec<u64>, String> {
        let mut all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let mut seqs = Vec::new();
        for e in events {
            all.push(e.body.clone());
            seqs.push(all.len() as u64);
        }
        Ok(seqs)
    }
}

/// One raw key or value piece: amoCRM words, PHP's special characters,
/// escapes good and broken, bytes that are not UTF-8.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    let word = prop::sample::select(vec![
        "leads",
        "contacts",
        "task",
        "unsorted",
        "account",
        "add",
        "update",
        "status",
        "0",
        "1",
        "id",
        "name",
        "type",
        "company",
        "source_data",
        "date",
        "values",
        "enum",
        "%5B",
        "%5D",
        "[",
        "]",
        "[]",
        "[ ]",
        ".",
        " ",
        "+",
        "%",
        "%zz",
        "%4",
        "%FF",
        "%D0",
        "%D0%AF",
        "%00",
        "=",
        "__Host-",
        "\u{0430}",
    ]);
    prop_oneof![
        4 => prop::collection::vec(word, 0..6).prop_map(|w| w.concat().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..12),
    ]
}

/// A pair, or a key nested deeper than PHP's limit.
fn pair() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => (piece(), piece()).prop_map(|(mut k, v)| {
            k.push(b'=');
            k.extend(v);
            k
        }),
        1 => (1usize..90).prop_map(|n| format!("a{}=1", "[x]".repeat(n)).into_bytes()),
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    (prop::collection::vec(pair(), 0..40), any::<bool>()).prop_map(|(pairs, first)| {
        // The bound account's block, first or last: PHP lets the later
        // write win, so a block sent last is the one read; a block sent
        // first is followed only by pairs that cannot touch `account`.
        let account = b"account%5Bsubdomain%5D=office&account%5Bid%5D=31000001".to_vec();
        let mut parts: Vec<Vec<u8>> = if first {
            pairs
                .into_iter()
                .map(|p| [b"x_".as_slice(), &p].concat())
                .collect()
        } else {
            pairs
        };
        if first {
            parts.insert(0, account);
        } else {
            parts.push(account);
        }
        parts.join(&b'&')
    })
}

fn router() -> (axum::Router, Arc<MemSink>, String) {
    let sink = Arc::new(MemSink::default());
    let (ingest, _task) = amosync_sync::ingest::spawn(
        sink.clone(),
        Arc::new(tokio::sync::Notify::new()),
        IngestConfig::default(),
    );
    let secret = WebhookSecret::parse(&"c0ffee".repeat(8)).expect("secret");
    let path = format!("/amocrm/{}/", secret.expose());
    let state = ReceiverState::new(
        secret,
        BoundAccount {
            id: 31_000_001,
            subdomain: "office".into(),
        },
        ingest,
        Arc::new(SystemClock),
    );
    (app(state), sink, path)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn php_parsable_bodies_of_the_bound_account_are_acknowledged(body in body()) {
        let limits = receiver_limits();
        // Within the size limits (the only 413s): otherwise not this property.
        let within = amo::webhook::parse_form(&body, &limits).is_ok();
        prop_assume!(within);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let (status, stored) = runtime.block_on(async {
            let (router, sink, path) = router();
            let request = Request::post(path)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body.clone()))
                .expect("request");
            let answer = router.oneshot(request).await.expect("answer");
            let stored = sink.0.lock().unwrap_or_else(PoisonError::into_inner).clone();
            (answer.status(), stored)
        });
        prop_assert_eq!(status, StatusCode::OK, "body: {}", String::from_utf8_lossy(&body));
        prop_assert_eq!(stored, vec![body.clone()], "stored byte for byte");
        // And the applier's full decode reads it too.
        let payload = amo::webhook::decode_with_limits(&body, &limits);
        prop_assert!(payload.is_ok(), "{:?}", payload.err());
    }
}
