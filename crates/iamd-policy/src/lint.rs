//! Policy linting in the manner of IAM Access Analyzer's `ValidatePolicy`: findings of type
//! ERROR / SECURITY_WARNING / WARNING / SUGGESTION, each with an issue code and its location
//! (a JSON path into the document and a span). Pure: the current time is a parameter.
//!
//! Checks (issue codes and `findingDetails` as AWS's "IAM policy validation check reference"
//! documents them, unless marked *iamd*: those are iamd's own, see [`IAMD_ONLY_CODES`]):
//! - ERROR `POLICY_SYNTAX_ERROR` (*iamd*): every finding of [`crate::validate`] for the policy
//!   type (AWS's `MalformedPolicyDocument` message as details).
//! - The service checks consult a [`ServiceReference`] the caller passes (the whole Service
//!   Authorization Reference: crate `iamd-sar`; [`NoReference`] judges nothing):
//!   ERROR `INVALID_ACTION`, an action or pattern of a known service that names no action of
//!   it (`*`, wildcard and unknown service parts are not judged).
//! - ERROR, condition keys (key names compare case-insensitively; the location is the key's
//!   path `Statement[i].Condition.<operator>.<key>` and its value's span, as AWS reports it):
//!   `INVALID_GLOBAL_CONDITION_KEY`, an `aws:` key that is no global key;
//!   `INVALID_SERVICE_CONDITION_KEY`, a key with a service's prefix the service does not
//!   define; `UNSUPPORTED_ACTION_FOR_CONDITION_KEY`, a service key that a listed action
//!   supports neither on its row nor through its resource types (the details list those
//!   actions, as AWS does: one unsupported action is enough). Patterns are expanded over the
//!   known actions and judged unsupported only if none of their actions supports the key;
//!   `*`, unknown services, actions that name no known action and `NotAction` statements
//!   are not judged, nor are global keys (every action supports them) and keys of prefixes
//!   the reference does not know (OIDC providers' claims). `UNSUPPORTED_GLOBAL_CONDITION_KEY`,
//!   `aws:ARN`.
//! - SECURITY_WARNING `PASS_ROLE_WITH_STAR_IN_RESOURCE` (`iam:PassRole` with `Resource: "*"`),
//!   `PASS_ROLE_WITH_STAR_IN_ACTION_AND_RESOURCE` (a wildcard action covering it),
//!   `ALLOW_WITH_NOT_ACTION`, `ALLOW_WITH_NOT_RESOURCE`, `ALLOW_ALL_ACTIONS_ON_ALL_RESOURCES`,
//!   `PUBLIC_PRINCIPAL_WITHOUT_CONDITION` (trust/resource policies) (the last four *iamd*).
//! - WARNING (*iamd*) `RESOURCE_TYPE_MISMATCH`: a resource ARN of a known service (one of its
//!   resource types' ARN formats fits it) that no action of the statement can act on (none of
//!   their resource types fits it; wildcard-only actions are not judged): an S3 object
//!   action on a bucket ARN, `ec2:StartInstances` on a volume ARN, …
//!   `DATE_IN_THE_PAST` (Date*LessThan / DateEquals values already past).
//! - SUGGESTION `EMPTY_ARRAY_ACTION` / `EMPTY_ARRAY_RESOURCE` / `EMPTY_ARRAY_CONDITION`,
//!   `REDUNDANT_STATEMENT` (a statement covered by a broader one with the same effect and no
//!   condition), `DUPLICATE_VALUE` (*iamd*).

use crate::model::{Effect, Operator, PolicyDocument, PrincipalSpec, StringList};
use crate::{PolicyType, Pos, Span};

/// Finding severity (Access Analyzer's `findingType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LintType {
    Error,
    SecurityWarning,
    Warning,
    Suggestion,
}

impl LintType {
    /// Access Analyzer's name.
    pub fn as_str(self) -> &'static str {
        match self {
            LintType::Error => "ERROR",
            LintType::SecurityWarning => "SECURITY_WARNING",
            LintType::Warning => "WARNING",
            LintType::Suggestion => "SUGGESTION",
        }
    }
}

/// One element of a location path (Access Analyzer's `PathElement`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathElement {
    /// A fixed element name (`Statement`, `Action`, a condition operator).
    Value(String),
    /// An array index.
    Index(usize),
    /// An object key that is itself the location (a condition key).
    Key(String),
}

/// One lint finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintFinding {
    pub finding_type: LintType,
    pub issue_code: &'static str,
    pub details: String,
    pub path: Vec<PathElement>,
    pub span: Span,
}

impl LintFinding {
    /// Access Analyzer's documentation link for the issue code: the check's section of the
    /// "IAM policy validation check reference" (anchor `…-{type}-{code}`, e.g.
    /// `…-error-unsupported-action-for-condition-key`); the page itself for iamd's own codes.
    pub fn learn_more_link(&self) -> String {
        let page = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html";
        if IAMD_ONLY_CODES.contains(&self.issue_code) {
            return page.to_string();
        }
        let kind = match self.finding_type {
            LintType::Error => "error",
            LintType::SecurityWarning => "security-warning",
            LintType::Warning => "general-warning",
            LintType::Suggestion => "suggestion",
        };
        format!(
            "{page}#access-analyzer-reference-policy-checks-{kind}-{}",
            self.issue_code.to_ascii_lowercase().replace('_', "-")
        )
    }
}

/// Issue codes of iamd's own checks, which the AWS check reference does not list.
pub const IAMD_ONLY_CODES: &[&str] = &[
    "POLICY_SYNTAX_ERROR",
    "ALLOW_WITH_NOT_ACTION",
    "ALLOW_WITH_NOT_RESOURCE",
    "ALLOW_ALL_ACTIONS_ON_ALL_RESOURCES",
    "PUBLIC_PRINCIPAL_WITHOUT_CONDITION",
    "RESOURCE_TYPE_MISMATCH",
    "DATE_IN_THE_PAST",
    "DUPLICATE_VALUE",
];

/// The 0-based character offset of a 1-based position in `src`.
pub fn offset_of(src: &str, pos: Pos) -> usize {
    let mut line = 1u32;
    let mut col = 1u32;
    for (i, c) in src.chars().enumerate() {
        if line == pos.line && col == pos.column {
            return i;
        }
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    src.chars().count()
}

fn v(s: &str) -> PathElement {
    PathElement::Value(s.to_string())
}

/// Case-insensitive `*`/`?` wildcard match (action names), with the engine's glob matcher.
fn wild(pattern: &str, text: &str) -> bool {
    crate::glob::Pattern::new(pattern, crate::glob::Mode::Glob, false, true).is_match(
        text,
        true,
        &mut |_| None,
    )
}

/// What the lint knows about AWS services: the Service Authorization Reference (actions,
/// their resource types and ARN formats, condition keys), through a lookup the caller
/// supplies. The engine holds no table itself (it stays pure and small); the crate
/// `iamd-sar` embeds the whole reference and implements this trait. Services, actions and
/// keys are addressed by the indices the lookup hands out.
pub trait ServiceReference {
    /// The service with this prefix (`ec2`, `S3`: case-insensitive), `None` if unknown.
    fn service(&self, prefix: &str) -> Option<usize>;
    /// The service's action names without the prefix; an action's index is its position.
    fn action_names(&self, service: usize) -> Vec<&str>;
    /// Whether the action supports the condition key: on its row, for one of its resource
    /// types, or in such a type's own table (names compare case-insensitively; a template
    /// such as `ec2:ResourceTag/${TagKey}` matches any non-empty value for the variable).
    fn supports_key(&self, service: usize, action: usize, key: &str) -> bool;
    /// The resource types the action names, each with its ARN formats (`${Partition}` …
    /// variables); empty for a wildcard-only action.
    fn action_resources(&self, service: usize, action: usize) -> Vec<(&str, Vec<&str>)>;
    /// Every resource type of the service, with its ARN formats.
    fn resource_types(&self, service: usize) -> Vec<(&str, Vec<&str>)>;
    /// What the reference says about a condition key.
    fn condition_key(&self, key: &str) -> KeyKind;
}

/// A condition key as the reference knows it ([`ServiceReference::condition_key`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyKind {
    /// A global key (`aws:SourceIp`, `aws:PrincipalTag/team`, …): every action supports it.
    Global,
    /// A key some service defines (`ec2:InstanceType`, `saml:aud`): only some actions do.
    Service,
    /// The prefix is this service's, which defines no such key.
    UnknownInService(String),
    /// An `aws:` key that is no global key.
    UnknownGlobal,
    /// A key of a prefix the reference does not know (an OIDC provider's, …): not judged.
    Unknown,
}

/// A reference that knows no service: with it the lint judges nothing service-specific.
pub struct NoReference;

impl ServiceReference for NoReference {
    fn service(&self, _: &str) -> Option<usize> {
        None
    }
    fn action_names(&self, _: usize) -> Vec<&str> {
        Vec::new()
    }
    fn supports_key(&self, _: usize, _: usize, _: &str) -> bool {
        true
    }
    fn action_resources(&self, _: usize, _: usize) -> Vec<(&str, Vec<&str>)> {
        Vec::new()
    }
    fn resource_types(&self, _: usize) -> Vec<(&str, Vec<&str>)> {
        Vec::new()
    }
    fn condition_key(&self, _: &str) -> KeyKind {
        KeyKind::Unknown
    }
}

/// The known actions an action element names (a literal, case-insensitively, or a
/// `*`/`?` pattern): `None` when it is not judged (`*`, a wildcard or unknown service).
fn named_actions(r: &dyn ServiceReference, action: &str) -> Option<(usize, Vec<usize>)> {
    let (prefix, name) = action.split_once(':')?;
    if prefix.contains(['*', '?']) {
        return None;
    }
    let s = r.service(prefix)?;
    let pattern = name.contains(['*', '?']);
    let hits = r
        .action_names(s)
        .iter()
        .enumerate()
        .filter(|(_, a)| {
            if pattern {
                wild(name, a)
            } else {
                a.eq_ignore_ascii_case(name)
            }
        })
        .map(|(i, _)| i)
        .collect();
    Some((s, hits))
}

/// Whether an action (literal or pattern) names at least one known action; `*`, services
/// the reference does not know and wildcard service parts are not judged.
fn action_exists(r: &dyn ServiceReference, action: &str) -> bool {
    named_actions(r, action).is_none_or(|(_, hits)| !hits.is_empty())
}

/// Whether `action` (literal or pattern) may support the condition key: false only when it
/// names known actions and none of them supports the key.
fn action_may_support(r: &dyn ServiceReference, action: &str, key: &str) -> bool {
    match named_actions(r, action) {
        Some((s, hits)) => hits.is_empty() || hits.iter().any(|a| r.supports_key(s, *a, key)),
        None => true,
    }
}

/// Whether some ARN matches both a policy's resource pattern (`*`, `?`) and a reference ARN
/// format (`${Variable}` parts), compared field by field: the first five fields (`arn`,
/// partition, service, region, account) each on their own, then the resource part. A
/// variable of the resource part stands for any text without `/`, but the last one of a
/// resource part with a `/` before it (`${ObjectName}`, `${RoleNameWithPath}`) takes `/`
/// too: so `arn:aws:s3:::b/k` is no bucket (`${BucketName}`) and is an object
/// (`${BucketName}/${ObjectName}`). Case-insensitive. A pattern with fewer than six fields
/// fits nothing.
fn arn_fits(pattern: &str, format: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let f: Vec<&str> = format.splitn(6, ':').collect();
    p.len() == 6
        && f.len() == 6
        && p.iter()
            .zip(&f)
            .enumerate()
            .all(|(i, (p, f))| glob_meets_format(p, f, i == 5))
}

/// Whether some text matches both a glob (`*`, `?`) and a format with `${Variable}` parts
/// (see [`arn_fits`]; `resource`: the rules of the resource part for `/`).
fn glob_meets_format(pattern: &str, format: &str, resource: bool) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum F {
        Char(char),
        Var { slash: bool },
    }
    let mut toks: Vec<F> = Vec::new();
    let mut rest = format;
    while let Some(i) = rest.find("${") {
        toks.extend(rest.get(..i).unwrap_or_default().chars().map(F::Char));
        let after = rest.get(i..).unwrap_or_default();
        let close = after.find('}').map_or(after.len(), |j| j + 1);
        toks.push(F::Var { slash: !resource });
        rest = after.get(close..).unwrap_or_default();
    }
    toks.extend(rest.chars().map(F::Char));
    if resource {
        let first_slash = toks.iter().position(|t| *t == F::Char('/'));
        let last_var = toks.iter().rposition(|t| matches!(t, F::Var { .. }));
        if let (Some(s), Some(v)) = (first_slash, last_var) {
            if s < v {
                if let Some(t) = toks.get_mut(v) {
                    *t = F::Var { slash: true };
                }
            }
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let (n, m) = (p.len(), toks.len());
    // reach[i][j]: the first i pattern characters and j format tokens can match.
    let mut reach = vec![vec![false; m + 1]; n + 1];
    if let Some(r) = reach.get_mut(0).and_then(|r| r.get_mut(0)) {
        *r = true;
    }
    let at = |reach: &Vec<Vec<bool>>, i: usize, j: usize| {
        reach
            .get(i)
            .and_then(|r| r.get(j))
            .copied()
            .unwrap_or(false)
    };
    for i in 0..=n {
        for j in 0..=m {
            if !at(&reach, i, j) {
                continue;
            }
            let pc = p.get(i).copied();
            let ft = toks.get(j).copied();
            let mut set = |a: usize, b: usize| {
                if let Some(x) = reach.get_mut(a).and_then(|r| r.get_mut(b)) {
                    *x = true;
                }
            };
            match (pc, ft) {
                (Some('*'), _) => {
                    set(i + 1, j); // the star ends
                    if ft.is_some() {
                        set(i, j + 1); // the star takes the token
                    }
                }
                (Some(c), Some(F::Char(d))) if c == '?' || c.eq_ignore_ascii_case(&d) => {
                    set(i + 1, j + 1);
                }
                _ => {}
            }
            if let Some(F::Var { slash }) = ft {
                set(i, j + 1); // the variable ends
                if pc.is_some_and(|c| c != '*' && (slash || c != '/')) {
                    set(i + 1, j);
                }
            }
        }
    }
    at(&reach, n, m)
}

/// A resource with each policy variable (`${aws:PrincipalTag/bucket}`) written as `*`: it
/// may stand for any text.
fn variables_as_stars(resource: &str) -> String {
    let mut out = String::new();
    let mut rest = resource;
    while let Some(i) = rest.find("${") {
        out.push_str(rest.get(..i).unwrap_or_default());
        let after = rest.get(i..).unwrap_or_default();
        match after.find('}') {
            Some(j) => {
                out.push('*');
                rest = after.get(j + 1..).unwrap_or_default();
            }
            None => {
                rest = after;
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The resource types of the reference whose ARN format `arn` (a policy's resource, not
/// `*`) can name; `None` when the ARN is not judged (no ARN, a wildcard or unknown service).
fn resource_kinds<'r>(r: &'r dyn ServiceReference, arn: &str) -> Option<Vec<&'r str>> {
    let service = arn.strip_prefix("arn:")?.split(':').nth(1)?;
    if service.contains(['*', '?']) {
        return None;
    }
    let s = r.service(service)?;
    let kinds: Vec<&str> = r
        .resource_types(s)
        .into_iter()
        .filter(|(_, arns)| arns.iter().any(|f| arn_fits(arn, f)))
        .map(|(name, _)| name)
        .collect();
    (!kinds.is_empty()).then_some(kinds)
}

/// Whether `action` (literal or pattern) can act on the resource `arn`: some action it names
/// has a resource type whose ARN format fits. Actions that are not judged fit anything, and
/// so do wildcard-only actions: AWS accepts them with ARN patterns such as `arn:aws:s3:::*`
/// (`s3:ListAllMyBuckets`), and the reference lists no type to compare with.
fn action_fits(r: &dyn ServiceReference, action: &str, arn: &str) -> bool {
    match named_actions(r, action) {
        Some((s, hits)) => {
            hits.is_empty()
                || hits.iter().any(|a| {
                    let types = r.action_resources(s, *a);
                    types.is_empty()
                        || types
                            .iter()
                            .any(|(_, arns)| arns.iter().any(|f| arn_fits(arn, f)))
                })
        }
        None => true,
    }
}

/// The AWS issue (code, details) of a condition key in a statement with actions `acts`:
/// `aws:ARN` is not supported; an `aws:` key that is no global key, or a key of a service's
/// prefix that the service does not define, does not exist; a service key that a listed
/// action does not support is not evaluated for it (`NotAction` statements are not judged).
/// Keys of prefixes the reference does not know are not checked.
fn condition_key_issue(
    r: &dyn ServiceReference,
    key: &str,
    acts: Option<&StringList>,
) -> Option<(&'static str, String)> {
    key.split_once(':')?;
    if key.eq_ignore_ascii_case("aws:ARN") {
        return Some((
            "UNSUPPORTED_GLOBAL_CONDITION_KEY",
            format!("The condition key {key} is not supported. Use aws:PrincipalArn or aws:SourceArn instead."),
        ));
    }
    match r.condition_key(key) {
        KeyKind::UnknownGlobal => {
            return Some((
                "INVALID_GLOBAL_CONDITION_KEY",
                format!("The condition key {key} does not exist. Use a valid condition key."),
            ))
        }
        KeyKind::UnknownInService(service) => {
            return Some((
                "INVALID_SERVICE_CONDITION_KEY",
                format!(
                    "The condition key {key} does not exist in the service {service}. Use a valid condition key."
                ),
            ))
        }
        KeyKind::Service => {}
        KeyKind::Global | KeyKind::Unknown => return None,
    }
    let acts = acts.filter(|a| !a.not)?;
    let unsupported: Vec<&str> = acts
        .items
        .iter()
        .filter(|x| !action_may_support(r, &x.value, key))
        .map(|x| x.value.as_str())
        .collect();
    if unsupported.is_empty() {
        return None;
    }
    Some((
        "UNSUPPORTED_ACTION_FOR_CONDITION_KEY",
        format!(
            "The following actions: {} are not supported by the condition key {key}. The condition will not be evaluated for these actions. We recommend that you move these actions to a different statement without this condition key.",
            unsupported.join(", ")
        ),
    ))
}

fn list_path(stmt: usize, name: &str) -> Vec<PathElement> {
    vec![v("Statement"), PathElement::Index(stmt), v(name)]
}

fn item_path(stmt: usize, name: &str, list: &StringList, i: usize) -> Vec<PathElement> {
    let mut p = list_path(stmt, name);
    match list.items.as_slice() {
        [only] if only.span == list.span => {}
        _ => p.push(PathElement::Index(i)),
    }
    p
}

/// Lint a policy document of type `ty`; `now` is the current time in epoch seconds (for
/// the past-date check). Syntax ERRORs first, then per statement in document order.
pub fn lint(
    src: &str,
    ty: PolicyType,
    now: i64,
    reference: &dyn ServiceReference,
) -> Vec<LintFinding> {
    let mut out = Vec::new();
    let doc = match crate::model::parse(src) {
        Ok(d) => d,
        Err(f) => {
            out.push(error(&f));
            return out;
        }
    };
    for f in crate::validate::validate_document(&doc, ty) {
        out.push(error(&f));
    }
    lint_document(&doc, ty, now, reference, &mut out);
    out
}

fn error(f: &crate::Finding) -> LintFinding {
    let details = match &f.detail {
        Some(d) => format!("{} ({d})", f.message),
        None => f.message.clone(),
    };
    LintFinding {
        finding_type: LintType::Error,
        issue_code: "POLICY_SYNTAX_ERROR",
        details,
        path: Vec::new(),
        span: Span {
            start: f.pos,
            end: f.pos,
        },
    }
}

fn lint_document(
    doc: &PolicyDocument,
    ty: PolicyType,
    now: i64,
    r: &dyn ServiceReference,
    out: &mut Vec<LintFinding>,
) {
    let resource_side = matches!(ty, PolicyType::Resource | PolicyType::Trust);
    for s in &doc.statements {
        let i = s.index;
        let allow = s.effect == Effect::Allow;
        let acts = s.action.as_ref();
        let ress = s.resource.as_ref();
        let act_name = |l: &StringList| if l.not { "NotAction" } else { "Action" };
        let res_name = |l: &StringList| if l.not { "NotResource" } else { "Resource" };
        // SECURITY_WARNING
        if let Some(a) = acts.filter(|a| allow && a.not) {
            out.push(LintFinding {
                finding_type: LintType::SecurityWarning,
                issue_code: "ALLOW_WITH_NOT_ACTION",
                details: "Using Allow with NotAction grants every action not listed, including actions added to services later.".into(),
                path: list_path(i, "NotAction"),
                span: a.span,
            });
        }
        if let Some(r) = ress.filter(|r| allow && r.not) {
            out.push(LintFinding {
                finding_type: LintType::SecurityWarning,
                issue_code: "ALLOW_WITH_NOT_RESOURCE",
                details: "Using Allow with NotResource grants access to every resource not listed, including resources created later.".into(),
                path: list_path(i, "NotResource"),
                span: r.span,
            });
        }
        let star_res = ress.is_some_and(|r| !r.not && r.items.iter().any(|x| x.value == "*"));
        if let (true, Some(a)) = (allow && star_res, acts.filter(|a| !a.not)) {
            for (j, x) in a.items.iter().enumerate() {
                if wild(&x.value, "iam:PassRole") {
                    let (issue_code, details) = if x.value.contains(['*', '?']) {
                        ("PASS_ROLE_WITH_STAR_IN_ACTION_AND_RESOURCE", "Using wildcards (*) in the action and the resource can be overly permissive because it allows iam:PassRole permissions on all resources. We recommend that you specify resource ARNs or add the iam:PassedToService condition key to your statement.")
                    } else {
                        ("PASS_ROLE_WITH_STAR_IN_RESOURCE", "Using the iam:PassRole action with wildcards (*) in the resource can be overly permissive because it allows iam:PassRole permissions on multiple resources. We recommend that you specify resource ARNs or add the iam:PassedToService condition key to your statement.")
                    };
                    out.push(LintFinding {
                        finding_type: LintType::SecurityWarning,
                        issue_code,
                        details: details.into(),
                        path: item_path(i, "Action", a, j),
                        span: x.span,
                    });
                }
            }
            if a.items.iter().any(|x| x.value == "*") && s.conditions.is_empty() && !resource_side {
                out.push(LintFinding {
                    finding_type: LintType::SecurityWarning,
                    issue_code: "ALLOW_ALL_ACTIONS_ON_ALL_RESOURCES",
                    details: "The statement allows every action on every resource (administrator access).".into(),
                    path: vec![v("Statement"), PathElement::Index(i)],
                    span: s.span,
                });
            }
        }
        if let Some(p) = &s.principal {
            let public = match &p.spec {
                PrincipalSpec::Any => true,
                PrincipalSpec::Map(m) => m.iter().any(|(_, vs)| vs.iter().any(|x| x.value == "*")),
            };
            if allow && !p.not && public && s.conditions.is_empty() {
                out.push(LintFinding {
                    finding_type: LintType::SecurityWarning,
                    issue_code: "PUBLIC_PRINCIPAL_WITHOUT_CONDITION",
                    details: "The statement grants access to everyone (Principal \"*\") with no condition to limit it.".into(),
                    path: list_path(i, "Principal"),
                    span: p.span,
                });
            }
        }
        // ERROR: actions that do not exist in a known service.
        if let Some(a) = acts {
            for (j, x) in a.items.iter().enumerate() {
                if !action_exists(r, &x.value) {
                    out.push(LintFinding {
                        finding_type: LintType::Error,
                        issue_code: "INVALID_ACTION",
                        details: format!("The action {} does not exist.", x.value),
                        path: item_path(i, act_name(a), a, j),
                        span: x.span,
                    });
                }
            }
        }
        // WARNING: a resource no action of the statement can act on.
        if let (Some(a), Some(rl)) = (acts.filter(|a| !a.not), ress.filter(|r| !r.not)) {
            for (j, x) in rl.items.iter().enumerate() {
                let arn = variables_as_stars(&x.value);
                let Some(kinds) = resource_kinds(r, &arn) else {
                    continue;
                };
                if !a.items.iter().any(|act| action_fits(r, &act.value, &arn)) {
                    out.push(LintFinding {
                        finding_type: LintType::Warning,
                        issue_code: "RESOURCE_TYPE_MISMATCH",
                        details: format!(
                            "No action in the statement supports the {} resource {}.",
                            kinds.join(" or "),
                            x.value
                        ),
                        path: item_path(i, "Resource", rl, j),
                        span: x.span,
                    });
                }
            }
        }
        // ERROR: condition keys; WARNING: past dates; SUGGESTION: empty / duplicate values.
        for b in &s.conditions {
            for e in &b.entries {
                // AWS names the key with a `value` path element and spans its value.
                let path = vec![
                    v("Statement"),
                    PathElement::Index(i),
                    v("Condition"),
                    v(&b.name),
                    v(&e.key),
                ];
                if let Some((code, details)) = condition_key_issue(r, &e.key, acts) {
                    out.push(LintFinding {
                        finding_type: LintType::Error,
                        issue_code: code,
                        details,
                        path: path.clone(),
                        span: e.span,
                    });
                }
                if e.values.is_empty() {
                    out.push(LintFinding {
                        finding_type: LintType::Suggestion,
                        issue_code: "EMPTY_ARRAY_CONDITION",
                        details: "There are no values for the condition key and it does not affect the policy. Specify conditions.".into(),
                        path: path.clone(),
                        span: e.span,
                    });
                }
                let many = e.values.len() > 1;
                for (j, x) in e.values.iter().enumerate() {
                    if matches!(
                        b.operator,
                        Operator::DateLessThan
                            | Operator::DateLessThanEquals
                            | Operator::DateEquals
                    ) && crate::values::parse_date(&x.value).is_some_and(|(t, _)| t < now)
                    {
                        let mut p = path.clone();
                        if many {
                            p.push(PathElement::Index(j));
                        }
                        out.push(LintFinding {
                            finding_type: LintType::Warning,
                            issue_code: "DATE_IN_THE_PAST",
                            details: format!(
                                "The date {} is in the past: the condition can no longer be met.",
                                x.value
                            ),
                            path: p,
                            span: x.span,
                        });
                    }
                    if e.values.iter().take(j).any(|y| y.value == x.value) {
                        let mut p = path.clone();
                        p.push(PathElement::Index(j));
                        out.push(dup(&x.value, p, x.span));
                    }
                }
            }
        }
        for (l, name) in [(acts, acts.map(act_name)), (ress, ress.map(res_name))] {
            let (Some(l), Some(name)) = (l, name) else {
                continue;
            };
            let action = name.ends_with("Action");
            if l.items.is_empty() {
                out.push(LintFinding {
                    finding_type: LintType::Suggestion,
                    issue_code: if action { "EMPTY_ARRAY_ACTION" } else { "EMPTY_ARRAY_RESOURCE" },
                    details: format!(
                        "This statement includes no {} and does not affect the policy. Specify {0}.",
                        if action { "actions" } else { "resources" }
                    ),
                    path: list_path(i, name),
                    span: l.span,
                });
            }
            for (j, x) in l.items.iter().enumerate() {
                if l.items.iter().take(j).any(|y| y.value == x.value) {
                    out.push(dup(&x.value, item_path(i, name, l, j), x.span));
                }
            }
        }
    }
    // SUGGESTION: a statement made unnecessary by a broader one.
    for s in &doc.statements {
        let redundant = doc.statements.iter().any(|t| {
            t.index != s.index
                && t.effect == s.effect
                && t.conditions.is_empty()
                && covers(t, s)
                && !(covers(s, t) && t.index > s.index)
        });
        if redundant {
            out.push(LintFinding {
                finding_type: LintType::Suggestion,
                issue_code: "REDUNDANT_STATEMENT",
                details: "The statements are redundant because they provide identical permissions. Update the policy to remove the redundant statement.".into(),
                path: vec![v("Statement"), PathElement::Index(s.index)],
                span: s.span,
            });
        }
    }
}

fn dup(value: &str, path: Vec<PathElement>, span: Span) -> LintFinding {
    LintFinding {
        finding_type: LintType::Suggestion,
        issue_code: "DUPLICATE_VALUE",
        details: format!("The value {value} is listed more than once."),
        path,
        span,
    }
}

/// Whether statement `t` applies to everything `s` applies to (positive lists only, same
/// principal).
fn covers(t: &crate::model::Statement, s: &crate::model::Statement) -> bool {
    if t.principal != s.principal {
        return false;
    }
    let list_covers = |a: Option<&StringList>, b: Option<&StringList>| match (a, b) {
        (Some(a), Some(b)) if !a.not && !b.not && !b.items.is_empty() => b
            .items
            .iter()
            .all(|x| a.items.iter().any(|p| wild(&p.value, &x.value))),
        _ => false,
    };
    list_covers(t.action.as_ref(), s.action.as_ref())
        && list_covers(t.resource.as_ref(), s.resource.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wild("s3:Get*", "s3:GetObject"));
        assert!(wild("*", "anything"));
        assert!(wild("s3:?etObject", "s3:getobject"));
        assert!(!wild("s3:Put*", "s3:GetObject"));
    }

    #[test]
    fn arn_formats() {
        let bucket = "arn:${Partition}:s3:::${BucketName}";
        let object = "arn:${Partition}:s3:::${BucketName}/${ObjectName}";
        assert!(arn_fits("arn:aws:s3:::b", bucket));
        assert!(!arn_fits("arn:aws:s3:::b", object));
        assert!(!arn_fits("arn:aws:s3:::b/k/deep", bucket));
        assert!(arn_fits("arn:aws:s3:::b/k/deep", object));
        assert!(arn_fits("arn:aws:s3:::b*", object));
        assert!(arn_fits("arn:aws:s3:::*", bucket));
        let instance = "arn:${Partition}:ec2:${Region}:${Account}:instance/${InstanceId}";
        assert!(arn_fits("arn:aws:ec2:*:*:instance/*", instance));
        assert!(arn_fits(
            "ARN:AWS:EC2:us-east-1:123456789012:Instance/i-1",
            instance
        ));
        assert!(!arn_fits("arn:aws:ec2:*:*:volume/*", instance));
        assert!(!arn_fits("arn:aws:ec2:*", instance));
        assert!(arn_fits("arn:aws:ec2:*:*:*", instance));
        assert!(!arn_fits("arn:aws:ec2:*:*:instance", instance));
        let role = "arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}";
        assert!(arn_fits("arn:aws:iam::123456789012:role/path/r", role));
        assert!(!arn_fits("arn:aws:iam::123456789012:user/u", role));
    }

    #[test]
    fn policy_variables_in_resources() {
        assert_eq!(
            variables_as_stars("arn:aws:s3:::${aws:PrincipalTag/b}/home/${aws:username}/*"),
            "arn:aws:s3:::*/home/*/*"
        );
        assert_eq!(variables_as_stars("arn:aws:s3:::${x"), "arn:aws:s3:::${x");
    }

    #[test]
    fn no_reference_judges_nothing() {
        let src = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:Bogus",
            "Resource": "arn:aws:s3:::b", "Condition": {"StringEquals": {"aws:Bogus": "x", "s3:Bogus": "y"}}}]}"#;
        assert_eq!(lint(src, PolicyType::Managed, 0, &NoReference), Vec::new());
        let src = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
            "Resource": "*", "Condition": {"StringEquals": {"aws:ARN": "x"}}}]}"#;
        let f = lint(src, PolicyType::Managed, 0, &NoReference);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].issue_code, "UNSUPPORTED_GLOBAL_CONDITION_KEY");
        assert_eq!(
            f[0].learn_more_link(),
            "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html#access-analyzer-reference-policy-checks-error-unsupported-global-condition-key"
        );
    }

    #[test]
    fn offsets() {
        let src = "{\n  \"a\": 1\n}";
        assert_eq!(offset_of(src, Pos { line: 2, column: 3 }), 4);
    }
}
