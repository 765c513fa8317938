//! The account's OAuth integrations and the grants they were given:
//! authorization codes (single-use, short-lived) and refresh tokens
//! (single-use, rotated on every refresh). Access tokens live in the
//! [`crate::auth::TokenRegistry`]; this file holds no locks and does no I/O.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Value, json};

use super::errors::OAuthError;
use super::lifetimes::{OAuthLifetimes, after};
use super::secret::{self, Secret};
use crate::model::Timestamp;

/// Most integrations the control API may register.
pub const MAX_INTEGRATIONS: usize = 10_000;
/// Most authorization codes kept at once (used and expired ones are dropped first).
pub const MAX_CODES: usize = 10_000;

/// An external integration of the account: what its settings page shows.
/// `Debug` hides the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Integration {
    pub client_id: String,
    pub client_secret: Secret,
    /// Compared byte for byte at code exchange and refresh.
    pub redirect_uri: String,
    pub name: String,
    /// The key of the 7/s limit: every access token of the integration shares it.
    pub integration_id: u64,
    /// The user the integration acts as (the admin unless told otherwise).
    pub user_id: u64,
    pub is_admin: bool,
}

impl Integration {
    /// What `GET /_emulator/integrations` shows: everything but the secret.
    pub fn public_json(&self) -> Value {
        json!({
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "name": self.name,
            "integration_id": self.integration_id,
            "user_id": self.user_id,
        })
    }
}

/// Counters of the OAuth flow, for tests to assert on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OAuthStats {
    /// Codes handed out by approving the authorize page.
    pub codes_issued: u64,
    /// Codes successfully exchanged for tokens.
    pub codes_exchanged: u64,
    /// Successful refreshes.
    pub refreshes: u64,
    /// Refresh tokens presented again after their one use (each answered 401).
    pub refresh_reuse: u64,
    /// Token-endpoint requests answered with anything but 200.
    pub failed_exchanges: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    Live,
    Used,
    Revoked,
}

/// A code or refresh token (the map key is the credential itself).
#[derive(Debug, Clone)]
struct Grant {
    client_id: String,
    expires_at: Timestamp,
    state: Use,
}

/// Integrations, codes, refresh tokens, lifetimes and counters.
#[derive(Default)]
pub struct OAuthRegistry {
    integrations: Vec<Integration>,
    codes: HashMap<String, Grant>,
    refresh_tokens: HashMap<String, Grant>,
    pub lifetimes: OAuthLifetimes,
    pub stats: OAuthStats,
}

impl std::fmt::Debug for OAuthRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthRegistry")
            .field("integrations", &self.integrations.len())
            .field("codes", &self.codes.len())
            .field("refresh_tokens", &self.refresh_tokens.len())
            .field("lifetimes", &self.lifetimes)
            .field("stats", &self.stats)
            .finish()
    }
}

impl OAuthRegistry {
    pub fn new(lifetimes: OAuthLifetimes) -> Self {
        OAuthRegistry {
            lifetimes,
            ..Default::default()
        }
    }

    /// Creates an integration with a fresh client id and secret.
    pub fn register(
        &mut self,
        redirect_uri: &str,
        name: &str,
        integration_id: u64,
        user_id: u64,
        is_admin: bool,
    ) -> Integration {
        let integration = Integration {
            client_id: secret::client_id(),
            client_secret: secret::client_secret(),
            redirect_uri: redirect_uri.to_string(),
            name: name.to_string(),
            integration_id,
            user_id,
            is_admin,
        };
        self.integrations.push(integration.clone());
        integration
    }

    pub fn len(&self) -> usize {
        self.integrations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.integrations.is_empty()
    }

    pub fn get(&self, client_id: &str) -> Option<&Integration> {
        self.integrations.iter().find(|i| i.client_id == client_id)
    }

    /// Every integration, oldest first.
    pub fn list(&self) -> &[Integration] {
        &self.integrations
    }

    /// The integration whose id, secret and redirect URI all match.
    pub fn authenticate(
        &self,
        client_id: &str,
        client_secret: &Secret,
        redirect_uri: &str,
    ) -> Result<Integration, OAuthError> {
        let integration = self
            .get(client_id)
            .filter(|i| i.client_secret.matches(client_secret.expose()))
            .ok_or(OAuthError::ClientAuth)?;
        if integration.redirect_uri != redirect_uri {
            return Err(OAuthError::RedirectMismatch);
        }
        Ok(integration.clone())
    }

    /// A new single-use code for an approved authorization.
    pub fn issue_code(&mut self, client_id: &str, now: Timestamp) -> Result<Secret, String> {
        if self.codes.len() >= MAX_CODES {
            self.codes
                .retain(|_, g| g.state == Use::Live && now < g.expires_at);
        }
        if self.codes.len() >= MAX_CODES {
            return Err(format!(
                "{MAX_CODES} authorization codes are waiting to be exchanged; exchange them or let them expire"
            ));
        }
        let code = secret::opaque(96);
        self.codes.insert(
            code.expose().to_string(),
            Grant {
                client_id: client_id.to_string(),
                expires_at: after(now, self.lifetimes.code_ttl_secs),
                state: Use::Live,
            },
        );
        self.stats.codes_issued += 1;
        Ok(code)
    }

    /// Spends a code of `client_id`: it must be live and unexpired.
    pub fn redeem_code(
        &mut self,
        client_id: &str,
        code: &Secret,
        now: Timestamp,
    ) -> Result<(), OAuthError> {
        let grant = self
            .codes
            .get_mut(code.expose())
            .ok_or(OAuthError::CodeUnknown)?;
        if grant.client_id != client_id {
            return Err(OAuthError::CodeOtherClient);
        }
        if grant.state != Use::Live {
            return Err(OAuthError::CodeRevoked);
        }
        if now >= grant.expires_at {
            return Err(OAuthError::CodeExpired);
        }
        grant.state = Use::Used;
        Ok(())
    }

    /// A new refresh token of `client_id`.
    pub fn issue_refresh(&mut self, client_id: &str, now: Timestamp) -> Secret {
        let token = secret::opaque(128);
        self.refresh_tokens.insert(
            token.expose().to_string(),
            Grant {
                client_id: client_id.to_string(),
                expires_at: after(now, self.lifetimes.refresh_ttl_secs),
                state: Use::Live,
            },
        );
        token
    }

    /// Spends a refresh token of `client_id`. A second use is refused as
    /// revoked and counted in [`OAuthStats::refresh_reuse`].
    pub fn redeem_refresh(
        &mut self,
        client_id: &str,
        token: &Secret,
        now: Timestamp,
    ) -> Result<(), OAuthError> {
        let grant = self
            .refresh_tokens
            .get_mut(token.expose())
            .ok_or(OAuthError::RefreshUnknown)?;
        if grant.client_id != client_id {
            return Err(OAuthError::RefreshOtherClient);
        }
        match grant.state {
            Use::Used => {
                self.stats.refresh_reuse += 1;
                Err(OAuthError::RefreshRevoked)
            }
            Use::Revoked => Err(OAuthError::RefreshRevoked),
            Use::Live if now >= grant.expires_at => Err(OAuthError::RefreshExpired),
            Use::Live => {
                grant.state = Use::Used;
                Ok(())
            }
        }
    }

    /// Revokes the live refresh tokens and pending codes of `client_id`;
    /// returns how many refresh tokens were live. The integration stays: an
    /// admin may connect it again.
    pub fn revoke(&mut self, client_id: &str) -> usize {
        for grant in self.codes.values_mut() {
            if grant.client_id == client_id && grant.state == Use::Live {
                grant.state = Use::Revoked;
            }
        }
        let mut revoked = 0;
        for grant in self.refresh_tokens.values_mut() {
            if grant.client_id == client_id && grant.state == Use::Live {
                grant.state = Use::Revoked;
                revoked += 1;
            }
        }
        revoked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> (OAuthRegistry, Integration) {
        let mut reg = OAuthRegistry::new(OAuthLifetimes::default());
        let i = reg.register("https://example.org/cb", "Test", 7, 5, true);
        (reg, i)
    }

    #[test]
    fn authenticate_checks_secret_then_redirect() {
        let (reg, i) = registry();
        let ok = reg.authenticate(&i.client_id, &i.client_secret, "https://example.org/cb");
        assert_eq!(ok.map(|x| x.integration_id), Ok(7));
        let wrong = Secret::new("nope");
        assert_eq!(
            reg.authenticate(&i.client_id, &wrong, "https://example.org/cb"),
            Err(OAuthError::ClientAuth)
        );
        assert_eq!(
            reg.authenticate("other", &i.client_secret, "https://example.org/cb"),
            Err(OAuthError::ClientAuth)
        );
        assert_eq!(
            reg.authenticate(&i.client_id, &i.client_secret, "https://example.org/cb/"),
            Err(OAuthError::RedirectMismatch)
        );
    }

    #[test]
    fn codes_are_single_use_bound_and_expire() {
        let (mut reg, i) = registry();
        let other = reg.register("https://example.org/cb", "Other", 8, 5, true);
        let code = reg
            .issue_code(&i.client_id, 1_000)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            reg.redeem_code(&other.client_id, &code, 1_001),
            Err(OAuthError::CodeOtherClient)
        );
        assert_eq!(reg.redeem_code(&i.client_id, &code, 1_001), Ok(()));
        assert_eq!(
            reg.redeem_code(&i.client_id, &code, 1_002),
            Err(OAuthError::CodeRevoked)
        );
        let late = reg
            .issue_code(&i.client_id, 1_000)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            reg.redeem_code(&i.client_id, &late, 1_000 + 1_200),
            Err(OAuthError::CodeExpired)
        );
        assert_eq!(
            reg.redeem_code(&i.client_id, &Secret::new("x"), 1_001),
            Err(OAuthError::CodeUnknown)
        );
        assert_eq!(reg.stats.codes_issued, 2);
    }

    #[test]
    fn refresh_tokens_rotate_and_reuse_is_counted() {
        let (mut reg, i) = registry();
        let first = reg.issue_refresh(&i.client_id, 1_000);
        assert_eq!(reg.redeem_refresh(&i.client_id, &first, 1_001), Ok(()));
        assert_eq!(
            reg.redeem_refresh(&i.client_id, &first, 1_002),
            Err(OAuthError::RefreshRevoked)
        );
        assert_eq!(reg.stats.refresh_reuse, 1);
        let old = reg.issue_refresh(&i.client_id, 1_000);
        assert_eq!(
            reg.redeem_refresh(&i.client_id, &old, 1_000 + 90 * 86_400),
            Err(OAuthError::RefreshExpired)
        );
        let live = reg.issue_refresh(&i.client_id, 1_000);
        let pending = reg
            .issue_code(&i.client_id, 1_000)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reg.revoke(&i.client_id), 2, "old (expired) and live");
        assert_eq!(
            reg.redeem_refresh(&i.client_id, &live, 1_001),
            Err(OAuthError::RefreshRevoked)
        );
        assert_eq!(
            reg.redeem_code(&i.client_id, &pending, 1_001),
            Err(OAuthError::CodeRevoked)
        );
        assert_eq!(reg.stats.refresh_reuse, 1, "revoked is not reuse");
    }

    #[test]
    fn debug_shows_no_credentials() {
        let (mut reg, i) = registry();
        let code = reg
            .issue_code(&i.client_id, 1)
            .unwrap_or_else(|e| panic!("{e}"));
        let refresh = reg.issue_refresh(&i.client_id, 1);
        let shown = format!("{reg:?} {i:?} {code:?} {refresh:?}");
        for s in [&i.client_secret, &code, &refresh] {
            assert!(!shown.contains(s.expose()), "{shown}");
        }
        assert!(
            shown.contains("***") && shown.contains(&i.client_id),
            "{shown}"
        );
    }
}
