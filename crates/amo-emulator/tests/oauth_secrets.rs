//! OAuth credentials (client secret, codes, access and refresh tokens) never
//! reach a log line or an error message: a full connect → refresh → reuse →
//! revoke cycle runs under a capturing subscriber and the capture is searched.

mod common;
mod oauth_support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use oauth_support::*;
use serde_json::json;

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

// current_thread: the emulator's tasks run on this thread, under the
// thread-local subscriber set below.
#[tokio::test(flavor = "current_thread")]
async fn no_oauth_credential_in_logs_or_errors() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let emu = start(1).await;
    let i = emu.register_integration("https://example.org/cb");
    let c = code(&emu, &i).await;
    let (access, refresh) = pair(&exchange(&emu, &code_body(&i, &c)).await, 86_400);
    let (access2, refresh2) = pair(&exchange(&emu, &refresh_body(&i, &refresh)).await, 86_400);
    let mut errors = Vec::new();
    errors.push(exchange(&emu, &refresh_body(&i, &refresh)).await.body);
    errors.push(exchange(&emu, &code_body(&i, &c)).await.body);
    let mut wrong = code_body(&i, &c);
    wrong["client_secret"] = json!("not-the-secret-but-close");
    errors.push(exchange(&emu, &wrong).await.body);
    assert_eq!(
        get(&emu, "/api/v4/account", Some(&access)).await.status,
        200
    );
    assert_eq!(emu.revoke_integration(&i.client_id), 3);
    errors.push(get(&emu, "/api/v4/account", Some(&access2)).await.body);
    errors.push(exchange(&emu, &refresh_body(&i, &refresh2)).await.body);
    emu.shutdown().await;

    let text =
        String::from_utf8_lossy(&logs.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned();
    assert!(
        text.contains("access token issued") && text.contains(&i.client_id),
        "the capture works: {text}"
    );
    let secrets = [
        i.client_secret.expose(),
        c.as_str(),
        access.as_str(),
        refresh.as_str(),
        access2.as_str(),
        refresh2.as_str(),
        "not-the-secret-but-close",
    ];
    for (n, s) in secrets.iter().enumerate() {
        assert!(!text.contains(s), "credential #{n} logged");
        for e in &errors {
            assert!(!e.contains(s), "credential #{n} in an error: {e}");
        }
    }
    assert_eq!(errors.len(), 5);
    assert!(errors.iter().all(|e| e.contains("hint")), "{errors:?}");
}
