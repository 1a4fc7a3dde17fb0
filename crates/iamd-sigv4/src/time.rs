//! Minimal UTC date handling: ISO 8601 basic format (`20261128T101010Z`) and
//! IMF-fixdate (`Sat, 28 Nov 2026 10:10:10 GMT`). No clock is ever read here.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
        let b = s.as_bytes();
        if b.len() != 16 || b.get(8) != Some(&b'T') || b.get(15) != Some(&b'Z') {
            return None;
        }
        let y = digits(b, 0, 4)?;
        let mo = digits(b, 4, 2)?;
        let d = digits(b, 6, 2)?;
        let h = digits(b, 9, 2)?;
        let mi = digits(b, 11, 2)?;
        let se = digits(b, 13, 2)?;
        Self::from_parts(y, mo, d, h, mi, se)
    }

    /// Parses an HTTP date in IMF-fixdate form (`Sun, 06 Nov 1994 08:49:37 GMT`), or ISO
    /// 8601 basic format (some clients put that into `Date`).
    pub fn parse_http_date(s: &str) -> Option<Self> {
        let s = s.trim();
        if let Some(d) = Self::parse_iso_basic(s) {
            return Some(d);
        }
        // "Sun, 06 Nov 1994 08:49:37 GMT"
        let rest = s.split_once(", ").map(|(_, r)| r)?;
        let mut it = rest.split(' ');
        let d = it.next()?.parse::<i64>().ok()?;
        let mon = it.next()?;
        let y = it.next()?.parse::<i64>().ok()?;
        let hms = it.next()?;
        if it.next()? != "GMT" || it.next().is_some() {
            return None;
        }
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let mo = MONTHS.iter().position(|m| *m == mon)? as i64 + 1;
        let hb = hms.as_bytes();
        if hb.len() != 8 || hb.get(2) != Some(&b':') || hb.get(5) != Some(&b':') {
            return None;
        }
        let h = digits(hb, 0, 2)?;
        let mi = digits(hb, 3, 2)?;
        let se = digits(hb, 6, 2)?;
        Self::from_parts(y, mo, d, h, mi, se)
    }

    fn from_parts(y: i64, mo: i64, d: i64, h: i64, mi: i64, se: i64) -> Option<Self> {
        if !(1..=12).contains(&mo)
            || d < 1
            || d > days_in_month(y, mo)
            || h > 23
            || mi > 59
            || se > 60
        {
            return None;
        }
        let days = days_from_civil(y, mo, d);
        Some(AmzDate {
            secs: days * 86_400 + h * 3600 + mi * 60 + se.min(59),
        })
    }
}

fn digits(b: &[u8], start: usize, len: usize) -> Option<i64> {
    let slice = b.get(start..start + len)?;
    let mut v: i64 = 0;
    for &c in slice {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(v)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 {
                29
            } else {
                28
            }
        }
    }
}

// Howard Hinnant's civil date algorithms.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
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

    #[test]
    fn every_day_roundtrips() {
        for day in -1000..30_000i64 {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
    }
}
