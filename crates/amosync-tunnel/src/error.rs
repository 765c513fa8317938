//! Errors of starting a tunnel: each says what to do, and has a stable code.

/// Why a tunnel could not be configured or started.
#[derive(Debug, thiserror::Error)]
pub enum TunnelError {
    /// The tunnel settings are invalid; the message says which field and how to fix it.
    #[error("tunnel settings: {0}")]
    Config(String),
    /// The provider cannot run on this machine (missing program, feature not built in).
    #[error("tunnel unavailable: {0}")]
    Unavailable(String),
    /// `start` was called outside a tokio runtime.
    #[error("tunnel: start() must be called inside a tokio runtime")]
    NoRuntime,
}

impl TunnelError {
    /// A stable machine-readable code for the UI and the control API.
    pub fn code(&self) -> &'static str {
        match self {
            TunnelError::Config(_) => "TunnelConfig",
            TunnelError::Unavailable(_) => "TunnelUnavailable",
            TunnelError::NoRuntime => "TunnelRuntime",
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        TunnelError::Config(message.into())
    }
}
