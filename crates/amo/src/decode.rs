//! JSON decoding of answers, with errors that name the failing path and show
//! the start of the body (never a request header).

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::classify::is_html;
use crate::error::ApiError;
use crate::excerpt::{redact, redacted_excerpt};
use crate::request::Answer;

const EXCERPT_CHARS: usize = 200;

pub(crate) fn body_excerpt(answer: &Answer) -> String {
    redacted_excerpt(&answer.body, EXCERPT_CHARS, answer.token.expose())
}

/// Decodes a whole answer body as `T`.
pub(crate) fn decode<T: DeserializeOwned>(answer: &Answer) -> Result<T, ApiError> {
    if is_html(answer.content_type.as_deref(), &answer.body) {
        return Err(ApiError::Decode {
            detail: format!("expected JSON, got an HTML page (HTTP {})", answer.status),
            excerpt: body_excerpt(answer),
        });
    }
    let mut de = serde_json::Deserializer::from_slice(&answer.body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| ApiError::Decode {
        // serde quotes the offending value: redact it too.
        detail: redact(
            &format!("{} at `{}`", e.inner(), e.path()),
            answer.token.expose(),
        ),
        excerpt: body_excerpt(answer),
    })
}

/// Decodes one already-parsed JSON value found at `path` of `answer`.
pub(crate) fn decode_value<T: DeserializeOwned>(
    value: Value,
    path: &str,
    answer: &Answer,
) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| ApiError::Decode {
        detail: redact(
            &format!(
                "{} at `{path}{}`",
                e.inner(),
                display_path(&e.path().to_string())
            ),
            answer.token.expose(),
        ),
        excerpt: body_excerpt(answer),
    })
}

fn display_path(path: &str) -> String {
    match path {
        "." => String::new(),
        p if p.starts_with('[') => p.to_owned(),
        p => format!(".{p}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn answer(body: &str, ct: &str) -> Answer {
        Answer {
            status: 200,
            content_type: Some(ct.into()),
            body: body.as_bytes().to_vec(),
            token: Secret::from("token-that-must-not-leak"),
        }
    }

    #[derive(Debug, serde::Deserialize)]
    struct Thing {
        #[allow(dead_code)]
        id: u64,
    }

    #[test]
    fn names_the_path() {
        let a = answer(r#"{"id":"x-token-that-must-not-leak"}"#, "application/json");
        let e = decode::<Thing>(&a).expect_err("bad id");
        match &e {
            ApiError::Decode { detail, excerpt } => {
                assert!(detail.contains("at `id`"), "{detail}");
                assert!(!excerpt.contains("token-that-must-not-leak"), "{excerpt}");
                assert!(!detail.contains("token-that-must-not-leak"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn html_is_refused_before_parsing() {
        let e = decode::<Thing>(&answer("<html>oops</html>", "text/html")).expect_err("html");
        assert_eq!(e.code(), "Decode");
    }

    #[test]
    fn value_paths_are_prefixed() {
        let a = answer("{}", "application/json");
        let e = decode_value::<Vec<Thing>>(
            serde_json::json!([{"id":1},{"id":"?"}]),
            "_embedded.leads",
            &a,
        )
        .expect_err("bad");
        match e {
            ApiError::Decode { detail, .. } => {
                assert!(detail.ends_with("at `_embedded.leads[1].id`"), "{detail}")
            }
            other => panic!("{other:?}"),
        }
    }
}
