//! `cargo bench -p iamd-policy -- --warm-up-time 1 --measurement-time 3`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use iamd_policy::*;

const ACCT: &str = "123456789012";
const USER: &str = "arn:aws:iam::123456789012:user/alice";

fn compile(src: &str, id: &str) -> Arc<CompiledPolicy> {
    Arc::new(CompiledPolicy::from_json(src, PolicyType::Managed, id).unwrap())
}

fn seed_policy() -> Arc<CompiledPolicy> {
    compile(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*",
        "Resource":["arn:aws:s3:::houdini","arn:aws:s3:::houdini/*"]}]}"#,
        "melvins",
    )
}

/// 5 statements: Allow and Deny, wildcards in actions and resources, conditions on
/// aws:SourceIp and s3:prefix.
fn policy_b(i: usize) -> Arc<CompiledPolicy> {
    let src = format!(
        r#"{{"Version":"2012-10-17","Statement":[
  {{"Sid":"NoDelete","Effect":"Deny","Action":"s3:Delete*","Resource":"arn:aws:s3:::secret-{i}/*"}},
  {{"Sid":"Ec2","Effect":"Allow","Action":["ec2:Describe*","ec2:Get*"],"Resource":"*"}},
  {{"Sid":"Read","Effect":"Allow","Action":["s3:Get*","s3:List*"],"Resource":"arn:aws:s3:::data-{i}/*",
    "Condition":{{"IpAddress":{{"aws:SourceIp":["10.{i}.0.0/16","172.16.{i}.0/24"]}}}}}},
  {{"Sid":"Logs","Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::logs-{i}/*",
    "Condition":{{"NotIpAddress":{{"aws:SourceIp":"192.168.0.0/16"}}}}}},
  {{"Sid":"Home","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::data-{i}",
    "Condition":{{"StringLike":{{"s3:prefix":["home/${{aws:username}}/*","public/*"]}}}}}}
]}}"#
    );
    compile(&src, &format!("policy-{i}"))
}

fn ctx() -> Context {
    let mut c = Context::with_capacity(16);
    c.insert("aws:username", "alice")
        .insert("aws:userid", "AIDAALICE")
        .insert("aws:PrincipalArn", USER)
        .insert("aws:PrincipalAccount", ACCT)
        .insert("aws:PrincipalType", "User")
        .insert("aws:SourceIp", "10.9.1.1")
        .insert("aws:CurrentTime", "2026-11-28T19:00:00Z")
        .insert("aws:EpochTime", "1795892400")
        .insert("aws:SecureTransport", "true")
        .insert("aws:UserAgent", "aws-cli/2")
        .insert("s3:prefix", "home/alice/docs");
    c
}

fn caller() -> Caller<'static> {
    Caller::User {
        arn: USER,
        id: "AIDAALICE",
        account: ACCT,
    }
}

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
    let req_a = Request {
        action: "s3:PutObject",
        resource: Resource::Arn("arn:aws:s3:::houdini/x"),
        resource_account: Some(ACCT),
        caller: caller(),
        context: &context,
    };
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
    let req_b = Request {
        action: "s3:ListBucket",
        resource: Resource::Arn("arn:aws:s3:::data-9"),
        resource_account: Some(ACCT),
        caller: caller(),
        context: &context,
    };
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
        let all: Vec<Arc<CompiledPolicy>> = (0..n).map(|i| policy_b(i % 200)).collect();
        let principals = n / 10;
        let mut view: HashMap<String, Vec<Arc<CompiledPolicy>>> = HashMap::new();
        for (i, p) in all.iter().enumerate() {
            view.entry(format!("arn:aws:iam::{ACCT}:user/u{}", i % principals))
                .or_default()
                .push(p.clone());
        }
        // alice gets policies 0..10 (ids policy-0..policy-9), same as (b)
        view.insert(USER.to_string(), ten.clone());
        let name = format!("c_account_{n}_policies");
        eprintln!(
            "min-batch {name}: {:.0} ns",
            min_batch_ns(|| {
                let mine = view.get(black_box(USER)).map_or(&[][..], Vec::as_slice);
                let set = PolicySet {
                    identity: mine,
                    ..Default::default()
                };
                decide(black_box(&req_b), &set).kind
            })
        );
        c.bench_function(&name, |b| {
            b.iter(|| {
                let mine = view.get(black_box(USER)).map_or(&[][..], Vec::as_slice);
                let set = PolicySet {
                    identity: mine,
                    ..Default::default()
                };
                decide(black_box(&req_b), &set).kind
            })
        });
    }

    // (d) (b)'s set, nothing matches
    let req_d = Request {
        action: "s3:ListBucket",
        resource: Resource::Arn("arn:aws:s3:::elsewhere"),
        resource_account: Some(ACCT),
        caller: caller(),
        context: &context,
    };
    assert_eq!(decide(&req_d, &set_b).kind, DecisionKind::ImplicitDeny);
    eprintln!(
        "min-batch d_10x5_nothing_matches: {:.0} ns",
        min_batch_ns(|| decide(black_box(&req_d), black_box(&set_b)).kind)
    );
    c.bench_function("d_10x5_nothing_matches", |b| {
        b.iter(|| decide(black_box(&req_d), black_box(&set_b)).kind)
    });

    // extra: explain (allocating evidence path) and per-request context construction
    c.bench_function("x_explain_10x5", |b| {
        b.iter(|| explain(black_box(&req_b), black_box(&set_b)).matched.len())
    });
    c.bench_function("x_context_build_11_keys", |b| b.iter(|| black_box(ctx())));
}

criterion_group!(benches, bench);
criterion_main!(benches);
