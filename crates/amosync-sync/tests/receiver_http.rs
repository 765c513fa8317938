//! The receiver over a real socket, in front of a real store: every bad
//! input gets its documented status, only what PHP would parse is stored,
//! the server stays healthy; and amoCRM's documented shapes the old parser
//! refused are acknowledged and applied.

mod support;

use reqwest::Method;
use support::Harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_table_over_http() {
    let h = Harness::start(5).await;
    let engine = amosync_sync::Engine::start(
        h.store.clone(),
        h.new_client(),
        std::sync::Arc::new(amosync_sync::SystemClock),
        h.config(),
    )
    .await
    .expect("engine");
    let url = engine.webhook_url();
    let secret = url
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .expect("secret")
        .to_owned();
    let base = format!("http://{}", engine.local_addr());
    let acct = format!(
        "account%5Bsubdomain%5D={}&account%5Bid%5D={}",
        h.subdomain, h.account_id
    );
    let good = format!("leads%5Bdelete%5D%5B0%5D%5Bid%5D=1&{acct}");
    let form = "application/x-www-form-urlencoded";
    let many: String = (0..60_000).map(|i| format!("x{i}=1&")).collect::<String>() + &acct;
    // Raw brackets: 70 levels within the 256-byte key limit.
    let deep = format!("a{}=1&{acct}", "[x]".repeat(70));
    let wrong_secret = format!("{base}/amocrm/{}/", "0".repeat(64));
    type Case<'a> = (&'a str, Method, String, Option<&'a str>, Vec<u8>, u16);
    let cases: Vec<Case> = vec![
        (
            "wrong secret",
            Method::POST,
            wrong_secret,
            Some(form),
            good.clone().into_bytes(),
            404,
        ),
        (
            "root",
            Method::POST,
            format!("{base}/"),
            Some(form),
            good.clone().into_bytes(),
            404,
        ),
        ("GET", Method::GET, url.clone(), None, Vec::new(), 404),
        ("DELETE", Method::DELETE, url.clone(), None, Vec::new(), 404),
        (
            "JSON body",
            Method::POST,
            url.clone(),
            Some("application/json"),
            b"{\"leads\":[]}".to_vec(),
            415,
        ),
        (
            "2 MiB",
            Method::POST,
            url.clone(),
            Some(form),
            vec![b'a'; 2 << 20],
            413,
        ),
        (
            "broken percent-encoding",
            Method::POST,
            url.clone(),
            Some(form),
            format!("a=%G1&{acct}").into_bytes(),
            200,
        ),
        (
            "60,000 pairs",
            Method::POST,
            url.clone(),
            Some(form),
            many.into_bytes(),
            413,
        ),
        (
            "deep nesting",
            Method::POST,
            url.clone(),
            Some(form),
            deep.into_bytes(),
            200,
        ),
        (
            "invalid UTF-8",
            Method::POST,
            url.clone(),
            Some(form),
            [b"a=%C3%28&".as_slice(), acct.as_bytes()].concat(),
            200,
        ),
        (
            "other account",
            Method::POST,
            url.clone(),
            Some(form),
            good.replace(&h.account_id.to_string(), "1").into_bytes(),
            403,
        ),
        (
            "other subdomain",
            Method::POST,
            url.clone(),
            Some(form),
            good.replace(&h.subdomain, "intruder").into_bytes(),
            403,
        ),
    ];
    for (name, method, target, ct, body, want) in cases {
        let mut req = h.http.request(method, &target).body(body);
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{name}: {e}"));
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        assert_eq!(status, want, "{name}: {text}");
        assert!(!text.contains(&secret), "{name}: the secret is echoed");
        assert!(text.lines().count() <= 1, "{name}: one line");
    }
    let logged = h.store.status().expect("status").events_logged;
    assert_eq!(
        logged, 3,
        "the three bodies PHP parses are stored, nothing else"
    );
    // Healthy afterwards: a good one is accepted and stored.
    let resp = h
        .http
        .post(&url)
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=UTF-8",
        )
        .body(good)
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.expect("body"), "ok");
    assert_eq!(h.store.status().expect("status").events_logged, 4);
    let status = engine.status();
    assert_eq!(status.webhooks_accepted, 4);
    assert_eq!(status.webhooks_rejected, 5, "{status:?}");
    engine.shutdown().await;
}

/// A body from `key=value` pairs, encoded as PHP's `http_build_query` does.
fn php_body(pairs: &[(&str, String)]) -> String {
    let enc = |t: &str| {
        t.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                b' ' => "+".into(),
                b => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documented_shapes_are_acknowledged_and_applied() {
    use amosync_store::{EventLogQuery, EventOutcome};
    let h = Harness::start(0).await;
    let engine = amosync_sync::Engine::start(
        h.store.clone(),
        h.new_client(),
        std::sync::Arc::new(amosync_sync::SystemClock),
        h.config(),
    )
    .await
    .expect("engine");
    let url = engine.webhook_url();
    let lead = support::u(
        &h.post("/leads", serde_json::json!({"name": "С формы"}))
            .await["id"],
    );
    let other = support::u(
        &h.post("/leads", serde_json::json!({"name": "Обновлена"}))
            .await["id"],
    );
    // The account block first or last, as amoCRM's examples show both.
    let with_account = |pairs: Vec<(&'static str, String)>, first: bool| {
        let block = [
            ("account[subdomain]", h.subdomain.clone()),
            ("account[id]", h.account_id.to_string()),
        ];
        let mut all = Vec::new();
        if first {
            all.extend(block.clone());
        }
        all.extend(pairs);
        if !first {
            all.extend(block);
        }
        php_body(&all)
    };
    // amoCRM's documented task webhook: one list level deeper.
    let task = with_account(
        vec![
            ("task[update][0][0][id]", "7001".into()),
            ("task[update][0][0][element_id]", lead.to_string()),
            ("task[update][0][0][element_type]", "2".into()),
            ("task[update][0][0][text]", "Перезвонить".into()),
            ("task[update][0][0][status]", "1".into()),
        ],
        true,
    );
    // The documented form request: 11 levels deep.
    let unsorted_add = with_account(
        vec![
            ("unsorted[add][0][uid]", "f1b3e2c0".into()),
            ("unsorted[add][0][category]", "forms".into()),
            ("unsorted[add][0][lead_id]", lead.to_string()),
            ("unsorted[add][0][data][contacts][0][name]", "Иван".into()),
            (
                "unsorted[add][0][data][contacts][0][custom_fields][0][values][0][value]",
                "+79990001122".into(),
            ),
            (
                "unsorted[add][0][data][contacts][0][custom_fields][0][values][0][enum]",
                "WORK".into(),
            ),
        ],
        false,
    );
    // The documented update: `[source_data][date]` twice.
    let unsorted_update = with_account(
        vec![
            ("unsorted[update][0][uid]", "f1b3e2c0".into()),
            ("unsorted[update][0][lead_id]", other.to_string()),
            (
                "unsorted[update][0][source_data][date]",
                "1700000000".into(),
            ),
            (
                "unsorted[update][0][source_data][date]",
                "1700000300".into(),
            ),
        ],
        false,
    );
    for (name, body) in [
        ("task", &task),
        ("unsorted add", &unsorted_add),
        ("unsorted update", &unsorted_update),
    ] {
        let resp = h
            .http
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        assert_eq!((status, text.as_str()), (200, "ok"), "{name}");
    }
    assert!(
        engine.settle(std::time::Duration::from_secs(20)).await,
        "settled"
    );
    let logged = h
        .store
        .events(&EventLogQuery::default())
        .expect("event log");
    let outcomes: Vec<_> = logged.iter().map(|e| e.outcome.clone()).collect();
    assert_eq!(outcomes.len(), 3, "{outcomes:?}");
    assert_eq!(
        outcomes[0],
        Some(EventOutcome::Applied { events: 1 }),
        "task"
    );
    assert_eq!(
        outcomes[1],
        Some(EventOutcome::Applied { events: 1 }),
        "unsorted add"
    );
    match &outcomes[2] {
        Some(EventOutcome::AppliedWithAnomalies {
            events: 1,
            anomalies,
        }) => {
            assert_eq!(anomalies.len(), 1, "{anomalies:?}");
            assert!(
                anomalies[0].starts_with("replaced: `unsorted[update][0][source_data][date]`"),
                "{anomalies:?}"
            );
        }
        other => panic!("unsorted update: {other:?}"),
    }
    // The unsorted requests' leads were confirmed by API reads into the store.
    for id in [lead, other] {
        assert!(
            h.store.lead_record(id).expect("read").is_some(),
            "lead {id} fetched into the store"
        );
    }
    engine.shutdown().await;
}

#[tokio::test]
async fn refuses_non_loopback_and_busy_ports() {
    let h = Harness::start(1).await;
    let mut config = h.config();
    config.listen = "0.0.0.0:0".parse().expect("addr");
    let err = amosync_sync::Engine::start(
        h.store.clone(),
        h.new_client(),
        std::sync::Arc::new(amosync_sync::SystemClock),
        config,
    )
    .await
    .expect_err("refused");
    assert_eq!(err.code(), "bind");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut config = h.config();
    config.listen = busy.local_addr().expect("addr");
    let err = amosync_sync::Engine::start(
        h.store.clone(),
        h.new_client(),
        std::sync::Arc::new(amosync_sync::SystemClock),
        config,
    )
    .await
    .expect_err("busy");
    assert_eq!(err.code(), "bind");
    assert!(err.to_string().contains("--listen"), "{err}");
}

#[tokio::test]
async fn an_unbound_store_is_not_connected() {
    let h = Harness::start(1).await;
    let dir = tempfile::tempdir().expect("dir");
    let store = amosync_store::Store::open(&dir.path().join("x.redb")).expect("store");
    let err = amosync_sync::Engine::start(
        store,
        h.new_client(),
        std::sync::Arc::new(amosync_sync::SystemClock),
        h.config(),
    )
    .await
    .expect_err("not connected");
    assert_eq!(err.code(), "not_connected");
}
