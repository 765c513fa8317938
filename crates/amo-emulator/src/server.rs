//! Starting and stopping an emulated account on a loopback port.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::MutexGuard;

use axum::Router;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::access::{ControlAccess, ControlLock};
use crate::api;
use crate::control;
use crate::faults::ApiFaultConfig;
use crate::limits::LimitsConfig;
use crate::model::Timestamp;
use crate::oauth::{self, Integration, OAuthLifetimes, OAuthStats};
use crate::problem::Problem;
use crate::state::AppState;
use crate::webhooks::{WebhookConfig, WebhookHub};
use crate::world::World;

/// How to start an emulated account.
pub struct EmulatorConfig {
    /// Loopback only; port 0 picks a free port.
    pub listen: SocketAddr,
    pub seed: u64,
    /// How many leads to generate.
    pub leads: usize,
    /// The "now" the seed is generated around (unix seconds); `None` = the system time at start.
    pub now: Option<Timestamp>,
    pub limits: LimitsConfig,
    pub faults: ApiFaultConfig,
    pub webhooks: WebhookConfig,
    /// Lifetimes of OAuth codes and tokens (each clamped to 1 s ..= ten years).
    pub oauth: OAuthLifetimes,
    /// `Locked`: the control API and the OAuth pages need the per-run
    /// secret ([`Emulator::control_secret`]) and every route a loopback
    /// `Host` (see [`crate::access`]). Open by default (a test tool).
    pub access: ControlAccess,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            seed: 42,
            leads: 300,
            now: None,
            limits: LimitsConfig::default(),
            faults: ApiFaultConfig::default(),
            webhooks: WebhookConfig::default(),
            oauth: OAuthLifetimes::default(),
            access: ControlAccess::Open,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(
        "refusing to listen on {0}: the emulator binds loopback addresses only (e.g. 127.0.0.1:0)"
    )]
    NotLoopback(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// The whole HTTP surface: `/api/v4/...`, `/_emulator/...`, the OAuth pages
/// (`/oauth`, `/oauth/decision`, `/oauth2/access_token`), 404 problem elsewhere.
/// A panic in any handler answers 500 problem+json instead of dropping the connection.
pub fn app(state: AppState) -> Router {
    catch_panics(
        Router::new()
            .nest("/api/v4", api::router(state.clone()))
            .nest("/_emulator", control::router())
            .merge(oauth::router())
            .fallback(|| async { Problem::not_found("Not Found") })
            .with_state(state),
    )
}

/// The safety net: a panicking handler becomes a 500 problem+json answer.
pub(crate) fn catch_panics(router: Router) -> Router {
    router.layer(tower_http::catch_panic::CatchPanicLayer::custom(
        |_panic: Box<dyn std::any::Any + Send + 'static>| {
            tracing::error!("request handler panicked; answered 500");
            axum::response::IntoResponse::into_response(Problem::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
                "Internal server error",
            ))
        },
    ))
}

/// A running emulated account.
pub struct Emulator {
    state: AppState,
    addr: SocketAddr,
    lock: Option<ControlLock>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Emulator {
    /// Binds, seeds and serves. Refuses non-loopback addresses.
    pub async fn start(config: EmulatorConfig) -> Result<Emulator, StartError> {
        let requested = config.listen;
        if !requested.ip().is_loopback() {
            return Err(StartError::NotLoopback(requested));
        }
        let listener = tokio::net::TcpListener::bind(requested)
            .await
            .map_err(|source| StartError::Bind {
                addr: requested,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: requested,
            source,
        })?;
        let base_url = format!("http://{addr}");
        let lock =
            (config.access == ControlAccess::Locked).then(|| ControlLock::generate(addr.port()));
        let state = AppState::new(config, &base_url);
        let router = match &lock {
            Some(lock) => lock.clone().guard(app(state.clone())),
            None => app(state.clone()),
        };
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, router).with_graceful_shutdown(async move {
                let _ = rx.await;
            });
            if let Err(e) = served.await {
                tracing::error!(error = %e, "emulator server stopped with an error");
            }
        });
        tracing::info!(%base_url, "amoCRM emulator listening");
        Ok(Emulator {
            state,
            addr,
            lock,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.state.base_url().to_string()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The per-run secret a locked emulator wants in
    /// [`crate::SECRET_HEADER`] on its control API and OAuth pages; `None`
    /// when it is open.
    pub fn control_secret(&self) -> Option<String> {
        self.lock.as_ref().map(|l| l.secret().to_owned())
    }

    /// The long-lived admin token created at start.
    pub fn token(&self) -> String {
        self.state.admin_token().to_string()
    }

    /// A new long-lived token for the admin (`true`) or a regular user.
    pub fn issue_token(&self, admin: bool) -> String {
        self.state.issue_token(admin).0
    }

    /// Revokes a token (false when unknown).
    pub fn revoke_token(&self, token: &str) -> bool {
        self.state.revoke_token(token)
    }

    /// Registers an OAuth integration acting as the admin, with this exact
    /// redirect URI (taken as given; the control API validates it).
    pub fn register_integration(&self, redirect_uri: &str) -> Integration {
        let user = self.state.integration_user(None).unwrap_or((0, false));
        self.state.add_integration(redirect_uri, None, user)
    }

    /// Revokes every access and refresh token of an integration (as an admin
    /// disabling it); how many were live, 0 for an unknown client id.
    pub fn revoke_integration(&self, client_id: &str) -> usize {
        self.state.revoke_integration(client_id).unwrap_or(0)
    }

    /// Sets the lifetimes of grants issued from now on (each clamped to
    /// 1 s ..= ten years); returns what was set.
    pub fn set_oauth_lifetimes(&self, lifetimes: OAuthLifetimes) -> OAuthLifetimes {
        self.state.set_oauth_lifetimes(lifetimes)
    }

    pub fn oauth_stats(&self) -> OAuthStats {
        self.state.oauth_stats()
    }

    /// `{base}/oauth?client_id=…&state=…&mode=post_message`, values URL-encoded.
    pub fn authorize_url(&self, client_id: &str, state: &str) -> String {
        oauth::with_query(
            &format!("{}/oauth", self.base_url()),
            &[
                ("client_id", client_id),
                ("state", state),
                ("mode", "post_message"),
            ],
        )
    }

    /// `127.0.0.1:PORT`: the host the redirect names as `referer`.
    pub fn referer(&self) -> String {
        self.state.referer()
    }

    pub fn hub(&self) -> WebhookHub {
        self.state.hub().clone()
    }

    /// The `message[add]` webhook body the account would send for an
    /// incoming client message `text` in talk `talk_id` — without recording
    /// the message. Tests post it themselves to know exactly which bodies
    /// were acknowledged. `None` for an unknown talk.
    pub fn incoming_message_body(
        &self,
        talk_id: u64,
        message_id: &str,
        text: &str,
    ) -> Option<String> {
        let (talk, now) = {
            let world = self.world();
            (world.talks.get(&talk_id).cloned()?, world.clock.now())
        };
        let message = crate::model::Message {
            id: message_id.to_owned(),
            chat_id: talk.chat_id.clone(),
            talk_id: talk.talk_id,
            contact_id: talk.contact_id,
            text: text.to_owned(),
            created_at: now,
            entity_type: talk.entity_type.clone(),
            entity_id: talk.entity_id,
            origin: talk.origin.clone(),
            direction: crate::model::Direction::Incoming,
            author: crate::model::MessageAuthor {
                id: "3f2b7c1e-0000-4000-8000-00000000c11e".to_owned(),
                kind: "external".to_owned(),
                name: "Клиент".to_owned(),
                avatar_url: None,
            },
            message_type: "text".to_owned(),
            attachment: None,
        };
        Some(crate::webhooks::encode::encode_batch(
            self.hub().account(),
            &[crate::model::Change::MessageAdded(message)],
        ))
    }

    /// The world, locked: read it and drop the guard before any `.await`.
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.state.world()
    }

    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Stops accepting connections and waits for the server task.
    pub async fn shutdown(mut self) {
        self.stop().await;
    }

    async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        tracing::info!("amoCRM emulator stopped");
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn a_panicking_handler_answers_500_problem_json() {
        let router = catch_panics(Router::new().route(
            "/boom",
            get(|| async {
                let v: Vec<u8> = Vec::new();
                // An out-of-bounds index: a panic the layer must catch.
                let i = v.len() + 1;
                v[i].to_string()
            }),
        ));
        let response = router
            .oneshot(
                Request::get("/boom")
                    .body(Body::empty())
                    .unwrap_or_default(),
            )
            .await
            .expect("the router answers");
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response
                .headers()
                .get(header::CONTENT_TYPE)
                .map(|v| v.as_bytes()),
            Some(&b"application/problem+json"[..])
        );
    }
}
