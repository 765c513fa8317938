//! OAuth 2.0 with amoCRM / Kommo (the `oauth2` crate under the hood).
//!
//! The flow, and which file does each step:
//! 1. [`authorize`]: the browser URL (`www.amocrm.ru/oauth`, `www.kommo.com/oauth`,
//!    or the emulator's `/oauth`) with a random `state`.
//! 2. [`callback`]: the redirect back (`?code&state&referer&client_id`, or
//!    `?error=access_denied`), checked against the `state` we sent; the
//!    `referer` names the account host every later call goes to.
//! 3. [`exchange`]: `POST https://{referer}/oauth2/access_token` for the code,
//!    and later for each refresh. Refresh tokens are single-use and rotate:
//!    the caller must persist the new pair before using it and must never
//!    refresh twice with one token (the app's token manager is single-flight).
//!
//! Nothing here stores anything or keeps state between calls.

mod authorize;
mod callback;
mod exchange;

pub use authorize::{AuthorizeRequest, AuthorizeSite};
pub use callback::{Callback, CallbackError, account_base_url};
pub use exchange::{TokenEndpoint, TokenSet};

use crate::secret::Secret;

/// An amoCRM integration as the admin created it: the three values shown in
/// its settings. The redirect URI is kept byte for byte: amoCRM compares it
/// exactly at the code exchange and at every refresh.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthApp {
    /// The integration id ("ID интеграции").
    pub client_id: String,
    /// The secret key ("Секретный ключ"). Never printed.
    pub client_secret: Secret,
    /// The redirect URI exactly as entered in the integration.
    pub redirect_uri: String,
}

impl std::fmt::Debug for OAuthApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthApp")
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("redirect_uri", &self.redirect_uri)
            .finish()
    }
}

impl OAuthApp {
    /// Checks the three values; the error says which one is wrong and what to do.
    pub fn validate(&self) -> Result<(), crate::ApiError> {
        if self.client_id.trim().is_empty() || self.client_id.chars().any(char::is_whitespace) {
            return Err(crate::ApiError::Config {
                detail: "the integration id (client id) is empty or has spaces; copy it from the integration's Keys and access tab".into(),
            });
        }
        if self.client_secret.expose().trim().is_empty() {
            return Err(crate::ApiError::Config {
                detail: "the integration's secret key is empty; copy it from the integration's Keys and access tab".into(),
            });
        }
        match url::Url::parse(&self.redirect_uri) {
            Ok(url) if url.fragment().is_none() && !url.cannot_be_a_base() => Ok(()),
            _ => Err(crate::ApiError::Config {
                detail: format!(
                    "the redirect URI {:?} is not an absolute URL; paste it exactly as in the integration's settings (e.g. amosync://oauth/callback or http://127.0.0.1:8790/oauth/callback)",
                    self.redirect_uri
                ),
            }),
        }
    }
}
