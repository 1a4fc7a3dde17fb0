//! Permissions boundaries: PutUserPermissionsBoundary, DeleteUserPermissionsBoundary,
//! PutRolePermissionsBoundary, DeleteRolePermissionsBoundary, the boundary CreateUser
//! and CreateRole take, how GetUser/GetRole show it, and the `iam:PermissionsBoundary`
//! condition key of the operations on a user or role that has one.
//!
//! A boundary is a managed policy (customer- or AWS-managed) named by ARN on the user
//! or role record; memory keeps its default document compiled beside the identity
//! policies (`state.rs`), and every decision for the user or the role's sessions is
//! bounded by it (`Iam::identity_policies` → the engine's `PolicySet::boundary`).

use iamd_api::iam as api;
use iamd_store::{Change, Store};

use super::managed_policies::{check_arn, policy_exists};
use super::{Cx, Operation, Output};
use crate::core::Iam;
use crate::entity::Entity;
use crate::error::IamError;
use crate::principal::{Check, Principal, Target};
use crate::state::{Role, State, User};

/// The condition key.
const KEY: &str = "iam:PermissionsBoundary";

/// The actions whose Service Authorization Reference row lists `iam:PermissionsBoundary`
/// and that act on an existing user or role: the key is that entity's current
/// boundary. CreateUser, CreateRole and Put…PermissionsBoundary (also listed) carry the
/// boundary the request sets instead (their own checks).
const ON_EXISTING: &[&str] = &[
    "iam:AttachRolePolicy",
    "iam:AttachUserPolicy",
    "iam:DeleteRole",
    "iam:DeleteRolePermissionsBoundary",
    "iam:DeleteRolePolicy",
    "iam:DeleteUserPermissionsBoundary",
    "iam:DeleteUserPolicy",
    "iam:DetachRolePolicy",
    "iam:DetachUserPolicy",
    "iam:GetRole",
    "iam:PutRolePolicy",
    "iam:PutUserPolicy",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
];

/// Adds `iam:PermissionsBoundary` (the target's current boundary) to a check of one of
/// the [`ON_EXISTING`] actions on a user or role that has a boundary, unless the check
/// carries the key already.
pub(crate) fn add_existing_boundary_key(state: &State, account: &str, check: &mut Check) {
    if !ON_EXISTING.contains(&check.action.as_ref())
        || check.keys.iter().any(|(k, _)| k.eq_ignore_ascii_case(KEY))
    {
        return;
    }
    let Target::Arn(arn) = &check.target else {
        return;
    };
    let boundary = User::by_arn(state, account, arn)
        .map(|u| u.rec.boundary_arn.as_ref())
        .or_else(|| Role::by_arn(state, account, arn).map(|r| r.rec.boundary_arn.as_ref()))
        .flatten();
    if let Some(b) = boundary {
        check.keys.push((KEY.to_string(), vec![b.clone()]));
    }
}

/// How GetUser, GetRole, CreateUser and CreateRole show a boundary.
pub(crate) fn shown(arn: Option<&String>) -> Option<api::AttachedPermissionsBoundary> {
    arn.map(|arn| api::AttachedPermissionsBoundary {
        permissions_boundary_type: Some("PermissionsBoundaryPolicy".to_string()),
        permissions_boundary_arn: Some(arn.clone()),
    })
}

/// The boundary a request sets, first (AWS's order): a managed policy ARN
/// (InvalidInput otherwise).
pub(crate) fn check_boundary_arn(arn: Option<&str>) -> Result<(), IamError> {
    arn.map_or(Ok(()), check_arn)
}

/// The boundary a request sets (its ARN checked by [`check_boundary_arn`]), against
/// the state: a policy that exists (AWS's NoSuchEntity naming the "Scope ARN"
/// otherwise) and is not a service-linked role's policy (`/aws-service-role/`:
/// PolicyNotAttachable, as AWS answers attaching one to a role of a customer).
pub(crate) fn check_boundary(state: &State, arn: &str) -> Result<(), IamError> {
    if !policy_exists(state, arn) {
        return Err(IamError::NoSuchEntity(format!(
            "Scope ARN: {arn} does not exist or is not attachable."
        )));
    }
    not_service_role_policy(arn)
}

/// A service-linked role's AWS-managed policy (`/aws-service-role/`) attaches only to
/// that role, which the service manages: as a boundary or an attachment anywhere else,
/// PolicyNotAttachable (AWS's text for a role of a customer).
pub(crate) fn not_service_role_policy(arn: &str) -> Result<(), IamError> {
    if arn.starts_with("arn:aws:iam::aws:policy/aws-service-role/") {
        return Err(IamError::Modeled(
            api::errors::POLICY_NOT_ATTACHABLE,
            "Cannot attach a Service Role Policy to a Customer Role.".to_string(),
        ));
    }
    Ok(())
}

/// The check of Put…PermissionsBoundary: the entity, with the boundary it would get.
fn put_checks<E: Entity>(cx: &Cx<'_>, name: &str, boundary: &str) -> Vec<Check> {
    let (target, mut keys) = cx.target::<E>(name);
    keys.push((KEY.to_string(), vec![boundary.to_string()]));
    cx.on(target, keys)
}

/// The kinds a permissions boundary is set on.
trait Bounded: Entity {
    fn boundary(&self) -> Option<&String>;
    /// The change that stores this entity with the boundary `arn`.
    fn with_boundary(&self, arn: Option<String>) -> Change;
}

impl Bounded for User {
    fn boundary(&self) -> Option<&String> {
        self.rec.boundary_arn.as_ref()
    }
    fn with_boundary(&self, arn: Option<String>) -> Change {
        let mut rec = self.rec.clone();
        rec.boundary_arn = arn;
        Change::PutUser(rec)
    }
}

impl Bounded for Role {
    fn boundary(&self) -> Option<&String> {
        self.rec.boundary_arn.as_ref()
    }
    fn with_boundary(&self, arn: Option<String>) -> Change {
        let mut rec = self.rec.clone();
        rec.boundary_arn = arn;
        Change::PutRole(rec)
    }
}

/// Gives the entity `name` the boundary `arn` (`None`: removes it). Checked in AWS's
/// order: the ARN's shape, the entity (and whether AWS lets anyone change it), the
/// policy. Setting what it has already (or removing a boundary it does not have)
/// changes nothing and is no error.
async fn set<E: Bounded, S: Store>(
    iam: &Iam<S>,
    name: &str,
    arn: Option<String>,
) -> Result<Output, IamError> {
    check_boundary_arn(arn.as_deref())?;
    iam.change(|state| {
        let e = E::named(state, name)?;
        e.ensure_modifiable()?;
        if let Some(a) = &arn {
            check_boundary(state, a)?;
        }
        if e.boundary() == arn.as_ref() {
            return Ok(Vec::new());
        }
        Ok(vec![e.with_boundary(arn.clone())])
    })
    .await
}

impl Operation for api::PutUserPermissionsBoundaryRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(put_checks::<User>(
            cx,
            &self.user_name,
            &self.permissions_boundary,
        ))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        set::<User, S>(iam, &self.user_name, Some(self.permissions_boundary)).await
    }
}

impl Operation for api::DeleteUserPermissionsBoundaryRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.entity::<User>(&self.user_name))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        set::<User, S>(iam, &self.user_name, None).await
    }
}

impl Operation for api::PutRolePermissionsBoundaryRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(put_checks::<Role>(
            cx,
            &self.role_name,
            &self.permissions_boundary,
        ))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        set::<Role, S>(iam, &self.role_name, Some(self.permissions_boundary)).await
    }
}

impl Operation for api::DeleteRolePermissionsBoundaryRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.entity::<Role>(&self.role_name))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        set::<Role, S>(iam, &self.role_name, None).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    /// Whether the policy linter (the Service Authorization Reference's tables) finds
    /// `iam:PermissionsBoundary` supported by `action`.
    fn supports_key(action: &str) -> bool {
        let doc = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"*","Condition":{{"StringEquals":{{"{KEY}":"arn:aws:iam::123456789012:policy/b"}}}}}}]}}"#
        );
        !crate::lint_policy(&doc, iamd_policy::PolicyType::Inline, 0)
            .unwrap()
            .iter()
            .any(|f| f.issue_code == "UNSUPPORTED_ACTION_FOR_CONDITION_KEY")
    }

    /// The list is the reference's (as the linter knows it), less the actions that
    /// carry the boundary the request sets.
    #[test]
    fn the_actions_are_the_references() {
        for a in ON_EXISTING {
            assert!(supports_key(a), "{a} does not take {KEY}");
        }
        for a in [
            "iam:CreateUser",
            "iam:CreateRole",
            "iam:PutUserPermissionsBoundary",
            "iam:PutRolePermissionsBoundary",
        ] {
            assert!(supports_key(a), "{a} does not take {KEY}");
        }
        for a in [
            "iam:GetUser",
            "iam:DeleteUser",
            "iam:AttachGroupPolicy",
            "iam:ListUsers",
        ] {
            assert!(!supports_key(a), "{a} takes {KEY}");
        }
    }
}
