//! `ControlAccess::Locked` over real HTTP: the control API wants the
//! per-run secret, every route a loopback `Host`; open (the default) keeps
//! the control API free for tests.

mod common;

use amo_emulator::{ControlAccess, EmulatorConfig, SECRET_HEADER};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HOST};

async fn status(request: reqwest::RequestBuilder) -> StatusCode {
    request.send().await.expect("the emulator answers").status()
}

#[tokio::test]
async fn a_locked_emulator_serves_only_its_secret_and_loopback_hosts() {
    let emu = common::start_with(EmulatorConfig {
        leads: 3,
        access: ControlAccess::Locked,
        ..Default::default()
    })
    .await;
    let base = emu.base_url();
    let secret = emu
        .control_secret()
        .expect("a locked emulator has a secret");
    let port = emu.addr().port();
    let c = common::client();
    let stats = || c.get(format!("{base}/_emulator/stats"));

    assert_eq!(status(stats()).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        status(stats().header(SECRET_HEADER, "x".repeat(64))).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(stats().header(SECRET_HEADER, &secret)).await,
        StatusCode::OK
    );
    assert_eq!(
        status(
            stats()
                .header(SECRET_HEADER, &secret)
                .header(HOST, format!("attacker.example:{port}"))
        )
        .await,
        StatusCode::MISDIRECTED_REQUEST
    );
    // The API keeps its bearer token, and checks the Host as well.
    let account = || {
        c.get(format!("{base}/api/v4/account"))
            .header(AUTHORIZATION, format!("Bearer {}", emu.token()))
    };
    assert_eq!(status(account()).await, StatusCode::OK);
    assert_eq!(
        status(account().header(HOST, format!("attacker.example:{port}"))).await,
        StatusCode::MISDIRECTED_REQUEST
    );
    // The consent page is behind the secret too.
    assert_eq!(
        status(c.get(format!("{base}/oauth?client_id=x&state=y"))).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn an_open_emulator_needs_no_secret() {
    let emu = common::start(3).await;
    assert_eq!(emu.control_secret(), None);
    let answer = common::client()
        .get(format!("{}/_emulator/stats", emu.base_url()))
        .send()
        .await
        .expect("answers");
    assert_eq!(answer.status(), StatusCode::OK);
}
