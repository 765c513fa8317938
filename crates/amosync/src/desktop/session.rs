//! How the app reaches its store, and keeps reaching it: which `serve`
//! holds the store (in process — embedded or the demo — or a headless
//! `amosync serve` the app attaches to), the control client to it, and the
//! switches between modes (start, "Try the demo", connect, disconnect, a new
//! tunnel, an attached `serve` that went away).
//!
//! Every switch runs under one async lock, so two never interleave: the old
//! mode is stopped (bounded) before the next starts. Each switch bumps the
//! session's `epoch`; work begun under an older epoch (a discovery, a long
//! poll) finds out and lets go.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use super::EventSink;
use super::setup::SetupState;
use super::sync_view;
use super::views::{Preferences, SessionMode, SyncView, events};
use crate::cli::demo::{DEMO_FOLDER, DemoRun};
use crate::cli::query::Query;
use crate::cli::serve::{ServeOptions, connected};
use crate::cli::shutdown::{Shutdown, ShutdownTrigger};
use crate::config::DataDir;
use crate::control::ServeFile;
use crate::control::client::ControlClient;
use crate::control::server::WatchAnswer;
use crate::demo::DemoOptions;
use crate::{AppError, ErrorCode};

/// How long a read waits for the control channel of a starting mode.
pub const READ_WAIT: Duration = Duration::from_secs(20);
/// How long a starting `serve` (or demo) may take to publish `serve.json`.
const START_WITHIN: Duration = Duration::from_secs(120);
/// How long an in-process `serve` may take to stop before it is aborted.
const STOP_WITHIN: Duration = Duration::from_secs(30);
/// How often discovery looks for `serve.json`.
const DISCOVER_EVERY: Duration = Duration::from_millis(100);

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A control channel's answer as `T`.
pub(crate) fn decode<T: DeserializeOwned>(value: Value) -> Result<T, AppError> {
    serde_json::from_value(value).map_err(|e| {
        AppError::new(
            ErrorCode::Local,
            format!(
                "the sync engine answered in an unexpected shape ({e}); the app and the engine must be the same version"
            ),
        )
    })
}

/// What to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// Decide from the folder: attached, embedded or demo.
    Auto,
    /// The engine in process on the account folder.
    Embedded,
    /// The built-in emulator's account in `DATA/demo`.
    Demo,
}

/// A `serve` (or demo) running in a task of this process.
struct Runner {
    trigger: ShutdownTrigger,
    task: JoinHandle<()>,
}

impl Runner {
    /// Asks it to stop and waits (bounded; aborted after).
    async fn stop(self) {
        self.trigger.stop();
        let abort = self.task.abort_handle();
        if tokio::time::timeout(STOP_WITHIN, self.task).await.is_err() {
            tracing::warn!(
                "the in-process sync engine did not stop within {STOP_WITHIN:?}; aborted"
            );
            abort.abort();
        }
    }
}

struct State {
    epoch: u64,
    mode: SessionMode,
    client: Option<Arc<ControlClient>>,
    runner: Option<Runner>,
    /// Why the session is `Stopped`.
    error: Option<AppError>,
    /// What the current epoch runs (`None`: attached, or nothing yet).
    target: Option<Target>,
    /// The client reaches a `serve` of another process (`amosync serve`,
    /// or `amosync demo` in a terminal — then the mode is `Demo`).
    attached: bool,
}

/// A consistent look at the session.
#[derive(Clone)]
pub(crate) struct Snapshot {
    pub epoch: u64,
    pub mode: SessionMode,
    pub client: Option<Arc<ControlClient>>,
    pub error: Option<AppError>,
}

impl Snapshot {
    fn of(st: &State) -> Snapshot {
        Snapshot {
            epoch: st.epoch,
            mode: st.mode,
            client: st.client.clone(),
            error: st.error.clone(),
        }
    }
}

/// The session shared by the [`super::Desktop`] handle and its tasks.
pub(crate) struct Session {
    pub data: DataDir,
    pub sink: Arc<dyn EventSink>,
    state: Mutex<State>,
    /// Bumped on every change of mode or client (wakes waiting reads and the pump).
    changes: watch::Sender<u64>,
    switching: tokio::sync::Mutex<()>,
    closed: AtomicBool,
    pub prefs: Mutex<Preferences>,
    pub setup: Mutex<SetupState>,
    /// The last view published, and the answer it was derived from.
    pub view: Mutex<SyncView>,
    pub last_answer: Mutex<Option<WatchAnswer>>,
    /// The keeper's `last_disabled_s` the user has dealt with.
    pub disabled_seen: Mutex<Option<i64>>,
    pub tasks: Mutex<Vec<JoinHandle<()>>>,
}

fn closing() -> AppError {
    AppError::new(ErrorCode::Local, "AmoSync is closing")
}

fn still_starting() -> AppError {
    AppError::new(
        ErrorCode::StoreUnavailable,
        format!(
            "AmoSync is still starting its sync engine (more than {} s); wait a moment and try again, or restart AmoSync",
            READ_WAIT.as_secs()
        ),
    )
}

fn stopped_by_itself() -> AppError {
    AppError::new(
        ErrorCode::Local,
        "the sync engine stopped by itself; press Sync now to start it again (the log file says why)",
    )
}

impl Session {
    pub fn new(data: DataDir, sink: Arc<dyn EventSink>, prefs: Preferences) -> Session {
        let language = prefs.language;
        Session {
            data,
            sink,
            state: Mutex::new(State {
                epoch: 0,
                mode: SessionMode::Starting,
                client: None,
                runner: None,
                error: None,
                target: None,
                attached: false,
            }),
            changes: watch::channel(0).0,
            switching: tokio::sync::Mutex::new(()),
            closed: AtomicBool::new(false),
            prefs: Mutex::new(prefs),
            setup: Mutex::new(SetupState::default()),
            view: Mutex::new(sync_view::empty(SessionMode::Starting, language)),
            last_answer: Mutex::new(None),
            disabled_seen: Mutex::new(None),
            tasks: Mutex::new(Vec::new()),
        }
    }

    pub fn emit<T: serde::Serialize>(&self, event: &str, payload: &T) {
        let value = serde_json::to_value(payload).unwrap_or(Value::Null);
        self.sink.emit(event, value);
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot::of(&lock(&self.state))
    }

    pub fn mode(&self) -> SessionMode {
        lock(&self.state).mode
    }

    pub fn epoch(&self) -> u64 {
        lock(&self.state).epoch
    }

    /// What the current mode runs in process (`Demo`, `Embedded`), if anything.
    pub fn intended(&self) -> Option<Target> {
        lock(&self.state).target
    }

    fn set_target(&self, epoch: u64, target: Target) {
        let mut st = lock(&self.state);
        if st.epoch == epoch {
            st.target = Some(target);
        }
    }

    /// A receiver woken on every change of mode or client.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn bump(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The data folder of the demo.
    pub fn demo_folder(&self) -> DataDir {
        self.data.child(DEMO_FOLDER)
    }

    /// Keeps a background task to abort at shutdown.
    pub fn keep(&self, task: JoinHandle<()>) {
        let mut tasks = lock(&self.tasks);
        tasks.retain(|t| !t.is_finished());
        tasks.push(task);
    }

    // ---- reads ----------------------------------------------------------

    /// The control client, waiting (bounded) for a starting mode.
    pub async fn client(
        &self,
        within: Duration,
    ) -> Result<(Arc<ControlClient>, Snapshot), AppError> {
        let deadline = tokio::time::Instant::now() + within;
        let mut changes = self.subscribe();
        loop {
            changes.borrow_and_update();
            if self.is_closed() {
                return Err(closing());
            }
            let snap = self.snapshot();
            if let Some(client) = snap.client.clone() {
                return Ok((client, snap));
            }
            if snap.mode == SessionMode::Stopped {
                return Err(snap.error.unwrap_or_else(stopped_by_itself));
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(closing()),
                Err(_) => return Err(still_starting()),
            }
        }
    }

    /// A query through the control channel of whichever `serve` holds the
    /// store, decoded. Retried once when the mode switched meanwhile (an
    /// attached `serve` went away and the app took over).
    pub async fn ask<T: DeserializeOwned>(
        &self,
        query: &Query,
    ) -> Result<(T, SessionMode), AppError> {
        let mut attempt = 0;
        loop {
            let (client, snap) = self.client(READ_WAIT).await?;
            match client.query(query).await {
                Ok(value) => return Ok((decode(value)?, snap.mode)),
                Err(e) if attempt == 0 && self.epoch() != snap.epoch => {
                    tracing::info!(code = ?e.code, "the mode switched during a read; asking again");
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    // ---- switching ------------------------------------------------------

    /// Stops what runs and starts `target`. Returns once the new mode is
    /// launched (its control channel may still be starting).
    pub async fn switch(self: &Arc<Self>, target: Target) {
        let _one_at_a_time = self.switching.lock().await;
        self.stop_current().await;
        self.launch(target).await;
    }

    /// The switching lock, for a switch with work in between (connect,
    /// disconnect): `stop_current`, the work, then `launch`.
    pub async fn begin_switch(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.switching.lock().await
    }

    /// Ends the current mode (call with the switching lock held).
    pub async fn stop_current(&self) {
        let runner = {
            let mut st = lock(&self.state);
            st.epoch += 1;
            st.client = None;
            st.mode = SessionMode::Starting;
            st.error = None;
            st.target = None;
            st.attached = false;
            st.runner.take()
        };
        self.bump();
        if let Some(runner) = runner {
            runner.stop().await;
        }
    }

    /// Starts `target` (call with the switching lock held, after `stop_current`).
    pub async fn launch(self: &Arc<Self>, target: Target) {
        if self.is_closed() {
            return;
        }
        let epoch = self.epoch();
        let target = match target {
            Target::Auto => match decide(&self.data).await {
                Decision::Attach(file) => {
                    self.attach(epoch, SessionMode::Attached, file);
                    return;
                }
                Decision::Run(target) => target,
                Decision::Fail(err) => {
                    self.set_stopped(epoch, err);
                    return;
                }
            },
            other => other,
        };
        self.set_target(epoch, target);
        match target {
            Target::Demo => {
                let folder = self.demo_folder();
                // A demo already served (`amosync demo` in a terminal): use it.
                if let Ok(Some(file)) = ServeFile::live(&folder) {
                    self.attach(epoch, SessionMode::Demo, file);
                    return;
                }
                let (shutdown, trigger) = Shutdown::manual();
                let options = DemoOptions::from_env();
                let run = DemoRun {
                    data: self.data.clone(),
                    leads: options.leads,
                    now: options.now,
                    listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                };
                let (done_tx, done) = oneshot::channel();
                let task = tokio::spawn(async move {
                    let result = crate::cli::demo::run(run, shutdown).await;
                    let _ = done_tx.send(result);
                });
                self.run(
                    epoch,
                    SessionMode::Demo,
                    folder,
                    Runner { trigger, task },
                    done,
                );
            }
            Target::Embedded | Target::Auto => {
                let (shutdown, trigger) = Shutdown::manual();
                let data = self.data.clone();
                let (done_tx, done) = oneshot::channel();
                let task = tokio::spawn(async move {
                    let result =
                        crate::cli::serve::serve(&data, ServeOptions::default(), shutdown).await;
                    let _ = done_tx.send(result);
                });
                let folder = self.data.clone();
                self.run(
                    epoch,
                    SessionMode::Embedded,
                    folder,
                    Runner { trigger, task },
                    done,
                );
            }
        }
    }

    fn attach(&self, epoch: u64, mode: SessionMode, file: ServeFile) {
        match ControlClient::new(file) {
            Ok(client) => {
                tracing::info!(
                    pid = client.pid(),
                    ?mode,
                    "attached to a running `amosync serve`"
                );
                self.set_running(epoch, mode, Arc::new(client), true);
            }
            Err(e) => self.set_stopped(epoch, e),
        }
    }

    /// Keeps `runner` and watches it: its `serve.json` appearing (the mode
    /// is up), or its end (the mode stopped).
    fn run(
        self: &Arc<Self>,
        epoch: u64,
        mode: SessionMode,
        folder: DataDir,
        runner: Runner,
        done: oneshot::Receiver<Result<(), AppError>>,
    ) {
        {
            let mut st = lock(&self.state);
            if st.epoch != epoch || self.is_closed() {
                // Switched (or closed) meanwhile: never keep it.
                drop(st);
                runner.trigger.stop();
                return;
            }
            st.runner = Some(runner);
        }
        let session = self.clone();
        let watcher = tokio::spawn(async move {
            session.watch_runner(epoch, mode, folder, done).await;
        });
        self.keep(watcher);
    }

    async fn watch_runner(
        self: Arc<Self>,
        epoch: u64,
        mode: SessionMode,
        folder: DataDir,
        mut done: oneshot::Receiver<Result<(), AppError>>,
    ) {
        let deadline = tokio::time::Instant::now() + START_WITHIN;
        let rounds = START_WITHIN.as_millis() / DISCOVER_EVERY.as_millis() + 1;
        let mut found = false;
        for _ in 0..rounds {
            if self.epoch() != epoch {
                return;
            }
            if let Ok(Some(file)) = ServeFile::live(&folder)
                && file.pid == std::process::id()
            {
                match ControlClient::new(file) {
                    Ok(client) => self.set_running(epoch, mode, Arc::new(client), false),
                    Err(e) => self.set_stopped(epoch, e),
                }
                found = true;
                break;
            }
            tokio::select! {
                ended = &mut done => {
                    let err = match ended {
                        Ok(Err(e)) => e,
                        _ => stopped_by_itself(),
                    };
                    tracing::warn!(code = ?err.code, ?mode, "the sync engine did not start: {err}");
                    self.set_stopped(epoch, err);
                    return;
                }
                () = tokio::time::sleep(DISCOVER_EVERY) => {}
            }
            if tokio::time::Instant::now() >= deadline {
                break;
            }
        }
        if !found {
            self.set_stopped(
                epoch,
                AppError::new(
                    ErrorCode::Local,
                    format!(
                        "the sync engine did not start within {} s; press Sync now to try again",
                        START_WITHIN.as_secs()
                    ),
                ),
            );
            return;
        }
        // Up: wait for its end. A requested stop bumped the epoch first.
        let ended = done.await;
        if self.epoch() == epoch {
            let err = match ended {
                Ok(Err(e)) => e,
                _ => stopped_by_itself(),
            };
            tracing::warn!(code = ?err.code, ?mode, "the sync engine stopped: {err}");
            self.set_stopped(epoch, err);
        }
    }

    fn set_running(
        &self,
        epoch: u64,
        mode: SessionMode,
        client: Arc<ControlClient>,
        attached: bool,
    ) {
        {
            let mut st = lock(&self.state);
            if st.epoch != epoch {
                return;
            }
            st.mode = mode;
            st.client = Some(client);
            st.error = None;
            st.attached = attached;
        }
        self.bump();
    }

    pub fn set_stopped(&self, epoch: u64, err: AppError) {
        let runner = {
            let mut st = lock(&self.state);
            if st.epoch != epoch {
                return;
            }
            st.mode = SessionMode::Stopped;
            st.client = None;
            st.error = Some(err);
            st.runner.take()
        };
        if let Some(runner) = runner {
            // Whatever is left of it stops in the background.
            runner.trigger.stop();
        }
        self.bump();
    }

    /// The pump could not reach the control channel of `epoch`'s serve.
    /// Attached to another process's `serve` (an `amosync serve`, or an
    /// `amosync demo` in a terminal) that is gone: the app starts what that
    /// mode needs again — attached to a newer one, else in process (the
    /// engine, or the demo).
    pub async fn lost_contact(self: &Arc<Self>, epoch: u64) {
        let (snap, attached) = {
            let st = lock(&self.state);
            (Snapshot::of(&st), st.attached)
        };
        if snap.epoch != epoch || !attached {
            // In process: the runner's watcher sees it end.
            return;
        }
        let (folder, again) = if snap.mode == SessionMode::Demo {
            (self.demo_folder(), Target::Demo)
        } else {
            (self.data.clone(), Target::Auto)
        };
        let known = snap.client.as_ref().map(|c| c.file().token.clone());
        match ServeFile::live(&folder) {
            Ok(Some(file)) if Some(&file.token) == known.as_ref() => {
                // Still published: stopping, or busy. Try again later.
                return;
            }
            Ok(Some(file)) => tracing::info!(
                pid = file.pid,
                mode = ?snap.mode,
                "another process serves the store now; attaching to it"
            ),
            _ => tracing::info!(
                mode = ?snap.mode,
                "the attached process went away; the app runs it itself"
            ),
        }
        let _guard = self.switching.lock().await;
        if self.epoch() == epoch {
            self.stop_current().await;
            self.launch(again).await;
        }
    }

    /// Stops everything in process, bounded; the session answers nothing after.
    pub async fn shutdown(&self) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        for task in std::mem::take(&mut *lock(&self.tasks)) {
            task.abort();
        }
        let _one_at_a_time = tokio::time::timeout(STOP_WITHIN, self.switching.lock()).await;
        self.stop_current().await;
    }

    /// [`Session::shutdown`] without waiting (the handle was dropped).
    pub fn close_now(&self) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        for task in std::mem::take(&mut *lock(&self.tasks)) {
            task.abort();
        }
        let runner = {
            let mut st = lock(&self.state);
            st.epoch += 1;
            st.client = None;
            st.runner.take()
        };
        if let Some(runner) = runner {
            runner.trigger.stop();
        }
        self.bump();
    }

    /// Publishes `view` if it differs from the last one.
    pub fn publish_view(&self, view: SyncView) {
        let changed = {
            let mut last = lock(&self.view);
            if *last == view {
                false
            } else {
                *last = view.clone();
                true
            }
        };
        if changed {
            self.emit(events::SYNC, &view);
        }
    }
}

enum Decision {
    Attach(ServeFile),
    Run(Target),
    Fail(AppError),
}

/// A connected folder served by a live `amosync serve` → attach; connected,
/// not served → embedded; not connected → the demo.
async fn decide(data: &DataDir) -> Decision {
    match connected(data).await {
        Ok(_) => match ServeFile::live(data) {
            Ok(Some(file)) => Decision::Attach(file),
            Ok(None) => Decision::Run(Target::Embedded),
            Err(e) => Decision::Fail(e),
        },
        Err(e) if e.code == ErrorCode::NotConnected => Decision::Run(Target::Demo),
        Err(e) => Decision::Fail(e),
    }
}
