//! What every S3 request must satisfy before s3s sees it: one authentication
//! mechanism, a credential scoped to `s3`, and every `x-amz-*` header covered by
//! the signature.
//!
//! s3s verifies signatures over the headers the client *lists* as signed, and then
//! reads every request header — signed or not — to decide what the request does
//! (`x-amz-copy-source` turns a PutObject into a CopyObject, `x-amz-tagging`,
//! `x-amz-acl`, `x-amz-meta-*`, `x-amz-server-side-encryption`… change what is
//! stored). AWS refuses any SigV4 request carrying an `x-amz-*` header that is not
//! signed; so does [`precheck`]. Because the list of signed headers is itself part of
//! the canonical request, a request that passes here and then passes s3s's signature
//! check has every `x-amz-*` header authenticated.
//!
//! Signature Version 2 (header and presigned) needs no such check: its string to
//! sign includes every `x-amz-*` header (s3s's `CanonicalizedAmzHeaders`).
//! Anonymous requests carry no signature to cover anything and are decided as
//! anonymous.

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use iamd_sigv4::{parse, AuthKind, RequestParts, SigError};

/// The credential scope service S3 requests must be signed for.
const SERVICE: &str = "s3";

/// A request refused before it reaches s3s: an S3 error document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status.
    pub status: u16,
    /// S3 error code.
    pub code: Cow<'static, str>,
    /// S3's message.
    pub message: String,
    /// Further elements of the error document (e.g. `HeadersNotSigned`).
    pub extra: Vec<(&'static str, String)>,
}

impl Refusal {
    /// An error of the S3 service as a refusal (its code, status and message).
    pub fn from_s3(e: &s3s::S3Error) -> Self {
        Refusal {
            status: e.status_code().map_or(400, |s| s.as_u16()),
            code: Cow::Owned(e.code().as_str().to_owned()),
            message: e.message().unwrap_or_default().to_owned(),
            extra: Vec::new(),
        }
    }

    fn from_sig(e: &SigError) -> Self {
        let mut extra = Vec::new();
        if let SigError::HeadersNotSigned { headers } = e {
            extra.push(("HeadersNotSigned", headers.join(", ")));
        }
        Refusal {
            status: e.s3_http_status(),
            code: Cow::Borrowed(e.s3_code()),
            message: e.s3_message().into_owned(),
            extra,
        }
    }
}

/// Query parameters that make a request presigned (SigV4 or SigV2).
fn presigned_params(query: &str) -> (bool, bool) {
    let mut v4 = false;
    let mut v2 = false;
    for pair in query.split('&') {
        let name = pair.split_once('=').map_or(pair, |(n, _)| n);
        match name {
            "X-Amz-Algorithm" | "X-Amz-Credential" | "X-Amz-Signature" => v4 = true,
            "Signature" | "AWSAccessKeyId" => v2 = true,
            _ => {}
        }
    }
    (v4, v2)
}

/// Checks an S3 request's authentication shape before s3s verifies it (see the
/// module docs). A presigned SigV4 URL is refused here when malformed (AWS's
/// `AuthorizationQueryParametersError` texts) or outside its validity window, a
/// presigned SigV2 URL past its `Expires`; other malformed SigV4 authentication is
/// left to s3s, which refuses it.
pub fn precheck(
    method: &str,
    path: &str,
    query: &str,
    headers: &http::HeaderMap,
) -> Result<(), Refusal> {
    precheck_then(method, path, query, headers, |_| Ok(()))
}

/// [`precheck`], then `then` on the same parse of the request's SigV4 authentication
/// (not called, and `T::default()` returned, for SigV2, anonymous or unparsable SigV4
/// requests, which s3s judges): one parse serves the guard and the session admission.
pub(crate) fn precheck_then<T: Default>(
    method: &str,
    path: &str,
    query: &str,
    headers: &http::HeaderMap,
    then: impl FnOnce(&iamd_sigv4::ParsedAuth<'_>) -> Result<T, Refusal>,
) -> Result<T, Refusal> {
    precheck_at(method, path, query, headers, SystemTime::now(), then)
}

/// [`precheck_then`] at `now` (presigned URLs' windows are judged against it).
pub(crate) fn precheck_at<T: Default>(
    method: &str,
    path: &str,
    query: &str,
    headers: &http::HeaderMap,
    now: SystemTime,
    then: impl FnOnce(&iamd_sigv4::ParsedAuth<'_>) -> Result<T, Refusal>,
) -> Result<T, Refusal> {
    let authorization = headers.get(http::header::AUTHORIZATION);
    let (presigned_v4, presigned_v2) = presigned_params(query);
    if (authorization.is_some() && (presigned_v4 || presigned_v2)) || (presigned_v4 && presigned_v2)
    {
        let mut r = Refusal::from_sig(&SigError::ConflictingAuthentication);
        r.extra.push(("ArgumentName", "Authorization".to_string()));
        return Err(r);
    }
    // Any Authorization header but SigV2's is read as SigV4 would read it (the parser
    // trims Unicode white space, so a prefix test here would disagree with it).
    let sigv2 = authorization.is_some_and(|v| v.as_bytes().starts_with(b"AWS "));
    if (authorization.is_none() || sigv2) && !presigned_v4 {
        // SigV2 (every x-amz-* header is in its string to sign) or anonymous.
        if presigned_v2 {
            check_sigv2_expiry(query, unix_secs(now))?;
        }
        return Ok(T::default());
    }
    if presigned_v4 {
        // A presigned URL is judged here whole, with AWS's texts: its parameters
        // (X-Amz-Expires at most a week), then its validity window, before any key.
        return sigv4_parts(method, path, query, headers, |req| {
            let parsed = parse(req).map_err(|e| Refusal::from_sig(&e))?;
            check_sigv4(&parsed)?;
            check_presigned_window(&parsed, query, now)?;
            then(&parsed)
        });
    }
    with_sigv4(method, path, query, headers, |parsed| {
        check_sigv4(parsed)?;
        then(parsed)
    })
}

fn unix_secs(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `2026-12-05T19:00:00Z`, as S3's error documents write instants.
fn iso8601(secs: i64) -> String {
    let (y, mo, d) = iamd_text::date::civil_from_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
        t / 3600,
        t / 60 % 60,
        t % 60
    )
}

fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').find_map(|p| {
        p.split_once('=')
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v)
    })
}

/// A SigV4 presigned URL used outside its window: S3's `AccessDenied` with the
/// window's ends (`X-Amz-Expires`, `Expires`, `ServerTime`; `X-Amz-Date` in epoch
/// milliseconds for a URL not yet valid).
fn check_presigned_window(
    parsed: &iamd_sigv4::ParsedAuth<'_>,
    query: &str,
    now: SystemTime,
) -> Result<(), Refusal> {
    let AuthKind::Presigned { expires_secs } = parsed.kind() else {
        return Ok(());
    };
    let Err(e) = parsed.check_time(now) else {
        return Ok(());
    };
    let signed = parsed.timestamp().unix();
    let server = unix_secs(now);
    let mut r = Refusal::from_sig(&e);
    if signed > server {
        r.extra
            .push(("X-Amz-Date", signed.saturating_mul(1000).to_string()));
    } else {
        let raw = query_param(query, "X-Amz-Expires").unwrap_or_default();
        r.extra.push(("X-Amz-Expires", raw.to_string()));
    }
    r.extra.push((
        "Expires",
        iso8601(signed.saturating_add(i64::from(expires_secs))),
    ));
    r.extra.push(("ServerTime", iso8601(server)));
    Err(r)
}

/// A SigV2 presigned URL past its `Expires` (epoch seconds): 403 `AccessDenied`
/// "Request has expired", as S3 answers. An unreadable `Expires` is left to s3s.
fn check_sigv2_expiry(query: &str, now: i64) -> Result<(), Refusal> {
    let Some(expires) = query_param(query, "Expires").and_then(|v| v.parse::<i64>().ok()) else {
        return Ok(());
    };
    if now <= expires {
        return Ok(());
    }
    Err(Refusal {
        status: 403,
        code: Cow::Borrowed("AccessDenied"),
        message: "Request has expired".to_string(),
        extra: vec![("Expires", iso8601(expires)), ("ServerTime", iso8601(now))],
    })
}

/// Runs `f` on the request's SigV4 authentication; a request without (or with
/// malformed) SigV4 authentication passes (s3s judges it).
pub(crate) fn with_sigv4<T: Default>(
    method: &str,
    path: &str,
    query: &str,
    headers: &http::HeaderMap,
    f: impl FnOnce(&iamd_sigv4::ParsedAuth<'_>) -> Result<T, Refusal>,
) -> Result<T, Refusal> {
    sigv4_parts(method, path, query, headers, |req| match parse(req) {
        Ok(parsed) => f(&parsed),
        Err(_) => Ok(T::default()),
    })
}

fn sigv4_parts<T>(
    method: &str,
    path: &str,
    query: &str,
    headers: &http::HeaderMap,
    f: impl FnOnce(&RequestParts<'_>) -> Result<T, Refusal>,
) -> Result<T, Refusal> {
    let list: Vec<(&str, &[u8])> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_bytes()))
        .collect();
    f(&RequestParts::new(method, path, query, &list))
}

/// The credential scope's service and the signed `x-amz-*` headers.
fn check_sigv4(parsed: &iamd_sigv4::ParsedAuth<'_>) -> Result<(), Refusal> {
    let service = &parsed.scope().service;
    if service != SERVICE {
        let presigned = matches!(parsed.kind(), AuthKind::Presigned { .. });
        let message = if presigned {
            format!("Error parsing the X-Amz-Credential parameter; incorrect service \"{service}\". This endpoint belongs to \"{SERVICE}\".")
        } else {
            format!("The authorization header is malformed; incorrect service \"{service}\". This endpoint belongs to \"{SERVICE}\".")
        };
        return Err(Refusal::from_sig(&SigError::IncompleteSignature {
            message,
            presigned,
        }));
    }
    parsed
        .require_signed_amz_headers()
        .map_err(|e| Refusal::from_sig(&e))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn headers(list: &[(&str, &str)]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (k, v) in list {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                http::HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261205/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000";

    fn base(extra: &[(&'static str, &'static str)]) -> http::HeaderMap {
        let mut l = vec![
            ("host", "127.0.0.1:9911"),
            ("x-amz-date", "20261205T000000Z"),
            ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
            ("authorization", AUTH),
        ];
        l.extend_from_slice(extra);
        headers(&l)
    }

    #[test]
    fn signed_headers_pass() {
        assert_eq!(precheck("PUT", "/b/k", "", &base(&[])), Ok(()));
        // Headers other than x-amz-* need not be signed (as on AWS).
        assert_eq!(
            precheck("PUT", "/b/k", "", &base(&[("content-type", "text/plain")])),
            Ok(())
        );
    }

    #[test]
    fn unsigned_amz_header_on_header_auth() {
        let e = precheck(
            "PUT",
            "/b/k",
            "",
            &base(&[
                ("x-amz-copy-source", "other/secret"),
                ("X-Amz-Tagging", "a=b"),
            ]),
        )
        .unwrap_err();
        assert_eq!((e.status, &*e.code), (403, "AccessDenied"));
        assert_eq!(
            e.message,
            "There were headers present in the request which were not signed"
        );
        assert_eq!(
            e.extra,
            vec![(
                "HeadersNotSigned",
                "x-amz-copy-source, x-amz-tagging".to_string()
            )]
        );
    }

    /// 2026-12-05T00:00:30Z: inside PRESIGNED's minute.
    fn during() -> SystemTime {
        UNIX_EPOCH + std::time::Duration::from_secs(1_796_428_830)
    }

    fn precheck(
        method: &str,
        path: &str,
        query: &str,
        headers: &http::HeaderMap,
    ) -> Result<(), Refusal> {
        precheck_at(method, path, query, headers, during(), |_| Ok(()))
    }

    const PRESIGNED: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20261205%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261205T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=0000000000000000000000000000000000000000000000000000000000000000";

    #[test]
    fn unsigned_amz_header_on_presigned() {
        let h = headers(&[("host", "h"), ("x-amz-copy-source", "other/secret")]);
        let e = precheck("PUT", "/b/k", PRESIGNED, &h).unwrap_err();
        assert_eq!((e.status, &*e.code), (403, "AccessDenied"));
        // The presigned URL covers only host: a plain request passes.
        let h = headers(&[("host", "h"), ("content-length", "3")]);
        assert_eq!(precheck("PUT", "/b/k", PRESIGNED, &h), Ok(()));
        // A security token must come signed (in the URL), never as a loose header.
        let h = headers(&[("host", "h"), ("x-amz-security-token", "t")]);
        assert!(precheck("GET", "/b/k", PRESIGNED, &h).is_err());
    }

    #[test]
    fn one_auth_mechanism() {
        let e = precheck("GET", "/b/k", PRESIGNED, &base(&[])).unwrap_err();
        assert_eq!((e.status, &*e.code), (400, "InvalidArgument"));
        assert!(e.message.starts_with("Only one auth mechanism allowed"));
        let h = headers(&[("authorization", "AWS AKID:c2ln")]);
        let e = precheck("GET", "/b/k", "Signature=x&AWSAccessKeyId=a&Expires=1", &h).unwrap_err();
        assert_eq!(e.code, "InvalidArgument");
        let h = headers(&[("host", "h")]);
        let both = format!("{PRESIGNED}&Signature=x&AWSAccessKeyId=a&Expires=1");
        assert_eq!(
            precheck("GET", "/b/k", &both, &h).unwrap_err().code,
            "InvalidArgument"
        );
    }

    /// A presigned GET with `query` checked at `secs` after the epoch.
    fn at_secs(query: &str, secs: u64) -> Result<(), Refusal> {
        precheck_at(
            "GET",
            "/b/k",
            query,
            &headers(&[("host", "h")]),
            UNIX_EPOCH + std::time::Duration::from_secs(secs),
            |_| Ok(()),
        )
    }

    #[test]
    fn presigned_v4_parameters_and_window() {
        let at = at_secs;
        let with = |v: &str| PRESIGNED.replace("X-Amz-Expires=60", &format!("X-Amz-Expires={v}"));
        for (v, message) in [
            ("604801", "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds"),
            ("-1", "X-Amz-Expires must be non-negative"),
            ("soon", "X-Amz-Expires should be a number"),
        ] {
            let e = at(&with(v), 1_796_428_830).unwrap_err();
            assert_eq!((e.status, &*e.code), (400, "AuthorizationQueryParametersError"), "{v}");
            assert_eq!(e.message, message);
        }
        assert_eq!(at(&with("604800"), 1_796_428_830), Ok(()));
        // Past its window: AWS's document with the window's ends.
        let e = at(PRESIGNED, 1_796_428_861).unwrap_err();
        assert_eq!((e.status, &*e.code), (403, "AccessDenied"));
        assert_eq!(e.message, "Request has expired");
        assert_eq!(
            e.extra,
            vec![
                ("X-Amz-Expires", "60".to_string()),
                ("Expires", "2026-12-05T00:01:00Z".to_string()),
                ("ServerTime", "2026-12-05T00:01:01Z".to_string()),
            ]
        );
        let e = at(&with("0"), 1_796_428_801).unwrap_err();
        assert_eq!(e.message, "Request has expired");
        // Signed more than 15 minutes ahead.
        let e = at(PRESIGNED, 1_796_428_800 - 901).unwrap_err();
        assert_eq!((e.status, &*e.message), (403, "Request is not yet valid"));
        assert_eq!(e.extra[0], ("X-Amz-Date", "1796428800000".to_string()));
        // A malformed URL is refused with AWS's text.
        let e = at(&PRESIGNED.replace("X-Amz-Date", "X-Amz-Dat"), 1_796_428_830).unwrap_err();
        assert_eq!(e.code, "AuthorizationQueryParametersError");
    }

    #[test]
    fn presigned_v2_expiry() {
        let at = |secs| at_secs("AWSAccessKeyId=AKID&Expires=1796428800&Signature=x", secs);
        assert_eq!(at(1_796_428_800), Ok(()));
        let e = at(1_796_428_801).unwrap_err();
        assert_eq!((e.status, &*e.code), (403, "AccessDenied"));
        assert_eq!(e.message, "Request has expired");
        assert_eq!(
            e.extra,
            vec![
                ("Expires", "2026-12-05T00:00:00Z".to_string()),
                ("ServerTime", "2026-12-05T00:00:01Z".to_string()),
            ]
        );
    }

    #[test]
    fn scope_must_be_s3() {
        let iam = AUTH.replace("/s3/", "/iam/");
        let mut h = base(&[]);
        h.insert(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_str(&iam).unwrap(),
        );
        let e = precheck("GET", "/", "", &h).unwrap_err();
        assert_eq!((e.status, &*e.code), (400, "AuthorizationHeaderMalformed"));
        assert_eq!(e.message, "The authorization header is malformed; incorrect service \"iam\". This endpoint belongs to \"s3\".");
        let q = PRESIGNED.replace("%2Fs3%2F", "%2Fsts%2F");
        let e = precheck("GET", "/b/k", &q, &headers(&[("host", "h")])).unwrap_err();
        assert_eq!(
            (e.status, &*e.code),
            (400, "AuthorizationQueryParametersError")
        );
    }

    /// Found by the s3_guard fuzzer: a non-breaking space before the algorithm made
    /// the guard take the request for SigV2 while the SigV4 parser trims it.
    #[test]
    fn leading_unicode_space_is_still_sigv4() {
        let auth = format!("\u{a0} {AUTH}");
        let mut h = base(&[("x-amz-bate", "1")]);
        h.insert(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_bytes(auth.as_bytes()).unwrap(),
        );
        let e = precheck("GET", "/b", "", &h).unwrap_err();
        assert_eq!(
            e.extra,
            vec![("HeadersNotSigned", "x-amz-bate".to_string())]
        );
    }

    #[test]
    fn sigv2_and_anonymous_are_left_alone() {
        let h = headers(&[
            ("authorization", "AWS AKID:c2ln"),
            ("x-amz-acl", "public-read"),
        ]);
        assert_eq!(precheck("PUT", "/b/k", "", &h), Ok(()));
        let h = headers(&[("x-amz-acl", "public-read")]);
        assert_eq!(precheck("PUT", "/b/k", "", &h), Ok(()));
    }
}
