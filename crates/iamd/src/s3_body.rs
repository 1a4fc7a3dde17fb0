//! S3 request body wrappers: [`Tracked`] notes whether the body was read to its end
//! (the listener then knows whether the connection can be reused), and
//! [`ProgressTimeout`] fails a body that delivers no byte for `idle` while the
//! service waits for it (AWS S3's `RequestTimeout`). A slow but steady upload is
//! never cut: every frame re-arms the timer, and the timer only runs while the
//! service is actually waiting for the client.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// The error a stalled body ends with (the caller answers `RequestTimeout`).
#[derive(Debug, thiserror::Error)]
#[error("no request body byte received for {0:?}")]
pub struct BodyStalled(Duration);

pub struct ProgressTimeout<B> {
    inner: B,
    idle: Duration,
    /// Created on the first wait, re-armed after every frame.
    timer: Option<Pin<Box<Sleep>>>,
    armed: bool,
    /// Set once the body has stalled; shared with the caller.
    stalled: Arc<AtomicBool>,
}

impl<B> ProgressTimeout<B> {
    pub fn new(inner: B, idle: Duration, stalled: Arc<AtomicBool>) -> Self {
        ProgressTimeout {
            inner,
            idle,
            timer: None,
            armed: false,
            stalled,
        }
    }
}

impl<B> Body for ProgressTimeout<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        // Once stalled, always stalled: never let a reader mistake the rest for an end.
        if this.stalled.load(Ordering::Relaxed) {
            return Poll::Ready(Some(Err(Box::new(BodyStalled(this.idle)))));
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.armed = false;
                Poll::Ready(frame.map(|r| r.map_err(Into::into)))
            }
            Poll::Pending => {
                let deadline = Instant::now() + this.idle;
                let timer = match &mut this.timer {
                    Some(t) => {
                        if !this.armed {
                            t.as_mut().reset(deadline);
                        }
                        t
                    }
                    None => this
                        .timer
                        .insert(Box::pin(tokio::time::sleep_until(deadline))),
                };
                this.armed = true;
                match timer.as_mut().poll(cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(()) => {
                        this.stalled.store(true, Ordering::Relaxed);
                        Poll::Ready(Some(Err(Box::new(BodyStalled(this.idle)))))
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        !self.stalled.load(Ordering::Relaxed) && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The request body, noting when it has been read to its end.
pub struct Tracked {
    inner: hyper::body::Incoming,
    read_to_end: Arc<AtomicBool>,
}

impl Tracked {
    /// The wrapped body and its "read to the end" flag (already set for an empty body).
    pub fn new(inner: hyper::body::Incoming) -> (Self, Arc<AtomicBool>) {
        let read_to_end = Arc::new(AtomicBool::new(inner.is_end_stream()));
        let flag = read_to_end.clone();
        (Tracked { inner, read_to_end }, flag)
    }
}

impl Body for Tracked {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.read_to_end.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    /// `n` frames, one every `gap`, then the end (a slow but steady client).
    struct Steady {
        left: usize,
        gap: Duration,
        next: Pin<Box<Sleep>>,
    }

    impl Body for Steady {
        type Data = Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            if self.left == 0 {
                return Poll::Ready(None);
            }
            if self.next.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.left -= 1;
            let at = Instant::now() + self.gap;
            self.next.as_mut().reset(at);
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"x")))))
        }
    }

    /// One frame, then nothing ever again (a client that stalls).
    struct Stalls(bool);

    impl Body for Stalls {
        type Data = Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            if std::mem::replace(&mut self.0, false) {
                return Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"0123456789")))));
            }
            Poll::Pending
        }
    }

    #[tokio::test]
    async fn a_stalled_body_fails_and_stays_failed() {
        let flag = Arc::new(AtomicBool::new(false));
        let mut b = ProgressTimeout::new(Stalls(true), Duration::from_millis(20), flag.clone());
        let first = b.frame().await.unwrap().unwrap();
        assert_eq!(
            first.into_data().unwrap(),
            Bytes::from_static(b"0123456789")
        );
        let err = b.frame().await.unwrap().unwrap_err();
        assert!(err.is::<BodyStalled>(), "{err}");
        assert!(flag.load(Ordering::Relaxed));
        assert!(!b.is_end_stream());
        // Polled again, it does not pretend to have ended.
        assert!(b.frame().await.unwrap().is_err());
    }

    #[tokio::test]
    async fn a_slow_but_steady_body_is_not_cut() {
        // 40 frames 10 ms apart: 400 ms in all, four times the idle limit. The inner
        // body is polled before the timer, so even a starved runtime (both deadlines
        // passed at once) delivers the frame rather than a timeout.
        let flag = Arc::new(AtomicBool::new(false));
        let gap = Duration::from_millis(10);
        let inner = Steady {
            left: 40,
            gap,
            next: Box::pin(tokio::time::sleep(gap)),
        };
        let b = ProgressTimeout::new(inner, Duration::from_millis(100), flag.clone());
        let all = b.collect().await.unwrap().to_bytes();
        assert_eq!(all.len(), 40);
        assert!(!flag.load(Ordering::Relaxed));
    }
}
