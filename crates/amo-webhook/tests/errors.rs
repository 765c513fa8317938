//! Every way a body is rejected: each a distinct error, none a panic.

use amo_webhook::{DecodeError, DecodeLimits, KeyProblem, PairPart, decode, decode_with_limits};

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

#[test]
fn too_deep() {
    // Real payloads use 7 bracket levels; the default allows 8.
    let seven = format!("leads[status][0][custom_fields][0][values][0][value]=1{ACCOUNT}");
    assert!(decode(seven.as_bytes()).is_ok());
    let nine = "a[1][2][3][4][5][6][7][8][9]=1";
    assert_eq!(
        err(nine),
        DecodeError::TooDeep {
            key: "a[1][2][3][4][5][6][7][8][9]".into(),
            limit: 8
        }
    );
    // A very deep key is cut off by the key length limit or the depth limit,
    // never by the stack.
    let deep = format!("a{}=1", "[x]".repeat(10_000));
    let limits = DecodeLimits {
        max_key_bytes: usize::MAX,
        ..Default::default()
    };
    assert_eq!(err_with(deep.as_bytes(), limits).code(), "too_deep");
    assert_eq!(err(&deep).code(), "key_too_long");
}

#[test]
fn invalid_percent_encoding() {
    assert_eq!(
        err("ab=%zz"),
        DecodeError::InvalidPercentEncoding { offset: 3 }
    );
    assert_eq!(
        err("ab=1%4"),
        DecodeError::InvalidPercentEncoding { offset: 4 }
    );
    assert_eq!(
        err("ab=1%"),
        DecodeError::InvalidPercentEncoding { offset: 4 }
    );
    assert_eq!(
        err("x=1&a%G1=2"),
        DecodeError::InvalidPercentEncoding { offset: 5 }
    );
    assert_eq!(err("a=%e2%82").code(), "invalid_utf8");
}

#[test]
fn invalid_utf8() {
    assert_eq!(
        err("x=1&a%FF=1"),
        DecodeError::InvalidUtf8 {
            offset: 4,
            part: PairPart::Key,
            key: "a%FF".into()
        }
    );
    assert_eq!(
        decode(b"x=1&a\xff=1").unwrap_err(),
        DecodeError::InvalidUtf8 {
            offset: 4,
            part: PairPart::Key,
            key: "a\\xff".into()
        }
    );
    assert_eq!(
        err("name=%D0"),
        DecodeError::InvalidUtf8 {
            offset: 0,
            part: PairPart::Value,
            key: "name".into()
        }
    );
    // Overlong encoding and a lone surrogate are not UTF-8 either.
    assert_eq!(err("a=%C0%AF").code(), "invalid_utf8");
    assert_eq!(err("a=%ED%A0%80").code(), "invalid_utf8");
}

#[test]
fn malformed_brackets() {
    let cases = [
        ("=1", KeyProblem::EmptyName),
        ("[a]=1", KeyProblem::EmptyName),
        ("a[b=1", KeyProblem::UnclosedBracket),
        ("a[b[c]]=1", KeyProblem::NestedBracket),
        ("a]=1", KeyProblem::UnexpectedCloseBracket),
        ("a[b]]=1", KeyProblem::UnexpectedCloseBracket),
        ("a[b]c=1", KeyProblem::TrailingText),
        ("a%5Bb=1", KeyProblem::UnclosedBracket),
    ];
    for (body, problem) in cases {
        match err(body) {
            DecodeError::MalformedKey {
                offset: 0,
                problem: p,
                ..
            } => assert_eq!(p, problem, "{body}"),
            other => panic!("{body}: {other:?}"),
        }
    }
}

#[test]
fn duplicate_and_conflicting_keys() {
    assert_eq!(
        err("a=1&a=2"),
        DecodeError::DuplicateKey { key: "a".into() }
    );
    assert_eq!(
        err("a[b]=1&a[b]=2"),
        DecodeError::DuplicateKey { key: "a[b]".into() }
    );
    assert_eq!(
        err("a=1&a[b]=2"),
        DecodeError::KeyConflict { key: "a[b]".into() }
    );
    assert_eq!(
        err("a[b]=1&a=2"),
        DecodeError::KeyConflict { key: "a".into() }
    );
    assert_eq!(
        err("a[b][c]=1&a[b]=2"),
        DecodeError::KeyConflict { key: "a[b]".into() }
    );
    // `[]` always appends, so it never duplicates.
    assert!(decode(format!("a[]=1&a[]=2&a[]=3{ACCOUNT}").as_bytes()).is_ok());
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
        err_with(
            b"a[b][c]=1",
            DecodeLimits {
                max_depth: 1,
                ..Default::default()
            },
        ),
        err("a=%zz"),
        err("a=%ff"),
        err("a[=1"),
        err("a=1&a=1"),
        err("a=1&a[b]=1"),
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
    assert_eq!(
        errors[5].to_string(),
        "invalid percent-encoding at byte 2: `%` must be followed by two hex digits"
    );
    assert_eq!(
        errors[7].to_string(),
        "malformed key `a[` at byte 0: a `[` is never closed"
    );
}
