//! A refreshed pair the vault could not take: the bounded save retry, and
//! what to do with such a pair when the vault is read again.
//!
//! amoCRM spends the old refresh token the moment it answers a refresh, so
//! a pair whose save failed is the only live one: it is kept in memory and
//! used, and saved again (before the next refresh, and on the manager's
//! retries) until the vault takes it. Meanwhile another process on the same
//! folder may try the vault's spent pair, be refused and mark the folder
//! "reconnect"; that mark is about the spent pair, not about ours —
//! [`plan`] tells the two apart by the refresh token the vault held when
//! ours was made (the *base*).

use std::time::Duration;

use amo::Secret;
use amo::oauth::TokenSet;

use super::secrets::{Secrets, SecretsDoc};
use crate::AppError;

/// Pauses between the attempts to save a refreshed pair: 4 attempts over
/// about 4 s, all under the secrets lock (so no other process refreshes
/// with the spent token meanwhile; the lock's waiters allow 45 s).
pub const SAVE_BACKOFF: [Duration; 3] = [
    Duration::from_millis(200),
    Duration::from_millis(1_000),
    Duration::from_millis(3_000),
];

/// After the retries failed, how often callers of the manager try the save
/// again (besides before each refresh and at the hourly keep-alive).
pub const SAVE_RETRY_EVERY_S: i64 = 60;

/// What the vault holds, seen from a process whose pair is unsaved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// The vault holds our pair after all (a save reported an error after
    /// writing): nothing to save; a reconnect mark there is about our pair.
    AlreadySaved,
    /// The vault still holds the pair ours was made from (spent): write
    /// ours, and drop a reconnect mark, which was made with the spent pair.
    SaveOurs,
    /// The vault holds a third pair (the folder was connected again, or
    /// another process refreshed ours after a save that half worked): ours
    /// is no longer the live one; adopt the vault's, mark included.
    AdoptTheirs,
}

/// Decides between our unsaved pair and the vault's (pure).
pub fn plan(ours: &TokenSet, base_refresh: &Secret, vault: &TokenSet) -> Plan {
    if vault.refresh_token == ours.refresh_token {
        Plan::AlreadySaved
    } else if vault.refresh_token == *base_refresh {
        Plan::SaveOurs
    } else {
        Plan::AdoptTheirs
    }
}

/// Saves `doc`, retrying on failure after each pause of [`SAVE_BACKOFF`].
/// Call with the secrets lock held. The last error when every attempt failed.
pub async fn save_with_retry(secrets: &Secrets, doc: &SecretsDoc) -> Result<(), AppError> {
    let mut pauses = SAVE_BACKOFF.iter();
    loop {
        match secrets.save(doc).await {
            Ok(()) => return Ok(()),
            Err(e) => match pauses.next() {
                Some(pause) => {
                    tracing::warn!(error = %e, retry_in_ms = pause.as_millis() as u64, "the token pair could not be saved; retrying");
                    tokio::time::sleep(*pause).await;
                }
                None => return Err(e),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(name: &str) -> TokenSet {
        TokenSet {
            access_token: Secret::new(format!("{name}-access")),
            refresh_token: Secret::new(format!("{name}-refresh")),
            expires_at: 2_000,
            obtained_at: 1_000,
        }
    }

    #[test]
    fn the_vault_pair_decides() {
        let ours = pair("n1");
        let base = pair("n0").refresh_token;
        assert_eq!(plan(&ours, &base, &pair("n0")), Plan::SaveOurs);
        assert_eq!(plan(&ours, &base, &pair("n1")), Plan::AlreadySaved);
        assert_eq!(plan(&ours, &base, &pair("other")), Plan::AdoptTheirs);
    }

    #[test]
    fn the_retries_are_bounded() {
        let total: Duration = SAVE_BACKOFF.iter().sum();
        assert!(
            total < super::super::secrets::SECRETS_LOCK_WITHIN / 4,
            "{total:?}"
        );
    }
}
