//! The demo's embedded emulator is locked: its control API and OAuth pages
//! want the per-run secret, and every route a loopback `Host` — a web page
//! that finds the port (or rebinds a name of its own to 127.0.0.1) cannot
//! drive it. Real HTTP on 127.0.0.1; every wait bounded.

use std::time::{Duration, Instant};

use amo_emulator::SECRET_HEADER;
use amosync::cli::demo::{DemoRun, EmulatorFile};
use amosync::cli::shutdown::Shutdown;
use amosync::config::DataDir;
use amosync::demo::{Demo, DemoOptions};
use reqwest::StatusCode;
use reqwest::header::HOST;
use serde_json::json;

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

async fn add_lead(base: &str, secret: Option<&str>, host: Option<&str>) -> StatusCode {
    let mut request = http()
        .post(format!("{base}/_emulator/leads"))
        .json(&json!({"name": "Аренда <b>Prius</b>", "price": 100}));
    if let Some(secret) = secret {
        request = request.header(SECRET_HEADER, secret);
    }
    if let Some(host) = host {
        request = request.header(HOST, host);
    }
    request.send().await.expect("the emulator answers").status()
}

#[tokio::test]
async fn the_demo_control_api_wants_its_secret_and_a_loopback_host() {
    let demo = Demo::start(DemoOptions {
        leads: 5,
        now: Some(1_750_000_000),
    })
    .await
    .expect("demo starts");
    let base = demo.emulator().base_url();
    let secret = demo.control_secret();
    assert_eq!(secret.len(), 64, "a 256-bit secret in hex");
    let port = demo.emulator().addr().port();
    let leads_before = demo.emulator().world().leads.len();

    assert_eq!(add_lead(&base, None, None).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        add_lead(&base, Some("not-the-secret"), None).await,
        StatusCode::UNAUTHORIZED
    );
    // DNS rebinding: the page's own name, resolved to 127.0.0.1.
    let rebound = format!("rebind.attacker.example:{port}");
    assert_eq!(
        add_lead(&base, Some(&secret), Some(&rebound)).await,
        StatusCode::MISDIRECTED_REQUEST
    );
    assert_eq!(
        demo.emulator().world().leads.len(),
        leads_before,
        "nothing refused reached the account"
    );
    // Minting tokens and the OAuth token endpoint are locked too.
    let mint = http()
        .post(format!("{base}/_emulator/tokens"))
        .json(&json!({"admin": true}))
        .send()
        .await
        .expect("answers");
    assert_eq!(mint.status(), StatusCode::UNAUTHORIZED);
    let body = mint.text().await.unwrap_or_default();
    assert!(
        body.contains("X-Emulator-Secret") || body.contains(SECRET_HEADER),
        "{body}"
    );
    assert!(
        !body.contains(&secret),
        "the refusal never shows the secret"
    );
    let exchange = http()
        .post(format!("{base}/oauth2/access_token"))
        .json(&json!({"grant_type": "authorization_code"}))
        .send()
        .await
        .expect("answers");
    assert_eq!(exchange.status(), StatusCode::UNAUTHORIZED);

    // With the secret, on its loopback names: served.
    assert_eq!(add_lead(&base, Some(&secret), None).await, StatusCode::OK);
    let localhost = format!("localhost:{port}");
    assert_eq!(
        add_lead(&base, Some(&secret), Some(&localhost)).await,
        StatusCode::OK
    );
    assert_eq!(demo.emulator().world().leads.len(), leads_before + 2);
    // The API keeps its own bearer check and reads as before.
    demo.overview()
        .await
        .expect("the demo's client is unaffected");
}

#[tokio::test]
async fn the_demo_run_writes_its_secret_owner_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = DataDir::new(dir.path());
    let (shutdown, trigger) = Shutdown::manual();
    let run = DemoRun {
        data: data.clone(),
        leads: 5,
        now: Some(1_750_000_000),
        listen: "127.0.0.1:0".parse().expect("address"),
    };
    let task = tokio::spawn(amosync::cli::demo::run(run, shutdown));
    let demo_data = data.child("demo");
    let deadline = Instant::now() + Duration::from_secs(30);
    let file = loop {
        if let Ok(Some(file)) = EmulatorFile::read(&demo_data) {
            break file;
        }
        assert!(Instant::now() < deadline, "emulator.json within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(EmulatorFile::path(&demo_data))
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "owner-only: {mode:o}");
    }
    assert_eq!(file.secret_header, "X-Emulator-Secret");
    assert_eq!(
        add_lead(&file.base_url, None, None).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        add_lead(&file.base_url, Some(&file.control_secret), None).await,
        StatusCode::OK
    );
    trigger.stop();
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("the demo stops within 30 s")
        .expect("the task ends")
        .expect("the demo stops cleanly");
}
