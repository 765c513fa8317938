//! amoCRM's request limits: 7 per second per integration (token), 50 per
//! second per account, and an account-wide block (every call answers 403 with
//! an HTML page) after sustained violation.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Limits, all adjustable at run time through the control API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitsConfig {
    pub per_token_per_second: u32,
    pub per_account_per_second: u32,
    /// Block the account after this many 429s within `block_window_ms` (0 = never block).
    pub block_after_429s: u32,
    pub block_window_ms: u64,
    /// How long a block lasts.
    pub block_seconds: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            per_token_per_second: 7,
            per_account_per_second: 50,
            block_after_429s: 10,
            block_window_ms: 10_000,
            block_seconds: 60,
        }
    }
}

/// A partial update of [`LimitsConfig`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsPatch {
    pub per_token_per_second: Option<u32>,
    pub per_account_per_second: Option<u32>,
    pub block_after_429s: Option<u32>,
    pub block_window_ms: Option<u64>,
    pub block_seconds: Option<u64>,
}

/// Most requests per second either limit may allow.
pub const MAX_PER_SECOND: u32 = 10_000;
/// Longest block and longest 429 window: one day.
pub const MAX_BLOCK_SECONDS: u64 = 86_400;
pub const MAX_BLOCK_WINDOW_MS: u64 = 86_400_000;

impl LimitsConfig {
    /// Checks every field's range; the message names the offending field.
    pub fn validate(&self) -> Result<(), String> {
        for (name, rate) in [
            ("per_token_per_second", self.per_token_per_second),
            ("per_account_per_second", self.per_account_per_second),
        ] {
            if !(1..=MAX_PER_SECOND).contains(&rate) {
                return Err(format!(
                    "{name} must be between 1 and {MAX_PER_SECOND}, got {rate}"
                ));
            }
        }
        if self.block_after_429s > MAX_PER_SECOND {
            return Err(format!(
                "block_after_429s must be between 0 (never block) and {MAX_PER_SECOND}, got {}",
                self.block_after_429s
            ));
        }
        if !(1..=MAX_BLOCK_WINDOW_MS).contains(&self.block_window_ms) {
            return Err(format!(
                "block_window_ms must be between 1 and {MAX_BLOCK_WINDOW_MS} (one day), got {}",
                self.block_window_ms
            ));
        }
        if self.block_seconds > MAX_BLOCK_SECONDS {
            return Err(format!(
                "block_seconds must be between 0 and {MAX_BLOCK_SECONDS} (one day), got {}",
                self.block_seconds
            ));
        }
        Ok(())
    }

    pub fn apply(&mut self, patch: LimitsPatch) {
        let LimitsPatch {
            per_token_per_second,
            per_account_per_second,
            block_after_429s,
            block_window_ms,
            block_seconds,
        } = patch;
        self.per_token_per_second = per_token_per_second.unwrap_or(self.per_token_per_second);
        self.per_account_per_second = per_account_per_second.unwrap_or(self.per_account_per_second);
        self.block_after_429s = block_after_429s.unwrap_or(self.block_after_429s);
        self.block_window_ms = block_window_ms.unwrap_or(self.block_window_ms);
        self.block_seconds = block_seconds.unwrap_or(self.block_seconds);
    }
}

/// What the limiter says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// 429.
    Limited,
}

const WINDOW: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub struct Limiter {
    pub config: LimitsConfig,
    per_token: HashMap<String, VecDeque<Instant>>,
    account: VecDeque<Instant>,
    recent_429: VecDeque<Instant>,
    blocked_until: Option<Instant>,
}

fn trim(window: &mut VecDeque<Instant>, now: Instant, span: Duration) {
    while window
        .front()
        .is_some_and(|t| now.saturating_duration_since(*t) >= span)
    {
        window.pop_front();
    }
}

impl Limiter {
    pub fn new(config: LimitsConfig) -> Self {
        Limiter {
            config,
            ..Default::default()
        }
    }

    /// Whether the account is blocked right now (an expired block is lifted).
    pub fn is_blocked(&mut self, now: Instant) -> bool {
        match self.blocked_until {
            Some(until) if now < until => true,
            Some(_) => {
                self.blocked_until = None;
                false
            }
            None => false,
        }
    }

    /// Time left of the current block.
    pub fn blocked_for(&self, now: Instant) -> Option<Duration> {
        self.blocked_until.filter(|u| now < *u).map(|u| u - now)
    }

    /// Blocks the account for `duration` from `now` (capped at one day, so
    /// an absurd duration never overflows the clock).
    pub fn block(&mut self, now: Instant, duration: Duration) {
        let duration = duration.min(Duration::from_secs(MAX_BLOCK_SECONDS));
        self.blocked_until = now.checked_add(duration).or(Some(now));
        self.recent_429.clear();
    }

    /// Forgets every window and lifts any block.
    pub fn reset(&mut self) {
        self.per_token.clear();
        self.account.clear();
        self.recent_429.clear();
        self.blocked_until = None;
    }

    /// Counts a request of the integration `key` (one window per
    /// integration, shared by its tokens). A 429 may start a block for later requests.
    pub fn admit(&mut self, key: &str, now: Instant) -> Verdict {
        if self.per_token.len() > 1_000 {
            self.per_token.retain(|_, w| {
                w.back()
                    .is_some_and(|t| now.saturating_duration_since(*t) < WINDOW)
            });
        }
        let per_token = self.per_token.entry(key.to_string()).or_default();
        trim(per_token, now, WINDOW);
        trim(&mut self.account, now, WINDOW);
        let over_token = per_token.len() >= self.config.per_token_per_second as usize;
        let over_account = self.account.len() >= self.config.per_account_per_second as usize;
        if !over_token && !over_account {
            per_token.push_back(now);
            self.account.push_back(now);
            return Verdict::Allow;
        }
        self.recent_429.push_back(now);
        trim(
            &mut self.recent_429,
            now,
            Duration::from_millis(self.config.block_window_ms.min(MAX_BLOCK_WINDOW_MS)),
        );
        // Never more than the threshold is needed to decide; keep the window bounded.
        while self.recent_429.len() > (self.config.block_after_429s as usize).max(1) {
            self.recent_429.pop_front();
        }
        let threshold = self.config.block_after_429s as usize;
        if threshold > 0 && self.recent_429.len() >= threshold {
            tracing::warn!(
                violations = self.recent_429.len(),
                "sustained limit violation: blocking the account"
            );
            self.block(now, Duration::from_secs(self.config.block_seconds));
        }
        Verdict::Limited
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eighth_request_in_a_second_is_limited() {
        let mut l = Limiter::new(LimitsConfig {
            block_after_429s: 0,
            ..Default::default()
        });
        let t0 = Instant::now();
        for i in 0..7 {
            assert_eq!(
                l.admit("a", t0 + Duration::from_millis(i * 10)),
                Verdict::Allow
            );
        }
        assert_eq!(
            l.admit("a", t0 + Duration::from_millis(100)),
            Verdict::Limited
        );
        assert_eq!(
            l.admit("b", t0 + Duration::from_millis(100)),
            Verdict::Allow
        );
        assert_eq!(
            l.admit("a", t0 + Duration::from_millis(1_001)),
            Verdict::Allow
        );
    }

    #[test]
    fn account_limit_spans_tokens() {
        let mut l = Limiter::new(LimitsConfig {
            per_account_per_second: 3,
            block_after_429s: 0,
            ..Default::default()
        });
        let t0 = Instant::now();
        for t in ["a", "b", "c"] {
            assert_eq!(l.admit(t, t0), Verdict::Allow);
        }
        assert_eq!(l.admit("d", t0), Verdict::Limited);
    }

    #[test]
    fn sustained_violation_blocks_then_lifts() {
        let mut l = Limiter::new(LimitsConfig {
            per_token_per_second: 1,
            block_after_429s: 3,
            block_seconds: 5,
            ..Default::default()
        });
        let t0 = Instant::now();
        assert_eq!(l.admit("a", t0), Verdict::Allow);
        for _ in 0..3 {
            assert_eq!(l.admit("a", t0), Verdict::Limited);
        }
        assert!(l.is_blocked(t0 + Duration::from_secs(1)));
        assert!(!l.is_blocked(t0 + Duration::from_secs(6)));
    }

    #[test]
    fn an_absurd_block_never_overflows() {
        let mut l = Limiter::new(LimitsConfig {
            per_token_per_second: 1,
            block_after_429s: 1,
            block_seconds: u64::MAX,
            ..Default::default()
        });
        let t0 = Instant::now();
        assert_eq!(l.admit("a", t0), Verdict::Allow);
        assert_eq!(l.admit("a", t0), Verdict::Limited);
        assert!(l.is_blocked(t0));
        l.block(t0, Duration::MAX);
        assert!(
            l.blocked_for(t0)
                .is_some_and(|d| d <= Duration::from_secs(MAX_BLOCK_SECONDS))
        );
    }

    #[test]
    fn validation_names_the_field() {
        let ok = LimitsConfig::default();
        assert!(ok.validate().is_ok());
        for (cfg, field) in [
            (
                LimitsConfig {
                    block_seconds: 86_401,
                    ..ok
                },
                "block_seconds",
            ),
            (
                LimitsConfig {
                    block_window_ms: 0,
                    ..ok
                },
                "block_window_ms",
            ),
            (
                LimitsConfig {
                    block_window_ms: 86_400_001,
                    ..ok
                },
                "block_window_ms",
            ),
            (
                LimitsConfig {
                    per_token_per_second: 0,
                    ..ok
                },
                "per_token_per_second",
            ),
            (
                LimitsConfig {
                    per_account_per_second: 10_001,
                    ..ok
                },
                "per_account_per_second",
            ),
            (
                LimitsConfig {
                    block_after_429s: 10_001,
                    ..ok
                },
                "block_after_429s",
            ),
        ] {
            assert!(cfg.validate().is_err_and(|m| m.contains(field)), "{field}");
        }
    }

    #[test]
    fn patch_changes_only_given_fields() {
        let mut c = LimitsConfig::default();
        c.apply(LimitsPatch {
            block_seconds: Some(2),
            ..Default::default()
        });
        assert_eq!(c.block_seconds, 2);
        assert_eq!(c.per_token_per_second, 7);
    }
}
