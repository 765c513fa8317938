//! `amosync disconnect`: this install's webhook leaves amoCRM, the secrets
//! are forgotten, the store stays for offline review; another integration's
//! webhook is left alone.

mod support;

use serde_json::json;
use support::{Served, amosync_in, api_list, connect, emulator, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_removes_our_webhook_forgets_secrets_and_keeps_the_store() {
    let emu = emulator(30).await;
    let admin = emu.issue_token(true);
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    connect(&data, &emu).await;
    let data_s = data.to_str().expect("utf-8");

    // Someone else's hook must survive.
    let other = "https://other.example.com/hooks/amocrm/";
    emu.hub()
        .register(other, &["add_lead".to_owned()], 10, 1)
        .expect("other hook");

    let served = Served::start(&["serve", "--data", data_s, "--listen", "127.0.0.1:0"]).await;
    let url = served.field("webhook_url");
    eventually("our webhook registered", || async {
        let hooks = api_list(&emu, &admin, "/api/v4/webhooks", "webhooks").await;
        hooks
            .iter()
            .any(|h| h["destination"] == json!(url))
            .then_some(())
    })
    .await;
    assert_eq!(served.stop_with(libc::SIGTERM).await, 0);
    let leads_before = amosync_in(&data, &["leads", "--limit", "1000"])
        .await
        .json();

    let out = amosync_in(&data, &["disconnect"]).await.json();
    assert_eq!(out["disconnected"], json!(true));
    assert_eq!(out["webhooks_removed"], json!(1), "{out}");
    let left: Vec<String> = api_list(&emu, &admin, "/api/v4/webhooks", "webhooks")
        .await
        .iter()
        .filter_map(|h| h["destination"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(left, vec![other.to_owned()]);

    let status = amosync_in(&data, &["status"]).await.json();
    assert_eq!(status["connected"], json!(false), "{status}");
    assert_eq!(status["credentials"]["present"], json!(false));
    assert!(!data.join("secrets.enc").exists() || status["credentials"]["auth"].is_null());
    // Offline review still works.
    let leads_after = amosync_in(&data, &["leads", "--limit", "1000"])
        .await
        .json();
    assert_eq!(leads_after, leads_before);
    // Serving needs a connection again, and says so.
    let again = amosync_in(&data, &["sync"]).await;
    assert_eq!(again.code, 1);
    assert!(again.error_line().contains("amosync connect"), "{again:?}");
}
