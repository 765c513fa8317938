//! Reconnect delays: 1 s doubling to 60 s, with ±20 % jitter.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

/// How long a connection must have stayed up for the next failure to count as the first.
const STABLE_AFTER: Duration = Duration::from_secs(30);

/// Exponential backoff with jitter; tracks the attempt number for `Reconnecting`.
#[derive(Debug)]
pub(crate) struct Backoff {
    base: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    pub(crate) fn new() -> Self {
        Self::with_limits(Duration::from_secs(1), Duration::from_secs(60))
    }

    pub(crate) fn with_limits(base: Duration, max: Duration) -> Self {
        Self {
            base,
            max,
            attempt: 0,
        }
    }

    /// Records a failure; returns the attempt number and the delay before the next try.
    pub(crate) fn fail(&mut self) -> (u32, Duration) {
        self.attempt = self.attempt.saturating_add(1);
        let exp = self.attempt.saturating_sub(1).min(16);
        let raw = self.base.saturating_mul(1u32 << exp).min(self.max);
        (self.attempt, jitter(raw))
    }

    /// A connection came up at `since` and has now ended: forget earlier
    /// failures if it stayed up long enough to count as healthy.
    pub(crate) fn connection_ended(&mut self, since: Instant) {
        if since.elapsed() >= STABLE_AFTER {
            self.attempt = 0;
        }
    }
}

/// `d` ± 20 %, from the std hasher's random keys (no RNG dependency needed).
fn jitter(d: Duration) -> Duration {
    let r = RandomState::new().build_hasher().finish() % 401; // 0..=400
    let factor = 0.8 + (r as f64) / 1000.0; // 0.8..=1.2
    d.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_one_second_to_a_minute_with_jitter() {
        let mut b = Backoff::new();
        let expected = [1u64, 2, 4, 8, 16, 32, 60, 60, 60];
        for (i, secs) in expected.iter().enumerate() {
            let (attempt, d) = b.fail();
            assert_eq!(attempt as usize, i + 1);
            let nominal = Duration::from_secs(*secs);
            assert!(
                d >= nominal.mul_f64(0.79) && d <= nominal.mul_f64(1.21),
                "attempt {attempt}: {d:?} not within 20% of {nominal:?}"
            );
        }
    }

    #[test]
    fn a_short_connection_keeps_counting_a_long_one_resets() {
        let mut b = Backoff::new();
        b.fail();
        b.fail();
        b.connection_ended(Instant::now());
        assert_eq!(b.fail().0, 3);
        b.connection_ended(Instant::now() - STABLE_AFTER - Duration::from_secs(1));
        assert_eq!(b.fail().0, 1);
    }
}
