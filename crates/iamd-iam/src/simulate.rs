//! The policy simulator: SimulateCustomPolicy, SimulatePrincipalPolicy and
//! GetContextKeysFor{Custom,Principal}Policy.
//!
//! One engine: every simulated decision goes through [`Iam::evaluate_check`], the very
//! function IAM enforcement ([`Iam::authorize`]) uses, with the same policy gathering
//! ([`Iam::identity_policies`]) and the same principal context keys
//! ([`Iam::add_principal_keys`]); S3 enforcement hands the engine the same policy set
//! (identity policies + the bucket policy, resource account = the bucket owner). The
//! simulator adds only what the request supplies: extra policies, a boundary, a resource
//! policy and context entries. `tests/e2e/test_simulator.py` checks simulator ⇔ real
//! request for corpora of IAM and S3 cases.
//!
//! Response shape, as AWS returns it (API reference `EvaluationResult` /
//! `ResourceSpecificResult`, and captured AWS responses):
//! - `SourcePolicyType` is `IAM Policy` for every identity-based policy (the principal's
//!   inline policies, its groups', `PolicyInputList.N`, the boundary) and
//!   `Resource Policy` for `ResourcePolicy` (`SourcePolicyId` `ResourcePolicy`). The
//!   model's enum (`user`, `group`, `role`, `aws-managed`, `user-managed`, `resource`,
//!   `none`) is not what AWS puts on the wire.
//! - Resource `*`: `MissingContextValues` on the result; neither `EvalDecisionDetails`
//!   nor `ResourceSpecificResults`.
//! - A resource ARN: one `ResourceSpecificResults` entry for it carrying the matched
//!   statements and the missing context values (omitted when none; the result's own
//!   list is then empty). `EvalDecisionDetails` is present but empty within one account;
//!   when the resource's owner (`ResourceOwner`, else the caller's account) is another
//!   account it holds each side's decision, `IAM Policy` (identity policies and boundary,
//!   evaluated in the caller's account) and `Resource Policy` (the resource policy),
//!   on the result and on the resource-specific result. AWS documents the keys only as
//!   "policy type"; these are its `SourcePolicyType` names.
//! - `OrganizationsDecisionDetail` only applies to accounts in an organization; iamd's
//!   account is in none, so it is never returned.
//! - `PermissionsBoundaryDecisionDetail` whenever a boundary is simulated.
//!
//! `ResourceHandlingOption`: AWS defines scenarios only for EC2 (`EC2-VPC-InstanceStore`,
//! `EC2-VPC-InstanceStore-Subnet`, `EC2-VPC-EBS`, `EC2-VPC-EBS-Subnet`; earlier also
//! `EC2-Classic-InstanceStore` and `EC2-Classic-EBS`), which make the simulator require
//! the scenario's resources (instance, image, security group, …) for `ec2:RunInstances`;
//! "if your simulation does not match one of the following scenarios, then you can omit
//! this parameter". The model types it as a free string of 1–64 characters (no enum), and
//! AWS documents no rejection of other values. iamd serves IAM, STS and S3, none of
//! whose actions has a scenario, so it accepts any value the decoder admits (length
//! 1–64, else AWS's `ValidationError`) and simulates every action on every resource
//! individually, as AWS does for a simulation that matches no scenario.
//!
//! Roles, beyond AWS: a role `PolicySourceArn` is simulated as a session of it (caller
//! `arn:aws:sts::ACCT:assumed-role/ROLE/SimulatedSession`; the role's policies and
//! boundary; `aws:PrincipalArn` = the role ARN, `aws:PrincipalType` `AssumedRole`, the
//! role's tags as `aws:PrincipalTag/*`). `sts:AssumeRole` (and `sts:TagSession`,
//! `sts:SetSourceIdentity`) on a role ARN is decided with the role's trust policy as
//! AssumeRole decides it (`ops/sts.rs`), the role's account owning the resource; AWS's
//! simulator ignores trust policies (aws/aws-cli#10314). The trust statement shows as
//! `SourcePolicyId` `AssumeRolePolicy`, `SourcePolicyType` `Resource Policy`.
//!
//! Errors AWS documents or returns: a `ResourcePolicy` needs a user as the caller
//! (`CallerArn`, or a user `PolicySourceArn`), else `InvalidInput` "Invalid caller -
//! Caller must be an IAM user in this context."; an unusable `ResourceOwner` is
//! `InvalidInput` "'VALUE' is not a valid as a Resource Owner.".

use std::collections::BTreeMap;
use std::sync::Arc;

use iamd_api::iam::{self as api};
use iamd_policy::{
    decide, explain, Caller, CompiledPolicy, Context, DecisionKind, Explanation, PolicyKind,
    PolicySet, PolicyType,
};
use iamd_store::Store;

use crate::core::Iam;
use crate::error::IamError;
use crate::ops::Output;
use crate::principal::{Check, Principal};

/// `SourcePolicyType` of identity-based policies, and the `EvalDecisionDetails` key of
/// the identity side.
const IAM_POLICY: &str = "IAM Policy";
/// `SourcePolicyType` of `ResourcePolicy`, and the resource side's detail key.
const RESOURCE_POLICY: &str = "Resource Policy";

/// The simulator's `SourcePolicyType` for a statement of this kind of policy.
pub fn source_policy_type(kind: PolicyKind) -> &'static str {
    match kind {
        PolicyKind::Resource | PolicyKind::Trust => RESOURCE_POLICY,
        PolicyKind::Identity | PolicyKind::PermissionsBoundary | PolicyKind::Session => IAM_POLICY,
    }
}

/// Who the simulation calls as.
struct SimCaller {
    arn: String,
    id: String,
    account: String,
    /// An IAM user (a resource policy's `Principal` can only be matched against one).
    user: bool,
    /// For a role `PolicySourceArn`: the ARN of the simulated session of the role
    /// (`arn` and `id` are then the role's), which is the caller.
    session: Option<String>,
}

impl SimCaller {
    /// `CallerArn`: it must be the ARN of an IAM user (of any account); `id` gives the
    /// user's unique id, empty for a user iamd does not know.
    fn user(arn: &str, id: impl FnOnce() -> String) -> Result<SimCaller, IamError> {
        let acct = arn_account(arn).unwrap_or_default();
        if !arn.starts_with("arn:aws:iam::") || !arn.contains(":user/") || acct.is_empty() {
            return Err(IamError::InvalidInput(format!(
                "Invalid CallerArn {arn}: it must be the ARN of an IAM user."
            )));
        }
        Ok(SimCaller {
            arn: arn.to_string(),
            id: id(),
            account: acct.to_string(),
            user: true,
            session: None,
        })
    }

    /// The engine's view of the caller: an IAM user, or a session of a role.
    fn engine(&self) -> Caller<'_> {
        match &self.session {
            Some(session_arn) => Caller::RoleSession {
                session_arn,
                role_arn: &self.arn,
                role_id: &self.id,
                account: &self.account,
            },
            None => Caller::User {
                arn: &self.arn,
                id: &self.id,
                account: &self.account,
            },
        }
    }
}

/// The policies a simulation request supplies, compiled.
struct SimPolicies {
    /// `PolicyInputList`, evaluated after the principal's own policies.
    inputs: Vec<Arc<CompiledPolicy>>,
    boundary: Option<Arc<CompiledPolicy>>,
    resource: Option<Arc<CompiledPolicy>>,
}

impl SimPolicies {
    /// Compiles the documents under the ids SimulateCustomPolicy gives them
    /// (`PolicyInputList.N`, `PermissionsBoundaryPolicyInputList.1`, `ResourcePolicy`).
    fn compile(
        inputs: &[String],
        boundaries: &[String],
        resource_policy: Option<&str>,
    ) -> Result<SimPolicies, IamError> {
        let mut compiled = Vec::new();
        compile_inputs(&mut compiled, inputs)?;
        if boundaries.len() > 1 {
            return Err(IamError::InvalidInput(
                "Only one permissions boundary can be simulated at a time.".into(),
            ));
        }
        let boundary = match boundaries.first() {
            Some(doc) => Some(compile(
                doc,
                PolicyType::Inline,
                "PermissionsBoundaryPolicyInputList.1",
            )?),
            None => None,
        };
        let resource = match resource_policy {
            Some(doc) => Some(compile(doc, PolicyType::Resource, "ResourcePolicy")?),
            None => None,
        };
        Ok(SimPolicies {
            inputs: compiled,
            boundary,
            resource,
        })
    }
}

/// Everything one simulation evaluates with.
struct Sim {
    identity: Vec<Arc<CompiledPolicy>>,
    boundary: Option<Arc<CompiledPolicy>>,
    resource: Option<Arc<CompiledPolicy>>,
    caller: SimCaller,
    resource_account: String,
    base: Context,
}

impl Sim {
    /// The principal's `identity` policies followed by the request's, under AWS's rules
    /// for the caller (a resource policy needs an IAM user) and the `ResourceOwner` (an
    /// ARN naming the resource's account; default the caller's).
    fn new(
        mut identity: Vec<Arc<CompiledPolicy>>,
        policies: SimPolicies,
        caller: SimCaller,
        resource_owner: Option<&str>,
        base: Context,
    ) -> Result<Sim, IamError> {
        identity.extend(policies.inputs);
        // A resource policy's Principal element is matched against the caller, which
        // AWS requires to be an IAM user.
        if policies.resource.is_some() && !caller.user {
            return Err(IamError::InvalidInput(
                "Invalid caller - Caller must be an IAM user in this context.".into(),
            ));
        }
        let resource_account = match resource_owner {
            Some(o) => arn_account(o)
                .filter(|a| !a.is_empty())
                .ok_or_else(|| {
                    IamError::InvalidInput(format!("'{o}' is not a valid as a Resource Owner."))
                })?
                .to_string(),
            None => caller.account.clone(),
        };
        Ok(Sim {
            identity,
            boundary: policies.boundary,
            resource: policies.resource,
            caller,
            resource_account,
            base,
        })
    }
}

/// A simulation outside any account (the offline `iamd policy simulate`):
/// SimulateCustomPolicy's rules and evaluation over policies compiled by the caller, for
/// a calling user iamd does not know (no user id) and resources with no condition keys
/// of their own.
pub struct CustomSimulation {
    sim: Sim,
}

impl CustomSimulation {
    /// `identity`: the `PolicyInputList` policies; `caller_arn`: an IAM user's ARN;
    /// `resource_owner`: an ARN naming the resource's account (default the caller's);
    /// `context`: the request's condition-key values.
    pub fn new(
        identity: Vec<Arc<CompiledPolicy>>,
        boundary: Option<Arc<CompiledPolicy>>,
        resource_policy: Option<Arc<CompiledPolicy>>,
        caller_arn: &str,
        resource_owner: Option<&str>,
        context: Context,
    ) -> Result<CustomSimulation, IamError> {
        let policies = SimPolicies {
            inputs: identity,
            boundary,
            resource: resource_policy,
        };
        let caller = SimCaller::user(caller_arn, String::new)?;
        let sim = Sim::new(Vec::new(), policies, caller, resource_owner, context)?;
        Ok(CustomSimulation { sim })
    }

    /// `action` on `resource` (`*` or an ARN): the simulator's result, and what `f`
    /// makes of the engine's explanation of the decision.
    pub fn evaluate<R>(
        &self,
        action: &str,
        resource: &str,
        f: impl FnOnce(&Explanation<'_>) -> R,
    ) -> (api::EvaluationResult, R) {
        // The evaluation reads no account state: any store type names the function.
        Iam::<iamd_store::AnyStore>::simulate_one_with(
            &self.sim,
            action,
            resource,
            Vec::new(),
            None,
            f,
        )
    }
}

fn compile(doc: &str, ty: PolicyType, id: &str) -> Result<Arc<CompiledPolicy>, IamError> {
    CompiledPolicy::from_json(doc, ty, id)
        .map(Arc::new)
        .map_err(|f| {
            IamError::MalformedPolicyDocument(
                f.first().map(|f| f.message.clone()).unwrap_or_default(),
            )
        })
}

/// `PolicyInputList` documents, compiled as `PolicyInputList.N` and appended to `set`.
fn compile_inputs(set: &mut Vec<Arc<CompiledPolicy>>, inputs: &[String]) -> Result<(), IamError> {
    for (i, doc) in inputs.iter().enumerate() {
        let id = format!("PolicyInputList.{}", i + 1);
        set.push(compile(doc, PolicyType::Inline, &id)?);
    }
    Ok(())
}

/// The account of an ARN (its fifth field), if it has one.
fn arn_account(arn: &str) -> Option<&str> {
    let mut it = arn.splitn(6, ':');
    if it.next()? != "arn" {
        return None;
    }
    let acct = it.nth(3)?;
    it.next()?;
    Some(acct)
}

/// A `ContextKeyType` (`string`, `numericList`, …) split into its base type and whether
/// it is a list type (`numericList` → (`numeric`, true)). Shared with the offline
/// `iamd policy simulate --context`.
pub fn context_key_type(ty: &str) -> (&str, bool) {
    match ty.strip_suffix("List") {
        Some(base) => (base, true),
        None => (ty, false),
    }
}

/// Whether `value` is a valid value of the base `ContextKeyType` `base` (`string`,
/// `numeric`, `boolean`, `ip`, `binary`, `date`); `None` for an unknown type.
pub fn context_value_valid(base: &str, value: &str) -> Option<bool> {
    use iamd_policy::values::{base64_decode, parse_bool, parse_cidr, parse_date, parse_decimal};
    Some(match base {
        "string" => true,
        "numeric" => parse_decimal(value).is_some(),
        "boolean" => parse_bool(value).is_some(),
        "ip" => parse_cidr(value).is_some(),
        "binary" => base64_decode(value).is_some(),
        "date" => parse_date(value).is_some(),
        _ => return None,
    })
}

/// `ContextEntries` → condition-key values, each checked against its declared type.
fn add_entries(ctx: &mut Context, entries: &[api::ContextEntry]) -> Result<(), IamError> {
    for e in entries {
        let Some(name) = e.context_key_name.as_deref() else {
            return Err(IamError::InvalidInput(
                "A context entry must specify a ContextKeyName.".into(),
            ));
        };
        let values = e.context_key_values.clone().unwrap_or_default();
        let ty = e.context_key_type.as_deref().unwrap_or("string");
        let (base, list) = context_key_type(ty);
        if !list && values.len() > 1 {
            return Err(IamError::InvalidInput(format!(
                "Context key {name} of type {ty} takes one value; use {ty}List for several."
            )));
        }
        for v in &values {
            match context_value_valid(base, v) {
                Some(true) => {}
                Some(false) => {
                    return Err(IamError::InvalidInput(format!(
                        "Invalid value {v} for context key {name} of type {ty}."
                    )))
                }
                None => {
                    return Err(IamError::InvalidInput(format!(
                        "Invalid ContextKeyType {ty} for context key {name}."
                    )))
                }
            }
        }
        ctx.insert_multi(name, values);
    }
    Ok(())
}

/// The simulator's `EvalDecision` name of a decision.
pub fn decision_name(k: DecisionKind) -> &'static str {
    match k {
        DecisionKind::Allow => "allowed",
        DecisionKind::ExplicitDeny => "explicitDeny",
        DecisionKind::ImplicitDeny => "implicitDeny",
    }
}

/// The actions AssumeRole authorizes against the role's trust policy (`ops/sts.rs`).
const TRUST_ACTIONS: [&str; 3] = ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"];

/// The session name of the simulated session of a role `PolicySourceArn`.
const SIMULATED_SESSION: &str = "SimulatedSession";

/// A role's trust policy taking part in a simulated `sts:AssumeRole`, and the role's
/// account (the resource's owner).
struct SimTrust {
    policy: Arc<CompiledPolicy>,
    account: String,
}

/// The principal named by a `PolicySourceArn`.
enum PolicySource {
    User(Principal),
    Group(String),
    /// A role (by id): its policies and boundary, as its sessions are evaluated with.
    Role(String),
}

/// SimulateCustomPolicy and SimulatePrincipalPolicy from here on alike: build the
/// simulation from the request's shared fields (boundaries, resource policy and owner,
/// context entries) and run it over its actions and resources, one page.
macro_rules! simulate {
    ($iam:ident, $r:ident, $identity:expr, $inputs:expr, $caller:expr, $base:expr) => {{
        let sim = $iam.build_sim(
            $identity,
            $inputs,
            $r.permissions_boundary_policy_input_list
                .as_deref()
                .unwrap_or_default(),
            $r.resource_policy.as_deref(),
            $r.resource_owner.as_deref(),
            $caller,
            $base,
            $r.context_entries.as_deref().unwrap_or_default(),
        )?;
        $iam.run_sim(
            &sim,
            &$r.action_names,
            $r.resource_arns.as_deref(),
            $r.max_items,
            $r.marker.as_deref(),
        )
    }};
}

impl<S: Store> Iam<S> {
    fn source_principal(&self, arn: &str) -> Result<PolicySource, IamError> {
        let account = self.account_id();
        let invalid = || IamError::InvalidInput(format!("Invalid ARN: {arn}"));
        let rest = arn
            .strip_prefix("arn:aws:iam::")
            .ok_or_else(invalid)?
            .strip_prefix(account)
            .and_then(|r| r.strip_prefix(':'))
            .ok_or_else(|| IamError::NoSuchEntity(format!("The entity {arn} cannot be found.")))?;
        let state = self.read();
        if let Some(res) = rest.strip_prefix("user/") {
            let name = res.rsplit('/').next().unwrap_or_default();
            let u = state.user_by_arn(account, arn).ok_or_else(|| {
                IamError::NoSuchEntity(format!("The user with name {name} cannot be found."))
            })?;
            return Ok(PolicySource::User(Principal::User {
                id: u.rec.id.clone(),
                name: u.rec.name.clone(),
                arn: arn.to_string(),
                account: account.to_string(),
            }));
        }
        if let Some(res) = rest.strip_prefix("group/") {
            let name = res.rsplit('/').next().unwrap_or_default();
            let g = state.group_by_arn(account, arn).ok_or_else(|| {
                IamError::NoSuchEntity(format!("The group with name {name} cannot be found."))
            })?;
            return Ok(PolicySource::Group(g.rec.id.clone()));
        }
        if let Some(res) = rest.strip_prefix("role/") {
            let name = res.rsplit('/').next().unwrap_or_default();
            let r = <crate::state::Role as crate::entity::Entity>::by_arn(&state, account, arn)
                .ok_or_else(|| {
                    IamError::NoSuchEntity(format!("The role with name {name} cannot be found."))
                })?;
            return Ok(PolicySource::Role(r.rec.id.clone()));
        }
        Err(invalid())
    }

    /// The caller named by `CallerArn`, with its user id if it is a user of this account
    /// (an ARN naming no user of this account, wrong path included, has none).
    fn sim_caller_user(&self, arn: &str) -> Result<SimCaller, IamError> {
        SimCaller::user(arn, || {
            self.read()
                .user_by_arn(self.account_id(), arn)
                .map(|u| u.rec.id.clone())
                .unwrap_or_default()
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn build_sim(
        &self,
        (identity, boundary): (Vec<Arc<CompiledPolicy>>, Option<Arc<CompiledPolicy>>),
        inputs: &[String],
        boundaries: &[String],
        resource_policy: Option<&str>,
        resource_owner: Option<&str>,
        caller: SimCaller,
        base: Context,
        entries: &[api::ContextEntry],
    ) -> Result<Sim, IamError> {
        let mut policies = SimPolicies::compile(inputs, boundaries, resource_policy)?;
        // A boundary the request supplies replaces the principal's own (AWS).
        if policies.boundary.is_none() {
            policies.boundary = boundary;
        }
        let mut sim = Sim::new(identity, policies, caller, resource_owner, base)?;
        add_entries(&mut sim.base, entries)?;
        Ok(sim)
    }

    fn statement(r: &iamd_policy::StatementRef<'_>) -> api::Statement {
        let ty = source_policy_type(r.kind);
        let pos = |p: iamd_policy::Pos| api::Position {
            line: Some(p.line as i32),
            column: Some(p.column as i32),
        };
        api::Statement {
            source_policy_id: Some(r.policy_id.to_string()),
            source_policy_type: Some(ty.to_string()),
            start_position: Some(pos(r.span.start)),
            end_position: Some(pos(r.span.end)),
        }
    }

    /// One action on one resource of this account, decided by the enforcement path.
    fn simulate_one(&self, sim: &Sim, action: &str, resource: &str) -> api::EvaluationResult {
        let keys = if resource == "*" {
            Vec::new()
        } else {
            self.resource_keys(resource)
        };
        let trust = self.trust_of(action, resource);
        Self::simulate_one_with(sim, action, resource, keys, trust, |_| ()).0
    }

    /// For an action AssumeRole authorizes against the role's trust policy
    /// (`sts:AssumeRole`, and `sts:TagSession` / `sts:SetSourceIdentity` on a role) on a
    /// role ARN: that role's trust policy as AssumeRole evaluates it, with the role's
    /// account, which owns the resource. A role iamd does not hold trusts nobody, as
    /// AssumeRole decides for it.
    fn trust_of(&self, action: &str, resource: &str) -> Option<SimTrust> {
        if !TRUST_ACTIONS.iter().any(|a| a.eq_ignore_ascii_case(action)) {
            return None;
        }
        let account = arn_account(resource).filter(|a| !a.is_empty())?;
        resource
            .strip_prefix("arn:aws:iam::")?
            .strip_prefix(account)?
            .strip_prefix(":role/")?;
        let state = self.read();
        let policy =
            <crate::state::Role as crate::entity::Entity>::by_arn(&state, account, resource)
                .map_or_else(
                    || crate::binding::BoundPolicy::nobody("").compiled,
                    |r| r.trust.compiled.clone(),
                );
        Some(SimTrust {
            policy,
            account: account.to_string(),
        })
    }

    /// One action on one resource whose condition keys are `keys`, decided through
    /// [`Iam::evaluate_check`] (with the role's trust policy when `trust` is given); also
    /// returns what `f` makes of the explanation.
    fn simulate_one_with<R>(
        sim: &Sim,
        action: &str,
        resource: &str,
        keys: Vec<(String, Vec<String>)>,
        trust: Option<SimTrust>,
        f: impl FnOnce(&Explanation<'_>) -> R,
    ) -> (api::EvaluationResult, R) {
        let specific = resource != "*";
        let mut check = if specific {
            Check::on(action.to_string(), resource.to_string(), keys)
        } else {
            Check::wildcard(action.to_string())
        };
        // Keys the caller supplied win over the ones derived from the resource.
        check.keys.retain(|(k, _)| sim.base.get(k).is_none());
        let caller = sim.caller.engine();
        let (trust, resource_account) = match trust {
            Some(t) => (Some(t.policy), t.account),
            None => (None, sim.resource_account.clone()),
        };
        let resource_account = resource_account.as_str();
        let decide_with = |account: &str, set: &PolicySet<'_, Arc<CompiledPolicy>>| {
            Self::evaluate_check(caller, account, &check, &sim.base, |req| {
                decide(req, set).kind
            })
        };
        let set = PolicySet {
            identity: &sim.identity,
            boundary: sim.boundary.as_ref(),
            resource: sim.resource.as_ref(),
            trust: trust.as_ref(),
            ..Default::default()
        };
        let (decision, matched, missing, extra) =
            Self::evaluate_check(caller, resource_account, &check, &sim.base, |req| {
                let e: Explanation<'_> = explain(req, &set);
                let matched: Vec<api::Statement> = e.matched.iter().map(Self::statement).collect();
                let extra = f(&e);
                (e.decision.kind, matched, e.missing_context_keys, extra)
            });
        let boundary_detail = sim.boundary.as_ref().map(|b| {
            let only = PolicySet {
                identity: std::slice::from_ref(b),
                ..Default::default()
            };
            // The boundary limits the caller in its own account.
            api::PermissionsBoundaryDecisionDetail {
                allowed_by_permissions_boundary: Some(
                    decide_with(&sim.caller.account, &only).is_allowed(),
                ),
            }
        });
        // Each side of a cross-account request on its own: whether the identity side allows
        // it, and whether the resource policy alone grants it (both decided as if caller and
        // resource shared an account, where either side's grant suffices).
        let cross = (specific && resource_account != sim.caller.account).then(|| {
            let ident = PolicySet {
                identity: &sim.identity,
                boundary: sim.boundary.as_ref(),
                ..Default::default()
            };
            let res_only = PolicySet {
                resource: sim.resource.as_ref(),
                trust: trust.as_ref(),
                ..Default::default()
            };
            BTreeMap::from([
                (
                    IAM_POLICY.to_string(),
                    decision_name(decide_with(&sim.caller.account, &ident)).to_string(),
                ),
                (
                    RESOURCE_POLICY.to_string(),
                    decision_name(decide_with(&sim.caller.account, &res_only)).to_string(),
                ),
            ])
        });
        let rsr = specific.then(|| {
            vec![api::ResourceSpecificResult {
                eval_resource_name: resource.to_string(),
                eval_resource_decision: decision_name(decision).to_string(),
                matched_statements: Some(matched.clone()),
                missing_context_values: (!missing.is_empty()).then(|| missing.clone()),
                eval_decision_details: cross.clone(),
                permissions_boundary_decision_detail: boundary_detail.clone(),
            }]
        });
        let result = api::EvaluationResult {
            eval_action_name: action.to_string(),
            eval_resource_name: Some(resource.to_string()),
            eval_decision: decision_name(decision).to_string(),
            matched_statements: Some(matched),
            // With a resource ARN the missing keys are reported per resource.
            missing_context_values: Some(if specific { Vec::new() } else { missing }),
            organizations_decision_detail: None,
            permissions_boundary_decision_detail: boundary_detail,
            eval_decision_details: specific.then(|| cross.unwrap_or_default()),
            resource_specific_results: rsr,
        };
        (result, extra)
    }

    /// The resource's condition keys as enforcement supplies them (an existing user's
    /// tags as `aws:ResourceTag/*` and `iam:ResourceTag/*`).
    fn resource_keys(&self, arn: &str) -> Vec<(String, Vec<String>)> {
        self.read()
            .user_by_arn(self.account_id(), arn)
            .map(|u| u.resource_tag_keys())
            .unwrap_or_default()
    }

    fn run_sim(
        &self,
        sim: &Sim,
        actions: &[String],
        resources: Option<&[String]>,
        max_items: Option<i32>,
        marker: Option<&str>,
    ) -> Result<Output, IamError> {
        let star = ["*".to_string()];
        let resources = match resources {
            Some(r) if !r.is_empty() => r,
            _ => &star[..],
        };
        let total = actions.len() * resources.len();
        let start = match marker {
            None => 0,
            Some(m) => m
                .parse::<usize>()
                .ok()
                .filter(|s| *s <= total)
                .ok_or_else(|| IamError::InvalidInput(format!("Invalid Marker {m}.")))?,
        };
        let max = max_items.unwrap_or(100).max(1) as usize;
        let end = total.min(start.saturating_add(max));
        // Action-major order: every resource of the first action, then the next action.
        let results = actions
            .iter()
            .flat_map(|a| resources.iter().map(move |r| (a, r)))
            .skip(start)
            .take(end - start)
            .map(|(action, resource)| self.simulate_one(sim, action, resource))
            .collect();
        let truncated = end < total;
        Ok(Some(Box::new(api::SimulatePolicyResult {
            evaluation_results: Some(results),
            is_truncated: Some(truncated),
            marker: truncated.then(|| end.to_string()),
        })))
    }

    pub(crate) fn simulate_custom_policy(
        &self,
        r: api::SimulateCustomPolicyRequest,
    ) -> Result<Output, IamError> {
        let account = self.account_id().to_string();
        let caller = match r.caller_arn.as_deref() {
            Some(a) => self.sim_caller_user(a)?,
            // No caller: fine unless a resource policy needs one (build_sim).
            None => SimCaller {
                arn: format!("arn:aws:iam::{account}:user/SimulatedCaller"),
                id: String::new(),
                account,
                user: false,
                session: None,
            },
        };
        let inputs = &r.policy_input_list;
        simulate!(self, r, (Vec::new(), None), inputs, caller, Context::new())
    }

    pub(crate) fn simulate_principal_policy(
        &self,
        r: api::SimulatePrincipalPolicyRequest,
    ) -> Result<Output, IamError> {
        let (identity, boundary, caller, base) = self.principal_inputs(&r.policy_source_arn)?;
        let caller = match r.caller_arn.as_deref() {
            Some(a) => self.sim_caller_user(a)?,
            None => caller,
        };
        let inputs = r.policy_input_list.as_deref().unwrap_or_default();
        simulate!(self, r, (identity, boundary), inputs, caller, base)
    }

    /// Policies and permissions boundary (exactly as enforcement gathers them), caller
    /// and principal context keys of a `PolicySourceArn`.
    #[allow(clippy::type_complexity)]
    fn principal_inputs(
        &self,
        arn: &str,
    ) -> Result<
        (
            Vec<Arc<CompiledPolicy>>,
            Option<Arc<CompiledPolicy>>,
            SimCaller,
            Context,
        ),
        IamError,
    > {
        let account = self.account_id().to_string();
        match self.source_principal(arn)? {
            PolicySource::User(p) => {
                let identity = self.identity_policies(&p);
                let set = identity.iter().cloned().collect();
                let mut ctx = Context::new();
                self.add_principal_keys(&p, &mut ctx);
                let caller = SimCaller {
                    arn: p.arn().into_owned(),
                    id: p.user_id().to_string(),
                    account,
                    user: true,
                    session: None,
                };
                Ok((set, identity.boundary, caller, ctx))
            }
            PolicySource::Group(gid) => {
                let state = self.read();
                let g = state
                    .groups
                    .get(&gid)
                    .ok_or_else(|| IamError::Internal("group vanished".into()))?;
                let mut set: Vec<_> = g.policies.values().map(|p| p.compiled.clone()).collect();
                set.extend(state.attached_compiled(&g.attached));
                let caller = SimCaller {
                    arn: arn.to_string(),
                    id: String::new(),
                    account,
                    user: false,
                    session: None,
                };
                Ok((set, None, caller, Context::new()))
            }
            PolicySource::Role(rid) => {
                let state = self.read();
                let r = state
                    .roles
                    .get(&rid)
                    .ok_or_else(|| IamError::Internal("role vanished".into()))?;
                // The keys a session of the role has from the role itself (the
                // session's own — its name, token issue time, MFA, session tags — are
                // the request's to supply as context entries).
                let mut ctx = Context::new();
                ctx.insert_static("aws:principalarn", arn.to_string());
                ctx.insert_static("aws:principalaccount", account.clone());
                ctx.insert_static("aws:principaltype", "AssumedRole");
                for (k, v) in &r.tags {
                    ctx.insert(&format!("aws:PrincipalTag/{k}"), v.as_str());
                }
                let session = format!(
                    "arn:aws:sts::{account}:assumed-role/{}/{SIMULATED_SESSION}",
                    r.rec.name
                );
                let caller = SimCaller {
                    arn: arn.to_string(),
                    id: r.rec.id.clone(),
                    account,
                    user: false,
                    session: Some(session),
                };
                Ok((r.effective.to_vec(), r.boundary.clone(), caller, ctx))
            }
        }
    }

    fn context_keys(policies: &[Arc<CompiledPolicy>]) -> Output {
        let mut names: Vec<String> = Vec::new();
        for p in policies {
            for k in p.condition_keys() {
                if !names.iter().any(|n| n.eq_ignore_ascii_case(k)) {
                    names.push(k.to_string());
                }
            }
        }
        Some(Box::new(api::GetContextKeysForPolicyResult {
            context_key_names: Some(names),
        }))
    }

    pub(crate) fn get_context_keys_for_custom_policy(
        &self,
        r: api::GetContextKeysForCustomPolicyRequest,
    ) -> Result<Output, IamError> {
        let mut set = Vec::new();
        compile_inputs(&mut set, &r.policy_input_list)?;
        Ok(Self::context_keys(&set))
    }

    pub(crate) fn get_context_keys_for_principal_policy(
        &self,
        r: api::GetContextKeysForPrincipalPolicyRequest,
    ) -> Result<Output, IamError> {
        let (mut set, boundary, _, _) = self.principal_inputs(&r.policy_source_arn)?;
        set.extend(boundary);
        compile_inputs(&mut set, r.policy_input_list.as_deref().unwrap_or_default())?;
        Ok(Self::context_keys(&set))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, reason = "tests")]
mod tests {
    use super::*;

    const ALICE: &str = "arn:aws:iam::123456789012:user/alice";

    fn policy(doc: &str, ty: PolicyType, id: &str) -> Arc<CompiledPolicy> {
        compile(doc, ty, id).unwrap()
    }

    fn allow(action: &str) -> String {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"*"}}]}}"#
        )
    }

    fn invalid_input(r: Result<CustomSimulation, IamError>) -> String {
        match r {
            Err(IamError::InvalidInput(m)) => m,
            Err(e) => panic!("expected InvalidInput, got {e:?}"),
            Ok(_) => panic!("expected InvalidInput, got a simulation"),
        }
    }

    #[test]
    fn caller_must_be_a_user() {
        for arn in [
            "arn:aws:iam::123456789012:group/g",
            "arn:aws:iam:::user/x",
            "arn:aws:s3:::b",
            "alice",
        ] {
            let r = CustomSimulation::new(Vec::new(), None, None, arn, None, Context::new());
            assert_eq!(
                invalid_input(r),
                format!("Invalid CallerArn {arn}: it must be the ARN of an IAM user.")
            );
        }
    }

    #[test]
    fn resource_owner_must_name_an_account() {
        for owner in ["123456789012", "arn:aws:iam::", "arn:aws:iam:::root"] {
            let r =
                CustomSimulation::new(Vec::new(), None, None, ALICE, Some(owner), Context::new());
            assert_eq!(
                invalid_input(r),
                format!("'{owner}' is not a valid as a Resource Owner.")
            );
        }
    }

    #[test]
    fn boundary_is_decided_in_the_callers_account() {
        let id = policy(
            &allow("s3:GetObject"),
            PolicyType::Inline,
            "PolicyInputList.1",
        );
        let b = policy(
            &allow("s3:*"),
            PolicyType::Inline,
            "PermissionsBoundaryPolicyInputList.1",
        );
        let sim = CustomSimulation::new(
            vec![id],
            Some(b),
            None,
            ALICE,
            Some("arn:aws:iam::999999999999:root"),
            Context::new(),
        )
        .unwrap();
        let (r, deciding) = sim.evaluate("s3:GetObject", "arn:aws:s3:::b/k", |e| {
            e.decision.statement.map(|s| s.policy_id.to_string())
        });
        // Cross-account without a resource policy: denied, though the boundary allows.
        assert_eq!(r.eval_decision, "implicitDeny");
        assert_eq!(deciding, None);
        let detail = r.permissions_boundary_decision_detail.unwrap();
        assert_eq!(detail.allowed_by_permissions_boundary, Some(true));
        let sides = r.eval_decision_details.unwrap();
        assert_eq!(sides.get(IAM_POLICY).map(String::as_str), Some("allowed"));
        assert_eq!(
            sides.get(RESOURCE_POLICY).map(String::as_str),
            Some("implicitDeny")
        );
    }

    #[test]
    fn missing_keys_of_a_resource_are_on_its_result() {
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}"#;
        let id = policy(doc, PolicyType::Inline, "PolicyInputList.1");
        let sim = CustomSimulation::new(vec![id], None, None, ALICE, None, Context::new()).unwrap();
        let (star, ()) = sim.evaluate("s3:ListBucket", "*", |_| ());
        assert_eq!(
            star.missing_context_values,
            Some(vec!["aws:SourceIp".into()])
        );
        assert!(star.resource_specific_results.is_none());
        let (arn, ()) = sim.evaluate("s3:ListBucket", "arn:aws:s3:::b", |_| ());
        assert_eq!(arn.missing_context_values, Some(Vec::new()));
        let rsr = arn.resource_specific_results.unwrap();
        assert_eq!(
            rsr.first().and_then(|r| r.missing_context_values.clone()),
            Some(vec!["aws:SourceIp".into()])
        );
    }

    /// A role as `PolicySourceArn` is simulated as a session of it (its policies, its
    /// tags as `aws:PrincipalTag/*`, `aws:PrincipalType` `AssumedRole`), and
    /// `sts:AssumeRole` on a role ARN is decided with the role's trust policy, whose
    /// statement is then the matched one.
    #[tokio::test]
    async fn roles_and_their_trust_policies() {
        use crate::ops::url_encode;
        use crate::testing::{ok, open, MemStore};
        let iam = open(MemStore::default()).await;
        for u in ["alice", "bob"] {
            ok(&iam, "CreateUser", &format!("UserName={u}")).await;
        }
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"xyz"}}}]}"#;
        ok(
            &iam,
            "CreateRole",
            &format!(
                "RoleName=r&AssumeRolePolicyDocument={}&Tags.member.1.Key=team&Tags.member.1.Value=blue",
                url_encode(trust)
            ),
        )
        .await;
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"blue","aws:PrincipalType":"AssumedRole","aws:PrincipalArn":"arn:aws:iam::123456789012:role/r"}}}]}"#;
        ok(
            &iam,
            "PutRolePolicy",
            &format!(
                "RoleName=r&PolicyName=p&PolicyDocument={}",
                url_encode(policy)
            ),
        )
        .await;
        /// SimulatePrincipalPolicy of `action` on `resource` for `source`: its XML.
        async fn simulate(
            iam: &Iam<MemStore>,
            source: &str,
            action: &str,
            resource: &str,
            extra: &str,
        ) -> String {
            let form = format!(
                "PolicySourceArn={}&ActionNames.member.1={}&ResourceArns.member.1={}{extra}",
                url_encode(source),
                url_encode(action),
                url_encode(resource)
            );
            ok(iam, "SimulatePrincipalPolicy", &form).await
        }
        let decision = |xml: &str| {
            let start = xml.find("<EvalDecision>").unwrap() + "<EvalDecision>".len();
            let end = xml[start..].find('<').unwrap() + start;
            xml[start..end].to_string()
        };
        let xml = simulate(
            &iam,
            "arn:aws:iam::123456789012:role/r",
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            "",
        )
        .await;
        assert_eq!(decision(&xml), "allowed", "{xml}");
        assert!(xml.contains("<SourcePolicyId>p</SourcePolicyId>"), "{xml}");

        let external = "&ContextEntries.member.1.ContextKeyName=sts%3AExternalId\
            &ContextEntries.member.1.ContextKeyType=string\
            &ContextEntries.member.1.ContextKeyValues.member.1=xyz";
        let alice = "arn:aws:iam::123456789012:user/alice";
        let role_arn = "arn:aws:iam::123456789012:role/r";
        let xml = simulate(&iam, alice, "sts:AssumeRole", role_arn, external).await;
        assert_eq!(decision(&xml), "allowed", "{xml}");
        assert!(
            xml.contains("<SourcePolicyId>AssumeRolePolicy</SourcePolicyId>"),
            "{xml}"
        );
        assert!(
            xml.contains("<SourcePolicyType>Resource Policy</SourcePolicyType>"),
            "{xml}"
        );
        // Without the external id the trust's condition cannot be decided.
        let xml = simulate(&iam, alice, "sts:AssumeRole", role_arn, "").await;
        assert_eq!(decision(&xml), "implicitDeny", "{xml}");
        assert!(xml.contains("<member>sts:ExternalId</member>"), "{xml}");
        // bob is not trusted; a role iamd does not hold trusts nobody; and on `*` the
        // trust policy takes no part (alice has no identity policy).
        for (source, resource) in [
            ("arn:aws:iam::123456789012:user/bob", role_arn),
            (alice, "arn:aws:iam::123456789012:role/other"),
            (alice, "*"),
        ] {
            let xml = simulate(&iam, source, "sts:AssumeRole", resource, external).await;
            assert_eq!(decision(&xml), "implicitDeny", "{source} {resource}: {xml}");
            assert!(!xml.contains("AssumeRolePolicy"), "{xml}");
        }
        // Role chaining: a session of r is matched by a trust naming r's ARN.
        let trust = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{role_arn}"}},"Action":"sts:AssumeRole"}}]}}"#
        );
        let form = format!(
            "RoleName=next&AssumeRolePolicyDocument={}",
            url_encode(&trust)
        );
        ok(&iam, "CreateRole", &form).await;
        let next = "arn:aws:iam::123456789012:role/next";
        let xml = simulate(&iam, role_arn, "sts:AssumeRole", next, "").await;
        assert_eq!(decision(&xml), "allowed", "{xml}");
        let xml = simulate(&iam, alice, "sts:AssumeRole", next, "").await;
        assert_eq!(decision(&xml), "implicitDeny", "{xml}");
    }

    /// Actions of every service simulate as enforcement would decide them: the engine needs
    /// no table of actions (an EC2 condition key is missing until supplied).
    #[test]
    fn actions_of_every_service() {
        let doc = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"ec2:RunInstances","Resource":"arn:aws:ec2:*:*:instance/*",
             "Condition":{"StringEquals":{"ec2:InstanceType":"t3.micro"}}},
            {"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"arn:aws:dynamodb:*:*:table/Books"}]}"#;
        let id = policy(doc, PolicyType::Inline, "PolicyInputList.1");
        let sim = CustomSimulation::new(vec![id], None, None, ALICE, None, Context::new()).unwrap();
        let instance = "arn:aws:ec2:us-east-1:123456789012:instance/i-1";
        let (r, ()) = sim.evaluate("ec2:RunInstances", instance, |_| ());
        assert_eq!(r.eval_decision, "implicitDeny");
        let rsr = r.resource_specific_results.unwrap();
        assert_eq!(
            rsr.first().and_then(|r| r.missing_context_values.clone()),
            Some(vec!["ec2:InstanceType".into()])
        );
        let mut ctx = Context::new();
        ctx.insert("ec2:InstanceType", "t3.micro");
        let id = policy(doc, PolicyType::Inline, "PolicyInputList.1");
        let sim = CustomSimulation::new(vec![id], None, None, ALICE, None, ctx).unwrap();
        let (r, ()) = sim.evaluate("ec2:RunInstances", instance, |_| ());
        assert_eq!(r.eval_decision, "allowed");
        let table = "arn:aws:dynamodb:us-east-1:123456789012:table/Books";
        assert_eq!(
            sim.evaluate("dynamodb:GetItem", table, |_| ())
                .0
                .eval_decision,
            "allowed"
        );
        let other = "arn:aws:dynamodb:us-east-1:123456789012:table/Other";
        assert_eq!(
            sim.evaluate("dynamodb:GetItem", other, |_| ())
                .0
                .eval_decision,
            "implicitDeny"
        );
    }
}
