//! The OAuth operations of the account state: registering and revoking
//! integrations, lifetimes and counters. Lock order: OAuth registry, then
//! tokens (the world is read and released before either).

use super::lifetimes::OAuthLifetimes;
use super::registry::{Integration, OAuthStats};
use crate::state::{AppState, lock};

/// Checks a redirect URI for the control API: an absolute URL (any scheme,
/// e.g. `amosync://…`) of visible ASCII, so it fits a `Location` header.
pub fn validate_redirect_uri(uri: &str) -> Result<(), String> {
    if uri.is_empty() || uri.len() > 2_000 {
        return Err("redirect_uri must be 1 to 2000 characters long".to_string());
    }
    if !uri.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(
            "redirect_uri must be visible ASCII: percent-encode spaces and non-ASCII characters"
                .to_string(),
        );
    }
    url::Url::parse(uri).map(|_| ()).map_err(|e| {
        format!("redirect_uri must be an absolute URL such as https://example.org/callback: {e}")
    })
}

impl AppState {
    /// The user an integration acts as: `user_id` when it is an active user
    /// of the account, the admin when `None`; `(id, is_admin)`.
    pub fn integration_user(&self, user_id: Option<u64>) -> Result<(u64, bool), String> {
        let world = self.world();
        match user_id {
            Some(id) => world
                .user(id)
                .filter(|u| u.is_active)
                .map(|u| (u.id, u.is_admin))
                .ok_or_else(|| format!("user_id {id} is not an active user of the account")),
            None => Ok(world
                .admin()
                .map(|u| (u.id, u.is_admin))
                .unwrap_or((0, false))),
        }
    }

    /// Registers an integration acting as `user` (see
    /// [`AppState::integration_user`]). `redirect_uri` is stored as given:
    /// the control API validates it first.
    pub fn add_integration(
        &self,
        redirect_uri: &str,
        name: Option<&str>,
        (user_id, is_admin): (u64, bool),
    ) -> Integration {
        let mut oauth = lock(&self.inner.oauth);
        let integration_id = lock(&self.inner.tokens).new_integration();
        let name = name
            .map(str::to_string)
            .unwrap_or_else(|| format!("Integration {integration_id}"));
        let integration = oauth.register(redirect_uri, &name, integration_id, user_id, is_admin);
        tracing::info!(client_id = %integration.client_id, integration_id, "integration registered");
        integration
    }

    /// Every integration, oldest first.
    pub fn integrations(&self) -> Vec<Integration> {
        lock(&self.inner.oauth).list().to_vec()
    }

    /// Revokes every access and refresh token of an integration (its codes
    /// too); `None` for an unknown client id, else how many tokens were live.
    pub fn revoke_integration(&self, client_id: &str) -> Option<usize> {
        let mut oauth = lock(&self.inner.oauth);
        let integration_id = oauth.get(client_id)?.integration_id;
        let refresh = oauth.revoke(client_id);
        let access = lock(&self.inner.tokens).revoke_integration(integration_id);
        tracing::info!(%client_id, refresh, access, "integration revoked");
        Some(refresh + access)
    }

    pub fn oauth_lifetimes(&self) -> OAuthLifetimes {
        lock(&self.inner.oauth).lifetimes
    }

    /// Sets the lifetimes of grants issued from now on (each clamped to
    /// 1 s ..= ten years); returns what was set.
    pub fn set_oauth_lifetimes(&self, lifetimes: OAuthLifetimes) -> OAuthLifetimes {
        let lifetimes = lifetimes.clamped();
        lock(&self.inner.oauth).lifetimes = lifetimes;
        lifetimes
    }

    pub fn oauth_stats(&self) -> OAuthStats {
        lock(&self.inner.oauth).stats
    }

    pub fn reset_oauth_stats(&self) {
        lock(&self.inner.oauth).stats = OAuthStats::default();
    }

    /// The `referer` of the redirect: the host:port the account is served on.
    pub fn referer(&self) -> String {
        let base = self.base_url();
        base.split_once("://")
            .map_or(base, |(_, rest)| rest)
            .trim_end_matches('/')
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris() {
        for ok in [
            "https://example.org/cb",
            "https://example.org/cb/",
            "http://127.0.0.1:8080/cb?x=1",
            "amosync://oauth",
        ] {
            assert_eq!(validate_redirect_uri(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "/cb",
            "example.org/cb",
            "https://exa mple.org/",
            "https://пример.рф/",
        ] {
            assert!(validate_redirect_uri(bad).is_err(), "{bad}");
        }
    }
}
