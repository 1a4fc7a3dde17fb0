//! Signing (for tests and the server's own tooling). Produces exactly what the
//! verifier's primary canonicalization expects.

use crate::auth::{Payload, RequestParts};
use crate::canonical::{
    canonical_request, derive_signing_key, hex_lower, hmac, parse_query, sha256, string_to_sign,
    uri_encode_into, CanonicalInput, ALGORITHM, EMPTY_SHA256, UNSIGNED_PAYLOAD,
};
use crate::time::AmzDate;

/// Headers botocore never signs.
const UNSIGNED_HEADERS: &[&str] = &["authorization", "user-agent", "expect", "x-amzn-trace-id"];

/// What to sign with.
#[derive(Clone, Copy)]
pub struct SigningParams<'a> {
    /// Access key id.
    pub access_key_id: &'a str,
    /// Secret access key.
    pub secret_access_key: &'a [u8],
    /// Session token: presigning puts it in `X-Amz-Security-Token`; header signing
    /// expects the caller to have added an `X-Amz-Security-Token` header already.
    pub session_token: Option<&'a str>,
    /// Region as it goes into the scope (any string).
    pub region: &'a str,
    /// Service as it goes into the scope (any string).
    pub service: &'a str,
    /// Signing time.
    pub time: AmzDate,
    /// Explicit signed header names (lowercase); default: every header present except
    /// `authorization`, `user-agent`, `expect` and `x-amzn-trace-id`.
    pub signed_headers: Option<&'a [&'a str]>,
    /// Explicit payload hash; default: `x-amz-content-sha256` if present, else the
    /// request's [`Payload`] (empty body if unknown); `UNSIGNED-PAYLOAD` when presigning.
    pub payload_hash: Option<&'a str>,
}

impl std::fmt::Debug for SigningParams<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningParams")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("region", &self.region)
            .field("service", &self.service)
            .field("time", &self.time)
            .finish_non_exhaustive()
    }
}

impl<'a> SigningParams<'a> {
    /// Parameters with defaults for the optional fields.
    pub fn new(
        access_key_id: &'a str,
        secret_access_key: &'a [u8],
        region: &'a str,
        service: &'a str,
        time: AmzDate,
    ) -> Self {
        SigningParams {
            access_key_id,
            secret_access_key,
            session_token: None,
            region,
            service,
            time,
            signed_headers: None,
            payload_hash: None,
        }
    }
}

/// The result of signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedOutput {
    /// Lowercase hex signature.
    pub signature: String,
    /// The canonical request that was signed.
    pub canonical_request: String,
    /// The string to sign.
    pub string_to_sign: String,
    /// `;`-joined signed header names.
    pub signed_headers: String,
    /// Header signing: the `Authorization` header value. Presigning: the complete new
    /// query string (original parameters followed by the `X-Amz-*` ones), no `?`.
    pub value: String,
}

fn default_signed_headers(req: &RequestParts<'_>) -> String {
    let mut names: Vec<String> = req
        .headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .filter(|n| !UNSIGNED_HEADERS.contains(&n.as_str()))
        .collect();
    names.sort();
    names.dedup();
    names.join(";")
}

fn signed_header_list(req: &RequestParts<'_>, p: &SigningParams<'_>) -> String {
    match p.signed_headers {
        Some(list) => {
            let mut v: Vec<String> = list.iter().map(|s| s.to_ascii_lowercase()).collect();
            v.sort();
            v.dedup();
            v.join(";")
        }
        None => default_signed_headers(req),
    }
}

fn scope(p: &SigningParams<'_>) -> String {
    format!(
        "{}/{}/{}/aws4_request",
        p.time.date_stamp(),
        p.region,
        p.service
    )
}

fn finish(
    req: &RequestParts<'_>,
    query: &str,
    signed_headers: &str,
    payload_hash: &str,
    p: &SigningParams<'_>,
) -> (String, String, String) {
    let params = parse_query(query);
    let input = CanonicalInput {
        method: req.method,
        path: req.path,
        query: &params,
        headers: req.headers,
        signed_headers,
        skip_signature_param: false,
    };
    let (style, _) = req.uri_mode.styles(p.service);
    let cr = canonical_request(&input, style, false, payload_hash);
    let sts = string_to_sign(&p.time.to_string(), &scope(p), &cr);
    let key = derive_signing_key(
        p.secret_access_key,
        &p.time.date_stamp(),
        p.region,
        p.service,
    );
    let sig = hex_lower(&hmac(&key, sts.as_bytes()));
    (sig, String::from_utf8_lossy(&cr).into_owned(), sts)
}

/// Signs `req` for the `Authorization` header. The request must already carry `host`
/// and `x-amz-date` headers (and `x-amz-security-token`, `x-amz-content-sha256` if
/// wanted).
pub fn sign_headers(req: &RequestParts<'_>, p: &SigningParams<'_>) -> SignedOutput {
    let signed_headers = signed_header_list(req, p);
    let payload_hash = match p.payload_hash {
        Some(h) => h.to_owned(),
        None => match req
            .header("x-amz-content-sha256")
            .and_then(|v| std::str::from_utf8(v).ok())
        {
            Some(v) => v.trim().to_owned(),
            None => match req.payload {
                Payload::Bytes(b) => hex_lower(&sha256(b)),
                Payload::Sha256(h) => hex_lower(&h),
                Payload::Unknown => EMPTY_SHA256.to_owned(),
            },
        },
    };
    let (signature, canonical_request, string_to_sign) =
        finish(req, req.query, &signed_headers, &payload_hash, p);
    let value = format!(
        "{ALGORITHM} Credential={}/{}, SignedHeaders={}, Signature={}",
        p.access_key_id,
        scope(p),
        signed_headers,
        signature
    );
    SignedOutput {
        signature,
        canonical_request,
        string_to_sign,
        signed_headers,
        value,
    }
}

fn push_param(q: &mut String, name: &str, value: &str) {
    if !q.is_empty() {
        q.push('&');
    }
    q.push_str(name);
    q.push('=');
    let mut v = Vec::new();
    uri_encode_into(&mut v, value.as_bytes(), false);
    q.push_str(&String::from_utf8_lossy(&v));
}

/// Presigns `req` (query authentication), valid for `expires_secs` seconds. The
/// request must carry a `host` header. Returns the new query string in
/// [`SignedOutput::value`].
pub fn presign(req: &RequestParts<'_>, p: &SigningParams<'_>, expires_secs: u32) -> SignedOutput {
    let signed_headers = signed_header_list(req, p);
    let payload_hash = p.payload_hash.unwrap_or(UNSIGNED_PAYLOAD);
    let mut query = req.query.to_owned();
    push_param(&mut query, "X-Amz-Algorithm", ALGORITHM);
    push_param(
        &mut query,
        "X-Amz-Credential",
        &format!("{}/{}", p.access_key_id, scope(p)),
    );
    push_param(&mut query, "X-Amz-Date", &p.time.to_string());
    push_param(&mut query, "X-Amz-Expires", &expires_secs.to_string());
    if let Some(t) = p.session_token {
        push_param(&mut query, "X-Amz-Security-Token", t);
    }
    push_param(&mut query, "X-Amz-SignedHeaders", &signed_headers);
    let (signature, canonical_request, string_to_sign) =
        finish(req, &query, &signed_headers, payload_hash, p);
    push_param(&mut query, "X-Amz-Signature", &signature);
    SignedOutput {
        signature,
        canonical_request,
        string_to_sign,
        signed_headers,
        value: query,
    }
}

/// The SigV4 signing key for a scope (exposed for tooling and tests that check
/// chunk signatures, such as the fuzz crate's aws-chunked decoder).
pub fn signing_key(secret: &[u8], date: &str, region: &str, service: &str) -> [u8; 32] {
    derive_signing_key(secret, date, region, service)
}
