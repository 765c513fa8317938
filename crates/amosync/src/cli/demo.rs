//! `amosync demo`: the built-in emulator with sample data, connected and
//! served into a fresh store — what a newcomer runs first.

use std::net::SocketAddr;

use amo::Secret;

use crate::cli::connect::{ConnectRequest, connect};
use crate::cli::print_line;
use crate::cli::serve::{ServeOptions, serve};
use crate::cli::shutdown::Shutdown;
use crate::config::DataDir;
use crate::control::ServeFile;
use crate::demo::{Demo, DemoOptions};
use crate::lock::FileLock;
use crate::{AppError, ErrorCode};

/// The demo's data folder inside the data folder; wiped at every start.
pub const DEMO_FOLDER: &str = "demo";
/// Locked by a running demo, in the data folder (not in the wiped one).
pub const DEMO_LOCK: &str = "demo.lock";
/// In the demo's folder (0600): how to reach its emulator's locked control API.
pub const EMULATOR_FILE: &str = "emulator.json";

/// `DATA/demo/emulator.json`: the demo emulator's address and the per-run
/// secret its control API (`/_emulator/…`) wants in `X-Emulator-Secret`.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EmulatorFile {
    pub base_url: String,
    pub secret_header: String,
    pub control_secret: String,
}

impl std::fmt::Debug for EmulatorFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorFile")
            .field("base_url", &self.base_url)
            .field("secret_header", &self.secret_header)
            .field("control_secret", &"***")
            .finish()
    }
}

impl EmulatorFile {
    pub fn path(demo_data: &DataDir) -> std::path::PathBuf {
        demo_data.root().join(EMULATOR_FILE)
    }

    pub fn read(demo_data: &DataDir) -> Result<Option<EmulatorFile>, AppError> {
        crate::config::read_json(&EmulatorFile::path(demo_data))
    }

    fn write(&self, demo_data: &DataDir) -> Result<(), AppError> {
        crate::config::write_json_atomic(&EmulatorFile::path(demo_data), self, true)
    }
}

/// What `amosync demo` runs.
#[derive(Debug, Clone)]
pub struct DemoRun {
    /// The data folder (the demo uses its `demo` sub-folder).
    pub data: DataDir,
    pub leads: usize,
    pub now: Option<i64>,
    pub listen: SocketAddr,
}

fn already_running(data: &DataDir, pid: Option<u32>) -> AppError {
    let who = pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
    AppError::new(
        ErrorCode::StoreUnavailable,
        format!(
            "a demo is already running in {}{who}; stop it first or pass another --data DIR",
            data.root().display()
        ),
    )
}

/// Starts the emulator, connects a fresh `DATA/demo` store to it, serves it
/// until `shutdown`. Prints `data: …` and `emulator: …`, then what `serve`
/// prints (nothing with a [`Shutdown::manual`]: the desktop app runs it).
/// The emulator's control API is locked; its secret is in
/// `DATA/demo/emulator.json` (0600, [`EmulatorFile`]).
///
/// `DATA/demo.lock` is held for the demo's whole life, from before the wipe:
/// a second demo on the same folder is refused even while the first one is
/// still starting (before it has a `serve.json`).
pub async fn run(run: DemoRun, mut shutdown: Shutdown) -> Result<(), AppError> {
    let data = run.data.child(DEMO_FOLDER);
    run.data.ensure()?;
    let Some(_demo_lock) = FileLock::try_exclusive(&run.data.root().join(DEMO_LOCK))? else {
        let pid = ServeFile::live(&data).ok().flatten().map(|f| f.pid);
        return Err(already_running(&data, pid));
    };
    // A plain `serve --data DATA/demo` holds no demo.lock.
    if FileLock::held(&data.serve_lock_path()) == Some(true) || ServeFile::live(&data)?.is_some() {
        let pid = ServeFile::live(&data).ok().flatten().map(|f| f.pid);
        return Err(already_running(&data, pid));
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
    let embedded = shutdown.is_manual();
    let starting = async {
        let demo = Demo::start(DemoOptions {
            leads: run.leads,
            now: run.now,
        })
        .await?;
        let base_url = demo.emulator().base_url();
        if embedded {
            tracing::info!(data = %data.root().display(), emulator = %base_url, "demo started");
        } else {
            print_line(&format!("data: {}", data.root().display()));
            print_line(&format!("emulator: {base_url}"));
        }
        connect(
            &data,
            ConnectRequest {
                base_url,
                auth: crate::auth::AuthSecrets::LongLived {
                    token: Secret::new(demo.emulator().token()),
                },
                listen: Some(run.listen),
            },
        )
        .await?;
        EmulatorFile {
            base_url: demo.emulator().base_url(),
            secret_header: "X-Emulator-Secret".to_owned(),
            control_secret: demo.control_secret(),
        }
        .write(&data)?;
        Ok::<_, AppError>(demo)
    };
    let demo = tokio::select! {
        demo = starting => demo?,
        stop = shutdown.requested() => {
            tracing::info!(signal = stop.name(), "stopped while starting");
            return Ok(());
        }
    };
    let served = serve(
        &data,
        ServeOptions {
            listen: Some(run.listen),
            no_tunnel: true,
            retention_days: None,
        },
        shutdown,
    )
    .await;
    drop(demo);
    served
}
