//! Server-side counters of API traffic, for tests and benchmarks to assert on.

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// API requests (`/api/v4/...`) received.
    pub requests: u64,
    /// Answers per status code.
    pub by_status: BTreeMap<u16, u64>,
    /// Requests per endpoint (`GET /api/v4/leads/{id}`).
    pub by_endpoint: BTreeMap<String, u64>,
    /// 429 answers (limits and forced).
    pub rate_limited: u64,
    /// HTML 403 answers of a blocked account (block and forced).
    pub blocked: u64,
    /// 401 answers.
    pub unauthorized: u64,
    /// Random 5xx answers and delays injected.
    pub faults_injected: u64,
}

/// `/api/v4/leads/123` → `/api/v4/leads/{id}`, so the map stays small.
pub fn endpoint(method: &str, path: &str) -> String {
    let normalized: Vec<&str> = path
        .split('/')
        .map(|seg| {
            if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
                "{id}"
            } else {
                seg
            }
        })
        .collect();
    format!("{method} {}", normalized.join("/"))
}

impl Stats {
    pub fn record(&mut self, method: &str, path: &str, status: u16) {
        self.requests += 1;
        *self.by_status.entry(status).or_default() += 1;
        let key = endpoint(method, path);
        if self.by_endpoint.len() < 200 || self.by_endpoint.contains_key(&key) {
            *self.by_endpoint.entry(key).or_default() += 1;
        }
        match status {
            429 => self.rate_limited += 1,
            401 => self.unauthorized += 1,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_collapse_ids() {
        assert_eq!(
            endpoint("GET", "/api/v4/leads/123"),
            "GET /api/v4/leads/{id}"
        );
        assert_eq!(endpoint("GET", "/api/v4/leads"), "GET /api/v4/leads");
        let mut s = Stats::default();
        s.record("GET", "/api/v4/leads/1", 429);
        s.record("GET", "/api/v4/leads/2", 200);
        assert_eq!(s.requests, 2);
        assert_eq!(s.rate_limited, 1);
        assert_eq!(s.by_endpoint.get("GET /api/v4/leads/{id}"), Some(&2));
    }
}
