//! Step 1: the URL the admin opens in a browser to approve the integration.

use oauth2::basic::BasicClient;
use oauth2::{AuthUrl, ClientId, CsrfToken, RedirectUrl};
use url::Url;

use super::OAuthApp;
use crate::error::ApiError;
use crate::secret::Secret;

/// Where the approval page lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeSite {
    /// `https://www.amocrm.ru/oauth` (accounts on amocrm.ru / amocrm.com).
    AmoCrm,
    /// `https://www.kommo.com/oauth`.
    Kommo,
    /// Any other page with the same contract: the emulator's `http://127.0.0.1:PORT/oauth`.
    Custom(Url),
}

impl AuthorizeSite {
    /// The approval page's address.
    pub fn url(&self) -> Url {
        match self {
            AuthorizeSite::AmoCrm => Url::parse("https://www.amocrm.ru/oauth").expect("static URL"),
            AuthorizeSite::Kommo => Url::parse("https://www.kommo.com/oauth").expect("static URL"),
            AuthorizeSite::Custom(url) => url.clone(),
        }
    }

    /// The site for an account address: Kommo for `*.kommo.com`, the
    /// account's own `/oauth` for loopback (the emulator), else amoCRM.
    pub fn for_account(base_url: &Url) -> AuthorizeSite {
        let host = base_url.host_str().unwrap_or_default().to_ascii_lowercase();
        if host == "127.0.0.1" || host == "localhost" || host == "[::1]" {
            let mut url = base_url.clone();
            url.set_path("/oauth");
            url.set_query(None);
            return AuthorizeSite::Custom(url);
        }
        if host.ends_with(".kommo.com") {
            AuthorizeSite::Kommo
        } else {
            AuthorizeSite::AmoCrm
        }
    }
}

/// A started authorization: the URL to open and the `state` to expect back.
#[derive(Clone)]
pub struct AuthorizeRequest {
    /// Open this in the browser.
    pub url: Url,
    /// The random `state` the redirect must carry back (kept private: with
    /// it, a forged redirect could slip a code of the attacker's account in).
    pub state: Secret,
}

impl std::fmt::Debug for AuthorizeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizeRequest")
            .field("url", &"<carries state>")
            .field("state", &"***")
            .finish()
    }
}

impl AuthorizeRequest {
    /// Builds the approval URL: `client_id`, a fresh random `state`,
    /// `mode=post_message` (amoCRM's documented value), plus the OAuth
    /// `response_type=code` and `redirect_uri` that amoCRM ignores but other
    /// servers want.
    pub fn new(app: &OAuthApp, site: &AuthorizeSite) -> Result<AuthorizeRequest, ApiError> {
        app.validate()?;
        let client = BasicClient::new(ClientId::new(app.client_id.clone()))
            .set_auth_uri(AuthUrl::from_url(site.url()))
            .set_redirect_uri(RedirectUrl::new(app.redirect_uri.clone()).map_err(|e| {
                ApiError::Config {
                    detail: format!("the redirect URI is not a URL ({e})"),
                }
            })?);
        let (url, state) = client
            .authorize_url(CsrfToken::new_random)
            .add_extra_param("mode", "post_message")
            .url();
        Ok(AuthorizeRequest {
            url,
            state: Secret::new(state.secret().clone()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> OAuthApp {
        OAuthApp {
            client_id: "f0d2c1a8-1111-2222-3333-444455556666".into(),
            client_secret: Secret::from("s3cr3t-value"),
            redirect_uri: "amosync://oauth/callback".into(),
        }
    }

    #[test]
    fn url_carries_client_state_and_mode() {
        let req = AuthorizeRequest::new(&app(), &AuthorizeSite::AmoCrm).unwrap();
        assert_eq!(req.url.host_str(), Some("www.amocrm.ru"));
        assert_eq!(req.url.path(), "/oauth");
        let pairs: std::collections::HashMap<_, _> = req.url.query_pairs().into_owned().collect();
        assert_eq!(pairs["client_id"], app().client_id);
        assert_eq!(pairs["mode"], "post_message");
        assert_eq!(pairs["state"], *req.state.expose());
        assert_eq!(pairs["redirect_uri"], "amosync://oauth/callback");
        assert!(req.state.expose().len() >= 16);
        assert!(
            !req.url.as_str().contains("s3cr3t"),
            "the secret never goes to the browser"
        );
        let other = AuthorizeRequest::new(&app(), &AuthorizeSite::AmoCrm).unwrap();
        assert_ne!(other.state.expose(), req.state.expose(), "state is random");
        assert!(!format!("{req:?}").contains(req.state.expose().as_str()));
    }

    #[test]
    fn site_follows_the_account() {
        let kommo = Url::parse("https://office.kommo.com").unwrap();
        assert_eq!(AuthorizeSite::for_account(&kommo), AuthorizeSite::Kommo);
        let amo = Url::parse("https://office.amocrm.ru").unwrap();
        assert_eq!(AuthorizeSite::for_account(&amo), AuthorizeSite::AmoCrm);
        let emu = Url::parse("http://127.0.0.1:4000").unwrap();
        assert_eq!(
            AuthorizeSite::for_account(&emu).url().as_str(),
            "http://127.0.0.1:4000/oauth"
        );
        assert_eq!(AuthorizeSite::Kommo.url().host_str(), Some("www.kommo.com"));
    }

    #[test]
    fn bad_app_values_say_what_to_fix() {
        let mut bad = app();
        bad.redirect_uri = "callback".into();
        let e = AuthorizeRequest::new(&bad, &AuthorizeSite::AmoCrm).unwrap_err();
        assert!(e.to_string().contains("redirect URI"), "{e}");
        let mut bad = app();
        bad.client_id = " ".into();
        assert!(AuthorizeRequest::new(&bad, &AuthorizeSite::AmoCrm).is_err());
        let mut bad = app();
        bad.client_secret = Secret::from("");
        let e = AuthorizeRequest::new(&bad, &AuthorizeSite::AmoCrm).unwrap_err();
        assert!(e.to_string().contains("secret key"), "{e}");
    }
}
