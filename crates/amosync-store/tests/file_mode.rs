//! The store file holds CRM data: created owner-only (0600) whatever the
//! umask, and narrowed to 0600 when an older build left it readable.

#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use amosync_store::Store;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn a_created_store_is_owner_only_and_a_loose_one_is_narrowed_on_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("amosync.redb");
    let store = Store::open(&path).expect("created");
    assert_eq!(mode(&path), 0o600, "new store");
    assert_eq!(
        store.schema_version().ok(),
        Some(amosync_store::SCHEMA_VERSION)
    );
    drop(store);

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let store = Store::open(&path).expect("reopened");
    assert_eq!(mode(&path), 0o600, "an older build's 0644 store");
    assert_eq!(
        store.schema_version().ok(),
        Some(amosync_store::SCHEMA_VERSION)
    );
}
