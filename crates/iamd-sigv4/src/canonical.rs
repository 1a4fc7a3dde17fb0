//! Canonical request construction (shared by the verifier and the signer).

use std::borrow::Cow;

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use iamd_text::percent::decode as percent_decode;
use iamd_text::percent::hex_value as hex_val;
use sha2::{Digest, Sha256};

/// The algorithm name of SigV4.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The payload hash value for an unsigned payload.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// The payload hash value for signed aws-chunked uploads.
pub const STREAMING_PAYLOAD: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
/// The payload hash value for signed aws-chunked uploads with a signed trailer.
pub const STREAMING_PAYLOAD_TRAILER: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
/// The payload hash value for unsigned aws-chunked uploads with a trailer.
pub const STREAMING_UNSIGNED_PAYLOAD_TRAILER: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
/// Hex SHA-256 of the empty string.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// How the canonical URI is formed from the raw request path.
///
/// AWS clients differ: botocore signs S3 paths exactly as sent and other services'
/// paths normalized and URI-encoded a second time; boto 2 re-encodes S3 paths after
/// decoding them. The verifier therefore tries a primary style and one fallback (see
/// [`UriMode`]); the signer uses the primary style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathStyle {
    /// The raw path exactly as sent (S3, botocore and the AWS SDKs).
    AsSent,
    /// Each `/`-separated segment percent-decoded and re-encoded once with the
    /// RFC 3986 unreserved set (boto 2's S3 signer, hand-written clients).
    Reencoded,
    /// Dot segments and empty segments removed, then the whole path URI-encoded
    /// again, so `%` becomes `%25` (botocore and the SDKs for every service but S3).
    NormalizedDouble,
    /// Dot segments and empty segments removed, then each segment decoded and
    /// re-encoded once (boto 2 for non-S3 services; AWS's test-suite "normalize" cases).
    NormalizedSingle,
}

/// Which canonical URI forms a request may be verified against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UriMode {
    /// `S3` when the credential scope's service is `s3`, else `Normalize`.
    #[default]
    Auto,
    /// [`PathStyle::AsSent`], falling back to [`PathStyle::Reencoded`].
    S3,
    /// [`PathStyle::NormalizedDouble`], falling back to [`PathStyle::NormalizedSingle`].
    Normalize,
    /// Exactly this style, no fallback.
    Only(PathStyle),
}

impl UriMode {
    pub(crate) fn styles(self, service: &str) -> (PathStyle, Option<PathStyle>) {
        match self {
            UriMode::Auto if service == "s3" => (PathStyle::AsSent, Some(PathStyle::Reencoded)),
            UriMode::Auto | UriMode::Normalize => (
                PathStyle::NormalizedDouble,
                Some(PathStyle::NormalizedSingle),
            ),
            UriMode::S3 => (PathStyle::AsSent, Some(PathStyle::Reencoded)),
            UriMode::Only(s) => (s, None),
        }
    }
}

#[inline]
pub(crate) fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// The digit of `table` for the low four bits of `n`. The index is below 16, so the lookup
/// never misses (and its bounds check compiles away).
#[inline]
fn hex_digit(table: &[u8; 16], n: u8) -> u8 {
    table.get(usize::from(n & 0x0f)).copied().unwrap_or(b'0')
}

/// AWS `UriEncode`: every byte outside the unreserved set (and outside `/` when
/// `keep_slash`) becomes `%XX` with uppercase hex.
pub(crate) fn uri_encode_into(out: &mut Vec<u8>, input: &[u8], keep_slash: bool) {
    for &b in input {
        if is_unreserved(b) || (keep_slash && b == b'/') {
            out.push(b);
        } else {
            out.push(b'%');
            out.push(hex_digit(HEX_UPPER, b >> 4));
            out.push(hex_digit(HEX_UPPER, b));
        }
    }
}

/// botocore's `remove_dot_segments`: drops empty and `.` segments, resolves `..`,
/// keeps a leading `/` and (if anything is left) a trailing `/`.
fn normalize_path(path: &[u8]) -> Vec<u8> {
    if path.is_empty() {
        return b"/".to_vec();
    }
    let mut segs: Vec<&[u8]> = Vec::new();
    for seg in path.split(|&b| b == b'/') {
        match seg {
            b"" | b"." => {}
            b".." => {
                segs.pop();
            }
            s => segs.push(s),
        }
    }
    let mut out = Vec::with_capacity(path.len() + 1);
    if path.first() == Some(&b'/') {
        out.push(b'/');
    }
    for (i, s) in segs.iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(s);
    }
    if path.last() == Some(&b'/') && !segs.is_empty() {
        out.push(b'/');
    }
    if out.is_empty() {
        out.push(b'/');
    }
    out
}

fn reencode_segments(out: &mut Vec<u8>, path: &[u8]) {
    for (i, seg) in path.split(|&b| b == b'/').enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        uri_encode_into(out, &percent_decode(seg, false), false);
    }
}

/// Appends the canonical URI of `raw_path` in `style`.
pub(crate) fn canonical_uri_into(out: &mut Vec<u8>, raw_path: &str, style: PathStyle) {
    let raw = raw_path.as_bytes();
    match style {
        PathStyle::AsSent => {
            if raw.is_empty() {
                out.push(b'/');
            } else {
                out.extend_from_slice(raw);
            }
        }
        PathStyle::Reencoded => {
            if raw.is_empty() {
                out.push(b'/');
            } else {
                reencode_segments(out, raw);
            }
        }
        PathStyle::NormalizedDouble => uri_encode_into(out, &normalize_path(raw), true),
        PathStyle::NormalizedSingle => reencode_segments(out, &normalize_path(raw)),
    }
}

/// One query parameter, decoded (with `+` kept literally).
#[derive(Debug, Clone)]
pub(crate) struct QueryParam<'a> {
    pub(crate) raw_name: &'a str,
    pub(crate) raw_value: &'a str,
    pub(crate) name: Cow<'a, [u8]>,
    pub(crate) value: Cow<'a, [u8]>,
}

pub(crate) fn parse_query(raw: &str) -> Vec<QueryParam<'_>> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            QueryParam {
                raw_name: n,
                raw_value: v,
                name: percent_decode(n.as_bytes(), false),
                value: percent_decode(v.as_bytes(), false),
            }
        })
        .collect()
}

/// Appends the canonical query string. `plus_as_space` selects how a literal `+` is
/// read; `skip_signature` drops `X-Amz-Signature` (presigned requests).
pub(crate) fn canonical_query_into(
    out: &mut Vec<u8>,
    params: &[QueryParam<'_>],
    plus_as_space: bool,
    skip_signature: bool,
) {
    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(params.len());
    for p in params {
        if skip_signature && p.name.as_ref() == b"X-Amz-Signature" {
            continue;
        }
        let (name, value) = if plus_as_space {
            (
                percent_decode(p.raw_name.as_bytes(), true),
                percent_decode(p.raw_value.as_bytes(), true),
            )
        } else {
            (
                Cow::Borrowed(p.name.as_ref()),
                Cow::Borrowed(p.value.as_ref()),
            )
        };
        let mut n = Vec::with_capacity(name.len() + 8);
        uri_encode_into(&mut n, &name, false);
        let mut v = Vec::with_capacity(value.len() + 8);
        uri_encode_into(&mut v, &value, false);
        pairs.push((n, v));
    }
    pairs.sort_unstable();
    for (i, (n, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        out.extend_from_slice(n);
        out.push(b'=');
        out.extend_from_slice(v);
    }
}

/// Appends `value` trimmed with internal whitespace runs collapsed to one space.
fn push_trimmed(out: &mut Vec<u8>, value: &[u8]) {
    let mut first = true;
    for word in value
        .split(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .filter(|w| !w.is_empty())
    {
        if !first {
            out.push(b' ');
        }
        out.extend_from_slice(word);
        first = false;
    }
}

/// Appends the canonical headers block (each line `name:value\n`) for `signed`.
pub(crate) fn canonical_headers_into<'h, I>(out: &mut Vec<u8>, headers: &[(&str, &[u8])], signed: I)
where
    I: Iterator<Item = &'h str>,
{
    for name in signed {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        let mut first = true;
        for (_, v) in headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)) {
            if !first {
                out.push(b',');
            }
            push_trimmed(out, v);
            first = false;
        }
        out.push(b'\n');
    }
}

/// Hex encoding (lowercase).
pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    push_hex(&mut s, bytes);
    s
}

/// Appends lowercase hex.
pub(crate) fn push_hex(s: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    s.reserve(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(hex_digit(HEX, b >> 4)));
        s.push(char::from(hex_digit(HEX, b)));
    }
}

/// Decodes 64 hex digits (either case) into 32 bytes.
pub(crate) fn decode_hex32(s: &str) -> Option<[u8; 32]> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        let h = hex_val(*b.get(2 * i)?)?;
        let l = hex_val(*b.get(2 * i + 1)?)?;
        *o = (h << 4) | l;
    }
    Some(out)
}

pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

pub(crate) fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    hmac_keyed(&keyed(key), data)
}

/// HMAC-SHA256 keyed with `key`: the inner and outer pads already hashed (two SHA-256
/// blocks), so that a signing key used for many requests pays for them once.
pub(crate) type KeyedMac = Hmac<Sha256>;

pub(crate) fn keyed(key: &[u8]) -> KeyedMac {
    // HMAC accepts keys of any length, so this never fails in practice; a failure
    // yields the MAC of an empty key, which matches no signature made with the key.
    <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()))
}

/// The HMAC of `data` under a [`keyed`] state.
pub(crate) fn hmac_keyed(mac: &KeyedMac, data: &[u8]) -> [u8; 32] {
    let mut m = mac.clone();
    m.update(data);
    m.finalize().into_bytes().into()
}

/// The SigV4 signing key: `HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request")`.
pub(crate) fn derive_signing_key(
    secret: &[u8],
    date: &str,
    region: &str,
    service: &str,
) -> [u8; 32] {
    let mut k = Vec::with_capacity(secret.len() + 4);
    k.extend_from_slice(b"AWS4");
    k.extend_from_slice(secret);
    let k_date = hmac(&k, date.as_bytes());
    // Best effort: do not leave the secret copy lying around.
    k.iter_mut().for_each(|b| *b = 0);
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

/// Builds the string to sign for a canonical request.
pub(crate) fn string_to_sign(timestamp: &str, scope: &str, canonical_request: &[u8]) -> String {
    let mut s = String::with_capacity(64 + timestamp.len() + scope.len() + 64);
    s.push_str(ALGORITHM);
    s.push('\n');
    s.push_str(timestamp);
    s.push('\n');
    s.push_str(scope);
    s.push('\n');
    push_hex(&mut s, &sha256(canonical_request));
    s
}

/// Everything needed to build a canonical request.
pub(crate) struct CanonicalInput<'a, 'h> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) query: &'a [QueryParam<'a>],
    pub(crate) headers: &'a [(&'h str, &'h [u8])],
    pub(crate) signed_headers: &'a str,
    pub(crate) skip_signature_param: bool,
}

pub(crate) fn canonical_request(
    input: &CanonicalInput<'_, '_>,
    style: PathStyle,
    plus_as_space: bool,
    payload_hash: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + input.path.len());
    out.extend_from_slice(input.method.as_bytes());
    out.push(b'\n');
    canonical_uri_into(&mut out, input.path, style);
    out.push(b'\n');
    canonical_query_into(
        &mut out,
        input.query,
        plus_as_space,
        input.skip_signature_param,
    );
    out.push(b'\n');
    canonical_headers_into(
        &mut out,
        input.headers,
        input.signed_headers.split(';').filter(|s| !s.is_empty()),
    );
    out.push(b'\n');
    out.extend_from_slice(input.signed_headers.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload_hash.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(p: &str, s: PathStyle) -> String {
        let mut v = Vec::new();
        canonical_uri_into(&mut v, p, s);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn uri_styles() {
        assert_eq!(uri("", PathStyle::AsSent), "/");
        assert_eq!(uri("/a%2fb/~c", PathStyle::AsSent), "/a%2fb/~c");
        assert_eq!(uri("/a%2fb/%7Ec d", PathStyle::Reencoded), "/a%2Fb/~c%20d");
        assert_eq!(
            uri(
                "/test/@connections/JBDvjfGEIAMCERw%3D",
                PathStyle::NormalizedDouble
            ),
            "/test/%40connections/JBDvjfGEIAMCERw%253D"
        );
        assert_eq!(uri("//example//", PathStyle::NormalizedDouble), "/example/");
        assert_eq!(uri("/a/b/../..", PathStyle::NormalizedDouble), "/");
        assert_eq!(uri("/./", PathStyle::NormalizedDouble), "/");
        assert_eq!(uri("/a/./b/", PathStyle::NormalizedSingle), "/a/b/");
        assert_eq!(
            uri("/example%20space/", PathStyle::NormalizedSingle),
            "/example%20space/"
        );
    }

    #[test]
    fn query() {
        let p = parse_query("b=2&a=1&a=0&c&d=x+y%20z&X-Amz-Signature=abc");
        let mut out = Vec::new();
        canonical_query_into(&mut out, &p, false, true);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a=0&a=1&b=2&c=&d=x%2By%20z"
        );
        let mut out = Vec::new();
        canonical_query_into(&mut out, &p, true, false);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "X-Amz-Signature=abc&a=0&a=1&b=2&c=&d=x%20y%20z"
        );
    }

    #[test]
    fn headers() {
        let h: Vec<(&str, &[u8])> = vec![
            ("Host", b"example.com"),
            ("My-Header", b"  a   b  "),
            ("my-header", b"c\n  d"),
        ];
        let mut out = Vec::new();
        canonical_headers_into(&mut out, &h, ["host", "my-header"].into_iter());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "host:example.com\nmy-header:a b,c d\n"
        );
    }

    #[test]
    fn signing_key_matches_aws_doc_example() {
        // From the AWS General Reference "Examples of how to derive a signing key".
        let k = derive_signing_key(
            b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20120215",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex_lower(&k),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn hex() {
        let h = sha256(b"");
        assert_eq!(hex_lower(&h), EMPTY_SHA256);
        assert_eq!(decode_hex32(EMPTY_SHA256), Some(h));
        assert_eq!(decode_hex32(&EMPTY_SHA256.to_uppercase()), Some(h));
        assert_eq!(decode_hex32("zz"), None);
    }
}
