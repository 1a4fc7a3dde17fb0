//! UTC timestamps with millisecond precision, ISO-8601 on the wire.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use iamd_text::date::days_in_month;
/// Civil-date arithmetic (days since 1970-01-01 ⇄ year, month, day).
pub use iamd_text::date::{civil_from_days, days_from_civil};

/// A UTC instant, milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    millis: i64,
}

/// Why a timestamp string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid ISO-8601 timestamp: {0}")]
pub struct TimestampParseError(pub String);

impl Timestamp {
    /// From milliseconds since the epoch.
    pub const fn from_millis(millis: i64) -> Self {
        Timestamp { millis }
    }

    /// From whole seconds since the epoch.
    pub const fn from_secs(secs: i64) -> Self {
        Timestamp {
            millis: secs.saturating_mul(1000),
        }
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(&self) -> i64 {
        self.millis
    }

    /// Whole seconds since the epoch (floor).
    pub const fn as_secs(&self) -> i64 {
        self.millis.div_euclid(1000)
    }

    /// The current time (clamped to the epoch if the clock is before it).
    pub fn now() -> Self {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Timestamp { millis: ms }
    }

    /// Appends `YYYY-MM-DDTHH:MM:SSZ` (seconds precision, as AWS IAM sends).
    pub fn write_iso8601(&self, out: &mut String) {
        let secs = self.as_secs();
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let mut buf = [0u8; 20];
        let y4 = y.clamp(0, 9999) as u32;
        let put2 = |b: &mut [u8], v: u32| {
            b[0] = b'0' + (v / 10) as u8;
            b[1] = b'0' + (v % 10) as u8;
        };
        put2(&mut buf[0..2], y4 / 100);
        put2(&mut buf[2..4], y4 % 100);
        buf[4] = b'-';
        put2(&mut buf[5..7], m);
        buf[7] = b'-';
        put2(&mut buf[8..10], d);
        buf[10] = b'T';
        put2(&mut buf[11..13], (sod / 3600) as u32);
        buf[13] = b':';
        put2(&mut buf[14..16], ((sod / 60) % 60) as u32);
        buf[16] = b':';
        put2(&mut buf[17..19], (sod % 60) as u32);
        buf[19] = b'Z';
        for &b in &buf {
            out.push(char::from(b));
        }
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn to_iso8601(&self) -> String {
        let mut s = String::with_capacity(20);
        self.write_iso8601(&mut s);
        s
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction][Z|±HH:MM|±HHMM]` (no zone means
    /// UTC; `t`/`z`/space accepted as by botocore's serializer and dateutil).
    /// Fractions beyond milliseconds are truncated.
    pub fn parse_iso8601(s: &str) -> Result<Self, TimestampParseError> {
        let err = || TimestampParseError(s.to_owned());
        let b = s.as_bytes();
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = b.get(r)?;
            let mut v = 0u32;
            for &c in part {
                if !c.is_ascii_digit() {
                    return None;
                }
                v = v * 10 + u32::from(c - b'0');
            }
            Some(v)
        };
        if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
            return Err(err());
        }
        if !matches!(b[10], b'T' | b't' | b' ') {
            return Err(err());
        }
        let y = num(0..4).ok_or_else(err)?;
        let mo = num(5..7).ok_or_else(err)?;
        let d = num(8..10).ok_or_else(err)?;
        let h = num(11..13).ok_or_else(err)?;
        let mi = num(14..16).ok_or_else(err)?;
        let se = num(17..19).ok_or_else(err)?;
        if !(1..=12).contains(&mo)
            || d == 0
            || d > days_in_month(i64::from(y), mo)
            || h > 23
            || mi > 59
            || se > 60
        {
            return Err(err());
        }
        let mut i = 19;
        let mut ms = 0u32;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                if i - start < 3 {
                    ms = ms * 10 + u32::from(b[i] - b'0');
                }
                i += 1;
            }
            if i == start {
                return Err(err());
            }
            for _ in (i - start)..3 {
                ms *= 10;
            }
        }
        let offset_secs: i64 = match b.get(i) {
            None => 0,
            Some(b'Z' | b'z') if i + 1 == b.len() => 0,
            Some(&c @ (b'+' | b'-')) => {
                let rest = &s[i + 1..];
                let (oh, om) = match rest.len() {
                    5 if rest.as_bytes()[2] == b':' => (num(i + 1..i + 3), num(i + 4..i + 6)),
                    4 => (num(i + 1..i + 3), num(i + 3..i + 5)),
                    2 => (num(i + 1..i + 3), Some(0)),
                    _ => (None, None),
                };
                let (oh, om) = (oh.ok_or_else(err)?, om.ok_or_else(err)?);
                if oh > 23 || om > 59 {
                    return Err(err());
                }
                let o = i64::from(oh * 3600 + om * 60);
                if c == b'+' {
                    o
                } else {
                    -o
                }
            }
            _ => return Err(err()),
        };
        let days = days_from_civil(i64::from(y), mo, d);
        let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + se) - offset_secs;
        Ok(Timestamp {
            millis: secs * 1000 + i64::from(ms),
        })
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_iso8601())
    }
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp::from_millis(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            Err(e) => {
                Timestamp::from_millis(-i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX))
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_aws() {
        assert_eq!(Timestamp::from_secs(0).to_iso8601(), "1970-01-01T00:00:00Z");
        assert_eq!(
            Timestamp::from_millis(1_295_726_547_999).to_iso8601(),
            "2011-01-22T20:02:27Z"
        );
        assert_eq!(
            Timestamp::from_secs(951_782_400).to_iso8601(),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(
            Timestamp::from_secs(-1).to_iso8601(),
            "1969-12-31T23:59:59Z"
        );
        assert_eq!(
            Timestamp::from_secs(4_102_444_799).to_iso8601(),
            "2099-12-31T23:59:59Z"
        );
    }

    #[test]
    fn parses() {
        let t = |s: &str| Timestamp::parse_iso8601(s).map(|t| t.as_millis());
        assert_eq!(t("2011-01-22T20:02:27Z"), Ok(1_295_726_547_000));
        assert_eq!(t("2011-01-22T20:02:27.5Z"), Ok(1_295_726_547_500));
        assert_eq!(t("2011-01-22T20:02:27.123456Z"), Ok(1_295_726_547_123));
        assert_eq!(t("2011-01-22T20:02:27"), Ok(1_295_726_547_000));
        assert_eq!(t("2011-01-22T21:02:27+01:00"), Ok(1_295_726_547_000));
        assert_eq!(t("2011-01-22T19:02:27-0100"), Ok(1_295_726_547_000));
        for bad in [
            "",
            "2011-01-22",
            "2011-13-01T00:00:00Z",
            "2011-02-29T00:00:00Z",
            "2011-01-22T20:02:27Q",
            "2011-01-22T20:02:27.Z",
            "2011-01-22X20:02:27Z",
            "2011-01-22T20:02:27+1",
            "20x1-01-22T20:02:27Z",
        ] {
            assert!(t(bad).is_err(), "{bad}");
        }
    }
}
