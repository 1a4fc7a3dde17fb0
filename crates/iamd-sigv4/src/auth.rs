//! Parsing (step 1) and verification (step 2) of a SigV4-authenticated request.

use std::borrow::Cow;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use subtle::ConstantTimeEq;

use crate::cache::SigningKeyCache;
use crate::canonical::{
    self, canonical_request, decode_hex32, derive_signing_key, hex_lower, parse_query,
    string_to_sign, CanonicalInput, PathStyle, QueryParam, UriMode, ALGORITHM, EMPTY_SHA256,
    STREAMING_PAYLOAD, STREAMING_PAYLOAD_TRAILER, STREAMING_UNSIGNED_PAYLOAD_TRAILER,
    UNSIGNED_PAYLOAD,
};
use crate::error::{MismatchDiagnostics, SigError, SIGNATURE_DOES_NOT_MATCH_MESSAGE};
use crate::time::AmzDate;

/// Allowed clock skew between the request time and `now`, in seconds (15 minutes).
pub const MAX_SKEW_SECS: i64 = 15 * 60;
/// Largest allowed `X-Amz-Expires` (one week).
pub const MAX_PRESIGNED_EXPIRES_SECS: u32 = 604_800;

/// IAM's message when `host` is not among the signed headers.
pub const HOST_NOT_SIGNED_MESSAGE: &str =
    "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.";

/// Where the body hash of the canonical request comes from when the request carries no
/// `x-amz-content-sha256` header.
#[derive(Clone, Copy, Default)]
pub enum Payload<'a> {
    /// The body is not available (streaming S3 bodies). Header-authenticated requests
    /// then need `x-amz-content-sha256`; presigned ones use `UNSIGNED-PAYLOAD` or the
    /// hash of an empty body.
    #[default]
    Unknown,
    /// The whole body, already read (IAM/STS form posts). If `x-amz-content-sha256` is
    /// also present and is a hex hash, it is checked against these bytes.
    Bytes(&'a [u8]),
    /// The SHA-256 of the body, computed by the caller.
    Sha256([u8; 32]),
}

impl fmt::Debug for Payload<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Payload::Unknown => f.write_str("Unknown"),
            Payload::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Payload::Sha256(h) => write!(f, "Sha256({})", hex_lower(h)),
        }
    }
}

/// The parts of an HTTP request that SigV4 covers, borrowed from the server's request.
#[derive(Clone, Copy)]
pub struct RequestParts<'a> {
    /// HTTP method, e.g. `POST`.
    pub method: &'a str,
    /// The path exactly as received, still percent-encoded, without the query.
    pub path: &'a str,
    /// The raw query string without the leading `?` (empty if none).
    pub query: &'a str,
    /// All request headers in arrival order; names in any case. For HTTP/2 the server
    /// must include the `:authority` as a `host` header.
    pub headers: &'a [(&'a str, &'a [u8])],
    /// Where the payload hash comes from if `x-amz-content-sha256` is absent.
    pub payload: Payload<'a>,
    /// Which canonical URI forms are acceptable (default: by service).
    pub uri_mode: UriMode,
}

impl<'a> RequestParts<'a> {
    /// A request with an unknown payload and [`UriMode::Auto`].
    pub fn new(
        method: &'a str,
        path: &'a str,
        query: &'a str,
        headers: &'a [(&'a str, &'a [u8])],
    ) -> Self {
        RequestParts {
            method,
            path,
            query,
            headers,
            payload: Payload::Unknown,
            uri_mode: UriMode::Auto,
        }
    }

    /// Sets the payload source.
    pub fn with_payload(mut self, payload: Payload<'a>) -> Self {
        self.payload = payload;
        self
    }

    /// Sets the canonical URI mode.
    pub fn with_uri_mode(mut self, mode: UriMode) -> Self {
        self.uri_mode = mode;
        self
    }

    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    fn header_str(&self, name: &str) -> Option<&'a str> {
        self.header(name).and_then(|v| std::str::from_utf8(v).ok())
    }
}

/// Redacts `authorization` and `x-amz-security-token` values.
impl fmt::Debug for RequestParts<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Headers<'h>(&'h [(&'h str, &'h [u8])]);
        impl fmt::Debug for Headers<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut m = f.debug_list();
                for (n, v) in self.0 {
                    if n.eq_ignore_ascii_case("authorization")
                        || n.eq_ignore_ascii_case("x-amz-security-token")
                    {
                        m.entry(&format_args!("{n}: <redacted>"));
                    } else {
                        m.entry(&format_args!("{n}: {}", String::from_utf8_lossy(v)));
                    }
                }
                m.finish()
            }
        }
        f.debug_struct("RequestParts")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query_len", &self.query.len())
            .field("headers", &Headers(self.headers))
            .field("payload", &self.payload)
            .field("uri_mode", &self.uri_mode)
            .finish()
    }
}

/// How the request was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    /// `Authorization: AWS4-HMAC-SHA256 ...` header.
    Header,
    /// Presigned URL (`X-Amz-Algorithm` etc. in the query).
    Presigned {
        /// `X-Amz-Expires`, in seconds (0..=604800; 0 has expired at once).
        expires_secs: u32,
    },
}

/// The credential scope `date/region/service/aws4_request`, exactly as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialScope<'a> {
    /// `YYYYMMDD`.
    pub date: Cow<'a, str>,
    /// The region as sent (any string: boto 2 sends `0` for `127.0.0.1`).
    pub region: Cow<'a, str>,
    /// The service as sent (any string: boto 2 sends `127` for `127.0.0.1`).
    pub service: Cow<'a, str>,
}

impl CredentialScope<'_> {
    /// `date/region/service/aws4_request`, as [`fmt::Display`] writes it (built
    /// directly: this runs on every request).
    pub fn joined(&self) -> String {
        const TERM: &str = "/aws4_request";
        let mut s =
            String::with_capacity(self.date.len() + self.region.len() + self.service.len() + 15);
        for (i, part) in [&self.date, &self.region, &self.service]
            .into_iter()
            .enumerate()
        {
            if i > 0 {
                s.push('/');
            }
            s.push_str(part);
        }
        s.push_str(TERM);
        s
    }
}

impl fmt::Display for CredentialScope<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.joined())
    }
}

/// The session token that came with the request.
#[derive(Clone, PartialEq, Eq)]
pub struct SecurityToken<'a> {
    /// The token (opaque to this crate; the server decrypts and validates it).
    pub token: Cow<'a, str>,
    /// Whether the token is covered by the signature (always true for presigned URLs,
    /// where it is part of the signed query; for header auth, whether
    /// `x-amz-security-token` is among the signed headers).
    pub signed: bool,
}

impl fmt::Debug for SecurityToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecurityToken")
            .field("token", &format_args!("<{} chars>", self.token.len()))
            .field("signed", &self.signed)
            .finish()
    }
}

/// A parsed, not yet verified, SigV4 authentication.
#[derive(Clone)]
pub struct ParsedAuth<'a> {
    req: RequestParts<'a>,
    kind: AuthKind,
    access_key_id: Cow<'a, str>,
    scope: CredentialScope<'a>,
    scope_string: String,
    signed_headers: Cow<'a, str>,
    signature_hex: Cow<'a, str>,
    timestamp: AmzDate,
    timestamp_string: Cow<'a, str>,
    security_token: Option<SecurityToken<'a>>,
    query: Vec<QueryParam<'a>>,
}

impl fmt::Debug for ParsedAuth<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedAuth")
            .field("kind", &self.kind)
            .field("access_key_id", &self.access_key_id)
            .field("scope", &self.scope_string)
            .field("signed_headers", &self.signed_headers)
            .field("timestamp", &self.timestamp)
            .field("security_token", &self.security_token)
            .field("method", &self.req.method)
            .field("path", &self.req.path)
            .finish_non_exhaustive()
    }
}

/// The outcome of a successful verification.
#[derive(Clone)]
pub struct Verified {
    kind: AuthKind,
    signature: [u8; 32],
    signature_age_ms: u64,
    payload_hash: String,
    timestamp: AmzDate,
}

impl fmt::Debug for Verified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified")
            .field("kind", &self.kind)
            .field("signature", &hex_lower(&self.signature))
            .field("signature_age_ms", &self.signature_age_ms)
            .field("payload_hash", &self.payload_hash)
            .field("timestamp", &self.timestamp)
            .finish()
    }
}

/// What the payload hash of a verified request says about the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadKind<'a> {
    /// A hex SHA-256 the body must match (the S3 layer checks it while reading the body
    /// if the body was not passed to the verifier).
    Sha256(&'a str),
    /// `UNSIGNED-PAYLOAD`.
    Unsigned,
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`: signed aws-chunked body.
    StreamingSigned,
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`: signed aws-chunked body with a
    /// signed trailer.
    StreamingSignedTrailer,
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: unsigned aws-chunked body with a trailer.
    StreamingUnsignedTrailer,
    /// Anything else (e.g. `STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD`).
    Other(&'a str),
}

impl Verified {
    /// Header or presigned.
    pub fn kind(&self) -> AuthKind {
        self.kind
    }

    /// The verified request signature (the seed signature for aws-chunked bodies).
    pub fn signature(&self) -> [u8; 32] {
        self.signature
    }

    /// The request signature as lowercase hex.
    pub fn signature_hex(&self) -> String {
        hex_lower(&self.signature)
    }

    /// `now` minus the request time in milliseconds (S3's `s3:signatureAge`), 0 if the
    /// request time is in the future.
    pub fn signature_age_ms(&self) -> u64 {
        self.signature_age_ms
    }

    /// The request time (`X-Amz-Date`).
    pub fn timestamp(&self) -> AmzDate {
        self.timestamp
    }

    /// The payload hash that was signed.
    pub fn payload_hash(&self) -> &str {
        &self.payload_hash
    }

    /// Classifies [`Verified::payload_hash`].
    pub fn payload_kind(&self) -> PayloadKind<'_> {
        match self.payload_hash.as_str() {
            UNSIGNED_PAYLOAD => PayloadKind::Unsigned,
            STREAMING_PAYLOAD => PayloadKind::StreamingSigned,
            STREAMING_PAYLOAD_TRAILER => PayloadKind::StreamingSignedTrailer,
            STREAMING_UNSIGNED_PAYLOAD_TRAILER => PayloadKind::StreamingUnsignedTrailer,
            h if decode_hex32(h).is_some() => PayloadKind::Sha256(h),
            other => PayloadKind::Other(other),
        }
    }
}

fn missing_param_message(header: &str, missing: &[&str], has_date: bool) -> String {
    let mut msg = String::new();
    for m in missing {
        msg.push_str("Authorization header requires '");
        msg.push_str(m);
        msg.push_str("' parameter. ");
    }
    if !has_date {
        msg.push_str(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
        );
    }
    msg.push_str("Authorization=");
    msg.push_str(header);
    msg
}

fn parse_credential<'a>(
    cred: Cow<'a, str>,
    presigned: bool,
) -> Result<(Cow<'a, str>, CredentialScope<'a>), SigError> {
    fn split(cred: &str, presigned: bool) -> Result<[&str; 4], SigError> {
        let bad = || {
            SigError::incomplete(
                format!(
                    "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{cred}'"
                ),
                presigned,
            )
        };
        let mut parts = cred.split('/');
        let (Some(akid), Some(date), Some(region), Some(service), Some(term), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad());
        };
        if term != "aws4_request" {
            return Err(SigError::incomplete(
                format!("Credential should be scoped with a valid terminator: 'aws4_request', not '{term}'."),
                presigned,
            ));
        }
        if akid.is_empty() {
            return Err(bad());
        }
        if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SigError::incomplete(
                format!("Invalid credential date '{date}'. Date must be in YYYYMMDD format."),
                presigned,
            ));
        }
        Ok([akid, date, region, service])
    }
    Ok(match cred {
        Cow::Borrowed(b) => {
            let [akid, date, region, service] = split(b, presigned)?;
            (
                Cow::Borrowed(akid),
                CredentialScope {
                    date: Cow::Borrowed(date),
                    region: Cow::Borrowed(region),
                    service: Cow::Borrowed(service),
                },
            )
        }
        Cow::Owned(o) => {
            let [akid, date, region, service] = split(&o, presigned)?;
            (
                Cow::Owned(akid.to_owned()),
                CredentialScope {
                    date: Cow::Owned(date.to_owned()),
                    region: Cow::Owned(region.to_owned()),
                    service: Cow::Owned(service.to_owned()),
                },
            )
        }
    })
}

fn parse_date_value(s: &str, presigned: bool) -> Result<AmzDate, SigError> {
    AmzDate::parse_iso_basic(s.trim()).ok_or_else(|| {
        SigError::incomplete(
            format!(
                "Date must be in ISO-8601 'basic format'. Got '{s}'. See http://en.wikipedia.org/wiki/ISO_8601"
            ),
            presigned,
        )
    })
}

fn query_value<'q>(params: &'q [QueryParam<'_>], name: &str) -> Option<&'q [u8]> {
    params
        .iter()
        .find(|p| p.name.as_ref() == name.as_bytes())
        .map(|p| p.value.as_ref())
}

fn query_str<'q>(params: &'q [QueryParam<'_>], name: &str) -> Option<Cow<'q, str>> {
    query_value(params, name).map(String::from_utf8_lossy)
}

fn owned(c: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(c.into_owned())
}

/// Parses the SigV4 authentication of a request (step 1): no secret needed.
///
/// Returns [`SigError::MissingAuthenticationToken`] when the request carries no
/// authentication at all (the S3 layer treats that as anonymous).
pub fn parse<'a>(req: &RequestParts<'a>) -> Result<ParsedAuth<'a>, SigError> {
    let req = *req;
    let query = parse_query(req.query);
    let authz = req.header("authorization");
    let is_presigned = query.iter().any(|p| {
        matches!(
            p.name.as_ref(),
            b"X-Amz-Algorithm" | b"X-Amz-Credential" | b"X-Amz-Signature"
        )
    });
    match (authz, is_presigned) {
        (Some(_), true) => Err(SigError::ConflictingAuthentication),
        (None, false) => Err(SigError::MissingAuthenticationToken),
        (Some(h), false) => parse_header_auth(req, query, h),
        (None, true) => parse_presigned(req, query),
    }
}

fn parse_header_auth<'a>(
    req: RequestParts<'a>,
    query: Vec<QueryParam<'a>>,
    header: &'a [u8],
) -> Result<ParsedAuth<'a>, SigError> {
    let header = std::str::from_utf8(header)
        .map_err(|_| SigError::incomplete("Authorization header is not valid UTF-8", false))?;
    let trimmed = header.trim();
    let (algorithm, rest) = trimmed.split_once(' ').unwrap_or((trimmed, ""));
    if algorithm != ALGORITHM {
        return Err(SigError::UnsupportedAlgorithm {
            message: format!("Unsupported AWS 'algorithm': '{algorithm}'"),
        });
    }
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((k, v)) = part.split_once('=') else {
            return Err(SigError::incomplete(
                format!("'{part}' not a valid key=value pair (missing equal-sign) in Authorization header: '{header}'."),
                false,
            ));
        };
        match k.trim() {
            "Credential" => credential = Some(v.trim()),
            "SignedHeaders" => signed_headers = Some(v.trim()),
            "Signature" => signature = Some(v.trim()),
            _ => {}
        }
    }
    let amz_date = req.header_str("x-amz-date");
    let date_header = req.header_str("date");
    let has_date = amz_date.is_some() || date_header.is_some();
    let mut missing = Vec::new();
    if credential.is_none() {
        missing.push("Credential");
    }
    if signature.is_none() {
        missing.push("Signature");
    }
    if signed_headers.is_none() {
        missing.push("SignedHeaders");
    }
    let (Some(credential), Some(signed_headers), Some(signature), true) =
        (credential, signed_headers, signature, has_date)
    else {
        return Err(SigError::incomplete(
            missing_param_message(header, &missing, has_date),
            false,
        ));
    };
    let (access_key_id, scope) = parse_credential(Cow::Borrowed(credential), false)?;
    let timestamp = match (amz_date, date_header) {
        (Some(d), _) => parse_date_value(d, false)?,
        (None, Some(d)) => AmzDate::parse_http_date(d).ok_or_else(|| {
            SigError::incomplete(
                format!("Date must be in ISO-8601 'basic format' or RFC 7231 format. Got '{d}'."),
                false,
            )
        })?,
        (None, None) => {
            return Err(SigError::incomplete(
                missing_param_message(header, &[], false),
                false,
            ))
        }
    };
    let token_signed = signed_headers
        .split(';')
        .any(|h| h.eq_ignore_ascii_case("x-amz-security-token"));
    let security_token = req
        .header_str("x-amz-security-token")
        .map(|t| SecurityToken {
            token: Cow::Borrowed(t.trim()),
            signed: token_signed,
        });
    finish(
        req,
        query,
        AuthKind::Header,
        access_key_id,
        scope,
        Cow::Borrowed(signed_headers),
        Cow::Borrowed(signature),
        timestamp,
        amz_date.map(|d| Cow::Borrowed(d.trim())),
        security_token,
    )
}

fn parse_presigned<'a>(
    req: RequestParts<'a>,
    query: Vec<QueryParam<'a>>,
) -> Result<ParsedAuth<'a>, SigError> {
    let algorithm = query_str(&query, "X-Amz-Algorithm").map(owned);
    let credential = query_str(&query, "X-Amz-Credential").map(owned);
    let date = query_str(&query, "X-Amz-Date").map(owned);
    let signed_headers = query_str(&query, "X-Amz-SignedHeaders").map(owned);
    let signature = query_str(&query, "X-Amz-Signature").map(owned);
    let expires = query_str(&query, "X-Amz-Expires").map(owned);
    let (
        Some(algorithm),
        Some(credential),
        Some(date),
        Some(signed_headers),
        Some(signature),
        Some(expires),
    ) = (
        algorithm,
        credential,
        date,
        signed_headers,
        signature,
        expires,
    )
    else {
        return Err(SigError::incomplete(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
            true,
        ));
    };
    if algorithm != ALGORITHM {
        return Err(SigError::incomplete(
            "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"",
            true,
        ));
    }
    // AWS's checks and texts; 0 is accepted here and has expired by the time check.
    let expires_secs = match expires.trim().parse::<i64>() {
        Ok(n) if n < 0 => {
            return Err(SigError::incomplete(
                "X-Amz-Expires must be non-negative",
                true,
            ))
        }
        Ok(n) if n > i64::from(MAX_PRESIGNED_EXPIRES_SECS) => {
            return Err(SigError::incomplete(
                "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds",
                true,
            ))
        }
        Ok(n) => u32::try_from(n).unwrap_or(MAX_PRESIGNED_EXPIRES_SECS),
        Err(_) => {
            return Err(SigError::incomplete(
                "X-Amz-Expires should be a number",
                true,
            ))
        }
    };
    let (access_key_id, scope) = parse_credential(credential, true)?;
    let timestamp = parse_date_value(&date, true)?;
    let security_token = query_str(&query, "X-Amz-Security-Token")
        .map(owned)
        .map(|t| SecurityToken {
            token: t,
            signed: true,
        })
        .or_else(|| {
            let signed = signed_headers
                .split(';')
                .any(|h| h.eq_ignore_ascii_case("x-amz-security-token"));
            req.header_str("x-amz-security-token")
                .map(|t| SecurityToken {
                    token: Cow::Borrowed(t.trim()),
                    signed,
                })
        });
    finish(
        req,
        query,
        AuthKind::Presigned { expires_secs },
        access_key_id,
        scope,
        signed_headers,
        signature,
        timestamp,
        Some(Cow::Owned(date.trim().to_owned())),
        security_token,
    )
}

#[expect(
    clippy::too_many_arguments,
    reason = "the parts of a parsed header or presigned query, assembled in one place"
)]
fn finish<'a>(
    req: RequestParts<'a>,
    query: Vec<QueryParam<'a>>,
    kind: AuthKind,
    access_key_id: Cow<'a, str>,
    scope: CredentialScope<'a>,
    signed_headers: Cow<'a, str>,
    signature_hex: Cow<'a, str>,
    timestamp: AmzDate,
    raw_timestamp: Option<Cow<'a, str>>,
    security_token: Option<SecurityToken<'a>>,
) -> Result<ParsedAuth<'a>, SigError> {
    let presigned = matches!(kind, AuthKind::Presigned { .. });
    if !signed_headers
        .split(';')
        .any(|h| h.eq_ignore_ascii_case("host"))
    {
        return Err(SigError::SignatureDoesNotMatch {
            message: Cow::Borrowed(HOST_NOT_SIGNED_MESSAGE),
            diagnostics: None,
        });
    }
    // The client signed the date string it sent; it is strict ISO 8601 basic here.
    let timestamp_string = raw_timestamp.unwrap_or_else(|| Cow::Owned(timestamp.to_string()));
    let date_part = timestamp_string.get(..8).unwrap_or_default();
    if scope.date != date_part {
        return Err(SigError::incomplete(
            format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{}'.",
                scope.date, date_part, timestamp_string
            ),
            presigned,
        ));
    }
    let scope_string = scope.joined();
    Ok(ParsedAuth {
        req,
        kind,
        access_key_id,
        scope,
        scope_string,
        signed_headers,
        signature_hex,
        timestamp,
        timestamp_string,
        security_token,
        query,
    })
}

/// Removes the session token from a canonical request kept for diagnostics (errors
/// end up in logs).
fn redact_token(canonical: &str) -> String {
    let mut out = String::with_capacity(canonical.len());
    for (i, line) in canonical.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if line.starts_with("x-amz-security-token:") {
            out.push_str("x-amz-security-token:<redacted>");
        } else if i == 2 && line.contains("X-Amz-Security-Token=") {
            let parts: Vec<String> = line
                .split('&')
                .map(|p| {
                    if p.starts_with("X-Amz-Security-Token=") {
                        "X-Amz-Security-Token=<redacted>".to_owned()
                    } else {
                        p.to_owned()
                    }
                })
                .collect();
            out.push_str(&parts.join("&"));
        } else {
            out.push_str(line);
        }
    }
    out
}

fn system_time_ms(t: SystemTime) -> i128 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i128::try_from(d.as_millis()).unwrap_or(i128::MAX),
        Err(e) => -i128::try_from(e.duration().as_millis()).unwrap_or(i128::MAX),
    }
}

impl<'a> ParsedAuth<'a> {
    /// The access key id (look the secret up by it).
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The credential scope as sent.
    pub fn scope(&self) -> &CredentialScope<'a> {
        &self.scope
    }

    /// Header or presigned.
    pub fn kind(&self) -> AuthKind {
        self.kind
    }

    /// The request time (`X-Amz-Date`, or `Date` as a fallback for header auth).
    pub fn timestamp(&self) -> AmzDate {
        self.timestamp
    }

    /// The session token, if one came with the request.
    pub fn security_token(&self) -> Option<&SecurityToken<'a>> {
        self.security_token.as_ref()
    }

    /// The signed header names as listed by the client.
    pub fn signed_headers(&self) -> impl Iterator<Item = &str> {
        self.signed_headers.split(';').filter(|s| !s.is_empty())
    }

    /// The signature as sent.
    pub fn signature_hex(&self) -> &str {
        &self.signature_hex
    }

    /// Names of `x-amz-*` request headers that are not signed (S3 rejects such
    /// requests with `AccessDenied`: "There were headers present in the request which
    /// were not signed"; see [`ParsedAuth::require_signed_amz_headers`]).
    pub fn unsigned_amz_headers(&self) -> Vec<&'a str> {
        let mut out: Vec<&'a str> = Vec::new();
        for (name, _) in self.req.headers {
            let lower_is_amz = name
                .get(..6)
                .is_some_and(|p| p.eq_ignore_ascii_case("x-amz-"));
            if !lower_is_amz
                || self.signed_headers().any(|s| s.eq_ignore_ascii_case(name))
                || out.iter().any(|o| o.eq_ignore_ascii_case(name))
            {
                continue;
            }
            out.push(name);
        }
        out
    }

    /// Every `x-amz-*` header must be signed, as S3 requires: an unsigned one could
    /// change what a signed request does. For presigned URLs `x-amz-content-sha256` is
    /// exempt (the URL is signed over `UNSIGNED-PAYLOAD`; a client may add the body's
    /// hash, which is then checked against the body, never trusted). A session token
    /// must be signed (in a presigned URL it is part of the signed query).
    /// Errors with [`SigError::HeadersNotSigned`] (S3 and the Query APIs: 403
    /// `AccessDenied`).
    pub fn require_signed_amz_headers(&self) -> Result<(), SigError> {
        let presigned = matches!(self.kind, AuthKind::Presigned { .. });
        let unsigned: Vec<String> = self
            .unsigned_amz_headers()
            .into_iter()
            .filter(|h| !(presigned && h.eq_ignore_ascii_case("x-amz-content-sha256")))
            .map(str::to_ascii_lowercase)
            .collect();
        if unsigned.is_empty() {
            Ok(())
        } else {
            Err(SigError::HeadersNotSigned { headers: unsigned })
        }
    }

    fn canonical_input(&self) -> CanonicalInput<'_, 'a> {
        CanonicalInput {
            method: self.req.method,
            path: self.req.path,
            query: &self.query,
            headers: self.req.headers,
            signed_headers: &self.signed_headers,
            skip_signature_param: matches!(self.kind, AuthKind::Presigned { .. }),
        }
    }

    /// The payload hashes to try, in order.
    fn payload_hashes(&self) -> Result<Vec<Cow<'a, str>>, SigError> {
        let presigned = matches!(self.kind, AuthKind::Presigned { .. });
        // For presigned URLs the header only counts if it was signed (a client may send
        // it unsigned alongside a URL presigned with UNSIGNED-PAYLOAD).
        let header_counts = !presigned
            || self
                .signed_headers()
                .any(|h| h.eq_ignore_ascii_case("x-amz-content-sha256"));
        let declared = self
            .req
            .header_str("x-amz-content-sha256")
            .filter(|_| header_counts)
            .map(|v| Cow::Borrowed(v.trim()))
            .or_else(|| {
                if presigned {
                    query_str(&self.query, "X-Amz-Content-Sha256").map(owned)
                } else {
                    None
                }
            });
        let body_hash = match self.req.payload {
            Payload::Unknown => None,
            Payload::Bytes(b) => Some(canonical::sha256(b)),
            Payload::Sha256(h) => Some(h),
        };
        if let Some(d) = declared {
            if let (Some(declared_hash), Some(actual)) = (decode_hex32(&d), body_hash) {
                if !bool::from(declared_hash.ct_eq(&actual)) {
                    return Err(SigError::ContentSha256Mismatch);
                }
            }
            return Ok(vec![d]);
        }
        match self.kind {
            AuthKind::Presigned { .. } => Ok(vec![
                Cow::Borrowed(UNSIGNED_PAYLOAD),
                match body_hash {
                    Some(h) => Cow::Owned(hex_lower(&h)),
                    None => Cow::Borrowed(EMPTY_SHA256),
                },
            ]),
            AuthKind::Header => match body_hash {
                Some(h) => Ok(vec![Cow::Owned(hex_lower(&h))]),
                None => Err(SigError::InvalidRequest {
                    message: "Missing required header for this request: x-amz-content-sha256"
                        .to_owned(),
                }),
            },
        }
    }

    /// The primary canonical request (what a botocore-style client signs).
    pub fn canonical_request(&self) -> Result<String, SigError> {
        let hashes = self.payload_hashes()?;
        let (style, _) = self.req.uri_mode.styles(&self.scope.service);
        let payload = hashes.first().map(|h| h.as_ref()).unwrap_or(EMPTY_SHA256);
        let cr = canonical_request(&self.canonical_input(), style, false, payload);
        Ok(String::from_utf8_lossy(&cr).into_owned())
    }

    /// The string to sign of [`ParsedAuth::canonical_request`].
    pub fn string_to_sign(&self) -> Result<String, SigError> {
        let cr = self.canonical_request()?;
        Ok(string_to_sign(
            &self.timestamp_string,
            &self.scope_string,
            cr.as_bytes(),
        ))
    }

    /// The time checks of [`ParsedAuth::verify`] alone (clock skew of a header
    /// signature; a presigned URL's validity window), at `now`: the signature's age in
    /// milliseconds. Lets a caller refuse an expired request before looking up a key.
    pub fn check_time(&self, now: SystemTime) -> Result<u64, SigError> {
        let now_ms = system_time_ms(now);
        let t_ms = i128::from(self.timestamp.unix()) * 1000;
        let now_secs = AmzDate::from_unix(i64::try_from(now_ms.div_euclid(1000)).unwrap_or(0));
        let t = self.timestamp.unix();
        match self.kind {
            AuthKind::Header => {
                if t < now_secs.unix() - MAX_SKEW_SECS {
                    return Err(SigError::RequestExpired {
                        message: format!(
                            "Signature expired: {} is now earlier than {} ({} - 15 min.)",
                            self.timestamp,
                            AmzDate::from_unix(now_secs.unix() - MAX_SKEW_SECS),
                            now_secs
                        ),
                        presigned: false,
                    });
                }
                if t > now_secs.unix() + MAX_SKEW_SECS {
                    return Err(SigError::RequestExpired {
                        message: format!(
                            "Signature not yet current: {} is still later than {} ({} + 15 min.)",
                            self.timestamp,
                            AmzDate::from_unix(now_secs.unix() + MAX_SKEW_SECS),
                            now_secs
                        ),
                        presigned: false,
                    });
                }
            }
            AuthKind::Presigned { expires_secs } => {
                if t > now_secs.unix() + MAX_SKEW_SECS {
                    return Err(SigError::RequestExpired {
                        message: "Request is not yet valid.".to_owned(),
                        presigned: true,
                    });
                }
                if now_ms > t_ms + i128::from(expires_secs) * 1000 {
                    return Err(SigError::RequestExpired {
                        message: "Request has expired.".to_owned(),
                        presigned: true,
                    });
                }
            }
        }
        Ok(u64::try_from((now_ms - t_ms).max(0)).unwrap_or(u64::MAX))
    }

    /// Verifies the request (step 2) with the secret access key of
    /// [`ParsedAuth::access_key_id`] at time `now`. `cache` memoizes signing keys.
    pub fn verify(
        &self,
        secret: &[u8],
        now: SystemTime,
        cache: Option<&SigningKeyCache>,
    ) -> Result<Verified, SigError> {
        let signature_age_ms = self.check_time(now)?;
        let hashes = self.payload_hashes()?;
        let provided = decode_hex32(&self.signature_hex);
        let cached = cache.and_then(|c| {
            c.get_keyed(
                &self.access_key_id,
                secret,
                &self.scope.date,
                &self.scope.region,
                &self.scope.service,
            )
        });
        let was_cached = cached.is_some();
        let (signing_key, mac) = match cached {
            Some(k) => k,
            None => {
                let k = derive_signing_key(
                    secret,
                    &self.scope.date,
                    &self.scope.region,
                    &self.scope.service,
                );
                (k, canonical::keyed(&k))
            }
        };

        let remember = |v: Verified| -> Verified {
            if let (Some(c), false) = (cache, was_cached) {
                c.insert(
                    &self.access_key_id,
                    secret,
                    &self.scope.date,
                    &self.scope.region,
                    &self.scope.service,
                    signing_key,
                );
            }
            v
        };
        let input = self.canonical_input();
        let (primary, fallback) = self.req.uri_mode.styles(&self.scope.service);
        let plus_variants: &[bool] = if self.req.query.contains('+') {
            &[false, true]
        } else {
            &[false]
        };
        let mut diagnostics = None;
        let mut attempt = |style: PathStyle| -> Option<Verified> {
            for hash in &hashes {
                for &plus in plus_variants {
                    let cr = canonical_request(&input, style, plus, hash);
                    let sts = string_to_sign(&self.timestamp_string, &self.scope_string, &cr);
                    let sig = canonical::hmac_keyed(&mac, sts.as_bytes());
                    if provided.is_some_and(|p| bool::from(sig.ct_eq(&p))) {
                        return Some(Verified {
                            kind: self.kind,
                            signature: sig,
                            signature_age_ms,
                            payload_hash: hash.to_string(),
                            timestamp: self.timestamp,
                        });
                    }
                    if diagnostics.is_none() {
                        diagnostics = Some(Box::new(MismatchDiagnostics {
                            canonical_request: redact_token(&String::from_utf8_lossy(&cr)),
                            string_to_sign: sts,
                        }));
                    }
                }
            }
            None
        };
        if let Some(v) = attempt(primary) {
            return Ok(remember(v));
        }
        // Fallback canonical URI form, only when it differs from the primary one.
        if let Some(f) = fallback {
            let mut a = Vec::new();
            let mut b = Vec::new();
            canonical::canonical_uri_into(&mut a, self.req.path, primary);
            canonical::canonical_uri_into(&mut b, self.req.path, f);
            if a != b {
                if let Some(v) = attempt(f) {
                    return Ok(remember(v));
                }
            }
        }
        Err(SigError::SignatureDoesNotMatch {
            message: Cow::Borrowed(SIGNATURE_DOES_NOT_MATCH_MESSAGE),
            diagnostics,
        })
    }
}

/// One-call verification: parse, look the secret up with `lookup` (which returns
/// [`SigError::InvalidClientTokenId`] for unknown or inactive keys), verify.
pub fn verify_request<'a, S, F>(
    req: &RequestParts<'a>,
    now: SystemTime,
    cache: Option<&SigningKeyCache>,
    lookup: F,
) -> Result<(ParsedAuth<'a>, Verified), SigError>
where
    S: AsRef<[u8]>,
    F: FnOnce(&ParsedAuth<'a>) -> Result<S, SigError>,
{
    let parsed = parse(req)?;
    let secret = lookup(&parsed)?;
    let verified = parsed.verify(secret.as_ref(), now, cache)?;
    Ok((parsed, verified))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign::{presign, sign_headers, SigningParams};
    use std::time::Duration;

    const T: &str = "20261128T101010Z";

    fn at(offset: i64) -> SystemTime {
        let t = AmzDate::parse_iso_basic(T).unwrap().unix() + offset;
        UNIX_EPOCH + Duration::from_secs(t as u64)
    }

    fn params<'a>(region: &'a str, service: &'a str) -> SigningParams<'a> {
        SigningParams::new(
            "AKID",
            b"secret",
            region,
            service,
            AmzDate::parse_iso_basic(T).unwrap(),
        )
    }

    fn header_signed(
        region: &str,
        service: &str,
        body: &[u8],
        extra: &[(&'static str, &'static [u8])],
    ) -> Vec<(String, Vec<u8>)> {
        let mut headers: Vec<(&str, &[u8])> =
            vec![("Host", b"127.0.0.1"), ("X-Amz-Date", T.as_bytes())];
        headers.extend_from_slice(extra);
        let req = RequestParts::new("POST", "/", "", &headers).with_payload(Payload::Bytes(body));
        let out = sign_headers(&req, &params(region, service));
        let mut v: Vec<(String, Vec<u8>)> = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_vec()))
            .collect();
        v.push(("Authorization".into(), out.value.into_bytes()));
        v
    }

    fn check(
        headers: &[(String, Vec<u8>)],
        query: &str,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Verified, SigError> {
        let h: Vec<(&str, &[u8])> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_slice()))
            .collect();
        let req = RequestParts::new("POST", "/", query, &h).with_payload(Payload::Bytes(body));
        let p = parse(&req)?;
        p.verify(b"secret", now, None)
    }

    #[test]
    fn boto2_scopes_verify() {
        for (r, s) in [
            ("0", "127"),
            ("localhost", "localhost"),
            ("us-east-1", "iam"),
        ] {
            let body = b"Action=ListUsers&Version=2010-05-08";
            let h = header_signed(r, s, body, &[]);
            let v = check(&h, "", body, at(0)).unwrap();
            assert_eq!(v.kind(), AuthKind::Header);
            let hh: Vec<(&str, &[u8])> =
                h.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect();
            let req = RequestParts::new("POST", "/", "", &hh);
            let p = parse(&req).unwrap();
            assert_eq!(p.scope().region, r);
            assert_eq!(p.scope().service, s);
            assert!(check(&h, "", b"Action=ListUsers&Version=2010-05-09", at(0)).is_err());
            assert!(check(&h, "", body, at(0)).is_ok());
        }
    }

    #[test]
    fn cache_filled_only_by_verified_requests() {
        let cache = SigningKeyCache::new(64);
        let h = header_signed("us-east-1", "iam", b"", &[]);
        let hh: Vec<(&str, &[u8])> = h.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect();
        let req = RequestParts::new("POST", "/", "", &hh).with_payload(Payload::Bytes(b""));
        let p = parse(&req).unwrap();
        assert!(p.verify(b"wrong", at(0), Some(&cache)).is_err());
        assert!(cache.is_empty());
        p.verify(b"secret", at(0), Some(&cache)).unwrap();
        assert_eq!(cache.len(), 1);
        p.verify(b"secret", at(0), Some(&cache)).unwrap();
        assert!(p.verify(b"wrong", at(0), Some(&cache)).is_err());
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn date_header_fallback() {
        let headers: Vec<(&str, &[u8])> = vec![
            ("Host", b"127.0.0.1"),
            ("Date", b"Sat, 28 Nov 2026 10:10:10 GMT"),
        ];
        let req = RequestParts::new("POST", "/", "", &headers).with_payload(Payload::Bytes(b"a=b"));
        let out = sign_headers(&req, &params("us-east-1", "iam"));
        assert_eq!(out.signed_headers, "date;host");
        assert!(out.string_to_sign.contains("\n20261128T101010Z\n"));
        let mut h2 = headers.clone();
        h2.push(("Authorization", out.value.as_bytes()));
        let req = RequestParts::new("POST", "/", "", &h2).with_payload(Payload::Bytes(b"a=b"));
        let p = parse(&req).unwrap();
        assert_eq!(p.timestamp().to_string(), T);
        p.verify(b"secret", at(0), None).unwrap();
        // X-Amz-Date wins over Date.
        let mut h3 = h2.clone();
        h3.push(("X-Amz-Date", b"20261128T111111Z"));
        let req = RequestParts::new("POST", "/", "", &h3).with_payload(Payload::Bytes(b"a=b"));
        assert_eq!(
            parse(&req).unwrap().timestamp().to_string(),
            "20261128T111111Z"
        );
    }

    #[test]
    fn skew() {
        let h = header_signed("us-east-1", "iam", b"", &[]);
        assert!(check(&h, "", b"", at(900)).is_ok());
        assert!(check(&h, "", b"", at(-900)).is_ok());
        let e = check(&h, "", b"", at(901)).unwrap_err();
        assert_eq!(e.aws_code(), "RequestExpired");
        assert_eq!(e.s3_code(), "RequestTimeTooSkewed");
        assert_eq!(
            e.to_string(),
            "Signature expired: 20261128T101010Z is now earlier than 20261128T101011Z (20261128T102511Z - 15 min.)"
        );
        let e = check(&h, "", b"", at(-901)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Signature not yet current: 20261128T101010Z is still later than 20261128T101009Z (20261128T095509Z + 15 min.)"
        );
    }

    #[test]
    fn session_token_and_content_sha() {
        let h = header_signed(
            "us-east-1",
            "sts",
            b"x",
            &[("X-Amz-Security-Token", b"tok/en+=")],
        );
        let hh: Vec<(&str, &[u8])> = h.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect();
        let req = RequestParts::new("POST", "/", "", &hh).with_payload(Payload::Bytes(b"x"));
        let p = parse(&req).unwrap();
        let t = p.security_token().unwrap();
        assert_eq!(t.token, "tok/en+=");
        assert!(t.signed);
        assert!(!format!("{p:?}").contains("tok/en"));
        assert!(!format!("{req:?}").contains("tok/en"));
        assert!(!format!("{req:?}").contains("Signature="));
        p.verify(b"secret", at(0), None).unwrap();
        // Declared hash that does not match the body.
        let h = header_signed(
            "us-east-1",
            "iam",
            b"x",
            &[("x-amz-content-sha256", EMPTY_SHA256.as_bytes())],
        );
        assert_eq!(
            check(&h, "", b"x", at(0)).unwrap_err(),
            SigError::ContentSha256Mismatch
        );
    }

    #[test]
    fn malformed_headers() {
        let hdr = |a: &'static str| -> Vec<(String, Vec<u8>)> {
            vec![
                ("Host".into(), b"h".to_vec()),
                ("Authorization".into(), a.as_bytes().to_vec()),
            ]
        };
        let e = check(&hdr("AWS4-HMAC-SHA256 foo=bar"), "", b"", at(0)).unwrap_err();
        assert_eq!(e.aws_code(), "IncompleteSignature");
        assert_eq!(
            e.to_string(),
            "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 foo=bar"
        );
        let e = check(&hdr("AWS AKID:sig"), "", b"", at(0)).unwrap_err();
        assert_eq!(e.s3_code(), "InvalidRequest");
        let e = check(&[("Host".into(), b"h".to_vec())], "", b"", at(0)).unwrap_err();
        assert_eq!(e, SigError::MissingAuthenticationToken);
        let mut h = hdr("AWS4-HMAC-SHA256 Credential=AKID/20261128/r/s/aws4_request, SignedHeaders=x-amz-date, Signature=00");
        h.push(("X-Amz-Date".into(), T.as_bytes().to_vec()));
        let e = check(&h, "", b"", at(0)).unwrap_err();
        assert_eq!(e.to_string(), HOST_NOT_SIGNED_MESSAGE);
        let mut h = hdr("AWS4-HMAC-SHA256 Credential=AKID/20261127/r/s/aws4_request, SignedHeaders=host;x-amz-date, Signature=00");
        h.push(("X-Amz-Date".into(), T.as_bytes().to_vec()));
        let e = check(&h, "", b"", at(0)).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("Date in Credential scope does not match"),
            "{e}"
        );
        let mut h = hdr("AWS4-HMAC-SHA256 Credential=AKID/20261128/r/aws4_request, SignedHeaders=host;x-amz-date, Signature=00");
        h.push(("X-Amz-Date".into(), T.as_bytes().to_vec()));
        let e = check(&h, "", b"", at(0)).unwrap_err();
        assert!(
            e.to_string().starts_with("Credential must have exactly 5"),
            "{e}"
        );
        let h = header_signed("us-east-1", "iam", b"", &[]);
        let e = check(&h, "X-Amz-Algorithm=AWS4-HMAC-SHA256", b"", at(0)).unwrap_err();
        assert_eq!(e, SigError::ConflictingAuthentication);
    }

    #[test]
    fn presigned() {
        let headers: Vec<(&str, &[u8])> = vec![("host", b"localhost:9000")];
        let mut p = params("us-east-1", "s3");
        p.session_token = Some("TOKEN+/=");
        let req = RequestParts::new("GET", "/bucket/key%20x", "versionId=3", &headers);
        let out = presign(&req, &p, 3600);
        let req = RequestParts::new("GET", "/bucket/key%20x", &out.value, &headers);
        let parsed = parse(&req).unwrap();
        assert_eq!(parsed.kind(), AuthKind::Presigned { expires_secs: 3600 });
        assert_eq!(parsed.security_token().unwrap().token, "TOKEN+/=");
        let v = parsed.verify(b"secret", at(10), None).unwrap();
        assert_eq!(v.signature_age_ms(), 10_000);
        assert_eq!(v.payload_kind(), PayloadKind::Unsigned);
        assert!(parsed.verify(b"secret", at(3600), None).is_ok());
        let with_hdr: Vec<(&str, &[u8])> = vec![
            ("host", b"localhost:9000"),
            ("x-amz-content-sha256", EMPTY_SHA256.as_bytes()),
        ];
        let req2 = RequestParts::new("GET", "/bucket/key%20x", &out.value, &with_hdr);
        parse(&req2)
            .unwrap()
            .verify(b"secret", at(1), None)
            .unwrap();
        let e = parsed.verify(b"secret", at(3601), None).unwrap_err();
        assert_eq!(e.s3_code(), "AccessDenied");
        assert_eq!(e.to_string(), "Request has expired.");
        assert_eq!(e.s3_message(), "Request has expired");
        let e = parsed.verify(b"secret", at(-901), None).unwrap_err();
        assert_eq!(e.s3_code(), "AccessDenied");
        let e = parsed.verify(b"wrong", at(1), None).unwrap_err();
        assert_eq!(e.aws_code(), "SignatureDoesNotMatch");
        let d = e.diagnostics().unwrap();
        assert!(d.canonical_request.starts_with("GET\n/bucket/key%20x\n"));
        assert!(d
            .canonical_request
            .contains("X-Amz-Security-Token=<redacted>"));
        assert!(!format!("{e:?}").contains("TOKEN"));
        // Expires bounds.
        for (exp, ok) in [
            ("0", true),
            ("604800", true),
            ("604801", false),
            ("-1", false),
            ("soon", false),
        ] {
            let q = out
                .value
                .replace("X-Amz-Expires=3600", &format!("X-Amz-Expires={exp}"));
            let req = RequestParts::new("GET", "/bucket/key%20x", &q, &headers);
            let parsed = parse(&req);
            assert_eq!(parsed.is_ok(), ok, "{exp}");
            if let Err(e) = parsed {
                assert_eq!(e.s3_code(), "AuthorizationQueryParametersError", "{exp}");
                assert_eq!(e.s3_http_status(), 400, "{exp}");
            }
        }
        // Zero seconds: expired at once.
        let q = out.value.replace("X-Amz-Expires=3600", "X-Amz-Expires=0");
        let req = RequestParts::new("GET", "/bucket/key%20x", &q, &headers);
        let e = parse(&req)
            .unwrap()
            .verify(b"secret", at(1), None)
            .unwrap_err();
        assert_eq!(e.s3_message(), "Request has expired");
        // Missing parameter.
        let q = out.value.replace("X-Amz-Date", "X-Amz-Dat");
        let req = RequestParts::new("GET", "/bucket/key%20x", &q, &headers);
        let e = parse(&req).unwrap_err();
        assert_eq!(e.s3_code(), "AuthorizationQueryParametersError");
    }

    #[test]
    fn s3_path_fallback_accepts_boto2_style() {
        // boto 2 sends '~' as %7E but signs it as '~'.
        let headers: Vec<(&str, &[u8])> = vec![
            ("host", b"localhost"),
            ("x-amz-date", T.as_bytes()),
            ("x-amz-content-sha256", EMPTY_SHA256.as_bytes()),
        ];
        let p = params("us-east-1", "s3");
        let signed_req = RequestParts::new("GET", "/b/a~b", "", &headers);
        let out = sign_headers(&signed_req, &p);
        let mut h2 = headers.clone();
        h2.push(("authorization", out.value.as_bytes()));
        let req = RequestParts::new("GET", "/b/a%7Eb", "", &h2);
        parse(&req).unwrap().verify(b"secret", at(0), None).unwrap();
        let req = RequestParts::new("GET", "/b/a%7Ec", "", &h2);
        assert!(parse(&req).unwrap().verify(b"secret", at(0), None).is_err());
    }
}
