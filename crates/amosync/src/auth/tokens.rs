//! The one refresher of a data folder's OAuth tokens.
//!
//! amoCRM refresh tokens are single-use: two refreshes racing with one token
//! revoke the account until an admin reconnects. So every refresh here:
//! 1. holds the manager's mutex (one per process: concurrent 401s of many
//!    tasks wait for the first task's refresh and reuse its answer);
//! 2. holds `DATA/secrets.lock` and re-reads the vault (another process on
//!    the same folder — the desktop app and a headless `amosync` — may have
//!    refreshed already: then its pair is adopted, no request is sent);
//! 3. persists the new pair before the access token is handed out,
//!    retrying a failed save a few times (see [`super::unsaved`]); a pair
//!    the vault still refuses is kept in memory, used, and saved again
//!    before the next refresh and every [`SAVE_RETRY_EVERY_S`] of use.
//!
//! A reconnect mark that another process wrote after trying the vault's
//! spent pair (the one this process refreshed but could not save) does not
//! stop this process: its pair is the live one, so it saves it and clears
//! the mark, and the other process adopts it.
//!
//! Tokens are refreshed [`REFRESH_AHEAD_S`] before they expire, and
//! [`TokenManager::keep_alive`] refreshes a pair older than
//! [`KEEP_ALIVE_AFTER_S`] so a quiet account never reaches the 3-month
//! refresh-token expiry. A refused refresh token puts the folder into the
//! reconnect state (kept in the vault, so every process sees it).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use amo::oauth::{OAuthApp, TokenEndpoint, TokenSet};
use amo::{ApiError, Secret, TokenProvider};
use amosync_sync::Clock;
use serde::Serialize;
use tokio::sync::{Mutex, watch};

use super::secrets::{AuthSecrets, Secrets, SecretsDoc};
use super::unsaved::{Plan, SAVE_RETRY_EVERY_S, plan, save_with_retry};
use crate::AppError;

/// Refresh this long before the access token expires.
pub const REFRESH_AHEAD_S: i64 = 10 * 60;
/// After an early refresh failed to reach amoCRM, callers use the still
/// valid token this long before one of them tries again.
pub const EARLY_RETRY_AFTER_S: i64 = 60;
/// Refresh a pair this old even when nothing needs it (refresh tokens die
/// after 3 months unused).
pub const KEEP_ALIVE_AFTER_S: i64 = 7 * 86_400;

/// What the UI and `amosync status` show about the tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AuthState {
    /// Tokens work; the access token expires at this unix second.
    Connected { expires_at: i64 },
    /// amoCRM refused the refresh token: only a new connection helps.
    Reconnect { reason: String },
}

/// Hands out access tokens, refreshing them single-flight across tasks and
/// processes. Give an `Arc<TokenManager>` to [`amo::Client::new`].
pub struct TokenManager {
    secrets: Secrets,
    endpoint: TokenEndpoint,
    clock: Arc<dyn Clock>,
    current: Mutex<TokenSet>,
    state: watch::Sender<AuthState>,
    refreshes: AtomicU64,
    /// When an early (not yet expired) refresh last failed to reach amoCRM.
    early_refresh_failed_at: AtomicI64,
    /// Set while the pair in `current` is not in the vault (its save
    /// failed): the refresh token the vault holds instead (spent). Changed
    /// only with `current` locked.
    unsaved_base: std::sync::Mutex<Option<Secret>>,
    /// When the save of an unsaved pair was last tried.
    save_tried_at: AtomicI64,
}

impl std::fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenManager")
            .field("state", &*self.state.borrow())
            .field("refreshes", &self.refreshes.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

fn reconnect_message(detail: &str) -> String {
    format!(
        "amoCRM no longer accepts AmoSync's tokens ({detail}). Reconnect: in the app, Settings → Reconnect; on a server, `amosync connect --client-id … --client-secret … --redirect-uri …` again. The local data is kept."
    )
}

impl TokenManager {
    /// A manager for the pair in the vault, talking to `base_url`'s token endpoint.
    pub fn new(
        secrets: Secrets,
        base_url: &str,
        app: &OAuthApp,
        tokens: TokenSet,
        reconnect: Option<String>,
        clock: Arc<dyn Clock>,
    ) -> Result<TokenManager, AppError> {
        let endpoint = TokenEndpoint::new(base_url, app).map_err(AppError::from)?;
        let state = match reconnect {
            Some(reason) => AuthState::Reconnect { reason },
            None => AuthState::Connected {
                expires_at: tokens.expires_at,
            },
        };
        Ok(TokenManager {
            secrets,
            endpoint,
            clock,
            current: Mutex::new(tokens),
            state: watch::Sender::new(state),
            refreshes: AtomicU64::new(0),
            early_refresh_failed_at: AtomicI64::new(i64::MIN / 2),
            unsaved_base: std::sync::Mutex::new(None),
            save_tried_at: AtomicI64::new(i64::MIN / 2),
        })
    }

    /// Refreshes this process has sent to amoCRM.
    pub fn refreshes(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }

    /// The current state.
    pub fn state(&self) -> AuthState {
        self.state.borrow().clone()
    }

    /// State changes (for the UI).
    pub fn subscribe(&self) -> watch::Receiver<AuthState> {
        self.state.subscribe()
    }

    /// Whether the pair in use is not in the vault yet (its save failed).
    pub fn has_unsaved_pair(&self) -> bool {
        self.unsaved_base().is_some()
    }

    fn unsaved_base(&self) -> Option<Secret> {
        self.unsaved_base
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set_unsaved_base(&self, base: Option<Secret>) {
        *self.unsaved_base.lock().unwrap_or_else(|e| e.into_inner()) = base;
    }

    /// Saves the pair in use if an earlier save failed; true when nothing
    /// is left unsaved. Reads the vault under the secrets lock first: a
    /// reconnect mark made there with the spent pair is cleared, a pair
    /// another process put there since is adopted.
    pub async fn save_unsaved(&self) -> Result<bool, ApiError> {
        if self.unsaved_base().is_none() {
            return Ok(true);
        }
        let mut current = self.current.lock().await;
        let _lock = self.secrets.lock().await.map_err(local)?;
        let mut doc = self.secrets.load().await.map_err(local)?;
        self.reconcile_unsaved(&mut current, &mut doc).await;
        match &doc.reconnect {
            Some(reason) => {
                self.state.send_replace(AuthState::Reconnect {
                    reason: reason.clone(),
                });
            }
            None => {
                self.state.send_replace(AuthState::Connected {
                    expires_at: current.expires_at,
                });
            }
        }
        Ok(self.unsaved_base().is_none())
    }

    /// With an unsaved pair in `current` and the vault's document in `doc`
    /// (secrets lock held): saves ours, or finds it saved, or adopts the
    /// vault's (see [`plan`]). `doc` then holds the pair to go on from; its
    /// reconnect mark is dropped when it was made with the spent pair.
    async fn reconcile_unsaved(&self, current: &mut TokenSet, doc: &mut SecretsDoc) {
        let Some(base) = self.unsaved_base() else {
            return;
        };
        let Some(AuthSecrets::OAuth { tokens, .. }) = &mut doc.auth else {
            // Disconnected or reconnected with a long-lived token meanwhile.
            self.set_unsaved_base(None);
            return;
        };
        self.save_tried_at
            .store(self.clock.now_s(), Ordering::Relaxed);
        match plan(current, &base, tokens) {
            Plan::AlreadySaved => self.set_unsaved_base(None),
            Plan::AdoptTheirs => {
                tracing::info!(
                    "the vault holds a newer token pair than the unsaved one; adopting it"
                );
                *current = tokens.clone();
                self.set_unsaved_base(None);
            }
            Plan::SaveOurs => {
                *tokens = current.clone();
                let stale_mark = doc.reconnect.take();
                match save_with_retry(&self.secrets, doc).await {
                    Ok(()) => {
                        self.set_unsaved_base(None);
                        tracing::info!(
                            cleared_reconnect_mark = stale_mark.is_some(),
                            "saved the token pair an earlier save had lost"
                        );
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "the token pair still cannot be saved; kept in memory")
                    }
                }
            }
        }
    }

    /// Refreshes when the pair is older than [`KEEP_ALIVE_AFTER_S`]; true
    /// when it did. Call it every hour or so. Saves an unsaved pair first.
    pub async fn keep_alive(&self) -> Result<bool, ApiError> {
        if let Err(e) = self.save_unsaved().await {
            tracing::warn!(error = %e, "the unsaved token pair could not be saved yet");
        }
        let seen = self.current.lock().await.clone();
        if self.clock.now_s() - seen.obtained_at < KEEP_ALIVE_AFTER_S {
            return Ok(false);
        }
        self.refresh_after(&seen.access_token).await.map(|_| true)
    }

    /// Refresh this long before expiry: [`REFRESH_AHEAD_S`], or a quarter
    /// of the token's lifetime when that is shorter (short-lived tokens).
    fn usable(&self, tokens: &TokenSet) -> bool {
        let lifetime = (tokens.expires_at - tokens.obtained_at).max(0);
        let ahead = REFRESH_AHEAD_S.min(lifetime / 4);
        self.clock.now_s() < tokens.expires_at - ahead
    }

    /// Refreshes unless someone already replaced `seen` with a usable token
    /// (in this process or another).
    async fn refresh_after(&self, seen: &Secret) -> Result<Secret, ApiError> {
        let mut current = self.current.lock().await;
        if current.access_token != *seen && self.usable(&current) {
            return Ok(current.access_token.clone());
        }
        let lock = self.secrets.lock().await.map_err(local)?;
        let mut doc = self.secrets.load().await.map_err(local)?;
        // Our unsaved pair first: a mark made with the spent pair is not ours.
        self.reconcile_unsaved(&mut current, &mut doc).await;
        if let Some(reason) = &doc.reconnect {
            self.state.send_replace(AuthState::Reconnect {
                reason: reason.clone(),
            });
            return Err(ApiError::AuthRevoked {
                detail: reason.clone(),
            });
        }
        let stored = match &doc.auth {
            Some(AuthSecrets::OAuth { tokens, .. }) => tokens.clone(),
            _ => {
                return Err(ApiError::AuthRevoked {
                    detail: "this data folder is no longer connected by OAuth (disconnected or reconnected with a token); restart AmoSync".into(),
                });
            }
        };
        // The refresh token the vault holds now (another than `stored`'s
        // when our unsaved pair still could not be saved).
        let vault_refresh = self.unsaved_base().unwrap_or(stored.refresh_token.clone());
        if stored.access_token != *seen && self.usable(&stored) {
            // Another process refreshed while we waited for the lock.
            tracing::debug!("adopting the token pair another process refreshed");
            *current = stored;
            return Ok(current.access_token.clone());
        }
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        // The exchange and the save run in their own task, which owns the
        // lock: a caller dropped midway (shutdown, a timeout) cannot lose a
        // pair amoCRM already issued, and no other process refreshes before
        // it is saved.
        let exchange = tokio::spawn(refresh_and_save(
            self.endpoint.clone(),
            self.secrets.clone(),
            doc,
            stored.refresh_token.clone(),
            self.clock.now_s(),
            lock,
        ));
        let outcome = exchange.await.unwrap_or_else(|e| {
            Err(ApiError::Config {
                detail: format!("the token refresh task failed: {e}"),
            })
        });
        match outcome {
            Ok((fresh, saved)) => {
                *current = fresh;
                self.set_unsaved_base((!saved).then_some(vault_refresh));
                self.save_tried_at
                    .store(self.clock.now_s(), Ordering::Relaxed);
                self.state.send_replace(AuthState::Connected {
                    expires_at: current.expires_at,
                });
                Ok(current.access_token.clone())
            }
            Err(ApiError::AuthRevoked { detail }) => {
                // Our pair was refused too: nothing left worth saving.
                self.set_unsaved_base(None);
                self.state.send_replace(AuthState::Reconnect {
                    reason: detail.clone(),
                });
                Err(ApiError::AuthRevoked { detail })
            }
            Err(other) => Err(other),
        }
    }

    /// In the reconnect state, whether the folder was connected again
    /// meanwhile (by another process): then its pair is adopted.
    async fn reconnected_elsewhere(&self) -> bool {
        let Ok(doc) = self.secrets.load().await else {
            return false;
        };
        match (&doc.reconnect, doc.auth) {
            (None, Some(AuthSecrets::OAuth { tokens, .. })) => {
                let expires_at = tokens.expires_at;
                *self.current.lock().await = tokens;
                self.state.send_replace(AuthState::Connected { expires_at });
                true
            }
            _ => false,
        }
    }
}

/// One refresh with amoCRM and the save of its answer, under `lock`; the
/// new pair and whether the vault took it.
async fn refresh_and_save(
    endpoint: TokenEndpoint,
    secrets: Secrets,
    mut doc: SecretsDoc,
    refresh_token: Secret,
    now: i64,
    lock: crate::lock::FileLock,
) -> Result<(TokenSet, bool), ApiError> {
    let answer = endpoint.refresh(&refresh_token, now).await;
    let result = match answer {
        Ok(fresh) => {
            if let Some(AuthSecrets::OAuth { tokens, .. }) = &mut doc.auth {
                *tokens = fresh.clone();
            }
            // Persist before use: the old refresh token is spent now. If
            // every retry fails the pair lives in memory and is saved later
            // (see `reconcile_unsaved`).
            let saved = match save_with_retry(&secrets, &doc).await {
                Ok(()) => true,
                Err(e) => {
                    tracing::error!(error = %e, "the refreshed tokens could not be saved; kept in memory and saved again later");
                    false
                }
            };
            tracing::info!(expires_at = fresh.expires_at, "access token refreshed");
            Ok((fresh, saved))
        }
        Err(ApiError::AuthRevoked { detail }) => {
            let reason = reconnect_message(&detail);
            doc.reconnect = Some(reason.clone());
            if let Err(e) = secrets.save(&doc).await {
                tracing::error!(error = %e, "could not record the reconnect state");
            }
            tracing::warn!("amoCRM refused the refresh token; reconnect needed");
            Err(ApiError::AuthRevoked { detail: reason })
        }
        Err(other) => Err(other),
    };
    drop(lock);
    result
}

fn local(e: AppError) -> ApiError {
    ApiError::Config { detail: e.message }
}

impl TokenProvider for TokenManager {
    async fn access_token(&self) -> Result<Secret, ApiError> {
        if self.unsaved_base().is_some()
            && self.clock.now_s() - self.save_tried_at.load(Ordering::Relaxed) >= SAVE_RETRY_EVERY_S
            && let Err(e) = self.save_unsaved().await
        {
            tracing::warn!(error = %e, "the unsaved token pair could not be saved yet");
        }
        if let AuthState::Reconnect { reason } = self.state()
            && !self.reconnected_elsewhere().await
        {
            return Err(ApiError::AuthRevoked { detail: reason });
        }
        let current = self.current.lock().await.clone();
        if self.usable(&current) {
            return Ok(current.access_token);
        }
        let now = self.clock.now_s();
        let failed_at = self.early_refresh_failed_at.load(Ordering::Relaxed);
        if now < current.expires_at && now - failed_at < EARLY_RETRY_AFTER_S {
            // A recent early refresh could not reach amoCRM: do not make
            // every caller wait for its own attempt while the token works.
            return Ok(current.access_token);
        }
        match self.refresh_after(&current.access_token).await {
            // amoCRM unreachable for the early refresh: the token still
            // works until it expires; try again in a minute.
            Err(e) if !e.needs_reconnect() && self.clock.now_s() < current.expires_at => {
                self.early_refresh_failed_at
                    .store(self.clock.now_s(), Ordering::Relaxed);
                tracing::warn!(error = %e, "early token refresh failed; using the current token until it expires");
                Ok(current.access_token)
            }
            other => other,
        }
    }

    async fn refresh(&self, rejected: &Secret) -> Result<Secret, ApiError> {
        self.refresh_after(rejected).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::secrets::SecretsDoc;
    use crate::config::DataDir;
    use crate::vault::EncryptedFileVault;
    use amosync_sync::WebhookSecret;

    struct FixedClock(i64);

    impl Clock for FixedClock {
        fn now_ms(&self) -> i64 {
            self.0 * 1000
        }
    }

    fn tokens(expires_at: i64) -> TokenSet {
        TokenSet {
            access_token: Secret::from("current-access"),
            refresh_token: Secret::from("current-refresh"),
            expires_at,
            obtained_at: expires_at - 86_400,
        }
    }

    async fn manager(dir: &std::path::Path, now: i64, expires_at: i64) -> TokenManager {
        let data = DataDir::new(dir.join("data"));
        data.ensure().unwrap();
        let vault = EncryptedFileVault::for_data(&data, dir.join("vault.key"));
        let secrets = Secrets::with_vault(&data, Arc::new(vault));
        let app = OAuthApp {
            client_id: "cid".into(),
            client_secret: Secret::from("cs"),
            redirect_uri: "amosync://oauth/callback".into(),
        };
        let doc = SecretsDoc {
            auth: Some(AuthSecrets::OAuth {
                app: app.clone(),
                tokens: tokens(expires_at),
            }),
            webhook_secret: Some(WebhookSecret::generate()),
            ..SecretsDoc::default()
        };
        secrets.save(&doc).await.unwrap();
        // Nothing listens on port 9 of loopback: every refresh fails to connect.
        TokenManager::new(
            secrets,
            "http://127.0.0.1:9",
            &app,
            tokens(expires_at),
            None,
            Arc::new(FixedClock(now)),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn an_unreachable_early_refresh_keeps_the_valid_token() {
        let tmp = tempfile::tempdir().unwrap();
        // 5 minutes left: inside the refresh-ahead window, not expired.
        let m = manager(tmp.path(), 1_000_000, 1_000_300).await;
        let token = m
            .access_token()
            .await
            .expect("the current token still works");
        assert_eq!(token.expose(), "current-access");
        assert_eq!(m.refreshes(), 1, "it tried once");
        assert!(matches!(m.state(), AuthState::Connected { .. }));
    }

    #[tokio::test]
    async fn an_expired_token_with_amocrm_unreachable_is_an_error_not_a_reconnect() {
        let tmp = tempfile::tempdir().unwrap();
        let m = manager(tmp.path(), 1_000_000, 999_000).await;
        let err = m.access_token().await.expect_err("expired and no refresh");
        assert!(!err.needs_reconnect(), "{err:?}");
        assert!(matches!(m.state(), AuthState::Connected { .. }));
    }
}
