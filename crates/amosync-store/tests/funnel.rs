//! Funnel: a hand-made example, filters, medians, and a property test
//! against a naive recomputation.

mod common;

use std::collections::HashMap;

use amo::models::StatusKey;
use amosync_store::{FunnelQuery, Origin, StatusChange, StatusKind, Store, TimeRange};
use common::*;
use proptest::prelude::*;

const P: u64 = 2;

fn q() -> FunnelQuery {
    FunnelQuery {
        pipeline_id: P,
        ..Default::default()
    }
}

fn put(s: &Store, l: &amo::models::Lead) {
    s.write(|w| w.upsert_lead(l, Origin::Api)).unwrap();
}

fn example() -> (tempfile::TempDir, Store) {
    let (d, s) = store();
    s.write(|w| w.put_pipelines(&[small(P, &[10, 20, 30]), primary()]))
        .unwrap();
    put(&s, &lead_in(1, P, 100, 10, 1000));
    put(&s, &lead_in(2, P, 100, 20, 2000));
    put(&s, &lead_in(3, P, 100, 30, 3000));
    put(&s, &lead_in(4, P, 100, 142, 4000));
    put(&s, &lead_in(5, P, 100, 20, 5000));
    put(&s, &lead_in(5, P, 200, 143, 5000)); // lost from 20
    put(&s, &lead_in(6, P, 100, 143, 6000)); // lost, last open unknown
    put(&s, &lead_in(7, P, 100, 30, 7000));
    s.write(|w| w.delete_lead(7, 300)).unwrap(); // deleted: not counted
    put(&s, &lead_in(8, PRIMARY, 100, 69641338, 1)); // other pipeline
    (d, s)
}

#[test]
fn conversions_on_a_hand_made_example() {
    let (_d, s) = example();
    let f = s.funnel(&q()).unwrap().unwrap();
    assert_eq!(f.pipeline_name, "Вторая");
    let ids: Vec<u64> = f.statuses.iter().map(|s| s.status_id).collect();
    assert_eq!(ids, [10, 20, 30, 142, 143]);
    let row = |id: u64| {
        f.statuses
            .iter()
            .find(|s| s.status_id == id)
            .unwrap()
            .clone()
    };
    assert_eq!(
        (row(10).count, row(10).price_sum, row(10).reached),
        (1, 1000, 6)
    );
    assert_eq!((row(20).count, row(20).reached), (1, 4));
    assert_eq!((row(30).count, row(30).reached), (1, 2));
    assert_eq!(row(10).conversion_to_next, Some(4.0 / 6.0));
    assert_eq!(row(20).conversion_to_next, Some(2.0 / 4.0));
    assert_eq!(row(30).conversion_to_next, None);
    assert_eq!(row(10).conversion_to_won, Some(1.0 / 6.0));
    assert_eq!(row(30).conversion_to_won, Some(0.5));
    assert_eq!(row(142).kind, StatusKind::Won);
    assert_eq!(row(143).kind, StatusKind::Lost);
    assert_eq!(row(142).conversion_to_won, None);
    assert_eq!((f.won_count, f.won_price), (1, 4000));
    assert_eq!((f.lost_count, f.lost_price), (2, 11000));
    assert_eq!((f.total_count, f.total_price, f.open_count), (6, 21000, 3));
    assert_eq!(f.win_rate, Some(1.0 / 3.0));
    assert!(
        s.funnel(&FunnelQuery {
            pipeline_id: 999,
            ..Default::default()
        })
        .unwrap()
        .is_none()
    );

    // «Первичка»: 21 statuses, 142 and 143 last.
    let p = s
        .funnel(&FunnelQuery {
            pipeline_id: PRIMARY,
            ..Default::default()
        })
        .unwrap()
        .unwrap();
    assert_eq!(p.statuses.len(), 21);
    assert_eq!(p.statuses[0].name, "Неразобранное");
    assert_eq!(p.statuses[19].status_id, 142);
    assert_eq!(p.statuses[20].status_id, 143);
    assert_eq!(p.statuses[3].count, 1);
}

#[test]
fn history_teaches_the_last_open_status() {
    let (_d, s) = example();
    // Lead 6 was lost from 30 according to the history.
    s.write(|w| {
        w.record_status_change(&StatusChange {
            lead_id: 6,
            at: 90,
            from: Some(StatusKey {
                pipeline_id: P,
                status_id: 30,
            }),
            to: StatusKey {
                pipeline_id: P,
                status_id: 143,
            },
            by: None,
        })
    })
    .unwrap();
    let f = s.funnel(&q()).unwrap().unwrap();
    let reached: Vec<u64> = f.statuses.iter().map(|s| s.reached).collect();
    assert_eq!(reached[..3], [6, 5, 3]);
}

#[test]
fn filtered_funnel() {
    let (_d, s) = example();
    // Lead ids 1..=8 have created_at 1_700_000_000 + id.
    let f = s
        .funnel(&FunnelQuery {
            created: Some(TimeRange {
                from: Some(1_700_000_002),
                to: Some(1_700_000_005),
            }),
            ..q()
        })
        .unwrap()
        .unwrap();
    assert_eq!(f.total_count, 3); // leads 2, 3, 4
    assert_eq!(f.won_count, 1);
    let f = s
        .funnel(&FunnelQuery {
            closed: Some(TimeRange {
                from: Some(150),
                to: None,
            }),
            ..q()
        })
        .unwrap()
        .unwrap();
    assert_eq!((f.total_count, f.lost_count, f.open_count), (1, 1, 0)); // lead 5
    let mut other = lead_in(9, P, 100, 10, 50);
    other.responsible_user_id = 77;
    put(&s, &other);
    let f = s
        .funnel(&FunnelQuery {
            responsible_user_ids: vec![77],
            ..q()
        })
        .unwrap()
        .unwrap();
    assert_eq!((f.total_count, f.total_price), (1, 50));
    // Unfiltered (aggregates) equals a filter that keeps everything (scan).
    let all = s.funnel(&q()).unwrap().unwrap();
    let scan = s
        .funnel(&FunnelQuery {
            created: Some(TimeRange::default()),
            ..q()
        })
        .unwrap()
        .unwrap();
    assert_eq!(all, scan);
}

#[test]
fn median_time_in_status() {
    let (_d, s) = example();
    let mv = |lead: u64, at: i64, from: Option<u64>, to: u64| StatusChange {
        lead_id: lead,
        at,
        from: from.map(|f| StatusKey {
            pipeline_id: P,
            status_id: f,
        }),
        to: StatusKey {
            pipeline_id: P,
            status_id: to,
        },
        by: Some(1),
    };
    s.write(|w| {
        for c in [
            mv(1, 0, None, 10),
            mv(1, 100, Some(10), 20),
            mv(1, 400, Some(20), 30),
            mv(2, 0, None, 10),
            mv(2, 300, Some(10), 20),
            mv(2, 500, Some(20), 143),
        ] {
            w.record_status_change(&c)?;
        }
        // Reported twice (webhook and events API): stored once.
        assert_eq!(
            w.record_status_change(&mv(2, 500, Some(20), 143))?,
            amosync_store::Applied::Unchanged
        );
        Ok(())
    })
    .unwrap();
    let f = s
        .funnel(&FunnelQuery {
            with_time_in_status: true,
            ..q()
        })
        .unwrap()
        .unwrap();
    let med = |id: u64| {
        f.statuses
            .iter()
            .find(|s| s.status_id == id)
            .unwrap()
            .median_seconds_in_status
    };
    assert_eq!(med(10), Some(200));
    assert_eq!(med(20), Some(250));
    assert_eq!(med(30), None, "leads still in a status are not counted");
    assert_eq!(s.lead(2).unwrap().unwrap().history.len(), 3);
    assert_eq!(s.status().unwrap().status_changes, 6);
}

/// (pipeline, status, price, responsible, last open (pipeline, status), deleted).
type Naive = (u64, u64, i64, u64, Option<(u64, u64)>, bool);

/// One lead's path: (pipeline index, status index) per version; 3 = won, 4 = lost.
fn path() -> impl Strategy<Value = (Vec<(usize, usize)>, i64, u64, bool)> {
    (
        prop::collection::vec((0usize..2, 0usize..5), 1..5),
        0i64..1000,
        1u64..4,
        prop::bool::weighted(0.1),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn matches_a_naive_recomputation(leads in prop::collection::vec(path(), 0..40), resp in 1u64..4) {
        let pipes = [(P, [10u64, 20, 30]), (3, [40u64, 50, 60])];
        let status_of = |pi: usize, si: usize| if si < 3 { pipes[pi].1[si] } else if si == 3 { 142 } else { 143 };
        let (_d, s) = store();
        s.write(|w| w.put_pipelines(&[small(P, &[10, 20, 30]), small(3, &[40, 50, 60])])).unwrap();
        // Naive state per lead: (pipeline, status, price, responsible, last open (pipeline, status), deleted)
        let mut naive: Vec<Naive> = Vec::new();
        for (i, (versions, price, r, deleted)) in leads.iter().enumerate() {
            let id = i as u64 + 1;
            let mut last_open = None;
            let mut cur = (0, 0);
            for (t, (pi, si)) in versions.iter().enumerate() {
                let (p, st) = (pipes[*pi].0, status_of(*pi, *si));
                let mut l = lead_in(id, p, 100 + t as i64, st, *price);
                l.responsible_user_id = *r;
                s.write(|w| w.upsert_lead(&l, Origin::Api)).unwrap();
                if st != 142 && st != 143 { last_open = Some((p, st)); }
                cur = (p, st);
            }
            if *deleted {
                s.write(|w| w.delete_lead(id, 1000)).unwrap();
            }
            naive.push((cur.0, cur.1, *price, *r, last_open, *deleted));
        }
        for filter in [vec![], vec![resp]] {
            for (p, open) in pipes {
                let got = s.funnel(&FunnelQuery { pipeline_id: p, responsible_user_ids: filter.clone(), ..Default::default() }).unwrap().unwrap();
                let live: Vec<_> = naive.iter().filter(|l| !l.5 && l.0 == p && (filter.is_empty() || filter.contains(&l.3))).collect();
                let count = |st: u64| live.iter().filter(|l| l.1 == st).count() as u64;
                let won = count(142);
                let idx = |st: u64| open.iter().position(|o| *o == st);
                let mut by_status: HashMap<u64, u64> = HashMap::new();
                for (k, st) in open.iter().enumerate() {
                    let mut r = won;
                    for l in &live {
                        let pos = if l.1 == 143 {
                            // Lost: from its last open status in this pipeline, else the first.
                            Some(l.4.filter(|(lp, _)| *lp == p).and_then(|(_, ls)| idx(ls)).unwrap_or(0))
                        } else { idx(l.1) };
                        if pos.is_some_and(|pos| pos >= k) { r += 1; }
                    }
                    by_status.insert(*st, r);
                }
                for row in &got.statuses {
                    prop_assert_eq!(row.count, count(row.status_id));
                    let price: i64 = live.iter().filter(|l| l.1 == row.status_id).map(|l| l.2).sum();
                    prop_assert_eq!(row.price_sum, price);
                    if row.kind == StatusKind::Open {
                        prop_assert_eq!(row.reached, by_status[&row.status_id], "status {}", row.status_id);
                    }
                }
                prop_assert_eq!(got.total_count, live.len() as u64);
                prop_assert_eq!(got.won_count, won);
            }
        }
    }
}

/// A filter that lets every lead through: forces the facts scan.
fn scan(pipeline_id: u64) -> FunnelQuery {
    FunnelQuery {
        pipeline_id,
        created: Some(TimeRange::default()),
        ..Default::default()
    }
}

fn unfiltered(pipeline_id: u64) -> FunnelQuery {
    FunnelQuery {
        pipeline_id,
        ..Default::default()
    }
}

/// The maintained aggregates and the filtered scan share one rule, also for
/// lost leads whose last open status was in another pipeline.
#[test]
fn filtered_without_filters_equals_unfiltered_with_lost_leads_across_pipelines() {
    const Q: u64 = 3;
    let (_d, s) = store();
    const R: u64 = 4;
    s.write(|w| {
        w.put_pipelines(&[
            small(P, &[10, 20, 30]),
            small(Q, &[40, 50]),
            // Shares a status id with P, so "last open status" alone would
            // count lead 8 below at P's status 20.
            small(R, &[20, 60]),
        ])
    })
    .unwrap();
    put(&s, &lead_in(1, P, 100, 20, 100));
    put(&s, &lead_in(1, P, 200, 143, 100)); // lost in P from 20
    put(&s, &lead_in(2, Q, 100, 40, 200));
    put(&s, &lead_in(2, P, 200, 143, 200)); // lost in P, last open in Q
    put(&s, &lead_in(3, P, 100, 10, 300));
    put(&s, &lead_in(3, Q, 200, 143, 300)); // lost in Q, last open in P
    put(&s, &lead_in(4, Q, 100, 50, 400));
    put(&s, &lead_in(4, Q, 200, 143, 400)); // lost in Q from 50
    put(&s, &lead_in(5, P, 100, 30, 500));
    put(&s, &lead_in(6, Q, 100, 142, 600));
    put(&s, &lead_in(7, P, 100, 143, 700)); // lost, never seen open
    put(&s, &lead_in(8, R, 100, 20, 800));
    put(&s, &lead_in(8, P, 200, 143, 800)); // lost in P, last open in R
    for p in [P, Q, R] {
        let a = s.funnel(&unfiltered(p)).unwrap().unwrap();
        let b = s.funnel(&scan(p)).unwrap().unwrap();
        assert_eq!(a, b, "pipeline {p}");
    }
    let f = s.funnel(&unfiltered(P)).unwrap().unwrap();
    let reached: Vec<u64> = f.statuses.iter().map(|s| s.reached).collect();
    // 10: 1 (lost from 20) + 2, 7, 8 (unknown) + 5; 20: 1 + 5; 30: 5.
    assert_eq!(reached, [5, 2, 1, 0, 4]);
}

/// Prices at the ends of i64 neither panic (debug builds check overflow)
/// nor break the aggregates: sums are exact inside, saturated on output.
#[test]
fn extreme_prices_saturate_and_stay_invertible() {
    let (_d, s) = store();
    s.write(|w| w.put_pipelines(&[small(P, &[10, 20, 30])]))
        .unwrap();
    put(&s, &lead_in(1, P, 100, 10, i64::MAX));
    put(&s, &lead_in(2, P, 100, 10, i64::MAX));
    put(&s, &lead_in(3, P, 100, 20, i64::MIN));
    put(&s, &lead_in(4, P, 100, 20, i64::MIN));
    put(&s, &lead_in(5, P, 100, 142, i64::MAX));
    let row = |f: &amosync_store::Funnel, id: u64| {
        f.statuses
            .iter()
            .find(|s| s.status_id == id)
            .unwrap()
            .price_sum
    };
    for q in [unfiltered(P), scan(P)] {
        let f = s.funnel(&q).unwrap().unwrap();
        assert_eq!(row(&f, 10), i64::MAX, "saturated");
        assert_eq!(row(&f, 20), i64::MIN, "saturated");
        // MAX + MAX + MIN + MIN + MAX = MAX - 2 exactly (no overflow inside).
        assert_eq!(f.total_price, i64::MAX - 2);
        assert_eq!(f.won_price, i64::MAX);
    }
    // Removing and changing leads undoes their share exactly.
    s.write(|w| w.delete_lead(2, 200)).unwrap();
    put(&s, &lead_in(4, P, 200, 20, -5));
    put(&s, &lead_in(5, P, 200, 142, i64::MIN));
    for q in [unfiltered(P), scan(P)] {
        let f = s.funnel(&q).unwrap().unwrap();
        assert_eq!(row(&f, 10), i64::MAX);
        assert_eq!(row(&f, 20), i64::MIN);
        assert_eq!(f.won_price, i64::MIN);
        // MAX + MIN - 5 + MIN = MIN - 6: saturated.
        assert_eq!(f.total_price, i64::MIN);
    }
    let top = s
        .leads(&amosync_store::LeadsQuery {
            order: amosync_store::LeadsOrder::PriceDesc,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(top.items.first().map(|l| l.lead.id), Some(1));
}
