//! `amosync tunnel`: how amoCRM reaches the webhook receiver. The choice
//! and its credentials are kept in the vault (an ngrok authtoken and a bore
//! secret are secrets); `serve` starts it.

use amo::Secret;
use amosync_tunnel::TunnelConfig;
use serde_json::{Value, json};

use crate::auth::Secrets;
use crate::cli::args::TunnelArgs;
use crate::config::DataDir;
use crate::control::ServeFile;
use crate::{AppError, ErrorCode};

/// Environment variable read when `--provider ngrok` gets no `--authtoken`.
pub const NGROK_AUTHTOKEN_ENV: &str = "AMOSYNC_NGROK_AUTHTOKEN";

/// The saved tunnel choice of a folder (`None`: nothing chosen yet).
pub fn saved_tunnel(raw: Option<&Value>) -> Result<Option<TunnelConfig>, AppError> {
    match raw {
        None => Ok(None),
        Some(value) => serde_json::from_value(value.clone()).map(Some).map_err(|e| {
            AppError::new(
                ErrorCode::InvalidInput,
                format!("the saved tunnel settings are unreadable ({e}); choose again with `amosync tunnel --provider …`"),
            )
        }),
    }
}

/// The settings as shown: no authtoken or secret values.
pub fn describe(config: &TunnelConfig) -> Value {
    match config {
        TunnelConfig::Ngrok { domain, .. } => {
            json!({"provider": "ngrok", "domain": domain, "authtoken": "***"})
        }
        TunnelConfig::Cloudflared { binary } => {
            json!({"provider": "cloudflared", "binary": binary.as_ref().map(|b| b.display().to_string())})
        }
        TunnelConfig::OwnUrl { url } => json!({"provider": "own_url", "url": url}),
        TunnelConfig::Bore {
            server,
            secret,
            public_url,
        } => {
            json!({"provider": "bore", "server": server, "secret": secret.as_ref().map(|_| "***"), "public_url": public_url})
        }
        TunnelConfig::None => json!({"provider": "none"}),
    }
}

/// Refuses a tunnel that would carry the webhook secret and CRM data of
/// the account at `base_url` in clear text (bore without TLS, for an
/// account not on this machine).
pub fn check_for_account(config: &TunnelConfig, base_url: &str) -> Result<(), AppError> {
    config
        .check_for_account(crate::cli::connect::is_loopback_url(base_url))
        .map_err(|e| AppError::new(ErrorCode::InvalidInput, e.to_string()))
}

fn config_from(args: &TunnelArgs, provider: &str) -> Result<TunnelConfig, AppError> {
    let missing = |what: &str| {
        AppError::new(
            ErrorCode::InvalidInput,
            format!("--provider {provider} needs {what}"),
        )
    };
    let secret = |s: &Option<Secret>| {
        s.as_ref()
            .map(|s| amosync_tunnel::Secret::new(s.expose().trim().to_owned()))
    };
    let config = match provider {
        "ngrok" => {
            let token = args
                .authtoken
                .as_ref()
                .map(|t| t.expose().trim().to_owned())
                .or_else(|| std::env::var(NGROK_AUTHTOKEN_ENV).ok())
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    missing(&format!(
                        "--authtoken TOKEN (or {NGROK_AUTHTOKEN_ENV}) from the ngrok dashboard"
                    ))
                })?;
            TunnelConfig::Ngrok {
                authtoken: amosync_tunnel::Secret::new(token),
                domain: args.domain.clone(),
            }
        }
        "cloudflared" => TunnelConfig::Cloudflared { binary: None },
        "url" | "own_url" => TunnelConfig::OwnUrl {
            url: args.url.clone().ok_or_else(|| {
                missing("--url https://… (the address your proxy forwards to the receiver)")
            })?,
        },
        "bore" => TunnelConfig::Bore {
            server: args
                .server
                .clone()
                .ok_or_else(|| missing("--server HOST[:PORT] (your bore server)"))?,
            secret: secret(&args.secret),
            public_url: args.public_url.clone(),
        },
        "none" => TunnelConfig::None,
        other => {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!(
                    "--provider {other:?} is not known; use ngrok, cloudflared, url, bore or none"
                ),
            ));
        }
    };
    config
        .validate()
        .map_err(|e| AppError::new(ErrorCode::InvalidInput, e.to_string()))?;
    Ok(config)
}

/// `amosync tunnel [--provider …]`: saves a choice, or shows the current one.
pub async fn tunnel(data: &DataDir, args: TunnelArgs) -> Result<Value, AppError> {
    data.ensure()?;
    let secrets = Secrets::open(data)?;
    let serving = ServeFile::live(data).ok().flatten().is_some();
    let Some(provider) = args.provider.clone() else {
        let doc = secrets.load().await?;
        let current = saved_tunnel(doc.tunnel.as_ref())?;
        return Ok(json!({
            "tunnel": current.as_ref().map(describe),
            "chosen": current.is_some(),
        }));
    };
    let config = config_from(&args, provider.trim())?;
    if let Some(account) = data.load_config()? {
        check_for_account(&config, &account.base_url)?;
    }
    let value = serde_json::to_value(&config).map_err(|e| {
        AppError::new(
            ErrorCode::Local,
            format!("cannot encode the tunnel settings: {e}"),
        )
    })?;
    secrets
        .update(|doc| {
            doc.tunnel = Some(value);
            Ok(())
        })
        .await?;
    Ok(json!({
        "tunnel": describe(&config),
        "saved": true,
        "note": if serving { "restart `amosync serve` to use it" } else { "`amosync serve` will open it" },
    }))
}
