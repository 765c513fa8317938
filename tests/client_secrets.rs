//! Tokens never reach logs, errors or `Debug` output, even at TRACE level and
//! through a refresh and a failure.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use amo::{Client, StaticToken};
use amosync_tests::{Control, SwitchingToken, base_url, start_emulator, test_config};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn tokens_never_appear_in_logs_or_errors() {
    let logs = Buffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let emu = start_emulator(51, 5).await;
    let url = base_url(&emu);
    let control = Control::new(&url);
    let stale = control.issue_token(true).await;
    control.revoke(&stale).await;
    let fresh = control.issue_token(true).await;

    // A refresh, then success.
    let tokens = SwitchingToken::new(&stale, &fresh);
    let client = Client::new(test_config(&url), tokens.clone()).expect("client");
    client.account().await.expect("after refresh");
    assert_eq!(tokens.refreshes(), 1);

    // A failure with the revoked token.
    let revoked = Client::new(test_config(&url), StaticToken::new(stale.as_str())).expect("client");
    let err = revoked.account().await.expect_err("revoked");
    let rendered = format!("{err} {err:?} {client:?} {revoked:?}");

    let logs = logs.text();
    assert!(
        logs.contains("amo.request"),
        "request spans are logged: {logs}"
    );
    assert!(logs.contains("refreshing once"), "the refresh is logged");
    for token in [&stale, &fresh] {
        assert!(
            !logs.contains(token.as_str()),
            "a token leaked into the logs"
        );
        assert!(
            !rendered.contains(token.as_str()),
            "a token leaked into an error or Debug"
        );
    }
    emu.shutdown().await;
}
