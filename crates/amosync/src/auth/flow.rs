//! Starting an OAuth connection and finishing it, whichever way the answer
//! comes back: the `amosync://oauth/callback` deep link, the bounce page
//! (which forwards to the deep link), the loopback listener of
//! `amosync connect`, or a URL/code pasted by the admin.
//!
//! The started connection (integration, `state`, account address) waits in
//! the vault, so the answer may reach another process than the one that
//! started it (a cold start of the desktop app by the deep link).

use amo::Secret;
use amo::oauth::{
    AuthorizeRequest, AuthorizeSite, Callback, CallbackError, OAuthApp, TokenEndpoint, TokenSet,
    account_base_url,
};
use amosync_sync::Clock;

use super::secrets::{PendingOAuth, Secrets};
use crate::{AppError, ErrorCode};

/// Codes live 20 minutes; a started connection is kept a little longer.
pub const PENDING_FOR_S: i64 = 30 * 60;

/// A started connection: open `authorize_url` in the browser.
#[derive(Debug, Clone)]
pub struct OAuthStart {
    /// The approval page with our `client_id` and `state`.
    pub authorize_url: String,
}

fn callback_error(e: CallbackError) -> AppError {
    let code = match e {
        CallbackError::Denied(_) => ErrorCode::OAuthDenied,
        _ => ErrorCode::InvalidInput,
    };
    AppError::new(code, e.to_string())
}

/// Starts a connection: a fresh `state`, remembered with the integration.
/// `base_url` is the account address when known (`--subdomain`): the
/// approval page follows it (Kommo or amoCRM; the emulator's own page for
/// loopback), and a bare pasted code can be exchanged there.
pub async fn begin_oauth(
    secrets: &Secrets,
    app: OAuthApp,
    base_url: Option<String>,
    site: Option<AuthorizeSite>,
    clock: &dyn Clock,
) -> Result<OAuthStart, AppError> {
    let site = match (site, &base_url) {
        (Some(site), _) => site,
        (None, Some(base)) => AuthorizeSite::for_account(&url::Url::parse(base).map_err(|e| {
            AppError::new(
                ErrorCode::InvalidInput,
                format!("the account address {base:?} is not a URL ({e})"),
            )
        })?),
        (None, None) => AuthorizeSite::AmoCrm,
    };
    let request = AuthorizeRequest::new(&app, &site).map_err(AppError::from)?;
    let pending = PendingOAuth {
        app,
        state: request.state.clone(),
        base_url,
        started_at: clock.now_s(),
    };
    secrets
        .update(|doc| {
            doc.pending_oauth = Some(pending);
            Ok(())
        })
        .await?;
    Ok(OAuthStart {
        authorize_url: request.url.to_string(),
    })
}

/// What a finished exchange gives: where the account is, and the pair.
#[derive(Debug, Clone)]
pub struct Exchanged {
    pub base_url: String,
    pub app: OAuthApp,
    pub tokens: TokenSet,
}

/// Finishes the started connection with what came back: a whole callback
/// URL, its query, or a bare code (then the account address must have been
/// given at the start). The `state` must match; the pending connection is
/// consumed either way except on a mismatch (a stray old tab must not
/// cancel the real one).
pub async fn finish_oauth(
    secrets: &Secrets,
    input: &str,
    clock: &dyn Clock,
) -> Result<Exchanged, AppError> {
    let input = input.trim().to_owned();
    let now = clock.now_s();
    // Take the started connection out under the lock: a link delivered
    // twice exchanges its code once; a stray answer (wrong state) leaves
    // the connection waiting for the real one.
    let taken = secrets
        .update(|doc| {
            let pending = doc.pending_oauth.clone().ok_or_else(|| {
                AppError::new(
                    ErrorCode::InvalidInput,
                    "no connection was started here (or it was already finished); press Connect again",
                )
            })?;
            if now - pending.started_at > PENDING_FOR_S {
                doc.pending_oauth = None;
                return Ok(Err(AppError::new(
                    ErrorCode::InvalidInput,
                    "the connection was started more than 30 minutes ago and its code has expired; press Connect again",
                )));
            }
            let answer = read_answer(&input, &pending);
            if !matches!(&answer, Err(e) if e.message.contains("state mismatch")) {
                doc.pending_oauth = None;
            }
            Ok(answer.map(|(code, base)| (pending.app, code, base)))
        })
        .await?;
    let (app, code, base_url) = taken?;
    exchange(&app, &base_url, &code, clock).await
}

/// The code and the account address in what came back.
fn read_answer(input: &str, pending: &PendingOAuth) -> Result<(Secret, String), AppError> {
    let bare_code = !input.contains('=') && !input.contains("://") && !input.is_empty();
    if bare_code {
        let base = pending.base_url.clone().ok_or_else(|| {
            AppError::new(
                ErrorCode::InvalidInput,
                "a code alone does not say which account it is for: give the account (--subdomain or --base-url), or paste the whole address the browser was sent to",
            )
        })?;
        return Ok((Secret::new(input.to_owned()), base));
    }
    let callback =
        Callback::parse(input, &pending.state, &pending.app.client_id).map_err(callback_error)?;
    let base = match (&callback.referer, &pending.base_url) {
        (Some(referer), _) => account_base_url(referer).map_err(callback_error)?,
        (None, Some(base)) => base.clone(),
        (None, None) => {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                "the answer does not name the account (no referer); give the account with --subdomain or --base-url",
            ));
        }
    };
    Ok((callback.code, base))
}

/// `amosync connect --code CODE`: exchanges a code shown in the
/// integration's settings (or copied from a redirect) without a started flow.
pub async fn finish_with_code(
    app: &OAuthApp,
    base_url: &str,
    code: &Secret,
    clock: &dyn Clock,
) -> Result<Exchanged, AppError> {
    exchange(app, base_url, code, clock).await
}

async fn exchange(
    app: &OAuthApp,
    base_url: &str,
    code: &Secret,
    clock: &dyn Clock,
) -> Result<Exchanged, AppError> {
    let endpoint = TokenEndpoint::new(base_url, app).map_err(AppError::from)?;
    let tokens = endpoint
        .exchange_code(code, clock.now_s())
        .await
        .map_err(AppError::from)?;
    Ok(Exchanged {
        base_url: base_url.to_owned(),
        app: app.clone(),
        tokens,
    })
}
