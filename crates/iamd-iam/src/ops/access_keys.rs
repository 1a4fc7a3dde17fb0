//! Access keys: CreateAccessKey, ListAccessKeys, UpdateAccessKey, DeleteAccessKey,
//! GetAccessKeyLastUsed. A user has at most two; the root manages its own keys by
//! omitting `UserName`.

use iamd_api::iam as api;
use iamd_store::{AccessKeyRecord, Change, KeyStatus, Store};

use super::{out, page, quota, target_user, ts, Cx, Operation, Output};
use crate::core::{now_ms, Iam};
use crate::entity::Entity;
use crate::error::IamError;
use crate::principal::{Check, Principal};
use crate::state::{State, User};

fn no_key(id: &str) -> IamError {
    IamError::NoSuchEntity(format!("The Access Key with id {id} cannot be found."))
}

/// How a root key's owner is named in key listings and results (the root is no IAM
/// user, and `AccessKey.UserName` is required).
const ROOT_NAME: &str = "root";

/// Whether the request acts on the root's own keys: no `UserName`, root caller.
fn roots_own(p: &Principal, user: Option<&str>) -> bool {
    matches!((user, p), (None, Principal::Root { .. }))
}

/// The root's keys, in id order.
fn root_keys(state: &State) -> Vec<&crate::state::Key> {
    let mut keys: Vec<_> = state
        .keys
        .values()
        .filter(|k| k.rec.user_id.is_none())
        .collect();
    keys.sort_by(|a, b| a.rec.id.cmp(&b.rec.id));
    keys
}

fn too_many_keys() -> IamError {
    IamError::LimitExceeded(format!(
        "Cannot exceed quota for AccessKeysPerUser: {}",
        quota::ACCESS_KEYS_PER_USER
    ))
}

/// The key `id` of the named (or calling) user, or the root's own (no name, root
/// caller), as a record to change.
fn owned_key(
    state: &State,
    p: &Principal,
    user: Option<&str>,
    id: &str,
) -> Result<AccessKeyRecord, IamError> {
    if roots_own(p, user) {
        let k = state.keys.get(id).filter(|k| k.rec.user_id.is_none());
        return k.map(|k| k.rec.clone()).ok_or_else(|| no_key(id));
    }
    let u = target_user(state, p, user)?;
    if !u.keys.contains(id) {
        return Err(no_key(id));
    }
    state
        .keys
        .get(id)
        .map(|k| k.rec.clone())
        .ok_or_else(|| no_key(id))
}

impl Operation for api::CreateAccessKeyRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.user_or_caller(self.user_name.as_deref()))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, p: &Principal) -> Result<Output, IamError> {
        let id = crate::ids::access_key_id("AKIA")?;
        let secret = crate::ids::secret_access_key()?;
        let sealed = iam.inner.master.seal(&id, secret.as_bytes())?;
        let (user_name, created) = iam
            .write(|state| {
                // The root's own keys (AWS: two at most, like a user's).
                let (owner, user_id, count) = if roots_own(p, self.user_name.as_deref()) {
                    (ROOT_NAME.to_string(), None, root_keys(state).len())
                } else {
                    let u = target_user(state, p, self.user_name.as_deref())?;
                    (u.rec.name.clone(), Some(u.rec.id.clone()), u.keys.len())
                };
                if count >= quota::ACCESS_KEYS_PER_USER {
                    return Err(too_many_keys());
                }
                let rec = AccessKeyRecord {
                    id: id.clone(),
                    user_id,
                    status: KeyStatus::Active,
                    secret_ciphertext: sealed.clone(),
                    created: now_ms(),
                };
                let answer = (owner, rec.created);
                Ok((vec![Change::PutAccessKey(rec)], answer))
            })
            .await?;
        out(api::CreateAccessKeyResult {
            access_key: api::AccessKey {
                user_name,
                access_key_id: id,
                status: KeyStatus::Active.as_str().to_string(),
                secret_access_key: secret,
                create_date: Some(ts(created)),
            },
        })
    }
}

impl Operation for api::ListAccessKeysRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.user_or_caller(self.user_name.as_deref()))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, p: &Principal) -> Result<Output, IamError> {
        let state = iam.read();
        let (owner, keys) = if roots_own(p, self.user_name.as_deref()) {
            (ROOT_NAME, root_keys(&state))
        } else {
            let u = target_user(&state, p, self.user_name.as_deref())?;
            let keys = u.keys.iter().filter_map(|k| state.keys.get(k)).collect();
            (u.rec.name.as_str(), keys)
        };
        let items: Vec<(&String, api::AccessKeyMetadata)> = keys
            .into_iter()
            .map(|k| {
                (
                    &k.rec.id,
                    api::AccessKeyMetadata {
                        user_name: Some(owner.to_string()),
                        access_key_id: Some(k.rec.id.clone()),
                        status: Some(k.rec.status.as_str().to_string()),
                        create_date: Some(ts(k.rec.created)),
                    },
                )
            })
            .collect();
        let (access_key_metadata, is_truncated, marker) =
            page(items, self.marker.as_deref(), self.max_items);
        out(api::ListAccessKeysResult {
            access_key_metadata,
            is_truncated: Some(is_truncated),
            marker,
        })
    }
}

impl Operation for api::UpdateAccessKeyRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.user_or_caller(self.user_name.as_deref()))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, p: &Principal) -> Result<Output, IamError> {
        let Some(status) = KeyStatus::parse(&self.status) else {
            return Err(IamError::Validation(format!(
                "1 validation error detected: Value '{}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]",
                self.status
            )));
        };
        iam.change(|state| {
            let mut rec = owned_key(state, p, self.user_name.as_deref(), &self.access_key_id)?;
            rec.status = status;
            Ok(vec![Change::PutAccessKey(rec)])
        })
        .await
    }
}

impl Operation for api::DeleteAccessKeyRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.user_or_caller(self.user_name.as_deref()))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, p: &Principal) -> Result<Output, IamError> {
        iam.change(|state| {
            let rec = owned_key(state, p, self.user_name.as_deref(), &self.access_key_id)?;
            Ok(vec![Change::DeleteAccessKey { id: rec.id }])
        })
        .await
    }
}

impl Operation for api::GetAccessKeyLastUsedRequest {
    /// The resource is the user that owns the key (the caller for the root's keys or
    /// an unknown key).
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        let owner = cx
            .state
            .keys
            .get(&self.access_key_id)
            .and_then(|k| k.rec.user_id.as_ref())
            .and_then(|uid| User::by_id(cx.state, uid));
        Ok(match owner {
            Some(u) => cx.on(u.arn(cx.account), u.resource_tag_keys()),
            None => cx.user_or_caller(None),
        })
    }

    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        let state = iam.read();
        let id = &self.access_key_id;
        let k = state.keys.get(id).ok_or_else(|| no_key(id))?;
        let user_name = match &k.rec.user_id {
            Some(uid) => User::by_id(&state, uid).map(|u| u.rec.name.clone()),
            None => Some(ROOT_NAME.to_string()),
        };
        let last = match k.usage.get() {
            Some(u) => api::AccessKeyLastUsed {
                last_used_date: Some(ts(u.last_used)),
                service_name: u.service,
                region: u.region,
            },
            None => api::AccessKeyLastUsed {
                last_used_date: None,
                service_name: "N/A".into(),
                region: "N/A".into(),
            },
        };
        out(api::GetAccessKeyLastUsedResult {
            user_name,
            access_key_last_used: Some(last),
        })
    }
}
