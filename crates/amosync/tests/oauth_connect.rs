//! Connecting by OAuth end to end, against the real emulator's consent page
//! and token endpoint: the loopback listener of `amosync connect`, the
//! pasted deep-link address, `--code`, the refusals (wrong state, Deny, a
//! redirect URI that differs from the integration's) and the desktop app's
//! deep-link handler (`begin_oauth` → `finish_oauth` → `connect`).

#[path = "support/oauth.rs"]
mod oauth;

use amo::Secret;
use amo::oauth::{AuthorizeSite, OAuthApp};
use amosync::auth::{AuthSecrets, Secrets, begin_oauth, finish_oauth};
use amosync::cli::connect::{ConnectRequest, connect};
use amosync::config::DataDir;
use amosync_sync::SystemClock;
use oauth::*;
use serde_json::Value;

/// `amosync status` of a folder that must not be connected.
async fn assert_not_connected(folder: &Folder) {
    let status = folder.run(&["status"]).await.json();
    assert_eq!(status["connected"], false, "{status:#}");
    assert_eq!(status["credentials"]["present"], false, "{status:#}");
    assert_eq!(status["credentials"]["auth"], Value::Null, "{status:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_flow_connects_and_the_tokens_work() {
    let emu = emulator().await;
    let redirect = format!("http://127.0.0.1:{}/oauth/callback", free_port());
    let integration = emu.register_integration(&redirect);
    let folder = Folder::new();
    let browser = Browser::new();

    let connecting = folder.start_connect(&emu, &integration, &redirect).await;
    assert!(
        connecting
            .authorize_url
            .starts_with(&format!("{}/oauth?", emu.base_url())),
        "{}",
        connecting.authorize_url
    );
    let location = browser.decide(&connecting.authorize_url, true).await;
    assert!(location.starts_with(&format!("{redirect}?")), "{location}");
    // The browser follows the redirect to the CLI's own listener.
    let (status, page) = browser.get(&location).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("connected"), "{page}");
    let run = connecting.finish().await;
    let out = run.json();
    assert_eq!(out["connected"], true, "{out:#}");
    assert_eq!(out["auth"], "oauth", "{out:#}");
    assert_eq!(out["credentials"]["backend"], "encrypted_file", "{out:#}");

    let status = folder.run(&["status"]).await.json();
    assert_eq!(status["connected"], true, "{status:#}");
    assert_eq!(status["credentials"]["auth"], "oauth", "{status:#}");
    assert_eq!(
        status["credentials"]["backend"], "encrypted_file",
        "{status:#}"
    );
    assert_eq!(status["credentials"]["present"], true, "{status:#}");
    assert_eq!(
        status["credentials"]["reconnect_needed"], false,
        "{status:#}"
    );

    // The pair really works: a full pull, then the leads from the store.
    folder.run(&["sync"]).await.json();
    let leads = folder.run(&["leads", "--limit", "1000"]).await.json();
    assert_eq!(
        leads.as_array().map(Vec::len),
        Some(live_leads(&emu)),
        "every lead of the account was pulled with the OAuth token"
    );
    let stats = emu.oauth_stats();
    assert_eq!(
        (stats.codes_issued, stats.codes_exchanged),
        (1, 1),
        "{stats:?}"
    );
    assert_eq!(stats.failed_exchanges, 0, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pasted_deep_link_address_connects() {
    let emu = emulator().await;
    let integration = emu.register_integration(DEEP_LINK);
    let folder = Folder::new();

    let mut connecting = folder.start_connect(&emu, &integration, DEEP_LINK).await;
    let location = Browser::new().decide(&connecting.authorize_url, true).await;
    assert!(
        location.starts_with("amosync://oauth/callback?"),
        "{location}"
    );
    connecting.paste(&location).await;
    let out = connecting.finish().await.json();
    assert_eq!(out["connected"], true, "{out:#}");
    assert_eq!(out["auth"], "oauth", "{out:#}");
    let status = folder.run(&["status"]).await.json();
    assert_eq!(status["credentials"]["auth"], "oauth", "{status:#}");
    assert_eq!(emu.oauth_stats().codes_exchanged, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_given_on_the_command_line_connects_once() {
    let emu = emulator().await;
    let integration = emu.register_integration(DEEP_LINK);
    let code = Browser::new().code_for(&emu, &integration).await;

    let folder = Folder::new();
    let out = folder
        .connect_with_code(&emu, &integration, DEEP_LINK, &code)
        .await
        .json();
    assert_eq!(out["connected"], true, "{out:#}");
    assert_eq!(out["auth"], "oauth", "{out:#}");
    assert_eq!(emu.oauth_stats().codes_exchanged, 1);

    // Codes are single-use: the same code on another folder is refused clearly.
    let other = Folder::new();
    let run = other
        .connect_with_code(&emu, &integration, DEEP_LINK, &code)
        .await;
    let line = run.error_line();
    assert!(line.contains("refused the sign-in code"), "{line}");
    assert!(!line.contains(&code), "the code is never repeated: {line}");
    assert_not_connected(&other).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_with_another_state_is_refused() {
    let emu = emulator().await;
    let integration = emu.register_integration(DEEP_LINK);
    let folder = Folder::new();

    let mut connecting = folder.start_connect(&emu, &integration, DEEP_LINK).await;
    let location = Browser::new().decide(&connecting.authorize_url, true).await;
    let state = query_param(&location, "state").expect("state");
    let forged = with_param(&location, "state", &format!("{state}x"));
    connecting.paste(&forged).await;
    let run = connecting.finish().await;
    let line = run.error_line();
    assert!(line.contains("state mismatch"), "{line}");
    assert!(
        !line.contains(&state),
        "the state is never repeated: {line}"
    );
    assert_eq!(
        emu.oauth_stats().codes_exchanged,
        0,
        "the code was not spent"
    );
    assert_not_connected(&folder).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pressing_deny_says_access_was_not_granted() {
    let emu = emulator().await;
    let integration = emu.register_integration(DEEP_LINK);
    let folder = Folder::new();

    let mut connecting = folder.start_connect(&emu, &integration, DEEP_LINK).await;
    let location = Browser::new()
        .decide(&connecting.authorize_url, false)
        .await;
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("access_denied")
    );
    connecting.paste(&location).await;
    let run = connecting.finish().await;
    let line = run.error_line();
    assert!(line.contains("access was not granted"), "{line}");
    assert!(line.contains("press Allow"), "says what to do: {line}");
    let stats = emu.oauth_stats();
    assert_eq!(
        (stats.codes_issued, stats.codes_exchanged),
        (0, 0),
        "{stats:?}"
    );
    assert_not_connected(&folder).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_uri_unlike_the_integrations_fails_the_exchange_clearly() {
    let emu = emulator().await;
    let integration = emu.register_integration(DEEP_LINK);
    let folder = Folder::new();
    let given = format!("{DEEP_LINK}/");

    let mut connecting = folder.start_connect(&emu, &integration, &given).await;
    let location = Browser::new().decide(&connecting.authorize_url, true).await;
    connecting.paste(&location).await;
    let run = connecting.finish().await;
    let line = run.error_line();
    assert!(line.contains("refused the sign-in code"), "{line}");
    assert!(
        line.contains("Redirect URI mismatch"),
        "names the cause: {line}"
    );
    assert!(
        line.contains("redirect URI must match the integration's exactly"),
        "says what to do: {line}"
    );
    let stats = emu.oauth_stats();
    assert_eq!(
        (stats.codes_exchanged, stats.failed_exchanges),
        (0, 1),
        "{stats:?}"
    );
    assert_not_connected(&folder).await;
}

/// The desktop app's path: the connection is started in one process, the
/// `amosync://` deep link is handled by a fresh one (a cold start), and the
/// pair it gets connects the folder. Runs in a child process on the file vault.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_link_handler_finishes_a_connection_started_elsewhere() {
    const NAME: &str = "deep_link_handler_finishes_a_connection_started_elsewhere";
    if !isolated_as(NAME) {
        isolate(NAME, NAME, &[]).await;
        return;
    }
    let emu = emulator().await;
    let integration = emu.register_integration(DEEP_LINK);
    let folder = Folder::new();
    let data = DataDir::new(&folder.data);
    let app = OAuthApp {
        client_id: integration.client_id.clone(),
        client_secret: Secret::new(integration.client_secret.expose().to_owned()),
        redirect_uri: DEEP_LINK.to_owned(),
    };
    // The account is not known yet: the consent page names it (`referer`).
    let site =
        AuthorizeSite::Custom(url::Url::parse(&format!("{}/oauth", emu.base_url())).unwrap());
    let start = begin_oauth(
        &Secrets::open(&data).expect("vault"),
        app.clone(),
        None,
        Some(site),
        &SystemClock,
    )
    .await
    .expect("connection started");

    let location = Browser::new().decide(&start.authorize_url, true).await;
    assert!(
        location.starts_with("amosync://oauth/callback?"),
        "{location}"
    );
    let handler = Secrets::open(&data).expect("vault, as a fresh process opens it");
    let exchanged = finish_oauth(&handler, &location, &SystemClock)
        .await
        .expect("the deep link finishes the connection");
    assert_eq!(exchanged.base_url, emu.base_url());
    assert!(exchanged.app == app);
    assert!(exchanged.tokens.expires_at > exchanged.tokens.obtained_at);

    let out = connect(
        &data,
        ConnectRequest {
            base_url: exchanged.base_url.clone(),
            auth: AuthSecrets::OAuth {
                app: exchanged.app.clone(),
                tokens: exchanged.tokens.clone(),
            },
            listen: Some("127.0.0.1:0".parse().unwrap()),
        },
    )
    .await
    .expect("connects");
    assert_eq!(out["connected"], true, "{out:#}");
    assert_eq!(out["auth"], "oauth", "{out:#}");

    // The started connection was consumed: a replayed link is refused.
    let replay = finish_oauth(&handler, &location, &SystemClock)
        .await
        .expect_err("a second use of the link");
    assert!(
        replay.message.contains("press Connect again"),
        "{}",
        replay.message
    );
    assert_eq!(emu.oauth_stats().codes_exchanged, 1);

    let status = folder.run(&["status"]).await.json();
    assert_eq!(status["connected"], true, "{status:#}");
    assert_eq!(status["credentials"]["auth"], "oauth", "{status:#}");
}
