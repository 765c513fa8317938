//! Tunnel settings as the admin picks them, and their validation.

use std::net::IpAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::TunnelError;
use crate::secret::Secret;

/// The bore server's control port when the admin gives none.
pub const BORE_DEFAULT_PORT: u16 = 7835;

/// Which tunnel exposes the webhook receiver, and its settings.
///
/// `Debug` never shows the ngrok authtoken or the bore secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "provider", rename_all = "snake_case")]
pub enum TunnelConfig {
    /// ngrok, in process; needs an authtoken, optionally a reserved domain.
    Ngrok {
        /// The ngrok authtoken (dashboard → Your Authtoken).
        authtoken: Secret,
        /// A reserved/static domain such as `office.ngrok.app`.
        #[serde(default)]
        domain: Option<String>,
    },
    /// A Cloudflare quick tunnel through the `cloudflared` program.
    Cloudflared {
        /// Path of `cloudflared`; found on `PATH` when absent.
        #[serde(default)]
        binary: Option<PathBuf>,
    },
    /// The admin's own reverse proxy forwards this URL to the receiver.
    OwnUrl {
        /// Public base URL, e.g. `https://office.example.com/amosync`.
        url: String,
    },
    /// A self-hosted bore server (<https://github.com/ekzhang/bore>).
    Bore {
        /// `host[:port]` of the bore server's control port (default 7835).
        server: String,
        /// The server's `--secret`, if it has one.
        #[serde(default)]
        secret: Option<Secret>,
        /// The `https://` address of a TLS proxy in front of the tunnel's
        /// public port (run the server with `--min-port P --max-port P` and
        /// forward the proxy to port P). bore itself is clear-text TCP: an
        /// account that is not on this machine needs this (see
        /// [`TunnelConfig::check_for_account`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        public_url: Option<String>,
    },
    /// No tunnel: the receiver is reachable only on this machine.
    #[default]
    None,
}

impl TunnelConfig {
    /// The provider's name as in the serialized `provider` tag.
    pub fn provider_name(&self) -> &'static str {
        match self {
            TunnelConfig::Ngrok { .. } => "ngrok",
            TunnelConfig::Cloudflared { .. } => "cloudflared",
            TunnelConfig::OwnUrl { .. } => "own_url",
            TunnelConfig::Bore { .. } => "bore",
            TunnelConfig::None => "none",
        }
    }

    /// Checks the settings without touching the network or the file system.
    pub fn validate(&self) -> Result<(), TunnelError> {
        match self {
            TunnelConfig::Ngrok { authtoken, domain } => {
                validate_ngrok(authtoken.expose(), domain.as_deref())
            }
            TunnelConfig::Cloudflared { binary } => match binary {
                Some(p) if p.as_os_str().is_empty() => Err(TunnelError::config(
                    "cloudflared binary path is empty: give the full path of cloudflared or leave it unset to use PATH",
                )),
                _ => Ok(()),
            },
            TunnelConfig::OwnUrl { url } => normalize_own_url(url).map(|_| ()),
            TunnelConfig::Bore {
                server,
                secret,
                public_url,
            } => {
                parse_bore_server(server)?;
                if secret.as_ref().is_some_and(|s| s.expose().is_empty()) {
                    return Err(TunnelError::config(
                        "bore secret is empty: enter the server's --secret or leave it unset",
                    ));
                }
                if let Some(url) = public_url {
                    normalize_tls_url(url)?;
                }
                Ok(())
            }
            TunnelConfig::None => Ok(()),
        }
    }

    /// Refuses a tunnel that would carry the webhook secret (in every
    /// delivery's path) and the CRM data in clear text over the network:
    /// a bore tunnel without an `https://` public address, for an account
    /// that is not on this machine. The error says what to do.
    pub fn check_for_account(&self, account_on_this_machine: bool) -> Result<(), TunnelError> {
        match self {
            TunnelConfig::Bore {
                public_url: None, ..
            } if !account_on_this_machine => Err(TunnelError::config(
                "bore sends the webhook secret and the CRM data in clear text (http://): put the bore server's public port behind TLS (run it with --min-port P --max-port P and a reverse proxy with a certificate forwarding to port P) and give that https:// address (amosync tunnel --provider bore --server HOST --public-url https://hooks.example.com), or choose ngrok, cloudflared or url",
            )),
            _ => Ok(()),
        }
    }
}

/// Checks a bore tunnel's public address: `https://host[/path]` only.
pub(crate) fn normalize_tls_url(raw: &str) -> Result<String, TunnelError> {
    let trimmed = raw.trim();
    if !trimmed
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
    {
        return Err(TunnelError::config(format!(
            "bore public URL {trimmed:?} must be the https:// address of the TLS proxy in front of the bore server, e.g. https://hooks.example.com"
        )));
    }
    normalize_own_url(trimmed)
}

fn validate_ngrok(authtoken: &str, domain: Option<&str>) -> Result<(), TunnelError> {
    if authtoken.trim().is_empty() {
        return Err(TunnelError::config(
            "ngrok authtoken is missing: copy it from the ngrok dashboard (Your Authtoken) or pick another provider",
        ));
    }
    if authtoken
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(TunnelError::config(
            "ngrok authtoken contains spaces or line breaks: paste the token alone",
        ));
    }
    if let Some(domain) = domain {
        let ok = !domain.is_empty()
            && domain.len() <= 253
            && domain.split('.').count() >= 2
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !ok {
            return Err(TunnelError::config(format!(
                "ngrok domain {domain:?} is not a host name: give the domain only, e.g. office.ngrok.app (no https://, no path), or leave it empty"
            )));
        }
    }
    Ok(())
}

/// Checks an own URL and returns it without a trailing slash.
pub(crate) fn normalize_own_url(raw: &str) -> Result<String, TunnelError> {
    let trimmed = raw.trim();
    let parsed = url::Url::parse(trimmed).map_err(|e| {
        TunnelError::config(format!(
            "own URL {trimmed:?} is not a URL ({e}): give it like https://office.example.com/amosync"
        ))
    })?;
    let Some(host) = parsed.host() else {
        return Err(TunnelError::config(
            "own URL has no host: give it like https://office.example.com/amosync",
        ));
    };
    let loopback = match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(TunnelError::config(
                "own URL must use https:// (amoCRM sends webhooks to public HTTPS addresses); http:// is allowed only for 127.0.0.1/localhost",
            ));
        }
        other => {
            return Err(TunnelError::config(format!(
                "own URL scheme {other:?} is not supported: use https://"
            )));
        }
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(TunnelError::config(
            "own URL must not have a ?query or #fragment: give the base URL only",
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(TunnelError::config(
            "own URL must not contain a user name or password",
        ));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

/// Splits a bore `host[:port]` (IPv6 in brackets) into host and control port.
pub(crate) fn parse_bore_server(raw: &str) -> Result<(String, u16), TunnelError> {
    let s = raw.trim();
    let bad = |why: &str| {
        TunnelError::config(format!(
            "bore server {s:?} {why}: give host[:port], e.g. bore.example.com or 203.0.113.5:7835"
        ))
    };
    if s.is_empty() {
        return Err(TunnelError::config(
            "bore server is missing: give host[:port] of your bore server, e.g. bore.example.com",
        ));
    }
    if s.contains("://") || s.contains('/') {
        return Err(bad("must not have a scheme or path"));
    }
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest
            .split_once(']')
            .ok_or_else(|| bad("has an unclosed ["))?;
        if h.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(bad("has an invalid IPv6 address"));
        }
        match after {
            "" => (h, None),
            p => (
                h,
                Some(p.strip_prefix(':').ok_or_else(|| bad("is malformed"))?),
            ),
        }
    } else if s.matches(':').count() > 1 {
        return Err(bad("looks like an IPv6 address without [brackets]"));
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty()
        || !(host.parse::<IpAddr>().is_ok()
            || host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'))
    {
        return Err(bad("has an invalid host"));
    }
    let port = match port {
        None => BORE_DEFAULT_PORT,
        Some(p) => match p.parse::<u16>() {
            Ok(p) if p > 0 => p,
            _ => return Err(bad("has an invalid port (1-65535)")),
        },
    };
    Ok((host.to_owned(), port))
}

#[cfg(test)]
mod tests;
