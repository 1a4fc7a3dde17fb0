//! The benchmark's ceiling: a bare hyper server that answers every request with the
//! same small XML body (no parsing, no authentication, no work). It runs on the same
//! tokio runtime and hyper HTTP/1 connection settings as `iamd serve`'s listener, so
//! `bench/run.sh` can state iamd's throughput as a share of what this machine's HTTP
//! stack does at all.
//!
//! usage: cargo run --release -p iamd --example ceiling -- 127.0.0.1:19913

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
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
    let addr: SocketAddr = match std::env::args().nth(1).map(|a| a.parse()) {
        Some(Ok(a)) => a,
        _ => {
            eprintln!("usage: ceiling ADDRESS:PORT");
            return ExitCode::from(2);
        }
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
    match runtime.block_on(serve(addr)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ceiling: {addr}: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(addr: SocketAddr) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).keep_alive(true);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let conn = builder.serve_connection(
            TokioIo::new(stream),
            service_fn(|_req: Request<hyper::body::Incoming>| async {
                let mut r = Response::new(Full::new(Bytes::from_static(BODY.as_bytes())));
                r.headers_mut().insert(
                    hyper::header::CONTENT_TYPE,
                    hyper::header::HeaderValue::from_static("text/xml"),
                );
                Ok::<_, Infallible>(r)
            }),
        );
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
}
