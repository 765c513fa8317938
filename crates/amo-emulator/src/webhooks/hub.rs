//! [`WebhookHub`]: subscriptions, emit, and the shared delivery state.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio::sync::watch;

use crate::model::Change;
use crate::webhooks::faults::Faults;
use crate::webhooks::lanes::{Job, Lane};
use crate::webhooks::records::{DeliveryLog, DeliveryRecord};
use crate::webhooks::subscriptions::{RegisterError, Registry, WebhookSubscription};
use crate::webhooks::{AccountRef, WebhookConfig, WebhookFaults};

/// The account's webhooks and their delivery. Clones share everything.
#[derive(Clone)]
pub struct WebhookHub {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for WebhookHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookHub")
            .field("account", &self.inner.account)
            .finish_non_exhaustive()
    }
}

/// What delivery tasks share with the hub.
pub(crate) struct Inner {
    pub account: AccountRef,
    state: Mutex<State>,
    /// Deliveries queued, in flight, or waiting for a retry.
    pending: watch::Sender<usize>,
    /// `None` only when the HTTP client could not be built (then every
    /// attempt fails with that reason).
    pub client: Option<reqwest::Client>,
    /// Where delivery tasks run; `None` when created outside a runtime.
    pub runtime: Option<Handle>,
}

pub(crate) struct State {
    pub config: WebhookConfig,
    pub faults: Faults,
    pub registry: Registry,
    pub log: DeliveryLog,
    /// One ordered lane per destination.
    pub lanes: HashMap<String, Lane>,
    /// Times of recent invalid answers per destination (disable rule).
    pub failures: HashMap<String, VecDeque<Instant>>,
    /// Deliveries waiting for a retry, per destination (capped).
    pub retrying: HashMap<String, usize>,
    next_delivery: u64,
}

impl Inner {
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// One delivery finished for good (sent, given up, or dropped).
    pub fn finish(&self) {
        self.pending.send_modify(|n| *n = n.saturating_sub(1));
    }

    fn start(&self) {
        self.pending.send_modify(|n| *n += 1);
    }
}

impl WebhookHub {
    /// A hub with no webhooks. Call inside a tokio runtime: delivery tasks
    /// are spawned on it.
    pub fn new(account: AccountRef, config: WebhookConfig) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .inspect_err(|e| tracing::error!(error = %e, "webhook HTTP client unavailable"))
            .ok();
        let runtime = Handle::try_current().ok();
        if runtime.is_none() {
            tracing::error!(
                "WebhookHub created outside a tokio runtime: webhooks will not be delivered"
            );
        }
        let state = State {
            config,
            faults: Faults::new(WebhookFaults::default()),
            registry: Registry::new(account.id),
            log: DeliveryLog::default(),
            lanes: HashMap::new(),
            failures: HashMap::new(),
            retrying: HashMap::new(),
            next_delivery: 0,
        };
        let (pending, _) = watch::channel(0);
        WebhookHub {
            inner: Arc::new(Inner {
                account,
                state: Mutex::new(state),
                pending,
                client,
                runtime,
            }),
        }
    }

    /// The account this hub speaks for.
    pub fn account(&self) -> &AccountRef {
        &self.inner.account
    }

    /// Queue what happened: one POST per enabled webhook that subscribed to
    /// any of `changes`, carrying exactly those. Never blocks on the network
    /// and does not encode: the destination's lane renders the body, so a
    /// caller holding the world lock only pays for the filtering.
    pub fn emit(&self, changes: Vec<Change>) {
        if changes.is_empty() {
            return;
        }
        let inner = &self.inner;
        let queued_at = tokio::time::Instant::now();
        let batch = Arc::new(changes);
        let mut st = inner.state();
        let targets: Vec<(String, u64, Option<Vec<usize>>, usize)> = st
            .registry
            .entries()
            .iter()
            .filter(|e| !e.sub.disabled)
            .filter_map(|e| {
                let mine: Vec<usize> = batch
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| e.sub.wants(c.setting_code()))
                    .map(|(i, _)| i)
                    .collect();
                let n = mine.len();
                let pick = (n < batch.len()).then_some(mine);
                (n > 0).then(|| (e.sub.destination.clone(), e.epoch, pick, n))
            })
            .collect();
        for (destination, epoch, pick, n) in targets {
            st.next_delivery += 1;
            let plan = st.faults.plan();
            let job = Job {
                id: st.next_delivery,
                destination,
                epoch,
                body: Arc::from(""),
                batch: Some((batch.clone(), pick)),
                changes: n,
                plan,
                queued_at,
            };
            inner.start();
            Lane::enqueue(inner, &mut st, job);
        }
    }

    /// Webhooks of the account (all, or the one with exactly this
    /// destination), in registration order.
    pub fn list(&self, destination: Option<&str>) -> Vec<WebhookSubscription> {
        self.inner.state().registry.list(destination)
    }

    /// Register a webhook, or update the one with the same destination (new
    /// settings and sort, re-enabled, `updated_at` bumped).
    pub fn register(
        &self,
        destination: &str,
        settings: &[String],
        sort: i64,
        created_by: u64,
    ) -> Result<WebhookSubscription, RegisterError> {
        let now = chrono::Utc::now().timestamp();
        let mut st = self.inner.state();
        let sub = st
            .registry
            .register(destination, settings, sort, created_by, now)?;
        st.failures.remove(destination);
        tracing::info!(id = sub.id, host = %safe_host(destination), settings = sub.settings.len(), "webhook registered");
        Ok(sub)
    }

    /// Switch webhooks off as amoCRM does after failed deliveries: the one
    /// with exactly this destination, or every live one. Returns how many
    /// were switched off (their queued deliveries are dropped).
    pub fn disable(&self, destination: Option<&str>) -> usize {
        let now = chrono::Utc::now().timestamp();
        let mut st = self.inner.state();
        let targets: Vec<String> = st
            .registry
            .list(destination)
            .into_iter()
            .filter(|w| !w.disabled)
            .map(|w| w.destination)
            .collect();
        let mut count = 0;
        for dest in targets {
            if st.registry.disable(&dest, now) {
                st.lanes.remove(&dest);
                st.failures.remove(&dest);
                tracing::warn!(host = %safe_host(&dest), "webhook disabled by the control API");
                count += 1;
            }
        }
        count
    }

    /// Remove the webhook with this destination; its queued deliveries are
    /// dropped.
    pub fn unregister(&self, destination: &str) -> Result<(), RegisterError> {
        let mut st = self.inner.state();
        st.registry.unregister(destination)?;
        st.failures.remove(destination);
        st.lanes.remove(destination);
        tracing::info!(host = %safe_host(destination), "webhook removed");
        Ok(())
    }

    /// Replace the injected faults (the fault RNG is reseeded).
    pub fn set_faults(&self, faults: WebhookFaults) {
        self.inner.state().faults = Faults::new(faults);
    }

    /// Replace the delivery contract (applies to attempts not yet made).
    pub fn set_config(&self, config: WebhookConfig) {
        self.inner.state().config = config;
    }

    /// The delivery log, oldest first (the last 10 000 records).
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.inner.state().log.snapshot()
    }

    /// Wait until no delivery is queued, in flight, or waiting for a retry.
    /// False when `timeout` passed first.
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        let mut rx = self.inner.pending.subscribe();
        matches!(
            tokio::time::timeout(timeout, rx.wait_for(|n| *n == 0)).await,
            Ok(Ok(_))
        )
    }
}

/// `scheme://host:port` of a destination, for logs: the path may hold a
/// secret and is never logged.
pub(crate) fn safe_host(destination: &str) -> String {
    match url::Url::parse(destination) {
        Ok(u) => {
            let host = u.host_str().unwrap_or("");
            match u.port_or_known_default() {
                Some(port) => format!("{}://{host}:{port}", u.scheme()),
                None => format!("{}://{host}", u.scheme()),
            }
        }
        Err(_) => "<invalid url>".to_owned(),
    }
}
