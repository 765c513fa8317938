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

pub mod views;

use std::path::PathBuf;
use std::sync::Arc;

use amosync_store::{Funnel, FunnelQuery, LeadsQuery};
use serde_json::Value;

use crate::config::DataDir;
use crate::{AppError, ErrorCode};
pub use views::*;

/// Where the shell sends pushed events (`views::events::*` names).
pub trait EventSink: Send + Sync + 'static {
    fn emit(&self, event: &str, payload: Value);
}

/// The desktop app's session. Cheap to share (`Arc`).
pub struct Desktop {
    data: DataDir,
    sink: Arc<dyn EventSink>,
}

fn not_yet() -> AppError {
    AppError::new(ErrorCode::Local, "not available yet")
}

impl Desktop {
    /// Starts the session on `data` (see the module docs for the mode). Never
    /// fails: a failed start shows in [`Desktop::sync_view`] with its action.
    pub async fn start(data: DataDir, sink: Arc<dyn EventSink>) -> Arc<Desktop> {
        Arc::new(Desktop { data, sink })
    }

    pub fn data(&self) -> &DataDir {
        &self.data
    }

    pub fn sink(&self) -> &Arc<dyn EventSink> {
        &self.sink
    }

    pub async fn account(&self) -> Result<AccountView, AppError> {
        Err(not_yet())
    }

    pub async fn funnel(&self, _query: FunnelQuery) -> Result<Funnel, AppError> {
        Err(not_yet())
    }

    pub async fn leads(&self, _query: LeadsQuery) -> Result<LeadsPage, AppError> {
        Err(not_yet())
    }

    pub async fn lead(&self, _id: u64) -> Result<LeadCard, AppError> {
        Err(not_yet())
    }

    pub async fn chats(&self, _query: ChatsQuery) -> Result<ChatsView, AppError> {
        Err(not_yet())
    }

    pub fn sync_view(&self) -> SyncView {
        unimplemented_sync_view()
    }

    pub async fn sync_action(&self, _action: SyncAction) -> Result<(), AppError> {
        Err(not_yet())
    }

    /// "Try the demo": runs the built-in emulator's account (no-op when it runs).
    pub async fn start_demo(&self) -> Result<(), AppError> {
        Err(not_yet())
    }

    /// The wizard's Connect: saves the started connection and returns the
    /// page to open in the browser.
    pub async fn setup_begin(&self, _request: SetupRequest) -> Result<SetupStart, AppError> {
        Err(not_yet())
    }

    /// The browser came back: an `amosync://oauth/callback?…` link (deep
    /// link), or an address / code pasted in the wizard. Connects, then
    /// switches the session to the account.
    pub async fn setup_finish(&self, _input: String) -> Result<(), AppError> {
        Err(not_yet())
    }

    pub fn setup_progress(&self) -> SetupProgress {
        SetupProgress {
            waiting_for_browser: false,
            authorised: false,
            account_name: None,
            webhook: WebhookView::Pending,
            leads_synced: 0,
            first_sync_done: false,
            error: None,
        }
    }

    pub fn preferences(&self) -> Preferences {
        Preferences::default()
    }

    pub async fn settings(&self) -> Result<SettingsView, AppError> {
        Err(not_yet())
    }

    pub async fn save_preferences(
        &self,
        _preferences: Preferences,
    ) -> Result<Preferences, AppError> {
        Err(not_yet())
    }

    pub async fn set_tunnel(&self, _tunnel: TunnelInput) -> Result<TunnelSettings, AppError> {
        Err(not_yet())
    }

    /// Writes the export into `dir` (the user's Downloads folder).
    pub async fn export(
        &self,
        _request: ExportRequest,
        _dir: PathBuf,
    ) -> Result<ExportResult, AppError> {
        Err(not_yet())
    }

    /// Removes our webhooks, forgets the secrets, keeps the store; the app returns to the wizard.
    pub async fn disconnect(&self) -> Result<(), AppError> {
        Err(not_yet())
    }

    /// Stops whatever runs in process (engine, demo), bounded.
    pub async fn shutdown(&self) {}
}

fn unimplemented_sync_view() -> SyncView {
    SyncView {
        mode: SessionMode::Starting,
        account_name: None,
        online: true,
        offline_since: None,
        webhook: WebhookView::Pending,
        webhook_message: None,
        tunnel: TunnelView::None,
        tunnel_provider: None,
        tunnel_url: None,
        last_event_at_ms: None,
        events_per_minute: 0.0,
        api_per_second: 0.0,
        api_limit_per_second: 7.0,
        api_requests_total: 0,
        api_429s: 0,
        catching_up: false,
        last_catchup_at: None,
        first_sync_done: false,
        leads_synced: 0,
        events_pending: 0,
        fetch_pending: 0,
        issues: Vec::new(),
    }
}
