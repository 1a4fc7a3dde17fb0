//! iamd's S3 request mapping (crates/iamd-s3/src/authz.rs): query parsing, the
//! signature-derived condition keys, `plan` (operation → actions, ARNs and condition
//! keys) and the copy-source and tagging headers, over arbitrary paths, queries and
//! header maps.
//!
//! The module is compiled here from its source file (it is pure: `http`, `s3s::path`,
//! `thiserror`), so this target does not build iamd-s3's storage dependencies.
//!
//! Input: an operation selector byte, a flags byte, then request text (see
//! `iamd_fuzz::parse_http`). flags & 1: path from s3s's path-style parser, else the
//! bucket and key split from the raw path unvalidated; flags >> 1: seconds added to
//! a fixed `now`.
//!
//! Invariants: `plan` is deterministic; every check is an `s3:` action on
//! `arn:aws:s3:::<bucket>[/…]` of the bucket it names; copy operations read the
//! object `copy_source` names (`s3:GetObjectVersion` when it names a version); percent-decoding never grows a string; `parse_query`
//! yields at most one pair per `&`-separated part; a date iamd-sigv4 accepts gets the
//! same time from `parse_amz_date`; signature keys are `s3:` keys with a
//! non-negative age.
#![no_main]

#[allow(dead_code)]
#[path = "../../crates/iamd-s3/src/authz.rs"]
mod authz;

use authz::{Plan, Target};
use http::{HeaderMap, HeaderName, HeaderValue};
use iamd_fuzz::parse_http;
use libfuzzer_sys::fuzz_target;
use s3s::path::S3Path;

/// Operations `plan` does not map, besides `authz::OPERATIONS`.
const UNMAPPED: &[&str] = &["GetBucketWebsite", ""];

const NOW: i64 = 1_795_000_000;

fn check_decode(s: &str) {
    assert!(authz::percent_decode(s).len() <= s.len());
    let q = authz::parse_query(s);
    assert!(q.len() <= s.split('&').count());
}

fn check_date(s: &str) {
    let ours = authz::parse_amz_date(s);
    if let Some(t) = iamd_sigv4::AmzDate::parse_iso_basic(s) {
        // Known difference (fuzz/README.md): a leap second `…60Z` is :59 for
        // iamd-sigv4 and :00 of the next minute for authz.rs.
        let leap = s.get(13..15) == Some("60");
        let ok = ours == Some(t.unix()) || (leap && ours == Some(t.unix() + 1));
        assert!(
            ok,
            "parse_amz_date({s:?}) = {ours:?}, iamd-sigv4: {}",
            t.unix()
        );
    }
}

fn check_plan(op: &str, path: &S3Path, q: &[(String, String)], h: &HeaderMap) {
    let plan = authz::plan(op, path, q, h);
    assert_eq!(plan, authz::plan(op, path, q, h));
    let checks = match plan {
        Ok(Plan::Checks(c)) => c,
        Ok(Plan::InHandler) => return,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    assert!(!checks.is_empty());
    for c in &checks {
        assert!(c.action.starts_with("s3:"), "{c:?}");
        for (k, _) in &c.keys {
            assert!(k.starts_with("s3:"), "{c:?}");
        }
        if let Target::Arn { arn, bucket } = &c.target {
            let b = authz::bucket_arn(bucket);
            assert!(arn == &b || arn.starts_with(&format!("{b}/")), "{c:?}");
        }
    }
    if matches!(op, "CopyObject" | "UploadPartCopy") {
        let Ok((sb, sk)) = authz::copy_source(h) else {
            unreachable!("a copy plan without a copy source")
        };
        let read = if authz::copy_source_version(h).is_some() {
            "s3:GetObjectVersion"
        } else {
            "s3:GetObject"
        };
        assert!(checks.iter().any(|c| c.action == read
            && c.target
                == Target::Arn {
                    arn: authz::object_arn(&sb, &sk),
                    bucket: sb.clone()
                }));
    }
}

fuzz_target!(|data: &[u8]| {
    let [sel, flags, rest @ ..] = data else {
        return;
    };
    let Some(r) = parse_http(rest) else {
        return;
    };
    let mut h = HeaderMap::new();
    for (n, v) in &r.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(n.as_bytes()),
            HeaderValue::from_bytes(v),
        ) {
            h.append(n, v);
        }
    }
    for (_, v) in h.iter() {
        if let Ok(s) = v.to_str() {
            check_decode(s);
            check_date(s);
        }
    }
    check_decode(r.query);
    check_decode(r.path);
    let q = authz::parse_query(r.query);
    for (_, v) in &q {
        check_date(v);
    }
    let now = NOW + i64::from(*flags >> 1);
    for (k, v) in authz::signature_keys(&h, &q, now) {
        assert!(k.starts_with("s3:"));
        if k == "s3:signatureAge" {
            assert!(v.parse::<u64>().is_ok(), "{v}");
        }
    }
    let _ = authz::copy_source(&h);
    let path = if flags & 1 == 1 {
        let decoded = authz::percent_decode(&r.path.replace('+', "%2B"));
        match s3s::path::parse_path_style(&decoded) {
            Ok(p) => p,
            Err(_) => return,
        }
    } else {
        match r.path.trim_start_matches('/').split_once('/') {
            None if r.path.trim_start_matches('/').is_empty() => S3Path::root(),
            None => S3Path::bucket(r.path.trim_start_matches('/')),
            Some((b, k)) => S3Path::object(b, k),
        }
    };
    let i = usize::from(*sel) % (authz::OPERATIONS.len() + UNMAPPED.len());
    let op = authz::OPERATIONS
        .get(i)
        .or_else(|| UNMAPPED.get(i - authz::OPERATIONS.len()))
        .copied()
        .unwrap_or("");
    check_plan(op, &path, &q, &h);
});
