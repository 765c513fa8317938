//! `amosync status` warns when other users can reach the data folder (it
//! holds the CRM data), and says how to close it. Real folders, the real binary.

#![cfg(unix)]

mod support;

use std::os::unix::fs::PermissionsExt;

use serde_json::Value;
use support::amosync_in;

#[tokio::test]
async fn status_warns_about_a_folder_others_can_read() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("shared");
    std::fs::create_dir(&data).expect("folder");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let open = amosync_in(&data, &["status"]).await.json();
    let warning = open["data_dir_warning"].as_str().unwrap_or_default();
    assert!(
        warning.contains("other users") && warning.contains("chmod 700"),
        "{open:#}"
    );

    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let closed = amosync_in(&data, &["status"]).await.json();
    assert_eq!(closed["data_dir_warning"], Value::Null, "{closed:#}");
}
