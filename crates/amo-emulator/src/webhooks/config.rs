//! Plain configuration values of the webhook hub.

use std::time::Duration;

/// The account a hub speaks for: rendered as the `account[…]` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRef {
    pub id: u64,
    pub subdomain: String,
    /// `account[_links][self]`, e.g. `https://x.amocrm.ru` or the emulator's
    /// own `http://127.0.0.1:PORT`.
    pub base_url: String,
}

/// Delivery contract (amocrm.md §1 "Delivery contract").
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookConfig {
    /// A receiver must answer within this time (real: 2 s).
    pub timeout: Duration,
    /// Delay before each retry of a failed delivery, in turn; after the last
    /// one the delivery is given up (real: about 5 min, 15 min, 15 min, 1 h).
    pub retry_delays: Vec<Duration>,
    /// The webhook is disabled when *more than* this many invalid answers
    /// arrived within `disable_window` and the latest is invalid (real: 100).
    pub disable_threshold: usize,
    /// Real: 2 hours.
    pub disable_window: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            timeout: Duration::from_secs(2),
            retry_delays: vec![
                Duration::from_secs(5 * 60),
                Duration::from_secs(15 * 60),
                Duration::from_secs(15 * 60),
                Duration::from_secs(60 * 60),
            ],
            disable_threshold: 100,
            disable_window: Duration::from_secs(2 * 60 * 60),
        }
    }
}

/// Injected delivery faults. Rates are probabilities in `0.0..=1.0` (values
/// outside are clamped), drawn from a seeded RNG that is reset on every
/// [`crate::webhooks::WebhookHub::set_faults`], so a run is reproducible.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WebhookFaults {
    /// Share of first attempts never sent (and never retried).
    pub drop_rate: f64,
    /// Share of first attempts sent twice.
    pub duplicate_rate: f64,
    /// Hold every other POST of a destination and send it after the next
    /// one (or after a short hold time when no next one comes).
    pub reorder: bool,
    /// Every first attempt is sent this much later (ordering kept).
    pub delay: Duration,
}

impl WebhookFaults {
    /// True when no fault is configured.
    pub fn is_off(&self) -> bool {
        self.drop_rate <= 0.0 && self.duplicate_rate <= 0.0 && !self.reorder && self.delay.is_zero()
    }
}
