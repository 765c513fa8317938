//! The `amosync` binary end to end against the real emulator (loopback only):
//! connect → sync → every query's JSON equals the emulator's API view; serve
//! answers queries over the control channel and stops cleanly on SIGTERM;
//! errors are one line with the right exit code.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use support::*;

const MAIN_PIPELINE: u64 = 8_580_102;

fn ids(items: &[Value]) -> BTreeSet<u64> {
    items
        .iter()
        .map(|v| v["id"].as_u64().expect("id"))
        .collect()
}

fn contact_links(lead: &Value) -> BTreeSet<(u64, bool)> {
    lead["_embedded"]["contacts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|c| {
            (
                c["id"].as_u64().unwrap(),
                c["is_main"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_sync_and_every_query_match_the_api() {
    let emu = emulator(60).await;
    let reader = emu.issue_token(true);
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");

    // connect
    let connected = connect(&data, &emu).await;
    let account = api_get(&emu, &reader, "/api/v4/account").await.unwrap();
    assert_eq!(connected["connected"], json!(true));
    assert_eq!(connected["account"]["account_id"], account["id"]);
    assert_eq!(connected["account"]["subdomain"], account["subdomain"]);
    assert_eq!(connected["account"]["base_url"], json!(emu.base_url()));
    assert_eq!(connected["credentials"]["backend"], json!("encrypted_file"));
    assert_eq!(connected["auth"], json!("long_lived"));

    // sync: a full first pass
    let report = amosync_in(&data, &["sync"]).await.json();
    assert_eq!(report["full"], json!(true), "{report}");

    let api_leads = api_list(
        &emu,
        &reader,
        "/api/v4/leads?with=contacts&limit=250",
        "leads",
    )
    .await;
    assert!(api_leads.len() >= 50, "seeded leads: {}", api_leads.len());

    // leads: API v4 objects plus _sync
    let leads = amosync_in(&data, &["leads", "--limit", "100000", "--json"])
        .await
        .json();
    let leads = leads.as_array().expect("array").clone();
    assert_eq!(ids(&leads), ids(&api_leads));
    let by_id: BTreeMap<u64, &Value> = leads
        .iter()
        .map(|l| (l["id"].as_u64().unwrap(), l))
        .collect();
    for api in &api_leads {
        let id = api["id"].as_u64().unwrap();
        let ours = by_id[&id];
        for key in [
            "id",
            "name",
            "price",
            "status_id",
            "pipeline_id",
            "responsible_user_id",
            "created_at",
            "updated_at",
            "closed_at",
            "is_deleted",
            "custom_fields_values",
        ] {
            assert_eq!(ours[key], api[key], "lead {id} field {key}");
        }
        assert_eq!(
            ours["_embedded"]["tags"], api["_embedded"]["tags"],
            "lead {id} tags"
        );
        assert_eq!(
            contact_links(ours),
            contact_links(api),
            "lead {id} contacts"
        );
        assert_eq!(ours["_sync"]["origin"], json!("api"), "lead {id}");
    }

    // filters
    let won = amosync_in(
        &data,
        &[
            "leads",
            "--pipeline",
            &MAIN_PIPELINE.to_string(),
            "--status",
            "142",
            "--limit",
            "100000",
        ],
    )
    .await
    .json();
    let want_won: BTreeSet<u64> = api_leads
        .iter()
        .filter(|l| l["pipeline_id"] == json!(MAIN_PIPELINE) && l["status_id"] == json!(142))
        .map(|l| l["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids(won.as_array().unwrap()), want_won);
    let two = amosync_in(&data, &["leads", "--limit", "2", "--offset", "1"])
        .await
        .json();
    assert_eq!(two.as_array().unwrap().len(), 2);

    // lead ID: the lead, _sync, and _local with linked data
    let linked = api_leads
        .iter()
        .find(|l| !contact_links(l).is_empty())
        .expect("a lead with a contact");
    let id = linked["id"].as_u64().unwrap().to_string();
    let lead = amosync_in(&data, &["lead", &id]).await.json();
    assert_eq!(lead["id"], linked["id"]);
    assert_eq!(lead["name"], linked["name"]);
    for key in [
        "contacts",
        "companies",
        "notes",
        "talks",
        "history",
        "messages",
    ] {
        assert!(lead["_local"][key].is_array(), "_local.{key}: {lead}");
    }
    let local_contacts: BTreeSet<u64> = ids(lead["_local"]["contacts"].as_array().unwrap());
    let linked_contacts: BTreeSet<u64> = contact_links(linked).iter().map(|c| c.0).collect();
    assert_eq!(local_contacts, linked_contacts);

    // contacts and contact ID
    let api_contacts = api_list(&emu, &reader, "/api/v4/contacts?limit=250", "contacts").await;
    let contacts = amosync_in(&data, &["contacts", "--limit", "100000"])
        .await
        .json();
    let contacts = contacts.as_array().unwrap().clone();
    assert_eq!(ids(&contacts), ids(&api_contacts));
    for api in &api_contacts {
        let ours = contacts.iter().find(|c| c["id"] == api["id"]).unwrap();
        for key in [
            "name",
            "responsible_user_id",
            "created_at",
            "updated_at",
            "custom_fields_values",
        ] {
            assert_eq!(ours[key], api[key], "contact {} field {key}", api["id"]);
        }
        assert!(ours["_sync"].is_object());
    }
    let contact_id = linked_contacts.iter().next().unwrap().to_string();
    let contact = amosync_in(&data, &["contact", &contact_id]).await.json();
    assert_eq!(contact["id"].as_u64().unwrap().to_string(), contact_id);
    let contact_leads = ids(contact["_local"]["leads"].as_array().unwrap());
    assert!(
        contact_leads.contains(&linked["id"].as_u64().unwrap()),
        "{contact}"
    );

    // funnel: counts and money per status equal the API's leads, 142 and 143 included
    let funnel = amosync_in(&data, &["funnel", "--pipeline", &MAIN_PIPELINE.to_string()])
        .await
        .json();
    assert_eq!(funnel["pipeline_id"], json!(MAIN_PIPELINE));
    assert!(funnel["pipeline_name"].is_string());
    let statuses = funnel["statuses"].as_array().unwrap();
    let status_ids: BTreeSet<u64> = statuses
        .iter()
        .map(|s| s["status_id"].as_u64().unwrap())
        .collect();
    assert!(
        status_ids.contains(&142) && status_ids.contains(&143),
        "{status_ids:?}"
    );
    for s in statuses {
        let sid = s["status_id"].as_u64().unwrap();
        let here: Vec<&Value> = api_leads
            .iter()
            .filter(|l| l["pipeline_id"] == json!(MAIN_PIPELINE) && l["status_id"] == json!(sid))
            .collect();
        assert_eq!(s["count"], json!(here.len()), "status {sid}");
        let money: i64 = here.iter().map(|l| l["price"].as_i64().unwrap_or(0)).sum();
        assert_eq!(s["price_sum"], json!(money), "status {sid}");
        for key in ["name", "color", "sort"] {
            assert!(!s[key].is_null(), "status {sid} {key}");
        }
    }
    // The same with filters: one responsible user, leads created in a window.
    let user = api_leads
        .iter()
        .find(|l| l["pipeline_id"] == json!(MAIN_PIPELINE))
        .map(|l| l["responsible_user_id"].as_u64().unwrap())
        .unwrap();
    let mut created: Vec<i64> = api_leads
        .iter()
        .map(|l| l["created_at"].as_i64().unwrap())
        .collect();
    created.sort_unstable();
    let (from, to) = (created[created.len() / 4], created[created.len() * 3 / 4]);
    let filtered = amosync_in(
        &data,
        &[
            "funnel",
            "--pipeline",
            &MAIN_PIPELINE.to_string(),
            "--responsible",
            &user.to_string(),
            "--created-from",
            &from.to_string(),
            "--created-to",
            &to.to_string(),
        ],
    )
    .await
    .json();
    let mut filtered_total = 0;
    for s in filtered["statuses"].as_array().unwrap() {
        let sid = s["status_id"].as_u64().unwrap();
        let here: Vec<&Value> = api_leads
            .iter()
            .filter(|l| {
                let at = l["created_at"].as_i64().unwrap();
                l["pipeline_id"] == json!(MAIN_PIPELINE)
                    && l["status_id"] == json!(sid)
                    && l["responsible_user_id"] == json!(user)
                    && (from..to).contains(&at)
            })
            .collect();
        assert_eq!(s["count"], json!(here.len()), "filtered status {sid}");
        let money: i64 = here.iter().map(|l| l["price"].as_i64().unwrap_or(0)).sum();
        assert_eq!(s["price_sum"], json!(money), "filtered status {sid}");
        filtered_total += here.len();
    }
    assert!(filtered_total > 0, "the filter window selects some leads");
    let bad_date = amosync_in(&data, &["funnel", "--created-from", "yesterday"]).await;
    assert_eq!(bad_date.code, 2, "a bad date is a usage error");

    let all = amosync_in(&data, &["funnel"]).await.json();
    let api_pipelines = api_list(&emu, &reader, "/api/v4/leads/pipelines", "pipelines").await;
    assert_eq!(all.as_array().unwrap().len(), api_pipelines.len());
    let unknown = amosync_in(&data, &["funnel", "--pipeline", "1"]).await;
    assert_eq!(unknown.code, 1);
    assert!(
        unknown
            .error_line()
            .contains("pipeline 1 is not in the store")
    );

    // talks: API v4 talk objects plus _local chat activity
    let talks = amosync_in(&data, &["talks", "--limit", "1000"])
        .await
        .json();
    for talk in talks.as_array().unwrap().iter().take(5) {
        let id = talk["talk_id"].as_u64().expect("talk_id");
        let api = api_get(&emu, &reader, &format!("/api/v4/talks/{id}"))
            .await
            .unwrap();
        for key in [
            "talk_id",
            "chat_id",
            "contact_id",
            "entity_id",
            "origin",
            "is_read",
            "is_in_work",
        ] {
            assert_eq!(talk[key], api[key], "talk {id} field {key}");
        }
        assert!(talk["_local"].is_object() && talk["_sync"].is_object());
    }
    let lead_talks = amosync_in(&data, &["talks", "--lead", &id]).await.json();
    for talk in lead_talks.as_array().unwrap() {
        assert_eq!(talk["entity_id"].as_u64().unwrap().to_string(), id);
    }

    // events: the webhook log is empty without serve
    assert_eq!(amosync_in(&data, &["events"]).await.json(), json!([]));

    // status: counts, account, where credentials are — never their values
    let status = amosync_in(&data, &["status"]).await;
    let status_json = status.json();
    assert_eq!(status_json["connected"], json!(true));
    assert_eq!(status_json["counts"]["leads"], json!(api_leads.len()));
    assert_eq!(status_json["counts"]["contacts"], json!(api_contacts.len()));
    assert_eq!(status_json["account"]["account_id"], account["id"]);
    assert_eq!(
        status_json["credentials"]["backend"],
        json!("encrypted_file")
    );
    assert_eq!(status_json["credentials"]["present"], json!(true));
    assert!(
        status_json["sync"]["initial_sync_at"].is_i64(),
        "{status_json}"
    );
    assert_eq!(status_json["serve"], Value::Null);

    // unknown lead: exit 1, one line that says what to do
    let missing = amosync_in(&data, &["lead", "999999999"]).await;
    assert_eq!(missing.code, 1);
    let line = missing.error_line();
    assert!(
        line.contains("lead 999999999 is not in the store"),
        "{line}"
    );
    assert!(line.contains("amosync sync"), "{line}");
    assert!(missing.stdout.is_empty());

    // webhook-url: the saved address with the secret
    let url = amosync_in(&data, &["webhook-url"]).await;
    assert_eq!(url.code, 0, "{url:?}");
    let url = url.stdout.trim().to_owned();
    let secret = url
        .strip_prefix("http://127.0.0.1:")
        .and_then(|rest| rest.split_once("/amocrm/"))
        .map(|(_, s)| s.trim_end_matches('/').to_owned())
        .unwrap_or_else(|| panic!("unexpected webhook URL {url}"));
    assert!(
        secret.len() >= 32 && secret.chars().all(|c| c.is_ascii_hexdigit()),
        "{url}"
    );

    // secrets: not in the store file, not in status, not in clear anywhere;
    // the encrypted vault file is 0600
    let token = emu.token();
    let store_bytes = std::fs::read(data.join("amosync.redb")).unwrap();
    for needle in [token.as_bytes(), secret.as_bytes()] {
        assert!(
            !store_bytes.windows(needle.len()).any(|w| w == needle),
            "a secret is in the store"
        );
    }
    assert!(!status.stdout.contains(&token) && !status.stdout.contains(&secret));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert!(!data.join("credentials.json").exists());
        let vault = std::fs::read(data.join("secrets.enc")).unwrap();
        for needle in [token.as_bytes(), secret.as_bytes()] {
            assert!(
                !vault.windows(needle.len()).any(|w| w == needle),
                "a secret is in clear in the vault"
            );
        }
        let mode = std::fs::metadata(data.join("secrets.enc"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // a second sync is incremental; reconnecting the same account keeps the secret
    let again = amosync_in(&data, &["sync"]).await.json();
    assert_eq!(again["full"], json!(false), "{again}");
    let reconnected = connect(&data, &emu).await;
    assert_eq!(reconnected["reconnected"], json!(true));
    assert_eq!(reconnected["webhook_secret"], json!("kept"));
    let url_after = amosync_in(&data, &["webhook-url"]).await;
    assert_eq!(url_after.stdout.trim(), url);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_queries_over_the_control_channel_and_stops_on_sigterm() {
    let emu = emulator(40).await;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let data_s = data.to_str().unwrap().to_owned();
    connect(&data, &emu).await;

    let served = Served::start(&[
        "serve",
        "--data",
        &data_s,
        "--listen",
        "127.0.0.1:0",
        "--no-tunnel",
    ])
    .await;
    let webhook_url = served.field("webhook_url");
    assert!(
        webhook_url.starts_with("http://127.0.0.1:") && webhook_url.contains("/amocrm/"),
        "{webhook_url}"
    );

    // serve.json: owner-only, names this process
    let file: Value =
        serde_json::from_slice(&std::fs::read(data.join("serve.json")).unwrap()).unwrap();
    assert_eq!(file["pid"], json!(served.pid()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("serve.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // The control API wants its token.
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let control = file["control_url"].as_str().unwrap();
    for token in [None, Some("wrong")] {
        let mut request = http
            .post(format!("{control}/v1/query"))
            .json(&json!({"query": "status"}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        assert_eq!(request.send().await.unwrap().status(), 401);
    }
    let direct: Value = http
        .post(format!("{control}/v1/query"))
        .bearer_auth(file["token"].as_str().unwrap())
        .json(&json!({"query": "status"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(direct["serve"]["pid"], json!(served.pid()));

    // The store is held by serve: queries are answered over the control channel.
    let status = amosync_in(&data, &["status"]).await.json();
    assert_eq!(status["serve"]["pid"], json!(served.pid()));
    assert!(
        !status
            .to_string()
            .contains(webhook_url.rsplit('/').nth(1).unwrap()),
        "status leaks the secret"
    );

    // The engine's first catch-up fills the store.
    let api_count = emu.world().leads.values().filter(|l| !l.is_deleted).count();
    eventually("the initial catch-up", || {
        let data = data.clone();
        async move {
            let s = amosync_in(&data, &["status"]).await.json();
            // All leads in, and the pass at start over (a `sync` during it
            // would get that full pass's report).
            let engine = &s["serve"]["engine"];
            (s["counts"]["leads"] == json!(api_count)
                && engine["last_catchup_at"].is_i64()
                && engine["catching_up"] == json!(false))
            .then_some(())
        }
    })
    .await;

    // The webhook was registered with the emulator, so an office action arrives.
    let added = office(
        &emu,
        "/leads",
        json!({"name": "Аренда Prius на неделю CLI", "price": 1200}),
    )
    .await;
    let new_id = added["id"].as_u64().expect("new lead id");
    let lead = eventually("the new lead through the webhook", || {
        let data = data.clone();
        async move {
            let run = amosync_in(&data, &["lead", &new_id.to_string()]).await;
            (run.code == 0).then(|| run.json())
        }
    })
    .await;
    assert_eq!(lead["name"], json!("Аренда Prius на неделю CLI"));
    assert_eq!(lead["price"], json!(1200));
    let found = amosync_in(&data, &["leads", "--search", "prius на неделю cli"])
        .await
        .json();
    assert_eq!(ids(found.as_array().unwrap()), BTreeSet::from([new_id]));
    let events = amosync_in(&data, &["events", "--limit", "5"]).await.json();
    assert!(
        !events.as_array().unwrap().is_empty(),
        "the webhook is in the log"
    );

    // The same JSON shapes as the local path.
    for args in [&["funnel"][..], &["contacts", "--limit", "3"], &["talks"]] {
        let run = amosync_in(&data, args).await;
        assert!(run.json().is_array(), "{args:?}");
    }
    let missing = amosync_in(&data, &["lead", "999999999"]).await;
    assert_eq!(missing.code, 1);
    assert!(missing.error_line().contains("is not in the store"));

    // sync while serving: the engine runs the pass.
    let report = amosync_in(&data, &["sync"]).await.json();
    assert_eq!(report["full"], json!(false), "{report}");

    // webhook-url while serving: the live URL.
    let url = amosync_in(&data, &["webhook-url"]).await;
    assert_eq!(url.stdout.trim(), webhook_url);

    // A second serve on the same folder refuses.
    let second = amosync_in(&data, &["serve", "--no-tunnel"]).await;
    assert_eq!(second.code, 1);
    assert!(second.error_line().contains("already served"), "{second:?}");

    // SIGTERM: clean exit 0, serve.json removed, the store usable locally again.
    assert_eq!(served.stop_with(libc::SIGTERM).await, 0);
    assert!(!data.join("serve.json").exists());
    let after = amosync_in(&data, &["status"]).await.json();
    assert_eq!(after["serve"], Value::Null);
    assert_eq!(after["counts"]["leads"], json!(api_count + 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_serve_file_is_removed_and_the_query_answered_locally() {
    let emu = emulator(5).await;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    connect(&data, &emu).await;
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    std::fs::write(
        data.join("serve.json"),
        json!({"pid": dead, "control_url": "http://127.0.0.1:9", "token": "x", "webhook_url": null, "started_at": 0})
            .to_string(),
    )
    .unwrap();
    // Another process (this test, like the desktop app) holds the store:
    // the query must not trust the file's live pid and try its control URL.
    let store = amosync_store::Store::open(&data.join("amosync.redb")).unwrap();
    let run = amosync_in(&data, &["status"]).await;
    assert_eq!(run.code, 1, "{run:?}");
    let line = run.error_line();
    assert!(line.contains("takes no queries"), "{line}");
    assert!(
        !data.join("serve.json").exists(),
        "the stale file was not removed"
    );
    drop(store);
    let status = amosync_in(&data, &["status"]).await.json();
    assert_eq!(status["serve"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_2_with_one_line() {
    for args in [
        &["leads", "--bogus"][..],
        &["lead", "not-a-number"],
        &["connect", "--token", "t"],
        &["serve", "--listen", "nowhere"],
        &["no-such-command"],
    ] {
        let run = amosync(args).await;
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(run.error_line().starts_with("amosync: "), "{run:?}");
    }
    let help = amosync(&["--help"]).await;
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("connect") && help.stdout.contains("webhook-url"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_token_exits_1_with_one_line() {
    let emu = emulator(1).await;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let run = amosync_in(
        &data,
        &[
            "connect",
            "--base-url",
            &emu.base_url(),
            "--token",
            "not-a-real-token-123",
        ],
    )
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    let line = run.error_line();
    assert!(
        line.contains("did not accept AmoSync's credentials"),
        "{line}"
    );
    assert!(line.contains("--token"), "{line}");
    assert!(
        !line.contains("not-a-real-token-123"),
        "the token is echoed: {line}"
    );
    assert!(!data.join("credentials.json").exists());

    // and an unreachable account is one line too
    let run = amosync_in(
        &data,
        &[
            "connect",
            "--base-url",
            "http://127.0.0.1:9",
            "--token",
            "x",
        ],
    )
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    // Exactly one line: no retry logs before it at the default verbosity.
    let line = run.error_line();
    assert!(
        line.starts_with("amosync: ") && line.ends_with("[Unreachable]"),
        "{run:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_sync_is_one_line_and_verbose_logs_more() {
    let emu = emulator(3).await;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    connect(&data, &emu).await;
    // Every API request answers 500: the client retries, the pass fails.
    office(&emu, "/faults/force", json!({"status": 500, "count": 1000})).await;
    let run = amosync_in(&data, &["sync"]).await;
    assert_eq!(run.code, 1, "{run:?}");
    let line = run.error_line();
    assert!(line.ends_with("[Unreachable]"), "{line}");
    assert!(run.stdout.is_empty(), "{run:?}");
    // -v still shows what happened on the way.
    let verbose = amosync_in(&data, &["sync", "-v"]).await;
    assert_eq!(verbose.code, 1, "{verbose:?}");
    assert!(verbose.stderr.lines().count() > 1, "{verbose:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_account_is_refused_and_nothing_is_connected_before_connect() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");

    for args in [
        &["leads"][..],
        &["lead", "1"],
        &["sync"],
        &["webhook-url"],
        &["serve", "--no-tunnel"],
    ] {
        let run = amosync_in(&data, args).await;
        assert_eq!(run.code, 1, "{args:?}: {run:?}");
        assert!(run.error_line().contains("amosync connect"), "{run:?}");
    }
    let status = amosync_in(&data, &["status"]).await.json();
    assert_eq!(status["connected"], json!(false));

    let first = emulator(1).await;
    connect(&data, &first).await;
    let other = emulator(1).await;
    other.world().account.id = 99_000_001;
    let run = amosync_in(
        &data,
        &[
            "connect",
            "--base-url",
            &other.base_url(),
            "--token",
            &other.token(),
        ],
    )
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    let line = run.error_line();
    assert!(line.contains("another --data"), "{line}");
    assert!(line.contains("[AccountMismatch]"), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_starts_serves_and_answers_status() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    std::fs::create_dir_all(root.join("demo")).unwrap();
    std::fs::write(root.join("demo").join("leftover"), "old demo").unwrap();
    let root_s = root.to_str().unwrap().to_owned();
    let served = Served::start(&[
        "demo",
        "--data",
        &root_s,
        "--leads",
        "30",
        "--now",
        &NOW.to_string(),
    ])
    .await;
    let demo_data = served.field("data");
    assert_eq!(std::path::Path::new(&demo_data), root.join("demo"));
    assert!(served.field("emulator").starts_with("http://127.0.0.1:"));
    assert!(served.field("webhook_url").contains("/amocrm/"));
    assert!(
        !root.join("demo").join("leftover").exists(),
        "the demo folder is wiped"
    );

    let status = eventually("the demo's first catch-up", || {
        let demo_data = demo_data.clone();
        async move {
            let s = amosync(&["status", "--data", &demo_data]).await.json();
            (s["counts"]["leads"].as_u64().unwrap_or(0) > 0).then_some(s)
        }
    })
    .await;
    assert_eq!(status["connected"], json!(true));
    assert_eq!(status["serve"]["pid"], json!(served.pid()));
    assert_eq!(served.stop_with(libc::SIGINT).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_right_at_ready_stops_cleanly() {
    let emu = emulator(5).await;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let data_s = data.to_str().unwrap().to_owned();
    connect(&data, &emu).await;
    for round in 0..5 {
        let served = Served::start(&["serve", "--data", &data_s, "--no-tunnel"]).await;
        // No pause: the signal lands while serve has just printed `ready`.
        let code = served.stop_with(libc::SIGTERM).await;
        assert_eq!(code, 0, "round {round}: SIGTERM right after `ready`");
        assert!(
            !data.join("serve.json").exists(),
            "round {round}: serve.json left behind"
        );
    }
    let status = amosync_in(&data, &["status"]).await.json();
    assert_eq!(status["serve"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_demo_on_the_same_folder_is_refused_even_while_the_first_starts() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let root_s = root.to_str().unwrap().to_owned();
    let args = [
        "demo",
        "--data",
        root_s.as_str(),
        "--leads",
        "1500",
        "--now",
        "1750000000",
    ];
    let first = Served::spawn(&args);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let second = amosync(&args).await;
    assert_eq!(second.code, 1, "{second:?}");
    let line = second.error_line();
    assert!(
        line.contains("a demo is already running") && line.contains("another --data"),
        "{line}"
    );
    // The first one was not disturbed: it comes up and answers.
    let first = Served::ready(first, &args).await;
    let demo_data = first.field("data");
    let status = amosync(&["status", "--data", &demo_data]).await.json();
    assert_eq!(status["serve"]["pid"], json!(first.pid()));
    assert_eq!(first.stop_with(libc::SIGTERM).await, 0);
    assert!(!root.join("demo").join("serve.json").exists());
    // Stopped: a new demo may wipe and start again.
    let again = Served::start(&[
        "demo",
        "--data",
        &root_s,
        "--leads",
        "5",
        "--now",
        "1750000000",
    ])
    .await;
    assert_eq!(again.stop_with(libc::SIGINT).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_cancels_a_sync_in_flight_and_says_so() {
    let emu = emulator(20).await;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let data_s = data.to_str().unwrap().to_owned();
    connect(&data, &emu).await;
    let served = Served::start(&["serve", "--data", &data_s, "--no-tunnel"]).await;
    // Every API answer now takes 60 s: a catch-up pass cannot finish soon.
    office(
        &emu,
        "/faults/api",
        json!({"slow_rate": 1.0, "slow_ms": 60_000}),
    )
    .await;
    let sync = tokio::spawn({
        let data = data.clone();
        async move { amosync_in(&data, &["sync"]).await }
    });
    // Let the request reach serve (it waits on the slow pass).
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(
        !sync.is_finished(),
        "the sync did not wait on the slow pass"
    );
    let started = std::time::Instant::now();
    assert_eq!(served.stop_with(libc::SIGTERM).await, 0);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "serve took {:?} to stop",
        started.elapsed()
    );
    assert!(!data.join("serve.json").exists());
    let sync = tokio::time::timeout(WAIT, sync).await.unwrap().unwrap();
    assert_eq!(sync.code, 1, "{sync:?}");
    let line = sync.error_line();
    assert!(line.contains("is shutting down"), "{line}");
    assert!(line.contains("[StoreUnavailable]"), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_ends_the_shutdown_at_once() {
    let emu = emulator(5).await;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let data_s = data.to_str().unwrap().to_owned();
    let log = tmp.path().join("serve.log");
    connect(&data, &emu).await;
    let args = ["serve", "--data", data_s.as_str(), "--no-tunnel"];
    let served = Served::ready(Served::spawn_logged(&args, &log), &args).await;
    let code = served.stop_with_all(&[libc::SIGTERM, libc::SIGINT]).await;
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert_eq!(code, 130, "{stderr}");
    assert!(stderr.contains("stopped at once by a second"), "{stderr}");
    assert!(!data.join("serve.json").exists());
    // The store is usable again.
    let status = amosync_in(&data, &["status"]).await.json();
    assert_eq!(status["connected"], json!(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serve_file_whose_lock_is_free_is_stale_even_if_its_pid_lives() {
    let emu = emulator(5).await;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    connect(&data, &emu).await;
    // The pid of a live process (this test), as after a pid reuse; a
    // serve.lock nobody holds, as a killed serve leaves it.
    std::fs::write(data.join("serve.lock"), "").unwrap();
    std::fs::write(
        data.join("serve.json"),
        json!({"pid": std::process::id(), "control_url": "http://127.0.0.1:9", "token": "x", "webhook_url": null, "started_at": 0})
            .to_string(),
    )
    .unwrap();
    // Another process (this test, like the desktop app) holds the store:
    // the query must not trust the file's live pid and try its control URL.
    let store = amosync_store::Store::open(&data.join("amosync.redb")).unwrap();
    let run = amosync_in(&data, &["status"]).await;
    assert_eq!(run.code, 1, "{run:?}");
    let line = run.error_line();
    assert!(line.contains("takes no queries"), "{line}");
    assert!(
        !data.join("serve.json").exists(),
        "the stale file was not removed"
    );
    drop(store);
    let status = amosync_in(&data, &["status"]).await.json();
    assert_eq!(status["serve"], Value::Null);
}
