//! The core's [`Desktop`] session as the shell holds it, and the
//! [`EventSink`] that pushes the core's events to the window.
//!
//! The window paints before the session exists: [`Desktop::start`] runs in
//! the background and the commands wait for it (a few milliseconds in
//! practice), so nothing blocks the first frame.

use std::sync::Arc;
use std::time::Duration;

use amosync::config::DataDir;
use amosync::desktop::{Desktop, EventSink, Notice, NoticeKind, events};
use amosync::{AppError, ErrorCode};
use serde_json::Value;
use tauri::{AppHandle, Emitter, Manager};
use tauri_plugin_notification::NotificationExt;
use tokio::sync::watch;

/// How long [`Session::shutdown`] waits for the engine to stop at exit.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

type Started = Result<Arc<Desktop>, AppError>;

/// The session, once started (managed state).
pub struct Session {
    started: watch::Receiver<Option<Started>>,
}

impl Session {
    /// Starts the session on the data folder in the background; `ready`
    /// runs once it is up. Returns at once.
    pub fn start(app: &AppHandle, ready: impl FnOnce(&AppHandle, &Arc<Desktop>) + Send + 'static) {
        let (tx, rx) = watch::channel(None);
        app.manage(Session { started: rx });
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            let started = match DataDir::resolve(None) {
                Ok(data) => {
                    let sink = Arc::new(Sink { app: app.clone() });
                    Ok(Desktop::start(data, sink).await)
                }
                Err(e) => {
                    tracing::error!(code = ?e.code, "no data folder, the app cannot start its session: {e}");
                    Err(e)
                }
            };
            if let Ok(desktop) = &started {
                tracing::info!(data = %desktop.data().root().display(), "session started");
                ready(&app, desktop);
            }
            let _ = tx.send(Some(started));
        });
    }

    /// The session, waiting for its start if needed.
    pub async fn desktop(&self) -> Result<Arc<Desktop>, AppError> {
        let mut started = self.started.clone();
        match started.wait_for(Option::is_some).await {
            Ok(started) => started.clone().unwrap_or_else(|| Err(not_started())),
            Err(_) => Err(not_started()),
        }
    }

    /// The session if it is up already.
    pub fn ready(&self) -> Option<Arc<Desktop>> {
        self.started.borrow().clone().and_then(Result::ok)
    }

    /// Stops what runs in process (engine, demo), waiting at most [`SHUTDOWN_WAIT`].
    pub fn shutdown(&self) {
        let Some(desktop) = self.ready() else { return };
        let stopped = tauri::async_runtime::block_on(async move {
            tokio::time::timeout(SHUTDOWN_WAIT, desktop.shutdown()).await
        });
        match stopped {
            Ok(()) => tracing::info!("session stopped"),
            Err(_) => {
                tracing::warn!("the session did not stop within {SHUTDOWN_WAIT:?}; exiting anyway")
            }
        }
    }
}

fn not_started() -> AppError {
    AppError::new(
        ErrorCode::Local,
        "the app's session did not start (see the log)",
    )
}

/// The session of `app`, when it is up (for handlers outside commands).
pub fn ready(app: &AppHandle) -> Option<Arc<Desktop>> {
    app.try_state::<Session>().and_then(|s| s.ready())
}

/// Forwards every event of the core to the webview; a notice also becomes a
/// desktop notification when the window is not in front.
struct Sink {
    app: AppHandle,
}

impl EventSink for Sink {
    fn emit(&self, event: &str, payload: Value) {
        if event == events::NOTICE {
            notify(&self.app, &payload);
        }
        if let Err(e) = self.app.emit(event, payload) {
            tracing::warn!(event, "could not push an event to the window: {e}");
        }
    }
}

/// The view the UI opens when a notification of this kind is clicked.
fn view_of(kind: NoticeKind) -> &'static str {
    match kind {
        NoticeKind::NewLead => "leads",
        NoticeKind::IncomingMessage => "chats",
        NoticeKind::WebhookDisabled | NoticeKind::ReconnectNeeded => "sync",
    }
}

fn notify(app: &AppHandle, payload: &Value) {
    let notice: Notice = match serde_json::from_value(payload.clone()) {
        Ok(notice) => notice,
        Err(e) => {
            tracing::warn!("a notice the shell cannot read: {e}");
            return;
        }
    };
    if ready(app).is_some_and(|d| !d.preferences().notifications) {
        return;
    }
    // Asking the window for its state is a round trip to the main thread:
    // never on the core's thread that emitted (it may hold a lock the main
    // thread waits for, e.g. at shutdown).
    let app = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        if crate::window_in_front(&app) {
            return;
        }
        let shown = app
            .notification()
            .builder()
            .title(&notice.title)
            .body(&notice.body)
            .extra("view", view_of(notice.kind))
            .show();
        if let Err(e) = shown {
            tracing::warn!(kind = ?notice.kind, "could not show a desktop notification: {e}");
        }
    });
}

/// A click on one of our notifications: the window comes to the front on
/// the notification's view.
pub fn on_notification_click(app: &AppHandle) {
    let handle = app.clone();
    let clicked = app.notification().on_action(move |action| {
        if action.action_id() != "tap" {
            return;
        }
        crate::show_window(&handle);
        let view = action
            .notification()
            .and_then(|n| n.extra().get("view"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(view) = view {
            let _ = handle.emit(events::SHOW, view);
        }
    });
    if let Err(e) = clicked {
        tracing::warn!("notification clicks will not open the window: {e}");
    }
}
