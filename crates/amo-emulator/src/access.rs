//! The lock a program embedding the emulator (AmoSync's demo) puts on it.
//!
//! Open (the default: the emulator is a test tool), the control API under
//! `/_emulator` and the OAuth pages answer any local caller. Locked, a web
//! page that found the port — or reached it by DNS rebinding under its own
//! host name — can neither act as office staff, mint tokens nor register
//! webhook destinations:
//!
//! * every route checks `Host` (or the HTTP/2 authority): only
//!   `127.0.0.1:PORT`, `localhost:PORT` and `[::1]:PORT` are served;
//! * every route but the API v4 (which has its own bearer tokens) needs the
//!   per-run secret in [`SECRET_HEADER`], random at each start.

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::oauth::Secret;
use crate::problem::Problem;

/// The header that carries the per-run secret of a locked emulator.
pub const SECRET_HEADER: &str = "x-emulator-secret";

/// Random bytes in a control secret (hex-encoded: 64 characters).
const SECRET_BYTES: usize = 32;

/// Whether the emulator's control API and OAuth pages are open to any local caller.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ControlAccess {
    /// No secret, any `Host` (tests, the standalone `amo-emulator`).
    #[default]
    Open,
    /// A per-run secret and a loopback `Host` (AmoSync's demo).
    Locked,
}

/// A locked emulator's secret and the port its `Host` must name.
#[derive(Debug, Clone)]
pub struct ControlLock {
    secret: Secret,
    port: u16,
}

/// Why a request to a locked emulator was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `Host` names something other than this emulator's loopback address.
    ForeignHost,
    /// The per-run secret is missing or wrong.
    NoSecret,
}

impl ControlLock {
    /// A fresh random secret for an emulator listening on `port`.
    pub fn generate(port: u16) -> ControlLock {
        ControlLock {
            secret: crate::oauth::secret::random_hex(SECRET_BYTES),
            port,
        }
    }

    /// The secret to send in [`SECRET_HEADER`].
    pub fn secret(&self) -> &str {
        self.secret.expose()
    }

    /// True when `host` (a `Host` header value) names this emulator on loopback.
    pub fn host_allowed(&self, host: &str) -> bool {
        let port = self.port;
        [
            format!("127.0.0.1:{port}"),
            format!("localhost:{port}"),
            format!("[::1]:{port}"),
        ]
        .iter()
        .any(|allowed| allowed.eq_ignore_ascii_case(host.trim()))
    }

    /// Decides on one request (`path` as served, with its headers).
    pub fn check(
        &self,
        path: &str,
        host: Option<&str>,
        headers: &HeaderMap,
    ) -> Result<(), Refusal> {
        if !host.is_some_and(|h| self.host_allowed(h)) {
            return Err(Refusal::ForeignHost);
        }
        if is_api(path) {
            return Ok(());
        }
        let given = headers
            .get(SECRET_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if self.secret.matches(given) {
            Ok(())
        } else {
            Err(Refusal::NoSecret)
        }
    }

    /// `router` behind this lock.
    pub fn guard(self, router: Router) -> Router {
        router.layer(axum::middleware::from_fn(
            move |request: Request, next: Next| {
                let lock = self.clone();
                async move {
                    let host = request
                        .headers()
                        .get(header::HOST)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                        .or_else(|| request.uri().authority().map(|a| a.as_str().to_owned()));
                    match lock.check(request.uri().path(), host.as_deref(), request.headers()) {
                        Ok(()) => next.run(request).await,
                        Err(refusal) => refused(refusal),
                    }
                }
            },
        ))
    }
}

/// API v4 routes keep their own bearer-token check.
fn is_api(path: &str) -> bool {
    path == "/api/v4" || path.starts_with("/api/v4/")
}

fn refused(refusal: Refusal) -> Response {
    match refusal {
        Refusal::ForeignHost => Problem::new(
            StatusCode::MISDIRECTED_REQUEST,
            "Misdirected Request",
            "this emulator answers only requests addressed to it on loopback (Host 127.0.0.1:PORT, localhost:PORT or [::1]:PORT)",
        )
        .into_response(),
        Refusal::NoSecret => Problem::unauthorized(format!(
            "this emulator's control API is locked: send its per-run secret in the {SECRET_HEADER} header (AmoSync's demo writes it to DATA/demo/emulator.json)"
        ))
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn hosts_and_secrets_decide_as_documented() {
        let lock = ControlLock::generate(4242);
        assert_eq!(lock.secret().len(), 2 * SECRET_BYTES);
        assert_ne!(lock.secret(), ControlLock::generate(4242).secret());
        let mut with_secret = HeaderMap::new();
        with_secret.insert(
            SECRET_HEADER,
            HeaderValue::from_str(lock.secret()).expect("hex is a header value"),
        );
        let mut wrong = HeaderMap::new();
        wrong.insert(SECRET_HEADER, HeaderValue::from_static("0123"));
        let none = HeaderMap::new();
        let table = [
            (
                "/_emulator/leads",
                Some("127.0.0.1:4242"),
                &with_secret,
                Ok(()),
            ),
            (
                "/_emulator/leads",
                Some("LOCALHOST:4242"),
                &with_secret,
                Ok(()),
            ),
            ("/_emulator/leads", Some("[::1]:4242"), &with_secret, Ok(())),
            (
                "/_emulator/leads",
                Some("127.0.0.1:4242"),
                &none,
                Err(Refusal::NoSecret),
            ),
            (
                "/_emulator/tokens",
                Some("127.0.0.1:4242"),
                &wrong,
                Err(Refusal::NoSecret),
            ),
            (
                "/oauth2/access_token",
                Some("127.0.0.1:4242"),
                &none,
                Err(Refusal::NoSecret),
            ),
            (
                "/_emulator/leads",
                Some("evil.example:4242"),
                &with_secret,
                Err(Refusal::ForeignHost),
            ),
            (
                "/_emulator/leads",
                Some("127.0.0.1:4243"),
                &with_secret,
                Err(Refusal::ForeignHost),
            ),
            (
                "/_emulator/leads",
                None,
                &with_secret,
                Err(Refusal::ForeignHost),
            ),
            ("/api/v4/leads", Some("127.0.0.1:4242"), &none, Ok(())),
            (
                "/api/v4/leads",
                Some("rebound.example:4242"),
                &none,
                Err(Refusal::ForeignHost),
            ),
        ];
        for (path, host, headers, want) in table {
            assert_eq!(lock.check(path, host, headers), want, "{path} {host:?}");
        }
        assert!(
            !format!("{lock:?}").contains(lock.secret()),
            "Debug hides it"
        );
    }
}
