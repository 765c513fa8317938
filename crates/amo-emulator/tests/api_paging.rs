//! Paging by `_links.next`, filters, ordering and determinism.

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::Value;

#[tokio::test]
async fn next_links_visit_every_lead_once() {
    let emu = start(230).await;
    let expected: BTreeSet<u64> = emu
        .world()
        .leads
        .values()
        .filter(|l| !l.is_deleted)
        .map(|l| l.id)
        .collect();
    let seen = ids(&follow(
        &emu,
        "/api/v4/leads?limit=17&order[updated_at]=asc",
        "leads",
    )
    .await);
    assert_eq!(seen.len(), expected.len(), "no duplicates, no gaps");
    assert_eq!(seen.iter().copied().collect::<BTreeSet<_>>(), expected);

    // Page 2 carries first and prev links; the filter survives in the links.
    let p2 = get_ok(
        &emu,
        "/api/v4/leads?limit=10&page=2&filter[pipeline_id]=8580102",
    )
    .await;
    for link in ["self", "next", "first", "prev"] {
        let href = p2["_links"][link]["href"].as_str().unwrap_or_default();
        assert!(
            href.contains("filter%5Bpipeline_id%5D=8580102"),
            "{link}: {href}"
        );
    }
    assert_eq!(p2["_page"], 2);
    emu.shutdown().await;
}

#[tokio::test]
async fn events_page_to_the_end() {
    let emu = start(40).await;
    let total = emu.world().events.len();
    let seen = follow(&emu, "/api/v4/events?limit=100", "events").await;
    assert_eq!(seen.len(), total);
    let unique: BTreeSet<String> = seen
        .iter()
        .filter_map(|e| e["id"].as_str().map(str::to_string))
        .collect();
    assert_eq!(unique.len(), total);
    emu.shutdown().await;
}

#[tokio::test]
async fn lead_filters() {
    let emu = start(150).await;
    let (some_ids, mid, deleted, won_main) = {
        let w = emu.world();
        let live: Vec<_> = w.leads.values().filter(|l| !l.is_deleted).collect();
        let some_ids: Vec<u64> = live.iter().step_by(7).take(5).map(|l| l.id).collect();
        let mut times: Vec<i64> = live.iter().map(|l| l.updated_at).collect();
        times.sort_unstable();
        let mid = times[times.len() / 2];
        let deleted: BTreeSet<u64> = w
            .leads
            .values()
            .filter(|l| l.is_deleted)
            .map(|l| l.id)
            .collect();
        let won_main: BTreeSet<u64> = live
            .iter()
            .filter(|l| l.pipeline_id == 8580102 && l.status_id == 142)
            .map(|l| l.id)
            .collect();
        (some_ids, mid, deleted, won_main)
    };

    let q: String = some_ids
        .iter()
        .map(|id| format!("filter[id][]={id}&"))
        .collect();
    let got = get_ok(&emu, &format!("/api/v4/leads?{q}limit=250")).await;
    assert_eq!(
        ids(got["_embedded"]["leads"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()),
        some_ids
    );
    let single = get_ok(&emu, &format!("/api/v4/leads?filter[id]={}", some_ids[0])).await;
    assert_eq!(
        single["_embedded"]["leads"].as_array().map(Vec::len),
        Some(1)
    );

    let recent = follow(
        &emu,
        &format!("/api/v4/leads?filter[updated_at][from]={mid}&limit=250"),
        "leads",
    )
    .await;
    assert!(!recent.is_empty());
    assert!(
        recent
            .iter()
            .all(|l| l["updated_at"].as_i64().is_some_and(|t| t >= mid))
    );
    let older = follow(
        &emu,
        &format!("/api/v4/leads?filter[updated_at][to]={}&limit=250", mid - 1),
        "leads",
    )
    .await;
    assert!(
        older
            .iter()
            .all(|l| l["updated_at"].as_i64().is_some_and(|t| t < mid))
    );

    let won = follow(&emu, "/api/v4/leads?filter[statuses][0][pipeline_id]=8580102&filter[statuses][0][status_id]=142&limit=250", "leads").await;
    assert_eq!(ids(&won).into_iter().collect::<BTreeSet<_>>(), won_main);

    assert!(!deleted.is_empty(), "the seed deletes some leads");
    let trash = follow(&emu, "/api/v4/leads?with=only_deleted&limit=250", "leads").await;
    assert_eq!(ids(&trash).into_iter().collect::<BTreeSet<_>>(), deleted);
    assert!(trash.iter().all(|l| l["is_deleted"] == true));
    let gone = *deleted.iter().next().unwrap_or(&0);
    assert_eq!(
        get(&emu, &format!("/api/v4/leads/{gone}"), Some(&emu.token()))
            .await
            .status,
        204
    );

    let desc = get_ok(&emu, "/api/v4/leads?order[id]=desc&limit=5").await;
    let d = ids(desc["_embedded"]["leads"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default());
    assert!(d.windows(2).all(|w| w[0] > w[1]));
    emu.shutdown().await;
}

#[tokio::test]
async fn history_is_funnel_shaped() {
    let emu = start(400).await;
    let w = emu.world();
    let live: Vec<_> = w.leads.values().filter(|l| !l.is_deleted).collect();
    let won = live.iter().filter(|l| l.status_id == 142).count();
    let lost = live.iter().filter(|l| l.status_id == 143).count();
    assert!(won > live.len() / 20, "won {won} of {}", live.len());
    assert!(lost > live.len() / 10, "lost {lost} of {}", live.len());
    let entered = |status: u64| {
        w.events
            .iter()
            .filter(|e| {
                e.kind == "lead_status_changed" && e.value_after[0]["lead_status"]["id"] == status
            })
            .count()
    };
    // Early stages see more leads than late ones.
    assert!(
        entered(69641342) > entered(70724666),
        "Взят в работу vs Выдача"
    );
    assert!(
        w.leads
            .values()
            .all(|l| l.updated_at <= NOW && l.created_at <= l.updated_at)
    );
    assert!(
        w.talks.values().any(|t| t.origin == "waba")
            && w.talks.values().any(|t| t.origin == "telegram")
    );
}

async fn snapshot(emu: &amo_emulator::Emulator) -> String {
    let mut out = String::new();
    for path in [
        "/api/v4/leads?limit=250&with=contacts",
        "/api/v4/contacts?limit=250",
        "/api/v4/events?limit=100",
        "/api/v4/account?with=amojo_id",
    ] {
        for item in follow_or_one(emu, path).await {
            out.push_str(&item.to_string());
        }
    }
    out.replace(&emu.base_url(), "BASE")
}

async fn follow_or_one(emu: &amo_emulator::Emulator, path: &str) -> Vec<Value> {
    let key = ["leads", "contacts", "events"]
        .into_iter()
        .find(|k| path.starts_with(&format!("/api/v4/{k}")));
    match key {
        Some(k) => follow(emu, path, k).await,
        None => vec![get_ok(emu, path).await],
    }
}

#[tokio::test]
async fn same_seed_and_now_give_identical_json() {
    let a = start(90).await;
    let b = start(90).await;
    let (sa, sb) = (snapshot(&a).await, snapshot(&b).await);
    assert!(sa.len() > 1000);
    assert!(sa == sb, "two runs with the same seed differ");
    let c = start_with(amo_emulator::EmulatorConfig {
        leads: 90,
        seed: 8,
        now: Some(NOW),
        limits: relaxed(),
        ..Default::default()
    })
    .await;
    assert!(
        snapshot(&c).await != sa,
        "another seed gives another account"
    );
    a.shutdown().await;
    b.shutdown().await;
    c.shutdown().await;
}
