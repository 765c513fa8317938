//! Errors that cross to the UI and the CLI: a code to branch on, a message to read.

use amo::ApiError;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Stable error codes. Add one only when a consumer branches on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub enum ErrorCode {
    /// The built-in demo emulator could not start.
    DemoUnavailable,
    /// Token revoked or expired beyond refresh: the admin must reconnect.
    AuthRevoked,
    /// The admin pressed "Deny" on amoCRM's approval page.
    OAuthDenied,
    /// amoCRM blocked the account for too many requests: wait, then retry.
    AccountBlocked,
    /// The connected user lacks the rights for this call (not an admin).
    Forbidden,
    /// The amoCRM account is not paid: reads may work for a while.
    PaymentRequired,
    /// amoCRM asked us to slow down and retries ran out.
    RateLimited,
    /// amoCRM could not be reached, timed out, or answered with a server error.
    Unreachable,
    /// Anything else from the amoCRM API (bad answer, unknown entity, …).
    Api,
    /// No amoCRM account is connected to this data folder: connect first.
    NotConnected,
    /// The data folder is bound to another amoCRM account.
    AccountMismatch,
    /// The asked-for lead, contact or pipeline is not in the local store.
    NotFound,
    /// The local store cannot be opened or read (in use, damaged, too new, disk).
    StoreUnavailable,
    /// A local file, port or the control channel to `amosync serve` failed.
    Local,
    /// An argument or setting is invalid (address, URL, subdomain, token).
    InvalidInput,
}

/// `{code, message}` as the UI receives it over IPC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError {
            code,
            message: message.into(),
        }
    }
}

impl From<ApiError> for AppError {
    fn from(err: ApiError) -> Self {
        let code = match &err {
            ApiError::Unauthorized { .. } | ApiError::AuthRevoked { .. } => ErrorCode::AuthRevoked,
            ApiError::Forbidden { blocked: true, .. } => ErrorCode::AccountBlocked,
            ApiError::Forbidden { blocked: false, .. } => ErrorCode::Forbidden,
            ApiError::PaymentRequired { .. } => ErrorCode::PaymentRequired,
            ApiError::RateLimited { .. } => ErrorCode::RateLimited,
            ApiError::Server { .. } | ApiError::Timeout { .. } | ApiError::Network { .. } => {
                ErrorCode::Unreachable
            }
            _ => ErrorCode::Api,
        };
        AppError::new(code, err.to_string())
    }
}

/// What to do about a damaged store: a fresh store is unbound, so `sync`
/// alone would answer "not connected" — connect first, then pull.
const REBUILD: &str = "move it aside, then run `amosync connect` again (the same --subdomain/--base-url and token) and `amosync sync` to rebuild it";

impl From<amosync_store::StoreError> for AppError {
    fn from(err: amosync_store::StoreError) -> Self {
        use amosync_store::StoreError;
        let message = match err {
            StoreError::Corrupt { path, reason } => {
                format!("the store file {path} cannot be read ({reason}); {REBUILD}")
            }
            StoreError::Record(detail) => {
                // The store's own advice (if any) names flags this CLI lacks.
                let detail = detail
                    .split_once("; run `")
                    .map_or(detail.as_str(), |(d, _)| d);
                format!(
                    "a stored record could not be read ({detail}); the store file is damaged: {REBUILD}"
                )
            }
            other => other.to_string(),
        };
        AppError::new(ErrorCode::StoreUnavailable, message)
    }
}

impl From<amosync_sync::SyncError> for AppError {
    fn from(err: amosync_sync::SyncError) -> Self {
        use amosync_sync::SyncError;
        match err {
            SyncError::Store(e) => e.into(),
            SyncError::Api(e) => e.into(),
            SyncError::NotConnected => AppError::new(ErrorCode::NotConnected, err.to_string()),
            SyncError::WrongAccount { .. } => {
                AppError::new(ErrorCode::AccountMismatch, err.to_string())
            }
            other => AppError::new(ErrorCode::Local, other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use amosync_store::StoreError;

    #[test]
    fn damaged_store_advice_names_only_real_commands() {
        for err in [
            StoreError::Corrupt {
                path: "/d/amosync.redb".into(),
                reason: "bad page".into(),
            },
            StoreError::Record(
                "lead 7 is damaged (eof); run `amosync sync --full` to fetch it again".into(),
            ),
        ] {
            let app = AppError::from(err);
            assert_eq!(app.code, ErrorCode::StoreUnavailable);
            assert!(app.message.contains("amosync connect"), "{}", app.message);
            assert!(!app.message.contains("--full"), "{}", app.message);
            assert!(!app.message.contains('\n'));
        }
        let record = AppError::from(StoreError::Record("lead 7 is damaged (eof)".into()));
        assert!(
            record.message.contains("lead 7 is damaged (eof)"),
            "{}",
            record.message
        );
    }
}
