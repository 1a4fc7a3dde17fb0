//! Which action on which resource each IAM request needs (policy-semantics §6.2),
//! with the condition keys that action supports (§5.4).

use iamd_api::iam::IamRequest;
use iamd_store::Store;

use crate::core::Iam;
use crate::ops::{group_arn, user_arn};
use crate::principal::{Check, Principal, Target};

impl<S: Store> Iam<S> {
    /// The checks a request must pass. Entities that do not exist are named with the
    /// default path `/` (the request then fails with `NoSuchEntity` after authorization).
    pub fn checks(&self, p: &Principal, req: &IamRequest) -> Vec<Check> {
        let state = self.read();
        let account = self.account_id();
        type Keys = Vec<(String, Vec<String>)>;
        let user = |name: &str| -> (String, Keys) {
            match state.user_by_name(name) {
                Some(u) => (
                    user_arn(account, &u.rec.path, &u.rec.name),
                    u.resource_tag_keys(),
                ),
                None => (user_arn(account, "/", name), Vec::new()),
            }
        };
        // The named user, or the caller itself when the name is omitted.
        let self_or = |name: Option<&str>| -> (String, Keys) {
            match (name, p) {
                (Some(n), _) => user(n),
                (None, Principal::User { name, .. }) => user(name),
                (None, Principal::Root { .. }) => (p.arn().into_owned(), Vec::new()),
            }
        };
        let group = |name: &str| -> String {
            match state.group_by_name(name) {
                Some(g) => group_arn(account, &g.rec.path, &g.rec.name),
                None => group_arn(account, "/", name),
            }
        };
        let action = format!("iam:{}", req.operation_name());
        let arn = |target: String, keys: Vec<(String, Vec<String>)>| {
            vec![Check::on(action.clone(), target, keys)]
        };
        let mut checks = match req {
            IamRequest::CreateUser(r) => {
                let path = r.path.as_deref().unwrap_or("/");
                let mut keys = Vec::new();
                if let Some(tags) = &r.tags {
                    for t in tags {
                        keys.push((format!("aws:RequestTag/{}", t.key), vec![t.value.clone()]));
                    }
                    keys.push((
                        "aws:TagKeys".to_string(),
                        tags.iter().map(|t| t.key.clone()).collect(),
                    ));
                }
                if let Some(b) = &r.permissions_boundary {
                    keys.push(("iam:PermissionsBoundary".to_string(), vec![b.clone()]));
                }
                arn(user_arn(account, path, &r.user_name), keys)
            }
            IamRequest::TagUser(r) => {
                let (a, mut keys) = user(&r.user_name);
                for t in &r.tags {
                    keys.push((format!("aws:RequestTag/{}", t.key), vec![t.value.clone()]));
                }
                keys.push((
                    "aws:TagKeys".to_string(),
                    r.tags.iter().map(|t| t.key.clone()).collect(),
                ));
                arn(a, keys)
            }
            IamRequest::UntagUser(r) => {
                let (a, mut keys) = user(&r.user_name);
                keys.push(("aws:TagKeys".to_string(), r.tag_keys.clone()));
                arn(a, keys)
            }
            IamRequest::UpdateUser(r) => {
                let (old, keys) = user(&r.user_name);
                let mut checks = arn(old, keys);
                if r.new_user_name.is_some() || r.new_path.is_some() {
                    let (path, name) = match state.user_by_name(&r.user_name) {
                        Some(u) => (u.rec.path.clone(), u.rec.name.clone()),
                        None => ("/".to_string(), r.user_name.clone()),
                    };
                    let new = user_arn(
                        account,
                        r.new_path.as_deref().unwrap_or(&path),
                        r.new_user_name.as_deref().unwrap_or(&name),
                    );
                    checks.push(Check::on(action.clone(), new, Vec::new()));
                }
                checks
            }
            IamRequest::GetUser(r) => {
                let (a, k) = self_or(r.user_name.as_deref());
                arn(a, k)
            }
            IamRequest::DeleteUser(r) => {
                let (a, k) = user(&r.user_name);
                arn(a, k)
            }
            IamRequest::ListUserTags(r) => {
                let (a, k) = user(&r.user_name);
                arn(a, k)
            }
            IamRequest::ListGroupsForUser(r) => {
                let (a, k) = user(&r.user_name);
                arn(a, k)
            }
            IamRequest::PutUserPolicy(r) => {
                let (a, k) = user(&r.user_name);
                arn(a, k)
            }
            IamRequest::GetUserPolicy(r) => {
                let (a, k) = user(&r.user_name);
                arn(a, k)
            }
            IamRequest::ListUserPolicies(r) => {
                let (a, k) = user(&r.user_name);
                arn(a, k)
            }
            IamRequest::DeleteUserPolicy(r) => {
                let (a, k) = user(&r.user_name);
                arn(a, k)
            }
            IamRequest::CreateAccessKey(r) => {
                let (a, k) = self_or(r.user_name.as_deref());
                arn(a, k)
            }
            IamRequest::ListAccessKeys(r) => {
                let (a, k) = self_or(r.user_name.as_deref());
                arn(a, k)
            }
            IamRequest::UpdateAccessKey(r) => {
                let (a, k) = self_or(r.user_name.as_deref());
                arn(a, k)
            }
            IamRequest::DeleteAccessKey(r) => {
                let (a, k) = self_or(r.user_name.as_deref());
                arn(a, k)
            }
            IamRequest::GetAccessKeyLastUsed(r) => {
                // The resource is the user that owns the key.
                let owner = state
                    .keys
                    .get(&r.access_key_id)
                    .and_then(|k| k.rec.user_id.as_ref());
                match owner.and_then(|uid| state.users.get(uid)) {
                    Some(u) => {
                        let name = u.rec.name.clone();
                        let (a, k) = user(&name);
                        arn(a, k)
                    }
                    None => arn(p.arn().into_owned(), Vec::new()),
                }
            }
            IamRequest::CreateGroup(r) => arn(
                group_arn(account, r.path.as_deref().unwrap_or("/"), &r.group_name),
                Vec::new(),
            ),
            IamRequest::GetGroup(r) => arn(group(&r.group_name), Vec::new()),
            IamRequest::DeleteGroup(r) => arn(group(&r.group_name), Vec::new()),
            IamRequest::UpdateGroup(r) => {
                let mut checks = arn(group(&r.group_name), Vec::new());
                if r.new_group_name.is_some() || r.new_path.is_some() {
                    let (path, name) = match state.group_by_name(&r.group_name) {
                        Some(g) => (g.rec.path.clone(), g.rec.name.clone()),
                        None => ("/".to_string(), r.group_name.clone()),
                    };
                    let new = group_arn(
                        account,
                        r.new_path.as_deref().unwrap_or(&path),
                        r.new_group_name.as_deref().unwrap_or(&name),
                    );
                    checks.push(Check::on(action.clone(), new, Vec::new()));
                }
                checks
            }
            IamRequest::AddUserToGroup(r) => arn(group(&r.group_name), Vec::new()),
            IamRequest::RemoveUserFromGroup(r) => arn(group(&r.group_name), Vec::new()),
            IamRequest::PutGroupPolicy(r) => arn(group(&r.group_name), Vec::new()),
            IamRequest::GetGroupPolicy(r) => arn(group(&r.group_name), Vec::new()),
            IamRequest::ListGroupPolicies(r) => arn(group(&r.group_name), Vec::new()),
            IamRequest::DeleteGroupPolicy(r) => arn(group(&r.group_name), Vec::new()),
            // AWS names the listed path in ListUsers/ListGroups denials
            // ("… on resource: arn:aws:iam::A:user/"), and policies on a path grant them.
            IamRequest::ListUsers(r) => {
                let target = format!(
                    "arn:aws:iam::{account}:user{}",
                    r.path_prefix.as_deref().unwrap_or("/")
                );
                vec![Check::on(action.clone(), target, Vec::new())]
            }
            IamRequest::ListGroups(r) => {
                let target = format!(
                    "arn:aws:iam::{account}:group{}",
                    r.path_prefix.as_deref().unwrap_or("/")
                );
                vec![Check::on(action.clone(), target, Vec::new())]
            }
            // The simulator on a principal: the principal's ARN (SimulateCustomPolicy and
            // GetContextKeysForCustomPolicy are wildcard-only, below).
            IamRequest::SimulatePrincipalPolicy(r) => arn(r.policy_source_arn.clone(), Vec::new()),
            IamRequest::GetContextKeysForPrincipalPolicy(r) => {
                arn(r.policy_source_arn.clone(), Vec::new())
            }
            // Wildcard-only actions (GetAccountSummary, …) and
            // every operation not mapped above: checked against `*`.
            _ => vec![Check::wildcard(action)],
        };
        // AWS names an existing user or group in a denial as `user NAME` /
        // `group NAME`; anything else (a user about to be created) by its ARN.
        for c in &mut checks {
            let Target::Arn(a) = &c.target else { continue };
            c.display = match (
                state.user_by_arn(account, a),
                state.group_by_arn(account, a),
            ) {
                (Some(u), _) => Some(format!("user {}", u.rec.name)),
                (None, Some(g)) => Some(format!("group {}", g.rec.name)),
                (None, None) => None,
            };
        }
        checks
    }
}
