//! AmoSync's sync engine.
//!
//! ```text
//! amoCRM ─form POST─▶ receiver (127.0.0.1) ─▶ event log (group commit, durable) ─▶ 200
//!                                                 │
//!                    applier: decode ─▶ store (newest wins) ─▶ touched ids
//!                                                 │
//!                    fetcher: coalesce ─▶ GET leads/contacts/talks by id ─▶ store (API wins)
//! catch-up (start, every few minutes, after downtime, on demand): cursors − overlap, events API
//! keeper: registers the public URL's webhook, re-enables it, removes stale ones
//! ```
//!
//! Time and the amoCRM client are injected ([`Clock`], [`amo::Client`]), so
//! tests drive everything against the emulator.

pub mod applier;
pub mod catchup;
mod clock;
pub mod engine;
mod error;
pub mod fetcher;
pub mod hint_times;
pub mod http_server;
pub mod ingest;
pub mod keeper;
pub mod receiver;
pub mod retention;
mod secret;
pub mod serve_limits;
pub mod talk_reads;
mod usage;
mod util;

pub use catchup::{CatchupOptions, CatchupReport, catch_up};
pub use clock::{Clock, SystemClock};
pub use engine::{Engine, EngineConfig, EngineHandle, EngineStatus};
pub use error::SyncError;
pub use keeper::{Keeper, KeeperConfig, KeeperHandle, KeeperStatus, WebhookState, remove_webhooks};
pub use retention::RetentionConfig;
pub use secret::WebhookSecret;
