//! Hands non-Query-protocol requests to the S3 service (`iamd-s3`, built on s3s).
//! Only glue: the peer address goes in as an extension (for `aws:SourceIp`), and
//! the streaming response body is adapted to the listener's body type.

use std::net::SocketAddr;

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::{Request, Response};

use crate::http::Body;

pub async fn handle(
    svc: &s3s::service::S3Service,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Body> {
    let (mut parts, body) = req.into_parts();
    parts.extensions.insert(iamd_s3::ClientInfo {
        peer,
        secure: false,
    });
    let req = Request::from_parts(parts, s3s::Body::from(body));
    match svc.call(req).await {
        Ok(resp) => {
            let (parts, body) = resp.into_parts();
            // The listener's body type cannot carry an error: a failure mid-stream
            // ends the body early, which hyper reports to the client by closing the
            // connection (the Content-Length is not met).
            Response::from_parts(parts, S3Body(body).boxed())
        }
        Err(e) => {
            tracing::error!(error = ?e, "s3 request failed");
            crate::http::response(500, "application/xml", Bytes::new())
        }
    }
}

/// s3s's response body with errors turned into an early end (logged).
struct S3Body(s3s::Body);

impl hyper::body::Body for S3Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match Pin::new(&mut self.0).poll_frame(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Ready(Some(Ok(f))) => Poll::Ready(Some(Ok(f))),
            Poll::Ready(Some(Err(e))) => {
                tracing::warn!(error = %e, "s3 response body failed");
                Poll::Ready(None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.0.size_hint()
    }
}
