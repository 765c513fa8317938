//! One rate limiter per account, shared by every caller, served first come
//! first served.
//!
//! Callers take a ticket on arrival. Only the holder of the lowest ticket
//! consults the [`Pacer`]; it sleeps until its slot, re-checks (a 429 may have
//! pushed the slot later meanwhile) and then passes the turn on. So requests
//! leave strictly in arrival order, evenly spaced, and a penalty applies to
//! everyone already queued. A caller that gives up (its future is dropped)
//! passes its turn on, or is skipped when its turn comes.

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::error::ApiError;
use crate::pacer::{MAX_RATE_PER_SECOND, MIN_RATE_PER_SECOND, Pacer, later};

/// A FIFO rate limiter. Share it with `Arc`; [`crate::Client`] clones do.
#[derive(Debug)]
pub struct RateLimiter {
    state: Mutex<State>,
    turn: Notify,
}

#[derive(Debug)]
struct State {
    pacer: Pacer,
    next_ticket: u64,
    serving: u64,
    abandoned: BTreeSet<u64>,
    /// amoCRM blocked the account (HTML 403): nobody sends before this.
    blocked_until: Option<Instant>,
}

impl State {
    /// How long the account block lasts from `now`, if one is in force.
    fn blocked_at(&self, now: Instant) -> Option<Duration> {
        self.blocked_until
            .filter(|until| *until > now)
            .map(|until| until - now)
    }

    /// Hands the turn to the next ticket still waiting.
    fn advance(&mut self) {
        self.serving += 1;
        while self.abandoned.remove(&self.serving) {
            self.serving += 1;
        }
    }
}

impl RateLimiter {
    /// A limiter for `rate_per_second` allowing `burst` back-to-back
    /// requests after an idle period.
    ///
    /// Never panics: the rate is clamped to `[0.001, 1000]` per second (zero,
    /// negative, NaN and tiny rates run at the slowest rate, the safe side)
    /// and a burst of 0 counts as 1. Use [`RateLimiter::try_new`] to refuse
    /// such values instead.
    pub fn new(rate_per_second: f64, burst: u32) -> Self {
        RateLimiter {
            state: Mutex::new(State {
                pacer: Pacer::new(rate_per_second, burst),
                next_ticket: 0,
                serving: 0,
                abandoned: BTreeSet::new(),
                blocked_until: None,
            }),
            turn: Notify::new(),
        }
    }

    /// [`RateLimiter::new`] that refuses a rate outside `[0.001, 1000]` per
    /// second (or NaN) and a burst of 0 with a `Config` error.
    pub fn try_new(rate_per_second: f64, burst: u32) -> Result<Self, ApiError> {
        if !(MIN_RATE_PER_SECOND..=MAX_RATE_PER_SECOND).contains(&rate_per_second) {
            return Err(ApiError::Config {
                detail: format!(
                    "rate_per_second must be in [{MIN_RATE_PER_SECOND}, {MAX_RATE_PER_SECOND}], got {rate_per_second}"
                ),
            });
        }
        if burst == 0 {
            return Err(ApiError::Config {
                detail: "burst must be at least 1".into(),
            });
        }
        Ok(RateLimiter::new(rate_per_second, burst))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent even if a holder panicked: every update
        // is a few plain assignments.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for this caller's turn and slot; returns how long it waited.
    /// Ignores an account block (see [`RateLimiter::acquire_unless_blocked`]).
    pub async fn acquire(&self) -> Duration {
        match self.acquire_inner(false).await {
            Ok(waited) | Err(waited) => waited,
        }
    }

    /// Like [`RateLimiter::acquire`], but fails with the remaining block time
    /// when the account is blocked ([`RateLimiter::block_for`]), at arrival or
    /// when its turn comes (a queued caller does not wait out its slot).
    pub async fn acquire_unless_blocked(&self) -> Result<Duration, Duration> {
        self.acquire_inner(true).await
    }

    /// Records that amoCRM blocked the account: every caller of
    /// [`RateLimiter::acquire_unless_blocked`] fails fast for `duration`
    /// (an existing longer block is kept). Wakes queued callers.
    pub fn block_for(&self, duration: Duration) {
        {
            let mut state = self.lock();
            let until = later(Instant::now(), duration);
            state.blocked_until = Some(state.blocked_until.map_or(until, |u| u.max(until)));
        }
        self.turn.notify_waiters();
    }

    /// The time left of a recorded account block, if one is in force.
    pub fn blocked_for(&self) -> Option<Duration> {
        self.lock().blocked_at(Instant::now())
    }

    /// Lifts a recorded account block (e.g. after the user checked amoCRM).
    pub fn unblock(&self) {
        self.lock().blocked_until = None;
    }

    /// `Err` carries the remaining block time (only when `respect_block`).
    async fn acquire_inner(&self, respect_block: bool) -> Result<Duration, Duration> {
        let arrived = Instant::now();
        if respect_block && let Some(remaining) = self.blocked_for() {
            return Err(remaining);
        }
        let ticket = {
            let mut state = self.lock();
            let ticket = state.next_ticket;
            state.next_ticket += 1;
            ticket
        };
        let mut guard = TicketGuard {
            limiter: self,
            ticket,
            done: false,
        };
        loop {
            let notified = self.turn.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let retry_at = {
                let mut state = self.lock();
                if state.serving != ticket {
                    None
                } else {
                    let now = Instant::now();
                    if respect_block && let Some(remaining) = state.blocked_at(now) {
                        // Pass the turn on without using a slot.
                        state.advance();
                        guard.done = true;
                        drop(state);
                        self.turn.notify_waiters();
                        return Err(remaining);
                    }
                    match state.pacer.try_take(now) {
                        Ok(()) => {
                            state.advance();
                            guard.done = true;
                            drop(state);
                            self.turn.notify_waiters();
                            return Ok(arrived.elapsed());
                        }
                        Err(at) => Some(at),
                    }
                }
            };
            match retry_at {
                None => notified.await,
                Some(at) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = notified => {}
                    }
                }
            }
        }
    }

    /// Slows everyone down after a 429: no request leaves before `pause` has
    /// passed, and the rate is halved for `slowdown`.
    pub fn penalize(&self, pause: Duration, slowdown: Duration) {
        self.lock().pacer.penalize(Instant::now(), pause, slowdown);
        self.turn.notify_waiters();
    }

    /// The spacing between requests in force now (doubled after a 429).
    pub fn current_interval(&self) -> Duration {
        self.lock().pacer.interval_at(Instant::now())
    }

    /// Callers currently waiting for their turn.
    pub fn queued(&self) -> u64 {
        let state = self.lock();
        state.next_ticket - state.serving - state.abandoned.len() as u64
    }
}

/// Gives the turn away when a waiting caller is dropped.
struct TicketGuard<'a> {
    limiter: &'a RateLimiter,
    ticket: u64,
    done: bool,
}

impl Drop for TicketGuard<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut state = self.limiter.lock();
        if state.serving == self.ticket {
            state.advance();
            drop(state);
            self.limiter.turn.notify_waiters();
        } else {
            state.abandoned.insert(self.ticket);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Spawns `n` callers one after another (1 ms apart) and records the
    /// order and time at which each was let through.
    async fn run_callers(limiter: Arc<RateLimiter>, n: usize) -> Vec<(usize, Instant)> {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut handles = Vec::new();
        for i in 0..n {
            let limiter = limiter.clone();
            let log = log.clone();
            handles.push(tokio::spawn(async move {
                limiter.acquire().await;
                log.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push((i, Instant::now()));
            }));
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        for h in handles {
            h.await.expect("caller task");
        }
        log.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn max_in_any_second(times: &[Instant]) -> usize {
        (0..times.len())
            .map(|i| {
                times[i..]
                    .iter()
                    .take_while(|t| **t < times[i] + Duration::from_secs(1))
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    #[tokio::test(start_paused = true)]
    async fn fifo_and_evenly_spaced() {
        let limiter = Arc::new(RateLimiter::new(5.0, 1));
        let start = Instant::now();
        let log = run_callers(limiter.clone(), 20).await;
        let order: Vec<usize> = log.iter().map(|(i, _)| *i).collect();
        assert_eq!(
            order,
            (0..20).collect::<Vec<_>>(),
            "served in arrival order"
        );
        let times: Vec<Instant> = log.iter().map(|(_, t)| *t).collect();
        for pair in times.windows(2) {
            assert!(
                pair[1] - pair[0] >= Duration::from_millis(200),
                "{:?}",
                pair[1] - pair[0]
            );
        }
        assert_eq!(max_in_any_second(&times), 5);
        // 20 requests at 5/s: the last leaves 3.8 s after the first.
        assert_eq!(times[19] - start, Duration::from_millis(3800));
        assert_eq!(limiter.queued(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_waiter_gives_its_turn_away() {
        let limiter = Arc::new(RateLimiter::new(5.0, 1));
        limiter.acquire().await;
        // The head waits for its slot and is cancelled; one behind it too.
        let head = tokio::spawn({
            let l = limiter.clone();
            async move { l.acquire().await }
        });
        tokio::time::sleep(Duration::from_millis(1)).await;
        let second = tokio::spawn({
            let l = limiter.clone();
            async move { l.acquire().await }
        });
        tokio::time::sleep(Duration::from_millis(1)).await;
        let third = tokio::spawn({
            let l = limiter.clone();
            async move { l.acquire().await }
        });
        tokio::time::sleep(Duration::from_millis(1)).await;
        second.abort();
        head.abort();
        let waited = third.await.expect("third is served");
        assert!(waited <= Duration::from_millis(200));
        assert_eq!(limiter.queued(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn penalty_delays_everyone_already_queued() {
        let limiter = Arc::new(RateLimiter::new(5.0, 1));
        let start = Instant::now();
        limiter.acquire().await;
        let queued = run_callers_after(limiter.clone(), 3);
        tokio::time::sleep(Duration::from_millis(10)).await;
        limiter.penalize(Duration::from_secs(3), Duration::from_secs(60));
        let times = queued.await.expect("callers");
        assert!(
            times.iter().all(|t| *t - start >= Duration::from_secs(3)),
            "{times:?}"
        );
        for pair in times.windows(2) {
            assert!(
                pair[1] - pair[0] >= Duration::from_millis(400),
                "halved rate after a 429"
            );
        }
        assert_eq!(limiter.current_interval(), Duration::from_millis(400));
    }

    #[tokio::test(start_paused = true)]
    async fn a_block_fails_queued_callers_without_using_slots() {
        // One request per 100 s: queued callers would wait for minutes.
        let limiter = Arc::new(RateLimiter::new(0.01, 1));
        assert_eq!(limiter.acquire_unless_blocked().await, Ok(Duration::ZERO));
        let mut queued = Vec::new();
        for _ in 0..5 {
            let l = limiter.clone();
            queued.push(tokio::spawn(
                async move { l.acquire_unless_blocked().await },
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        let start = Instant::now();
        limiter.block_for(Duration::from_secs(60));
        for task in queued {
            let remaining = task.await.expect("task").expect_err("blocked");
            assert!(remaining <= Duration::from_secs(60));
        }
        assert!(
            Instant::now() - start < Duration::from_secs(1),
            "no slot waited out"
        );
        assert_eq!(limiter.queued(), 0);
        assert!(
            limiter.acquire_unless_blocked().await.is_err(),
            "new callers too"
        );
        // The plain acquire ignores the block; after it ends callers pass again.
        tokio::time::sleep(Duration::from_secs(61)).await;
        assert_eq!(limiter.blocked_for(), None);
        assert!(limiter.acquire_unless_blocked().await.is_ok());
        limiter.block_for(Duration::MAX);
        assert!(limiter.blocked_for().is_some());
        limiter.unblock();
        assert_eq!(limiter.blocked_for(), None);
    }

    #[test]
    fn try_new_refuses_what_new_clamps() {
        for rate in [0.0, -1.0, f64::NAN, 1e-9, f64::INFINITY, 1e6] {
            assert_eq!(
                RateLimiter::try_new(rate, 1)
                    .map(|_| ())
                    .map_err(|e| e.code()),
                Err("Config"),
                "{rate}"
            );
            let clamped = RateLimiter::new(rate, 0);
            assert!(clamped.current_interval() >= Duration::from_millis(1));
            assert!(clamped.current_interval() <= Duration::from_secs(1000));
        }
        assert!(RateLimiter::try_new(5.0, 0).is_err());
        assert!(RateLimiter::try_new(5.0, 1).is_ok());
    }

    fn run_callers_after(
        limiter: Arc<RateLimiter>,
        n: usize,
    ) -> tokio::task::JoinHandle<Vec<Instant>> {
        tokio::spawn(async move {
            run_callers(limiter, n)
                .await
                .into_iter()
                .map(|(_, t)| t)
                .collect()
        })
    }
}
