//! Typed condition values: decimal numbers, dates, IP ranges, base64, booleans. All request-side
//! parsers are allocation-free.

use std::cmp::Ordering;
use std::net::IpAddr;

use iamd_text::date::days_from_civil;

/// A decimal number kept as digit slices; compares exactly at any size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal<'a> {
    neg: bool,
    /// integer digits without leading zeros
    int: &'a str,
    /// fraction digits without trailing zeros
    frac: &'a str,
}

/// Parse `[+-]?digits[.digits]` (also `.5` and `5.`). No exponents.
pub fn parse_decimal(s: &str) -> Option<Decimal<'_>> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, s.get(1..)?),
        Some(b'+') => (false, s.get(1..)?),
        _ => (false, s),
    };
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, f),
        None => (body, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let neg = neg && !(int.is_empty() && frac.is_empty());
    Some(Decimal { neg, int, frac })
}

impl Decimal<'_> {
    fn cmp_abs(&self, o: &Decimal<'_>) -> Ordering {
        self.int
            .len()
            .cmp(&o.int.len())
            .then_with(|| self.int.cmp(o.int))
            .then_with(|| self.frac.cmp(o.frac))
    }
    /// Total order.
    pub fn compare(&self, o: &Decimal<'_>) -> Ordering {
        match (self.neg, o.neg) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.cmp_abs(o),
            (true, true) => o.cmp_abs(self),
        }
    }
}

/// An instant: seconds since the Unix epoch and nanoseconds.
pub type Instant = (i64, u32);

fn num(s: &str, len: usize) -> Option<u32> {
    if s.len() != len || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parse a date value (docs/policy-semantics.md §3.4): integer epoch seconds,
/// or ISO-8601 `YYYY`, `YYYY-MM`,
/// `YYYY-MM-DD`, `YYYY-MM-DDThh:mm[:ss[.frac]]TZD` (`T`/`t`; TZD `Z`/`z`/`±hh[:mm]`, missing
/// zone = UTC).
pub fn parse_date(s: &str) -> Option<Instant> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && s.len() != 4 {
        let v: i64 = s.parse().ok()?;
        return Some((v, 0));
    }
    let (date, time) = match s.find(['T', 't']) {
        Some(i) => (s.get(..i)?, Some(s.get(i + 1..)?)),
        None => (s, None),
    };
    let mut dp = date.split('-');
    let y = num(dp.next()?, 4)?;
    let m = match dp.next() {
        Some(x) => num(x, 2)?,
        None => 1,
    };
    let d = match dp.next() {
        Some(x) => num(x, 2)?,
        None => 1,
    };
    if dp.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(i64::from(y), m, d) * 86_400;
    let mut nanos = 0u32;
    if let Some(t) = time {
        // split off zone
        let zpos = t.find(['Z', 'z', '+', '-']);
        let (clock, zone) = match zpos {
            Some(i) => (t.get(..i)?, t.get(i..)?),
            None => (t, ""),
        };
        let mut cp = clock.split(':');
        let hh = num(cp.next()?, 2)?;
        let mm = num(cp.next()?, 2)?;
        let mut ss = 0;
        if let Some(sec) = cp.next() {
            let (whole, frac) = match sec.split_once('.') {
                Some((w, f)) => (w, Some(f)),
                None => (sec, None),
            };
            ss = num(whole, 2)?;
            if let Some(f) = frac {
                if f.is_empty() || f.len() > 9 || !f.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let mut n: u32 = f.parse().ok()?;
                for _ in f.len()..9 {
                    n *= 10;
                }
                nanos = n;
            }
        }
        if cp.next().is_some() || hh > 23 || mm > 59 || ss > 60 {
            return None;
        }
        secs += i64::from(hh) * 3600 + i64::from(mm) * 60 + i64::from(ss);
        match zone {
            "" | "Z" | "z" => {}
            z => {
                let sign: i64 = if z.starts_with('-') { -1 } else { 1 };
                let body = z.get(1..)?;
                let (zh, zm) = match body.split_once(':') {
                    Some((h, m)) => (num(h, 2)?, num(m, 2)?),
                    None if body.len() == 4 => (num(body.get(..2)?, 2)?, num(body.get(2..)?, 2)?),
                    None => (num(body, 2)?, 0),
                };
                if zh > 23 || zm > 59 {
                    return None;
                }
                secs -= sign * (i64::from(zh) * 3600 + i64::from(zm) * 60);
            }
        }
    }
    Some((secs, nanos))
}

/// A CIDR range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

fn normalize(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// Parse `a.b.c.d[/n]` or an IPv6 address with optional `/n`.
pub fn parse_cidr(s: &str) -> Option<Cidr> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let ip: IpAddr = addr.trim().parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        Some(p) => {
            let p: u8 = p.trim().parse().ok()?;
            if p > max {
                return None;
            }
            p
        }
        None => max,
    };
    Some(Cidr { net: ip, prefix })
}

impl Cidr {
    /// Whether `ip` (a request address; IPv4-mapped IPv6 normalised to IPv4) is inside.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, normalize(ip)) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(self.prefix))
                };
                (u32::from(n) & mask) == (u32::from(a) & mask)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(self.prefix))
                };
                (u128::from(n) & mask) == (u128::from(a) & mask)
            }
            _ => false,
        }
    }
}

fn b64_val(c: u8) -> Option<u32> {
    Some(match c {
        b'A'..=b'Z' => u32::from(c - b'A'),
        b'a'..=b'z' => u32::from(c - b'a') + 26,
        b'0'..=b'9' => u32::from(c - b'0') + 52,
        b'+' | b'-' => 62,
        b'/' | b'_' => 63,
        _ => return None,
    })
}

/// Decode standard or URL-safe base64 (padding optional); calls `out` per byte.
pub fn base64_for_each(s: &str, mut out: impl FnMut(u8) -> bool) -> Option<()> {
    let t = s.trim_end_matches('=');
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &c in t.as_bytes() {
        acc = (acc << 6) | b64_val(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            let byte = u8::try_from((acc >> bits) & 0xFF).ok()?;
            if !out(byte) {
                return None;
            }
        }
    }
    Some(())
}

/// Decode base64 into a vector (policy side, compile time).
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut v = Vec::new();
    base64_for_each(s, |b| {
        v.push(b);
        true
    })?;
    Some(v)
}

/// `true`/`false`, case-insensitive.
pub fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        let c = |a: &str, b: &str| {
            parse_decimal(a)
                .unwrap()
                .compare(&parse_decimal(b).unwrap())
        };
        assert_eq!(c("10", "10.0"), Ordering::Equal);
        assert_eq!(c("-0", "0"), Ordering::Equal);
        assert_eq!(c("9", "10"), Ordering::Less);
        assert_eq!(c("-9", "-10"), Ordering::Greater);
        assert_eq!(c("1.05", "1.5"), Ordering::Less);
        assert_eq!(
            c(
                "123456789012345678901234567890",
                "123456789012345678901234567891"
            ),
            Ordering::Less
        );
        assert!(parse_decimal("abc").is_none());
        assert!(parse_decimal("").is_none());
        assert!(parse_decimal("1e3").is_none());
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-01T00:00:00Z"), Some((0, 0)));
        assert_eq!(parse_date("4102444800"), Some((4_102_444_800, 0)));
        assert_eq!(parse_date("2020-01-01"), parse_date("2020-01-01T00:00:00Z"));
        assert_eq!(
            parse_date("2020-01-01T01:00:00+01:00"),
            parse_date("2020-01-01T00:00:00Z")
        );
        assert_eq!(parse_date("2020-01-01t00:00:00.5z").unwrap().1, 500_000_000);
        assert_eq!(parse_date("2020"), parse_date("2020-01-01"));
        assert!(parse_date("x").is_none());
        assert!(parse_date("2020-13-01").is_none());
    }

    #[test]
    fn cidrs() {
        let c = parse_cidr("203.0.113.0/24").unwrap();
        assert!(c.contains("203.0.113.7".parse().unwrap()));
        assert!(c.contains("::ffff:203.0.113.7".parse().unwrap()));
        assert!(!c.contains("198.51.100.1".parse().unwrap()));
        assert!(!c.contains("2001:db8::1".parse().unwrap()));
        let c = parse_cidr("2001:db8::/32").unwrap();
        assert!(c.contains("2001:db8::1".parse().unwrap()));
        assert!(parse_cidr("0.0.0.0/0")
            .unwrap()
            .contains("1.2.3.4".parse().unwrap()));
        assert!(parse_cidr("1.2.3.4/33").is_none());
    }

    #[test]
    fn b64() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGVsbG8").unwrap(), b"hello");
        assert!(base64_decode("a$").is_none());
    }
}
