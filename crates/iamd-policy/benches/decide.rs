//! `cargo bench -p iamd-policy --bench decide -- --warm-up-time 1 --measurement-time 3`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark: bad setup aborts the run"
)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use iamd_policy::*;

mod scenarios;
use scenarios::*;

/// Best-of-batches time per call (robust against preemption on a shared machine).
fn min_batch_ns(mut f: impl FnMut() -> DecisionKind) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..200 {
        let t = std::time::Instant::now();
        for _ in 0..2_000 {
            black_box(f());
        }
        let ns = t.elapsed().as_nanos() as f64 / 2_000.0;
        best = best.min(ns);
    }
    best
}

fn bench(c: &mut Criterion) {
    let context = ctx();

    // (a) seed policy
    let seed = vec![seed_policy()];
    let req_a = request("s3:PutObject", "arn:aws:s3:::houdini/x", &context);
    let set_a = PolicySet {
        identity: &seed,
        ..Default::default()
    };
    assert_eq!(decide(&req_a, &set_a).kind, DecisionKind::Allow);
    eprintln!(
        "min-batch a_seed_allow: {:.0} ns",
        min_batch_ns(|| decide(black_box(&req_a), black_box(&set_a)).kind)
    );
    c.bench_function("a_seed_allow", |b| {
        b.iter(|| decide(black_box(&req_a), black_box(&set_a)).kind)
    });

    // (b) 10 policies x 5 statements, one late Allow matching
    let ten: Vec<Arc<CompiledPolicy>> = (0..10).map(policy_b).collect();
    let req_b = request("s3:ListBucket", "arn:aws:s3:::data-9", &context);
    let set_b = PolicySet {
        identity: &ten,
        ..Default::default()
    };
    let d = decide(&req_b, &set_b);
    assert_eq!(d.kind, DecisionKind::Allow);
    assert_eq!(d.statement.unwrap().policy_id, "policy-9");
    eprintln!(
        "min-batch b_10x5_late_allow: {:.0} ns",
        min_batch_ns(|| decide(black_box(&req_b), black_box(&set_b)).kind)
    );
    c.bench_function("b_10x5_late_allow", |b| {
        b.iter(|| decide(black_box(&req_b), black_box(&set_b)).kind)
    });

    // (c) an account with N policies, ~10 attached to this principal. The server keeps a
    // principal -> Vec<Arc<CompiledPolicy>> view; the measured path includes that lookup.
    for n in [1_000usize, 10_000] {
        let view = account_view(n, &ten);
        let name = format!("c_account_{n}_policies");
        eprintln!(
            "min-batch {name}: {:.0} ns",
            min_batch_ns(|| decide_in_view(&view, black_box(&req_b)))
        );
        c.bench_function(&name, |b| {
            b.iter(|| decide_in_view(&view, black_box(&req_b)))
        });
    }

    // (d) (b)'s set, nothing matches
    let req_d = request("s3:ListBucket", "arn:aws:s3:::elsewhere", &context);
    assert_eq!(decide(&req_d, &set_b).kind, DecisionKind::ImplicitDeny);
    eprintln!(
        "min-batch d_10x5_nothing_matches: {:.0} ns",
        min_batch_ns(|| decide(black_box(&req_d), black_box(&set_b)).kind)
    );
    c.bench_function("d_10x5_nothing_matches", |b| {
        b.iter(|| decide(black_box(&req_d), black_box(&set_b)).kind)
    });

    // (e) issue 12: iam:GetUser by a user with ten managed policies attached (AWS-managed
    // and customer-managed mixed) against the same statements in one inline policy; and a
    // request none of them allows (every statement is looked at).
    let attached = mixed_attached();
    let inline = mixed_inline();
    let req_get = request(
        "iam:GetUser",
        "arn:aws:iam::123456789012:user/melvins",
        &context,
    );
    let req_none = request(
        "iam:CreateUser",
        "arn:aws:iam::123456789012:user/x",
        &context,
    );
    for (req, want, case) in [
        (&req_get, DecisionKind::Allow, "get_user"),
        (&req_none, DecisionKind::ImplicitDeny, "nothing_allows"),
    ] {
        for (policies, how) in [(&attached, "10_attached"), (&inline, "same_inline")] {
            let set = PolicySet {
                identity: policies,
                ..Default::default()
            };
            assert_eq!(decide(req, &set).kind, want);
            let name = format!("e_{case}_{how}");
            eprintln!(
                "min-batch {name}: {:.0} ns",
                min_batch_ns(|| decide(black_box(req), black_box(&set)).kind)
            );
            c.bench_function(&name, |b| {
                b.iter(|| decide(black_box(req), black_box(&set)).kind)
            });
        }
    }

    // extra: explain (allocating evidence path) and per-request context construction
    c.bench_function("x_explain_10x5", |b| {
        b.iter(|| explain(black_box(&req_b), black_box(&set_b)).matched.len())
    });
    c.bench_function("x_context_build_11_keys", |b| b.iter(|| black_box(ctx())));
}

criterion_group!(benches, bench);
criterion_main!(benches);
