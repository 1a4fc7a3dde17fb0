//! Verification cost on the hot path: header auth of a typical IAM form POST with a
//! cached signing key (the steady state), uncached, and a presigned S3 GET.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark: bad setup aborts the run"
)]

use std::time::{Duration, UNIX_EPOCH};

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use iamd_sigv4::{
    parse, presign, sign_headers, AmzDate, Payload, RequestParts, SigningKeyCache, SigningParams,
};

const SECRET: &[u8] = b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn bench(c: &mut Criterion) {
    let t = AmzDate::parse_iso_basic("20261128T101010Z").unwrap();
    let now = UNIX_EPOCH + Duration::from_secs(t.unix() as u64 + 2);
    let body = b"Action=CreateUser&UserName=melvins&Path=%2Fdivision_abc%2F&Version=2010-05-08";
    let mut headers: Vec<(&str, &[u8])> = vec![
        ("host", b"127.0.0.1:8080"),
        (
            "content-type",
            b"application/x-www-form-urlencoded; charset=utf-8",
        ),
        (
            "user-agent",
            b"Boto3/1.35.0 md/Botocore#1.35.0 ua/2.0 os/linux#6.1 lang/python#3.11",
        ),
        ("x-amz-date", b"20261128T101010Z"),
        ("content-length", b"79"),
    ];
    let params = SigningParams::new("AKIAIOSFODNN7EXAMPLE", SECRET, "us-east-1", "iam", t);
    let authz = sign_headers(
        &RequestParts::new("POST", "/", "", &headers).with_payload(Payload::Bytes(body)),
        &params,
    )
    .value;
    headers.push(("authorization", authz.as_bytes()));
    let cache = SigningKeyCache::default();

    // Calibration: one SHA-256 over 64 bytes (two compressions) on this machine.
    let block = [0x5au8; 64];
    c.bench_function("calibration_sha256_64_bytes", |b| {
        use sha2::Digest;
        b.iter(|| sha2::Sha256::digest(black_box(&block)))
    });

    c.bench_function("verify_header_iam_post_cached_key", |b| {
        b.iter(|| {
            let req = RequestParts::new("POST", "/", "", black_box(&headers))
                .with_payload(Payload::Bytes(black_box(body)));
            let p = parse(&req).unwrap();
            p.verify(SECRET, now, Some(&cache)).unwrap()
        })
    });
    c.bench_function("verify_header_iam_post_uncached", |b| {
        b.iter(|| {
            let req = RequestParts::new("POST", "/", "", black_box(&headers))
                .with_payload(Payload::Bytes(black_box(body)));
            let p = parse(&req).unwrap();
            p.verify(SECRET, now, None).unwrap()
        })
    });

    let get_headers: Vec<(&str, &[u8])> = vec![("host", b"127.0.0.1:8080")];
    let s3params = SigningParams::new("AKIAIOSFODNN7EXAMPLE", SECRET, "us-east-1", "s3", t);
    let q = presign(
        &RequestParts::new("GET", "/houdini/photos/cat.jpg", "", &get_headers),
        &s3params,
        3600,
    )
    .value;
    c.bench_function("verify_presigned_s3_get_cached_key", |b| {
        b.iter(|| {
            let req = RequestParts::new(
                "GET",
                "/houdini/photos/cat.jpg",
                black_box(&q),
                &get_headers,
            );
            let p = parse(&req).unwrap();
            p.verify(SECRET, now, Some(&cache)).unwrap()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
