//! Raw bytes from the internet into the webhook decoder: it must never
//! panic, and whatever it reads without anomalies must survive
//! encode → decode unchanged. (A body PHP reads only by rewriting it — a
//! lossy UTF-8 value, a renamed key, a replaced duplicate — is accepted, but
//! its re-encoding is not promised to read back the same: the anomalies say
//! what was rewritten, and the raw body is what the event log keeps.)

#![no_main]

use amo_webhook::{DecodeLimits, decode, decode_with_limits, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(payload) = decode(data)
        && payload.anomalies.is_empty()
    {
        // Size limits apply to raw text, and encoding may grow it (a raw
        // byte becomes `%XX`), so the re-encoded body is read without them.
        let relaxed = DecodeLimits {
            max_body_bytes: usize::MAX,
            max_pairs: usize::MAX,
            max_key_bytes: usize::MAX,
            max_value_bytes: usize::MAX,
            ..DecodeLimits::default()
        };
        let body = encode(&payload);
        let again = match decode_with_limits(body.as_bytes(), &relaxed) {
            Ok(again) => again,
            Err(e) => panic!("re-encoded body was rejected: {e}\n{body}"),
        };
        assert_eq!(again.account, payload.account);
        assert_eq!(again.events, payload.events);
        assert!(again.errors.is_empty(), "{:?}", again.errors);
    }
    // Tight limits reach every limit check with small inputs.
    let tight = DecodeLimits {
        max_body_bytes: 4096,
        max_pairs: 16,
        max_depth: 3,
        max_key_bytes: 24,
        max_value_bytes: 32,
    };
    let _ = decode_with_limits(data, &tight);
});
