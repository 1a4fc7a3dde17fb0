//! Runs one decision scenario of `benches/decide.rs` N times, for instruction counts that do
//! not drift with the machine's load (subtract the run with N = 0):
//!
//! ```text
//! cargo build --release -p iamd-policy --example profile
//! valgrind --tool=callgrind target/release/examples/profile e-get-attached 10000
//! ```
//!
//! Scenarios: `a`, `b`, `c` (1,000 policies in the account), `d` (as in the bench),
//! `e-get-attached`, `e-get-inline`, `e-none-attached`, `e-none-inline`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a measuring tool: bad arguments abort the run"
)]

use std::hint::black_box;
use std::sync::Arc;

use iamd_policy::*;

#[path = "../benches/scenarios.rs"]
mod scenarios;
use scenarios::*;

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().expect("usage: profile SCENARIO N");
    let n: usize = args
        .next()
        .expect("usage: profile SCENARIO N")
        .parse()
        .unwrap();
    let context = ctx();
    let seed = vec![seed_policy()];
    let ten: Vec<Arc<CompiledPolicy>> = (0..10).map(policy_b).collect();
    let attached = mixed_attached();
    let inline = mixed_inline();
    let get = ("iam:GetUser", "arn:aws:iam::123456789012:user/melvins");
    let none = ("iam:CreateUser", "arn:aws:iam::123456789012:user/x");
    let ((action, arn), policies) = match which.as_str() {
        "a" => (("s3:PutObject", "arn:aws:s3:::houdini/x"), &seed),
        "b" | "c" => (("s3:ListBucket", "arn:aws:s3:::data-9"), &ten),
        "d" => (("s3:ListBucket", "arn:aws:s3:::elsewhere"), &ten),
        "e-get-attached" => (get, &attached),
        "e-get-inline" => (get, &inline),
        "e-none-attached" => (none, &attached),
        "e-none-inline" => (none, &inline),
        other => panic!("unknown scenario {other}"),
    };
    let req = request(action, arn, &context);
    if which == "c" {
        let view = account_view(1_000, &ten);
        for _ in 0..n {
            black_box(decide_in_view(&view, black_box(&req)));
        }
        return;
    }
    let set = PolicySet {
        identity: policies,
        ..Default::default()
    };
    for _ in 0..n {
        black_box(decide(black_box(&req), black_box(&set)).kind);
    }
}
