//! One runner for every JSON case file under `tests/cases/` (decision cases and validation
//! cases). See `tests/cases/gen_cases.py` for the format.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test runner: a malformed case file or a failed check aborts the run"
)]

use std::sync::Arc;

use iamd_policy::*;
use serde_json::Value;

const A: &str = "111111111111";
const B: &str = "222222222222";

struct Who {
    caller: Caller<'static>,
    display: String,
    ctx: Vec<(&'static str, Vec<String>)>,
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn common() -> Vec<(&'static str, Vec<String>)> {
    vec![
        ("aws:CurrentTime", vec!["2026-11-28T19:00:00Z".into()]),
        ("aws:EpochTime", vec!["1795892400".into()]),
        ("aws:SecureTransport", vec!["true".into()]),
        ("aws:SourceIp", vec!["192.0.2.10".into()]),
    ]
}

fn user(arn: &'static str, name: &str, id: &'static str, account: &'static str) -> Who {
    let mut ctx = common();
    ctx.extend([
        ("aws:username", vec![name.to_string()]),
        ("aws:userid", vec![id.to_string()]),
        ("aws:PrincipalArn", vec![arn.to_string()]),
        ("aws:PrincipalAccount", vec![account.to_string()]),
        ("aws:PrincipalType", vec!["User".to_string()]),
    ]);
    Who {
        caller: Caller::User { arn, id, account },
        display: arn.to_string(),
        ctx,
    }
}

fn who(v: &Value) -> Who {
    if let Some(o) = v.as_object() {
        if o.get("type").and_then(Value::as_str) == Some("root") {
            let account = leak(o["account"].as_str().unwrap().to_string());
            return Who {
                caller: Caller::Root { account },
                display: format!("arn:aws:iam::{account}:root"),
                ctx: common(),
            };
        }
        let arn = leak(o["arn"].as_str().unwrap().to_string());
        let account = leak(o["account"].as_str().unwrap().to_string());
        let name = arn.rsplit('/').next().unwrap();
        return user(arn, name, "AIDAOTHER", account);
    }
    match v.as_str().unwrap() {
        "alice" => user(
            "arn:aws:iam::111111111111:user/alice",
            "alice",
            "AIDAALICE",
            A,
        ),
        "bob" => user("arn:aws:iam::111111111111:user/bob", "bob", "AIDABOB", A),
        "bob@B" => user("arn:aws:iam::222222222222:user/bob", "bob", "AIDABOBB", B),
        "session" => {
            let mut ctx = common();
            ctx.extend([
                ("aws:userid", vec!["AROAR:s".to_string()]),
                (
                    "aws:PrincipalArn",
                    vec!["arn:aws:iam::111111111111:role/R".to_string()],
                ),
                ("aws:PrincipalAccount", vec![A.to_string()]),
                ("aws:PrincipalType", vec!["AssumedRole".to_string()]),
                (
                    "aws:TokenIssueTime",
                    vec!["2026-11-28T18:00:00Z".to_string()],
                ),
            ]);
            Who {
                caller: Caller::RoleSession {
                    session_arn: "arn:aws:sts::111111111111:assumed-role/R/s",
                    role_arn: "arn:aws:iam::111111111111:role/R",
                    role_id: "AROAR",
                    account: A,
                },
                display: "arn:aws:sts::111111111111:assumed-role/R/s".into(),
                ctx,
            }
        }
        "root" => {
            let mut ctx = common();
            ctx.extend([
                ("aws:userid", vec![A.to_string()]),
                (
                    "aws:PrincipalArn",
                    vec!["arn:aws:iam::111111111111:root".to_string()],
                ),
                ("aws:PrincipalType", vec!["Account".to_string()]),
            ]);
            Who {
                caller: Caller::Root { account: A },
                display: "arn:aws:iam::111111111111:root".into(),
                ctx,
            }
        }
        "anonymous" => {
            let mut ctx = common();
            ctx.extend([
                ("aws:userid", vec!["anonymous".to_string()]),
                ("aws:PrincipalType", vec!["Anonymous".to_string()]),
            ]);
            Who {
                caller: Caller::Anonymous,
                display: "anonymous".into(),
                ctx,
            }
        }
        "fed" => {
            let mut ctx = common();
            ctx.extend([
                ("aws:userid", vec![format!("{A}:fed")]),
                (
                    "aws:PrincipalArn",
                    vec!["arn:aws:sts::111111111111:federated-user/fed".to_string()],
                ),
                ("aws:PrincipalType", vec!["FederatedUser".to_string()]),
            ]);
            Who {
                caller: Caller::FederatedUser {
                    arn: "arn:aws:sts::111111111111:federated-user/fed",
                    user_arn: "arn:aws:iam::111111111111:user/alice",
                    account: A,
                },
                display: "arn:aws:sts::111111111111:federated-user/fed".into(),
                ctx,
            }
        }
        other if other.starts_with("web:") => Who {
            caller: Caller::WebIdentity {
                provider: leak(other.trim_start_matches("web:").to_string()),
            },
            display: other.to_string(),
            ctx: common(),
        },
        other if other.starts_with("service:") => Who {
            caller: Caller::Service {
                name: leak(other.trim_start_matches("service:").to_string()),
            },
            display: other.to_string(),
            ctx: common(),
        },
        other => panic!("unknown caller {other}"),
    }
}

fn ptype(kind: &str, explicit: Option<&str>) -> PolicyType {
    if let Some(t) = explicit {
        return PolicyType::from_name(t).unwrap();
    }
    match kind {
        "identity" => PolicyType::Inline,
        "boundary" => PolicyType::PermissionsBoundary,
        "session" => PolicyType::Session,
        "resource" => PolicyType::Resource,
        "trust" => PolicyType::Trust,
        k => panic!("unknown kind {k}"),
    }
}

fn doc_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap(),
    }
}

struct Compiled {
    identity: Vec<Arc<CompiledPolicy>>,
    boundary: Option<Arc<CompiledPolicy>>,
    session: Vec<Arc<CompiledPolicy>>,
    resource: Option<Arc<CompiledPolicy>>,
    trust: Option<Arc<CompiledPolicy>>,
}

fn compile_set(policies: &Value, errors: &mut Vec<String>, name: &str) -> Compiled {
    let mut c = Compiled {
        identity: vec![],
        boundary: None,
        session: vec![],
        resource: None,
        trust: None,
    };
    for (i, p) in policies.as_array().unwrap().iter().enumerate() {
        let kind = p["kind"].as_str().unwrap();
        let ty = ptype(kind, p.get("type").and_then(Value::as_str));
        let id = p
            .get("id")
            .and_then(Value::as_str)
            .map_or_else(|| format!("{kind}{i}"), str::to_string);
        let text = doc_text(&p["doc"]);
        let compiled = match CompiledPolicy::from_json(&text, ty, id.as_str()) {
            Ok(c) => Arc::new(c),
            Err(f) => {
                errors.push(format!("{name}: policy {id} invalid: {f:?}"));
                continue;
            }
        };
        match kind {
            "identity" => c.identity.push(compiled),
            "boundary" => c.boundary = Some(compiled),
            "session" => c.session.push(compiled),
            "resource" => c.resource = Some(compiled),
            "trust" => c.trust = Some(compiled),
            _ => unreachable!(),
        }
    }
    c
}

fn kind_name(k: PolicyKind) -> &'static str {
    match k {
        PolicyKind::Identity => "identity",
        PolicyKind::PermissionsBoundary => "boundary",
        PolicyKind::Session => "session",
        PolicyKind::Resource => "resource",
        PolicyKind::Trust => "trust",
    }
}

fn run_request(name: &str, c: &Compiled, r: &Value, errors: &mut Vec<String>) {
    let w = who(&r["caller"]);
    let mut ctx = Context::new();
    for (k, v) in &w.ctx {
        ctx.insert_multi(k, v.clone());
    }
    if let Some(o) = r.get("context").and_then(Value::as_object) {
        for (k, v) in o {
            match v {
                Value::Null => ctx.remove(k),
                Value::Array(a) => {
                    ctx.insert_multi(k, a.iter().map(|x| x.as_str().unwrap().to_string()));
                }
                Value::String(s) => {
                    ctx.insert(k, s.clone());
                }
                other => {
                    ctx.insert(k, other.to_string());
                }
            }
        }
    }
    let action = r["action"].as_str().unwrap();
    let res_text = r["resource"].as_str().unwrap();
    let resource = if res_text == "WILDCARD" {
        Resource::Wildcard
    } else {
        Resource::Arn(res_text)
    };
    let resource_account = r
        .get("resource_account")
        .and_then(Value::as_str)
        .or(Some(A));
    let req = Request {
        action,
        resource,
        resource_account,
        caller: w.caller,
        context: &ctx,
    };
    let set = PolicySet {
        identity: &c.identity,
        boundary: c.boundary.as_ref(),
        session: &c.session,
        resource: c.resource.as_ref(),
        trust: c.trust.as_ref(),
    };
    let d = decide(&req, &set);
    let e = explain(&req, &set);
    let label = format!(
        "{name} [{} {action} {res_text}{}]",
        w.display,
        r.get("label")
            .and_then(Value::as_str)
            .map(|l| format!(" {l}"))
            .unwrap_or_default()
    );
    if d != e.decision {
        errors.push(format!("{label}: decide {d:?} != explain {:?}", e.decision));
    }
    let want = r["expect"].as_str().unwrap();
    let got = match d.kind {
        DecisionKind::Allow => "ALLOW",
        DecisionKind::ExplicitDeny => "EXPLICIT",
        DecisionKind::ImplicitDeny => "IMPLICIT",
    };
    if want != got {
        errors.push(format!("{label}: expected {want}, got {got} ({d:?})"));
        return;
    }
    if let Some(reason) = r.get("reason").and_then(Value::as_str) {
        let got = format!("{:?}", d.reason);
        if got != reason {
            errors.push(format!("{label}: reason expected {reason}, got {got}"));
        }
    }
    if let Some(dec) = r.get("deciding") {
        match d.statement {
            None => errors.push(format!("{label}: expected deciding statement, got none")),
            Some(s) => {
                let ok = kind_name(s.kind) == dec["kind"].as_str().unwrap()
                    && s.policy_id == dec["policy"].as_str().unwrap()
                    && s.statement_index as u64 == dec["statement"].as_u64().unwrap()
                    && dec
                        .get("sid")
                        .and_then(Value::as_str)
                        .is_none_or(|sid| sid == s.sid);
                if !ok {
                    errors.push(format!("{label}: deciding expected {dec}, got {s:?}"));
                }
                if s.span.start.line == 0 || s.span.end <= s.span.start {
                    errors.push(format!("{label}: bad span {:?}", s.span));
                }
            }
        }
    }
    if let Some(m) = r.get("matched").and_then(Value::as_array) {
        let want: Vec<(String, String, u64)> = m
            .iter()
            .map(|t| {
                (
                    t[0].as_str().unwrap().to_string(),
                    t[1].as_str().unwrap().to_string(),
                    t[2].as_u64().unwrap(),
                )
            })
            .collect();
        let got: Vec<(String, String, u64)> = e
            .matched
            .iter()
            .map(|s| {
                (
                    kind_name(s.kind).to_string(),
                    s.policy_id.to_string(),
                    s.statement_index as u64,
                )
            })
            .collect();
        if want != got {
            errors.push(format!("{label}: matched expected {want:?}, got {got:?}"));
        }
    }
    if let Some(m) = r.get("missing").and_then(Value::as_array) {
        for k in m {
            let k = k.as_str().unwrap();
            if !e
                .missing_context_keys
                .iter()
                .any(|x| x.eq_ignore_ascii_case(k))
            {
                errors.push(format!(
                    "{label}: missing context key {k} not reported ({:?})",
                    e.missing_context_keys
                ));
            }
        }
    }
    if let Some(msg) = r.get("message").and_then(Value::as_str) {
        let got = render_denial(&w.display, action, res_text, &d);
        if got != msg {
            errors.push(format!(
                "{label}: message\n  expected {msg}\n  got      {got}"
            ));
        }
    }
}

fn run_validation(name: &str, v: &Value, errors: &mut Vec<String>) {
    let ty = PolicyType::from_name(v["type"].as_str().unwrap()).unwrap();
    let text = doc_text(&v["doc"]);
    let findings = validate(&text, ty);
    match v["expect"].as_str() {
        None => {
            if !findings.is_empty() {
                errors.push(format!("{name}: expected valid, got {findings:?}"));
            }
        }
        Some(msg) => match findings.first() {
            None => errors.push(format!("{name}: expected `{msg}`, got no findings")),
            Some(f) => {
                if f.message != msg {
                    errors.push(format!("{name}: expected `{msg}`, got `{}`", f.message));
                }
                if f.code != ty.error_code() {
                    errors.push(format!("{name}: wrong code {}", f.code));
                }
                if f.to_string() != format!("{}:{}: {}", f.pos.line, f.pos.column, f.message) {
                    errors.push(format!("{name}: Display format {f}"));
                }
                if let Some(line) = v.get("line").and_then(Value::as_u64) {
                    let col = v["column"].as_u64().unwrap();
                    if (u64::from(f.pos.line), u64::from(f.pos.column)) != (line, col) {
                        errors.push(format!(
                            "{name}: position expected {line}:{col}, got {}",
                            f.pos
                        ));
                    }
                }
            }
        },
    }
}

#[test]
fn corpus() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut errors = Vec::new();
    let (mut n_cases, mut n_requests, mut n_validations) = (0, 0, 0);
    for f in &files {
        let cases: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        for c in cases.as_array().unwrap() {
            n_cases += 1;
            let name = c["name"].as_str().unwrap();
            if let Some(v) = c.get("validate") {
                n_validations += 1;
                run_validation(name, v, &mut errors);
                continue;
            }
            let allow_set = compile_set(&c["policies"], &mut errors, name);
            let deny_set = c
                .get("deny_policies")
                .map(|p| compile_set(p, &mut errors, name));
            for r in c["requests"].as_array().unwrap() {
                n_requests += 1;
                let set = match (r.get("policies").and_then(Value::as_str), &deny_set) {
                    (Some("deny"), Some(d)) => d,
                    _ => &allow_set,
                };
                run_request(name, set, r, &mut errors);
            }
        }
    }
    println!(
        "corpus: {} files, {n_cases} cases, {n_requests} decision requests, {n_validations} validation cases",
        files.len()
    );
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("FAIL {e}");
        }
        panic!("{} corpus failures", errors.len());
    }
}
