//! Retry delays: exponential with jitter, bounded.

use std::time::Duration;

/// The delay before retry number `retry` (0-based): `base · 2^retry`, capped
/// at `max`, then scaled by a jitter factor in `[0.5, 1.0]` taken from
/// `unit` (a number in `[0, 1)`), so clients that failed together do not
/// retry together.
pub(crate) fn delay(retry: u32, base: Duration, max: Duration, unit: f64) -> Duration {
    let exp = base
        .saturating_mul(2u32.saturating_pow(retry.min(20)))
        .min(max);
    let factor = 0.5 + 0.5 * unit.clamp(0.0, 1.0);
    exp.mul_f64(factor)
}

/// [`delay`] with a random jitter.
pub(crate) fn jittered(retry: u32, base: Duration, max: Duration) -> Duration {
    delay(retry, base, max, rand::random_range(0.0..1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Duration = Duration::from_millis(500);
    const MAX: Duration = Duration::from_secs(30);

    #[test]
    fn doubles_then_caps() {
        let full: Vec<u64> = (0..9)
            .map(|r| delay(r, BASE, MAX, 1.0).as_millis() as u64)
            .collect();
        assert_eq!(
            full,
            [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
        );
        assert_eq!(delay(u32::MAX, BASE, MAX, 1.0), MAX);
    }

    #[test]
    fn jitter_stays_within_half_and_full() {
        assert_eq!(delay(2, BASE, MAX, 0.0), Duration::from_millis(1000));
        for _ in 0..100 {
            let d = jittered(3, BASE, MAX);
            assert!(
                d >= Duration::from_millis(2000) && d <= Duration::from_millis(4000),
                "{d:?}"
            );
        }
    }
}
