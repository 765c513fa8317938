//! The OAuth deep link in the real desktop app: the app runs (under Xvfb,
//! with its own D-Bus session bus), the admin approves on the emulator's
//! page, and a second launch with the `amosync://oauth/callback?…` link as
//! its argument — what the browser does — hands the link to the running
//! instance, which finishes the connection. Run by `scripts/test.sh` with
//! the other window tests (`--run-ignored only`, under `xvfb-run`).

mod support;

use std::path::Path;
use std::time::Duration;

use amo::Secret;
use amo::oauth::OAuthApp;
use amo_emulator::{Emulator, EmulatorConfig};
use amosync::auth::{AuthSecrets, Secrets, begin_oauth};
use amosync::config::DataDir;
use amosync_sync::SystemClock;
use support::{AppEnv, Proc, approve, lines_of, wait_for_line};

const WAIT: Duration = Duration::from_secs(60);

async fn connected(data: &Path) -> bool {
    let Ok(secrets) = Secrets::open(&DataDir::new(data)) else {
        return false;
    };
    matches!(
        secrets.load().await.map(|d| d.auth),
        Ok(Some(AuthSecrets::OAuth { .. }))
    ) && data.join("config.json").exists()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a display: run under xvfb-run with --run-ignored only (scripts/test.sh)"]
async fn a_second_launch_with_the_callback_link_connects_the_running_app() {
    let _slot = support::window_slot();
    let env = AppEnv::new();
    let data = env.data.clone();
    // This test binary holds only this test: no other thread reads the environment.
    unsafe {
        std::env::set_var("AMOSYNC_VAULT", "file");
        std::env::set_var("AMOSYNC_KEY_FILE", &env.key);
    }
    let emu = Emulator::start(EmulatorConfig {
        leads: 30,
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator");
    let integration = emu.register_integration("amosync://oauth/callback");

    // The admin pressed Connect in the app: a connection waits in the vault.
    let data_dir = DataDir::new(&data);
    data_dir.ensure().expect("data folder");
    let secrets = Secrets::open(&data_dir).expect("vault");
    let start = begin_oauth(
        &secrets,
        OAuthApp {
            client_id: integration.client_id.clone(),
            client_secret: Secret::new(integration.client_secret.expose().to_owned()),
            redirect_uri: integration.redirect_uri.clone(),
        },
        Some(emu.base_url()),
        None,
        &SystemClock,
    )
    .await
    .expect("begin");

    let mut first = Proc::new(
        "amosync-desktop",
        env.command(None).spawn().expect("the app starts"),
    );
    let lines = lines_of(first.child(), "app");
    wait_for_line(&lines, "ready for amosync:// links", WAIT);

    // The browser opens the link: a second launch with it as the argument.
    let link = approve(&start.authorize_url).await;
    assert!(link.starts_with("amosync://oauth/callback?"), "{link}");
    let mut second = Proc::new(
        "amosync-desktop (second launch)",
        env.command(Some(&link)).spawn().expect("second launch"),
    );
    let _second_lines = lines_of(second.child(), "second");
    assert_eq!(
        second.wait_exit(WAIT),
        Some(0),
        "the second launch exits after handing the link over"
    );

    // The running instance finished the connection.
    wait_for_line(&lines, "amoCRM connected through the amosync:// link", WAIT);
    assert!(
        connected(&data).await,
        "the folder holds the OAuth pair and the account"
    );
    let stats = emu.oauth_stats();
    assert_eq!((stats.codes_exchanged, stats.refresh_reuse), (1, 0));
    drop(first);
    emu.shutdown().await;
}
