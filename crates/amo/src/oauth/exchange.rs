//! Step 3: the token endpoint (`POST {account}/oauth2/access_token`), for the
//! code and for every refresh. The `oauth2` crate builds and parses the
//! exchange; this crate's reqwest client carries it, so proxies, timeouts
//! and error classification match every other amoCRM call.

use std::time::Duration;

use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, EndpointNotSet, EndpointSet, HttpRequest,
    HttpResponse, RedirectUrl, RefreshToken, RequestTokenError, TokenResponse, TokenUrl,
};

use super::OAuthApp;
use crate::classify::{Head, Verdict, classify};
use crate::error::ApiError;
use crate::secret::Secret;

/// A fresh access/refresh pair. amoCRM sends `expires_in` only; the absolute
/// expiry is computed from the time the answer arrived.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSet {
    /// The access token (a JWT, 24 h).
    pub access_token: Secret,
    /// The refresh token: single-use, rotates on every refresh, 3 months.
    pub refresh_token: Secret,
    /// Unix seconds after which the access token is refused.
    pub expires_at: i64,
    /// Unix seconds when the pair was issued (the refresh token's age).
    pub obtained_at: i64,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &"***")
            .field("refresh_token", &"***")
            .field("expires_at", &self.expires_at)
            .field("obtained_at", &self.obtained_at)
            .finish()
    }
}

type AmoOAuthClient =
    BasicClient<EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// The token endpoint of one account for one integration.
#[derive(Clone)]
pub struct TokenEndpoint {
    client: AmoOAuthClient,
    http: reqwest::Client,
    redirect_uri: String,
    client_secret: String,
}

impl std::fmt::Debug for TokenEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenEndpoint")
            .field("token_url", &self.client.token_uri().as_str())
            .finish_non_exhaustive()
    }
}

/// How long one token request may take.
pub const TOKEN_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

impl TokenEndpoint {
    /// The endpoint at `account_base_url` (`https://office.amocrm.ru`; see
    /// [`super::account_base_url`]) for the integration `app`.
    pub fn new(account_base_url: &str, app: &OAuthApp) -> Result<TokenEndpoint, ApiError> {
        app.validate()?;
        let base = account_base_url.trim_end_matches('/');
        if let Ok(url) = url::Url::parse(base) {
            crate::account_url::check_account_url(&url)
                .map_err(|detail| ApiError::Config { detail })?;
        }
        let token_url =
            TokenUrl::new(format!("{base}/oauth2/access_token")).map_err(|e| ApiError::Config {
                detail: format!("the account address {base:?} is not a URL ({e})"),
            })?;
        let redirect =
            RedirectUrl::new(app.redirect_uri.clone()).map_err(|e| ApiError::Config {
                detail: format!("the redirect URI is not a URL ({e})"),
            })?;
        let client = BasicClient::new(ClientId::new(app.client_id.clone()))
            .set_client_secret(ClientSecret::new(app.client_secret.expose().clone()))
            .set_auth_type(AuthType::RequestBody)
            .set_token_uri(token_url)
            .set_redirect_uri(redirect);
        let http = reqwest::Client::builder()
            .timeout(TOKEN_REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("AmoSync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ApiError::Config {
                detail: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(TokenEndpoint {
            client,
            http,
            redirect_uri: app.redirect_uri.clone(),
            client_secret: app.client_secret.expose().clone(),
        })
    }

    /// Trades an authorization code for the first pair. A refused code
    /// (used, older than 20 minutes, or a redirect URI that differs from the
    /// integration's) is a `BadRequest`/`Unauthorized` that says so.
    pub async fn exchange_code(&self, code: &Secret, now_s: i64) -> Result<TokenSet, ApiError> {
        let http = self.sender(code.expose().clone());
        let answer = self
            .client
            .exchange_code(AuthorizationCode::new(code.expose().clone()))
            .request_async(&http)
            .await;
        match answer {
            Ok(answer) => token_set(&answer, now_s),
            Err(RequestTokenError::Request(ApiError::BadRequest { detail, .. }))
            | Err(RequestTokenError::Request(ApiError::Unauthorized { detail }))
            | Err(RequestTokenError::Request(ApiError::AuthRevoked { detail })) => {
                Err(ApiError::Unauthorized {
                    detail: format!(
                        "amoCRM refused the sign-in code ({detail}): codes work once and for 20 minutes, and the redirect URI must match the integration's exactly; start the connection again"
                    ),
                })
            }
            Err(other) => Err(request_error(other)),
        }
    }

    /// Trades the single-use refresh token for a new pair. Call it at most
    /// once per refresh token, and persist the answer before using it.
    /// A refused refresh token (used, revoked, expired) is `AuthRevoked`:
    /// only a new connection helps.
    pub async fn refresh(&self, refresh_token: &Secret, now_s: i64) -> Result<TokenSet, ApiError> {
        let token = RefreshToken::new(refresh_token.expose().clone());
        let http = self.sender(refresh_token.expose().clone());
        let answer = self
            .client
            .exchange_refresh_token(&token)
            // amoCRM checks the redirect URI at refresh too.
            .add_extra_param("redirect_uri", self.redirect_uri.clone())
            .request_async(&http)
            .await;
        match answer {
            Ok(answer) => token_set(&answer, now_s),
            Err(RequestTokenError::Request(ApiError::BadRequest { detail, .. }))
            | Err(RequestTokenError::Request(ApiError::Unauthorized { detail }))
            | Err(RequestTokenError::Request(ApiError::AuthRevoked { detail })) => {
                Err(ApiError::AuthRevoked {
                    detail: format!("amoCRM refused the refresh token: {detail}"),
                })
            }
            Err(other) => Err(request_error(other)),
        }
    }

    /// The HTTP function the `oauth2` crate calls: sends with reqwest and
    /// classifies any non-2xx answer the way every amoCRM answer is
    /// (problem+json hints, HTML 403, 5xx), with `secret` cut from excerpts.
    fn sender(
        &self,
        secret: String,
    ) -> impl Fn(
        HttpRequest,
    )
        -> std::pin::Pin<Box<dyn Future<Output = Result<HttpResponse, ApiError>> + Send>>
    + use<> {
        let http = self.http.clone();
        let client_secret = self.client_secret.clone();
        move |request: HttpRequest| {
            let http = http.clone();
            let secret = secret.clone();
            let client_secret = client_secret.clone();
            Box::pin(async move {
                let request =
                    reqwest::Request::try_from(request).map_err(|e| ApiError::Config {
                        detail: format!("cannot build the token request: {e}"),
                    })?;
                let answer = http
                    .execute(request)
                    .await
                    .map_err(|e| transport_error(&e))?;
                let status = answer.status();
                let headers = answer.headers().clone();
                let body = answer
                    .bytes()
                    .await
                    .map_err(|e| transport_error(&e))?
                    .to_vec();
                let content_type = headers
                    .get(reqwest::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok());
                let location = headers
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok());
                let head = Head {
                    status: status.as_u16(),
                    content_type,
                    location,
                    secret: &secret,
                };
                // An error page that echoes the form (a proxy, a WAF) must
                // not carry the client secret into messages either.
                let shown = crate::excerpt::redact(&String::from_utf8_lossy(&body), &client_secret);
                match classify(head, shown.as_bytes()) {
                    Verdict::Body => {}
                    Verdict::Empty => {
                        return Err(ApiError::Decode {
                            detail: "the token endpoint answered with no body".into(),
                            excerpt: String::new(),
                        });
                    }
                    Verdict::Fail(error) => return Err(error),
                }
                let mut response = HttpResponse::new(body);
                *response.status_mut() = status;
                *response.headers_mut() = headers;
                Ok(response)
            })
        }
    }
}

fn transport_error(e: &reqwest::Error) -> ApiError {
    // reqwest's Display names the URL, which here holds no secret (the
    // secrets travel in the form body).
    if e.is_timeout() {
        ApiError::Timeout {
            detail: format!("the token endpoint did not answer within {TOKEN_REQUEST_TIMEOUT:?}"),
        }
    } else {
        ApiError::Network {
            detail: format!("token endpoint: {e}"),
        }
    }
}

fn request_error(e: RequestTokenError<ApiError, oauth2::basic::BasicErrorResponse>) -> ApiError {
    match e {
        RequestTokenError::Request(api) => api,
        RequestTokenError::ServerResponse(r) => ApiError::Unauthorized {
            detail: format!("the token endpoint refused: {}", r.error()),
        },
        // A 2xx that is not a token answer: its body may hold tokens, so
        // only the JSON path that failed is told.
        RequestTokenError::Parse(err, _body) => ApiError::Decode {
            detail: format!(
                "the token answer is not the expected JSON (at {})",
                err.path()
            ),
            excerpt: String::new(),
        },
        RequestTokenError::Other(detail) => ApiError::Decode {
            detail,
            excerpt: String::new(),
        },
    }
}

fn token_set(answer: &oauth2::basic::BasicTokenResponse, now_s: i64) -> Result<TokenSet, ApiError> {
    let refresh = answer.refresh_token().ok_or_else(|| ApiError::Decode {
        detail: "the token answer holds no refresh_token".into(),
        excerpt: String::new(),
    })?;
    let lifetime = answer
        .expires_in()
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(86_400);
    if answer.access_token().secret().trim().is_empty() || refresh.secret().trim().is_empty() {
        return Err(ApiError::Decode {
            detail: "the token answer holds an empty token".into(),
            excerpt: String::new(),
        });
    }
    Ok(TokenSet {
        access_token: Secret::new(answer.access_token().secret().clone()),
        refresh_token: Secret::new(refresh.secret().clone()),
        expires_at: now_s.saturating_add(lifetime),
        obtained_at: now_s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_endpoint_refuses_a_clear_text_account() {
        let app = OAuthApp {
            client_id: "5e0c0000-0000-4000-8000-000000000001".into(),
            client_secret: Secret::new("s3cret".to_owned()),
            redirect_uri: "amosync://oauth/callback".into(),
        };
        let err = TokenEndpoint::new("http://office.amocrm.ru", &app).expect_err("clear text");
        assert_eq!(err.code(), "Config");
        assert!(err.to_string().contains("https://"), "{err}");
        assert!(!err.to_string().contains("s3cret"));
        assert!(TokenEndpoint::new("https://office.amocrm.ru", &app).is_ok());
        assert!(TokenEndpoint::new("http://127.0.0.1:3000", &app).is_ok());
    }
}
