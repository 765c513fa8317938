//! PHP bracket keys: `name[a][b][]` into a path, read the way PHP's
//! `php_register_variable_ex` reads them (rules listed in `form.rs`).

/// One level of a bracket key below the top-level name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Segment<'a> {
    /// `[name]`.
    Name(&'a str),
    /// `[]` (or `[ ]`): append at the next free list index.
    Append,
}

/// How a decoded key is stored.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum KeyPath<'a> {
    /// Store the value under `name` then `segments`.
    Path {
        /// The top-level name after PHP's rewriting.
        name: String,
        /// Bracket levels below it.
        segments: Vec<Segment<'a>>,
    },
    /// PHP ignores the pair.
    Dropped,
    /// More than `max_depth` bracket levels: PHP drops the pair and removes
    /// the top-level variable `name`.
    TooDeep {
        /// The top-level name.
        name: String,
    },
}

/// `isspace` of the C locale.
fn c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Reads a decoded key (already cut at its first NUL byte).
pub(crate) fn parse_key(key: &str, max_depth: usize) -> KeyPath<'_> {
    let key = key.trim_start_matches(' ');
    let bracket = key.find('[');
    let name_part = &key[..bracket.unwrap_or(key.len())];
    let mut name: String = name_part.replace([' ', '.'], "_");
    if name.is_empty() {
        return KeyPath::Dropped;
    }
    for prefix in ["__Host-", "__Secure-"] {
        if name.starts_with(prefix) && !key.starts_with(prefix) {
            return KeyPath::Dropped;
        }
    }
    let mut segments = Vec::new();
    let mut rest = bracket.map(|i| &key[i..]);
    let mut depth = 0usize;
    while let Some(open) = rest {
        depth += 1;
        if depth > max_depth {
            return KeyPath::TooDeep { name };
        }
        // `open` starts with `[`.
        let inner = &open[1..];
        let skip = usize::from(inner.bytes().next().is_some_and(c_space));
        let after_space = &inner[skip..];
        let (segment, tail) = if let Some(tail) = after_space.strip_prefix(']') {
            (Segment::Append, tail)
        } else if let Some(close) = after_space.find(']') {
            // The segment keeps a skipped leading space (PHP's `index_s`).
            let end = skip + close;
            (Segment::Name(&inner[..end]), &inner[end + 1..])
        } else {
            // No `]`: not an index. At the first level the `[` becomes `_`
            // and the rest joins the name (` `, `.`, `[` as `_`); deeper,
            // the rest is ignored.
            if segments.is_empty() {
                name.push('_');
                name.extend(
                    inner
                        .chars()
                        .map(|c| if matches!(c, ' ' | '.' | '[') { '_' } else { c }),
                );
            }
            break;
        };
        segments.push(segment);
        // Anything after `]` that does not open a new `[` is ignored.
        rest = tail.starts_with('[').then_some(tail);
    }
    KeyPath::Path { name, segments }
}

/// The bracket key a path is stored under, as it would be written back.
pub(crate) fn render(name: &str, segments: &[Segment<'_>]) -> String {
    let mut out = name.to_owned();
    for s in segments {
        out.push('[');
        if let Segment::Name(n) = s {
            out.push_str(n);
        }
        out.push(']');
    }
    out
}

/// Whether `key` is exactly how `name` and `segments` render (no allocation:
/// this runs for every pair).
pub(crate) fn written_as(key: &str, name: &str, segments: &[Segment<'_>]) -> bool {
    let Some(mut rest) = key.strip_prefix(name) else {
        return false;
    };
    for s in segments {
        let inner = match s {
            Segment::Name(n) => n,
            Segment::Append => "",
        };
        let Some(r) = rest
            .strip_prefix('[')
            .and_then(|r| r.strip_prefix(inner))
            .and_then(|r| r.strip_prefix(']'))
        else {
            return false;
        };
        rest = r;
    }
    rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Segment::*;

    fn path(key: &str) -> (String, Vec<Segment<'_>>) {
        match parse_key(key, 64) {
            KeyPath::Path { name, segments } => (name, segments),
            other => panic!("{key}: {other:?}"),
        }
    }

    #[test]
    fn splits_nested_keys() {
        assert_eq!(
            path("leads[status][0][custom_fields][]"),
            (
                "leads".into(),
                vec![Name("status"), Name("0"), Name("custom_fields"), Append]
            )
        );
        assert_eq!(path("a"), ("a".into(), vec![]));
    }

    #[test]
    fn reads_malformed_keys_as_php_does() {
        assert_eq!(path("a[b"), ("a_b".into(), vec![]));
        assert_eq!(path("a[b.c d[e"), ("a_b_c_d_e".into(), vec![]));
        assert_eq!(path("a.b c[x]"), ("a_b_c".into(), vec![Name("x")]));
        assert_eq!(path("a[b][c"), ("a".into(), vec![Name("b")]));
        assert_eq!(path("a[b]c"), ("a".into(), vec![Name("b")]));
        assert_eq!(path("a[b]]"), ("a".into(), vec![Name("b")]));
        assert_eq!(path("a[b[c]]"), ("a".into(), vec![Name("b[c")]));
        assert_eq!(path("a]"), ("a]".into(), vec![]));
        assert_eq!(path("  a[ ]"), ("a".into(), vec![Append]));
        assert_eq!(path("a[ b]"), ("a".into(), vec![Name(" b")]));
        assert_eq!(parse_key("", 64), KeyPath::Dropped);
        assert_eq!(parse_key("[a]", 64), KeyPath::Dropped);
        assert_eq!(parse_key("..Host-x", 64), KeyPath::Dropped);
        assert_eq!(path("__Host-x"), ("__Host-x".into(), vec![]));
    }

    #[test]
    fn depth_is_counted_in_bracket_levels() {
        assert!(matches!(parse_key("a[1][2][3]", 3), KeyPath::Path { .. }));
        assert_eq!(
            parse_key("a[1][2][3][4]", 3),
            KeyPath::TooDeep { name: "a".into() }
        );
    }

    #[test]
    fn renders_paths() {
        let (name, segments) = path("a[b][]");
        assert_eq!(render(&name, &segments), "a[b][]");
        assert!(written_as("a[b][]", &name, &segments));
        for other in ["a[b][ ]", "a[b]", "a[b][]x", "ab[]", "a[b][][]"] {
            assert!(!written_as(other, &name, &segments), "{other}");
        }
    }
}
