//! `GET/POST/DELETE /api/v4/webhooks` semantics of the hub.

mod webhook_support;

use amo_emulator::model::WEBHOOK_SETTINGS;
use amo_emulator::webhooks::{MAX_WEBHOOKS, RegisterError, WebhookConfig, WebhookHub};
use serde_json::json;
use webhook_support::{MANAGER, account};

fn codes(codes: &[&str]) -> Vec<String> {
    codes.iter().map(|c| c.to_string()).collect()
}

fn hub() -> WebhookHub {
    WebhookHub::new(account(), WebhookConfig::default())
}

#[tokio::test]
async fn register_returns_the_api_object() {
    let hub = hub();
    let sub = hub
        .register(
            "https://example.com/amo/x1",
            &codes(&["add_lead", "status_lead", "add_lead"]),
            10,
            MANAGER,
        )
        .unwrap();
    let v = sub.to_json();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    for k in [
        "id",
        "destination",
        "created_at",
        "updated_at",
        "account_id",
        "created_by",
        "sort",
        "disabled",
        "settings",
    ] {
        assert!(keys.contains(&k), "missing {k}");
    }
    assert_eq!(v["destination"], json!("https://example.com/amo/x1"));
    assert_eq!(v["account_id"], json!(account().id));
    assert_eq!(v["created_by"], json!(MANAGER));
    assert_eq!(v["sort"], json!(10));
    assert_eq!(v["disabled"], json!(false));
    assert_eq!(v["settings"], json!(["add_lead", "status_lead"]));
    assert!(v["id"].as_u64().is_some_and(|id| id > 0));
}

#[tokio::test]
async fn re_posting_a_destination_updates_it() {
    let hub = hub();
    let url = "http://127.0.0.1:9/hook";
    let first = hub
        .register(url, &codes(&["add_lead"]), 10, MANAGER)
        .unwrap();
    let second = hub
        .register(url, &codes(&["update_lead", "add_talk"]), 20, MANAGER)
        .unwrap();
    assert_eq!(second.id, first.id);
    assert_eq!(second.created_at, first.created_at);
    assert!(second.updated_at >= first.updated_at);
    assert_eq!(
        (second.sort, second.settings.clone()),
        (20, codes(&["update_lead", "add_talk"]))
    );
    assert_eq!(hub.list(None), vec![second.clone()]);
    assert_eq!(hub.list(Some(url)), vec![second]);
    assert!(hub.list(Some("http://127.0.0.1:9/other")).is_empty());
}

#[tokio::test]
async fn every_documented_setting_is_accepted() {
    let hub = hub();
    let all: Vec<String> = WEBHOOK_SETTINGS.iter().map(|s| s.to_string()).collect();
    let sub = hub
        .register("https://example.com/all", &all, 0, MANAGER)
        .unwrap();
    assert_eq!(sub.settings, all);
}

#[tokio::test]
async fn bad_requests_are_refused() {
    let hub = hub();
    for bad in [
        "",
        "not a url",
        "/relative/path",
        "ftp://example.com/x",
        "mailto:a@b.c",
        "http://",
    ] {
        assert!(
            matches!(
                hub.register(bad, &codes(&["add_lead"]), 0, MANAGER),
                Err(RegisterError::InvalidUrl(_))
            ),
            "{bad:?}"
        );
    }
    assert_eq!(
        hub.register(
            "https://example.com/x",
            &codes(&["add_unicorn", "delete_unsorted"]),
            0,
            MANAGER
        ),
        Err(RegisterError::UnknownSetting("add_unicorn".into()))
    );
    assert!(matches!(
        hub.register("https://example.com/x", &[], 0, MANAGER),
        Err(RegisterError::UnknownSetting(_))
    ));
    assert_eq!(
        hub.unregister("https://example.com/never"),
        Err(RegisterError::NotFound)
    );
    assert!(hub.list(None).is_empty());
    assert!(
        RegisterError::InvalidUrl("x".into())
            .to_string()
            .contains("Invalid URL")
    );
}

#[tokio::test]
async fn at_most_100_webhooks() {
    let hub = hub();
    for i in 0..MAX_WEBHOOKS {
        hub.register(
            &format!("https://example.com/h{i}"),
            &codes(&["add_lead"]),
            0,
            MANAGER,
        )
        .unwrap();
    }
    assert_eq!(
        hub.register(
            "https://example.com/one-more",
            &codes(&["add_lead"]),
            0,
            MANAGER
        ),
        Err(RegisterError::TooMany)
    );
    // Updating an existing one is still fine at the limit.
    assert!(
        hub.register(
            "https://example.com/h7",
            &codes(&["update_lead"]),
            0,
            MANAGER
        )
        .is_ok()
    );
    hub.unregister("https://example.com/h0").unwrap();
    assert!(
        hub.register(
            "https://example.com/one-more",
            &codes(&["add_lead"]),
            0,
            MANAGER
        )
        .is_ok()
    );
    assert_eq!(hub.list(None).len(), MAX_WEBHOOKS);
}

#[test]
fn a_hub_outside_a_runtime_does_not_panic() {
    let hub = hub();
    hub.register("https://example.com/x", &codes(&["add_lead"]), 0, MANAGER)
        .unwrap();
    hub.emit(vec![amo_emulator::model::Change::TaskDeleted { id: 1 }]);
    hub.emit(vec![amo_emulator::model::Change::LeadAdded(
        webhook_support::new_lead(),
    )]);
    let log = hub.deliveries();
    assert_eq!(log.len(), 1);
    assert!(!log[0].ok);
}

#[tokio::test]
async fn disable_switches_off_one_or_every_live_webhook() {
    let hub = hub();
    let a = "http://127.0.0.1:9/a";
    let b = "http://127.0.0.1:9/b";
    hub.register(a, &codes(&["add_lead"]), 10, MANAGER).unwrap();
    hub.register(b, &codes(&["add_lead"]), 10, MANAGER).unwrap();
    assert_eq!(hub.disable(Some(a)), 1);
    assert_eq!(hub.disable(Some(a)), 0, "already off");
    assert!(hub.list(Some(a))[0].disabled);
    assert!(!hub.list(Some(b))[0].disabled);
    assert_eq!(hub.disable(None), 1, "only b was still live");
    assert!(hub.list(None).iter().all(|w| w.disabled));
    // Registering again re-enables, as amoCRM does.
    let again = hub.register(a, &codes(&["add_lead"]), 10, MANAGER).unwrap();
    assert!(!again.disabled);
}
