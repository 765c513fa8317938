//! Demo mode: the built-in amoCRM emulator with sample data, read through the
//! real client — what a newcomer sees before connecting an account.

use amo::{Client, ClientConfig, StaticToken};
use amo_emulator::{Emulator, EmulatorConfig};
use tokio::sync::OnceCell;

use crate::{AppError, ErrorCode, Overview, load_overview};

/// Sample leads in the demo account (`AMOSYNC_DEMO_LEADS` overrides).
pub const DEFAULT_DEMO_LEADS: usize = 1500;

/// A running demo: the emulator and a client connected to it.
pub struct Demo {
    emulator: Emulator,
    client: Client,
}

impl Demo {
    /// Starts the emulator on a free loopback port and connects a client.
    pub async fn start(leads: usize) -> Result<Demo, AppError> {
        let config = EmulatorConfig {
            leads,
            ..EmulatorConfig::default()
        };
        let emulator = Emulator::start(config).await.map_err(|e| {
            AppError::new(
                ErrorCode::DemoUnavailable,
                format!("The demo emulator did not start ({e}); restart AmoSync."),
            )
        })?;
        let client_config = ClientConfig::from_url(&emulator.base_url())?;
        let client = Client::new(client_config, StaticToken::new(emulator.token()))?;
        tracing::info!(base_url = %emulator.base_url(), leads, "demo emulator started");
        Ok(Demo { emulator, client })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn emulator(&self) -> &Emulator {
        &self.emulator
    }

    pub async fn overview(&self) -> Result<Overview, AppError> {
        load_overview(&self.client, "demo").await
    }
}

/// Lazily started demo shared by every caller; a failed start is remembered
/// and reported to each caller rather than retried in a loop.
#[derive(Default)]
pub struct DemoHandle {
    demo: OnceCell<Result<Demo, AppError>>,
}

impl DemoHandle {
    pub async fn ensure_started(&self) -> Result<&Demo, AppError> {
        let leads = std::env::var("AMOSYNC_DEMO_LEADS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_DEMO_LEADS);
        self.demo
            .get_or_init(|| Demo::start(leads))
            .await
            .as_ref()
            .map_err(Clone::clone)
    }

    pub async fn overview(&self) -> Result<Overview, AppError> {
        self.ensure_started().await?.overview().await
    }
}
