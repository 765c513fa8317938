//! `GET /api/v4/account` and `GET /api/v4/users`.

use crate::client::Client;
use crate::error::ApiError;
use crate::models::{Account, User};
use crate::query::MAX_LIMIT;

impl Client {
    /// The connected account, with `amojo_id`, user groups and its date/time
    /// settings (`datetime_settings.timezone`, kept in [`Account::extra`]).
    pub async fn account(&self) -> Result<Account, ApiError> {
        let url = self.url(
            "/api/v4/account",
            &[(
                "with".into(),
                "amojo_id,users_groups,datetime_settings".into(),
            )],
        );
        self.get_one(url).await?.ok_or_else(|| ApiError::Decode {
            detail: "amoCRM answered the account request with no body".into(),
            excerpt: String::new(),
        })
    }

    /// Every user of the account (admin rights needed: otherwise
    /// [`ApiError::Forbidden`] with `blocked: false`).
    pub async fn users(&self) -> Result<Vec<User>, ApiError> {
        let url = self.url("/api/v4/users", &[("limit".into(), MAX_LIMIT.to_string())]);
        self.get_all(url, "users").await
    }
}
