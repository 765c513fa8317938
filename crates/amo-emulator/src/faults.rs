//! Injected API trouble: random 5xx answers, slow answers, and a forced run
//! of any status (429s, HTML 403s, 402, broken 200s…) for the next N
//! requests. Seeded, so runs repeat.

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

/// What a forced fault answers: any status, with the default body of that
/// status unless `body` / `content_type` are given.
///
/// Defaults (what amoCRM's stack answers):
/// * 429 → problem+json "Too Many Requests";
/// * 403 → the HTML page of a blocked account (counted as `blocked`);
/// * 402 → problem+json "Payment Required" (account not paid);
/// * 401 → problem+json "Unauthorized" (hint: token could not be verified);
/// * 400 → problem+json "Bad Request" with `validation-errors`;
/// * other 4xx → problem+json with the status' reason;
/// * 500 → problem+json; other 5xx → the gateway's HTML page;
/// * 204 → no body (a given body is refused);
/// * anything else (1xx–3xx) → the given body, or none, as `application/hal+json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Forced {
    pub status: u16,
    pub body: Option<String>,
    pub content_type: Option<String>,
}

/// The largest custom body a forced fault may carry.
pub const FORCED_BODY_MAX: usize = 1024 * 1024;

impl Forced {
    /// `429` or `403` with their default answers (the original contract).
    pub fn from_status(status: u16) -> Option<Forced> {
        matches!(status, 429 | 403).then(|| Forced::status(status))
    }

    /// Any status with its default answer (not validated: see [`Forced::validate`]).
    pub fn status(status: u16) -> Forced {
        Forced {
            status,
            body: None,
            content_type: None,
        }
    }

    /// Checks the status range, the body size and the content type; the
    /// message names the offending field.
    pub fn validate(&self) -> Result<(), String> {
        if !(100..=599).contains(&self.status) {
            return Err(format!(
                "status must be between 100 and 599, got {}",
                self.status
            ));
        }
        if let Some(body) = &self.body {
            if body.len() > FORCED_BODY_MAX {
                return Err(format!("body must be at most {FORCED_BODY_MAX} bytes"));
            }
            if matches!(self.status, 204 | 304) {
                return Err(format!("body: a {} answer has no body", self.status));
            }
        }
        if let Some(ct) = &self.content_type
            && (ct.is_empty()
                || ct.len() > 256
                || !ct.bytes().all(|b| b == b' ' || b.is_ascii_graphic()))
        {
            return Err(
                "content_type must be 1..=256 printable ASCII characters, e.g. text/html".into(),
            );
        }
        Ok(())
    }

    /// True for the HTML 403 of a blocked account (counted as `blocked`).
    pub fn is_block_page(&self) -> bool {
        self.status == 403 && self.body.is_none() && self.content_type.is_none()
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
        self.forced.as_ref().map(|(_, n)| *n).unwrap_or(0)
    }

    /// Clears random and forced faults.
    pub fn reset(&mut self) {
        self.config = ApiFaultConfig::default();
        self.forced = None;
    }

    /// Consumes one forced answer, if any are pending.
    pub fn take_forced(&mut self) -> Option<Forced> {
        let (kind, left) = self.forced.take()?;
        if left > 1 {
            self.forced = Some((kind.clone(), left - 1));
        }
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
        f.force(Forced::status(429), 2);
        assert_eq!(f.take_forced(), Some(Forced::status(429)));
        assert_eq!(f.forced_remaining(), 1);
        assert_eq!(f.take_forced(), Some(Forced::status(429)));
        assert_eq!(f.take_forced(), None);
    }

    #[test]
    fn forced_validation_names_the_field() {
        assert_eq!(Forced::from_status(402), None);
        assert_eq!(Forced::from_status(403), Some(Forced::status(403)));
        assert!(
            Forced::status(99)
                .validate()
                .is_err_and(|m| m.contains("status"))
        );
        assert!(
            Forced::status(600)
                .validate()
                .is_err_and(|m| m.contains("status"))
        );
        for ok in [100, 200, 204, 400, 401, 402, 429, 503, 599] {
            assert!(Forced::status(ok).validate().is_ok(), "{ok}");
        }
        let body = Forced {
            body: Some("x".into()),
            ..Forced::status(204)
        };
        assert!(body.validate().is_err_and(|m| m.contains("body")));
        let ct = Forced {
            content_type: Some("text/html\r\nX: y".into()),
            ..Forced::status(200)
        };
        assert!(ct.validate().is_err_and(|m| m.contains("content_type")));
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
