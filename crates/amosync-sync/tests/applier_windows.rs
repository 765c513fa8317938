//! The applier reads a backlog of large bodies in windows of
//! `APPLY_READ_BYTES` (not 512 bodies at once) and still marks every entry
//! of the batch it was asked for, once.

use amosync_store::{RawEvent, Store};
use amosync_sync::applier::{APPLY_READ_BYTES, apply_pending};
use amosync_sync::receiver::{BoundAccount, receiver_limits};

#[test]
fn a_backlog_of_large_bodies_is_applied_in_windows_without_losing_entries() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&tmp.path().join("s.redb")).unwrap();
    let bound = BoundAccount {
        id: 31_000_001,
        subdomain: "office".into(),
    };
    // 24 bodies of ~700 KB: more than two windows.
    let body = {
        let mut b = String::from("account%5Bsubdomain%5D=office&account%5Bid%5D=31000001");
        for i in 0..6 {
            b.push_str(&format!("&flood%5B{i}%5D="));
            b.push_str(&"a".repeat(114 * 1024));
        }
        b.into_bytes()
    };
    let n = 24;
    assert!(n * body.len() > 2 * APPLY_READ_BYTES);
    let events: Vec<RawEvent> = (0..n)
        .map(|i| RawEvent {
            received_at_ms: 1_750_000_000_000 + i as i64,
            body: body.clone(),
        })
        .collect();
    store.append_events(&events).unwrap();
    let report = apply_pending(&store, &bound, &receiver_limits(), 1_750_000_001_000, 20).unwrap();
    assert_eq!(report.entries, 20, "the batch asked for, across windows");
    assert_eq!(store.pending_event_count().unwrap(), 4);
    let report = apply_pending(&store, &bound, &receiver_limits(), 1_750_000_001_000, 512).unwrap();
    assert_eq!(report.entries, 4);
    assert_eq!(store.pending_event_count().unwrap(), 0);
}
