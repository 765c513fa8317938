//! Injected API trouble: random 5xx answers, slow answers, and a forced run
//! of 429s or HTML 403s for the next N requests. Seeded, so runs repeat.

use std::time::Duration;

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::rng::Rng;

/// Random faults, as rates in `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiFaultConfig {
    #[serde(default)]
    pub error_rate: f64,
    #[serde(default = "default_error_status")]
    pub error_status: u16,
    #[serde(default)]
    pub slow_rate: f64,
    #[serde(default)]
    pub slow_ms: u64,
}

fn default_error_status() -> u16 {
    500
}

impl Default for ApiFaultConfig {
    fn default() -> Self {
        ApiFaultConfig {
            error_rate: 0.0,
            error_status: 500,
            slow_rate: 0.0,
            slow_ms: 0,
        }
    }
}

impl ApiFaultConfig {
    /// Checks rates and status; the message says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        for (name, rate) in [
            ("error_rate", self.error_rate),
            ("slow_rate", self.slow_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must be between 0 and 1, got {rate}"));
            }
        }
        if !(500..=599).contains(&self.error_status) {
            return Err(format!(
                "error_status must be a 5xx status, got {}",
                self.error_status
            ));
        }
        if self.slow_ms > 120_000 {
            return Err(format!(
                "slow_ms must be at most 120000, got {}",
                self.slow_ms
            ));
        }
        Ok(())
    }
}

/// What a forced fault answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Forced {
    TooManyRequests,
    /// The HTML 403 of a blocked account.
    Blocked,
}

impl Forced {
    pub fn from_status(status: u16) -> Option<Forced> {
        match status {
            429 => Some(Forced::TooManyRequests),
            403 => Some(Forced::Blocked),
            _ => None,
        }
    }
}

/// The random part of a request's fate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Roll {
    pub delay: Option<Duration>,
    pub error: Option<StatusCode>,
}

#[derive(Debug)]
pub struct Faults {
    pub config: ApiFaultConfig,
    forced: Option<(Forced, u32)>,
    rng: Rng,
}

impl Faults {
    pub fn new(config: ApiFaultConfig, seed: u64) -> Self {
        Faults {
            config,
            forced: None,
            rng: Rng::new(seed ^ 0xFA17_5EED),
        }
    }

    /// The next `count` API requests answer `forced`.
    pub fn force(&mut self, forced: Forced, count: u32) {
        self.forced = (count > 0).then_some((forced, count));
    }

    pub fn forced_remaining(&self) -> u32 {
        self.forced.map(|(_, n)| n).unwrap_or(0)
    }

    /// Clears random and forced faults.
    pub fn reset(&mut self) {
        self.config = ApiFaultConfig::default();
        self.forced = None;
    }

    /// Consumes one forced answer, if any are pending.
    pub fn take_forced(&mut self) -> Option<Forced> {
        let (kind, left) = self.forced?;
        self.forced = (left > 1).then_some((kind, left - 1));
        Some(kind)
    }

    /// Rolls the random faults for one request.
    pub fn roll(&mut self) -> Roll {
        let mut roll = Roll::default();
        if self.config.slow_rate > 0.0 && self.rng.chance(self.config.slow_rate) {
            roll.delay = Some(Duration::from_millis(self.config.slow_ms));
        }
        if self.config.error_rate > 0.0 && self.rng.chance(self.config.error_rate) {
            roll.error = StatusCode::from_u16(self.config.error_status).ok();
        }
        roll
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forced_runs_out() {
        let mut f = Faults::new(ApiFaultConfig::default(), 1);
        f.force(Forced::TooManyRequests, 2);
        assert_eq!(f.take_forced(), Some(Forced::TooManyRequests));
        assert_eq!(f.take_forced(), Some(Forced::TooManyRequests));
        assert_eq!(f.take_forced(), None);
    }

    #[test]
    fn rates_are_respected() {
        let mut f = Faults::new(
            ApiFaultConfig {
                error_rate: 1.0,
                error_status: 503,
                slow_rate: 0.0,
                slow_ms: 5,
            },
            1,
        );
        for _ in 0..20 {
            assert_eq!(
                f.roll(),
                Roll {
                    delay: None,
                    error: Some(StatusCode::SERVICE_UNAVAILABLE)
                }
            );
        }
        f.reset();
        assert_eq!(f.roll(), Roll::default());
    }

    #[test]
    fn validation_names_the_bad_field() {
        let bad = ApiFaultConfig {
            error_rate: 2.0,
            ..Default::default()
        };
        assert!(bad.validate().is_err_and(|m| m.contains("error_rate")));
        let bad = ApiFaultConfig {
            error_status: 404,
            ..Default::default()
        };
        assert!(bad.validate().is_err_and(|m| m.contains("error_status")));
        assert!(ApiFaultConfig::default().validate().is_ok());
    }
}
