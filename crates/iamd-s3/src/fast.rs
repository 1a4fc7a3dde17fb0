//! The fast path: a plain GetObject / HeadObject of a small object, answered without
//! s3s. It answers only the success case — a `200` byte-identical to s3s's (but the
//! request ids, added by the listener) — and never refuses anything: any doubt (a
//! header it does not handle, a signature it cannot verify, a missing key, a denial)
//! and [`FastPath::answer`] returns `None`, and the request goes to s3s as any other,
//! which answers it (with AWS's exact error where there is one).
//!
//! Eligible: `GET` (query empty or `x-id=GetObject`) or `HEAD` (no query) of a
//! path-style `/bucket/key` (no `--domain`), no body, header-signed SigV4 in
//! botocore's exact `Authorization` form, `x-amz-content-sha256` `UNSIGNED-PAYLOAD`
//! or the empty body's hash, no `x-amz-*` header but `x-amz-date`,
//! `x-amz-content-sha256`, `x-amz-checksum-mode: ENABLED` (boto3 and the other
//! current SDKs send it with every GetObject) and `x-amz-security-token` (a session only when
//! [`crate::admit`] authenticated it), none of `Range`, `If-*`, `Origin`, `Expect`;
//! the object at most [`MAX_CACHED_BODY`] bytes on the local blob store (or its bytes
//! already cached), its user metadata plain ASCII.
//!
//! The listener tries it before [`crate::admit`] (a request it answers then skips the
//! guard's second parse: it checks what the guard would for such a request — one
//! mechanism, scope `s3`, every `x-amz-*` header signed) and, for a request with a
//! session token, again after `admit`, which authenticated the session.
//!
//! What it does, as s3s would: verifies the signature (with a [`SigningKeyCache`]:
//! no key derivation per request; s3s's clock-skew window, one second narrower),
//! decides with the access check s3s runs ([`Core::allows`], [`Core::check_access`]'s steps: same principal,
//! context, plan and engine decisions), reads the current version through
//! [`crate::store::CachedStore::current`] (cached on SQLite) and the bytes through
//! [`BodyCache`], and builds the headers s3s's GetObject/HeadObject serializers would
//! (same order, same formatting: s3s's own `ETag` and timestamp formatters).

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use iamd_sigv4::{AuthKind, PathStyle, RequestParts, SigningKeyCache, UriMode};
use iamd_store::{ObjectRecord, NULL_VERSION};

use crate::access::{AccessRequest, AdmittedSession, ClientInfo};
use crate::cache::{BodyCache, MAX_CACHED_BODY};
use crate::Core;

/// Total bytes of small objects kept in memory.
const BODY_CACHE_BYTES: u64 = 64 * 1024 * 1024;
/// s3s refuses a header signature more than 900 s off (with sub-second precision);
/// the fast path leaves the last second to s3s.
const MAX_SKEW_SECS: i64 = 899;
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// What a current object version answers to a plain GetObject / HeadObject, but its
/// bytes and `x-amz-version-id` (which depends on the bucket's versioning).
#[derive(Debug)]
pub(crate) struct FastObject {
    blob_id: String,
    size: u64,
    version_id: String,
    /// s3s's headers, in its serializer's order, but the checksum's.
    headers: Vec<(HeaderName, HeaderValue)>,
    /// The stored checksum's headers (`x-amz-checksum-<algorithm>`,
    /// `x-amz-checksum-type`), sent with `x-amz-checksum-mode: ENABLED` (what boto3
    /// and the other current SDKs send with every GetObject) after the first
    /// `checksum_at` headers, where s3s's serializers put them.
    checksum: Vec<(HeaderName, HeaderValue)>,
    /// How many of `headers` come before the checksum's.
    checksum_at: usize,
}

impl FastObject {
    /// `None` when s3s would answer differently from plain headers (user metadata
    /// that needs RFC 2047 encoding, a value that is no header value).
    pub(crate) fn new(o: &ObjectRecord) -> Option<FastObject> {
        let meta = crate::service::decode_meta(&o.metadata);
        let mut headers = Vec::with_capacity(10 + meta.user.len());
        fn text(
            h: &mut Vec<(HeaderName, HeaderValue)>,
            name: HeaderName,
            v: Option<String>,
        ) -> Option<()> {
            if let Some(v) = v {
                h.push((name, HeaderValue::try_from(v).ok()?));
            }
            Some(())
        }
        // s3s's GetObjectOutput / HeadObjectOutput serializers, field by field (the
        // fields the service sets for a plain GET: no checksum without
        // x-amz-checksum-mode, no range, no part).
        let h = &mut headers;
        text(h, http::header::ACCEPT_RANGES, Some("bytes".into()))?;
        text(h, http::header::CACHE_CONTROL, meta.cache_control)?;
        let checksum_at = h.len();
        text(
            h,
            http::header::CONTENT_DISPOSITION,
            meta.content_disposition,
        )?;
        text(h, http::header::CONTENT_ENCODING, meta.content_encoding)?;
        text(h, http::header::CONTENT_LANGUAGE, meta.content_language)?;
        h.push((http::header::CONTENT_LENGTH, HeaderValue::from(o.size)));
        let content_type = crate::service::object_type(o.content_type.clone());
        text(h, http::header::CONTENT_TYPE, content_type)?;
        let etag = crate::service::etag(&o.etag).to_http_header().ok()?;
        h.push((http::header::ETAG, etag));
        let mut date = Vec::with_capacity(29);
        crate::service::ts(o.last_modified)
            .format(s3s::dto::TimestampFormat::HttpDate, &mut date)
            .ok()?;
        h.push((
            http::header::LAST_MODIFIED,
            HeaderValue::from_bytes(&date).ok()?,
        ));
        for (k, v) in meta.user {
            // s3s RFC 2047-encodes any other value: left to it.
            if !v.bytes().all(|b| (0x20..0x7f).contains(&b)) {
                return None;
            }
            let name = HeaderName::from_bytes(format!("x-amz-meta-{k}").as_bytes()).ok()?;
            headers.push((name, HeaderValue::try_from(v).ok()?));
        }
        let mut checksum = Vec::with_capacity(2);
        if let Some(c) = &meta.checksum {
            checksum.push((
                HeaderName::from_static(c.algorithm.header()),
                HeaderValue::try_from(c.wire()).ok()?,
            ));
            checksum.push((
                HeaderName::from_static("x-amz-checksum-type"),
                HeaderValue::from_static(c.kind.name()),
            ));
        }
        Some(FastObject {
            blob_id: o.blob_id.clone(),
            size: u64::try_from(o.size).ok()?,
            version_id: o.version_id.clone(),
            headers,
            checksum,
            checksum_at,
        })
    }
}

/// The fast path's state (see the module docs).
pub struct FastPath {
    core: Arc<Core>,
    keys: SigningKeyCache,
    bodies: BodyCache,
    /// `--domain` is set: virtual-hosted requests are possible (left to s3s).
    domain: bool,
}

/// A request as the listener has it.
pub struct FastRequest<'a> {
    pub parts: &'a http::request::Parts,
    pub has_body: bool,
    pub client: ClientInfo,
}

/// The signed request's `Authorization`, in botocore's exact form.
struct HeaderAuth<'a> {
    access_key: &'a str,
    date: &'a str,
}

impl FastPath {
    pub(crate) fn new(core: Arc<Core>, domain: bool) -> Self {
        FastPath {
            core,
            keys: SigningKeyCache::default(),
            bodies: BodyCache::new(BODY_CACHE_BYTES),
            domain,
        }
    }

    /// The complete answer (status, headers, body) to a plain GetObject / HeadObject
    /// s3s would answer `200`; `None`: the request goes to s3s.
    pub async fn answer(&self, r: FastRequest<'_>) -> Option<http::Response<Bytes>> {
        let parts = r.parts;
        let head = match (&parts.method, parts.uri.query()) {
            (&http::Method::HEAD, None) => true,
            (&http::Method::GET, None | Some("x-id=GetObject")) => false,
            _ => return None,
        };
        if r.has_body || self.domain || self.core.iam.test_mode() {
            return None;
        }
        let h = &parts.headers;
        if !plain_headers(h) {
            return None;
        }
        let auth = header_auth(h)?;
        let (bucket, key) = bucket_and_key(parts.uri.path())?;
        let authenticated = self.authenticate(parts, &auth)?;
        // The object (and whether the bytes can be had without s3s) before any
        // decision, so that a request passed to s3s is decided once.
        let object = self.core.store.current(&bucket, &key).await.ok()??;
        let cached = if head {
            None
        } else {
            match self.bodies.get(&object.blob_id) {
                Some(b) => Some(b),
                None if object.size <= MAX_CACHED_BODY && self.core.blobs.is_local() => None,
                None => return None,
            }
        };
        let entry = self.core.bucket(&bucket).await.ok()??;
        let path = s3s::path::S3Path::object(&bucket, &key);
        self.core
            .allows(AccessRequest {
                op: if head { "HeadObject" } else { "GetObject" },
                path: &path,
                query: parts.uri.query(),
                headers: h,
                access_key: Some(auth.access_key),
                admitted: Some(AdmittedSession {
                    access_key_id: auth.access_key.to_owned(),
                    authenticated,
                }),
                test_root: None,
                client: Some(r.client),
            })
            .await
            .ok()?;
        let body = match (head, cached) {
            (true, _) => Bytes::new(),
            (false, Some(b)) => b,
            (false, None) => {
                let b = self
                    .core
                    .blobs
                    .read_small(&object.blob_id, object.size)
                    .await?
                    .ok()?;
                self.bodies.insert(&object.blob_id, b.clone());
                b
            }
        };
        let (before, after) = object.headers.split_at(object.checksum_at);
        let checksum = if checksum_mode(h) {
            object.checksum.as_slice()
        } else {
            &[]
        };
        // Room for the listener's headers too (request ids, `Connection`): no regrowth.
        let mut headers = http::HeaderMap::with_capacity(object.headers.len() + checksum.len() + 4);
        // The names are distinct: appended without looking for an earlier one.
        for (k, v) in before.iter().chain(checksum).chain(after) {
            headers.append(k.clone(), v.clone());
        }
        let versioned = entry.versioning != iamd_store::Versioning::Unversioned;
        if versioned || object.version_id != NULL_VERSION {
            static VERSION_ID: HeaderName = HeaderName::from_static("x-amz-version-id");
            headers.append(
                VERSION_ID.clone(),
                HeaderValue::from_str(&object.version_id).ok()?,
            );
        }
        let mut resp = http::Response::new(body);
        *resp.headers_mut() = headers;
        Some(resp)
    }

    /// The caller, if the signature verifies: a long-term key (authenticated here) or
    /// a session [`crate::admit`] authenticated.
    fn authenticate(
        &self,
        parts: &http::request::Parts,
        auth: &HeaderAuth<'_>,
    ) -> Option<iamd_iam::Authenticated> {
        let h = &parts.headers;
        let authenticated = if h.contains_key("x-amz-security-token") {
            let admitted = parts.extensions.get::<AdmittedSession>()?;
            (admitted.access_key_id == auth.access_key).then(|| admitted.authenticated.clone())?
        } else if iamd_iam::is_session_key(auth.access_key) {
            return None;
        } else {
            self.core.iam.authenticate(auth.access_key, None).ok()?
        };
        if authenticated.any_secret {
            return None;
        }
        let list: Vec<(&str, &[u8])> = h.iter().map(|(k, v)| (k.as_str(), v.as_bytes())).collect();
        let req = RequestParts::new(
            parts.method.as_str(),
            parts.uri.path(),
            parts.uri.query().unwrap_or(""),
            &list,
        )
        .with_uri_mode(UriMode::Only(PathStyle::AsSent));
        let parsed = iamd_sigv4::parse(&req).ok()?;
        if parsed.kind() != AuthKind::Header
            || parsed.access_key_id() != auth.access_key
            || parsed.scope().service != "s3"
            || parsed.scope().date != auth.date
        {
            return None;
        }
        let now = SystemTime::now();
        let now_secs = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()
            .and_then(|d| i64::try_from(d.as_secs()).ok())?;
        if (now_secs - parsed.timestamp().unix()).abs() > MAX_SKEW_SECS {
            return None;
        }
        parsed
            .verify(authenticated.secret.as_bytes(), now, Some(&self.keys))
            .ok()?;
        Some(authenticated)
    }
}

/// The request asks for the stored checksum (`x-amz-checksum-mode: ENABLED`; any other
/// value is left to s3s by [`plain_headers`]).
fn checksum_mode(h: &http::HeaderMap) -> bool {
    h.contains_key("x-amz-checksum-mode")
}

/// No header the fast path does not answer as s3s would (see the module docs).
fn plain_headers(h: &http::HeaderMap) -> bool {
    for (name, value) in h {
        let n = name.as_str();
        let ok = match n {
            "x-amz-date" | "x-amz-security-token" => true,
            // s3s answers any other value as no checksum asked: left to it.
            "x-amz-checksum-mode" => value.as_bytes() == b"ENABLED",
            "x-amz-content-sha256" => {
                value.as_bytes() == b"UNSIGNED-PAYLOAD"
                    || value.as_bytes() == EMPTY_SHA256.as_bytes()
            }
            "content-length" => value.as_bytes() == b"0",
            "range" | "origin" | "expect" | "content-md5" | "transfer-encoding" => false,
            n => !n.starts_with("x-amz-") && !n.starts_with("if-"),
        };
        if !ok {
            return false;
        }
    }
    h.contains_key("x-amz-content-sha256")
}

/// `AWS4-HMAC-SHA256 Credential=KEY/YYYYMMDD/REGION/s3/aws4_request,
/// SignedHeaders=a;b;c, Signature=<64 hex>`, exactly (what botocore sends, and what
/// both s3s's parser and iamd-sigv4's read alike); every signed header sent once,
/// with a value canonicalization leaves as it is; `x-amz-date` of the scope's day.
fn header_auth(h: &http::HeaderMap) -> Option<HeaderAuth<'_>> {
    const PREFIX: &[u8] = b"AWS4-HMAC-SHA256 Credential=";
    const SIGNED: &[u8] = b" SignedHeaders=";
    const SIGNATURE: &[u8] = b", Signature=";
    const SCOPE_END: &[u8] = b"/s3/aws4_request";
    let mut all = h.get_all(http::header::AUTHORIZATION).iter();
    let v = all.next()?.as_bytes();
    if all.next().is_some() {
        return None;
    }
    let rest = v.strip_prefix(PREFIX)?;
    let (rest, signature) = rest.split_at_checked(rest.len().checked_sub(64)?)?;
    if !signature
        .iter()
        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    let rest = rest.strip_suffix(SIGNATURE)?;
    // The credential holds no ',' (checked below): the first one ends it.
    let comma = rest.iter().position(|&b| b == b',')?;
    let (credential, signed) = rest.split_at(comma);
    let signed = signed.get(1..)?.strip_prefix(SIGNED)?;
    let credential = credential.strip_suffix(SCOPE_END)?;
    // KEY/YYYYMMDD/REGION
    let slash = credential.iter().position(|&b| b == b'/')?;
    let (access_key, rest) = credential.split_at(slash);
    let (date, region) = rest.get(1..)?.split_at_checked(8)?;
    let region = region.strip_prefix(b"/")?;
    if access_key.is_empty()
        || !access_key.iter().all(u8::is_ascii_alphanumeric)
        || !date.iter().all(u8::is_ascii_digit)
        || !region
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
    {
        return None;
    }
    // Sorted, lower-case names; then each sent once with a value canonicalization
    // leaves alone (one pass over the request's headers: no lookup per name).
    let mut names: [&[u8]; 16] = [b""; 16];
    let mut count = 0usize;
    for name in signed.split(|&b| b == b';') {
        let previous = count.checked_sub(1).and_then(|i| names.get(i));
        if previous.is_some_and(|p| name <= *p)
            || name.is_empty()
            || !name
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        {
            return None;
        }
        *names.get_mut(count)? = name;
        count += 1;
    }
    let names = names.get(..count)?;
    let mut seen = 0usize;
    for (name, value) in h {
        if !names.contains(&name.as_str().as_bytes()) {
            // The guard's rule (every `x-amz-*` header signed), checked here too: the
            // fast path may run before the guard (`crate::admit`).
            if name.as_str().starts_with("x-amz-") {
                return None;
            }
            continue;
        }
        seen += 1;
        let value = value.as_bytes();
        // (Byte by byte: a slice comparison per window would call memcmp.)
        let mut spaces = value.iter().zip(value.iter().skip(1));
        let plain = value.first().is_some_and(|b| *b != b' ')
            && value.last().is_some_and(|b| *b != b' ')
            && !spaces.any(|(a, b)| *a == b' ' && *b == b' ')
            && !value.contains(&b'\t');
        if !plain {
            return None;
        }
    }
    // Each signed header present, none twice (the iteration yields every value).
    if seen != count {
        return None;
    }
    let amz_date = h.get("x-amz-date")?.as_bytes();
    if amz_date.len() != 16 || amz_date.get(..8) != Some(date) {
        return None;
    }
    Some(HeaderAuth {
        access_key: std::str::from_utf8(access_key).ok()?,
        date: std::str::from_utf8(date).ok()?,
    })
}

/// The bucket and key of a path-style object path, percent-decoded as s3s decodes it
/// (`None` for anything else: a bucket alone, a malformed escape, non-UTF-8).
fn bucket_and_key(path: &str) -> Option<(String, String)> {
    let rest = path.strip_prefix('/')?;
    let decoded = if rest.contains('%') {
        String::from_utf8(iamd_text::percent::decode_strict(rest.as_bytes(), false).ok()?).ok()?
    } else {
        rest.to_owned()
    };
    let (bucket, key) = decoded.split_once('/')?;
    (!bucket.is_empty() && !key.is_empty()).then(|| (bucket.to_owned(), key.to_owned()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn headers(list: &[(&str, &str)]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (k, v) in list {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261205/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("host", "127.0.0.1:9000"),
            ("x-amz-date", "20261205T101010Z"),
            ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
            ("authorization", AUTH),
        ]
    }

    #[test]
    fn only_plain_requests() {
        let h = headers(&base());
        assert!(plain_headers(&h) && !checksum_mode(&h));
        let mut l = base();
        l.push(("x-amz-checksum-mode", "ENABLED"));
        let with_mode = headers(&l);
        assert!(plain_headers(&with_mode) && checksum_mode(&with_mode));
        let a = header_auth(&h).unwrap();
        assert_eq!((a.access_key, a.date), ("AKIDEXAMPLE", "20261205"));
        for extra in [
            ("range", "bytes=0-1"),
            ("if-match", "\"x\""),
            ("origin", "http://a"),
            ("x-amz-checksum-mode", "enabled"),
            ("x-amz-expected-bucket-owner", "123456789012"),
            ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
            ("expect", "100-continue"),
            ("content-length", "3"),
        ] {
            let mut l = base();
            l.push(extra);
            assert!(!plain_headers(&headers(&l)), "{extra:?}");
        }
        let mut l = base();
        l[2] = ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER");
        assert!(!plain_headers(&headers(&l)));
    }

    #[test]
    fn only_botocores_authorization_form() {
        let with = |auth: &'static str, extra: &[(&'static str, &'static str)]| {
            let mut l = base();
            l[3] = ("authorization", auth);
            l.extend_from_slice(extra);
            header_auth(&headers(&l)).is_some()
        };
        assert!(with(AUTH, &[]));
        // Another service, other spacing, upper-case signature, unsorted headers.
        assert!(!with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261205/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", &[]));
        assert!(!with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261205/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", &[]));
        assert!(!with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261205/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", &[]));
        assert!(!with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261205/us-east-1/s3/aws4_request, SignedHeaders=x-amz-date;host;x-amz-content-sha256, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", &[]));
        // A signed header sent twice, or with a value canonicalization changes.
        let twice = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261205/us-east-1/s3/aws4_request, SignedHeaders=host;user-agent;x-amz-content-sha256;x-amz-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert!(with(twice, &[("user-agent", "a b")]));
        assert!(!with(twice, &[("user-agent", "a"), ("user-agent", "b")]));
        assert!(!with(twice, &[("user-agent", "a  b")]));
        // An x-amz-* header present but not signed (the guard would refuse it).
        assert!(!with(AUTH, &[("x-amz-security-token", "t")]));
        // The scope's day is not x-amz-date's.
        let other_day = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261204/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert!(!with(other_day, &[]));
    }

    #[test]
    fn paths_are_decoded_as_s3s_does() {
        assert_eq!(
            bucket_and_key("/b/a%20b/c+d"),
            Some(("b".into(), "a b/c+d".into()))
        );
        assert_eq!(bucket_and_key("/b/k%2Fx"), Some(("b".into(), "k/x".into())));
        assert_eq!(bucket_and_key("/b/"), None);
        assert_eq!(bucket_and_key("/b"), None);
        assert_eq!(bucket_and_key("/b/%zz"), None);
        assert_eq!(bucket_and_key("/b/%ff"), None);
        assert_eq!(bucket_and_key("/b/%4"), None);
    }
}
