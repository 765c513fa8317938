//! `amosync disconnect`: remove this install's webhooks from amoCRM, forget
//! every secret, keep the store (offline review keeps working).

use serde_json::{Value, json};

use crate::auth::Secrets;
use crate::cli::connect::{Patience, client_for};
use crate::cli::serve::secret_path;
use crate::config::DataDir;
use crate::control::ServeFile;
use crate::{AppError, ErrorCode};

/// Disconnects the folder. The webhook removal is best effort (amoCRM may
/// be unreachable or the token already revoked); the output says what
/// happened and what is left to do by hand.
pub async fn disconnect(data: &DataDir) -> Result<Value, AppError> {
    if let Some(file) = ServeFile::live(data)? {
        return Err(AppError::new(
            ErrorCode::StoreUnavailable,
            format!(
                "`amosync serve` (pid {}) is running on {}; stop it first, then disconnect",
                file.pid,
                data.root().display()
            ),
        ));
    }
    let secrets = Secrets::open(data)?;
    let doc = secrets.load().await?;
    let Some(credentials) = doc.credentials() else {
        secrets.forget().await?;
        return Ok(
            json!({"disconnected": true, "was_connected": false, "store_kept": data.store_path().display().to_string()}),
        );
    };
    let base_url = data.load_config()?.map(|c| c.base_url);
    let removal = match &base_url {
        Some(base_url) => {
            match client_for(
                base_url,
                &credentials,
                &secrets,
                doc.reconnect.clone(),
                Patience::Interactive,
            ) {
                Ok((client, _)) => amosync_sync::keeper::remove_webhooks(
                    &client,
                    &secret_path(&credentials.webhook_secret),
                )
                .await
                .map_err(|e| e.to_string()),
                Err(e) => Err(e.message),
            }
        }
        None => Err("no account address is saved".into()),
    };
    secrets.forget().await?;
    let (removed, warning) = match removal {
        Ok(n) => (Some(n), None),
        Err(e) => (
            None,
            Some(format!(
                "the webhook could not be removed from amoCRM ({e}); delete it by hand in amoCRM → Settings → Integrations → Webhooks"
            )),
        ),
    };
    if let Some(w) = &warning {
        tracing::warn!("{w}");
    }
    Ok(json!({
        "disconnected": true,
        "was_connected": true,
        "webhooks_removed": removed,
        "warning": warning,
        "store_kept": data.store_path().display().to_string(),
    }))
}
