//! Who AmoSync is to amoCRM: the secrets of a data folder and the tokens
//! made from them.
//!
//! * [`secrets`]: one document per data folder (the token or OAuth pair, the
//!   webhook secret, tunnel credentials, a connection in progress) kept in
//!   the [`crate::vault`] (OS keychain, else an encrypted file), changed only
//!   under `DATA/secrets.lock` so processes sharing the folder never
//!   overwrite each other.
//! * [`tokens`]: the [`TokenManager`], the one refresher: single-flight
//!   across tasks (a mutex) and across processes (the lock file), the new
//!   pair persisted before it is used, refreshed ahead of expiry and kept
//!   alive on quiet accounts; a refused refresh puts the folder into the
//!   "reconnect" state.
//! * [`unsaved`]: a refreshed pair the vault did not take: the bounded save
//!   retry, and how such a pair meets the vault again (saved over the spent
//!   pair and its stale reconnect mark, or given up for a newer pair).
//! * [`flow`]: starting an OAuth connection (the browser URL) and finishing
//!   it from whatever came back (deep link, bounce page, loopback, pasted).

pub mod flow;
pub mod secrets;
pub mod tokens;
pub mod unsaved;

pub use flow::{OAuthStart, begin_oauth, finish_oauth, finish_with_code};
pub use secrets::{AuthSecrets, Credentials, PendingOAuth, Secrets, SecretsDoc};
pub use tokens::{AuthState, TokenManager};
