//! The benchmark scenarios of issue 2, shared by `benches/decide.rs` (criterion) and
//! `examples/profile.rs` (a loop to run under `valgrind --tool=callgrind`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code,
    reason = "a benchmark: bad setup aborts the run"
)]

use std::collections::HashMap;
use std::sync::Arc;

use iamd_policy::*;

pub const ACCT: &str = "123456789012";
pub const USER: &str = "arn:aws:iam::123456789012:user/alice";

fn compile(src: &str, id: &str) -> Arc<CompiledPolicy> {
    Arc::new(CompiledPolicy::from_json(src, PolicyType::Managed, id).unwrap())
}

/// (a) the seed policy: Allow `s3:*` on `houdini` and `houdini/*`.
pub fn seed_policy() -> Arc<CompiledPolicy> {
    compile(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*",
        "Resource":["arn:aws:s3:::houdini","arn:aws:s3:::houdini/*"]}]}"#,
        "melvins",
    )
}

/// 5 statements: Allow and Deny, wildcards in actions and resources, conditions on
/// aws:SourceIp and s3:prefix.
pub fn policy_b(i: usize) -> Arc<CompiledPolicy> {
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

/// The request context every scenario uses (11 keys, as the server builds it).
pub fn ctx() -> Context {
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

pub fn caller() -> Caller<'static> {
    Caller::User {
        arn: USER,
        id: "AIDAALICE",
        account: ACCT,
    }
}

pub fn request<'a>(action: &'a str, arn: &'a str, context: &'a Context) -> Request<'a> {
    Request {
        action,
        resource: Resource::Arn(arn),
        resource_account: Some(ACCT),
        caller: caller(),
        context,
    }
}

/// (c): an account of `n` policies, ~10 per principal, as the server's principal → policies
/// view; alice holds (b)'s ten policies.
pub fn account_view(
    n: usize,
    ten: &[Arc<CompiledPolicy>],
) -> HashMap<String, Vec<Arc<CompiledPolicy>>> {
    let all: Vec<Arc<CompiledPolicy>> = (0..n).map(|i| policy_b(i % 200)).collect();
    let principals = n / 10;
    let mut view: HashMap<String, Vec<Arc<CompiledPolicy>>> = HashMap::new();
    for (i, p) in all.iter().enumerate() {
        view.entry(format!("arn:aws:iam::{ACCT}:user/u{}", i % principals))
            .or_default()
            .push(p.clone());
    }
    view.insert(USER.to_string(), ten.to_vec());
    view
}

/// (c)'s measured path: the principal lookup plus the decision.
pub fn decide_in_view(
    view: &HashMap<String, Vec<Arc<CompiledPolicy>>>,
    req: &Request<'_>,
) -> DecisionKind {
    let mine = view
        .get(std::hint::black_box(USER))
        .map_or(&[][..], Vec::as_slice);
    let set = PolicySet {
        identity: mine,
        ..Default::default()
    };
    decide(req, &set).kind
}
