//! Keeping the receiver's secret out of states, messages and logs: the
//! destination's secret segment becomes `***`.

use amo::ApiError;

/// The secret segment of a `secret_path` (`/amocrm/<secret>/` → `<secret>`).
fn secret_of(secret_path: &str) -> &str {
    secret_path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
}

/// `text` with every occurrence of the secret replaced by `***`.
pub fn redact_text(text: &str, secret_path: &str) -> String {
    let secret = secret_of(secret_path);
    if secret.len() < 8 {
        // Not a real secret (the keeper refuses such paths); replacing a
        // tiny string would mangle the text for nothing.
        return text.to_owned();
    }
    text.replace(secret, "***")
}

/// A destination for display: `https://host/amocrm/***/`.
pub fn redact_destination(destination: &str, secret_path: &str) -> String {
    redact_text(destination, secret_path)
}

/// The same error with the secret removed from every text it carries (what
/// amoCRM said may echo the destination of a `POST`/`DELETE`).
pub fn redact_error(error: ApiError, secret_path: &str) -> ApiError {
    error.map_text(|s| redact_text(s, secret_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "5ec7e75ec7e75ec7e75ec7e75ec7e75e";

    fn sp() -> String {
        format!("/amocrm/{SECRET}/")
    }

    #[test]
    fn destinations_lose_the_secret() {
        assert_eq!(
            redact_destination(&format!("https://a.example{}", sp()), &sp()),
            "https://a.example/amocrm/***/"
        );
        assert_eq!(redact_text("no secret here", &sp()), "no secret here");
    }

    #[test]
    fn errors_lose_the_secret() {
        let dest = format!("https://a.example{}", sp());
        let problem: amo::Problem = serde_json::from_value(serde_json::json!({
            "title": "Bad Request",
            "detail": format!("Invalid URL {dest}"),
            "validation-errors": [{"errors": [{"path": "destination", "detail": dest}]}],
        }))
        .expect("problem");
        let errors = [
            ApiError::BadRequest {
                status: 400,
                detail: format!("bad {dest}"),
                problem: Some(Box::new(problem)),
            },
            ApiError::Forbidden {
                blocked: false,
                detail: dest.clone(),
            },
            ApiError::Server {
                status: 502,
                detail: dest.clone(),
            },
            ApiError::Decode {
                detail: dest.clone(),
                excerpt: dest.clone(),
            },
        ];
        for e in errors {
            let code = e.code();
            let e = redact_error(e, &sp());
            assert_eq!(e.code(), code);
            let text = format!("{e} {e:?}");
            assert!(!text.contains(SECRET), "{text}");
            assert!(text.contains("/amocrm/***/"), "{text}");
        }
    }
}
