//! `application/x-www-form-urlencoded` parsing into a [`NodeMap`], the way
//! PHP's `parse_str` / `$_POST` reads a body.
//!
//! amoCRM's bodies are made for PHP, and PHP never rejects one: so neither
//! does this parser, except to bound memory. The rules, taken from php-src
//! (`main/php_variables.c`: `php_default_treat_data`, `add_post_var`,
//! `php_register_variable_ex`; `ext/standard/url.c`: `php_url_decode`):
//!
//! 1. **Pairs.** The body is split on `&`; empty pieces are skipped. A piece
//!    splits at its first `=`; without one the value is `""`.
//! 2. **Decoding** (`php_url_decode`, keys and values alike): `+` is a space;
//!    `%` followed by two hex digits is that byte; any other `%` is kept as it
//!    is ([`Anomaly::BrokenEscape`]). Bytes that are not UTF-8 are read
//!    lossily, with U+FFFD ([`Anomaly::InvalidUtf8`]); the stored raw body
//!    keeps them.
//! 3. **Key text.** A key ends at its first NUL byte (PHP reads it as a C
//!    string). Leading spaces are dropped. In the top-level name (up to the
//!    first `[`) every space and `.` becomes `_`. An empty name (`=1`,
//!    `[a]=1`) drops the pair, and so does a name that only this rewriting
//!    made start with `__Host-` or `__Secure-` ([`Anomaly::Dropped`]).
//! 4. **Brackets.** After the name, each `[…]` is one level: the text up to
//!    the *first* `]` (so `a[b[c]]` is `a` → `b[c`). `[]` — or `[` + one
//!    whitespace + `]` — appends at the next free integer index (one more
//!    than the largest non-negative integer key so far). After a `]`,
//!    anything but a new `[` is ignored (`a[b]c` is `a[b]`). A `[` with no
//!    `]` after it is not a level: at the first level it becomes `_` and the
//!    rest joins the name with spaces, dots and `[` as `_` (`a[b` is `a_b`);
//!    deeper, the rest is ignored (`a[b][c` is `a[b]`). A key read
//!    differently from how it was written is noted ([`Anomaly::KeyRewritten`]).
//! 5. **Nesting.** More than [`DecodeLimits::max_depth`] levels (PHP's
//!    `max_input_nesting_level`, 64) drops the pair *and* removes the whole
//!    top-level variable it names ([`Anomaly::TooDeep`]).
//! 6. **Later wins.** Writing a place again replaces what was there, in place
//!    (its position in the map stays): a duplicate key, a value where an
//!    object was (`a[b]=2&a=1` → `a=1`) or an object where a value was
//!    (`a=1&a[b]=2` → `a[b]=2`). What was replaced is kept
//!    ([`Anomaly::Replaced`]).
//!
//! Only the size limits of [`DecodeLimits`] reject a body (body size, pair
//! count, key and value length, measured on the raw text); they exist to
//! bound memory, not to judge shapes. PHP's `max_input_vars` stops reading
//! at its limit; here the pair limit rejects the body instead, so nothing is
//! half-read.

use crate::anomaly::Anomaly;
use crate::error::{DecodeError, PairPart};
use crate::key::{KeyPath, Segment, parse_key, render, written_as};
use crate::limits::DecodeLimits;
use crate::tree::{Node, NodeMap};

/// A parsed body: the tree, and what parsing had to resolve on the way.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedForm {
    /// The bracket-key tree.
    pub tree: NodeMap,
    /// What PHP's rules changed or dropped, in body order.
    pub anomalies: Vec<Anomaly>,
}

/// Parses a raw body into the bracket-key tree with PHP's rules (see the
/// module documentation), enforcing the size limits of `limits`.
pub fn parse_form(body: &[u8], limits: &DecodeLimits) -> Result<ParsedForm, DecodeError> {
    if body.len() > limits.max_body_bytes {
        return Err(DecodeError::BodyTooLarge {
            size: body.len(),
            limit: limits.max_body_bytes,
        });
    }
    let mut out = ParsedForm::default();
    let mut pairs = 0usize;
    let mut offset = 0usize;
    for pair in body.split(|&b| b == b'&') {
        let start = offset;
        offset += pair.len() + 1;
        if pair.is_empty() {
            continue;
        }
        pairs += 1;
        if pairs > limits.max_pairs {
            return Err(DecodeError::TooManyPairs {
                limit: limits.max_pairs,
            });
        }
        let (raw_key, raw_value, value_start) = match pair.iter().position(|&b| b == b'=') {
            Some(eq) => (&pair[..eq], &pair[eq + 1..], start + eq + 1),
            None => (pair, &pair[pair.len()..], start + pair.len()),
        };
        if raw_key.len() > limits.max_key_bytes {
            return Err(DecodeError::KeyTooLong {
                offset: start,
                len: raw_key.len(),
                limit: limits.max_key_bytes,
            });
        }
        let mut key = url_decode(raw_key, start, PairPart::Key, &mut out.anomalies);
        if let Some(nul) = key.iter().position(|&b| b == 0) {
            let sent = String::from_utf8_lossy(&key).into_owned();
            key.truncate(nul);
            out.anomalies.push(Anomaly::KeyRewritten {
                offset: start,
                sent,
                read_as: String::from_utf8_lossy(&key).into_owned(),
            });
        }
        let key = text(key, start, PairPart::Key, &mut out.anomalies);
        if raw_value.len() > limits.max_value_bytes {
            return Err(DecodeError::ValueTooLong {
                key,
                offset: value_start,
                len: raw_value.len(),
                limit: limits.max_value_bytes,
            });
        }
        let value = url_decode(raw_value, value_start, PairPart::Value, &mut out.anomalies);
        let value = text(value, start, PairPart::Value, &mut out.anomalies);
        insert_pair(&mut out, &key, value, start, limits.max_depth);
    }
    Ok(out)
}

/// UTF-8 text of decoded bytes, lossy, noting invalid bytes.
fn text(bytes: Vec<u8>, offset: usize, part: PairPart, anomalies: &mut Vec<Anomaly>) -> String {
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            anomalies.push(Anomaly::InvalidUtf8 { offset, part });
            String::from_utf8_lossy(e.as_bytes()).into_owned()
        }
    }
}

fn insert_pair(out: &mut ParsedForm, key: &str, value: String, offset: usize, max_depth: usize) {
    let (name, segments) = match parse_key(key, max_depth) {
        KeyPath::Path { name, segments } => (name, segments),
        KeyPath::Dropped => {
            out.anomalies.push(Anomaly::Dropped {
                offset,
                key: key.to_owned(),
            });
            return;
        }
        KeyPath::TooDeep { name } => {
            let removed = out.tree.remove(&name);
            out.anomalies.push(Anomaly::TooDeep {
                offset,
                name,
                limit: max_depth,
                removed,
            });
            return;
        }
    };
    if !written_as(key, &name, &segments) {
        out.anomalies.push(Anomaly::KeyRewritten {
            offset,
            sent: key.to_owned(),
            read_as: render(&name, &segments),
        });
    }
    // The place written, as a bracket key with the indexes `[]` took (for a
    // replacement's anomaly).
    let mut place = String::with_capacity(key.len() + 8);
    place.push_str(&name);
    let mut map = &mut out.tree;
    let mut slot = name;
    for segment in &segments {
        let Some((child, replaced)) = map.child_map_replacing(slot) else {
            return;
        };
        if let Some(earlier) = replaced {
            out.anomalies.push(Anomaly::Replaced {
                key: place.clone(),
                earlier,
            });
        }
        map = child;
        slot = match segment {
            Segment::Name(n) => (*n).to_owned(),
            Segment::Append => map.next_index_key(),
        };
        place.push('[');
        place.push_str(&slot);
        place.push(']');
    }
    if let Some(earlier) = map.insert(slot, Node::Value(value)) {
        out.anomalies.push(Anomaly::Replaced {
            key: place,
            earlier,
        });
    }
}

/// PHP's `php_url_decode` of one raw key or value; `base` is its offset in
/// the body. The first broken `%` is noted.
fn url_decode(raw: &[u8], base: usize, part: PairPart, anomalies: &mut Vec<Anomaly>) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut broken = None;
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => match (
                raw.get(i + 1).copied().and_then(hex),
                raw.get(i + 2).copied().and_then(hex),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => {
                    broken.get_or_insert(base + i);
                    out.push(b'%');
                }
            },
            b => out.push(b),
        }
        i += 1;
    }
    if let Some(offset) = broken {
        anomalies.push(Anomaly::BrokenEscape { offset, part });
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(raw: &[u8]) -> (Vec<u8>, Vec<Anomaly>) {
        let mut anomalies = Vec::new();
        let out = url_decode(raw, 10, PairPart::Value, &mut anomalies);
        (out, anomalies)
    }

    #[test]
    fn decodes_plus_and_escapes() {
        assert_eq!(decode(b"a+b%20%D0%B0"), (b"a b \xD0\xB0".to_vec(), vec![]));
    }

    #[test]
    fn keeps_broken_escapes_literally() {
        let broken = |offset| {
            vec![Anomaly::BrokenEscape {
                offset,
                part: PairPart::Value,
            }]
        };
        assert_eq!(decode(b"ab%zz"), (b"ab%zz".to_vec(), broken(12)));
        assert_eq!(decode(b"%4"), (b"%4".to_vec(), broken(10)));
        assert_eq!(decode(b"x%"), (b"x%".to_vec(), broken(11)));
        // `%%41`: the first `%` is literal, then `%41` is `A`.
        assert_eq!(decode(b"%%41"), (b"%A".to_vec(), broken(10)));
    }
}
