//! Which backend keeps a data folder's secrets: `AMOSYNC_VAULT`, what is
//! already stored, and (for `auto`) a bounded probe of the keychain.

use std::path::{Path, PathBuf};

use super::file::{EncryptedFileVault, SECRETS_FILE};
use super::key::{KEY_FILE_ENV, default_key_path};
use super::keychain::{KeychainVault, PROBE_TIMEOUT, Probe, marker_says_keychain, probe};
use super::{SecretVault, fsutil};
use crate::config::DataDir;
use crate::{AppError, ErrorCode};

/// Environment variable choosing the backend: `keychain`, `file` or `auto`.
pub const VAULT_ENV: &str = "AMOSYNC_VAULT";

/// The backend asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VaultChoice {
    /// The backend that already holds the secrets; else the keychain when a
    /// probe succeeds within ~2 s; else the encrypted file.
    #[default]
    Auto,
    /// The OS keychain, even when it does not answer (calls then fail).
    Keychain,
    /// The encrypted file, even when a keychain exists.
    File,
}

impl VaultChoice {
    /// `keychain`, `file`, `auto` (any case); empty means `auto`.
    pub fn parse(value: &str) -> Result<VaultChoice, AppError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => Ok(VaultChoice::Auto),
            "keychain" => Ok(VaultChoice::Keychain),
            "file" => Ok(VaultChoice::File),
            other => Err(AppError::new(
                ErrorCode::InvalidInput,
                format!("{VAULT_ENV}={other} is not known; use keychain, file or auto"),
            )),
        }
    }

    /// From `$AMOSYNC_VAULT` (unset means `auto`).
    pub fn from_env() -> Result<VaultChoice, AppError> {
        match std::env::var(VAULT_ENV) {
            Ok(value) => VaultChoice::parse(&value),
            Err(std::env::VarError::NotPresent) => Ok(VaultChoice::Auto),
            Err(std::env::VarError::NotUnicode(_)) => VaultChoice::parse("?"),
        }
    }
}

/// [`super::open_vault`] with the choice and the key file given explicitly
/// (`key_path: None` means `$AMOSYNC_KEY_FILE`, else the OS config dir).
pub fn open_vault_with(
    data: &DataDir,
    choice: VaultChoice,
    key_path: Option<PathBuf>,
) -> Result<Box<dyn SecretVault>, AppError> {
    let file_vault = || -> Result<Box<dyn SecretVault>, AppError> {
        let key_path = match key_path.clone() {
            Some(path) => path,
            None => default_key_path()?,
        };
        check_key_outside(data.root(), &key_path)?;
        Ok(Box::new(EncryptedFileVault::for_data(data, key_path)))
    };
    let keychain = KeychainVault::for_data(data);
    match choice {
        VaultChoice::File => file_vault(),
        VaultChoice::Keychain => Ok(Box::new(keychain)),
        VaultChoice::Auto => {
            // What already holds the secrets stays in use: no silent switch.
            if data.root().join(SECRETS_FILE).exists() {
                return file_vault();
            }
            if marker_says_keychain(data) {
                return Ok(Box::new(keychain));
            }
            match probe(&keychain, PROBE_TIMEOUT) {
                Probe::HasDocument | Probe::Available => Ok(Box::new(keychain)),
                Probe::Unavailable(reason) => {
                    tracing::info!(%reason, "no usable keychain: secrets go to an encrypted file");
                    file_vault()
                }
            }
        }
    }
}

/// Refuses a key inside the data folder: a copy of the folder would carry it.
fn check_key_outside(data: &Path, key: &Path) -> Result<(), AppError> {
    if fsutil::canonical_lenient(key).starts_with(fsutil::canonical_lenient(data)) {
        return Err(AppError::new(
            ErrorCode::InvalidInput,
            format!(
                "the vault key {} is inside the data folder {}, so a copy of the folder would \
                 carry readable secrets; set {KEY_FILE_ENV} to a path outside it",
                key.display(),
                data.display()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::VaultBackend;
    use amo::Secret;

    #[test]
    fn choices_parse_and_unknown_ones_say_what_is_allowed() {
        assert_eq!(VaultChoice::parse("").unwrap(), VaultChoice::Auto);
        assert_eq!(VaultChoice::parse(" Auto ").unwrap(), VaultChoice::Auto);
        assert_eq!(
            VaultChoice::parse("KEYCHAIN").unwrap(),
            VaultChoice::Keychain
        );
        assert_eq!(VaultChoice::parse("file").unwrap(), VaultChoice::File);
        let err = VaultChoice::parse("vault").unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert!(
            err.message.contains("keychain, file or auto"),
            "{}",
            err.message
        );
    }

    #[test]
    fn file_choice_gives_the_encrypted_file() {
        let tmp = tempfile::tempdir().unwrap();
        let data = DataDir::new(tmp.path().join("data"));
        let key = tmp.path().join("key").join("vault.key");
        let vault = open_vault_with(&data, VaultChoice::File, Some(key.clone())).unwrap();
        assert_eq!(vault.location().backend, VaultBackend::EncryptedFile);
        vault.save(&Secret::from("doc")).unwrap();
        assert!(data.root().join(SECRETS_FILE).exists());
        assert!(key.exists());
    }

    #[test]
    fn a_file_holding_secrets_is_kept_under_auto_without_any_probe() {
        let tmp = tempfile::tempdir().unwrap();
        let data = DataDir::new(tmp.path().join("data"));
        let key = tmp.path().join("vault.key");
        open_vault_with(&data, VaultChoice::File, Some(key.clone()))
            .unwrap()
            .save(&Secret::from("doc"))
            .unwrap();
        let vault = open_vault_with(&data, VaultChoice::Auto, Some(key)).unwrap();
        assert_eq!(vault.location().backend, VaultBackend::EncryptedFile);
        assert_eq!(vault.load().unwrap().unwrap().expose(), "doc");
    }

    #[test]
    fn a_key_inside_the_data_folder_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let data = DataDir::new(tmp.path().join("data"));
        let inside = tmp.path().join("data").join("sub").join("vault.key");
        let err = open_vault_with(&data, VaultChoice::File, Some(inside)).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert!(err.message.contains(KEY_FILE_ENV), "{}", err.message);
        let beside = tmp.path().join("data-key");
        assert!(open_vault_with(&data, VaultChoice::File, Some(beside)).is_ok());
    }
}
