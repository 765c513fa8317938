//! Asking a running `amosync serve` over its control channel.

use std::time::Duration;

use serde_json::Value;

use crate::AppError;
use crate::cli::query::Query;
use crate::config::{DataDir, local};
use crate::control::ServeFile;
use crate::control::server::{WATCH_MAX, WatchAnswer};

/// Keeps a status hash a plain URL value (it is hex from the server).
fn hex_only(hash: &str) -> String {
    hash.chars()
        .filter(char::is_ascii_hexdigit)
        .take(64)
        .collect()
}

/// Queries answer within this; a catch-up (possibly a full pull) within [`SYNC_TIMEOUT`].
const QUERY_TIMEOUT: Duration = Duration::from_secs(120);
const SYNC_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// A client of one running `serve`.
pub struct ControlClient {
    file: ServeFile,
    http: reqwest::Client,
}

impl std::fmt::Debug for ControlClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlClient")
            .field("file", &self.file)
            .finish()
    }
}

impl ControlClient {
    /// The live `serve` of this data folder, if any (stale files are removed).
    pub fn discover(data: &DataDir) -> Result<Option<ControlClient>, AppError> {
        let Some(file) = ServeFile::live(data)? else {
            return Ok(None);
        };
        Ok(Some(ControlClient::new(file)?))
    }

    pub fn new(file: ServeFile) -> Result<ControlClient, AppError> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(3))
            .build()
            .map_err(|e| local(format!("cannot build the control client ({e})")))?;
        Ok(ControlClient { file, http })
    }

    pub fn pid(&self) -> u32 {
        self.file.pid
    }

    /// The query's JSON as the serving process computed it.
    pub async fn query(&self, query: &Query) -> Result<Value, AppError> {
        self.post("/v1/query", Some(query), QUERY_TIMEOUT).await
    }

    /// A query given as its JSON (`{"query": "…", …}`): for request kinds
    /// this build's [`Query`] may not name yet. Same answer as [`Self::query`].
    pub async fn query_json(&self, query: &Value) -> Result<Value, AppError> {
        self.post("/v1/query", Some(query), QUERY_TIMEOUT).await
    }

    /// A catch-up pass run by the serving engine.
    pub async fn sync(&self) -> Result<Value, AppError> {
        self.post::<()>("/v1/sync", None, SYNC_TIMEOUT).await
    }

    /// A webhook keeper check now; the keeper's status after it.
    pub async fn check_webhook(&self) -> Result<Value, AppError> {
        self.post::<()>("/v1/webhook/check", None, QUERY_TIMEOUT)
            .await
    }

    /// The long poll: the store's generation and the engine's status once
    /// either differs from what the caller saw, or after `wait` (capped by
    /// the server at [`WATCH_MAX`]).
    pub async fn watch(
        &self,
        generation: Option<u64>,
        status_hash: Option<&str>,
        wait: Duration,
    ) -> Result<WatchAnswer, AppError> {
        let wait = wait.min(WATCH_MAX);
        let mut url = format!(
            "{}/v1/watch?timeout_ms={}",
            self.file.control_url,
            wait.as_millis()
        );
        if let Some(generation) = generation {
            url.push_str(&format!("&generation={generation}"));
        }
        if let Some(hash) = status_hash {
            url.push_str(&format!("&status_hash={}", hex_only(hash)));
        }
        let request = self
            .http
            .get(url)
            .bearer_auth(&self.file.token)
            .timeout(wait + Duration::from_secs(10));
        let value = self.send(request).await?;
        serde_json::from_value(value).map_err(|e| {
            local(format!(
                "the control channel answered a watch with bad JSON ({e})"
            ))
        })
    }

    /// The published file this client talks to (its token is a secret).
    pub fn file(&self) -> &ServeFile {
        &self.file
    }

    async fn post<B: serde::Serialize>(
        &self,
        path: &str,
        body: Option<&B>,
        timeout: Duration,
    ) -> Result<Value, AppError> {
        let mut request = self
            .http
            .post(format!("{}{path}", self.file.control_url))
            .bearer_auth(&self.file.token)
            .timeout(timeout);
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(request).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, AppError> {
        let unreachable = |e: reqwest::Error| {
            local(format!(
                "the running `amosync serve` (pid {}) did not answer on its control channel ({}); stop it and retry",
                self.file.pid,
                e.without_url()
            ))
        };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(unreachable)?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|e| local(format!("the control channel answered with bad JSON ({e})")));
        }
        Err(
            serde_json::from_slice::<AppError>(&bytes).unwrap_or_else(|_| {
                if status == reqwest::StatusCode::SERVICE_UNAVAILABLE {
                    shutting_down(self.file.pid)
                } else {
                    local(format!(
                        "the running `amosync serve` (pid {}) answered {status}; see its log",
                        self.file.pid
                    ))
                }
            }),
        )
    }
}

/// What a query gets from a `serve` that is stopping (HTTP 503).
pub fn shutting_down(pid: u32) -> AppError {
    AppError::new(
        crate::ErrorCode::StoreUnavailable,
        format!(
            "the running `amosync serve` (pid {pid}) is shutting down; run the command again once it has stopped"
        ),
    )
}
