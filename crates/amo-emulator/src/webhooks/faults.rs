//! Fault injection decisions, drawn from a seeded RNG.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::webhooks::WebhookFaults;

/// Seed used on every `set_faults`, so a run with faults is reproducible.
const SEED: u64 = 0x616d_6f5f_686f_6f6b;

/// What happens to one delivery's first attempt.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct FaultPlan {
    /// Never sent, never retried.
    pub drop: bool,
    /// Sent twice.
    pub duplicate: bool,
    /// May be held and sent after the next delivery of its destination.
    pub reorder: bool,
    /// Sent this much later.
    pub delay: Duration,
}

/// The configured faults and their dice.
#[derive(Debug)]
pub(crate) struct Faults {
    config: WebhookFaults,
    rng: StdRng,
}

impl Faults {
    pub fn new(config: WebhookFaults) -> Self {
        Faults {
            config,
            rng: StdRng::seed_from_u64(SEED),
        }
    }

    /// Roll the dice for one delivery.
    pub fn plan(&mut self) -> FaultPlan {
        if self.config.is_off() {
            return FaultPlan::default();
        }
        let drop = roll(&mut self.rng, self.config.drop_rate);
        let duplicate = !drop && roll(&mut self.rng, self.config.duplicate_rate);
        FaultPlan {
            drop,
            duplicate,
            reorder: self.config.reorder,
            delay: self.config.delay,
        }
    }
}

/// True with probability `rate` (clamped to 0..=1; NaN counts as 0).
fn roll(rng: &mut StdRng, rate: f64) -> bool {
    if rate.is_nan() || rate <= 0.0 {
        return false;
    }
    if rate >= 1.0 {
        return true;
    }
    rng.random::<f64>() < rate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_clamped_and_seeded() {
        let cfg = WebhookFaults {
            drop_rate: 0.5,
            duplicate_rate: f64::NAN,
            ..WebhookFaults::default()
        };
        let a: Vec<bool> = (0..50)
            .map(|_| 0)
            .scan(Faults::new(cfg.clone()), |f, _| Some(f.plan().drop))
            .collect();
        let b: Vec<bool> = (0..50)
            .map(|_| 0)
            .scan(Faults::new(cfg), |f, _| Some(f.plan().drop))
            .collect();
        assert_eq!(a, b);
        assert!(a.iter().any(|d| *d) && a.iter().any(|d| !*d));
        let mut all = Faults::new(WebhookFaults {
            drop_rate: 7.0,
            ..WebhookFaults::default()
        });
        assert!(all.plan().drop);
    }
}
