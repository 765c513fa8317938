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
    #[error("no amoCRM account is connected to this data folder; run `amosync connect` or `amosync demo` first")]
    NotConnected,
    /// The engine was stopped.
    #[error("the sync engine has stopped")]
    Stopped,
}
