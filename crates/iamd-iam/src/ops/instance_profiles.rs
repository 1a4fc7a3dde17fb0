//! Instance profiles: CreateInstanceProfile, GetInstanceProfile, ListInstanceProfiles,
//! DeleteInstanceProfile, AddRoleToInstanceProfile, RemoveRoleFromInstanceProfile,
//! ListInstanceProfilesForRole (tags: `tags.rs`). A profile holds one role at most.

use iamd_api::iam as api;
use iamd_store::{Change, InstanceProfileRecord, InstanceProfileRoleRecord, Store};

use super::{delete_conflict_unless, out, page, quota, tags, Cx, Operation, Output};
use crate::core::{now_ms, Iam};
use crate::entity::Entity;
use crate::error::IamError;
use crate::principal::{Check, Principal};
use crate::state::{InstanceProfile, Role, State};

/// The profile as AWS shows it: with its role and its tags.
pub(super) fn shown<S: Store>(
    iam: &Iam<S>,
    state: &State,
    p: &InstanceProfile,
) -> api::InstanceProfile {
    let mut shown = iam.api(p);
    shown.roles = p
        .roles
        .iter()
        .filter_map(|id| Role::by_id(state, id))
        .map(|r| iam.api(r))
        .collect();
    if !p.tags.is_empty() {
        shown.tags = Some(tags::api_tags(&p.tags));
    }
    shown
}

/// `api::$result` holding one page of `$profiles` for the request `$req`.
macro_rules! profile_page {
    ($result:ident, $iam:expr, $state:expr, $profiles:expr, $req:expr) => {{
        let (instance_profiles, is_truncated, marker) = listed(
            $iam,
            $state,
            $profiles,
            $req.marker.as_deref(),
            $req.max_items,
        );
        out(api::$result {
            instance_profiles,
            is_truncated: Some(is_truncated),
            marker,
        })
    }};
}

/// One page of `profiles`, in name order, as AWS shows them.
fn listed<'a, S: Store>(
    iam: &Iam<S>,
    state: &State,
    profiles: impl Iterator<Item = &'a InstanceProfile>,
    marker: Option<&str>,
    max_items: Option<i32>,
) -> (Vec<api::InstanceProfile>, bool, Option<String>) {
    let mut items: Vec<(String, api::InstanceProfile)> = profiles
        .map(|p| (p.name().to_lowercase(), shown(iam, state, p)))
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    page(items, marker, max_items)
}

impl Operation for api::CreateInstanceProfileRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.creation::<InstanceProfile>(
            self.path.as_deref(),
            &self.instance_profile_name,
            self.tags.as_deref(),
            None,
        ))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        let tags = self.tags.unwrap_or_default();
        let rec = InstanceProfileRecord {
            id: crate::ids::unique_id("AIPA")?,
            name: self.instance_profile_name,
            path: self.path.unwrap_or_else(|| "/".to_string()),
            created: now_ms(),
        };
        let mut instance_profile = iam
            .create_with::<InstanceProfile>(rec, |state, rec| {
                if state.profiles.len() >= quota::INSTANCE_PROFILES {
                    return Err(IamError::LimitExceeded(format!(
                        "Cannot exceed quota for InstanceProfilesPerAccount: {}",
                        quota::INSTANCE_PROFILES
                    )));
                }
                tags::tagging::<InstanceProfile>(&rec.id, &[], &tags)
            })
            .await?;
        if !tags.is_empty() {
            instance_profile.tags = Some(tags);
        }
        out(api::CreateInstanceProfileResult { instance_profile })
    }
}

impl Operation for api::GetInstanceProfileRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.entity::<InstanceProfile>(&self.instance_profile_name))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        let state = iam.read();
        let p = InstanceProfile::named(&state, &self.instance_profile_name)?;
        out(api::GetInstanceProfileResult {
            instance_profile: shown(iam, &state, p),
        })
    }
}

impl Operation for api::ListInstanceProfilesRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.listing::<InstanceProfile>(self.path_prefix.as_deref()))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        let state = iam.read();
        let prefix = self.path_prefix.as_deref().unwrap_or("/");
        let profiles = state
            .profiles
            .values()
            .filter(|p| p.rec.path.starts_with(prefix));
        profile_page!(ListInstanceProfilesResult, iam, &state, profiles, self)
    }
}

impl Operation for api::ListInstanceProfilesForRoleRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.entity::<Role>(&self.role_name))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        let state = iam.read();
        let r = Role::named(&state, &self.role_name)?;
        let profiles = r
            .profiles
            .iter()
            .filter_map(|id| InstanceProfile::by_id(&state, id));
        profile_page!(
            ListInstanceProfilesForRoleResult,
            iam,
            &state,
            profiles,
            self
        )
    }
}

impl Operation for api::DeleteInstanceProfileRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.entity::<InstanceProfile>(&self.instance_profile_name))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        iam.change(|state| {
            let p = InstanceProfile::named(state, &self.instance_profile_name)?;
            delete_conflict_unless(p.roles.is_empty(), "remove roles from instance profile")?;
            let mut changes = tags::untagging(p, |_| true);
            changes.push(Change::DeleteInstanceProfile {
                id: p.rec.id.clone(),
            });
            Ok(changes)
        })
        .await
    }
}

/// The profile and the role a request names, and the role's place in the profile.
fn profile_role<'a>(
    state: &'a State,
    profile: &str,
    role: &str,
) -> Result<(&'a InstanceProfile, InstanceProfileRoleRecord), IamError> {
    let p = InstanceProfile::named(state, profile)?;
    let r = Role::named(state, role)?;
    let m = InstanceProfileRoleRecord {
        profile_id: p.rec.id.clone(),
        role_id: r.rec.id.clone(),
    };
    Ok((p, m))
}

/// The one change AddRoleToInstanceProfile / RemoveRoleFromInstanceProfile make,
/// which `decide` returns from the profile and the role's place in it.
async fn profile_role_change<S: Store>(
    iam: &Iam<S>,
    profile: &str,
    role: &str,
    decide: impl Fn(&InstanceProfile, InstanceProfileRoleRecord) -> Result<Change, IamError>
        + Send
        + Sync,
) -> Result<Output, IamError> {
    iam.change(|state| {
        let (p, m) = profile_role(state, profile, role)?;
        Ok(vec![decide(p, m)?])
    })
    .await
}

/// `iam:AssociatedResourceArn` of the `iam:PassRole` AddRoleToInstanceProfile requires:
/// any instance of the caller's account (AWS's API reference: for this action the ARN
/// "must be `arn:aws:ec2:*:CallerAccountId:instance/*`").
fn any_instance(account: &str) -> String {
    format!("arn:aws:ec2:*:{account}:instance/*")
}

impl Operation for api::AddRoleToInstanceProfileRequest {
    /// The action on the instance profile, then `iam:PassRole` on the role (AWS's API
    /// reference, AddRoleToInstanceProfile: "The caller of this operation must be granted
    /// the PassRole permission on the IAM role by a permissions policy"), with the role's
    /// tags and `iam:AssociatedResourceArn` as condition keys. `iam:PassedToService` is
    /// not supplied: AWS documents no value for this action, so a policy that requires
    /// one does not allow it (fail closed).
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        let mut checks = cx.entity::<InstanceProfile>(&self.instance_profile_name);
        let (role, mut keys) = cx.target::<Role>(&self.role_name);
        keys.push((
            "iam:AssociatedResourceArn".to_string(),
            vec![any_instance(cx.account)],
        ));
        checks.push(Check::on("iam:PassRole", role, keys));
        Ok(checks)
    }

    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        profile_role_change(iam, &self.instance_profile_name, &self.role_name, |p, m| {
            if p.roles.len() >= quota::ROLES_PER_INSTANCE_PROFILE {
                return Err(IamError::LimitExceeded(format!(
                    "Cannot exceed quota for InstanceSessionsPerInstanceProfile: {}",
                    quota::ROLES_PER_INSTANCE_PROFILE
                )));
            }
            Ok(Change::PutInstanceProfileRole(m))
        })
        .await
    }
}

impl Operation for api::RemoveRoleFromInstanceProfileRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.entity::<InstanceProfile>(&self.instance_profile_name))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        let role = &self.role_name;
        profile_role_change(iam, &self.instance_profile_name, role, |p, m| {
            if !p.roles.contains(&m.role_id) {
                return Err(Role::not_found(role));
            }
            Ok(Change::DeleteInstanceProfileRole(m))
        })
        .await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, reason = "tests")]
mod tests {
    use crate::error::IamError;
    use crate::ops::url_encode;
    use crate::testing::{call, ok, open, MemStore, ACCOUNT};

    /// AddRoleToInstanceProfile needs `iam:PassRole` on the role besides its own action,
    /// with `iam:AssociatedResourceArn` `arn:aws:ec2:*:ACCOUNT:instance/*`.
    #[tokio::test]
    async fn adding_a_role_needs_pass_role() {
        let iam = open(MemStore::default()).await;
        ok(&iam, "CreateUser", "UserName=ops").await;
        let trust = super::super::tests::EC2_TRUST;
        for r in ["web", "admin"] {
            let form = format!("RoleName={r}&AssumeRolePolicyDocument={trust}");
            ok(&iam, "CreateRole", &form).await;
        }
        ok(&iam, "CreateInstanceProfile", "InstanceProfileName=p").await;
        let ops = super::super::tests::user(&iam, "ops");
        let put = |doc: &str| {
            format!(
                "UserName=ops&PolicyName=p&PolicyDocument={}",
                url_encode(doc)
            )
        };
        ok(
            &iam,
            "PutUserPolicy",
            &put(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:AddRoleToInstanceProfile","Resource":"*"}]}"#),
        )
        .await;
        let add = |role: &str| format!("InstanceProfileName=p&RoleName={role}");
        match call(&iam, &ops, "AddRoleToInstanceProfile", &add("web")).await {
            Err(IamError::AccessDenied(m)) => assert!(
                m.starts_with(&format!(
                    "User: arn:aws:iam::{ACCOUNT}:user/ops is not authorized to perform: iam:PassRole on resource: role web"
                )),
                "{m}"
            ),
            other => panic!("{other:?}"),
        }
        // PassRole on web only, for instances of this account.
        let both = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"iam:AddRoleToInstanceProfile","Resource":"*"}},
            {{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::{ACCOUNT}:role/web",
              "Condition":{{"ArnLike":{{"iam:AssociatedResourceArn":"arn:aws:ec2:*:{ACCOUNT}:instance/*"}}}}}}]}}"#
        );
        ok(&iam, "PutUserPolicy", &put(&both)).await;
        assert!(call(&iam, &ops, "AddRoleToInstanceProfile", &add("admin"))
            .await
            .is_err());
        call(&iam, &ops, "AddRoleToInstanceProfile", &add("web"))
            .await
            .unwrap();
    }
}
