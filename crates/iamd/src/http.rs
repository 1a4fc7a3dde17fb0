//! The listener: one address for IAM, STS (and S3), HTTP/1.1 via hyper, with header
//! and body timeouts, a body size limit for Query-protocol requests, and graceful
//! shutdown (in-flight requests finish; new connections are refused).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;

use crate::app::App;

/// Response body type used everywhere in the server.
pub type Body = BoxBody<Bytes, Infallible>;

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

/// How long a client may take to send a request head, from its first byte.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connection may wait for the first byte of a request: a new connection,
/// or a keep-alive one between requests (nginx's keepalive_timeout default).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(75);
/// Header lines a request may have (hyper's default is 100). S3 limits the header
/// section to 8 KiB and answers an oversized one with its XML error
/// (`RequestHeaderSectionTooLarge`, `s3_checks.rs`); that check can only run on a
/// request hyper has parsed, and hyper answers a request over this count with an empty
/// 431 itself. The count is a cost on every request, though: hyper allocates and fills
/// two arrays of this many entries per request head (at 2,048 — every header section
/// within 8 KiB — that was about 20,000 instructions a request, more than any other
/// step but SHA-256). 256 lines is far beyond what clients send (the SDKs send a dozen
/// or so; 150 and 200 line requests are tested) and costs about an eighth of that; the
/// trade-off: a request with more than 256 header lines, all within 8 KiB, gets hyper's
/// empty 431 instead of S3's XML 400. Memory stays bounded by hyper's read buffer
/// (~400 KiB) and this count; request targets over 64 KiB get hyper's 414.
const MAX_HEADERS: usize = 256;
/// How long we wait for shutdown before dropping connections that are still busy.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

pub async fn serve(listener: TcpListener, app: Arc<App>, shutdown: impl Future<Output = ()>) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    // hyper has one timer for both waits (since 1.6 its header read timeout also runs
    // while a keep-alive connection is idle, closing it under a client that is about
    // to reuse it): give it the idle timeout, and let the per-connection timer below
    // shorten it to HEADER_TIMEOUT once a request head has begun.
    builder
        .header_read_timeout(IDLE_TIMEOUT)
        .max_headers(MAX_HEADERS)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let app = app.clone();
                let svc = service_fn(move |req: Request<Incoming>| {
                    let app = app.clone();
                    async move { Ok::<_, Infallible>(app.handle(req, peer).await) }
                });
                let clock = HeadClock::default();
                let conn = builder
                    .clone()
                    .timer(HeadTimer(clock.clone()))
                    .serve_connection(TokioIo::new(FirstByte { inner: stream, clock }), svc);
                let watched = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = watched.await {
                        tracing::debug!(error = %e, %peer, "connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tracing::info!("shutting down: waiting for in-flight requests");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(SHUTDOWN_GRACE) => tracing::warn!("grace period over; closing busy connections"),
    }
}

/// When the first byte since hyper last armed its header timer arrived, per connection:
/// read on every socket read, so an atomic (nanoseconds after the connection's start,
/// plus one; zero for none) rather than a lock.
#[derive(Clone)]
struct HeadClock(Arc<ClockState>);

struct ClockState {
    start: Instant,
    first: AtomicU64,
}

impl Default for HeadClock {
    fn default() -> Self {
        HeadClock(Arc::new(ClockState {
            start: Instant::now(),
            first: AtomicU64::new(0),
        }))
    }
}

impl HeadClock {
    fn is_set(&self) -> bool {
        self.0.first.load(Ordering::Relaxed) != 0
    }
    fn get(&self) -> Option<Instant> {
        match self.0.first.load(Ordering::Relaxed) {
            0 => None,
            n => Some(self.0.start + Duration::from_nanos(n - 1)),
        }
    }
    fn set(&self, v: Option<Instant>) {
        let n = v.map_or(0, |t| {
            let since = t.saturating_duration_since(self.0.start).as_nanos();
            u64::try_from(since).unwrap_or(u64::MAX - 1) + 1
        });
        self.0.first.store(n, Ordering::Relaxed);
    }
}

/// hyper's timer for one connection. hyper's HTTP/1 server sleeps for one thing only,
/// its header read timer, armed whenever it starts waiting for a request head (with
/// deadline now + IDLE_TIMEOUT); the sleep ends HEADER_TIMEOUT after the first byte of
/// that head instead, if one arrives sooner.
struct HeadTimer(HeadClock);

impl hyper::rt::Timer for HeadTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        TokioTimer::new().sleep(duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.0.set(None);
        Box::pin(HeadSleep {
            clock: self.0.clone(),
            idle_deadline: deadline,
            head_started: false,
            sleep: Box::pin(tokio::time::sleep_until(deadline.into())),
        })
    }
}

struct HeadSleep {
    clock: HeadClock,
    idle_deadline: Instant,
    head_started: bool,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl Future for HeadSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if !self.head_started {
            if let Some(first) = self.clock.get() {
                self.head_started = true;
                let deadline = self.idle_deadline.min(first + HEADER_TIMEOUT);
                self.sleep.as_mut().reset(deadline.into());
            }
        }
        self.sleep.as_mut().poll(cx)
    }
}

impl hyper::rt::Sleep for HeadSleep {}

/// The connection's socket, noting the first byte read after hyper armed its timer.
struct FirstByte {
    inner: tokio::net::TcpStream,
    clock: HeadClock,
}

impl AsyncRead for FirstByte {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before && !self.clock.is_set() {
            self.clock.set(Some(Instant::now()));
        }
        polled
    }
}

impl AsyncWrite for FirstByte {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Resolves on SIGTERM or SIGINT. The handlers are installed by this call (not when
/// first polled), so a signal that comes while the server is still starting is seen.
pub fn shutdown_signal() -> impl Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let handlers = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    );
    wait_for_signal(handlers)
}

async fn wait_for_signal(
    handlers: (
        std::io::Result<tokio::signal::unix::Signal>,
        std::io::Result<tokio::signal::unix::Signal>,
    ),
) {
    match handlers {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {},
                _ = int.recv() => {},
            }
        }
        _ => {
            // Without signal handlers we can only wait for Ctrl-C.
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

pub fn response(status: u16, content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(full(body));
    *r.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    r
}
