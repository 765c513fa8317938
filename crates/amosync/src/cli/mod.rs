//! The `amosync` command line: parse in `src/bin/amosync.rs`, run here.
//!
//! Every command prints JSON on stdout (or the `serve` lines) and returns an
//! [`AppError`] — printed as one line on stderr, exit code 1. Usage errors
//! exit with 2 (clap), success with 0.

pub mod args;
pub mod connect;
pub mod demo;
pub mod disconnect;
pub mod links;
pub mod oauth;
pub mod output;
pub mod query;
pub mod serve;
pub mod shutdown;
pub mod tunnel;

use std::io::Write;

use amo::Secret;
use amosync_store::TimeRange;
use amosync_sync::{CatchupOptions, SystemClock, catch_up};
use serde_json::Value;

use crate::cli::args::{Cli, Command};
use crate::cli::query::{Query, Target};
use crate::cli::shutdown::Shutdown;
use crate::config::DataDir;
use crate::{AppError, ErrorCode};

/// Environment variable read when `connect` gets no `--token`.
pub const TOKEN_ENV: &str = "AMOSYNC_TOKEN";
/// Environment variable read when `connect` gets no `--client-secret`.
pub const CLIENT_SECRET_ENV: &str = "AMOSYNC_CLIENT_SECRET";

/// Runs a parsed command line to its end.
pub async fn run(cli: Cli) -> Result<(), AppError> {
    let value = match cli.command {
        Command::Connect(args) => {
            let data = DataDir::resolve(args.data.data.as_deref())?;
            let explicit_base = args.base_url.is_some();
            let base_url = match (args.base_url, args.subdomain) {
                (Some(url), _) => url,
                (None, Some(sub)) => connect::base_url_for_subdomain(&sub)?,
                (None, None) => {
                    return Err(AppError::new(
                        ErrorCode::InvalidInput,
                        "pass --subdomain SUB or --base-url URL",
                    ));
                }
            };
            let base_url = if args.kommo && !explicit_base {
                base_url.replace(".amocrm.ru", ".kommo.com")
            } else {
                base_url
            };
            if let Some(client_id) = args.client_id {
                let client_secret = args
                    .client_secret
                    .map(Secret::into_inner)
                    .or_else(|| std::env::var(CLIENT_SECRET_ENV).ok())
                    .filter(|t| !t.trim().is_empty())
                    .ok_or_else(|| {
                        AppError::new(
                            ErrorCode::InvalidInput,
                            format!("pass the integration's secret key with --client-secret SECRET (or set {CLIENT_SECRET_ENV})"),
                        )
                    })?;
                oauth::connect_oauth(
                    &data,
                    oauth::OAuthConnect {
                        app: amo::oauth::OAuthApp {
                            client_id: client_id.trim().to_owned(),
                            client_secret: Secret::new(client_secret.trim().to_owned()),
                            redirect_uri: args.redirect_uri.unwrap_or_default(),
                        },
                        base_url: connect::normalize_base_url(&base_url)?,
                        code: args.code,
                        wait: std::time::Duration::from_secs(args.wait.max(1)),
                        listen: args.listen,
                    },
                )
                .await?
            } else {
                let token = args
                    .token
                    .map(Secret::into_inner)
                    .or_else(|| std::env::var(TOKEN_ENV).ok())
                    .filter(|t| !t.trim().is_empty())
                    .ok_or_else(|| {
                        AppError::new(
                            ErrorCode::InvalidInput,
                            format!(
                                "pass --client-id ID --client-secret SECRET --redirect-uri URI (OAuth), or a long-lived token with --token TOKEN (or set {TOKEN_ENV})"
                            ),
                        )
                    })?;
                connect::connect(
                    &data,
                    connect::ConnectRequest {
                        base_url,
                        auth: crate::auth::AuthSecrets::LongLived {
                            token: Secret::new(token.trim().to_owned()),
                        },
                        listen: args.listen,
                    },
                )
                .await?
            }
        }
        Command::Disconnect(args) => disconnect::disconnect(&resolve(&args.data)?).await?,
        Command::Tunnel(args) => {
            let data = resolve(&args.data)?;
            tunnel::tunnel(&data, args).await?
        }
        Command::Serve(args) => {
            // First: from here on SIGINT/SIGTERM stop cleanly.
            let shutdown = Shutdown::signals()?;
            let data = DataDir::resolve(args.data.data.as_deref())?;
            let options = serve::ServeOptions {
                listen: args.listen,
                no_tunnel: args.no_tunnel,
                retention_days: args.retention_days,
            };
            return serve::serve(&data, options, shutdown).await;
        }
        Command::Demo(args) => {
            let shutdown = Shutdown::signals()?;
            let data = DataDir::resolve(args.data.as_deref())?;
            let run = demo::DemoRun {
                data,
                leads: args.leads,
                now: args.now,
                listen: args.listen,
            };
            return demo::run(run, shutdown).await;
        }
        Command::WebhookUrl(args) => {
            let data = DataDir::resolve(args.data.data.as_deref())?;
            let Value::String(url) = serve::webhook_url(&data).await? else {
                unreachable!("webhook_url returns a string")
            };
            print_line(&url);
            return Ok(());
        }
        Command::Sync(args) => {
            let data = DataDir::resolve(args.data.data.as_deref())?;
            sync_once(&data).await?
        }
        Command::Status(args) => query::run(&resolve(&args.data)?, Query::Status).await?,
        Command::Leads(args) => {
            let query = Query::Leads {
                search: args.search,
                pipeline: args.pipeline,
                status: args.status,
                limit: args.limit,
                offset: args.offset,
                include_deleted: args.include_deleted,
            };
            query::run(&resolve(&args.common.data)?, query).await?
        }
        Command::Lead(args) => {
            query::run(&resolve(&args.common.data)?, Query::Lead { id: args.id }).await?
        }
        Command::Contacts(args) => {
            let query = Query::Contacts {
                search: args.search,
                limit: args.limit,
                offset: args.offset,
                include_deleted: args.include_deleted,
            };
            query::run(&resolve(&args.common.data)?, query).await?
        }
        Command::Contact(args) => {
            query::run(&resolve(&args.common.data)?, Query::Contact { id: args.id }).await?
        }
        Command::Funnel(args) => {
            let range = |from: Option<i64>, to: Option<i64>| {
                (from.is_some() || to.is_some()).then_some(TimeRange { from, to })
            };
            let query = Query::Funnel {
                pipeline: args.pipeline,
                time_in_status: args.time_in_status,
                created: range(args.created_from, args.created_to),
                closed: range(args.closed_from, args.closed_to),
                responsible: args.responsible.clone(),
            };
            query::run(&resolve(&args.common.data)?, query).await?
        }
        Command::Talks(args) => {
            let query = Query::Talks {
                lead: args.lead,
                limit: args.limit,
            };
            query::run(&resolve(&args.common.data)?, query).await?
        }
        Command::Events(args) => {
            let query = Query::Events {
                limit: args.limit,
                after: args.after,
                pending: args.pending,
                oldest_first: args.oldest_first,
            };
            query::run(&resolve(&args.common.data)?, query).await?
        }
    };
    print_json(&value);
    Ok(())
}

fn resolve(data: &args::DataArgs) -> Result<DataDir, AppError> {
    DataDir::resolve(data.data.as_deref())
}

/// `amosync sync`: one catch-up pass here, or by the running `serve`.
pub async fn sync_once(data: &DataDir) -> Result<Value, AppError> {
    let connected = serve::connected(data).await?;
    let config = &connected.config;
    match query::target(data).await? {
        Target::Local(store) => {
            let (client, _) = connect::client_for(
                &config.base_url,
                &connected.credentials,
                &connected.secrets,
                connected.reconnect.clone(),
                connect::Patience::Background,
            )?;
            let report = catch_up(&store, &client, &SystemClock, &CatchupOptions::default())
                .await
                .map_err(|e| match e {
                    amosync_sync::SyncError::Api(api) => connect::api_error(api, &config.base_url),
                    other => other.into(),
                })?;
            Ok(serde_json::to_value(report).unwrap_or(Value::Null))
        }
        Target::Remote(client) => client.sync().await,
    }
}

/// One line on stdout, flushed (the `serve` lines are read as they come).
pub(crate) fn print_line(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn print_json(value: &Value) {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into());
    print_line(&text);
}

/// The one stderr line for an error: `amosync: <message> [<Code>]`.
pub fn error_line(err: &AppError) -> String {
    let message: String = err
        .message
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    format!("amosync: {message} [{:?}]", err.code)
}
