//! `amosync`: the headless AmoSync (connect, serve, sync, queries as JSON).
//! Parsing and dispatch only; the work is in `amosync::cli`.

use std::process::ExitCode;

use amosync::cli::{self, args::Cli};
use clap::Parser;
use clap::error::ErrorKind;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return ExitCode::from(2);
        }
        Err(e) => {
            let rendered = e.render().to_string();
            let line = rendered
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid arguments");
            eprintln!(
                "amosync: {} (see `amosync --help`)",
                line.trim_start_matches("error: ")
            );
            return ExitCode::from(2);
        }
    };
    amosync::logging::init_cli(cli.verbose, cli.command.is_long_running());
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("amosync: cannot start the async runtime ({e})");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(cli::run(cli));
    // Background tasks (a stuck connection, say) must not hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{}", cli::error_line(&err));
            ExitCode::FAILURE
        }
    }
}
