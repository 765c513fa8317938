//! Step 2: the redirect back into the app, whichever way it came (deep link,
//! bounce page, loopback listener, or a URL pasted by hand).

use url::Url;

use crate::secret::Secret;

/// What a successful redirect carries.
#[derive(Clone, PartialEq, Eq)]
pub struct Callback {
    /// The authorization code (single-use, 20 minutes). Never printed.
    pub code: Secret,
    /// The account host the redirect named (`office.amocrm.ru`), if any.
    pub referer: Option<String>,
    /// The integration id the redirect named, if any.
    pub client_id: Option<String>,
}

impl std::fmt::Debug for Callback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Callback")
            .field("code", &"***")
            .field("referer", &self.referer)
            .field("client_id", &self.client_id)
            .finish()
    }
}

/// Why a redirect cannot be used. Messages say what to do and never repeat
/// the code or the state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// The admin pressed "Deny" (`error=access_denied`) or amoCRM sent another error.
    #[error("amoCRM access was not granted ({0}); start the connection again and press Allow")]
    Denied(String),
    /// The `state` differs from the one this app sent: a stale or forged redirect.
    #[error(
        "this sign-in answer does not belong to the connection started here (state mismatch); start the connection again and use the newest browser tab"
    )]
    StateMismatch,
    /// No `code` in the redirect.
    #[error(
        "the sign-in answer holds no code; copy the whole address from the browser (it contains ?code=…) or the code from the integration's settings"
    )]
    MissingCode,
    /// The redirect named another integration.
    #[error(
        "the sign-in answer is for another integration (client id {got}); check the integration id"
    )]
    WrongClient {
        /// The client id the redirect carried.
        got: String,
    },
    /// The `referer` is not an amoCRM/Kommo account host.
    #[error(
        "the sign-in answer names {0:?} as the account, which is not an amoCRM or Kommo address; start the connection again"
    )]
    BadReferer(String),
}

impl CallbackError {
    /// A stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            CallbackError::Denied(_) => "OAuthDenied",
            CallbackError::StateMismatch => "OAuthStateMismatch",
            CallbackError::MissingCode | CallbackError::WrongClient { .. } => "OAuthBadCallback",
            CallbackError::BadReferer(_) => "OAuthBadCallback",
        }
    }
}

impl Callback {
    /// Reads a redirect: a whole URL (`amosync://oauth/callback?…`,
    /// `http://127.0.0.1:8790/oauth/callback?…`, the bounce page's address)
    /// or only its query (`code=…&state=…`). The `state` must equal
    /// `expected_state`; `client_id`, when present, must equal ours.
    pub fn parse(
        input: &str,
        expected_state: &Secret,
        client_id: &str,
    ) -> Result<Callback, CallbackError> {
        let input = input.trim();
        let query = match Url::parse(input) {
            Ok(url) => url.query().unwrap_or_default().to_owned(),
            Err(_) => input.trim_start_matches('?').to_owned(),
        };
        let mut code = None;
        let mut state = None;
        let mut referer = None;
        let mut got_client = None;
        let mut error = None;
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let value = value.trim().to_owned();
            match key.as_ref() {
                "code" if !value.is_empty() => code = Some(value),
                "state" => state = Some(value),
                "referer" if !value.is_empty() => referer = Some(value),
                "client_id" if !value.is_empty() => got_client = Some(value),
                "error" => error = Some(value),
                _ => {}
            }
        }
        // The state first, also for a refusal: a forged answer (any web page
        // can open amosync://oauth/callback?error=x) must neither cancel the
        // connection nor learn anything from our other checks.
        let matches = state.as_deref().is_some_and(|s| {
            s.len() == expected_state.expose().len()
                && s.bytes()
                    .zip(expected_state.expose().bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        });
        if !matches {
            return Err(CallbackError::StateMismatch);
        }
        if let Some(error) = error {
            let shown: String = error.chars().take(80).collect();
            return Err(CallbackError::Denied(shown));
        }
        if let Some(got) = &got_client
            && got != client_id
        {
            return Err(CallbackError::WrongClient { got: got.clone() });
        }
        let code = code.ok_or(CallbackError::MissingCode)?;
        if let Some(referer) = &referer {
            account_base_url(referer)?;
        }
        Ok(Callback {
            code: Secret::new(code),
            referer,
            client_id: got_client,
        })
    }
}

/// The account's API address for a `referer`: `office.amocrm.ru` →
/// `https://office.amocrm.ru`; `127.0.0.1:PORT` (the emulator) →
/// `http://127.0.0.1:PORT`. Only amoCRM/Kommo account hosts and loopback
/// are accepted: the code and the client secret go there next.
pub fn account_base_url(referer: &str) -> Result<String, CallbackError> {
    let bad = || CallbackError::BadReferer(referer.chars().take(100).collect());
    let raw = referer.trim();
    let raw = raw
        .strip_prefix("https://")
        .or_else(|| raw.strip_prefix("http://"))
        .unwrap_or(raw)
        .trim_end_matches('/');
    if raw.is_empty() || raw.contains(['/', '?', '#', '@', ' ']) {
        return Err(bad());
    }
    let url = Url::parse(&format!("http://{raw}")).map_err(|_| bad())?;
    let host = url.host().ok_or_else(bad)?;
    let loopback = match &host {
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
    };
    if loopback {
        return Ok(format!("http://{raw}"));
    }
    let domain = match host {
        url::Host::Domain(d) => d.to_ascii_lowercase(),
        _ => return Err(bad()),
    };
    let account_host = ["amocrm.ru", "amocrm.com", "kommo.com"]
        .iter()
        .any(|suffix| {
            domain
                .strip_suffix(suffix)
                .and_then(|sub| sub.strip_suffix('.'))
                .is_some_and(|sub| !sub.is_empty() && !sub.contains('.') && sub != "www")
        });
    if !account_host || url.port().is_some() {
        return Err(bad());
    }
    Ok(format!("https://{domain}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATE: &str = "st4te-abcdef0123456789";

    fn state() -> Secret {
        Secret::from(STATE)
    }

    #[test]
    fn every_way_back_parses() {
        for input in [
            format!(
                "amosync://oauth/callback?code=c0de&state={STATE}&referer=office.amocrm.ru&client_id=cid"
            ),
            format!(
                "http://127.0.0.1:8790/oauth/callback?code=c0de&state={STATE}&referer=office.amocrm.ru"
            ),
            format!(
                "https://amosync.github.io/oauth/?code=c0de&state={STATE}&referer=office.amocrm.ru&from_widget=1"
            ),
            format!("?code=c0de&state={STATE}&referer=office.amocrm.ru"),
            format!("  code=c0de&state={STATE}&referer=office.amocrm.ru\n"),
        ] {
            let cb = Callback::parse(&input, &state(), "cid").expect(&input);
            assert_eq!(cb.code.expose(), "c0de");
            assert_eq!(cb.referer.as_deref(), Some("office.amocrm.ru"));
        }
    }

    #[test]
    fn refusals_and_forgeries_are_rejected() {
        let denied = Callback::parse(
            &format!("amosync://oauth/callback?error=access_denied&state={STATE}"),
            &state(),
            "cid",
        );
        assert!(matches!(denied, Err(CallbackError::Denied(ref e)) if e == "access_denied"));
        assert_eq!(
            Callback::parse(
                "amosync://oauth/callback?error=access_denied&state=forged",
                &state(),
                "cid"
            ),
            Err(CallbackError::StateMismatch),
            "a refusal with another state is a forgery"
        );
        for wrong in [
            "amosync://oauth/callback?code=c0de&state=other".to_owned(),
            "amosync://oauth/callback?code=c0de".to_owned(),
            format!("amosync://oauth/callback?code=c0de&state={STATE}x"),
        ] {
            assert_eq!(
                Callback::parse(&wrong, &state(), "cid"),
                Err(CallbackError::StateMismatch),
                "{wrong}"
            );
        }
        assert_eq!(
            Callback::parse(&format!("state={STATE}"), &state(), "cid"),
            Err(CallbackError::MissingCode)
        );
        assert!(matches!(
            Callback::parse(
                &format!("code=c&state={STATE}&client_id=zzz"),
                &state(),
                "cid"
            ),
            Err(CallbackError::WrongClient { .. })
        ));
        assert!(matches!(
            Callback::parse(
                &format!("code=c&state={STATE}&referer=evil.example.com"),
                &state(),
                "cid"
            ),
            Err(CallbackError::BadReferer(_))
        ));
        let e = Callback::parse("code=s3cretcode&state=nope", &state(), "cid").unwrap_err();
        assert!(!e.to_string().contains("s3cretcode") && !e.to_string().contains(STATE));
    }

    #[test]
    fn referer_hosts() {
        assert_eq!(
            account_base_url("office.amocrm.ru").unwrap(),
            "https://office.amocrm.ru"
        );
        assert_eq!(
            account_base_url("Office.Kommo.com").unwrap(),
            "https://office.kommo.com"
        );
        assert_eq!(
            account_base_url("https://x.amocrm.com/").unwrap(),
            "https://x.amocrm.com"
        );
        assert_eq!(
            account_base_url("127.0.0.1:4100").unwrap(),
            "http://127.0.0.1:4100"
        );
        for bad in [
            "www.amocrm.ru",
            "amocrm.ru",
            "evil.com",
            "a.b.amocrm.ru",
            "x.amocrm.ru.evil.com",
            "x.amocrm.ru/path",
            "x.amocrm.ru:444",
            "user@x.amocrm.ru",
            "",
        ] {
            assert!(account_base_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_hides_the_code() {
        let cb =
            Callback::parse(&format!("code=c0de-secret&state={STATE}"), &state(), "cid").unwrap();
        assert!(!format!("{cb:?}").contains("c0de-secret"));
    }
}
