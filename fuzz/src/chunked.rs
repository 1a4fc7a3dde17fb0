//! Incremental decoding of S3 `aws-chunked` bodies with chunk-signature verification:
//! the differential oracle of the `chunked` and `sigv4` fuzz targets (iamd's server
//! leaves aws-chunked decoding to s3s; this decoder is not shipped).
//!
//! Framing (signed):
//! ```text
//! <hex-size>;chunk-signature=<64 hex>\r\n<data>\r\n ... 0;chunk-signature=<sig>\r\n[trailers]\r\n
//! ```
//! Framing (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`):
//! ```text
//! <hex-size>\r\n<data>\r\n ... 0\r\n<name>:<value>\r\n ... \r\n
//! ```
//! Each chunk signature is `HMAC(signing key, "AWS4-HMAC-SHA256-PAYLOAD\n" + date + "\n"
//! + scope + "\n" + previous signature + "\n" + sha256("") + "\n" + sha256(data))`, the
//! first previous signature being the request's (seed) signature. With a signed trailer
//! (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`) the trailer carries
//! `x-amz-trailer-signature = HMAC(key, "AWS4-HMAC-SHA256-TRAILER\n" + date + "\n" + scope
//! + "\n" + last chunk signature + "\n" + sha256(canonical trailers))`.
//!
//! Signed chunks are buffered and released only once their signature checks out.

use std::fmt;

use hmac::{Hmac, Mac};
use iamd_sigv4::{signing_key, AmzDate, ParsedAuth, PayloadKind, Verified, EMPTY_SHA256};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::hex;

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    /// The framing is malformed or the body is truncated (S3's `IncompleteBody`, 400).
    #[error("{0}")]
    Body(String),
    /// A chunk or trailer signature is wrong (S3's `SignatureDoesNotMatch`, 403).
    #[error("{}", iamd_sigv4::S3_SIGNATURE_DOES_NOT_MATCH_MESSAGE)]
    SignatureDoesNotMatch,
}

impl ChunkError {
    /// The S3 error code of the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            ChunkError::Body(_) => "IncompleteBody",
            ChunkError::SignatureDoesNotMatch => "SignatureDoesNotMatch",
        }
    }

    fn body(message: impl Into<String>) -> Self {
        ChunkError::Body(message.into())
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let Ok(mut m) = <Hmac<Sha256> as Mac>::new_from_slice(key) else {
        unreachable!("HMAC takes keys of any length")
    };
    m.update(data);
    m.finalize().into_bytes().into()
}

fn decode_hex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(s.as_bytes().chunks(2)) {
        *o = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(out)
}

/// Default largest accepted chunk (16 MiB).
pub const DEFAULT_MAX_CHUNK_SIZE: usize = 16 * 1024 * 1024;
const MAX_LINE: usize = 8 * 1024;
const MAX_TRAILER_BYTES: usize = 16 * 1024;

/// What is needed to check chunk signatures. Holds the derived signing key: its
/// `Debug` output is redacted.
#[derive(Clone)]
pub struct ChunkSigningContext {
    signing_key: [u8; 32],
    timestamp: String,
    scope: String,
    seed: [u8; 32],
}

impl fmt::Debug for ChunkSigningContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkSigningContext")
            .field("signing_key", &"<redacted>")
            .field("timestamp", &self.timestamp)
            .field("scope", &self.scope)
            .field("seed", &hex(&self.seed))
            .finish()
    }
}

impl ChunkSigningContext {
    /// Builds a context from a signing key (see [`iamd_sigv4::signing_key`]), the request
    /// time, the scope string `date/region/service/aws4_request` and the seed signature.
    pub fn new(signing_key: [u8; 32], timestamp: AmzDate, scope: String, seed: [u8; 32]) -> Self {
        ChunkSigningContext {
            signing_key,
            timestamp: timestamp.to_string(),
            scope,
            seed,
        }
    }

    /// The context of a verified request: seed = its signature, signing key derived
    /// from `secret` for its scope.
    pub fn for_request(parsed: &ParsedAuth<'_>, verified: &Verified, secret: &[u8]) -> Self {
        let scope = parsed.scope();
        Self::new(
            signing_key(secret, &scope.date, &scope.region, &scope.service),
            verified.timestamp(),
            scope.to_string(),
            verified.signature(),
        )
    }

    /// The seed (request) signature.
    pub fn seed(&self) -> [u8; 32] {
        self.seed
    }

    /// The signature of a chunk whose data hashes to `data_sha256`, chained after
    /// `previous`.
    pub fn chunk_signature(&self, previous: &[u8; 32], data_sha256: &[u8; 32]) -> [u8; 32] {
        let sts = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{}\n{}\n{}",
            self.timestamp,
            self.scope,
            hex(previous),
            EMPTY_SHA256,
            hex(data_sha256)
        );
        hmac(&self.signing_key, sts.as_bytes())
    }

    /// The signature of the trailer, given its canonical form (`name:value\n` per
    /// trailer header, lowercase names sorted, values trimmed), chained after the final
    /// chunk's signature.
    pub fn trailer_signature(&self, previous: &[u8; 32], canonical_trailers: &[u8]) -> [u8; 32] {
        let sts = format!(
            "AWS4-HMAC-SHA256-TRAILER\n{}\n{}\n{}\n{}",
            self.timestamp,
            self.scope,
            hex(previous),
            hex(&Sha256::digest(canonical_trailers))
        );
        hmac(&self.signing_key, sts.as_bytes())
    }

    /// Encodes `chunks` as a signed aws-chunked body (a final empty chunk is appended).
    /// For tests and tooling.
    pub fn encode(&self, chunks: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut prev = self.seed;
        for data in chunks
            .iter()
            .copied()
            .filter(|c| !c.is_empty())
            .chain([&[][..]])
        {
            let sig = self.chunk_signature(&prev, &Sha256::digest(data).into());
            out.extend_from_slice(
                format!("{:x};chunk-signature={}\r\n", data.len(), hex(&sig)).as_bytes(),
            );
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
            prev = sig;
        }
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Signed,
    SignedTrailer,
    UnsignedTrailer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a chunk header line.
    Header,
    /// Reading chunk data.
    Data {
        remaining: usize,
    },
    /// Expecting the CRLF after chunk data.
    DataEnd,
    /// Reading trailer lines until an empty one.
    Trailer,
    Done,
}

/// Incremental aws-chunked decoder. Feed it body bytes in any split; it appends the
/// decoded payload to the output buffer.
#[derive(Debug)]
pub struct ChunkedDecoder {
    mode: Mode,
    ctx: Option<ChunkSigningContext>,
    state: State,
    line: Vec<u8>,
    pending_cr: bool,
    chunk: Vec<u8>,
    hasher: Sha256,
    expected_sig: Option<[u8; 32]>,
    prev_sig: [u8; 32],
    last_chunk: bool,
    max_chunk_size: usize,
    decoded_len: u64,
    trailers: Vec<(String, String)>,
    trailer_bytes: usize,
    trailer_signature: Option<[u8; 32]>,
}

impl ChunkedDecoder {
    fn new(mode: Mode, ctx: Option<ChunkSigningContext>) -> Self {
        let prev_sig = ctx.as_ref().map(|c| c.seed).unwrap_or([0; 32]);
        ChunkedDecoder {
            mode,
            ctx,
            state: State::Header,
            line: Vec::new(),
            pending_cr: false,
            chunk: Vec::new(),
            hasher: Sha256::new(),
            expected_sig: None,
            prev_sig,
            last_chunk: false,
            max_chunk_size: DEFAULT_MAX_CHUNK_SIZE,
            decoded_len: 0,
            trailers: Vec::new(),
            trailer_bytes: 0,
            trailer_signature: None,
        }
    }

    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`: every chunk signed, no trailer allowed.
    pub fn signed(ctx: ChunkSigningContext) -> Self {
        Self::new(Mode::Signed, Some(ctx))
    }

    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`: signed chunks and a trailer signed
    /// with `x-amz-trailer-signature`.
    pub fn signed_with_trailer(ctx: ChunkSigningContext) -> Self {
        Self::new(Mode::SignedTrailer, Some(ctx))
    }

    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: no chunk signatures; trailer headers
    /// (e.g. `x-amz-checksum-crc32`) are exposed for the caller to check.
    pub fn unsigned_trailer() -> Self {
        Self::new(Mode::UnsignedTrailer, None)
    }

    /// A decoder for the aws-chunked body a verified request's payload hash announces
    /// (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]` or
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`), `None` for any other payload.
    pub fn for_request(
        parsed: &ParsedAuth<'_>,
        verified: &Verified,
        secret: &[u8],
    ) -> Option<Self> {
        let ctx = || ChunkSigningContext::for_request(parsed, verified, secret);
        match verified.payload_kind() {
            PayloadKind::StreamingSigned => Some(Self::signed(ctx())),
            PayloadKind::StreamingSignedTrailer => Some(Self::signed_with_trailer(ctx())),
            PayloadKind::StreamingUnsignedTrailer => Some(Self::unsigned_trailer()),
            _ => None,
        }
    }

    /// Overrides the largest accepted chunk size (signed chunks are buffered whole).
    pub fn with_max_chunk_size(mut self, max: usize) -> Self {
        self.max_chunk_size = max;
        self
    }

    /// Whether the final chunk and the trailer have been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Payload bytes emitted so far (compare with `x-amz-decoded-content-length`).
    pub fn decoded_len(&self) -> u64 {
        self.decoded_len
    }

    /// Trailer headers (names lowercased), excluding `x-amz-trailer-signature`.
    pub fn trailers(&self) -> &[(String, String)] {
        &self.trailers
    }

    /// Call at end of body: errors unless the body was complete.
    pub fn finish(&self) -> Result<(), ChunkError> {
        if self.is_done() {
            Ok(())
        } else {
            Err(ChunkError::body("The request body terminated unexpectedly"))
        }
    }

    /// Consumes `input`, appending decoded payload bytes to `out`.
    pub fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<(), ChunkError> {
        while !input.is_empty() {
            match self.state {
                State::Header | State::Trailer => {
                    let (line_done, used) = self.take_line(input)?;
                    input = input.get(used..).unwrap_or_default();
                    if line_done {
                        let line = std::mem::take(&mut self.line);
                        if self.state == State::Header {
                            self.on_header_line(&line)?;
                        } else {
                            self.on_trailer_line(&line)?;
                        }
                    }
                }
                State::Data { remaining } => {
                    let n = remaining.min(input.len());
                    let (data, rest) = input.split_at(n);
                    input = rest;
                    if self.ctx.is_some() {
                        self.hasher.update(data);
                        self.chunk.extend_from_slice(data);
                    } else {
                        out.extend_from_slice(data);
                        self.decoded_len += data.len() as u64;
                    }
                    self.state = if remaining == n {
                        State::DataEnd
                    } else {
                        State::Data {
                            remaining: remaining - n,
                        }
                    };
                }
                State::DataEnd => {
                    let (line_done, used) = self.take_line(input)?;
                    input = input.get(used..).unwrap_or_default();
                    if line_done {
                        if !self.line.is_empty() {
                            return Err(ChunkError::body("Chunk data is not followed by CRLF"));
                        }
                        self.end_chunk(out)?;
                    }
                }
                State::Done => {
                    return Err(ChunkError::body("Data found after the final chunk"));
                }
            }
        }
        Ok(())
    }

    /// Accumulates a CRLF-terminated line into `self.line`; returns (complete, used).
    fn take_line(&mut self, input: &[u8]) -> Result<(bool, usize), ChunkError> {
        for (i, &b) in input.iter().enumerate() {
            if self.pending_cr {
                self.pending_cr = false;
                if b == b'\n' {
                    return Ok((true, i + 1));
                }
                return Err(ChunkError::body(
                    "Malformed chunk framing: CR not followed by LF",
                ));
            }
            if b == b'\r' {
                self.pending_cr = true;
                continue;
            }
            if b == b'\n' {
                return Err(ChunkError::body("Malformed chunk framing: bare LF"));
            }
            if self.state == State::DataEnd {
                return Err(ChunkError::body(
                    "Chunk data is longer than its declared size",
                ));
            }
            self.line.push(b);
            if self.line.len() > MAX_LINE {
                return Err(ChunkError::body("Chunk header line too long"));
            }
        }
        Ok((false, input.len()))
    }

    fn on_header_line(&mut self, line: &[u8]) -> Result<(), ChunkError> {
        let line = std::str::from_utf8(line)
            .map_err(|_| ChunkError::body("Chunk header is not valid UTF-8"))?;
        let mut parts = line.split(';');
        let size_str = parts.next().unwrap_or_default().trim();
        if size_str.is_empty()
            || size_str.len() > 16
            || !size_str.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(ChunkError::body(format!("Invalid chunk size '{size_str}'")));
        }
        let size = u64::from_str_radix(size_str, 16)
            .ok()
            .and_then(|s| usize::try_from(s).ok())
            .ok_or_else(|| ChunkError::body("Invalid chunk size"))?;
        if size > self.max_chunk_size {
            return Err(ChunkError::body(format!(
                "Chunk size {size} exceeds the limit of {}",
                self.max_chunk_size
            )));
        }
        let mut sig = None;
        for ext in parts {
            if let Some(v) = ext.trim().strip_prefix("chunk-signature=") {
                sig = Some(
                    decode_hex32(v.trim())
                        .ok_or_else(|| ChunkError::body("Malformed chunk-signature"))?,
                );
            }
        }
        if self.ctx.is_some() && sig.is_none() {
            return Err(ChunkError::body("Missing chunk-signature"));
        }
        self.expected_sig = sig;
        self.chunk.clear();
        if self.ctx.is_some() {
            // Grows as data arrives; do not pre-allocate a large declared size.
            self.chunk.reserve(size.min(256 * 1024));
        }
        self.hasher = Sha256::new();
        self.last_chunk = size == 0;
        if size == 0 {
            // The final chunk has no data and no data CRLF: verify it now and move on to
            // the trailer section (which ends with an empty line).
            self.verify_chunk()?;
            self.state = State::Trailer;
        } else {
            self.state = State::Data { remaining: size };
        }
        Ok(())
    }

    fn verify_chunk(&mut self) -> Result<(), ChunkError> {
        if let Some(ctx) = &self.ctx {
            let hasher = std::mem::take(&mut self.hasher);
            let digest: [u8; 32] = hasher.finalize().into();
            let computed = ctx.chunk_signature(&self.prev_sig, &digest);
            let ok = self
                .expected_sig
                .is_some_and(|e| bool::from(e.ct_eq(&computed)));
            if !ok {
                return Err(ChunkError::SignatureDoesNotMatch);
            }
            self.prev_sig = computed;
        }
        Ok(())
    }

    fn end_chunk(&mut self, out: &mut Vec<u8>) -> Result<(), ChunkError> {
        self.verify_chunk()?;
        if self.ctx.is_some() {
            out.extend_from_slice(&self.chunk);
            self.decoded_len += self.chunk.len() as u64;
            self.chunk.clear();
        }
        self.state = State::Header;
        Ok(())
    }

    fn on_trailer_line(&mut self, line: &[u8]) -> Result<(), ChunkError> {
        if line.is_empty() {
            if self.mode == Mode::SignedTrailer {
                let (Some(ctx), Some(sig)) = (&self.ctx, self.trailer_signature) else {
                    return Err(ChunkError::body("Missing x-amz-trailer-signature"));
                };
                // Canonical trailers: `name:value\n`, sorted by lowercase name (as the
                // AWS SDKs compute them).
                let mut sorted: Vec<&(String, String)> = self.trailers.iter().collect();
                sorted.sort_by(|a, b| a.0.cmp(&b.0));
                let mut canonical = Vec::new();
                for (n, v) in sorted {
                    canonical.extend_from_slice(n.as_bytes());
                    canonical.push(b':');
                    canonical.extend_from_slice(v.as_bytes());
                    canonical.push(b'\n');
                }
                let computed = ctx.trailer_signature(&self.prev_sig, &canonical);
                if !bool::from(computed.ct_eq(&sig)) {
                    return Err(ChunkError::SignatureDoesNotMatch);
                }
            }
            self.state = State::Done;
            return Ok(());
        }
        if self.mode == Mode::Signed {
            // STREAMING-AWS4-HMAC-SHA256-PAYLOAD has no trailer; unsigned trailer lines
            // (e.g. a forged checksum) must not be accepted.
            return Err(ChunkError::body("Unexpected trailer after the final chunk"));
        }
        self.trailer_bytes += line.len();
        if self.trailer_bytes > MAX_TRAILER_BYTES {
            return Err(ChunkError::body("Trailer too large"));
        }
        let line = std::str::from_utf8(line)
            .map_err(|_| ChunkError::body("Trailer is not valid UTF-8"))?;
        let Some((name, value)) = line.split_once(':') else {
            return Err(ChunkError::body(format!("Malformed trailer line '{line}'")));
        };
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim();
        if name == "x-amz-trailer-signature" {
            self.trailer_signature = Some(
                decode_hex32(value)
                    .ok_or_else(|| ChunkError::body("Malformed x-amz-trailer-signature"))?,
            );
            return Ok(());
        }
        self.trailers.push((name, value.to_owned()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use iamd_sigv4::RequestParts;
    use proptest::prelude::*;

    use super::*;

    fn ctx() -> ChunkSigningContext {
        let key = signing_key(b"secret", "20261128", "us-east-1", "s3");
        ChunkSigningContext::new(
            key,
            AmzDate::parse_iso_basic("20261128T101010Z").unwrap(),
            "20261128/us-east-1/s3/aws4_request".into(),
            [7; 32],
        )
    }

    fn decode_all(mut d: ChunkedDecoder, body: &[u8], step: usize) -> Result<Vec<u8>, ChunkError> {
        let mut out = Vec::new();
        for piece in body.chunks(step.max(1)) {
            d.feed(piece, &mut out)?;
        }
        d.finish()?;
        Ok(out)
    }

    #[test]
    fn signed_roundtrip_and_tamper() {
        let c = ctx();
        let body = c.encode(&[b"hello ", b"world"]);
        for step in [1, 2, 7, 1000] {
            assert_eq!(
                decode_all(ChunkedDecoder::signed(c.clone()), &body, step).unwrap(),
                b"hello world"
            );
        }
        let mut bad = body.clone();
        let pos = bad.iter().position(|&b| b == b'w').unwrap();
        bad[pos] = b'W';
        let e = decode_all(ChunkedDecoder::signed(c.clone()), &bad, 3).unwrap_err();
        assert_eq!(e.code(), "SignatureDoesNotMatch");
        // Truncated.
        let e = decode_all(
            ChunkedDecoder::signed(c.clone()),
            &body[..body.len() - 2],
            5,
        )
        .unwrap_err();
        assert_eq!(e.code(), "IncompleteBody");
        // Trailing garbage.
        let mut extra = body.clone();
        extra.push(b'x');
        assert!(decode_all(ChunkedDecoder::signed(c.clone()), &extra, 5).is_err());
        // An (unsigned) trailer is refused without a trailer signature scheme.
        let mut with_trailer = body[..body.len() - 2].to_vec();
        with_trailer.extend_from_slice(b"x-amz-checksum-crc32:AAAAAA==\r\n\r\n");
        assert!(decode_all(ChunkedDecoder::signed(c), &with_trailer, 5).is_err());
    }

    #[test]
    fn unsigned_trailer() {
        let body = b"5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
        let mut d = ChunkedDecoder::unsigned_trailer();
        let mut out = Vec::new();
        for b in body.chunks(3) {
            d.feed(b, &mut out).unwrap();
        }
        d.finish().unwrap();
        assert_eq!(out, b"hello world");
        assert_eq!(
            d.trailers(),
            &[("x-amz-checksum-crc32".to_string(), "DUoRhQ==".to_string())]
        );
        assert_eq!(d.decoded_len(), 11);
    }

    #[test]
    fn malformed() {
        for body in [
            &b"zz\r\nhello\r\n"[..],
            b"5\r\nhello!\r\n",
            b"5\nhello\r\n",
            b"5\r\nhello\rx",
        ] {
            let mut d = ChunkedDecoder::unsigned_trailer();
            assert!(d.feed(body, &mut Vec::new()).is_err(), "{body:?}");
        }
        let mut d = ChunkedDecoder::unsigned_trailer().with_max_chunk_size(4);
        assert!(d.feed(b"5\r\n", &mut Vec::new()).is_err());
        let mut d = ChunkedDecoder::signed(ctx());
        assert!(d.feed(b"5\r\nhello\r\n", &mut Vec::new()).is_err());
    }

    #[test]
    fn signed_trailer() {
        let c = ctx();
        let data = b"abc";
        let s1 = c.chunk_signature(&c.seed(), &Sha256::digest(data).into());
        let s2 = c.chunk_signature(&s1, &Sha256::digest(b"").into());
        let ts = c.trailer_signature(&s2, b"x-amz-checksum-crc32c:sOO8/Q==\n");
        let body = format!(
            "3;chunk-signature={}\r\nabc\r\n0;chunk-signature={}\r\nx-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:{}\r\n\r\n",
            hex(&s1),
            hex(&s2),
            hex(&ts)
        );
        assert_eq!(
            decode_all(
                ChunkedDecoder::signed_with_trailer(c.clone()),
                body.as_bytes(),
                4
            )
            .unwrap(),
            b"abc"
        );
        // Two trailers sent out of order are canonicalized sorted.
        let ts2 = c.trailer_signature(&s2, b"x-amz-checksum-crc32c:sOO8/Q==\nx-amz-meta-a:b\n");
        let body2 = format!(
            "3;chunk-signature={}\r\nabc\r\n0;chunk-signature={}\r\nx-amz-meta-a: b\r\nX-Amz-Checksum-Crc32c:sOO8/Q==\r\nx-amz-trailer-signature:{}\r\n\r\n",
            hex(&s1),
            hex(&s2),
            hex(&ts2)
        );
        assert_eq!(
            decode_all(
                ChunkedDecoder::signed_with_trailer(c.clone()),
                body2.as_bytes(),
                5
            )
            .unwrap(),
            b"abc"
        );
        let tampered = body.replace("sOO8", "sOO9");
        assert!(decode_all(
            ChunkedDecoder::signed_with_trailer(c),
            tampered.as_bytes(),
            4
        )
        .is_err());
    }

    // AWS's documented example (S3 API reference, "Signature Calculations for the
    // Authorization Header: Transferring Payload in Multiple Chunks"): 65536 + 1024
    // bytes of 'a', with the seed and chunk signatures printed in that document.

    const DOC_SECRET: &[u8] = b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const DOC_SEED: &str = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
    const DOC_CHUNK_SIGS: [&str; 3] = [
        "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
        "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
        "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
    ];

    fn doc_body() -> Vec<u8> {
        let mut body = Vec::new();
        for (len, sig) in [
            (65536usize, DOC_CHUNK_SIGS[0]),
            (1024, DOC_CHUNK_SIGS[1]),
            (0, DOC_CHUNK_SIGS[2]),
        ] {
            body.extend_from_slice(format!("{len:x};chunk-signature={sig}\r\n").as_bytes());
            body.extend(std::iter::repeat_n(b'a', len));
            body.extend_from_slice(b"\r\n");
        }
        body
    }

    /// Verifies the headers of `headers` with `secret`, a minute after their date, and
    /// hands the parsed and verified request to `f`.
    fn with_verified<R>(
        path: &str,
        headers: &[(&str, &[u8])],
        secret: &[u8],
        f: impl FnOnce(&ParsedAuth<'_>, &Verified) -> R,
    ) -> R {
        let req = RequestParts::new("PUT", path, "", headers);
        let parsed = iamd_sigv4::parse(&req).unwrap();
        let now = UNIX_EPOCH + Duration::from_secs(parsed.timestamp().unix() as u64 + 60);
        let v = parsed.verify(secret, now, None).unwrap();
        f(&parsed, &v)
    }

    #[test]
    fn aws_documented_chunked_example() {
        let authz = format!(
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature={DOC_SEED}"
        );
        let headers: Vec<(&str, &[u8])> = vec![
            ("Host", b"s3.amazonaws.com"),
            ("x-amz-date", b"20130524T000000Z"),
            ("x-amz-storage-class", b"REDUCED_REDUNDANCY"),
            ("Authorization", authz.as_bytes()),
            (
                "x-amz-content-sha256",
                b"STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
            ),
            ("Content-Encoding", b"aws-chunked"),
            ("x-amz-decoded-content-length", b"66560"),
            ("Content-Length", b"66824"),
        ];
        with_verified(
            "/examplebucket/chunkObject.txt",
            &headers,
            DOC_SECRET,
            |p, v| {
                assert_eq!(v.signature_hex(), DOC_SEED);
                let body = doc_body();
                assert_eq!(body.len(), 66824);
                for step in [1usize, 7, 1000, 65536, body.len()] {
                    let mut d = ChunkedDecoder::for_request(p, v, DOC_SECRET).unwrap();
                    let mut out = Vec::new();
                    for piece in body.chunks(step) {
                        d.feed(piece, &mut out).unwrap();
                    }
                    d.finish().unwrap();
                    assert_eq!(out.len(), 66560);
                    assert!(out.iter().all(|&b| b == b'a'));
                    assert_eq!(d.decoded_len(), 66560);
                }
                // Our encoder reproduces the documented body byte for byte.
                let data = vec![b'a'; 66560];
                let ctx = ChunkSigningContext::for_request(p, v, DOC_SECRET);
                assert_eq!(ctx.encode(&[&data[..65536], &data[65536..]]), body);
                // A flipped payload byte in the second chunk fails at that chunk.
                let mut bad = body.clone();
                bad[65626 + 86 + 10] = b'b';
                let mut d = ChunkedDecoder::for_request(p, v, DOC_SECRET).unwrap();
                let mut out = Vec::new();
                let e = d.feed(&bad, &mut out).unwrap_err();
                assert_eq!(e.code(), "SignatureDoesNotMatch");
                assert_eq!(
                    out.len(),
                    65536,
                    "only the verified first chunk is released"
                );
            },
        );
    }

    #[test]
    fn decoder_from_a_verified_request() {
        let t = AmzDate::parse_iso_basic("20261128T101010Z").unwrap();
        let mut headers: Vec<(&str, &[u8])> = vec![
            ("host", b"localhost"),
            ("x-amz-date", b"20261128T101010Z"),
            (
                "x-amz-content-sha256",
                iamd_sigv4::STREAMING_PAYLOAD.as_bytes(),
            ),
        ];
        let params = iamd_sigv4::SigningParams::new("AKID", b"secret", "us-east-1", "s3", t);
        let authz =
            iamd_sigv4::sign_headers(&RequestParts::new("PUT", "/b/k", "", &headers), &params)
                .value;
        headers.push(("authorization", authz.as_bytes()));
        with_verified("/b/k", &headers, b"secret", |p, v| {
            let body = ChunkSigningContext::for_request(p, v, b"secret").encode(&[b"abc", b"def"]);
            let mut d = ChunkedDecoder::for_request(p, v, b"secret").unwrap();
            let mut payload = Vec::new();
            d.feed(&body, &mut payload).unwrap();
            d.finish().unwrap();
            assert_eq!(payload, b"abcdef");
            // Another secret derives another key: the first chunk is refused.
            let mut d = ChunkedDecoder::for_request(p, v, b"other").unwrap();
            assert_eq!(
                d.feed(&body, &mut Vec::new()),
                Err(ChunkError::SignatureDoesNotMatch)
            );
        });
    }

    #[test]
    fn botocore_unsigned_trailer_body() {
        let body = include_bytes!("../testdata/botocore-unsigned-trailer.body");
        let expected = b"hello world, this is boto3".repeat(10);
        for step in [1usize, 3, 64, body.len()] {
            let mut d = ChunkedDecoder::unsigned_trailer();
            let mut out = Vec::new();
            for p in body.chunks(step) {
                d.feed(p, &mut out).unwrap();
            }
            d.finish().unwrap();
            assert_eq!(out, expected);
            assert_eq!(
                d.trailers(),
                &[("x-amz-checksum-crc32".to_string(), "xiBTsA==".to_string())]
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn signed_chunked_random_splits(
            data in prop::collection::vec(any::<u8>(), 0..4000),
            cuts in prop::collection::vec(1usize..700, 1..12),
            feed in 1usize..600,
            flip_pos in any::<usize>(),
            flip in 1u8..=255,
        ) {
            let key = signing_key(b"pRoPtEsT/SeCrEt+KeY", "20261128", "us-east-1", "s3");
            let ctx = ChunkSigningContext::new(
                key,
                AmzDate::parse_iso_basic("20261128T101010Z").unwrap(),
                "20261128/us-east-1/s3/aws4_request".into(),
                [9; 32],
            );
            let mut chunks: Vec<&[u8]> = Vec::new();
            let mut rest = &data[..];
            for c in cuts.iter().cycle() {
                if rest.is_empty() { break; }
                let n = (*c).min(rest.len());
                chunks.push(&rest[..n]);
                rest = &rest[n..];
            }
            let body = ctx.encode(&chunks);
            let run = |body: &[u8]| -> Result<Vec<u8>, ChunkError> {
                let mut d = ChunkedDecoder::signed(ctx.clone());
                let mut out = Vec::new();
                for p in body.chunks(feed) { d.feed(p, &mut out)?; }
                d.finish()?;
                Ok(out)
            };
            prop_assert_eq!(run(&body).unwrap(), data.clone());
            let mut bad = body.clone();
            let i = flip_pos % bad.len();
            // A case flip of a hex digit is an equivalent encoding; skip those.
            if !(flip == 0x20 && bad[i].is_ascii_alphabetic()) {
                bad[i] ^= flip;
                prop_assert!(run(&bad).is_err(), "flip at {} accepted", i);
            }
        }

        #[test]
        fn unsigned_trailer_random_splits(
            data in prop::collection::vec(any::<u8>(), 0..4000),
            cuts in prop::collection::vec(1usize..700, 1..12),
            feed in 1usize..600,
        ) {
            let mut body = Vec::new();
            let mut rest = &data[..];
            for c in cuts.iter().cycle() {
                if rest.is_empty() { break; }
                let n = (*c).min(rest.len());
                body.extend_from_slice(format!("{n:x}\r\n").as_bytes());
                body.extend_from_slice(&rest[..n]);
                body.extend_from_slice(b"\r\n");
                rest = &rest[n..];
            }
            body.extend_from_slice(b"0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n");
            let mut d = ChunkedDecoder::unsigned_trailer();
            let mut out = Vec::new();
            for p in body.chunks(feed) { d.feed(p, &mut out).unwrap(); }
            d.finish().unwrap();
            prop_assert_eq!(out, data);
            prop_assert_eq!(d.trailers().len(), 1);
            // Truncation is detected.
            let mut d = ChunkedDecoder::unsigned_trailer();
            let mut out = Vec::new();
            d.feed(&body[..body.len() - 1], &mut out).unwrap();
            prop_assert!(d.finish().is_err());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Garbage in: errors, never panics.
        #[test]
        fn arbitrary_body_never_panics(body in prop::collection::vec(any::<u8>(), 0..200)) {
            let key = signing_key(b"s", "20261128", "r", "s3");
            let t = AmzDate::parse_iso_basic("20261128T101010Z").unwrap();
            let ctx = ChunkSigningContext::new(key, t, "x".into(), [0; 32]);
            for mut d in [
                ChunkedDecoder::signed(ctx.clone()),
                ChunkedDecoder::signed_with_trailer(ctx),
                ChunkedDecoder::unsigned_trailer(),
            ] {
                let mut out = Vec::new();
                let _ = d.feed(&body, &mut out);
                let _ = d.finish();
            }
        }
    }
}
