//! The tray icon: the app keeps receiving with its window closed.
//!
//! Menu: open the window, sync now, quit (in the preferred language). A left
//! click shows the window (Windows, macOS; on Linux the indicator always
//! opens the menu). Where no tray can be made (e.g. a session with no
//! StatusNotifier host and no appindicator library) the app runs without it
//! and closing the window quits, as it would with no tray to come back from.

use std::panic::AssertUnwindSafe;

use amosync::desktop::{Language, SyncAction};
use tauri::menu::{Menu, MenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{App, AppHandle, Manager, Wry};

const OPEN: &str = "open";
const SYNC: &str = "sync";
const QUIT: &str = "quit";

/// The tray's menu items, to relabel them when the language changes
/// (managed state; present only when the tray exists).
pub struct Tray {
    open: MenuItem<Wry>,
    sync: MenuItem<Wry>,
    quit: MenuItem<Wry>,
}

fn labels(language: Language) -> [&'static str; 3] {
    match language {
        Language::Ru => ["Открыть AmoSync", "Синхронизировать", "Выход"],
        Language::En => ["Open AmoSync", "Sync now", "Quit"],
    }
}

/// Makes the tray icon; `false` (logged) when there is no tray here.
pub fn create(app: &App, language: Language) -> bool {
    // The Linux tray loads libayatana-appindicator at run time and panics
    // when it is missing: that costs the tray, not the app.
    match std::panic::catch_unwind(AssertUnwindSafe(|| build(app, language))) {
        Ok(Ok(tray)) => {
            app.manage(tray);
            true
        }
        Ok(Err(e)) => {
            tracing::warn!("no tray icon (the window closes normally): {e}");
            false
        }
        Err(_) => {
            tracing::warn!(
                "no tray icon: the system has no tray library (the window closes normally)"
            );
            false
        }
    }
}

fn build(app: &App, language: Language) -> tauri::Result<Tray> {
    let [open, sync, quit] = labels(language);
    let open = MenuItem::with_id(app, OPEN, open, true, None::<&str>)?;
    let sync = MenuItem::with_id(app, SYNC, sync, true, None::<&str>)?;
    let quit = MenuItem::with_id(app, QUIT, quit, true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&open, &sync, &quit])?;
    let mut icon = TrayIconBuilder::with_id("main")
        .tooltip("AmoSync")
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| on_menu(app, event.id().as_ref()))
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                crate::show_window(tray.app_handle());
            }
        });
    if let Some(image) = app.default_window_icon() {
        icon = icon.icon(image.clone());
    }
    icon.build(app)?;
    Ok(Tray { open, sync, quit })
}

fn on_menu(app: &AppHandle, id: &str) {
    match id {
        OPEN => crate::show_window(app),
        SYNC => {
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                let Some(session) = app.try_state::<crate::session::Session>() else {
                    return;
                };
                let done = match session.desktop().await {
                    Ok(desktop) => desktop.sync_action(SyncAction::SyncNow).await,
                    Err(e) => Err(e),
                };
                if let Err(e) = done {
                    tracing::warn!(code = ?e.code, "sync now (tray) failed: {e}");
                }
            });
        }
        QUIT => {
            tracing::info!("quit from the tray");
            app.exit(0);
        }
        _ => {}
    }
}

/// Whether the tray exists (the window may then close to it).
pub fn exists(app: &AppHandle) -> bool {
    app.try_state::<Tray>().is_some()
}

/// Relabels the menu in `language` (no-op without a tray).
pub fn set_language(app: &AppHandle, language: Language) {
    let Some(tray) = app.try_state::<Tray>() else {
        return;
    };
    let [open, sync, quit] = labels(language);
    for (item, text) in [(&tray.open, open), (&tray.sync, sync), (&tray.quit, quit)] {
        if let Err(e) = item.set_text(text) {
            tracing::warn!("could not relabel the tray menu: {e}");
        }
    }
}
