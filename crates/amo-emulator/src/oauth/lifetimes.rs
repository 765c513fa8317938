//! How long OAuth grants live: access token 24 h, code 20 minutes, refresh
//! token 3 months (amocrm.md §2), all adjustable so tests need not wait.

use serde::{Deserialize, Serialize};

use crate::model::Timestamp;

/// Longest lifetime any grant may be given: ten years.
pub const MAX_TTL_SECS: u64 = 10 * 365 * 86_400;

/// Lifetimes of OAuth grants, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthLifetimes {
    /// Access tokens (`expires_in` of the token answer); default 86 400.
    pub access_ttl_secs: u64,
    /// Authorization codes; default 1 200.
    pub code_ttl_secs: u64,
    /// Refresh tokens, counted from their issue; default 90 days.
    pub refresh_ttl_secs: u64,
}

impl Default for OAuthLifetimes {
    fn default() -> Self {
        OAuthLifetimes {
            access_ttl_secs: 86_400,
            code_ttl_secs: 1_200,
            refresh_ttl_secs: 90 * 86_400,
        }
    }
}

/// A partial update of [`OAuthLifetimes`] (`POST /_emulator/oauth/config`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthLifetimesPatch {
    pub access_ttl_secs: Option<u64>,
    pub code_ttl_secs: Option<u64>,
    pub refresh_ttl_secs: Option<u64>,
}

impl OAuthLifetimes {
    fn fields(&self) -> [(&'static str, u64); 3] {
        [
            ("access_ttl_secs", self.access_ttl_secs),
            ("code_ttl_secs", self.code_ttl_secs),
            ("refresh_ttl_secs", self.refresh_ttl_secs),
        ]
    }

    /// Every lifetime must be 1 s ..= ten years; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        for (name, secs) in self.fields() {
            if !(1..=MAX_TTL_SECS).contains(&secs) {
                return Err(format!(
                    "{name} must be between 1 and {MAX_TTL_SECS} seconds, got {secs}"
                ));
            }
        }
        Ok(())
    }

    /// The same lifetimes, each brought into 1 s ..= ten years.
    pub fn clamped(self) -> Self {
        let c = |s: u64| s.clamp(1, MAX_TTL_SECS);
        OAuthLifetimes {
            access_ttl_secs: c(self.access_ttl_secs),
            code_ttl_secs: c(self.code_ttl_secs),
            refresh_ttl_secs: c(self.refresh_ttl_secs),
        }
    }

    pub fn apply(&mut self, patch: OAuthLifetimesPatch) {
        self.access_ttl_secs = patch.access_ttl_secs.unwrap_or(self.access_ttl_secs);
        self.code_ttl_secs = patch.code_ttl_secs.unwrap_or(self.code_ttl_secs);
        self.refresh_ttl_secs = patch.refresh_ttl_secs.unwrap_or(self.refresh_ttl_secs);
    }
}

/// `now + secs` on the emulator clock, saturating.
pub fn after(now: Timestamp, secs: u64) -> Timestamp {
    now.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_field_and_clamping_fixes_it() {
        assert_eq!(OAuthLifetimes::default().validate(), Ok(()));
        let mut l = OAuthLifetimes::default();
        l.apply(OAuthLifetimesPatch {
            code_ttl_secs: Some(0),
            ..Default::default()
        });
        assert_eq!(l.access_ttl_secs, 86_400);
        let err = l.validate().err().unwrap_or_default();
        assert!(err.contains("code_ttl_secs"), "{err}");
        assert_eq!(l.clamped().code_ttl_secs, 1);
        l.refresh_ttl_secs = u64::MAX;
        assert!(l.validate().is_err());
        assert_eq!(l.clamped().refresh_ttl_secs, MAX_TTL_SECS);
        assert_eq!(after(10, 5), 15);
        assert_eq!(after(10, u64::MAX), i64::MAX);
    }
}
