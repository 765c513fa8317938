//! The pure arithmetic of the rate limiter: when may the next request go?
//!
//! A GCRA-style "theoretical arrival time": each granted request pushes the
//! next allowed time one interval further. No clock is read here; callers pass
//! `now`, so property tests can drive it with arbitrary arrival times.

use std::time::Duration;

use tokio::time::Instant;

/// Spacing state for one account.
#[derive(Debug, Clone)]
pub(crate) struct Pacer {
    interval: Duration,
    burst: u32,
    /// The earliest time the next request may go when no burst credit is used.
    tat: Option<Instant>,
    /// Until then the interval is doubled and bursts are off (after a 429).
    slow_until: Option<Instant>,
}

impl Pacer {
    /// A pacer for `rate_per_second` (> 0) with `burst` (≥ 1).
    pub(crate) fn new(rate_per_second: f64, burst: u32) -> Self {
        Pacer {
            interval: interval_for(clamp_rate(rate_per_second)),
            burst: burst.max(1),
            tat: None,
            slow_until: None,
        }
    }

    /// The spacing in force at `now`.
    pub(crate) fn interval_at(&self, now: Instant) -> Duration {
        if self.is_slow(now) {
            self.interval.saturating_mul(2)
        } else {
            self.interval
        }
    }

    fn is_slow(&self, now: Instant) -> bool {
        self.slow_until.is_some_and(|until| now < until)
    }

    /// Grants a request at `now`, or says when to ask again.
    pub(crate) fn try_take(&mut self, now: Instant) -> Result<(), Instant> {
        let tat = self.tat.unwrap_or(now);
        let credit = if self.is_slow(now) {
            Duration::ZERO
        } else {
            self.interval.saturating_mul(self.burst - 1)
        };
        let earliest = tat.checked_sub(credit).unwrap_or(now);
        if earliest > now {
            return Err(earliest);
        }
        self.tat = Some(later(tat.max(now), self.interval_at(now)));
        Ok(())
    }

    /// After a 429: nobody goes before `now + pause`, and the rate is halved
    /// until `now + slowdown`.
    pub(crate) fn penalize(&mut self, now: Instant, pause: Duration, slowdown: Duration) {
        let resume = later(now, pause);
        self.tat = Some(self.tat.map_or(resume, |tat| tat.max(resume)));
        let slow = later(now, slowdown);
        self.slow_until = Some(self.slow_until.map_or(slow, |s| s.max(slow)));
    }
}

/// The slowest rate a limiter runs at: one request every 1000 s. Lower,
/// zero, negative and NaN rates are raised to it.
pub const MIN_RATE_PER_SECOND: f64 = 0.001;
/// The fastest rate a limiter runs at; higher (and infinite) rates are lowered to it.
pub const MAX_RATE_PER_SECOND: f64 = 1000.0;

/// `rate` within `[MIN_RATE_PER_SECOND, MAX_RATE_PER_SECOND]`; NaN reads as
/// the minimum (the safe side).
pub(crate) fn clamp_rate(rate: f64) -> f64 {
    if rate.is_nan() {
        MIN_RATE_PER_SECOND
    } else {
        rate.clamp(MIN_RATE_PER_SECOND, MAX_RATE_PER_SECOND)
    }
}

/// `at + by`, or the farthest representable time when that overflows
/// (`Duration::MAX` must not panic).
pub(crate) fn later(at: Instant, by: Duration) -> Instant {
    if let Some(t) = at.checked_add(by) {
        return t;
    }
    // Far enough to mean "never" for a desktop app, near enough to exist.
    const YEAR: u64 = 365 * 86_400;
    for secs in [100 * YEAR, 10 * YEAR, YEAR, 86_400] {
        if let Some(t) = at.checked_add(Duration::from_secs(secs)) {
            return t;
        }
    }
    at
}

/// `1 / rate` rounded *up* to the nanosecond, so `rate` intervals never fit
/// inside one second (3/s must not give 4 requests in 999_999_999 ns).
pub(crate) fn interval_for(rate_per_second: f64) -> Duration {
    let nanos = (1e9 / rate_per_second).ceil();
    if nanos.is_finite() && nanos >= 1.0 {
        Duration::from_nanos(nanos.min(u64::MAX as f64) as u64)
    } else {
        Duration::from_nanos(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Serves arrivals in FIFO order the way the limiter does: the head asks,
    /// sleeps until the answer, asks again.
    fn serve(pacer: &mut Pacer, start: Instant, arrivals_ms: &[u64]) -> Vec<Instant> {
        let mut grants = Vec::new();
        let mut free_at = start;
        for &a in arrivals_ms {
            let mut t = (start + Duration::from_millis(a)).max(free_at);
            loop {
                match pacer.try_take(t) {
                    Ok(()) => break,
                    Err(next) => {
                        assert!(next > t, "a retry time must be in the future");
                        t = next;
                    }
                }
            }
            grants.push(t);
            free_at = t;
        }
        grants
    }

    fn max_in_any_second(grants: &[Instant]) -> usize {
        (0..grants.len())
            .map(|i| {
                grants[i..]
                    .iter()
                    .take_while(|g| **g < grants[i] + Duration::from_secs(1))
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn interval_rounds_up() {
        assert_eq!(interval_for(5.0), Duration::from_millis(200));
        assert_eq!(interval_for(3.0), Duration::from_nanos(333_333_334));
    }

    #[test]
    fn evenly_spaced_when_all_arrive_at_once() {
        let start = Instant::now();
        let mut pacer = Pacer::new(5.0, 1);
        let grants = serve(&mut pacer, start, &[0; 12]);
        for (i, g) in grants.iter().enumerate() {
            assert_eq!(*g - start, Duration::from_millis(200) * i as u32);
        }
        assert_eq!(max_in_any_second(&grants), 5);
    }

    #[test]
    fn burst_after_idle_then_spacing() {
        let start = Instant::now();
        let mut pacer = Pacer::new(5.0, 3);
        let grants = serve(&mut pacer, start, &[0; 6]);
        let offsets: Vec<u128> = grants.iter().map(|g| (*g - start).as_millis()).collect();
        assert_eq!(offsets, [0, 0, 0, 200, 400, 600]);
    }

    #[test]
    fn penalty_pauses_then_halves_rate() {
        let start = Instant::now();
        let mut pacer = Pacer::new(5.0, 1);
        assert_eq!(pacer.try_take(start), Ok(()));
        pacer.penalize(start, Duration::from_secs(2), Duration::from_secs(10));
        assert_eq!(
            pacer.try_take(start + Duration::from_millis(300)),
            Err(start + Duration::from_secs(2))
        );
        let grants = serve(&mut pacer, start, &[0, 0, 0]);
        let offsets: Vec<u128> = grants.iter().map(|g| (*g - start).as_millis()).collect();
        assert_eq!(offsets, [2000, 2400, 2800]);
        // After the slowdown the normal interval comes back.
        let later = start + Duration::from_secs(11);
        assert_eq!(pacer.try_take(later), Ok(()));
        assert_eq!(pacer.interval_at(later), Duration::from_millis(200));
    }

    #[test]
    fn nonsense_rates_are_clamped_and_never_panic() {
        let start = Instant::now();
        for rate in [
            0.0,
            -5.0,
            f64::NAN,
            1e-300,
            f64::MIN_POSITIVE,
            f64::INFINITY,
            1e300,
        ] {
            let mut pacer = Pacer::new(rate, u32::MAX);
            assert!(pacer.interval_at(start) <= interval_for(MIN_RATE_PER_SECOND));
            assert!(pacer.interval_at(start) >= interval_for(MAX_RATE_PER_SECOND));
            let grants = serve(&mut pacer, start, &[0, 0, 0]);
            assert_eq!(grants.len(), 3);
        }
        assert_eq!(Pacer::new(0.0, 1).interval, Duration::from_secs(1000));
        assert_eq!(Pacer::new(f64::NAN, 1).interval, Duration::from_secs(1000));
        assert_eq!(Pacer::new(1e9, 1).interval, Duration::from_millis(1));
    }

    #[test]
    fn huge_penalties_do_not_overflow() {
        let start = Instant::now();
        let mut pacer = Pacer::new(5.0, 1);
        pacer.penalize(start, Duration::MAX, Duration::MAX);
        let Err(at) = pacer.try_take(start) else {
            panic!("paused")
        };
        assert!(at > start + Duration::from_secs(86_400));
        assert_eq!(pacer.interval_at(start), Duration::from_millis(400));
        assert_eq!(later(start, Duration::MAX), later(start, Duration::MAX));
    }

    proptest! {
        #[test]
        fn never_more_than_rate_in_any_second(
            rate in prop::sample::select(vec![1.0f64, 2.5, 3.0, 5.0, 6.9, 7.0]),
            mut arrivals in prop::collection::vec(0u64..5_000, 1..80),
        ) {
            arrivals.sort_unstable();
            let start = Instant::now();
            let mut pacer = Pacer::new(rate, 1);
            let grants = serve(&mut pacer, start, &arrivals);
            prop_assert!(max_in_any_second(&grants) as f64 <= rate.ceil());
            for (g, a) in grants.iter().zip(&arrivals) {
                prop_assert!(*g >= start + Duration::from_millis(*a));
            }
            for pair in grants.windows(2) {
                prop_assert!(pair[1] - pair[0] >= interval_for(rate));
            }
        }

        #[test]
        fn burst_bounds_any_second(
            burst in 1u32..5,
            mut arrivals in prop::collection::vec(0u64..5_000, 1..80),
        ) {
            arrivals.sort_unstable();
            let start = Instant::now();
            let mut pacer = Pacer::new(5.0, burst);
            let grants = serve(&mut pacer, start, &arrivals);
            prop_assert!(max_in_any_second(&grants) < 5 + burst as usize);
        }
    }
}
