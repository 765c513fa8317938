//! IPC commands: each is a one-line call into the core's [`Desktop`]
//! session; errors cross as `{code, message}` ([`AppError`]).
//!
//! Keep `command_names.rs` in step with `generate_handler!` in `lib.rs`:
//! `build.rs` generates an `allow-<name>` permission for each (which makes
//! every app command denied unless a capability grants it), and
//! `capabilities/default.json` grants them to the main window (a test
//! below checks the two lists agree).

use amosync::desktop::{
    AccountView, ChatsQuery, ChatsView, ExportRequest, ExportResult, LeadCard, LeadsPage,
    Preferences, SettingsView, SetupProgress, SetupRequest, SetupStart, SyncAction, SyncView,
    TunnelInput, TunnelSettings,
};
use amosync::{AppError, ErrorCode};
use amosync_store::{Funnel, FunnelQuery, LeadsQuery};
use tauri::{AppHandle, Manager, State};
use tauri_plugin_autostart::ManagerExt as _;
use tauri_plugin_opener::OpenerExt;

use crate::session::Session;

type Reply<T> = Result<T, AppError>;

#[tauri::command]
pub async fn account(session: State<'_, Session>) -> Reply<AccountView> {
    session.desktop().await?.account().await
}

#[tauri::command]
pub async fn funnel(session: State<'_, Session>, query: FunnelQuery) -> Reply<Funnel> {
    session.desktop().await?.funnel(query).await
}

#[tauri::command]
pub async fn leads(session: State<'_, Session>, query: LeadsQuery) -> Reply<LeadsPage> {
    session.desktop().await?.leads(query).await
}

#[tauri::command]
pub async fn lead(session: State<'_, Session>, id: u64) -> Reply<LeadCard> {
    session.desktop().await?.lead(id).await
}

#[tauri::command]
pub async fn chats(session: State<'_, Session>, query: ChatsQuery) -> Reply<ChatsView> {
    session.desktop().await?.chats(query).await
}

#[tauri::command]
pub async fn sync_status(session: State<'_, Session>) -> Reply<SyncView> {
    Ok(session.desktop().await?.sync_view())
}

#[tauri::command]
pub async fn sync_action(session: State<'_, Session>, action: SyncAction) -> Reply<()> {
    session.desktop().await?.sync_action(action).await
}

#[tauri::command]
pub async fn start_demo(session: State<'_, Session>) -> Reply<()> {
    session.desktop().await?.start_demo().await
}

/// Also opens the approval page in the default browser; when that fails the
/// wizard shows the address to open by hand. `AMOSYNC_NO_BROWSER=1` skips
/// the browser (tests drive the approval page themselves).
#[tauri::command]
pub async fn setup_begin(
    app: AppHandle,
    session: State<'_, Session>,
    request: SetupRequest,
) -> Reply<SetupStart> {
    let start = session.desktop().await?.setup_begin(request).await?;
    if std::env::var_os("AMOSYNC_NO_BROWSER").is_some() {
        tracing::info!("AMOSYNC_NO_BROWSER set: not opening the approval page");
    } else if let Err(e) = app.opener().open_url(&start.authorize_url, None::<&str>) {
        tracing::warn!(
            "could not open the browser on the approval page (the wizard shows its address): {e}"
        );
    }
    Ok(start)
}

#[tauri::command]
pub async fn setup_finish(session: State<'_, Session>, input: String) -> Reply<()> {
    session.desktop().await?.setup_finish(input).await
}

#[tauri::command]
pub async fn setup_progress(session: State<'_, Session>) -> Reply<SetupProgress> {
    Ok(session.desktop().await?.setup_progress())
}

#[tauri::command]
pub async fn settings(session: State<'_, Session>) -> Reply<SettingsView> {
    session.desktop().await?.settings().await
}

/// Saves in the core, then applies what it saved: autostart on or off, the
/// tray menu's language.
#[tauri::command]
pub async fn save_preferences(
    app: AppHandle,
    session: State<'_, Session>,
    preferences: Preferences,
) -> Reply<Preferences> {
    let saved = session
        .desktop()
        .await?
        .save_preferences(preferences)
        .await?;
    crate::tray::set_language(&app, saved.language);
    apply_autostart(&app, saved.autostart)?;
    Ok(saved)
}

#[tauri::command]
pub async fn set_tunnel(session: State<'_, Session>, tunnel: TunnelInput) -> Reply<TunnelSettings> {
    session.desktop().await?.set_tunnel(tunnel).await
}

/// Into the user's Downloads folder (the home folder when there is none).
#[tauri::command]
pub async fn export(
    app: AppHandle,
    session: State<'_, Session>,
    request: ExportRequest,
) -> Reply<ExportResult> {
    session
        .desktop()
        .await?
        .export(request, downloads(&app)?)
        .await
}

#[tauri::command]
pub async fn disconnect(session: State<'_, Session>) -> Reply<()> {
    session.desktop().await?.disconnect().await
}

/// Opens an `http`/`https` address in the default browser (the lead in
/// amoCRM, the integration's settings); nothing else.
#[tauri::command]
pub fn open_url(app: AppHandle, url: String) -> Reply<()> {
    let parsed = tauri::Url::parse(&url)
        .map_err(|e| AppError::new(ErrorCode::InvalidInput, format!("not an address: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(AppError::new(
            ErrorCode::InvalidInput,
            format!(
                "only http and https addresses open in the browser, not {}:",
                parsed.scheme()
            ),
        ));
    }
    app.opener()
        .open_url(parsed.as_str(), None::<&str>)
        .map_err(|e| AppError::new(ErrorCode::Local, format!("could not open the browser: {e}")))
}

// `COMMANDS`: every command above, as `build.rs` and the capability name them.
include!("command_names.rs");

fn downloads(app: &AppHandle) -> Reply<std::path::PathBuf> {
    let path = app.path();
    path.download_dir()
        .or_else(|_| path.home_dir())
        .map_err(|e| {
            AppError::new(
                ErrorCode::Local,
                format!("no Downloads or home folder to export into: {e}"),
            )
        })
}

/// Turns start-with-the-session on or off (the OS's own mechanism: an XDG
/// autostart entry, a LaunchAgent, the Run registry key), started `--hidden`.
pub fn apply_autostart(app: &AppHandle, on: bool) -> Reply<()> {
    let autostart = app.autolaunch();
    let done = if on {
        // Written every time: it also follows the app to a new path.
        autostart.enable()
    } else if autostart.is_enabled().unwrap_or(true) {
        autostart.disable()
    } else {
        Ok(())
    };
    done.map_err(|e| {
        let what = if on { "on" } else { "off" };
        AppError::new(
            ErrorCode::Local,
            format!("could not turn autostart {what}: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::COMMANDS;

    #[test]
    fn the_capability_grants_every_command_and_nothing_else() {
        let text = include_str!("../capabilities/default.json");
        let capability: serde_json::Value = serde_json::from_str(text).expect("JSON");
        let granted: Vec<&str> = capability["permissions"]
            .as_array()
            .expect("permissions")
            .iter()
            .filter_map(|p| p.as_str())
            .filter(|p| !p.starts_with("core:"))
            .collect();
        let wanted: Vec<String> = COMMANDS
            .iter()
            .map(|c| format!("allow-{}", c.replace('_', "-")))
            .collect();
        assert_eq!(granted, wanted);
        let core: Vec<&str> = capability["permissions"]
            .as_array()
            .expect("permissions")
            .iter()
            .filter_map(|p| p.as_str())
            .filter(|p| p.starts_with("core:"))
            .collect();
        assert_eq!(
            core,
            ["core:event:allow-listen", "core:event:allow-unlisten"]
        );
    }
}
