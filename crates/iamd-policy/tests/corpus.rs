//! One runner for every JSON case file under `tests/cases/` (decision cases and validation
//! cases). See `tests/cases/gen_cases.py` for the format.
//!
//! The files are read into typed structs that reject unknown keys, so a misspelled optional
//! key (`"reasn"`, `"deny_polices"`) is an error naming the file and the case instead of a
//! check that is silently skipped.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test runner: a malformed case file or a failed check aborts the run"
)]

use std::collections::BTreeMap;
use std::sync::Arc;

use iamd_policy::*;
use serde::Deserialize;
use serde_json::Value;

/// One entry of a case file: a decision case (`policies` + `requests`) or a validation case
/// (`validate`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    policies: Option<Vec<PolicyEntry>>,
    deny_policies: Option<Vec<PolicyEntry>>,
    requests: Option<Vec<Req>>,
    validate: Option<Validation>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Identity,
    Boundary,
    Session,
    Resource,
    Trust,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyEntry {
    kind: Kind,
    /// The policy document: a JSON object, or a string holding the exact text.
    doc: Value,
    id: Option<String>,
    /// A policy type name (`PolicyType::from_name`) overriding the one implied by `kind`.
    #[serde(rename = "type")]
    ptype: Option<String>,
}

/// A caller: a well-known name (`"alice"`, `"web:…"`, `"service:…"`) or an object.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum CallerSpec {
    Named(String),
    Object(CallerObject),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallerObject {
    #[serde(rename = "type")]
    kind: CallerKind,
    arn: Option<String>,
    account: String,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum CallerKind {
    Root,
    User,
}

/// A context value: `null` removes a key the caller sets, a list sets several values, a
/// string one, anything else its JSON text.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum CtxValue {
    Remove(()),
    Many(Vec<String>),
    One(String),
    Other(Value),
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "UPPERCASE")]
enum Expect {
    Allow,
    Explicit,
    Implicit,
}

impl Expect {
    fn as_str(self) -> &'static str {
        match self {
            Expect::Allow => "ALLOW",
            Expect::Explicit => "EXPLICIT",
            Expect::Implicit => "IMPLICIT",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Req {
    caller: CallerSpec,
    action: String,
    /// An ARN, or `WILDCARD` for `Resource::Wildcard`.
    resource: String,
    expect: Expect,
    /// `"deny"`: decide against the case's `deny_policies` instead of its `policies`.
    policies: Option<String>,
    resource_account: Option<String>,
    /// Sorted by key, as the untyped runner iterated them.
    context: Option<BTreeMap<String, CtxValue>>,
    label: Option<String>,
    /// The decision reason, in its `Debug` form.
    reason: Option<String>,
    deciding: Option<Deciding>,
    /// The matched statements of `explain`: `[kind, policy id, statement index]`.
    matched: Option<Vec<(Kind, String, u64)>>,
    missing: Option<Vec<String>>,
    /// The rendered denial message.
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Deciding {
    kind: Kind,
    policy: String,
    statement: u64,
    sid: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Validation {
    #[serde(rename = "type")]
    ptype: String,
    doc: Value,
    /// The first finding's message; `null` (which must be written, not left out) for a valid
    /// document.
    #[serde(deserialize_with = "Option::deserialize")]
    expect: Option<String>,
    line: Option<u64>,
    column: Option<u64>,
}

/// Reads one case file; an error names the file, the case (by name, or index when the name
/// cannot be read) and the offending key.
fn load_cases(file: &str, text: &str) -> Result<Vec<Case>, String> {
    let raw: Vec<Value> =
        serde_json::from_str(text).map_err(|e| format!("{file}: not a JSON array: {e}"))?;
    raw.into_iter()
        .enumerate()
        .map(|(i, v)| {
            let name = v
                .get("name")
                .and_then(Value::as_str)
                .map_or_else(|| format!("#{i}"), |n| format!("`{n}`"));
            let case: Case =
                serde_json::from_value(v).map_err(|e| format!("{file}: case {name}: {e}"))?;
            check_shape(&case).map_err(|e| format!("{file}: case {name}: {e}"))?;
            Ok(case)
        })
        .collect()
}

/// The keys a case must carry together, and the ones it must not mix.
fn check_shape(c: &Case) -> Result<(), String> {
    if let Some(v) = &c.validate {
        if c.policies.is_some() || c.deny_policies.is_some() || c.requests.is_some() {
            return Err("a validation case carries policies or requests".into());
        }
        if v.line.is_some() != v.column.is_some() {
            return Err("`line` and `column` go together".into());
        }
        return Ok(());
    }
    let (Some(_), Some(requests)) = (&c.policies, &c.requests) else {
        return Err("a decision case needs `policies` and `requests`".into());
    };
    for (i, r) in requests.iter().enumerate() {
        match r.policies.as_deref() {
            None => {}
            Some("deny") if c.deny_policies.is_some() => {}
            Some(other) => {
                return Err(format!(
                    "request {i}: `policies: {other:?}` needs `\"deny\"` and `deny_policies`"
                ))
            }
        }
    }
    Ok(())
}

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

fn who(v: &CallerSpec) -> Who {
    let name = match v {
        CallerSpec::Object(o) => {
            let account = leak(o.account.clone());
            if o.kind == CallerKind::Root {
                return Who {
                    caller: Caller::Root { account },
                    display: format!("arn:aws:iam::{account}:root"),
                    ctx: common(),
                };
            }
            let arn = leak(o.arn.clone().expect("a user caller needs `arn`"));
            let name = arn.rsplit('/').next().unwrap();
            return user(arn, name, "AIDAOTHER", account);
        }
        CallerSpec::Named(n) => n.as_str(),
    };
    match name {
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

fn ptype(kind: Kind, explicit: Option<&str>) -> PolicyType {
    if let Some(t) = explicit {
        return PolicyType::from_name(t).unwrap();
    }
    match kind {
        Kind::Identity => PolicyType::Inline,
        Kind::Boundary => PolicyType::PermissionsBoundary,
        Kind::Session => PolicyType::Session,
        Kind::Resource => PolicyType::Resource,
        Kind::Trust => PolicyType::Trust,
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

fn compile_set(policies: &[PolicyEntry], errors: &mut Vec<String>, name: &str) -> Compiled {
    let mut c = Compiled {
        identity: vec![],
        boundary: None,
        session: vec![],
        resource: None,
        trust: None,
    };
    for (i, p) in policies.iter().enumerate() {
        let kind = p.kind;
        let ty = ptype(kind, p.ptype.as_deref());
        let id =
            p.id.clone()
                .unwrap_or_else(|| format!("{}{i}", kind_str(kind)));
        let text = doc_text(&p.doc);
        let compiled = match CompiledPolicy::from_json(&text, ty, id.as_str()) {
            Ok(c) => Arc::new(c),
            Err(f) => {
                errors.push(format!("{name}: policy {id} invalid: {f:?}"));
                continue;
            }
        };
        match kind {
            Kind::Identity => c.identity.push(compiled),
            Kind::Boundary => c.boundary = Some(compiled),
            Kind::Session => c.session.push(compiled),
            Kind::Resource => c.resource = Some(compiled),
            Kind::Trust => c.trust = Some(compiled),
        }
    }
    c
}

fn kind_of(k: PolicyKind) -> Kind {
    match k {
        PolicyKind::Identity => Kind::Identity,
        PolicyKind::PermissionsBoundary => Kind::Boundary,
        PolicyKind::Session => Kind::Session,
        PolicyKind::Resource => Kind::Resource,
        PolicyKind::Trust => Kind::Trust,
    }
}

fn kind_str(k: Kind) -> &'static str {
    match k {
        Kind::Identity => "identity",
        Kind::Boundary => "boundary",
        Kind::Session => "session",
        Kind::Resource => "resource",
        Kind::Trust => "trust",
    }
}

fn run_request(name: &str, c: &Compiled, r: &Req, errors: &mut Vec<String>) {
    let w = who(&r.caller);
    let mut ctx = Context::new();
    for (k, v) in &w.ctx {
        ctx.insert_multi(k, v.clone());
    }
    if let Some(o) = &r.context {
        for (k, v) in o {
            match v {
                CtxValue::Remove(()) => ctx.remove(k),
                CtxValue::Many(a) => {
                    ctx.insert_multi(k, a.iter().cloned());
                }
                CtxValue::One(s) => {
                    ctx.insert(k, s.clone());
                }
                CtxValue::Other(other) => {
                    ctx.insert(k, other.to_string());
                }
            }
        }
    }
    let action = r.action.as_str();
    let res_text = r.resource.as_str();
    let resource = if res_text == "WILDCARD" {
        Resource::Wildcard
    } else {
        Resource::Arn(res_text)
    };
    let resource_account = r.resource_account.as_deref().or(Some(A));
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
        r.label
            .as_deref()
            .map(|l| format!(" {l}"))
            .unwrap_or_default()
    );
    if d != e.decision {
        errors.push(format!("{label}: decide {d:?} != explain {:?}", e.decision));
    }
    // A set that reads no context decides alike without one (callers skip building it).
    if !set.reads_context() {
        let empty = Context::new();
        let bare_req = Request {
            context: &empty,
            ..req
        };
        let bare = decide(&bare_req, &set);
        if bare != d {
            errors.push(format!(
                "{label}: reads no context, yet decides {bare:?} without one and {d:?} with it"
            ));
        }
    }
    let want = r.expect.as_str();
    let got = match d.kind {
        DecisionKind::Allow => "ALLOW",
        DecisionKind::ExplicitDeny => "EXPLICIT",
        DecisionKind::ImplicitDeny => "IMPLICIT",
    };
    if want != got {
        errors.push(format!("{label}: expected {want}, got {got} ({d:?})"));
        return;
    }
    if let Some(reason) = &r.reason {
        let got = format!("{:?}", d.reason);
        if got != *reason {
            errors.push(format!("{label}: reason expected {reason}, got {got}"));
        }
    }
    if let Some(dec) = &r.deciding {
        match d.statement {
            None => errors.push(format!("{label}: expected deciding statement, got none")),
            Some(s) => {
                let ok = kind_of(s.kind) == dec.kind
                    && s.policy_id == dec.policy
                    && s.statement_index as u64 == dec.statement
                    && dec.sid.as_deref().is_none_or(|sid| sid == s.sid);
                if !ok {
                    errors.push(format!("{label}: deciding expected {dec:?}, got {s:?}"));
                }
                if s.span.start.line == 0 || s.span.end <= s.span.start {
                    errors.push(format!("{label}: bad span {:?}", s.span));
                }
            }
        }
    }
    if let Some(want) = &r.matched {
        let got: Vec<(Kind, String, u64)> = e
            .matched
            .iter()
            .map(|s| {
                (
                    kind_of(s.kind),
                    s.policy_id.to_string(),
                    s.statement_index as u64,
                )
            })
            .collect();
        if *want != got {
            errors.push(format!("{label}: matched expected {want:?}, got {got:?}"));
        }
    }
    if let Some(m) = &r.missing {
        for k in m {
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
    if let Some(msg) = &r.message {
        let got = render_denial(&w.display, action, res_text, &d);
        if got != *msg {
            errors.push(format!(
                "{label}: message\n  expected {msg}\n  got      {got}"
            ));
        }
    }
}

fn run_validation(name: &str, v: &Validation, errors: &mut Vec<String>) {
    let ty = PolicyType::from_name(&v.ptype).unwrap();
    let text = doc_text(&v.doc);
    let findings = validate(&text, ty);
    match v.expect.as_deref() {
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
                if let (Some(line), Some(col)) = (v.line, v.column) {
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
        let file = f.file_name().unwrap().to_string_lossy();
        let cases = load_cases(&file, &std::fs::read_to_string(f).unwrap())
            .unwrap_or_else(|e| panic!("{e}"));
        for c in &cases {
            n_cases += 1;
            let name = c.name.as_str();
            if let Some(v) = &c.validate {
                n_validations += 1;
                run_validation(name, v, &mut errors);
                continue;
            }
            // check_shape: a decision case has both.
            let (Some(policies), Some(requests)) = (&c.policies, &c.requests) else {
                unreachable!("checked by load_cases")
            };
            let allow_set = compile_set(policies, &mut errors, name);
            let deny_set = c
                .deny_policies
                .as_deref()
                .map(|p| compile_set(p, &mut errors, name));
            for r in requests {
                n_requests += 1;
                let set = match (r.policies.as_deref(), &deny_set) {
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

/// The loader rejects what the untyped runner skipped: a misspelled key anywhere in a case,
/// named with the file and the case.
#[test]
fn loader_rejects_misspelled_keys() {
    let good = r#"[{"name": "tiny", "policies": [{"kind": "identity", "doc": {}}],
        "requests": [{"caller": "alice", "action": "s3:GetObject", "resource": "WILDCARD",
                      "expect": "IMPLICIT", "reason": "NoGrant"}]}]"#;
    assert_eq!(load_cases("tiny.json", good).unwrap().len(), 1);
    for (from, to) in [
        (r#""reason""#, r#""reasn""#),
        (r#""requests""#, r#""requets""#),
        (r#""kind""#, r#""knd""#),
        (r#""IMPLICIT""#, r#""IMPLICT""#),
    ] {
        let bad = good.replacen(from, to, 1);
        let err = load_cases("tiny.json", &bad).unwrap_err();
        assert!(
            err.starts_with("tiny.json: case `tiny`: "),
            "{from} -> {to}: {err}"
        );
        let key = to.trim_matches('"');
        assert!(err.contains(key), "{from} -> {to}: {err}");
    }
    // A nested object and a validation case are checked the same way.
    let bad = r#"[{"name": "v", "validate": {"type": "Inline", "doc": {}, "expect": null,
        "colum": 3}}]"#;
    let err = load_cases("v.json", bad).unwrap_err();
    assert!(
        err.starts_with("v.json: case `v`: ") && err.contains("colum"),
        "{err}"
    );
    let bad = r#"[{"name": "d", "policies": [], "requests": [{"caller": "alice",
        "action": "a:b", "resource": "WILDCARD", "expect": "ALLOW",
        "deciding": {"kind": "identity", "policy": "p", "statment": 0}}]}]"#;
    let err = load_cases("d.json", bad).unwrap_err();
    assert!(
        err.starts_with("d.json: case `d`: ") && err.contains("statment"),
        "{err}"
    );
    // A validation case must say it expects a valid document, not leave `expect` out.
    let bad = r#"[{"name": "v", "validate": {"type": "Inline", "doc": {}}}]"#;
    let err = load_cases("v.json", bad).unwrap_err();
    assert!(err.contains("expect"), "{err}");
}
