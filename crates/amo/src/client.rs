//! The [`Client`] handle: configuration, HTTP connection pool, token provider
//! and the account's shared rate limiter.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use url::Url;

use crate::config::ClientConfig;
use crate::error::ApiError;
use crate::limiter::RateLimiter;
use crate::token::{DynTokenProvider, TokenProvider};

/// An amoCRM API v4 client for one account.
///
/// Cheap to clone; clones share the connection pool, the token provider and
/// the rate limiter, so any number of tasks can use one account's client and
/// together stay under the configured rate.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) config: ClientConfig,
    pub(crate) tokens: Box<dyn DynTokenProvider>,
    pub(crate) limiter: Arc<RateLimiter>,
    pub(crate) usage: UsageCounters,
}

/// Requests this client (and its clones) sent, and how many were answered 429.
#[derive(Debug, Default)]
pub(crate) struct UsageCounters {
    pub(crate) requests: AtomicU64,
    pub(crate) rate_limited: AtomicU64,
}

/// What a client and its clones have sent so far ([`Client::usage`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApiUsage {
    /// HTTP requests sent, retries and refresh re-sends included.
    pub requests: u64,
    /// Of those, answered 429.
    pub rate_limited: u64,
}

impl Client {
    /// A client with its own rate limiter.
    pub fn new(config: ClientConfig, tokens: impl TokenProvider) -> Result<Self, ApiError> {
        let limiter = Arc::new(RateLimiter::new(config.rate_per_second, config.burst));
        Client::with_limiter(config, tokens, limiter)
    }

    /// A client that shares `limiter` with other clients of the same account
    /// (e.g. one per token provider). The config's rate fields are ignored.
    pub fn with_limiter(
        config: ClientConfig,
        tokens: impl TokenProvider,
        limiter: Arc<RateLimiter>,
    ) -> Result<Self, ApiError> {
        config.validate()?;
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .user_agent(config.user_agent.clone())
            // A 301/302 would turn a POST or DELETE into a GET (amocrm.md
            // §6.6) and could carry the token elsewhere: 3xx is an error.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ApiError::Config {
                detail: format!("HTTP client: {e}"),
            })?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                config,
                tokens: Box::new(tokens),
                limiter,
                usage: UsageCounters::default(),
            }),
        })
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// Requests sent so far by this client and its clones (every attempt counts).
    pub fn usage(&self) -> ApiUsage {
        ApiUsage {
            requests: self.inner.usage.requests.load(Ordering::Relaxed),
            rate_limited: self.inner.usage.rate_limited.load(Ordering::Relaxed),
        }
    }

    /// The rate limiter shared by this client and its clones.
    pub fn limiter(&self) -> &Arc<RateLimiter> {
        &self.inner.limiter
    }

    /// `base_url` + `path` + query pairs (percent-encoded).
    pub(crate) fn url(&self, path: &str, query: &[(String, String)]) -> Url {
        let mut url = self.inner.config.base_url.clone();
        url.set_path(path);
        url.set_query(None);
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        url
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.config.base_url.as_str())
            .field("rate_per_second", &self.inner.config.rate_per_second)
            .field("tokens", &"***")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::StaticToken;

    #[test]
    fn url_building_and_debug_hide_token() {
        let config = ClientConfig::from_url("https://example.amocrm.ru/").expect("url");
        let client =
            Client::new(config, StaticToken::new("very-secret-token-value")).expect("client");
        let url = client.url(
            "/api/v4/leads",
            &[
                ("filter[id][]".into(), "5".into()),
                ("with".into(), "contacts".into()),
            ],
        );
        assert_eq!(
            url.as_str(),
            "https://example.amocrm.ru/api/v4/leads?filter%5Bid%5D%5B%5D=5&with=contacts"
        );
        let debug = format!("{client:?}");
        assert!(!debug.contains("very-secret"), "{debug}");
        assert!(debug.contains("***"));
        let clone = client.clone();
        assert!(
            Arc::ptr_eq(clone.limiter(), client.limiter()),
            "clones share the limiter"
        );
    }
}
