//! No secret of an OAuth connection ever lands in clear in the data folder
//! or in what the commands print: the whole life of a folder (connect by
//! OAuth, sync, serve with debug logs while a webhook arrives, status,
//! disconnect) is run, then every file under the folder (store, config,
//! logs, the encrypted vault) and every captured output is searched for the
//! client secret, the code, the tokens and the webhook secret.
//!
//! Runs its body in a child process on the encrypted-file vault (see
//! `support/oauth.rs`, `isolate`) so it can read the tokens it looks for.

#![cfg(unix)]

#[path = "support/oauth.rs"]
mod oauth;

use std::process::Stdio;
use std::time::{Duration, Instant};

use amosync::auth::{AuthSecrets, Secrets};
use amosync::config::DataDir;
use oauth::*;
use tokio::io::{AsyncBufReadExt, BufReader};

/// Named secrets to look for, and named texts to look in.
#[derive(Default)]
struct Scan {
    secrets: Vec<(String, String)>,
    outputs: Vec<(String, String)>,
}

impl Scan {
    fn secret(&mut self, what: &str, value: &str) {
        assert!(value.len() >= 16, "{what} is too short to search for");
        if !self.secrets.iter().any(|(_, v)| v == value) {
            self.secrets.push((what.to_owned(), value.to_owned()));
        }
    }

    fn output(&mut self, what: &str, run: &Run) {
        self.outputs
            .push((format!("{what} stdout"), run.stdout.clone()));
        self.outputs
            .push((format!("{what} stderr"), run.stderr.clone()));
    }

    /// Every place (file or output) where a secret appears.
    fn leaks(&self, folder: &Folder) -> Vec<String> {
        let mut found = Vec::new();
        let files = folder.files();
        for (what, secret) in &self.secrets {
            for path in &files {
                let bytes = std::fs::read(path).unwrap_or_default();
                if contains(&bytes, secret.as_bytes()) {
                    found.push(format!("{what} in {}", path.display()));
                }
            }
            for (name, text) in &self.outputs {
                if text.contains(secret.as_str()) {
                    found.push(format!("{what} in {name}"));
                }
            }
        }
        found
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The OAuth pair in the vault now.
async fn tokens(data: &DataDir) -> (String, String) {
    let doc = Secrets::open(data)
        .expect("vault")
        .load()
        .await
        .expect("secrets");
    match doc.auth {
        Some(AuthSecrets::OAuth { tokens, .. }) => (
            tokens.access_token.expose().clone(),
            tokens.refresh_token.expose().clone(),
        ),
        other => panic!("not connected by OAuth: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_a_file_or_an_output() {
    const NAME: &str = "no_secret_reaches_a_file_or_an_output";
    if !isolated_as(NAME) {
        isolate(NAME, NAME, &[]).await;
        return;
    }
    let emu = emulator().await;
    let redirect = format!("http://127.0.0.1:{}/oauth/callback", free_port());
    let integration = emu.register_integration(&redirect);
    let folder = Folder::new();
    let data = DataDir::new(&folder.data);
    let browser = Browser::new();
    let mut scan = Scan::default();
    scan.secret("client secret", integration.client_secret.expose());

    // Connect by OAuth through the loopback listener, with debug logs.
    let connecting = folder
        .start_connect_with(&emu, &integration, &redirect, &["-vv"])
        .await;
    let location = browser.decide(&connecting.authorize_url, true).await;
    scan.secret("auth code", &query_param(&location, "code").expect("code"));
    let (status, _) = browser.get(&location).await;
    assert_eq!(status, 200);
    let run = connecting.finish().await;
    assert_eq!(run.json()["auth"], "oauth");
    scan.output("connect", &run);
    let (access, refresh) = tokens(&data).await;
    scan.secret("access token", &access);
    scan.secret("refresh token", &refresh);

    let run = folder.run(&["-vv", "sync"]).await;
    run.json();
    scan.output("sync", &run);

    // Printing the webhook URL is `webhook-url`'s purpose: not scanned.
    let url = folder.run(&["webhook-url"]).await;
    assert_eq!(url.code, 0, "{url:#?}");
    let webhook_secret = url
        .stdout
        .trim()
        .split_once("/amocrm/")
        .map(|(_, s)| s.trim_end_matches('/').to_owned())
        .expect("the webhook URL holds /amocrm/<secret>/");
    scan.secret("webhook secret", &webhook_secret);

    assert!(
        folder.data.join("secrets.enc").is_file(),
        "the encrypted vault file"
    );
    assert!(
        !folder.data.join("credentials.json").exists(),
        "no clear credentials file"
    );

    // Serve with debug logs into the folder while amoCRM sends a webhook.
    let log = folder.data.join("serve.log");
    let mut serve = folder
        .command(&["-vv", "serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::from(std::fs::File::create(&log).expect("log file")))
        .spawn()
        .expect("serve starts");
    let mut lines = BufReader::new(serve.stdout.take().expect("stdout")).lines();
    let mut served = Vec::new();
    let ready = tokio::time::timeout(WAIT, async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if line == "ready" {
                return true;
            }
            served.push(line);
        }
        false
    })
    .await;
    assert_eq!(ready, Ok(true), "no `ready` from serve: {served:?}");
    let rest = tokio::spawn(async move {
        let mut rest = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            rest.push(line);
        }
        rest
    });

    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let added = http
        .post(format!("{}/_emulator/leads", emu.base_url()))
        .json(&serde_json::json!({"name": "Leak probe"}))
        .send()
        .await
        .expect("office action");
    assert!(added.status().is_success(), "{}", added.status());
    let started = Instant::now();
    loop {
        let found = folder
            .run(&["leads", "--search", "Leak probe"])
            .await
            .json();
        if found.as_array().is_some_and(|a| a.len() == 1) {
            break;
        }
        assert!(
            started.elapsed() < WAIT,
            "the webhook's lead never reached the store"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let run = folder.run(&["-vv", "status"]).await;
    run.json();
    scan.output("status while serving", &run);
    // While serving, `serve.json` (0600, removed at shutdown) holds the
    // webhook URL for `amosync webhook-url`, by design; nothing else may
    // show. This also proves the search finds what it looks for.
    let serve_json = folder.data.join("serve.json");
    assert_eq!(
        scan.leaks(&folder),
        vec![format!("webhook secret in {}", serve_json.display())],
        "while serving"
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&serve_json).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "serve.json is private");
    }

    let pid = libc::pid_t::try_from(serve.id().expect("running")).expect("pid");
    // SAFETY: plain kill(2) of our own child.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let exit = tokio::time::timeout(WAIT, serve.wait())
        .await
        .expect("serve stops within the bound")
        .expect("wait");
    assert_eq!(exit.code(), Some(0), "serve exit");
    served.extend(
        tokio::time::timeout(Duration::from_secs(10), rest)
            .await
            .expect("stdout closes")
            .expect("reader"),
    );
    // `webhook_url: …` tells the operator the receiver's URL (with its
    // secret) by design, like `amosync webhook-url`; every other line is scanned.
    let (told, shown): (Vec<String>, Vec<String>) = served
        .into_iter()
        .partition(|l| l.starts_with("webhook_url: "));
    assert!(told.concat().contains(&webhook_secret), "{told:?}");
    assert!(
        !folder.data.join("serve.json").exists(),
        "removed at shutdown"
    );
    scan.outputs.push((
        "serve stdout (but its webhook_url line)".into(),
        shown.join("\n"),
    ));
    let logged = std::fs::read_to_string(&log).expect("serve log");
    assert!(logged.contains("DEBUG"), "serve logged at debug level");
    // A refresh while serving would have made new tokens: look for those too.
    let (access, refresh) = tokens(&data).await;
    scan.secret("access token (after serve)", &access);
    scan.secret("refresh token (after serve)", &refresh);

    let run = folder.run(&["-vv", "status"]).await;
    assert_eq!(run.json()["credentials"]["auth"], "oauth");
    scan.output("status", &run);
    let before_disconnect = scan.leaks(&folder);

    let run = folder.run(&["-vv", "disconnect"]).await;
    assert_eq!(run.json()["disconnected"], true);
    scan.output("disconnect", &run);
    let status = folder.run(&["status"]).await.json();
    assert_eq!(status["credentials"]["present"], false, "{status:#}");

    let mut leaks = before_disconnect;
    leaks.extend(scan.leaks(&folder));
    leaks.sort();
    leaks.dedup();
    assert!(leaks.is_empty(), "secrets found in clear: {leaks:#?}");
    assert!(
        folder.files().iter().any(|p| p.ends_with("serve.log")),
        "the log was among the files searched"
    );
}
