//! The receiver's path secret.

use subtle::ConstantTimeEq;

/// The random path segment of `POST /amocrm/<secret>/`: 32 random bytes as
/// 64 lowercase hex characters (256 bits). `Debug`/`Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    /// A fresh random secret.
    pub fn generate() -> WebhookSecret {
        let mut bytes = [0u8; 32];
        rand::fill(&mut bytes);
        let mut hex = String::with_capacity(64);
        for b in bytes {
            hex.push(char::from(HEX[usize::from(b >> 4)]));
            hex.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
        WebhookSecret(hex)
    }

    /// Parses a stored secret; `None` unless it is 32–128 hex characters.
    /// Upper-case hex is accepted and kept as written (the URL path is
    /// compared byte for byte).
    pub fn parse(text: &str) -> Option<WebhookSecret> {
        let text = text.trim();
        if (32..=128).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            Some(WebhookSecret(text.to_owned()))
        } else {
            None
        }
    }

    /// The secret itself — only for building the URL and storing it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Constant-time comparison with a candidate path segment (the time
    /// depends only on the lengths, never on where the bytes differ).
    pub fn matches(&self, candidate: &str) -> bool {
        let ours = self.0.as_bytes();
        let theirs = candidate.as_bytes();
        // `ct_eq` on slices of different lengths returns false at once; the
        // length of our secret is not a secret (it is always 32–128).
        bool::from(ours.ct_eq(theirs))
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

impl std::fmt::Display for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_64_hex_and_distinct() {
        let a = WebhookSecret::generate();
        let b = WebhookSecret::generate();
        assert_eq!(a.expose().len(), 64);
        assert!(
            a.expose()
                .bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(a, b);
        assert_eq!(WebhookSecret::parse(a.expose()), Some(a.clone()));
    }

    #[test]
    fn parse_table() {
        let cases: &[(&str, bool)] = &[
            ("", false),
            (&"a".repeat(31), false),
            (&"a".repeat(32), true),
            (&"F".repeat(128), true),
            (&"0".repeat(129), false),
            (&format!("{}g", "a".repeat(40)), false),
            (&format!("{}/", "a".repeat(40)), false),
        ];
        for (text, ok) in cases {
            assert_eq!(WebhookSecret::parse(text).is_some(), *ok, "{text:?}");
        }
    }

    #[test]
    fn matches_only_the_exact_secret() {
        let s = WebhookSecret::parse(&"ab".repeat(32)).expect("valid");
        assert!(s.matches(&"ab".repeat(32)));
        assert!(!s.matches(&"ab".repeat(31)));
        assert!(!s.matches(&format!("{}x", "ab".repeat(32))));
        assert!(!s.matches(&format!("{}aa", "ab".repeat(31))));
        assert!(!s.matches(""));
    }

    #[test]
    fn never_printed() {
        let s = WebhookSecret::generate();
        assert_eq!(format!("{s:?}"), "WebhookSecret(***)");
        assert_eq!(format!("{s}"), "***");
        assert!(!format!("{s:?}{s}").contains(s.expose()));
    }
}
