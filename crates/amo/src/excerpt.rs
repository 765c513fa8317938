//! Short, safe excerpts of response bodies for errors and logs.

/// The first `max` characters of a body as text (lossy UTF-8), on one line.
///
/// Only the *response* body is ever excerpted, never request headers, so the
/// `Authorization` header cannot leak through here. [`redact`] removes a token
/// in case a server echoes it back.
pub fn excerpt(body: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text
        .chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

/// [`excerpt`] of the body with `secret` removed *before* cutting, so a token
/// that straddles the cut cannot leak as a prefix.
pub fn redacted_excerpt(body: &[u8], max: usize, secret: &str) -> String {
    let text = String::from_utf8_lossy(body);
    excerpt(redact(&text, secret).as_bytes(), max)
}

/// Replaces every occurrence of `secret` in `text` with `***`.
pub fn redact(text: &str, secret: &str) -> String {
    if secret.len() < 8 {
        return text.to_owned();
    }
    text.replace(secret, "***")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_on_char_boundary_and_flattens_lines() {
        assert_eq!(excerpt("Сделка\nноль".as_bytes(), 6), "Сделка…");
        assert_eq!(excerpt(b"a\nb", 10), "a b");
        assert_eq!(excerpt(&[0xff, b'x'], 10), "\u{fffd}x");
    }

    #[test]
    fn redacts_before_cutting() {
        let secret = "abcdefghijklmnop";
        let body = format!("{}{secret}", "x".repeat(10));
        // Cutting first would keep "abcde", a prefix of the token.
        assert_eq!(
            redact(&excerpt(body.as_bytes(), 15), secret),
            format!("{}abcde…", "x".repeat(10))
        );
        assert_eq!(
            redacted_excerpt(body.as_bytes(), 15, secret),
            format!("{}***", "x".repeat(10))
        );
    }

    #[test]
    fn redacts_token() {
        assert_eq!(
            redact("echo Bearer abcdefghijk", "abcdefghijk"),
            "echo Bearer ***"
        );
    }
}
