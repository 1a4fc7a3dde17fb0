//! Groups and membership: CreateGroup, GetGroup, ListGroups, UpdateGroup, DeleteGroup,
//! AddUserToGroup, RemoveUserFromGroup, ListGroupsForUser.

use iamd_api::iam as api;
use iamd_store::{Change, GroupRecord, MembershipRecord, Store};

use super::{delete_conflict_unless, out, page, quota, tags, Cx, Operation, Output};
use crate::core::{now_ms, Iam};
use crate::entity::Entity;
use crate::error::IamError;
use crate::principal::{Check, Principal};
use crate::state::{Group, State, User};

impl Operation for api::CreateGroupRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        let path = self.path.as_deref().unwrap_or("/");
        Ok(cx.on(
            Group::arn_of(cx.account, path, &self.group_name),
            Vec::new(),
        ))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        let rec = GroupRecord {
            id: crate::ids::unique_id("AGPA")?,
            name: self.group_name,
            path: self.path.unwrap_or_else(|| "/".to_string()),
            created: now_ms(),
        };
        let group = iam.create::<Group>(rec, Vec::new()).await?;
        out(api::CreateGroupResult { group })
    }
}

impl Operation for api::GetGroupRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.entity::<Group>(&self.group_name))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        let state = iam.read();
        let g = Group::named(&state, &self.group_name)?;
        let members = iam.in_name_order::<User>(&state, &g.members);
        let (users, is_truncated, marker) = page(members, self.marker.as_deref(), self.max_items);
        out(api::GetGroupResult {
            group: iam.api(g),
            users,
            is_truncated: Some(is_truncated),
            marker,
        })
    }
}

list_and_update_operations!(Group, ListGroupsRequest => ListGroupsResult { groups },
    UpdateGroupRequest { group_name, new_group_name });

impl Operation for api::DeleteGroupRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.entity::<Group>(&self.group_name))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        iam.change(|state| {
            let g = Group::named(state, &self.group_name)?;
            delete_conflict_unless(g.members.is_empty(), "remove users from group")?;
            delete_conflict_unless(g.policies.is_empty(), "delete policies")?;
            delete_conflict_unless(g.attached.is_empty(), "detach all policies")?;
            let mut changes = tags::untagging(g, |_| true);
            changes.push(Change::DeleteGroup {
                id: g.rec.id.clone(),
            });
            Ok(changes)
        })
        .await
    }
}

/// The group and the user a membership request names, and their membership.
fn membership<'a>(
    state: &'a State,
    group: &str,
    user: &str,
) -> Result<(&'a Group, &'a User, MembershipRecord), IamError> {
    let g = Group::named(state, group)?;
    let u = User::named(state, user)?;
    let m = MembershipRecord {
        group_id: g.rec.id.clone(),
        user_id: u.rec.id.clone(),
    };
    Ok((g, u, m))
}

impl Operation for api::AddUserToGroupRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.entity::<Group>(&self.group_name))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        iam.change(|state| {
            let (g, u, m) = membership(state, &self.group_name, &self.user_name)?;
            if u.groups.contains(&g.rec.id) {
                return Ok(Vec::new());
            }
            if u.groups.len() >= quota::GROUPS_PER_USER {
                return Err(IamError::LimitExceeded(format!(
                    "Cannot exceed quota for GroupsPerUser: {}",
                    quota::GROUPS_PER_USER
                )));
            }
            Ok(vec![Change::PutMembership(m)])
        })
        .await
    }
}

impl Operation for api::RemoveUserFromGroupRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.entity::<Group>(&self.group_name))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        iam.change(|state| {
            let (g, u, m) = membership(state, &self.group_name, &self.user_name)?;
            if !g.members.contains(&u.rec.id) {
                return Err(IamError::NoSuchEntity(format!(
                    "User {} is not in group {}.",
                    u.rec.name, g.rec.name
                )));
            }
            Ok(vec![Change::DeleteMembership(m)])
        })
        .await
    }
}

impl Operation for api::ListGroupsForUserRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.entity::<User>(&self.user_name))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        let state = iam.read();
        let u = User::named(&state, &self.user_name)?;
        let items = iam.in_name_order::<Group>(&state, &u.groups);
        let (groups, is_truncated, marker) = page(items, self.marker.as_deref(), self.max_items);
        out(api::ListGroupsForUserResult {
            groups,
            is_truncated: Some(is_truncated),
            marker,
        })
    }
}
