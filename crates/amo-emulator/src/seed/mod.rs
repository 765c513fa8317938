//! Deterministic generation of a lived-in account: the same (seed, leads, now)
//! gives the same world, byte for byte. Generation is O(leads).
//!
//! Leads are spread over the year before `now`; each walks forward through
//! its pipeline with random pauses, so the history is funnel-shaped (many in
//! early stages, fewer late, a good share won or lost, some deleted) and the
//! `lead_status_changed` events make time-in-status meaningful.
//!
//! Layout: this file holds the config, the limits and the order of the steps
//! in [`build`] (that order fixes the RNG draws, so it is part of the output);
//! `people` makes companies and contacts, `leads` the leads with their fields
//! and notes, `pipeline` their status walk, `chats` their talks, `unsorted`
//! the fresh requests and `events` the final event order.

pub mod catalog;
mod chats;
mod data;
mod events;
mod leads;
mod people;
mod pipeline;
mod unsorted;

use std::collections::BTreeMap;

use crate::clock::Clock;
use crate::model::Timestamp;
use crate::rng::Rng;
use crate::world::{IdCounters, Room, World};
use catalog::{account, contact_fields, groups, lead_fields, loss_reasons, pipelines, tags, users};

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedConfig {
    pub seed: u64,
    pub leads: usize,
    /// The anchor "now" every generated timestamp is before.
    pub now: Timestamp,
    /// Where the account is served (`_links`, webhook `account[_links][self]`).
    pub base_url: String,
}

/// The state threaded through generation; its steps live in the sibling
/// modules, each an `impl Generator` block.
struct Generator {
    world: World,
    rng: Rng,
    now: Timestamp,
    /// Contacts created so far, for repeat clients.
    contact_ids: Vec<u64>,
    company_ids: Vec<u64>,
}

/// Most leads a seed generates (larger requests are cut to this).
pub const MAX_LEADS: usize = 1_000_000;
/// The earliest "now" a seed is generated around (2000-01-01); earlier is raised to it.
pub const MIN_NOW: Timestamp = 946_684_800;
/// The latest "now" a seed is generated around (2100-01-01); later is lowered to it.
pub const MAX_NOW: Timestamp = 4_102_444_800;

/// `now` moved into `MIN_NOW..=MAX_NOW`, where every seed computation fits.
pub fn sane_now(now: Timestamp) -> Timestamp {
    now.clamp(MIN_NOW, MAX_NOW)
}

/// Builds the seeded world (`leads` cut to [`MAX_LEADS`], `now` moved into
/// [`MIN_NOW`]`..=`[`MAX_NOW`]).
pub fn build(config: &SeedConfig, clock: Clock) -> World {
    let mut rng = Rng::new(config.seed ^ 0xA30C_5EED_0000_0001);
    let now = sane_now(config.now);
    let leads = config.leads.min(MAX_LEADS);
    let users = users();
    let admin_id = users
        .iter()
        .find(|u| u.is_admin)
        .map(|u| u.id)
        .unwrap_or_default();
    let world = World {
        clock,
        account: account(now, admin_id, rng.uuid(), &config.base_url),
        users,
        groups: groups(),
        pipelines: pipelines(),
        lead_fields: lead_fields(),
        contact_fields: contact_fields(),
        loss_reasons: loss_reasons(now),
        tags: tags(),
        leads: BTreeMap::new(),
        contacts: BTreeMap::new(),
        companies: BTreeMap::new(),
        notes: Vec::new(),
        talks: BTreeMap::new(),
        messages: Vec::new(),
        tasks: BTreeMap::new(),
        events: Vec::with_capacity(leads.saturating_mul(6)),
        unsorted: Vec::new(),
        change_log: Vec::new(),
        ids: IdCounters {
            lead: 30_000_000,
            contact: 50_000_000,
            company: 70_000_000,
            note: 90_000_000,
            talk: 1_000,
            tag: 40_100,
            event: 0,
            unsorted: 0,
            task: 88_000_000,
        },
        rng: Rng::new(config.seed.rotate_left(17) ^ 0x0005_EED0_0000_0002),
        room: Room::default(),
    };
    let mut g = Generator {
        world,
        rng,
        now,
        contact_ids: Vec::new(),
        company_ids: Vec::new(),
    };
    g.companies();
    let n = leads;
    let span = 365 * DAY;
    let start = now - span - 2 * HOUR;
    for i in 0..n {
        let slot = span / n.max(1) as i64;
        let created = start + slot * i as i64 + g.rng.range(0, slot.max(1));
        g.lead(created.min(now - 2 * HOUR));
    }
    let mut world = g.world;
    unsorted::pending_unsorted(&mut world, now);
    events::finish_events(&mut world);
    world.change_log.clear();
    world.set_room_from_now();
    world
}
