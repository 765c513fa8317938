//! The keeper's decisions as pure functions ("pure planners, thin
//! executors"): which destination this install wants, which registered
//! webhooks are this install's, and what one check must do about them.

use amo::models::Webhook;

/// amoCRM accepts at most this many webhooks per account (amocrm.md §1).
pub const MAX_WEBHOOKS: usize = 100;

/// The shortest secret segment accepted in a `secret_path` (a
/// [`crate::WebhookSecret`] is 32–128 hex characters).
const MIN_SECRET_CHARS: usize = 32;

/// Why a check (re-)registers the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterWhy {
    /// The public URL is new to this keeper (first URL, a URL change, or a
    /// start): always re-post so the settings are current.
    NewUrl,
    /// The destination was registered before and is gone now.
    Missing,
    /// amoCRM disabled the destination after failed deliveries.
    Disabled,
}

/// What one check must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// `Some` when the destination must be posted (again), with the reason.
    pub register: Option<RegisterWhy>,
    /// Other destinations of this install (same secret path, other
    /// host/port): earlier tunnel URLs, to delete.
    pub delete: Vec<String>,
    /// Delete before registering: the account is full and deleting our own
    /// stale hooks makes room.
    pub delete_first: bool,
    /// Registering a new destination would exceed [`MAX_WEBHOOKS`] even
    /// after the deletes: a 400 from the POST means "limit reached".
    pub at_capacity: bool,
}

impl Plan {
    /// True when amoCRM had disabled the destination.
    pub fn disabled(&self) -> bool {
        self.register == Some(RegisterWhy::Disabled)
    }
}

/// Decides what one check does, from the account's webhooks (`current`),
/// the destination this install wants and whether that destination is new
/// to the keeper (`fresh`). Other integrations' hooks are never touched.
pub fn plan(current: &[Webhook], desired: &str, secret_path: &str, fresh: bool) -> Plan {
    let ours = current.iter().find(|h| h.destination == desired);
    let register = match ours {
        Some(hook) if hook.disabled => Some(RegisterWhy::Disabled),
        Some(_) if fresh => Some(RegisterWhy::NewUrl),
        Some(_) => None,
        None if fresh => Some(RegisterWhy::NewUrl),
        None => Some(RegisterWhy::Missing),
    };
    let delete: Vec<String> = current
        .iter()
        .filter(|h| h.destination != desired && is_ours(&h.destination, secret_path))
        .map(|h| h.destination.clone())
        .collect();
    let absent = ours.is_none();
    let full = current.len() >= MAX_WEBHOOKS;
    Plan {
        register,
        delete_first: absent && full && !delete.is_empty(),
        at_capacity: absent && current.len().saturating_sub(delete.len()) >= MAX_WEBHOOKS,
        delete,
    }
}

/// True when `destination` belongs to this install: an http(s) URL whose
/// path ends with `secret_path` (a trailing slash either way).
pub fn is_ours(destination: &str, secret_path: &str) -> bool {
    let path = secret_path.trim_end_matches('/');
    if path.is_empty() {
        return false;
    }
    let Some(rest) = destination
        .strip_prefix("https://")
        .or_else(|| destination.strip_prefix("http://"))
    else {
        return false;
    };
    let rest = rest.trim_end_matches('/');
    // The host must come before the path: `https:///amocrm/s` is not ours.
    rest.strip_suffix(path).is_some_and(|host| !host.is_empty())
}

/// The destination for a public base URL: `base` without trailing slashes,
/// then `secret_path`. The error says what is wrong without repeating the
/// base (it holds no secret, but it may be long).
pub fn destination_for(base: &str, secret_path: &str) -> Result<String, String> {
    let base = base.trim().trim_end_matches('/');
    let host = base
        .strip_prefix("https://")
        .or_else(|| base.strip_prefix("http://"));
    match host {
        None => Err("the public URL must start with http:// or https://".to_owned()),
        Some("") => Err("the public URL has no host".to_owned()),
        Some(rest) if rest.contains(['?', '#']) || rest.contains(char::is_whitespace) => Err(
            "the public URL must be a plain base address (no query, fragment or spaces)".to_owned(),
        ),
        Some(_) => Ok(format!("{base}{secret_path}")),
    }
}

/// Checks a `secret_path`: `/…/<secret>/`, the secret segment at least 32
/// characters. An empty or short path would make every hook look like ours.
pub fn check_secret_path(secret_path: &str) -> Result<(), String> {
    let well_formed = secret_path.starts_with('/') && secret_path.ends_with('/');
    let secret = secret_path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    if well_formed && secret.len() >= MIN_SECRET_CHARS && !secret_path.contains(['?', '#']) {
        Ok(())
    } else {
        Err(format!(
            "the webhook secret path must look like /amocrm/<secret>/ with a secret of at least {MIN_SECRET_CHARS} characters (got {} characters, not shown); build it with KeeperConfig::new",
            secret_path.chars().count()
        ))
    }
}

/// Requested codes the account did not keep, in the requested order.
pub fn missing_codes(requested: &[String], accepted: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for code in requested {
        if !accepted.contains(code) && !out.contains(code) {
            out.push(code.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SP: &str = "/amocrm/0123456789abcdef0123456789abcdef/";

    fn hook(destination: &str, disabled: bool) -> Webhook {
        serde_json::from_value(serde_json::json!({
            "id": 1, "destination": destination, "disabled": disabled, "settings": ["add_lead"],
        }))
        .expect("webhook")
    }

    fn ours(host: &str) -> String {
        format!("https://{host}{SP}")
    }

    #[test]
    fn plan_table() {
        let want = ours("new.trycloudflare.com");
        let old = ours("old.trycloudflare.com");
        let other = "https://other.example.com/hooks/1/".to_owned();
        let other_install =
            "https://old.trycloudflare.com/amocrm/ffffffffffffffffffffffffffffffff/";
        type Case<'a> = (
            &'a str,
            Vec<Webhook>,
            bool,
            Option<RegisterWhy>,
            Vec<String>,
        );
        let cases: Vec<Case> = vec![
            (
                "empty account, first URL",
                vec![],
                true,
                Some(RegisterWhy::NewUrl),
                vec![],
            ),
            (
                "empty account, known URL",
                vec![],
                false,
                Some(RegisterWhy::Missing),
                vec![],
            ),
            (
                "present, periodic",
                vec![hook(&want, false)],
                false,
                None,
                vec![],
            ),
            (
                "present, fresh",
                vec![hook(&want, false)],
                true,
                Some(RegisterWhy::NewUrl),
                vec![],
            ),
            (
                "disabled, periodic",
                vec![hook(&want, true)],
                false,
                Some(RegisterWhy::Disabled),
                vec![],
            ),
            (
                "disabled, fresh",
                vec![hook(&want, true)],
                true,
                Some(RegisterWhy::Disabled),
                vec![],
            ),
            (
                "url change: old one of ours is stale",
                vec![
                    hook(&old, false),
                    hook(&other, false),
                    hook(other_install, false),
                ],
                true,
                Some(RegisterWhy::NewUrl),
                vec![old.clone()],
            ),
            (
                "stale without trailing slash, disabled",
                vec![hook(&want, false), hook(old.trim_end_matches('/'), true)],
                false,
                None,
                vec![old.trim_end_matches('/').to_owned()],
            ),
        ];
        for (name, current, fresh, register, delete) in cases {
            let p = plan(&current, &want, SP, fresh);
            assert_eq!(p.register, register, "{name}");
            assert_eq!(p.delete, delete, "{name}");
            assert!(!p.at_capacity && !p.delete_first, "{name}");
            assert_eq!(
                p.disabled(),
                register == Some(RegisterWhy::Disabled),
                "{name}"
            );
        }
    }

    #[test]
    fn capacity() {
        let want = ours("new.example");
        let mut full: Vec<Webhook> = (0..MAX_WEBHOOKS)
            .map(|i| hook(&format!("https://x.example/{i}/"), false))
            .collect();
        let p = plan(&full, &want, SP, true);
        assert!(p.at_capacity && !p.delete_first);
        // One of the hundred is ours from an earlier URL: delete it first.
        full[7] = hook(&ours("old.example"), false);
        let p = plan(&full, &want, SP, true);
        assert!(!p.at_capacity && p.delete_first);
        assert_eq!(p.delete, vec![ours("old.example")]);
        // Already registered: a full account is no problem.
        full[7] = hook(&want, false);
        let p = plan(&full, &want, SP, false);
        assert!(!p.at_capacity && !p.delete_first && p.register.is_none());
    }

    #[test]
    fn is_ours_table() {
        let cases: &[(&str, bool)] = &[
            (
                "https://a.example/amocrm/0123456789abcdef0123456789abcdef/",
                true,
            ),
            (
                "http://127.0.0.1:8787/amocrm/0123456789abcdef0123456789abcdef/",
                true,
            ),
            (
                "https://a.example/amocrm/0123456789abcdef0123456789abcdef",
                true,
            ),
            (
                "https://a.example/prefix/amocrm/0123456789abcdef0123456789abcdef/",
                true,
            ),
            (
                "https://a.example/amocrm/0123456789abcdef0123456789abcdeF/",
                false,
            ),
            (
                "https://a.example/amocrm/x0123456789abcdef0123456789abcdef/",
                false,
            ),
            (
                "https://a.example/amocrm/0123456789abcdef0123456789abcdef/x/",
                false,
            ),
            ("https:///amocrm/0123456789abcdef0123456789abcdef/", false),
            (
                "ftp://a.example/amocrm/0123456789abcdef0123456789abcdef/",
                false,
            ),
            ("https://a.example/other/", false),
        ];
        for (destination, want) in cases {
            assert_eq!(is_ours(destination, SP), *want, "{destination}");
        }
        assert!(!is_ours("https://a.example/", "/"));
        assert!(!is_ours("https://a.example/", ""));
    }

    #[test]
    fn destination_table() {
        let cases: &[(&str, Option<String>)] = &[
            (
                "https://a.trycloudflare.com",
                Some(ours("a.trycloudflare.com")),
            ),
            (
                "https://a.trycloudflare.com/",
                Some(ours("a.trycloudflare.com")),
            ),
            (
                " http://127.0.0.1:9// ",
                Some(format!("http://127.0.0.1:9{SP}")),
            ),
            ("a.trycloudflare.com", None),
            ("https://", None),
            ("https://a.example/?x=1", None),
            ("https://a b.example", None),
        ];
        for (base, want) in cases {
            assert_eq!(destination_for(base, SP).ok(), *want, "{base}");
        }
    }

    #[test]
    fn secret_path_table() {
        assert!(check_secret_path(SP).is_ok());
        for bad in [
            "",
            "/",
            "/amocrm/",
            "/amocrm/short/",
            &SP[1..],
            &SP[..SP.len() - 1],
        ] {
            let e = check_secret_path(bad).expect_err(bad);
            assert!(e.contains("/amocrm/<secret>/"), "{e}");
            assert!(!e.contains("0123456789abcdef"), "{e}");
        }
    }

    #[test]
    fn missing_keeps_requested_order() {
        let s = |v: &[&str]| v.iter().map(|c| (*c).to_owned()).collect::<Vec<String>>();
        assert_eq!(
            missing_codes(
                &s(&["add_lead", "add_customer", "x", "add_customer"]),
                &s(&["add_lead"])
            ),
            s(&["add_customer", "x"])
        );
        assert!(missing_codes(&s(&["add_lead"]), &s(&["add_lead", "extra"])).is_empty());
    }
}
