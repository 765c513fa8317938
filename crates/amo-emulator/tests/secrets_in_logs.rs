//! A webhook destination's path is its secret (amocrm.md §1 "No signature"),
//! and a token is a credential: neither may reach a log line or an error
//! message. Every log line of a full register → deliver → fail → remove
//! cycle is captured and searched.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use reqwest::Method;
use serde_json::json;

const SECRET: &str = "s3cr3t-path-7f9a1c";

/// A `MakeWriter` that appends every log line to a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

// current_thread: the emulator's tasks run on this thread, under the
// thread-local subscriber set below.
#[tokio::test(flavor = "current_thread")]
async fn no_destination_path_or_token_in_logs_or_errors() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let emu = start(5).await;
    let admin = emu.token();
    control(
        &emu,
        Method::POST,
        "/webhooks/config",
        &json!({"timeout_ms": 300, "retry_delays_ms": [10]}),
    )
    .await;
    // Nothing listens on port 9: every attempt fails (and is logged).
    let dest = format!("http://127.0.0.1:9/hook/{SECRET}/");
    let reg = send_json(
        &emu,
        Method::POST,
        "/api/v4/webhooks",
        Some(&admin),
        &json!({"destination": dest, "settings": ["add_lead"]}),
    )
    .await;
    assert_eq!(reg.status, 200, "{}", reg.body);
    control(
        &emu,
        Method::POST,
        "/leads",
        &json!({"name": "Секретный тест"}),
    )
    .await;
    assert!(emu.hub().wait_idle(Duration::from_secs(20)).await);
    assert!(emu.hub().deliveries().iter().any(|d| !d.ok));

    // Refused destinations: the 400 shows no path either.
    for bad in [
        format!("ftp://example.com/{SECRET}"),
        format!("http://exa mple.com/{SECRET}"),
    ] {
        let a = send_json(
            &emu,
            Method::POST,
            "/api/v4/webhooks",
            Some(&admin),
            &json!({"destination": bad, "settings": ["add_lead"]}),
        )
        .await;
        assert_eq!(a.status, 400);
        assert!(!a.body.contains(SECRET), "{}", a.body);
    }
    let gone = send_json(
        &emu,
        Method::DELETE,
        "/api/v4/webhooks",
        Some(&admin),
        &json!({"destination": dest}),
    )
    .await;
    assert_eq!(gone.status, 204);
    // A request with a bad token is logged too.
    assert_eq!(
        get(&emu, "/api/v4/account", Some("not-a-real-token"))
            .await
            .status,
        401
    );
    emu.shutdown().await;

    let text = logs.text();
    assert!(
        text.contains("webhook registered") && text.contains("127.0.0.1:9"),
        "the capture works: {text}"
    );
    assert!(!text.contains(SECRET), "secret path logged:\n{text}");
    assert!(!text.contains(&admin), "token logged");
    assert!(!text.contains("not-a-real-token"), "token logged");
}
