//! What the keeper reports (for the UI and the CLI), and the pure mapping
//! from API errors to those states.

use amo::ApiError;
use serde::Serialize;

use super::redact::redact_error;

/// Where this install's webhook stands in amoCRM. Never holds the secret:
/// URLs are shown as `https://host/amocrm/***/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum WebhookState {
    /// No public URL yet (no tunnel), so nothing to register.
    NotRegistered,
    /// A new public URL is being registered.
    Registering,
    /// amoCRM holds the webhook and it is enabled.
    Registered {
        /// The destination, secret redacted.
        url_redacted: String,
        /// The setting codes the account kept (read back after posting).
        accepted: Vec<String>,
        /// Requested codes the account dropped (unknown to this account).
        missing: Vec<String>,
    },
    /// amoCRM disabled the webhook after failed deliveries; the keeper
    /// re-registers it at once (this state is seen in between, or stays when
    /// amoCRM keeps it disabled).
    Disabled {
        /// The destination, secret redacted.
        url_redacted: String,
    },
    /// The connected user may not manage webhooks (403).
    NotAdmin {
        /// What to do about it.
        message: String,
    },
    /// The account holds the maximum number of webhooks.
    LimitReached {
        /// What to do about it.
        message: String,
    },
    /// Anything else a person must act on; `code` is an `ApiError::code`
    /// (`AuthRevoked`, `AccountBlocked`, `PaymentRequired`, `BadRequest`, …)
    /// or `InvalidUrl` / `Config` for a bad public URL or configuration.
    Failed {
        /// A stable code to branch on.
        code: String,
        /// What happened and what to do.
        message: String,
    },
}

/// A snapshot of the keeper (fed to the UI/CLI).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct KeeperStatus {
    /// Where the webhook stands.
    pub state: WebhookState,
    /// Unix seconds of the last finished check.
    pub last_check_s: Option<i64>,
    /// Times a missing or disabled webhook was registered again.
    pub reregistrations: u32,
    /// Earlier destinations of this install (old tunnel URLs) deleted.
    pub stale_removed: u32,
    /// Unix seconds when the keeper last found the webhook disabled by amoCRM
    /// (deliveries had failed > 100 times in 2 h: worth telling the user).
    pub last_disabled_s: Option<i64>,
    /// The last error that did not change the state: a transient failure
    /// (retried with backoff) or a failed delete of a stale hook. `None`
    /// after a clean check.
    pub last_error: Option<String>,
}

impl Default for KeeperStatus {
    fn default() -> Self {
        KeeperStatus {
            state: WebhookState::NotRegistered,
            last_check_s: None,
            reregistrations: 0,
            stale_removed: 0,
            last_disabled_s: None,
            last_error: None,
        }
    }
}

/// What an error means for the keeper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Retry later with backoff; keep the state. Holds the redacted message.
    Transient(String),
    /// A person must act: show this state.
    State(WebhookState),
}

/// The message shown when the account is full.
pub const LIMIT_MESSAGE: &str = "amoCRM allows 100 webhooks per account; delete unused ones in Settings → Integrations → Webhooks";

/// Maps an API error to what the keeper does. `at_capacity` says the
/// account already held 100 webhooks (so a 400 on POST is the cap);
/// `url_redacted` names the destination for the by-hand advice.
pub fn classify(
    error: ApiError,
    at_capacity: bool,
    secret_path: &str,
    url_redacted: &str,
) -> Verdict {
    let error = redact_error(error, secret_path);
    if error.is_retryable() {
        return Verdict::Transient(error.to_string());
    }
    let state = match &error {
        ApiError::Forbidden {
            blocked: false,
            detail,
        } => WebhookState::NotAdmin {
            message: format!(
                "the connected user is not an amoCRM administrator: reconnect as an admin, or register the webhook by hand in amoCRM (Settings → Integrations → Webhooks) with this install's receiver URL {url_redacted} (*** is the secret shown in AmoSync's settings) (amoCRM said: {detail})"
            ),
        },
        ApiError::BadRequest { .. } if at_capacity || mentions_limit(&error) => {
            WebhookState::LimitReached {
                message: format!("{LIMIT_MESSAGE} (amoCRM said: {})", detail_of(&error)),
            }
        }
        ApiError::Unauthorized { .. } | ApiError::AuthRevoked { .. } => WebhookState::Failed {
            code: "AuthRevoked".to_owned(),
            message: error.to_string(),
        },
        other => WebhookState::Failed {
            code: other.code().to_owned(),
            message: other.to_string(),
        },
    };
    Verdict::State(state)
}

fn detail_of(error: &ApiError) -> String {
    match error {
        ApiError::BadRequest { detail, .. } => detail.clone(),
        other => other.to_string(),
    }
}

/// True when a 400 speaks of the webhook cap ("at most 100 webhooks",
/// "too many", "limit", "maximum").
fn mentions_limit(error: &ApiError) -> bool {
    let ApiError::BadRequest {
        detail, problem, ..
    } = error
    else {
        return false;
    };
    let mut text = detail.to_lowercase();
    if let Some(errors) = problem.as_ref().and_then(|p| p.validation_errors.as_ref()) {
        text.push(' ');
        text.push_str(&errors.to_string().to_lowercase());
    }
    ["too many", "at most", "limit", "maximum", "exceed"]
        .iter()
        .any(|w| text.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "5ec7e75ec7e75ec7e75ec7e75ec7e75e";
    const URL: &str = "https://a.example/amocrm/***/";

    fn sp() -> String {
        format!("/amocrm/{SECRET}/")
    }

    fn bad(detail: &str) -> ApiError {
        ApiError::BadRequest {
            status: 400,
            detail: detail.to_owned(),
            problem: None,
        }
    }

    fn kind(v: &Verdict) -> String {
        match v {
            Verdict::Transient(_) => "transient".to_owned(),
            Verdict::State(WebhookState::NotAdmin { .. }) => "not_admin".to_owned(),
            Verdict::State(WebhookState::LimitReached { .. }) => "limit".to_owned(),
            Verdict::State(WebhookState::Failed { code, .. }) => format!("failed:{code}"),
            Verdict::State(other) => format!("{other:?}"),
        }
    }

    #[test]
    fn classify_table() {
        let d = |s: &str| s.to_owned();
        let cases: Vec<(ApiError, bool, &str)> = vec![
            (
                ApiError::RateLimited { detail: d("slow") },
                false,
                "transient",
            ),
            (
                ApiError::Server {
                    status: 502,
                    detail: d("x"),
                },
                false,
                "transient",
            ),
            (ApiError::Timeout { detail: d("x") }, false, "transient"),
            (
                ApiError::Network {
                    detail: d("refused"),
                },
                false,
                "transient",
            ),
            (
                ApiError::Forbidden {
                    blocked: false,
                    detail: d("rights"),
                },
                false,
                "not_admin",
            ),
            (
                ApiError::Forbidden {
                    blocked: true,
                    detail: d("html"),
                },
                false,
                "failed:AccountBlocked",
            ),
            (
                bad("Bad Request: at most 100 webhooks per account"),
                false,
                "limit",
            ),
            (bad("Bad Request: Invalid URL"), true, "limit"),
            (bad("Bad Request: Invalid URL"), false, "failed:BadRequest"),
            (
                ApiError::AuthRevoked {
                    detail: d("Token has been revoked"),
                },
                false,
                "failed:AuthRevoked",
            ),
            (
                ApiError::Unauthorized {
                    detail: d("bad token"),
                },
                false,
                "failed:AuthRevoked",
            ),
            (
                ApiError::PaymentRequired {
                    detail: d("unpaid"),
                },
                false,
                "failed:PaymentRequired",
            ),
        ];
        for (error, at_capacity, want) in cases {
            let name = format!("{error:?}");
            assert_eq!(
                kind(&classify(error, at_capacity, &sp(), URL)),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn messages_say_what_to_do_without_the_secret() {
        let dest = format!("https://a.example{}", sp());
        let Verdict::State(WebhookState::NotAdmin { message }) = classify(
            ApiError::Forbidden {
                blocked: false,
                detail: format!("denied for {dest}"),
            },
            false,
            &sp(),
            URL,
        ) else {
            panic!("not NotAdmin")
        };
        assert!(message.starts_with("the connected user is not an amoCRM administrator: reconnect as an admin, or register the webhook by hand"), "{message}");
        assert!(
            message.contains(URL) && !message.contains(SECRET),
            "{message}"
        );
        let Verdict::State(WebhookState::LimitReached { message }) =
            classify(bad(&format!("too many: {dest}")), false, &sp(), URL)
        else {
            panic!("not LimitReached")
        };
        assert!(
            message.starts_with(LIMIT_MESSAGE) && !message.contains(SECRET),
            "{message}"
        );
        let Verdict::Transient(message) = classify(
            ApiError::Network {
                detail: dest.clone(),
            },
            false,
            &sp(),
            URL,
        ) else {
            panic!("not transient")
        };
        assert!(!message.contains(SECRET), "{message}");
    }

    #[test]
    fn serialized_shape_and_typescript() {
        let s = KeeperStatus {
            state: WebhookState::Registered {
                url_redacted: URL.to_owned(),
                accepted: vec!["add_lead".to_owned()],
                missing: vec![],
            },
            ..KeeperStatus::default()
        };
        let v = serde_json::to_value(&s).expect("json");
        assert_eq!(v["state"]["state"], "registered");
        assert_eq!(v["state"]["url_redacted"], URL);
        let v = serde_json::to_value(WebhookState::NotAdmin {
            message: "m".into(),
        })
        .expect("json");
        assert_eq!(v, serde_json::json!({"state": "not_admin", "message": "m"}));
        let cfg = ts_rs::Config::new();
        let ts = <WebhookState as ts_rs::TS>::decl(&cfg);
        assert!(ts.contains("\"state\": \"limit_reached\""), "{ts}");
        let ts = <KeeperStatus as ts_rs::TS>::decl(&cfg);
        assert!(ts.contains("reregistrations: number"), "{ts}");
    }
}
