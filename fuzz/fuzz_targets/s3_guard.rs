//! iamd's S3 front-door check (crates/iamd-s3/src/guard.rs, compiled here from its
//! source file): one authentication mechanism, SigV4 credentials scoped to `s3`, and
//! every `x-amz-*` header signed — over arbitrary request text.
//!
//! Input: request text (see `iamd_fuzz::parse_http`); headers that `http` refuses are
//! dropped, as the server never sees them either.
//!
//! Invariants: the check is deterministic (at a fixed instant); a refusal is a 4xx with a code and a
//! message; a request it lets through that iamd-sigv4 parses as SigV4 has every
//! `x-amz-*` header among its signed headers (for presigned URLs all but
//! `x-amz-content-sha256`) and names the service `s3`; a request with both an
//! `Authorization` header and presigned query parameters is never let through.
#![no_main]

#[allow(dead_code)]
#[path = "../../crates/iamd-s3/src/guard.rs"]
mod guard;

use http::{HeaderMap, HeaderName, HeaderValue};
use iamd_fuzz::parse_http;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(req) = parse_http(data) else {
        return;
    };
    let mut headers = HeaderMap::new();
    for (name, value) in &req.headers {
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_bytes(value)) {
            headers.append(n, v);
        }
    }
    // A fixed instant: presigned URLs' windows depend on it (2026-12-05T00:00:00Z).
    let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_796_428_800);
    let check = || guard::precheck_at(req.method, req.path, req.query, &headers, now, |_| Ok(()));
    let verdict = check();
    assert_eq!(verdict, check());
    match verdict {
        Err(r) => {
            assert!((400..500).contains(&r.status), "{r:?}");
            assert!(!r.code.is_empty() && !r.message.is_empty(), "{r:?}");
        }
        Ok(()) => {
            let presigned = req.query.split('&').any(|p| {
                let name = p.split_once('=').map_or(p, |(n, _)| n);
                matches!(name, "X-Amz-Algorithm" | "X-Amz-Credential" | "X-Amz-Signature" | "Signature" | "AWSAccessKeyId")
            });
            assert!(!(presigned && headers.contains_key(http::header::AUTHORIZATION)));
            let list: Vec<(&str, &[u8])> =
                headers.iter().map(|(k, v)| (k.as_str(), v.as_bytes())).collect();
            let parts = iamd_sigv4::RequestParts::new(req.method, req.path, req.query, &list);
            // Whatever the SigV4 parser accepts must have passed the full check.
            if let Ok(auth) = iamd_sigv4::parse(&parts) {
                assert_eq!(auth.scope().service, "s3");
                let is_presigned = matches!(auth.kind(), iamd_sigv4::AuthKind::Presigned { .. });
                for (name, _) in &list {
                    if !name.starts_with("x-amz-") || (is_presigned && *name == "x-amz-content-sha256") {
                        continue;
                    }
                    assert!(auth.signed_headers().any(|s| s.eq_ignore_ascii_case(name)), "{name} not signed");
                }
            }
        }
    }
});
