//! Inline policies, alike for every entity kind (Put/Get/List/Delete of User, Group
//! and Role policies, one `inline_policy_operations!` line each; a service-linked
//! role's are only AWS's to change):
//! validated as AWS does (`MalformedPolicyDocument`), the kind's size quota over all
//! its inline policies together (whitespace not counted), names case-sensitive.

use iamd_api::iam as api;
use iamd_store::{Change, InlinePolicyRecord, Store};

use super::{out, page, url_encode, Cx, Operation, Output};
use crate::core::Iam;
use crate::entity::Entity;
use crate::error::IamError;
use crate::principal::{Check, Principal};
use crate::state::{Group, Role, User};

fn no_such_policy<E: Entity>(policy: &str) -> IamError {
    IamError::NoSuchEntity(format!(
        "The {} policy with name {policy} cannot be found.",
        E::OWNER.as_str()
    ))
}

async fn put<E: Entity, S: Store>(
    iam: &Iam<S>,
    owner: &str,
    policy: &str,
    doc: &str,
) -> Result<Output, IamError> {
    if let Some(f) = iamd_policy::validate(doc, iamd_policy::PolicyType::Inline)
        .into_iter()
        .next()
    {
        return Err(IamError::MalformedPolicyDocument(f.message));
    }
    iam.change(|state| {
        let e = E::named(state, owner)?;
        e.ensure_modifiable()?;
        let others: usize = e
            .policies()
            .iter()
            .filter(|(n, _)| n.as_str() != policy)
            .map(|(_, p)| iamd_policy::size_without_whitespace(&p.document))
            .sum();
        let limit = E::INLINE_POLICY_SIZE;
        if others + iamd_policy::size_without_whitespace(doc) > limit {
            return Err(IamError::LimitExceeded(format!(
                "Maximum policy size of {limit} bytes exceeded for {} {}",
                E::OWNER.as_str(),
                e.name()
            )));
        }
        Ok(vec![Change::PutInlinePolicy(InlinePolicyRecord {
            owner_kind: E::OWNER,
            owner_id: e.id().to_string(),
            name: policy.to_string(),
            document: doc.to_string(),
        })])
    })
    .await
}

/// The owner's exact name and the policy's document.
fn get<E: Entity, S: Store>(
    iam: &Iam<S>,
    owner: &str,
    policy: &str,
) -> Result<(String, String), IamError> {
    let state = iam.read();
    let e = E::named(&state, owner)?;
    let p = e
        .policies()
        .get(policy)
        .ok_or_else(|| no_such_policy::<E>(policy))?;
    Ok((e.name().to_string(), url_encode(&p.document)))
}

fn list<E: Entity, S: Store>(
    iam: &Iam<S>,
    owner: &str,
    marker: Option<&str>,
    max_items: Option<i32>,
) -> Result<(Vec<String>, bool, Option<String>), IamError> {
    let state = iam.read();
    let e = E::named(&state, owner)?;
    let items: Vec<(&String, String)> = e.policies().keys().map(|k| (k, k.clone())).collect();
    Ok(page(items, marker, max_items))
}

async fn delete<E: Entity, S: Store>(
    iam: &Iam<S>,
    owner: &str,
    policy: &str,
) -> Result<Output, IamError> {
    iam.change(|state| {
        let e = E::named(state, owner)?;
        e.ensure_modifiable()?;
        if !e.policies().contains_key(policy) {
            return Err(no_such_policy::<E>(policy));
        }
        Ok(vec![Change::DeleteInlinePolicy {
            owner_kind: E::OWNER,
            owner_id: e.id().to_string(),
            name: policy.to_string(),
        }])
    })
    .await
}

/// Put, Get, List and Delete of the inline policies of the kind `$E`, whose requests
/// (and Get's result) name it in `$name`.
macro_rules! inline_policy_operations {
    ($E:ty, $name:ident, $put:ident, $get:ident => $got:ident,
     $list:ident => $listed:ident, $delete:ident) => {
        impl Operation for api::$put {
            fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
                Ok(cx.entity::<$E>(&self.$name))
            }
            async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
                put::<$E, S>(iam, &self.$name, &self.policy_name, &self.policy_document).await
            }
        }

        impl Operation for api::$get {
            fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
                Ok(cx.entity::<$E>(&self.$name))
            }
            async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
                let ($name, policy_document) = get::<$E, S>(iam, &self.$name, &self.policy_name)?;
                out(api::$got {
                    $name,
                    policy_name: self.policy_name,
                    policy_document,
                })
            }
        }

        impl Operation for api::$list {
            fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
                Ok(cx.entity::<$E>(&self.$name))
            }
            async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
                let (policy_names, is_truncated, marker) =
                    list::<$E, S>(iam, &self.$name, self.marker.as_deref(), self.max_items)?;
                out(api::$listed {
                    policy_names,
                    is_truncated: Some(is_truncated),
                    marker,
                })
            }
        }

        impl Operation for api::$delete {
            fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
                Ok(cx.entity::<$E>(&self.$name))
            }
            async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
                delete::<$E, S>(iam, &self.$name, &self.policy_name).await
            }
        }
    };
}

inline_policy_operations!(User, user_name, PutUserPolicyRequest,
    GetUserPolicyRequest => GetUserPolicyResult,
    ListUserPoliciesRequest => ListUserPoliciesResult, DeleteUserPolicyRequest);
inline_policy_operations!(Group, group_name, PutGroupPolicyRequest,
    GetGroupPolicyRequest => GetGroupPolicyResult,
    ListGroupPoliciesRequest => ListGroupPoliciesResult, DeleteGroupPolicyRequest);
inline_policy_operations!(Role, role_name, PutRolePolicyRequest,
    GetRolePolicyRequest => GetRolePolicyResult,
    ListRolePoliciesRequest => ListRolePoliciesResult, DeleteRolePolicyRequest);
