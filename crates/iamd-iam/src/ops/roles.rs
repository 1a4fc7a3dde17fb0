//! Roles: CreateRole, GetRole, ListRoles, UpdateRole, UpdateRoleDescription,
//! UpdateAssumeRolePolicy, DeleteRole; service-linked roles: CreateServiceLinkedRole,
//! DeleteServiceLinkedRole, GetServiceLinkedRoleDeletionStatus. A role's inline
//! policies and tags are `inline_policies.rs` and `tags.rs`; its trust policy's
//! principal bindings are `trust.rs`.

use iamd_api::iam as api;
use iamd_store::{Change, DeletionTaskRecord, RoleRecord, Store, TrustBinding};

use super::{boundaries, delete_conflict_unless, out, quota, tags, ts, Cx, Operation, Output};
use crate::core::{now_ms, Iam};
use crate::entity::Entity;
use crate::error::IamError;
use crate::principal::{Check, Principal};
use crate::state::{Role, State};

/// A role's MaxSessionDuration when the request names none (seconds).
const DEFAULT_MAX_SESSION_DURATION: i64 = 3600;

/// Where service-linked roles live: `/aws-service-role/<service>/`.
const SERVICE_ROLE_PATH: &str = "/aws-service-role/";

/// A trust policy as AWS checks it before anything else: the trust policy grammar
/// (MalformedPolicyDocument), then its size (ACLSizePerRole).
fn check_trust_document(doc: &str) -> Result<(), IamError> {
    super::check_document(
        doc,
        iamd_policy::PolicyType::Trust,
        "ACLSizePerRole",
        quota::TRUST_POLICY_SIZE,
    )
}

/// The users and roles a trust policy names, in the role's account (`state`) or
/// another this server holds, bound to their unique ids now.
fn bindings<S: Store>(
    iam: &Iam<S>,
    state: &State,
    doc: &str,
) -> Result<Vec<TrustBinding>, IamError> {
    let own = iam.account_id();
    crate::binding::bind(doc, |account, arn| {
        if account == own {
            return Some(state.principal_id(own, arn));
        }
        // Under the write lock no state changes: reading another account is safe.
        iam.principal_id_in(account, arn)
    })
}

/// LimitExceeded once the account holds AWS's default number of roles.
fn ensure_room_for_a_role(state: &State) -> Result<(), IamError> {
    if state.roles.len() >= quota::ROLES {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for RolesPerAccount: {}",
            quota::ROLES
        )));
    }
    Ok(())
}

/// The role as GetRole shows it: with its tags, boundary and last use (empty until
/// the role is assumed).
pub(super) fn full_api<S: Store>(iam: &Iam<S>, r: &Role) -> api::Role {
    let mut role = iam.api(r);
    if !r.tags.is_empty() {
        role.tags = Some(tags::api_tags(&r.tags));
    }
    role.permissions_boundary = boundaries::shown(r.rec.boundary_arn.as_ref());
    role.role_last_used = Some(api::RoleLastUsed {
        last_used_date: r.rec.last_used.map(ts),
        region: r.rec.last_used_region.clone(),
    });
    role
}

impl Operation for api::CreateRoleRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.creation::<Role>(
            self.path.as_deref(),
            &self.role_name,
            self.tags.as_deref(),
            self.permissions_boundary.as_deref(),
        ))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        check_trust_document(&self.assume_role_policy_document)?;
        boundaries::check_boundary_arn(self.permissions_boundary.as_deref())?;
        let tags = self.tags.unwrap_or_default();
        let rec = RoleRecord {
            id: crate::ids::unique_id("AROA")?,
            name: self.role_name,
            path: self.path.unwrap_or_else(|| "/".to_string()),
            created: now_ms(),
            trust_policy: self.assume_role_policy_document,
            trust_bindings: Vec::new(),
            description: self.description,
            max_session_duration: self
                .max_session_duration
                .map_or(DEFAULT_MAX_SESSION_DURATION, i64::from),
            boundary_arn: self.permissions_boundary,
            service_linked: false,
            last_used: None,
            last_used_region: None,
        };
        let boundary = rec.boundary_arn.clone();
        let mut role = iam
            .create_with::<Role>(rec, |state, rec| {
                ensure_room_for_a_role(state)?;
                if let Some(arn) = &rec.boundary_arn {
                    boundaries::check_boundary(state, arn)?;
                }
                rec.trust_bindings = bindings(iam, state, &rec.trust_policy)?;
                tags::tagging::<Role>(&rec.id, &[], &tags)
            })
            .await?;
        role.permissions_boundary = boundaries::shown(boundary.as_ref());
        if !tags.is_empty() {
            role.tags = Some(tags);
        }
        out(api::CreateRoleResult { role })
    }
}

impl Operation for api::GetRoleRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.entity::<Role>(&self.role_name))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        let state = iam.read();
        let r = Role::named(&state, &self.role_name)?;
        out(api::GetRoleResult {
            role: full_api(iam, r),
        })
    }
}

list_operation!(Role, ListRolesRequest => ListRolesResult { roles });

/// Writes the role named `name` changed by `edit` (after `guard` accepted it) and
/// returns the role as GetRole shows it afterwards.
async fn edit_role<S: Store>(
    iam: &Iam<S>,
    name: &str,
    guard: fn(&Role) -> Result<(), IamError>,
    mut edit: impl FnMut(&State, &mut RoleRecord) -> Result<(), IamError> + Send,
) -> Result<api::Role, IamError> {
    let id = iam
        .write(|state| {
            let r = Role::named(state, name)?;
            guard(r)?;
            let mut rec = r.rec.clone();
            edit(state, &mut rec)?;
            Ok((vec![Change::PutRole(rec)], r.rec.id.clone()))
        })
        .await?;
    let state = iam.read();
    let r = Role::by_id(&state, &id).ok_or_else(|| Role::not_found(name))?;
    Ok(full_api(iam, r))
}

impl Operation for api::UpdateRoleRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.entity::<Role>(&self.role_name))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        let (description, max) = (self.description, self.max_session_duration);
        edit_role(iam, &self.role_name, Role::ensure_modifiable, |_, rec| {
            if description.is_some() {
                rec.description = description.clone();
            }
            if let Some(m) = max {
                rec.max_session_duration = i64::from(m);
            }
            Ok(())
        })
        .await?;
        out(api::UpdateRoleResult {})
    }
}

impl Operation for api::UpdateRoleDescriptionRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.entity::<Role>(&self.role_name))
    }

    /// AWS lets a service-linked role's description be edited.
    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        let description = self.description;
        let role = edit_role(
            iam,
            &self.role_name,
            |_| Ok(()),
            |_, rec| {
                rec.description = Some(description.clone());
                Ok(())
            },
        )
        .await?;
        out(api::UpdateRoleDescriptionResult { role: Some(role) })
    }
}

impl Operation for api::UpdateAssumeRolePolicyRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.entity::<Role>(&self.role_name))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        check_trust_document(&self.policy_document)?;
        let doc = self.policy_document;
        edit_role(
            iam,
            &self.role_name,
            Role::ensure_modifiable,
            |state, rec| {
                rec.trust_bindings = bindings(iam, state, &doc)?;
                rec.trust_policy = doc.clone();
                Ok(())
            },
        )
        .await?;
        Ok(None)
    }
}

/// The changes that delete role `r` (its tags first), once nothing holds it.
fn deleting(r: &Role) -> Result<Vec<Change>, IamError> {
    delete_conflict_unless(r.policies.is_empty(), "delete policies")?;
    delete_conflict_unless(r.attached.is_empty(), "detach all policies")?;
    delete_conflict_unless(r.profiles.is_empty(), "remove roles from instance profile")?;
    let mut changes = tags::untagging(r, |_| true);
    changes.push(Change::DeleteRole {
        id: r.rec.id.clone(),
    });
    Ok(changes)
}

impl Operation for api::DeleteRoleRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.entity::<Role>(&self.role_name))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        iam.change(|state| {
            let r = Role::named(state, &self.role_name)?;
            r.ensure_modifiable()?;
            deleting(r)
        })
        .await
    }
}

// ----- service-linked roles ------------------------------------------------------

/// AWS's role names of the services whose service-linked roles are best known; any
/// other service's is `AWSServiceRoleFor` + its first label, capitalized.
const SERVICE_ROLE_NAMES: &[(&str, &str)] = &[
    ("autoscaling.amazonaws.com", "AWSServiceRoleForAutoScaling"),
    ("cloudtrail.amazonaws.com", "AWSServiceRoleForCloudTrail"),
    ("config.amazonaws.com", "AWSServiceRoleForConfig"),
    ("ecs.amazonaws.com", "AWSServiceRoleForECS"),
    ("eks.amazonaws.com", "AWSServiceRoleForAmazonEKS"),
    (
        "elasticbeanstalk.amazonaws.com",
        "AWSServiceRoleForElasticBeanstalk",
    ),
    (
        "elasticloadbalancing.amazonaws.com",
        "AWSServiceRoleForElasticLoadBalancing",
    ),
    (
        "es.amazonaws.com",
        "AWSServiceRoleForAmazonElasticsearchService",
    ),
    (
        "guardduty.amazonaws.com",
        "AWSServiceRoleForAmazonGuardDuty",
    ),
    ("lexv2.amazonaws.com", "AWSServiceRoleForLexV2Bots"),
    (
        "opensearchservice.amazonaws.com",
        "AWSServiceRoleForAmazonOpenSearchService",
    ),
    (
        "organizations.amazonaws.com",
        "AWSServiceRoleForOrganizations",
    ),
    ("rds.amazonaws.com", "AWSServiceRoleForRDS"),
    ("spot.amazonaws.com", "AWSServiceRoleForEC2Spot"),
    ("spotfleet.amazonaws.com", "AWSServiceRoleForEC2SpotFleet"),
    ("sso.amazonaws.com", "AWSServiceRoleForSSO"),
    ("support.amazonaws.com", "AWSServiceRoleForSupport"),
    (
        "trustedadvisor.amazonaws.com",
        "AWSServiceRoleForTrustedAdvisor",
    ),
];

/// The service-linked role's name for `service` (with `_suffix` when given).
fn service_role_name(service: &str, suffix: Option<&str>) -> String {
    let base = match SERVICE_ROLE_NAMES.iter().find(|(s, _)| *s == service) {
        Some((_, name)) => (*name).to_string(),
        None => {
            let label = service.split('.').next().unwrap_or(service);
            let mut chars = label.chars();
            let capitalized: String = chars
                .next()
                .map(|c| c.to_ascii_uppercase())
                .into_iter()
                .chain(chars)
                .collect();
            format!("AWSServiceRoleFor{capitalized}")
        }
    };
    match suffix {
        Some(s) => format!("{base}_{s}"),
        None => base,
    }
}

impl Operation for api::CreateServiceLinkedRoleRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        let name = service_role_name(&self.aws_service_name, self.custom_suffix.as_deref());
        let path = format!("{SERVICE_ROLE_PATH}{}/", self.aws_service_name);
        let keys = vec![(
            "iam:AWSServiceName".to_string(),
            vec![self.aws_service_name.clone()],
        )];
        Ok(cx.on(Role::arn_of(cx.account, &path, &name), keys))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        let service = self.aws_service_name;
        let name = service_role_name(&service, self.custom_suffix.as_deref());
        if name.len() > 64 {
            return Err(IamError::InvalidInput(format!(
                "Service role name {name} is longer than 64 characters, please try a shorter suffix."
            )));
        }
        let trust = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":["{service}"]}},"Action":["sts:AssumeRole"]}}]}}"#
        );
        let rec = RoleRecord {
            id: crate::ids::unique_id("AROA")?,
            name: name.clone(),
            path: format!("{SERVICE_ROLE_PATH}{service}/"),
            created: now_ms(),
            trust_policy: trust,
            trust_bindings: Vec::new(),
            description: self.description,
            max_session_duration: DEFAULT_MAX_SESSION_DURATION,
            boundary_arn: None,
            service_linked: true,
            last_used: None,
            last_used_region: None,
        };
        let role = iam
            .create_with::<Role>(rec, |state, _| {
                ensure_room_for_a_role(state)?;
                Ok(Vec::new())
            })
            .await
            .map_err(|e| match e {
                IamError::EntityAlreadyExists(_) => IamError::InvalidInput(format!(
                    "Service role name {name} has been taken in this account, please try a different suffix."
                )),
                other => other,
            })?;
        out(api::CreateServiceLinkedRoleResult { role: Some(role) })
    }
}

impl Operation for api::DeleteServiceLinkedRoleRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.entity::<Role>(&self.role_name))
    }

    /// Deletes at once (AWS first checks, in the background, that no resource of the
    /// service uses the role); the task then reports SUCCEEDED.
    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        let deletion_task_id = iam
            .write(|state| {
                let r = Role::named(state, &self.role_name)?;
                if !r.rec.service_linked {
                    return Err(IamError::NoSuchEntity(format!(
                        "The service-linked role with name {} cannot be found.",
                        self.role_name
                    )));
                }
                let role_part = r.rec.path.trim_start_matches('/');
                let task = format!(
                    "task/{role_part}{}/{}",
                    r.rec.name,
                    crate::ids::request_id()
                );
                let mut changes = deleting(r)?;
                changes.push(Change::PutDeletionTask(DeletionTaskRecord {
                    id: task.clone(),
                    created: now_ms(),
                }));
                Ok((changes, task))
            })
            .await?;
        out(api::DeleteServiceLinkedRoleResult { deletion_task_id })
    }
}

/// The ARN of the role a deletion task id names
/// (`task/aws-service-role/<service>/<name>/<uuid>` → `…:role/aws-service-role/<service>/<name>`).
fn task_role_arn(account: &str, task: &str) -> String {
    let role = task
        .strip_prefix("task/")
        .and_then(|rest| rest.rsplit_once('/'))
        .map_or(task, |(role, _)| role);
    format!("arn:aws:iam::{account}:role/{role}")
}

impl Operation for api::GetServiceLinkedRoleDeletionStatusRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.on(
            task_role_arn(cx.account, &self.deletion_task_id),
            Vec::new(),
        ))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        if !iam.read().deletion_tasks.contains(&self.deletion_task_id) {
            return Err(IamError::NoSuchEntity(format!(
                "Deletion task {} cannot be found.",
                self.deletion_task_id
            )));
        }
        out(api::GetServiceLinkedRoleDeletionStatusResult {
            status: "SUCCEEDED".to_string(),
            reason: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_role_names() {
        assert_eq!(
            service_role_name("elasticbeanstalk.amazonaws.com", None),
            "AWSServiceRoleForElasticBeanstalk"
        );
        assert_eq!(
            service_role_name("lexv2.amazonaws.com", Some("bot")),
            "AWSServiceRoleForLexV2Bots_bot"
        );
        assert_eq!(
            service_role_name("widgets.amazonaws.com", None),
            "AWSServiceRoleForWidgets"
        );
    }

    #[test]
    fn task_ids_name_their_role() {
        assert_eq!(
            task_role_arn(
                "123456789012",
                "task/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS/1-2"
            ),
            "arn:aws:iam::123456789012:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS"
        );
        assert_eq!(
            task_role_arn("123456789012", "bogus"),
            "arn:aws:iam::123456789012:role/bogus"
        );
    }
}
