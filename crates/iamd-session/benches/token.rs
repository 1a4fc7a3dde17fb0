//! `cargo bench -p iamd-session --bench token -- --warm-up-time 1 --measurement-time 3`
//!
//! `open` (and `seal`) of a typical token: a role session without policies, with two
//! tags. Criterion's median is in `target/criterion/<name>/new/estimates.json`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark: bad setup aborts the run"
)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use iamd_session::*;

const KEY_ID: &str = "ASIAIOSFODNN7EXAMPLE";

fn typical() -> SessionClaims {
    SessionClaims {
        account_id: "123456789012".into(),
        principal: SessionPrincipal::AssumedRole {
            role_id: "AROA3XFRBF535PLBIFPI4".into(),
            role_name: "houdini-writer".into(),
            role_path: "/".into(),
            session_name: "melvins-ci-2024".into(),
        },
        secret_access_key: SecretAccessKey::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        issued_at: 1_700_000_000,
        expires_at: 1_700_003_600,
        mfa_authenticated_at: None,
        source_identity: None,
        role_chained: false,
        from_session_credentials: false,
        session_policy: None,
        session_policy_arns: Vec::new(),
        tags: vec![
            SessionTag {
                key: "team".into(),
                value: "melvins".into(),
            },
            SessionTag {
                key: "cost-center".into(),
                value: "12345".into(),
            },
        ],
        transitive_tag_keys: Vec::new(),
    }
}

fn bench(c: &mut Criterion) {
    let ring = Keyring::new(&[42; 32], 1).unwrap();
    let claims = typical();
    let token = seal(&ring, &claims, KEY_ID, &[9; NONCE_LEN]).unwrap();
    println!("typical token: {} bytes", token.len());
    let now = claims.issued_at + 60;
    c.bench_function("open_typical", |b| {
        b.iter(|| open(black_box(&ring), black_box(&token), KEY_ID, now).unwrap())
    });
    c.bench_function("seal_typical", |b| {
        b.iter(|| {
            seal(
                black_box(&ring),
                black_box(&claims),
                KEY_ID,
                &[9; NONCE_LEN],
            )
            .unwrap()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
