//! Minimal UTC date handling: ISO 8601 basic format (`20261128T101010Z`) and
//! IMF-fixdate (`Sat, 28 Nov 2026 10:10:10 GMT`). No clock is ever read here.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use iamd_text::date::{civil_from_days, parse_imf_fixdate, parse_iso_basic};

/// A UTC instant with one-second resolution, as carried by `X-Amz-Date`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AmzDate {
    secs: i64,
}

impl fmt::Debug for AmzDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AmzDate({self})")
    }
}

/// Formats as ISO 8601 basic, e.g. `20261128T101010Z`.
impl fmt::Display for AmzDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, mo, d) = civil_from_days(self.secs.div_euclid(86_400));
        let sod = self.secs.rem_euclid(86_400);
        write!(
            f,
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            y,
            mo,
            d,
            sod / 3600,
            (sod / 60) % 60,
            sod % 60
        )
    }
}

impl AmzDate {
    /// From seconds since the Unix epoch.
    pub fn from_unix(secs: i64) -> Self {
        AmzDate { secs }
    }

    /// From a `SystemTime` (sub-second part dropped; times before 1970 clamp to the epoch).
    pub fn from_system_time(t: SystemTime) -> Self {
        let secs = t
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        AmzDate { secs }
    }

    /// Seconds since the Unix epoch.
    pub fn unix(&self) -> i64 {
        self.secs
    }

    /// As a `SystemTime`.
    pub fn to_system_time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(u64::try_from(self.secs).unwrap_or(0))
    }

    /// The `YYYYMMDD` date part.
    pub fn date_stamp(&self) -> String {
        let (y, mo, d) = civil_from_days(self.secs.div_euclid(86_400));
        format!("{y:04}{mo:02}{d:02}")
    }

    /// Parses ISO 8601 basic format `YYYYMMDD'T'HHMMSS'Z'` strictly.
    pub fn parse_iso_basic(s: &str) -> Option<Self> {
        parse_iso_basic(s).map(Self::from_unix)
    }

    /// Parses an HTTP date in IMF-fixdate form (`Sun, 06 Nov 1994 08:49:37 GMT`), or ISO
    /// 8601 basic format (some clients put that into `Date`).
    pub fn parse_http_date(s: &str) -> Option<Self> {
        let s = s.trim();
        parse_iso_basic(s)
            .or_else(|| parse_imf_fixdate(s))
            .map(Self::from_unix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let d = AmzDate::parse_iso_basic("20150830T123600Z").unwrap();
        assert_eq!(d.unix(), 1_440_938_160);
        assert_eq!(d.to_string(), "20150830T123600Z");
        assert_eq!(d.date_stamp(), "20150830");
        let d = AmzDate::parse_iso_basic("20240229T235959Z").unwrap();
        assert_eq!(d.to_string(), "20240229T235959Z");
        assert!(AmzDate::parse_iso_basic("20230229T000000Z").is_none());
        assert!(AmzDate::parse_iso_basic("2015-08-30T12:36:00Z").is_none());
        assert!(AmzDate::parse_iso_basic("20150830T123600").is_none());
        assert!(AmzDate::parse_iso_basic("20150830T126600Z").is_none());
    }

    #[test]
    fn http_date() {
        let d = AmzDate::parse_http_date("Sun, 30 Aug 2015 12:36:00 GMT").unwrap();
        assert_eq!(d.to_string(), "20150830T123600Z");
        assert!(AmzDate::parse_http_date("Sun, 30 Foo 2015 12:36:00 GMT").is_none());
        assert!(AmzDate::parse_http_date("Sun, 30 Aug 2015 12:36:00 UTC").is_none());
    }
}
