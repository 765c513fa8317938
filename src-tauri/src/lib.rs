//! AmoSync desktop shell: window, managed handles, and one-line commands into the core.

mod commands;

use std::sync::Arc;

use amosync::demo::DemoHandle;
use tauri::Manager;

/// Starts the desktop app. With no account connected yet it runs the demo:
/// the built-in amoCRM emulator with sample data, read through the real client.
pub fn run() {
    amosync::logging::init_stderr();
    tauri::Builder::default()
        .setup(|app| {
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
