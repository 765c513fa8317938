//! Size limits applied while decoding a body.

/// Limits checked while a body is decoded.
///
/// The size limits bound memory and each has its own
/// [`DecodeError`](crate::DecodeError) variant, so a caller can tell which one
/// a body broke. `max_depth` rejects nothing: it is PHP's nesting rule (see
/// [`crate::parse_form`]). Lengths of keys and values are
/// measured on the *raw* (still percent-encoded) text, before any decoding,
/// so an oversized field is rejected without decoding it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest body accepted, in bytes. Default 1 MiB.
    pub max_body_bytes: usize,
    /// Largest number of `key=value` pairs. Default 50 000, so the body size,
    /// not the pair count, is what bounds a real bulk edit (~70 bytes a pair).
    pub max_pairs: usize,
    /// Largest number of bracket levels in one key, PHP's
    /// `max_input_nesting_level` (`leads[status][0][custom_fields][0][values][0][value]`
    /// has 7, amoCRM's deepest documented shape 10). A deeper key is dropped
    /// with its top-level variable, as PHP does, and noted as an
    /// [`Anomaly::TooDeep`](crate::Anomaly). Default 64.
    pub max_depth: usize,
    /// Longest raw key, in bytes. Default 256.
    pub max_key_bytes: usize,
    /// Longest raw value, in bytes. Default 128 KiB.
    pub max_value_bytes: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            max_pairs: 50_000,
            max_depth: 64,
            max_key_bytes: 256,
            max_value_bytes: 128 * 1024,
        }
    }
}
