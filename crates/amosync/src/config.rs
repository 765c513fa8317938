//! The data folder and its non-secret settings (`config.json`).
//!
//! ```text
//! DATA/                       --data, else $AMOSYNC_DATA, else the OS data dir + /amosync
//!   amosync.redb              the store (no secrets)
//!   config.json               base_url, listen, retention_days (no secrets)
//!   secrets.enc        0600   the vault where no OS keychain exists (see crate::vault, crate::auth)
//!   vault.json                "the keychain holds this folder's secrets" (no secret)
//!   secrets.lock              held while a process changes the vault (one token refresher)
//!   serve.json         0600   the running `amosync serve`: pid, control URL, control token
//!   serve.lock         0600   locked by `amosync serve` while it runs (see crate::lock)
//!   demo.lock          0600   locked by `amosync demo` while it runs (its store is DATA/demo/)
//! ```

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{AppError, ErrorCode};

/// Environment variable that overrides the default data folder.
pub const DATA_ENV: &str = "AMOSYNC_DATA";

/// Where `serve` listens for webhooks unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";

/// The data folder and the files in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// `--data` if given, else `$AMOSYNC_DATA`, else the OS data directory
    /// (`~/.local/share/amosync` on Linux, `~/Library/Application Support/amosync`
    /// on macOS, `%APPDATA%\amosync` on Windows).
    pub fn resolve(explicit: Option<&Path>) -> Result<DataDir, AppError> {
        if let Some(path) = explicit {
            return Ok(DataDir::new(path));
        }
        if let Some(env) = std::env::var_os(DATA_ENV).filter(|v| !v.is_empty()) {
            return Ok(DataDir::new(PathBuf::from(env)));
        }
        match dirs::data_dir() {
            Some(base) => Ok(DataDir::new(base.join("amosync"))),
            None => Err(AppError::new(
                ErrorCode::Local,
                format!(
                    "no data directory is known for this user; pass --data DIR or set {DATA_ENV}"
                ),
            )),
        }
    }

    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A sub-folder as its own data folder (the demo's).
    pub fn child(&self, name: &str) -> DataDir {
        DataDir::new(self.root.join(name))
    }

    pub fn store_path(&self) -> PathBuf {
        self.root.join("amosync.redb")
    }

    pub fn config_path(&self) -> PathBuf {
        self.root.join("config.json")
    }

    pub fn credentials_path(&self) -> PathBuf {
        self.root.join("credentials.json")
    }

    pub fn serve_path(&self) -> PathBuf {
        self.root.join("serve.json")
    }

    /// Held by `amosync serve` for its whole life.
    pub fn serve_lock_path(&self) -> PathBuf {
        self.root.join("serve.lock")
    }

    /// Creates the folder if absent — owner-only (0700) on Unix, like the
    /// parent folders it creates. An existing folder keeps its permissions
    /// (it may be shared on purpose; the secrets in it are 0600 anyway).
    pub fn ensure(&self) -> Result<(), AppError> {
        if self.root.is_dir() {
            return Ok(());
        }
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(&self.root).map_err(|e| {
            local(format!(
                "cannot create the data folder {} ({e}); pass another --data DIR",
                self.root.display()
            ))
        })
    }

    /// Says what to do when users other than the owner can reach the
    /// folder (or read its store): `amosync status` shows it. `None` when
    /// it is owner-only, absent, or not on Unix.
    pub fn access_warning(&self) -> Option<String> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| {
                std::fs::metadata(p)
                    .ok()
                    .map(|m| m.permissions().mode() & 0o777)
            };
            let root = self.root.display();
            if let Some(m) = mode(&self.root).filter(|m| m & 0o077 != 0) {
                return Some(format!(
                    "the data folder {root} is open to other users (mode {m:o}) and holds the CRM data: run `chmod 700 {root}`"
                ));
            }
            let store = self.store_path();
            if let Some(m) = mode(&store).filter(|m| m & 0o077 != 0) {
                return Some(format!(
                    "the store {} is readable by other users (mode {m:o}): run `chmod 600 {}`",
                    store.display(),
                    store.display()
                ));
            }
        }
        None
    }

    pub fn load_config(&self) -> Result<Option<Config>, AppError> {
        read_json(&self.config_path())
    }

    pub fn save_config(&self, config: &Config) -> Result<(), AppError> {
        write_json_atomic(&self.config_path(), config, false)
    }
}

/// `config.json`: what `serve`, `sync` and `webhook-url` need besides secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// The account's API base URL, e.g. `https://office.amocrm.ru`.
    pub base_url: String,
    /// Where `serve` listens for webhooks (loopback).
    pub listen: SocketAddr,
    /// Days `serve` keeps applied and rejected webhook bodies in the event
    /// log (default [`DEFAULT_RETENTION_DAYS`]; unapplied ones are kept
    /// until applied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
}

/// Days settled event log entries are kept unless `config.json` or
/// `serve --retention-days` says otherwise.
pub const DEFAULT_RETENTION_DAYS: u32 = amosync_sync::retention::DEFAULT_KEEP_DAYS;
/// The longest retention accepted (ten years).
pub const MAX_RETENTION_DAYS: u32 = 3650;

impl Config {
    pub fn default_listen() -> SocketAddr {
        DEFAULT_LISTEN.parse().expect("valid default address")
    }

    /// Refuses a saved account address AmoSync must not send a token to
    /// (plain `http://` to another machine, written by an older build or
    /// by hand), saying how to connect again.
    pub fn check_account(&self) -> Result<(), AppError> {
        let Ok(url) = url::Url::parse(&self.base_url) else {
            return Err(local(format!(
                "config.json names the account {:?}, which is not a URL; run `amosync connect` again",
                self.base_url
            )));
        };
        amo::check_account_url(&url).map_err(|why| {
            AppError::new(
                ErrorCode::InvalidInput,
                format!("config.json: {why}; run `amosync connect --base-url https://…` (or --subdomain SUB) again"),
            )
        })
    }

    /// The event log's retention in days, checked.
    pub fn retention_days(&self) -> Result<u32, AppError> {
        check_retention_days(self.retention_days.unwrap_or(DEFAULT_RETENTION_DAYS))
    }
}

/// `days` if it is a retention `serve` accepts (1 to [`MAX_RETENTION_DAYS`]).
pub fn check_retention_days(days: u32) -> Result<u32, AppError> {
    if (1..=MAX_RETENTION_DAYS).contains(&days) {
        Ok(days)
    } else {
        Err(AppError::new(
            ErrorCode::InvalidInput,
            format!(
                "the event log's retention must be 1 to {MAX_RETENTION_DAYS} days, got {days}; fix `retention_days` in config.json or pass `amosync serve --retention-days DAYS`"
            ),
        ))
    }
}

/// Checks that `addr` is a loopback address: the receiver and the control
/// API are never exposed directly (the tunnel does that, later).
pub fn check_loopback(addr: SocketAddr, what: &str) -> Result<SocketAddr, AppError> {
    if addr.ip().is_loopback() {
        Ok(addr)
    } else {
        Err(AppError::new(
            ErrorCode::InvalidInput,
            format!("{what} must be a loopback address (127.0.0.1:PORT), got {addr}"),
        ))
    }
}

pub(crate) fn local(message: impl Into<String>) -> AppError {
    AppError::new(ErrorCode::Local, message)
}

/// Reads a JSON file; `None` when it does not exist.
pub(crate) fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, AppError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(local(format!("cannot read {} ({e})", path.display()))),
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        local(format!(
            "{} is damaged ({e}); remove it and run `amosync connect` again",
            path.display()
        ))
    })
}

/// Writes JSON atomically (temp file in the same folder, fsync, rename).
/// `private` makes the file owner-only (0600) from its creation on.
pub(crate) fn write_json_atomic<T: Serialize>(
    path: &Path,
    value: &T,
    private: bool,
) -> Result<(), AppError> {
    let text = serde_json::to_vec_pretty(value)
        .map_err(|e| local(format!("cannot encode {} ({e})", path.display())))?;
    let fail = |e: std::io::Error| local(format!("cannot write {} ({e})", path.display()));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let tmp = path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let result = (|| {
        let mut file = options.open(&tmp)?;
        file.write_all(&text)?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_data_dir_wins() {
        let dir = DataDir::resolve(Some(Path::new("/tmp/x"))).unwrap();
        assert_eq!(dir.root(), Path::new("/tmp/x"));
        assert_eq!(dir.store_path(), Path::new("/tmp/x/amosync.redb"));
        assert_eq!(dir.child("demo").root(), Path::new("/tmp/x/demo"));
    }

    #[test]
    fn config_round_trips_atomically() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path().join("data"));
        assert_eq!(dir.load_config().unwrap(), None);
        dir.ensure().unwrap();
        let config = Config {
            base_url: "https://office.amocrm.ru".into(),
            listen: Config::default_listen(),
            retention_days: None,
        };
        dir.save_config(&config).unwrap();
        assert_eq!(dir.load_config().unwrap(), Some(config.clone()));
        // Without `retention_days` (files written before it existed): the default.
        let text = std::fs::read_to_string(dir.config_path()).unwrap();
        assert!(!text.contains("retention_days"), "{text}");
        assert_eq!(config.retention_days().unwrap(), DEFAULT_RETENTION_DAYS);
        let kept = Config {
            retention_days: Some(7),
            ..config
        };
        dir.save_config(&kept).unwrap();
        assert_eq!(
            dir.load_config()
                .unwrap()
                .unwrap()
                .retention_days()
                .unwrap(),
            7
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.root())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    }

    #[cfg(unix)]
    #[test]
    fn a_folder_others_can_read_gets_a_warning_with_the_fix() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path().join("data"));
        assert_eq!(dir.access_warning(), None, "absent");
        dir.ensure().unwrap();
        assert_eq!(dir.access_warning(), None, "created 0700");
        std::fs::set_permissions(dir.root(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let warning = dir.access_warning().expect("a 0755 folder");
        assert!(
            warning.contains("755") && warning.contains("chmod 700"),
            "{warning}"
        );
        std::fs::set_permissions(dir.root(), std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::write(dir.store_path(), b"x").unwrap();
        std::fs::set_permissions(dir.store_path(), std::fs::Permissions::from_mode(0o644)).unwrap();
        let warning = dir.access_warning().expect("a 0644 store");
        assert!(warning.contains("chmod 600"), "{warning}");
    }

    #[test]
    fn a_saved_clear_text_account_is_refused_with_the_fix() {
        let config = |base_url: &str| Config {
            base_url: base_url.into(),
            listen: Config::default_listen(),
            retention_days: None,
        };
        let err = config("http://office.amocrm.ru")
            .check_account()
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert!(
            err.message.contains("https://") && err.message.contains("amosync connect"),
            "{}",
            err.message
        );
        assert!(config("https://office.amocrm.ru").check_account().is_ok());
        assert!(config("http://127.0.0.1:3000").check_account().is_ok());
    }

    #[test]
    fn a_retention_out_of_range_says_what_to_do() {
        for days in [0, MAX_RETENTION_DAYS + 1] {
            let config = Config {
                base_url: "https://office.amocrm.ru".into(),
                listen: Config::default_listen(),
                retention_days: Some(days),
            };
            let err = config.retention_days().unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidInput);
            assert!(err.message.contains("retention_days"), "{}", err.message);
        }
        assert_eq!(
            check_retention_days(MAX_RETENTION_DAYS).unwrap(),
            MAX_RETENTION_DAYS
        );
    }

    #[test]
    fn damaged_config_says_what_to_do() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path());
        std::fs::write(dir.config_path(), "{not json").unwrap();
        let err = dir.load_config().unwrap_err();
        assert_eq!(err.code, ErrorCode::Local);
        assert!(err.message.contains("amosync connect"), "{}", err.message);
    }

    #[cfg(unix)]
    #[test]
    fn ensure_makes_new_folders_private_and_leaves_existing_ones_alone() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let tmp = tempfile::tempdir().unwrap();

        let fresh = DataDir::new(tmp.path().join("a").join("data"));
        fresh.ensure().unwrap();
        assert_eq!(mode(fresh.root()), 0o700);

        let shared = tmp.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
        DataDir::new(&shared).ensure().unwrap();
        assert_eq!(mode(&shared), 0o755, "an existing folder keeps its mode");
    }

    #[test]
    fn only_loopback_is_accepted() {
        assert!(check_loopback("127.0.0.1:0".parse().unwrap(), "--listen").is_ok());
        assert!(check_loopback("[::1]:80".parse().unwrap(), "--listen").is_ok());
        assert!(check_loopback("0.0.0.0:80".parse().unwrap(), "--listen").is_err());
    }
}
