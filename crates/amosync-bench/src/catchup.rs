//! One full catch-up from a seeded emulator into a fresh store, against the
//! bound the client's rate limiter allows.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use amo_emulator::limits::LimitsConfig;
use amo_emulator::{Emulator, EmulatorConfig};
use amosync_store::Store;
use amosync_sync::{CatchupOptions, SystemClock, catch_up};
use serde_json::{Value, json};

use crate::funnel::round;
use crate::{data, log};

/// amoCRM's page size for leads.
const PAGE: u64 = 250;

pub struct CatchupResult {
    pub json: serde_json::Map<String, Value>,
    pub failure: Option<String>,
}

pub async fn run(dir: &Path, leads: usize, timeout: Duration) -> Result<CatchupResult, String> {
    let mut out = serde_json::Map::new();
    log(&format!(
        "catch-up: seeding an emulator with {leads} leads…"
    ));
    let t = Instant::now();
    let emu = Emulator::start(EmulatorConfig {
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        seed: data::SEED,
        leads,
        limits: LimitsConfig::default(),
        ..EmulatorConfig::default()
    })
    .await
    .map_err(|e| format!("emulator: {e}"))?;
    let (account, live, deleted, contacts, companies, events) = {
        let w = emu.world();
        let live = w.leads.values().filter(|l| !l.is_deleted).count() as u64;
        let deleted = w.leads.len() as u64 - live;
        (
            data::account(&w, crate::now_ms() / 1000)?,
            live,
            deleted,
            w.contacts.len() as u64,
            w.companies.len() as u64,
            w.events.len() as u64,
        )
    };
    log(&format!(
        "catch-up: emulator ready in {:.1} s: {live} live + {deleted} deleted leads, {contacts} contacts, {companies} companies, {events} events",
        t.elapsed().as_secs_f64()
    ));

    let store = Store::open(&dir.join("catchup.redb")).map_err(|e| format!("Store::open: {e}"))?;
    {
        let store = store.clone();
        let binding = account.binding.clone();
        tokio::task::spawn_blocking(move || store.write(|tx| tx.set_binding(&binding)))
            .await
            .map_err(|e| format!("store setup task: {e}"))?
            .map_err(|e| format!("store setup: {e}"))?;
    }
    let config = amo::ClientConfig::from_url(&emu.base_url()).map_err(|e| e.to_string())?;
    let rate = config.rate_per_second;
    let client =
        amo::Client::new(config, amo::StaticToken::new(emu.token())).map_err(|e| e.to_string())?;
    emu.state().reset_stats();
    log(&format!(
        "catch-up: full pull at the client's default {rate} req/s (time limit {} s)…",
        timeout.as_secs()
    ));
    let clock = Arc::new(SystemClock);
    let t = Instant::now();
    let report = tokio::time::timeout(
        timeout,
        catch_up(&store, &client, clock.as_ref(), &CatchupOptions::default()),
    )
    .await;
    let elapsed = t.elapsed().as_secs_f64();
    let stats = emu.state().stats();
    let report = match report {
        Err(_) => {
            return Ok(CatchupResult {
                json: out,
                failure: Some(format!(
                    "catch-up: did not finish within {} s ({} requests made, {} 429s)",
                    timeout.as_secs(),
                    stats.requests,
                    stats.rate_limited
                )),
            });
        }
        Ok(Err(e)) => {
            return Ok(CatchupResult {
                json: out,
                failure: Some(format!("catch-up failed: {e}")),
            });
        }
        Ok(Ok(r)) => r,
    };
    let status = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.status())
            .await
            .map_err(|e| format!("status task: {e}"))?
            .map_err(|e| format!("Store::status: {e}"))?
    };
    emu.shutdown().await;

    let lead_pages = live.div_ceil(PAGE);
    let bound_s = lead_pages as f64 / rate;
    // n requests paced at `rate` need (n - 1) / rate seconds at least.
    let request_bound_s = stats.requests.saturating_sub(1) as f64 / rate;
    let lead_list_requests = stats
        .by_endpoint
        .get("GET /api/v4/leads")
        .copied()
        .unwrap_or(0);
    // The time to mirror the N leads (what the bound describes): from the
    // pass's start until its last lead page was stored.
    let leads_done_s = report.leads_done_ms as f64 / 1000.0;
    let by_kind = requests_by_kind(&stats.by_endpoint);
    log(&format!(
        "catch-up: leads stored after {leads_done_s:.1} s (bound {bound_s:.1} s from {lead_pages} lead pages); whole pass {elapsed:.1} s, {} requests ({} lead list pages) {by_kind}, {} 429s; store has {} leads",
        stats.requests, lead_list_requests, stats.rate_limited, status.leads
    ));
    out.insert("catchup_leads".into(), json!(live));
    out.insert("catchup_deleted_leads".into(), json!(deleted));
    out.insert("catchup_contacts".into(), json!(contacts));
    out.insert("catchup_companies".into(), json!(companies));
    out.insert("catchup_emulator_events".into(), json!(events));
    out.insert("catchup_lead_pages".into(), json!(lead_pages));
    out.insert("catchup_rate_per_s".into(), json!(rate));
    out.insert("catchup_seconds".into(), json!(round(elapsed, 2)));
    out.insert("catchup_total_s".into(), json!(round(elapsed, 2)));
    out.insert("catchup_leads_done_s".into(), json!(round(leads_done_s, 2)));
    out.insert("catchup_bound_s".into(), json!(round(bound_s, 2)));
    out.insert(
        "catchup_fraction_of_bound".into(),
        json!(round(bound_s / leads_done_s.max(1e-9), 3)),
    );
    out.insert(
        "catchup_whole_pass_fraction_of_bound".into(),
        json!(round(bound_s / elapsed, 3)),
    );
    out.insert("catchup_requests_by_kind".into(), by_kind);
    out.insert("catchup_requests".into(), json!(stats.requests));
    out.insert(
        "catchup_request_bound_s".into(),
        json!(round(request_bound_s, 2)),
    );
    out.insert(
        "catchup_fraction_of_request_bound".into(),
        json!(round(request_bound_s / elapsed, 3)),
    );
    out.insert("catchup_429s".into(), json!(stats.rate_limited));
    out.insert(
        "catchup_requests_by_endpoint".into(),
        json!(stats.by_endpoint),
    );
    out.insert("catchup_requests_by_status".into(), json!(stats.by_status));
    out.insert("catchup_store_leads".into(), json!(status.leads));
    out.insert("catchup_store_contacts".into(), json!(status.contacts));
    out.insert(
        "catchup_report".into(),
        serde_json::to_value(&report).unwrap_or(Value::Null),
    );
    let failure = if report.leads_done_ms == 0 {
        Some("catch-up: the report has no leads_done_ms".to_string())
    } else if status.leads != live {
        Some(format!(
            "catch-up: the store holds {} live leads, the emulator {live}",
            status.leads
        ))
    } else {
        None
    };
    Ok(CatchupResult { json: out, failure })
}

/// Requests grouped by what they read (from the emulator's per-endpoint
/// counters): lead, contact, company and event list pages, talk reads (one
/// request each), everything else.
fn requests_by_kind(by_endpoint: &std::collections::BTreeMap<String, u64>) -> Value {
    let mut kinds: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
    for (endpoint, n) in by_endpoint {
        let path = endpoint.split_whitespace().nth(1).unwrap_or(endpoint);
        let kind = match path {
            "/api/v4/leads" => "lead_pages",
            "/api/v4/contacts" => "contact_pages",
            "/api/v4/companies" => "company_pages",
            "/api/v4/events" => "event_pages",
            p if p.starts_with("/api/v4/talks") => "talk_reads",
            _ => "other",
        };
        *kinds.entry(kind).or_default() += n;
    }
    json!(kinds)
}
