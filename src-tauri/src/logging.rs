//! The app's logs: stderr (as the CLI's) plus a file rolled daily in the
//! app's log folder, the last 7 kept — what support asks for when the app
//! ran in the tray for a week.
//!
//! Why a `tracing` writer and not `tauri-plugin-log`: the core (engine,
//! keeper, tunnel, client) logs through `tracing`, with structured fields
//! and spans; the plugin is a `log` crate logger, so the core's records
//! would reach it only through a bridge that flattens them, and the app
//! would run two logging systems side by side. A second `tracing-subscriber`
//! layer writing to a rolling file keeps one pipeline: the same filter
//! (`RUST_LOG`, default `info`), the same records in both places. Records of
//! crates that use `log` (Tauri, its plugins) reach it too, through the
//! subscriber's `log` bridge. The UI does not log to the backend, so no
//! plugin JavaScript API is needed. Secrets are never formatted by the core,
//! so the file holds nothing the terminal would not; it does name leads and
//! contacts, so each file is created owner-only (0600) by
//! [`amosync::log_file::DailyLog`] (`tracing-appender` creates them by the
//! umask, usually 0644).

use std::path::Path;

use amosync::log_file::DailyLog;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Daily files `amosync-desktop.YYYY-MM-DD.log`; older ones beyond this are deleted.
const KEEP_FILES: usize = 7;

/// Logs to stderr and, when `dir` can be used, to the rolling file there.
/// Safe to call twice (the second call changes nothing).
pub fn init(dir: Option<&Path>) {
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let stderr = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let (file, failure) = match dir.map(appender) {
        Some(Ok(appender)) => (Some(appender), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    // A blocking writer (not `non_blocking`): the volume is small and no line
    // is lost when the process exits without unwinding.
    let file = file.map(|appender| {
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(appender)
    });
    let _ = tracing_subscriber::registry()
        .with(filter())
        .with(stderr)
        .with(file)
        .try_init();
    match (dir, failure) {
        (Some(dir), None) => tracing::info!(dir = %dir.display(), "logging to a daily file"),
        (Some(dir), Some(e)) => {
            tracing::warn!(dir = %dir.display(), "cannot log to a file, stderr only: {e}")
        }
        (None, _) => tracing::warn!("no log folder, logging to stderr only"),
    }
}

fn appender(dir: &Path) -> Result<DailyLog, String> {
    DailyLog::open(dir, "amosync-desktop", KEEP_FILES).map_err(|e| e.to_string())
}
