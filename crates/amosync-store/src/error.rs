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
        "the store file {path} cannot be read ({reason}); move it aside and run `amosync sync` to rebuild it"
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
    /// redb failed (I/O, disk full, …).
    #[error("store I/O failed: {0}")]
    Io(String),
}
