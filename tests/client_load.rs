//! Load: 20 concurrent callers share one client; the emulator (7 req/s per
//! token, 429 above) must never rate-limit them.

use std::sync::Arc;

use amo::LeadsQuery;
use amosync_tests::{StatsExt, base_url, client_with_token, start_emulator};
use futures::StreamExt;
use tokio::sync::Barrier;

const CALLERS: usize = 20;
const REQUESTS_PER_CALLER: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_callers_share_one_limiter_without_429() {
    let emu = start_emulator(41, 300).await;
    let url = base_url(&emu);
    let client = client_with_token(&url, &emu.token().to_string());
    let ids: Vec<u64> = amo::collect_all(client.leads(&LeadsQuery::new()))
        .await
        .expect("ids")
        .iter()
        .map(|l| l.id)
        .collect();

    emu.state().reset_stats();
    let before = client.usage();
    let start = Arc::new(Barrier::new(CALLERS));
    let mut tasks = Vec::new();
    for caller in 0..CALLERS {
        let client = client.clone();
        let start = start.clone();
        let id = ids[caller % ids.len()];
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            for round in 0..REQUESTS_PER_CALLER {
                match round {
                    0 => {
                        client.lead(id, &[]).await.map(|_| ())?;
                    }
                    1 => {
                        let mut pages = client.leads(&LeadsQuery::new().limit(250));
                        pages.next().await.transpose()?;
                    }
                    _ => {
                        client.account().await?;
                    }
                }
            }
            Ok::<(), amo::ApiError>(())
        }));
    }
    for task in tasks {
        task.await.expect("caller task").expect("no caller failed");
    }

    let stats = emu.state().stats();
    let usage = client.usage();
    assert_eq!(usage.rate_limited, 0, "the client counted no 429 either");
    assert_eq!(
        usage.requests - before.requests,
        stats.status_count(200) + stats.status_count(429) + stats.status_count(403),
        "the client's request counter agrees with the emulator's"
    );
    assert_eq!(stats.status_count(429), 0, "not a single 429: {stats:?}");
    assert_eq!(stats.status_count(403), 0, "and no block");
    let ok = stats.status_count(200);
    assert_eq!(
        ok,
        (CALLERS * REQUESTS_PER_CALLER) as u64,
        "exactly the requests made: {stats:?}"
    );

    emu.shutdown().await;
}
