//! The query commands: one [`Query`] type, answered from the store directly
//! or — when `amosync serve` holds the store — by the serving process over
//! the control channel, with the same JSON either way.

use std::time::{Duration, Instant};

use amosync_store::{
    ContactsQuery, EventLogQuery, FunnelQuery, LeadsQuery, Store, StoreError, TalksQuery, TimeRange,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cli::output::{self, StatusContext};
use crate::config::DataDir;
use crate::control::ServeFile;
use crate::control::client::ControlClient;
use crate::desktop::ChatsQuery;
use crate::desktop::read;
use crate::{AppError, ErrorCode};

/// Every read the CLI offers; also the control channel's request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "query", rename_all = "snake_case")]
pub enum Query {
    Status,
    Leads {
        search: Option<String>,
        pipeline: Option<u64>,
        status: Option<u64>,
        limit: Option<usize>,
        offset: usize,
        include_deleted: bool,
    },
    Lead {
        id: u64,
    },
    Contacts {
        search: Option<String>,
        limit: Option<usize>,
        offset: usize,
        include_deleted: bool,
    },
    Contact {
        id: u64,
    },
    Funnel {
        pipeline: Option<u64>,
        time_in_status: bool,
        #[serde(default)]
        created: Option<TimeRange>,
        #[serde(default)]
        closed: Option<TimeRange>,
        #[serde(default)]
        responsible: Vec<u64>,
    },
    Talks {
        lead: Option<u64>,
        limit: Option<usize>,
    },
    Events {
        limit: Option<usize>,
        after: Option<u64>,
        pending: bool,
        oldest_first: bool,
    },
    /// The desktop's account header and filter choices ([`read::account_view`]).
    AccountView,
    /// A window of the desktop's leads table ([`read::leads_page`]).
    LeadsPage {
        #[serde(default)]
        filter: LeadsQuery,
    },
    /// The desktop's lead panel ([`read::lead_card`]).
    LeadCard {
        id: u64,
    },
    /// The desktop's chats view ([`read::chats_view`]).
    ChatsView {
        #[serde(default)]
        filter: ChatsQuery,
    },
    /// The newest talks as chats view rows, no counts
    /// ([`read::newest_talks`]; the notification pump's question).
    NewestTalks {
        limit: usize,
    },
}

fn not_found(what: &str, id: u64) -> AppError {
    AppError::new(
        ErrorCode::NotFound,
        format!(
            "{what} {id} is not in the store; run `amosync sync` (or keep `amosync serve` running) to fetch the latest data from amoCRM"
        ),
    )
}

/// Answers `query` from `store` (blocking: redb reads).
pub fn execute(store: &Store, ctx: &StatusContext, query: &Query) -> Result<Value, AppError> {
    Ok(match query {
        Query::Status => output::status(&store.status()?, ctx),
        Query::Leads {
            search,
            pipeline,
            status,
            limit,
            offset,
            include_deleted,
        } => {
            let page = store.leads(&LeadsQuery {
                search: search.clone(),
                pipeline_id: *pipeline,
                status_id: *status,
                include_deleted: *include_deleted,
                offset: *offset,
                limit: *limit,
                ..LeadsQuery::default()
            })?;
            Value::Array(page.items.iter().map(output::lead).collect())
        }
        Query::Lead { id } => {
            let detail = store.lead(*id)?.ok_or_else(|| not_found("lead", *id))?;
            output::lead_detail(&detail)
        }
        Query::Contacts {
            search,
            limit,
            offset,
            include_deleted,
        } => {
            let page = store.contacts(&ContactsQuery {
                search: search.clone(),
                include_deleted: *include_deleted,
                offset: *offset,
                limit: *limit,
            })?;
            Value::Array(page.items.iter().map(output::contact).collect())
        }
        Query::Contact { id } => {
            let detail = store
                .contact(*id)?
                .ok_or_else(|| not_found("contact", *id))?;
            output::contact_detail(&detail)
        }
        Query::Funnel {
            pipeline,
            time_in_status,
            created,
            closed,
            responsible,
        } => {
            let funnel = |pipeline_id: u64| {
                store.funnel(&FunnelQuery {
                    pipeline_id,
                    created: *created,
                    closed: *closed,
                    responsible_user_ids: responsible.clone(),
                    with_time_in_status: *time_in_status,
                })
            };
            match pipeline {
                Some(id) => {
                    let f = funnel(*id)?.ok_or_else(|| {
                        AppError::new(
                            ErrorCode::NotFound,
                            format!(
                                "pipeline {id} is not in the store; `amosync funnel` without --pipeline lists every pipeline"
                            ),
                        )
                    })?;
                    to_json(&f)
                }
                None => {
                    let mut all = Vec::new();
                    for p in store.pipelines()? {
                        if let Some(f) = funnel(p.id)? {
                            all.push(to_json(&f));
                        }
                    }
                    Value::Array(all)
                }
            }
        }
        Query::Talks { lead, limit } => {
            let talks = store.talks(&TalksQuery {
                lead_id: *lead,
                limit: *limit,
                ..TalksQuery::default()
            })?;
            Value::Array(talks.iter().map(output::talk).collect())
        }
        Query::Events {
            limit,
            after,
            pending,
            oldest_first,
        } => to_json(&store.events(&EventLogQuery {
            newest_first: !oldest_first,
            after: *after,
            pending_only: *pending,
            limit: *limit,
        })?),
        Query::AccountView => to_json(&read::account_view(store)?),
        Query::LeadsPage { filter } => to_json(&read::leads_page(store, filter)?),
        Query::LeadCard { id } => to_json(&read::lead_card(store, *id)?),
        Query::ChatsView { filter } => to_json(&read::chats_view(store, filter)?),
        Query::NewestTalks { limit } => to_json(&read::newest_talks(store, *limit)?),
    })
}

fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// The context of queries other than `status` (they never read secrets).
pub fn bare_context(data: &DataDir, serve: Option<Value>) -> StatusContext {
    StatusContext {
        data_dir: data.root().display().to_string(),
        data_dir_warning: None,
        store_path: data.store_path().display().to_string(),
        credentials: None,
        credentials_present: false,
        auth: None,
        reconnect: None,
        tunnel_provider: None,
        secrets_error: None,
        serve,
        // Only `status` shows it (and builds its own context).
        retention_days: crate::config::DEFAULT_RETENTION_DAYS,
    }
}

/// The retention `serve` applies in this folder (the default when
/// `config.json` is missing, damaged or out of range: `serve` says why).
fn retention_days(data: &DataDir) -> u32 {
    data.load_config()
        .ok()
        .flatten()
        .and_then(|c| c.retention_days().ok())
        .unwrap_or(crate::config::DEFAULT_RETENTION_DAYS)
}

/// The context a query needs: the secrets' whereabouts only for `status`.
pub async fn context_for(query: &Query, data: &DataDir, serve: Option<Value>) -> StatusContext {
    if *query == Query::Status {
        status_context(data, serve).await
    } else {
        bare_context(data, serve)
    }
}

/// What `status` says besides the store: folder, credentials, the server.
pub async fn status_context(data: &DataDir, serve: Option<Value>) -> StatusContext {
    let (credentials, doc) = match crate::auth::Secrets::open(data) {
        Ok(secrets) => {
            let location = Some(secrets.location());
            (location, secrets.load().await)
        }
        Err(e) => (None, Err(e)),
    };
    let (present, auth, reconnect, tunnel, error) = match doc {
        Ok(doc) => (
            doc.credentials().is_some(),
            doc.auth.as_ref().map(|a| a.kind()),
            doc.reconnect.clone(),
            doc.tunnel
                .as_ref()
                .and_then(|t| t.get("provider"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            None,
        ),
        Err(e) => (false, None, None, None, Some(e.message)),
    };
    StatusContext {
        data_dir: data.root().display().to_string(),
        data_dir_warning: data.access_warning(),
        store_path: data.store_path().display().to_string(),
        credentials,
        credentials_present: present,
        auth,
        reconnect,
        tunnel_provider: tunnel,
        secrets_error: error,
        serve,
        retention_days: retention_days(data),
    }
}

/// The connected data folder's message when nothing is connected.
pub fn not_connected(data: &DataDir) -> AppError {
    AppError::new(
        ErrorCode::NotConnected,
        format!(
            "no amoCRM account is connected to {}; run `amosync connect --subdomain SUB --client-id ID --client-secret SECRET --redirect-uri URI` (or `--token TOKEN` for a long-lived token; or `amosync demo`) first",
            data.root().display()
        ),
    )
}

/// Opens the store off the async threads.
pub async fn open_store(data: &DataDir) -> Result<Store, StoreError> {
    let path = data.store_path();
    match tokio::task::spawn_blocking(move || Store::open(&path)).await {
        Ok(result) => result,
        Err(e) => Err(StoreError::Io(format!("opening the store failed: {e}"))),
    }
}

/// What [`open_store_waiting`] got.
pub enum Opened<T> {
    /// This process holds the store.
    Store(Store),
    /// Another process holds it, and `on_locked` said who.
    Held(T),
}

/// Opens the store; while another process holds it, asks `on_locked` at
/// each attempt (`Some` ends the wait with its answer) and retries every
/// 100 ms for up to `within`, then fails with `busy()`.
pub async fn open_store_waiting<T>(
    data: &DataDir,
    within: Duration,
    mut on_locked: impl FnMut() -> Result<Option<T>, AppError>,
    busy: impl FnOnce() -> AppError,
) -> Result<Opened<T>, AppError> {
    let started = Instant::now();
    loop {
        match open_store(data).await {
            Ok(store) => return Ok(Opened::Store(store)),
            Err(StoreError::Locked { .. }) => {
                if let Some(answer) = on_locked()? {
                    return Ok(Opened::Held(answer));
                }
                if started.elapsed() >= within {
                    return Err(busy());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Who answers a query.
pub enum Target {
    /// This process holds the store.
    Local(Store),
    /// A running `amosync serve` holds it.
    Remote(ControlClient),
}

/// How long a query waits for a starting `serve` to publish its control URL.
const SERVE_APPEARS_WITHIN: Duration = Duration::from_secs(5);

/// Opens the store, or finds the `serve` process that holds it.
pub async fn target(data: &DataDir) -> Result<Target, AppError> {
    if data.load_config()?.is_none() || !data.store_path().exists() {
        return Err(not_connected(data));
    }
    let busy = || {
        AppError::new(
            ErrorCode::StoreUnavailable,
            format!(
                "the store in {} is in use by another process that takes no queries (the desktop app?); close it, or query while `amosync serve` runs",
                data.root().display()
            ),
        )
    };
    let opened = open_store_waiting(
        data,
        SERVE_APPEARS_WITHIN,
        || ControlClient::discover(data),
        busy,
    )
    .await?;
    Ok(match opened {
        Opened::Store(store) => {
            ServeFile::remove_if_stale(data);
            Target::Local(store)
        }
        Opened::Held(client) => Target::Remote(client),
    })
}

/// Runs one query wherever the store is.
pub async fn run(data: &DataDir, query: Query) -> Result<Value, AppError> {
    if query == Query::Status && (data.load_config()?.is_none() || !data.store_path().exists()) {
        return Ok(output::status_unconnected(
            &status_context(data, None).await,
        ));
    }
    match target(data).await? {
        Target::Local(store) => {
            let ctx = context_for(&query, data, None).await;
            tokio::task::spawn_blocking(move || execute(&store, &ctx, &query))
                .await
                .map_err(|e| AppError::new(ErrorCode::Local, format!("the query failed: {e}")))?
        }
        Target::Remote(client) => client.query(&query).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn queries_travel_as_tagged_json() {
        let q = Query::Lead { id: 7 };
        let text = serde_json::to_value(&q).unwrap();
        assert_eq!(text, json!({"query": "lead", "id": 7}));
        let back: Query = serde_json::from_value(text).unwrap();
        assert_eq!(back, q);
        let status: Query = serde_json::from_value(json!({"query": "status"})).unwrap();
        assert_eq!(status, Query::Status);
    }

    #[test]
    fn desktop_view_queries_round_trip() {
        use crate::desktop::TalkState;
        let queries = [
            Query::AccountView,
            Query::LeadsPage {
                filter: LeadsQuery {
                    search: Some("Иванов".into()),
                    pipeline_id: Some(8580102),
                    offset: 200,
                    limit: Some(200),
                    ..LeadsQuery::default()
                },
            },
            Query::LeadCard { id: 7 },
            Query::NewestTalks { limit: 200 },
            Query::ChatsView {
                filter: ChatsQuery {
                    channel: Some("telegram".into()),
                    state: Some(TalkState::Unread),
                    limit: Some(50),
                },
            },
        ];
        for q in queries {
            let text = serde_json::to_value(&q).unwrap();
            let back: Query = serde_json::from_value(text.clone()).unwrap();
            assert_eq!(back, q, "{text}");
        }
        assert_eq!(
            serde_json::to_value(Query::LeadCard { id: 7 }).unwrap(),
            json!({"query": "lead_card", "id": 7})
        );
        assert_eq!(
            serde_json::to_value(Query::AccountView).unwrap(),
            json!({"query": "account_view"})
        );
        let page = serde_json::to_value(Query::LeadsPage {
            filter: LeadsQuery::default(),
        })
        .unwrap();
        assert_eq!(page["query"], "leads_page");
        assert_eq!(page["filter"]["offset"], 0);
        // A bare request takes the default filter.
        let bare: Query = serde_json::from_value(json!({"query": "chats_view"})).unwrap();
        assert_eq!(
            bare,
            Query::ChatsView {
                filter: ChatsQuery::default()
            }
        );
    }

    #[tokio::test]
    async fn an_empty_folder_is_not_connected() {
        let tmp = tempfile::tempdir().unwrap();
        let data = DataDir::new(tmp.path());
        let err = run(&data, Query::Lead { id: 1 }).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::NotConnected);
        assert!(err.message.contains("amosync connect"));
        let status = run(&data, Query::Status).await.unwrap();
        assert_eq!(status["connected"], json!(false));
        assert_eq!(status["event_log"], json!(null));
        assert!(
            !data.store_path().exists(),
            "status must not create a store"
        );
    }

    #[tokio::test]
    async fn status_shows_the_event_logs_size_and_retention() {
        let tmp = tempfile::tempdir().unwrap();
        let data = DataDir::new(tmp.path());
        data.ensure().unwrap();
        let mut config = crate::config::Config {
            base_url: "http://127.0.0.1:9".into(),
            listen: crate::config::Config::default_listen(),
            retention_days: None,
        };
        data.save_config(&config).unwrap();
        let body = b"leads%5Badd%5D%5B0%5D%5Bid%5D=1".to_vec();
        let body_len = body.len() as u64;
        Store::open(&data.store_path())
            .unwrap()
            .append_events(&[amosync_store::RawEvent {
                received_at_ms: 1_760_000_000_000,
                body,
            }])
            .unwrap();
        let status = run(&data, Query::Status).await.unwrap();
        // Key (8) + received-at (8) + outcome length (4) + body.
        assert_eq!(
            status["event_log"],
            json!({"entries": 1, "pending": 1, "bytes": 20 + body_len, "retention_days": 30})
        );
        // The counts keep their fields.
        assert_eq!(status["counts"]["events_logged"], json!(1));
        config.retention_days = Some(7);
        data.save_config(&config).unwrap();
        let status = run(&data, Query::Status).await.unwrap();
        assert_eq!(status["event_log"]["retention_days"], json!(7));
    }
}
