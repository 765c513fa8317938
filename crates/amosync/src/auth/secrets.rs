//! The secrets document of a data folder, and the only way to change it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use amo::Secret;
use amo::oauth::{OAuthApp, TokenSet};
use amosync_sync::WebhookSecret;
use serde::{Deserialize, Serialize};

use crate::config::DataDir;
use crate::lock::FileLock;
use crate::vault::{SecretVault, VaultLocation, open_vault};
use crate::{AppError, ErrorCode};

/// How long a process waits for another one to finish changing the secrets
/// (a token refresh takes at most the token endpoint's 30 s timeout).
pub const SECRETS_LOCK_WITHIN: Duration = Duration::from_secs(45);

/// How the folder authenticates to amoCRM. `Debug` shows only the kind.
#[derive(Clone, PartialEq, Eq)]
pub enum AuthSecrets {
    /// A private integration's long-lived token.
    LongLived { token: Secret },
    /// An OAuth integration and its current pair.
    OAuth { app: OAuthApp, tokens: TokenSet },
}

impl std::fmt::Debug for AuthSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuthSecrets::{}(***)", self.kind())
    }
}

impl AuthSecrets {
    /// `long_lived` or `oauth`, for `amosync status`.
    pub fn kind(&self) -> &'static str {
        match self {
            AuthSecrets::LongLived { .. } => "long_lived",
            AuthSecrets::OAuth { .. } => "oauth",
        }
    }
}

/// The secrets a connected folder runs on.
#[derive(Clone)]
pub struct Credentials {
    pub auth: AuthSecrets,
    /// The path secret of the webhook receiver.
    pub webhook_secret: WebhookSecret,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("auth", &self.auth.kind())
            .field("webhook_secret", &"***")
            .finish()
    }
}

/// An OAuth connection started in the browser and not finished yet.
#[derive(Clone)]
pub struct PendingOAuth {
    pub app: OAuthApp,
    /// The `state` sent to the browser.
    pub state: Secret,
    /// The account address when the admin named it (needed for a bare code).
    pub base_url: Option<String>,
    /// Unix seconds; codes live 20 minutes.
    pub started_at: i64,
}

/// Everything secret about one data folder.
#[derive(Clone, Default)]
pub struct SecretsDoc {
    pub auth: Option<AuthSecrets>,
    pub webhook_secret: Option<WebhookSecret>,
    /// The tunnel provider and its credentials (an `amosync_tunnel::TunnelConfig`).
    pub tunnel: Option<serde_json::Value>,
    pub pending_oauth: Option<PendingOAuth>,
    /// Set when amoCRM refused the refresh token: why, for the "reconnect" state.
    pub reconnect: Option<String>,
}

impl std::fmt::Debug for SecretsDoc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsDoc")
            .field("auth", &self.auth.as_ref().map(AuthSecrets::kind))
            .field(
                "webhook_secret",
                &self.webhook_secret.as_ref().map(|_| "***"),
            )
            .field("tunnel", &self.tunnel.as_ref().map(|_| "***"))
            .field("pending_oauth", &self.pending_oauth.is_some())
            .field("reconnect", &self.reconnect)
            .finish()
    }
}

impl SecretsDoc {
    /// The credentials to run on, when the folder is connected.
    pub fn credentials(&self) -> Option<Credentials> {
        Some(Credentials {
            auth: self.auth.clone()?,
            webhook_secret: self.webhook_secret.clone()?,
        })
    }
}

/// On-disk (in-vault) shape. Version 2; version 1 was the clear
/// `credentials.json` (`access_token` + `webhook_secret`).
#[derive(Serialize, Deserialize, Default)]
struct Stored {
    version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auth: Option<StoredAuth>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    webhook_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tunnel: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pending_oauth: Option<StoredPending>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reconnect: Option<String>,
    /// Version 1's field.
    #[serde(default, skip_serializing)]
    access_token: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum StoredAuth {
    LongLived {
        token: String,
    },
    Oauth {
        client_id: String,
        client_secret: String,
        redirect_uri: String,
        access_token: String,
        refresh_token: String,
        expires_at: i64,
        obtained_at: i64,
    },
}

#[derive(Serialize, Deserialize)]
struct StoredPending {
    client_id: String,
    client_secret: String,
    redirect_uri: String,
    state: String,
    base_url: Option<String>,
    started_at: i64,
}

const VERSION: u32 = 2;

fn to_stored(doc: &SecretsDoc) -> Stored {
    Stored {
        version: VERSION,
        auth: doc.auth.as_ref().map(|a| match a {
            AuthSecrets::LongLived { token } => StoredAuth::LongLived {
                token: token.expose().clone(),
            },
            AuthSecrets::OAuth { app, tokens } => StoredAuth::Oauth {
                client_id: app.client_id.clone(),
                client_secret: app.client_secret.expose().clone(),
                redirect_uri: app.redirect_uri.clone(),
                access_token: tokens.access_token.expose().clone(),
                refresh_token: tokens.refresh_token.expose().clone(),
                expires_at: tokens.expires_at,
                obtained_at: tokens.obtained_at,
            },
        }),
        webhook_secret: doc.webhook_secret.as_ref().map(|s| s.expose().to_owned()),
        tunnel: doc.tunnel.clone(),
        pending_oauth: doc.pending_oauth.as_ref().map(|p| StoredPending {
            client_id: p.app.client_id.clone(),
            client_secret: p.app.client_secret.expose().clone(),
            redirect_uri: p.app.redirect_uri.clone(),
            state: p.state.expose().clone(),
            base_url: p.base_url.clone(),
            started_at: p.started_at,
        }),
        reconnect: doc.reconnect.clone(),
        access_token: None,
    }
}

fn from_stored(stored: Stored, damaged: impl Fn(&str) -> AppError) -> Result<SecretsDoc, AppError> {
    let auth = match (stored.auth, stored.access_token) {
        (Some(StoredAuth::LongLived { token }), _) | (None, Some(token)) => {
            if token.trim().is_empty() {
                return Err(damaged("token"));
            }
            Some(AuthSecrets::LongLived {
                token: Secret::new(token),
            })
        }
        (
            Some(StoredAuth::Oauth {
                client_id,
                client_secret,
                redirect_uri,
                access_token,
                refresh_token,
                expires_at,
                obtained_at,
            }),
            _,
        ) => Some(AuthSecrets::OAuth {
            app: OAuthApp {
                client_id,
                client_secret: Secret::new(client_secret),
                redirect_uri,
            },
            tokens: TokenSet {
                access_token: Secret::new(access_token),
                refresh_token: Secret::new(refresh_token),
                expires_at,
                obtained_at,
            },
        }),
        (None, None) => None,
    };
    let webhook_secret = match stored.webhook_secret {
        Some(raw) => Some(WebhookSecret::parse(&raw).ok_or_else(|| damaged("webhook secret"))?),
        None => None,
    };
    Ok(SecretsDoc {
        auth,
        webhook_secret,
        tunnel: stored.tunnel,
        pending_oauth: stored.pending_oauth.map(|p| PendingOAuth {
            app: OAuthApp {
                client_id: p.client_id,
                client_secret: Secret::new(p.client_secret),
                redirect_uri: p.redirect_uri,
            },
            state: Secret::new(p.state),
            base_url: p.base_url,
            started_at: p.started_at,
        }),
        reconnect: stored.reconnect,
    })
}

/// The secrets of one data folder: where they live and the lock that
/// serializes every change. Cheap to clone.
#[derive(Clone)]
pub struct Secrets {
    vault: Arc<dyn SecretVault>,
    lock_path: PathBuf,
    data: DataDir,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("vault", &self.vault.location().backend)
            .finish_non_exhaustive()
    }
}

impl Secrets {
    /// The folder's vault (keychain or encrypted file, see [`open_vault`]).
    /// The clear `credentials.json` of earlier builds is moved into it and
    /// wiped.
    pub fn open(data: &DataDir) -> Result<Secrets, AppError> {
        let vault: Arc<dyn SecretVault> = Arc::from(open_vault(data)?);
        let secrets = Secrets {
            vault,
            lock_path: data.root().join("secrets.lock"),
            data: data.clone(),
        };
        secrets.migrate_clear_file()?;
        Ok(secrets)
    }

    /// The folder's secrets in a given vault (tests, and callers that chose
    /// the backend themselves). No migration of an old clear file.
    pub fn with_vault(data: &DataDir, vault: Arc<dyn SecretVault>) -> Secrets {
        Secrets {
            vault,
            lock_path: data.root().join("secrets.lock"),
            data: data.clone(),
        }
    }

    fn migrate_clear_file(&self) -> Result<(), AppError> {
        let plain = self.data.credentials_path();
        let Some(old) = crate::vault::migrate_plain_file(&plain, self.vault.as_ref())? else {
            return Ok(());
        };
        if self.vault.load()?.is_none() {
            let stored: Stored = serde_json::from_str(old.expose())
                .map_err(|_| self.damaged_error(&plain.display().to_string(), "document"))?;
            let doc = from_stored(stored, |what| {
                self.damaged_error(&plain.display().to_string(), what)
            })?;
            self.save_blocking(&doc)?;
        }
        crate::vault::remove_plain_file(&plain)?;
        tracing::info!(
            "moved the clear credentials.json into the {:?} vault",
            self.vault.location().backend
        );
        Ok(())
    }

    fn damaged_error(&self, place: &str, what: &str) -> AppError {
        AppError::new(
            ErrorCode::NotConnected,
            format!("{place} holds no valid {what}; run `amosync connect` again"),
        )
    }

    /// Where the secrets are kept (never their values).
    pub fn location(&self) -> VaultLocation {
        self.vault.location()
    }

    /// Reads the document now (blocking; a keychain call may take a moment).
    pub fn load_blocking(&self) -> Result<SecretsDoc, AppError> {
        let Some(raw) = self.vault.load()? else {
            return Ok(SecretsDoc::default());
        };
        let place = self.vault.location().location;
        let stored: Stored = serde_json::from_str(raw.expose())
            .map_err(|_| self.damaged_error(&place, "secrets document"))?;
        from_stored(stored, |what| self.damaged_error(&place, what))
    }

    fn save_blocking(&self, doc: &SecretsDoc) -> Result<(), AppError> {
        let json = serde_json::to_string(&to_stored(doc)).map_err(|e| {
            AppError::new(ErrorCode::Local, format!("cannot encode the secrets: {e}"))
        })?;
        self.vault.save(&Secret::new(json))
    }

    /// Reads the document off the async threads.
    pub async fn load(&self) -> Result<SecretsDoc, AppError> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.load_blocking())
            .await
            .map_err(|e| AppError::new(ErrorCode::Local, e.to_string()))?
    }

    /// Replaces the document (call with [`Secrets::lock`] held).
    pub async fn save(&self, doc: &SecretsDoc) -> Result<(), AppError> {
        let me = self.clone();
        let doc = doc.clone();
        tokio::task::spawn_blocking(move || me.save_blocking(&doc))
            .await
            .map_err(|e| AppError::new(ErrorCode::Local, e.to_string()))?
    }

    /// The folder's secrets lock: held while reading-changing-writing the
    /// document, by every process.
    pub async fn lock(&self) -> Result<FileLock, AppError> {
        self.data.ensure()?;
        FileLock::exclusive_within(&self.lock_path, SECRETS_LOCK_WITHIN)
            .await?
            .ok_or_else(|| {
                AppError::new(
                    ErrorCode::StoreUnavailable,
                    format!(
                        "another AmoSync process kept {} locked for {}s; if none is running, delete that file",
                        self.lock_path.display(),
                        SECRETS_LOCK_WITHIN.as_secs()
                    ),
                )
            })
    }

    /// Read, change, write under the lock.
    pub async fn update<R>(
        &self,
        change: impl FnOnce(&mut SecretsDoc) -> Result<R, AppError>,
    ) -> Result<R, AppError> {
        let _lock = self.lock().await?;
        let mut doc = self.load().await?;
        let result = change(&mut doc)?;
        self.save(&doc).await?;
        Ok(result)
    }

    /// Forgets everything (disconnect).
    pub async fn forget(&self) -> Result<(), AppError> {
        let _lock = self.lock().await?;
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.vault.delete())
            .await
            .map_err(|e| AppError::new(ErrorCode::Local, e.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_round_trip_and_version_one() {
        let doc = SecretsDoc {
            auth: Some(AuthSecrets::OAuth {
                app: OAuthApp {
                    client_id: "cid".into(),
                    client_secret: Secret::from("cs-secret"),
                    redirect_uri: "amosync://oauth/callback".into(),
                },
                tokens: TokenSet {
                    access_token: Secret::from("acc-secret"),
                    refresh_token: Secret::from("ref-secret"),
                    expires_at: 10,
                    obtained_at: 5,
                },
            }),
            webhook_secret: Some(WebhookSecret::generate()),
            tunnel: None,
            pending_oauth: None,
            reconnect: Some("refused".into()),
        };
        let json = serde_json::to_string(&to_stored(&doc)).unwrap();
        let back = from_stored(serde_json::from_str(&json).unwrap(), |_| unreachable!()).unwrap();
        assert!(back.auth == doc.auth);
        assert_eq!(back.reconnect.as_deref(), Some("refused"));
        let shown = format!("{back:?}");
        for secret in ["cs-secret", "acc-secret", "ref-secret"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        let v1 = format!(
            r#"{{"version":1,"access_token":"tok","webhook_secret":"{}"}}"#,
            WebhookSecret::generate().expose()
        );
        let old = from_stored(serde_json::from_str(&v1).unwrap(), |w| {
            AppError::new(ErrorCode::NotConnected, w)
        })
        .unwrap();
        assert!(
            matches!(old.auth, Some(AuthSecrets::LongLived { ref token }) if token.expose() == "tok")
        );
        assert!(old.credentials().is_some());
    }
}
