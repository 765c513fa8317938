//! Which account addresses a client may talk to: `https://`, or plain
//! `http://` only for an account on this machine (the emulator). Any other
//! `http://` address would send the token — and every CRM record — in clear
//! on the first request.

use url::Url;

/// True when `url` names this machine: 127.0.0.0/8, `[::1]` or `localhost`.
pub fn is_loopback_url(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Checks that a client may send credentials to the account at `url`;
/// the error says what to use instead.
pub fn check_account_url(url: &Url) -> Result<(), String> {
    // Never echo a password typed into the address.
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    let shown = shown.as_str().trim_end_matches('/').to_owned();
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_url(url) => Ok(()),
        "http" => Err(format!(
            "the account address {} uses plain http://, which would send the token and the CRM data in clear: use https:// (an amoCRM account is https://SUB.amocrm.ru, a Kommo one https://SUB.kommo.com); http:// is accepted only for an account on this machine (127.0.0.1, localhost, [::1])",
            shown
        )),
        other => Err(format!(
            "the account address {} has the scheme {other}: use https://SUB.amocrm.ru or https://SUB.kommo.com",
            shown
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_the_address_is_never_echoed() {
        let url = Url::parse("http://user:hunter2@office.example.com/").unwrap();
        let err = check_account_url(&url).unwrap_err();
        assert!(!err.contains("hunter2") && !err.contains("user"), "{err}");
        assert!(err.contains("office.example.com"), "{err}");
    }

    #[test]
    fn https_anywhere_and_http_only_on_this_machine() {
        let table = [
            ("https://office.amocrm.ru", true),
            ("https://office.kommo.com/", true),
            ("http://127.0.0.1:3000", true),
            ("http://127.8.0.1:3000", true),
            ("http://localhost:3000", true),
            ("http://[::1]:3000", true),
            ("http://office.amocrm.ru", false),
            ("http://10.0.0.5:8080", false),
            ("http://localhost.attacker.example", false),
            ("http://[::ffff:7f00:1]", false),
            ("ftp://office.amocrm.ru", false),
        ];
        for (raw, ok) in table {
            let url = Url::parse(raw).expect("url");
            let checked = check_account_url(&url);
            assert_eq!(checked.is_ok(), ok, "{raw}: {checked:?}");
            if let Err(message) = checked {
                assert!(message.contains("https://"), "names the fix: {message}");
            }
        }
    }
}
