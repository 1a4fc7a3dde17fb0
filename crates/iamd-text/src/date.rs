//! Proleptic-Gregorian civil dates and the fixed date formats of AWS requests. Instants
//! are seconds since the Unix epoch (UTC); no clock is read here.

/// Whether `y` is a leap year.
pub const fn is_leap_year(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Days in month `m` (1–12) of year `y`.
pub const fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if is_leap_year(y) {
                29
            } else {
                28
            }
        }
    }
}

/// Days since 1970-01-01 of the date `y`-`m`-`d` (Howard Hinnant's `days_from_civil`;
/// `m` 1–12; a day past the month's end counts on into the next).
pub const fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`]: `(year, month, day)` of a day since 1970-01-01.
pub const fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The decimal number in `b[start..start + len]`, all of it ASCII digits.
fn digits(b: &[u8], start: usize, len: usize) -> Option<i64> {
    let slice = b.get(start..start.checked_add(len)?)?;
    let mut v: i64 = 0;
    for &c in slice {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(v)
}

/// Hours, minutes and seconds: two digits each, at the offsets `at`.
fn clock(b: &[u8], at: [usize; 3]) -> Option<(i64, i64, i64)> {
    let [h, m, s] = at;
    Some((digits(b, h, 2)?, digits(b, m, 2)?, digits(b, s, 2)?))
}

/// Seconds since the epoch of a checked date and time of day (a leap second 60 counts
/// as 59); the year must have four digits.
fn instant(y: i64, mo: i64, d: i64, h: i64, mi: i64, se: i64) -> Option<i64> {
    if !(0..=9999).contains(&y) || !(1..=12).contains(&mo) {
        return None;
    }
    let m = u32::try_from(mo).ok()?;
    if d < 1 || d > i64::from(days_in_month(y, m)) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let days = days_from_civil(y, m, u32::try_from(d).ok()?);
    Some(days * 86_400 + h * 3600 + mi * 60 + se.min(59))
}

/// ISO 8601 basic format `YYYYMMDD'T'HHMMSS'Z'` (`X-Amz-Date`), strictly: seconds
/// since the epoch.
pub fn parse_iso_basic(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b.get(8) != Some(&b'T') || b.get(15) != Some(&b'Z') {
        return None;
    }
    let y = digits(b, 0, 4)?;
    let mo = digits(b, 4, 2)?;
    let d = digits(b, 6, 2)?;
    let (h, mi, se) = clock(b, [9, 11, 13])?;
    instant(y, mo, d, h, mi, se)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// An HTTP date in IMF-fixdate form (RFC 7231 section 7.1.1.1, `Sun, 06 Nov 1994 08:49:37 GMT`;
/// the day name is not checked): seconds since the epoch.
pub fn parse_imf_fixdate(s: &str) -> Option<i64> {
    let rest = s.split_once(", ").map(|(_, r)| r)?;
    let mut it = rest.split(' ');
    let d = it.next()?.parse::<i64>().ok()?;
    let mon = it.next()?;
    let y = it.next()?.parse::<i64>().ok()?;
    let hms = it.next()?;
    if it.next()? != "GMT" || it.next().is_some() {
        return None;
    }
    let mo = MONTHS.iter().position(|m| *m == mon)? as i64 + 1;
    let hb = hms.as_bytes();
    if hb.len() != 8 || hb.get(2) != Some(&b':') || hb.get(5) != Some(&b':') {
        return None;
    }
    let (h, mi, se) = clock(hb, [0, 3, 6])?;
    instant(y, mo, d, h, mi, se)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_day_roundtrips() {
        for day in -1000..30_000i64 {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
    }

    #[test]
    fn civil_roundtrip() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
            assert!((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m));
        }
    }

    #[test]
    fn known_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(1900, 2), 28);
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(2023, 4), 30);
    }

    #[test]
    fn iso_basic() {
        assert_eq!(parse_iso_basic("19700101T000000Z"), Some(0));
        assert_eq!(parse_iso_basic("20150830T123600Z"), Some(1_440_938_160));
        assert_eq!(parse_iso_basic("20240229T120000Z"), Some(1_709_208_000));
        assert_eq!(parse_iso_basic("20991231T235959Z"), Some(4_102_444_799));
        // A leap second counts as :59.
        assert_eq!(parse_iso_basic("20161231T235960Z"), Some(1_483_228_799));
        for bad in [
            "",
            "garbage",
            "20230229T000000Z",
            "20150830T126600Z",
            "20150830T243600Z",
            "20151330T123600Z",
            "20150800T123600Z",
            "2015-08-30T12:36:00Z",
            "20150830T123600",
            "20150830t123600Z",
            "2015083OT123600Z",
            "+0150830T123600Z",
        ] {
            assert_eq!(parse_iso_basic(bad), None, "{bad}");
        }
    }

    #[test]
    fn imf_fixdate() {
        assert_eq!(
            parse_imf_fixdate("Sun, 30 Aug 2015 12:36:00 GMT"),
            Some(1_440_938_160)
        );
        assert_eq!(
            parse_imf_fixdate("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        for bad in [
            "Sun, 30 Foo 2015 12:36:00 GMT",
            "Sun, 30 Aug 2015 12:36:00 UTC",
            "Sun, 30 Aug 2015 12:36:00 GMT x",
            "Sun, 31 Sep 2015 12:36:00 GMT",
            "Sun, 30 Aug 2015 12:36 GMT",
            "Sun 30 Aug 2015 12:36:00 GMT",
            "Sun, 30 Aug 99999999999999999 12:36:00 GMT",
            "Sun, 30 Aug -1 12:36:00 GMT",
        ] {
            assert_eq!(parse_imf_fixdate(bad), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn civil_roundtrips_over_wide_ranges(day in -100_000_000i64..100_000_000) {
            let (y, m, d) = civil_from_days(day);
            prop_assert_eq!(days_from_civil(y, m, d), day);
            prop_assert!((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m));
        }

        #[test]
        fn iso_basic_reads_what_is_written(secs in 0i64..253_402_300_800) {
            let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
            let sod = secs.rem_euclid(86_400);
            let text = format!(
                "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
                sod / 3600,
                (sod / 60) % 60,
                sod % 60
            );
            prop_assert_eq!(parse_iso_basic(&text), Some(secs));
            let month = MONTHS.get(m as usize - 1).unwrap();
            let http = format!(
                "Xyz, {d:02} {month} {y:04} {:02}:{:02}:{:02} GMT",
                sod / 3600,
                (sod / 60) % 60,
                sod % 60
            );
            prop_assert_eq!(parse_imf_fixdate(&http), Some(secs));
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,40}") {
            let _ = parse_iso_basic(&s);
            let _ = parse_imf_fixdate(&s);
        }
    }
}
