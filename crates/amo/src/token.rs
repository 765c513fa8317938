//! Where the client gets its access token, and what it does on a 401.

use std::future::Future;
use std::pin::Pin;

use crate::error::ApiError;
use crate::secret::Secret;

/// Supplies access tokens to the client.
///
/// Implementations for OAuth must make [`TokenProvider::refresh`]
/// single-flight: many requests may fail with the same token at once, and
/// amoCRM refresh tokens are single-use, so a second concurrent refresh would
/// revoke the account. Compare `rejected` with the current token: when they
/// differ, another caller already refreshed, so return the current one.
pub trait TokenProvider: Send + Sync + 'static {
    /// The token to send now.
    fn access_token(&self) -> impl Future<Output = Result<Secret, ApiError>> + Send;

    /// Called once when amoCRM answered 401 to `rejected`. Returns a token to
    /// re-send the identical request with, or an error (usually
    /// [`ApiError::AuthRevoked`]) that ends the call.
    fn refresh(&self, rejected: &Secret) -> impl Future<Output = Result<Secret, ApiError>> + Send;
}

/// A shared provider is a provider: the app can keep an `Arc` to the same
/// provider it hands to the client (to persist refreshed tokens, say).
impl<T: TokenProvider> TokenProvider for std::sync::Arc<T> {
    fn access_token(&self) -> impl Future<Output = Result<Secret, ApiError>> + Send {
        T::access_token(self)
    }

    fn refresh(&self, rejected: &Secret) -> impl Future<Output = Result<Secret, ApiError>> + Send {
        T::refresh(self, rejected)
    }
}

/// A long-lived token (private integrations): it cannot be refreshed.
#[derive(Debug, Clone)]
pub struct StaticToken {
    token: Secret,
}

impl StaticToken {
    /// Wraps a long-lived token.
    pub fn new(token: impl Into<Secret>) -> Self {
        StaticToken {
            token: token.into(),
        }
    }
}

impl TokenProvider for StaticToken {
    async fn access_token(&self) -> Result<Secret, ApiError> {
        Ok(self.token.clone())
    }

    async fn refresh(&self, _rejected: &Secret) -> Result<Secret, ApiError> {
        Err(ApiError::AuthRevoked {
            detail: "the long-lived token was rejected and cannot be refreshed".into(),
        })
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Object-safe form of [`TokenProvider`], so the client can hold any provider.
pub(crate) trait DynTokenProvider: Send + Sync {
    fn access_token(&self) -> BoxFuture<'_, Result<Secret, ApiError>>;
    fn refresh<'a>(&'a self, rejected: &'a Secret) -> BoxFuture<'a, Result<Secret, ApiError>>;
}

impl<T: TokenProvider> DynTokenProvider for T {
    fn access_token(&self) -> BoxFuture<'_, Result<Secret, ApiError>> {
        Box::pin(TokenProvider::access_token(self))
    }

    fn refresh<'a>(&'a self, rejected: &'a Secret) -> BoxFuture<'a, Result<Secret, ApiError>> {
        Box::pin(TokenProvider::refresh(self, rejected))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn static_token_cannot_refresh() {
        let provider: Box<dyn DynTokenProvider> =
            Box::new(StaticToken::new("long-lived-secret-token"));
        let token = provider.access_token().await.expect("token");
        assert_eq!(token.expose(), "long-lived-secret-token");
        let err = provider.refresh(&token).await.expect_err("no refresh");
        assert_eq!(err.code(), "AuthRevoked");
        assert!(
            !format!("{:?}", StaticToken::new("long-lived-secret-token")).contains("long-lived")
        );
    }
}
