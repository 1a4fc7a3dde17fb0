//! GetAccountAuthorizationDetails (a wildcard-only action): every user, group, role and
//! managed policy of the account with what is attached to it, as AWS shows them — inline
//! policies and policy versions URL-encoded (RFC 3986), roles with their instance
//! profiles and last use. The four kinds are one paged list (users, groups, roles, then
//! policies, each in name order), so `MaxItems` counts entities of every kind. Customer-
//! managed policies appear with every version; AWS-managed ones only while they are in
//! use in the account (attached, or a permissions boundary), with their default version.

use std::collections::BTreeSet;

use iamd_api::iam as api;
use iamd_store::Store;

use super::managed_policies::{api_policy, aws_version, find, local_version, Found};
use super::{instance_profiles, out, page, roles, tags, url_encode, Cx, Operation, Output};
use crate::core::Iam;
use crate::entity::Entity;
use crate::error::IamError;
use crate::policies::StoredPolicy;
use crate::principal::{Check, Principal};
use crate::state::{Group, InstanceProfile, Role, State, User};

/// One entity of the listing.
enum Item<'a> {
    User(&'a User),
    Group(&'a Group),
    Role(&'a Role),
    Policy(Found<'a>),
}

impl Operation for api::GetAccountAuthorizationDetailsRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.wildcard())
    }

    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        let state = iam.read();
        // No filter (or an empty one): every kind.
        let wanted = |kind: &str| match &self.filter {
            Some(f) if !f.is_empty() => f.iter().any(|k| k == kind),
            _ => true,
        };
        let mut items: Vec<(String, Item<'_>)> = Vec::new();
        if wanted("User") {
            items.extend(in_name_order::<User>(&state, 0).map(|(k, u)| (k, Item::User(u))));
        }
        if wanted("Group") {
            items.extend(in_name_order::<Group>(&state, 1).map(|(k, g)| (k, Item::Group(g))));
        }
        if wanted("Role") {
            items.extend(in_name_order::<Role>(&state, 2).map(|(k, r)| (k, Item::Role(r))));
        }
        let account = iam.account_id();
        let mut policies = policies_in_use(
            &state,
            account,
            wanted("LocalManagedPolicy"),
            wanted("AWSManagedPolicy"),
        );
        policies.sort_by(|a, b| a.0.cmp(&b.0));
        items.extend(policies.into_iter().map(|(k, p)| (k, Item::Policy(p))));

        let (shown, is_truncated, marker) = page(items, self.marker.as_deref(), self.max_items);
        let mut result = api::GetAccountAuthorizationDetailsResult {
            user_detail_list: Some(Vec::new()),
            group_detail_list: Some(Vec::new()),
            role_detail_list: Some(Vec::new()),
            policies: Some(Vec::new()),
            is_truncated: Some(is_truncated),
            marker,
        };
        for item in shown {
            match item {
                Item::User(u) => push(
                    &mut result.user_detail_list,
                    user_detail(&state, account, u),
                ),
                Item::Group(g) => push(&mut result.group_detail_list, group_detail(account, g)),
                Item::Role(r) => push(&mut result.role_detail_list, role_detail(iam, &state, r)),
                Item::Policy(p) => {
                    let mut detail = policy_detail(&p)?;
                    let shown = api_policy(&state, account, &p);
                    detail.policy_name = shown.policy_name;
                    detail.policy_id = shown.policy_id;
                    detail.arn = shown.arn;
                    detail.path = shown.path;
                    detail.default_version_id = shown.default_version_id;
                    detail.attachment_count = shown.attachment_count;
                    detail.permissions_boundary_usage_count =
                        shown.permissions_boundary_usage_count;
                    detail.is_attachable = shown.is_attachable;
                    detail.create_date = shown.create_date;
                    detail.update_date = shown.update_date;
                    push(&mut result.policies, detail);
                }
            }
        }
        out(result)
    }
}

fn push<T>(list: &mut Option<Vec<T>>, item: T) {
    list.get_or_insert_with(Vec::new).push(item);
}

/// The entities of kind `E` in name order, keyed for [`page`] after the kinds listed
/// before it (`rank`).
fn in_name_order<E: Entity>(state: &State, rank: u8) -> impl Iterator<Item = (String, &E)> {
    let (by_id, names) = E::table(state);
    names
        .iter()
        .filter_map(move |(lower, id)| by_id.get(id).map(|e| (format!("{rank}/{lower}"), e)))
}

/// The managed policies the listing shows, keyed for [`page`] by name and ARN (a
/// customer-managed policy may share an AWS-managed one's name).
fn policies_in_use<'a>(
    state: &'a State,
    account: &str,
    local: bool,
    aws: bool,
) -> Vec<(String, Found<'a>)> {
    let key = |name: &str, arn: &str| format!("3/{}/{arn}", name.to_lowercase());
    let mut found = Vec::new();
    if local {
        found.extend(
            state
                .policies
                .values()
                .map(|m| (key(&m.rec.name, &m.arn(account)), Found::Local(m))),
        );
    }
    if aws {
        found.extend(state.aws_managed_in_use().into_iter().filter_map(|arn| {
            match find(state, arn)? {
                Found::Aws(c) => Some((key(c.name(), arn), Found::Aws(c))),
                Found::Local(_) => None,
            }
        }));
    }
    found
}

/// Inline policies in name order, documents URL-encoded.
fn inline(policies: &std::collections::BTreeMap<String, StoredPolicy>) -> Vec<api::PolicyDetail> {
    policies
        .iter()
        .map(|(name, p)| api::PolicyDetail {
            policy_name: Some(name.clone()),
            policy_document: Some(url_encode(&p.document)),
        })
        .collect()
}

/// Attached managed policies by name (the name is the ARN's last segment).
fn attached(arns: &BTreeSet<String>) -> Vec<api::AttachedPolicy> {
    let mut list: Vec<api::AttachedPolicy> = arns
        .iter()
        .map(|arn| api::AttachedPolicy {
            policy_name: arn.rsplit('/').next().map(str::to_string),
            policy_arn: Some(arn.clone()),
        })
        .collect();
    list.sort_by(|a, b| (&a.policy_name, &a.policy_arn).cmp(&(&b.policy_name, &b.policy_arn)));
    list
}

fn user_detail(state: &State, account: &str, u: &User) -> api::UserDetail {
    let mut groups: Vec<&str> = u
        .groups
        .iter()
        .filter_map(|id| Group::by_id(state, id))
        .map(|g| g.rec.name.as_str())
        .collect();
    groups.sort_by_key(|n| n.to_lowercase());
    api::UserDetail {
        path: Some(u.rec.path.clone()),
        user_name: Some(u.rec.name.clone()),
        user_id: Some(u.rec.id.clone()),
        arn: Some(u.arn(account)),
        create_date: Some(super::ts(u.rec.created)),
        user_policy_list: Some(inline(&u.policies)),
        group_list: Some(groups.into_iter().map(str::to_string).collect()),
        attached_managed_policies: Some(attached(&u.attached)),
        permissions_boundary: super::boundaries::shown(u.rec.boundary_arn.as_ref()),
        tags: Some(tags::api_tags(&u.tags)),
    }
}

fn group_detail(account: &str, g: &Group) -> api::GroupDetail {
    api::GroupDetail {
        path: Some(g.rec.path.clone()),
        group_name: Some(g.rec.name.clone()),
        group_id: Some(g.rec.id.clone()),
        arn: Some(g.arn(account)),
        create_date: Some(super::ts(g.rec.created)),
        group_policy_list: Some(inline(&g.policies)),
        attached_managed_policies: Some(attached(&g.attached)),
    }
}

fn role_detail<S: Store>(iam: &Iam<S>, state: &State, r: &Role) -> api::RoleDetail {
    let full = roles::full_api(iam, r);
    let mut profiles: Vec<&InstanceProfile> = r
        .profiles
        .iter()
        .filter_map(|id| InstanceProfile::by_id(state, id))
        .collect();
    profiles.sort_by_key(|p| p.rec.name.to_lowercase());
    api::RoleDetail {
        path: Some(full.path),
        role_name: Some(full.role_name),
        role_id: Some(full.role_id),
        arn: Some(full.arn),
        create_date: Some(full.create_date),
        assume_role_policy_document: full.assume_role_policy_document,
        instance_profile_list: Some(
            profiles
                .into_iter()
                .map(|p| instance_profiles::shown(iam, state, p))
                .collect(),
        ),
        role_policy_list: Some(inline(&r.policies)),
        attached_managed_policies: Some(attached(&r.attached)),
        permissions_boundary: full.permissions_boundary,
        tags: Some(full.tags.unwrap_or_default()),
        role_last_used: full.role_last_used,
    }
}

/// A managed policy's description and versions (newest first, documents URL-encoded):
/// every version of a customer-managed policy, the default of an AWS-managed one.
fn policy_detail(p: &Found<'_>) -> Result<api::ManagedPolicyDetail, IamError> {
    let (description, versions) = match p {
        Found::Local(m) => (
            m.rec.description.clone(),
            m.versions
                .values()
                .rev()
                .map(|v| local_version(m, v, Some(url_encode(&v.rec.document))))
                .collect(),
        ),
        Found::Aws(c) => {
            let v = c.default_version();
            let doc = v
                .document()
                .map_err(|e| IamError::Internal(e.to_string()))?;
            (None, vec![aws_version(c, v, Some(url_encode(&doc)))])
        }
    };
    Ok(api::ManagedPolicyDetail {
        description,
        policy_version_list: Some(versions),
        ..Default::default()
    })
}
