//! Sync errors.

/// What stops a sync operation.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] amosync_store::StoreError),
    /// The amoCRM API failed (after the client's own retries).
    #[error(transparent)]
    Api(#[from] amo::ApiError),
    /// The receiver could not listen.
    #[error("cannot listen on {addr}: {reason}; pick another port with --listen 127.0.0.1:PORT")]
    Bind {
        /// Requested address.
        addr: String,
        /// OS error.
        reason: String,
    },
    /// The store is not bound to an account.
    #[error(
        "no amoCRM account is connected to this data folder; run `amosync connect` or `amosync demo` first"
    )]
    NotConnected,
    /// The engine was stopped.
    #[error("the sync engine has stopped")]
    Stopped,
    /// The token provider answered for another account than the store is bound to.
    #[error(
        "the amoCRM token belongs to account {found}, but this data folder mirrors account {expected}; reconnect the right account"
    )]
    WrongAccount {
        /// The bound account id.
        expected: u64,
        /// The account the API answered for.
        found: u64,
    },
}

impl SyncError {
    /// A stable machine code the UI/CLI can branch on:
    /// `store`, `auth_revoked`, `account_blocked`, `payment_required`,
    /// `forbidden`, `rate_limited`, `unreachable`, `api`, `bind`,
    /// `not_connected`, `wrong_account`, `stopped`.
    pub fn code(&self) -> &'static str {
        match self {
            SyncError::Store(_) => "store",
            SyncError::Api(e) => api_code(e),
            SyncError::Bind { .. } => "bind",
            SyncError::NotConnected => "not_connected",
            SyncError::Stopped => "stopped",
            SyncError::WrongAccount { .. } => "wrong_account",
        }
    }

    /// True when retrying later (without a person) may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            SyncError::Api(e) => e.is_retryable(),
            _ => false,
        }
    }
}

/// The [`SyncError::code`] of an API error.
pub(crate) fn api_code(e: &amo::ApiError) -> &'static str {
    use amo::ApiError;
    match e {
        ApiError::Unauthorized { .. } | ApiError::AuthRevoked { .. } => "auth_revoked",
        ApiError::Forbidden { blocked: true, .. } => "account_blocked",
        ApiError::Forbidden { blocked: false, .. } => "forbidden",
        ApiError::PaymentRequired { .. } => "payment_required",
        ApiError::RateLimited { .. } => "rate_limited",
        ApiError::Timeout { .. } | ApiError::Network { .. } => "unreachable",
        _ => "api",
    }
}

/// True for API errors after which the engine stops calling the API until the
/// next catch-up pass (a person must act: reconnect, unblock, pay).
pub(crate) fn api_stops(e: &amo::ApiError) -> bool {
    matches!(
        api_code(e),
        "auth_revoked" | "account_blocked" | "payment_required"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        assert_eq!(SyncError::NotConnected.code(), "not_connected");
        assert_eq!(
            SyncError::Bind {
                addr: "127.0.0.1:1".into(),
                reason: "in use".into()
            }
            .code(),
            "bind"
        );
        assert_eq!(SyncError::Api(amo::ApiError::invalid("x")).code(), "api");
        assert_eq!(SyncError::Stopped.code(), "stopped");
    }
}
