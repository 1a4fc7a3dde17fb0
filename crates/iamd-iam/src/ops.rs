//! The IAM operations: AWS's entity rules for users, groups, inline policies and
//! access keys, over the in-memory view, committed through the store.

use std::collections::{BTreeMap, BTreeSet};

use iamd_api::iam::{self as api, IamRequest};
use iamd_api::{Timestamp, WriteXml};
use iamd_store::{
    AccessKeyRecord, Change, GroupRecord, InlinePolicyRecord, KeyStatus, MembershipRecord,
    OwnerKind, Store, TagRecord, UserRecord,
};

use crate::core::{now_ms, Iam};
use crate::entity::Entity;
use crate::error::IamError;
use crate::principal::Principal;
use crate::state::{Group, State, User};

/// AWS quotas this service enforces.
pub mod quota {
    pub const ACCESS_KEYS_PER_USER: usize = 2;
    pub const GROUPS_PER_USER: usize = 10;
    pub const USER_POLICY_SIZE: usize = 2048;
    pub const GROUP_POLICY_SIZE: usize = 5120;
    pub const TAGS_PER_ENTITY: usize = 50;
    pub const USERS: i32 = 5000;
    pub const GROUPS: i32 = 300;
}

/// The result of an operation, ready to encode (`None`: the operation has no output).
pub type Output = Option<Box<dyn WriteXml + Send>>;

pub fn user_arn(account: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:user{path}{name}")
}

pub fn group_arn(account: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:group{path}{name}")
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn out<T: WriteXml + Send + 'static>(v: T) -> Result<Output, IamError> {
    Ok(Some(Box::new(v)))
}

/// Percent-encodes a policy document as AWS returns it (RFC 3986 unreserved kept).
pub fn url_encode(doc: &str) -> String {
    let mut s = String::with_capacity(doc.len() * 2);
    for b in doc.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            s.push(b as char);
        } else {
            s.push('%');
            s.push(char::from(b"0123456789ABCDEF"[(b >> 4) as usize]));
            s.push(char::from(b"0123456789ABCDEF"[(b & 15) as usize]));
        }
    }
    s
}

/// One page of `items` (already in AWS's order) after the opaque `marker`.
/// Markers are the sort key of the first item of the next page.
fn page<T, K: AsRef<str>>(
    items: Vec<(K, T)>,
    marker: Option<&str>,
    max_items: Option<i32>,
) -> (Vec<T>, bool, Option<String>) {
    let max = max_items.unwrap_or(100).max(1) as usize;
    let start = match marker {
        Some(m) => items
            .iter()
            .position(|(k, _)| k.as_ref() >= m)
            .unwrap_or(items.len()),
        None => 0,
    };
    let mut rest = items.into_iter().skip(start);
    let taken: Vec<T> = rest.by_ref().take(max).map(|(_, v)| v).collect();
    match rest.next() {
        Some((k, _)) => (taken, true, Some(k.as_ref().to_string())),
        None => (taken, false, None),
    }
}

impl<S: Store> Iam<S> {
    /// An entity as AWS returns it.
    fn api<E: Entity>(&self, e: &E) -> E::Api {
        e.to_api(self.account_id())
    }

    /// The user a request names, or the calling user when the name is omitted.
    fn target_user<'a>(
        &self,
        state: &'a State,
        p: &Principal,
        name: Option<&str>,
    ) -> Result<&'a User, IamError> {
        match (name, p) {
            (Some(n), _) => User::named(state, n),
            (None, Principal::User { id, name, .. }) => {
                state.users.get(id).ok_or_else(|| User::not_found(name))
            }
            (None, Principal::Root { .. }) => Err(IamError::Validation(
                "Must specify userName when calling with non-User credentials".to_string(),
            )),
        }
    }

    /// Runs one IAM operation for an already authorized caller (only the front door,
    /// [`Iam::handle`], calls this).
    pub(crate) async fn execute(&self, p: &Principal, req: IamRequest) -> Result<Output, IamError> {
        match req {
            IamRequest::CreateUser(r) => self.create_user(r).await,
            IamRequest::GetUser(r) => self.get_user(p, r),
            IamRequest::ListUsers(r) => self.list_users(r),
            IamRequest::UpdateUser(r) => {
                self.update_entity::<User>(&r.user_name, r.new_user_name, r.new_path)
                    .await
            }
            IamRequest::DeleteUser(r) => self.delete_user(&r.user_name).await,
            IamRequest::TagUser(r) => self.tag_user(r).await,
            IamRequest::UntagUser(r) => self.untag_user(r).await,
            IamRequest::ListUserTags(r) => self.list_user_tags(r),
            IamRequest::CreateGroup(r) => self.create_group(r).await,
            IamRequest::GetGroup(r) => self.get_group(r),
            IamRequest::ListGroups(r) => self.list_groups(r),
            IamRequest::UpdateGroup(r) => {
                self.update_entity::<Group>(&r.group_name, r.new_group_name, r.new_path)
                    .await
            }
            IamRequest::DeleteGroup(r) => self.delete_group(&r.group_name).await,
            IamRequest::AddUserToGroup(r) => {
                self.add_user_to_group(&r.group_name, &r.user_name).await
            }
            IamRequest::RemoveUserFromGroup(r) => {
                self.remove_user_from_group(&r.group_name, &r.user_name)
                    .await
            }
            IamRequest::ListGroupsForUser(r) => self.list_groups_for_user(r),
            IamRequest::PutUserPolicy(r) => {
                self.put_inline(
                    OwnerKind::User,
                    &r.user_name,
                    &r.policy_name,
                    &r.policy_document,
                )
                .await
            }
            IamRequest::PutGroupPolicy(r) => {
                self.put_inline(
                    OwnerKind::Group,
                    &r.group_name,
                    &r.policy_name,
                    &r.policy_document,
                )
                .await
            }
            IamRequest::GetUserPolicy(r) => {
                let (owner, doc) =
                    self.get_inline(OwnerKind::User, &r.user_name, &r.policy_name)?;
                out(api::GetUserPolicyResult {
                    user_name: owner,
                    policy_name: r.policy_name,
                    policy_document: url_encode(&doc),
                })
            }
            IamRequest::GetGroupPolicy(r) => {
                let (owner, doc) =
                    self.get_inline(OwnerKind::Group, &r.group_name, &r.policy_name)?;
                out(api::GetGroupPolicyResult {
                    group_name: owner,
                    policy_name: r.policy_name,
                    policy_document: url_encode(&doc),
                })
            }
            IamRequest::ListUserPolicies(r) => {
                let (names, is_truncated, marker) = self.list_inline(
                    OwnerKind::User,
                    &r.user_name,
                    r.marker.as_deref(),
                    r.max_items,
                )?;
                out(api::ListUserPoliciesResult {
                    policy_names: names,
                    is_truncated: Some(is_truncated),
                    marker,
                })
            }
            IamRequest::ListGroupPolicies(r) => {
                let (names, is_truncated, marker) = self.list_inline(
                    OwnerKind::Group,
                    &r.group_name,
                    r.marker.as_deref(),
                    r.max_items,
                )?;
                out(api::ListGroupPoliciesResult {
                    policy_names: names,
                    is_truncated: Some(is_truncated),
                    marker,
                })
            }
            IamRequest::DeleteUserPolicy(r) => {
                self.delete_inline(OwnerKind::User, &r.user_name, &r.policy_name)
                    .await
            }
            IamRequest::DeleteGroupPolicy(r) => {
                self.delete_inline(OwnerKind::Group, &r.group_name, &r.policy_name)
                    .await
            }
            IamRequest::CreateAccessKey(r) => {
                self.create_access_key(p, r.user_name.as_deref()).await
            }
            IamRequest::ListAccessKeys(r) => self.list_access_keys(p, r),
            IamRequest::UpdateAccessKey(r) => {
                self.update_access_key(p, r.user_name.as_deref(), &r.access_key_id, &r.status)
                    .await
            }
            IamRequest::DeleteAccessKey(r) => {
                self.delete_access_key(p, r.user_name.as_deref(), &r.access_key_id)
                    .await
            }
            IamRequest::GetAccessKeyLastUsed(r) => self.get_access_key_last_used(&r.access_key_id),
            IamRequest::GetAccountSummary(_) => self.get_account_summary(),
            IamRequest::SimulateCustomPolicy(r) => self.simulate_custom_policy(r),
            IamRequest::SimulatePrincipalPolicy(r) => self.simulate_principal_policy(r),
            IamRequest::GetContextKeysForCustomPolicy(r) => {
                self.get_context_keys_for_custom_policy(r)
            }
            IamRequest::GetContextKeysForPrincipalPolicy(r) => {
                self.get_context_keys_for_principal_policy(r)
            }
            other => Err(IamError::NotImplemented(format!(
                "The operation {} is not implemented by this server yet.",
                other.operation_name()
            ))),
        }
    }

    // ----- any entity kind -----------------------------------------------------------

    /// Commits the changes that create the entity `id` named `name` (the caller holds
    /// the write lock and has checked the name free) and returns it as AWS shows it.
    /// A writer elsewhere that took the name first makes it EntityAlreadyExists.
    async fn commit_new<E: Entity>(
        &self,
        name: &str,
        id: &str,
        changes: Vec<Change>,
    ) -> Result<E::Api, IamError> {
        self.commit(changes).await.map_err(|e| match e {
            IamError::ConcurrentModification(_) => E::already_exists(name),
            other => other,
        })?;
        let state = self.read();
        let e = E::by_id(&state, id).ok_or_else(|| {
            IamError::Internal(format!("created {} vanished", E::KIND.to_lowercase()))
        })?;
        Ok(self.api(e))
    }

    /// ListUsers, ListGroups: one page of the entities whose path starts with
    /// `path_prefix` (default `/`), in name order.
    fn list_entities<E: Entity>(
        &self,
        path_prefix: Option<String>,
        marker: Option<&str>,
        max_items: Option<i32>,
    ) -> (Vec<E::Api>, bool, Option<String>) {
        let prefix = path_prefix.unwrap_or_else(|| "/".to_string());
        let state = self.read();
        let items: Vec<(&String, E::Api)> = E::names(&state)
            .iter()
            .filter_map(|(lower, id)| E::by_id(&state, id).map(|e| (lower, e)))
            .filter(|(_, e)| e.path().starts_with(&prefix))
            .map(|(lower, e)| (lower, self.api(e)))
            .collect();
        page(items, marker, max_items)
    }

    /// The entities with these ids as AWS shows them, keyed and sorted by lower(name)
    /// for [`page`] (a group's members, a user's groups).
    fn in_name_order<E: Entity>(
        &self,
        state: &State,
        ids: &BTreeSet<String>,
    ) -> Vec<(String, E::Api)> {
        let mut items: Vec<(String, E::Api)> = ids
            .iter()
            .filter_map(|id| E::by_id(state, id))
            .map(|e| (e.name().to_lowercase(), self.api(e)))
            .collect();
        items.sort_by(|a, b| a.0.cmp(&b.0));
        items
    }

    /// UpdateUser, UpdateGroup: a new name (free, or the entity's own in another case)
    /// and/or a new path.
    async fn update_entity<E: Entity>(
        &self,
        name: &str,
        new_name: Option<String>,
        new_path: Option<String>,
    ) -> Result<Output, IamError> {
        let _w = self.write_lock().await;
        let change = {
            let state = self.read();
            let e = E::named(&state, name)?;
            if let Some(new) = &new_name {
                E::ensure_name_free(&state, new, Some(e.id()))?;
            }
            e.renamed(new_name, new_path)
        };
        self.commit(vec![change]).await?;
        Ok(None)
    }

    // ----- users -------------------------------------------------------------------

    async fn create_user(&self, r: api::CreateUserRequest) -> Result<Output, IamError> {
        let path = r.path.unwrap_or_else(|| "/".to_string());
        let tags = r.tags.unwrap_or_default();
        check_tags(&tags, 0, &[])?;
        let _w = self.write_lock().await;
        User::ensure_name_free(&self.read(), &r.user_name, None)?;
        let rec = UserRecord {
            id: crate::ids::unique_id("AIDA")?,
            name: r.user_name.clone(),
            path,
            created: now_ms(),
            boundary_arn: None,
        };
        let mut changes = vec![Change::PutUser(rec.clone())];
        changes.extend(tags.iter().map(|t| {
            Change::PutTag(TagRecord {
                owner_kind: OwnerKind::User,
                owner_id: rec.id.clone(),
                key: t.key.clone(),
                value: t.value.clone(),
            })
        }));
        let mut user = self
            .commit_new::<User>(&r.user_name, &rec.id, changes)
            .await?;
        if !tags.is_empty() {
            user.tags = Some(tags);
        }
        out(api::CreateUserResult { user: Some(user) })
    }

    fn get_user(&self, p: &Principal, r: api::GetUserRequest) -> Result<Output, IamError> {
        let state = self.read();
        if r.user_name.is_none() {
            if let Principal::Root { account } = p {
                // The root has no user name or path: AWS omits them.
                let created = state.account.as_ref().map(|a| a.created).unwrap_or(0);
                return out(RootUserResult {
                    user_id: account.clone(),
                    arn: p.arn().into_owned(),
                    created: ts(created),
                });
            }
        }
        let u = self.target_user(&state, p, r.user_name.as_deref())?;
        let mut user = self.api(u);
        if !u.tags.is_empty() {
            user.tags = Some(
                u.tags
                    .iter()
                    .map(|(k, v)| api::Tag {
                        key: k.clone(),
                        value: v.clone(),
                    })
                    .collect(),
            );
        }
        out(api::GetUserResult { user })
    }

    fn list_users(&self, r: api::ListUsersRequest) -> Result<Output, IamError> {
        let (users, is_truncated, marker) =
            self.list_entities::<User>(r.path_prefix, r.marker.as_deref(), r.max_items);
        out(api::ListUsersResult {
            users,
            is_truncated: Some(is_truncated),
            marker,
        })
    }

    async fn delete_user(&self, name: &str) -> Result<Output, IamError> {
        let _w = self.write_lock().await;
        let (id, tags) = {
            let state = self.read();
            let u = User::named(&state, name)?;
            delete_conflict_unless(u.keys.is_empty(), "delete access keys")?;
            delete_conflict_unless(u.policies.is_empty(), "delete policies")?;
            delete_conflict_unless(u.groups.is_empty(), "remove users from group")?;
            (
                u.rec.id.clone(),
                u.tags.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
            )
        };
        let mut changes: Vec<Change> = tags
            .into_iter()
            .map(|key| Change::DeleteTag {
                owner_kind: OwnerKind::User,
                owner_id: id.clone(),
                key,
            })
            .collect();
        changes.push(Change::DeleteUser { id });
        self.commit(changes).await?;
        Ok(None)
    }

    async fn tag_user(&self, r: api::TagUserRequest) -> Result<Output, IamError> {
        let _w = self.write_lock().await;
        let (id, existing) = {
            let state = self.read();
            let u = User::named(&state, &r.user_name)?;
            (u.rec.id.clone(), u.tags.clone())
        };
        check_tags(&r.tags, existing.len(), &existing)?;
        let mut changes = Vec::new();
        for t in &r.tags {
            if let Some((old, _)) = existing
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&t.key) && *k != t.key)
            {
                changes.push(Change::DeleteTag {
                    owner_kind: OwnerKind::User,
                    owner_id: id.clone(),
                    key: old.clone(),
                });
            }
            changes.push(Change::PutTag(TagRecord {
                owner_kind: OwnerKind::User,
                owner_id: id.clone(),
                key: t.key.clone(),
                value: t.value.clone(),
            }));
        }
        self.commit(changes).await?;
        Ok(None)
    }

    async fn untag_user(&self, r: api::UntagUserRequest) -> Result<Output, IamError> {
        let _w = self.write_lock().await;
        let changes: Vec<Change> = {
            let state = self.read();
            let u = User::named(&state, &r.user_name)?;
            u.tags
                .iter()
                .filter(|(k, _)| r.tag_keys.iter().any(|d| d.eq_ignore_ascii_case(k)))
                .map(|(k, _)| Change::DeleteTag {
                    owner_kind: OwnerKind::User,
                    owner_id: u.rec.id.clone(),
                    key: k.clone(),
                })
                .collect()
        };
        self.commit(changes).await?;
        Ok(None)
    }

    fn list_user_tags(&self, r: api::ListUserTagsRequest) -> Result<Output, IamError> {
        let state = self.read();
        let u = User::named(&state, &r.user_name)?;
        let items: Vec<(String, api::Tag)> = u
            .tags
            .iter()
            .enumerate()
            .map(|(i, (k, v))| {
                (
                    format!("{i:06}"),
                    api::Tag {
                        key: k.clone(),
                        value: v.clone(),
                    },
                )
            })
            .collect();
        let (tags, is_truncated, marker) = page(items, r.marker.as_deref(), r.max_items);
        out(api::ListUserTagsResult {
            tags,
            is_truncated: Some(is_truncated),
            marker,
        })
    }

    // ----- groups ------------------------------------------------------------------

    async fn create_group(&self, r: api::CreateGroupRequest) -> Result<Output, IamError> {
        let _w = self.write_lock().await;
        Group::ensure_name_free(&self.read(), &r.group_name, None)?;
        let rec = GroupRecord {
            id: crate::ids::unique_id("AGPA")?,
            name: r.group_name.clone(),
            path: r.path.unwrap_or_else(|| "/".to_string()),
            created: now_ms(),
        };
        let group = self
            .commit_new::<Group>(&r.group_name, &rec.id, vec![Change::PutGroup(rec.clone())])
            .await?;
        out(api::CreateGroupResult { group })
    }

    fn get_group(&self, r: api::GetGroupRequest) -> Result<Output, IamError> {
        let state = self.read();
        let g = Group::named(&state, &r.group_name)?;
        let members = self.in_name_order::<User>(&state, &g.members);
        let (users, is_truncated, marker) = page(members, r.marker.as_deref(), r.max_items);
        out(api::GetGroupResult {
            group: self.api(g),
            users,
            is_truncated: Some(is_truncated),
            marker,
        })
    }

    fn list_groups(&self, r: api::ListGroupsRequest) -> Result<Output, IamError> {
        let (groups, is_truncated, marker) =
            self.list_entities::<Group>(r.path_prefix, r.marker.as_deref(), r.max_items);
        out(api::ListGroupsResult {
            groups,
            is_truncated: Some(is_truncated),
            marker,
        })
    }

    async fn delete_group(&self, name: &str) -> Result<Output, IamError> {
        let _w = self.write_lock().await;
        let id = {
            let state = self.read();
            let g = Group::named(&state, name)?;
            delete_conflict_unless(g.members.is_empty(), "remove users from group")?;
            delete_conflict_unless(g.policies.is_empty(), "delete policies")?;
            g.rec.id.clone()
        };
        self.commit(vec![Change::DeleteGroup { id }]).await?;
        Ok(None)
    }

    async fn add_user_to_group(&self, group: &str, user: &str) -> Result<Output, IamError> {
        let _w = self.write_lock().await;
        let m = {
            let state = self.read();
            let g = Group::named(&state, group)?;
            let u = User::named(&state, user)?;
            if u.groups.contains(&g.rec.id) {
                return Ok(None);
            }
            if u.groups.len() >= quota::GROUPS_PER_USER {
                return Err(IamError::LimitExceeded(format!(
                    "Cannot exceed quota for GroupsPerUser: {}",
                    quota::GROUPS_PER_USER
                )));
            }
            MembershipRecord {
                group_id: g.rec.id.clone(),
                user_id: u.rec.id.clone(),
            }
        };
        self.commit(vec![Change::PutMembership(m)]).await?;
        Ok(None)
    }

    async fn remove_user_from_group(&self, group: &str, user: &str) -> Result<Output, IamError> {
        let _w = self.write_lock().await;
        let m = {
            let state = self.read();
            let g = Group::named(&state, group)?;
            let u = User::named(&state, user)?;
            if !g.members.contains(&u.rec.id) {
                return Err(IamError::NoSuchEntity(format!(
                    "User {} is not in group {}.",
                    u.rec.name, g.rec.name
                )));
            }
            MembershipRecord {
                group_id: g.rec.id.clone(),
                user_id: u.rec.id.clone(),
            }
        };
        self.commit(vec![Change::DeleteMembership(m)]).await?;
        Ok(None)
    }

    fn list_groups_for_user(&self, r: api::ListGroupsForUserRequest) -> Result<Output, IamError> {
        let state = self.read();
        let u = User::named(&state, &r.user_name)?;
        let items = self.in_name_order::<Group>(&state, &u.groups);
        let (groups, is_truncated, marker) = page(items, r.marker.as_deref(), r.max_items);
        out(api::ListGroupsForUserResult {
            groups,
            is_truncated: Some(is_truncated),
            marker,
        })
    }

    // ----- inline policies -----------------------------------------------------------

    /// (owner id, owner's exact name, its inline policies) of a user or group.
    fn inline_owner<'a>(
        state: &'a State,
        kind: OwnerKind,
        name: &str,
    ) -> Result<(String, String, &'a BTreeMap<String, crate::StoredPolicy>), IamError> {
        match kind {
            OwnerKind::User => {
                let u = User::named(state, name)?;
                Ok((u.rec.id.clone(), u.rec.name.clone(), &u.policies))
            }
            _ => {
                let g = Group::named(state, name)?;
                Ok((g.rec.id.clone(), g.rec.name.clone(), &g.policies))
            }
        }
    }

    async fn put_inline(
        &self,
        kind: OwnerKind,
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
        let _w = self.write_lock().await;
        let owner_id = {
            let state = self.read();
            let (owner_id, owner_name, existing) = Self::inline_owner(&state, kind, owner)?;
            let others: usize = existing
                .iter()
                .filter(|(n, _)| n.as_str() != policy)
                .map(|(_, p)| iamd_policy::size_without_whitespace(&p.document))
                .sum();
            let (limit, what) = match kind {
                OwnerKind::User => (quota::USER_POLICY_SIZE, "user"),
                _ => (quota::GROUP_POLICY_SIZE, "group"),
            };
            if others + iamd_policy::size_without_whitespace(doc) > limit {
                return Err(IamError::LimitExceeded(format!(
                    "Maximum policy size of {limit} bytes exceeded for {what} {owner_name}"
                )));
            }
            owner_id
        };
        self.commit(vec![Change::PutInlinePolicy(InlinePolicyRecord {
            owner_kind: kind,
            owner_id,
            name: policy.to_string(),
            document: doc.to_string(),
        })])
        .await?;
        Ok(None)
    }

    fn get_inline(
        &self,
        kind: OwnerKind,
        owner: &str,
        policy: &str,
    ) -> Result<(String, String), IamError> {
        let state = self.read();
        let (_, owner_name, policies) = Self::inline_owner(&state, kind, owner)?;
        let p = policies
            .get(policy)
            .ok_or_else(|| no_such_policy(kind, policy))?;
        Ok((owner_name, p.document.to_string()))
    }

    fn list_inline(
        &self,
        kind: OwnerKind,
        owner: &str,
        marker: Option<&str>,
        max_items: Option<i32>,
    ) -> Result<(Vec<String>, bool, Option<String>), IamError> {
        let state = self.read();
        let (_, _, policies) = Self::inline_owner(&state, kind, owner)?;
        let items: Vec<(&String, String)> = policies.keys().map(|k| (k, k.clone())).collect();
        Ok(page(items, marker, max_items))
    }

    async fn delete_inline(
        &self,
        kind: OwnerKind,
        owner: &str,
        policy: &str,
    ) -> Result<Output, IamError> {
        let _w = self.write_lock().await;
        let owner_id = {
            let state = self.read();
            let (owner_id, _, policies) = Self::inline_owner(&state, kind, owner)?;
            if !policies.contains_key(policy) {
                return Err(no_such_policy(kind, policy));
            }
            owner_id
        };
        self.commit(vec![Change::DeleteInlinePolicy {
            owner_kind: kind,
            owner_id,
            name: policy.to_string(),
        }])
        .await?;
        Ok(None)
    }

    // ----- access keys ---------------------------------------------------------------

    async fn create_access_key(
        &self,
        p: &Principal,
        user: Option<&str>,
    ) -> Result<Output, IamError> {
        let _w = self.write_lock().await;
        let (user_id, user_name) = {
            let state = self.read();
            let u = self.target_user(&state, p, user)?;
            if u.keys.len() >= quota::ACCESS_KEYS_PER_USER {
                return Err(IamError::LimitExceeded(format!(
                    "Cannot exceed quota for AccessKeysPerUser: {}",
                    quota::ACCESS_KEYS_PER_USER
                )));
            }
            (u.rec.id.clone(), u.rec.name.clone())
        };
        let id = crate::ids::access_key_id("AKIA")?;
        let secret = crate::ids::secret_access_key()?;
        let rec = AccessKeyRecord {
            id: id.clone(),
            user_id: Some(user_id),
            status: KeyStatus::Active,
            secret_ciphertext: self.inner.master.seal(&id, secret.as_bytes())?,
            created: now_ms(),
        };
        let created = rec.created;
        self.commit(vec![Change::PutAccessKey(rec)]).await?;
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

    fn list_access_keys(
        &self,
        p: &Principal,
        r: api::ListAccessKeysRequest,
    ) -> Result<Output, IamError> {
        let state = self.read();
        let u = self.target_user(&state, p, r.user_name.as_deref())?;
        let items: Vec<(&String, api::AccessKeyMetadata)> = u
            .keys
            .iter()
            .filter_map(|k| state.keys.get(k))
            .map(|k| {
                (
                    &k.rec.id,
                    api::AccessKeyMetadata {
                        user_name: Some(u.rec.name.clone()),
                        access_key_id: Some(k.rec.id.clone()),
                        status: Some(k.rec.status.as_str().to_string()),
                        create_date: Some(ts(k.rec.created)),
                    },
                )
            })
            .collect();
        let (access_key_metadata, is_truncated, marker) =
            page(items, r.marker.as_deref(), r.max_items);
        out(api::ListAccessKeysResult {
            access_key_metadata,
            is_truncated: Some(is_truncated),
            marker,
        })
    }

    /// The key `id` of the named (or calling) user, as a record to change.
    fn owned_key(
        &self,
        state: &State,
        p: &Principal,
        user: Option<&str>,
        id: &str,
    ) -> Result<AccessKeyRecord, IamError> {
        let no_key =
            || IamError::NoSuchEntity(format!("The Access Key with id {id} cannot be found."));
        match (user, p) {
            // The root managing its own keys.
            (None, Principal::Root { .. }) => {
                let k = state
                    .keys
                    .get(id)
                    .filter(|k| k.rec.user_id.is_none())
                    .ok_or_else(no_key)?;
                Ok(k.rec.clone())
            }
            _ => {
                let u = self.target_user(state, p, user)?;
                if !u.keys.contains(id) {
                    return Err(no_key());
                }
                state.keys.get(id).map(|k| k.rec.clone()).ok_or_else(no_key)
            }
        }
    }

    async fn update_access_key(
        &self,
        p: &Principal,
        user: Option<&str>,
        id: &str,
        status: &str,
    ) -> Result<Output, IamError> {
        let status = match status {
            "Active" => KeyStatus::Active,
            "Inactive" => KeyStatus::Inactive,
            other => {
                return Err(IamError::Validation(format!(
                    "1 validation error detected: Value '{other}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]"
                )))
            }
        };
        let _w = self.write_lock().await;
        let mut rec = self.owned_key(&self.read(), p, user, id)?;
        rec.status = status;
        self.commit(vec![Change::PutAccessKey(rec)]).await?;
        Ok(None)
    }

    async fn delete_access_key(
        &self,
        p: &Principal,
        user: Option<&str>,
        id: &str,
    ) -> Result<Output, IamError> {
        let _w = self.write_lock().await;
        let rec = self.owned_key(&self.read(), p, user, id)?;
        self.commit(vec![Change::DeleteAccessKey { id: rec.id }])
            .await?;
        Ok(None)
    }

    fn get_access_key_last_used(&self, id: &str) -> Result<Output, IamError> {
        let state = self.read();
        let k = state.keys.get(id).ok_or_else(|| {
            IamError::NoSuchEntity(format!("The Access Key with id {id} cannot be found."))
        })?;
        let user_name = match &k.rec.user_id {
            Some(uid) => state.users.get(uid).map(|u| u.rec.name.clone()),
            None => Some("root".to_string()),
        };
        let last = match k.usage.get() {
            Some(u) => api::AccessKeyLastUsed {
                last_used_date: Some(ts(u.last_used)),
                service_name: u.service.clone(),
                region: u.region.clone(),
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

    fn get_account_summary(&self) -> Result<Output, IamError> {
        let state = self.read();
        let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
        let mut m = BTreeMap::new();
        m.insert("Users".to_string(), count(state.users.len()));
        m.insert("UsersQuota".to_string(), quota::USERS);
        m.insert("Groups".to_string(), count(state.groups.len()));
        m.insert("GroupsQuota".to_string(), quota::GROUPS);
        m.insert(
            "GroupsPerUserQuota".to_string(),
            quota::GROUPS_PER_USER as i32,
        );
        m.insert(
            "AccessKeysPerUserQuota".to_string(),
            quota::ACCESS_KEYS_PER_USER as i32,
        );
        m.insert(
            "UserPolicySizeQuota".to_string(),
            quota::USER_POLICY_SIZE as i32,
        );
        m.insert(
            "GroupPolicySizeQuota".to_string(),
            quota::GROUP_POLICY_SIZE as i32,
        );
        m.insert(
            "AccountAccessKeysPresent".to_string(),
            i32::from(state.keys.values().any(|k| k.rec.user_id.is_none())),
        );
        m.insert("AccountMFAEnabled".to_string(), 0);
        m.insert("AccountSigningCertificatesPresent".to_string(), 0);
        m.insert("MFADevices".to_string(), 0);
        m.insert("MFADevicesInUse".to_string(), 0);
        m.insert("Policies".to_string(), 0);
        m.insert("PoliciesQuota".to_string(), 1500);
        m.insert("PolicySizeQuota".to_string(), 6144);
        m.insert("PolicyVersionsInUse".to_string(), 0);
        m.insert("PolicyVersionsInUseQuota".to_string(), 10000);
        m.insert("VersionsPerPolicyQuota".to_string(), 5);
        m.insert("AttachedPoliciesPerGroupQuota".to_string(), 10);
        m.insert("AttachedPoliciesPerRoleQuota".to_string(), 10);
        m.insert("AttachedPoliciesPerUserQuota".to_string(), 10);
        m.insert("Roles".to_string(), 0);
        m.insert("RolesQuota".to_string(), 1000);
        m.insert("RolePolicySizeQuota".to_string(), 10240);
        m.insert("AssumeRolePolicySizeQuota".to_string(), 2048);
        m.insert("InstanceProfiles".to_string(), 0);
        m.insert("InstanceProfilesQuota".to_string(), 1000);
        m.insert("Providers".to_string(), 0);
        m.insert("ServerCertificates".to_string(), 0);
        m.insert("ServerCertificatesQuota".to_string(), 20);
        m.insert("SigningCertificatesPerUserQuota".to_string(), 2);
        m.insert("GlobalEndpointTokenVersion".to_string(), 1);
        out(api::GetAccountSummaryResult {
            summary_map: Some(m),
        })
    }
}

/// GetUser's result for the account root, which has no `UserName` or `Path`.
struct RootUserResult {
    user_id: String,
    arn: String,
    created: Timestamp,
}

impl WriteXml for RootUserResult {
    fn write_xml(&self, out: &mut String) {
        out.push_str("<User>");
        iamd_api::xml::elem_str(out, "UserId", &self.user_id);
        iamd_api::xml::elem_str(out, "Arn", &self.arn);
        out.push_str("<CreateDate>");
        self.created.write_iso8601(out);
        out.push_str("</CreateDate></User>");
    }
}

fn no_such_policy(kind: OwnerKind, policy: &str) -> IamError {
    IamError::NoSuchEntity(format!(
        "The {} policy with name {policy} cannot be found.",
        kind.as_str()
    ))
}

/// AWS's DeleteConflict unless `empty`: what the entity still has must go first.
fn delete_conflict_unless(empty: bool, undo_first: &str) -> Result<(), IamError> {
    if empty {
        Ok(())
    } else {
        Err(IamError::DeleteConflict(format!(
            "Cannot delete entity, must {undo_first} first."
        )))
    }
}

/// AWS's tag rules: at most 50 per entity, keys unique case-insensitively.
fn check_tags(
    new: &[api::Tag],
    existing_count: usize,
    existing: &[(String, String)],
) -> Result<(), IamError> {
    for (i, t) in new.iter().enumerate() {
        if new[..i].iter().any(|o| o.key.eq_ignore_ascii_case(&t.key)) {
            return Err(IamError::InvalidInput(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.".into(),
            ));
        }
    }
    let added = new
        .iter()
        .filter(|t| !existing.iter().any(|(k, _)| k.eq_ignore_ascii_case(&t.key)))
        .count();
    if existing_count + added > quota::TAGS_PER_ENTITY {
        return Err(IamError::LimitExceeded(format!(
            "The number of tags has reached the maximum limit of {}.",
            quota::TAGS_PER_ENTITY
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_walks_every_item_once() {
        let items: Vec<(String, u32)> = (0..7).map(|i| (format!("k{i}"), i)).collect();
        let (p1, t1, m1) = page(items.clone(), None, Some(3));
        assert_eq!((p1, t1), (vec![0, 1, 2], true));
        let (p2, t2, m2) = page(items.clone(), m1.as_deref(), Some(3));
        assert_eq!((p2, t2), (vec![3, 4, 5], true));
        let (p3, t3, m3) = page(items, m2.as_deref(), Some(3));
        assert_eq!((p3, t3, m3), (vec![6], false, None));
    }

    #[test]
    fn url_encoding_is_aws_style() {
        assert_eq!(
            url_encode("{\"A\": \"s3:*\"}"),
            "%7B%22A%22%3A%20%22s3%3A%2A%22%7D"
        );
    }
}
