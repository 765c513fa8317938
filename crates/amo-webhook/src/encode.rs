//! Encoding a payload back into a form body (PHP `http_build_query` style),
//! mainly for round-trip tests and for tools that replay webhooks.

use crate::events::{WebhookPayload, payload_tree};
use crate::tree::{Node, NodeMap};

/// Encodes `payload` as an `application/x-www-form-urlencoded` body in the
/// shape amoCRM sends: bracket keys percent-encoded (`leads%5Bupdate%5D%5B0%5D%5Bid%5D=1`),
/// space as `+`, lists indexed `0`, `1`, …, the account block last.
///
/// Events are grouped by entity and action, as a form body cannot interleave
/// them; a payload that [`decode`](crate::decode) produced encodes to a body
/// that decodes to an equal payload. [`WebhookPayload::errors`] are not
/// encoded.
pub fn encode(payload: &WebhookPayload) -> String {
    encode_tree(&payload_tree(payload))
}

/// Encodes a bracket-key tree as a form body.
pub fn encode_tree(tree: &NodeMap) -> String {
    let mut out = String::new();
    let mut key = String::new();
    for (k, node) in tree.iter() {
        key.clear();
        push_encoded(&mut key, k);
        write_node(&mut out, &mut key, node);
    }
    out
}

/// Writes every leaf under `node`; recursion is as deep as the tree, which
/// decoding bounds by [`DecodeLimits::max_depth`](crate::DecodeLimits).
fn write_node(out: &mut String, key: &mut String, node: &Node) {
    match node {
        Node::Value(v) => {
            if !out.is_empty() {
                out.push('&');
            }
            out.push_str(key);
            out.push('=');
            push_encoded(out, v);
        }
        Node::Map(m) => {
            let len = key.len();
            for (k, child) in m.iter() {
                key.push_str("%5B");
                push_encoded(key, k);
                key.push_str("%5D");
                write_node(out, key, child);
                key.truncate(len);
            }
        }
    }
}

/// PHP `urlencode`: `A-Z a-z 0-9 - _ .` as they are, space as `+`, every
/// other byte as `%XX`.
fn push_encoded(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => out.push(char::from(b)),
            b' ' => out.push('+'),
            b => {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xF)]));
            }
        }
    }
}
