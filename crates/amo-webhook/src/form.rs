//! Strict `application/x-www-form-urlencoded` parsing into a [`NodeMap`].

use crate::error::{DecodeError, PairPart};
use crate::key::{KeyError, Segment, parse_key};
use crate::limits::DecodeLimits;
use crate::tree::{InsertError, NodeMap};

/// Parses a raw body into the bracket-key tree, enforcing `limits`.
///
/// Pairs are split on `&` and at the first `=` (a pair without `=` has an
/// empty value; empty pairs are skipped). `+` is a space; `%XX` must be two
/// hex digits; decoded keys and values must be UTF-8. A key may appear once,
/// and may not be both a value and a parent (`a=1&a[b]=2`).
pub fn parse_form(body: &[u8], limits: &DecodeLimits) -> Result<NodeMap, DecodeError> {
    if body.len() > limits.max_body_bytes {
        return Err(DecodeError::BodyTooLarge {
            size: body.len(),
            limit: limits.max_body_bytes,
        });
    }
    let mut root = NodeMap::new();
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
        let key = percent_decode(raw_key, start)?;
        let key = String::from_utf8(key).map_err(|_| DecodeError::InvalidUtf8 {
            offset: start,
            part: PairPart::Key,
            key: raw_key.escape_ascii().to_string(),
        })?;
        if raw_value.len() > limits.max_value_bytes {
            return Err(DecodeError::ValueTooLong {
                key,
                offset: value_start,
                len: raw_value.len(),
                limit: limits.max_value_bytes,
            });
        }
        let value = percent_decode(raw_value, value_start)?;
        let value = match String::from_utf8(value) {
            Ok(v) => v,
            Err(_) => {
                return Err(DecodeError::InvalidUtf8 {
                    offset: start,
                    part: PairPart::Value,
                    key,
                });
            }
        };
        insert_pair(&mut root, &key, value, start, limits.max_depth)?;
    }
    Ok(root)
}

fn insert_pair(
    root: &mut NodeMap,
    key: &str,
    value: String,
    offset: usize,
    max_depth: usize,
) -> Result<(), DecodeError> {
    let segments = parse_key(key, max_depth).map_err(|e| match e {
        KeyError::Malformed(problem) => DecodeError::MalformedKey {
            offset,
            key: key.to_owned(),
            problem,
        },
        KeyError::TooDeep => DecodeError::TooDeep {
            key: key.to_owned(),
            limit: max_depth,
        },
    })?;
    let insert_error = |e| match e {
        InsertError::Duplicate => DecodeError::DuplicateKey {
            key: key.to_owned(),
        },
        InsertError::Conflict => DecodeError::KeyConflict {
            key: key.to_owned(),
        },
    };
    let Some((last, parents)) = segments.split_last() else {
        return Err(DecodeError::MalformedKey {
            offset,
            key: key.to_owned(),
            problem: crate::error::KeyProblem::EmptyName,
        });
    };
    let mut map = root;
    for segment in parents {
        let name = segment_key(map, *segment);
        map = map.child_map(name).map_err(insert_error)?;
    }
    let name = segment_key(map, *last);
    map.insert_new_value(name, value).map_err(insert_error)
}

fn segment_key(map: &NodeMap, segment: Segment<'_>) -> String {
    match segment {
        Segment::Name(name) => name.to_owned(),
        Segment::Append => map.next_index_key(),
    }
}

/// Percent-decodes one raw key or value; `base` is its offset in the body,
/// used to report the position of a bad escape.
fn percent_decode(raw: &[u8], base: usize) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        match b {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hi = raw.get(i + 1).copied().and_then(hex);
                let lo = raw.get(i + 2).copied().and_then(hex);
                match (hi, lo) {
                    (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                    _ => return Err(DecodeError::InvalidPercentEncoding { offset: base + i }),
                }
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(out)
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

    #[test]
    fn decodes_plus_and_escapes() {
        assert_eq!(
            percent_decode(b"a+b%20%D0%B0", 0),
            Ok(b"a b \xD0\xB0".to_vec())
        );
    }

    #[test]
    fn reports_offset_of_bad_escape() {
        assert_eq!(
            percent_decode(b"ab%zz", 10),
            Err(DecodeError::InvalidPercentEncoding { offset: 12 })
        );
        assert_eq!(
            percent_decode(b"%4", 0),
            Err(DecodeError::InvalidPercentEncoding { offset: 0 })
        );
        assert_eq!(
            percent_decode(b"x%", 0),
            Err(DecodeError::InvalidPercentEncoding { offset: 1 })
        );
    }
}
