//! The command line (clap). Parsing only: `cli::run` dispatches.

use std::net::SocketAddr;
use std::path::PathBuf;

use amo::Secret;
use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "amosync",
    version,
    about = "AmoSync headless: mirror an amoCRM (Kommo) account into a local store and query it as JSON",
    after_help = "Data folder: --data DIR, else $AMOSYNC_DATA, else the OS data directory (~/.local/share/amosync on Linux).\n\
                  Exit codes: 0 ok, 1 error (one line on stderr), 2 usage error."
)]
pub struct Cli {
    /// More logs on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Data folder (store, config, credentials).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct JsonArgs {
    /// Print JSON (the default and, for now, the only format).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Bind the data folder to an amoCRM account with a long-lived token.
    Connect(ConnectArgs),
    /// Remove AmoSync's webhook from amoCRM and forget the tokens; the store
    /// is kept for offline review.
    Disconnect(DisconnectArgs),
    /// Choose how amoCRM reaches the webhook receiver (prints the choice).
    Tunnel(TunnelArgs),
    /// Receive webhooks and keep the store in sync until SIGINT/SIGTERM.
    Serve(ServeArgs),
    /// Print the local webhook receiver URL (with its secret).
    WebhookUrl(WebhookUrlArgs),
    /// One catch-up pass (a full pull the first time); prints a JSON report.
    Sync(QueryCommon),
    /// What the store holds, how it syncs, where credentials are kept.
    Status(QueryCommon),
    /// Leads as a JSON array (amoCRM API v4 shape plus `_sync`).
    Leads(LeadsArgs),
    /// One lead with its contacts, notes, talks, messages and status history.
    Lead(IdArgs),
    /// Contacts as a JSON array.
    Contacts(ContactsArgs),
    /// One contact with its leads, notes and talks.
    Contact(IdArgs),
    /// The funnel of one pipeline, or of every pipeline.
    Funnel(FunnelArgs),
    /// Chat talks, newest activity first.
    Talks(TalksArgs),
    /// The raw webhook event log.
    Events(EventsArgs),
    /// Start the built-in emulator with sample data, connect and serve it.
    Demo(DemoArgs),
}

impl Command {
    /// `serve` and `demo` run until a signal; the others do one thing and exit.
    pub fn is_long_running(&self) -> bool {
        matches!(self, Command::Serve(_) | Command::Demo(_))
    }
}

/// `--token`: kept as a [`Secret`] from the start, so `Debug` prints `***`.
fn secret(raw: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::new(raw.to_owned()))
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("account").required(true).args(["base_url", "subdomain"])))]
pub struct ConnectArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The account's subdomain: SUB → https://SUB.amocrm.ru.
    #[arg(long, value_name = "SUB")]
    pub subdomain: Option<String>,
    /// The account's API base URL (Kommo: https://SUB.kommo.com; the emulator: http://127.0.0.1:PORT).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// With --subdomain: a Kommo account (SUB.kommo.com).
    #[arg(long)]
    pub kommo: bool,
    /// Long-lived token of a private integration ($AMOSYNC_TOKEN if omitted
    /// and no --client-id is given).
    #[arg(long, value_name = "TOKEN", value_parser = secret, conflicts_with = "client_id")]
    pub token: Option<Secret>,
    /// OAuth: the integration id ("ID интеграции").
    #[arg(long, value_name = "ID", requires_all = ["client_secret", "redirect_uri"])]
    pub client_id: Option<String>,
    /// OAuth: the integration's secret key ($AMOSYNC_CLIENT_SECRET if omitted).
    #[arg(long, value_name = "SECRET", value_parser = secret)]
    pub client_secret: Option<Secret>,
    /// OAuth: the redirect URI exactly as in the integration (a loopback
    /// http://127.0.0.1:PORT/… is listened on; any other is pasted back).
    #[arg(long, value_name = "URI")]
    pub redirect_uri: Option<String>,
    /// OAuth: finish with this code (from the integration's settings, or
    /// the redirect's `code=`) instead of waiting for the browser.
    #[arg(long, value_name = "CODE", value_parser = secret, requires = "client_id")]
    pub code: Option<Secret>,
    /// OAuth: how long to wait for the browser (seconds; codes live 20 min).
    #[arg(long, value_name = "SECS", default_value_t = 1200)]
    pub wait: u64,
    /// Where `serve` will listen for webhooks (kept in config.json).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
}

#[derive(Debug, Clone, Args)]
pub struct DisconnectArgs {
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Debug, Clone, Args)]
pub struct TunnelArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// ngrok (authtoken + optional static domain), cloudflared (quick
    /// tunnel), url (your own reverse proxy), bore (a bore server), none.
    #[arg(long, value_name = "PROVIDER")]
    pub provider: Option<String>,
    /// ngrok: the authtoken ($AMOSYNC_NGROK_AUTHTOKEN if omitted).
    #[arg(long, value_name = "TOKEN", value_parser = secret)]
    pub authtoken: Option<Secret>,
    /// ngrok: the account's static domain (a stable URL).
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Option<String>,
    /// url: the public https URL your reverse proxy forwards to the receiver.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// bore: the server, HOST[:PORT] (default port 7835).
    #[arg(long, value_name = "HOST")]
    pub server: Option<String>,
    /// bore: the server's secret, if it has one.
    #[arg(long, value_name = "SECRET", value_parser = secret)]
    pub secret: Option<Secret>,
    /// bore: the https:// address of the TLS proxy in front of the bore
    /// server's public port (needed for an account not on this machine).
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Loopback address of the webhook receiver (port 0 = any free port);
    /// saved for the next start. Default: the saved one, else 127.0.0.1:8787.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Serve on the local address only (currently the only mode).
    #[arg(long)]
    pub no_tunnel: bool,
    /// Days applied and rejected webhook bodies stay in the event log
    /// (1-3650; unapplied ones stay until applied); saved for the next
    /// start. Default: the saved one, else 30.
    #[arg(long, value_name = "DAYS")]
    pub retention_days: Option<u32>,
}

#[derive(Debug, Args)]
pub struct WebhookUrlArgs {
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Debug, Args)]
pub struct QueryCommon {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub json: JsonArgs,
}

#[derive(Debug, Args)]
pub struct IdArgs {
    /// The amoCRM id.
    pub id: u64,
    #[command(flatten)]
    pub common: QueryCommon,
}

#[derive(Debug, Args)]
pub struct LeadsArgs {
    #[command(flatten)]
    pub common: QueryCommon,
    /// Text in the name, tags, or a linked contact's name, phone or e-mail.
    #[arg(long)]
    pub search: Option<String>,
    /// Only this pipeline.
    #[arg(long, value_name = "ID")]
    pub pipeline: Option<u64>,
    /// Only this status (142 won, 143 lost; with --pipeline for one pipeline).
    #[arg(long, value_name = "ID")]
    pub status: Option<u64>,
    /// At most this many (default 100).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Skip this many.
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    /// Also deleted leads.
    #[arg(long)]
    pub include_deleted: bool,
}

#[derive(Debug, Args)]
pub struct ContactsArgs {
    #[command(flatten)]
    pub common: QueryCommon,
    /// Text in the name, phone or e-mail.
    #[arg(long)]
    pub search: Option<String>,
    /// At most this many (default 100).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Skip this many.
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    /// Also deleted contacts.
    #[arg(long)]
    pub include_deleted: bool,
}

#[derive(Debug, Args)]
pub struct FunnelArgs {
    #[command(flatten)]
    pub common: QueryCommon,
    /// One pipeline (an object); without it, every pipeline (an array).
    #[arg(long, value_name = "ID")]
    pub pipeline: Option<u64>,
    /// Also the median time leads spend in each status (slower).
    #[arg(long)]
    pub time_in_status: bool,
    /// Only leads created at or after this moment (`YYYY-MM-DD`, UTC midnight, or unix seconds).
    #[arg(long, value_name = "DATE", value_parser = moment)]
    pub created_from: Option<i64>,
    /// Only leads created before this moment (`YYYY-MM-DD` or unix seconds; exclusive).
    #[arg(long, value_name = "DATE", value_parser = moment)]
    pub created_to: Option<i64>,
    /// Only leads closed (won or lost) at or after this moment; open leads are left out.
    #[arg(long, value_name = "DATE", value_parser = moment)]
    pub closed_from: Option<i64>,
    /// Only leads closed before this moment (exclusive); open leads are left out.
    #[arg(long, value_name = "DATE", value_parser = moment)]
    pub closed_to: Option<i64>,
    /// Only leads of this responsible user (repeat for several).
    #[arg(long = "responsible", value_name = "USER_ID")]
    pub responsible: Vec<u64>,
}

/// `YYYY-MM-DD` (UTC midnight) or unix seconds.
fn moment(raw: &str) -> Result<i64, String> {
    if let Ok(unix) = raw.parse::<i64>() {
        return Ok(unix);
    }
    chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc().timestamp())
        .map_err(|_| format!("'{raw}' is neither a date like 2026-11-01 nor unix seconds"))
}

#[derive(Debug, Args)]
pub struct TalksArgs {
    #[command(flatten)]
    pub common: QueryCommon,
    /// Only talks of this lead.
    #[arg(long, value_name = "ID")]
    pub lead: Option<u64>,
    /// At most this many (default 100).
    #[arg(long)]
    pub limit: Option<usize>,
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    #[command(flatten)]
    pub common: QueryCommon,
    /// At most this many (default 100).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Only entries after this sequence number.
    #[arg(long, value_name = "SEQ")]
    pub after: Option<u64>,
    /// Only entries not applied yet.
    #[arg(long)]
    pub pending: bool,
    /// Oldest first (default: newest first).
    #[arg(long)]
    pub oldest_first: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Data folder; the demo uses its `demo` sub-folder, wiped at every start.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Sample leads in the demo account.
    #[arg(long, default_value_t = crate::demo::DEFAULT_DEMO_LEADS)]
    pub leads: usize,
    /// Loopback address of the webhook receiver (default: any free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// The "now" (unix seconds) the sample history is generated around.
    #[arg(long, value_name = "UNIX")]
    pub now: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn connect_needs_an_account_address() {
        let err = Cli::try_parse_from(["amosync", "connect", "--token", "t"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(Cli::try_parse_from(["amosync", "connect", "--subdomain", "x"]).is_ok());
        assert!(
            Cli::try_parse_from(["amosync", "connect", "--subdomain", "x", "--base-url", "y"])
                .is_err()
        );
    }

    #[test]
    fn debug_never_shows_the_token() {
        let cli = Cli::try_parse_from([
            "amosync",
            "connect",
            "--subdomain",
            "x",
            "--token",
            "tok-very-secret-42",
        ])
        .unwrap();
        let text = format!("{cli:?}");
        assert!(!text.contains("tok-very-secret-42"), "{text}");
        assert!(text.contains("***"), "{text}");
        match cli.command {
            Command::Connect(args) => {
                assert_eq!(args.token.unwrap().expose(), "tok-very-secret-42")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn only_serve_and_demo_run_long() {
        let long = |args: &[&str]| Cli::try_parse_from(args).unwrap().command.is_long_running();
        assert!(long(&["amosync", "serve"]));
        assert!(long(&["amosync", "demo"]));
        assert!(!long(&["amosync", "sync"]));
        assert!(!long(&["amosync", "connect", "--subdomain", "x"]));
    }

    #[test]
    fn queries_accept_json_and_data() {
        let cli =
            Cli::try_parse_from(["amosync", "lead", "42", "--data", "/tmp/d", "--json"]).unwrap();
        match cli.command {
            Command::Lead(args) => {
                assert_eq!(args.id, 42);
                assert_eq!(args.common.data.data, Some(PathBuf::from("/tmp/d")));
            }
            other => panic!("{other:?}"),
        }
    }
}
