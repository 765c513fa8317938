//! AmoSync desktop shell: the window, the tray, the plugins, and one-line
//! commands into the core's [`amosync::desktop::Desktop`] session.

mod commands;
mod deep_link;
mod logging;
mod session;
mod tray;

use amosync::config::DataDir;
use amosync::desktop::Preferences;
use tauri::{AppHandle, Manager, RunEvent, WindowEvent};

use session::Session;

/// The autostart entry starts the app with this: into the tray, no window.
const HIDDEN_ARG: &str = "--hidden";
const MAIN: &str = "main";

/// Starts the desktop app: the window paints at once while the session
/// (engine in process, attached to `amosync serve`, or the demo) starts.
pub fn run() {
    let app = tauri::Builder::default()
        // First: a second launch hands its arguments (an amosync:// link)
        // to this instance and exits.
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            if !argv.iter().any(|a| a == HIDDEN_ARG) {
                show_window(app);
            }
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(
            tauri_plugin_autostart::Builder::new()
                .arg(HIDDEN_ARG)
                .build(),
        )
        .setup(|app| {
            logging::init(log_dir(app.handle()).as_deref());
            // Before the session starts, so that its start relabels the menu
            // in the preferred language (not known yet).
            let has_tray = tray::create(app, Preferences::default().language);
            Session::start(app.handle(), |app, desktop| {
                let preferences = desktop.preferences();
                tray::set_language(app, preferences.language);
                if preferences.autostart
                    && let Err(e) = commands::apply_autostart(app, true)
                {
                    tracing::warn!("{e}");
                }
            });
            session::on_notification_click(app.handle());
            exit_on_signal(app.handle());
            deep_link::setup(app);
            if std::env::args().any(|a| a == HIDDEN_ARG) {
                if has_tray {
                    tracing::info!("started hidden, in the tray");
                    if let Some(window) = app.get_webview_window(MAIN) {
                        let _ = window.hide();
                    }
                } else {
                    tracing::info!("started hidden but there is no tray: showing the window");
                }
            }
            Ok(())
        })
        .on_window_event(|window, event| {
            // Close to tray: the engine keeps receiving; Quit in the tray exits.
            if let WindowEvent::CloseRequested { api, .. } = event
                && window.label() == MAIN
                && tray::exists(window.app_handle())
                && close_to_tray(window.app_handle())
            {
                api.prevent_close();
                let _ = window.hide();
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::account,
            commands::funnel,
            commands::leads,
            commands::lead,
            commands::chats,
            commands::sync_status,
            commands::sync_action,
            commands::start_demo,
            commands::setup_begin,
            commands::setup_finish,
            commands::setup_progress,
            commands::settings,
            commands::save_preferences,
            commands::set_tunnel,
            commands::export,
            commands::disconnect,
            commands::open_url,
        ])
        .build(tauri::generate_context!())
        .unwrap_or_else(|e| {
            eprintln!("AmoSync could not start its window: {e}. Check that WebKitGTK 4.1 is installed (scripts/setup.sh run).");
            std::process::exit(1);
        });
    app.run(|app, event| {
        if let RunEvent::Exit = event
            && let Some(session) = app.try_state::<Session>()
        {
            session.shutdown();
        }
    });
}

/// SIGTERM (logout, `kill`, a service manager) and Ctrl-C exit like Quit:
/// through [`RunEvent::Exit`], so the engine stops cleanly.
fn exit_on_signal(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let Ok(mut term) = signal(SignalKind::terminate()) else {
                return;
            };
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM: exiting"),
                _ = tokio::signal::ctrl_c() => tracing::info!("Ctrl-C: exiting"),
            }
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        app.exit(0);
    });
}

/// The app's log folder (`app_log_dir`: `~/.local/share/<id>/logs` on
/// Linux, `~/Library/Logs/<id>` on macOS), else `DATA/logs`.
fn log_dir(app: &AppHandle) -> Option<std::path::PathBuf> {
    app.path()
        .app_log_dir()
        .ok()
        .or_else(|| DataDir::resolve(None).ok().map(|d| d.root().join("logs")))
}

fn close_to_tray(app: &AppHandle) -> bool {
    session::ready(app)
        .map(|d| d.preferences())
        .unwrap_or_default()
        .close_to_tray
}

/// Brings the main window to the front (from the tray, a link, a second launch).
pub(crate) fn show_window(app: &AppHandle) {
    if let Some(window) = app.get_webview_window(MAIN) {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

/// The main window is shown, not minimised, and has the focus.
pub(crate) fn window_in_front(app: &AppHandle) -> bool {
    app.get_webview_window(MAIN).is_some_and(|w| {
        w.is_visible().unwrap_or(false)
            && !w.is_minimized().unwrap_or(false)
            && w.is_focused().unwrap_or(false)
    })
}
