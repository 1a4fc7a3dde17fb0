//! # iamd-policy — the AWS IAM policy engine
//!
//! Pure library (no I/O, no async, no logging, no global state). Behavioural reference:
//! `docs/policy-semantics.md` (section numbers below refer to it).
//!
//! Four stages:
//!
//! 1. **Parse** — [`parse`] / [`parse_bytes`]: policy JSON → [`PolicyDocument`] using an own
//!    position-tracking JSON parser (duplicate keys rejected, depth-limited, never panics).
//!    Structural errors give AWS's `Syntax errors in policy.` with a line/column.
//! 2. **Validate** — [`validate`] / [`validate_document`]: per [`PolicyType`], findings in AWS's
//!    precedence order (§1.5); the first finding is what AWS returns. [`size_without_whitespace`]
//!    computes the size IAM quotas count (§1.7); the service layer enforces the quotas.
//! 3. **Compile** — [`CompiledPolicy::compile`] / [`CompiledPolicy::from_json`]: glob patterns
//!    pre-analysed (literal/prefix/suffix/contains fast paths), statements indexed by action
//!    service prefix and the first literal character of the action name (one complete,
//!    ascending candidate list per key), lowercase action patterns precomputed, ARN heads
//!    without wildcards compared as one literal prefix, and per statement a prefilter on the
//!    request's resource part (hash bits of the first 1–8 literal bytes of its `Resource`
//!    entries) that rejects most non-matching statements before any string compare.
//!    `CompiledPolicy: Send + Sync`.
//! 4. **Decide** — [`decide`] (hot path: no allocation — except a policy-variable pattern of
//!    more than 8 pieces — and no JSON) and [`explain`] (all
//!    evidence: matched statements, missing context keys); both run the same code. The
//!    [`Decision`] says `Allow` / `ExplicitDeny` / `ImplicitDeny`, why ([`Reason`]), and which
//!    statement decided ([`StatementRef`]: policy kind + id, statement index, Sid, span).
//!    [`render_denial`] builds AWS's "is not authorized to perform" message.
//!
//! ## Usage
//!
//! ```
//! use std::sync::Arc;
//! use iamd_policy::*;
//!
//! let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*",
//!   "Resource":["arn:aws:s3:::houdini","arn:aws:s3:::houdini/*"]}]}"#;
//! // validation (e.g. for PutUserPolicy); first finding = AWS's error
//! assert!(validate(doc, PolicyType::Inline).is_empty());
//! // compile once, keep in an Arc
//! let p = Arc::new(CompiledPolicy::from_json(doc, PolicyType::Inline, "melvins/s3").unwrap());
//! let identity = vec![p];
//! let mut ctx = Context::new();
//! ctx.insert("aws:username", "melvins");
//! let req = Request {
//!     action: "s3:PutObject",
//!     resource: Resource::Arn("arn:aws:s3:::other/x"),
//!     resource_account: Some("123456789012"),
//!     caller: Caller::User {
//!         arn: "arn:aws:iam::123456789012:user/melvins",
//!         id: "AIDAEXAMPLE",
//!         account: "123456789012",
//!     },
//!     context: &ctx,
//! };
//! let set = PolicySet { identity: &identity, ..Default::default() };
//! let d = decide(&req, &set);
//! assert_eq!(d.kind, DecisionKind::ImplicitDeny);
//! assert_eq!(
//!     render_denial("arn:aws:iam::123456789012:user/melvins", req.action, "arn:aws:s3:::other/x", &d),
//!     "User: arn:aws:iam::123456789012:user/melvins is not authorized to perform: s3:PutObject \
//!      on resource: arn:aws:s3:::other/x because no identity-based policy allows the \
//!      s3:PutObject action"
//! );
//! ```
//!
//! ## iamd's choices where AWS documents nothing (docs/policy-semantics.md §8), and other decisions
//!
//! - Inline, trust, bucket and session policies accept an absent or `2008-10-17` Version
//!   (variables literal); managed policies and permissions boundaries require `2012-10-17`.
//! - Sid charset (`[0-9A-Za-z]*`) applies to IAM-stored types (not [`PolicyType::Resource`]);
//!   Sid uniqueness is case-sensitive. The Sid-charset and "should not specify a principal"
//!   findings are placed after Sid uniqueness (§1.5 stage 4).
//! - IAM resource path rule additionally accepts `root` and a resource part starting with `*`.
//! - Resource-format findings: the first failing entry in document order.
//! - Trust policies: missing `Principal` → `Missing required field Principal`; `NotPrincipal` →
//!   `Has prohibited field NotPrincipal.`; a non-`sts:` action → `AssumeRole policy may only
//!   specify STS AssumeRole actions.`. Bucket policies use error code `MalformedPolicy` and
//!   `Policy has invalid resource` for resource-format errors.
//! - Size: characters excluding whitespace outside string literals (whitespace inside strings
//!   counts).
//! - A single-value operator on a multivalued key is false (#45). Unparsable request values
//!   make `pos` false (positive operators false, negated true).
//! - Missing time zone in a date → UTC. Epoch dates are integer seconds (≥ 0). Bare 4-digit
//!   values are years (ISO `YYYY`), not epoch seconds.
//! - Numbers: decimal with optional sign and fraction, exact comparison; no exponents.
//! - `BinaryEquals`: the request value is base64 text too; both are decoded and compared.
//! - IPv4-mapped IPv6 request addresses are normalised to IPv4; families never cross.
//! - Policy variables are expanded in String*, Arn* and `Bool` values (the docs conflict on
//!   `Bool`; §3.4 says allow) and in the resource part of `Resource`/`NotResource` (and of Arn*
//!   values); elsewhere (Numeric, Date, IP, Binary, Null, Action, Principal, keys) `${...}`
//!   is literal text.
//! - `Principal` entries under `CanonicalUser` never match (no canonical-user callers).
//!   Partial wildcards in principal values → `Invalid principal in policy: "AWS":"<value>"`.
//! - [`explain`] evaluates every statement and every condition (no short-circuit) so that
//!   `matched` and `missing_context_keys` are complete; [`decide`] stops at the first explicit
//!   deny. A key used only under `Null` is also reported as missing when absent.
//! - Substituted variable text is literal (its `*`/`?` are not wildcards).
//! - Short ARNs in `Resource`: identity-side policies pad with `*`; resource policies pad
//!   only when the entry contains a wildcard, otherwise it matches nothing.
//! - Wildcard-only actions (§6.0, [`Resource::Wildcard`]): an entry grants iff it is `*` or an
//!   ARN pattern whose service part matches the action's service and whose region and account
//!   parts are empty or `*` and whose resource part is `*` (so `arn:aws:s3:::*` grants
//!   `s3:ListAllMyBuckets`).
//! - Session-ARN grants in a resource policy escape session policies (#60, AWS docs).
//! - Root of the bucket owner can always Get/Put/DeleteBucketPolicy (#66).
//! - `NotPrincipal` excludes the caller only when every link of its chain is listed; a
//!   resource-policy `Deny` + `NotPrincipal` always applies to a caller with a boundary.
//! - Identity/boundary/session policies are ignored for root, anonymous, service and
//!   web-identity callers. A request with a trust policy needs the trust policy to allow
//!   (identity permission alone never suffices).
//! - Action matching lowercases ASCII only (action names are ASCII).
//! - Condition key lookup lowercases keys (Unicode) on both sides.
//! - `aws:*` context keys are not derived from the caller: the server fills the [`Context`]
//!   (§5), including `aws:username`, `aws:userid`, `aws:PrincipalArn` etc.
//! - `ArnEquals` ≡ `ArnLike` (wildcards honoured). Condition-value ARNs that are not full
//!   6-part ARNs and contain no wildcard match nothing.

#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        reason = "unit tests: a failed expectation panics (non-test code is linted in the \
                  non-test build)"
    )
)]

mod actions;
mod compile;
mod context;
mod eval;
pub mod glob;
pub mod json;
pub mod lint;
mod model;
mod validate;
pub mod values;

use std::fmt;

pub use compile::CompiledPolicy;
pub use context::{Caller, Context, Request, Resource};
pub use eval::{
    decide, explain, reason_text, render_denial, AsPolicy, Decision, DecisionKind, Explanation,
    PolicyKind, PolicySet, PrincipalMatch, Reason, StatementRef,
};
pub use model::{
    parse, parse_bytes, parse_operator_name, size_without_whitespace, ConditionBlock,
    ConditionEntry, Effect, Operator, PolicyDocument, PrincipalElement, PrincipalKey,
    PrincipalSpec, Qualifier, Spanned, Statement, StringList, Version,
};
pub use validate::{validate, validate_document};

/// The resource types the Service Authorization Reference lists for an IAM, STS or S3
/// action (`iam:GetUser` → `["user"]`; empty for a wildcard-only action such as
/// `iam:GetAccountSummary`); `None` for another service's action or one the reference
/// does not list. Generated from the reference (`codegen/gen_service_reference.py`, the
/// same data as crate `iamd-sar`); the services' request → check tables are tested against
/// it.
pub fn sar_resource_types(action: &str) -> Option<&'static [&'static str]> {
    let (service, name) = action.split_once(':')?;
    let (names, types) = match service {
        "iam" => (actions::IAM, actions::IAM_ACTION_RESOURCES),
        "sts" => (actions::STS, actions::STS_ACTION_RESOURCES),
        "s3" => (actions::S3, actions::S3_ACTION_RESOURCES),
        _ => return None,
    };
    let i = names.iter().position(|n| *n == name)?;
    types.get(i).copied().flatten()
}

/// AWS's message for structural errors.
pub const MSG_SYNTAX: &str = "Syntax errors in policy.";

/// Error code IAM uses for invalid policies.
pub const MALFORMED_POLICY_DOCUMENT: &str = "MalformedPolicyDocument";
/// Error code S3 uses for invalid bucket policies.
pub const MALFORMED_POLICY: &str = "MalformedPolicy";

/// A source position: 1-based line and column (columns count Unicode scalar values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Start (first character) and end (just past the last character) of a JSON value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: Pos,
    pub end: Pos,
}

/// The kind of policy document being validated / compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyType {
    /// Inline identity policy (`Put{User,Group,Role}Policy`).
    Inline,
    /// Managed identity policy (`CreatePolicy`, `CreatePolicyVersion`): Version 2012-10-17 only.
    Managed,
    /// Role trust policy (`CreateRole`, `UpdateAssumeRolePolicy`).
    Trust,
    /// Resource policy (S3 bucket policy).
    Resource,
    /// Permissions boundary (a managed policy used as boundary): Version 2012-10-17 only.
    PermissionsBoundary,
    /// Session policy (AssumeRole `Policy`).
    Session,
}

impl PolicyType {
    /// Error code for findings of this type.
    pub fn error_code(self) -> &'static str {
        match self {
            PolicyType::Resource => MALFORMED_POLICY,
            _ => MALFORMED_POLICY_DOCUMENT,
        }
    }
    /// Identity-like policies must not contain `Principal`/`NotPrincipal`.
    pub fn forbids_principal(self) -> bool {
        matches!(
            self,
            PolicyType::Inline
                | PolicyType::Managed
                | PolicyType::PermissionsBoundary
                | PolicyType::Session
        )
    }
    /// Parse a CLI name: `identity`/`inline`, `managed`, `trust`, `resource`/`bucket`,
    /// `boundary`/`permissions-boundary`, `session`.
    pub fn from_name(s: &str) -> Option<PolicyType> {
        Some(match s.to_ascii_lowercase().as_str() {
            "identity" | "inline" => PolicyType::Inline,
            "managed" => PolicyType::Managed,
            "trust" => PolicyType::Trust,
            "resource" | "bucket" => PolicyType::Resource,
            "boundary" | "permissions-boundary" | "permissionsboundary" => {
                PolicyType::PermissionsBoundary
            }
            "session" => PolicyType::Session,
            _ => return None,
        })
    }
}

/// One validation finding. `Display` prints `line:col: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{}: {}", pos.line, pos.column, message)]
pub struct Finding {
    /// AWS error code (`MalformedPolicyDocument`, or `MalformedPolicy` for bucket policies).
    pub code: &'static str,
    /// AWS's exact message.
    pub message: String,
    /// Where (1-based line and column).
    pub pos: Pos,
    /// Extra human detail (e.g. the JSON parser's complaint for syntax errors); not part of
    /// AWS's message.
    pub detail: Option<String>,
}

impl Finding {
    pub(crate) fn new(code: &'static str, message: String, pos: Pos) -> Finding {
        Finding {
            code,
            message,
            pos,
            detail: None,
        }
    }
    pub(crate) fn syntax(pos: Pos, detail: String) -> Finding {
        Finding {
            code: MALFORMED_POLICY_DOCUMENT,
            message: MSG_SYNTAX.to_string(),
            pos,
            detail: Some(detail),
        }
    }
    pub(crate) fn with_code(mut self, code: &'static str) -> Finding {
        self.code = code;
        self
    }
    /// Line (1-based).
    pub fn line(&self) -> u32 {
        self.pos.line
    }
    /// Column (1-based).
    pub fn column(&self) -> u32 {
        self.pos.column
    }
}

#[cfg(test)]
mod sar_tests {
    use super::*;

    #[test]
    fn resource_types_from_the_reference() {
        assert_eq!(sar_resource_types("iam:GetUser"), Some(&["user"][..]));
        assert_eq!(sar_resource_types("iam:GetAccountSummary"), Some(&[][..]));
        assert_eq!(
            sar_resource_types("iam:GetContextKeysForPrincipalPolicy"),
            Some(&["group", "role", "user"][..])
        );
        assert!(sar_resource_types("s3:GetObject").is_some_and(|t| t.contains(&"object")));
        assert_eq!(sar_resource_types("iam:NoSuchAction"), None);
        assert_eq!(sar_resource_types("ec2:RunInstances"), None);
        assert_eq!(sar_resource_types("GetUser"), None);
        for (names, types) in [
            (actions::IAM, actions::IAM_ACTION_RESOURCES),
            (actions::STS, actions::STS_ACTION_RESOURCES),
            (actions::S3, actions::S3_ACTION_RESOURCES),
        ] {
            assert_eq!(names.len(), types.len());
        }
    }
}
