//! `amo-emulator [--listen 127.0.0.1:PORT] [--seed S] [--leads N] [--now UNIX]
//! [--access-ttl-secs S] [--code-ttl-secs S] [--refresh-ttl-secs S] [--locked]`
//!
//! Prints `base_url: …` and `token: …` on stdout (two lines, flushed; with
//! `--locked` a third, `control_secret: …`), then logs to stderr until
//! Ctrl-C or SIGTERM. The control API is open by default: this is a test tool.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use amo_emulator::oauth::lifetimes::MAX_TTL_SECS;
use amo_emulator::seed::{MAX_LEADS as SEED_MAX_LEADS, MAX_NOW, MIN_NOW};
use amo_emulator::{ControlAccess, Emulator, EmulatorConfig, OAuthLifetimes};
use clap::Parser;
use clap::error::ErrorKind;

const MAX_LEADS: i64 = SEED_MAX_LEADS as i64;

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
    /// How many leads to generate (at most 1 000 000).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(0..=MAX_LEADS))]
    leads: u32,
    /// The "now" (unix seconds, 2000-01-01 ..= 2100-01-01) the history is
    /// generated around; default: the system time.
    #[arg(long, value_parser = clap::value_parser!(i64).range(MIN_NOW..=MAX_NOW))]
    now: Option<i64>,
    /// Lifetime of OAuth access tokens in seconds (`expires_in`).
    #[arg(long, default_value_t = OAuthLifetimes::default().access_ttl_secs, value_parser = clap::value_parser!(u64).range(1..=MAX_TTL_SECS))]
    access_ttl_secs: u64,
    /// Lifetime of OAuth authorization codes in seconds.
    #[arg(long, default_value_t = OAuthLifetimes::default().code_ttl_secs, value_parser = clap::value_parser!(u64).range(1..=MAX_TTL_SECS))]
    code_ttl_secs: u64,
    /// Lifetime of OAuth refresh tokens in seconds.
    #[arg(long, default_value_t = OAuthLifetimes::default().refresh_ttl_secs, value_parser = clap::value_parser!(u64).range(1..=MAX_TTL_SECS))]
    refresh_ttl_secs: u64,
    /// Lock the control API and the OAuth pages with a per-run secret (sent
    /// in X-Emulator-Secret; printed as `control_secret:`) and serve only
    /// requests whose Host is this loopback address.
    #[arg(long)]
    locked: bool,
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
            leads: usize::try_from(cli.leads).unwrap_or(SEED_MAX_LEADS),
            now: cli.now,
            oauth: OAuthLifetimes {
                access_ttl_secs: cli.access_ttl_secs,
                code_ttl_secs: cli.code_ttl_secs,
                refresh_ttl_secs: cli.refresh_ttl_secs,
            },
            access: if cli.locked {
                ControlAccess::Locked
            } else {
                ControlAccess::Open
            },
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
            .and_then(|()| match emu.control_secret() {
                Some(secret) => writeln!(out, "control_secret: {secret}"),
                None => Ok(()),
            })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_range_checked() {
        let parse = |args: &[&str]| Cli::try_parse_from([&["amo-emulator"], args].concat());
        assert!(parse(&[]).is_ok_and(|c| c.leads == 300 && c.now.is_none()));
        assert!(parse(&["--leads", "1000000"]).is_ok());
        assert!(parse(&["--leads", "1000001"]).is_err());
        assert!(parse(&["--leads", "-1"]).is_err());
        assert!(parse(&["--now", "1715000000"]).is_ok_and(|c| c.now == Some(1_715_000_000)));
        assert!(parse(&["--now", "-9223372036854775808"]).is_err());
        assert!(parse(&["--now", "9223372036854775807"]).is_err());
        assert!(parse(&["--now", "0"]).is_err());
        assert!(parse(&[]).is_ok_and(|c| c.access_ttl_secs == 86_400
            && c.code_ttl_secs == 1_200
            && c.refresh_ttl_secs == 90 * 86_400));
        assert!(parse(&["--access-ttl-secs", "1"]).is_ok_and(|c| c.access_ttl_secs == 1));
        assert!(parse(&["--access-ttl-secs", "0"]).is_err());
        assert!(parse(&["--refresh-ttl-secs", "999999999999"]).is_err());
        assert!(parse(&[]).is_ok_and(|c| !c.locked), "open by default");
        assert!(parse(&["--locked"]).is_ok_and(|c| c.locked));
    }
}
