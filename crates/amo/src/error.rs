//! The client's error type: one variant per thing a caller can act on.

use std::time::Duration;

use crate::problem::Problem;

/// Everything that can go wrong talking to amoCRM.
///
/// Each variant has a stable [`ApiError::code`] for the UI to branch on, a
/// [`ApiError::is_retryable`] verdict for schedulers, and a `Display` message
/// that says what to do next. Messages never contain tokens.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// 400 (or 422): amoCRM rejected the request as malformed.
    #[error(
        "amoCRM rejected the request as invalid ({detail}); retrying will not help, report this to the AmoSync developers"
    )]
    BadRequest {
        /// The HTTP status (400 or 422).
        status: u16,
        /// What amoCRM said (problem+json `detail`, `hint`, validation errors).
        detail: String,
        /// The parsed problem body, when there was one.
        problem: Option<Box<Problem>>,
    },
    /// 401 that a token refresh did not cure.
    #[error("amoCRM did not accept the access token ({detail}). Reconnect amoCRM in Settings")]
    Unauthorized {
        /// What amoCRM said.
        detail: String,
    },
    /// The token (or refresh token) is revoked or was never renewable.
    #[error("amoCRM access was revoked ({detail}). Reconnect amoCRM in Settings")]
    AuthRevoked {
        /// Why: amoCRM's hint, or the token provider's reason.
        detail: String,
    },
    /// 402: the account's subscription is not paid.
    #[error(
        "the amoCRM account is not paid ({detail}). Renew the subscription in amoCRM, then retry"
    )]
    PaymentRequired {
        /// What amoCRM said.
        detail: String,
    },
    /// 403: either the account is blocked (HTML body) or the user lacks rights
    /// (JSON body, e.g. a non-admin reading users or webhooks). Never retried.
    #[error("{}", forbidden_message(*.blocked, .detail))]
    Forbidden {
        /// True when amoCRM blocked the whole account (too many requests).
        blocked: bool,
        /// What amoCRM said (for HTML: the page title or an excerpt).
        detail: String,
    },
    /// 404: no such endpoint or entity.
    #[error("amoCRM has no such object ({detail}); it may have been deleted")]
    NotFound {
        /// What amoCRM said.
        detail: String,
    },
    /// 429 after every allowed retry.
    #[error("amoCRM is rate limiting AmoSync ({detail}); it slowed down and will retry later")]
    RateLimited {
        /// What amoCRM said.
        detail: String,
    },
    /// 5xx after every allowed retry.
    #[error("amoCRM answered with server error {status} ({detail}); retry later")]
    Server {
        /// The HTTP status (500..=599).
        status: u16,
        /// What amoCRM said.
        detail: String,
    },
    /// No answer within the configured timeout (after every allowed retry).
    #[error("amoCRM did not answer in time ({detail}); check the connection and retry")]
    Timeout {
        /// What timed out.
        detail: String,
    },
    /// Connection-level failure: DNS, refused, reset, TLS.
    #[error("could not reach amoCRM ({detail}); check the internet connection and retry")]
    Network {
        /// The transport error, without URLs' secrets (there are none in URLs).
        detail: String,
    },
    /// The answer was not the JSON we expected.
    #[error("amoCRM sent an answer AmoSync could not read ({detail}); body starts with: {excerpt}")]
    Decode {
        /// What failed, with the JSON path when known.
        detail: String,
        /// The first characters of the response body (never request headers).
        excerpt: String,
    },
    /// Any other status (3xx, 405, 409, …).
    #[error("amoCRM answered with unexpected status {status} ({detail})")]
    UnexpectedStatus {
        /// The HTTP status.
        status: u16,
        /// What amoCRM said.
        detail: String,
    },
    /// The caller asked for something amoCRM does not allow (e.g. `limit` > 250).
    #[error("invalid request: {detail}")]
    InvalidRequest {
        /// What is wrong.
        detail: String,
    },
    /// The client configuration is unusable (bad base URL, rate ≤ 0, …).
    #[error("invalid amoCRM client configuration: {detail}")]
    Config {
        /// What is wrong.
        detail: String,
    },
}

fn forbidden_message(blocked: bool, detail: &str) -> String {
    if blocked {
        format!(
            "amoCRM blocked this account for too many requests ({detail}); wait and retry later, AmoSync will not retry on its own"
        )
    } else {
        format!(
            "amoCRM refused access ({detail}); connect with an administrator account in Settings to use this feature"
        )
    }
}

impl ApiError {
    /// The same error with `f` applied to every text it carries (details,
    /// excerpts, the problem body) — how callers cut a secret that an
    /// answer may echo (a token, a webhook destination) out of an error.
    pub fn map_text(self, f: impl Fn(&str) -> String) -> ApiError {
        let r = |s: String| f(&s);
        match self {
            ApiError::BadRequest {
                status,
                detail,
                problem,
            } => ApiError::BadRequest {
                status,
                detail: r(detail),
                problem: problem.and_then(|p| {
                    let text = serde_json::to_string(&p).ok()?;
                    serde_json::from_str(&r(text)).ok().map(Box::new)
                }),
            },
            ApiError::Unauthorized { detail } => ApiError::Unauthorized { detail: r(detail) },
            ApiError::AuthRevoked { detail } => ApiError::AuthRevoked { detail: r(detail) },
            ApiError::PaymentRequired { detail } => ApiError::PaymentRequired { detail: r(detail) },
            ApiError::Forbidden { blocked, detail } => ApiError::Forbidden {
                blocked,
                detail: r(detail),
            },
            ApiError::NotFound { detail } => ApiError::NotFound { detail: r(detail) },
            ApiError::RateLimited { detail } => ApiError::RateLimited { detail: r(detail) },
            ApiError::Server { status, detail } => ApiError::Server {
                status,
                detail: r(detail),
            },
            ApiError::Timeout { detail } => ApiError::Timeout { detail: r(detail) },
            ApiError::Network { detail } => ApiError::Network { detail: r(detail) },
            ApiError::Decode { detail, excerpt } => ApiError::Decode {
                detail: r(detail),
                excerpt: r(excerpt),
            },
            ApiError::UnexpectedStatus { status, detail } => ApiError::UnexpectedStatus {
                status,
                detail: r(detail),
            },
            ApiError::InvalidRequest { detail } => ApiError::InvalidRequest { detail: r(detail) },
            ApiError::Config { detail } => ApiError::Config { detail: r(detail) },
        }
    }

    /// A stable identifier for the UI and the CLI to branch on.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { .. } => "BadRequest",
            ApiError::Unauthorized { .. } => "Unauthorized",
            ApiError::AuthRevoked { .. } => "AuthRevoked",
            ApiError::PaymentRequired { .. } => "PaymentRequired",
            ApiError::Forbidden { blocked: true, .. } => "AccountBlocked",
            ApiError::Forbidden { blocked: false, .. } => "Forbidden",
            ApiError::NotFound { .. } => "NotFound",
            ApiError::RateLimited { .. } => "RateLimited",
            ApiError::Server { .. } => "ServerError",
            ApiError::Timeout { .. } => "Timeout",
            ApiError::Network { .. } => "Network",
            ApiError::Decode { .. } => "Decode",
            ApiError::UnexpectedStatus { .. } => "UnexpectedStatus",
            ApiError::InvalidRequest { .. } => "InvalidRequest",
            ApiError::Config { .. } => "Config",
        }
    }

    /// True when the same request may succeed later without user action:
    /// 429, 5xx, timeouts and connection errors. 401/403/402 need a person.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ApiError::RateLimited { .. }
                | ApiError::Server { .. }
                | ApiError::Timeout { .. }
                | ApiError::Network { .. }
        )
    }

    /// True when the user must reconnect amoCRM (401 that refresh did not cure).
    pub fn needs_reconnect(&self) -> bool {
        matches!(
            self,
            ApiError::Unauthorized { .. } | ApiError::AuthRevoked { .. }
        )
    }

    /// The HTTP status behind this error, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::BadRequest { status, .. }
            | ApiError::Server { status, .. }
            | ApiError::UnexpectedStatus { status, .. } => Some(*status),
            ApiError::Unauthorized { .. } => Some(401),
            ApiError::PaymentRequired { .. } => Some(402),
            ApiError::Forbidden { .. } => Some(403),
            ApiError::NotFound { .. } => Some(404),
            ApiError::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    /// A client-side validation error.
    pub fn invalid(detail: impl Into<String>) -> Self {
        ApiError::InvalidRequest {
            detail: detail.into(),
        }
    }
}

/// How long the client waited in total before giving up; used in messages.
pub(crate) fn describe_wait(waited: Duration) -> String {
    format!("{:.1}s", waited.as_secs_f64())
}

#[cfg(test)]
mod tests {

    #[test]
    fn map_text_reaches_every_text_and_the_problem_body() {
        let secret = "s3cr3t-s3cr3t";
        let cut = |s: &str| s.replace(secret, "***");
        let problem = Problem {
            detail: Some(format!("POST to https://h/amocrm/{secret}/ failed")),
            ..Problem::default()
        };
        let bad = ApiError::BadRequest {
            status: 400,
            detail: format!("echo {secret}"),
            problem: Some(Box::new(problem)),
        }
        .map_text(cut);
        let text = format!("{bad:?}");
        assert!(!text.contains(secret), "{text}");
        assert!(text.contains("/amocrm/***/"), "{text}");
        for e in [
            ApiError::Network {
                detail: secret.into(),
            },
            ApiError::Timeout {
                detail: secret.into(),
            },
            ApiError::Config {
                detail: secret.into(),
            },
            ApiError::InvalidRequest {
                detail: secret.into(),
            },
            ApiError::Decode {
                detail: secret.into(),
                excerpt: secret.into(),
            },
        ] {
            let code = e.code();
            let mapped = e.map_text(cut);
            assert_eq!(mapped.code(), code, "the kind stays");
            assert!(!format!("{mapped:?}").contains(secret), "{mapped:?}");
        }
    }

    use super::*;

    #[test]
    fn codes_are_distinct_and_stable() {
        let all = [
            ApiError::BadRequest {
                status: 400,
                detail: String::new(),
                problem: None,
            },
            ApiError::Unauthorized {
                detail: String::new(),
            },
            ApiError::AuthRevoked {
                detail: String::new(),
            },
            ApiError::PaymentRequired {
                detail: String::new(),
            },
            ApiError::Forbidden {
                blocked: true,
                detail: String::new(),
            },
            ApiError::Forbidden {
                blocked: false,
                detail: String::new(),
            },
            ApiError::NotFound {
                detail: String::new(),
            },
            ApiError::RateLimited {
                detail: String::new(),
            },
            ApiError::Server {
                status: 502,
                detail: String::new(),
            },
            ApiError::Timeout {
                detail: String::new(),
            },
            ApiError::Network {
                detail: String::new(),
            },
            ApiError::Decode {
                detail: String::new(),
                excerpt: String::new(),
            },
            ApiError::UnexpectedStatus {
                status: 409,
                detail: String::new(),
            },
            ApiError::InvalidRequest {
                detail: String::new(),
            },
            ApiError::Config {
                detail: String::new(),
            },
        ];
        let mut codes: Vec<&str> = all.iter().map(ApiError::code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        let retryable: Vec<&str> = all
            .iter()
            .filter(|e| e.is_retryable())
            .map(ApiError::code)
            .collect();
        assert_eq!(
            retryable,
            ["RateLimited", "ServerError", "Timeout", "Network"]
        );
    }

    #[test]
    fn messages_say_what_to_do() {
        let revoked = ApiError::AuthRevoked {
            detail: "Token has been revoked".into(),
        };
        assert!(revoked.to_string().contains("Reconnect amoCRM in Settings"));
        let blocked = ApiError::Forbidden {
            blocked: true,
            detail: "HTML page".into(),
        };
        assert!(blocked.to_string().contains("wait and retry later"));
        assert_eq!(blocked.code(), "AccountBlocked");
        let rights = ApiError::Forbidden {
            blocked: false,
            detail: "no rights".into(),
        };
        assert!(rights.to_string().contains("administrator"));
    }

    #[test]
    fn describe_wait_is_short() {
        assert_eq!(describe_wait(Duration::from_millis(1500)), "1.5s");
    }
}
