//! Refusals of the token endpoint, rendered as amoCRM renders them:
//! `application/problem+json` with `type` `…/OAuthProblemJson` and a `hint`.

use axum::http::StatusCode;

use crate::problem::Problem;

/// The `type` of every OAuth problem answer.
pub const OAUTH_PROBLEM_TYPE: &str = "https://developers.amocrm.ru/v3/errors/OAuthProblemJson";

/// Why `/oauth2/access_token` refused. Messages never carry a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    /// The body is unreadable or a field is missing or wrong (400).
    #[error("{0}")]
    Malformed(String),
    /// Unknown `client_id` or wrong `client_secret` (401).
    #[error("client authentication failed")]
    ClientAuth,
    /// `redirect_uri` differs from the integration's setting (400).
    #[error("redirect URI mismatch")]
    RedirectMismatch,
    #[error("authorization code unknown")]
    CodeUnknown,
    #[error("authorization code issued to another client")]
    CodeOtherClient,
    #[error("authorization code already used or revoked")]
    CodeRevoked,
    #[error("authorization code expired")]
    CodeExpired,
    #[error("refresh token unknown")]
    RefreshUnknown,
    #[error("refresh token issued to another client")]
    RefreshOtherClient,
    /// Used before, or its integration was revoked (401).
    #[error("refresh token revoked")]
    RefreshRevoked,
    #[error("refresh token expired")]
    RefreshExpired,
    /// The emulator's own bound on issued tokens (400).
    #[error("{0}")]
    Capacity(String),
}

impl OAuthError {
    /// A missing or empty field.
    pub fn missing(field: &str) -> Self {
        OAuthError::Malformed(format!(
            "`{field}` is required: send it in the JSON or form body"
        ))
    }

    pub fn problem(&self) -> Problem {
        let bad = |hint: String| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "Bad Request",
                "Некорректный запрос",
            )
            .with_hint(hint)
        };
        let unauthorized = |detail: &str, hint: &str| {
            Problem::new(StatusCode::UNAUTHORIZED, "Unauthorized", detail).with_hint(hint)
        };
        let token = |hint: &str| unauthorized("Неверный токен", hint);
        let p = match self {
            OAuthError::Malformed(m) | OAuthError::Capacity(m) => bad(m.clone()),
            OAuthError::ClientAuth => {
                unauthorized("Неверный client_id или client_secret", "Client authentication failed")
            }
            OAuthError::RedirectMismatch => bad(
                "Redirect URI mismatch: `redirect_uri` must equal the integration's setting exactly"
                    .to_string(),
            ),
            OAuthError::CodeUnknown => bad("Cannot decrypt the authorization code".to_string()),
            OAuthError::CodeOtherClient => {
                bad("Authorization code was not issued to this client".to_string())
            }
            OAuthError::CodeRevoked => bad("Authorization code has been revoked".to_string()),
            OAuthError::CodeExpired => bad("Authorization code has expired".to_string()),
            OAuthError::RefreshUnknown => token("Cannot decrypt the refresh token"),
            OAuthError::RefreshOtherClient => token("Token is not linked to client"),
            OAuthError::RefreshRevoked => token("Token has been revoked"),
            OAuthError::RefreshExpired => token("Token has expired"),
        };
        // `extra` replaces the default `type` (one field more would make
        // every `Result<_, Problem>` in the crate too large).
        p.with_extra(serde_json::json!({ "type": OAUTH_PROBLEM_TYPE }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuse_renders_exactly_as_amocrm() {
        let body = OAuthError::RefreshRevoked.problem().body();
        assert_eq!(
            body,
            serde_json::json!({
                "title": "Unauthorized",
                "type": OAUTH_PROBLEM_TYPE,
                "status": 401,
                "detail": "Неверный токен",
                "hint": "Token has been revoked",
            })
        );
        let missing = OAuthError::missing("grant_type").problem();
        assert_eq!(missing.status, StatusCode::BAD_REQUEST);
        assert!(missing.hint.unwrap_or_default().contains("grant_type"));
    }
}
