//! `POST /oauth2/access_token`: trades an authorization code or a refresh
//! token for a new access + refresh pair. Not behind the API gate (no rate
//! limit, no forced faults); every refusal is counted in `failed_exchanges`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::errors::OAuthError;
use super::lifetimes::after;
use super::request::{GrantKind, GrantRequest};
use crate::auth::{MAX_TOKENS, TokenKind};
use crate::model::Timestamp;
use crate::state::{AppState, lock};

pub async fn access_token(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let now = s.clock().now();
    match grant(&s, content_type, &body, now) {
        Ok(answer) => {
            let mut response = Json(answer).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => {
            lock(&s.inner.oauth).stats.failed_exchanges += 1;
            tracing::info!(error = %e, "token request refused");
            e.problem().into_response()
        }
    }
}

/// Checks the request and issues the pair; the refresh token is spent only
/// when everything else checked out.
fn grant(
    s: &AppState,
    content_type: Option<&str>,
    body: &[u8],
    now: Timestamp,
) -> Result<Value, OAuthError> {
    let request = GrantRequest::parse(content_type, body)?;
    let mut oauth = lock(&s.inner.oauth);
    let integration = oauth.authenticate(
        &request.client_id,
        &request.client_secret,
        &request.redirect_uri,
    )?;
    if lock(&s.inner.tokens).len() >= MAX_TOKENS {
        return Err(OAuthError::Capacity(format!(
            "the emulator issues at most {MAX_TOKENS} tokens per run; restart it"
        )));
    }
    let client_id = integration.client_id.as_str();
    match &request.grant {
        GrantKind::AuthorizationCode(code) => {
            oauth.redeem_code(client_id, code, now)?;
            oauth.stats.codes_exchanged += 1;
        }
        GrantKind::RefreshToken(token) => {
            oauth.redeem_refresh(client_id, token, now)?;
            oauth.stats.refreshes += 1;
        }
    }
    let ttl = oauth.lifetimes.access_ttl_secs;
    let refresh_token = oauth.issue_refresh(client_id, now);
    let access_token = lock(&s.inner.tokens).issue_in(
        integration.integration_id,
        integration.user_id,
        integration.is_admin,
        TokenKind::OAuth {
            expires_at: after(now, ttl),
        },
        now,
    );
    tracing::info!(%client_id, grant = kind(&request.grant), "access token issued");
    Ok(json!({
        "token_type": "Bearer",
        "expires_in": ttl,
        "access_token": access_token,
        "refresh_token": refresh_token.expose(),
    }))
}

fn kind(grant: &GrantKind) -> &'static str {
    match grant {
        GrantKind::AuthorizationCode(_) => "authorization_code",
        GrantKind::RefreshToken(_) => "refresh_token",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::EmulatorConfig;

    fn pair_of(answer: &Value) -> (String, String) {
        let s = |k: &str| answer[k].as_str().unwrap_or_default().to_string();
        (s("access_token"), s("refresh_token"))
    }

    /// Every access token of an integration (first and refreshed) is
    /// recorded under its integration id and user: one 7/s window.
    #[tokio::test]
    async fn tokens_share_the_integration_and_act_as_its_user() {
        let s = AppState::new(
            EmulatorConfig {
                leads: 0,
                ..Default::default()
            },
            "http://127.0.0.1:1",
        );
        let user = s.integration_user(None).unwrap_or_else(|e| panic!("{e}"));
        let i = s.add_integration("https://example.org/cb", None, user);
        let code = lock(&s.inner.oauth)
            .issue_code(&i.client_id, s.clock().now())
            .unwrap_or_else(|e| panic!("{e}"));
        let body = |grant: &str, key: &str, value: &str| {
            json!({"grant_type": grant, "client_id": i.client_id, "client_secret": i.client_secret.expose(), "redirect_uri": i.redirect_uri, key: value}).to_string()
        };
        let now = s.clock().now();
        let first = grant(
            &s,
            None,
            body("authorization_code", "code", code.expose()).as_bytes(),
            now,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let (a1, r1) = pair_of(&first);
        let second = grant(
            &s,
            None,
            body("refresh_token", "refresh_token", &r1).as_bytes(),
            now,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let (a2, _) = pair_of(&second);
        let tokens = lock(&s.inner.tokens);
        for t in [&a1, &a2] {
            let r = tokens.record(t).unwrap_or_else(|| panic!("recorded"));
            assert_eq!(r.integration_id, i.integration_id);
            assert_eq!((r.user_id, r.is_admin), user);
            assert!(user.1, "the admin by default");
            assert_eq!(
                r.kind,
                TokenKind::OAuth {
                    expires_at: now + 86_400
                }
            );
        }
        let admin = tokens.record(s.admin_token()).map(|r| r.integration_id);
        assert_ne!(admin, Some(i.integration_id));
    }
}
