//! The executor: one logical request, sent through the limiter with retries,
//! one token refresh on 401, and classification of the answer.
//!
//! The `reqwest::Request` is built once and cloned for every attempt, so a
//! retry or a post-refresh re-send is byte-for-byte the same request (method,
//! URL, query, headers, body); only the `Authorization` value is set per
//! attempt.

use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, LOCATION};
use reqwest::{Method, Request};
use serde::Serialize;
use tracing::Instrument;
use url::Url;

use crate::backoff;
use crate::classify::{Head, Verdict, classify, is_absent_entity};
use crate::client::Client;
use crate::error::{ApiError, describe_wait};
use crate::excerpt::redact;
use crate::secret::Secret;

/// A successful answer with a body.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) content_type: Option<String>,
    pub(crate) body: Vec<u8>,
    /// The token the answer was fetched with, to redact from excerpts.
    pub(crate) token: Secret,
}

impl Client {
    /// Builds the request template once: method, URL, fixed headers, body.
    pub(crate) fn build_request(
        &self,
        method: Method,
        url: Url,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<Request, ApiError> {
        let mut builder = self
            .inner
            .http
            .request(method, url)
            .header(ACCEPT, "application/json");
        if let Some(body) = body {
            let bytes = serde_json::to_vec(body)
                .map_err(|e| ApiError::invalid(format!("request body: {e}")))?;
            builder = builder.header(CONTENT_TYPE, "application/json").body(bytes);
        }
        builder
            .build()
            .map_err(|e| ApiError::invalid(format!("request: {}", scrub(e))))
    }

    /// Sends `template` until it succeeds or fails for good.
    /// `Ok(None)` is a 204 (or an empty 2xx): an empty result.
    pub(crate) async fn execute(&self, template: Request) -> Result<Option<Answer>, ApiError> {
        self.execute_as(template, Lookup::List).await
    }

    /// [`Client::execute`] for one entity by id: amoCRM's problem+json 404
    /// is `Ok(None)` too (an HTML or other 404 stays a `NotFound` error).
    pub(crate) async fn execute_lookup(
        &self,
        template: Request,
    ) -> Result<Option<Answer>, ApiError> {
        self.execute_as(template, Lookup::Entity).await
    }

    async fn execute_as(
        &self,
        template: Request,
        lookup: Lookup,
    ) -> Result<Option<Answer>, ApiError> {
        let span = tracing::debug_span!(
            "amo.request",
            method = %template.method(),
            path = %template.url().path(),
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
            waited_ms = tracing::field::Empty,
        );
        self.execute_inner(template, lookup).instrument(span).await
    }

    async fn execute_inner(
        &self,
        template: Request,
        lookup: Lookup,
    ) -> Result<Option<Answer>, ApiError> {
        let config = &self.inner.config;
        let mut token = self.inner.tokens.access_token().await?;
        let mut refreshed = false;
        let mut retries: u32 = 0;
        let mut total_backoff = Duration::ZERO;
        let mut total_wait = Duration::ZERO;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let waited = match self.inner.limiter.acquire_unless_blocked().await {
                Ok(waited) => waited,
                Err(remaining) => {
                    let error = blocked_error(remaining);
                    tracing::warn!(
                        attempt,
                        code = error.code(),
                        "not sent: the account is blocked"
                    );
                    return Err(error);
                }
            };
            total_wait = total_wait.saturating_add(waited);
            let span = tracing::Span::current();
            span.record("attempts", attempt);
            span.record("waited_ms", total_wait.as_millis() as u64);
            let outcome = self.attempt(&template, &token, lookup).await;
            let error = match outcome {
                Ok(answer) => {
                    span.record("status", answer.as_ref().map_or(204, |a| a.status));
                    tracing::debug!(
                        attempt,
                        waited_ms = waited.as_millis() as u64,
                        "amoCRM answered"
                    );
                    return Ok(answer);
                }
                Err(error) => redact_error(error, &token),
            };
            if let Some(status) = error.status() {
                span.record("status", status);
            }
            if matches!(error, ApiError::Forbidden { blocked: true, .. }) {
                // Every caller sharing the limiter fails fast from now on,
                // without sending: more requests would prolong the block.
                self.inner.limiter.block_for(config.block_duration);
            }
            if error.needs_reconnect() && !refreshed {
                refreshed = true;
                tracing::info!(
                    attempt,
                    code = error.code(),
                    "token rejected; refreshing once and re-sending"
                );
                token = self.inner.tokens.refresh(&token).await?;
                continue;
            }
            if !error.is_retryable() || retries >= config.max_retries {
                tracing::warn!(
                    attempt,
                    code = error.code(),
                    "amoCRM request failed: {error}"
                );
                return Err(error);
            }
            let delay = backoff::jittered(retries, config.backoff_base, config.backoff_max);
            if total_backoff.saturating_add(delay) > config.max_total_backoff {
                tracing::warn!(attempt, code = error.code(), backoff = %describe_wait(total_backoff), "giving up: backoff budget spent");
                return Err(error);
            }
            retries += 1;
            total_backoff = total_backoff.saturating_add(delay);
            tracing::warn!(
                attempt,
                code = error.code(),
                delay_ms = delay.as_millis() as u64,
                "retrying after backoff"
            );
            if matches!(
                error,
                ApiError::RateLimited { .. } | ApiError::Server { .. }
            ) {
                // Everyone sharing the limiter waits out the delay, then runs
                // at half rate for a while; our own retry queues behind them.
                // A 5xx means amoCRM is struggling for the whole account, so
                // the other callers back off too instead of piling on.
                self.inner.limiter.penalize(delay, config.slowdown);
            } else {
                tokio::time::sleep(delay).await;
            }
        }
    }

    /// One HTTP exchange with `token`.
    async fn attempt(
        &self,
        template: &Request,
        token: &Secret,
        lookup: Lookup,
    ) -> Result<Option<Answer>, ApiError> {
        let mut request = template
            .try_clone()
            .ok_or_else(|| ApiError::invalid("request body cannot be re-sent"))?;
        let mut auth =
            HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                ApiError::AuthRevoked {
                    detail: "the stored token is not a valid header value".into(),
                }
            })?;
        auth.set_sensitive(true);
        request.headers_mut().insert(AUTHORIZATION, auth);

        self.inner
            .usage
            .requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let response = self
            .inner
            .http
            .execute(request)
            .await
            .map_err(transport_error)?;
        let status = response.status().as_u16();
        if status == 429 {
            self.inner
                .usage
                .rate_limited
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.bytes().await.map_err(transport_error)?;
        if lookup == Lookup::Entity && is_absent_entity(status, content_type.as_deref(), &body) {
            return Ok(None);
        }
        let head = Head {
            status,
            content_type: content_type.as_deref(),
            location: location.as_deref(),
            secret: token.expose(),
        };
        match classify(head, &body) {
            Verdict::Body => Ok(Some(Answer {
                status,
                content_type,
                body: body.to_vec(),
                token: token.clone(),
            })),
            Verdict::Empty => Ok(None),
            Verdict::Fail(error) => Err(error),
        }
    }
}

/// How a 404 reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lookup {
    /// Every 404 is an error.
    List,
    /// A problem+json 404 is "no such entity".
    Entity,
}

/// The error of a call refused because an earlier answer blocked the account.
fn blocked_error(remaining: Duration) -> ApiError {
    ApiError::Forbidden {
        blocked: true,
        detail: format!(
            "an earlier request was answered with the block page; not sent, the block is assumed for {} more",
            describe_wait(remaining)
        ),
    }
}

/// Maps a reqwest failure to `Timeout` or `Network`, with its cause chain.
///
/// Never with the URL: reqwest's `Display` ends with `for url (<full URL>)`,
/// and query strings carry webhook destinations and search text.
fn transport_error(error: reqwest::Error) -> ApiError {
    let timeout = error.is_timeout();
    let detail = scrub(error);
    if timeout {
        ApiError::Timeout { detail }
    } else {
        ApiError::Network { detail }
    }
}

/// A reqwest error and its causes as text, without the request URL (nor the
/// URL or its query, should a cause repeat them).
fn scrub(error: reqwest::Error) -> String {
    let secrets: Vec<String> = error
        .url()
        .map(|url| [Some(url.to_string()), url.query().map(str::to_owned)])
        .into_iter()
        .flatten()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect();
    let strip = |mut text: String| {
        for secret in &secrets {
            text = text.replace(secret.as_str(), "<url>");
        }
        text
    };
    let error = error.without_url();
    let mut detail = strip(error.to_string());
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        let text = strip(cause.to_string());
        if !detail.contains(&text) {
            detail.push_str(": ");
            detail.push_str(&text);
        }
        source = cause.source();
    }
    detail
}

/// Removes the token from an error's text, should a server echo it.
fn redact_error(error: ApiError, token: &Secret) -> ApiError {
    error.map_text(|s| redact(s, token.expose()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_echoed_token() {
        let token = Secret::from("abcdefghijklmnop");
        let e = redact_error(
            ApiError::Server {
                status: 500,
                detail: "Bearer abcdefghijklmnop".into(),
            },
            &token,
        );
        assert_eq!(
            e,
            ApiError::Server {
                status: 500,
                detail: "Bearer ***".into()
            }
        );
        assert!(!e.to_string().contains("abcdefghijklmnop"));
    }
}
