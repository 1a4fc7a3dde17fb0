//! The benchmark's ceiling: a bare hyper server that answers every request with the
//! same small XML body (no parsing, no authentication, no work). It runs on the same
//! tokio runtime and hyper HTTP/1 connection settings as `iamd serve`'s listener, so
//! `bench/run.sh` can state iamd's throughput as a share of what this machine's HTTP
//! stack does at all.
//!
//! With `--verify SECRET` it is the floor instead: the same server, plus what every
//! IAM/STS request needs at least, reading the body and verifying its SigV4 signature
//! (iamd-sigv4's parse and verify, with the signing-key cache, as `iamd serve` calls
//! them) with the given secret, then the same fixed body (403 if the signature does not
//! verify). What iamd spends above the floor is the service itself: routing, form
//! decoding, authorization, the operation, XML encoding.
//!
//! With `--body-bytes N` the fixed body is N bytes of `application/octet-stream`
//! instead (`bench/run_s3.sh`: the ceiling of a 1 KiB GetObject).
//!
//! usage: cargo run --release -p iamd --example ceiling -- 127.0.0.1:19913 [--verify SECRET]
//!        [--body-bytes N]

/// The allocator `iamd serve` runs with (crates/iamd/src/main.rs), so the ceiling and the
/// floor are measured like for like.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use iamd_sigv4::{Payload, RequestParts, SigningKeyCache};
use tokio::net::TcpListener;

/// About the size of a GetUser answer.
const BODY: &str = concat!(
    r#"<GetUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetUserResult>"#,
    "<User><Path>/</Path><UserName>melvins</UserName><UserId>AIDAEXAMPLEEXAMPLEEXA</UserId>",
    "<Arn>arn:aws:iam::123456789012:user/melvins</Arn>",
    "<CreateDate>2026-01-01T00:00:00Z</CreateDate></User></GetUserResult>",
    "<ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId>",
    "</ResponseMetadata></GetUserResponse>"
);

fn main() -> ExitCode {
    let Some((addr, secret, body)) = args(std::env::args().skip(1).collect()) else {
        eprintln!("usage: ceiling ADDRESS:PORT [--verify SECRET] [--body-bytes N]");
        return ExitCode::from(2);
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ceiling: runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let verifier = secret.map(|s| {
        Arc::new(Verifier {
            secret: s,
            cache: SigningKeyCache::default(),
        })
    });
    match runtime.block_on(serve(addr, verifier, body)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ceiling: {addr}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The fixed answer: its body and Content-Type.
#[derive(Clone)]
struct Answer {
    body: Bytes,
    content_type: &'static str,
}

/// ADDRESS [--verify SECRET] [--body-bytes N] → the address, the floor's secret, the answer.
fn args(args: Vec<String>) -> Option<(SocketAddr, Option<String>, Answer)> {
    let mut it = args.into_iter();
    let addr = it.next()?.parse().ok()?;
    let (mut secret, mut answer) = (
        None,
        Answer {
            body: Bytes::from_static(BODY.as_bytes()),
            content_type: "text/xml",
        },
    );
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--verify" => secret = Some(it.next()?),
            "--body-bytes" => {
                let n: usize = it.next()?.parse().ok()?;
                answer = Answer {
                    body: Bytes::from(vec![b'x'; n]),
                    content_type: "application/octet-stream",
                };
            }
            _ => return None,
        }
    }
    Some((addr, secret, answer))
}

/// The floor's work: body, signature.
struct Verifier {
    secret: String,
    cache: SigningKeyCache,
}

impl Verifier {
    async fn check(&self, req: Request<hyper::body::Incoming>) -> bool {
        let (parts, body) = req.into_parts();
        let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
            return false;
        };
        let headers: Vec<(&str, &[u8])> = parts
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_bytes()))
            .collect();
        let query = parts.uri.query().unwrap_or("");
        let req = RequestParts::new(parts.method.as_str(), parts.uri.path(), query, &headers)
            .with_payload(Payload::Bytes(&body));
        iamd_sigv4::parse(&req)
            .and_then(|p| p.verify(self.secret.as_bytes(), SystemTime::now(), Some(&self.cache)))
            .is_ok()
    }
}

async fn serve(
    addr: SocketAddr,
    verifier: Option<Arc<Verifier>>,
    answer: Answer,
) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).keep_alive(true);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let verifier = verifier.clone();
        let answer = answer.clone();
        let conn = builder.serve_connection(
            TokioIo::new(stream),
            service_fn(move |req: Request<hyper::body::Incoming>| {
                let verifier = verifier.clone();
                let answer = answer.clone();
                async move {
                    let ok = match &verifier {
                        Some(v) => v.check(req).await,
                        None => true,
                    };
                    Ok::<_, Infallible>(respond(&answer, ok))
                }
            }),
        );
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
}

fn respond(answer: &Answer, ok: bool) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(answer.body.clone()));
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(answer.content_type),
    );
    if !ok {
        *r.status_mut() = hyper::StatusCode::FORBIDDEN;
    }
    r
}
