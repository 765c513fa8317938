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

use crate::pacer::Pacer;

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
}

impl State {
    /// Hands the turn to the next ticket still waiting.
    fn advance(&mut self) {
        self.serving += 1;
        while self.abandoned.remove(&self.serving) {
            self.serving += 1;
        }
    }
}

impl RateLimiter {
    /// A limiter for `rate_per_second` (> 0) allowing `burst` (≥ 1)
    /// back-to-back requests after an idle period.
    pub fn new(rate_per_second: f64, burst: u32) -> Self {
        RateLimiter {
            state: Mutex::new(State {
                pacer: Pacer::new(rate_per_second, burst),
                next_ticket: 0,
                serving: 0,
                abandoned: BTreeSet::new(),
            }),
            turn: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent even if a holder panicked: every update
        // is a few plain assignments.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for this caller's turn and slot; returns how long it waited.
    pub async fn acquire(&self) -> Duration {
        let arrived = Instant::now();
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
                    match state.pacer.try_take(Instant::now()) {
                        Ok(()) => {
                            state.advance();
                            guard.done = true;
                            drop(state);
                            self.turn.notify_waiters();
                            return arrived.elapsed();
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
