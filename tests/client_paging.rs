//! The client against the emulator: pagination, batches by id, empty results.

use std::collections::HashSet;

use amo::{LeadWith, LeadsOrder, LeadsQuery, SortDirection, collect_all};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use amo::{Client, StaticToken};
use amosync_tests::{
    FakeServer, base_url, client_with_token, emulator_lead_ids, start_emulator, test_config,
};
use futures::StreamExt;
use serde_json::json;

const LEADS: usize = 620;

#[tokio::test]
async fn pagination_follows_next_links_and_sees_each_lead_once() {
    let emu = start_emulator(7, LEADS).await;
    let client = client_with_token(&base_url(&emu), &emu.token().to_string());
    let live = emulator_lead_ids(&emu, false);
    let trash = emulator_lead_ids(&emu, true);
    assert!(live.len() > 500, "three pages at least");

    // 250 per page: three pages.
    let mut pages = client.leads(&LeadsQuery::new().order(LeadsOrder::Id(SortDirection::Asc)));
    let mut sizes = Vec::new();
    let mut ids = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.expect("page");
        sizes.push(page.len());
        ids.extend(page.iter().map(|l| l.id));
    }
    let last = live.len() - 500;
    assert_eq!(sizes, [250, 250, last]);
    let unique: HashSet<u64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "no lead twice");
    assert_eq!(
        unique,
        live.iter().copied().collect(),
        "exactly the emulator's live leads"
    );
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "order[id]=asc honoured"
    );

    // An odd page size gives the same set.
    let small = collect_all(client.leads(&LeadsQuery::new().limit(97)))
        .await
        .expect("all leads");
    let small_ids: HashSet<u64> = small.iter().map(|l| l.id).collect();
    assert_eq!(small.len(), live.len());
    assert_eq!(small_ids, unique);

    // The trash, through with=only_deleted.
    let deleted = collect_all(client.leads(&LeadsQuery::new().with(LeadWith::OnlyDeleted)))
        .await
        .expect("deleted leads");
    let deleted_ids: HashSet<u64> = deleted.iter().map(|l| l.id).collect();
    assert_eq!(deleted_ids, trash.iter().copied().collect());
    assert!(deleted.iter().all(|l| l.is_deleted));

    emu.shutdown().await;
}

#[tokio::test]
async fn leads_by_ids_batches_keeps_order_and_drops_unknown() {
    let emu = start_emulator(8, LEADS).await;
    let client = client_with_token(&base_url(&emu), &emu.token().to_string());
    let all = collect_all(client.leads(&LeadsQuery::new()))
        .await
        .expect("all leads");
    let mut known: Vec<u64> = all.iter().map(|l| l.id).collect();
    known.reverse();

    // > 250 ids, with duplicates and unknown ids mixed in.
    let mut asked: Vec<u64> = Vec::new();
    for (i, id) in known.iter().enumerate() {
        asked.push(*id);
        if i % 50 == 0 {
            asked.push(9_000_000_000 + i as u64);
            asked.push(*id);
        }
    }
    assert!(asked.len() > 500);
    let got = client
        .leads_by_ids(&asked, &[LeadWith::Contacts])
        .await
        .expect("by ids");
    let got_ids: Vec<u64> = got.iter().map(|l| l.id).collect();
    assert_eq!(
        got_ids, known,
        "input order, duplicates removed, unknown ids left out"
    );

    // Only unknown ids: amoCRM answers 204, which is an empty result.
    let none = client
        .leads_by_ids(&[9_000_000_001, 9_000_000_002], &[])
        .await
        .expect("204 is empty");
    assert!(none.is_empty());
    assert!(
        client
            .leads_by_ids(&[], &[])
            .await
            .expect("nothing asked")
            .is_empty()
    );

    // Single lookups: a known id, and an unknown one (204 or 404 → None).
    let first = client
        .lead(known[0], &[LeadWith::Contacts])
        .await
        .expect("lead")
        .expect("exists");
    assert_eq!(first.id, known[0]);
    assert!(
        client
            .lead(9_000_000_003, &[])
            .await
            .expect("unknown lead")
            .is_none()
    );
    assert!(
        client
            .talk(9_000_000_004)
            .await
            .expect("unknown talk")
            .is_none()
    );
    assert!(
        client
            .pipeline(9_000_000_005)
            .await
            .expect("unknown pipeline")
            .is_none()
    );

    emu.shutdown().await;
}

#[tokio::test]
async fn account_pipelines_and_filters() {
    let emu = start_emulator(9, 120).await;
    let client = client_with_token(&base_url(&emu), &emu.token().to_string());

    let account = client.account().await.expect("account");
    assert!(account.id > 0);
    assert!(account.amojo_id.is_some(), "with=amojo_id");

    let pipelines = client.pipelines().await.expect("pipelines");
    assert!(!pipelines.is_empty());
    for p in &pipelines {
        assert!(
            p.status(142).is_some() && p.status(143).is_some(),
            "142/143 in every pipeline"
        );
        assert!(p.statuses().iter().all(|s| s.pipeline_id == p.id));
    }
    let one = client
        .pipeline(pipelines[0].id)
        .await
        .expect("pipeline")
        .expect("exists");
    assert_eq!(one.id, pipelines[0].id);

    // Filter by (pipeline, status) pairs: every lead matches one of them.
    let all = collect_all(client.leads(&LeadsQuery::new()))
        .await
        .expect("all");
    let key = all[0].status_key();
    let filtered =
        collect_all(client.leads(&LeadsQuery::new().status(key.pipeline_id, key.status_id)))
            .await
            .expect("filtered");
    assert!(!filtered.is_empty());
    assert!(filtered.iter().all(|l| l.status_key() == key));
    assert_eq!(
        filtered.len(),
        all.iter().filter(|l| l.status_key() == key).count()
    );

    // updated_at range.
    let mut times: Vec<i64> = all.iter().map(|l| l.updated_at).collect();
    times.sort_unstable();
    let from = times[times.len() / 2];
    let recent = collect_all(client.leads(&LeadsQuery::new().updated_from(from)))
        .await
        .expect("recent");
    assert_eq!(
        recent.len(),
        all.iter().filter(|l| l.updated_at >= from).count()
    );

    // An invalid query is refused before anything is sent.
    let err = collect_all(client.leads(&LeadsQuery::new().limit(500)))
        .await
        .expect_err("limit > 250");
    assert_eq!(err.code(), "InvalidRequest");

    emu.shutdown().await;
}

/// A `/api/v4/leads` that serves page `n` (from `?page=n`, default 1) with
/// `items(n)` leads and always a next link; counts the pages served.
async fn endless_leads(items: fn(u64) -> usize) -> (FakeServer, Arc<AtomicU64>) {
    let served = Arc::new(AtomicU64::new(0));
    let counter = served.clone();
    let app = axum::Router::new().route(
        "/api/v4/leads",
        axum::routing::get(
            move |axum::extract::Query(q): axum::extract::Query<
                std::collections::HashMap<String, String>,
            >| {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let page: u64 = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
                    let leads: Vec<_> = (0..items(page))
                        .map(|i| json!({ "id": page * 1000 + i as u64 }))
                        .collect();
                    axum::Json(json!({
                        "_page": page,
                        "_links": { "next": { "href": format!("/api/v4/leads?page={}&limit=250", page + 1) } },
                        "_embedded": { "leads": leads },
                    }))
                }
            },
        ),
    );
    (FakeServer::start(app).await, served)
}

#[tokio::test]
async fn endless_next_links_stop_at_max_pages() {
    let (server, served) = endless_leads(|_| 2).await;
    let config = amo::ClientConfig {
        max_pages: 5,
        rate_per_second: 50.0,
        ..test_config(&server.base_url)
    };
    let client = Client::new(config, StaticToken::new("token-for-paging")).expect("client");
    let mut pages = client.leads(&LeadsQuery::new());
    let mut read = 0;
    let err = loop {
        match pages.next().await.expect("the stream ends with an error") {
            Ok(page) => {
                assert_eq!(page.len(), 2);
                read += 1;
                assert!(read <= 5, "more pages than max_pages");
            }
            Err(e) => break e,
        }
    };
    assert_eq!(read, 5);
    assert_eq!(err.code(), "Decode", "{err:?}");
    assert!(err.to_string().contains("max_pages"), "{err}");
    assert!(pages.next().await.is_none(), "nothing after the error");
    assert_eq!(served.load(Ordering::SeqCst), 5, "no sixth request");
}

#[tokio::test]
async fn an_empty_page_ends_the_list_despite_a_next_link() {
    let (server, served) = endless_leads(|page| if page < 3 { 1 } else { 0 }).await;
    let client = client_with_token(&server.base_url, "token-for-paging");
    let leads = collect_all(client.leads(&LeadsQuery::new()))
        .await
        .expect("ends");
    assert_eq!(leads.iter().map(|l| l.id).collect::<Vec<_>>(), [1000, 2000]);
    assert_eq!(
        served.load(Ordering::SeqCst),
        3,
        "pages 1, 2 and the empty 3"
    );
}
