//! Every way a body is rejected (a size limit, a missing account block), each
//! a distinct error, none a panic; and everything the old strict parser
//! refused, now read with PHP's rules and its anomalies noted.

use amo_webhook::{
    Anomaly, DecodeError, DecodeLimits, Node, NodeMap, PairPart, ParsedForm, decode,
    decode_with_limits, parse_form,
};

const ACCOUNT: &str = "&account[subdomain]=acme";

fn err(body: &str) -> DecodeError {
    decode(body.as_bytes()).expect_err("body must be rejected")
}

fn err_with(body: &[u8], limits: DecodeLimits) -> DecodeError {
    decode_with_limits(body, &limits).expect_err("body must be rejected")
}

#[test]
fn body_too_large() {
    let limits = DecodeLimits {
        max_body_bytes: 10,
        ..Default::default()
    };
    assert_eq!(
        err_with(b"account[subdomain]=a", limits.clone()),
        DecodeError::BodyTooLarge {
            size: 20,
            limit: 10
        }
    );
    assert!(
        decode_with_limits(
            b"account[subdomain]=a",
            &DecodeLimits {
                max_body_bytes: 20,
                ..limits
            }
        )
        .is_ok()
    );
    let big = vec![b'a'; 1024 * 1024 + 1];
    assert_eq!(
        err_with(&big, DecodeLimits::default()).code(),
        "body_too_large"
    );
}

#[test]
fn too_many_pairs() {
    let limits = DecodeLimits {
        max_pairs: 3,
        ..Default::default()
    };
    let body = format!("a=1&b=2&c=3&d=4{ACCOUNT}");
    assert_eq!(
        err_with(body.as_bytes(), limits.clone()),
        DecodeError::TooManyPairs { limit: 3 }
    );
    // Empty pairs (`&&`) are not counted.
    assert!(decode_with_limits(b"&&a=1&&account[subdomain]=x&", &limits).is_ok());
}

#[test]
fn key_too_long() {
    let limits = DecodeLimits {
        max_key_bytes: 8,
        ..Default::default()
    };
    assert_eq!(
        err_with(b"x=1&abcdefghi=2", limits),
        DecodeError::KeyTooLong {
            offset: 4,
            len: 9,
            limit: 8
        }
    );
}

#[test]
fn value_too_long() {
    let limits = DecodeLimits {
        max_value_bytes: 4,
        ..Default::default()
    };
    assert_eq!(
        err_with(b"a=12345", limits),
        DecodeError::ValueTooLong {
            key: "a".into(),
            offset: 2,
            len: 5,
            limit: 4
        }
    );
}

/// The tree and anomalies of a body, with the default limits.
fn parse(body: &[u8]) -> ParsedForm {
    parse_form(body, &DecodeLimits::default()).expect("PHP parses every body within the limits")
}

fn value<'a>(form: &'a ParsedForm, path: &[&str]) -> Option<&'a str> {
    let (first, rest) = path.split_first()?;
    form.tree.get(first)?.get_path(rest)?.as_str()
}

#[test]
fn nesting_is_php_s_rule_not_a_rejection() {
    // Real payloads use 7 bracket levels, amoCRM's documented unsorted form
    // request 10; PHP allows 64.
    let seven = format!("leads[status][0][custom_fields][0][values][0][value]=1{ACCOUNT}");
    assert!(decode(seven.as_bytes()).is_ok());
    let sixty_four = format!("a{}=1", "[x]".repeat(64));
    assert!(parse(sixty_four.as_bytes()).anomalies.is_empty());
    // Past 64, PHP drops the pair and removes the whole top-level variable.
    let deep = format!("a[keep]=0&b=1&a{}=1{ACCOUNT}", "[x]".repeat(65));
    let form = parse(deep.as_bytes());
    assert!(form.tree.get("a").is_none(), "{:?}", form.tree);
    assert_eq!(value(&form, &["b"]), Some("1"));
    assert_eq!(
        form.anomalies,
        vec![Anomaly::TooDeep {
            offset: 14,
            name: "a".into(),
            limit: 64,
            removed: Some(Node::Map(NodeMap::from_iter([("keep", "0")]))),
        }]
    );
    let p = decode(deep.as_bytes()).expect("decodes");
    assert_eq!(p.anomalies, form.anomalies);
    // A very deep key is cut off by the key length limit (413) or read as
    // PHP reads it, never by the stack.
    let very = format!("a{}=1{ACCOUNT}", "[x]".repeat(10_000));
    let limits = DecodeLimits {
        max_key_bytes: usize::MAX,
        ..Default::default()
    };
    let p = decode_with_limits(very.as_bytes(), &limits).expect("decodes");
    assert_eq!(p.anomalies[0].code(), "too_deep");
    assert_eq!(err(&very).code(), "key_too_long");
}

#[test]
fn broken_percent_escapes_are_kept_literally() {
    let form = parse(b"ab=%zz&c=1%4&d=1%&x=1&a%G1=2");
    assert_eq!(value(&form, &["ab"]), Some("%zz"));
    assert_eq!(value(&form, &["c"]), Some("1%4"));
    assert_eq!(value(&form, &["d"]), Some("1%"));
    assert_eq!(value(&form, &["a%G1"]), Some("2"));
    assert_eq!(
        form.anomalies,
        vec![
            Anomaly::BrokenEscape {
                offset: 3,
                part: PairPart::Value
            },
            Anomaly::BrokenEscape {
                offset: 10,
                part: PairPart::Value
            },
            Anomaly::BrokenEscape {
                offset: 16,
                part: PairPart::Value
            },
            Anomaly::BrokenEscape {
                offset: 23,
                part: PairPart::Key
            },
        ]
    );
    let p = decode(format!("a=%zz{ACCOUNT}").as_bytes()).expect("decodes");
    assert_eq!(p.anomalies.len(), 1);
    assert_eq!(
        p.untyped_report(8)[0].split(':').next(),
        Some("broken_escape")
    );
}

#[test]
fn invalid_utf8_is_read_lossily_and_noted() {
    let form = parse(b"x=1&a%FF=1&name=%D0&ok=%D0%AF");
    assert_eq!(value(&form, &["a\u{FFFD}"]), Some("1"));
    assert_eq!(value(&form, &["name"]), Some("\u{FFFD}"));
    assert_eq!(value(&form, &["ok"]), Some("Я"));
    assert_eq!(
        form.anomalies,
        vec![
            Anomaly::InvalidUtf8 {
                offset: 4,
                part: PairPart::Key
            },
            Anomaly::InvalidUtf8 {
                offset: 11,
                part: PairPart::Value
            },
        ]
    );
    // Raw (unescaped) bytes, overlong encodings and lone surrogates alike.
    for body in [&b"a\xff=1"[..], b"a=%C0%AF", b"a=%ED%A0%80", b"a=%e2%82"] {
        assert_eq!(parse(body).anomalies[0].code(), "invalid_utf8", "{body:?}");
    }
}

#[test]
fn malformed_brackets_are_read_as_php_reads_them() {
    // (body, top-level key, path below it, value)
    let cases: [(&str, &str, &[&str], &str); 9] = [
        ("a[b=1", "a_b", &[], "1"),
        ("a%5Bb=1", "a_b", &[], "1"),
        ("a[b.c d[e=1", "a_b_c_d_e", &[], "1"),
        ("a.b c[x]=1", "a_b_c", &["x"], "1"),
        ("a[b][c=1", "a", &["b"], "1"),
        ("a[b[c]]=1", "a", &["b[c"], "1"),
        ("a[b]]=1", "a", &["b"], "1"),
        ("a[b]c=1", "a", &["b"], "1"),
        ("  a[ ]=1", "a", &["0"], "1"),
    ];
    for (body, top, path, want) in cases {
        let form = parse(body.as_bytes());
        let node = form.tree.get(top).and_then(|n| n.get_path(path));
        assert_eq!(
            node.and_then(Node::as_str),
            Some(want),
            "{body}: {:?}",
            form.tree
        );
        assert_eq!(form.tree.len(), 1, "{body}");
        assert_eq!(form.anomalies.len(), 1, "{body}: {:?}", form.anomalies);
        assert_eq!(form.anomalies[0].code(), "key_rewritten", "{body}");
    }
    // A `]` in the name is just a character.
    let form = parse(b"a]=1");
    assert_eq!(value(&form, &["a]"]), Some("1"));
    assert!(form.anomalies.is_empty());
    // Keys starting with `[` (or empty) are skipped, as PHP skips them.
    let form = parse(b"=1&[a]=2&%20=3&b=4");
    assert_eq!(form.tree.len(), 1);
    assert_eq!(value(&form, &["b"]), Some("4"));
    assert_eq!(
        form.anomalies.iter().map(Anomaly::code).collect::<Vec<_>>(),
        ["dropped", "dropped", "dropped"]
    );
    // A key ends at a NUL byte.
    let form = parse(b"a%00b[c]=1");
    assert_eq!(value(&form, &["a"]), Some("1"));
    assert_eq!(form.anomalies[0].code(), "key_rewritten");
}

#[test]
fn later_duplicates_win_and_earlier_values_are_kept() {
    let form = parse(b"a=1&a=2");
    assert_eq!(value(&form, &["a"]), Some("2"));
    assert_eq!(
        form.anomalies,
        vec![Anomaly::Replaced {
            key: "a".into(),
            earlier: Node::from("1")
        }]
    );
    // A value, then an object at the same key: the object wins.
    let form = parse(b"a=1&a[b]=2");
    assert_eq!(value(&form, &["a", "b"]), Some("2"));
    assert_eq!(
        form.anomalies,
        vec![Anomaly::Replaced {
            key: "a".into(),
            earlier: Node::from("1")
        }]
    );
    // An object, then a value: the value wins.
    let form = parse(b"a[b]=2&a=1");
    assert_eq!(value(&form, &["a"]), Some("1"));
    assert_eq!(
        form.anomalies,
        vec![Anomaly::Replaced {
            key: "a".into(),
            earlier: Node::Map(NodeMap::from_iter([("b", "2")]))
        }]
    );
    let form = parse(b"a[b][c]=1&a[b]=2&a[d]=3");
    assert_eq!(value(&form, &["a", "b"]), Some("2"));
    assert_eq!(value(&form, &["a", "d"]), Some("3"));
    assert_eq!(form.anomalies[0].code(), "replaced");
    // A replaced key keeps its place in body order.
    let form = parse(b"x=1&y=2&x=3");
    assert_eq!(form.tree.keys().collect::<Vec<_>>(), ["x", "y"]);
    // `[]` always appends, so it never replaces.
    let form = parse(b"a[]=1&a[]=2&a[]=3");
    assert!(form.anomalies.is_empty());
    assert_eq!(value(&form, &["a", "2"]), Some("3"));
    // The account block follows the same rule: the last subdomain wins.
    let p = decode(b"account[subdomain]=evil&account[subdomain]=acme").expect("decodes");
    assert_eq!(p.account.subdomain, "acme");
    assert_eq!(p.anomalies.len(), 1);
}

#[test]
fn missing_or_invalid_account() {
    assert_eq!(err("leads[add][0][id]=1"), DecodeError::MissingAccount);
    assert_eq!(err("account[id]=1"), DecodeError::MissingAccount);
    assert_eq!(err(""), DecodeError::MissingAccount);
    assert_eq!(err("account=x").code(), "invalid_account");
    let e = err("account[subdomain]=a&account[id]=12x");
    assert_eq!(e.code(), "invalid_account");
    assert_eq!(
        e.to_string(),
        "webhook account block is invalid: account[id]: expected a number, found `12x`"
    );
    assert_eq!(err("account[subdomain][x]=a").code(), "invalid_account");
}

#[test]
fn codes_are_distinct_and_messages_say_what_is_wrong() {
    // Only the size limits and the account block reject a body.
    let errors = [
        err_with(
            b"aaaa",
            DecodeLimits {
                max_body_bytes: 1,
                ..Default::default()
            },
        ),
        err_with(
            b"a=1&b=2",
            DecodeLimits {
                max_pairs: 1,
                ..Default::default()
            },
        ),
        err_with(
            b"aaaa=1",
            DecodeLimits {
                max_key_bytes: 1,
                ..Default::default()
            },
        ),
        err_with(
            b"a=1111",
            DecodeLimits {
                max_value_bytes: 1,
                ..Default::default()
            },
        ),
        err("a=1"),
        err("account=1"),
    ];
    let mut codes: Vec<_> = errors.iter().map(DecodeError::code).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), errors.len(), "{codes:?}");
    assert_eq!(
        errors[0].to_string(),
        "webhook body is 4 bytes, more than the limit of 1 bytes"
    );
    // Bodies the old strict parser refused now parse.
    for body in ["a=%zz", "a=%ff", "a[=1", "a=1&a=1", "a=1&a[b]=1"] {
        assert!(
            decode(format!("{body}{ACCOUNT}").as_bytes()).is_ok(),
            "{body}"
        );
    }
}
