//! AmoSync core facade: the functions the desktop shell and the CLI share.
//!
//! Every operation returns [`AppError`] — a stable `code` the UI branches on
//! and a `message` that says what to do next.

pub mod auth;
pub mod bindings;
pub mod cli;
pub mod config;
pub mod control;
pub mod demo;
pub mod desktop;
mod error;
pub mod lock;
pub mod log_file;
pub mod logging;
mod overview;
pub mod vault;

pub use error::{AppError, ErrorCode};
pub use overview::{Overview, PipelineSummary, Source, StatusSummary, load_overview};
