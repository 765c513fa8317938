//! The funnel: per-status counts and money from the maintained aggregates
//! (unfiltered) or a scan of the compact lead facts (filtered), `reached`
//! and conversions, and median time in status from the history.
//!
//! `reached(s)` = leads now in `s` or a later open status + every won lead +
//! lost leads whose last open status was `s` or later (a lost lead whose last
//! open status is unknown counts only at the first status).
//!
//! Time in status counts only finished stays: the time from entering a status
//! to the lead's next move. Leads still in a status are left out.

use std::collections::HashMap;

use amo::models::{Pipeline, STATUS_LOST, STATUS_WON, Status};
use redb::{ReadTransaction, ReadableTable};

use crate::codec::{Agg, Facts, from_json, saturate};
use crate::error::StoreResult;
use crate::leads::is_closed;
use crate::query::{Funnel, FunnelQuery, FunnelStatus, StatusKind, TimeRange};
use crate::tables::*;

fn in_range(r: Option<TimeRange>, t: Option<i64>) -> bool {
    match r {
        None => true,
        Some(r) => t.is_some_and(|t| r.from.is_none_or(|f| t >= f) && r.to.is_none_or(|e| t < e)),
    }
}

/// Whether a live lead passes the query's filters (pipeline not checked).
pub(crate) fn passes(q: &FunnelQuery, f: &Facts) -> bool {
    f.live()
        && in_range(q.created, Some(f.created_at))
        && (q.closed.is_none() || (is_closed(f.status) && in_range(q.closed, f.closed_at)))
        && (q.responsible_user_ids.is_empty() || q.responsible_user_ids.contains(&f.responsible))
}

fn filtered(q: &FunnelQuery) -> bool {
    q.created.is_some() || q.closed.is_some() || !q.responsible_user_ids.is_empty()
}

/// A lead's share of the aggregates (the same rule as the maintained ones).
pub(crate) fn add_facts(map: &mut HashMap<u64, Agg>, f: &Facts) {
    crate::leads::agg_share(f, 1, |status, d| map.entry(status).or_default().add(&d));
}

/// The pipeline's statuses in funnel order: open by `sort`, then 142, 143.
pub(crate) fn ordered_statuses(p: &Pipeline) -> Vec<Status> {
    let mut open: Vec<Status> = p
        .statuses()
        .iter()
        .filter(|s| !is_closed(s.id))
        .cloned()
        .collect();
    open.sort_by_key(|s| (s.sort, s.id));
    for (id, name, color, sort) in [
        (STATUS_WON, "Успешно реализовано", "#CCFF66", 10000),
        (STATUS_LOST, "Закрыто и не реализовано", "#D5D8DB", 11000),
    ] {
        let s = match p.status(id) {
            Some(s) => s.clone(),
            None => {
                let v = serde_json::json!({"id": id, "name": name, "color": color, "sort": sort, "pipeline_id": p.id});
                match serde_json::from_value(v) {
                    Ok(s) => s,
                    Err(_) => continue,
                }
            }
        };
        open.push(s);
    }
    open
}

/// Builds the funnel from per-status aggregates.
pub(crate) fn compute(p: &Pipeline, map: &HashMap<u64, Agg>) -> Funnel {
    let statuses = ordered_statuses(p);
    let get = |id: u64| map.get(&id).copied().unwrap_or_default();
    let open: Vec<&Status> = statuses.iter().filter(|s| !is_closed(s.id)).collect();
    let won = get(STATUS_WON);
    let lost = get(STATUS_LOST);
    let known_lost: i64 = open.iter().map(|s| get(s.id).lost_from).sum();
    let unknown_lost = (lost.count - known_lost).max(0);
    // reached per open index, from the end.
    let mut reached = vec![0i64; open.len()];
    let mut acc = won.count;
    for (i, s) in open.iter().enumerate().rev() {
        let a = get(s.id);
        acc += a.count + a.lost_from;
        reached[i] = acc + if i == 0 { unknown_lost } else { 0 };
    }
    let ratio = |a: i64, b: i64| (b > 0).then(|| a as f64 / b as f64);
    let mut rows = Vec::with_capacity(statuses.len());
    let (mut total_count, mut total_price, mut open_count) = (0i64, 0i128, 0i64);
    let mut oi = 0usize;
    for s in &statuses {
        let a = get(s.id);
        total_count = total_count.saturating_add(a.count);
        total_price = total_price.saturating_add(a.price_sum);
        let kind = match s.id {
            STATUS_WON => StatusKind::Won,
            STATUS_LOST => StatusKind::Lost,
            _ => StatusKind::Open,
        };
        let (r, to_next, to_won) = if kind == StatusKind::Open {
            open_count += a.count;
            let r = reached[oi];
            let next = reached.get(oi + 1).and_then(|n| ratio(*n, r));
            oi += 1;
            (r, next, ratio(won.count, r))
        } else {
            (a.count, None, None)
        };
        rows.push(FunnelStatus {
            status_id: s.id,
            name: s.name.clone(),
            color: s.color.clone().unwrap_or_default(),
            sort: s.sort,
            kind,
            count: a.count.max(0) as u64,
            price_sum: a.price(),
            reached: r.max(0) as u64,
            conversion_to_next: to_next,
            conversion_to_won: to_won,
            median_seconds_in_status: None,
        });
    }
    Funnel {
        pipeline_id: p.id,
        pipeline_name: p.name.clone(),
        statuses: rows,
        total_count: total_count.max(0) as u64,
        total_price: saturate(total_price),
        open_count: open_count.max(0) as u64,
        won_count: won.count.max(0) as u64,
        won_price: won.price(),
        lost_count: lost.count.max(0) as u64,
        lost_price: lost.price(),
        win_rate: ratio(won.count, won.count + lost.count),
    }
}

/// Median of durations (mean of the two middle values for an even count).
pub(crate) fn median(v: &mut [i64]) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        ((v[n / 2 - 1] as i128 + v[n / 2] as i128) / 2) as i64
    })
}

/// Seconds in each status of `q.pipeline_id`, per finished stay.
fn stays(tx: &ReadTransaction, q: &FunnelQuery) -> StoreResult<HashMap<u64, Vec<i64>>> {
    let facts_t = tx.open_table(LEAD_FACTS)?;
    let mut out: HashMap<u64, Vec<i64>> = HashMap::new();
    let mut cur_lead = None;
    let mut eligible = false;
    let mut prev: Option<(i64, u64, u64)> = None;
    for row in tx.open_table(HISTORY)?.iter()? {
        let (k, _) = row?;
        let (lead, at, pipeline, status) = k.value();
        if cur_lead != Some(lead) {
            cur_lead = Some(lead);
            prev = None;
            eligible = match facts_t.get(lead)? {
                Some(v) => passes(q, &Facts::decode(v.value())),
                None => false,
            };
        }
        if !eligible {
            continue;
        }
        if let Some((pat, pp, ps)) = prev
            && pp == q.pipeline_id
        {
            out.entry(ps).or_default().push(at.saturating_sub(pat));
        }
        prev = Some((at, pipeline, status));
    }
    Ok(out)
}

/// The funnel of one pipeline.
pub(crate) fn funnel(tx: &ReadTransaction, q: &FunnelQuery) -> StoreResult<Option<Funnel>> {
    let p: Pipeline = match tx.open_table(PIPELINES)?.get(q.pipeline_id)? {
        Some(v) => from_json(v.value(), "a stored pipeline")?,
        None => return Ok(None),
    };
    let mut map: HashMap<u64, Agg> = HashMap::new();
    if filtered(q) {
        for row in tx.open_table(LEAD_FACTS)?.iter()? {
            let (_, v) = row?;
            let f = Facts::decode(v.value());
            if f.pipeline == q.pipeline_id && passes(q, &f) {
                add_facts(&mut map, &f);
            }
        }
    } else {
        let t = tx.open_table(FUNNEL_AGG)?;
        for row in t.range((q.pipeline_id, 0)..=(q.pipeline_id, u64::MAX))? {
            let (k, v) = row?;
            map.insert(k.value().1, Agg::decode(v.value()));
        }
    }
    let mut f = compute(&p, &map);
    if q.with_time_in_status {
        let mut stays = stays(tx, q)?;
        for s in &mut f.statuses {
            if s.kind == StatusKind::Open {
                s.median_seconds_in_status = stays.get_mut(&s.status_id).and_then(|v| median(v));
            }
        }
    }
    Ok(Some(f))
}
