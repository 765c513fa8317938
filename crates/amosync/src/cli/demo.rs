//! `amosync demo`: the built-in emulator with sample data, connected and
//! served into a fresh store — what a newcomer runs first.

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;

use amo::Secret;

use crate::cli::connect::{ConnectRequest, connect};
use crate::cli::serve::{ServeOptions, serve};
use crate::config::DataDir;
use crate::control::ServeFile;
use crate::demo::{Demo, DemoOptions};
use crate::{AppError, ErrorCode};

/// The demo's data folder inside the data folder; wiped at every start.
pub const DEMO_FOLDER: &str = "demo";

/// What `amosync demo` runs.
#[derive(Debug, Clone)]
pub struct DemoRun {
    /// The data folder (the demo uses its `demo` sub-folder).
    pub data: DataDir,
    pub leads: usize,
    pub now: Option<i64>,
    pub listen: SocketAddr,
}

/// Starts the emulator, connects a fresh `DATA/demo` store to it, serves it
/// until `shutdown`. Prints `data: …` and `emulator: …`, then what `serve` prints.
pub async fn run(run: DemoRun, shutdown: impl Future<Output = ()>) -> Result<(), AppError> {
    let data = run.data.child(DEMO_FOLDER);
    if let Some(file) = ServeFile::live(&data)? {
        return Err(AppError::new(
            ErrorCode::StoreUnavailable,
            format!(
                "a demo is already running in {} (pid {}); stop it first or pass another --data DIR",
                data.root().display(),
                file.pid
            ),
        ));
    }
    if data.root().exists() {
        std::fs::remove_dir_all(data.root()).map_err(|e| {
            AppError::new(
                ErrorCode::Local,
                format!(
                    "cannot wipe the previous demo in {} ({e}); remove it by hand",
                    data.root().display()
                ),
            )
        })?;
    }
    let demo = Demo::start(DemoOptions {
        leads: run.leads,
        now: run.now,
    })
    .await?;
    let base_url = demo.emulator().base_url();
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "data: {}", data.root().display());
        let _ = writeln!(out, "emulator: {base_url}");
        let _ = out.flush();
    }
    connect(
        &data,
        ConnectRequest {
            base_url,
            token: Secret::new(demo.emulator().token()),
            listen: Some(run.listen),
        },
    )
    .await?;
    let served = serve(
        &data,
        ServeOptions {
            listen: Some(run.listen),
            no_tunnel: true,
        },
        shutdown,
    )
    .await;
    drop(demo);
    served
}
