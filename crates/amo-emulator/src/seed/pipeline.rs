//! A lead's walk through its pipeline and the status events it leaves.

use serde_json::json;

use super::catalog::MAIN_UNSORTED_STATUS;
use super::{DAY, Generator, HOUR};
use crate::model::{Lead, STATUS_LOST, STATUS_WON, Timestamp};
use crate::world::lead_status_value;

/// The main pipeline's forward path (statuses a typical rental walks through).
const MAIN_PATH: &[u64] = &[
    69_641_338, 69_641_342, 75_648_530, 75_558_642, 70_363_398, 69_717_006, 69_695_130, 75_235_938,
    70_724_666, 72_177_974, 70_724_674,
];
/// From this index on a deal can be won.
const MAIN_WON_FROM: usize = 6;
/// Where stalled main-pipeline leads wait.
const MAIN_STALLED: &[u64] = &[69_695_126, 70_390_022];
const CORP_PATH: &[u64] = &[69_641_454, 69_641_458, 69_641_462, 69_641_466];
const CORP_WON_FROM: usize = 2;

impl Generator {
    /// Walks the lead forward through its pipeline, writing status events.
    pub(super) fn walk(&mut self, lead: &mut Lead, corporate: bool) {
        let (path, won_from) = if corporate {
            (CORP_PATH, CORP_WON_FROM)
        } else {
            (MAIN_PATH, MAIN_WON_FROM)
        };
        let start = if corporate {
            path[0]
        } else {
            match self.rng.index(100) {
                0..=7 => MAIN_UNSORTED_STATUS,
                8..=11 => 76_072_006,
                12..=14 => 72_457_238,
                _ => path[0],
            }
        };
        let mut status = start;
        let mut pos = 0usize;
        let mut t = lead.created_at;
        let who = lead.responsible_user_id;
        self.world.push_event(
            "lead_added",
            ("lead", lead.id),
            who,
            t,
            json!([]),
            lead_status_value(status, lead.pipeline_id),
        );
        loop {
            let step = self
                .rng
                .range(HOUR / 2, 5 * DAY)
                .min(self.rng.range(HOUR / 2, 12 * DAY));
            let next_t = t + step;
            if next_t >= self.now - 60 {
                break;
            }
            let roll = self.rng.unit();
            let target = if !path.contains(&status) {
                path[0]
            } else if roll < 0.13 {
                STATUS_LOST
            } else if pos >= won_from && roll < 0.38 {
                STATUS_WON
            } else if roll < 0.84 {
                pos += 1 + self.rng.index(2);
                if pos >= path.len() {
                    STATUS_WON
                } else {
                    path[pos]
                }
            } else if self.now - lead.created_at > 45 * DAY && self.rng.chance(0.6) {
                STATUS_LOST
            } else {
                if !corporate && pos > 0 && pos < 4 && self.rng.chance(0.4) {
                    let stalled = MAIN_STALLED[self.rng.index(MAIN_STALLED.len())];
                    self.status_event(lead, status, stalled, next_t);
                    status = stalled;
                    t = next_t;
                }
                break;
            };
            self.status_event(lead, status, target, next_t);
            status = target;
            t = next_t;
            if status == STATUS_WON || status == STATUS_LOST {
                lead.closed_at = Some(t);
                if status == STATUS_LOST {
                    let reasons = self.world.loss_reasons.len();
                    lead.loss_reason_id = self
                        .world
                        .loss_reasons
                        .get(self.rng.index(reasons))
                        .map(|r| r.id);
                }
                break;
            }
        }
        lead.status_id = status;
        lead.updated_at = t;
        lead.updated_by = who;
    }

    fn status_event(&mut self, lead: &Lead, from: u64, to: u64, at: Timestamp) {
        let p = lead.pipeline_id;
        let who = lead.responsible_user_id;
        self.world.push_event(
            "lead_status_changed",
            ("lead", lead.id),
            who,
            at,
            lead_status_value(from, p),
            lead_status_value(to, p),
        );
    }
}
