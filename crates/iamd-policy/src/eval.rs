//! Decisions (docs/policy-semantics.md §3, §4): condition evaluation, statement
//! applicability and the §4.3 algorithm.

use std::net::IpAddr;
use std::sync::Arc;

use crate::compile::{
    eq_pieces, eq_pieces_lower, CCondition, CPrincipal, CStatement, CValue, ReqArn,
};
use crate::context::{Caller, Context, Request, Resource};
use crate::glob::match_pieces;
use crate::model::{Effect, Operator, Qualifier};
use crate::values::{base64_for_each, parse_bool, parse_cidr, parse_date, parse_decimal};
use crate::{CompiledPolicy, Span};

/// Anything that can stand for a compiled policy in a [`PolicySet`].
pub trait AsPolicy {
    /// The compiled policy.
    fn policy(&self) -> &CompiledPolicy;
    /// The identifier reported in evidence (defaults to [`CompiledPolicy::id`]).
    fn policy_id(&self) -> &str {
        self.policy().id()
    }
}

impl AsPolicy for CompiledPolicy {
    fn policy(&self) -> &CompiledPolicy {
        self
    }
}
impl<T: AsPolicy + ?Sized> AsPolicy for &T {
    fn policy(&self) -> &CompiledPolicy {
        (**self).policy()
    }
    fn policy_id(&self) -> &str {
        (**self).policy_id()
    }
}
impl<T: AsPolicy + ?Sized> AsPolicy for Arc<T> {
    fn policy(&self) -> &CompiledPolicy {
        (**self).policy()
    }
    fn policy_id(&self) -> &str {
        (**self).policy_id()
    }
}
impl<T: AsPolicy + ?Sized> AsPolicy for Box<T> {
    fn policy(&self) -> &CompiledPolicy {
        (**self).policy()
    }
    fn policy_id(&self) -> &str {
        (**self).policy_id()
    }
}
impl<T: AsPolicy> AsPolicy for (&str, T) {
    fn policy(&self) -> &CompiledPolicy {
        self.1.policy()
    }
    fn policy_id(&self) -> &str {
        self.0
    }
}
impl<T: AsPolicy> AsPolicy for (String, T) {
    fn policy(&self) -> &CompiledPolicy {
        self.1.policy()
    }
    fn policy_id(&self) -> &str {
        &self.0
    }
}

/// The policies that take part in one decision.
#[derive(Debug)]
pub struct PolicySet<'a, P: AsPolicy = Arc<CompiledPolicy>> {
    /// Identity policies (user inline + attached + groups', or role inline + attached).
    pub identity: &'a [P],
    /// Permissions boundary of the user/role.
    pub boundary: Option<&'a P>,
    /// Session policies (AssumeRole `Policy` / `PolicyArns`), empty if none.
    pub session: &'a [P],
    /// Resource policy (bucket policy) of the target resource; its owner is
    /// [`Request::resource_account`].
    pub resource: Option<&'a P>,
    /// Role trust policy (for `sts:AssumeRole*` requests; resource = the role ARN).
    pub trust: Option<&'a P>,
}

impl<P: AsPolicy> PolicySet<'_, P> {
    /// Whether deciding against this set may read the request's context: some policy
    /// of it has a condition or a policy variable ([`CompiledPolicy::reads_context`]).
    /// When none does, [`decide`] gives the same answer for every context, so a caller
    /// may decide before (or without) building one.
    pub fn reads_context(&self) -> bool {
        let reads = |p: &P| p.policy().reads_context();
        self.identity.iter().any(reads)
            || self.session.iter().any(reads)
            || self.boundary.is_some_and(reads)
            || self.resource.is_some_and(reads)
            || self.trust.is_some_and(reads)
    }
}

impl<P: AsPolicy> Clone for PolicySet<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P: AsPolicy> Copy for PolicySet<'_, P> {}

impl<P: AsPolicy> Default for PolicySet<'_, P> {
    fn default() -> Self {
        PolicySet {
            identity: &[],
            boundary: None,
            session: &[],
            resource: None,
            trust: None,
        }
    }
}

/// Where a policy sits in the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PolicyKind {
    Identity,
    PermissionsBoundary,
    Session,
    Resource,
    Trust,
}

/// Decision outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecisionKind {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

impl DecisionKind {
    /// Whether access is granted.
    pub fn is_allowed(self) -> bool {
        self == DecisionKind::Allow
    }
}

/// How a resource/trust-policy principal entry matched the caller (§2.5), weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PrincipalMatch {
    /// The caller's account (`A` or `arn:aws:iam::A:root`).
    Account,
    /// The role of a session, or the IAM user behind a federated session.
    Parent,
    /// The caller itself, `*`, or an applying `NotPrincipal` Allow.
    Direct,
}

/// Why the decision came out as it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// `sts:GetCallerIdentity` is always allowed.
    GetCallerIdentity,
    /// Bucket-owner root managing the bucket policy (lockout recovery, §4.3).
    RootBucketPolicyRecovery,
    /// Account root in its own account.
    AccountRoot,
    /// Granted by a resource or trust policy statement naming the caller at this level.
    ResourcePolicyGrant(PrincipalMatch),
    /// Granted by identity policies (and boundary/session policies where present).
    IdentityGrant,
    /// Explicit deny in a policy of this kind.
    ExplicitDeny(PolicyKind),
    /// No identity-based policy allows the action.
    NoIdentityAllow,
    /// The permissions boundary does not allow the action.
    NoBoundaryAllow,
    /// No session policy allows the action.
    NoSessionAllow,
    /// No resource-based (or trust) policy allows the action (cross-account, anonymous, trust).
    NoResourceAllow,
}

/// A statement reference (evidence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatementRef<'a> {
    pub kind: PolicyKind,
    /// Index of the policy within its list (identity / session); 0 otherwise.
    pub policy_index: usize,
    /// Caller-supplied policy id (name or ARN).
    pub policy_id: &'a str,
    /// Statement index in the document (0-based).
    pub statement_index: usize,
    /// `Sid` ("" if none).
    pub sid: &'a str,
    pub effect: Effect,
    /// Start/end position of the statement object in the source document.
    pub span: Span,
}

/// The decision with the deciding statement (if one decided).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision<'a> {
    pub kind: DecisionKind,
    pub reason: Reason,
    /// The statement that decided: the explicit Deny, or the Allow that granted.
    pub statement: Option<StatementRef<'a>>,
}

/// Full evidence (policy simulator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation<'a> {
    pub decision: Decision<'a>,
    /// Every statement that applied (matched action, resource, principal and conditions), in
    /// evaluation order (identity, boundary, session, resource, trust; statement order).
    pub matched: Vec<StatementRef<'a>>,
    /// Context keys referenced by evaluated conditions/variables but absent from the request
    /// (as written in the policy, deduplicated case-insensitively).
    pub missing_context_keys: Vec<String>,
}

// ------------------------------------------------------------------------------------------
// observers: the decide path uses a no-op observer, explain collects

pub(crate) trait Observer<'a> {
    const FULL: bool;
    fn matched(&mut self, r: StatementRef<'a>);
    fn missing(&mut self, key: &str);
}

struct Quick;
impl<'a> Observer<'a> for Quick {
    const FULL: bool = false;
    #[inline]
    fn matched(&mut self, _: StatementRef<'a>) {}
    #[inline]
    fn missing(&mut self, _: &str) {}
}

#[derive(Default)]
struct Collect<'a> {
    matched: Vec<StatementRef<'a>>,
    missing: Vec<String>,
}
impl<'a> Observer<'a> for Collect<'a> {
    const FULL: bool = true;
    fn matched(&mut self, r: StatementRef<'a>) {
        self.matched.push(r);
    }
    fn missing(&mut self, key: &str) {
        if !self.missing.iter().any(|k| k.eq_ignore_ascii_case(key)) {
            self.missing.push(key.to_string());
        }
    }
}

// ------------------------------------------------------------------------------------------
// conditions

fn pos_one<'v>(
    op: Operator,
    pv: &'v CValue,
    v: &str,
    ctx: &'v Context,
    obs_missing: &mut dyn FnMut(&str),
) -> bool {
    use Operator::*;
    let mut resolve = |name: &str| -> Option<&'v str> {
        let r = ctx.single_lc(name);
        if r.is_none() {
            obs_missing(name);
        }
        r
    };
    match (op, pv) {
        (StringEquals | StringNotEquals, CValue::Str(p)) => match p.as_literal() {
            Some(l) => l == v,
            None => p
                .resolve_then(&mut resolve, |pc| eq_pieces(pc, v))
                .unwrap_or(false),
        },
        (StringEqualsIgnoreCase | StringNotEqualsIgnoreCase, CValue::Str(p)) => p
            .resolve_then(&mut resolve, |pc| eq_pieces_lower(pc, v))
            .unwrap_or(false),
        (StringLike | StringNotLike, CValue::Str(p)) => p.is_match(v, false, &mut resolve),
        (_, CValue::Num(n)) => {
            let (Some(a), Some(b)) = (parse_decimal(v), parse_decimal(n)) else {
                return false;
            };
            let o = a.compare(&b);
            match op {
                NumericEquals | NumericNotEquals => o.is_eq(),
                NumericLessThan => o.is_lt(),
                NumericLessThanEquals => o.is_le(),
                NumericGreaterThan => o.is_gt(),
                NumericGreaterThanEquals => o.is_ge(),
                _ => false,
            }
        }
        (_, CValue::Date(d)) => {
            let (Some(a), Some(b)) = (parse_date(v), *d) else {
                return false;
            };
            let o = a.cmp(&b);
            match op {
                DateEquals | DateNotEquals => o.is_eq(),
                DateLessThan => o.is_lt(),
                DateLessThanEquals => o.is_le(),
                DateGreaterThan => o.is_gt(),
                DateGreaterThanEquals => o.is_ge(),
                _ => false,
            }
        }
        (Bool, CValue::Bool(b)) => matches!((parse_bool(v), b), (Some(x), Some(y)) if x == *y),
        (Bool, CValue::BoolVar(p)) => {
            let want = p
                .resolve_then(&mut resolve, |pc| {
                    if eq_pieces_lower(pc, "true") {
                        Some(true)
                    } else if eq_pieces_lower(pc, "false") {
                        Some(false)
                    } else {
                        None
                    }
                })
                .flatten();
            matches!((parse_bool(v), want), (Some(x), Some(y)) if x == y)
        }
        (BinaryEquals, CValue::Binary(Some(bytes))) => {
            let mut i = 0usize;
            let ok = base64_for_each(v, |b| {
                let same = bytes.get(i) == Some(&b);
                i += 1;
                same
            });
            ok.is_some() && i == bytes.len()
        }
        (IpAddress | NotIpAddress, CValue::Ip(Some(c))) => match v.parse::<IpAddr>() {
            Ok(ip) => c.contains(ip),
            Err(_) => false,
        },
        (ArnEquals | ArnLike | ArnNotEquals | ArnNotLike, CValue::Arn(a)) => {
            a.matches(v, &mut resolve)
        }
        _ => false,
    }
}

#[inline(never)] // off the statement loop's frame: most statements have no condition
fn eval_condition<'a, O: Observer<'a>>(c: &'a CCondition, ctx: &'a Context, obs: &mut O) -> bool {
    let rv = ctx.get_lc(&c.key_lc);
    if c.op == Operator::Null {
        let absent = rv.is_none();
        if absent && O::FULL {
            // Null does not "need" the key, but the simulator reports it as not provided
            obs.missing(&c.key);
        }
        return c
            .values
            .iter()
            .any(|v| matches!(v, CValue::Null(Some(want)) if *want == absent));
    }
    let Some(rv) = rv else {
        if O::FULL {
            obs.missing(&c.key);
        }
        if c.if_exists {
            return true;
        }
        return match c.qualifier {
            Some(Qualifier::ForAllValues) => true,
            Some(Qualifier::ForAnyValue) => false,
            None => c.op.negated(),
        };
    };
    let negated = c.op.negated();
    let mut miss = |k: &str| {
        if O::FULL {
            obs.missing(k);
        }
    };
    let mut one = |v: &str| -> bool {
        let any = c
            .values
            .iter()
            .any(|pv| pos_one(c.op, pv, v, ctx, &mut miss));
        if negated {
            !any
        } else {
            any
        }
    };
    match c.qualifier {
        None => match rv {
            [v] => one(v),
            _ => false, // single-value operator on a multivalued key (§3.3, iamd's choice)
        },
        Some(Qualifier::ForAnyValue) => rv.iter().any(|v| one(v)),
        Some(Qualifier::ForAllValues) => rv.iter().all(|v| one(v)),
    }
}

// ------------------------------------------------------------------------------------------
// principals (§2.5)

fn account_of_root_arn(entry: &str) -> Option<&str> {
    // arn:<partition>:iam::<account>:root
    let rest = entry.strip_prefix("arn:")?;
    let (_partition, rest) = rest.split_once(':')?;
    let rest = rest.strip_prefix("iam::")?;
    let acct = rest.strip_suffix(":root")?;
    Some(acct)
}

fn is_account_entry(entry: &str, account: &str) -> bool {
    entry == account || account_of_root_arn(entry) == Some(account)
}

fn aws_entry_kind(entry: &str, caller: &Caller<'_>) -> Option<PrincipalMatch> {
    if entry == "*" {
        return Some(PrincipalMatch::Direct);
    }
    match *caller {
        Caller::Root { account } => {
            is_account_entry(entry, account).then_some(PrincipalMatch::Account)
        }
        Caller::User { arn, id, account } => {
            if entry == arn || (!id.is_empty() && entry == id) {
                Some(PrincipalMatch::Direct)
            } else if is_account_entry(entry, account) {
                Some(PrincipalMatch::Account)
            } else {
                None
            }
        }
        Caller::RoleSession {
            session_arn,
            role_arn,
            role_id,
            account,
        } => {
            if entry == session_arn {
                Some(PrincipalMatch::Direct)
            } else if entry == role_arn || (!role_id.is_empty() && entry == role_id) {
                Some(PrincipalMatch::Parent)
            } else if is_account_entry(entry, account) {
                Some(PrincipalMatch::Account)
            } else {
                None
            }
        }
        Caller::FederatedUser {
            arn,
            user_arn,
            account,
        } => {
            if entry == arn {
                Some(PrincipalMatch::Direct)
            } else if entry == user_arn {
                Some(PrincipalMatch::Parent)
            } else if is_account_entry(entry, account) {
                Some(PrincipalMatch::Account)
            } else {
                None
            }
        }
        Caller::Anonymous | Caller::Service { .. } | Caller::WebIdentity { .. } => None,
    }
}

/// `Principal`: best match kind.
#[inline(never)]
fn principal_match(p: &CPrincipal, caller: &Caller<'_>) -> Option<PrincipalMatch> {
    if p.any {
        return Some(PrincipalMatch::Direct);
    }
    let mut best = None;
    for e in p.aws.iter() {
        let k = aws_entry_kind(e, caller);
        if k > best {
            best = k;
        }
    }
    match *caller {
        Caller::Service { name } if p.service.iter().any(|e| &**e == "*" || &**e == name) => {
            best = Some(PrincipalMatch::Direct);
        }
        Caller::WebIdentity { provider }
            if p.federated.iter().any(|e| &**e == "*" || &**e == provider) =>
        {
            best = Some(PrincipalMatch::Direct);
        }
        _ => {}
    }
    best
}

/// `NotPrincipal`: is the caller excluded (every link of its chain listed)?
#[inline(never)]
fn not_principal_excludes(p: &CPrincipal, caller: &Caller<'_>) -> bool {
    if p.any || p.aws.iter().any(|e| &**e == "*") {
        return true;
    }
    let listed = |f: &dyn Fn(&str) -> bool| p.aws.iter().any(|e| f(e));
    match *caller {
        Caller::Anonymous => false,
        Caller::Root { account } => listed(&|e| is_account_entry(e, account)),
        Caller::User { arn, id, account } => {
            listed(&|e| e == arn || (!id.is_empty() && e == id))
                && listed(&|e| is_account_entry(e, account))
        }
        Caller::RoleSession {
            session_arn,
            role_arn,
            role_id,
            account,
        } => {
            listed(&|e| e == session_arn)
                && listed(&|e| e == role_arn || (!role_id.is_empty() && e == role_id))
                && listed(&|e| is_account_entry(e, account))
        }
        Caller::FederatedUser {
            arn,
            user_arn,
            account,
        } => {
            listed(&|e| e == arn)
                && listed(&|e| e == user_arn)
                && listed(&|e| is_account_entry(e, account))
        }
        Caller::Service { name } => p.service.iter().any(|e| &**e == name),
        Caller::WebIdentity { provider } => p.federated.iter().any(|e| &**e == provider),
    }
}

// ------------------------------------------------------------------------------------------
// statements and policies

/// ASCII-lowercase `s` into `buf` (no allocation; other bytes unchanged, so the result is the
/// UTF-8 of the ASCII-lowercased string); `None` if it does not fit.
#[inline]
fn lower_into<'b>(buf: &'b mut [u8; 128], s: &str) -> Option<&'b [u8]> {
    let src = s.as_bytes();
    let dst = buf.get_mut(..src.len())?;
    for (d, c) in dst.iter_mut().zip(src) {
        *d = c.to_ascii_lowercase();
    }
    Some(dst)
}

struct Env<'r> {
    req: &'r Request<'r>,
    /// The action, ASCII-lowercased when it fit the stack buffer (then `action_ci` is false).
    action: &'r [u8],
    action_ci: bool,
    /// The service prefix of `action` and the first byte of the action name (lowercased).
    service: &'r [u8],
    first: Option<u8>,
    has_boundary: bool,
    /// `None` for wildcard-only actions.
    arn: Option<ReqArn<'r>>,
}

#[inline]
fn action_matches(s: &CStatement, action: &[u8], ci: bool) -> bool {
    let any = s.actions.iter().any(|p| p.matches_bytes(action, ci));
    any != s.not_action
}

#[inline]
fn resource_matches<'a, O: Observer<'a>>(
    s: &'a CStatement,
    env: &Env<'_>,
    ctx: &'a Context,
    obs: &mut O,
) -> bool {
    let Some(rs) = &s.resources else {
        return true; // trust policy
    };
    let any = match &env.arn {
        Some(arn) => rs.iter().any(|r| {
            r.matches_req(arn, &mut |name| {
                let v = ctx.single_lc(name);
                if v.is_none() && O::FULL {
                    obs.missing(name);
                }
                v
            })
        }),
        None => rs.iter().any(|r| r.matches_wildcard(env.service)),
    };
    any != s.not_resource
}

/// Statement applicability; for resource/trust policies returns the principal match kind.
#[inline]
fn applies<'a, O: Observer<'a>>(
    s: &'a CStatement,
    kind: PolicyKind,
    env: &Env<'_>,
    ctx: &'a Context,
    obs: &mut O,
) -> Option<PrincipalMatch> {
    if let (Some(f), Some(arn)) = (&s.res_filter, &env.arn) {
        if !arn.admits(f) {
            return None;
        }
    }
    if !action_matches(s, env.action, env.action_ci) {
        return None;
    }
    if !resource_matches(s, env, ctx, obs) {
        return None;
    }
    let pm = match kind {
        PolicyKind::Resource | PolicyKind::Trust => {
            let p = s.principal.as_ref()?;
            if p.not {
                let forced =
                    s.effect == Effect::Deny && env.has_boundary && kind == PolicyKind::Resource;
                if !forced && not_principal_excludes(p, &env.req.caller) {
                    return None;
                }
                PrincipalMatch::Direct
            } else {
                principal_match(p, &env.req.caller)?
            }
        }
        _ => PrincipalMatch::Direct,
    };
    let ok = if O::FULL {
        // evaluate every condition (no short-circuit) so all missing keys are reported
        let mut all = true;
        for c in s.conditions.iter() {
            all &= eval_condition(c, ctx, obs);
        }
        all
    } else {
        s.conditions.iter().all(|c| eval_condition(c, ctx, obs))
    };
    ok.then_some(pm)
}

/// A matched statement on the hot path (small and `Copy`); turned into a [`StatementRef`]
/// only for the decision's result and the simulator's evidence.
#[derive(Clone, Copy)]
struct Hit<'a> {
    s: &'a CStatement,
    id: &'a str,
    kind: PolicyKind,
    policy_index: usize,
}

impl<'a> Hit<'a> {
    fn to_ref(self) -> StatementRef<'a> {
        StatementRef {
            kind: self.kind,
            policy_index: self.policy_index,
            policy_id: self.id,
            statement_index: self.s.index,
            sid: &self.s.sid,
            effect: self.s.effect,
            span: self.s.span,
        }
    }
}

#[derive(Clone, Copy, Default)]
struct Outcome<'a> {
    deny: Option<Hit<'a>>,
    allow: Option<(PrincipalMatch, Hit<'a>)>,
}

impl<'a> Outcome<'a> {
    fn merge(&mut self, o: Outcome<'a>) {
        if self.deny.is_none() {
            self.deny = o.deny;
        }
        if let Some((k, r)) = o.allow {
            if self.allow.is_none_or(|(bk, _)| k > bk) {
                self.allow = Some((k, r));
            }
        }
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "hot path: the per-decision state is passed as plain references, no bundling struct"
)]
fn eval_policy_into<'a, O: Observer<'a>>(
    p: &'a CompiledPolicy,
    id: &'a str,
    kind: PolicyKind,
    policy_index: usize,
    env: &Env<'_>,
    ctx: &'a Context,
    obs: &mut O,
    out: &mut Outcome<'a>,
) {
    for &i in p.candidates(env.service, env.first, env.action_ci) {
        let Some(s) = usize::try_from(i).ok().and_then(|i| p.statements.get(i)) else {
            continue;
        };
        if let Some(pm) = applies(s, kind, env, ctx, obs) {
            let r = Hit {
                s,
                id,
                kind,
                policy_index,
            };
            if O::FULL {
                obs.matched(r.to_ref());
            }
            match s.effect {
                Effect::Deny => {
                    if out.deny.is_none() {
                        out.deny = Some(r);
                    }
                    if !O::FULL {
                        return;
                    }
                }
                Effect::Allow => {
                    if out.allow.is_none_or(|(bk, _)| pm > bk) {
                        out.allow = Some((pm, r));
                    }
                }
            }
        }
    }
}

#[inline]
fn eval_policy<'a, O: Observer<'a>>(
    p: &'a CompiledPolicy,
    id: &'a str,
    kind: PolicyKind,
    policy_index: usize,
    env: &Env<'_>,
    ctx: &'a Context,
    obs: &mut O,
) -> Outcome<'a> {
    let mut out = Outcome::default();
    eval_policy_into(p, id, kind, policy_index, env, ctx, obs, &mut out);
    out
}

#[inline(always)]
fn eval_list<'a, P: AsPolicy, O: Observer<'a>>(
    list: &'a [P],
    kind: PolicyKind,
    env: &Env<'_>,
    ctx: &'a Context,
    obs: &mut O,
) -> Outcome<'a> {
    let mut out = Outcome::default();
    // a principal's policies are mostly about other services: skip those without a call
    let hash = if list.len() > 1 {
        crate::compile::service_hash(env.service)
    } else {
        0
    };
    for (i, p) in list.iter().enumerate() {
        let policy = p.policy();
        if hash != 0 && policy.cannot_name(hash) {
            continue;
        }
        eval_policy_into(policy, p.policy_id(), kind, i, env, ctx, obs, &mut out);
        if out.deny.is_some() && !O::FULL {
            return out;
        }
    }
    out
}

const BUCKET_POLICY_ACTIONS: [&str; 3] = [
    "s3:GetBucketPolicy",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
];

fn run<'a, P: AsPolicy, O: Observer<'a>>(
    req: &'a Request<'a>,
    set: &PolicySet<'a, P>,
    obs: &mut O,
) -> Decision<'a> {
    let allow = |reason, statement| Decision {
        kind: DecisionKind::Allow,
        reason,
        statement,
    };
    let implicit = |reason| Decision {
        kind: DecisionKind::ImplicitDeny,
        reason,
        statement: None,
    };
    if req.action.eq_ignore_ascii_case("sts:GetCallerIdentity") {
        return allow(Reason::GetCallerIdentity, None);
    }
    let caller_account = req.caller.account();
    let same_account = match (caller_account, req.resource_account) {
        (Some(c), Some(r)) => crate::glob::eq_bytes(c.as_bytes(), r.as_bytes()),
        (Some(_), None) => true,
        (None, _) => false,
    };
    let is_root = matches!(req.caller, Caller::Root { .. });
    if is_root
        && same_account
        && BUCKET_POLICY_ACTIONS
            .iter()
            .any(|a| a.eq_ignore_ascii_case(req.action))
    {
        return allow(Reason::RootBucketPolicyRecovery, None);
    }
    let ctx = req.context;
    let mut buf = [0u8; 128];
    let (action, action_ci) = match lower_into(&mut buf, req.action) {
        Some(a) => (a, false),
        None => (req.action.as_bytes(), true),
    };
    let (service, name) = match action.iter().position(|&b| b == b':') {
        Some(i) => (
            action.get(..i).unwrap_or(action),
            action.get(i + 1..).unwrap_or(&[]),
        ),
        None => (action, &[][..]),
    };
    let env = Env {
        req,
        action,
        action_ci,
        service,
        first: name.first().map(u8::to_ascii_lowercase),
        has_boundary: set.boundary.is_some(),
        arn: match req.resource {
            Resource::Arn(a) => Some(ReqArn::new(a)),
            Resource::Wildcard => None,
        },
    };
    // identity-side policies exist only for IAM identities (not root / anonymous / services)
    let has_identity = matches!(
        req.caller,
        Caller::User { .. } | Caller::RoleSession { .. } | Caller::FederatedUser { .. }
    );
    let explicit = |r: Hit<'a>| Decision {
        kind: DecisionKind::ExplicitDeny,
        reason: Reason::ExplicitDeny(r.kind),
        statement: Some(r.to_ref()),
    };
    // The common case — an IAM identity in its own account with identity policies only —
    // decided without the bookkeeping of the other policy kinds (same result as below).
    if has_identity
        && same_account
        && set.boundary.is_none()
        && set.session.is_empty()
        && set.resource.is_none()
        && set.trust.is_none()
    {
        let o = eval_list(set.identity, PolicyKind::Identity, &env, ctx, obs);
        return match (o.deny, o.allow) {
            (Some(d), _) => explicit(d),
            (None, Some((_, r))) => allow(Reason::IdentityGrant, Some(r.to_ref())),
            (None, None) => implicit(Reason::NoIdentityAllow),
        };
    }
    let mut first_deny: Option<Hit<'a>> = None;
    let note = |o: &Outcome<'a>, first_deny: &mut Option<Hit<'a>>| {
        if first_deny.is_none() {
            *first_deny = o.deny;
        }
    };
    let (id_o, pb_o, sp_o) = if has_identity {
        let id_o = eval_list(set.identity, PolicyKind::Identity, &env, ctx, obs);
        note(&id_o, &mut first_deny);
        if let (Some(d), false) = (first_deny, O::FULL) {
            return explicit(d);
        }
        let pb_o = set.boundary.map(|b| {
            eval_policy(
                b.policy(),
                b.policy_id(),
                PolicyKind::PermissionsBoundary,
                0,
                &env,
                ctx,
                obs,
            )
        });
        if let Some(o) = &pb_o {
            note(o, &mut first_deny);
        }
        if let (Some(d), false) = (first_deny, O::FULL) {
            return explicit(d);
        }
        let sp_o = if set.session.is_empty() {
            None
        } else {
            Some(eval_list(set.session, PolicyKind::Session, &env, ctx, obs))
        };
        if let Some(o) = &sp_o {
            note(o, &mut first_deny);
        }
        if let (Some(d), false) = (first_deny, O::FULL) {
            return explicit(d);
        }
        (id_o, pb_o, sp_o)
    } else {
        (Outcome::default(), None, None)
    };
    let mut rp = Outcome::default();
    if let Some(r) = set.resource {
        let o = eval_policy(
            r.policy(),
            r.policy_id(),
            PolicyKind::Resource,
            0,
            &env,
            ctx,
            obs,
        );
        note(&o, &mut first_deny);
        rp.merge(o);
    }
    if let Some(t) = set.trust {
        let o = eval_policy(
            t.policy(),
            t.policy_id(),
            PolicyKind::Trust,
            0,
            &env,
            ctx,
            obs,
        );
        note(&o, &mut first_deny);
        rp.merge(o);
    }
    if let Some(d) = first_deny {
        return explicit(d);
    }
    let trust_required = set.trust.is_some();
    let rp_kind = rp.allow.map(|(k, _)| k);
    let rp_ref = rp.allow.map(|(_, r)| r.to_ref());
    let rp_grant = |k| allow(Reason::ResourcePolicyGrant(k), rp_ref);
    match req.caller {
        Caller::Anonymous | Caller::Service { .. } | Caller::WebIdentity { .. } => {
            return match rp_kind {
                Some(PrincipalMatch::Direct) => rp_grant(PrincipalMatch::Direct),
                _ => implicit(Reason::NoResourceAllow),
            };
        }
        Caller::Root { .. } => {
            if same_account && !trust_required {
                return allow(Reason::AccountRoot, None);
            }
            return match rp_kind {
                Some(k @ (PrincipalMatch::Direct | PrincipalMatch::Account)) => rp_grant(k),
                _ => implicit(Reason::NoResourceAllow),
            };
        }
        _ => {}
    }
    let id_ok = id_o.allow.is_some();
    let pb_ok = pb_o.as_ref().is_none_or(|o| o.allow.is_some());
    let sp_ok = sp_o.as_ref().is_none_or(|o| o.allow.is_some());
    let identity_side = || {
        if !id_ok {
            Reason::NoIdentityAllow
        } else if !pb_ok {
            Reason::NoBoundaryAllow
        } else {
            Reason::NoSessionAllow
        }
    };
    let identity_grant = || allow(Reason::IdentityGrant, id_o.allow.map(|(_, r)| r.to_ref()));
    if same_account {
        match rp_kind {
            Some(PrincipalMatch::Direct) => return rp_grant(PrincipalMatch::Direct),
            Some(PrincipalMatch::Parent) if pb_ok && sp_ok => {
                return rp_grant(PrincipalMatch::Parent)
            }
            _ => {}
        }
        if trust_required {
            if rp_kind.is_none() {
                return implicit(Reason::NoResourceAllow);
            }
            if id_ok && pb_ok && sp_ok {
                return rp_grant(PrincipalMatch::Account);
            }
            return implicit(identity_side());
        }
        if id_ok && pb_ok && sp_ok {
            return identity_grant();
        }
        implicit(identity_side())
    } else {
        if rp_kind.is_none() {
            return implicit(Reason::NoResourceAllow);
        }
        if id_ok && pb_ok && sp_ok {
            return identity_grant();
        }
        implicit(identity_side())
    }
}

/// Decide a request (hot path: no allocation, no JSON work). Returns the outcome and the
/// deciding statement.
pub fn decide<'a, P: AsPolicy>(req: &'a Request<'a>, set: &PolicySet<'a, P>) -> Decision<'a> {
    run(req, set, &mut Quick)
}

/// Decide and collect all evidence (matched statements, missing context keys). Same matching
/// code as [`decide`]; always returns the same [`Decision`].
pub fn explain<'a, P: AsPolicy>(req: &'a Request<'a>, set: &PolicySet<'a, P>) -> Explanation<'a> {
    let mut c = Collect::default();
    let decision = run(req, set, &mut c);
    Explanation {
        decision,
        matched: c.matched,
        missing_context_keys: c.missing,
    }
}

/// Render AWS's authorization message, e.g.
/// `User: arn:aws:iam::123456789012:user/melvins is not authorized to perform: s3:PutObject on
/// resource: arn:aws:s3:::other/x because no identity-based policy allows the s3:PutObject
/// action`. For an `Allow` decision the text ends after the resource.
pub fn render_denial(principal: &str, action: &str, resource: &str, d: &Decision<'_>) -> String {
    let mut s =
        format!("User: {principal} is not authorized to perform: {action} on resource: {resource}");
    let suffix = match d.reason {
        Reason::ExplicitDeny(k) => Some(format!(
            "with an explicit deny in {}",
            match k {
                PolicyKind::Identity => "an identity-based policy",
                PolicyKind::PermissionsBoundary => "a permissions boundary",
                PolicyKind::Session => "a session policy",
                PolicyKind::Resource | PolicyKind::Trust => "a resource-based policy",
            }
        )),
        Reason::NoIdentityAllow => Some(format!(
            "because no identity-based policy allows the {action} action"
        )),
        Reason::NoBoundaryAllow => Some(format!(
            "because no permissions boundary allows the {action} action"
        )),
        Reason::NoSessionAllow => Some(format!(
            "because no session policy allows the {action} action"
        )),
        Reason::NoResourceAllow => Some(format!(
            "because no resource-based policy allows the {action} action"
        )),
        _ => None,
    };
    if let Some(x) = suffix {
        s.push(' ');
        s.push_str(&x);
    }
    s
}

/// Render the reason part only (`with an explicit deny in ...` / `because no ... allows ...`),
/// empty for Allow decisions.
pub fn reason_text(action: &str, d: &Decision<'_>) -> String {
    let full = render_denial("", action, "", d);
    match full.split_once(" on resource: ") {
        Some((_, rest)) => rest.trim_start().to_string(),
        None => String::new(),
    }
}

#[allow(dead_code, reason = "a compile-time assertion, never called")]
fn _assert_send_sync() {
    fn f<T: Send + Sync>() {}
    f::<CompiledPolicy>();
    let _ = parse_cidr;
    let _ = match_pieces;
}

#[cfg(test)]
mod tests {
    #[test]
    fn lower_into_is_ascii_lowercase() {
        let mut buf = [0u8; 128];
        let all: String = (0u8..128).map(char::from).chain("éÀß".chars()).collect();
        for start in 0..all.len() {
            let Some(t) = all.get(start..) else { continue };
            if t.len() > 128 {
                continue;
            }
            let got = super::lower_into(&mut buf, t).map(<[u8]>::to_vec);
            assert_eq!(got, Some(t.to_ascii_lowercase().into_bytes()), "{t:?}");
        }
        assert!(super::lower_into(&mut buf, &"x".repeat(129)).is_none());
    }
}
