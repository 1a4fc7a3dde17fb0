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
/// module docs). Malformed SigV4 authentication is left to s3s, which refuses it.
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
        return Ok(T::default());
    }
    with_sigv4(method, path, query, headers, |parsed| {
        check_sigv4(parsed)?;
        then(parsed)
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
    let list: Vec<(&str, &[u8])> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_bytes()))
        .collect();
    let req = RequestParts::new(method, path, query, &list);
    match parse(&req) {
        Ok(parsed) => f(&parsed),
        Err(_) => Ok(T::default()),
    }
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
