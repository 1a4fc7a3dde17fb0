//! Incremental decoding of S3 `aws-chunked` bodies.
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

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::canonical::{decode_hex32, hex_lower, hmac, EMPTY_SHA256};
use crate::error::SigError;
use crate::time::AmzDate;

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
            .field("seed", &hex_lower(&self.seed))
            .finish()
    }
}

impl ChunkSigningContext {
    /// Builds a context from a signing key (see [`crate::signing_key`]), the request
    /// time, the scope string `date/region/service/aws4_request` and the seed signature.
    pub fn new(signing_key: [u8; 32], timestamp: AmzDate, scope: String, seed: [u8; 32]) -> Self {
        ChunkSigningContext {
            signing_key,
            timestamp: timestamp.to_string(),
            scope,
            seed,
        }
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
            hex_lower(previous),
            EMPTY_SHA256,
            hex_lower(data_sha256)
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
            hex_lower(previous),
            hex_lower(&crate::canonical::sha256(canonical_trailers))
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
                format!("{:x};chunk-signature={}\r\n", data.len(), hex_lower(&sig)).as_bytes(),
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
    pub fn finish(&self) -> Result<(), SigError> {
        if self.is_done() {
            Ok(())
        } else {
            Err(SigError::body("The request body terminated unexpectedly"))
        }
    }

    /// Consumes `input`, appending decoded payload bytes to `out`.
    pub fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<(), SigError> {
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
                            return Err(SigError::body("Chunk data is not followed by CRLF"));
                        }
                        self.end_chunk(out)?;
                    }
                }
                State::Done => {
                    return Err(SigError::body("Data found after the final chunk"));
                }
            }
        }
        Ok(())
    }

    /// Accumulates a CRLF-terminated line into `self.line`; returns (complete, used).
    fn take_line(&mut self, input: &[u8]) -> Result<(bool, usize), SigError> {
        for (i, &b) in input.iter().enumerate() {
            if self.pending_cr {
                self.pending_cr = false;
                if b == b'\n' {
                    return Ok((true, i + 1));
                }
                return Err(SigError::body(
                    "Malformed chunk framing: CR not followed by LF",
                ));
            }
            if b == b'\r' {
                self.pending_cr = true;
                continue;
            }
            if b == b'\n' {
                return Err(SigError::body("Malformed chunk framing: bare LF"));
            }
            if self.state == State::DataEnd {
                return Err(SigError::body(
                    "Chunk data is longer than its declared size",
                ));
            }
            self.line.push(b);
            if self.line.len() > MAX_LINE {
                return Err(SigError::body("Chunk header line too long"));
            }
        }
        Ok((false, input.len()))
    }

    fn on_header_line(&mut self, line: &[u8]) -> Result<(), SigError> {
        let line = std::str::from_utf8(line)
            .map_err(|_| SigError::body("Chunk header is not valid UTF-8"))?;
        let mut parts = line.split(';');
        let size_str = parts.next().unwrap_or_default().trim();
        if size_str.is_empty()
            || size_str.len() > 16
            || !size_str.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(SigError::body(format!("Invalid chunk size '{size_str}'")));
        }
        let size = u64::from_str_radix(size_str, 16)
            .ok()
            .and_then(|s| usize::try_from(s).ok())
            .ok_or_else(|| SigError::body("Invalid chunk size"))?;
        if size > self.max_chunk_size {
            return Err(SigError::body(format!(
                "Chunk size {size} exceeds the limit of {}",
                self.max_chunk_size
            )));
        }
        let mut sig = None;
        for ext in parts {
            if let Some(v) = ext.trim().strip_prefix("chunk-signature=") {
                sig = Some(
                    decode_hex32(v.trim())
                        .ok_or_else(|| SigError::body("Malformed chunk-signature"))?,
                );
            }
        }
        if self.ctx.is_some() && sig.is_none() {
            return Err(SigError::body("Missing chunk-signature"));
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

    fn verify_chunk(&mut self) -> Result<(), SigError> {
        if let Some(ctx) = &self.ctx {
            let hasher = std::mem::take(&mut self.hasher);
            let digest: [u8; 32] = hasher.finalize().into();
            let computed = ctx.chunk_signature(&self.prev_sig, &digest);
            let ok = self
                .expected_sig
                .is_some_and(|e| bool::from(e.ct_eq(&computed)));
            if !ok {
                return Err(SigError::mismatch());
            }
            self.prev_sig = computed;
        }
        Ok(())
    }

    fn end_chunk(&mut self, out: &mut Vec<u8>) -> Result<(), SigError> {
        self.verify_chunk()?;
        if self.ctx.is_some() {
            out.extend_from_slice(&self.chunk);
            self.decoded_len += self.chunk.len() as u64;
            self.chunk.clear();
        }
        self.state = State::Header;
        Ok(())
    }

    fn on_trailer_line(&mut self, line: &[u8]) -> Result<(), SigError> {
        if line.is_empty() {
            if self.mode == Mode::SignedTrailer {
                let (Some(ctx), Some(sig)) = (&self.ctx, self.trailer_signature) else {
                    return Err(SigError::body("Missing x-amz-trailer-signature"));
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
                    return Err(SigError::mismatch());
                }
            }
            self.state = State::Done;
            return Ok(());
        }
        if self.mode == Mode::Signed {
            // STREAMING-AWS4-HMAC-SHA256-PAYLOAD has no trailer; unsigned trailer lines
            // (e.g. a forged checksum) must not be accepted.
            return Err(SigError::body("Unexpected trailer after the final chunk"));
        }
        self.trailer_bytes += line.len();
        if self.trailer_bytes > MAX_TRAILER_BYTES {
            return Err(SigError::body("Trailer too large"));
        }
        let line =
            std::str::from_utf8(line).map_err(|_| SigError::body("Trailer is not valid UTF-8"))?;
        let Some((name, value)) = line.split_once(':') else {
            return Err(SigError::body(format!("Malformed trailer line '{line}'")));
        };
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim();
        if name == "x-amz-trailer-signature" {
            self.trailer_signature = Some(
                decode_hex32(value)
                    .ok_or_else(|| SigError::body("Malformed x-amz-trailer-signature"))?,
            );
            return Ok(());
        }
        self.trailers.push((name, value.to_owned()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::derive_signing_key;

    fn ctx() -> ChunkSigningContext {
        let key = derive_signing_key(b"secret", "20261128", "us-east-1", "s3");
        ChunkSigningContext::new(
            key,
            AmzDate::parse_iso_basic("20261128T101010Z").unwrap(),
            "20261128/us-east-1/s3/aws4_request".into(),
            [7; 32],
        )
    }

    fn decode_all(mut d: ChunkedDecoder, body: &[u8], step: usize) -> Result<Vec<u8>, SigError> {
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
        assert_eq!(e.aws_code(), "SignatureDoesNotMatch");
        // Truncated.
        let e = decode_all(
            ChunkedDecoder::signed(c.clone()),
            &body[..body.len() - 2],
            5,
        )
        .unwrap_err();
        assert_eq!(e.aws_code(), "IncompleteBody");
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
            hex_lower(&s1),
            hex_lower(&s2),
            hex_lower(&ts)
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
            hex_lower(&s1),
            hex_lower(&s2),
            hex_lower(&ts2)
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
}
