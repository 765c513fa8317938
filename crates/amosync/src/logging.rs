//! `tracing` set-up shared by the binaries.

use tracing_subscriber::EnvFilter;

/// Logs to stderr, filtered by `RUST_LOG` (default `info`). Safe to call twice.
pub fn init_stderr() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The `amosync` command's logs on stderr. By default a one-shot command
/// logs nothing — its outcome is its output or its one error line — and
/// `serve`/`demo` (`long_running`) log at `warn`; `-v` info, `-vv` debug;
/// `RUST_LOG` overrides. Safe to call twice.
pub fn init_cli(verbose: u8, long_running: bool) {
    let default = cli_default_filter(verbose, long_running);
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

/// The filter of [`init_cli`] when `RUST_LOG` is not set.
pub fn cli_default_filter(verbose: u8, long_running: bool) -> &'static str {
    match (verbose, long_running) {
        (0, false) => "off",
        (0, true) => "warn",
        (1, _) => "info",
        _ => "debug",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_shot_commands_are_quiet_by_default() {
        assert_eq!(cli_default_filter(0, false), "off");
        assert_eq!(cli_default_filter(0, true), "warn");
        assert_eq!(cli_default_filter(1, false), "info");
        assert_eq!(cli_default_filter(2, true), "debug");
    }
}
