//! Request-body integrity: `Content-MD5`, one `x-amz-checksum-*` value (a header, or an
//! aws-chunked trailer that `x-amz-trailer` names) and, for aws-chunked bodies,
//! `x-amz-decoded-content-length`.
//!
//! s3s 0.14.1 checks none of these: it verifies signatures, `x-amz-content-sha256` and
//! the aws-chunked framing, and hands `Content-MD5` over as an unchecked string. So
//! every body goes through [`Expect`]:
//!
//! - a plain body (what SDKs send) in [`CheckedBody`], which the listener wraps around
//!   the request body before s3s sees it: the digest is compared as the last byte
//!   passes, and a mismatch ends the body with an error *instead of* its end, so no
//!   operation — whether s3s reads the body whole and parses it (DeleteObjects,
//!   PutBucketPolicy, PutObjectTagging, CompleteMultipartUpload, CreateBucket) or
//!   streams it to disk (PutObject, UploadPart) — can act on a body that did not
//!   match; the listener answers with the refusal [`CheckedBody`] recorded. The body is
//!   read only after the engine allowed the request (s3s runs the access check first);
//!   a malformed digest header is reported on the first read, i.e. after it too.
//! - an aws-chunked body (decoded by s3s) in PutObject and UploadPart while it streams
//!   to disk ([`BodyCheck`] is the blob writer's [`Sink`]): the decoded length and a
//!   header or trailer checksum. The operations s3s parses whole refuse aws-chunked
//!   bodies that carry a digest ([`refuse_unchecked`]): nothing could check it.
//!
//! A CompleteMultipartUpload's `x-amz-checksum-*` headers are not its body's: they name
//! the assembled object's checksum, which the operation compares ([`check_declared`]).
//!
//! Kept checksums: PutObject and UploadPart also compute the checksum stored with the
//! object or part ([`Keep`], [`BodyCheck::kept`]): the declared algorithm's, else S3's
//! default CRC64NVME; a multipart object's is [`combine`]d from its parts' (`COMPOSITE`:
//! the digest of the part digests, `-N`; `FULL_OBJECT`: the parts' CRCs combined).
//!
//! The digests are s3s's own (`s3s::crypto`, already compiled in for its signature
//! checks): no second CRC or SHA implementation; CRC combination is `crc-fast`'s, the
//! engine under `s3s::crypto`.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use md5::{Digest, Md5};
use s3s::crypto::Checksum as _;
use s3s::{s3_error, S3Error, S3ErrorCode, S3Result, TrailingHeaders};

use crate::blobs::{BlobError, Sink};
use crate::guard::Refusal;

/// The `x-amz-checksum-*` algorithms S3 accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Crc32,
    Crc32c,
    Crc64Nvme,
    Sha1,
    Sha256,
}

impl Algorithm {
    const ALL: [Algorithm; 5] = [
        Algorithm::Crc32,
        Algorithm::Crc32c,
        Algorithm::Crc64Nvme,
        Algorithm::Sha1,
        Algorithm::Sha256,
    ];

    pub(crate) fn header(self) -> &'static str {
        match self {
            Algorithm::Crc32 => "x-amz-checksum-crc32",
            Algorithm::Crc32c => "x-amz-checksum-crc32c",
            Algorithm::Crc64Nvme => "x-amz-checksum-crc64nvme",
            Algorithm::Sha1 => "x-amz-checksum-sha1",
            Algorithm::Sha256 => "x-amz-checksum-sha256",
        }
    }

    /// As S3 names it in `x-amz-sdk-checksum-algorithm` and in its error messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Algorithm::Crc32 => "CRC32",
            Algorithm::Crc32c => "CRC32C",
            Algorithm::Crc64Nvme => "CRC64NVME",
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
        }
    }

    fn digest_len(self) -> usize {
        match self {
            Algorithm::Crc32 | Algorithm::Crc32c => 4,
            Algorithm::Crc64Nvme => 8,
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
        }
    }

    /// By its S3 name (`CRC32`, …; case-insensitive, as S3 takes `ChecksumAlgorithm`).
    pub(crate) fn by_name(name: &str) -> Option<Algorithm> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
    }

    /// The CRCs, which S3 combines into a full-object checksum of a multipart object.
    fn crc(self) -> Option<crc_fast::CrcAlgorithm> {
        match self {
            Algorithm::Crc32 => Some(crc_fast::CrcAlgorithm::Crc32IsoHdlc),
            Algorithm::Crc32c => Some(crc_fast::CrcAlgorithm::Crc32Iscsi),
            Algorithm::Crc64Nvme => Some(crc_fast::CrcAlgorithm::Crc64Nvme),
            Algorithm::Sha1 | Algorithm::Sha256 => None,
        }
    }

    fn by_header(name: &str) -> Option<Algorithm> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.header().eq_ignore_ascii_case(name))
    }
}

/// A running digest of one [`Algorithm`].
enum Sum {
    Crc32(s3s::crypto::Crc32),
    Crc32c(s3s::crypto::Crc32c),
    Crc64Nvme(s3s::crypto::Crc64Nvme),
    Sha1(s3s::crypto::Sha1),
    Sha256(s3s::crypto::Sha256),
}

impl Sum {
    fn new(a: Algorithm) -> Sum {
        match a {
            Algorithm::Crc32 => Sum::Crc32(s3s::crypto::Crc32::new()),
            Algorithm::Crc32c => Sum::Crc32c(s3s::crypto::Crc32c::new()),
            Algorithm::Crc64Nvme => Sum::Crc64Nvme(s3s::crypto::Crc64Nvme::new()),
            Algorithm::Sha1 => Sum::Sha1(s3s::crypto::Sha1::new()),
            Algorithm::Sha256 => Sum::Sha256(s3s::crypto::Sha256::new()),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Sum::Crc32(h) => h.update(data),
            Sum::Crc32c(h) => h.update(data),
            Sum::Crc64Nvme(h) => h.update(data),
            Sum::Sha1(h) => h.update(data),
            Sum::Sha256(h) => h.update(data),
        }
    }

    fn finish(self) -> Vec<u8> {
        match self {
            Sum::Crc32(h) => h.finalize().to_vec(),
            Sum::Crc32c(h) => h.finalize().to_vec(),
            Sum::Crc64Nvme(h) => h.finalize().to_vec(),
            Sum::Sha1(h) => h.finalize().as_ref().to_vec(),
            Sum::Sha256(h) => h.finalize().as_ref().to_vec(),
        }
    }
}

/// How a stored checksum covers its object (`x-amz-checksum-type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChecksumKind {
    /// The digest of the whole object (every PutObject; multipart with a CRC, combined).
    FullObject,
    /// The digest of the parts' binary digests, in part order (multipart only).
    Composite,
}

impl ChecksumKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            ChecksumKind::FullObject => "FULL_OBJECT",
            ChecksumKind::Composite => "COMPOSITE",
        }
    }

    pub(crate) fn by_name(s: &str) -> Option<ChecksumKind> {
        [ChecksumKind::FullObject, ChecksumKind::Composite]
            .into_iter()
            .find(|k| k.name() == s)
    }
}

/// An object's (or part's) stored checksum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ObjectChecksum {
    pub algorithm: Algorithm,
    pub kind: ChecksumKind,
    /// Base64 of the digest, without a composite's `-N`.
    pub value: String,
    /// A composite's number of parts (its `-N`); 0 otherwise.
    pub parts: usize,
}

impl ObjectChecksum {
    /// As S3 returns it in `x-amz-checksum-*` headers and Complete/Copy results: a
    /// composite with its `-N` (GetObjectAttributes returns [`Self::value`]).
    pub(crate) fn wire(&self) -> String {
        match self.kind {
            ChecksumKind::Composite => format!("{}-{}", self.value, self.parts),
            ChecksumKind::FullObject => self.value.clone(),
        }
    }
}

/// The algorithm and type of a new multipart upload (CreateMultipartUpload's
/// `x-amz-checksum-algorithm` and `x-amz-checksum-type`): SHA-1/SHA-256 composite
/// only, CRC64NVME full-object only, CRC32/CRC32C composite unless asked otherwise.
/// `None` for neither: the upload then keeps S3's default, a CRC64NVME of each part,
/// combined into a full-object checksum.
pub(crate) fn upload_checksum(
    algorithm: Option<&str>,
    kind: Option<&str>,
) -> S3Result<Option<(Algorithm, ChecksumKind)>> {
    let kind = kind
        .map(|k| {
            ChecksumKind::by_name(k)
                .ok_or_else(|| invalid_request("Value for x-amz-checksum-type header is invalid."))
        })
        .transpose()?;
    let Some(name) = algorithm else {
        return match kind {
            Some(_) => Err(invalid_request(
                "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.",
            )),
            None => Ok(None),
        };
    };
    let a = Algorithm::by_name(name).ok_or_else(|| {
        invalid_request("Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
    })?;
    let kind = kind.unwrap_or(match a {
        Algorithm::Crc64Nvme => ChecksumKind::FullObject,
        _ => ChecksumKind::Composite,
    });
    let allowed = match kind {
        ChecksumKind::FullObject => a.crc().is_some(),
        ChecksumKind::Composite => a != Algorithm::Crc64Nvme,
    };
    if !allowed {
        return Err(invalid_request(format!(
            "The {} checksum type cannot be used with the {} checksum algorithm.",
            kind.name(),
            a.name().to_ascii_lowercase()
        )));
    }
    Ok(Some((a, kind)))
}

/// A multipart object's checksum from its parts' `(base64 checksum, size)` in part
/// order: composite (the digest of the concatenated digests) or full-object (the
/// parts' CRCs combined as if computed over the whole object). `None` if a part's
/// value is malformed or the algorithm has no full-object form.
pub(crate) fn combine(
    a: Algorithm,
    kind: ChecksumKind,
    parts: &[(&str, u64)],
) -> Option<ObjectChecksum> {
    let digests: Vec<Vec<u8>> = parts
        .iter()
        .map(|(v, _)| unbase64(v).filter(|d| d.len() == a.digest_len()))
        .collect::<Option<_>>()?;
    let value = match kind {
        ChecksumKind::Composite => {
            let mut sum = Sum::new(a);
            for d in &digests {
                sum.update(d);
            }
            sum.finish()
        }
        ChecksumKind::FullObject => {
            let crc = a.crc()?;
            let as_u64 = |d: &[u8]| d.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
            let mut whole: Option<u64> = None;
            for (d, (_, len)) in digests.iter().zip(parts) {
                let part = as_u64(d);
                whole = Some(match whole {
                    None => part,
                    Some(w) => crc_fast::checksum_combine(crc, w, part, *len),
                });
            }
            let bytes = whole.unwrap_or(0).to_be_bytes();
            bytes.get(8 - a.digest_len()..)?.to_vec()
        }
    };
    Some(ObjectChecksum {
        algorithm: a,
        kind,
        value: iamd_api::base64::encode(&value),
        parts: if kind == ChecksumKind::Composite {
            parts.len()
        } else {
            0
        },
    })
}

/// A checksum value a request names for a whole object (CompleteMultipartUpload's
/// `x-amz-checksum-*`), checked against the one computed: `InvalidRequest` for another
/// algorithm or type than the upload's, `BadDigest` for another value.
pub(crate) fn check_declared(
    computed: &ObjectChecksum,
    declared: &[(Algorithm, Option<&str>)],
    declared_kind: Option<&str>,
) -> S3Result<()> {
    if let Some(k) = declared_kind {
        if k != computed.kind.name() {
            return Err(invalid_request(format!(
                "The upload was created using the {} checksum mode. The complete request must use the same checksum mode.",
                computed.kind.name().to_ascii_lowercase().replace('_', " ")
            )));
        }
    }
    for (a, v) in declared {
        let Some(v) = v else { continue };
        if *a != computed.algorithm {
            return Err(invalid_request(format!(
                "The upload was created using a {} checksum. The complete request had checksums for {}.",
                computed.algorithm.name().to_ascii_lowercase(),
                a.name().to_ascii_lowercase()
            )));
        }
        let v = v.trim();
        if v != computed.wire() && v != computed.value {
            return Err(checksum_mismatch(*a));
        }
    }
    Ok(())
}

fn invalid_request(msg: impl Into<String>) -> S3Error {
    S3Error::with_message(S3ErrorCode::InvalidRequest, msg.into())
}

/// The checksum an aws-chunked body declares for its trailer (`x-amz-trailer`), for a
/// body decoded outside s3s (test mode's root, whose chunk signatures cannot be
/// checked): fed the decoded bytes, then compared with the trailer's value.
pub struct TrailerSum {
    algorithm: Algorithm,
    sum: Sum,
}

impl TrailerSum {
    /// The checksum `x-amz-trailer` names, if it names one.
    pub fn declared(h: &HeaderMap) -> Option<TrailerSum> {
        let names = header_str(h, "x-amz-trailer")?;
        let algorithm = names
            .split(',')
            .find_map(|n| Algorithm::by_header(n.trim()))?;
        Some(TrailerSum {
            algorithm,
            sum: Sum::new(algorithm),
        })
    }

    pub fn update(&mut self, data: &[u8]) {
        self.sum.update(data);
    }

    /// Compares with the trailing headers sent (name, value): S3's `BadDigest` for
    /// another value, `InvalidRequest` for a missing or malformed one.
    pub fn verify(self, trailers: &[(String, String)]) -> Result<(), Refusal> {
        let header = self.algorithm.header();
        let Some((_, value)) = trailers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(header))
        else {
            return Err(Refusal::from_s3(&invalid_request(format!(
                "The x-amz-trailer header named {header}, which the body did not send."
            ))));
        };
        let sent = unbase64(value.trim())
            .filter(|d| d.len() == self.algorithm.digest_len())
            .ok_or_else(|| {
                Refusal::from_s3(&invalid_request(format!(
                    "Value for {header} trailing header is invalid."
                )))
            })?;
        if sent != self.sum.finish() {
            return Err(Refusal::from_s3(&checksum_mismatch(self.algorithm)));
        }
        Ok(())
    }
}

fn invalid_digest() -> S3Error {
    s3_error!(InvalidDigest, "The Content-MD5 you specified was invalid.")
}

fn md5_mismatch() -> S3Error {
    s3_error!(
        BadDigest,
        "The Content-MD5 you specified did not match what we received."
    )
}

fn checksum_mismatch(a: Algorithm) -> S3Error {
    S3Error::with_message(
        S3ErrorCode::BadDigest,
        format!(
            "The {} you specified did not match the calculated checksum.",
            a.name()
        ),
    )
}

/// More or fewer decoded bytes than `x-amz-decoded-content-length` declared (S3
/// answers both with this, without a final period).
pub(crate) fn incomplete_body() -> S3Error {
    s3_error!(
        IncompleteBody,
        "You did not provide the number of bytes specified by the Content-Length HTTP header"
    )
}

/// DeleteObjects without `Content-MD5` or any `x-amz-checksum-*`.
pub(crate) fn missing_digest() -> S3Error {
    invalid_request("Missing required header for this request: Content-MD5 OR x-amz-checksum-*")
}

/// Standard padded base64, as S3 takes digests; `None` unless well formed.
fn unbase64(s: &str) -> Option<Vec<u8>> {
    let padded = !s.is_empty() && s.len().is_multiple_of(4);
    if !padded || s.bytes().any(|b| b.is_ascii_whitespace()) {
        return None;
    }
    iamd_api::base64::decode(s)
}

fn header_str<'h>(h: &'h HeaderMap, name: &str) -> Option<&'h str> {
    h.get(name).map(|v| v.to_str().unwrap_or(""))
}

/// What a request says its body is: validated from the headers before the body is read.
#[derive(Debug, Default, Clone)]
pub(crate) struct Expect {
    md5: Option<[u8; 16]>,
    checksum: Option<(Algorithm, Vec<u8>)>,
    /// Announced by `x-amz-trailer`; the value follows the aws-chunked body.
    trailer: Option<Algorithm>,
    /// `x-amz-decoded-content-length` of an aws-chunked body (S3 ignores the header on
    /// plain bodies, whose length HTTP framing enforces).
    length: Option<u64>,
}

impl Expect {
    /// `InvalidDigest` for a malformed `Content-MD5`; `InvalidRequest` for a malformed
    /// or second checksum value or an `x-amz-sdk-checksum-algorithm` that names another
    /// algorithm than the value.
    pub(crate) fn from_headers(h: &HeaderMap) -> S3Result<Expect> {
        Expect::parse(h, false)
    }

    /// `object_checksums`: the `x-amz-checksum-*` headers name the checksum of an object
    /// the request assembles (CompleteMultipartUpload), not of its body: left out.
    fn parse(h: &HeaderMap, object_checksums: bool) -> S3Result<Expect> {
        let mut e = Expect::default();
        if let Some(v) = header_str(h, "content-md5") {
            let d = unbase64(v.trim()).and_then(|d| <[u8; 16]>::try_from(d).ok());
            e.md5 = Some(d.ok_or_else(invalid_digest)?);
        }
        let multiple = || {
            invalid_request(
                "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
            )
        };
        for a in Algorithm::ALL {
            let Some(v) = header_str(h, a.header()).filter(|_| !object_checksums) else {
                continue;
            };
            if e.checksum.is_some() {
                return Err(multiple());
            }
            let d = unbase64(v.trim())
                .filter(|d| d.len() == a.digest_len())
                .ok_or_else(|| {
                    invalid_request(format!("Value for {} header is invalid.", a.header()))
                })?;
            e.checksum = Some((a, d));
        }
        if let Some(names) = header_str(h, "x-amz-trailer") {
            for a in names
                .split(',')
                .filter_map(|n| Algorithm::by_header(n.trim()))
            {
                if e.checksum.is_some() || e.trailer.is_some() {
                    return Err(multiple());
                }
                e.trailer = Some(a);
            }
        }
        if let Some(sdk) = header_str(h, "x-amz-sdk-checksum-algorithm") {
            let named = e.checksum.as_ref().map(|c| c.0).or(e.trailer);
            if named.is_some_and(|a| !sdk.trim().eq_ignore_ascii_case(a.name())) {
                return Err(invalid_request(
                    "Value for x-amz-sdk-checksum-algorithm header is invalid.",
                ));
            }
        }
        if is_aws_chunked(h) {
            e.length = header_str(h, "x-amz-decoded-content-length").and_then(|v| v.parse().ok());
        }
        Ok(e)
    }

    /// The request carries a digest of its body (DeleteObjects requires one).
    #[cfg(test)]
    fn has_digest(&self) -> bool {
        self.md5.is_some() || self.checksum.is_some() || self.trailer.is_some()
    }

    /// The check to run over the body as it streams; `trailers` are the aws-chunked
    /// trailing headers s3s fills in when the body ends. Nothing is kept.
    pub(crate) fn check(self, trailers: Option<TrailingHeaders>) -> BodyCheck {
        let algorithm = self.declared();
        BodyCheck {
            sum: algorithm.map(Sum::new),
            extra: None,
            kept: None,
            expect: self,
            trailers: trailers.map(Trailers::Stream),
            seen: 0,
        }
    }

    /// The algorithm of the checksum the request declared (header or trailer).
    fn declared(&self) -> Option<Algorithm> {
        self.checksum.as_ref().map(|c| c.0).or(self.trailer)
    }

    /// [`Expect::check`] that also computes the checksum to store, as `keep` says.
    fn check_keeping(self, trailers: Option<TrailingHeaders>, keep: Keep) -> S3Result<BodyCheck> {
        let declared = self.declared();
        let kept = match (keep, declared) {
            (Keep::DeclaredOr(_), Some(d)) => d,
            (Keep::DeclaredOr(a) | Keep::Also(a), _) => a,
            (Keep::Only(a) | Keep::Required(a), d)
                if d.is_some_and(|d| d != a) || (d.is_none() && keep == Keep::Required(a)) =>
            {
                return Err(invalid_request(format!(
                    "Checksum Type mismatch occurred, expected checksum Type: {}, actual checksum Type: {}",
                    a.name().to_ascii_lowercase(),
                    d.map_or("null".to_string(), |d| d.name().to_ascii_lowercase())
                )))
            }
            (Keep::Only(a) | Keep::Required(a), _) => a,
        };
        let mut check = self.check(trailers);
        check.kept = Some((kept, None));
        if declared != Some(kept) {
            check.extra = Some(Sum::new(kept));
        }
        Ok(check)
    }

    /// Checks a body read whole.
    #[cfg(test)]
    fn verify(self, body: &[u8]) -> S3Result<()> {
        let md5: [u8; 16] = if self.md5.is_some() {
            Md5::digest(body).into()
        } else {
            [0; 16]
        };
        let mut check = self.check(None);
        check.feed(body)?;
        check.end(&md5)
    }
}

/// Which checksum a written body keeps (S3 stores one per object and per part).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Keep {
    /// The declared algorithm's, else this one's (PutObject: S3's default CRC64NVME).
    DeclaredOr(Algorithm),
    /// This algorithm's; a checksum declared in another is refused (parts of a
    /// full-object upload created with a checksum algorithm).
    Only(Algorithm),
    /// [`Keep::Only`], and the request must declare the checksum (parts of a composite
    /// upload: S3 refuses a part without one).
    Required(Algorithm),
    /// This algorithm's, whatever else is declared (and verified): parts of an upload
    /// created without one, copies.
    Also(Algorithm),
}

/// The check PutObject and UploadPart run while their body streams to disk: the
/// declared digests (again for a plain body, which [`CheckedBody`] checked on its way
/// in; for an aws-chunked body the only check, with its decoded length), and the
/// checksum to store, computed as `keep` says ([`BodyCheck::kept`]).
pub(crate) fn stream_check(
    h: &HeaderMap,
    trailers: Option<TrailingHeaders>,
    keep: Keep,
) -> S3Result<BodyCheck> {
    Expect::from_headers(h)?.check_keeping(trailers, keep)
}

/// A check of stored bytes that only computes the checksum to keep (copies).
pub(crate) fn compute(a: Algorithm) -> BodyCheck {
    let mut check = Expect::default().check(None);
    check.kept = Some((a, None));
    check.extra = Some(Sum::new(a));
    check
}

/// `x-amz-content-sha256: STREAMING-…`: s3s decodes the aws-chunked body.
pub(crate) fn is_aws_chunked(h: &HeaderMap) -> bool {
    header_str(h, "x-amz-content-sha256").is_some_and(|v| v.starts_with("STREAMING-"))
}

/// [`Expect`] applied to a body as it passes.
pub(crate) struct BodyCheck {
    expect: Expect,
    /// The declared algorithm's digest.
    sum: Option<Sum>,
    /// The kept algorithm's digest when it is not the declared one.
    extra: Option<Sum>,
    /// The algorithm to keep, and its value once the body ended and was verified.
    kept: Option<(Algorithm, Option<Vec<u8>>)>,
    trailers: Option<Trailers>,
    seen: u64,
}

/// Where an aws-chunked body's trailing headers are read once it ended.
enum Trailers {
    /// Filled in by s3s as it decodes the body.
    Stream(TrailingHeaders),
    #[cfg(test)]
    Given(HeaderMap),
}

impl Trailers {
    fn read<R>(&self, f: impl FnOnce(&HeaderMap) -> R) -> Option<R> {
        match self {
            Trailers::Stream(t) => t.read(f),
            #[cfg(test)]
            Trailers::Given(h) => Some(f(h)),
        }
    }
}

impl BodyCheck {
    fn feed(&mut self, chunk: &[u8]) -> S3Result<()> {
        self.seen += chunk.len() as u64;
        if self.expect.length.is_some_and(|l| self.seen > l) {
            return Err(incomplete_body());
        }
        if let Some(s) = &mut self.sum {
            s.update(chunk);
        }
        if let Some(s) = &mut self.extra {
            s.update(chunk);
        }
        Ok(())
    }

    /// `md5` is the body's MD5 (the blob writer computes it for the ETag anyway); it
    /// is read only when the request sent `Content-MD5`.
    fn end(&mut self, md5: &[u8; 16]) -> S3Result<()> {
        if self.expect.length.is_some_and(|l| self.seen != l) {
            return Err(incomplete_body());
        }
        if self.expect.md5.is_some_and(|want| &want != md5) {
            return Err(md5_mismatch());
        }
        let want = match (&self.expect.checksum, self.expect.trailer) {
            (Some((a, want)), _) => Some((*a, want.clone())),
            (None, Some(a)) => Some((a, self.trailer_value(a)?)),
            (None, None) => None,
        };
        let mut declared = None;
        if let (Some((a, want)), Some(sum)) = (want, self.sum.take()) {
            let got = sum.finish();
            if got != want {
                return Err(checksum_mismatch(a));
            }
            declared = Some((a, got));
        }
        if let Some((a, value)) = &mut self.kept {
            *value = match (self.extra.take(), declared) {
                (Some(extra), _) => Some(extra.finish()),
                (None, Some((d, got))) if d == *a => Some(got),
                (None, _) => None,
            };
        }
        Ok(())
    }

    /// The checksum to store, once the body ended and was verified.
    pub(crate) fn kept(&self) -> Option<ObjectChecksum> {
        let (a, Some(v)) = self.kept.as_ref()? else {
            return None;
        };
        Some(ObjectChecksum {
            algorithm: *a,
            kind: ChecksumKind::FullObject,
            value: iamd_api::base64::encode(v),
            parts: 0,
        })
    }

    fn trailer_value(&self, a: Algorithm) -> S3Result<Vec<u8>> {
        self.trailers
            .as_ref()
            .and_then(|t| t.read(|h| header_str(h, a.header()).and_then(|v| unbase64(v.trim()))))
            .flatten()
            .filter(|d| d.len() == a.digest_len())
            .ok_or_else(|| {
                invalid_request(format!(
                    "Value for {} trailing header is invalid.",
                    a.header()
                ))
            })
    }
}

impl Sink for BodyCheck {
    fn update(&mut self, chunk: &[u8]) -> Result<(), BlobError> {
        self.feed(chunk).map_err(BlobError::Refused)
    }

    fn finish(&mut self, md5: &[u8; 16]) -> Result<(), BlobError> {
        self.end(md5).map_err(BlobError::Refused)
    }
}

/// The request carries a digest of its body (`Content-MD5`, `x-amz-checksum-*`, or an
/// `x-amz-trailer` naming one).
pub fn carries_digest(h: &HeaderMap) -> bool {
    h.keys().any(|k| {
        let k = k.as_str();
        k == "content-md5" || k == "x-amz-trailer" || k.starts_with("x-amz-checksum-")
    })
}

/// The operations s3s parses whole cannot check the digest of an aws-chunked body
/// (s3s decodes it out of sight): refused rather than taken unchecked.
pub(crate) fn refuse_unchecked(h: &HeaderMap) -> S3Result<()> {
    refuse_if(is_aws_chunked(h) && carries_digest(h))
}

/// [`refuse_unchecked`] for CompleteMultipartUpload, whose `x-amz-checksum-*` headers
/// name the object's checksum: only `Content-MD5` and `x-amz-trailer` are the body's.
pub(crate) fn refuse_unchecked_complete(h: &HeaderMap) -> S3Result<()> {
    refuse_if(
        is_aws_chunked(h) && (h.contains_key("content-md5") || h.contains_key("x-amz-trailer")),
    )
}

fn refuse_if(unchecked: bool) -> S3Result<()> {
    if unchecked {
        return Err(S3Error::with_message(
            S3ErrorCode::NotImplemented,
            "aws-chunked request bodies with a checksum are not supported for this operation",
        ));
    }
    Ok(())
}

/// Where [`CheckedBody`] leaves its verdict for the listener.
pub type Verdict = Arc<Mutex<Option<Refusal>>>;

/// A plain (not aws-chunked) request body checked against its `Content-MD5` /
/// `x-amz-checksum-*` header as it passes (see the module docs).
pub struct CheckedBody<B> {
    inner: B,
    state: Checking,
    verdict: Verdict,
}

enum Checking {
    /// The headers were malformed: refused at the first read.
    Refused(Option<S3Error>),
    Running {
        check: Box<BodyCheck>,
        md5: Option<Md5>,
    },
    Done,
}

impl<B> CheckedBody<B> {
    /// Wraps `inner` when the request's headers announce a digest of a plain body; else
    /// `Err(inner)`. A CompleteMultipartUpload's `x-amz-checksum-*` headers name the
    /// object's checksum, which the operation checks: only its `Content-MD5` is the body's.
    pub fn wrap(inner: B, req: &http::request::Parts, verdict: Verdict) -> Result<Self, B> {
        let headers = &req.headers;
        let complete = req.method == http::Method::POST
            && req.uri.query().is_some_and(|q| {
                q.split('&')
                    .any(|p| p.split('=').next() == Some("uploadId"))
            });
        let digest = if complete {
            headers.contains_key("content-md5")
        } else {
            carries_digest(headers)
        };
        if is_aws_chunked(headers) || !digest {
            return Err(inner);
        }
        let state = match Expect::parse(headers, complete) {
            Err(e) => Checking::Refused(Some(e)),
            Ok(expect) => Checking::Running {
                md5: expect.md5.is_some().then(Md5::new),
                check: Box::new(expect.check(None)),
            },
        };
        Ok(CheckedBody {
            inner,
            state,
            verdict,
        })
    }

    /// Records the refusal and turns it into the body's error.
    fn refuse(&mut self, e: S3Error) -> S3Error {
        if let Ok(mut v) = self.verdict.lock() {
            v.get_or_insert_with(|| Refusal::from_s3(&e));
        }
        self.state = Checking::Done;
        e
    }
}

impl<B> Body for CheckedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Checking::Refused(e) = &mut this.state {
            let e = e.take().unwrap_or_else(incomplete_body);
            return Poll::Ready(Some(Err(Box::new(this.refuse(e)))));
        }
        if let Checking::Done = this.state {
            return Pin::new(&mut this.inner).poll_frame(cx).map_err(Into::into);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(data), Checking::Running { check, md5 }) =
                    (frame.data_ref(), &mut this.state)
                {
                    if let Some(m) = md5 {
                        m.update(data);
                    }
                    if let Err(e) = check.feed(data) {
                        return Poll::Ready(Some(Err(Box::new(this.refuse(e)))));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(None) => {
                let state = std::mem::replace(&mut this.state, Checking::Done);
                if let Checking::Running { mut check, md5 } = state {
                    let md5: [u8; 16] = md5.map_or([0; 16], |m| m.finalize().into());
                    if let Err(e) = check.end(&md5) {
                        return Poll::Ready(Some(Err(Box::new(this.refuse(e)))));
                    }
                }
                Poll::Ready(None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        // The end is reported only after the check ran in poll_frame.
        matches!(self.state, Checking::Done) && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                http::HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn b64(d: &[u8]) -> String {
        iamd_api::base64::encode(d)
    }

    fn code(r: S3Result<impl std::fmt::Debug>) -> String {
        r.unwrap_err().code().as_str().to_string()
    }

    /// A request body in pieces.
    struct Chunks(std::collections::VecDeque<Bytes>);

    impl Body for Chunks {
        type Data = Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
        }
    }

    /// A PUT request's head with `h`.
    fn put(h: &HeaderMap) -> http::request::Parts {
        let (mut p, ()) = http::Request::put("/b/k").body(()).unwrap().into_parts();
        p.headers = h.clone();
        p
    }

    /// Reads a checked body to its end: the bytes, or the error that replaced the end.
    fn drain(headers: &HeaderMap, pieces: &[&[u8]]) -> (Result<Vec<u8>, String>, Option<Refusal>) {
        let body = Chunks(pieces.iter().map(|p| Bytes::copy_from_slice(p)).collect());
        let verdict = Verdict::default();
        let Ok(mut checked) = CheckedBody::wrap(body, &put(headers), verdict.clone()) else {
            panic!("not wrapped");
        };
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut out = Vec::new();
        let result = loop {
            match Pin::new(&mut checked).poll_frame(&mut cx) {
                Poll::Ready(Some(Ok(f))) => out.extend_from_slice(f.data_ref().unwrap()),
                Poll::Ready(Some(Err(e))) => break Err(e.to_string()),
                Poll::Ready(None) => break Ok(out),
                Poll::Pending => panic!("pending"),
            }
        };
        let v = verdict.lock().unwrap().take();
        (result, v)
    }

    #[test]
    fn checked_body_ends_in_its_refusal() {
        let body: &[&[u8]] = &[b"hello ", b"world"];
        let good = headers(&[("content-md5", &b64(&Md5::digest(b"hello world")))]);
        assert_eq!(drain(&good, body), (Ok(b"hello world".to_vec()), None));
        let bad = headers(&[("content-md5", &b64(&Md5::digest(b"hello")))]);
        let (r, v) = drain(&bad, body);
        assert!(r.is_err());
        let v = v.unwrap();
        assert_eq!((v.status, &*v.code), (400, "BadDigest"));
        let crc = headers(&[("x-amz-checksum-crc32", "AAAAAA==")]);
        assert_eq!(drain(&crc, body).1.unwrap().code, "BadDigest");
        // A malformed header: refused at the first read, before any byte passes.
        let malformed = headers(&[("content-md5", "not base64!")]);
        let (r, v) = drain(&malformed, body);
        assert!(r.is_err());
        assert_eq!(v.unwrap().code, "InvalidDigest");
        // Nothing to check, or aws-chunked (checked after s3s decodes it): not wrapped.
        let v = Verdict::default();
        assert!(CheckedBody::wrap(
            Chunks(Default::default()),
            &put(&HeaderMap::new()),
            v.clone()
        )
        .is_err());
        let chunked = headers(&[
            ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
            ("x-amz-trailer", "x-amz-checksum-crc32"),
        ]);
        assert!(CheckedBody::wrap(Chunks(Default::default()), &put(&chunked), v.clone()).is_err());
        // CompleteMultipartUpload: the checksum headers are the object's, not the body's.
        let complete = |h: &HeaderMap| {
            let (mut p, ()) = http::Request::post("/b/k?uploadId=x")
                .body(())
                .unwrap()
                .into_parts();
            p.headers = h.clone();
            p
        };
        assert!(CheckedBody::wrap(Chunks(Default::default()), &complete(&crc), v.clone()).is_err());
        let md5 = headers(&[("content-md5", &b64(&Md5::digest(b"hello")))]);
        assert!(CheckedBody::wrap(Chunks(Default::default()), &complete(&md5), v).is_ok());
    }

    #[test]
    fn base64_decoding_is_strict() {
        assert_eq!(unbase64("YWI="), Some(b"ab".to_vec()));
        assert_eq!(unbase64("YWJj"), Some(b"abc".to_vec()));
        assert_eq!(unbase64("YQ=="), Some(b"a".to_vec()));
        for bad in [
            "", "YWI", "YW=I", "Y===", "YW!=", "YWI=YWI=", "YWI= ", "YW I",
        ] {
            assert_eq!(unbase64(bad), None, "{bad:?}");
        }
        for n in 1..40 {
            let d: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(unbase64(&b64(&d)), Some(d));
        }
    }

    #[test]
    fn digests_match_the_published_check_values() {
        // The CRC catalogue's check values (input "123456789") and FIPS 180 vectors.
        let check = |a: Algorithm| {
            let mut s = Sum::new(a);
            s.update(b"1234");
            s.update(b"56789");
            s.finish()
        };
        assert_eq!(check(Algorithm::Crc32), 0xCBF4_3926u32.to_be_bytes());
        assert_eq!(check(Algorithm::Crc32c), 0xE306_9283u32.to_be_bytes());
        assert_eq!(
            check(Algorithm::Crc64Nvme),
            0xAE8B_1486_0A79_9888u64.to_be_bytes()
        );
        let mut s = Sum::new(Algorithm::Sha1);
        s.update(b"abc");
        assert_eq!(
            crate::blobs::hex(&s.finish()),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        let mut s = Sum::new(Algorithm::Sha256);
        s.update(b"abc");
        assert_eq!(
            crate::blobs::hex(&s.finish()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn content_md5_is_validated_then_compared() {
        let body = b"hello";
        let good = b64(&Md5::digest(body));
        assert!(Expect::from_headers(&headers(&[("content-md5", &good)]))
            .unwrap()
            .verify(body)
            .is_ok());
        let other = b64(&Md5::digest(b"other"));
        assert_eq!(
            code(
                Expect::from_headers(&headers(&[("content-md5", &other)]))
                    .unwrap()
                    .verify(body)
            ),
            "BadDigest"
        );
        // Not base64, a hex digest, 15 bytes, empty: InvalidDigest before the body.
        for bad in [
            "not base64!",
            "5d41402abc4b2a76b9719d911017c592",
            &b64(&[0; 15]),
            "",
        ] {
            assert_eq!(
                code(Expect::from_headers(&headers(&[("content-md5", bad)]))),
                "InvalidDigest",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn every_checksum_header_is_verified() {
        let body = b"123456789";
        for a in Algorithm::ALL {
            let mut s = Sum::new(a);
            s.update(body);
            let good = b64(&s.finish());
            let h = headers(&[
                (a.header(), &good),
                ("x-amz-sdk-checksum-algorithm", a.name()),
            ]);
            assert!(
                Expect::from_headers(&h).unwrap().verify(body).is_ok(),
                "{a:?}"
            );
            let e = Expect::from_headers(&h)
                .unwrap()
                .verify(b"12345678X")
                .unwrap_err();
            assert_eq!(e.code().as_str(), "BadDigest");
            assert_eq!(
                e.message(),
                Some(
                    format!(
                        "The {} you specified did not match the calculated checksum.",
                        a.name()
                    )
                    .as_str()
                )
            );
            let bad = Expect::from_headers(&headers(&[(a.header(), "AAAA")])).unwrap_err();
            assert_eq!(bad.code().as_str(), "InvalidRequest");
            assert_eq!(
                bad.message(),
                Some(format!("Value for {} header is invalid.", a.header()).as_str())
            );
        }
    }

    #[test]
    fn conflicting_checksum_headers_are_refused() {
        let crc = b64(&[0; 4]);
        let two = headers(&[
            ("x-amz-checksum-crc32", &crc),
            ("x-amz-checksum-crc32c", &crc),
        ]);
        assert_eq!(code(Expect::from_headers(&two)), "InvalidRequest");
        let sdk = headers(&[
            ("x-amz-checksum-crc32", &crc),
            ("x-amz-sdk-checksum-algorithm", "SHA256"),
        ]);
        assert_eq!(code(Expect::from_headers(&sdk)), "InvalidRequest");
        assert!(!Expect::from_headers(&HeaderMap::new())
            .unwrap()
            .has_digest());
    }

    #[test]
    fn decoded_length_binds_aws_chunked_bodies_only() {
        let chunked = |n: &str| {
            headers(&[
                ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
                ("x-amz-decoded-content-length", n),
            ])
        };
        assert!(Expect::from_headers(&chunked("5"))
            .unwrap()
            .verify(b"hello")
            .is_ok());
        for n in ["0", "1", "4", "6"] {
            assert_eq!(
                code(Expect::from_headers(&chunked(n)).unwrap().verify(b"hello")),
                "IncompleteBody",
                "{n}"
            );
        }
        let plain = headers(&[("x-amz-decoded-content-length", "1")]);
        assert!(Expect::from_headers(&plain)
            .unwrap()
            .verify(b"hello")
            .is_ok());
    }

    fn sum(a: Algorithm, data: &[u8]) -> Vec<u8> {
        let mut s = Sum::new(a);
        s.update(data);
        s.finish()
    }

    /// Runs `expect` over `body` as PutObject does (streamed in two pieces), keeping
    /// as `keep` says; the kept checksum or the refusal's code.
    fn run(
        expect: Expect,
        trailers: Option<HeaderMap>,
        body: &[u8],
        keep: Keep,
    ) -> Result<ObjectChecksum, String> {
        let mut check = expect
            .check_keeping(None, keep)
            .map_err(|e| e.code().as_str().to_string())?;
        check.trailers = trailers.map(Trailers::Given);
        let md5: [u8; 16] = Md5::digest(body).into();
        let (a, b) = body.split_at(body.len() / 2);
        check
            .feed(a)
            .and_then(|()| check.feed(b))
            .and_then(|()| check.end(&md5))
            .map_err(|e| e.code().as_str().to_string())?;
        check.kept().ok_or_else(|| "nothing kept".to_string())
    }

    #[test]
    fn the_kept_checksum_is_the_declared_one_or_the_default() {
        let body = b"123456789";
        let crc = b64(&sum(Algorithm::Crc32, body));
        let declared =
            || Expect::from_headers(&headers(&[("x-amz-checksum-crc32", &crc)])).unwrap();
        // PutObject: the declared algorithm, else CRC64NVME.
        let k = run(
            declared(),
            None,
            body,
            Keep::DeclaredOr(Algorithm::Crc64Nvme),
        )
        .unwrap();
        assert_eq!(
            (k.algorithm, k.value.as_str(), k.kind),
            (Algorithm::Crc32, crc.as_str(), ChecksumKind::FullObject)
        );
        let k = run(
            Expect::default(),
            None,
            body,
            Keep::DeclaredOr(Algorithm::Crc64Nvme),
        )
        .unwrap();
        assert_eq!(
            (k.algorithm, k.value),
            (
                Algorithm::Crc64Nvme,
                b64(&0xAE8B_1486_0A79_9888u64.to_be_bytes())
            )
        );
        // A part of an upload without algorithm: CRC64NVME, the declared one verified too.
        let k = run(declared(), None, body, Keep::Also(Algorithm::Crc64Nvme)).unwrap();
        assert_eq!(k.algorithm, Algorithm::Crc64Nvme);
        assert_eq!(
            run(
                declared(),
                None,
                b"12345678X",
                Keep::Also(Algorithm::Crc64Nvme)
            )
            .unwrap_err(),
            "BadDigest"
        );
        // A part of a SHA-1 upload: a CRC32 is refused before any byte.
        assert_eq!(
            run(declared(), None, body, Keep::Only(Algorithm::Sha1)).unwrap_err(),
            "InvalidRequest"
        );
        let k = run(Expect::default(), None, body, Keep::Only(Algorithm::Sha1)).unwrap();
        // A part of a composite upload must declare its checksum.
        assert_eq!(
            run(
                Expect::default(),
                None,
                body,
                Keep::Required(Algorithm::Sha1)
            )
            .unwrap_err(),
            "InvalidRequest"
        );
        let sha1 = b64(&sum(Algorithm::Sha1, body));
        let h = headers(&[("x-amz-checksum-sha1", &sha1)]);
        let k2 = run(
            Expect::from_headers(&h).unwrap(),
            None,
            body,
            Keep::Required(Algorithm::Sha1),
        )
        .unwrap();
        assert_eq!(k2.value, sha1);
        assert_eq!(k.value, b64(&sum(Algorithm::Sha1, body)));
        // A copy computes its checksum.
        let mut c = compute(Algorithm::Crc32c);
        c.feed(body).unwrap();
        c.end(&[0; 16]).unwrap();
        assert_eq!(c.kept().unwrap().value, b64(&0xE306_9283u32.to_be_bytes()));
    }

    #[test]
    fn a_completes_object_checksum_is_not_an_unchecked_body_digest() {
        let chunked = |extra: (&str, &str)| {
            headers(&[
                ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD"),
                extra,
            ])
        };
        let object = chunked(("x-amz-checksum-crc32", "AAAAAA=="));
        assert!(refuse_unchecked_complete(&object).is_ok());
        assert_eq!(code(refuse_unchecked(&object)), "NotImplemented");
        let md5 = chunked(("content-md5", "AAAAAAAAAAAAAAAAAAAAAA=="));
        assert_eq!(code(refuse_unchecked_complete(&md5)), "NotImplemented");
    }

    #[test]
    fn composite_checksums_match_s3s() {
        // Three SHA-256 part checksums and the composite S3 returned for them (a
        // capture from AWS published in floci-io/floci#3083).
        let parts = [
            ("lcKa6Boe7a167tUCN5C4OaFygGSYD8MBnBARTrdL+1w=", 5 << 20),
            ("gHjhbUT4oo2tSCtSZJdlKi+jeNXJT+VImqdPXsXvkOc=", 5 << 20),
            ("4l9PQ3zOPZ0oGFvknFX+J4zZwE4WMzO+l3r8XrbWOeM=", 1 << 20),
        ];
        let c = combine(Algorithm::Sha256, ChecksumKind::Composite, &parts).unwrap();
        assert_eq!(c.wire(), "rVWtNbadtsaKXJAcgWPWjifHzJaXde/iV4jaJAOdivc=-3");
        assert_eq!(c.value, "rVWtNbadtsaKXJAcgWPWjifHzJaXde/iV4jaJAOdivc=");
        // A malformed part value: no checksum rather than a wrong one.
        assert_eq!(
            combine(Algorithm::Sha256, ChecksumKind::Composite, &[("AAAA", 3)]),
            None
        );
        assert_eq!(
            combine(Algorithm::Sha1, ChecksumKind::FullObject, &[]),
            None
        );
    }

    #[test]
    fn full_object_crcs_combine_to_the_whole_objects() {
        let body: Vec<u8> = (0..10_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        for a in [Algorithm::Crc32, Algorithm::Crc32c, Algorithm::Crc64Nvme] {
            for cuts in [vec![], vec![1], vec![4096, 4097, 9999], vec![5000]] {
                let mut bounds = vec![0];
                bounds.extend(&cuts);
                bounds.push(body.len());
                let values: Vec<(String, u64)> = bounds
                    .windows(2)
                    .map(|w| (b64(&sum(a, &body[w[0]..w[1]])), (w[1] - w[0]) as u64))
                    .collect();
                let parts: Vec<(&str, u64)> =
                    values.iter().map(|(v, n)| (v.as_str(), *n)).collect();
                let c = combine(a, ChecksumKind::FullObject, &parts).unwrap();
                assert_eq!(c.wire(), b64(&sum(a, &body)), "{a:?} {cuts:?}");
            }
        }
    }

    #[test]
    fn upload_checksum_rules() {
        use ChecksumKind::*;
        let ok = |a, k| upload_checksum(a, k).unwrap();
        assert_eq!(ok(None, None), None);
        assert_eq!(
            ok(Some("SHA256"), None),
            Some((Algorithm::Sha256, Composite))
        );
        assert_eq!(ok(Some("CRC32"), None), Some((Algorithm::Crc32, Composite)));
        assert_eq!(
            ok(Some("CRC32"), Some("FULL_OBJECT")),
            Some((Algorithm::Crc32, FullObject))
        );
        assert_eq!(
            ok(Some("CRC64NVME"), None),
            Some((Algorithm::Crc64Nvme, FullObject))
        );
        let refused = |a, k| {
            upload_checksum(a, k)
                .unwrap_err()
                .message()
                .map(str::to_string)
        };
        assert_eq!(
            refused(Some("SHA1"), Some("FULL_OBJECT")).as_deref(),
            Some("The FULL_OBJECT checksum type cannot be used with the sha1 checksum algorithm.")
        );
        assert_eq!(
            refused(Some("CRC64NVME"), Some("COMPOSITE")).as_deref(),
            Some(
                "The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm."
            )
        );
        assert!(refused(None, Some("COMPOSITE")).is_some());
        assert!(refused(Some("MD4"), None).is_some());
        assert!(refused(Some("CRC32"), Some("PARTIAL")).is_some());
    }

    #[test]
    fn a_declared_object_checksum_must_match() {
        let c = ObjectChecksum {
            algorithm: Algorithm::Crc32,
            kind: ChecksumKind::Composite,
            value: "AAAAAA==".into(),
            parts: 2,
        };
        let check = |d: &[(Algorithm, Option<&str>)], k| {
            check_declared(&c, d, k).map_err(|e| e.code().as_str().to_string())
        };
        assert_eq!(
            check(&[(Algorithm::Crc32, Some("AAAAAA==-2"))], Some("COMPOSITE")),
            Ok(())
        );
        assert_eq!(check(&[(Algorithm::Crc32, Some("AAAAAA=="))], None), Ok(()));
        assert_eq!(
            check(&[(Algorithm::Crc32, Some("AAAAAQ==-2"))], None).unwrap_err(),
            "BadDigest"
        );
        assert_eq!(
            check(&[(Algorithm::Sha1, Some("AAAAAA=="))], None).unwrap_err(),
            "InvalidRequest"
        );
        assert_eq!(
            check(&[], Some("FULL_OBJECT")).unwrap_err(),
            "InvalidRequest"
        );
    }

    proptest::proptest! {
        /// Any single-bit change in the body, or in the checksum declared for it (as a
        /// header or as an aws-chunked trailer), is refused with BadDigest; the
        /// unchanged pair passes.
        #[test]
        fn any_single_bit_flip_is_refused(
            body in proptest::collection::vec(proptest::num::u8::ANY, 1..300),
            which in 0usize..5,
            in_trailer in proptest::bool::ANY,
            flip_body in proptest::bool::ANY,
            bit in proptest::num::usize::ANY,
        ) {
            let a = Algorithm::ALL[which];
            let mut declared = sum(a, &body);
            let mut sent = body.clone();
            let run_with = |declared: &[u8], sent: &[u8]| {
                let value = b64(declared);
                if in_trailer {
                    let h = headers(&[
                        ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
                        ("x-amz-trailer", a.header()),
                    ]);
                    let t = headers(&[(a.header(), &value)]);
                    run(Expect::from_headers(&h).unwrap(), Some(t), sent, Keep::DeclaredOr(Algorithm::Crc64Nvme))
                } else {
                    let h = headers(&[(a.header(), &value)]);
                    run(Expect::from_headers(&h).unwrap(), None, sent, Keep::DeclaredOr(Algorithm::Crc64Nvme))
                }
            };
            let kept = run_with(&declared, &sent).unwrap();
            proptest::prop_assert_eq!(kept.value, b64(&declared));
            if flip_body {
                let i = bit % (sent.len() * 8);
                sent[i / 8] ^= 1 << (i % 8);
            } else {
                let i = bit % (declared.len() * 8);
                declared[i / 8] ^= 1 << (i % 8);
            }
            proptest::prop_assert_eq!(run_with(&declared, &sent).unwrap_err(), "BadDigest");
        }
    }
}
