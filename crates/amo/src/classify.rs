//! Pure classification of an HTTP answer: success body, empty, or which error.
//!
//! Kept free of I/O so every status/content-type/body combination is tested
//! with tables. HTML is recognised before any JSON parsing is attempted.

use crate::error::ApiError;
use crate::excerpt::{excerpt, redact};
use crate::problem::Problem;

/// What the executor should do with an answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    /// 2xx with a body to decode.
    Body,
    /// 204, or a 2xx without a body: an empty result, never an error.
    Empty,
    /// Anything else, already classified.
    Fail(ApiError),
}

/// The parts of an answer that classification looks at.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Head<'a> {
    pub(crate) status: u16,
    pub(crate) content_type: Option<&'a str>,
    /// The `Location` header (redirects are never followed).
    pub(crate) location: Option<&'a str>,
    /// The token the request carried: removed from the body *before* any
    /// excerpt is cut, so no prefix of it can survive a cut.
    pub(crate) secret: &'a str,
}

/// Classifies one answer from its status, `Content-Type` and body.
pub(crate) fn classify(head: Head<'_>, body: &[u8]) -> Verdict {
    let status = head.status;
    if (200..300).contains(&status) {
        if status == 204 || body.iter().all(u8::is_ascii_whitespace) {
            return Verdict::Empty;
        }
        return Verdict::Body;
    }
    let redacted = redact(&String::from_utf8_lossy(body), head.secret);
    let body = redacted.as_bytes();
    let html = is_html(head.content_type, body);
    let problem = if html { None } else { Problem::parse(body) };
    let mut detail = describe(status, html, problem.as_ref(), body);
    if (300..400).contains(&status) {
        detail = format!(
            "a redirect to {}, not followed; {detail}",
            location_host(head.location)
        );
    }
    let error = match status {
        400 | 422 => ApiError::BadRequest {
            status,
            detail,
            problem: problem.map(Box::new),
        },
        401 => {
            if problem.as_ref().is_some_and(Problem::says_revoked) {
                ApiError::AuthRevoked { detail }
            } else {
                ApiError::Unauthorized { detail }
            }
        }
        402 => ApiError::PaymentRequired { detail },
        403 => {
            let says_blocked = problem
                .as_ref()
                .is_some_and(|p| p.summary().to_ascii_lowercase().contains("blocked"));
            ApiError::Forbidden {
                blocked: html || says_blocked,
                detail,
            }
        }
        404 => ApiError::NotFound { detail },
        429 => ApiError::RateLimited { detail },
        500..=599 => ApiError::Server { status, detail },
        _ => ApiError::UnexpectedStatus { status, detail },
    };
    Verdict::Fail(error)
}

/// Only the host of a redirect target: its path and query may carry secrets.
fn location_host(location: Option<&str>) -> String {
    match location.map(url::Url::parse) {
        Some(Ok(url)) => match url.host_str() {
            Some(host) => format!("host {host}"),
            None => "a URL without host".into(),
        },
        // A relative Location stays on the same host.
        Some(Err(_)) => "another path on the same host".into(),
        None => "nowhere (no Location header)".into(),
    }
}

/// True when a 404 means "no such entity" rather than "wrong URL": amoCRM's
/// own `application/problem+json` 404. An HTML (or other) 404 comes from a
/// wrong host or path, and must not read as a deleted entity.
pub(crate) fn is_absent_entity(status: u16, content_type: Option<&str>, body: &[u8]) -> bool {
    if status != 404 || is_html(content_type, body) {
        return false;
    }
    let problem_type =
        content_type.is_some_and(|ct| ct.to_ascii_lowercase().contains("problem+json"));
    match Problem::parse(body) {
        Some(problem) => problem_type || problem.status == Some(404),
        None => false,
    }
}

/// True when the body is an HTML page (by header, or by its first byte when
/// the header lies or is missing).
pub(crate) fn is_html(content_type: Option<&str>, body: &[u8]) -> bool {
    let by_header = content_type.is_some_and(|ct| ct.to_ascii_lowercase().contains("html"));
    let by_body = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<');
    by_header || by_body
}

/// A short human description of an error body.
fn describe(status: u16, html: bool, problem: Option<&Problem>, body: &[u8]) -> String {
    if html {
        return match html_title(body) {
            Some(title) => format!("HTTP {status}, HTML page \"{title}\""),
            None => format!("HTTP {status}, HTML page"),
        };
    }
    if let Some(summary) = problem.map(Problem::summary).filter(|s| !s.is_empty()) {
        return summary;
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return format!("HTTP {status}, empty body");
    }
    format!("HTTP {status}: {}", excerpt(body, 200))
}

/// The text of the first `<title>` element, if any.
fn html_title(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let lower = text.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find("</title")?;
    let title = excerpt(text.get(start..end)?.trim().as_bytes(), 120);
    (!title.is_empty()).then_some(title)
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: Option<&str> = Some("application/problem+json");
    const HTML: Option<&str> = Some("text/html; charset=UTF-8");

    fn head(status: u16, content_type: Option<&str>) -> Head<'_> {
        Head {
            status,
            content_type,
            location: None,
            secret: "",
        }
    }

    fn fail(status: u16, ct: Option<&str>, body: &str) -> ApiError {
        match classify(head(status, ct), body.as_bytes()) {
            Verdict::Fail(e) => e,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn success_and_empty() {
        assert_eq!(
            classify(head(200, Some("application/hal+json")), b"{}"),
            Verdict::Body
        );
        assert_eq!(classify(head(201, None), b"{\"id\":1}"), Verdict::Body);
        assert_eq!(classify(head(204, None), b""), Verdict::Empty);
        assert_eq!(classify(head(204, HTML), b"ignored"), Verdict::Empty);
        assert_eq!(classify(head(200, None), b"  \n"), Verdict::Empty);
    }

    #[test]
    fn table_of_errors() {
        let cases: &[(u16, Option<&str>, &str, &str)] = &[
            (
                400,
                JSON,
                r#"{"title":"Bad Request","status":400,"detail":"limit must be <= 250"}"#,
                "BadRequest",
            ),
            (422, None, "nope", "BadRequest"),
            (
                401,
                JSON,
                r#"{"title":"Unauthorized","status":401,"detail":"Invalid access token"}"#,
                "Unauthorized",
            ),
            (
                401,
                JSON,
                r#"{"title":"Unauthorized","status":401,"hint":"Token has been revoked"}"#,
                "AuthRevoked",
            ),
            (401, None, "", "Unauthorized"),
            (
                402,
                JSON,
                r#"{"title":"Payment Required","status":402}"#,
                "PaymentRequired",
            ),
            (
                403,
                JSON,
                r#"{"title":"Forbidden","status":403,"detail":"Access denied"}"#,
                "Forbidden",
            ),
            (
                403,
                HTML,
                "<!DOCTYPE html><html><head><title>Account blocked</title></head></html>",
                "AccountBlocked",
            ),
            (
                403,
                Some("application/json"),
                "  <html>lying header</html>",
                "AccountBlocked",
            ),
            (403, None, "", "Forbidden"),
            (
                404,
                JSON,
                r#"{"title":"Not Found","status":404}"#,
                "NotFound",
            ),
            (429, None, "", "RateLimited"),
            (
                500,
                JSON,
                r#"{"title":"Internal Server Error","status":500}"#,
                "ServerError",
            ),
            (
                502,
                HTML,
                "<html><title>502 Bad Gateway</title></html>",
                "ServerError",
            ),
            (504, None, "", "ServerError"),
            (301, None, "", "UnexpectedStatus"),
            (
                405,
                JSON,
                r#"{"title":"Method Not Allowed"}"#,
                "UnexpectedStatus",
            ),
        ];
        for (status, ct, body, code) in cases {
            let error = fail(*status, *ct, body);
            assert_eq!(
                error.code(),
                *code,
                "status {status} body {body:?} → {error:?}"
            );
        }
    }

    #[test]
    fn html_is_never_parsed_as_json() {
        let e = fail(
            403,
            HTML,
            "<html><head><title>Доступ заблокирован</title></head><body>{\"detail\":\"x\"}</body></html>",
        );
        match e {
            ApiError::Forbidden { blocked, detail } => {
                assert!(blocked);
                assert_eq!(detail, "HTTP 403, HTML page \"Доступ заблокирован\"");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn json_403_that_says_blocked_is_a_block() {
        let e = fail(
            403,
            JSON,
            r#"{"title":"Forbidden","detail":"Account is blocked"}"#,
        );
        assert_eq!(e.code(), "AccountBlocked");
    }

    #[test]
    fn bad_request_keeps_problem_detail() {
        match fail(
            400,
            JSON,
            r#"{"title":"Bad Request","type":"https://httpstatus.es/400","status":400,"detail":"Request validation failed"}"#,
        ) {
            ApiError::BadRequest {
                status,
                detail,
                problem,
            } => {
                assert_eq!(status, 400);
                assert_eq!(detail, "Bad Request: Request validation failed");
                assert_eq!(
                    problem.and_then(|p| p.kind).as_deref(),
                    Some("https://httpstatus.es/400")
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tokens_are_redacted_before_the_excerpt_is_cut() {
        let secret = "a-very-long-token-0123456789";
        // The token starts 190 characters in: the 200-character cut would
        // keep its first 10 characters if redaction came second.
        let body = format!("{}{secret}{}", "e".repeat(190), "z".repeat(50));
        let verdict = classify(
            Head {
                secret,
                ..head(500, Some("text/plain"))
            },
            body.as_bytes(),
        );
        let Verdict::Fail(error) = verdict else {
            panic!("{verdict:?}")
        };
        let text = format!("{error} {error:?}");
        assert!(!text.contains(&secret[..8]), "{text}");
        assert!(text.contains("***"), "{text}");
        // Also inside problem+json fields.
        let body = format!(
            r#"{{"title":"Bad Request","detail":"{}{secret}"}}"#,
            "d".repeat(600)
        );
        let Verdict::Fail(error) = classify(
            Head {
                secret,
                ..head(400, JSON)
            },
            body.as_bytes(),
        ) else {
            panic!()
        };
        let text = format!("{error} {error:?}");
        assert!(!text.contains(&secret[..8]), "{text}");
    }

    #[test]
    fn redirects_name_only_the_target_host() {
        let Verdict::Fail(error) = classify(
            Head {
                location: Some("https://other.example/hook/s3cr3t-path?q=search-text"),
                ..head(302, None)
            },
            b"",
        ) else {
            panic!()
        };
        assert_eq!(error.code(), "UnexpectedStatus");
        let text = error.to_string();
        assert!(text.contains("other.example"), "{text}");
        assert!(
            !text.contains("s3cr3t") && !text.contains("search-text"),
            "{text}"
        );
    }

    #[test]
    fn only_a_problem_404_means_absent() {
        assert!(is_absent_entity(
            404,
            JSON,
            br#"{"title":"Not Found","status":404}"#
        ));
        assert!(is_absent_entity(
            404,
            Some("application/json"),
            br#"{"status":404}"#
        ));
        assert!(!is_absent_entity(404, HTML, b"<html>nginx</html>"));
        assert!(!is_absent_entity(
            404,
            Some("text/plain"),
            b"404 page not found"
        ));
        assert!(!is_absent_entity(404, None, b""));
        assert!(!is_absent_entity(404, Some("application/json"), b"{}"));
        assert!(!is_absent_entity(410, JSON, br#"{"status":410}"#));
    }

    #[test]
    fn plain_text_bodies_are_excerpted() {
        let e = fail(503, Some("text/plain"), "upstream connect error");
        assert_eq!(
            e,
            ApiError::Server {
                status: 503,
                detail: "HTTP 503: upstream connect error".into()
            }
        );
    }
}
