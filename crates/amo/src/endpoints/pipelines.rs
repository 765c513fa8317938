//! `GET /api/v4/leads/pipelines[/{id}]`.

use crate::client::Client;
use crate::error::ApiError;
use crate::models::Pipeline;

impl Client {
    /// Every pipeline with its statuses.
    pub async fn pipelines(&self) -> Result<Vec<Pipeline>, ApiError> {
        self.get_all(self.url("/api/v4/leads/pipelines", &[]), "pipelines")
            .await
    }

    /// One pipeline; `None` when amoCRM has no such pipeline (204 or 404).
    pub async fn pipeline(&self, id: u64) -> Result<Option<Pipeline>, ApiError> {
        self.get_by_id(self.url(&format!("/api/v4/leads/pipelines/{id}"), &[]))
            .await
    }
}
