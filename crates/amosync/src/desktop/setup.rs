//! The set-up wizard's backend: Connect (the browser URL), the answer that
//! comes back (deep link, pasted address or code), then the live checklist
//! (authorised ✓, webhook registered ✓, first sync n ✓) as the embedded
//! engine starts on the new account.

use std::net::SocketAddr;
use std::sync::Arc;

use amo::Secret;
use amo::oauth::OAuthApp;
use amosync_sync::SystemClock;

use super::prefs;
use super::pump::is_account;
use super::session::{Session, Snapshot, Target, lock};
use super::views::{
    SessionMode, SetupProgress, SetupRequest, SetupStart, SiteKind, SyncView, WebhookView, events,
};
use crate::auth::{Secrets, begin_oauth};
use crate::cli::connect::{base_url_for_subdomain, normalize_base_url};
use crate::cli::oauth::{CALLBACK_URL_PREFIX, connect_exchanged, exchange_answer};
use crate::control::ServeFile;
use crate::{AppError, ErrorCode};

/// The wizard's state: the checklist, and whether it is still filling in.
#[derive(Debug, Clone)]
pub(crate) struct SetupState {
    pub progress: SetupProgress,
    /// Connected, waiting for the webhook and the first sync.
    pub following: bool,
}

impl Default for SetupState {
    fn default() -> Self {
        SetupState {
            progress: blank(),
            following: false,
        }
    }
}

fn blank() -> SetupProgress {
    SetupProgress {
        waiting_for_browser: false,
        authorised: false,
        account_name: None,
        webhook: WebhookView::Pending,
        leads_synced: 0,
        first_sync_done: false,
        error: None,
    }
}

fn invalid(message: impl Into<String>) -> AppError {
    AppError::new(ErrorCode::InvalidInput, message)
}

/// `mycompany`, also when pasted as `https://mycompany.amocrm.ru/…`.
fn bare_subdomain(raw: &str, suffix: &str) -> String {
    let s = raw.trim().to_ascii_lowercase();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(&s)
        .to_owned();
    let host = s.split('/').next().unwrap_or_default();
    host.strip_suffix(suffix).unwrap_or(host).to_owned()
}

/// The account address the form names.
pub fn account_base_url(request: &SetupRequest) -> Result<String, AppError> {
    let subdomain_error = |site: &str, raw: &str| {
        invalid(format!(
            "«{raw}» is not an {site} subdomain: type the part before .{site}, letters, digits and '-' only (e.g. mycompany for mycompany.{site})"
        ))
    };
    match request.site {
        SiteKind::Amocrm => {
            let sub = bare_subdomain(&request.subdomain, ".amocrm.ru");
            base_url_for_subdomain(&sub)
                .map_err(|_| subdomain_error("amocrm.ru", &request.subdomain))
        }
        SiteKind::Kommo => {
            let sub = bare_subdomain(&request.subdomain, ".kommo.com");
            // The same rules as amoCRM's subdomains.
            base_url_for_subdomain(&sub)
                .map(|_| format!("https://{sub}.kommo.com"))
                .map_err(|_| subdomain_error("kommo.com", &request.subdomain))
        }
        SiteKind::Custom => {
            let raw = request
                .base_url
                .as_deref()
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .ok_or_else(|| {
                    invalid("type the account's full address (e.g. http://127.0.0.1:3000 for the local emulator)")
                })?;
            // Plain http:// to another machine would send the token in clear.
            if let Ok(url) = url::Url::parse(raw)
                && url.scheme() == "http"
            {
                amo::check_account_url(&url).map_err(invalid)?;
            }
            normalize_base_url(raw).map_err(|_| {
                invalid(format!(
                    "«{raw}» is not an account address: type it as http(s)://host[:port], with no login, query or spaces"
                ))
            })
        }
    }
}

/// The integration the form names (redirect URI defaulted to the deep link).
pub fn oauth_app(request: &SetupRequest) -> Result<OAuthApp, AppError> {
    let redirect_uri = match request.redirect_uri.trim() {
        "" => CALLBACK_URL_PREFIX.to_owned(),
        uri => uri.to_owned(),
    };
    let app = OAuthApp {
        client_id: request.client_id.trim().to_owned(),
        client_secret: Secret::new(request.client_secret.trim().to_owned()),
        redirect_uri,
    };
    app.validate().map_err(|e| match e {
        amo::ApiError::Config { detail } => invalid(detail),
        other => AppError::from(other),
    })?;
    Ok(app)
}

fn running_elsewhere(session: &Session) -> Option<AppError> {
    if session.mode() == SessionMode::Embedded {
        return None;
    }
    let file = ServeFile::live(&session.data).ok().flatten()?;
    if file.pid == std::process::id() {
        // Ours (the engine in process, starting).
        return None;
    }
    Some(AppError::new(
        ErrorCode::StoreUnavailable,
        format!(
            "`amosync serve` (pid {}) is running on {}; stop it, connect here, then start it again",
            file.pid,
            session.data.root().display()
        ),
    ))
}

fn publish(session: &Session, progress: &SetupProgress) {
    session.emit(events::SETUP, progress);
}

fn update(session: &Session, f: impl FnOnce(&mut SetupState)) -> SetupProgress {
    let mut setup = lock(&session.setup);
    f(&mut setup);
    setup.progress.clone()
}

/// Connect: saves the started connection in the account folder's vault and
/// returns the approval page.
pub(crate) async fn begin(
    session: &Session,
    request: SetupRequest,
) -> Result<SetupStart, AppError> {
    let base_url = account_base_url(&request)?;
    let app = oauth_app(&request)?;
    if let Some(err) = running_elsewhere(session) {
        return Err(err);
    }
    session.data.ensure()?;
    let secrets = Secrets::open(&session.data)?;
    let start = begin_oauth(&secrets, app, Some(base_url), None, &SystemClock).await?;
    tracing::info!(site = ?request.site, "a connection was started; waiting for the browser");
    let progress = update(session, |s| {
        s.progress = SetupProgress {
            waiting_for_browser: true,
            ..blank()
        };
        s.following = false;
    });
    publish(session, &progress);
    Ok(SetupStart {
        authorize_url: start.authorize_url,
    })
}

/// The browser came back: exchange, connect, switch to the account.
pub(crate) async fn finish(session: &Arc<Session>, input: String) -> Result<(), AppError> {
    let answer = input.trim().to_owned();
    let outcome = if answer.is_empty() {
        Err(invalid(
            "paste the address the browser went to after «Allow» (or the code), or press Connect again",
        ))
    } else {
        connect_and_switch(session, &answer).await
    };
    match outcome {
        Ok(account_name) => {
            let progress = update(session, |s| {
                s.progress.waiting_for_browser = false;
                s.progress.authorised = true;
                s.progress.account_name = account_name;
                s.progress.error = None;
                s.following = true;
            });
            publish(session, &progress);
            session.emit(events::CONNECTED, &serde_json::Value::Null);
            Ok(())
        }
        Err(err) => {
            tracing::warn!(code = ?err.code, "the connection did not finish: {err}");
            let progress = update(session, |s| {
                s.progress.waiting_for_browser = false;
                s.progress.error = Some(err.clone());
                s.following = false;
            });
            publish(session, &progress);
            session.emit(events::CONNECT_FAILED, &err);
            Err(err)
        }
    }
}

/// Exchanges the answer, connects the account folder, then runs the engine
/// on it (the demo stops once the account is connected). The account's
/// name on success. A refused answer leaves what runs alone.
async fn connect_and_switch(
    session: &Arc<Session>,
    answer: &str,
) -> Result<Option<String>, AppError> {
    if answer.starts_with("amosync://") && !answer.starts_with(CALLBACK_URL_PREFIX) {
        return Err(invalid(
            "AmoSync only opens amosync://oauth/callback links; press Connect in the wizard again",
        ));
    }
    let _one_at_a_time = session.begin_switch().await;
    if let Some(err) = running_elsewhere(session) {
        return Err(err);
    }
    // The code first: it needs no store (and a stray link changes nothing).
    let exchanged = exchange_answer(&session.data, answer).await?;
    // A first connection takes any free port (saved for the next starts).
    let listen = match session.data.load_config() {
        Ok(Some(_)) => None,
        _ => Some(SocketAddr::from(([127, 0, 0, 1], 0))),
    };
    // The engine on this folder holds its store: stop it for the connect
    // (a reconnect). The demo lives in another folder: it stops after.
    let demo = session.intended() == Some(Target::Demo);
    if !demo {
        session.stop_current().await;
    }
    match connect_exchanged(&session.data, exchanged, listen).await {
        Ok(out) => {
            let name = out["account"]["name"].as_str().map(str::to_owned);
            let saved = {
                let mut p = lock(&session.prefs);
                p.wizard_done = true;
                p.clone()
            };
            if let Err(e) = prefs::save(&session.data, &saved) {
                tracing::warn!("could not save the preferences: {e}");
            }
            if demo {
                session.stop_current().await;
            }
            session.launch(Target::Embedded).await;
            Ok(name)
        }
        Err(err) => {
            if !demo {
                session.launch(Target::Auto).await;
            }
            Err(err)
        }
    }
}

/// The checklist follows the engine's view until the webhook is settled
/// and the first sync is done.
pub(crate) fn on_view(session: &Session, snap: &Snapshot, view: &SyncView) {
    if !is_account(snap.mode) {
        return;
    }
    let changed = {
        let mut setup = lock(&session.setup);
        if !setup.following {
            return;
        }
        let before = setup.progress.clone();
        let p = &mut setup.progress;
        p.webhook = view.webhook;
        p.leads_synced = view.leads_synced;
        p.first_sync_done = view.first_sync_done;
        if view.account_name.is_some() {
            p.account_name = view.account_name.clone();
        }
        if p.first_sync_done && p.webhook != WebhookView::Pending {
            setup.following = false;
        }
        (setup.progress != before).then(|| setup.progress.clone())
    };
    if let Some(progress) = changed {
        publish(session, &progress);
    }
}

/// The engine stopped while the checklist was filling in: show why.
pub(crate) fn on_mode(session: &Session, snap: &Snapshot) {
    if snap.mode != SessionMode::Stopped {
        return;
    }
    let Some(err) = snap.error.clone() else {
        return;
    };
    let progress = {
        let mut setup = lock(&session.setup);
        if !setup.following {
            return;
        }
        setup.following = false;
        setup.progress.error = Some(err.clone());
        setup.progress.clone()
    };
    publish(session, &progress);
    session.emit(events::CONNECT_FAILED, &err);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(site: SiteKind, sub: &str, base: Option<&str>) -> SetupRequest {
        SetupRequest {
            site,
            subdomain: sub.into(),
            base_url: base.map(str::to_owned),
            client_id: "5e0c1d2e-aaaa".into(),
            client_secret: "s3cret".into(),
            redirect_uri: String::new(),
        }
    }

    #[test]
    fn the_form_names_the_account() {
        let ok = |r: SetupRequest| account_base_url(&r).unwrap();
        assert_eq!(
            ok(request(SiteKind::Amocrm, "Office", None)),
            "https://office.amocrm.ru"
        );
        assert_eq!(
            ok(request(
                SiteKind::Amocrm,
                "https://office.amocrm.ru/leads",
                None
            )),
            "https://office.amocrm.ru"
        );
        assert_eq!(
            ok(request(SiteKind::Kommo, "office.kommo.com", None)),
            "https://office.kommo.com"
        );
        assert_eq!(
            ok(request(
                SiteKind::Custom,
                "",
                Some("http://127.0.0.1:3000/")
            )),
            "http://127.0.0.1:3000"
        );
        for bad in [
            request(SiteKind::Amocrm, "my office", None),
            request(SiteKind::Amocrm, "", None),
            request(SiteKind::Kommo, "-x", None),
            request(SiteKind::Custom, "", None),
            request(SiteKind::Custom, "", Some("ftp://x")),
            request(SiteKind::Custom, "", Some("http://office.example.com")),
        ] {
            let err = account_base_url(&bad).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidInput, "{bad:?}");
            assert!(
                !err.message.contains("--"),
                "desktop wording: {}",
                err.message
            );
        }
        let clear = account_base_url(&request(
            SiteKind::Custom,
            "",
            Some("http://office.example.com"),
        ))
        .unwrap_err();
        assert!(clear.message.contains("https://"), "{}", clear.message);
    }

    #[test]
    fn the_integration_is_checked_and_the_deep_link_is_the_default() {
        let app = oauth_app(&request(SiteKind::Amocrm, "x", None)).unwrap();
        assert_eq!(app.redirect_uri, CALLBACK_URL_PREFIX);
        let mut r = request(SiteKind::Amocrm, "x", None);
        r.client_id = " ".into();
        let err = oauth_app(&r).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert!(err.message.contains("Keys and access"), "{}", err.message);
        let mut r = request(SiteKind::Amocrm, "x", None);
        r.client_secret = String::new();
        assert_eq!(oauth_app(&r).unwrap_err().code, ErrorCode::InvalidInput);
        // The secret never shows in the form's Display.
        assert!(!format!("{}", request(SiteKind::Amocrm, "x", None)).contains("s3cret"));
    }
}
