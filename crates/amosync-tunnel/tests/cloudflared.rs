//! Cloudflare quick tunnel process handling, with a fake `cloudflared` shell
//! script that prints what cloudflared prints and then exits or sleeps.
#![cfg(unix)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use amosync_tunnel::{TunnelConfig, TunnelState, start};
use support::{up_url, wait_for};

/// Writes the fake: run N prints URL fake-run-N; run 1 exits after a second, later runs sleep.
fn fake_cloudflared(dir: &Path) -> PathBuf {
    let script = format!(
        r#"#!/bin/sh
DIR='{dir}'
echo "$@" >> "$DIR/args"
n=$(cat "$DIR/count" 2>/dev/null || echo 0)
n=$((n + 1))
echo $n > "$DIR/count"
echo "2024-05-01T10:00:00Z INF Requesting new quick Tunnel on trycloudflare.com..." >&2
echo "2024-05-01T10:00:00Z INF +--------------------------------------------------------------+" >&2
echo "2024-05-01T10:00:00Z INF |  https://fake-run-$n.trycloudflare.com                          |" >&2
if [ "$n" -eq 1 ]; then sleep 1; exit 3; fi
echo $$ > "$DIR/pid"
exec sleep 60
"#,
        dir = dir.display()
    );
    let path = dir.join("cloudflared");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn alive(pid: &str) -> bool {
    // A zombie still has /proc/<pid>; look at its state.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
        Err(_) => false,
    }
}

#[tokio::test]
async fn url_is_read_from_output_and_an_exited_cloudflared_is_restarted_then_killed_on_stop() {
    let dir = tempfile::tempdir().unwrap();
    let binary = fake_cloudflared(dir.path());
    let local = "127.0.0.1:45678".parse().unwrap();
    let handle = start(
        TunnelConfig::Cloudflared {
            binary: Some(binary),
        },
        local,
    )
    .unwrap();
    assert_eq!(handle.provider_name(), "cloudflared");
    let mut rx = handle.subscribe();

    let url1 = up_url(&wait_for(&mut rx, 10, "Up", |s| s.url().is_some()).await);
    assert_eq!(url1, "https://fake-run-1.trycloudflare.com");
    let again = wait_for(&mut rx, 10, "Reconnecting", |s| {
        matches!(s, TunnelState::Reconnecting { .. })
    })
    .await;
    let TunnelState::Reconnecting {
        reason, attempt, ..
    } = again
    else {
        unreachable!()
    };
    assert!(reason.contains("cloudflared exited"), "{reason}");
    assert!(reason.contains('3'), "exit status missing: {reason}");
    assert_eq!(attempt, 1);
    let url2 = up_url(&wait_for(&mut rx, 10, "Up again", |s| s.url().is_some()).await);
    assert_eq!(url2, "https://fake-run-2.trycloudflare.com");

    let args = std::fs::read_to_string(dir.path().join("args")).unwrap();
    for line in args.lines() {
        assert_eq!(line, "tunnel --no-autoupdate --url http://127.0.0.1:45678");
    }
    assert_eq!(args.lines().count(), 2);

    // The running cloudflared is killed (and reaped) by stop.
    let pid = wait_for_file(&dir.path().join("pid")).await;
    assert!(alive(&pid), "fake cloudflared {pid} should be running");
    let t = std::time::Instant::now();
    handle.stop().await;
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(!alive(&pid), "cloudflared {pid} still running after stop");
}

#[tokio::test]
async fn dropping_the_handle_kills_cloudflared() {
    let dir = tempfile::tempdir().unwrap();
    let binary = fake_cloudflared(dir.path());
    std::fs::write(dir.path().join("count"), "1").unwrap(); // start at run 2: the sleeping one
    let handle = start(
        TunnelConfig::Cloudflared {
            binary: Some(binary),
        },
        "127.0.0.1:45679".parse().unwrap(),
    )
    .unwrap();
    let mut rx = handle.subscribe();
    wait_for(&mut rx, 10, "Up", |s| s.url().is_some()).await;
    let pid = wait_for_file(&dir.path().join("pid")).await;
    drop(handle);
    for _ in 0..50 {
        if !alive(&pid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("cloudflared {pid} still running 5 s after the handle was dropped");
}

#[tokio::test]
async fn a_missing_binary_is_refused_at_start() {
    let err = start(
        TunnelConfig::Cloudflared {
            binary: Some("/nonexistent/dir/cloudflared".into()),
        },
        "127.0.0.1:1".parse().unwrap(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "TunnelUnavailable");
    assert!(err.to_string().contains("install cloudflared"), "{err}");
}

async fn wait_for_file(path: &Path) -> String {
    for _ in 0..50 {
        if let Ok(s) = std::fs::read_to_string(path)
            && !s.trim().is_empty()
        {
            return s.trim().to_owned();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{} not written within 5 s", path.display());
}
