//! What AWS S3 checks at its front door, before it authenticates, and what s3s
//! would get wrong there:
//!
//! - the request header section (request line and header lines) is at most 8 KiB
//!   (`RequestHeaderSectionTooLarge`); user metadata (`x-amz-meta-*` names without
//!   the prefix, plus values) at most 2 KiB on a write (`MetadataTooLarge`);
//! - (the authentication shape — one mechanism, scope service `s3`, every `x-amz-*`
//!   header signed — is [`iamd_s3::precheck`]'s, run right after these);
//! - a `Range` header AWS ignores (malformed, several ranges, first > last) or whose
//!   numbers s3s cannot hold (beyond 2^63 - 1) is dropped or rewritten to what AWS
//!   answers, when it is not signed (a signed header cannot change without breaking
//!   the signature, and s3s parses it only after checking the signature).

use http::header::{HeaderMap, AUTHORIZATION, RANGE};
use http::request::Parts;
use http::{HeaderValue, Method};
use iamd_s3::Refusal;

/// AWS: `<MaxSizeAllowed>8192</MaxSizeAllowed>` for the request header section.
pub const MAX_HEADER_SECTION: usize = 8192;
/// AWS: "the user-defined metadata is limited to 2 KB in size".
pub const MAX_USER_METADATA: usize = 2048;

pub fn precheck(parts: &Parts) -> Option<Refusal> {
    if header_section_len(parts) > MAX_HEADER_SECTION {
        return Some(Refusal {
            status: 400,
            code: "RequestHeaderSectionTooLarge".into(),
            message: "Your request header section exceeds the maximum allowed size.".into(),
            extra: vec![("MaxSizeAllowed", MAX_HEADER_SECTION.to_string())],
        });
    }
    if (parts.method == Method::PUT || parts.method == Method::POST)
        && user_metadata_len(&parts.headers) > MAX_USER_METADATA
    {
        return Some(Refusal {
            status: 400,
            code: "MetadataTooLarge".into(),
            message: "Your metadata headers exceed the maximum allowed metadata size".into(),
            extra: Vec::new(),
        });
    }
    None
}

/// The request line and header lines as sent (CRLF-terminated), in bytes.
fn header_section_len(parts: &Parts) -> usize {
    let target = parts.uri.path_and_query().map_or(1, |p| p.as_str().len())
        + parts.uri.authority().map_or(0, |a| a.as_str().len() + 3)
        + parts.uri.scheme_str().map_or(0, str::len);
    let request_line = parts.method.as_str().len() + 1 + target + 1 + "HTTP/1.1\r\n".len();
    parts.headers.iter().fold(request_line, |n, (k, v)| {
        n.saturating_add(k.as_str().len() + 2 + v.len() + 2)
    })
}

fn user_metadata_len(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .filter_map(|(k, v)| {
            k.as_str()
                .strip_prefix("x-amz-meta-")
                .map(|name| name.len() + v.len())
        })
        .fold(0, usize::saturating_add)
}

/// AWS's reading of a GetObject/HeadObject `Range` header, as s3s can parse it.
#[derive(Debug, PartialEq, Eq)]
enum RangeFix {
    /// s3s reads it as AWS does.
    Keep,
    /// AWS ignores it: the whole object, 200.
    Drop,
    /// Same meaning in numbers s3s holds (it refuses positions beyond 2^63 - 1).
    Replace(String),
}

/// Applies [`RangeFix`] to an unsigned `Range` header of a GET or HEAD.
pub fn fix_range(parts: &mut Parts) {
    if parts.method != Method::GET && parts.method != Method::HEAD {
        return;
    }
    let mut values = parts.headers.get_all(RANGE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return;
    };
    let fix = range_fix(value.as_bytes());
    if fix == RangeFix::Keep || range_is_signed(parts) {
        return;
    }
    match fix {
        RangeFix::Keep => {}
        RangeFix::Drop => {
            parts.headers.remove(RANGE);
        }
        RangeFix::Replace(v) => {
            if let Ok(v) = HeaderValue::from_str(&v) {
                parts.headers.insert(RANGE, v);
            }
        }
    }
}

/// The largest position s3s accepts.
const MAX_POS: u64 = i64::MAX as u64;

fn range_fix(value: &[u8]) -> RangeFix {
    let Some(spec) = std::str::from_utf8(value)
        .ok()
        .and_then(|v| v.strip_prefix("bytes="))
    else {
        return RangeFix::Drop;
    };
    let Some((first, last)) = spec.split_once('-') else {
        return RangeFix::Drop;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    // A number too large for u64 is still a number; it only saturates.
    let num = |s: &str| s.parse::<u64>().unwrap_or(u64::MAX);
    match (first.is_empty(), last.is_empty()) {
        // bytes=-N: the last N bytes (s3s holds any u64 here).
        (true, false) if digits(last) => match last.parse::<u64>() {
            Ok(_) => RangeFix::Keep,
            Err(_) => RangeFix::Replace(format!("bytes=-{}", u64::MAX)),
        },
        // bytes=A-: from A to the end; A past the end is 416 InvalidRange.
        (false, true) if digits(first) => {
            if num(first) <= MAX_POS {
                RangeFix::Keep
            } else {
                RangeFix::Replace(format!("bytes={MAX_POS}-"))
            }
        }
        // bytes=A-B: AWS ignores B < A; B past the end means to the end.
        (false, false) if digits(first) && digits(last) => {
            let (a, b) = (num(first), num(last));
            if b < a || (a == u64::MAX && longer_number(first, last)) {
                RangeFix::Drop
            } else if b <= MAX_POS {
                RangeFix::Keep
            } else if a <= MAX_POS {
                RangeFix::Replace(format!("bytes={a}-"))
            } else {
                RangeFix::Replace(format!("bytes={MAX_POS}-"))
            }
        }
        _ => RangeFix::Drop,
    }
}

/// For two saturated numbers: is `a` > `b` in full precision?
fn longer_number(a: &str, b: &str) -> bool {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    (a.len(), a) > (b.len(), b)
}

/// Whether `range` is among the SigV4 signed headers (header or presigned query).
/// SigV2 never signs it; unreadable SigV4 authentication counts as signed (the header
/// is then left alone, and s3s refuses the request anyway).
fn range_is_signed(parts: &Parts) -> bool {
    let sigv2 = parts
        .headers
        .get(AUTHORIZATION)
        .is_some_and(|a| a.as_bytes().starts_with(b"AWS "));
    if sigv2 {
        return false;
    }
    let headers: Vec<(&str, &[u8])> = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_bytes()))
        .collect();
    let req = iamd_sigv4::RequestParts::new(
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query().unwrap_or(""),
        &headers,
    );
    match iamd_sigv4::parse(&req) {
        Ok(auth) => auth
            .signed_headers()
            .any(|h| h.eq_ignore_ascii_case("range")),
        Err(iamd_sigv4::SigError::MissingAuthenticationToken) => false,
        Err(_) => true,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parts(method: &str, uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut b = http::Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn range_as_aws_reads_it() {
        let r = |v: &str| range_fix(v.as_bytes());
        for keep in [
            "bytes=0-3",
            "bytes=5-",
            "bytes=-3",
            "bytes=0-9223372036854775807",
        ] {
            assert_eq!(r(keep), RangeFix::Keep, "{keep}");
        }
        for drop in [
            "garbage",
            "bytes=",
            "bytes=-",
            "bytes=5-3",
            "bytes=0-1,3-4",
            "bytes= 0-1",
            "bytes=a-b",
            "items=0-1",
            "bytes=99999999999999999999999-1",
        ] {
            assert_eq!(r(drop), RangeFix::Drop, "{drop}");
        }
        let to_end = "bytes=9223372036854775807-";
        for (value, replaced) in [
            ("bytes=0-99999999999999999999999", "bytes=0-"),
            ("bytes=7-18446744073709551615", "bytes=7-"),
            ("bytes=99999999999999999999999-", to_end),
            ("bytes=9223372036854775808-99999999999999999999999", to_end),
            (
                "bytes=99999999999999999999999-999999999999999999999999",
                to_end,
            ),
            (
                "bytes=-99999999999999999999999",
                "bytes=-18446744073709551615",
            ),
        ] {
            assert_eq!(r(value), RangeFix::Replace(replaced.into()), "{value}");
        }
    }

    /// The Range header after [`fix_range`].
    fn fixed(method: &str, uri: &str, headers: &[(&str, &str)]) -> Option<String> {
        let mut p = parts(method, uri, headers);
        fix_range(&mut p);
        p.headers
            .get(RANGE)
            .map(|v| v.to_str().unwrap().to_string())
    }

    #[test]
    fn a_signed_range_is_left_alone() {
        let sig = "0".repeat(64);
        let auth = format!("AWS4-HMAC-SHA256 Credential=AK/20240101/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-date, Signature={sig}");
        let junk = Some("junk".to_string());
        let date = ("x-amz-date", "20240101T000000Z");
        let signed = [("authorization", auth.as_str()), date, ("range", "junk")];
        assert_eq!(fixed("GET", "/b/k", &signed), junk);
        let presigned = |signed: &str| {
            format!("/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders={signed}&X-Amz-Signature={sig}")
        };
        assert_eq!(
            fixed("GET", &presigned("host%3Brange"), &[("range", "junk")]),
            junk
        );
        // Unreadable authentication: left alone (s3s refuses the request).
        let broken = "/b/k?X-Amz-SignedHeaders=host&X-Amz-Signature=00";
        assert_eq!(fixed("GET", broken, &[("range", "junk")]), junk);
        // Unsigned (presigned with host only, SigV2, anonymous): AWS's reading.
        assert_eq!(fixed("GET", &presigned("host"), &[("range", "junk")]), None);
        let v2 = [("authorization", "AWS AK:c2ln"), ("range", "junk")];
        assert_eq!(fixed("GET", "/b/k", &v2), None);
        assert_eq!(fixed("GET", "/b/k", &[("range", "junk")]), None);
        let huge = [("range", "bytes=0-99999999999999999999")];
        assert_eq!(fixed("HEAD", "/b/k", &huge), Some("bytes=0-".into()));
        // Only GetObject and HeadObject read Range.
        assert_eq!(fixed("PUT", "/b/k", &[("range", "junk")]), junk);
    }

    #[test]
    fn header_section_and_metadata_limits() {
        // "GET /b/k HTTP/1.1\r\n" is 19 bytes, "x-pad: " + value + "\r\n" 9 + n.
        let pad = |n: usize| "a".repeat(n);
        let p = parts("GET", "/b/k", &[("x-pad", &pad(MAX_HEADER_SECTION - 28))]);
        assert_eq!(header_section_len(&p), MAX_HEADER_SECTION);
        assert_eq!(precheck(&p), None);
        let p = parts("GET", "/b/k", &[("x-pad", &pad(MAX_HEADER_SECTION - 27))]);
        let r = precheck(&p).unwrap();
        assert_eq!(r.code, "RequestHeaderSectionTooLarge");
        assert_eq!(r.extra, vec![("MaxSizeAllowed", "8192".to_string())]);
        // 2 KiB of metadata: name "k" (1) + value.
        let p = parts("PUT", "/b/k", &[("x-amz-meta-k", &pad(2047))]);
        assert_eq!(precheck(&p), None);
        let p = parts("PUT", "/b/k", &[("x-amz-meta-k", &pad(2048))]);
        assert_eq!(precheck(&p).unwrap().code, "MetadataTooLarge");
        let p = parts("GET", "/b/k", &[("x-amz-meta-k", &pad(2048))]);
        assert_eq!(precheck(&p), None);
    }
}
