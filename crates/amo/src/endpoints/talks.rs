//! `GET /api/v4/talks/{id}` (there is no list endpoint).

use crate::client::Client;
use crate::error::ApiError;
use crate::models::Talk;

impl Client {
    /// One talk; `None` when amoCRM has no such talk (204 or 404).
    pub async fn talk(&self, id: u64) -> Result<Option<Talk>, ApiError> {
        self.get_by_id(self.url(&format!("/api/v4/talks/{id}"), &[]))
            .await
    }
}
