//! `amosync disconnect`: delete every webhook of this install.

use amo::ApiError;

use super::plan::{check_secret_path, is_ours};
use super::redact::redact_error;

/// Deletes every registered destination whose path ends with `secret_path`
/// (this install's receiver URLs, current and earlier), and nothing else.
/// Returns how many were deleted; a hook that vanished meanwhile is not
/// counted and not an error. Errors never contain the secret.
pub async fn remove_webhooks(client: &amo::Client, secret_path: &str) -> Result<usize, ApiError> {
    check_secret_path(secret_path).map_err(ApiError::invalid)?;
    let hooks = client
        .webhooks(None)
        .await
        .map_err(|e| redact_error(e, secret_path))?;
    let mut removed = 0;
    for hook in hooks
        .iter()
        .filter(|h| is_ours(&h.destination, secret_path))
    {
        match client.delete_webhook(&hook.destination).await {
            Ok(()) => removed += 1,
            Err(ApiError::NotFound { .. }) => {}
            Err(e) => return Err(redact_error(e, secret_path)),
        }
    }
    Ok(removed)
}
