//! Nothing goes over the network in clear text: a plain `http://` account
//! address other than this machine is refused by `connect` and by a saved
//! `config.json`, and a bore tunnel (clear-text TCP) is refused for an
//! account not on this machine unless it is behind TLS. Each error says
//! what to do. The real `amosync` binary; nothing listens on the addresses
//! named, so a request sent anyway would fail differently.

mod support;

use serde_json::json;
use support::amosync_in;

fn write_config(data: &std::path::Path, base_url: &str) {
    std::fs::create_dir_all(data).expect("data folder");
    std::fs::write(
        data.join("config.json"),
        serde_json::to_vec(&json!({"base_url": base_url, "listen": "127.0.0.1:8787"}))
            .expect("json"),
    )
    .expect("config.json");
}

#[tokio::test]
async fn connect_refuses_a_clear_text_account_address() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let run = amosync_in(
        &data,
        &[
            "connect",
            "--base-url",
            "http://office.amocrm.ru",
            "--token",
            "not-a-real-token",
        ],
    )
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    let line = run.error_line();
    assert!(
        line.contains("plain http://")
            && line.contains("https://")
            && line.ends_with("[InvalidInput]"),
        "{line}"
    );
    assert!(!line.contains("not-a-real-token"), "{line}");
    assert!(
        !data.join("config.json").exists(),
        "nothing is bound to a refused address"
    );
}

#[tokio::test]
async fn a_saved_clear_text_account_is_refused_before_any_request() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    write_config(&data, "http://office.amocrm.ru");
    let run = amosync_in(&data, &["sync"]).await;
    assert_eq!(run.code, 1, "{run:?}");
    let line = run.error_line();
    assert!(
        line.contains("plain http://") && line.contains("amosync connect"),
        "names the fix: {line}"
    );
}

#[tokio::test]
async fn bore_for_a_remote_account_needs_its_tls_address() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    write_config(&data, "https://office.amocrm.ru");
    let clear = amosync_in(
        &data,
        &[
            "tunnel",
            "--provider",
            "bore",
            "--server",
            "bore.example.com",
        ],
    )
    .await;
    assert_eq!(clear.code, 1, "{clear:?}");
    let line = clear.error_line();
    assert!(
        line.contains("clear text") && line.contains("--public-url https://"),
        "says why and what to do: {line}"
    );
    let plain_public = amosync_in(
        &data,
        &[
            "tunnel",
            "--provider",
            "bore",
            "--server",
            "bore.example.com",
            "--public-url",
            "http://hooks.example.com",
        ],
    )
    .await;
    assert_eq!(plain_public.code, 1, "{plain_public:?}");
    let tls = amosync_in(
        &data,
        &[
            "tunnel",
            "--provider",
            "bore",
            "--server",
            "bore.example.com",
            "--public-url",
            "https://hooks.example.com",
        ],
    )
    .await
    .json();
    assert_eq!(
        tls["tunnel"]["public_url"],
        json!("https://hooks.example.com")
    );
    assert_eq!(tls["saved"], json!(true));
}
