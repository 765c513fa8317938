//! Store errors.

/// Result alias for store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// What can go wrong with the store file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process (a running `amosync serve` or the desktop app) holds the file.
    #[error(
        "the store {path} is in use by another AmoSync process; query that process or stop it first"
    )]
    Locked {
        /// The store file.
        path: String,
    },
    /// The file was written by a newer AmoSync.
    #[error(
        "the store was written by a newer AmoSync (schema {found}, this build knows {supported}); update AmoSync"
    )]
    TooNew {
        /// Schema version in the file.
        found: u32,
        /// Newest schema this build reads.
        supported: u32,
    },
    /// The file is not a store or is damaged.
    #[error(
        "the store file {}cannot be read ({reason}); move it aside, then run `amosync connect` again and `amosync sync` to rebuild it",
        if path.is_empty() { String::new() } else { format!("{path} ") }
    )]
    Corrupt {
        /// The store file.
        path: String,
        /// What redb said.
        reason: String,
    },
    /// A record could not be encoded/decoded.
    #[error("a stored record could not be read: {0}")]
    Record(String),
    /// redb failed (I/O, disk full, permissions, …); the file is not
    /// known to be damaged, retrying may work.
    #[error("store I/O failed: {0}")]
    Io(String),
}

impl StoreError {
    /// Names the file in a [`StoreError::Corrupt`] raised below the
    /// [`crate::Store`] (redb errors do not know the path).
    pub(crate) fn at(self, file: &std::path::Path) -> StoreError {
        match self {
            StoreError::Corrupt { path, reason } if path.is_empty() => StoreError::Corrupt {
                path: file.display().to_string(),
                reason,
            },
            other => other,
        }
    }
}
