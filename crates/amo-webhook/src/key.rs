//! PHP bracket keys: `name[a][b][]` into segments.

use crate::error::KeyProblem;

/// One level of a bracket key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Segment<'a> {
    /// `[name]` (or the leading name).
    Name(&'a str),
    /// `[]`: append at the next free list index.
    Append,
}

/// Why a key could not be split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyError {
    /// The key breaks bracket syntax.
    Malformed(KeyProblem),
    /// The key has more bracket segments than allowed.
    TooDeep,
}

/// Splits a decoded key into its name and bracket segments.
///
/// Grammar: `name ('[' segment ']')*`, where `name` is non-empty and neither
/// `name` nor a segment contains `[` or `]`. An empty segment is
/// [`Segment::Append`]. At most `max_depth` bracket segments are accepted;
/// the check happens while scanning, so a long key never allocates more.
pub(crate) fn parse_key(key: &str, max_depth: usize) -> Result<Vec<Segment<'_>>, KeyError> {
    use KeyError::Malformed;
    let name_end = key.find(['[', ']']).unwrap_or(key.len());
    let name = &key[..name_end];
    if name.is_empty() {
        return Err(Malformed(KeyProblem::EmptyName));
    }
    let mut segments = vec![Segment::Name(name)];
    let mut rest = &key[name_end..];
    while !rest.is_empty() {
        let Some(inner) = rest.strip_prefix('[') else {
            return Err(Malformed(if rest.starts_with(']') {
                KeyProblem::UnexpectedCloseBracket
            } else {
                KeyProblem::TrailingText
            }));
        };
        let close = match inner.find(['[', ']']) {
            Some(i) if inner.as_bytes().get(i) == Some(&b']') => i,
            Some(_) => return Err(Malformed(KeyProblem::NestedBracket)),
            None => return Err(Malformed(KeyProblem::UnclosedBracket)),
        };
        if segments.len() > max_depth {
            return Err(KeyError::TooDeep);
        }
        let segment = &inner[..close];
        segments.push(if segment.is_empty() {
            Segment::Append
        } else {
            Segment::Name(segment)
        });
        rest = &inner[close + 1..];
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Segment::*;

    #[test]
    fn splits_nested_keys() {
        assert_eq!(
            parse_key("leads[status][0][custom_fields][]", 8),
            Ok(vec![
                Name("leads"),
                Name("status"),
                Name("0"),
                Name("custom_fields"),
                Append
            ])
        );
        assert_eq!(parse_key("a", 8), Ok(vec![Name("a")]));
    }

    #[test]
    fn rejects_malformed_keys() {
        let m = |k| match parse_key(k, 8) {
            Err(KeyError::Malformed(p)) => Some(p),
            _ => None,
        };
        assert_eq!(m(""), Some(KeyProblem::EmptyName));
        assert_eq!(m("[a]"), Some(KeyProblem::EmptyName));
        assert_eq!(m("a]"), Some(KeyProblem::UnexpectedCloseBracket));
        assert_eq!(m("a[b]]"), Some(KeyProblem::UnexpectedCloseBracket));
        assert_eq!(m("a[b"), Some(KeyProblem::UnclosedBracket));
        assert_eq!(m("a[b[c]]"), Some(KeyProblem::NestedBracket));
        assert_eq!(m("a[b]c"), Some(KeyProblem::TrailingText));
    }

    #[test]
    fn depth_is_counted_in_bracket_segments() {
        assert!(parse_key("a[1][2][3]", 3).is_ok());
        assert_eq!(parse_key("a[1][2][3][4]", 3), Err(KeyError::TooDeep));
    }
}
