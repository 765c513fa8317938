//! The time zone dates are shown in: the account's (amoCRM's
//! `datetime_settings.timezone`, kept in the store's binding), so an export
//! made on a laptop in another country says what the office's clock said;
//! this computer's when the account's is unknown (an old store, a zone name
//! the time zone database does not know), which the views say.

use chrono::{NaiveDate, NaiveDateTime};
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// A resolved zone and whether it is the account's.
#[derive(Debug, Clone)]
pub struct AccountZone {
    tz: TimeZone,
    /// The account's IANA name, when it resolved.
    account: Option<String>,
}

impl AccountZone {
    /// The account's zone `name` (IANA, e.g. `Asia/Tbilisi`), else this
    /// computer's.
    pub fn of(name: Option<&str>) -> AccountZone {
        let name = name.map(str::trim).filter(|n| !n.is_empty());
        match name.map(|n| (n, TimeZone::get(n))) {
            Some((n, Ok(tz))) => AccountZone {
                tz,
                account: Some(n.to_owned()),
            },
            Some((n, Err(e))) => {
                tracing::warn!(zone = n, error = %e, "the account's time zone is unknown here; dates use this computer's");
                AccountZone::computer()
            }
            None => AccountZone::computer(),
        }
    }

    /// This computer's zone (UTC when even that is unknown).
    pub fn computer() -> AccountZone {
        AccountZone {
            tz: TimeZone::try_system().unwrap_or(TimeZone::UTC),
            account: None,
        }
    }

    /// The account's IANA name, `None` when dates fall back to this
    /// computer's zone.
    pub fn account_name(&self) -> Option<&str> {
        self.account.as_deref()
    }

    /// The wall-clock time of unix seconds `ts` in this zone.
    pub fn naive(&self, ts: i64) -> Option<NaiveDateTime> {
        let civil = Timestamp::from_second(ts).ok()?.to_zoned(self.tz.clone());
        let dt = civil.datetime();
        NaiveDate::from_ymd_opt(dt.year().into(), dt.month() as u32, dt.day() as u32)?.and_hms_opt(
            dt.hour() as u32,
            dt.minute() as u32,
            dt.second() as u32,
        )
    }

    /// `YYYY-MM-DD` (or `YYYY-MM-DD HH:MM`) of unix seconds in this zone.
    pub fn date_text(&self, ts: i64, with_time: bool) -> String {
        let fmt = if with_time {
            "%Y-%m-%d %H:%M"
        } else {
            "%Y-%m-%d"
        };
        self.naive(ts)
            .map_or_else(|| ts.to_string(), |d| d.format(fmt).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_zone_is_used_whatever_the_computer_says() {
        // 2025-11-21 13:30 UTC is 17:30 in Tbilisi (+04:00, no DST) and
        // 16:30 in Moscow (+03:00).
        let tbilisi = AccountZone::of(Some("Asia/Tbilisi"));
        assert_eq!(tbilisi.account_name(), Some("Asia/Tbilisi"));
        assert_eq!(tbilisi.date_text(1_763_731_800, true), "2025-11-21 17:30");
        let moscow = AccountZone::of(Some(" Europe/Moscow "));
        assert_eq!(moscow.date_text(1_763_731_800, true), "2025-11-21 16:30");
        // Near midnight the date itself moves: 22:00 UTC is the next day.
        assert_eq!(tbilisi.date_text(1_763_762_400, false), "2025-11-22");
    }

    #[test]
    fn an_unknown_zone_falls_back_to_the_computer_and_says_so() {
        for name in [None, Some(""), Some("Mars/Olympus_Mons")] {
            let zone = AccountZone::of(name);
            assert_eq!(zone.account_name(), None, "{name:?}");
            let computer = AccountZone::computer();
            assert_eq!(zone.naive(1_763_731_800), computer.naive(1_763_731_800));
        }
    }
}
