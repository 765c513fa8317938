//! Errors that cross to the UI and the CLI: a code to branch on, a message to read.

use amo::ApiError;
use serde::Serialize;
use ts_rs::TS;

/// Stable error codes. Add one only when a consumer branches on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
pub enum ErrorCode {
    /// The built-in demo emulator could not start.
    DemoUnavailable,
    /// Token revoked or expired beyond refresh: the admin must reconnect.
    AuthRevoked,
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
}

/// `{code, message}` as the UI receives it over IPC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS, thiserror::Error)]
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
