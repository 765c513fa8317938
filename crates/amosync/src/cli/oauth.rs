//! `amosync connect --client-id … --client-secret … --redirect-uri …`: the
//! OAuth connection from a terminal.
//!
//! Prints the approval URL, then takes the answer the way the redirect URI
//! allows: a loopback URI (`http://127.0.0.1:PORT/…`) is listened on, so
//! the browser hands the code over by itself; any other URI (the
//! `amosync://` deep link, the https bounce page) is pasted back by the
//! admin — the whole address or just the code. `--code` skips the browser.

use std::net::SocketAddr;
use std::time::Duration;

use amo::Secret;
use amo::oauth::OAuthApp;
use amosync_sync::SystemClock;
use axum::extract::State;
use axum::http::Uri;
use axum::response::Html;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::auth::flow::Exchanged;
use crate::auth::{AuthSecrets, Secrets, begin_oauth, finish_oauth, finish_with_code};
use crate::cli::connect::{ConnectRequest, connect};
use crate::config::DataDir;
use crate::{AppError, ErrorCode};

/// What `connect` needs for OAuth.
#[derive(Debug, Clone)]
pub struct OAuthConnect {
    pub app: OAuthApp,
    /// The account address given on the command line.
    pub base_url: String,
    /// `--code`: finish without the browser.
    pub code: Option<Secret>,
    /// How long to wait for the browser's answer.
    pub wait: Duration,
    /// `--listen` for `serve`.
    pub listen: Option<SocketAddr>,
}

/// Connects by OAuth and prints (returns) what was connected.
pub async fn connect_oauth(data: &DataDir, request: OAuthConnect) -> Result<Value, AppError> {
    request.app.validate().map_err(AppError::from)?;
    // Before the browser: a code exchanged and then refused by a busy store
    // would be wasted.
    if let Some(file) = crate::control::ServeFile::live(data)? {
        return Err(AppError::new(
            ErrorCode::StoreUnavailable,
            format!(
                "`amosync serve` (pid {}) is running on {}; stop it, connect, then start it again",
                file.pid,
                data.root().display()
            ),
        ));
    }
    let exchanged = match &request.code {
        Some(code) => finish_with_code(&request.app, &request.base_url, code, &SystemClock).await?,
        None => browser_flow(data, &request).await?,
    };
    let Exchanged {
        base_url,
        app,
        tokens,
    } = exchanged;
    if base_url != request.base_url {
        tracing::info!(given = %request.base_url, referer = %base_url, "amoCRM named the account's own address; using it");
    }
    connect(
        data,
        ConnectRequest {
            base_url,
            auth: AuthSecrets::OAuth { app, tokens },
            listen: request.listen,
        },
    )
    .await
}

/// The deep link's path: `amosync://oauth/callback?…`.
pub const CALLBACK_URL_PREFIX: &str = "amosync://oauth/callback";

/// The desktop app's URL handler: finishes the connection started in this
/// data folder with the `amosync://oauth/callback?…` link the browser (or
/// the bounce page) opened, and connects the folder. The URL itself is
/// never logged (it carries the code).
pub async fn connect_from_callback(data: &DataDir, url: &str) -> Result<Value, AppError> {
    let url = url.trim();
    if !url.starts_with(CALLBACK_URL_PREFIX) {
        return Err(AppError::new(
            ErrorCode::InvalidInput,
            "AmoSync only opens amosync://oauth/callback links; start the connection in the app",
        ));
    }
    connect_from_answer(data, url, None).await
}

/// Finishes the connection started in this data folder with whatever came
/// back — the deep link, a pasted address, or a bare code — and connects
/// the folder. The answer is never logged (it carries the code).
pub async fn connect_from_answer(
    data: &DataDir,
    answer: &str,
    listen: Option<SocketAddr>,
) -> Result<Value, AppError> {
    let exchanged = exchange_answer(data, answer).await?;
    connect_exchanged(data, exchanged, listen).await
}

/// The first half of [`connect_from_answer`]: the code exchanged for the
/// pair (the store is not touched, so it may be held meanwhile).
pub async fn exchange_answer(data: &DataDir, answer: &str) -> Result<Exchanged, AppError> {
    let secrets = Secrets::open(data)?;
    finish_oauth(&secrets, answer.trim(), &SystemClock).await
}

/// The second half of [`connect_from_answer`]: binds the folder to the
/// account with the exchanged pair.
pub async fn connect_exchanged(
    data: &DataDir,
    exchanged: Exchanged,
    listen: Option<SocketAddr>,
) -> Result<Value, AppError> {
    let Exchanged {
        base_url,
        app,
        tokens,
    } = exchanged;
    connect(
        data,
        ConnectRequest {
            base_url,
            auth: AuthSecrets::OAuth { app, tokens },
            listen,
        },
    )
    .await
}

/// A loopback redirect URI's address and path.
fn loopback_target(redirect_uri: &str) -> Option<(SocketAddr, String)> {
    let url = url::Url::parse(redirect_uri).ok()?;
    if url.scheme() != "http" {
        return None;
    }
    let ip = match url.host()? {
        url::Host::Ipv4(ip) if ip.is_loopback() => std::net::IpAddr::V4(ip),
        url::Host::Ipv6(ip) if ip.is_loopback() => std::net::IpAddr::V6(ip),
        url::Host::Domain(d) if d.eq_ignore_ascii_case("localhost") => {
            std::net::IpAddr::from([127, 0, 0, 1])
        }
        _ => return None,
    };
    Some((
        SocketAddr::new(ip, url.port().unwrap_or(80)),
        url.path().to_owned(),
    ))
}

async fn browser_flow(data: &DataDir, request: &OAuthConnect) -> Result<Exchanged, AppError> {
    data.ensure()?;
    let secrets = Secrets::open(data)?;
    let target = loopback_target(&request.app.redirect_uri);
    // Bind before the URL is shown: the browser may answer at once.
    let listener = match &target {
        Some((addr, _)) => Some(tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            AppError::new(
                ErrorCode::Local,
                format!(
                    "cannot listen on {addr} for the browser's answer ({e}); free that port or use another redirect URI (it must match the integration's)"
                ),
            )
        })?),
        None => None,
    };
    let start = begin_oauth(
        &secrets,
        request.app.clone(),
        Some(request.base_url.clone()),
        None,
        &SystemClock,
    )
    .await?;
    eprintln!(
        "Откройте адрес в браузере и нажмите «Разрешить» / Open this address in a browser and press Allow:"
    );
    eprintln!("authorize_url: {}", start.authorize_url);
    let answer = match (listener, target) {
        (Some(listener), Some((_, path))) => {
            eprintln!(
                "waiting for the browser (up to {} s)…",
                request.wait.as_secs()
            );
            wait_for_redirect(listener, path, &secrets, request.wait).await?
        }
        _ => {
            eprintln!(
                "Вставьте адрес, на который перешёл браузер (или код) / Paste the address the browser went to (or the code):"
            );
            let line = read_line(request.wait).await?;
            finish_oauth(&secrets, &line, &SystemClock).await?
        }
    };
    Ok(answer)
}

/// Reads one line from stdin within `wait`.
async fn read_line(wait: Duration) -> Result<String, AppError> {
    let read = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    });
    match tokio::time::timeout(wait, read).await {
        Ok(Ok(Ok(line))) if !line.trim().is_empty() => Ok(line.trim().to_owned()),
        Ok(Ok(Ok(_))) => Err(AppError::new(
            ErrorCode::InvalidInput,
            "nothing was pasted; run `amosync connect` again, or pass --code CODE",
        )),
        Ok(Ok(Err(e))) => Err(AppError::new(
            ErrorCode::Local,
            format!("cannot read the pasted answer: {e}"),
        )),
        Ok(Err(e)) => Err(AppError::new(ErrorCode::Local, e.to_string())),
        Err(_) => Err(timed_out(wait)),
    }
}

fn timed_out(wait: Duration) -> AppError {
    AppError::new(
        ErrorCode::InvalidInput,
        format!(
            "no answer from the browser within {} s; run `amosync connect` again (codes live 20 minutes), or pass --code CODE",
            wait.as_secs()
        ),
    )
}

#[derive(Clone)]
struct Listening {
    path: String,
    answers: mpsc::Sender<(String, oneshot::Sender<Result<(), AppError>>)>,
}

/// Serves the loopback redirect until one answer for `path` was exchanged.
async fn wait_for_redirect(
    listener: tokio::net::TcpListener,
    path: String,
    secrets: &Secrets,
    wait: Duration,
) -> Result<Exchanged, AppError> {
    let (tx, mut rx) = mpsc::channel(4);
    let app = axum::Router::new()
        .fallback(redirect_page)
        .with_state(Listening { path, answers: tx });
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop_rx.await;
            })
            .await;
    });
    let deadline = tokio::time::Instant::now() + wait;
    let result = loop {
        let next = tokio::time::timeout_at(deadline, rx.recv()).await;
        let Ok(Some((uri, reply))) = next else {
            break Err(timed_out(wait));
        };
        match finish_oauth(secrets, &uri, &SystemClock).await {
            Ok(exchanged) => {
                let _ = reply.send(Ok(()));
                break Ok(exchanged);
            }
            // A stray old tab: keep waiting for the real answer.
            Err(e) if e.message.contains("state mismatch") => {
                let _ = reply.send(Err(e));
            }
            Err(e) => {
                let _ = reply.send(Err(e.clone()));
                break Err(e);
            }
        }
    };
    // Let the browser receive its page before the server goes away.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    result
}

async fn redirect_page(State(listening): State<Listening>, uri: Uri) -> Html<String> {
    if uri.path() != listening.path {
        return Html(page(
            "Not here",
            "Это не адрес входа AmoSync / This is not AmoSync's sign-in address.",
        ));
    }
    let (reply_tx, reply_rx) = oneshot::channel();
    let full = format!("http://127.0.0.1{uri}");
    if listening.answers.send((full, reply_tx)).await.is_err() {
        return Html(page(
            "AmoSync",
            "Вход уже завершён / Sign-in already finished.",
        ));
    }
    match tokio::time::timeout(Duration::from_secs(60), reply_rx).await {
        Ok(Ok(Ok(()))) => Html(page(
            "AmoSync connected",
            "amoCRM подключён, вкладку можно закрыть / amoCRM is connected; you may close this tab.",
        )),
        Ok(Ok(Err(e))) => Html(page("AmoSync: not connected", &html_escape(&e.message))),
        _ => Html(page("AmoSync", "Нет ответа / No answer; see the terminal.")),
    }
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"ru\"><head><meta charset=\"utf-8\"><title>{title}</title></head><body><h1>{title}</h1><p>{body}</p></body></html>"
    )
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_redirects_are_listened_on() {
        assert_eq!(
            loopback_target("http://127.0.0.1:8790/oauth/callback"),
            Some(("127.0.0.1:8790".parse().unwrap(), "/oauth/callback".into()))
        );
        assert_eq!(
            loopback_target("http://localhost:9000/cb/"),
            Some(("127.0.0.1:9000".parse().unwrap(), "/cb/".into()))
        );
        assert_eq!(loopback_target("amosync://oauth/callback"), None);
        assert_eq!(loopback_target("https://127.0.0.1:8790/cb"), None);
        assert_eq!(loopback_target("http://example.com/cb"), None);
    }

    #[test]
    fn error_pages_escape_messages() {
        assert_eq!(html_escape("<b>&\""), "&lt;b&gt;&amp;&quot;");
    }
}
