//! Users: CreateUser, GetUser, ListUsers, UpdateUser, DeleteUser.

use iamd_api::iam as api;
use iamd_api::{Timestamp, WriteXml};
use iamd_store::{Change, Store, UserRecord};

use super::{
    boundaries, delete_conflict_unless, out, tags, target_user, ts, Cx, Operation, Output,
};
use crate::core::{now_ms, Iam};
use crate::entity::Entity;
use crate::error::IamError;
use crate::principal::{Check, Principal};
use crate::state::User;

impl Operation for api::CreateUserRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.creation::<User>(
            self.path.as_deref(),
            &self.user_name,
            self.tags.as_deref(),
            self.permissions_boundary.as_deref(),
        ))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        let tags = self.tags.unwrap_or_default();
        boundaries::check_boundary_arn(self.permissions_boundary.as_deref())?;
        let rec = UserRecord {
            id: crate::ids::unique_id("AIDA")?,
            name: self.user_name,
            path: self.path.unwrap_or_else(|| "/".to_string()),
            created: now_ms(),
            boundary_arn: self.permissions_boundary,
        };
        let attached = tags::tagging::<User>(&rec.id, &[], &tags)?;
        let boundary = rec.boundary_arn.clone();
        let mut user = iam
            .create_with::<User>(rec, |state, rec| {
                if let Some(arn) = &rec.boundary_arn {
                    boundaries::check_boundary(state, arn)?;
                }
                Ok(attached.clone())
            })
            .await?;
        user.permissions_boundary = boundaries::shown(boundary.as_ref());
        if !tags.is_empty() {
            user.tags = Some(tags);
        }
        out(api::CreateUserResult { user: Some(user) })
    }
}

impl Operation for api::GetUserRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.user_or_caller(self.user_name.as_deref()))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, p: &Principal) -> Result<Output, IamError> {
        let state = iam.read();
        if self.user_name.is_none() {
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
        let u = target_user(&state, p, self.user_name.as_deref())?;
        let mut user = iam.api(u);
        user.permissions_boundary = boundaries::shown(u.rec.boundary_arn.as_ref());
        if !u.tags.is_empty() {
            user.tags = Some(tags::api_tags(&u.tags));
        }
        out(api::GetUserResult { user })
    }
}

list_and_update_operations!(User, ListUsersRequest => ListUsersResult { users },
    UpdateUserRequest { user_name, new_user_name });

impl Operation for api::DeleteUserRequest {
    fn checks(&self, cx: &Cx<'_>) -> Result<Vec<Check>, IamError> {
        Ok(cx.entity::<User>(&self.user_name))
    }

    async fn run<S: Store>(self, iam: &Iam<S>, _: &Principal) -> Result<Output, IamError> {
        iam.change(|state| {
            let u = User::named(state, &self.user_name)?;
            delete_conflict_unless(u.keys.is_empty(), "delete access keys")?;
            delete_conflict_unless(u.policies.is_empty(), "delete policies")?;
            delete_conflict_unless(u.attached.is_empty(), "detach all policies")?;
            delete_conflict_unless(u.groups.is_empty(), "remove users from group")?;
            let mut changes = tags::untagging(u, |_| true);
            changes.push(Change::DeleteUser {
                id: u.rec.id.clone(),
            });
            Ok(changes)
        })
        .await
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
