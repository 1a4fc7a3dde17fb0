//! `iamd policy …`: offline tools over the policy engine (no server, no data dir).

use std::fmt::Write as _;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use iamd_api::json;
use iamd_policy::PolicyType;

/// The caller `simulate` calls as without `--caller-arn`.
const DEFAULT_CALLER: &str = "arn:aws:iam::123456789012:user/SimulatedCaller";

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
    /// The account that owns the resource: an account id or an ARN naming it (default:
    /// the caller's).
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
    let lints = match iamd_iam::lint_policy(&text, ty, now) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{name}: {e}");
            return ExitCode::from(2);
        }
    };
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

/// One policy given to `simulate`: the file it came from and its compiled form.
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
    use iamd_policy::{Context, Explanation, PolicyKind};

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
    let caller_arn = a.caller_arn.as_deref().unwrap_or(DEFAULT_CALLER);
    // `--resource-owner` takes an account id as well as an ARN.
    let owner = a.resource_owner.as_ref().map(|o| {
        if o.starts_with("arn:") {
            o.clone()
        } else {
            format!("arn:aws:iam::{o}:root")
        }
    });
    let mut ctx = Context::new();
    for c in &a.context {
        let (k, vs) = context_entry(c)?;
        ctx.insert_multi(&k, vs);
    }
    let sim = iamd_iam::CustomSimulation::new(
        identity.iter().map(|l| l.compiled.clone()).collect(),
        boundary.as_ref().map(|l| l.compiled.clone()),
        resource_policy.as_ref().map(|l| l.compiled.clone()),
        caller_arn,
        owner.as_deref(),
        ctx,
    )
    .map_err(|e| format!("iamd: {e}"))?;
    let file_of = |kind: PolicyKind, index: usize, id: &'_ str| -> String {
        let loaded = match kind {
            PolicyKind::Identity => identity.get(index),
            PolicyKind::PermissionsBoundary => boundary.as_ref(),
            PolicyKind::Resource => resource_policy.as_ref(),
            _ => None,
        };
        loaded.map_or(id, |l| l.file.as_str()).to_string()
    };
    let (result, text) = sim.evaluate(&a.action, &a.resource, |e: &Explanation<'_>| {
        (!a.json).then(|| explanation_text(e, &a.action, file_of))
    });
    let decision = result.eval_decision.as_str();
    match text {
        Some(text) => {
            println!("{decision}: {} on {}", a.action, a.resource);
            print!("{text}");
        }
        None => println!("{}", result_json(&result)),
    }
    Ok(if decision == "allowed" {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// The lines after the decision: the deciding statement (or why nothing decided), every
/// matched statement and the missing context keys; `file_of` names a statement's policy
/// file from its kind, index and id.
fn explanation_text(
    e: &iamd_policy::Explanation<'_>,
    action: &str,
    file_of: impl Fn(iamd_policy::PolicyKind, usize, &str) -> String,
) -> String {
    let mut out = String::new();
    match e.decision.statement {
        Some(st) => {
            let file = file_of(st.kind, st.policy_index, st.policy_id);
            let sid = if st.sid.is_empty() {
                String::new()
            } else {
                format!(" (Sid {})", st.sid)
            };
            let _ = writeln!(
                out,
                "  decided by {file}:{}: statement {}{sid}, {:?}",
                st.span.start, st.statement_index, st.effect
            );
        }
        None => {
            let why = iamd_policy::reason_text(action, &e.decision);
            if !why.is_empty() {
                let _ = writeln!(out, "  {why}");
            }
        }
    }
    for m in &e.matched {
        let file = file_of(m.kind, m.policy_index, m.policy_id);
        let _ = writeln!(
            out,
            "  matched {file}:{}-{}: statement {} ({:?})",
            m.span.start, m.span.end, m.statement_index, m.effect
        );
    }
    if !e.missing_context_keys.is_empty() {
        let _ = writeln!(
            out,
            "  missing context keys: {}",
            e.missing_context_keys.join(", ")
        );
    }
    out
}

/// SimulateCustomPolicy's result structure for one result, as JSON: the action, resource
/// and decision, the matched statements with their positions, the missing context
/// values (the resource's, for a resource ARN) and the boundary's decision.
fn result_json(r: &iamd_api::iam::EvaluationResult) -> String {
    let mut o = String::from("{\"EvaluationResults\":[{");
    let mut first = true;
    json::field(&mut o, &mut first, "EvalActionName");
    json::string(&mut o, &r.eval_action_name);
    json::field(&mut o, &mut first, "EvalResourceName");
    json::string(&mut o, r.eval_resource_name.as_deref().unwrap_or("*"));
    json::field(&mut o, &mut first, "EvalDecision");
    json::string(&mut o, &r.eval_decision);
    json::field(&mut o, &mut first, "MatchedStatements");
    o.push('[');
    for (i, m) in r.matched_statements.iter().flatten().enumerate() {
        if i > 0 {
            o.push(',');
        }
        let mut first = true;
        o.push('{');
        json::field(&mut o, &mut first, "SourcePolicyId");
        json::string(&mut o, m.source_policy_id.as_deref().unwrap_or_default());
        json::field(&mut o, &mut first, "SourcePolicyType");
        json::string(&mut o, m.source_policy_type.as_deref().unwrap_or_default());
        for (name, p) in [
            ("StartPosition", &m.start_position),
            ("EndPosition", &m.end_position),
        ] {
            json::field(&mut o, &mut first, name);
            let (line, column) = p
                .as_ref()
                .map_or((0, 0), |p| (p.line.unwrap_or(0), p.column.unwrap_or(0)));
            let _ = write!(o, "{{\"Line\":{line},\"Column\":{column}}}");
        }
        o.push('}');
    }
    o.push(']');
    // A resource ARN's missing context values are on its resource-specific result.
    let missing = r.missing_context_values.iter().flatten().chain(
        r.resource_specific_results
            .iter()
            .flatten()
            .flat_map(|s| s.missing_context_values.iter().flatten()),
    );
    json::field(&mut o, &mut first, "MissingContextValues");
    o.push('[');
    for (i, k) in missing.enumerate() {
        if i > 0 {
            o.push(',');
        }
        json::string(&mut o, k);
    }
    o.push(']');
    if let Some(allowed) = r
        .permissions_boundary_decision_detail
        .as_ref()
        .and_then(|d| d.allowed_by_permissions_boundary)
    {
        json::field(&mut o, &mut first, "PermissionsBoundaryDecisionDetail");
        let _ = write!(o, "{{\"AllowedByPermissionsBoundary\":{allowed}}}");
    }
    o.push_str("}],\"IsTruncated\":false}");
    o
}
