//! Credentials of the OAuth flow (client secrets, codes, refresh tokens):
//! a string whose `Debug` prints `***`, compared in constant time, and the
//! unpredictable random strings they are made of.

/// A credential. `Debug` never shows it; read it with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The credential itself (for the one place that must send it).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Equality that takes the same time wherever the first difference is.
    pub fn matches(&self, other: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), other.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// `n` bytes from the operating system's generator.
fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    rand::fill(bytes.as_mut_slice());
    bytes
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `bytes` random bytes in hex (the locked emulator's per-run control secret).
pub fn random_hex(bytes: usize) -> Secret {
    Secret(hex(&random_bytes(bytes)))
}

/// A client id in amoCRM's shape: a random (version 4 layout) UUID.
pub fn client_id() -> String {
    let b = random_bytes(16);
    let h = hex(&b);
    let variant = ["8", "9", "a", "b"][usize::from(b[8] & 3)];
    format!(
        "{}-{}-4{}-{variant}{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// A client secret: 64 letters and digits, as amoCRM shows them.
pub fn client_secret() -> Secret {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    // 248 = 4 * 62: taking bytes below it keeps every letter equally likely.
    let mut out = String::with_capacity(64);
    while out.len() < 64 {
        for b in random_bytes(96) {
            if b < 248 && out.len() < 64 {
                out.push(char::from(ALPHABET[usize::from(b % 62)]));
            }
        }
    }
    Secret(out)
}

/// An opaque grant (authorization code or refresh token): `def50200` and
/// `bytes` random bytes in hex, like amoCRM's encrypted payloads.
pub fn opaque(bytes: usize) -> Secret {
    Secret(format!("def50200{}", hex(&random_bytes(bytes))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_redaction() {
        let id = client_id();
        assert_eq!(id.len(), 36);
        assert_eq!(id.as_bytes()[14], b'4');
        assert!(
            matches!(id.as_bytes()[19], b'8' | b'9' | b'a' | b'b'),
            "{id}"
        );
        assert_ne!(client_id(), id);
        let s = client_secret();
        assert_eq!(s.expose().len(), 64);
        assert!(s.expose().bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(format!("{s:?}"), "***");
        let code = opaque(32);
        assert_eq!(code.expose().len(), 8 + 64);
        assert_ne!(opaque(32), code);
    }

    #[test]
    fn matches_is_exact() {
        let s = Secret::new("abc");
        assert!(s.matches("abc"));
        assert!(!s.matches("abd"));
        assert!(!s.matches("ab"));
        assert!(!s.matches("abcd"));
        assert!(!s.matches(""));
    }
}
