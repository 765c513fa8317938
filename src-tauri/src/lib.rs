//! AmoSync desktop shell: window, managed handles, and one-line commands into the core.

mod commands;
mod deep_link;

use std::sync::Arc;

use amosync::demo::DemoHandle;
use tauri::Manager;

/// Starts the desktop app. With no account connected yet it runs the demo:
/// the built-in amoCRM emulator with sample data, read through the real client.
pub fn run() {
    amosync::logging::init_stderr();
    tauri::Builder::default()
        // First: a second launch hands its arguments (an amosync:// link)
        // to this instance and exits.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.set_focus();
            }
        }))
        .plugin(tauri_plugin_deep_link::init())
        .setup(|app| {
            deep_link::setup(app);
            let demo = Arc::new(DemoHandle::default());
            // Start the emulator in the background so the window paints at once.
            let starting = demo.clone();
            tauri::async_runtime::spawn(async move {
                if let Err(e) = starting.ensure_started().await {
                    tracing::error!(code = ?e.code, "demo did not start: {e}");
                }
            });
            app.manage(demo);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![commands::overview])
        .run(tauri::generate_context!())
        .unwrap_or_else(|e| {
            eprintln!("AmoSync could not start its window: {e}. Check that WebKitGTK 4.1 is installed (scripts/setup.sh run).");
            std::process::exit(1);
        });
}
