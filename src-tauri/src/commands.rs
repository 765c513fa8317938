//! IPC commands: each is a one-line call into the core; errors cross as `{code, message}`.

use std::sync::Arc;

use amosync::demo::DemoHandle;
use amosync::{AppError, Overview};
use tauri::State;

#[tauri::command]
pub async fn overview(demo: State<'_, Arc<DemoHandle>>) -> Result<Overview, AppError> {
    demo.overview().await
}
