//! A faithful local amoCRM (Kommo) account.
//!
//! Serves API v4 with HAL JSON, the limits and faults real integrations trip
//! over, a control API that acts like office staff, and webhook delivery in the
//! real form-urlencoded shape, plus amoCRM's OAuth 2.0 (authorize page, token
//! endpoint, rotating single-use refresh tokens). Facts: `shared/docs/amocrm.md`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), amo_emulator::StartError> {
//! let emu = amo_emulator::Emulator::start(amo_emulator::EmulatorConfig::default()).await?;
//! println!("{} {}", emu.base_url(), emu.token());
//! emu.shutdown().await;
//! # Ok(()) }
//! ```

pub mod access;
pub mod api;
pub mod auth;
pub mod clock;
pub mod control;
pub mod faults;
pub mod limits;
pub mod model;
pub mod oauth;
pub mod problem;
pub mod query;
pub mod rng;
pub mod seed;
pub mod server;
pub mod state;
pub mod stats;
pub mod webhooks;
pub mod world;

pub use access::{ControlAccess, ControlLock, SECRET_HEADER};
pub use oauth::{Integration, OAuthLifetimes, OAuthStats};
pub use server::{Emulator, EmulatorConfig, StartError, app};
pub use state::AppState;
pub use webhooks::{WebhookConfig, WebhookFaults, WebhookHub};
