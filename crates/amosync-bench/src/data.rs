//! Deterministic test data: the emulator's seeded account (the real
//! «Первичка» with 21 statuses, a second pipeline, users, leads with custom
//! fields, tags, contacts) rendered as API v4 JSON, and a generator that
//! scales those leads up to any count.

use amo::models::{Lead, Pipeline, User};
use amo_emulator::api::render::{self, LeadWith};
use amo_emulator::world::World;
use amosync_store::AccountBinding;

/// The seed every data set is generated from.
pub const SEED: u64 = 7;
/// The "now" the funnel data set is generated around (2025-10-09 UTC), so the
/// same leads come out on every machine and every day.
pub const FIXED_NOW: i64 = 1_760_000_000;
const DAY: i64 = 86_400;

/// What the store needs besides the leads.
#[derive(Debug, Clone)]
pub struct Account {
    pub binding: AccountBinding,
    pub pipelines: Vec<Pipeline>,
    pub users: Vec<User>,
}

/// Renders the world's account, pipelines and users as the API shows them.
pub fn account(w: &World, connected_at: i64) -> Result<Account, String> {
    let pipelines = w
        .pipelines
        .iter()
        .map(|p| from_json(render::pipeline(w, p)))
        .collect::<Result<Vec<Pipeline>, _>>()?;
    let users = w
        .users
        .iter()
        .map(|u| from_json(render::user(w, u)))
        .collect::<Result<Vec<User>, _>>()?;
    let binding = AccountBinding {
        account_id: w.account.id,
        subdomain: w.account.subdomain.clone(),
        name: w.account.name.clone(),
        base_url: w.account.base_url.clone(),
        currency: Some(w.account.currency.clone()),
        timezone: Some("Asia/Tbilisi".into()),
        connected_at,
    };
    Ok(Account {
        binding,
        pipelines,
        users,
    })
}

/// Every seeded lead (deleted ones included), as `GET /api/v4/leads?with=contacts` renders it.
pub fn leads(w: &World) -> Result<Vec<Lead>, String> {
    let with = LeadWith {
        contacts: true,
        loss_reason: false,
        source_id: false,
    };
    w.leads
        .values()
        .map(|l| from_json(render::lead(w, l, with)))
        .collect()
}

fn from_json<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, String> {
    serde_json::from_value(v)
        .map_err(|e| format!("emulator JSON does not decode as amo model: {e}"))
}

/// SplitMix64: small, fast, deterministic.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `[lo, hi)`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        let span = (hi - lo).max(1) as u64;
        lo + (self.next_u64() % span) as i64
    }
}

/// Scales `templates` (the emulator's seeded leads, whose status, pipeline,
/// price, responsible and date distribution is the emulator's funnel-shaped
/// one) up to `count` leads with ids `1..=count`. Lead `i` copies template
/// `i % templates.len()`, shifts all its dates by the same random offset (at
/// most 60 days earlier, never after `now`) and varies its price by ±30 %.
pub struct LeadGen<'a> {
    templates: &'a [Lead],
    rng: Rng,
    now: i64,
    next: u64,
    count: u64,
}

impl<'a> LeadGen<'a> {
    pub fn new(templates: &'a [Lead], count: u64, now: i64) -> LeadGen<'a> {
        LeadGen {
            templates,
            rng: Rng::new(SEED),
            now,
            next: 1,
            count,
        }
    }
}

impl Iterator for LeadGen<'_> {
    type Item = Lead;
    fn next(&mut self) -> Option<Lead> {
        if self.next > self.count || self.templates.is_empty() {
            return None;
        }
        let id = self.next;
        self.next += 1;
        let t = &self.templates[(id as usize - 1) % self.templates.len()];
        let mut lead = t.clone();
        lead.id = id;
        let shift = self.rng.range(0, 60 * DAY);
        let shift = shift.min(lead.created_at - (self.now - 400 * DAY)).max(0);
        lead.created_at -= shift;
        lead.updated_at -= shift;
        lead.closed_at = lead.closed_at.map(|c| c - shift);
        lead.closest_task_at = lead.closest_task_at.map(|c| c - shift);
        if lead.price > 0 {
            let pct = self.rng.range(70, 131);
            lead.price = (lead.price * pct / 100 / 10) * 10;
        }
        // `_links` point at the emulator's id; drop them like a fresh record.
        lead.links = None;
        Some(lead)
    }
}
