//! Which action on which resource each IAM request needs (docs/policy-semantics.md §6.2),
//! with the condition keys that action supports (§5.4).

use iamd_api::iam::IamRequest;
use iamd_store::Store;

use crate::core::Iam;
use crate::error::IamError;
use crate::ops::{group_arn, user_arn};
use crate::principal::{Check, Principal, Target};

impl<S: Store> Iam<S> {
    /// The checks a request must pass. Entities that do not exist are named with the
    /// default path `/` (the request then fails with `NoSuchEntity` after authorization).
    ///
    /// Fails closed: an operation without its own mapping below is checked against `*`
    /// only when the Service Authorization Reference says its action applies to no
    /// resource type (GetAccountSummary, SimulateCustomPolicy, …); any other unmapped
    /// operation is refused before authorization (`NotImplemented`), so a Deny scoped to
    /// a resource can never be bypassed by a check against `*`.
    pub(crate) fn checks(&self, p: &Principal, req: &IamRequest) -> Result<Vec<Check>, IamError> {
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
            // Wildcard-only actions (GetAccountSummary, …): checked against `*`.
            _ if iamd_policy::sar_resource_types(&action).is_some_and(<[_]>::is_empty) => {
                vec![Check::wildcard(action)]
            }
            _ => return Err(unmapped(req.operation_name())),
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
        Ok(checks)
    }
}

/// An operation whose action applies to a resource type but that has no mapping.
fn unmapped(op: &str) -> IamError {
    IamError::NotImplemented(format!(
        "The operation {op} is not implemented by this server yet."
    ))
}

/// The request → check table against the Service Authorization Reference: every
/// operation iamd implements checks exactly its own action, on ARNs of a resource type
/// the reference lists for it, and on `*` only where the reference lists none.
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::collections::BTreeSet;

    use iamd_api::{iam, Params};
    use iamd_store::{Change, Snapshot, StoreError};

    use super::*;
    use crate::crypto::MasterKey;
    use crate::InitOptions;

    /// A store that holds nothing: the table needs no entity to exist.
    struct Empty;

    impl Store for Empty {
        async fn load(&self) -> Result<Snapshot, StoreError> {
            Ok(Snapshot::default())
        }
        async fn apply(&self, _: &[Change]) -> Result<(), StoreError> {
            Ok(())
        }
    }

    const ACCOUNT: &str = "123456789012";
    const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
    const SOURCE: &str = "arn:aws:iam::123456789012:user/u";

    /// One request per implemented operation (several where the mapping branches).
    const TABLE: &[(&str, &str)] = &[
        ("CreateUser", "UserName=u"),
        ("GetUser", "UserName=u"),
        ("GetUser", ""),
        ("ListUsers", ""),
        ("ListUsers", "PathPrefix=/eng/"),
        ("UpdateUser", "UserName=u"),
        ("UpdateUser", "UserName=u&NewUserName=v&NewPath=/x/"),
        ("DeleteUser", "UserName=u"),
        ("TagUser", "UserName=u&Tags.member.1.Key=k&Tags.member.1.Value=v"),
        ("UntagUser", "UserName=u&TagKeys.member.1=k"),
        ("ListUserTags", "UserName=u"),
        ("CreateGroup", "GroupName=g"),
        ("GetGroup", "GroupName=g"),
        ("ListGroups", ""),
        ("UpdateGroup", "GroupName=g&NewGroupName=h"),
        ("DeleteGroup", "GroupName=g"),
        ("AddUserToGroup", "GroupName=g&UserName=u"),
        ("RemoveUserFromGroup", "GroupName=g&UserName=u"),
        ("ListGroupsForUser", "UserName=u"),
        ("PutUserPolicy", "UserName=u&PolicyName=p&PolicyDocument=%7B%7D"),
        ("PutGroupPolicy", "GroupName=g&PolicyName=p&PolicyDocument=%7B%7D"),
        ("GetUserPolicy", "UserName=u&PolicyName=p"),
        ("GetGroupPolicy", "GroupName=g&PolicyName=p"),
        ("ListUserPolicies", "UserName=u"),
        ("ListGroupPolicies", "GroupName=g"),
        ("DeleteUserPolicy", "UserName=u&PolicyName=p"),
        ("DeleteGroupPolicy", "GroupName=g&PolicyName=p"),
        ("CreateAccessKey", "UserName=u"),
        ("CreateAccessKey", ""),
        ("ListAccessKeys", "UserName=u"),
        ("UpdateAccessKey", "UserName=u&AccessKeyId=AKIAIOSFODNN7EXAMPLE&Status=Inactive"),
        ("DeleteAccessKey", "UserName=u&AccessKeyId=AKIAIOSFODNN7EXAMPLE"),
        ("GetAccessKeyLastUsed", "AccessKeyId=AKIAIOSFODNN7EXAMPLE"),
        ("GetAccountSummary", ""),
        ("SimulateCustomPolicy", "PolicyInputList.member.1=%7B%7D&ActionNames.member.1=s3%3AGetObject"),
        ("SimulatePrincipalPolicy", "PolicySourceArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Auser%2Fu&ActionNames.member.1=s3%3AGetObject"),
        ("GetContextKeysForCustomPolicy", "PolicyInputList.member.1=%7B%7D"),
        ("GetContextKeysForPrincipalPolicy", "PolicySourceArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Auser%2Fu"),
    ];

    /// Where iamd names a resource the reference does not list, and why.
    /// ListUsers/ListGroups: AWS's own denial names the listed path
    /// ("… iam:ListUsers on resource: arn:aws:iam::A:user/").
    const DEVIATIONS: &[(&str, &str)] = &[("ListUsers", "user"), ("ListGroups", "group")];

    async fn iam() -> Iam<Empty> {
        let master = MasterKey::from_bytes(&[7; 32]).unwrap();
        let init = InitOptions {
            account_id: Some(ACCOUNT.to_string()),
            root_key: Some((KEY.to_string(), "secret".to_string())),
        };
        Iam::open(Empty, master, init).await.unwrap().0
    }

    fn caller() -> Principal {
        Principal::User {
            id: "AIDAEXAMPLE".to_string(),
            name: "u".to_string(),
            arn: SOURCE.to_string(),
            account: ACCOUNT.to_string(),
        }
    }

    fn resource_type(arn: &str) -> &str {
        let resource = arn.splitn(6, ':').nth(5).unwrap();
        resource.split('/').next().unwrap()
    }

    fn request(op: &str, form: &str) -> iam::IamRequest {
        let p = Params::from_form(form.as_bytes()).unwrap();
        iam::decode(op, &p).unwrap_or_else(|e| panic!("{op} {form}: {e:?}"))
    }

    #[tokio::test]
    async fn every_operation_checks_its_action_on_its_resource_type() {
        let iam = iam().await;
        for (op, form) in TABLE {
            let checks = iam
                .checks(&caller(), &request(op, form))
                .unwrap_or_else(|e| panic!("{op}: {e}"));
            assert!(!checks.is_empty(), "{op}: no check");
            let action = format!("iam:{op}");
            let types = iamd_policy::sar_resource_types(&action)
                .unwrap_or_else(|| panic!("{action} is not in the reference"));
            for c in &checks {
                assert_eq!(c.action, action, "{op} checks another action");
                match &c.target {
                    Target::Wildcard => assert!(
                        types.is_empty(),
                        "{op} is checked against * but the reference lists {types:?}"
                    ),
                    Target::Arn(arn) => {
                        let t = resource_type(arn);
                        let allowed = types.contains(&t) || DEVIATIONS.contains(&(*op, t));
                        assert!(
                            allowed,
                            "{op} checks {arn} ({t}), the reference lists {types:?}"
                        );
                    }
                }
            }
        }
    }

    /// The table covers every operation `execute` implements (read from its source, so
    /// a new operation without a row fails here).
    #[test]
    fn the_table_covers_every_implemented_operation() {
        let src = include_str!("ops.rs");
        let start = src.find("async fn execute(").unwrap();
        let end = start + src[start..].find("\n    }\n").unwrap();
        let implemented: BTreeSet<&str> = src[start..end]
            .split("IamRequest::")
            .skip(1)
            .filter_map(|s| s.split('(').next())
            .collect();
        let table: BTreeSet<&str> = TABLE.iter().map(|(op, _)| *op).collect();
        assert_eq!(implemented, table);
    }

    /// An operation with a resource type but no mapping is refused before any
    /// decision; never checked against `*` (a Deny on its resource would not apply).
    #[tokio::test]
    async fn unmapped_operations_fail_closed() {
        let iam = iam().await;
        let req = request("DeleteRole", "RoleName=admin");
        assert!(matches!(
            iam.checks(&caller(), &req),
            Err(IamError::NotImplemented(_))
        ));
        // A wildcard-only action the reference lists without a resource type is checked
        // against `*` (execute then answers NotImplemented if it is not implemented).
        let req = request("CreateAccountAlias", "AccountAlias=example");
        let checks = iam.checks(&caller(), &req).unwrap();
        assert!(matches!(checks.as_slice(), [c] if c.target == Target::Wildcard));
    }
}
