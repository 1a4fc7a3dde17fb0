//! The policy simulator: SimulateCustomPolicy, SimulatePrincipalPolicy and
//! GetContextKeysFor{Custom,Principal}Policy.
//!
//! One engine: every simulated decision goes through [`Iam::evaluate_check`], the very
//! function enforcement ([`Iam::authorize`]) uses, with the same policy gathering
//! ([`Iam::identity_policies`]) and the same principal context keys
//! ([`Iam::add_principal_keys`]). The simulator adds only what the request supplies:
//! extra policies, a boundary, a resource policy and context entries.

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
use crate::ops::{group_arn, user_arn, Output};
use crate::principal::{Check, Principal};

/// Where a simulated identity policy came from (`SourcePolicyType`).
#[derive(Debug, Clone)]
struct Source {
    id: String,
    ty: &'static str,
}

/// Everything one simulation evaluates with.
struct Sim {
    identity: Vec<Arc<CompiledPolicy>>,
    identity_src: Vec<Source>,
    boundary: Option<Arc<CompiledPolicy>>,
    resource: Option<Arc<CompiledPolicy>>,
    caller_arn: String,
    caller_id: String,
    caller_account: String,
    resource_account: String,
    base: Context,
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

/// `ContextEntries` → condition-key values, each checked against its declared type.
fn add_entries(ctx: &mut Context, entries: &[api::ContextEntry]) -> Result<(), IamError> {
    use iamd_policy::values::{base64_decode, parse_bool, parse_cidr, parse_date, parse_decimal};
    for e in entries {
        let Some(name) = e.context_key_name.as_deref() else {
            return Err(IamError::InvalidInput(
                "A context entry must specify a ContextKeyName.".into(),
            ));
        };
        let values = e.context_key_values.clone().unwrap_or_default();
        let ty = e.context_key_type.as_deref().unwrap_or("string");
        let (base, list) = match ty.strip_suffix("List") {
            Some(b) => (b, true),
            None => (ty, false),
        };
        if !list && values.len() > 1 {
            return Err(IamError::InvalidInput(format!(
                "Context key {name} of type {ty} takes one value; use {ty}List for several."
            )));
        }
        for v in &values {
            let ok = match base {
                "string" => true,
                "numeric" => parse_decimal(v).is_some(),
                "boolean" => parse_bool(v).is_some(),
                "ip" => parse_cidr(v).is_some(),
                "binary" => base64_decode(v).is_some(),
                "date" => parse_date(v).is_some(),
                _ => {
                    return Err(IamError::InvalidInput(format!(
                        "Invalid ContextKeyType {ty} for context key {name}."
                    )))
                }
            };
            if !ok {
                return Err(IamError::InvalidInput(format!(
                    "Invalid value {v} for context key {name} of type {ty}."
                )));
            }
        }
        ctx.insert_multi(name, values);
    }
    Ok(())
}

fn decision_name(k: DecisionKind) -> &'static str {
    match k {
        DecisionKind::Allow => "allowed",
        DecisionKind::ExplicitDeny => "explicitDeny",
        DecisionKind::ImplicitDeny => "implicitDeny",
    }
}

/// The principal named by a `PolicySourceArn`.
enum PolicySource {
    User(Principal),
    Group(String),
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
            let u = state
                .user_by_name(name)
                .filter(|u| user_arn(account, &u.rec.path, &u.rec.name) == arn)
                .ok_or_else(|| {
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
            let g = state
                .group_by_name(name)
                .filter(|g| group_arn(account, &g.rec.path, &g.rec.name) == arn)
                .ok_or_else(|| {
                    IamError::NoSuchEntity(format!("The group with name {name} cannot be found."))
                })?;
            return Ok(PolicySource::Group(g.rec.id.clone()));
        }
        if rest.starts_with("role/") {
            return Err(IamError::NoSuchEntity(format!(
                "The role {arn} cannot be found."
            )));
        }
        Err(invalid())
    }

    /// The identity policies of a user exactly as enforcement gathers them, labelled
    /// with their source (the user's own inline policies first, then its groups').
    fn principal_policies(&self, p: &Principal) -> (Vec<Arc<CompiledPolicy>>, Vec<Source>) {
        let set: Vec<Arc<CompiledPolicy>> = self.identity_policies(p).iter().cloned().collect();
        let own = match p {
            Principal::User { id, .. } => self.read().users.get(id).map_or(0, |u| u.policies.len()),
            Principal::Root { .. } => 0,
        };
        let src = set
            .iter()
            .enumerate()
            .map(|(i, c)| Source {
                id: c.id().to_string(),
                ty: if i < own { "user" } else { "group" },
            })
            .collect();
        (set, src)
    }

    fn sim_caller_user(&self, arn: &str) -> Result<(String, String), IamError> {
        let acct = arn_account(arn).unwrap_or_default();
        if !arn.starts_with("arn:aws:iam::") || !arn.contains(":user/") || acct.is_empty() {
            return Err(IamError::InvalidInput(format!(
                "Invalid CallerArn {arn}: it must be the ARN of an IAM user."
            )));
        }
        let name = arn.rsplit('/').next().unwrap_or_default();
        let id = self
            .read()
            .user_by_name(name)
            .filter(|_| acct == self.account_id())
            .map(|u| u.rec.id.clone())
            .unwrap_or_default();
        Ok((id, acct.to_string()))
    }

    #[allow(clippy::too_many_arguments)]
    fn build_sim(
        &self,
        mut identity: Vec<Arc<CompiledPolicy>>,
        mut identity_src: Vec<Source>,
        inputs: &[String],
        boundaries: &[String],
        resource_policy: Option<&str>,
        resource_owner: Option<&str>,
        caller: (String, String, String),
        mut base: Context,
        entries: &[api::ContextEntry],
    ) -> Result<Sim, IamError> {
        for (i, doc) in inputs.iter().enumerate() {
            let id = format!("PolicyInputList.{}", i + 1);
            identity.push(compile(doc, PolicyType::Inline, &id)?);
            identity_src.push(Source {
                id,
                ty: "IAM Policy",
            });
        }
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
            Some(doc) => Some(
                CompiledPolicy::from_json(doc, PolicyType::Resource, "ResourcePolicy")
                    .map(Arc::new)
                    .map_err(|f| {
                        IamError::MalformedPolicyDocument(
                            f.first().map(|f| f.message.clone()).unwrap_or_default(),
                        )
                    })?,
            ),
            None => None,
        };
        let resource_account = match resource_owner {
            Some(o) => arn_account(o)
                .filter(|a| !a.is_empty())
                .ok_or_else(|| IamError::InvalidInput(format!("Invalid ResourceOwner {o}.")))?
                .to_string(),
            None => caller.2.clone(),
        };
        add_entries(&mut base, entries)?;
        Ok(Sim {
            identity,
            identity_src,
            boundary,
            resource,
            caller_arn: caller.0,
            caller_id: caller.1,
            caller_account: caller.2,
            resource_account,
            base,
        })
    }

    fn statement(&self, sim: &Sim, r: &iamd_policy::StatementRef<'_>) -> api::Statement {
        let (id, ty) = match r.kind {
            PolicyKind::Identity => sim
                .identity_src
                .get(r.policy_index)
                .map(|s| (s.id.clone(), s.ty))
                .unwrap_or_else(|| (r.policy_id.to_string(), "IAM Policy")),
            PolicyKind::PermissionsBoundary => (r.policy_id.to_string(), "IAM Policy"),
            PolicyKind::Resource | PolicyKind::Trust => (r.policy_id.to_string(), "resource"),
            PolicyKind::Session => (r.policy_id.to_string(), "IAM Policy"),
        };
        let pos = |p: iamd_policy::Pos| api::Position {
            line: Some(p.line as i32),
            column: Some(p.column as i32),
        };
        api::Statement {
            source_policy_id: Some(id),
            source_policy_type: Some(ty.to_string()),
            start_position: Some(pos(r.span.start)),
            end_position: Some(pos(r.span.end)),
        }
    }

    /// One action on one resource, decided by the enforcement path.
    fn simulate_one(&self, sim: &Sim, action: &str, resource: &str) -> api::EvaluationResult {
        let mut check = if resource == "*" {
            Check::wildcard(action)
        } else {
            Check::on(action, resource.to_string(), self.resource_keys(resource))
        };
        // Keys the caller supplied win over the ones derived from the resource.
        check.keys.retain(|(k, _)| sim.base.get(k).is_none());
        let caller = Caller::User {
            arn: &sim.caller_arn,
            id: &sim.caller_id,
            account: &sim.caller_account,
        };
        let set = PolicySet {
            identity: &sim.identity,
            boundary: sim.boundary.as_ref(),
            resource: sim.resource.as_ref(),
            ..Default::default()
        };
        let (decision, matched, missing) =
            Self::evaluate_check(caller, &sim.resource_account, &check, &sim.base, |req| {
                let e: Explanation<'_> = explain(req, &set);
                let matched: Vec<api::Statement> =
                    e.matched.iter().map(|r| self.statement(sim, r)).collect();
                (e.decision.kind, matched, e.missing_context_keys.clone())
            });
        let boundary_detail = sim.boundary.as_ref().map(|b| {
            let only = PolicySet {
                identity: std::slice::from_ref(b),
                ..Default::default()
            };
            let allowed =
                Self::evaluate_check(caller, &sim.resource_account, &check, &sim.base, |req| {
                    decide(req, &only).kind.is_allowed()
                });
            api::PermissionsBoundaryDecisionDetail {
                allowed_by_permissions_boundary: Some(allowed),
            }
        });
        let details = sim.resource.as_ref().map(|r| {
            let mut m = BTreeMap::new();
            let ident = PolicySet {
                identity: &sim.identity,
                boundary: sim.boundary.as_ref(),
                ..Default::default()
            };
            let res_only = PolicySet {
                resource: Some(r),
                ..Default::default()
            };
            let d1 =
                Self::evaluate_check(caller, &sim.resource_account, &check, &sim.base, |req| {
                    decide(req, &ident).kind
                });
            let d2 =
                Self::evaluate_check(caller, &sim.resource_account, &check, &sim.base, |req| {
                    decide(req, &res_only).kind
                });
            m.insert("IAM Policy".to_string(), decision_name(d1).to_string());
            m.insert("Resource Policy".to_string(), decision_name(d2).to_string());
            m
        });
        let rsr = api::ResourceSpecificResult {
            eval_resource_name: resource.to_string(),
            eval_resource_decision: decision_name(decision).to_string(),
            matched_statements: Some(matched.clone()),
            missing_context_values: Some(missing.clone()),
            eval_decision_details: details.clone(),
            permissions_boundary_decision_detail: boundary_detail.clone(),
        };
        api::EvaluationResult {
            eval_action_name: action.to_string(),
            eval_resource_name: Some(resource.to_string()),
            eval_decision: decision_name(decision).to_string(),
            matched_statements: Some(matched),
            missing_context_values: Some(missing),
            organizations_decision_detail: None,
            permissions_boundary_decision_detail: boundary_detail,
            eval_decision_details: details,
            resource_specific_results: Some(vec![rsr]),
        }
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
        let mut results = Vec::with_capacity(end - start);
        for i in start..end {
            let action = &actions[i / resources.len()];
            let resource = &resources[i % resources.len()];
            results.push(self.simulate_one(sim, action, resource));
        }
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
            Some(a) => {
                let (id, acct) = self.sim_caller_user(a)?;
                (a.to_string(), id, acct)
            }
            None => (
                format!("arn:aws:iam::{account}:user/SimulatedCaller"),
                String::new(),
                account,
            ),
        };
        let sim = self.build_sim(
            Vec::new(),
            Vec::new(),
            &r.policy_input_list,
            r.permissions_boundary_policy_input_list
                .as_deref()
                .unwrap_or_default(),
            r.resource_policy.as_deref(),
            r.resource_owner.as_deref(),
            caller,
            Context::new(),
            r.context_entries.as_deref().unwrap_or_default(),
        )?;
        self.run_sim(
            &sim,
            &r.action_names,
            r.resource_arns.as_deref(),
            r.max_items,
            r.marker.as_deref(),
        )
    }

    pub(crate) fn simulate_principal_policy(
        &self,
        r: api::SimulatePrincipalPolicyRequest,
    ) -> Result<Output, IamError> {
        let (identity, src, caller, base) = self.principal_inputs(&r.policy_source_arn)?;
        let caller = match r.caller_arn.as_deref() {
            Some(a) => {
                let (id, acct) = self.sim_caller_user(a)?;
                (a.to_string(), id, acct)
            }
            None => caller,
        };
        let sim = self.build_sim(
            identity,
            src,
            r.policy_input_list.as_deref().unwrap_or_default(),
            r.permissions_boundary_policy_input_list
                .as_deref()
                .unwrap_or_default(),
            r.resource_policy.as_deref(),
            r.resource_owner.as_deref(),
            caller,
            base,
            r.context_entries.as_deref().unwrap_or_default(),
        )?;
        self.run_sim(
            &sim,
            &r.action_names,
            r.resource_arns.as_deref(),
            r.max_items,
            r.marker.as_deref(),
        )
    }

    /// Policies, caller and principal context keys of a `PolicySourceArn`.
    #[allow(clippy::type_complexity)]
    fn principal_inputs(
        &self,
        arn: &str,
    ) -> Result<
        (
            Vec<Arc<CompiledPolicy>>,
            Vec<Source>,
            (String, String, String),
            Context,
        ),
        IamError,
    > {
        let account = self.account_id().to_string();
        match self.source_principal(arn)? {
            PolicySource::User(p) => {
                let (set, src) = self.principal_policies(&p);
                let mut ctx = Context::new();
                self.add_principal_keys(&p, &mut ctx);
                let caller = (p.arn(), p.user_id().to_string(), account);
                Ok((set, src, caller, ctx))
            }
            PolicySource::Group(gid) => {
                let state = self.read();
                let g = state
                    .groups
                    .get(&gid)
                    .ok_or_else(|| IamError::Internal("group vanished".into()))?;
                let set: Vec<Arc<CompiledPolicy>> =
                    g.policies.values().map(|p| p.compiled.clone()).collect();
                let src = g
                    .policies
                    .keys()
                    .map(|k| Source {
                        id: k.clone(),
                        ty: "group",
                    })
                    .collect();
                Ok((
                    set,
                    src,
                    (arn.to_string(), String::new(), account),
                    Context::new(),
                ))
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
        for (i, doc) in r.policy_input_list.iter().enumerate() {
            set.push(compile(
                doc,
                PolicyType::Inline,
                &format!("PolicyInputList.{}", i + 1),
            )?);
        }
        Ok(Self::context_keys(&set))
    }

    pub(crate) fn get_context_keys_for_principal_policy(
        &self,
        r: api::GetContextKeysForPrincipalPolicyRequest,
    ) -> Result<Output, IamError> {
        let (mut set, _, _, _) = self.principal_inputs(&r.policy_source_arn)?;
        for (i, doc) in r
            .policy_input_list
            .as_deref()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            set.push(compile(
                doc,
                PolicyType::Inline,
                &format!("PolicyInputList.{}", i + 1),
            )?);
        }
        Ok(Self::context_keys(&set))
    }
}
