//! `application/problem+json` bodies, the way amoCRM reports errors.

use serde::{Deserialize, Serialize};

/// An amoCRM error body: `{title, type, status, detail, hint}` (all optional,
/// because amoCRM omits some of them and older endpoints use other shapes).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// Short summary, e.g. `Unauthorized`.
    #[serde(default)]
    pub title: Option<String>,
    /// A URL naming the error kind.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// The HTTP status amoCRM repeats in the body.
    #[serde(default, deserialize_with = "crate::models::de::opt_u64")]
    pub status: Option<u64>,
    /// Human-readable explanation.
    #[serde(default)]
    pub detail: Option<String>,
    /// Extra hint, e.g. `Token has been revoked`.
    #[serde(default)]
    pub hint: Option<String>,
    /// `validation-errors` of a 400, kept raw.
    #[serde(
        default,
        rename = "validation-errors",
        skip_serializing_if = "Option::is_none"
    )]
    pub validation_errors: Option<serde_json::Value>,
}

impl Problem {
    /// Parses a problem body; `None` when the body is not a JSON object.
    pub fn parse(body: &[u8]) -> Option<Problem> {
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        if !value.is_object() {
            return None;
        }
        serde_json::from_value(value).ok()
    }

    /// One line for messages and logs: detail, hint and title joined, at
    /// most [`Problem::SUMMARY_MAX_CHARS`] characters (plus an ellipsis).
    pub fn summary(&self) -> String {
        let full = self.full_summary();
        crate::excerpt::excerpt(full.as_bytes(), Self::SUMMARY_MAX_CHARS)
    }

    /// The longest [`Problem::summary`], in characters.
    pub const SUMMARY_MAX_CHARS: usize = 500;

    fn full_summary(&self) -> String {
        let mut parts: Vec<&str> = Vec::new();
        for part in [&self.title, &self.detail, &self.hint]
            .into_iter()
            .flatten()
        {
            let part = part.trim();
            if !part.is_empty() && !parts.contains(&part) {
                parts.push(part);
            }
        }
        if let Some(errors) = &self.validation_errors {
            let rendered = errors.to_string();
            return format!(
                "{}: {}",
                parts.join(": "),
                crate::excerpt::excerpt(rendered.as_bytes(), 300)
            );
        }
        parts.join(": ")
    }

    /// True when amoCRM says the token was revoked (a reused refresh token,
    /// a disabled integration, a regenerated secret).
    pub fn says_revoked(&self) -> bool {
        [&self.hint, &self.detail, &self.title]
            .into_iter()
            .flatten()
            .any(|s| s.to_ascii_lowercase().contains("revoked"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_amocrm_problem() {
        let body = br#"{"title":"Unauthorized","type":"https://httpstatus.es/401","status":401,"detail":"Invalid access token","hint":"Token has been revoked"}"#;
        let p = Problem::parse(body).expect("problem");
        assert_eq!(p.status, Some(401));
        assert!(p.says_revoked());
        assert_eq!(
            p.summary(),
            "Unauthorized: Invalid access token: Token has been revoked"
        );
    }

    #[test]
    fn summary_is_bounded() {
        let p = Problem {
            title: Some("Bad Request".into()),
            detail: Some("x".repeat(10_000)),
            hint: Some("y".repeat(10_000)),
            ..Default::default()
        };
        let summary = p.summary();
        assert_eq!(summary.chars().count(), Problem::SUMMARY_MAX_CHARS + 1);
        assert!(summary.ends_with('…'));
    }

    #[test]
    fn rejects_html_and_scalars() {
        assert!(Problem::parse(b"<html><body>blocked</body></html>").is_none());
        assert!(Problem::parse(b"42").is_none());
        assert!(Problem::parse(b"").is_none());
    }

    #[test]
    fn status_as_string_and_validation_errors() {
        let body = br#"{"title":"Bad Request","status":"400","detail":"Request validation failed","validation-errors":[{"request_id":"0","errors":[{"code":"NotSupportedChoice","path":"limit"}]}]}"#;
        let p = Problem::parse(body).expect("problem");
        assert_eq!(p.status, Some(400));
        assert!(p.summary().contains("NotSupportedChoice"));
    }
}
