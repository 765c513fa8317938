//! Errors that cross to the UI and the CLI: a code to branch on, a message to read.

use serde::Serialize;

/// Stable error codes. Add one only when a consumer branches on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ErrorCode {
    /// The built-in demo emulator could not start.
    DemoUnavailable,
    /// Token revoked or expired beyond refresh: the admin must reconnect.
    AuthRevoked,
    /// The account blocked us (too many requests) or the user lacks rights.
    Forbidden,
    /// amoCRM asked us to slow down and retries ran out.
    RateLimited,
    /// amoCRM could not be reached or answered with a server error.
    Unreachable,
    /// Anything else from the amoCRM API (bad answer, unknown entity, …).
    Api,
}

/// `{code, message}` as the UI receives it over IPC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
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

impl From<amo::ApiError> for AppError {
    fn from(err: amo::ApiError) -> Self {
        let code = match err.code() {
            "AuthRevoked" | "Unauthorized" => ErrorCode::AuthRevoked,
            "Forbidden" | "AccountBlocked" => ErrorCode::Forbidden,
            "RateLimited" => ErrorCode::RateLimited,
            "Network" | "Timeout" | "Server" => ErrorCode::Unreachable,
            _ => ErrorCode::Api,
        };
        AppError::new(code, err.to_string())
    }
}
