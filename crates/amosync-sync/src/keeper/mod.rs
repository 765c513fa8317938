//! The webhook keeper: keeps this install's receiver URL registered in
//! amoCRM as the tunnel's public URL comes and goes.
//!
//! ```text
//! public URL (watch) ─▶ check: GET webhooks ─▶ plan (pure) ─▶ POST / read back / DELETE stale
//!       every check_every, on check_now()            │
//!                                                   └▶ on_recovered (the engine's catch-up)
//! ```
//!
//! * A new public URL: the destination `base + secret_path` is posted with
//!   the settings, read back (`accepted` / `missing`), earlier destinations
//!   of this install (same secret path, other host) are deleted, then
//!   `on_recovered` runs: a catch-up covers what no hook delivered.
//! * Every check: a missing or disabled destination is posted again
//!   (re-posting re-enables it), counted in `reregistrations`.
//! * 403 → [`WebhookState::NotAdmin`]; the 100-hook cap →
//!   [`WebhookState::LimitReached`]; 401 → `Failed { code: "AuthRevoked" }`;
//!   429/5xx/network keep the state and retry with backoff.
//! * The secret never leaves: states and messages show `…/amocrm/***/`.
//!
//! Files: `plan.rs` (pure decisions), `status.rs` (states, error mapping),
//! `redact.rs`, `task.rs` (the executor), `remove.rs` (disconnect).

mod plan;
mod redact;
mod remove;
mod status;
mod task;

use std::time::Duration;

pub use plan::{MAX_WEBHOOKS, Plan, RegisterWhy, destination_for, is_ours, missing_codes, plan};
pub use redact::redact_destination;
pub use remove::remove_webhooks;
pub use status::{KeeperStatus, LIMIT_MESSAGE, WebhookState};
pub use task::{Keeper, KeeperHandle};

use crate::WebhookSecret;
use crate::receiver::WEBHOOK_SETTINGS;

/// How the keeper works. `Debug` hides the secret.
#[derive(Clone)]
pub struct KeeperConfig {
    /// The setting codes to register (default: [`WEBHOOK_SETTINGS`]).
    pub settings: Vec<String>,
    /// How often to check the registration (default 5 minutes; at least 1 s).
    pub check_every: Duration,
    /// `/amocrm/<secret>/`: the path that identifies this install's
    /// destinations. Secret: never logged.
    pub secret_path: String,
    /// First retry delay after a transient error, doubled on each further
    /// failure up to `check_every` (default 10 s; at least 1 s).
    pub retry_base: Duration,
}

impl KeeperConfig {
    /// The defaults for the receiver secret `secret`.
    pub fn new(secret: &WebhookSecret) -> KeeperConfig {
        KeeperConfig {
            settings: WEBHOOK_SETTINGS.iter().map(|s| (*s).to_owned()).collect(),
            check_every: Duration::from_secs(300),
            secret_path: format!("/amocrm/{}/", secret.expose()),
            retry_base: Duration::from_secs(10),
        }
    }
}

impl std::fmt::Debug for KeeperConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeeperConfig")
            .field("settings", &self.settings)
            .field("check_every", &self.check_every)
            .field(
                "secret_path",
                &redact::redact_text(&self.secret_path, &self.secret_path),
            )
            .field("retry_base", &self.retry_base)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_and_debug() {
        let secret = WebhookSecret::generate();
        let c = KeeperConfig::new(&secret);
        assert_eq!(c.settings.len(), WEBHOOK_SETTINGS.len());
        assert_eq!(c.check_every, Duration::from_secs(300));
        assert_eq!(c.secret_path, format!("/amocrm/{}/", secret.expose()));
        let debug = format!("{c:?}");
        assert!(!debug.contains(secret.expose()), "{debug}");
        assert!(debug.contains("/amocrm/***/"), "{debug}");
    }
}
