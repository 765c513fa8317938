//! Access tokens: who may call the API, until when.
//!
//! Tokens look like amoCRM's JWTs (three base64url parts) but are opaque to
//! the emulator: the registry is the truth. A token is bound to a user (admin
//! or not) and has a [`TokenKind`] that decides how it expires; OAuth access
//! tokens slot in as another kind without touching the checks.

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::json;

use crate::model::Timestamp;
use crate::problem::Problem;
use crate::rng::Rng;

/// Long-lived tokens of private integrations live 1 day to 5 years.
pub const LONG_LIVED_MAX_SECS: i64 = 5 * 365 * 86_400;

/// How a token came to be, and when it stops working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    /// A private integration's long-lived token (no refresh token).
    LongLived { expires_at: Timestamp },
    /// An OAuth access token from `/oauth2/access_token` (its refresh token
    /// lives in [`crate::oauth::OAuthRegistry`]).
    OAuth { expires_at: Timestamp },
}

impl TokenKind {
    pub fn expires_at(&self) -> Timestamp {
        match self {
            TokenKind::LongLived { expires_at } | TokenKind::OAuth { expires_at } => *expires_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TokenRecord {
    pub user_id: u64,
    pub is_admin: bool,
    /// The integration the token belongs to: the key of the 7/s limit, so
    /// every token of one integration (e.g. OAuth refreshes) shares a window.
    pub integration_id: u64,
    pub kind: TokenKind,
    pub issued_at: Timestamp,
    pub revoked: bool,
}

/// The caller of an API request, once its token checked out.
#[derive(Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: u64,
    pub is_admin: bool,
    /// The integration the token belongs to: the key of the per-integration rate limit.
    pub integration_id: u64,
    /// The token itself (never logged: `Debug` hides it).
    pub token: String,
}

impl std::fmt::Debug for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Principal")
            .field("user_id", &self.user_id)
            .field("is_admin", &self.is_admin)
            .field("integration_id", &self.integration_id)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl Principal {
    /// The rate-limit key of this caller's integration.
    pub fn limit_key(&self) -> String {
        format!("integration:{}", self.integration_id)
    }
}

/// Most tokens the control API may issue (each holds a little memory forever:
/// revoked tokens must still answer "Token has been revoked").
pub const MAX_TOKENS: usize = 100_000;

/// Id of the first integration (each long-lived token gets its own unless told otherwise).
const FIRST_INTEGRATION_ID: u64 = 1_000_001;

/// Why a request was refused with 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no Authorization: Bearer header")]
    Missing,
    #[error("unknown token")]
    Unknown,
    #[error("token revoked")]
    Revoked,
    #[error("token expired")]
    Expired,
}

impl AuthError {
    pub fn problem(self) -> Problem {
        let p = Problem::new(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Неверный логин или пароль",
        );
        match self {
            AuthError::Missing => p.with_hint("Authorization header is required"),
            AuthError::Unknown => p.with_hint("Access token could not be verified"),
            AuthError::Revoked => p.with_hint("Token has been revoked"),
            AuthError::Expired => p.with_hint("The access token provided has expired"),
        }
    }
}

/// Every token the account has issued.
pub struct TokenRegistry {
    tokens: HashMap<String, TokenRecord>,
    rng: Rng,
    account_id: u64,
    next_integration: u64,
}

impl std::fmt::Debug for TokenRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRegistry")
            .field("tokens", &self.tokens.len())
            .field("account_id", &self.account_id)
            .finish_non_exhaustive()
    }
}

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Unpadded base64url.
pub fn base64url(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(char::from(B64URL[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

impl TokenRegistry {
    /// `entropy` seeds the token bytes (mix in the system time for unpredictable tokens).
    pub fn new(account_id: u64, entropy: u64) -> Self {
        TokenRegistry {
            tokens: HashMap::new(),
            rng: Rng::new(entropy),
            account_id,
            next_integration: FIRST_INTEGRATION_ID,
        }
    }

    /// How many tokens were issued (revoked and expired ones included).
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// A fresh integration id (a new private integration).
    pub fn new_integration(&mut self) -> u64 {
        let id = self.next_integration;
        self.next_integration = self.next_integration.saturating_add(1);
        id
    }

    fn mint(&mut self, user_id: u64, now: Timestamp, expires_at: Timestamp) -> String {
        let header = base64url(br#"{"typ":"JWT","alg":"RS256","jti":""}"#);
        let jti = base64url(&self.rng.bytes(16));
        let payload = json!({
            "aud": self.rng.uuid(),
            "jti": jti,
            "iat": now,
            "nbf": now,
            "exp": expires_at,
            "sub": user_id.to_string(),
            "grant_type": "",
            "account_id": self.account_id,
            "base_domain": "amocrm.ru",
            "version": 2,
            "scopes": ["crm", "files", "files_delete", "notifications", "push_notifications"],
            "hash_uuid": self.rng.uuid(),
        });
        let signature = base64url(&self.rng.bytes(256));
        format!(
            "{header}.{}.{signature}",
            base64url(payload.to_string().as_bytes())
        )
    }

    /// Issues a token of `kind` for a user, in a new integration.
    pub fn issue(
        &mut self,
        user_id: u64,
        is_admin: bool,
        kind: TokenKind,
        now: Timestamp,
    ) -> String {
        let integration_id = self.new_integration();
        self.issue_in(integration_id, user_id, is_admin, kind, now)
    }

    /// Issues a token of `kind` for a user of an existing integration (it
    /// shares that integration's rate-limit window).
    pub fn issue_in(
        &mut self,
        integration_id: u64,
        user_id: u64,
        is_admin: bool,
        kind: TokenKind,
        now: Timestamp,
    ) -> String {
        let token = self.mint(user_id, now, kind.expires_at());
        self.tokens.insert(
            token.clone(),
            TokenRecord {
                user_id,
                is_admin,
                integration_id,
                kind,
                issued_at: now,
                revoked: false,
            },
        );
        token
    }

    /// Issues a long-lived token valid for `lifetime_secs` (clamped to 1 day ..= 5 years).
    pub fn issue_long_lived(
        &mut self,
        user_id: u64,
        is_admin: bool,
        now: Timestamp,
        lifetime_secs: i64,
    ) -> String {
        let integration_id = self.new_integration();
        self.issue_long_lived_in(integration_id, user_id, is_admin, now, lifetime_secs)
    }

    /// [`TokenRegistry::issue_long_lived`] within an existing integration.
    pub fn issue_long_lived_in(
        &mut self,
        integration_id: u64,
        user_id: u64,
        is_admin: bool,
        now: Timestamp,
        lifetime_secs: i64,
    ) -> String {
        let lifetime = lifetime_secs.clamp(86_400, LONG_LIVED_MAX_SECS);
        self.issue_in(
            integration_id,
            user_id,
            is_admin,
            TokenKind::LongLived {
                expires_at: now.saturating_add(lifetime),
            },
            now,
        )
    }

    /// Revokes a token; false when it was never issued.
    pub fn revoke(&mut self, token: &str) -> bool {
        match self.tokens.get_mut(token) {
            Some(record) => {
                record.revoked = true;
                true
            }
            None => false,
        }
    }

    /// Revokes every token of an integration (an admin disabled it or
    /// regenerated its secret); returns how many were still unrevoked.
    pub fn revoke_integration(&mut self, integration_id: u64) -> usize {
        let mut revoked = 0;
        for record in self.tokens.values_mut() {
            if record.integration_id == integration_id && !record.revoked {
                record.revoked = true;
                revoked += 1;
            }
        }
        revoked
    }

    pub fn record(&self, token: &str) -> Option<&TokenRecord> {
        self.tokens.get(token)
    }

    /// Checks an `Authorization` header value.
    pub fn check(
        &self,
        authorization: Option<&str>,
        now: Timestamp,
    ) -> Result<Principal, AuthError> {
        let value = authorization.map(str::trim).ok_or(AuthError::Missing)?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::Missing)?;
        let record = self.tokens.get(token).ok_or(AuthError::Unknown)?;
        if record.revoked {
            return Err(AuthError::Revoked);
        }
        if now >= record.kind.expires_at() {
            return Err(AuthError::Expired);
        }
        Ok(Principal {
            user_id: record.user_id,
            is_admin: record.is_admin,
            integration_id: record.integration_id,
            token: token.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_known_values() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn token_lifecycle() {
        let mut reg = TokenRegistry::new(1, 9);
        let t = reg.issue_long_lived(5, true, 1_000, 86_400);
        assert_eq!(t.split('.').count(), 3);
        let header = format!("Bearer {t}");
        assert_eq!(reg.check(Some(&header), 1_001).map(|p| p.user_id), Ok(5));
        assert_eq!(reg.check(None, 1_001), Err(AuthError::Missing));
        assert_eq!(reg.check(Some("Basic abc"), 1_001), Err(AuthError::Missing));
        assert_eq!(
            reg.check(Some("Bearer nope"), 1_001),
            Err(AuthError::Unknown)
        );
        assert_eq!(
            reg.check(Some(&header), 1_000 + 86_400),
            Err(AuthError::Expired)
        );
        assert!(reg.revoke(&t));
        assert!(!reg.revoke("other"));
        assert_eq!(reg.check(Some(&header), 1_001), Err(AuthError::Revoked));
        assert_eq!(
            AuthError::Revoked.problem().hint.as_deref(),
            Some("Token has been revoked")
        );
    }

    #[test]
    fn integrations_and_redaction() {
        let mut reg = TokenRegistry::new(1, 9);
        let a = reg.issue_long_lived(5, true, 1_000, 86_400);
        let b = reg.issue_long_lived(5, true, 1_000, 86_400);
        let ia = reg.record(&a).map(|r| r.integration_id);
        let ib = reg.record(&b).map(|r| r.integration_id);
        assert_ne!(ia, ib, "one integration per long-lived token");
        let c = reg.issue_long_lived_in(ia.unwrap_or_default(), 5, true, 1_000, 86_400);
        let p = reg.check(Some(&format!("Bearer {c}")), 1_001);
        assert_eq!(p.as_ref().map(|p| Some(p.integration_id)), Ok(ia));
        let shown = format!("{:?} {reg:?}", p);
        assert!(!shown.contains(&c) && !shown.contains(&a), "{shown}");
        assert_eq!(reg.len(), 3);
    }

    #[test]
    fn revoking_an_integration_revokes_only_its_tokens() {
        let mut reg = TokenRegistry::new(1, 9);
        let id = reg.new_integration();
        let kind = TokenKind::OAuth { expires_at: 2_000 };
        let a = reg.issue_in(id, 5, true, kind.clone(), 1_000);
        let b = reg.issue_in(id, 5, true, kind, 1_000);
        let other = reg.issue_long_lived(5, true, 1_000, 86_400);
        assert!(reg.revoke(&b));
        assert_eq!(reg.revoke_integration(id), 1, "b was already revoked");
        assert_eq!(reg.revoke_integration(id), 0);
        for t in [&a, &b] {
            let header = format!("Bearer {t}");
            assert_eq!(reg.check(Some(&header), 1_001), Err(AuthError::Revoked));
        }
        let header = format!("Bearer {other}");
        assert!(reg.check(Some(&header), 1_001).is_ok());
        let other_id = reg.new_integration();
        let t = reg.issue_in(
            other_id,
            5,
            true,
            TokenKind::OAuth { expires_at: 2_000 },
            1_000,
        );
        let t_header = format!("Bearer {t}");
        assert_eq!(reg.check(Some(&t_header), 2_000), Err(AuthError::Expired));
        assert!(reg.check(Some(&t_header), 1_999).is_ok());
    }
}
