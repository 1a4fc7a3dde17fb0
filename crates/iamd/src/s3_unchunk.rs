//! Test mode: the `aws-chunked` body of a request signed with a key this server does not
//! hold, decoded here into a plain body.
//!
//! s3s decodes aws-chunked bodies only while verifying their signatures, and the chunk
//! signatures of `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]` chain from the seed
//! signature with the signing key of the client's secret, which test mode never knows
//! (any secret is accepted for test mode's root). So for test mode's root only
//! ([`crate::test_mode::admit_s3`]) the request's signature is removed as for any other
//! request of the root, and its body is decoded here, chunk signatures ignored: the
//! framing is checked (sizes, line ends, nothing after the last chunk), the decoded
//! length must be `x-amz-decoded-content-length`, and a checksum the request declares
//! in `x-amz-trailer` is verified against the trailer ([`iamd_s3::TrailerSum`]). The
//! request then reads as a plain upload of the decoded bytes (`Content-Length` the
//! decoded length), which `iamd_s3::CheckedBody` checks against any digest header as
//! for every plain body. A refusal is recorded in the request's verdict, which the
//! listener answers with.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use http::HeaderValue;
use hyper::body::{Body, Frame, SizeHint};
use iamd_s3::{Refusal, TrailerSum, Verdict};

/// The longest chunk-size or trailer line accepted.
const MAX_LINE: usize = 8 * 1024;
/// The most trailer bytes accepted.
const MAX_TRAILERS: usize = 16 * 1024;

/// What [`admit`] found: the body must be decoded.
pub struct Unchunk {
    declared: u64,
    trailer: Option<TrailerSum>,
}

/// Whether the request's body is aws-chunked (a streaming `x-amz-content-sha256`);
/// if so its headers are rewritten to a plain upload's and the decoding to apply is
/// returned. `None` (headers untouched) for any other request.
pub fn admit(parts: &mut http::request::Parts) -> Option<Unchunk> {
    let h = &mut parts.headers;
    let streaming = h
        .get("x-amz-content-sha256")
        .is_some_and(|v| v.as_bytes().starts_with(b"STREAMING-"));
    if !streaming {
        return None;
    }
    let declared = h
        .get("x-amz-decoded-content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())?;
    let trailer = TrailerSum::declared(h);
    h.remove("x-amz-content-sha256");
    h.remove("x-amz-decoded-content-length");
    h.remove("x-amz-trailer");
    h.insert(http::header::CONTENT_LENGTH, HeaderValue::from(declared));
    let rest: Vec<String> = h
        .get_all(http::header::CONTENT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("aws-chunked"))
        .map(str::to_owned)
        .collect();
    h.remove(http::header::CONTENT_ENCODING);
    if let Ok(v) = HeaderValue::from_str(&rest.join(",")) {
        if !rest.is_empty() {
            h.insert(http::header::CONTENT_ENCODING, v);
        }
    }
    Some(Unchunk { declared, trailer })
}

impl Unchunk {
    /// `inner` (the aws-chunked body) decoded.
    pub fn wrap<B>(self, inner: B, verdict: Verdict) -> Unchunked<B> {
        Unchunked {
            inner,
            buf: BytesMut::new(),
            state: State::Size,
            left: self.declared,
            declared: self.declared,
            trailer: self.trailer,
            trailers: Vec::new(),
            trailer_bytes: 0,
            verdict,
            eof: false,
        }
    }
}

enum State {
    /// Reading a `hex-size[;extensions]` line.
    Size,
    /// This many data bytes of the current chunk left.
    Data(u64),
    /// The `\r\n` after a chunk's data.
    DataEnd,
    /// Trailer lines, up to the empty line.
    Trailers,
    Done,
    Failed,
}

/// An aws-chunked body decoded (see the module docs).
pub struct Unchunked<B> {
    inner: B,
    buf: BytesMut,
    state: State,
    /// Decoded bytes still expected.
    left: u64,
    declared: u64,
    trailer: Option<TrailerSum>,
    trailers: Vec<(String, String)>,
    trailer_bytes: usize,
    verdict: Verdict,
    eof: bool,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const INCOMPLETE: &str =
    "You did not provide the number of bytes specified by the Content-Length HTTP header";

impl<B> Unchunked<B> {
    fn fail(&mut self, refusal: Refusal) -> BoxError {
        let message = refusal.message.clone();
        if let Ok(mut v) = self.verdict.lock() {
            v.get_or_insert(refusal);
        }
        self.state = State::Failed;
        message.into()
    }

    fn incomplete(&mut self) -> BoxError {
        self.fail(Refusal {
            status: 400,
            code: "IncompleteBody".into(),
            message: INCOMPLETE.into(),
            extra: Vec::new(),
        })
    }

    fn malformed(&mut self) -> BoxError {
        self.fail(Refusal {
            status: 400,
            code: "InvalidRequest".into(),
            message: "The aws-chunked encoding of the request body is malformed.".into(),
            extra: Vec::new(),
        })
    }

    /// One line (without its `\r\n`) from the buffer, if complete.
    fn line(&mut self) -> Result<Option<Bytes>, BoxError> {
        match self.buf.windows(2).position(|w| w == b"\r\n") {
            Some(n) => {
                let line = self.buf.split_to(n).freeze();
                self.buf.advance(2);
                Ok(Some(line))
            }
            None if self.buf.len() > MAX_LINE => Err(self.malformed()),
            None => Ok(None),
        }
    }

    /// Decodes what the buffer holds: decoded data to hand on, `Ok(None)` when more
    /// input is needed (or the body ended).
    fn step(&mut self) -> Result<Option<Bytes>, BoxError> {
        loop {
            match self.state {
                State::Size => {
                    let Some(line) = self.line()? else {
                        return Ok(None);
                    };
                    let size = std::str::from_utf8(&line)
                        .ok()
                        .map(|l| l.split(';').next().unwrap_or("").trim())
                        .and_then(|hex| u64::from_str_radix(hex, 16).ok());
                    self.state = match size {
                        None => return Err(self.malformed()),
                        Some(0) => State::Trailers,
                        Some(n) if n > self.left => return Err(self.incomplete()),
                        Some(n) => State::Data(n),
                    };
                }
                State::Data(n) => {
                    if self.buf.is_empty() {
                        return Ok(None);
                    }
                    let take = usize::try_from(n).unwrap_or(usize::MAX).min(self.buf.len());
                    let data = self.buf.split_to(take).freeze();
                    let n = n - take as u64;
                    self.left -= take as u64;
                    self.state = if n == 0 {
                        State::DataEnd
                    } else {
                        State::Data(n)
                    };
                    if let Some(t) = &mut self.trailer {
                        t.update(&data);
                    }
                    return Ok(Some(data));
                }
                State::DataEnd => {
                    if self.buf.len() < 2 {
                        return Ok(None);
                    }
                    if &self.buf[..2] != b"\r\n" {
                        return Err(self.malformed());
                    }
                    self.buf.advance(2);
                    self.state = State::Size;
                }
                State::Trailers => {
                    let Some(line) = self.line()? else {
                        return Ok(None);
                    };
                    self.trailer_bytes += line.len() + 2;
                    if self.trailer_bytes > MAX_TRAILERS {
                        return Err(self.malformed());
                    }
                    if line.is_empty() {
                        self.state = State::Done;
                        return self.finish().map(|()| None);
                    }
                    let text = String::from_utf8_lossy(&line);
                    let Some((name, value)) = text.split_once(':') else {
                        return Err(self.malformed());
                    };
                    self.trailers
                        .push((name.trim().to_owned(), value.trim().to_owned()));
                }
                State::Done | State::Failed => return Ok(None),
            }
        }
    }

    /// The last chunk and its trailers were read.
    fn finish(&mut self) -> Result<(), BoxError> {
        if self.left != 0 || !self.buf.is_empty() {
            return Err(self.incomplete());
        }
        if let Some(t) = self.trailer.take() {
            let trailers = std::mem::take(&mut self.trailers);
            if let Err(refusal) = t.verify(&trailers) {
                return Err(self.fail(refusal));
            }
        }
        Ok(())
    }
}

impl<B> Body for Unchunked<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        loop {
            match this.step() {
                Err(e) => return Poll::Ready(Some(Err(e))),
                Ok(Some(data)) => return Poll::Ready(Some(Ok(Frame::data(data)))),
                Ok(None) => {}
            }
            match this.state {
                State::Done => {
                    // Nothing may follow the final chunk's trailers.
                    if !this.buf.is_empty() {
                        return Poll::Ready(Some(Err(this.incomplete())));
                    }
                    if this.eof {
                        return Poll::Ready(None);
                    }
                }
                State::Failed => return Poll::Ready(None),
                _ if this.eof => return Poll::Ready(Some(Err(this.incomplete()))),
                _ => {}
            }
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => this.eof = true,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e.into()))),
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        this.buf.extend_from_slice(&data);
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.state, State::Done | State::Failed) && self.eof
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.declared)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn parts(headers: &[(&str, &str)]) -> http::request::Parts {
        let mut b = http::Request::builder().method("PUT").uri("/b/k");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    fn signed_framing(chunks: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for c in chunks.iter().chain([&&b""[..]]) {
            out.extend_from_slice(
                format!("{:x};chunk-signature={}\r\n", c.len(), "a".repeat(64)).as_bytes(),
            );
            out.extend_from_slice(c);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    async fn decode(
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (Result<Vec<u8>, String>, Option<Refusal>, http::HeaderMap) {
        let mut p = parts(headers);
        let u = admit(&mut p).expect("streaming");
        let verdict = Verdict::default();
        // Deliver in small pieces, to cross every boundary.
        let inner = Pieces(body.chunks(7).map(Bytes::copy_from_slice).collect());
        let out = u
            .wrap(inner, verdict.clone())
            .collect()
            .await
            .map(|c| c.to_bytes().to_vec())
            .map_err(|e| e.to_string());
        let refusal = verdict.lock().unwrap().take();
        (out, refusal, p.headers)
    }

    struct Pieces(std::collections::VecDeque<Bytes>);

    impl Body for Pieces {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
        }
    }

    const SIGNED: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";

    #[tokio::test]
    async fn signed_chunks_decode_to_a_plain_body() {
        let (out, refusal, h) = decode(
            &[
                ("x-amz-content-sha256", SIGNED),
                ("content-encoding", "aws-chunked,gzip"),
                ("x-amz-decoded-content-length", "11"),
                ("content-length", "999"),
            ],
            signed_framing(&[b"hello ", b"world"]),
        )
        .await;
        assert_eq!(out.unwrap(), b"hello world");
        assert!(refusal.is_none());
        assert_eq!(h.get("content-length").unwrap(), "11");
        assert_eq!(h.get("content-encoding").unwrap(), "gzip");
        assert!(h.get("x-amz-content-sha256").is_none());
    }

    #[tokio::test]
    async fn lengths_and_framing_are_checked() {
        let h = |n: &'static str| {
            [
                ("x-amz-content-sha256", SIGNED),
                ("content-encoding", "aws-chunked"),
                ("x-amz-decoded-content-length", n),
            ]
        };
        for (declared, body) in [
            ("10", signed_framing(&[b"hello ", b"world"])),
            ("12", signed_framing(&[b"hello ", b"world"])),
            ("11", signed_framing(&[b"hello ", b"world"])[..30].to_vec()),
        ] {
            let (out, refusal, _) = decode(&h(declared), body).await;
            assert!(out.is_err());
            assert_eq!(refusal.unwrap().code, "IncompleteBody", "{declared}");
        }
        let mut body = signed_framing(&[b"hello ", b"world"]);
        body.extend_from_slice(b"extra");
        assert_eq!(
            decode(&h("11"), body).await.1.unwrap().code,
            "IncompleteBody"
        );
        let (_, refusal, _) = decode(&h("5"), b"zz;x\r\nhello\r\n".to_vec()).await;
        assert_eq!(refusal.unwrap().code, "InvalidRequest");
        let (_, refusal, _) = decode(&h("5"), b"5\r\nhelloXX0\r\n\r\n".to_vec()).await;
        assert_eq!(refusal.unwrap().code, "InvalidRequest");
    }

    #[tokio::test]
    async fn trailer_checksum_is_verified() {
        // CRC32 of "hello world" is 0x0d4a1185: DUoRhQ==.
        let headers = [
            ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
            ("content-encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "11"),
            ("x-amz-trailer", "x-amz-checksum-crc32"),
        ];
        let body = |value: &str| {
            format!("b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:{value}\r\n\r\n").into_bytes()
        };
        let (out, refusal, h) = decode(&headers, body("DUoRhQ==")).await;
        assert_eq!(out.unwrap(), b"hello world");
        assert!(refusal.is_none());
        assert!(h.get("x-amz-trailer").is_none());
        let (out, refusal, _) = decode(&headers, body("AAAAAA==")).await;
        assert!(out.is_err());
        assert_eq!(refusal.unwrap().code, "BadDigest");
        let (_, refusal, _) = decode(&headers, b"b\r\nhello world\r\n0\r\n\r\n".to_vec()).await;
        assert_eq!(refusal.unwrap().code, "InvalidRequest");
    }
}
