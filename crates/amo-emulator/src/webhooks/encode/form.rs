//! A form body under construction, encoded like PHP's `http_build_query`.

use std::fmt::Display;

/// Pairs joined by `&`, keys and values PHP-`urlencode`d.
#[derive(Debug, Default)]
pub(crate) struct Form {
    out: String,
}

impl Form {
    /// Append `key=value` (both given raw).
    pub fn put(&mut self, key: &str, value: &str) {
        if !self.out.is_empty() {
            self.out.push('&');
        }
        php_urlencode_into(&mut self.out, key);
        self.out.push('=');
        php_urlencode_into(&mut self.out, value);
    }

    /// Append `prefix[name]=value`.
    pub fn field(&mut self, prefix: &str, name: &str, value: impl Display) {
        let key = format!("{prefix}[{name}]");
        self.put(&key, &value.to_string());
    }

    /// Append `prefix[name]=1|0` (PHP renders booleans so).
    pub fn flag(&mut self, prefix: &str, name: &str, value: bool) {
        self.field(prefix, name, if value { "1" } else { "0" });
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// PHP `urlencode`: `A-Z a-z 0-9 - _ .` kept, space as `+`, every other byte
/// as `%XX` with uppercase hex.
///
/// Deliberately not shared with `amo-webhook`'s encoder: the emulator plays
/// amoCRM and the decoder is the product under test, so each writes the
/// format from the spec on its own and the golden files hold them together.
pub(crate) fn php_urlencode_into(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => out.push(char::from(b)),
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0x0f)]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_php() {
        let mut f = Form::default();
        f.field("leads[add][0]", "name", "Новый лид ~*+&=");
        assert_eq!(
            f.finish(),
            "leads%5Badd%5D%5B0%5D%5Bname%5D=%D0%9D%D0%BE%D0%B2%D1%8B%D0%B9+%D0%BB%D0%B8%D0%B4+%7E%2A%2B%26%3D"
        );
    }
}
