//! Where the long-lived token and the webhook secret are kept: never in the
//! store file, never in logs.
//!
//! This build keeps them in `DATA/credentials.json`, written atomically with
//! owner-only permissions (0600). A later build moves them to the OS keychain
//! (or an encrypted file) by implementing [`CredentialStore`] again; callers
//! only see the trait.

use std::path::PathBuf;

use amo::Secret;
use amosync_sync::WebhookSecret;
use serde::{Deserialize, Serialize};

use crate::config::{read_json, write_json_atomic};
use crate::{AppError, ErrorCode};

/// The secrets of one connected account. `Debug` prints `***` for each.
#[derive(Clone)]
pub struct Credentials {
    /// The long-lived access token.
    pub token: Secret,
    /// The path secret of the webhook receiver.
    pub webhook_secret: WebhookSecret,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("token", &"***")
            .field("webhook_secret", &"***")
            .finish()
    }
}

/// Where credentials live, for `amosync status` (never their values).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialLocation {
    /// `file` now; `keychain` later.
    pub backend: String,
    /// A path or a keychain entry name.
    pub location: String,
}

/// A place to keep credentials.
pub trait CredentialStore: Send + Sync {
    /// The stored credentials, `None` when nothing is stored.
    fn load(&self) -> Result<Option<Credentials>, AppError>;
    /// Stores (replacing) the credentials.
    fn save(&self, credentials: &Credentials) -> Result<(), AppError>;
    /// Where they are kept.
    fn location(&self) -> CredentialLocation;
}

/// `credentials.json` with 0600 permissions, replaced atomically.
#[derive(Debug, Clone)]
pub struct FileCredentialStore {
    path: PathBuf,
}

impl FileCredentialStore {
    pub fn new(path: impl Into<PathBuf>) -> FileCredentialStore {
        FileCredentialStore { path: path.into() }
    }
}

#[derive(Serialize, Deserialize)]
struct OnDisk {
    version: u32,
    access_token: String,
    webhook_secret: String,
}

impl CredentialStore for FileCredentialStore {
    fn load(&self) -> Result<Option<Credentials>, AppError> {
        let Some(disk) = read_json::<OnDisk>(&self.path)? else {
            return Ok(None);
        };
        let damaged = |what: &str| {
            AppError::new(
                ErrorCode::NotConnected,
                format!(
                    "{} holds no valid {what}; run `amosync connect` again",
                    self.path.display()
                ),
            )
        };
        if disk.access_token.trim().is_empty() {
            return Err(damaged("token"));
        }
        let webhook_secret =
            WebhookSecret::parse(&disk.webhook_secret).ok_or_else(|| damaged("webhook secret"))?;
        Ok(Some(Credentials {
            token: Secret::new(disk.access_token),
            webhook_secret,
        }))
    }

    fn save(&self, credentials: &Credentials) -> Result<(), AppError> {
        let disk = OnDisk {
            version: 1,
            access_token: credentials.token.expose().clone(),
            webhook_secret: credentials.webhook_secret.expose().to_owned(),
        };
        write_json_atomic(&self.path, &disk, true)
    }

    fn location(&self) -> CredentialLocation {
        CredentialLocation {
            backend: "file".into(),
            location: self.path.display().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Credentials {
        Credentials {
            token: Secret::from("tok-very-secret"),
            webhook_secret: WebhookSecret::generate(),
        }
    }

    #[test]
    fn debug_hides_both_secrets() {
        let c = sample();
        let text = format!("{c:?}");
        assert!(!text.contains("tok-very-secret"), "{text}");
        assert!(!text.contains(c.webhook_secret.expose()), "{text}");
        assert!(text.contains("***"));
    }

    #[test]
    fn file_round_trip_is_private() {
        let tmp = tempfile::tempdir().unwrap();
        let store = FileCredentialStore::new(tmp.path().join("credentials.json"));
        assert!(store.load().unwrap().is_none());
        let c = sample();
        store.save(&c).unwrap();
        let back = store.load().unwrap().unwrap();
        assert_eq!(back.token.expose(), c.token.expose());
        assert_eq!(back.webhook_secret.expose(), c.webhook_secret.expose());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(tmp.path().join("credentials.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let location = store.location();
        assert_eq!(location.backend, "file");
        assert!(!format!("{location:?}").contains("tok-very-secret"));
    }

    #[test]
    fn a_bad_secret_is_reported_without_values() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("credentials.json");
        std::fs::write(
            &path,
            r#"{"version":1,"access_token":"tok-x","webhook_secret":"short"}"#,
        )
        .unwrap();
        let err = FileCredentialStore::new(&path).load().unwrap_err();
        assert_eq!(err.code, ErrorCode::NotConnected);
        assert!(!err.message.contains("tok-x"));
    }
}
