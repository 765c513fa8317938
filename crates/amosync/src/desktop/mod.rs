//! The desktop app's core: what the Tauri shell calls, one line per command.
//!
//! [`Desktop`] decides how the app reaches its store and keeps it running:
//!
//! * an account is connected and no `amosync serve` holds the folder → the
//!   sync engine runs **inside** the app (`serve` in process: receiver,
//!   engine, keeper, tunnel, control channel) — [`SessionMode::Embedded`];
//! * a headless `amosync serve` already holds it → the app **attaches** to
//!   it over the control channel — [`SessionMode::Attached`];
//! * nothing is connected → the built-in emulator's sample account
//!   ([`SessionMode::Demo`], in `DATA/demo`) while the wizard is open.
//!
//! Every read goes through the control channel of whichever `serve` holds
//! the store (in process or not): one path, the same answers as the CLI.
//! Store changes, sync status and the wizard's progress are pushed to the
//! UI through an [`EventSink`] (the shell forwards them as Tauri events).
//!
//! Files: `session` (the modes and the switches between them), `pump` (the
//! long poll of `/v1/watch` that pushes events and notices), `sync_view`
//! (the pure derivation of the [`SyncView`]), `setup` (the wizard), `prefs`
//! (`DATA/desktop.json`), `notices` (texts and pacing), `read` and `export`
//! (the views from the store, the CSV/XLSX files), `views` (the contract).

pub mod export;
mod notices;
pub mod prefs;
mod pump;
pub mod read;
mod session;
pub mod setup;
pub mod sync_view;
pub mod views;
pub mod zone;

use std::path::PathBuf;
use std::sync::Arc;

use amosync_store::{Funnel, FunnelQuery, LeadsQuery};
use serde_json::Value;

use crate::auth::Secrets;
use crate::cli::args::{DataArgs, TunnelArgs};
use crate::cli::query::Query;
use crate::cli::tunnel::saved_tunnel;
use crate::config::DataDir;
use crate::control::ServeFile;
use crate::{AppError, ErrorCode, Source};
use amosync_tunnel::TunnelConfig;
use session::{Session, Target, lock};
pub use views::*;

/// Where the shell sends pushed events (`views::events::*` names).
pub trait EventSink: Send + Sync + 'static {
    fn emit(&self, event: &str, payload: Value);
}

/// The desktop app's session. Cheap to share (`Arc`).
///
/// Background tasks (the running mode, the event pump) live until
/// [`Desktop::shutdown`]; dropping the handle stops them without waiting.
pub struct Desktop {
    data: DataDir,
    sink: Arc<dyn EventSink>,
    session: Arc<Session>,
}

impl Drop for Desktop {
    fn drop(&mut self) {
        self.session.close_now();
    }
}

/// Leads per page of an export (the store's maximum).
const EXPORT_PAGE: usize = 100_000;
/// Pages of an export at most (10 million leads).
const EXPORT_PAGES: usize = 100;
/// Leads read again at the start of each next page of an export (see
/// [`Desktop::all_leads`]).
const EXPORT_OVERLAP: usize = 1_000;

fn invalid(message: impl Into<String>) -> AppError {
    AppError::new(ErrorCode::InvalidInput, message)
}

impl Desktop {
    /// Starts the session on `data` (see the module docs for the mode). Never
    /// fails: a failed start shows in [`Desktop::sync_view`] with its action.
    /// Returns at once: the mode starts in the background, and reads wait
    /// (bounded) for its control channel.
    pub async fn start(data: DataDir, sink: Arc<dyn EventSink>) -> Arc<Desktop> {
        let (preferences, warning) = prefs::load(&data);
        if let Some(warning) = warning {
            tracing::warn!("{warning}");
        }
        let session = Arc::new(Session::new(data.clone(), sink.clone(), preferences));
        let pump = tokio::spawn(pump::run(session.clone()));
        session.keep(pump);
        let starting = session.clone();
        let launch = tokio::spawn(async move { starting.switch(Target::Auto).await });
        session.keep(launch);
        Arc::new(Desktop {
            data,
            sink,
            session,
        })
    }

    pub fn data(&self) -> &DataDir {
        &self.data
    }

    pub fn sink(&self) -> &Arc<dyn EventSink> {
        &self.sink
    }

    /// How the app reaches its store now.
    pub fn mode(&self) -> SessionMode {
        self.session.mode()
    }

    /// The account header and the filters' choices (`source` is `demo` in the demo).
    pub async fn account(&self) -> Result<AccountView, AppError> {
        let (mut view, mode): (AccountView, _) = self.session.ask(&Query::AccountView).await?;
        view.source = if mode == SessionMode::Demo {
            Source::Demo
        } else {
            Source::Account
        };
        Ok(view)
    }

    /// One pipeline's funnel (with the median time in each status when
    /// `with_time_in_status` asks for it).
    pub async fn funnel(&self, query: FunnelQuery) -> Result<Funnel, AppError> {
        let query = Query::Funnel {
            pipeline: Some(query.pipeline_id),
            time_in_status: query.with_time_in_status,
            created: query.created,
            closed: query.closed,
            responsible: query.responsible_user_ids,
        };
        Ok(self.session.ask(&query).await?.0)
    }

    pub async fn leads(&self, query: LeadsQuery) -> Result<LeadsPage, AppError> {
        Ok(self
            .session
            .ask(&Query::LeadsPage { filter: query })
            .await?
            .0)
    }

    pub async fn lead(&self, id: u64) -> Result<LeadCard, AppError> {
        Ok(self.session.ask(&Query::LeadCard { id }).await?.0)
    }

    pub async fn chats(&self, query: ChatsQuery) -> Result<ChatsView, AppError> {
        Ok(self
            .session
            .ask(&Query::ChatsView { filter: query })
            .await?
            .0)
    }

    /// The sync pill and page, as last pushed (`SYNC`), in the current mode.
    pub fn sync_view(&self) -> SyncView {
        let snap = self.session.snapshot();
        let view = lock(&self.session.view).clone();
        if view.mode == snap.mode {
            return view;
        }
        if snap.client.is_none() {
            return pump::idle_view(&self.session, &snap);
        }
        SyncView {
            mode: snap.mode,
            ..view
        }
    }

    /// What the user pressed on an issue.
    pub async fn sync_action(&self, action: SyncAction) -> Result<(), AppError> {
        match action {
            SyncAction::Reconnect => {
                self.session.emit(events::SHOW, &"wizard");
                Ok(())
            }
            SyncAction::OpenSettings => {
                self.session.emit(events::SHOW, &"settings");
                Ok(())
            }
            SyncAction::ReregisterWebhook => {
                let (client, _) = self.session.client(session::READ_WAIT).await?;
                let status = client.check_webhook().await?;
                // The disable the user has now dealt with.
                let disabled = status.get("last_disabled_s").and_then(Value::as_i64);
                {
                    let mut seen = lock(&self.session.disabled_seen);
                    *seen = (*seen).max(disabled);
                }
                // The view at once, with the keeper's status after the check.
                if let Some(answer) = lock(&self.session.last_answer).as_mut()
                    && let Value::Object(engine) = &mut answer.engine
                {
                    engine.insert("webhook".into(), status);
                }
                pump::refresh_view(&self.session);
                Ok(())
            }
            SyncAction::SyncNow => {
                if self.session.mode() == SessionMode::Stopped {
                    // "Sync now" on a stopped session starts it again.
                    self.session.switch(Target::Auto).await;
                    return Ok(());
                }
                let (client, _) = self.session.client(session::READ_WAIT).await?;
                client.sync().await?;
                Ok(())
            }
        }
    }

    /// "Try the demo": runs the built-in emulator's account (no-op when it
    /// runs, and while an account is connected), and marks the wizard done.
    pub async fn start_demo(&self) -> Result<(), AppError> {
        let saved = {
            let mut p = lock(&self.session.prefs);
            p.wizard_done = true;
            p.clone()
        };
        prefs::save(&self.data, &saved)?;
        let session = &self.session;
        // Decided after any switch in progress (the start, a deep link's
        // connect): an account connected meanwhile keeps running.
        let _one_at_a_time = session.begin_switch().await;
        if crate::cli::serve::connected(&self.data).await.is_ok() {
            return Ok(());
        }
        let running =
            session.intended() == Some(Target::Demo) && session.mode() != SessionMode::Stopped;
        if !running {
            session.stop_current().await;
            session.launch(Target::Demo).await;
        }
        Ok(())
    }

    /// The wizard's Connect: saves the started connection and returns the
    /// page to open in the browser.
    pub async fn setup_begin(&self, request: SetupRequest) -> Result<SetupStart, AppError> {
        setup::begin(&self.session, request).await
    }

    /// The browser came back: an `amosync://oauth/callback?…` link (deep
    /// link), or an address / code pasted in the wizard. Connects, then
    /// switches the session to the account.
    pub async fn setup_finish(&self, input: String) -> Result<(), AppError> {
        setup::finish(&self.session, input).await
    }

    pub fn setup_progress(&self) -> SetupProgress {
        lock(&self.session.setup).progress.clone()
    }

    pub fn preferences(&self) -> Preferences {
        lock(&self.session.prefs).clone()
    }

    pub async fn settings(&self) -> Result<SettingsView, AppError> {
        let preferences = self.preferences();
        let (vault_backend, doc) = match Secrets::open(&self.data) {
            Ok(secrets) => {
                let backend = serde_json::to_value(secrets.location().backend)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned));
                (backend, secrets.load().await.ok())
            }
            Err(e) => {
                tracing::warn!(code = ?e.code, "the vault cannot be opened: {e}");
                (None, None)
            }
        };
        let configured = self.data.load_config().ok().flatten().is_some();
        let connected = configured && doc.as_ref().is_some_and(|d| d.credentials().is_some());
        let tunnel = match doc.as_ref().map(|d| saved_tunnel(d.tunnel.as_ref())) {
            Some(Ok(Some(config))) => tunnel_settings(&config),
            _ => tunnel_settings(&TunnelConfig::None),
        };
        let account_name = if connected && pump::is_account(self.session.mode()) {
            lock(&self.session.view).account_name.clone()
        } else {
            None
        };
        Ok(SettingsView {
            preferences,
            data_dir: self.data.root().display().to_string(),
            vault_backend,
            connected,
            account_name,
            tunnel,
        })
    }

    /// Saves the preferences (`DATA/desktop.json`); returns what was saved.
    pub async fn save_preferences(
        &self,
        preferences: Preferences,
    ) -> Result<Preferences, AppError> {
        prefs::save(&self.data, &preferences)?;
        *lock(&self.session.prefs) = preferences.clone();
        // The sync view's messages in the (maybe new) language.
        pump::refresh_view(&self.session);
        Ok(preferences)
    }

    /// Saves a tunnel choice (as `amosync tunnel` does) and restarts the
    /// engine in process so it takes effect. An attached `amosync serve`
    /// picks it up at its next start.
    pub async fn set_tunnel(&self, tunnel: TunnelInput) -> Result<TunnelSettings, AppError> {
        let provider = tunnel.provider.trim().to_ascii_lowercase();
        let address = tunnel
            .address
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned);
        let given = tunnel
            .secret
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        self.data.ensure()?;
        let secrets = Secrets::open(&self.data)?;
        // `None`: keep the saved secret of the same provider.
        let saved = saved_tunnel(secrets.load().await?.tunnel.as_ref())
            .ok()
            .flatten();
        let kept = match (&saved, provider.as_str()) {
            (Some(TunnelConfig::Ngrok { authtoken, .. }), "ngrok") => {
                Some(authtoken.expose().to_owned())
            }
            (
                Some(TunnelConfig::Bore {
                    secret: Some(s), ..
                }),
                "bore",
            ) => Some(s.expose().to_owned()),
            _ => None,
        };
        let secret = given.or(kept);
        // One switch at a time: a disconnect cannot slip in between the save
        // and the restart below (which is decided on what runs now).
        let _one_at_a_time = self.session.begin_switch().await;
        let mut args = TunnelArgs {
            data: DataArgs {
                data: Some(self.data.root().to_path_buf()),
            },
            provider: Some(provider.clone()),
            authtoken: None,
            domain: None,
            url: None,
            server: None,
            secret: None,
            public_url: None,
        };
        match provider.as_str() {
            "none" | "cloudflared" => {}
            "ngrok" => {
                args.authtoken = Some(amo::Secret::new(secret.ok_or_else(|| {
                    invalid("paste your ngrok authtoken (ngrok dashboard → Your Authtoken)")
                })?));
                args.domain = address;
            }
            "url" | "own_url" => {
                args.provider = Some("url".into());
                args.url = Some(address.ok_or_else(|| {
                    invalid("type the public https address your reverse proxy forwards to AmoSync")
                })?);
            }
            "bore" => {
                args.server = Some(
                    address.ok_or_else(|| invalid("type your bore server as host or host:port"))?,
                );
                args.secret = secret.map(amo::Secret::new);
                // The TLS address chosen with `amosync tunnel --public-url`
                // stays while the server does: another server has another proxy.
                if let Some(TunnelConfig::Bore {
                    server, public_url, ..
                }) = &saved
                    && args.server.as_deref().map(str::trim) == Some(server.trim())
                {
                    args.public_url = public_url.clone();
                }
            }
            other => {
                return Err(invalid(format!(
                    "«{other}» is not a tunnel AmoSync knows; choose none, ngrok, cloudflared, url or bore"
                )));
            }
        }
        crate::cli::tunnel::tunnel(&self.data, args).await?;
        let saved =
            saved_tunnel(secrets.load().await?.tunnel.as_ref())?.unwrap_or(TunnelConfig::None);
        let session = &self.session;
        let mode = session.mode();
        let embedded =
            mode == SessionMode::Embedded || session.intended() == Some(Target::Embedded);
        if embedded && crate::cli::serve::connected(&self.data).await.is_ok() {
            session.stop_current().await;
            session.launch(Target::Embedded).await;
        } else if mode == SessionMode::Stopped {
            session.stop_current().await;
            session.launch(Target::Auto).await;
        } else if mode == SessionMode::Attached {
            tracing::info!(
                "the tunnel was saved; the running `amosync serve` uses it after a restart"
            );
        }
        Ok(tunnel_settings(&saved))
    }

    /// Writes the export into `dir` (the user's Downloads folder).
    pub async fn export(
        &self,
        request: ExportRequest,
        dir: PathBuf,
    ) -> Result<ExportResult, AppError> {
        let lang = self.preferences().language;
        let (bytes, rows) = match request.kind {
            ExportKind::Leads => {
                let filter = request.leads.clone().unwrap_or_default();
                let zone = zone::AccountZone::of(self.account().await?.time_zone.as_deref());
                let mut all = self.all_leads(&filter).await?;
                sort_rows(&mut all, filter.order);
                let rows = all.len() as u64;
                let bytes = tokio::task::spawn_blocking(move || match request.format {
                    ExportFormat::Csv => Ok(export::leads_csv(&all, lang, &zone)),
                    ExportFormat::Xlsx => export::leads_xlsx(&all, lang, &zone),
                })
                .await
                .map_err(|e| {
                    AppError::new(ErrorCode::Local, format!("the export failed: {e}"))
                })??;
                (bytes, rows)
            }
            ExportKind::Funnel => {
                let query = request
                    .funnel
                    .clone()
                    .ok_or_else(|| invalid("choose the pipeline of the funnel to export"))?;
                let funnel = self.funnel(query).await?;
                let currency = self.account().await?.currency;
                let rows = funnel.statuses.len() as u64;
                let bytes = tokio::task::spawn_blocking(move || match request.format {
                    ExportFormat::Csv => Ok(export::funnel_csv(&funnel, &currency, lang)),
                    ExportFormat::Xlsx => export::funnel_xlsx(&funnel, &currency, lang),
                })
                .await
                .map_err(|e| {
                    AppError::new(ErrorCode::Local, format!("the export failed: {e}"))
                })??;
                (bytes, rows)
            }
        };
        let (kind, format) = (request.kind, request.format);
        tokio::task::spawn_blocking(move || export::write_export(&dir, kind, format, &bytes, rows))
            .await
            .map_err(|e| AppError::new(ErrorCode::Local, format!("the export failed: {e}")))?
    }

    /// Every lead `filter` matches (its offset and limit aside), read by
    /// pages in id order while the store may change: new leads only add at
    /// the end, and the pages overlap so that leads leaving the list
    /// meanwhile shift nothing past the reader; no id is taken twice.
    async fn all_leads(&self, filter: &LeadsQuery) -> Result<Vec<LeadRow>, AppError> {
        let mut all: Vec<LeadRow> = Vec::new();
        let mut offset = 0usize;
        for _ in 0..EXPORT_PAGES * 2 {
            let page = self
                .leads(LeadsQuery {
                    order: amosync_store::LeadsOrder::IdAsc,
                    offset,
                    limit: Some(EXPORT_PAGE),
                    ..filter.clone()
                })
                .await?;
            let last = all.last().map(|r| r.id);
            if let Some(last) = last
                && offset > 0
                && page.rows.first().is_none_or(|r| r.id > last)
            {
                // More than the overlap left before this page: step back.
                offset = offset.saturating_sub(EXPORT_PAGE);
                continue;
            }
            let n = page.rows.len();
            all.extend(
                page.rows
                    .into_iter()
                    .filter(|r| last.is_none_or(|last| r.id > last)),
            );
            if n < EXPORT_PAGE {
                return Ok(all);
            }
            offset = offset + n - EXPORT_OVERLAP;
        }
        Ok(all)
    }

    /// Removes our webhooks, forgets the secrets, keeps the store; the app returns to the wizard.
    pub async fn disconnect(&self) -> Result<(), AppError> {
        let session = &self.session;
        let _one_at_a_time = session.begin_switch().await;
        if session.mode() == SessionMode::Attached
            && let Ok(Some(file)) = ServeFile::live(&self.data)
        {
            return Err(AppError::new(
                ErrorCode::StoreUnavailable,
                format!(
                    "`amosync serve` (pid {}) is running on {}; stop it first, then disconnect",
                    file.pid,
                    self.data.root().display()
                ),
            ));
        }
        // The engine on this folder stops first (it holds the store and the
        // webhook); the demo (another folder) keeps running.
        let demo = session.intended() == Some(Target::Demo);
        if !demo {
            session.stop_current().await;
        }
        if let Err(err) = crate::cli::disconnect::disconnect(&self.data).await {
            if !demo {
                session.launch(Target::Auto).await;
            }
            return Err(err);
        }
        let saved = {
            let mut p = lock(&session.prefs);
            p.wizard_done = false;
            p.clone()
        };
        if let Err(e) = prefs::save(&self.data, &saved) {
            tracing::warn!("could not save the preferences: {e}");
        }
        *lock(&session.setup) = setup::SetupState::default();
        if !demo || session.mode() == SessionMode::Stopped {
            session.stop_current().await;
            session.launch(Target::Demo).await;
        }
        Ok(())
    }

    /// Stops whatever runs in process (engine, demo), bounded.
    pub async fn shutdown(&self) {
        self.session.shutdown().await;
    }
}

/// The order of the leads table (as the store sorts: the key, then the id,
/// both descending; ids ascending for `IdAsc`).
fn sort_rows(rows: &mut [LeadRow], order: amosync_store::LeadsOrder) {
    use amosync_store::LeadsOrder;
    let key = |r: &LeadRow| match order {
        LeadsOrder::UpdatedDesc => r.updated_at,
        LeadsOrder::CreatedDesc => r.created_at,
        LeadsOrder::PriceDesc => r.price,
        LeadsOrder::IdAsc => 0,
    };
    match order {
        LeadsOrder::IdAsc => rows.sort_unstable_by_key(|r| r.id),
        _ => rows.sort_unstable_by_key(|r| std::cmp::Reverse((key(r), r.id))),
    }
}

/// The tunnel choice without its secret.
fn tunnel_settings(config: &TunnelConfig) -> TunnelSettings {
    let (provider, address, has_secret) = match config {
        TunnelConfig::Ngrok { domain, .. } => ("ngrok", domain.clone(), true),
        TunnelConfig::Cloudflared { .. } => ("cloudflared", None, false),
        TunnelConfig::OwnUrl { url } => ("url", Some(url.clone()), false),
        TunnelConfig::Bore { server, secret, .. } => {
            ("bore", Some(server.clone()), secret.is_some())
        }
        TunnelConfig::None => ("none", None, false),
    };
    TunnelSettings {
        provider: provider.to_owned(),
        address,
        has_secret,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use amosync_store::LeadsOrder;

    #[test]
    fn an_export_read_in_id_order_is_sorted_as_asked() {
        let row = |id: u64, updated_at: i64, created_at: i64, price: i64| LeadRow {
            id,
            name: String::new(),
            price,
            pipeline_id: 1,
            status_id: 1,
            status_name: String::new(),
            status_color: String::new(),
            status_kind: amosync_store::StatusKind::Open,
            responsible_user_id: 1,
            responsible_name: None,
            created_at,
            updated_at,
            closed_at: None,
            tags: Vec::new(),
            contact_name: None,
            phone: None,
            email: None,
            deleted: false,
        };
        let rows = vec![row(1, 30, 5, 100), row(2, 10, 9, 300), row(3, 30, 1, 200)];
        let ids = |order| {
            let mut r = rows.clone();
            sort_rows(&mut r, order);
            r.iter().map(|r| r.id).collect::<Vec<_>>()
        };
        assert_eq!(
            ids(LeadsOrder::UpdatedDesc),
            [3, 1, 2],
            "ties: higher id first"
        );
        assert_eq!(ids(LeadsOrder::CreatedDesc), [2, 1, 3]);
        assert_eq!(ids(LeadsOrder::PriceDesc), [2, 3, 1]);
        assert_eq!(ids(LeadsOrder::IdAsc), [1, 2, 3]);
    }
}
