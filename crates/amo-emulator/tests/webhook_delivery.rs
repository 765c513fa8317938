//! Delivery over real HTTP on 127.0.0.1: shape, filtering, the retry ladder,
//! the disable rule, and injected faults.

mod webhook_support;

use std::time::Duration;

use amo_emulator::model::{Change, NoteParent};
use amo_emulator::webhooks::encode::encode_batch;
use amo_emulator::webhooks::{WebhookConfig, WebhookFaults, WebhookHub};
use webhook_support::receiver::{Mode, Receiver};
use webhook_support::*;

const IDLE: Duration = Duration::from_secs(20);

fn fast(retry_ms: &[u64]) -> WebhookConfig {
    WebhookConfig {
        timeout: Duration::from_millis(500),
        retry_delays: retry_ms
            .iter()
            .map(|ms| Duration::from_millis(*ms))
            .collect(),
        disable_threshold: 100,
        disable_window: Duration::from_secs(3600),
    }
}

fn codes(codes: &[&str]) -> Vec<String> {
    codes.iter().map(|c| c.to_string()).collect()
}

fn lead_added(id: u64) -> Change {
    Change::LeadAdded(lead(id, "Новый лид", 1_000))
}

#[tokio::test]
async fn posts_the_real_shape_with_the_real_headers() {
    let rx = Receiver::start(Mode::Ok).await;
    let hub = WebhookHub::new(account(), fast(&[]));
    hub.register(&rx.url("hook/s3cr3t"), &codes(&["add_lead"]), 10, MANAGER)
        .unwrap();
    let change = Change::LeadAdded(new_lead());
    hub.emit(vec![change.clone()]);
    assert!(hub.wait_idle(IDLE).await);
    let hits = rx.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].path, "/hook/s3cr3t");
    assert_eq!(hits[0].content_type, "application/x-www-form-urlencoded");
    assert_eq!(hits[0].user_agent, "amoCRM-WebHook-client/1.0");
    assert_eq!(hits[0].body, encode_batch(&account(), &[change]));
    let log = hub.deliveries();
    assert_eq!(log.len(), 1);
    assert!(log[0].ok && log[0].status == Some(200) && log[0].attempt == 1 && !log[0].gave_up);
    assert_eq!(log[0].body_len, hits[0].body.len());
    assert!(serde_json::to_value(&log[0]).is_ok());
}

#[tokio::test]
async fn one_post_per_destination_with_only_its_changes() {
    let rx = Receiver::start(Mode::Ok).await;
    let hub = WebhookHub::new(account(), fast(&[]));
    hub.register(&rx.url("a"), &codes(&["add_lead"]), 10, MANAGER)
        .unwrap();
    hub.register(
        &rx.url("b"),
        &codes(&["status_lead", "add_contact", "note_lead"]),
        10,
        MANAGER,
    )
    .unwrap();
    let status = Change::LeadStatusChanged {
        lead: new_lead(),
        old_status_id: STATUS_IN_WORK,
        old_pipeline_id: PIPELINE,
    };
    let batch = vec![
        lead_added(1),
        status.clone(),
        Change::ContactAdded(contact()),
        Change::TaskAdded(task()),
        lead_added(2),
        Change::NoteAdded(note(NoteParent::Lead, 1)),
    ];
    hub.emit(batch);
    // Nobody subscribed to tasks: no POST at all.
    hub.emit(vec![Change::TaskAdded(task())]);
    assert!(hub.wait_idle(IDLE).await);
    let a = rx.hits_at("a");
    let b = rx.hits_at("b");
    assert_eq!((a.len(), b.len(), rx.hits().len()), (1, 1, 2));
    assert_eq!(
        a[0].body,
        encode_batch(&account(), &[lead_added(1), lead_added(2)])
    );
    let want_b = [
        status,
        Change::ContactAdded(contact()),
        Change::NoteAdded(note(NoteParent::Lead, 1)),
    ];
    assert_eq!(b[0].body, encode_batch(&account(), &want_b));
    assert!(
        b[0].body.contains("leads%5Bstatus%5D%5B0%5D")
            && b[0].body.contains("contacts%5Badd%5D%5B0%5D")
    );
}

#[tokio::test]
async fn deliveries_keep_their_order_per_destination() {
    let rx = Receiver::start(Mode::Ok).await;
    let hub = WebhookHub::new(account(), fast(&[]));
    hub.register(&rx.url("ordered"), &codes(&["add_lead"]), 10, MANAGER)
        .unwrap();
    for id in 1..=20 {
        hub.emit(vec![lead_added(id)]);
    }
    assert!(hub.wait_idle(IDLE).await);
    let bodies: Vec<String> = rx.hits().into_iter().map(|h| h.body).collect();
    let want: Vec<String> = (1..=20)
        .map(|id| encode_batch(&account(), &[lead_added(id)]))
        .collect();
    assert_eq!(bodies, want);
}

#[tokio::test]
async fn a_500_is_retried_on_the_ladder_then_given_up() {
    let rx = Receiver::start(Mode::Status(500)).await;
    let hub = WebhookHub::new(account(), fast(&[40, 80, 120]));
    hub.register(&rx.url("fails"), &codes(&["add_lead"]), 10, MANAGER)
        .unwrap();
    hub.emit(vec![lead_added(1)]);
    assert!(hub.wait_idle(IDLE).await);
    let hits = rx.hits();
    assert_eq!(hits.len(), 4, "first attempt + 3 retries");
    for (gap, min_ms) in hits.windows(2).zip([40u64, 80, 120]) {
        assert!(gap[1].at.duration_since(gap[0].at) >= Duration::from_millis(min_ms));
    }
    let log = hub.deliveries();
    let attempts: Vec<u32> = log.iter().map(|r| r.attempt).collect();
    assert_eq!(attempts, [1, 2, 3, 4]);
    assert!(log.iter().all(|r| !r.ok && r.status == Some(500)));
    let gave_up: Vec<bool> = log.iter().map(|r| r.gave_up).collect();
    assert_eq!(gave_up, [false, false, false, true]);
    assert!(log.iter().all(|r| r.delivery_id == log[0].delivery_id));
}

#[tokio::test]
async fn a_retry_that_succeeds_ends_the_ladder() {
    let rx = Receiver::start(Mode::FailFirst(2)).await;
    let hub = WebhookHub::new(account(), fast(&[20, 20, 20, 20]));
    hub.register(&rx.url("flaky"), &codes(&["add_lead"]), 10, MANAGER)
        .unwrap();
    hub.emit(vec![lead_added(1)]);
    assert!(hub.wait_idle(IDLE).await);
    assert_eq!(rx.hits().len(), 3);
    let oks: Vec<bool> = hub.deliveries().iter().map(|r| r.ok).collect();
    assert_eq!(oks, [false, false, true]);
}

#[tokio::test]
async fn a_slow_receiver_is_a_failed_delivery() {
    let rx = Receiver::start(Mode::Sleep(Duration::from_millis(1_500))).await;
    let hub = WebhookHub::new(
        account(),
        WebhookConfig {
            timeout: Duration::from_millis(200),
            ..fast(&[])
        },
    );
    hub.register(&rx.url("slow"), &codes(&["add_lead"]), 10, MANAGER)
        .unwrap();
    hub.emit(vec![lead_added(1)]);
    assert!(hub.wait_idle(IDLE).await);
    let log = hub.deliveries();
    assert_eq!(log.len(), 1);
    assert!(!log[0].ok && log[0].status.is_none() && log[0].gave_up);
    assert!(log[0].error.as_deref().unwrap_or("").contains("timeout"));
}

#[tokio::test]
async fn redirects_are_failures_and_not_followed() {
    let rx = Receiver::start(Mode::Redirect).await;
    let hub = WebhookHub::new(account(), fast(&[]));
    hub.register(&rx.url("moved"), &codes(&["add_lead"]), 10, MANAGER)
        .unwrap();
    hub.emit(vec![lead_added(1)]);
    assert!(hub.wait_idle(IDLE).await);
    assert_eq!(rx.hits().len(), 1);
    assert!(rx.hits_at("elsewhere").is_empty());
    let log = hub.deliveries();
    assert!(!log[0].ok && log[0].status == Some(302));
}

#[tokio::test]
async fn a_refused_connection_is_a_failure_without_leaking_the_path() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let hub = WebhookHub::new(account(), fast(&[]));
    hub.register(
        &format!("http://127.0.0.1:{port}/very-secret-path"),
        &codes(&["add_lead"]),
        10,
        MANAGER,
    )
    .unwrap();
    hub.emit(vec![lead_added(1)]);
    assert!(hub.wait_idle(IDLE).await);
    let log = hub.deliveries();
    assert!(!log[0].ok && log[0].status.is_none());
    assert!(
        !log[0]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("very-secret-path")
    );
}

#[tokio::test]
async fn more_than_threshold_failures_disable_until_re_registered() {
    let rx = Receiver::start(Mode::Status(500)).await;
    let hub = WebhookHub::new(account(), fast(&[]));
    let url = rx.url("disable-me");
    hub.register(&url, &codes(&["add_lead"]), 10, MANAGER)
        .unwrap();
    for id in 0..100 {
        hub.emit(vec![lead_added(id)]);
    }
    assert!(hub.wait_idle(IDLE).await);
    assert!(
        !hub.list(Some(&url))[0].disabled,
        "100 failures are not more than 100"
    );
    hub.emit(vec![lead_added(100)]);
    assert!(hub.wait_idle(IDLE).await);
    let sub = hub.list(Some(&url)).remove(0);
    assert!(sub.disabled);
    assert_eq!(sub.to_json()["disabled"], serde_json::json!(true));
    assert_eq!(rx.hits().len(), 101);
    assert!(hub.deliveries().last().is_some_and(|r| r.gave_up));

    hub.emit(vec![lead_added(101)]);
    assert!(hub.wait_idle(IDLE).await);
    assert_eq!(
        rx.hits().len(),
        101,
        "nothing is sent to a disabled webhook"
    );

    rx.set_mode(Mode::Ok);
    let again = hub
        .register(&url, &codes(&["add_lead"]), 10, MANAGER)
        .unwrap();
    assert!(!again.disabled && again.id == sub.id);
    hub.emit(vec![lead_added(102)]);
    assert!(hub.wait_idle(IDLE).await);
    assert_eq!(rx.hits().len(), 102);
}

#[tokio::test]
async fn disabling_drops_pending_retries() {
    let rx = Receiver::start(Mode::Status(503)).await;
    let hub = WebhookHub::new(
        account(),
        WebhookConfig {
            disable_threshold: 1,
            ..fast(&[30, 30, 30])
        },
    );
    let url = rx.url("short-fuse");
    hub.register(&url, &codes(&["add_lead"]), 10, MANAGER)
        .unwrap();
    hub.emit(vec![lead_added(1)]);
    assert!(hub.wait_idle(IDLE).await);
    assert_eq!(
        rx.hits().len(),
        2,
        "second failure is more than 1: disabled, no third attempt"
    );
    assert!(hub.list(Some(&url))[0].disabled);
    assert!(hub.deliveries()[1].gave_up);
}

#[tokio::test]
async fn fault_drop_and_duplicate() {
    let rx = Receiver::start(Mode::Ok).await;
    let hub = WebhookHub::new(account(), fast(&[10]));
    hub.register(&rx.url("faults"), &codes(&["add_lead"]), 10, MANAGER)
        .unwrap();

    hub.set_faults(WebhookFaults {
        drop_rate: 1.0,
        ..WebhookFaults::default()
    });
    hub.emit(vec![lead_added(1)]);
    assert!(hub.wait_idle(IDLE).await);
    assert!(rx.hits().is_empty());
    assert_eq!(hub.deliveries()[0].fault.as_deref(), Some("dropped"));

    hub.set_faults(WebhookFaults {
        duplicate_rate: 1.0,
        ..WebhookFaults::default()
    });
    hub.emit(vec![lead_added(2)]);
    assert!(hub.wait_idle(IDLE).await);
    let hits = rx.hits();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].body, hits[1].body);
    let faults: Vec<Option<String>> = hub
        .deliveries()
        .into_iter()
        .skip(1)
        .map(|r| r.fault)
        .collect();
    assert_eq!(faults, [None, Some("duplicate".to_owned())]);

    // A partial rate drops some and delivers the rest, reproducibly.
    hub.set_faults(WebhookFaults {
        drop_rate: 0.5,
        ..WebhookFaults::default()
    });
    for id in 10..40 {
        hub.emit(vec![lead_added(id)]);
    }
    assert!(hub.wait_idle(IDLE).await);
    let dropped = hub
        .deliveries()
        .iter()
        .skip(3)
        .filter(|r| r.fault.as_deref() == Some("dropped"))
        .count();
    assert!(dropped > 0 && dropped < 30, "dropped {dropped} of 30");
    assert_eq!(rx.hits().len(), 2 + 30 - dropped);
}

#[tokio::test]
async fn fault_reorder_and_delay() {
    let rx = Receiver::start(Mode::Ok).await;
    let hub = WebhookHub::new(account(), fast(&[]));
    hub.register(&rx.url("reorder"), &codes(&["add_lead"]), 10, MANAGER)
        .unwrap();

    hub.set_faults(WebhookFaults {
        reorder: true,
        ..WebhookFaults::default()
    });
    hub.emit(vec![lead_added(1)]);
    hub.emit(vec![lead_added(2)]);
    assert!(hub.wait_idle(IDLE).await);
    let bodies: Vec<String> = rx.hits().into_iter().map(|h| h.body).collect();
    assert_eq!(
        bodies,
        [
            encode_batch(&account(), &[lead_added(2)]),
            encode_batch(&account(), &[lead_added(1)])
        ]
    );
    assert_eq!(hub.deliveries()[1].fault.as_deref(), Some("reordered"));

    // A lone held delivery still goes out.
    hub.emit(vec![lead_added(3)]);
    assert!(hub.wait_idle(IDLE).await);
    assert_eq!(rx.hits().len(), 3);

    hub.set_faults(WebhookFaults {
        delay: Duration::from_millis(300),
        ..WebhookFaults::default()
    });
    let before = chrono::Utc::now().timestamp_millis();
    hub.emit(vec![lead_added(4)]);
    assert!(hub.wait_idle(IDLE).await);
    let last = hub.deliveries().pop().unwrap();
    assert_eq!(last.fault.as_deref(), Some("delayed"));
    assert!(last.ok && last.started_at_ms - before >= 300);
}

#[tokio::test]
async fn unregistering_stops_deliveries() {
    let rx = Receiver::start(Mode::Ok).await;
    let hub = WebhookHub::new(account(), fast(&[]));
    let url = rx.url("gone");
    hub.register(&url, &codes(&["add_lead"]), 10, MANAGER)
        .unwrap();
    hub.unregister(&url).unwrap();
    hub.emit(vec![lead_added(1)]);
    assert!(hub.wait_idle(IDLE).await);
    assert!(rx.hits().is_empty() && hub.deliveries().is_empty());
}

#[tokio::test]
async fn delays_do_not_add_up_along_a_lane() {
    let rx = Receiver::start(Mode::Ok).await;
    let hub = WebhookHub::new(account(), fast(&[]));
    hub.register(&rx.url("delayed"), &codes(&["add_lead"]), 10, MANAGER)
        .unwrap();
    hub.set_faults(WebhookFaults {
        delay: Duration::from_millis(300),
        ..WebhookFaults::default()
    });
    let started = std::time::Instant::now();
    for id in 1..=5 {
        hub.emit(vec![lead_added(id)]);
    }
    assert!(hub.wait_idle(IDLE).await);
    let took = started.elapsed();
    // Each delivery is due 300 ms after its change: about 300 ms in all, not 5 × 300.
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(
        took < Duration::from_millis(1_200),
        "delays accumulated: {took:?}"
    );
    let bodies: Vec<String> = rx.hits().into_iter().map(|h| h.body).collect();
    let want: Vec<String> = (1..=5)
        .map(|id| encode_batch(&account(), &[lead_added(id)]))
        .collect();
    assert_eq!(bodies, want, "order kept");
}

#[tokio::test]
async fn retries_waiting_per_destination_are_capped() {
    let rx = Receiver::start(Mode::Status(500)).await;
    let config = WebhookConfig {
        disable_threshold: 100_000,
        ..fast(&[60_000])
    };
    let hub = WebhookHub::new(account(), config);
    hub.register(&rx.url("failing"), &codes(&["add_lead"]), 10, MANAGER)
        .unwrap();
    let cap = 1_000u64;
    for id in 0..=cap {
        hub.emit(vec![lead_added(id + 1)]);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let full = loop {
        let log = hub.deliveries();
        if let Some(r) = log
            .iter()
            .find(|r| r.error.as_deref() == Some("retry queue full"))
        {
            break r.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no `retry queue full` after {} records",
            log.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(full.gave_up && !full.ok);
    assert_eq!(full.delivery_id, cap + 1, "the first over the cap");
}
