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

#[path = "../src/typical.rs"]
mod typical;

const KEY_ID: &str = "ASIAIOSFODNN7EXAMPLE";

fn bench(c: &mut Criterion) {
    let ring = Keyring::new(&[42; 32], 1).unwrap();
    let claims = typical::typical_claims();
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
