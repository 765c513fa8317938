//! The receiver's path secret.

/// The random path segment of `POST /amocrm/<secret>/`: 32 random bytes as
/// 64 lowercase hex characters (256 bits). `Debug`/`Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    /// A fresh random secret.
    pub fn generate() -> WebhookSecret {
        todo!()
    }

    /// Parses a stored secret; `None` unless it is 32–128 hex characters.
    pub fn parse(text: &str) -> Option<WebhookSecret> {
        let _ = text;
        todo!()
    }

    /// The secret itself — only for building the URL and storing it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Constant-time comparison with a candidate path segment.
    pub fn matches(&self, candidate: &str) -> bool {
        let _ = candidate;
        todo!()
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}
