//! The account's clock: a pinnable anchor that moves forward with real time,
//! plus a manual offset so tests can make tokens expire without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use crate::model::Timestamp;

#[derive(Debug, Clone)]
pub struct Clock {
    anchor: Timestamp,
    started: Instant,
    offset: Arc<AtomicI64>,
}

impl Clock {
    /// A clock that reads `anchor` now and ticks with real time from here on.
    pub fn new(anchor: Timestamp) -> Self {
        Clock {
            anchor,
            started: Instant::now(),
            offset: Arc::new(AtomicI64::new(0)),
        }
    }

    /// The current system time in unix seconds.
    pub fn system_now() -> Timestamp {
        chrono::Utc::now().timestamp()
    }

    /// The anchor the seed was generated around.
    pub fn anchor(&self) -> Timestamp {
        self.anchor
    }

    /// Unix seconds as the account sees them.
    pub fn now(&self) -> Timestamp {
        let elapsed = i64::try_from(self.started.elapsed().as_secs()).unwrap_or(i64::MAX / 2);
        self.anchor
            .saturating_add(elapsed)
            .saturating_add(self.offset.load(Ordering::Relaxed))
    }

    /// Moves the clock forward by `seconds` (never backwards).
    pub fn advance(&self, seconds: i64) {
        if seconds > 0 {
            let _ = self
                .offset
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |o| {
                    Some(o.saturating_add(seconds))
                });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_forward_only() {
        let c = Clock::new(1_000);
        let t0 = c.now();
        c.advance(100);
        c.advance(-50);
        assert!(c.now() >= t0 + 100);
        assert!(c.now() < t0 + 110);
    }
}
