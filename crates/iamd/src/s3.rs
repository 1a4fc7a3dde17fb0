//! Hands non-Query-protocol requests to the S3 service (`iamd-s3`, built on s3s).
//! Glue, and what has to happen around s3s:
//!
//! - before: AWS's front-door checks ([`crate::s3_checks`]); the peer address as an
//!   extension (for `aws:SourceIp`); the body wrapped with a progress timeout
//!   ([`crate::s3_body`]);
//! - CORS: the `OPTIONS` preflight is answered here from the bucket's CORS
//!   configuration ([`iamd_s3::Cors`]); a request with `Origin` gets the matching
//!   rule's `Access-Control-*` headers;
//! - after: a stalled body becomes `RequestTimeout` and the connection closes; every
//!   response gets an `x-amz-request-id` and `x-amz-id-2`, every error document its
//!   `<Message>` (AWS's text where s3s has none), `<RequestId>` and `<HostId>`;
//!   one log line per request, DEBUG for client errors and ERROR for server errors
//!   (s3s's own error-level logs are off by default, see `startup::init_logging`);
//! - the streaming response body is adapted to the listener's body type.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body as _, Frame, Incoming, SizeHint};
use hyper::{Request, Response};

use crate::http::Body;
use iamd_s3::Refusal;

static BODY_TIMEOUT: OnceLock<Duration> = OnceLock::new();

/// Sets how long an S3 request body may stall (once, at startup; default 10 s).
pub fn set_body_timeout(t: Duration) {
    let _ = BODY_TIMEOUT.set(t);
}

fn body_timeout() -> Duration {
    BODY_TIMEOUT
        .get()
        .copied()
        .unwrap_or(Duration::from_secs(crate::config::DEFAULT_S3_BODY_TIMEOUT))
}

const REQUEST_TIMEOUT: &str = "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.";

pub async fn handle(
    s3: &iamd_s3::S3,
    iam: &iamd_iam::Iam<iamd_store::AnyStore>,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Body> {
    let svc = &s3.service;
    let request_id = request_id();
    let (mut parts, body) = req.into_parts();
    let has_body = !body.is_end_stream();
    let expects_continue = parts
        .headers
        .get(http::header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    // Whether the connection can serve another request after this answer: only if the
    // request body was read to its end (else hyper closes the connection right after
    // the answer, so the answer must say so — RFC 9110 section 9.6 — or a client reuses a
    // connection that is about to close), and not after answering an empty-bodied
    // `Expect: 100-continue` request without a 100 first (hyper sends none for an
    // empty body; botocore then misreads its next `Expect` exchange on that
    // connection).
    let (body, read_to_end) = crate::s3_body::Tracked::new(body);
    let must_close =
        move || !read_to_end.load(Ordering::Acquire) || (expects_continue && !has_body);
    let refused = crate::s3_checks::precheck(&parts);
    // Test mode: a key this server does not hold is the root, whatever its secret — after
    // the guard's checks (which `admit` below repeats: test mode only pays twice).
    // Its aws-chunked body, if any, is decoded here (`s3_unchunk`).
    let mut unchunk = None;
    let refused = if refused.is_none() && iam.test_mode() {
        match iamd_s3::precheck(
            parts.method.as_str(),
            parts.uri.path(),
            parts.uri.query().unwrap_or(""),
            &parts.headers,
        ) {
            Err(r) => Some(r),
            Ok(()) => {
                unchunk = crate::test_mode::admit_s3(iam, &mut parts);
                None
            }
        }
    } else {
        refused
    };
    // A plain GetObject / HeadObject s3s would answer 200: answered without it
    // (`iamd_s3::fast`; anything else, or any doubt, goes on to s3s). Tried before the
    // guard (whose checks it makes for such a request), and again after `admit` for a
    // request with a session token (`admit` authenticates the session).
    if refused.is_none() {
        if let Some(resp) = fast_answer(s3, &parts, has_body, peer, &request_id, must_close()).await
        {
            return resp;
        }
    }
    // The guard's checks, then temporary credentials: the token is verified before s3s
    // asks for the secret; the session found goes to the access check with the request.
    let refused = refused.or_else(|| {
        match iamd_s3::admit(
            iam,
            parts.method.as_str(),
            parts.uri.path(),
            parts.uri.query().unwrap_or(""),
            &parts.headers,
        ) {
            Ok(Some(admitted)) => {
                parts.extensions.insert(admitted);
                None
            }
            Ok(None) => None,
            Err(refusal) => Some(refusal),
        }
    });
    // CORS: the bucket a browser's request names, for the preflight (answered here:
    // it is unsigned and no S3 operation) and the Access-Control-* headers.
    let origin = parts
        .headers
        .get(http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let cors_bucket = if origin.is_some() || parts.method == http::Method::OPTIONS {
        let host = parts
            .headers
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok());
        s3.cors.bucket_of(host, parts.uri.path())
    } else {
        None
    };
    let refused = match refused {
        None if parts.method == http::Method::OPTIONS => {
            match s3
                .cors
                .preflight(cors_bucket.as_deref(), &parts.headers)
                .await
            {
                Ok(headers) => {
                    let mut resp = crate::http::response(200, "application/xml", Bytes::new());
                    add_headers(resp.headers_mut(), &headers);
                    set_request_id(resp.headers_mut(), &request_id);
                    log_request(&parts.method, &parts.uri, resp.status(), None, &request_id);
                    return resp;
                }
                Err(refusal) => Some(refusal),
            }
        }
        r => r,
    };
    if let Some(refusal) = refused {
        let resp = refusal_response(&refusal, &request_id, must_close());
        log_request(
            &parts.method,
            &parts.uri,
            resp.status(),
            Some(&refusal.code),
            &request_id,
        );
        return resp;
    }
    if parts.extensions.get::<iamd_s3::AdmittedSession>().is_some() {
        if let Some(resp) = fast_answer(s3, &parts, has_body, peer, &request_id, must_close()).await
        {
            return resp;
        }
    }
    crate::s3_checks::fix_range(&mut parts);
    parts.extensions.insert(iamd_s3::ClientInfo {
        peer,
        secure: false,
    });
    let stalled = Arc::new(AtomicBool::new(false));
    let verdict = iamd_s3::Verdict::default();
    let body = if has_body {
        let timed = crate::s3_body::ProgressTimeout::new(body, body_timeout(), stalled.clone());
        match unchunk {
            Some(u) => {
                let decoded = u.wrap(timed, verdict.clone());
                match iamd_s3::CheckedBody::wrap(decoded, &parts, verdict.clone()) {
                    Ok(checked) => s3s::Body::http_body(checked),
                    Err(decoded) => s3s::Body::http_body(decoded),
                }
            }
            None => match iamd_s3::CheckedBody::wrap(timed, &parts, verdict.clone()) {
                Ok(checked) => s3s::Body::http_body(checked),
                Err(timed) => s3s::Body::http_body(timed),
            },
        }
    } else {
        s3s::Body::http_body(body)
    };
    let (method, uri) = (parts.method.clone(), parts.uri.clone());
    let result = svc.call(Request::from_parts(parts, body)).await;
    let log_parts = |status, code: Option<&str>| {
        log_request(&method, &uri, status, code, &request_id);
    };
    if stalled.load(Ordering::Relaxed) {
        // Whatever the operation made of its failed body, the client stalled.
        let refusal = Refusal {
            status: 400,
            code: "RequestTimeout".into(),
            message: REQUEST_TIMEOUT.into(),
            extra: Vec::new(),
        };
        let resp = refusal_response(&refusal, &request_id, true);
        log_parts(resp.status(), Some(&refusal.code));
        return resp;
    }
    // The body did not match its digest: whatever the operation made of the body's
    // error, the client gets the digest's refusal (nothing was stored or changed).
    let refused = verdict.lock().ok().and_then(|mut v| v.take());
    if let Some(refusal) = refused {
        let resp = refusal_response(&refusal, &request_id, true);
        log_parts(resp.status(), Some(&refusal.code));
        return resp;
    }
    match result {
        Ok(resp) => {
            let (mut parts, body) = resp.into_parts();
            let mut code = None;
            let body = match (parts.status.as_u16() >= 400, body.bytes()) {
                (true, Some(xml)) => {
                    let (xml, c) = finish_error_document(&xml, parts.status, &request_id);
                    code = c;
                    parts.headers.remove(http::header::CONTENT_LENGTH);
                    s3s::Body::from(xml)
                }
                (false, Some(xml)) if method == http::Method::GET && is_attributes(&uri) => {
                    match unquote_attributes_etag(&xml) {
                        Some(xml) => {
                            parts.headers.remove(http::header::CONTENT_LENGTH);
                            s3s::Body::from(xml)
                        }
                        None => s3s::Body::from(xml),
                    }
                }
                _ => body,
            };
            // HeadObject of a part (`?partNumber=N`) or with a `Range` answers 206 on
            // AWS, as the GET of it does; s3s 0.14's HeadObject serializer always
            // answers 200 whatever status the operation sets, so a HEAD answered with a
            // Content-Range (only those cases set one) is made partial here.
            if method == http::Method::HEAD
                && parts.status == http::StatusCode::OK
                && parts.headers.contains_key(http::header::CONTENT_RANGE)
            {
                parts.status = http::StatusCode::PARTIAL_CONTENT;
            }
            set_request_id(&mut parts.headers, &request_id);
            if let (Some(origin), Some(bucket)) = (&origin, &cors_bucket) {
                let headers = s3
                    .cors
                    .response_headers(bucket, origin, method.as_str())
                    .await;
                add_headers(&mut parts.headers, &headers);
            }
            if must_close() {
                parts.headers.insert(
                    http::header::CONNECTION,
                    http::HeaderValue::from_static("close"),
                );
            }
            log_parts(parts.status, code.as_deref());
            // The listener's body type cannot carry an error: a failure mid-stream
            // ends the body early, which hyper reports to the client by closing the
            // connection (the Content-Length is not met).
            Response::from_parts(parts, S3Body(body).boxed())
        }
        Err(e) => {
            tracing::error!(request_id = %request_id, error = ?e, "s3 request failed");
            let mut r = crate::http::response(500, "application/xml", Bytes::new());
            set_request_id(r.headers_mut(), &request_id);
            r.headers_mut().insert(
                http::header::CONNECTION,
                http::HeaderValue::from_static("close"),
            );
            r
        }
    }
}

/// The fast path's answer (`iamd_s3::fast`) with the request ids, as every S3 answer,
/// and its log lines; `None`: the request goes on to s3s.
async fn fast_answer(
    s3: &iamd_s3::S3,
    parts: &http::request::Parts,
    has_body: bool,
    peer: SocketAddr,
    request_id: &str,
    must_close: bool,
) -> Option<Response<Body>> {
    let client = iamd_s3::ClientInfo {
        peer,
        secure: false,
    };
    let fast = iamd_s3::fast::FastRequest {
        parts,
        has_body,
        client,
    };
    let (mut head, body) = s3.fast.answer(fast).await?.into_parts();
    set_request_id(&mut head.headers, request_id);
    if must_close {
        head.headers.insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }
    tracing::debug!(request_id, method = %parts.method, path = parts.uri.path(), "s3 fast path answered");
    log_request(&parts.method, &parts.uri, head.status, None, request_id);
    Some(Response::from_parts(head, crate::http::full(body)))
}

/// 16 upper-case hex digits, like S3's request ids: a counter from a random start
/// (read once), through a bijection of 64-bit integers (splitmix64's finalizer), so
/// ids are unique within the process and look random, without a system call each.
fn request_id() -> String {
    use std::sync::atomic::AtomicU64;
    static NEXT: OnceLock<AtomicU64> = OnceLock::new();
    let next = NEXT.get_or_init(|| {
        let seed = iamd_s3::blobs::new_id()
            .ok()
            .and_then(|id| u64::from_str_radix(id.get(..16)?, 16).ok())
            .unwrap_or(0x5a5a_5a5a_5a5a_5a5a);
        AtomicU64::new(seed)
    });
    let mut z = next.fetch_add(1, Ordering::Relaxed);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    (0..16)
        .rev()
        .map(|i| {
            char::from(
                HEX.get(((z >> (i * 4)) & 0xf) as usize)
                    .copied()
                    .unwrap_or(b'0'),
            )
        })
        .collect()
}

/// The extended request id (`x-amz-id-2`, the error document's `<HostId>`): S3 sends
/// an opaque base64 token; here one derived from the request id, so header and
/// document always agree.
fn host_id(request_id: &str) -> String {
    let mut raw = [0u8; 5 + 16];
    let id = request_id.as_bytes();
    match raw.get_mut(..5 + id.len()) {
        Some(buf) => {
            let (prefix, rest) = buf.split_at_mut(5);
            prefix.copy_from_slice(b"iamd/");
            rest.copy_from_slice(id);
            iamd_api::base64::encode(buf)
        }
        None => iamd_api::base64::encode(format!("iamd/{request_id}").as_bytes()),
    }
}

fn set_request_id(headers: &mut http::HeaderMap, request_id: &str) {
    static REQUEST_ID: http::HeaderName = http::HeaderName::from_static("x-amz-request-id");
    static ID_2: http::HeaderName = http::HeaderName::from_static("x-amz-id-2");
    if let Ok(v) = http::HeaderValue::from_str(request_id) {
        headers.insert(REQUEST_ID.clone(), v);
    }
    if let Ok(v) = http::HeaderValue::from_str(&host_id(request_id)) {
        headers.insert(ID_2.clone(), v);
    }
}

fn add_headers(to: &mut http::HeaderMap, headers: &[(&'static str, String)]) {
    for (name, value) in headers {
        if let Ok(v) = http::HeaderValue::from_str(value) {
            to.insert(*name, v);
        }
    }
}

/// An S3 `<Error>` document; closes the connection when the request body is left
/// unread.
fn refusal_response(r: &Refusal, request_id: &str, close: bool) -> Response<Body> {
    let mut xml = String::from(r#"<?xml version="1.0" encoding="UTF-8"?><Error>"#);
    iamd_api::xml::elem_str(&mut xml, "Code", &r.code);
    iamd_api::xml::elem_str(&mut xml, "Message", &r.message);
    for (name, value) in &r.extra {
        iamd_api::xml::elem_str(&mut xml, name, value);
    }
    iamd_api::xml::elem_str(&mut xml, "RequestId", request_id);
    iamd_api::xml::elem_str(&mut xml, "HostId", &host_id(request_id));
    xml.push_str("</Error>");
    let mut resp = crate::http::response(r.status, "application/xml", xml);
    set_request_id(resp.headers_mut(), request_id);
    if close {
        resp.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }
    resp
}

/// Whether the request is GetObjectAttributes (`GET /bucket/key?attributes`): only its
/// answer is rewritten, never an object's bytes (a small object's body is in memory too).
fn is_attributes(uri: &http::Uri) -> bool {
    uri.query().is_some_and(|q| {
        q.split('&')
            .any(|p| p == "attributes" || p.starts_with("attributes="))
    })
}

/// GetObjectAttributes answers the ETag unquoted (AWS's API reference and S3's
/// answers: `<ETag>…</ETag>`, unlike every other ETag); s3s 0.14 always quotes ETags.
/// The document without the quotes, if `xml` is such an answer with a quoted ETag.
fn unquote_attributes_etag(xml: &[u8]) -> Option<Vec<u8>> {
    const ROOT: &[u8] = b"<GetObjectAttributesResponse";
    if !xml.windows(ROOT.len()).take(128).any(|w| w == ROOT) {
        return None;
    }
    const OPEN: &[u8] = b"<ETag>\"";
    let open = xml.windows(OPEN.len()).position(|w| w == OPEN)? + OPEN.len();
    let rest = xml.get(open..)?;
    let len = rest.windows(8).position(|w| w == b"\"</ETag>")?;
    let mut out = Vec::with_capacity(xml.len());
    out.extend_from_slice(xml.get(..open - 1)?);
    out.extend_from_slice(rest.get(..len)?);
    out.extend_from_slice(rest.get(len + 1..)?);
    Some(out)
}

/// s3s's `<Error>` document with the request id added (and AWS's message where s3s
/// leaves it out); returns it with the error code.
fn finish_error_document(
    xml: &[u8],
    status: http::StatusCode,
    request_id: &str,
) -> (Vec<u8>, Option<String>) {
    let code = between(xml, b"<Code>", b"</Code>")
        .and_then(|c| std::str::from_utf8(c).ok())
        .map(str::to_owned);
    let Some(head) = xml.strip_suffix(b"</Error>") else {
        return (xml.to_vec(), code);
    };
    let mut out = Vec::with_capacity(xml.len() + 160);
    match between(head, b"<Message>", b"</Message>").and_then(aws_message) {
        Some(text) => {
            // `<Message>` is there: the text between it and `</Message>` replaced.
            let start = head
                .windows(9)
                .position(|w| w == b"<Message>")
                .unwrap_or(head.len());
            let end = head
                .windows(10)
                .position(|w| w == b"</Message>")
                .map_or(head.len(), |e| e + 10);
            out.extend_from_slice(head.get(..start).unwrap_or(head));
            let mut m = String::new();
            iamd_api::xml::elem_str(&mut m, "Message", text);
            out.extend_from_slice(m.as_bytes());
            out.extend_from_slice(head.get(end..).unwrap_or_default());
        }
        None => out.extend_from_slice(head),
    }
    if between(head, b"<Message>", b"</Message>").is_none() {
        let text = default_message(code.as_deref().unwrap_or(""), status);
        let mut m = String::new();
        iamd_api::xml::elem_str(&mut m, "Message", text);
        out.extend_from_slice(m.as_bytes());
    }
    let mut tail = String::new();
    iamd_api::xml::elem_str(&mut tail, "RequestId", request_id);
    iamd_api::xml::elem_str(&mut tail, "HostId", &host_id(request_id));
    out.extend_from_slice(tail.as_bytes());
    out.extend_from_slice(b"</Error>");
    (out, code)
}

/// AWS's text for a refusal s3s words its own way: a `max-buckets` that is not a number
/// (s3s refuses it while parsing, before ListBuckets sees it).
fn aws_message(message: &[u8]) -> Option<&'static str> {
    message
        .starts_with(b"invalid query: max-buckets:")
        .then_some("Argument max-buckets must be an integer between 1 and 10000.")
}

/// AWS's message for an error s3s raises without one (S3 error responses always
/// carry a `<Message>`); the status's reason phrase for a code not listed.
fn default_message(code: &str, status: http::StatusCode) -> &'static str {
    match code {
        "AccessDenied" => "Access Denied",
        "BadDigest" => "The Content-MD5 you specified did not match what we received.",
        "EntityTooLarge" => "Your proposed upload exceeds the maximum allowed object size.",
        "IncompleteBody" => {
            "You did not provide the number of bytes specified by the Content-Length HTTP header"
        }
        "InternalError" => "We encountered an internal error. Please try again.",
        "InvalidAccessKeyId" => {
            "The AWS Access Key Id you provided does not exist in our records."
        }
        "InvalidBucketName" => "The specified bucket is not valid.",
        "InvalidDigest" => "The Content-MD5 you specified is not valid.",
        "InvalidRange" => "The requested range is not satisfiable",
        "InvalidURI" => "Couldn't parse the specified URI.",
        "KeyTooLongError" => "Your key is too long",
        "MalformedXML" => {
            "The XML you provided was not well-formed or did not validate against our published schema"
        }
        "MethodNotAllowed" => "The specified method is not allowed against this resource.",
        "MissingContentLength" => "You must provide the Content-Length HTTP header.",
        "NoSuchBucket" => "The specified bucket does not exist",
        "NoSuchKey" => "The specified key does not exist.",
        "NotImplemented" => {
            "A header you provided implies functionality that is not implemented"
        }
        "PreconditionFailed" => "At least one of the pre-conditions you specified did not hold",
        "RequestTimeTooSkewed" => {
            "The difference between the request time and the current time is too large."
        }
        "SignatureDoesNotMatch" => {
            "The request signature we calculated does not match the signature you provided. Check your key and signing method."
        }
        _ => status.canonical_reason().unwrap_or("Error"),
    }
}

fn between<'a>(s: &'a [u8], open: &[u8], close: &[u8]) -> Option<&'a [u8]> {
    let start = s.windows(open.len()).position(|w| w == open)? + open.len();
    let rest = s.get(start..)?;
    let len = rest.windows(close.len()).position(|w| w == close)?;
    rest.get(..len)
}

/// One line per request: anybody can provoke client errors (and 501s, for operations
/// this server does not offer), so they stay at DEBUG.
fn log_request(
    method: &http::Method,
    uri: &http::Uri,
    status: http::StatusCode,
    code: Option<&str>,
    request_id: &str,
) {
    let code = code.unwrap_or("-");
    let path = uri.path();
    // 501: an operation this server does not offer (a client's probe, not a fault).
    if status.is_server_error() && status != http::StatusCode::NOT_IMPLEMENTED {
        tracing::error!(request_id, %method, path, status = status.as_u16(), code, "s3 request failed");
    } else if status.is_client_error() || status == http::StatusCode::NOT_IMPLEMENTED {
        tracing::debug!(request_id, %method, path, status = status.as_u16(), code, "s3 request refused");
    } else {
        tracing::trace!(request_id, %method, path, status = status.as_u16(), "s3 request");
    }
}

/// s3s's response body with errors turned into an early end (logged).
struct S3Body(s3s::Body);

impl hyper::body::Body for S3Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match Pin::new(&mut self.0).poll_frame(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Ready(Some(Ok(f))) => Poll::Ready(Some(Ok(f))),
            Poll::Ready(Some(Err(e))) => {
                tracing::warn!(error = %e, "s3 response body failed");
                Poll::Ready(None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.0.size_hint()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn object_attributes_etag_is_unquoted() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?><GetObjectAttributesResponse xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><ETag>"abc-2"</ETag><ObjectSize>3</ObjectSize></GetObjectAttributesResponse>"#;
        let out = unquote_attributes_etag(xml).unwrap_or_default();
        assert_eq!(
            String::from_utf8_lossy(&out),
            r#"<?xml version="1.0" encoding="UTF-8"?><GetObjectAttributesResponse xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><ETag>abc-2</ETag><ObjectSize>3</ObjectSize></GetObjectAttributesResponse>"#
        );
        // Other documents keep their quotes; no ETag, nothing to do.
        assert!(unquote_attributes_etag(b"<CopyObjectResult><ETag>\"x\"</ETag>").is_none());
        assert!(unquote_attributes_etag(
            b"<GetObjectAttributesResponse><ObjectSize>3</ObjectSize>"
        )
        .is_none());
    }

    #[test]
    fn error_documents_get_the_request_id() {
        let host = host_id("ABC");
        let (xml, code) = finish_error_document(
            br#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>m</Message></Error>"#,
            http::StatusCode::NOT_FOUND,
            "ABC",
        );
        assert_eq!(code.as_deref(), Some("NoSuchKey"));
        let want = format!(
            "<Message>m</Message><RequestId>ABC</RequestId><HostId>{host}</HostId></Error>"
        );
        assert!(xml.ends_with(want.as_bytes()));
        let (xml, code) = finish_error_document(
            br#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>KeyTooLongError</Code></Error>"#,
            http::StatusCode::BAD_REQUEST,
            "ABC",
        );
        assert_eq!(code.as_deref(), Some("KeyTooLongError"));
        let want = format!("<Code>KeyTooLongError</Code><Message>Your key is too long</Message><RequestId>ABC</RequestId><HostId>{host}</HostId></Error>");
        assert!(xml.ends_with(want.as_bytes()));
        let (xml, _) = finish_error_document(
            br#"<Error><Code>Whatever</Code></Error>"#,
            http::StatusCode::CONFLICT,
            "ABC",
        );
        assert!(xml.starts_with(b"<Error><Code>Whatever</Code><Message>Conflict</Message>"));
        let (xml, _) = finish_error_document(
            br#"<Error><Code>InvalidArgument</Code><Message>invalid query: max-buckets: abc</Message></Error>"#,
            http::StatusCode::BAD_REQUEST,
            "ABC",
        );
        assert!(xml.starts_with(b"<Error><Code>InvalidArgument</Code><Message>Argument max-buckets must be an integer between 1 and 10000.</Message><RequestId>ABC</RequestId>"));
        let id = request_id();
        assert_eq!(id.len(), 16);
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()));
        // Unique: a counter through a bijection.
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| request_id()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids.iter().all(|i| i.len() == 16));
    }
}
