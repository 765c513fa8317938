//! Reading a `/oauth2/access_token` request: a JSON object or a form, with
//! `grant_type`, `client_id`, `client_secret`, `redirect_uri` and `code` or
//! `refresh_token`. Every refusal names the field; none echoes a value.

use std::collections::HashMap;

use super::errors::OAuthError;
use super::secret::Secret;

/// What the client trades in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantKind {
    AuthorizationCode(Secret),
    RefreshToken(Secret),
}

/// A well-formed token request (`Debug` hides every credential).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRequest {
    pub client_id: String,
    pub client_secret: Secret,
    pub redirect_uri: String,
    pub grant: GrantKind,
}

const FIELDS: [&str; 6] = [
    "grant_type",
    "client_id",
    "client_secret",
    "redirect_uri",
    "code",
    "refresh_token",
];

/// JSON when the content type says so or the body starts with `{`; a form otherwise.
fn is_json(content_type: Option<&str>, body: &[u8]) -> bool {
    match content_type.map(str::to_ascii_lowercase) {
        Some(ct) if ct.contains("json") => true,
        Some(ct) if ct.contains("x-www-form-urlencoded") => false,
        _ => body
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| matches!(b, b'{' | b'[')),
    }
}

fn json_fields(body: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| OAuthError::Malformed(format!("invalid JSON body: {e}")))?;
    let serde_json::Value::Object(map) = value else {
        return Err(OAuthError::Malformed(
            "the body must be a JSON object (or a form) with `grant_type`, `client_id`, `client_secret`, `redirect_uri` and `code` or `refresh_token`".to_string(),
        ));
    };
    let mut out = HashMap::new();
    for name in FIELDS {
        match map.get(name) {
            None | Some(serde_json::Value::Null) => {}
            Some(serde_json::Value::String(s)) => {
                out.insert(name.to_string(), s.clone());
            }
            Some(_) => {
                return Err(OAuthError::Malformed(format!("`{name}` must be a string")));
            }
        }
    }
    Ok(out)
}

fn form_fields(body: &[u8]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (k, v) in form_urlencoded::parse(body) {
        if FIELDS.contains(&k.as_ref()) {
            out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
        }
    }
    out
}

impl GrantRequest {
    /// Parses the body; the first missing or wrong field is reported.
    pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<GrantRequest, OAuthError> {
        let mut fields = if is_json(content_type, body) {
            json_fields(body)?
        } else {
            form_fields(body)
        };
        let mut take = |name: &str| {
            fields
                .remove(name)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| OAuthError::missing(name))
        };
        let grant_type = take("grant_type")?;
        if grant_type != "authorization_code" && grant_type != "refresh_token" {
            return Err(OAuthError::Malformed(
                "`grant_type` must be `authorization_code` or `refresh_token`".to_string(),
            ));
        }
        let client_id = take("client_id")?;
        let client_secret = Secret::new(take("client_secret")?);
        let redirect_uri = take("redirect_uri")?;
        let grant = if grant_type == "authorization_code" {
            GrantKind::AuthorizationCode(Secret::new(take("code")?))
        } else {
            GrantKind::RefreshToken(Secret::new(take("refresh_token")?))
        };
        Ok(GrantRequest {
            client_id,
            client_secret,
            redirect_uri,
            grant,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint(r: Result<GrantRequest, OAuthError>) -> String {
        match r {
            Err(e) => e.problem().hint.unwrap_or_default(),
            Ok(r) => panic!("parsed: {r:?}"),
        }
    }

    #[test]
    fn json_and_form_read_the_same() {
        let json = br#"{"grant_type":"authorization_code","client_id":"c","client_secret":"s","redirect_uri":"https://x/","code":"k","extra":1}"#;
        let form = b"grant_type=authorization_code&client_id=c&client_secret=s&redirect_uri=https%3A%2F%2Fx%2F&code=k";
        let a = GrantRequest::parse(Some("application/json"), json);
        let b = GrantRequest::parse(Some("application/x-www-form-urlencoded"), form);
        let c = GrantRequest::parse(None, json);
        assert_eq!(a, b);
        assert_eq!(a, c);
        let a = a.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.redirect_uri, "https://x/");
        assert_eq!(a.grant, GrantKind::AuthorizationCode(Secret::new("k")));
        assert!(!format!("{a:?}").contains("\"s\""));
    }

    #[test]
    fn refusals_name_the_field() {
        assert!(hint(GrantRequest::parse(None, b"")).contains("`grant_type`"));
        assert!(hint(GrantRequest::parse(None, b"grant_type=password")).contains("`grant_type`"));
        assert!(
            hint(GrantRequest::parse(
                None,
                b"grant_type=refresh_token&client_id=c"
            ))
            .contains("`client_secret`")
        );
        let no_token = b"grant_type=refresh_token&client_id=c&client_secret=s&redirect_uri=r";
        assert!(hint(GrantRequest::parse(None, no_token)).contains("`refresh_token`"));
        let no_code = br#"{"grant_type":"authorization_code","client_id":"c","client_secret":"s","redirect_uri":"r","code":""}"#;
        assert!(hint(GrantRequest::parse(None, no_code)).contains("`code`"));
        let number = br#"{"grant_type":"refresh_token","client_id":5}"#;
        assert!(hint(GrantRequest::parse(None, number)).contains("`client_id` must be a string"));
        assert!(
            hint(GrantRequest::parse(
                Some("application/json"),
                b"{\"grant_type\":"
            ))
            .contains("invalid JSON")
        );
        assert!(hint(GrantRequest::parse(None, b"[1]")).contains("JSON object"));
    }
}
