//! `iamd policy …`: offline tools over the policy engine (no server, no data dir).

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use iamd_policy::PolicyType;

#[derive(Debug, clap::Subcommand)]
pub enum PolicyCommand {
    /// Validate a policy document; prints `line:col: message` per finding.
    Validate {
        /// The policy file, or `-` for standard input.
        file: PathBuf,
        /// identity | managed | trust | resource | boundary | session
        #[arg(long = "type", default_value = "identity")]
        kind: String,
    },
    /// Simulate one request against policies (the engine enforcement uses); prints the
    /// decision and the deciding statement. Exit 0 when allowed, 2 when denied.
    Simulate(SimulateArgs),
}

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// An identity policy file (repeatable).
    #[arg(long = "policy")]
    policies: Vec<PathBuf>,
    /// A permissions boundary policy file.
    #[arg(long)]
    boundary: Option<PathBuf>,
    /// A resource (bucket) policy file.
    #[arg(long = "resource-policy")]
    resource_policy: Option<PathBuf>,
    /// The calling IAM user's ARN (default arn:aws:iam::123456789012:user/SimulatedCaller).
    #[arg(long = "caller-arn")]
    caller_arn: Option<String>,
    /// The account that owns the resource (default: the caller's).
    #[arg(long = "resource-owner")]
    resource_owner: Option<String>,
    /// The action, e.g. s3:GetObject.
    #[arg(long)]
    action: String,
    /// The resource ARN (default `*`).
    #[arg(long, default_value = "*")]
    resource: String,
    /// A context entry `key=type:value[,value…]` (types as SimulateCustomPolicy's
    /// ContextKeyType: string, stringList, numeric, …); repeatable.
    #[arg(long = "context")]
    context: Vec<String>,
    /// Print SimulateCustomPolicy's result structure as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(cmd: PolicyCommand) -> ExitCode {
    match cmd {
        PolicyCommand::Validate { file, kind } => validate(&file, &kind),
        PolicyCommand::Simulate(args) => simulate(&args),
    }
}

fn validate(file: &PathBuf, kind: &str) -> ExitCode {
    let Some(ty) = PolicyType::from_name(kind) else {
        eprintln!("iamd: unknown policy type {kind:?} (identity, managed, trust, resource, boundary, session)");
        return ExitCode::from(2);
    };
    let mut bytes = Vec::new();
    let read = if file.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::read(file).map(|b| bytes = b)
    };
    if let Err(e) = read {
        eprintln!("iamd: cannot read {}: {e}", file.display());
        return ExitCode::from(2);
    }
    let findings = match std::str::from_utf8(&bytes) {
        Ok(text) => iamd_policy::validate(text, ty),
        Err(_) => iamd_policy::parse_bytes(&bytes).err().into_iter().collect(),
    };
    let name = if file.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        file.display().to_string()
    };
    for f in &findings {
        match &f.detail {
            Some(d) => println!("{name}:{f} ({d})"),
            None => println!("{name}:{f}"),
        }
    }
    if !findings.is_empty() {
        return ExitCode::from(1);
    }
    // Access-Analyzer-style findings (security warnings, warnings, suggestions).
    let text = String::from_utf8_lossy(&bytes);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let lints = iamd_policy::lint::lint(&text, ty, now);
    for f in &lints {
        println!(
            "{name}:{}: {} {}: {} [{}]",
            f.span.start,
            f.finding_type.as_str(),
            f.issue_code,
            f.details,
            lint_path(&f.path)
        );
    }
    if lints.is_empty() {
        println!("{name}: valid {kind} policy");
    } else {
        println!("{name}: valid {kind} policy, {} finding(s)", lints.len());
    }
    ExitCode::SUCCESS
}

/// `Statement[0].Condition.StringEquals.aws:username[1]`
fn lint_path(p: &[iamd_policy::lint::PathElement]) -> String {
    use iamd_policy::lint::PathElement;
    let mut s = String::new();
    for e in p {
        match e {
            PathElement::Index(i) => s.push_str(&format!("[{i}]")),
            PathElement::Value(v) | PathElement::Key(v) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(v);
            }
        }
    }
    s
}

/// One policy given to `simulate`: where it came from, its text and compiled form.
struct Loaded {
    file: String,
    compiled: std::sync::Arc<iamd_policy::CompiledPolicy>,
}

fn load(file: &PathBuf, ty: PolicyType, id: String) -> Result<Loaded, String> {
    let name = file.display().to_string();
    let text =
        std::fs::read_to_string(file).map_err(|e| format!("iamd: cannot read {name}: {e}"))?;
    let compiled = iamd_policy::CompiledPolicy::from_json(&text, ty, id).map_err(|fs| {
        fs.iter()
            .map(|f| format!("{name}:{f}"))
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    Ok(Loaded {
        file: name,
        compiled: std::sync::Arc::new(compiled),
    })
}

/// `key=type:value[,value…]` → (key, values), values checked against the type (the
/// simulator's `ContextKeyType` rules).
fn context_entry(spec: &str) -> Result<(String, Vec<String>), String> {
    let bad = || format!("iamd: --context {spec:?}: expected key=type:value[,value...]");
    let (key, rest) = spec.split_once('=').ok_or_else(bad)?;
    let (ty, vals) = rest.split_once(':').ok_or_else(bad)?;
    let (base, list) = iamd_iam::context_key_type(ty);
    let values: Vec<String> = if list {
        vals.split(',').map(str::to_string).collect()
    } else {
        vec![vals.to_string()]
    };
    for v in &values {
        match iamd_iam::context_value_valid(base, v) {
            Some(true) => {}
            Some(false) => {
                return Err(format!(
                    "iamd: --context {spec:?}: {v:?} is not a valid {base}"
                ))
            }
            None => return Err(format!("iamd: --context {spec:?}: unknown type {ty:?}")),
        }
    }
    Ok((key.to_string(), values))
}

fn simulate(a: &SimulateArgs) -> ExitCode {
    match simulate_inner(a) {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("{msg}");
            ExitCode::from(1)
        }
    }
}

fn simulate_inner(a: &SimulateArgs) -> Result<ExitCode, String> {
    use iamd_api::json::string as js;
    use iamd_policy::{explain, Caller, Context, PolicyKind, PolicySet, Request, Resource};

    let mut identity = Vec::new();
    for (i, f) in a.policies.iter().enumerate() {
        identity.push(load(
            f,
            PolicyType::Inline,
            format!("PolicyInputList.{}", i + 1),
        )?);
    }
    let boundary = match &a.boundary {
        Some(f) => Some(load(
            f,
            PolicyType::Inline,
            "PermissionsBoundaryPolicyInputList.1".into(),
        )?),
        None => None,
    };
    let resource_policy = match &a.resource_policy {
        Some(f) => Some(load(f, PolicyType::Resource, "ResourcePolicy".into())?),
        None => None,
    };
    let caller_arn = a
        .caller_arn
        .clone()
        .unwrap_or_else(|| "arn:aws:iam::123456789012:user/SimulatedCaller".to_string());
    let account = caller_arn.split(':').nth(4).unwrap_or_default().to_string();
    if !caller_arn.starts_with("arn:aws:iam::") || !caller_arn.contains(":user/") {
        return Err(format!(
            "iamd: --caller-arn {caller_arn:?} must be the ARN of an IAM user"
        ));
    }
    let owner = match &a.resource_owner {
        Some(o) if o.starts_with("arn:") => o.split(':').nth(4).unwrap_or_default().to_string(),
        Some(o) => o.clone(),
        None => account.clone(),
    };
    let mut ctx = Context::new();
    for c in &a.context {
        let (k, vs) = context_entry(c)?;
        ctx.insert_multi(&k, vs);
    }
    let ids: Vec<_> = identity.iter().map(|l| l.compiled.clone()).collect();
    let b = boundary.as_ref().map(|l| l.compiled.clone());
    let r = resource_policy.as_ref().map(|l| l.compiled.clone());
    let set = PolicySet {
        identity: &ids,
        boundary: b.as_ref(),
        resource: r.as_ref(),
        ..Default::default()
    };
    let req = Request {
        action: &a.action,
        resource: if a.resource == "*" {
            Resource::Wildcard
        } else {
            Resource::Arn(&a.resource)
        },
        resource_account: Some(&owner),
        caller: Caller::User {
            arn: &caller_arn,
            id: "",
            account: &account,
        },
        context: &ctx,
    };
    let e = explain(&req, &set);
    let source = |kind: PolicyKind, index: usize| -> Option<&Loaded> {
        match kind {
            PolicyKind::Identity => identity.get(index),
            PolicyKind::PermissionsBoundary => boundary.as_ref(),
            PolicyKind::Resource => resource_policy.as_ref(),
            _ => None,
        }
    };
    let decision = iamd_iam::decision_name(e.decision.kind);
    if a.json {
        let mut o = String::new();
        o.push_str("{\"EvaluationResults\":[{\"EvalActionName\":");
        js(&mut o, &a.action);
        o.push_str(",\"EvalResourceName\":");
        js(&mut o, &a.resource);
        o.push_str(",\"EvalDecision\":");
        js(&mut o, decision);
        o.push_str(",\"MatchedStatements\":[");
        for (i, m) in e.matched.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            let ty = iamd_iam::source_policy_type(m.kind);
            o.push_str("{\"SourcePolicyId\":");
            js(&mut o, m.policy_id);
            o.push_str(",\"SourcePolicyType\":");
            js(&mut o, ty);
            o.push_str(&format!(
                ",\"StartPosition\":{{\"Line\":{},\"Column\":{}}},\"EndPosition\":{{\"Line\":{},\"Column\":{}}}}}",
                m.span.start.line, m.span.start.column, m.span.end.line, m.span.end.column
            ));
        }
        o.push_str("],\"MissingContextValues\":[");
        for (i, k) in e.missing_context_keys.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            js(&mut o, k);
        }
        o.push(']');
        if let Some(b) = &b {
            let only = PolicySet {
                identity: std::slice::from_ref(b),
                ..Default::default()
            };
            let allowed = iamd_policy::decide(&req, &only).kind.is_allowed();
            o.push_str(&format!(
                ",\"PermissionsBoundaryDecisionDetail\":{{\"AllowedByPermissionsBoundary\":{allowed}}}"
            ));
        }
        o.push_str("}],\"IsTruncated\":false}");
        println!("{o}");
    } else {
        println!("{decision}: {} on {}", a.action, a.resource);
        match e.decision.statement {
            Some(st) => {
                let file = source(st.kind, st.policy_index)
                    .map(|l| l.file.as_str())
                    .unwrap_or(st.policy_id);
                let sid = if st.sid.is_empty() {
                    String::new()
                } else {
                    format!(" (Sid {})", st.sid)
                };
                println!(
                    "  decided by {file}:{}: statement {}{sid}, {:?}",
                    st.span.start, st.statement_index, st.effect
                );
            }
            None => {
                let why = iamd_policy::reason_text(&a.action, &e.decision);
                if !why.is_empty() {
                    println!("  {why}");
                }
            }
        }
        for m in &e.matched {
            let file = source(m.kind, m.policy_index)
                .map(|l| l.file.as_str())
                .unwrap_or(m.policy_id);
            println!(
                "  matched {file}:{}-{}: statement {} ({:?})",
                m.span.start, m.span.end, m.statement_index, m.effect
            );
        }
        if !e.missing_context_keys.is_empty() {
            println!(
                "  missing context keys: {}",
                e.missing_context_keys.join(", ")
            );
        }
    }
    Ok(if e.decision.kind.is_allowed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
