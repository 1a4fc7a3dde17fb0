//! Runs one benchmark scenario in a loop, for instruction counts that do not depend on the
//! machine's load:
//!
//! ```text
//! cargo build --release -p iamd-policy --example profile
//! valgrind --tool=callgrind --callgrind-out-file=cg.out target/release/examples/profile b 100000
//! callgrind_annotate cg.out
//! ```
//!
//! Per-decision cost = (Ir at N iterations − Ir at 0 iterations) / N.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a profiling example: bad setup aborts the run"
)]

use std::hint::black_box;
use std::sync::Arc;

use iamd_policy::*;

#[path = "../benches/scenarios.rs"]
mod scenarios;
use scenarios::*;

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "a".into());
    let n: usize = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let context = ctx();
    let seed = vec![seed_policy()];
    let ten: Vec<Arc<CompiledPolicy>> = (0..10).map(policy_b).collect();
    let req_a = request("s3:PutObject", "arn:aws:s3:::houdini/x", &context);
    let req_b = request("s3:ListBucket", "arn:aws:s3:::data-9", &context);
    let req_d = request("s3:ListBucket", "arn:aws:s3:::elsewhere", &context);
    let set_a = PolicySet {
        identity: &seed,
        ..Default::default()
    };
    let set_b = PolicySet {
        identity: &ten,
        ..Default::default()
    };
    let view = account_view(if which == "c" { 1_000 } else { 10 }, &ten);
    let mut allowed = 0usize;
    for _ in 0..n {
        let k = match which.as_str() {
            "a" => decide(black_box(&req_a), black_box(&set_a)).kind,
            "b" => decide(black_box(&req_b), black_box(&set_b)).kind,
            "c" => decide_in_view(&view, black_box(&req_b)),
            _ => decide(black_box(&req_d), black_box(&set_b)).kind,
        };
        allowed += usize::from(k.is_allowed());
    }
    println!("{which}: {allowed} of {n} allowed");
}
