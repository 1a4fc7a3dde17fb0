//! Policy linting in the manner of IAM Access Analyzer's `ValidatePolicy`: findings of type
//! ERROR / SECURITY_WARNING / WARNING / SUGGESTION, each with an issue code and its location
//! (a JSON path into the document and a span). Pure: the current time is a parameter.
//!
//! Checks:
//! - ERROR `POLICY_SYNTAX_ERROR`: every finding of [`crate::validate`] for the policy type
//!   (AWS's `MalformedPolicyDocument` message as details).
//! - SECURITY_WARNING `ALLOW_WITH_NOT_ACTION`, `ALLOW_WITH_NOT_RESOURCE`,
//!   `PASS_ROLE_WITH_STAR_IN_RESOURCE`, `ALLOW_ALL_ACTIONS_ON_ALL_RESOURCES`,
//!   `PUBLIC_PRINCIPAL_WITHOUT_CONDITION` (trust/resource policies).
//! - WARNING `RESOURCE_TYPE_MISMATCH` (S3 object actions on bucket ARNs and bucket actions
//!   on object ARNs, when no action of the statement can use the resource),
//!   `DATE_IN_THE_PAST` (Date*LessThan / DateEquals values already past).
//! - SUGGESTION `EMPTY_ARRAY_ACTION` / `EMPTY_ARRAY_RESOURCE` / `EMPTY_ARRAY_CONDITION`,
//!   `DUPLICATE_VALUE`, `REDUNDANT_STATEMENT` (a statement covered by a broader one with the
//!   same effect and no condition).

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
    /// Access Analyzer's documentation link for the issue code.
    pub fn learn_more_link(&self) -> String {
        format!(
            "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html#access-analyzer-reference-policy-checks-{}",
            self.issue_code.to_ascii_lowercase().replace('_', "-")
        )
    }
}

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

/// Case-insensitive `*`/`?` wildcard match.
fn wild(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0usize, 0usize, None, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            pi += 1;
            mark = ti;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// S3 actions that act on buckets (`arn:aws:s3:::bucket`); all other `s3:` actions that
/// name a resource act on objects, access points or jobs. From the Service Authorization
/// Reference's S3 table (bucket resource type), the commonly used subset.
const S3_BUCKET_ACTIONS: &[&str] = &[
    "s3:CreateBucket",
    "s3:DeleteBucket",
    "s3:ListBucket",
    "s3:ListBucketVersions",
    "s3:ListBucketMultipartUploads",
    "s3:GetBucketLocation",
    "s3:GetBucketPolicy",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:GetBucketPolicyStatus",
    "s3:GetBucketAcl",
    "s3:PutBucketAcl",
    "s3:GetBucketTagging",
    "s3:PutBucketTagging",
    "s3:GetBucketVersioning",
    "s3:PutBucketVersioning",
    "s3:GetBucketCORS",
    "s3:PutBucketCORS",
    "s3:GetBucketWebsite",
    "s3:PutBucketWebsite",
    "s3:DeleteBucketWebsite",
    "s3:GetBucketLogging",
    "s3:PutBucketLogging",
    "s3:GetBucketNotification",
    "s3:PutBucketNotification",
    "s3:GetBucketObjectLockConfiguration",
    "s3:PutBucketObjectLockConfiguration",
    "s3:GetBucketOwnershipControls",
    "s3:PutBucketOwnershipControls",
    "s3:GetBucketPublicAccessBlock",
    "s3:PutBucketPublicAccessBlock",
    "s3:GetEncryptionConfiguration",
    "s3:PutEncryptionConfiguration",
    "s3:GetLifecycleConfiguration",
    "s3:PutLifecycleConfiguration",
    "s3:GetReplicationConfiguration",
    "s3:PutReplicationConfiguration",
    "s3:GetAccelerateConfiguration",
    "s3:PutAccelerateConfiguration",
    "s3:GetBucketRequestPayment",
    "s3:PutBucketRequestPayment",
];

/// S3 actions on objects (`arn:aws:s3:::bucket/key`), the commonly used subset of the SAR's
/// object resource type.
const S3_OBJECT_ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:GetObjectAcl",
    "s3:PutObjectAcl",
    "s3:GetObjectTagging",
    "s3:PutObjectTagging",
    "s3:DeleteObjectTagging",
    "s3:GetObjectAttributes",
    "s3:GetObjectRetention",
    "s3:PutObjectRetention",
    "s3:GetObjectLegalHold",
    "s3:PutObjectLegalHold",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
    "s3:RestoreObject",
];

#[derive(PartialEq)]
enum S3Res {
    Bucket,
    Object,
    Other,
}

fn s3_resource_kind(arn: &str) -> S3Res {
    match arn.strip_prefix("arn:aws:s3:::") {
        Some(rest) if rest.contains('/') => S3Res::Object,
        Some(rest) if !rest.is_empty() && !rest.contains(['*', '?']) => S3Res::Bucket,
        _ => S3Res::Other,
    }
}

/// Whether `action` (a literal or pattern) can act on a resource of kind `kind`.
fn s3_action_fits(action: &str, kind: &S3Res) -> bool {
    let list = match kind {
        S3Res::Bucket => S3_BUCKET_ACTIONS,
        S3Res::Object => S3_OBJECT_ACTIONS,
        S3Res::Other => return true,
    };
    if !action.to_ascii_lowercase().starts_with("s3:") && action != "*" {
        // Another service's action: the resource may be for it; not our call.
        return true;
    }
    let known = S3_BUCKET_ACTIONS.iter().chain(S3_OBJECT_ACTIONS);
    if action.contains(['*', '?']) {
        // A pattern fits if it covers any action of the kind, or any action we do not list.
        return list.iter().any(|a| wild(action, a)) || !known.clone().all(|a| wild(action, a));
    }
    if !known.clone().any(|a| a.eq_ignore_ascii_case(action)) {
        return true;
    }
    list.iter().any(|a| a.eq_ignore_ascii_case(action))
}

fn list_path(stmt: usize, name: &str) -> Vec<PathElement> {
    vec![v("Statement"), PathElement::Index(stmt), v(name)]
}

fn item_path(stmt: usize, name: &str, list: &StringList, i: usize) -> Vec<PathElement> {
    let mut p = list_path(stmt, name);
    if list.items.len() != 1 || list.items[0].span != list.span {
        p.push(PathElement::Index(i));
    }
    p
}

/// Lint a policy document of type `ty`; `now` is the current time in epoch seconds (for
/// the past-date check). Findings in document order within each check, ERRORs first.
pub fn lint(src: &str, ty: PolicyType, now: i64) -> Vec<LintFinding> {
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
    lint_document(&doc, ty, now, &mut out);
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

fn lint_document(doc: &PolicyDocument, ty: PolicyType, now: i64, out: &mut Vec<LintFinding>) {
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
                if x.value != "*" && wild(&x.value, "iam:PassRole") {
                    out.push(LintFinding {
                        finding_type: LintType::SecurityWarning,
                        issue_code: "PASS_ROLE_WITH_STAR_IN_RESOURCE",
                        details: "Using iam:PassRole with a wildcard (*) in the resource lets the principal pass any role.".into(),
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
        // WARNING: resource type mismatch (S3 buckets vs objects).
        if let (Some(a), Some(r)) = (acts.filter(|a| !a.not), ress.filter(|r| !r.not)) {
            for (j, x) in r.items.iter().enumerate() {
                let kind = s3_resource_kind(&x.value);
                if kind == S3Res::Other {
                    continue;
                }
                if !a.items.iter().any(|act| s3_action_fits(&act.value, &kind)) {
                    out.push(LintFinding {
                        finding_type: LintType::Warning,
                        issue_code: "RESOURCE_TYPE_MISMATCH",
                        details: format!(
                            "No action in the statement supports the {} resource {}.",
                            if kind == S3Res::Bucket {
                                "bucket"
                            } else {
                                "object"
                            },
                            x.value
                        ),
                        path: item_path(i, "Resource", r, j),
                        span: x.span,
                    });
                }
            }
        }
        // WARNING: past dates; SUGGESTION: empty / duplicate condition values.
        for b in &s.conditions {
            for e in &b.entries {
                let path = vec![
                    v("Statement"),
                    PathElement::Index(i),
                    v("Condition"),
                    v(&b.name),
                    PathElement::Key(e.key.clone()),
                ];
                if e.values.is_empty() {
                    out.push(LintFinding {
                        finding_type: LintType::Suggestion,
                        issue_code: "EMPTY_ARRAY_CONDITION",
                        details: format!(
                            "The condition key {} has an empty array of values.",
                            e.key
                        ),
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
                    if e.values[..j].iter().any(|y| y.value == x.value) {
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
            if l.items.is_empty() {
                out.push(LintFinding {
                    finding_type: LintType::Suggestion,
                    issue_code: if name.ends_with("Action") {
                        "EMPTY_ARRAY_ACTION"
                    } else {
                        "EMPTY_ARRAY_RESOURCE"
                    },
                    details: format!("The {name} element is an empty array."),
                    path: list_path(i, name),
                    span: l.span,
                });
            }
            for (j, x) in l.items.iter().enumerate() {
                if l.items[..j].iter().any(|y| y.value == x.value) {
                    out.push(dup(&x.value, item_path(i, name, l, j), x.span));
                }
            }
        }
    }
    // SUGGESTION: a statement made unnecessary by a broader one.
    for s in &doc.statements {
        let redundant_to = doc.statements.iter().find(|t| {
            t.index != s.index
                && t.effect == s.effect
                && t.conditions.is_empty()
                && covers(t, s)
                && !(covers(s, t) && t.index > s.index)
        });
        if let Some(t) = redundant_to {
            out.push(LintFinding {
                finding_type: LintType::Suggestion,
                issue_code: "REDUNDANT_STATEMENT",
                details: format!(
                    "Statement {} is redundant: statement {} grants or denies the same access without a condition.",
                    s.index, t.index
                ),
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
    fn offsets() {
        let src = "{\n  \"a\": 1\n}";
        assert_eq!(offset_of(src, Pos { line: 2, column: 3 }), 4);
    }
}
