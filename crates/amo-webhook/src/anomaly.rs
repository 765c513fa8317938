//! What PHP's parsing resolved silently, kept beside the payload.
//!
//! amoCRM's bodies are made for PHP's `parse_str`, which never rejects a
//! body: it lets a later key win, keeps broken escapes as text, mangles odd
//! key names and drops a few pairs. [`crate::parse_form`] does the same, and
//! records each such step here so nothing received is lost without a trace
//! (the raw body is stored besides).

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::error::PairPart;
use crate::tree::Node;

/// One step of PHP-style parsing that changed or dropped what was sent.
///
/// Offsets are byte offsets of the pair (or of the escape) in the body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Anomaly {
    /// A later pair wrote the same place again (a duplicate key, or a value
    /// where an object was, or the reverse): the later one wins, as in PHP;
    /// `earlier` is what it replaced.
    Replaced {
        /// The place, as a bracket key (`unsorted[update][0][source_data][date]`).
        key: String,
        /// The replaced value or object, as received.
        earlier: Node,
    },
    /// A `%` not followed by two hexadecimal digits, kept literally (PHP's
    /// `urldecode`).
    BrokenEscape {
        /// Offset of the first such `%` in the key or value.
        offset: usize,
        /// Which half of the pair.
        part: PairPart,
    },
    /// Bytes that are not UTF-8 once percent-decoded; the text holds U+FFFD
    /// in their place (the raw body keeps the bytes).
    InvalidUtf8 {
        /// Offset of the pair.
        offset: usize,
        /// Which half of the pair.
        part: PairPart,
    },
    /// The key was read as PHP reads it, which differs from how it was written
    /// (`a.b` → `a_b`, `a[b` → `a_b`, `a[b]c` → `a[b]`, leading spaces, text
    /// after a NUL byte).
    KeyRewritten {
        /// Offset of the pair.
        offset: usize,
        /// The decoded key as sent.
        sent: String,
        /// The key it was stored under.
        read_as: String,
    },
    /// A pair PHP ignores: an empty name (`=1`, `[a]=1`) or a name that only
    /// its rewriting made start with `__Host-` / `__Secure-`.
    Dropped {
        /// Offset of the pair.
        offset: usize,
        /// The decoded key as sent.
        key: String,
    },
    /// A key nested deeper than [`DecodeLimits::max_depth`](crate::DecodeLimits)
    /// (PHP's `max_input_nesting_level`): as in PHP the pair is dropped and the
    /// whole top-level variable it belongs to is removed.
    TooDeep {
        /// Offset of the pair.
        offset: usize,
        /// The top-level name that was removed.
        name: String,
        /// The limit in force.
        limit: usize,
        /// What the removed variable held, if anything.
        removed: Option<Node>,
    },
}

impl Anomaly {
    /// A stable, machine-readable code, e.g. `"replaced"`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Replaced { .. } => "replaced",
            Self::BrokenEscape { .. } => "broken_escape",
            Self::InvalidUtf8 { .. } => "invalid_utf8",
            Self::KeyRewritten { .. } => "key_rewritten",
            Self::Dropped { .. } => "dropped",
            Self::TooDeep { .. } => "too_deep",
        }
    }
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Replaced { key, .. } => write!(
                f,
                "`{key}` was written again; the later value wins, the earlier one is kept beside the payload"
            ),
            Self::BrokenEscape { offset, part } => write!(
                f,
                "{part} at byte {offset} has a `%` without two hex digits; kept as text"
            ),
            Self::InvalidUtf8 { offset, part } => write!(
                f,
                "{part} of the pair at byte {offset} is not UTF-8; read with U+FFFD in place of the bad bytes"
            ),
            Self::KeyRewritten {
                offset,
                sent,
                read_as,
            } => write!(
                f,
                "key `{}` at byte {offset} read as `{}` (PHP's rules)",
                sent.escape_debug(),
                read_as.escape_debug()
            ),
            Self::Dropped { offset, key } => write!(
                f,
                "pair at byte {offset} with key `{}` ignored, as PHP ignores it",
                key.escape_debug()
            ),
            Self::TooDeep {
                offset,
                name,
                limit,
                ..
            } => write!(
                f,
                "key at byte {offset} nests deeper than {limit} levels; `{}` removed, as PHP removes it",
                name.escape_debug()
            ),
        }
    }
}
