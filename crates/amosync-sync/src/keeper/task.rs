//! The keeper's executor: a task that follows the public URL, runs a check
//! on every URL change, every `check_every`, and on demand, and carries out
//! what [`super::plan::plan`] decides. Thin on purpose: every decision is in
//! `plan.rs` and `status.rs`.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amo::ApiError;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::KeeperConfig;
use super::plan::{RegisterWhy, check_secret_path, destination_for, missing_codes, plan};
use super::redact::{redact_destination, redact_error};
use super::status::{KeeperStatus, Verdict, WebhookState, classify};
use crate::clock::Clock;

/// The `sort` the office's webhook is registered with.
const SORT: i64 = 10;
/// The shortest interval between checks, whatever the configuration says.
const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// How long [`KeeperHandle::stop`] waits for a check in flight.
const STOP_BOUND: Duration = Duration::from_secs(5);

/// The webhook keeper: keeps this install's receiver URL registered in
/// amoCRM (see the module docs of [`crate::keeper`]).
#[derive(Debug)]
pub struct Keeper;

type Reply = oneshot::Sender<KeeperStatus>;

impl Keeper {
    /// Starts the keeper task (needs a Tokio runtime). `public_url` is the
    /// tunnel's base URL (`None`: no public URL, nothing registered);
    /// `on_recovered` runs after a (re-)registration that may have missed
    /// events — wire it to the engine's catch-up; it must not block.
    pub fn start(
        client: amo::Client,
        clock: Arc<dyn Clock>,
        config: KeeperConfig,
        public_url: watch::Receiver<Option<String>>,
        on_recovered: Arc<dyn Fn() + Send + Sync>,
    ) -> KeeperHandle {
        let config_error = check_config(&config);
        let (status_tx, status_rx) = watch::channel(KeeperStatus::default());
        let (stop_tx, stop_rx) = watch::channel(false);
        let (command_tx, command_rx) = mpsc::channel::<Reply>(16);
        let runner = Runner {
            client,
            clock,
            config,
            url: public_url,
            on_recovered,
            status: status_tx,
            registered_for: None,
            transient_failures: 0,
            config_error,
        };
        let task = tokio::spawn(runner.run(stop_rx, command_rx));
        KeeperHandle {
            status: status_rx,
            commands: command_tx,
            stop: stop_tx,
            task: Mutex::new(Some(task)),
        }
    }
}

fn check_config(config: &KeeperConfig) -> Option<String> {
    if let Err(e) = check_secret_path(&config.secret_path) {
        return Some(e);
    }
    if config.settings.is_empty() {
        return Some(
            "the webhook keeper needs at least one settings code (KeeperConfig::settings)"
                .to_owned(),
        );
    }
    None
}

/// A running keeper. Dropping it stops the task.
pub struct KeeperHandle {
    status: watch::Receiver<KeeperStatus>,
    commands: mpsc::Sender<Reply>,
    stop: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for KeeperHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeeperHandle")
            .field("status", &*self.status.borrow())
            .finish_non_exhaustive()
    }
}

impl KeeperHandle {
    /// The current status.
    pub fn status(&self) -> KeeperStatus {
        self.status.borrow().clone()
    }

    /// A receiver of status changes (push, not poll); the current status
    /// counts as seen, so `changed()` waits for the next one.
    pub fn subscribe(&self) -> watch::Receiver<KeeperStatus> {
        let mut rx = self.status.clone();
        rx.borrow_and_update();
        rx
    }

    /// Runs a full check now (queued behind one in flight) and returns the
    /// status after it. After [`KeeperHandle::stop`], returns the last status.
    pub async fn check_now(&self) -> KeeperStatus {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(tx).await.is_err() {
            return self.status();
        }
        rx.await.unwrap_or_else(|_| self.status())
    }

    /// Stops the task: a check in flight is abandoned; waits at most 5 s.
    pub async fn stop(&self) {
        self.stop.send_replace(true);
        let task = self.task.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            let abort = task.abort_handle();
            if tokio::time::timeout(STOP_BOUND, task).await.is_err() {
                tracing::warn!("the webhook keeper did not stop within {STOP_BOUND:?}; aborted");
                abort.abort();
            }
        }
    }
}

impl Drop for KeeperHandle {
    fn drop(&mut self) {
        self.stop.send_replace(true);
        if let Some(task) = self.task.get_mut().ok().and_then(Option::take) {
            task.abort();
        }
    }
}

/// How a check ended, for scheduling the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Done (or nothing to do): next check after `check_every`.
    Done,
    /// 429/5xx/network: retry with backoff, state kept.
    Transient,
    /// A person must act; check again after `check_every`.
    NeedsPerson,
}

struct Runner {
    client: amo::Client,
    clock: Arc<dyn Clock>,
    config: KeeperConfig,
    url: watch::Receiver<Option<String>>,
    on_recovered: Arc<dyn Fn() + Send + Sync>,
    status: watch::Sender<KeeperStatus>,
    /// The destination the last successful check registered (or found).
    registered_for: Option<String>,
    transient_failures: u32,
    config_error: Option<String>,
}

impl Runner {
    async fn run(mut self, mut stop: watch::Receiver<bool>, mut commands: mpsc::Receiver<Reply>) {
        let mut url_open = true;
        let mut replies: Vec<Reply> = Vec::new();
        loop {
            let outcome = tokio::select! {
                biased;
                _ = stop.changed() => return,
                outcome = self.pass() => outcome,
            };
            let status = self.status.borrow().clone();
            for reply in replies.drain(..) {
                let _ = reply.send(status.clone());
            }
            let delay = self.delay_after(outcome);
            tokio::select! {
                biased;
                _ = stop.changed() => return,
                command = commands.recv() => match command {
                    Some(reply) => replies.push(reply),
                    None => return,
                },
                changed = self.url.changed(), if url_open => {
                    if changed.is_err() {
                        // The tunnel side is gone: keep the last URL, keep checking.
                        url_open = false;
                    }
                }
                () = tokio::time::sleep(delay) => {}
            }
            while let Ok(reply) = commands.try_recv() {
                replies.push(reply);
            }
        }
    }

    fn delay_after(&self, outcome: Outcome) -> Duration {
        let every = self.config.check_every.max(MIN_INTERVAL);
        match outcome {
            Outcome::Done | Outcome::NeedsPerson => every,
            Outcome::Transient => {
                let base = self.config.retry_base.max(MIN_INTERVAL);
                let exp = self.transient_failures.saturating_sub(1).min(16);
                base.saturating_mul(1u32 << exp).min(every)
            }
        }
    }

    fn update(&self, f: impl FnOnce(&mut KeeperStatus)) {
        self.status.send_modify(f);
    }

    fn now(&self) -> i64 {
        self.clock.now_s()
    }

    /// One full check.
    async fn pass(&mut self) -> Outcome {
        let now = self.now();
        if let Some(message) = self.config_error.clone() {
            self.update(|s| {
                s.state = WebhookState::Failed {
                    code: "Config".to_owned(),
                    message,
                };
                s.last_check_s = Some(now);
            });
            return Outcome::NeedsPerson;
        }
        let base = self.url.borrow_and_update().clone();
        let Some(base) = base else {
            self.registered_for = None;
            self.transient_failures = 0;
            self.update(|s| {
                s.state = WebhookState::NotRegistered;
                s.last_check_s = Some(now);
                s.last_error = None;
            });
            return Outcome::Done;
        };
        let secret_path = self.config.secret_path.clone();
        let desired = match destination_for(&base, &secret_path) {
            Ok(d) => d,
            Err(message) => {
                self.registered_for = None;
                self.update(|s| {
                    s.state = WebhookState::Failed {
                        code: "InvalidUrl".to_owned(),
                        message,
                    };
                    s.last_check_s = Some(now);
                });
                return Outcome::NeedsPerson;
            }
        };
        let url_redacted = redact_destination(&desired, &secret_path);
        let fresh = self.registered_for.as_deref() != Some(desired.as_str());
        if fresh {
            self.registered_for = None;
            let showing_problem = matches!(
                self.status.borrow().state,
                WebhookState::NotAdmin { .. }
                    | WebhookState::LimitReached { .. }
                    | WebhookState::Failed { .. }
            );
            if !showing_problem {
                self.update(|s| s.state = WebhookState::Registering);
            }
            tracing::info!(destination = %url_redacted, "registering the webhook");
        }

        let hooks = match self.client.webhooks(None).await {
            Ok(hooks) => hooks,
            Err(e) => return self.failed(e, false, &url_redacted),
        };
        let plan = plan(&hooks, &desired, &secret_path, fresh);
        let mut delete_error = None;
        if plan.delete_first {
            delete_error = self.delete_stale(&plan.delete).await;
            if let Some((_, true)) = delete_error {
                return self.after_deletes(delete_error);
            }
        }

        let accepted = match plan.register {
            None => hooks
                .into_iter()
                .find(|h| h.destination == desired)
                .map(|h| h.settings)
                .unwrap_or_default(),
            Some(why) => {
                if why == RegisterWhy::Disabled {
                    tracing::warn!(destination = %url_redacted, "amoCRM disabled the webhook; registering it again");
                    self.update(|s| {
                        s.state = WebhookState::Disabled {
                            url_redacted: url_redacted.clone(),
                        };
                        s.last_disabled_s = Some(now);
                    });
                } else if why == RegisterWhy::Missing {
                    tracing::warn!(destination = %url_redacted, "the webhook is gone from amoCRM; registering it again");
                }
                let posted = match self
                    .client
                    .register_webhook(&desired, &self.config.settings, Some(SORT))
                    .await
                {
                    Ok(hook) => hook,
                    Err(e) => return self.failed(e, plan.at_capacity, &url_redacted),
                };
                // Read back: the account keeps only the codes it knows.
                let read = match self.client.webhooks(Some(&desired)).await {
                    Ok(list) => list,
                    Err(e) => return self.failed(e, false, &url_redacted),
                };
                let hook = read
                    .into_iter()
                    .find(|h| h.destination == desired)
                    .unwrap_or(posted);
                if hook.disabled {
                    self.update(|s| {
                        s.state = WebhookState::Disabled {
                            url_redacted: url_redacted.clone(),
                        };
                        s.last_check_s = Some(now);
                        s.last_error = Some("amoCRM kept the webhook disabled after it was registered again; re-enable it in amoCRM (Settings → Integrations → Webhooks)".to_owned());
                    });
                    return Outcome::NeedsPerson;
                }
                if why != RegisterWhy::NewUrl {
                    self.update(|s| s.reregistrations = s.reregistrations.saturating_add(1));
                }
                hook.settings
            }
        };

        self.registered_for = Some(desired);
        self.transient_failures = 0;
        let missing = missing_codes(&self.config.settings, &accepted);
        if !missing.is_empty() && plan.register.is_some() {
            tracing::info!(?missing, "amoCRM did not keep some webhook settings");
        }
        if !plan.delete_first {
            delete_error = self.delete_stale(&plan.delete).await;
        }
        if plan.register.is_some() {
            self.recovered();
        }
        // Published last: a subscriber that sees `Registered` sees a finished
        // check (stale hooks handled, `on_recovered` called).
        self.update(|s| {
            s.state = WebhookState::Registered {
                url_redacted: url_redacted.clone(),
                accepted,
                missing,
            };
            s.last_check_s = Some(now);
            s.last_error = None;
        });
        self.after_deletes(delete_error)
    }

    /// Records a failed delete (state kept); transient ones retry soon.
    fn after_deletes(&mut self, error: Option<(String, bool)>) -> Outcome {
        let Some((message, transient)) = error else {
            return Outcome::Done;
        };
        let now = self.now();
        self.update(|s| {
            s.last_error = Some(message);
            s.last_check_s = Some(now);
        });
        if transient {
            self.transient_failures = self.transient_failures.saturating_add(1);
            Outcome::Transient
        } else {
            Outcome::NeedsPerson
        }
    }

    /// Deletes earlier destinations of this install. Returns the first
    /// error (redacted message, transient?); a hook already gone is fine.
    async fn delete_stale(&mut self, stale: &[String]) -> Option<(String, bool)> {
        let secret_path = self.config.secret_path.clone();
        let mut first_error = None;
        for destination in stale {
            let shown = redact_destination(destination, &secret_path);
            match self.client.delete_webhook(destination).await {
                Ok(()) => {
                    tracing::info!(destination = %shown, "removed a stale webhook of this install");
                    self.update(|s| s.stale_removed = s.stale_removed.saturating_add(1));
                }
                Err(ApiError::NotFound { .. }) => {}
                Err(e) => {
                    let e = redact_error(e, &secret_path);
                    let transient = e.is_retryable();
                    let message = format!("could not remove the stale webhook {shown}: {e}");
                    tracing::warn!("{message}");
                    first_error.get_or_insert((message, transient));
                }
            }
        }
        first_error
    }

    /// Maps a failed request to the state (or keeps it, for transient errors).
    fn failed(&mut self, error: ApiError, at_capacity: bool, url_redacted: &str) -> Outcome {
        let now = self.now();
        match classify(error, at_capacity, &self.config.secret_path, url_redacted) {
            Verdict::Transient(message) => {
                self.transient_failures = self.transient_failures.saturating_add(1);
                tracing::warn!(
                    failures = self.transient_failures,
                    "webhook check failed, will retry: {message}"
                );
                self.update(|s| {
                    s.last_error = Some(message);
                    s.last_check_s = Some(now);
                });
                Outcome::Transient
            }
            Verdict::State(state) => {
                self.transient_failures = 0;
                tracing::warn!(?state, "the webhook needs attention");
                self.update(|s| {
                    s.state = state;
                    s.last_check_s = Some(now);
                    s.last_error = None;
                });
                Outcome::NeedsPerson
            }
        }
    }

    fn recovered(&self) {
        let hook = self.on_recovered.clone();
        if std::panic::catch_unwind(AssertUnwindSafe(|| hook())).is_err() {
            tracing::error!("the webhook keeper's on_recovered callback panicked");
        }
    }
}
