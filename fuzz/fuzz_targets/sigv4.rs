//! SigV4 parsing, canonicalization and verification (iamd-sigv4).
//!
//! Input: one flag byte, then request text (see `iamd_fuzz::parse_http`).
//! flags & 7: URI mode; (flags >> 3) & 3: payload source; 0x20: also re-sign the
//! request with the fixed secret (scope service `s3`, or `iam` with 0x40; header
//! auth, or presigned with 0x80) and require that it verifies. Every parsed request is verified with the fixed secret at its own
//! timestamp, so a corpus entry signed with that secret runs the success paths too
//! (including the fuzz crate's aws-chunked decoder, `iamd_fuzz::chunked`, on its body,
//! built from the verified request's signature, time and scope).
//!
//! Invariants: parse and canonicalization are deterministic; a verified signature is
//! the one sent; a request never verifies eight days after its timestamp; what
//! `sign_headers`/`presign` produce for a plain request verifies; the chunked decoder
//! never yields more bytes than it was given and counts what it yields.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use iamd_fuzz::chunked::ChunkedDecoder;
use iamd_fuzz::{hex, parse_http, verbose, ACCESS_KEY, SECRET};
use iamd_sigv4::*;
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

fn cache() -> &'static SigningKeyCache {
    static C: OnceLock<SigningKeyCache> = OnceLock::new();
    C.get_or_init(|| SigningKeyCache::new(8))
}

fn uri_mode(flags: u8) -> UriMode {
    match flags & 7 {
        0 | 1 => UriMode::Auto,
        2 => UriMode::S3,
        3 => UriMode::Normalize,
        4 => UriMode::Only(PathStyle::AsSent),
        5 => UriMode::Only(PathStyle::Reencoded),
        6 => UriMode::Only(PathStyle::NormalizedDouble),
        _ => UriMode::Only(PathStyle::NormalizedSingle),
    }
}

fn at(t: AmzDate, plus_secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(t.unix()).unwrap_or(0) + plus_secs)
}

fn exercise_error(e: &SigError) {
    let _ = e.to_string();
    assert!((400..600).contains(&e.http_status()), "{e:?}");
    assert!((400..600).contains(&e.s3_http_status()), "{e:?}");
    assert!(!e.aws_code().is_empty() && !e.s3_code().is_empty());
    let _ = e.s3_message();
    let _ = e.diagnostics();
}

/// Feeds `body` through the decoder whole and in small pieces; both runs agree.
fn decode_chunked(parsed: &ParsedAuth<'_>, v: &Verified, body: &[u8]) {
    let decoder = || ChunkedDecoder::for_request(parsed, v, SECRET.as_bytes());
    let Some(mut whole) = decoder() else {
        return;
    };
    let mut out = Vec::new();
    let r = whole.feed(body, &mut out).and_then(|()| whole.finish());
    if verbose() {
        eprintln!("chunked: {r:?}, {} bytes", out.len());
    }
    assert!(out.len() <= body.len());
    assert_eq!(whole.decoded_len(), out.len() as u64);
    let Some(mut split) = decoder() else {
        unreachable!("decoder availability depends only on the payload kind")
    };
    let mut out2 = Vec::new();
    let mut r2 = Ok(());
    for piece in body.chunks(7) {
        r2 = split.feed(piece, &mut out2);
        if r2.is_err() {
            break;
        }
    }
    let r2 = r2.and_then(|()| split.finish());
    assert_eq!(r.is_ok(), r2.is_ok(), "{r:?} vs {r2:?}");
    if r.is_ok() {
        assert_eq!(out, out2);
        assert_eq!(whole.trailers(), split.trailers());
    }
}

fn check(req: &RequestParts<'_>, body: &[u8]) {
    let (a, b) = (parse(req), parse(req));
    let parsed = match (a, b) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.canonical_request(), b.canonical_request());
            assert_eq!(a.string_to_sign(), b.string_to_sign());
            a
        }
        (Err(a), Err(b)) => {
            assert_eq!(a, b);
            exercise_error(&a);
            return;
        }
        (a, b) => panic!(
            "parse is not deterministic: {:?} vs {:?}",
            a.is_ok(),
            b.is_ok()
        ),
    };
    let _ = (parsed.access_key_id(), parsed.scope(), parsed.kind());
    let _ = parsed.security_token().map(|t| format!("{t:?}"));
    let _ = parsed.signed_headers().count();
    let _ = parsed.unsigned_amz_headers();
    let _ = parsed
        .require_signed_amz_headers()
        .map_err(|e| exercise_error(&e));
    let t = parsed.timestamp();
    let verified = parsed.verify(SECRET.as_bytes(), at(t, 1), Some(cache()));
    if verbose() {
        eprintln!(
            "parsed {:?}; verify: {:?}",
            parsed.kind(),
            verified.as_ref().map(|v| v.payload_kind())
        );
    }
    match verified {
        Ok(v) => {
            assert!(v
                .signature_hex()
                .eq_ignore_ascii_case(parsed.signature_hex()));
            let _ = (v.payload_kind(), v.signature_age_ms(), v.kind());
            decode_chunked(&parsed, &v, body);
        }
        Err(e) => exercise_error(&e),
    }
    // Past every expiry (15 min skew, 7 days presigned) nothing verifies.
    let late = parsed.verify(SECRET.as_bytes(), at(t, 8 * 86_400), None);
    assert!(late.is_err(), "verified 8 days after its timestamp");
}

/// Whether a re-signed request is plain enough that it must verify: printable ASCII
/// method, path and query, unique token header names, printable values, and an
/// `x-amz-content-sha256` (header auth only) that is the body's hash or a keyword.
fn plain(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &[u8])],
    body_hex: &str,
    presigned: bool,
) -> bool {
    let printable = |s: &[u8]| s.iter().all(|&b| (0x21..0x7f).contains(&b));
    let mut names: Vec<String> = headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    names.sort();
    let unique = names.windows(2).all(|w| w[0] != w[1]);
    let content_sha_ok = |v: &[u8]| {
        !presigned
            && (v == body_hex.as_bytes()
                || [
                    UNSIGNED_PAYLOAD,
                    STREAMING_PAYLOAD,
                    STREAMING_PAYLOAD_TRAILER,
                    STREAMING_UNSIGNED_PAYLOAD_TRAILER,
                ]
                .iter()
                .any(|k| v == k.as_bytes()))
    };
    unique
        && !method.is_empty()
        && printable(method.as_bytes())
        && path.starts_with('/')
        && printable(path.as_bytes())
        && printable(query.as_bytes())
        && headers.iter().all(|(n, v)| {
            n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !n.is_empty()
                && v.iter().all(|&b| (0x20..0x7f).contains(&b))
                && (!n.eq_ignore_ascii_case("x-amz-content-sha256") || content_sha_ok(v))
        })
}

/// Whether a query parameter's name (percent-decoded) starts with `X-Amz-`, in any
/// case: the parameters of query authentication, which the re-signed request drops.
fn is_auth_param(pair: &str) -> bool {
    let name = pair.split('=').next().unwrap_or_default().as_bytes();
    let mut decoded = Vec::with_capacity(name.len());
    let mut i = 0;
    while let Some(&b) = name.get(i) {
        let hex = name
            .get(i + 1..i + 3)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| std::str::from_utf8(h).ok());
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(v) if b == b'%' => {
                decoded.push(v);
                i += 3;
            }
            _ => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    decoded
        .get(..6)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"x-amz-"))
}

/// Signs `r` anew with the fixed secret (its own authorization, date and presigning
/// parameters dropped) and checks the result.
fn resign(r: &iamd_fuzz::RawRequest<'_>, flags: u8, req_mode: UriMode) {
    const T: &str = "20261128T101010Z";
    let Some(t) = AmzDate::parse_iso_basic(T) else {
        unreachable!("fixed date parses")
    };
    let service = if flags & 0x40 == 0 { "s3" } else { "iam" };
    let presigned = flags & 0x80 != 0;
    let mut headers: Vec<(&str, &[u8])> = r
        .headers
        .iter()
        .filter(|(n, _)| {
            !n.eq_ignore_ascii_case("authorization") && !n.eq_ignore_ascii_case("x-amz-date")
        })
        .copied()
        .collect();
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        headers.push(("host", b"127.0.0.1:9911"));
    }
    if !presigned {
        headers.push(("x-amz-date", T.as_bytes()));
    }
    let kept: Vec<&str> = r.query.split('&').filter(|p| !is_auth_param(p)).collect();
    let query = kept.join("&");
    let digest: [u8; 32] = Sha256::digest(r.body).into();
    let payload = Payload::Sha256(digest);
    let p = SigningParams::new(ACCESS_KEY, SECRET.as_bytes(), "us-east-1", service, t);
    let base = RequestParts::new(r.method, r.path, &query, &headers)
        .with_payload(payload)
        .with_uri_mode(req_mode);
    let must_verify = plain(r.method, r.path, &query, &headers, &hex(&digest), presigned);
    let (signed_query, authz);
    let signed: Vec<(&str, &[u8])>;
    let req = if presigned {
        signed_query = presign(&base, &p, 900).value;
        RequestParts::new(r.method, r.path, &signed_query, &headers)
    } else {
        authz = sign_headers(&base, &p).value;
        signed = headers
            .iter()
            .copied()
            .chain([("authorization", authz.as_bytes())])
            .collect();
        RequestParts::new(r.method, r.path, &query, &signed)
    }
    .with_payload(payload)
    .with_uri_mode(req_mode);
    let result = parse(&req).and_then(|pa| pa.verify(SECRET.as_bytes(), at(t, 1), Some(cache())));
    if verbose() {
        eprintln!(
            "re-signed ({service}): plain {must_verify}, {:?}",
            result.as_ref().map(|_| ())
        );
    }
    if must_verify {
        assert!(
            result.is_ok(),
            "own signature rejected: {result:?} for {req:?}"
        );
    }
    check(&req, r.body);
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let Some(r) = parse_http(rest) else {
        return;
    };
    let body = r.body;
    let digest: [u8; 32] = Sha256::digest(body).into();
    let payload = match (flags >> 3) & 3 {
        0 => Payload::Bytes(body),
        1 => Payload::Unknown,
        2 => Payload::Sha256(digest),
        _ => Payload::Bytes(body),
    };
    let mode = uri_mode(flags);
    let req = RequestParts::new(r.method, r.path, r.query, &r.headers)
        .with_payload(payload)
        .with_uri_mode(mode);
    let _ = format!("{req:?}");
    check(&req, body);
    if flags & 0x20 != 0 {
        resign(&r, flags, mode);
    }
});
