//! Property tests: glob vs a reference matcher; order independence; deny monotonicity;
//! compiled engine vs a naive reference interpretation.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "property tests: a failed expectation panics; indices come from the generators"
)]

use iamd_policy::glob::{Mode, Pattern};
use iamd_policy::*;
use proptest::prelude::*;
use serde_json::{json, Value};

const ACCT: &str = "111111111111";
const ALICE: &str = "arn:aws:iam::111111111111:user/alice";

/// Naive recursive backtracking glob over chars (the reference).
fn rglob(p: &[char], t: &[char]) -> bool {
    match p.split_first() {
        None => t.is_empty(),
        Some(('*', rest)) => (0..=t.len()).any(|i| rglob(rest, &t[i..])),
        Some(('?', rest)) => !t.is_empty() && rglob(rest, &t[1..]),
        Some((c, rest)) => t.first() == Some(c) && rglob(rest, &t[1..]),
    }
}

fn rglob_str(p: &str, t: &str) -> bool {
    rglob(
        &p.chars().collect::<Vec<_>>(),
        &t.chars().collect::<Vec<_>>(),
    )
}

fn pat_strategy() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("a"),
            Just("b"),
            Just("*"),
            Just("?"),
            Just("/"),
            Just("é"),
            Just("ab")
        ],
        0..8,
    )
    .prop_map(|v| v.concat())
}

fn text_strategy() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![Just("a"), Just("b"), Just("/"), Just("é"), Just("ab")],
        0..10,
    )
    .prop_map(|v| v.concat())
}

// ---------------------------------------------------------------------------------------------
// random policies

const ACTIONS: &[&str] = &[
    "s3:*",
    "s3:Get*",
    "s3:GetObject",
    "S3:getobject",
    "*",
    "iam:*",
    "s3:?etObject",
    "ec2:Describe*",
    "s3:*Object",
];
const RESOURCES: &[&str] = &[
    "*",
    "arn:aws:s3:::b/*",
    "arn:aws:s3:::b*",
    "arn:aws:s3:::*/k",
    "arn:aws:*:*:*:*",
    "arn:aws:s3:::c/*",
    "arn:aws:s3:::b/${aws:username}/*",
    "arn:aws:iam::111111111111:user/*",
    "arn:aws:s3:::data-1/*",
    "arn:aws:s3:::data-1",
    "arn:aws:s3:::b/alice/x",
    "arn:aws:s3:::b/al?ce/*",
    "arn:aws:s3:::longbucketname-0123456789/*",
    "arn:aws:s3:::",
];
const CONDS: &[(&str, &str)] = &[
    ("StringEquals", "x"),
    ("StringLike", "x*"),
    ("StringNotEquals", "x"),
    ("StringEqualsIfExists", "y"),
];

#[derive(Debug, Clone)]
struct Stmt {
    deny: bool,
    not_action: bool,
    actions: Vec<usize>,
    not_resource: bool,
    resources: Vec<usize>,
    cond: Option<usize>,
}

fn stmt_strategy() -> impl Strategy<Value = Stmt> {
    (
        any::<bool>(),
        prop::bool::weighted(0.15),
        proptest::collection::vec(0..ACTIONS.len(), 1..3),
        prop::bool::weighted(0.15),
        proptest::collection::vec(0..RESOURCES.len(), 1..3),
        proptest::option::weighted(0.3, 0..CONDS.len()),
    )
        .prop_map(
            |(deny, not_action, actions, not_resource, resources, cond)| Stmt {
                deny,
                not_action,
                actions,
                not_resource,
                resources,
                cond,
            },
        )
}

fn stmt_json(s: &Stmt) -> Value {
    let mut o = serde_json::Map::new();
    o.insert(
        "Effect".into(),
        json!(if s.deny { "Deny" } else { "Allow" }),
    );
    let acts: Vec<&str> = s.actions.iter().map(|&i| ACTIONS[i]).collect();
    o.insert(
        if s.not_action { "NotAction" } else { "Action" }.into(),
        json!(acts),
    );
    let res: Vec<&str> = s.resources.iter().map(|&i| RESOURCES[i]).collect();
    o.insert(
        if s.not_resource {
            "NotResource"
        } else {
            "Resource"
        }
        .into(),
        json!(res),
    );
    if let Some(c) = s.cond {
        let (op, v) = CONDS[c];
        o.insert("Condition".into(), json!({ op: { "k": v } }));
    }
    Value::Object(o)
}

fn policy_text(stmts: &[Stmt]) -> String {
    let st: Vec<Value> = stmts.iter().map(stmt_json).collect();
    json!({"Version": "2012-10-17", "Statement": st}).to_string()
}

fn compile(stmts: &[Stmt], id: &str) -> CompiledPolicy {
    CompiledPolicy::from_json(&policy_text(stmts), PolicyType::Inline, id).unwrap()
}

const REQ_ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:PutObject",
    "iam:CreateUser",
    "ec2:DescribeInstances",
];
const REQ_RESOURCES: &[&str] = &[
    "arn:aws:s3:::b/k",
    "arn:aws:s3:::b/alice/x",
    "arn:aws:s3:::c/k",
    "arn:aws:s3:::bb",
    "arn:aws:iam::111111111111:user/bob",
    "arn:aws:s3:::data-1",
    "arn:aws:s3:::data-1/x",
    "arn:aws:s3:::data-2",
    "arn:aws:s3:::b",
    "arn:aws:s3:::longbucketname-0123456789/k",
    "arn:aws:s3:::longbucketname-0123456780/k",
    "arn:aws:s3",
    "arn:aws:s3:::",
];
const REQ_K: &[Option<&str>] = &[None, Some("x"), Some("y"), Some("xa")];

#[derive(Debug, Clone)]
struct Req {
    action: usize,
    resource: usize,
    k: usize,
}

fn req_strategy() -> impl Strategy<Value = Req> {
    (0..REQ_ACTIONS.len(), 0..REQ_RESOURCES.len(), 0..REQ_K.len()).prop_map(
        |(action, resource, k)| Req {
            action,
            resource,
            k,
        },
    )
}

fn context(r: &Req) -> Context {
    let mut c = Context::new();
    c.insert("aws:username", "alice");
    if let Some(k) = REQ_K[r.k] {
        c.insert("k", k);
    }
    c
}

fn run(policies: &[CompiledPolicy], r: &Req) -> DecisionKind {
    let ctx = context(r);
    let req = Request {
        action: REQ_ACTIONS[r.action],
        resource: Resource::Arn(REQ_RESOURCES[r.resource]),
        resource_account: Some(ACCT),
        caller: Caller::User {
            arn: ALICE,
            id: "AIDAALICE",
            account: ACCT,
        },
        context: &ctx,
    };
    let refs: Vec<&CompiledPolicy> = policies.iter().collect();
    let set = PolicySet {
        identity: &refs,
        ..Default::default()
    };
    let d = decide(&req, &set);
    assert_eq!(d, explain(&req, &set).decision);
    if !set.reads_context() {
        let empty = Context::new();
        let bare = Request {
            context: &empty,
            ..req
        };
        assert_eq!(decide(&bare, &set), d);
    }
    d.kind
}

/// Naive reference interpretation of the same statements (identity policies only).
fn reference(policies: &[Vec<Stmt>], r: &Req) -> DecisionKind {
    let action = REQ_ACTIONS[r.action].to_lowercase();
    let resource = REQ_RESOURCES[r.resource];
    let k = REQ_K[r.k];
    let mut allow = false;
    for p in policies {
        for s in p {
            let am = s
                .actions
                .iter()
                .any(|&i| rglob_str(&ACTIONS[i].to_lowercase(), &action));
            if am == s.not_action {
                continue;
            }
            let rm = s.resources.iter().any(|&i| {
                let pat = RESOURCES[i].replace("${aws:username}", "alice");
                if pat == "*" {
                    return true;
                }
                let pp: Vec<&str> = pat.splitn(6, ':').collect();
                let rp: Vec<&str> = resource.splitn(6, ':').collect();
                pp.len() == 6 && rp.len() == 6 && pp.iter().zip(&rp).all(|(a, b)| rglob_str(a, b))
            });
            if rm == s.not_resource {
                continue;
            }
            let cm = match s.cond {
                None => true,
                Some(c) => {
                    let (op, v) = CONDS[c];
                    match (op, k) {
                        ("StringEquals", Some(x)) => x == v,
                        ("StringEquals", None) => false,
                        ("StringLike", Some(x)) => rglob_str(v, x),
                        ("StringLike", None) => false,
                        ("StringNotEquals", Some(x)) => x != v,
                        ("StringNotEquals", None) => true,
                        ("StringEqualsIfExists", Some(x)) => x == v,
                        ("StringEqualsIfExists", None) => true,
                        _ => unreachable!(),
                    }
                }
            };
            if !cm {
                continue;
            }
            if s.deny {
                return DecisionKind::ExplicitDeny;
            }
            allow = true;
        }
    }
    if allow {
        DecisionKind::Allow
    } else {
        DecisionKind::ImplicitDeny
    }
}

fn policies_strategy() -> impl Strategy<Value = Vec<Vec<Stmt>>> {
    proptest::collection::vec(proptest::collection::vec(stmt_strategy(), 1..5), 1..4)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn glob_agrees_with_reference(p in pat_strategy(), t in text_strategy()) {
        let pat = Pattern::new(&p, Mode::Glob, false, false);
        prop_assert_eq!(pat.is_match(&t, false, &mut |_| None), rglob_str(&p, &t), "pattern {:?} text {:?}", p, t);
    }

    #[test]
    fn compiled_agrees_with_reference(ps in policies_strategy(), r in req_strategy()) {
        let compiled: Vec<CompiledPolicy> = ps.iter().enumerate().map(|(i, s)| compile(s, &format!("p{i}"))).collect();
        prop_assert_eq!(run(&compiled, &r), reference(&ps, &r));
    }

    #[test]
    fn order_never_matters(ps in policies_strategy(), r in req_strategy(), seed in any::<u64>()) {
        let compiled: Vec<CompiledPolicy> = ps.iter().enumerate().map(|(i, s)| compile(s, &format!("p{i}"))).collect();
        let base = run(&compiled, &r);
        // reverse statement order in every policy, and rotate policy order
        let mut shuffled: Vec<Vec<Stmt>> = ps.iter().map(|s| { let mut s = s.clone(); s.reverse(); s }).collect();
        let n = shuffled.len();
        shuffled.rotate_left((seed as usize) % n);
        let compiled2: Vec<CompiledPolicy> = shuffled.iter().enumerate().map(|(i, s)| compile(s, &format!("q{i}"))).collect();
        prop_assert_eq!(base, run(&compiled2, &r));
    }

    #[test]
    fn adding_deny_never_allows(ps in policies_strategy(), extra in stmt_strategy(), r in req_strategy(), which in any::<usize>()) {
        let compiled: Vec<CompiledPolicy> = ps.iter().enumerate().map(|(i, s)| compile(s, &format!("p{i}"))).collect();
        let before = run(&compiled, &r);
        let mut ps2 = ps.clone();
        let n = ps2.len();
        let mut d = extra.clone();
        d.deny = true;
        ps2[which % n].push(d);
        let compiled2: Vec<CompiledPolicy> = ps2.iter().enumerate().map(|(i, s)| compile(s, &format!("p{i}"))).collect();
        let after = run(&compiled2, &r);
        if before != DecisionKind::Allow {
            prop_assert_ne!(after, DecisionKind::Allow);
        }
        if before == DecisionKind::ExplicitDeny {
            prop_assert_eq!(after, DecisionKind::ExplicitDeny);
        }
    }

    #[test]
    fn parser_never_panics(s in "\\PC{0,200}") {
        let _ = validate(&s, PolicyType::Managed);
        let _ = size_without_whitespace(&s);
    }
}
