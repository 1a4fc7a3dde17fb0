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
//! The digests are s3s's own (`s3s::crypto`, already compiled in for its signature
//! checks): no second CRC or SHA implementation.

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

    fn header(self) -> &'static str {
        match self {
            Algorithm::Crc32 => "x-amz-checksum-crc32",
            Algorithm::Crc32c => "x-amz-checksum-crc32c",
            Algorithm::Crc64Nvme => "x-amz-checksum-crc64nvme",
            Algorithm::Sha1 => "x-amz-checksum-sha1",
            Algorithm::Sha256 => "x-amz-checksum-sha256",
        }
    }

    /// As S3 names it in `x-amz-sdk-checksum-algorithm` and in its error messages.
    fn name(self) -> &'static str {
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

fn invalid_request(msg: impl Into<String>) -> S3Error {
    S3Error::with_message(S3ErrorCode::InvalidRequest, msg.into())
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
            let Some(v) = header_str(h, a.header()) else {
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
    /// trailing headers s3s fills in when the body ends.
    pub(crate) fn check(self, trailers: Option<TrailingHeaders>) -> BodyCheck {
        let algorithm = self.checksum.as_ref().map(|c| c.0).or(self.trailer);
        BodyCheck {
            sum: algorithm.map(Sum::new),
            expect: self,
            trailers,
            seen: 0,
        }
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

/// The check PutObject and UploadPart run while their body streams to disk: an
/// aws-chunked body's (decoded length, header or trailer checksum); a plain body is
/// checked by [`CheckedBody`] on its way in, so nothing here.
pub(crate) fn stream_check(
    h: &HeaderMap,
    trailers: Option<TrailingHeaders>,
) -> S3Result<BodyCheck> {
    if is_aws_chunked(h) {
        Ok(Expect::from_headers(h)?.check(trailers))
    } else {
        Ok(Expect::default().check(None))
    }
}

/// `x-amz-content-sha256: STREAMING-…`: s3s decodes the aws-chunked body.
pub(crate) fn is_aws_chunked(h: &HeaderMap) -> bool {
    header_str(h, "x-amz-content-sha256").is_some_and(|v| v.starts_with("STREAMING-"))
}

/// [`Expect`] applied to a body as it passes.
pub(crate) struct BodyCheck {
    expect: Expect,
    sum: Option<Sum>,
    trailers: Option<TrailingHeaders>,
    seen: u64,
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
        if let (Some((a, want)), Some(sum)) = (want, self.sum.take()) {
            if sum.finish() != want {
                return Err(checksum_mismatch(a));
            }
        }
        Ok(())
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
    if is_aws_chunked(h) && carries_digest(h) {
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
    /// Wraps `inner` when `headers` announce a digest of a plain body; else `Err(inner)`.
    pub fn wrap(inner: B, headers: &HeaderMap, verdict: Verdict) -> Result<Self, B> {
        if is_aws_chunked(headers) || !carries_digest(headers) {
            return Err(inner);
        }
        let state = match Expect::from_headers(headers) {
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

    /// Reads a checked body to its end: the bytes, or the error that replaced the end.
    fn drain(headers: &HeaderMap, pieces: &[&[u8]]) -> (Result<Vec<u8>, String>, Option<Refusal>) {
        let body = Chunks(pieces.iter().map(|p| Bytes::copy_from_slice(p)).collect());
        let verdict = Verdict::default();
        let Ok(mut checked) = CheckedBody::wrap(body, headers, verdict.clone()) else {
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
        assert!(
            CheckedBody::wrap(Chunks(Default::default()), &HeaderMap::new(), v.clone()).is_err()
        );
        let chunked = headers(&[
            ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
            ("x-amz-trailer", "x-amz-checksum-crc32"),
        ]);
        assert!(CheckedBody::wrap(Chunks(Default::default()), &chunked, v).is_err());
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
}
