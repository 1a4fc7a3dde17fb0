//! aws-chunked bodies: s3s 0.14.1's decoder (the one iamd's S3 uploads go through;
//! its module is private, so it is driven through `S3Service` with a validly signed
//! PutObject and an in-memory `S3` whose `put_object` reads the whole body) and the
//! fuzz crate's own `iamd_fuzz::chunked::ChunkedDecoder` (called "iamd's" below), on
//! the same bytes in the same splits.
//!
//! Input: flags, split, then body material.
//! * flags & 7 — 0 `STREAMING-UNSIGNED-PAYLOAD-TRAILER`, 1 `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`,
//!   2 `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`, with the material as the raw body;
//!   3, 4, 5 the same three, with a valid body built from the material (pieces
//!   separated by `|`; in the trailer modes the last piece is the trailer `name:value`);
//!   6, 7 as 0, 1.
//! * (flags >> 3) & 3 — `x-amz-decoded-content-length`: the true decoded length, the
//!   body length, true + 1, true − 1.
//! * (flags >> 5) & 3 — built bodies only: as built, last `split % 32 + 1` bytes cut,
//!   final chunk (and trailer) cut, `0\r\n` appended.
//! * split — 0: the body is one frame; else frames of `split` bytes.
//!
//! Invariants: no panic; neither decoder yields more bytes than it was given; iamd's
//! decoder counts what it yields and gives the same result whole and in frames; when
//! both accept, they yield the same bytes; a built, unmutated body with the true
//! decoded length is accepted by both and yields exactly the pieces.
#![no_main]

use std::convert::Infallible;
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

use bytes::Bytes;
use futures_util::StreamExt;
use http_body::Frame;
use iamd_fuzz::chunked::{ChunkSigningContext, ChunkedDecoder};
use iamd_fuzz::{hex, pieces, verbose, ACCESS_KEY, SECRET};
use iamd_sigv4::{
    sign_headers, signing_key, AmzDate, RequestParts, SigningParams, STREAMING_PAYLOAD,
    STREAMING_PAYLOAD_TRAILER, STREAMING_UNSIGNED_PAYLOAD_TRAILER,
};
use libfuzzer_sys::fuzz_target;
use s3s::dto::{PutObjectInput, PutObjectOutput};
use s3s::service::{S3Service, S3ServiceBuilder};
use s3s::{S3Request, S3Response, S3Result, S3};
use sha2::{Digest, Sha256};

const REGION: &str = "us-east-1";
const PATH: &str = "/fuzz-bucket/key";
const DEFAULT_TRAILER: (&str, &str) = ("x-amz-checksum-crc32", "AAAAAA==");

/// What the last `put_object` read: the body bytes or the stream's error.
static PUT: Mutex<Option<Result<Vec<u8>, String>>> = Mutex::new(None);

struct Sink;

#[async_trait::async_trait]
impl S3 for Sink {
    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let mut got = Vec::new();
        let mut result = Ok(());
        if let Some(mut body) = req.input.body {
            while let Some(item) = body.next().await {
                match item {
                    Ok(b) => got.extend_from_slice(&b),
                    Err(e) => {
                        result = Err(e.to_string());
                        break;
                    }
                }
            }
        }
        let failed = result.is_err();
        *PUT.lock().unwrap_or_else(|p| p.into_inner()) = Some(result.map(|()| got));
        if failed {
            return Err(s3s::s3_error!(IncompleteBody));
        }
        Ok(S3Response::new(PutObjectOutput::default()))
    }
}

fn service() -> &'static S3Service {
    static S: OnceLock<S3Service> = OnceLock::new();
    S.get_or_init(|| {
        let mut b = S3ServiceBuilder::new(Sink);
        b.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET));
        b.build()
    })
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static R: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    R.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap_or_else(|e| panic!("tokio runtime: {e}"))
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Unsigned,
    Signed,
    SignedTrailer,
}

impl Mode {
    fn content_sha256(self) -> &'static str {
        match self {
            Mode::Unsigned => STREAMING_UNSIGNED_PAYLOAD_TRAILER,
            Mode::Signed => STREAMING_PAYLOAD,
            Mode::SignedTrailer => STREAMING_PAYLOAD_TRAILER,
        }
    }
    fn trailer(self) -> bool {
        self != Mode::Signed
    }
}

/// A valid body of `data` pieces (and `trailer` in the trailer modes), and where its
/// final chunk starts.
fn build(
    mode: Mode,
    ctx: &ChunkSigningContext,
    data: &[&[u8]],
    trailer: (&str, &str),
) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut prev = ctx.seed();
    let mut final_at = 0;
    for d in data
        .iter()
        .copied()
        .filter(|d| !d.is_empty())
        .chain([&[][..]])
    {
        if d.is_empty() {
            final_at = out.len();
        }
        if mode == Mode::Unsigned {
            out.extend_from_slice(format!("{:x}\r\n", d.len()).as_bytes());
        } else {
            prev = ctx.chunk_signature(&prev, &Sha256::digest(d).into());
            out.extend_from_slice(
                format!("{:x};chunk-signature={}\r\n", d.len(), hex(&prev)).as_bytes(),
            );
        }
        if !d.is_empty() {
            out.extend_from_slice(d);
            out.extend_from_slice(b"\r\n");
        }
    }
    if mode.trailer() {
        let (n, v) = trailer;
        out.extend_from_slice(format!("{n}:{v}\r\n").as_bytes());
        if mode == Mode::SignedTrailer {
            let sig = ctx.trailer_signature(&prev, format!("{n}:{v}\n").as_bytes());
            out.extend_from_slice(format!("x-amz-trailer-signature:{}\r\n", hex(&sig)).as_bytes());
        }
    }
    out.extend_from_slice(b"\r\n");
    (out, final_at)
}

fn iamd_decoder(mode: Mode, ctx: &ChunkSigningContext) -> ChunkedDecoder {
    match mode {
        Mode::Unsigned => ChunkedDecoder::unsigned_trailer(),
        Mode::Signed => ChunkedDecoder::signed(ctx.clone()),
        Mode::SignedTrailer => ChunkedDecoder::signed_with_trailer(ctx.clone()),
    }
}

/// iamd's decoder over `frames`; checks its own invariants.
fn iamd_decode(
    mode: Mode,
    ctx: &ChunkSigningContext,
    body: &[u8],
    frames: &[&[u8]],
) -> Option<Vec<u8>> {
    let mut d = iamd_decoder(mode, ctx);
    let mut out = Vec::new();
    let mut r = Ok(());
    for f in frames {
        r = d.feed(f, &mut out);
        if r.is_err() {
            break;
        }
    }
    let r = r.and_then(|()| d.finish());
    assert!(out.len() <= body.len());
    assert_eq!(d.decoded_len(), out.len() as u64);
    let mut whole = iamd_decoder(mode, ctx);
    let mut out2 = Vec::new();
    let r2 = whole.feed(body, &mut out2).and_then(|()| whole.finish());
    assert_eq!(
        r.is_ok(),
        r2.is_ok(),
        "split changed the result: {r:?} vs {r2:?}"
    );
    if let Err(e) = &r {
        let _ = (e.code(), e.to_string());
    }
    r.ok().map(|()| {
        assert_eq!(out, out2);
        assert_eq!(d.trailers(), whole.trailers());
        out
    })
}

/// The signed headers of the PutObject (header name, value) and their signature,
/// which seeds the chunk signatures.
fn signed_headers(
    mode: Mode,
    t: AmzDate,
    decoded_len: usize,
    body_len: usize,
    trailer: &str,
) -> (Vec<(&'static str, String)>, [u8; 32]) {
    let mut headers: Vec<(&'static str, String)> = vec![
        ("host", "127.0.0.1:9911".into()),
        ("x-amz-date", t.to_string()),
        ("x-amz-content-sha256", mode.content_sha256().into()),
        ("content-encoding", "aws-chunked".into()),
        ("x-amz-decoded-content-length", decoded_len.to_string()),
        ("content-length", body_len.to_string()),
    ];
    if mode.trailer() {
        headers.push(("x-amz-trailer", trailer.into()));
    }
    let signed = {
        let h: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (*n, v.as_bytes())).collect();
        let params = SigningParams::new(ACCESS_KEY, SECRET.as_bytes(), REGION, "s3", t);
        sign_headers(&RequestParts::new("PUT", PATH, "", &h), &params)
    };
    let mut seed = [0u8; 32];
    for (i, b) in seed.iter_mut().enumerate() {
        let pair = signed.signature.get(2 * i..2 * i + 2).unwrap_or("00");
        *b = u8::from_str_radix(pair, 16).unwrap_or(0);
    }
    headers.push(("authorization", signed.value));
    (headers, seed)
}

/// Sends the PutObject to s3s, the body in `frames`; returns what `put_object` read
/// (`None` if s3s did not call it) and the response status.
fn s3s_put(headers: &[(&str, String)], frames: &[&[u8]]) -> (Option<Result<Vec<u8>, String>>, u16) {
    let mut req = http::Request::builder().method("PUT").uri(PATH);
    for (n, v) in headers {
        req = req.header(*n, v.as_str());
    }
    let frames: Vec<Result<Frame<Bytes>, Infallible>> = frames
        .iter()
        .map(|f| Ok(Frame::data(Bytes::copy_from_slice(f))))
        .collect();
    let body = http_body_util::StreamBody::new(futures_util::stream::iter(frames));
    let Ok(req) = req.body(s3s::Body::http_body(body)) else {
        unreachable!("the request is well-formed")
    };
    *PUT.lock().unwrap_or_else(|p| p.into_inner()) = None;
    let status = runtime().block_on(async {
        match service().call(req).await {
            Ok(resp) => resp.status().as_u16(),
            Err(_) => 0,
        }
    });
    (PUT.lock().unwrap_or_else(|p| p.into_inner()).take(), status)
}

fuzz_target!(|data: &[u8]| {
    let [flags, split, material @ ..] = data else {
        return;
    };
    let (flags, split) = (*flags, *split);
    let (mode, built) = match flags & 7 {
        0 | 6 => (Mode::Unsigned, false),
        1 | 7 => (Mode::Signed, false),
        2 => (Mode::SignedTrailer, false),
        3 => (Mode::Unsigned, true),
        4 => (Mode::Signed, true),
        _ => (Mode::SignedTrailer, true),
    };
    let t = AmzDate::from_system_time(SystemTime::now());
    let date = t.date_stamp();
    let key = signing_key(SECRET.as_bytes(), &date, REGION, "s3");
    let scope = format!("{date}/{REGION}/s3/aws4_request");

    let mut pieces_of: Vec<&[u8]> = material.split(|&b| b == b'|').collect();
    let mut trailer = DEFAULT_TRAILER;
    if built && mode.trailer() && pieces_of.len() > 1 {
        if let Some(last) = pieces_of.last().and_then(|l| std::str::from_utf8(l).ok()) {
            if let Some((n, v)) = last.split_once(':') {
                let name_ok = !n.is_empty()
                    && n.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
                    && n != "x-amz-trailer-signature";
                if name_ok && v.bytes().all(|b| (0x21..0x7f).contains(&b)) {
                    trailer = (n, v);
                    pieces_of.pop();
                }
            }
        }
    }
    let expected: Vec<u8> = pieces_of.concat();
    let true_len = if built {
        expected.len()
    } else {
        material.len()
    };
    let decoded_len = match (flags >> 3) & 3 {
        0 => true_len,
        1 => material.len(),
        2 => true_len + 1,
        _ => true_len.saturating_sub(1),
    };
    let mutation = (flags >> 5) & 3;
    let make_body = |seed: [u8; 32]| -> Vec<u8> {
        if !built {
            return material.to_vec();
        }
        let ctx = ChunkSigningContext::new(key, t, scope.clone(), seed);
        let (mut b, final_at) = build(mode, &ctx, &pieces_of, trailer);
        match mutation {
            1 => b.truncate(b.len().saturating_sub(usize::from(split % 32) + 1)),
            2 => b.truncate(final_at),
            3 => b.extend_from_slice(b"0\r\n"),
            _ => {}
        }
        b
    };
    // Chunk signatures have a fixed length: the body length does not depend on the
    // seed, which depends on the headers (content-length among them).
    let body_len = make_body([0; 32]).len();
    let (headers, seed) = signed_headers(mode, t, decoded_len, body_len, trailer.0);
    let body = make_body(seed);
    assert_eq!(body.len(), body_len);
    let frames: Vec<&[u8]> = if split == 0 {
        vec![&body[..]]
    } else {
        pieces(&body, &[split])
    };
    let (put, status) = s3s_put(&headers, &frames);
    let ctx = ChunkSigningContext::new(key, t, scope.clone(), seed);
    let ours = iamd_decode(mode, &ctx, &body, &frames);
    if verbose() {
        let s3s = put.as_ref().map(|r| r.as_ref().map(Vec::len));
        eprintln!(
            "status {status}, s3s put_object read {s3s:?}, iamd {:?}",
            ours.as_ref().map(Vec::len)
        );
    }
    if let Some(Ok(got)) = &put {
        assert!(
            got.len() <= body.len(),
            "s3s yielded {} bytes from {}",
            got.len(),
            body.len()
        );
        if let Some(o) = &ours {
            assert_eq!(got, o, "s3s and iamd decoded the same body differently");
        }
    }
    if built && mutation == 0 && decoded_len == true_len {
        assert_eq!(
            ours.as_deref(),
            Some(&expected[..]),
            "iamd rejected a valid body"
        );
        match &put {
            Some(Ok(got)) => assert_eq!(got, &expected, "s3s decoded a valid body wrongly"),
            other => panic!("s3s rejected a valid body: status {status}, {other:?}"),
        }
    }
});
