//! API usage accounting: moves the client's request and 429 counters
//! ([`amo::Client::usage`], shared by clones) into `SyncState.api_requests` /
//! `api_429s`, each request counted once even when catch-up and the fetcher
//! run side by side on clones of one client.

use std::sync::Mutex;

use amo::ApiUsage;

/// What of a client's usage has been recorded in the store.
#[derive(Debug)]
pub(crate) struct ApiMeter {
    recorded: Mutex<ApiUsage>,
}

/// `now − before`, per counter (never negative).
pub(crate) fn usage_delta(now: ApiUsage, before: ApiUsage) -> ApiUsage {
    ApiUsage {
        requests: now.requests.saturating_sub(before.requests),
        rate_limited: now.rate_limited.saturating_sub(before.rate_limited),
    }
}

impl ApiMeter {
    /// A meter counting from the client's usage now.
    pub(crate) fn new(client: &amo::Client) -> ApiMeter {
        ApiMeter {
            recorded: Mutex::new(client.usage()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ApiUsage> {
        self.recorded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The usage not recorded yet, now marked recorded: add it to the sync
    /// state in the next write (or [`ApiMeter::give_back`] it when that
    /// write fails).
    pub(crate) fn take(&self, client: &amo::Client) -> ApiUsage {
        let now = client.usage();
        let mut recorded = self.lock();
        let delta = usage_delta(now, *recorded);
        *recorded = ApiUsage {
            requests: recorded.requests.max(now.requests),
            rate_limited: recorded.rate_limited.max(now.rate_limited),
        };
        delta
    }

    /// Un-records a taken delta whose write failed (counted next time).
    pub(crate) fn give_back(&self, delta: ApiUsage) {
        let mut recorded = self.lock();
        recorded.requests = recorded.requests.saturating_sub(delta.requests);
        recorded.rate_limited = recorded.rate_limited.saturating_sub(delta.rate_limited);
    }
}

/// Adds a usage delta to the sync state.
pub(crate) fn add_usage(state: &mut amosync_store::SyncState, delta: ApiUsage) {
    state.api_requests = state.api_requests.saturating_add(delta.requests);
    state.api_429s = state.api_429s.saturating_add(delta.rate_limited);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_never_negative() {
        let u = |requests, rate_limited| ApiUsage {
            requests,
            rate_limited,
        };
        assert_eq!(usage_delta(u(10, 2), u(4, 1)), u(6, 1));
        assert_eq!(usage_delta(u(3, 0), u(4, 1)), u(0, 0));
    }
}
