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

/// (e) issue 12's ten managed policies, as `bench/tools/seed.py` attaches them to melvins:
/// four AWS-managed (default versions of iamd's catalogue) and six customer-managed.
pub const MIXED_TEN: [(&str, &str); 10] = [
    (
        "arn:aws:iam::aws:policy/IAMReadOnlyAccess",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GenerateCredentialReport","iam:GenerateServiceLastAccessedDetails","iam:Get*","iam:List*","iam:SimulateCustomPolicy","iam:SimulatePrincipalPolicy"],"Resource":"*"}]}"#,
    ),
    (
        "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*","s3:Describe*","s3-object-lambda:Get*","s3-object-lambda:List*"],"Resource":"*"}]}"#,
    ),
    (
        "arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess",
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"AmazonSQSReadOnlyAccess","Effect":"Allow","Action":["sqs:GetQueueAttributes","sqs:GetQueueUrl","sqs:ListDeadLetterSourceQueues","sqs:ListQueues","sqs:ListMessageMoveTasks","sqs:ListQueueTags"],"Resource":"*"}]}"#,
    ),
    (
        "arn:aws:iam::aws:policy/IAMUserChangePassword",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ChangePassword"],"Resource":["arn:aws:iam::*:user/${aws:username}","arn:aws:iam::*:user/*/${aws:username}"]},{"Effect":"Allow","Action":["iam:GetAccountPasswordPolicy"],"Resource":"*"}]}"#,
    ),
    (
        "bench-cm-deny-admins",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["iam:Delete*","iam:Put*"],"Resource":"arn:aws:iam::*:user/admin-*"}]}"#,
    ),
    (
        "bench-cm-houdini-home",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject","s3:DeleteObject"],"Resource":"arn:aws:s3:::houdini/home/${aws:username}/*"}]}"#,
    ),
    (
        "bench-cm-logs-vpn",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::logs/*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}"#,
    ),
    (
        "bench-cm-ec2-region",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:Describe*","ec2:StartInstances"],"Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}}]}"#,
    ),
    (
        "bench-cm-tagged-roles",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:CreateRole","Resource":"*","Condition":{"Null":{"aws:RequestTag/team":"true"}}}]}"#,
    ),
    (
        "bench-cm-ci-roles",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::*:role/ci-*"}]}"#,
    ),
];

/// (e) the ten policies, each compiled on its own (attached managed policies).
pub fn mixed_attached() -> Vec<Arc<CompiledPolicy>> {
    MIXED_TEN.iter().map(|(id, src)| compile(src, id)).collect()
}

/// (e) one inline policy holding the ten policies' statements, in the same order
/// (`bench-inline`'s `same-statements` in `bench/tools/seed.py`).
pub fn mixed_inline() -> Vec<Arc<CompiledPolicy>> {
    let mut statements = Vec::new();
    for (_, src) in MIXED_TEN {
        let doc: serde_json::Value = serde_json::from_str(src).unwrap();
        let list = doc.get("Statement").and_then(|s| s.as_array()).unwrap();
        statements.extend(list.iter().cloned());
    }
    let doc = serde_json::json!({"Version": "2012-10-17", "Statement": statements});
    vec![Arc::new(
        CompiledPolicy::from_json(&doc.to_string(), PolicyType::Inline, "same-statements").unwrap(),
    )]
}
