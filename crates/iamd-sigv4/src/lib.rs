//! # iamd-sigv4 — AWS Signature Version 4 verification
//!
//! Pure: no I/O, no async, no clock reads, no logging. The caller passes the request
//! parts, the secret (looked up by access key id between the two steps) and `now`.
//!
//! Supported: `Authorization` header auth, presigned query auth (`X-Amz-Expires`
//! 0..=604800, enforced), session tokens (surfaced, not validated), signing scope taken
//! exactly as sent (boto 2's `0`/`127` region/service verify), ±15 min clock skew,
//! constant-time comparison and a signing-key cache. aws-chunked payloads
//! (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`, `STREAMING-UNSIGNED-PAYLOAD-TRAILER`)
//! are recognized ([`Verified::payload_kind`]) but not decoded here: the S3 server leaves
//! the body and its chunk signatures to s3s. The seed signature, request time, scope
//! ([`ParsedAuth::scope`]) and [`signing_key`] are public for tooling that checks chunk
//! signatures itself (the fuzz crate's differential decoder).
//!
//! ## Canonicalization notes
//! * Path (see [`UriMode`]): for scope service `s3` the raw path as sent, falling back to
//!   a per-segment decode + re-encode (boto 2 re-encodes, e.g. `~`); for every other
//!   service the path is normalized and encoded a second time (botocore), falling back
//!   to single encoding (boto 2). A fallback can only match if the signer signed that
//!   same decoded path, so it does not widen what a signature authorizes.
//! * Query: parameters decoded and re-encoded with the RFC 3986 unreserved set, sorted
//!   by name then value; a literal `+` is read as `+` first and, failing that, as a
//!   space — so the server's own query parser must treat `+` as a space.
//! * Payload: `x-amz-content-sha256` if present (checked against the body when the body
//!   is passed in), else the SHA-256 of [`Payload`]; presigned requests accept
//!   `UNSIGNED-PAYLOAD` (botocore) or the body hash (AWS SDKs for non-S3 services).
//! * `host` must be signed.
//!
//! ## Usage
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use iamd_sigv4::{parse, AmzDate, Payload, RequestParts, SigError, SigningKeyCache};
//!
//! // An IAM form POST as the server received it (signed here for the example).
//! let body = b"Action=ListUsers&Version=2010-05-08";
//! let mut headers: Vec<(&str, &[u8])> = vec![
//!     ("Host", b"127.0.0.1:8080"),
//!     ("Content-Type", b"application/x-www-form-urlencoded; charset=utf-8"),
//!     ("X-Amz-Date", b"20261128T101010Z"),
//! ];
//! let t = AmzDate::parse_iso_basic("20261128T101010Z").unwrap();
//! let params = iamd_sigv4::SigningParams::new("AKIDEXAMPLE", b"secret", "us-east-1", "iam", t);
//! let authz = iamd_sigv4::sign_headers(
//!     &RequestParts::new("POST", "/", "", &headers).with_payload(Payload::Bytes(body)),
//!     &params,
//! ).value;
//! headers.push(("Authorization", authz.as_bytes()));
//!
//! // --- server side ---
//! let cache = SigningKeyCache::default(); // owned by the server, shared by all requests
//! let req = RequestParts::new("POST", "/", "", &headers).with_payload(Payload::Bytes(body));
//! let parsed = parse(&req)?;                       // step 1: no secret needed
//! assert_eq!(parsed.access_key_id(), "AKIDEXAMPLE");
//! assert_eq!(parsed.scope().service, "iam");
//! let secret: &[u8] = b"secret";                   // look up by access key id;
//!                                                  // unknown -> SigError::InvalidClientTokenId
//! let now = UNIX_EPOCH + Duration::from_secs(t.unix() as u64 + 30);
//! let verified = parsed.verify(secret, now, Some(&cache))?;   // step 2
//! assert_eq!(verified.signature_age_ms(), 30_000);
//! # Ok::<(), SigError>(())
//! ```
//!
//! With an `http::HeaderMap`, build the header slice as
//! `map.iter().map(|(n, v)| (n.as_str(), v.as_bytes())).collect::<Vec<_>>()` (add a
//! `host` entry from the URI authority for HTTP/2).
//!
//! Presigned GET (S3 `generate_presigned_url`, presigned `sts:GetCallerIdentity`):
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use iamd_sigv4::{parse, AmzDate, AuthKind, RequestParts, SigError, SigningKeyCache};
//!
//! let t = AmzDate::parse_iso_basic("20261128T101010Z").unwrap();
//! let headers: Vec<(&str, &[u8])> = vec![("host", b"127.0.0.1:8080")];
//! let p = iamd_sigv4::SigningParams::new("AKIDEXAMPLE", b"secret", "us-east-1", "s3", t);
//! let query = iamd_sigv4::presign(&RequestParts::new("GET", "/houdini/cat.jpg", "", &headers), &p, 3600).value;
//!
//! let cache = SigningKeyCache::default();
//! let req = RequestParts::new("GET", "/houdini/cat.jpg", &query, &headers); // Payload::Unknown
//! let parsed = parse(&req)?;
//! assert_eq!(parsed.kind(), AuthKind::Presigned { expires_secs: 3600 });
//! let token = parsed.security_token();           // Some(..) if X-Amz-Security-Token was sent
//! assert!(token.is_none());
//! let now = UNIX_EPOCH + Duration::from_secs(t.unix() as u64 + 60);
//! let v = parsed.verify(b"secret", now, Some(&cache))?;
//! assert_eq!(v.signature_age_ms(), 60_000);      // s3:signatureAge
//! # Ok::<(), SigError>(())
//! ```
//!
#![forbid(unsafe_code)]

mod auth;
mod cache;
mod canonical;
mod error;
mod sign;
mod time;

pub use auth::{
    parse, verify_request, AuthKind, CredentialScope, ParsedAuth, Payload, PayloadKind,
    RequestParts, SecurityToken, Verified, HOST_NOT_SIGNED_MESSAGE, MAX_PRESIGNED_EXPIRES_SECS,
    MAX_SKEW_SECS,
};
pub use cache::SigningKeyCache;
pub use canonical::{
    PathStyle, UriMode, ALGORITHM, EMPTY_SHA256, STREAMING_PAYLOAD, STREAMING_PAYLOAD_TRAILER,
    STREAMING_UNSIGNED_PAYLOAD_TRAILER, UNSIGNED_PAYLOAD,
};
pub use error::{
    MismatchDiagnostics, SigError, S3_SIGNATURE_DOES_NOT_MATCH_MESSAGE,
    SIGNATURE_DOES_NOT_MATCH_MESSAGE,
};
pub use sign::{presign, sign_headers, signing_key, SignedOutput, SigningParams};
pub use time::AmzDate;
