//! The built-in tunnel end to end: a real bore server on 127.0.0.1, the real
//! `amosync serve`, the emulator delivering webhooks through the tunnel's
//! public URL. The bore server dies and comes back; the tunnel reconnects
//! with a new URL; the keeper registers it and removes the old one; what
//! changed during the outage reaches the store by catch-up.
//!
//! bore's server always listens on control port 7835: nextest runs the
//! test binaries named `*bore*` one at a time (`.config/nextest.toml`).

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use amo_emulator::Emulator;
use serde_json::{Value, json};
use support::{Served, amosync_in, api_list, connect, emulator, eventually, office};

const BORE_CONTROL_PORT: u16 = 7835;

/// A bore server in its own runtime: dropping the runtime kills it and every
/// connection it holds, like a crashed process.
struct BoreServer {
    rt: Option<tokio::runtime::Runtime>,
}

impl BoreServer {
    async fn start() -> BoreServer {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let mut server = bore_cli::server::Server::new(20000..=60000, None);
        server.set_bind_addr(IpAddr::V4(Ipv4Addr::LOCALHOST));
        server.set_bind_tunnels(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let task = rt.spawn(server.listen());
        for _ in 0..100 {
            assert!(
                !task.is_finished(),
                "the bore server could not listen on 127.0.0.1:{BORE_CONTROL_PORT}"
            );
            if tokio::net::TcpStream::connect(("127.0.0.1", BORE_CONTROL_PORT))
                .await
                .is_ok()
            {
                return BoreServer { rt: Some(rt) };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the bore server did not listen within 5 s");
    }

    async fn kill(mut self) {
        if let Some(rt) = self.rt.take() {
            tokio::task::spawn_blocking(move || rt.shutdown_timeout(Duration::from_secs(2)))
                .await
                .expect("runtime stops");
        }
    }
}

impl Drop for BoreServer {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// The `serve` part of `amosync status`.
async fn links(data: &std::path::Path) -> Value {
    let status = amosync_in(data, &["status"]).await.json();
    status["serve"]["engine"].clone()
}

/// Destinations of this install in the emulator's webhook list.
async fn our_destinations(emu: &Emulator, admin: &str, secret_path: &str) -> Vec<String> {
    api_list(emu, admin, "/api/v4/webhooks", "webhooks")
        .await
        .iter()
        .filter_map(|h| h["destination"].as_str())
        .filter(|d| d.ends_with(secret_path))
        .map(str::to_owned)
        .collect()
}

async fn lead_status(data: &std::path::Path, id: u64) -> u64 {
    let lead = amosync_in(data, &["lead", &id.to_string()]).await.json();
    lead["status_id"].as_u64().expect("status_id")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bore_tunnel_carries_webhooks_and_a_new_url_replaces_the_old_one() {
    let emu = emulator(40).await;
    let admin = emu.issue_token(true);
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    connect(&data, &emu).await;
    let chosen = amosync_in(
        &data,
        &["tunnel", "--provider", "bore", "--server", "127.0.0.1:7835"],
    )
    .await
    .json();
    assert_eq!(chosen["tunnel"]["provider"], json!("bore"));

    let local = amosync_in(&data, &["webhook-url"]).await;
    assert_eq!(local.code, 0, "{local:?}");
    let local = local.stdout.trim();
    let secret_path = &local[local.find("/amocrm/").expect("receiver path")..];

    let bore = BoreServer::start().await;
    let data_s = data.to_str().expect("utf-8");
    let served = Served::start(&["serve", "--data", data_s, "--listen", "127.0.0.1:0"]).await;

    // Up through the tunnel, registered with amoCRM.
    let first = eventually("the webhook registered through the tunnel", || async {
        let l = links(&data).await;
        (l["tunnel"]["state"] == "up"
            && l["webhook"]["state"]["state"] == "registered"
            && l["last_catchup_at"].is_number())
        .then_some(l)
    })
    .await;
    let url1 = first["tunnel"]["url"].as_str().expect("url").to_owned();
    assert!(url1.starts_with("http://127.0.0.1:"), "{url1}");
    assert!(
        !local.starts_with(&url1),
        "the public URL is bore's, not the receiver's"
    );
    assert_eq!(
        our_destinations(&emu, &admin, secret_path).await,
        vec![format!("{url1}{secret_path}")]
    );
    let shown = first.to_string();
    assert!(
        !shown.contains(&secret_path[8..40]),
        "status shows no secret: {shown}"
    );

    // A change in amoCRM arrives as a webhook through the tunnel.
    let leads = amosync_in(&data, &["leads"]).await.json();
    let ids: Vec<u64> = leads
        .as_array()
        .expect("leads")
        .iter()
        .filter(|l| l["status_id"] != json!(142) && l["status_id"] != json!(143))
        .filter_map(|l| l["id"].as_u64())
        .take(2)
        .collect();
    assert_eq!(ids.len(), 2, "two open leads");
    let through = |emu: &Emulator, url: &str| {
        emu.hub()
            .deliveries()
            .iter()
            .filter(|d| d.ok && d.destination.starts_with(url))
            .count()
    };
    let before = through(&emu, &url1);
    office(
        &emu,
        &format!("/leads/{}/move", ids[0]),
        json!({"status_id": 142}),
    )
    .await;
    eventually("the moved lead through the tunnel", || async {
        (lead_status(&data, ids[0]).await == 142).then_some(())
    })
    .await;
    assert!(
        through(&emu, &url1) > before,
        "it came as a webhook through the tunnel"
    );

    // The bore server dies; a change made meanwhile cannot be delivered.
    bore.kill().await;
    eventually("the tunnel reconnecting", || async {
        (links(&data).await["tunnel"]["state"] == "reconnecting").then_some(())
    })
    .await;
    office(
        &emu,
        &format!("/leads/{}/move", ids[1]),
        json!({"status_id": 143}),
    )
    .await;

    // It comes back; bore hands out a new port, so a new URL.
    let bore = BoreServer::start().await;
    let second = eventually("the new URL registered", || async {
        let l = links(&data).await;
        let url = l["tunnel"]["url"].as_str().unwrap_or_default().to_owned();
        (l["tunnel"]["state"] == "up"
            && l["webhook"]["state"]["state"] == "registered"
            && !url.is_empty()
            && url != url1)
            .then_some(url)
    })
    .await;
    let ours = eventually("only the new destination left", || async {
        let ours = our_destinations(&emu, &admin, secret_path).await;
        (ours.len() == 1).then_some(ours)
    })
    .await;
    assert_eq!(ours, vec![format!("{second}{secret_path}")]);
    // The outage change reached the store by catch-up.
    eventually("the change made during the outage", || async {
        (lead_status(&data, ids[1]).await == 143).then_some(())
    })
    .await;

    assert_eq!(served.stop_with(libc::SIGTERM).await, 0);
    bore.kill().await;
}
