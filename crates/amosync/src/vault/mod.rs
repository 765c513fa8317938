//! Where AmoSync keeps its secrets: the OS keychain when there is one, else
//! an encrypted file in the data folder whose key lives outside it.
//!
//! A vault holds one opaque document per data folder (the caller's JSON with
//! the token and the webhook secret); it never parses it.
//!
//! ```text
//! keychain        service "amosync", user "data:<canonical data folder>"
//!                 (Secret Service on Linux/BSD, Keychain on macOS, Credential Manager on Windows)
//! DATA/vault.json        which backend holds the secrets when it is the keychain (no secret in it)
//! DATA/secrets.enc 0600  the encrypted-file backend: header + XChaCha20-Poly1305 ciphertext
//! KEY              0600  $AMOSYNC_KEY_FILE, else ~/.config/amosync/vault.key (Linux; see
//!                        key::default_key_path for macOS and Windows): 32 random bytes
//! ```
//!
//! Threat model of the encrypted file (5 lines):
//! * protects against the data folder leaking on its own — a backup, a copy to
//!   another machine, a `grep -r` of the disk, a screenshot or listing of it —
//!   since none of these carry the key, which lives outside the folder;
//! * does not protect against the same user (or root) on the same machine:
//!   whoever reads the key file decrypts; the keychain raises that bar a little.
//!
//! Backend choice ([`open_vault`]): `AMOSYNC_VAULT=keychain|file|auto`
//! (default `auto`). `auto` keeps the backend that already holds this
//! folder's secrets and otherwise takes the keychain when a bounded probe
//! (write, read, delete of a probe entry within ~2 s) succeeds.

mod file;
mod fsutil;
mod key;
mod keychain;
mod migrate;
mod select;
#[cfg(test)]
mod tests;

use amo::Secret;
use serde::{Deserialize, Serialize};

use crate::AppError;
use crate::config::DataDir;

pub use file::{EncryptedFileVault, SECRETS_FILE};
pub use key::{KEY_FILE_ENV, default_key_path};
pub use keychain::{KeychainVault, MARKER_FILE, SERVICE};
pub use migrate::{migrate_plain_file, remove_plain_file};
pub use select::{VAULT_ENV, VaultChoice, open_vault_with};

/// Which backend holds the secrets (for `amosync status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VaultBackend {
    Keychain,
    EncryptedFile,
}

/// Where the secrets are kept: a keychain entry name or a file path, never a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultLocation {
    pub backend: VaultBackend,
    /// e.g. `Secret Service: amosync / data:/home/me/.local/share/amosync`,
    /// or `/home/me/.local/share/amosync/secrets.enc (key /home/me/.config/amosync/vault.key)`.
    pub location: String,
}

/// Opaque secret bytes of one data folder: the caller stores one JSON
/// document (its own type) in it. Calls may block (keychain prompts, disk):
/// call them from `spawn_blocking`. Keychain calls are bounded in time.
pub trait SecretVault: Send + Sync + std::fmt::Debug {
    /// The stored document, `None` if nothing is stored.
    fn load(&self) -> Result<Option<Secret>, AppError>;
    /// Replaces the stored document atomically.
    fn save(&self, document: &Secret) -> Result<(), AppError>;
    /// Forgets the document (disconnect); fine if nothing is stored.
    fn delete(&self) -> Result<(), AppError>;
    /// Where the document is kept.
    fn location(&self) -> VaultLocation;
}

/// Picks the backend for a data folder from `AMOSYNC_VAULT` (default
/// `auto`) and the key file from `AMOSYNC_KEY_FILE` (default: the OS config
/// directory). See the module docs for the rules.
pub fn open_vault(data: &DataDir) -> Result<Box<dyn SecretVault>, AppError> {
    let choice = VaultChoice::from_env()?;
    open_vault_with(data, choice, None)
}
