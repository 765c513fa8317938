//! Demo mode: the built-in amoCRM emulator with sample data, read through the
//! real client — what a newcomer sees before connecting an account.

use amo::{Client, ClientConfig, StaticToken};
use amo_emulator::{ControlAccess, Emulator, EmulatorConfig};
use tokio::sync::OnceCell;

use crate::{AppError, ErrorCode, Overview, Source, load_overview};

/// Sample leads in the demo account (`AMOSYNC_DEMO_LEADS` overrides).
pub const DEFAULT_DEMO_LEADS: usize = 1500;

/// What the demo account holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoOptions {
    pub leads: usize,
    /// The "now" (unix seconds) the sample history is generated around;
    /// `None` is the current time. Pin it to get the same account twice.
    pub now: Option<i64>,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            leads: DEFAULT_DEMO_LEADS,
            now: None,
        }
    }
}

impl DemoOptions {
    /// Defaults overridden by `AMOSYNC_DEMO_LEADS` and `AMOSYNC_DEMO_NOW`
    /// (unparsable values are ignored with a warning).
    pub fn from_env() -> Self {
        let mut options = DemoOptions::default();
        if let Some(leads) = env_number::<usize>("AMOSYNC_DEMO_LEADS") {
            options.leads = leads;
        }
        options.now = env_number::<i64>("AMOSYNC_DEMO_NOW");
        options
    }
}

fn env_number<T: std::str::FromStr>(name: &str) -> Option<T> {
    let raw = std::env::var(name).ok()?;
    let parsed = raw.trim().parse().ok();
    if parsed.is_none() {
        tracing::warn!(variable = name, value = %raw, "ignoring a value that is not a number");
    }
    parsed
}

/// A running demo: the emulator and a client connected to it.
pub struct Demo {
    emulator: Emulator,
    client: Client,
}

impl Demo {
    /// Starts the emulator on a free loopback port and connects a client.
    /// Its control API and OAuth pages are locked with a per-run secret
    /// ([`Demo::control_secret`]) and serve loopback `Host`s only: a web
    /// page that finds the port cannot drive the demo account.
    pub async fn start(options: DemoOptions) -> Result<Demo, AppError> {
        let DemoOptions { leads, now } = options;
        let config = EmulatorConfig {
            leads,
            now,
            access: ControlAccess::Locked,
            ..EmulatorConfig::default()
        };
        let emulator = Emulator::start(config).await.map_err(|e| {
            AppError::new(
                ErrorCode::DemoUnavailable,
                format!("The demo emulator did not start ({e}); press Retry or restart AmoSync."),
            )
        })?;
        let client_config = ClientConfig::from_url(&emulator.base_url())?;
        let client = Client::new(client_config, StaticToken::new(emulator.token()))?;
        tracing::info!(base_url = %emulator.base_url(), leads, "demo emulator started");
        Ok(Demo { emulator, client })
    }

    /// The emulator behind the demo (its data, its control API).
    pub fn emulator(&self) -> &Emulator {
        &self.emulator
    }

    /// The secret the emulator's control API wants in `X-Emulator-Secret`.
    pub fn control_secret(&self) -> String {
        self.emulator.control_secret().unwrap_or_default()
    }

    pub async fn overview(&self) -> Result<Overview, AppError> {
        load_overview(&self.client, Source::Demo).await
    }
}

/// Lazily started demo shared by every caller. Concurrent callers wait for
/// one start; a failed start is not kept, so the next call (the UI's Retry)
/// tries again — once per call, never in a loop.
#[derive(Default)]
pub struct DemoHandle {
    demo: OnceCell<Demo>,
}

impl DemoHandle {
    pub async fn ensure_started(&self) -> Result<&Demo, AppError> {
        self.demo
            .get_or_try_init(|| Demo::start(DemoOptions::from_env()))
            .await
    }

    pub async fn overview(&self) -> Result<Overview, AppError> {
        self.ensure_started().await?.overview().await
    }
}
