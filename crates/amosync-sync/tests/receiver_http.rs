//! The receiver over a real socket, in front of a real store: every bad
//! input gets its documented status, nothing is stored, and the server
//! stays healthy.

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
    let many: String = (0..10_000).map(|i| format!("x{i}=1&")).collect::<String>() + &acct;
    let deep = format!("a{}=1&{acct}", "%5Bx%5D".repeat(12));
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
            400,
        ),
        (
            "10,000 pairs",
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
            400,
        ),
        (
            "invalid UTF-8",
            Method::POST,
            url.clone(),
            Some(form),
            [b"a=%C3%28&".as_slice(), acct.as_bytes()].concat(),
            400,
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
    assert_eq!(logged, 0, "nothing stored");
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
    assert_eq!(h.store.status().expect("status").events_logged, 1);
    let status = engine.status();
    assert_eq!(status.webhooks_accepted, 1);
    assert_eq!(status.webhooks_rejected, 8, "{status:?}");
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
