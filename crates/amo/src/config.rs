//! Client configuration.

use std::time::Duration;

use url::Url;

use crate::error::ApiError;
use crate::pacer::{MAX_RATE_PER_SECOND, MIN_RATE_PER_SECOND, interval_for};

/// How a [`crate::Client`] talks to one amoCRM account.
///
/// Build with [`ClientConfig::new`] and adjust fields with struct update
/// syntax: `ClientConfig { rate_per_second: 3.0, ..ClientConfig::new(url) }`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// The account host, e.g. `https://example.amocrm.ru` (never `www.`).
    pub base_url: Url,
    /// Requests per second for the whole client and all its clones.
    /// amoCRM allows 7 per integration; the default 5.0 leaves headroom.
    pub rate_per_second: f64,
    /// Requests allowed back to back after an idle period. With the default
    /// of 1 requests are evenly spaced and no 1-second window ever holds more
    /// than `rate_per_second`; a burst of `b` allows up to `rate + b - 1`.
    pub burst: u32,
    /// Timeout of one HTTP attempt (connect + answer).
    pub timeout: Duration,
    /// Retries after the first attempt for 429, 5xx, timeouts and connection
    /// errors. 401 is refreshed once regardless; 403 is never retried.
    pub max_retries: u32,
    /// First backoff delay; doubles on each retry, with jitter.
    pub backoff_base: Duration,
    /// Largest single backoff delay.
    pub backoff_max: Duration,
    /// Upper bound on the total backoff time spent on one call.
    pub max_total_backoff: Duration,
    /// After a 429 the shared limiter runs at half rate for this long.
    pub slowdown: Duration,
    /// After amoCRM blocks the account (HTML 403), every caller sharing the
    /// limiter fails fast with `AccountBlocked`, without sending, this long.
    pub block_duration: Duration,
    /// The most pages one list reads before failing with a `Decode` error
    /// (a server that keeps sending `_links.next` must not loop forever).
    pub max_pages: u32,
    /// `User-Agent` header sent on every request.
    pub user_agent: String,
}

impl ClientConfig {
    /// Defaults for an account at `base_url`.
    pub fn new(base_url: Url) -> Self {
        ClientConfig {
            base_url,
            rate_per_second: 5.0,
            burst: 1,
            timeout: Duration::from_secs(30),
            max_retries: 4,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            max_total_backoff: Duration::from_secs(90),
            slowdown: Duration::from_secs(60),
            block_duration: Duration::from_secs(60),
            max_pages: 10_000,
            user_agent: format!("AmoSync/{}", env!("CARGO_PKG_VERSION")),
        }
    }

    /// Parses `base_url` and applies defaults.
    pub fn from_url(base_url: &str) -> Result<Self, ApiError> {
        let url = Url::parse(base_url).map_err(|e| ApiError::Config {
            detail: format!("base URL {base_url:?}: {e}"),
        })?;
        Ok(ClientConfig::new(url))
    }

    /// Checks that the configuration can work.
    pub fn validate(&self) -> Result<(), ApiError> {
        let fail = |detail: String| Err(ApiError::Config { detail });
        if !matches!(self.base_url.scheme(), "http" | "https") || self.base_url.host_str().is_none()
        {
            return fail(format!(
                "base URL must be http(s)://host, got {}",
                self.base_url
            ));
        }
        crate::account_url::check_account_url(&self.base_url)
            .map_err(|detail| ApiError::Config { detail })?;
        if !(MIN_RATE_PER_SECOND..=MAX_RATE_PER_SECOND).contains(&self.rate_per_second) {
            return fail(format!(
                "rate_per_second must be in [{MIN_RATE_PER_SECOND}, {MAX_RATE_PER_SECOND}], got {}",
                self.rate_per_second
            ));
        }
        if self.max_pages == 0 {
            return fail("max_pages must be at least 1".into());
        }
        if self.burst == 0 {
            return fail("burst must be at least 1".into());
        }
        if self.timeout.is_zero() {
            return fail("timeout must be positive".into());
        }
        if self.backoff_base.is_zero() || self.backoff_max < self.backoff_base {
            return fail("backoff_base must be positive and not above backoff_max".into());
        }
        Ok(())
    }

    /// The spacing between two requests at the configured rate.
    pub fn interval(&self) -> Duration {
        interval_for(crate::pacer::clamp_rate(self.rate_per_second))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_stay_below_amocrm_limit() {
        let c = ClientConfig::from_url("https://example.amocrm.ru").expect("url");
        assert!(c.validate().is_ok());
        assert!(c.rate_per_second < 7.0);
        assert_eq!(c.interval(), Duration::from_millis(200));
        assert_eq!(c.block_duration, Duration::from_secs(60));
    }

    #[test]
    fn rejects_nonsense() {
        let base = ClientConfig::from_url("https://example.amocrm.ru").expect("url");
        for bad in [
            ClientConfig {
                rate_per_second: 0.0,
                ..base.clone()
            },
            ClientConfig {
                rate_per_second: f64::NAN,
                ..base.clone()
            },
            ClientConfig {
                rate_per_second: 1e-300,
                ..base.clone()
            },
            ClientConfig {
                rate_per_second: -1.0,
                ..base.clone()
            },
            ClientConfig {
                max_pages: 0,
                ..base.clone()
            },
            ClientConfig {
                burst: 0,
                ..base.clone()
            },
            ClientConfig {
                timeout: Duration::ZERO,
                ..base.clone()
            },
            ClientConfig::new(Url::parse("ftp://x").expect("url")),
            ClientConfig::new(Url::parse("http://example.amocrm.ru").expect("url")),
        ] {
            assert_eq!(bad.validate().map_err(|e| e.code()), Err("Config"));
        }
        assert!(ClientConfig::from_url("not a url").is_err());
    }

    #[test]
    fn plain_http_only_for_this_machine() {
        let http = ClientConfig::from_url("http://office.amocrm.ru").expect("url");
        let err = http.validate().expect_err("clear-text token");
        assert_eq!(err.code(), "Config");
        assert!(err.to_string().contains("https://"), "names the fix: {err}");
        for local in [
            "http://127.0.0.1:3000",
            "http://localhost:3000",
            "http://[::1]:3000",
        ] {
            let c = ClientConfig::from_url(local).expect("url");
            assert!(c.validate().is_ok(), "{local}");
        }
    }
}
