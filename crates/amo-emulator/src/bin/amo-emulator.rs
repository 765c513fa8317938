//! `amo-emulator [--listen 127.0.0.1:PORT] [--seed S] [--leads N] [--now UNIX]`
//!
//! Prints `base_url: …` and `token: …` on stdout (two lines, flushed), then
//! logs to stderr until Ctrl-C or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use amo_emulator::{Emulator, EmulatorConfig};
use clap::Parser;
use clap::error::ErrorKind;

#[derive(Debug, Parser)]
#[command(
    name = "amo-emulator",
    version,
    about = "A local amoCRM account: API v4, webhooks, limits, faults"
)]
struct Cli {
    /// Loopback address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Seed of the generated account.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// How many leads to generate.
    #[arg(long, default_value_t = 300)]
    leads: usize,
    /// The "now" (unix seconds) the history is generated around; default: the system time.
    #[arg(long)]
    now: Option<i64>,
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let rendered = e.render().to_string();
            let line = rendered
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid arguments");
            eprintln!("amo-emulator: {}", line.trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("amo-emulator: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let config = EmulatorConfig {
            listen: cli.listen,
            seed: cli.seed,
            leads: cli.leads,
            now: cli.now,
            ..Default::default()
        };
        let emu = match Emulator::start(config).await {
            Ok(emu) => emu,
            Err(e) => {
                eprintln!("amo-emulator: {e}");
                return ExitCode::from(2);
            }
        };
        let mut out = std::io::stdout().lock();
        let printed = writeln!(out, "base_url: {}", emu.base_url())
            .and_then(|()| writeln!(out, "token: {}", emu.token()))
            .and_then(|()| out.flush());
        drop(out);
        if let Err(e) = printed {
            eprintln!("amo-emulator: cannot write to stdout: {e}");
        }
        wait_for_signal().await;
        tracing::info!("signal received, shutting down");
        emu.shutdown().await;
        ExitCode::SUCCESS
    })
}
