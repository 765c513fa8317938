//! A one-off local measurement (not a benchmark, no timed assertions):
//! `cargo test --release -p amosync-store --test perf -- --ignored --nocapture`
//! (`PERF_LEADS=100000` for a smaller run).

mod common;

use std::time::Instant;

use amosync_store::{FunnelQuery, LeadsQuery, Origin, Store};
use common::*;
use serde_json::json;

const NAMES: [&str; 8] = [
    "Иванов",
    "Петров",
    "Сидорова",
    "Смирнов",
    "Кузнецова",
    "Попов",
    "Васильев",
    "Соколова",
];

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn median_ms(mut f: impl FnMut()) -> f64 {
    let mut v: Vec<f64> = (0..7)
        .map(|_| {
            let t = Instant::now();
            f();
            ms(t)
        })
        .collect();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[3]
}

#[test]
#[ignore]
fn measure() {
    let n: u64 = std::env::var("PERF_LEADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let contacts = (n / 10).max(1);
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("perf.redb")).unwrap();
    let mut statuses: Vec<u64> = OPEN.iter().map(|s| s.0).collect();
    statuses.extend([142, 143]);
    s.write(|w| w.put_pipelines(&[primary()])).unwrap();
    let t = Instant::now();
    for chunk in (1..=contacts).collect::<Vec<_>>().chunks(10_000) {
        s.write(|w| {
            for id in chunk {
                let name = format!("{} {}", NAMES[(*id % 8) as usize], id);
                let phone = format!(
                    "+7 (9{:02}) {:03}-{:02}-{:02}",
                    id % 100,
                    id % 1000,
                    id % 97,
                    id % 89
                );
                w.upsert_contact(
                    &contact(*id, &name, &phone, &format!("c{id}@example.ru"), 100),
                    Origin::Api,
                )?;
            }
            Ok(())
        })
        .unwrap();
    }
    println!("contacts: {contacts} in {:.0} ms", ms(t));
    let t = Instant::now();
    let mut x: u64 = 42;
    for start in (1..=n).step_by(10_000) {
        s.write(|w| {
            for id in start..(start + 10_000).min(n + 1) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let status = statuses[(x % statuses.len() as u64) as usize];
                let l = lead_json(json!({
                    "id": id, "name": format!("Аренда {} №{id}", NAMES[(x % 8) as usize]),
                    "price": (x % 100_000) as i64, "responsible_user_id": x % 10 + 1,
                    "status_id": status, "pipeline_id": PRIMARY,
                    "created_at": 1_600_000_000 + (x % 100_000_000) as i64, "updated_at": 1_700_000_000 + id as i64,
                    "closed_at": if status == 142 || status == 143 { Some(1_700_000_000 + id as i64) } else { None },
                    "account_id": 31234567,
                    "_embedded": {"tags": [{"id": 1, "name": "сайт"}],
                        "contacts": [{"id": (x / 7) % contacts + 1, "is_main": true}]}
                }));
                w.upsert_lead(&l, Origin::Api)?;
            }
            Ok(())
        })
        .unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    println!("leads: {n} in {secs:.1} s = {:.0} leads/s", n as f64 / secs);
    let size = std::fs::metadata(dir.path().join("perf.redb"))
        .unwrap()
        .len();
    println!("file: {} MB = {} bytes/lead", size / 1_000_000, size / n);
    for (name, stored, meta, frag) in s.table_sizes().unwrap() {
        if stored + meta + frag > 0 {
            println!(
                "  {name:<18} stored {:>6.1} B/lead, btree {:>5.1}, fragmented {:>6.1}",
                stored as f64 / n as f64,
                meta as f64 / n as f64,
                frag as f64 / n as f64
            );
        }
    }
    if std::env::var("PERF_SIZE_ONLY").is_ok() {
        // What redb's compaction would give back (free pages inside the file).
        let path = s.path().to_path_buf();
        drop(s);
        let mut db = redb::Database::create(&path).unwrap();
        db.compact().unwrap();
        drop(db);
        let size = std::fs::metadata(&path).unwrap().len();
        println!(
            "file after compact: {} MB = {} bytes/lead",
            size / 1_000_000,
            size / n
        );
        return;
    }

    let q = FunnelQuery {
        pipeline_id: PRIMARY,
        ..Default::default()
    };
    let mut total = 0;
    println!(
        "funnel (aggregates): {:.2} ms",
        median_ms(|| total = s.funnel(&q).unwrap().unwrap().total_count)
    );
    assert_eq!(total, n);
    let fq = FunnelQuery {
        responsible_user_ids: vec![3],
        ..q.clone()
    };
    println!(
        "funnel (filtered by responsible, scan): {:.1} ms",
        median_ms(|| {
            s.funnel(&fq).unwrap();
        })
    );
    let cq = FunnelQuery {
        created: Some(amosync_store::TimeRange {
            from: Some(1_650_000_000),
            to: None,
        }),
        ..q.clone()
    };
    println!(
        "funnel (filtered by created, scan): {:.1} ms",
        median_ms(|| {
            s.funnel(&cq).unwrap();
        })
    );
    let mut hits = 0;
    let lq = LeadsQuery {
        search: Some("сидорова".into()),
        limit: Some(50),
        ..Default::default()
    };
    println!(
        "search «сидорова» (name + contacts): {:.1} ms",
        median_ms(|| hits = s.leads(&lq).unwrap().total)
    );
    println!("  hits: {hits}");
    let pq = LeadsQuery {
        search: Some("+7 (912)".into()),
        limit: Some(50),
        ..Default::default()
    };
    println!(
        "search phone: {:.1} ms",
        median_ms(|| hits = s.leads(&pq).unwrap().total)
    );
    println!("  hits: {hits}");
    let list = LeadsQuery {
        limit: Some(100),
        ..Default::default()
    };
    println!(
        "list first page (no search): {:.1} ms",
        median_ms(|| {
            s.leads(&list).unwrap();
        })
    );
    println!(
        "status(): {:.1} ms",
        median_ms(|| {
            s.status().unwrap();
        })
    );
}
