//! The shared state behind every route: the world, tokens, limits, faults,
//! counters and the webhook hub. Cheap to clone (one `Arc`).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::auth::{LONG_LIVED_MAX_SECS, TokenRegistry};
use crate::clock::Clock;
use crate::faults::Faults;
use crate::limits::Limiter;
use crate::model::Change;
use crate::oauth::OAuthRegistry;
use crate::seed::{self, SeedConfig};
use crate::server::EmulatorConfig;
use crate::stats::Stats;
use crate::webhooks::{AccountRef, WebhookConfig, WebhookHub};
use crate::world::{World, WorldError};

/// Locks a mutex, carrying on after a panic elsewhere poisoned it.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Webhook delivery settings in plain numbers, as the control API shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookSettings {
    pub timeout_ms: u64,
    pub retry_delays_ms: Vec<u64>,
    pub disable_threshold: usize,
    pub disable_window_ms: u64,
}

impl WebhookSettings {
    pub fn from_config(c: &WebhookConfig) -> Self {
        WebhookSettings {
            timeout_ms: millis(c.timeout),
            retry_delays_ms: c.retry_delays.iter().map(|d| millis(*d)).collect(),
            disable_threshold: c.disable_threshold,
            disable_window_ms: millis(c.disable_window),
        }
    }

    pub fn to_config(&self) -> WebhookConfig {
        WebhookConfig {
            timeout: Duration::from_millis(self.timeout_ms),
            retry_delays: self
                .retry_delays_ms
                .iter()
                .map(|ms| Duration::from_millis(*ms))
                .collect(),
            disable_threshold: self.disable_threshold,
            disable_window: Duration::from_millis(self.disable_window_ms),
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

pub(crate) struct Shared {
    pub(crate) world: Mutex<World>,
    pub(crate) clock: Clock,
    pub(crate) tokens: Mutex<TokenRegistry>,
    /// OAuth integrations and grants; lock before `tokens` when both are needed.
    pub(crate) oauth: Mutex<OAuthRegistry>,
    pub(crate) limiter: Mutex<Limiter>,
    pub(crate) faults: Mutex<Faults>,
    pub(crate) stats: Mutex<Stats>,
    pub(crate) webhook_settings: Mutex<WebhookSettings>,
    pub(crate) hub: WebhookHub,
    pub(crate) admin_token: String,
    pub(crate) base_url: String,
    pub(crate) seed_millis: u128,
}

/// Everything a request handler needs.
#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Shared>,
}

impl AppState {
    /// Seeds the account served at `base_url`. Call inside a tokio runtime (the hub spawns tasks).
    pub fn new(config: EmulatorConfig, base_url: &str) -> AppState {
        let anchor = seed::sane_now(config.now.unwrap_or_else(Clock::system_now));
        if config.leads > seed::MAX_LEADS {
            tracing::warn!(
                requested = config.leads,
                max = seed::MAX_LEADS,
                "too many leads requested; seeding the maximum"
            );
        }
        let clock = Clock::new(anchor);
        let started = std::time::Instant::now();
        let world = seed::build(
            &SeedConfig {
                seed: config.seed,
                leads: config.leads,
                now: anchor,
                base_url: base_url.to_string(),
            },
            clock.clone(),
        );
        let seed_millis = started.elapsed().as_millis();
        tracing::info!(
            "seeded {} leads in {} ms",
            config.leads.min(seed::MAX_LEADS),
            seed_millis
        );
        let entropy =
            config.seed ^ u64::try_from(chrono::Utc::now().timestamp_micros()).unwrap_or_default();
        let mut tokens = TokenRegistry::new(world.account.id, entropy);
        let admin_id = world.admin_id();
        let admin_token = tokens.issue_long_lived(admin_id, true, clock.now(), LONG_LIVED_MAX_SECS);
        let account = AccountRef {
            id: world.account.id,
            subdomain: world.account.subdomain.clone(),
            base_url: base_url.to_string(),
        };
        let webhook_settings = WebhookSettings::from_config(&config.webhooks);
        let hub = WebhookHub::new(account, config.webhooks);
        AppState {
            inner: Arc::new(Shared {
                world: Mutex::new(world),
                clock,
                tokens: Mutex::new(tokens),
                oauth: Mutex::new(OAuthRegistry::new(config.oauth.clamped())),
                limiter: Mutex::new(Limiter::new(config.limits)),
                faults: Mutex::new(Faults::new(config.faults, config.seed)),
                stats: Mutex::new(Stats::default()),
                webhook_settings: Mutex::new(webhook_settings),
                hub,
                admin_token,
                base_url: base_url.to_string(),
                seed_millis,
            }),
        }
    }

    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The long-lived admin token created at start.
    pub fn admin_token(&self) -> &str {
        &self.inner.admin_token
    }

    pub fn hub(&self) -> &WebhookHub {
        &self.inner.hub
    }

    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// How long seeding took.
    pub fn seed_millis(&self) -> u128 {
        self.inner.seed_millis
    }

    /// The world, locked. Do not hold the guard across an `.await`.
    pub fn world(&self) -> MutexGuard<'_, World> {
        lock(&self.inner.world)
    }

    pub fn stats(&self) -> Stats {
        lock(&self.inner.stats).clone()
    }

    pub fn reset_stats(&self) {
        *lock(&self.inner.stats) = Stats::default();
    }

    /// Issues a long-lived token for the admin or for a regular user, in a
    /// new integration; returns (token, user_id).
    pub fn issue_token(&self, admin: bool) -> (String, u64) {
        self.issue_token_in(admin, None)
    }

    /// Like [`AppState::issue_token`], within `integration` when given (its
    /// tokens share one 7/s window).
    pub fn issue_token_in(&self, admin: bool, integration: Option<u64>) -> (String, u64) {
        let (user_id, is_admin) = {
            let world = self.world();
            let user = if admin {
                world.admin()
            } else {
                world.regular_user()
            };
            user.map(|u| (u.id, u.is_admin)).unwrap_or((0, false))
        };
        let mut tokens = lock(&self.inner.tokens);
        let integration = integration.unwrap_or_else(|| tokens.new_integration());
        let token = tokens.issue_long_lived_in(
            integration,
            user_id,
            is_admin,
            self.inner.clock.now(),
            LONG_LIVED_MAX_SECS,
        );
        (token, user_id)
    }

    /// Revokes a token; false when unknown.
    pub fn revoke_token(&self, token: &str) -> bool {
        lock(&self.inner.tokens).revoke(token)
    }

    /// Runs a world mutation and hands its changes to the hub, in order, under the lock.
    /// Refused once the account is full ([`World::check_room`]).
    pub fn apply<T>(
        &self,
        f: impl FnOnce(&mut World) -> Result<(T, Vec<Change>), WorldError>,
    ) -> Result<T, WorldError> {
        let mut world = self.world();
        world.check_room()?;
        let (out, changes) = f(&mut world)?;
        if !changes.is_empty() {
            tracing::debug!(
                count = changes.len(),
                first = changes[0].setting_code(),
                "world changed"
            );
            self.inner.hub.emit(changes);
        }
        Ok(out)
    }
}
