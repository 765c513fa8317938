//! `amosync connect`: bind a data folder to an amoCRM account, with a
//! long-lived token or an OAuth pair (see [`crate::cli::oauth`] for how the
//! pair is obtained), and the client factory every command shares.

use std::net::SocketAddr;

use amo::models::Account;
use std::sync::Arc;

use amo::{ApiError, Client, ClientConfig, Secret, StaticToken};
use amosync_store::{AccountBinding, StoreError};
use amosync_sync::Clock;
use amosync_sync::{SystemClock, WebhookSecret};
use serde_json::{Value, json};

use crate::auth::{AuthSecrets, Credentials, Secrets, TokenManager};
use crate::cli::query::open_store;
use crate::config::{Config, DataDir, check_loopback};
use crate::control::ServeFile;
use crate::{AppError, ErrorCode};

/// What `connect` needs.
#[derive(Debug, Clone)]
pub struct ConnectRequest {
    /// API base URL, e.g. `https://office.amocrm.ru`.
    pub base_url: String,
    /// A long-lived token or a fresh OAuth pair.
    pub auth: AuthSecrets,
    /// Webhook receiver address to keep (default: the saved one, else 127.0.0.1:8787).
    pub listen: Option<SocketAddr>,
}

/// `--subdomain SUB` → `https://SUB.amocrm.ru`.
pub fn base_url_for_subdomain(subdomain: &str) -> Result<String, AppError> {
    let sub = subdomain.trim().to_ascii_lowercase();
    let valid = !sub.is_empty()
        && sub.len() <= 63
        && sub.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !sub.starts_with('-')
        && !sub.ends_with('-');
    if !valid {
        return Err(AppError::new(
            ErrorCode::InvalidInput,
            format!(
                "--subdomain {subdomain:?} is not an amoCRM subdomain (letters, digits, '-'); for Kommo pass --base-url https://SUB.kommo.com"
            ),
        ));
    }
    Ok(format!("https://{sub}.amocrm.ru"))
}

/// Checks and normalizes `--base-url` (no trailing slash).
pub fn normalize_base_url(raw: &str) -> Result<String, AppError> {
    let bad = |why: String| {
        AppError::new(
            ErrorCode::InvalidInput,
            format!(
                "--base-url {raw:?} {why}; pass the account's address, e.g. https://SUB.amocrm.ru"
            ),
        )
    };
    let url = url::Url::parse(raw.trim()).map_err(|e| bad(format!("is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad("must be http(s)://host".into()));
    }
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
        return Err(bad("must not carry credentials or a query".into()));
    }
    amo::check_account_url(&url).map_err(|why| AppError::new(ErrorCode::InvalidInput, why))?;
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// True for the emulator (and any account served on this machine).
pub fn is_loopback_url(base_url: &str) -> bool {
    match url::Url::parse(base_url)
        .ok()
        .and_then(|u| u.host().map(|h| h.to_owned()))
    {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// An amoCRM API error told the CLI way (what to do here, not in Settings).
pub fn api_error(err: ApiError, base_url: &str) -> AppError {
    let code = AppError::from(err.clone()).code;
    let message = match &err {
        // The token manager's reconnect message already says what to do.
        ApiError::AuthRevoked { detail } if detail.contains("Reconnect") => detail.clone(),
        _ if err.needs_reconnect() => format!(
            "amoCRM at {base_url} did not accept AmoSync's credentials ({}); run `amosync connect --base-url {base_url}` again — with --client-id/--client-secret/--redirect-uri for an OAuth integration, or --token for a long-lived token. The local data is kept",
            err.code()
        ),
        _ if matches!(code, ErrorCode::Unreachable) => {
            format!("{err} (amoCRM at {base_url}; check --base-url/--subdomain and the network)")
        }
        _ => err.to_string(),
    };
    AppError::new(code, message)
}

/// How hard a client tries before it gives up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patience {
    /// Someone waits at the terminal (`connect`): one retry, 20 s per request,
    /// then say what is wrong.
    Interactive,
    /// The sync passes (`sync`, `serve`): the client's default retries.
    Background,
}

fn client_config(base_url: &str, patience: Patience) -> Result<ClientConfig, AppError> {
    let mut config = ClientConfig::from_url(base_url).map_err(|e| api_error(e, base_url))?;
    if patience == Patience::Interactive {
        config.max_retries = 1;
        config.timeout = std::time::Duration::from_secs(20);
    }
    Ok(config)
}

/// A client for the account at `base_url` with a long-lived token.
pub fn client(base_url: &str, token: Secret, patience: Patience) -> Result<Client, AppError> {
    Client::new(client_config(base_url, patience)?, StaticToken::new(token))
        .map_err(|e| api_error(e, base_url))
}

/// A client for a connected folder. With OAuth it also returns the folder's
/// [`TokenManager`] (the one refresher; keep it for status and keep-alive).
pub fn client_for(
    base_url: &str,
    credentials: &Credentials,
    secrets: &Secrets,
    reconnect: Option<String>,
    patience: Patience,
) -> Result<(Client, Option<Arc<TokenManager>>), AppError> {
    match &credentials.auth {
        AuthSecrets::LongLived { token } => Ok((client(base_url, token.clone(), patience)?, None)),
        AuthSecrets::OAuth { app, tokens } => {
            let manager = Arc::new(TokenManager::new(
                secrets.clone(),
                base_url,
                app,
                tokens.clone(),
                reconnect,
                Arc::new(SystemClock),
            )?);
            let client = Client::new(client_config(base_url, patience)?, manager.clone())
                .map_err(|e| api_error(e, base_url))?;
            Ok((client, Some(manager)))
        }
    }
}

/// The account's time zone (`datetime_settings.timezone`, e.g.
/// `Asia/Tbilisi`) if the account answer carries it (see [`Account::timezone`]).
pub fn account_timezone(account: &Account) -> Option<String> {
    account.timezone()
}

fn store_error(data: &DataDir, err: StoreError) -> AppError {
    match err {
        StoreError::Locked { .. } => {
            let who = ServeFile::live(data)
                .ok()
                .flatten()
                .map(|f| format!("`amosync serve` (pid {})", f.pid))
                .unwrap_or_else(|| "another AmoSync process".into());
            AppError::new(
                ErrorCode::StoreUnavailable,
                format!(
                    "the data folder {} is in use by {who}; stop it before connecting",
                    data.root().display()
                ),
            )
        }
        other => other.into(),
    }
}

/// Reads the account, binds the store to it and keeps the secrets. Refuses a
/// folder bound to a different account. Prints (returns) what was connected.
pub async fn connect(data: &DataDir, request: ConnectRequest) -> Result<Value, AppError> {
    let base_url = normalize_base_url(&request.base_url)?;
    if let Some(listen) = request.listen {
        check_loopback(listen, "--listen")?;
    }
    let secrets = Secrets::open(data)?;
    // Read the account with the fresh token as it is: no refresh logic
    // before the pair is stored (a short-lived token must not be refreshed
    // against an old pair in the vault).
    let probe_token = match &request.auth {
        AuthSecrets::LongLived { token } => token.clone(),
        AuthSecrets::OAuth { tokens, .. } => tokens.access_token.clone(),
    };
    let client = client(&base_url, probe_token, Patience::Interactive)?;
    let account = client
        .account()
        .await
        .map_err(|e| api_error(e, &base_url))?;

    data.ensure()?;
    let store = open_store(data).await.map_err(|e| store_error(data, e))?;
    let existing = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.binding())
            .await
            .map_err(|e| AppError::new(ErrorCode::Local, e.to_string()))??
    };
    if let Some(bound) = &existing
        && bound.account_id != account.id
    {
        return Err(AppError::new(
            ErrorCode::AccountMismatch,
            format!(
                "{} already mirrors amoCRM account {} ({}); to connect account {} ({}) use another --data DIR",
                data.root().display(),
                bound.account_id,
                bound.subdomain,
                account.id,
                account.subdomain
            ),
        ));
    }

    // Secrets first: a binding without its token would be useless. The
    // webhook secret is kept on a reconnect (amoCRM knows that URL).
    let auth = request.auth;
    let reused_secret = secrets
        .update(|doc| {
            let keep = existing.as_ref().and(doc.webhook_secret.clone());
            let reused = keep.is_some();
            doc.webhook_secret = Some(keep.unwrap_or_else(WebhookSecret::generate));
            doc.auth = Some(auth);
            doc.reconnect = None;
            Ok(reused)
        })
        .await?;
    let auth_kind = secrets
        .load()
        .await?
        .auth
        .map(|a| a.kind())
        .unwrap_or("none");

    let binding = AccountBinding {
        account_id: account.id,
        subdomain: account.subdomain.clone(),
        name: account.name.clone(),
        base_url: base_url.clone(),
        currency: account.currency.clone(),
        // An answer without `datetime_settings` keeps what an earlier
        // connect learned rather than forget it.
        timezone: account_timezone(&account)
            .or_else(|| existing.as_ref().and_then(|b| b.timezone.clone())),
        connected_at: SystemClock.now_s(),
    };
    {
        let store = store.clone();
        let binding = binding.clone();
        tokio::task::spawn_blocking(move || store.write(|tx| tx.set_binding(&binding)))
            .await
            .map_err(|e| AppError::new(ErrorCode::Local, e.to_string()))??;
    }
    drop(store);

    let saved = data.load_config().ok().flatten();
    let listen = request
        .listen
        .or_else(|| saved.as_ref().map(|c| c.listen))
        .unwrap_or_else(Config::default_listen);
    data.save_config(&Config {
        base_url: base_url.clone(),
        listen,
        retention_days: saved.and_then(|c| c.retention_days),
    })?;
    tracing::info!(account_id = account.id, base_url = %base_url, "connected");

    Ok(json!({
        "connected": true,
        "reconnected": existing.is_some(),
        "account": binding,
        "data_dir": data.root().display().to_string(),
        "listen": listen.to_string(),
        "webhook_secret": if reused_secret { "kept" } else { "generated" },
        "auth": auth_kind,
        "credentials": secrets.location(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomain_becomes_the_amocrm_host() {
        assert_eq!(
            base_url_for_subdomain("Office").unwrap(),
            "https://office.amocrm.ru"
        );
        assert!(base_url_for_subdomain("a/b").is_err());
        assert!(base_url_for_subdomain("").is_err());
    }

    #[test]
    fn base_urls_are_normalized_and_checked() {
        assert_eq!(
            normalize_base_url("https://x.kommo.com/").unwrap(),
            "https://x.kommo.com"
        );
        assert_eq!(
            normalize_base_url("http://127.0.0.1:3000").unwrap(),
            "http://127.0.0.1:3000"
        );
        assert!(normalize_base_url("ftp://x").is_err());
        assert!(normalize_base_url("not a url").is_err());
        assert!(normalize_base_url("https://u:p@x.amocrm.ru").is_err());
        let clear = normalize_base_url("http://office.amocrm.ru").expect_err("clear text");
        assert_eq!(clear.code, ErrorCode::InvalidInput);
        assert!(clear.message.contains("https://"), "{}", clear.message);
        assert!(normalize_base_url("http://localhost:3000").is_ok());
    }

    #[test]
    fn loopback_urls_are_recognized() {
        assert!(is_loopback_url("http://127.0.0.1:3000"));
        assert!(is_loopback_url("http://localhost:3000"));
        assert!(is_loopback_url("http://[::1]:3000"));
        assert!(!is_loopback_url("https://x.amocrm.ru"));
    }

    #[test]
    fn the_time_zone_comes_from_datetime_settings() {
        let account = |v: Value| serde_json::from_value::<Account>(v).unwrap();
        let top = account(json!({
            "id": 1, "name": "x", "subdomain": "x",
            "datetime_settings": {"timezone": "Asia/Tbilisi", "timezone_offset": "+04:00"}
        }));
        assert_eq!(account_timezone(&top).as_deref(), Some("Asia/Tbilisi"));
        let embedded = account(json!({
            "id": 1, "name": "x", "subdomain": "x",
            "_embedded": {"datetime_settings": {"timezone": "Europe/Moscow"}}
        }));
        assert_eq!(
            account_timezone(&embedded).as_deref(),
            Some("Europe/Moscow")
        );
        let none = account(json!({"id": 1, "name": "x", "subdomain": "x"}));
        assert_eq!(account_timezone(&none), None);
    }

    #[test]
    fn revoked_tokens_say_to_reconnect_from_the_cli() {
        let err = api_error(
            ApiError::Unauthorized {
                detail: "Token has been revoked".into(),
            },
            "https://x.amocrm.ru",
        );
        assert_eq!(err.code, ErrorCode::AuthRevoked);
        assert!(
            err.message
                .contains("amosync connect --base-url https://x.amocrm.ru")
                && err.message.contains("--client-id")
                && err.message.contains("--token"),
            "{}",
            err.message
        );
        assert!(!err.message.contains('\n'));
    }
}
