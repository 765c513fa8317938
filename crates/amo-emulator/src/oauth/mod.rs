//! OAuth 2.0 as amoCRM runs it (amocrm.md §2): integrations with a client
//! id, secret and exact redirect URI; the authorize page and its decision;
//! the token endpoint with single-use codes and rotating single-use refresh
//! tokens. Access tokens join the [`crate::auth::TokenRegistry`] under the
//! integration's id, so the API gate and its 7/s limit treat them like any
//! other token.

mod account;
pub mod errors;
pub mod lifetimes;
mod page;
pub mod registry;
pub mod request;
pub mod secret;
mod token;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub use account::validate_redirect_uri;
pub use errors::{OAUTH_PROBLEM_TYPE, OAuthError};
pub use lifetimes::{OAuthLifetimes, OAuthLifetimesPatch};
pub use page::with_query;
pub use registry::{Integration, OAuthRegistry, OAuthStats};
pub use secret::Secret;

/// `GET /oauth`, `POST /oauth/decision`, `POST /oauth2/access_token` (at the root).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/oauth", get(page::authorize))
        .route("/oauth/decision", post(page::decision))
        .route("/oauth2/access_token", post(token::access_token))
}
