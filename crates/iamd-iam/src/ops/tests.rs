//! The operations' rules, over an in-memory store, through the front door: the
//! request → check table against the Service Authorization Reference, then each
//! family's AWS behaviour (errors, messages, quotas).

use std::collections::BTreeSet;

use crate::error::IamError;
use crate::front::{IMPLEMENTED, STS_IMPLEMENTED};
use crate::principal::{Principal, Target};
use crate::testing::{call, err, ok, open, request, root, MemStore, ACCOUNT};

mod abac;
mod account_details;
mod accounts;
mod boundaries;
mod managed;
mod managed_props;

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
    ("CreateRole", "RoleName=r&AssumeRolePolicyDocument=%7B%7D&PermissionsBoundary=arn%3Aaws%3Aiam%3A%3A123456789012%3Apolicy%2Fb&Tags.member.1.Key=k&Tags.member.1.Value=v"),
    ("GetRole", "RoleName=r"),
    ("ListRoles", ""),
    ("UpdateRole", "RoleName=r&MaxSessionDuration=7200"),
    ("UpdateRoleDescription", "RoleName=r&Description=d"),
    ("UpdateAssumeRolePolicy", "RoleName=r&PolicyDocument=%7B%7D"),
    ("DeleteRole", "RoleName=r"),
    ("CreateServiceLinkedRole", "AWSServiceName=ecs.amazonaws.com"),
    ("DeleteServiceLinkedRole", "RoleName=AWSServiceRoleForECS"),
    ("GetServiceLinkedRoleDeletionStatus", "DeletionTaskId=task%2Faws-service-role%2Fecs.amazonaws.com%2FAWSServiceRoleForECS%2F1"),
    ("PutRolePolicy", "RoleName=r&PolicyName=p&PolicyDocument=%7B%7D"),
    ("GetRolePolicy", "RoleName=r&PolicyName=p"),
    ("ListRolePolicies", "RoleName=r"),
    ("DeleteRolePolicy", "RoleName=r&PolicyName=p"),
    ("TagRole", "RoleName=r&Tags.member.1.Key=k&Tags.member.1.Value=v"),
    ("UntagRole", "RoleName=r&TagKeys.member.1=k"),
    ("ListRoleTags", "RoleName=r"),
    ("CreateInstanceProfile", "InstanceProfileName=ip&Path=/web/"),
    ("GetInstanceProfile", "InstanceProfileName=ip"),
    ("ListInstanceProfiles", ""),
    ("DeleteInstanceProfile", "InstanceProfileName=ip"),
    ("AddRoleToInstanceProfile", "InstanceProfileName=ip&RoleName=r"),
    ("RemoveRoleFromInstanceProfile", "InstanceProfileName=ip&RoleName=r"),
    ("ListInstanceProfilesForRole", "RoleName=r"),
    ("TagInstanceProfile", "InstanceProfileName=ip&Tags.member.1.Key=k&Tags.member.1.Value=v"),
    ("UntagInstanceProfile", "InstanceProfileName=ip&TagKeys.member.1=k"),
    ("ListInstanceProfileTags", "InstanceProfileName=ip"),
    ("CreatePolicy", "PolicyName=p&PolicyDocument=%7B%7D&Tags.member.1.Key=k&Tags.member.1.Value=v"),
    ("GetPolicy", "PolicyArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Apolicy%2Fp"),
    ("GetPolicy", "PolicyArn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess"),
    ("DeletePolicy", "PolicyArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Apolicy%2Fp"),
    ("ListPolicies", "Scope=AWS"),
    ("CreatePolicyVersion", "PolicyArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Apolicy%2Fp&PolicyDocument=%7B%7D&SetAsDefault=true"),
    ("GetPolicyVersion", "PolicyArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Apolicy%2Fp&VersionId=v1"),
    ("ListPolicyVersions", "PolicyArn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess"),
    ("DeletePolicyVersion", "PolicyArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Apolicy%2Fp&VersionId=v2"),
    ("SetDefaultPolicyVersion", "PolicyArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Apolicy%2Fp&VersionId=v2"),
    ("TagPolicy", "PolicyArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Apolicy%2Fp&Tags.member.1.Key=k&Tags.member.1.Value=v"),
    ("UntagPolicy", "PolicyArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Apolicy%2Fp&TagKeys.member.1=k"),
    ("ListPolicyTags", "PolicyArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Apolicy%2Fp"),
    ("AttachUserPolicy", "UserName=u&PolicyArn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess"),
    ("DetachUserPolicy", "UserName=u&PolicyArn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess"),
    ("ListAttachedUserPolicies", "UserName=u"),
    ("AttachGroupPolicy", "GroupName=g&PolicyArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Apolicy%2Fp"),
    ("DetachGroupPolicy", "GroupName=g&PolicyArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Apolicy%2Fp"),
    ("ListAttachedGroupPolicies", "GroupName=g&PathPrefix=/x/"),
    ("AttachRolePolicy", "RoleName=r&PolicyArn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess"),
    ("DetachRolePolicy", "RoleName=r&PolicyArn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess"),
    ("ListAttachedRolePolicies", "RoleName=r"),
    ("ListEntitiesForPolicy", "PolicyArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Apolicy%2Fp&EntityFilter=User"),
    ("PutUserPermissionsBoundary", "UserName=u&PermissionsBoundary=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess"),
    ("DeleteUserPermissionsBoundary", "UserName=u"),
    ("PutRolePermissionsBoundary", "RoleName=r&PermissionsBoundary=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess"),
    ("DeleteRolePermissionsBoundary", "RoleName=r"),
    ("GetAccountSummary", ""),
    ("GetAccountAuthorizationDetails", "Filter.member.1=User&MaxItems=5"),
    ("SimulateCustomPolicy", "PolicyInputList.member.1=%7B%7D&ActionNames.member.1=s3%3AGetObject"),
    ("SimulatePrincipalPolicy", "PolicySourceArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Auser%2Fu&ActionNames.member.1=s3%3AGetObject"),
    ("GetContextKeysForCustomPolicy", "PolicyInputList.member.1=%7B%7D"),
    ("GetContextKeysForPrincipalPolicy", "PolicySourceArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Auser%2Fu"),
];

/// Where iamd names a resource the reference does not list, and why.
/// ListUsers/ListGroups (and ListRoles/ListInstanceProfiles, alike): AWS's own denial
/// names the listed path ("… iam:ListUsers on resource: arn:aws:iam::A:user/").
const DEVIATIONS: &[(&str, &str)] = &[
    ("ListUsers", "user"),
    ("ListGroups", "group"),
    ("ListRoles", "role"),
    ("ListInstanceProfiles", "instance-profile"),
];

/// Actions an operation also checks, as AWS documents them (checked on their own
/// resource types): AddRoleToInstanceProfile needs `iam:PassRole` on the role (IAM API
/// reference, AddRoleToInstanceProfile).
const DEPENDENT: &[(&str, &str)] = &[("AddRoleToInstanceProfile", "iam:PassRole")];

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

/// Every implemented operation checks exactly its own action, on ARNs of a resource
/// type the reference lists for it, and on `*` only where the reference lists none.
#[tokio::test]
async fn every_operation_checks_its_action_on_its_resource_type() {
    let iam = open(MemStore::default()).await;
    for (op, form) in TABLE {
        let checks = iam
            .checks(&caller(), &request(op, form))
            .unwrap_or_else(|e| panic!("{op}: {e}"));
        assert!(!checks.is_empty(), "{op}: no check");
        let own = format!("iam:{op}");
        assert_eq!(checks[0].action, own, "{op} checks another action first");
        for c in &checks {
            let action = c.action.to_string();
            assert!(
                action == own || DEPENDENT.contains(&(*op, action.as_str())),
                "{op} checks another action ({action})"
            );
            let types = iamd_policy::sar_resource_types(&action)
                .unwrap_or_else(|| panic!("{action} is not in the reference"));
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
    // STS: GetCallerIdentity is wildcard-only in the reference too; AssumeRole is
    // checked on the role (ops/sts.rs).
    for op in STS_IMPLEMENTED {
        let types = iamd_policy::sar_resource_types(&format!("sts:{op}")).unwrap();
        let expected: &[&str] = match *op {
            "AssumeRole" => &["role"],
            "GetFederationToken" => &["federated-user"],
            _ => &[],
        };
        assert_eq!(types, expected, "sts:{op} lists {types:?}");
    }
}

/// The table covers every operation the front door lists, and nothing else.
#[test]
fn the_table_covers_every_implemented_operation() {
    let implemented: BTreeSet<&str> = IMPLEMENTED.iter().copied().collect();
    let table: BTreeSet<&str> = TABLE.iter().map(|(op, _)| *op).collect();
    assert_eq!(implemented, table);
    assert_eq!(
        implemented.len(),
        IMPLEMENTED.len(),
        "an operation is listed twice"
    );
}

/// An operation not listed is NotImplemented before any authorization: never checked
/// against `*` (a Deny on its resource would not apply), even when its action is
/// wildcard-only, and even for a caller no policy allows anything.
#[tokio::test]
async fn unmapped_operations_fail_closed() {
    let iam = open(MemStore::default()).await;
    for (op, form) in [
        ("GetLoginProfile", "UserName=admin"),
        ("CreateAccountAlias", "AccountAlias=example"),
    ] {
        let req = request(op, form);
        assert!(matches!(
            iam.checks(&caller(), &req),
            Err(IamError::NotImplemented(_))
        ));
        match call(&iam, &caller(), op, form).await {
            Err(IamError::NotImplemented(m)) => assert_eq!(
                m,
                format!("The operation {op} is not implemented by this server yet.")
            ),
            other => panic!("{op}: {other:?}"),
        }
    }
}

#[test]
fn paging_walks_every_item_once() {
    let items: Vec<(String, u32)> = (0..7).map(|i| (format!("k{i}"), i)).collect();
    let (p1, t1, m1) = super::page(items.clone(), None, Some(3));
    assert_eq!((p1, t1), (vec![0, 1, 2], true));
    let (p2, t2, m2) = super::page(items.clone(), m1.as_deref(), Some(3));
    assert_eq!((p2, t2), (vec![3, 4, 5], true));
    let (p3, t3, m3) = super::page(items, m2.as_deref(), Some(3));
    assert_eq!((p3, t3, m3), (vec![6], false, None));
}

#[test]
fn url_encoding_is_aws_style() {
    assert_eq!(
        super::url_encode("{\"A\": \"s3:*\"}"),
        "%7B%22A%22%3A%20%22s3%3A%2A%22%7D"
    );
}

// ----- the families' rules -------------------------------------------------------

/// A policy document allowing `action` on `resource`, as a form value.
fn doc(effect: &str, action: &str, resource: &str) -> String {
    super::url_encode(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"{effect}","Action":"{action}","Resource":"{resource}"}}]}}"#
    ))
}

/// A document of about `bytes` bytes (whitespace not counted), as a form value.
fn sized_doc(bytes: usize) -> String {
    let pad = "x".repeat(bytes.saturating_sub(120));
    doc("Allow", "s3:GetObject", &format!("arn:aws:s3:::{pad}"))
}

/// The message of an error, checking its variant with `is`.
fn message(e: IamError, is: fn(&IamError) -> bool) -> String {
    assert!(is(&e), "unexpected error {e:?}");
    e.to_string()
}

pub(super) fn user(iam: &crate::core::Iam<MemStore>, name: &str) -> Principal {
    use crate::entity::Entity;
    let state = iam.read();
    let u = crate::state::User::by_name(&state, name).unwrap();
    Principal::User {
        id: u.rec.id.clone(),
        name: u.rec.name.clone(),
        arn: u.arn(ACCOUNT),
        account: ACCOUNT.to_string(),
    }
}

#[tokio::test]
async fn users() {
    let iam = open(MemStore::default()).await;
    let xml = ok(&iam, "CreateUser", "UserName=alice&Path=/eng/").await;
    assert!(
        xml.contains("<Arn>arn:aws:iam::123456789012:user/eng/alice</Arn>"),
        "{xml}"
    );
    let e = err(&iam, "CreateUser", "UserName=ALICE").await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::EntityAlreadyExists(_))),
        "User with name ALICE already exists."
    );
    let e = err(&iam, "GetUser", "UserName=nobody").await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::NoSuchEntity(_))),
        "The user with name nobody cannot be found."
    );
    ok(&iam, "CreateUser", "UserName=bob").await;
    let xml = ok(&iam, "ListUsers", "PathPrefix=/eng/").await;
    assert!(xml.contains("alice") && !xml.contains("bob"), "{xml}");
    // Renaming onto another user's name; into another case of its own name.
    let e = err(&iam, "UpdateUser", "UserName=bob&NewUserName=Alice").await;
    assert!(matches!(e, IamError::EntityAlreadyExists(_)), "{e:?}");
    ok(
        &iam,
        "UpdateUser",
        "UserName=bob&NewUserName=Bob&NewPath=/ops/",
    )
    .await;
    let xml = ok(&iam, "GetUser", "UserName=bob").await;
    assert!(
        xml.contains("<Arn>arn:aws:iam::123456789012:user/ops/Bob</Arn>"),
        "{xml}"
    );
    // GetUser without a name: the caller (the root has no name or path).
    let allow = doc("Allow", "iam:GetUser", "*");
    ok(
        &iam,
        "PutUserPolicy",
        &format!("UserName=alice&PolicyName=p&PolicyDocument={allow}"),
    )
    .await;
    let xml = call(&iam, &user(&iam, "alice"), "GetUser", "")
        .await
        .unwrap();
    assert!(xml.contains("<UserName>alice</UserName>"), "{xml}");
    let xml = ok(&iam, "GetUser", "").await;
    assert!(
        xml.contains("<UserId>123456789012</UserId>") && !xml.contains("UserName"),
        "{xml}"
    );
    // What a user still has must go before it.
    ok(&iam, "CreateAccessKey", "UserName=alice").await;
    let e = err(&iam, "DeleteUser", "UserName=alice").await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::DeleteConflict(_))),
        "Cannot delete entity, must delete access keys first."
    );
    ok(
        &iam,
        "PutUserPolicy",
        &format!(
            "UserName=bob&PolicyName=p&PolicyDocument={}",
            doc("Allow", "s3:*", "*")
        ),
    )
    .await;
    let e = err(&iam, "DeleteUser", "UserName=bob").await;
    assert_eq!(
        e.to_string(),
        "Cannot delete entity, must delete policies first."
    );
    ok(&iam, "DeleteUserPolicy", "UserName=bob&PolicyName=p").await;
    ok(&iam, "CreateGroup", "GroupName=g").await;
    ok(&iam, "AddUserToGroup", "GroupName=g&UserName=bob").await;
    let e = err(&iam, "DeleteUser", "UserName=bob").await;
    assert_eq!(
        e.to_string(),
        "Cannot delete entity, must remove users from group first."
    );
    ok(&iam, "RemoveUserFromGroup", "GroupName=g&UserName=bob").await;
    ok(
        &iam,
        "TagUser",
        "UserName=bob&Tags.member.1.Key=k&Tags.member.1.Value=v",
    )
    .await;
    ok(&iam, "DeleteUser", "UserName=bob").await;
    assert!(matches!(
        err(&iam, "GetUser", "UserName=bob").await,
        IamError::NoSuchEntity(_)
    ));
    // The name is free again, without the old tags.
    ok(&iam, "CreateUser", "UserName=bob").await;
    assert!(!ok(&iam, "ListUserTags", "UserName=bob")
        .await
        .contains("<Key>"));
}

#[tokio::test]
async fn groups_and_membership() {
    let iam = open(MemStore::default()).await;
    ok(&iam, "CreateGroup", "GroupName=devs&Path=/eng/").await;
    let e = err(&iam, "CreateGroup", "GroupName=DEVS").await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::EntityAlreadyExists(_))),
        "Group with name DEVS already exists."
    );
    let e = err(&iam, "GetGroup", "GroupName=ops").await;
    assert_eq!(e.to_string(), "The group with name ops cannot be found.");
    ok(&iam, "CreateUser", "UserName=zed").await;
    ok(&iam, "CreateUser", "UserName=amy").await;
    let e = err(&iam, "AddUserToGroup", "GroupName=devs&UserName=nobody").await;
    assert_eq!(e.to_string(), "The user with name nobody cannot be found.");
    for u in ["zed", "amy", "amy"] {
        // Adding a member again is a no-op.
        ok(
            &iam,
            "AddUserToGroup",
            &format!("GroupName=devs&UserName={u}"),
        )
        .await;
    }
    let xml = ok(&iam, "GetGroup", "GroupName=devs").await;
    let (a, z) = (xml.find("amy").unwrap(), xml.find("zed").unwrap());
    assert!(a < z, "members in name order: {xml}");
    assert!(ok(&iam, "ListGroupsForUser", "UserName=amy")
        .await
        .contains("<GroupName>devs</GroupName>"));
    let e = err(&iam, "DeleteGroup", "GroupName=devs").await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::DeleteConflict(_))),
        "Cannot delete entity, must remove users from group first."
    );
    ok(&iam, "RemoveUserFromGroup", "GroupName=devs&UserName=zed").await;
    let e = err(&iam, "RemoveUserFromGroup", "GroupName=devs&UserName=zed").await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::NoSuchEntity(_))),
        "User zed is not in group devs."
    );
    ok(&iam, "UpdateGroup", "GroupName=devs&NewGroupName=builders").await;
    assert!(ok(&iam, "ListGroups", "PathPrefix=/eng/")
        .await
        .contains("builders"));
    // At most 10 groups per user.
    for g in 0..9 {
        ok(&iam, "CreateGroup", &format!("GroupName=g{g}")).await;
        ok(
            &iam,
            "AddUserToGroup",
            &format!("GroupName=g{g}&UserName=amy"),
        )
        .await;
    }
    ok(&iam, "CreateGroup", "GroupName=eleventh").await;
    let e = err(&iam, "AddUserToGroup", "GroupName=eleventh&UserName=amy").await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::LimitExceeded(_))),
        "Cannot exceed quota for GroupsPerUser: 10"
    );
    // A group's policy must go before it.
    ok(
        &iam,
        "PutGroupPolicy",
        &format!(
            "GroupName=eleventh&PolicyName=p&PolicyDocument={}",
            doc("Allow", "s3:*", "*")
        ),
    )
    .await;
    let e = err(&iam, "DeleteGroup", "GroupName=eleventh").await;
    assert_eq!(
        e.to_string(),
        "Cannot delete entity, must delete policies first."
    );
    ok(&iam, "DeleteGroupPolicy", "GroupName=eleventh&PolicyName=p").await;
    ok(&iam, "DeleteGroup", "GroupName=eleventh").await;
}

#[tokio::test]
async fn access_keys() {
    let iam = open(MemStore::default()).await;
    ok(&iam, "CreateUser", "UserName=u").await;
    ok(&iam, "CreateUser", "UserName=v").await;
    let xml = ok(&iam, "CreateAccessKey", "UserName=u").await;
    let id = xml
        .split("<AccessKeyId>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    assert!(xml.contains("<SecretAccessKey>") && xml.contains("<Status>Active</Status>"));
    ok(&iam, "CreateAccessKey", "UserName=u").await;
    let e = err(&iam, "CreateAccessKey", "UserName=u").await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::LimitExceeded(_))),
        "Cannot exceed quota for AccessKeysPerUser: 2"
    );
    // The root names a user, or manages its own keys (two at most, as AWS): it has
    // one (ROOT_KEY); a second is created, listed, deactivated and deleted.
    let xml = ok(&iam, "CreateAccessKey", "").await;
    assert!(xml.contains("<UserName>root</UserName>"), "{xml}");
    let root2 = xml
        .split("<AccessKeyId>")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap()
        .to_string();
    let e = err(&iam, "CreateAccessKey", "").await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::LimitExceeded(_))),
        "Cannot exceed quota for AccessKeysPerUser: 2"
    );
    let xml = ok(&iam, "ListAccessKeys", "").await;
    assert!(
        xml.contains(crate::testing::ROOT_KEY) && xml.contains(&root2),
        "{xml}"
    );
    assert!(!xml.contains(&id), "a user's key is not the root's: {xml}");
    ok(
        &iam,
        "UpdateAccessKey",
        &format!("AccessKeyId={root2}&Status=Inactive"),
    )
    .await;
    assert!(matches!(
        iam.authenticate(&root2, None),
        Err(crate::principal::KeyProblem::Inactive)
    ));
    ok(&iam, "DeleteAccessKey", &format!("AccessKeyId={root2}")).await;
    assert!(!ok(&iam, "ListAccessKeys", "").await.contains(&root2));
    let e = err(
        &iam,
        "UpdateAccessKey",
        &format!("UserName=v&AccessKeyId={id}&Status=Inactive"),
    )
    .await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::NoSuchEntity(_))),
        format!("The Access Key with id {id} cannot be found.")
    );
    // A user's key is not the root's own.
    assert!(matches!(
        err(
            &iam,
            "UpdateAccessKey",
            &format!("AccessKeyId={id}&Status=Inactive")
        )
        .await,
        IamError::NoSuchEntity(_)
    ));
    ok(
        &iam,
        "UpdateAccessKey",
        &format!("UserName=u&AccessKeyId={id}&Status=Inactive"),
    )
    .await;
    let xml = ok(&iam, "ListAccessKeys", "UserName=u").await;
    assert!(xml.contains("<Status>Inactive</Status>"), "{xml}");
    // A user manages its own keys without naming itself.
    let allow = doc("Allow", "iam:*", "*");
    ok(
        &iam,
        "PutUserPolicy",
        &format!("UserName=u&PolicyName=keys&PolicyDocument={allow}"),
    )
    .await;
    let xml = call(&iam, &user(&iam, "u"), "ListAccessKeys", "")
        .await
        .unwrap();
    assert!(xml.contains(&id), "{xml}");
    call(
        &iam,
        &user(&iam, "u"),
        "DeleteAccessKey",
        &format!("AccessKeyId={id}"),
    )
    .await
    .unwrap();
    assert!(!ok(&iam, "ListAccessKeys", "UserName=u").await.contains(&id));
    // The root's own key.
    let xml = ok(
        &iam,
        "GetAccessKeyLastUsed",
        &format!("AccessKeyId={}", crate::testing::ROOT_KEY),
    )
    .await;
    assert!(
        xml.contains("<UserName>root</UserName>") && xml.contains("N/A"),
        "{xml}"
    );
    let form = format!("AccessKeyId={}&Status=Inactive", crate::testing::ROOT_KEY);
    ok(&iam, "UpdateAccessKey", &form).await;
    assert!(iam.credentials(crate::testing::ROOT_KEY).is_err());
}

#[tokio::test]
async fn inline_policies() {
    let iam = open(MemStore::default()).await;
    ok(&iam, "CreateUser", "UserName=u").await;
    ok(&iam, "CreateGroup", "GroupName=g").await;
    let e = err(
        &iam,
        "PutUserPolicy",
        "UserName=u&PolicyName=p&PolicyDocument=%7Bnot",
    )
    .await;
    assert!(matches!(e, IamError::MalformedPolicyDocument(_)), "{e:?}");
    let e = err(
        &iam,
        "PutUserPolicy",
        &format!(
            "UserName=x&PolicyName=p&PolicyDocument={}",
            doc("Allow", "s3:*", "*")
        ),
    )
    .await;
    assert_eq!(e.to_string(), "The user with name x cannot be found.");
    // The quota counts all of an owner's policies, the one replaced excepted.
    let big = sized_doc(1500);
    ok(
        &iam,
        "PutUserPolicy",
        &format!("UserName=u&PolicyName=a&PolicyDocument={big}"),
    )
    .await;
    ok(
        &iam,
        "PutUserPolicy",
        &format!("UserName=u&PolicyName=a&PolicyDocument={big}"),
    )
    .await;
    let e = err(
        &iam,
        "PutUserPolicy",
        &format!("UserName=u&PolicyName=b&PolicyDocument={big}"),
    )
    .await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::LimitExceeded(_))),
        "Maximum policy size of 2048 bytes exceeded for user u"
    );
    // A group may hold 5,120 bytes.
    for name in ["a", "b", "c"] {
        ok(
            &iam,
            "PutGroupPolicy",
            &format!("GroupName=g&PolicyName={name}&PolicyDocument={big}"),
        )
        .await;
    }
    let e = err(
        &iam,
        "PutGroupPolicy",
        &format!("GroupName=g&PolicyName=d&PolicyDocument={big}"),
    )
    .await;
    assert_eq!(
        e.to_string(),
        "Maximum policy size of 5120 bytes exceeded for group g"
    );
    let e = err(&iam, "GetUserPolicy", "UserName=u&PolicyName=b").await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::NoSuchEntity(_))),
        "The user policy with name b cannot be found."
    );
    let e = err(&iam, "DeleteGroupPolicy", "GroupName=g&PolicyName=A").await;
    assert_eq!(
        e.to_string(),
        "The group policy with name A cannot be found."
    );
    let xml = ok(&iam, "GetGroupPolicy", "GroupName=G&PolicyName=a").await;
    assert!(
        xml.contains("<GroupName>g</GroupName>") && xml.contains(&big),
        "{xml}"
    );
    let xml = ok(&iam, "ListGroupPolicies", "GroupName=g&MaxItems=2").await;
    assert!(
        xml.contains("<member>a</member><member>b</member>")
            && xml.contains("<IsTruncated>true</IsTruncated>"),
        "{xml}"
    );
    assert!(ok(&iam, "ListUserPolicies", "UserName=u")
        .await
        .contains("<member>a</member>"));
    // The user's effective policies follow its own and its groups'.
    ok(&iam, "AddUserToGroup", "GroupName=g&UserName=u").await;
    assert_eq!(iam.identity_policies(&user(&iam, "u")).len(), 4);
    ok(&iam, "DeleteGroupPolicy", "GroupName=g&PolicyName=c").await;
    assert_eq!(iam.identity_policies(&user(&iam, "u")).len(), 3);
}

#[tokio::test]
async fn tags() {
    let iam = open(MemStore::default()).await;
    let form = |n: usize, base: usize| -> String {
        (1..=n)
            .map(|i| format!("Tags.member.{i}.Key=k{}&Tags.member.{i}.Value=v", base + i))
            .collect::<Vec<_>>()
            .join("&")
    };
    ok(&iam, "CreateUser", &format!("UserName=u&{}", form(49, 0))).await;
    let dup = "UserName=u&Tags.member.1.Key=Team&Tags.member.1.Value=a&Tags.member.2.Key=team&Tags.member.2.Value=b";
    let e = err(&iam, "TagUser", dup).await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::InvalidInput(_))),
        "Duplicate tag keys found. Please note that Tag keys are case insensitive."
    );
    ok(
        &iam,
        "TagUser",
        "UserName=u&Tags.member.1.Key=Team&Tags.member.1.Value=a",
    )
    .await;
    let e = err(
        &iam,
        "TagUser",
        "UserName=u&Tags.member.1.Key=new&Tags.member.1.Value=a",
    )
    .await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::LimitExceeded(_))),
        "The number of tags has reached the maximum limit of 50."
    );
    // A key set again in another case replaces the old one.
    ok(&iam, "TagUser", "UserName=u&Tags.member.1.Key=TEAM&Tags.member.1.Value=b&Tags.member.2.Key=K1&Tags.member.2.Value=w").await;
    let xml = ok(&iam, "ListUserTags", "UserName=u").await;
    assert!(xml.starts_with("<Tags><member><Key>k2</Key>"), "{xml}");
    assert!(
        xml.contains("<Key>TEAM</Key><Value>b</Value>") && !xml.contains(">Team<"),
        "{xml}"
    );
    assert!(
        xml.contains("<Key>K1</Key><Value>w</Value>") && !xml.contains(">k1<"),
        "{xml}"
    );
    ok(
        &iam,
        "UntagUser",
        "UserName=u&TagKeys.member.1=team&TagKeys.member.2=k2",
    )
    .await;
    let xml = ok(&iam, "ListUserTags", "UserName=u&MaxItems=48").await;
    assert!(
        !xml.contains("TEAM")
            && !xml.contains("<Key>k2<")
            && xml.contains("<IsTruncated>false</IsTruncated>"),
        "{xml}"
    );
    let e = err(&iam, "ListUserTags", "UserName=x").await;
    assert!(matches!(e, IamError::NoSuchEntity(_)));
}

#[tokio::test]
async fn account_summary() {
    let iam = open(MemStore::default()).await;
    ok(&iam, "CreateUser", "UserName=u").await;
    ok(&iam, "CreateGroup", "GroupName=g").await;
    let xml = ok(&iam, "GetAccountSummary", "").await;
    for entry in [
        ("Users", 1),
        ("Groups", 1),
        ("AccountAccessKeysPresent", 1),
        ("UserPolicySizeQuota", 2048),
        ("GroupPolicySizeQuota", 5120),
        ("RolePolicySizeQuota", 10240),
    ] {
        let want = format!(
            "<entry><key>{}</key><value>{}</value></entry>",
            entry.0, entry.1
        );
        assert!(xml.contains(&want), "{want} in {xml}");
    }
}

#[tokio::test]
async fn simulator() {
    let iam = open(MemStore::default()).await;
    ok(&iam, "CreateUser", "UserName=u").await;
    ok(
        &iam,
        "PutUserPolicy",
        &format!(
            "UserName=u&PolicyName=p&PolicyDocument={}",
            doc("Allow", "s3:GetObject", "*")
        ),
    )
    .await;
    let custom = format!(
        "PolicyInputList.member.1={}&ActionNames.member.1=s3%3AGetObject",
        doc("Allow", "s3:GetObject", "*")
    );
    let xml = ok(&iam, "SimulateCustomPolicy", &custom).await;
    assert!(
        xml.contains("<EvalDecision>allowed</EvalDecision>"),
        "{xml}"
    );
    let principal = format!(
        "PolicySourceArn={}&ActionNames.member.1=s3%3APutObject",
        super::url_encode(SOURCE)
    );
    let xml = ok(&iam, "SimulatePrincipalPolicy", &principal).await;
    assert!(
        xml.contains("<EvalDecision>implicitDeny</EvalDecision>"),
        "{xml}"
    );
    let cond = super::url_encode(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}"#,
    );
    let xml = ok(
        &iam,
        "GetContextKeysForCustomPolicy",
        &format!("PolicyInputList.member.1={cond}"),
    )
    .await;
    assert!(xml.contains("aws:SourceIp"), "{xml}");
    let form = format!(
        "PolicySourceArn={}&PolicyInputList.member.1={cond}",
        super::url_encode(SOURCE)
    );
    let xml = ok(&iam, "GetContextKeysForPrincipalPolicy", &form).await;
    assert!(xml.contains("aws:SourceIp"), "{xml}");
    let e = err(&iam, "SimulatePrincipalPolicy", "PolicySourceArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Auser%2Fnobody&ActionNames.member.1=s3%3AGetObject").await;
    assert_eq!(e.to_string(), "The user with name nobody cannot be found.");
}

/// Authorization through the front door: a Deny on one user's ARN wins over
/// `iam:*`, and the denial names the user as AWS does.
#[tokio::test]
async fn a_deny_on_one_user_wins_over_an_allow_of_everything() {
    let iam = open(MemStore::default()).await;
    for u in ["alice", "bob", "carol"] {
        ok(&iam, "CreateUser", &format!("UserName={u}")).await;
    }
    let allow = doc("Allow", "iam:*", "*");
    let deny = doc("Deny", "iam:*", "arn:aws:iam::123456789012:user/bob");
    ok(
        &iam,
        "PutUserPolicy",
        &format!("UserName=alice&PolicyName=all&PolicyDocument={allow}"),
    )
    .await;
    ok(
        &iam,
        "PutUserPolicy",
        &format!("UserName=alice&PolicyName=not-bob&PolicyDocument={deny}"),
    )
    .await;
    let alice = user(&iam, "alice");
    assert!(call(&iam, &alice, "GetUser", "UserName=carol")
        .await
        .is_ok());
    for (op, form) in [
        ("GetUser", "UserName=bob"),
        ("DeleteUser", "UserName=bob"),
        (
            "TagUser",
            "UserName=bob&Tags.member.1.Key=k&Tags.member.1.Value=v",
        ),
    ] {
        let e = call(&iam, &alice, op, form).await.unwrap_err();
        assert_eq!(
            message(e, |e| matches!(e, IamError::AccessDenied(_))),
            format!("User: arn:aws:iam::123456789012:user/alice is not authorized to perform: iam:{op} on resource: user bob with an explicit deny in an identity-based policy")
        );
    }
    assert!(call(&iam, &alice, "GetUser", "UserName=bob").await.is_err());
    assert!(ok(&iam, "GetUser", "UserName=bob").await.contains("bob"));
    // Nothing allows carol anything.
    let e = call(&iam, &user(&iam, "carol"), "ListUsers", "")
        .await
        .unwrap_err();
    assert!(matches!(e, IamError::AccessDenied(_)), "{e:?}");
}

#[tokio::test]
async fn sts_get_caller_identity() {
    let iam = open(MemStore::default()).await;
    let p = iamd_api::Params::from_form(b"").unwrap();
    let req = iamd_api::sts::decode("GetCallerIdentity", &p).unwrap();
    let ctx = crate::testing::context(&iam, &root());
    let out = iam
        .handle_sts(&root(), req, &crate::LazyContext::ready(&ctx))
        .await
        .unwrap()
        .unwrap();
    let mut xml = String::new();
    out.write_xml(&mut xml);
    assert!(
        xml.contains("<Arn>arn:aws:iam::123456789012:root</Arn>"),
        "{xml}"
    );
    let req = iamd_api::sts::decode(
        "AssumeRole",
        &iamd_api::Params::from_form(
            b"RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr&RoleSessionName=session",
        )
        .unwrap(),
    )
    .unwrap();
    // The root cannot assume roles (tests in sessions_tests.rs).
    match iam
        .handle_sts(&root(), req, &crate::LazyContext::ready(&ctx))
        .await
    {
        Err(IamError::AccessDenied(m)) => {
            assert_eq!(m, "Roles may not be assumed by root accounts.")
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
}

// ----- roles -----------------------------------------------------------------------

/// A trust policy letting `principal` (an `"AWS"` value) assume the role, as a form value.
fn trust(principal: &str) -> String {
    super::url_encode(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":"sts:AssumeRole"}}]}}"#
    ))
}

pub(super) const EC2_TRUST: &str = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22ec2.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D";

/// The text between `<tag>` and `</tag>` (the first one).
fn field<'a>(xml: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let start = xml
        .find(&open)
        .unwrap_or_else(|| panic!("no {tag} in {xml}"))
        + open.len();
    let end = xml[start..].find(&format!("</{tag}>")).unwrap() + start;
    &xml[start..end]
}

#[tokio::test]
async fn roles() {
    let iam = open(MemStore::default()).await;
    let xml = ok(
        &iam,
        "CreateRole",
        &format!("RoleName=web&Path=/app/&Description=serves&AssumeRolePolicyDocument={EC2_TRUST}&Tags.member.1.Key=team&Tags.member.1.Value=web"),
    )
    .await;
    assert!(
        xml.contains("<Arn>arn:aws:iam::123456789012:role/app/web</Arn>")
            && xml.contains("<RoleId>AROA")
            && xml.contains("<Key>team</Key>")
            && xml.contains(&format!(
                "<AssumeRolePolicyDocument>{EC2_TRUST}</AssumeRolePolicyDocument>"
            )),
        "{xml}"
    );
    let e = err(
        &iam,
        "CreateRole",
        &format!("RoleName=WEB&AssumeRolePolicyDocument={EC2_TRUST}"),
    )
    .await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::EntityAlreadyExists(_))),
        "Role with name WEB already exists."
    );
    let e = err(&iam, "GetRole", "RoleName=nobody").await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::NoSuchEntity(_))),
        "The role with name nobody cannot be found."
    );
    // GetRole: MaxSessionDuration defaults to an hour; RoleLastUsed is there, empty.
    let xml = ok(&iam, "GetRole", "RoleName=Web").await;
    assert!(
        xml.contains("<MaxSessionDuration>3600</MaxSessionDuration>")
            && xml.contains("<Description>serves</Description>")
            && xml.contains("<RoleLastUsed></RoleLastUsed>")
            && xml.contains("<Key>team</Key>"),
        "{xml}"
    );
    // A trust policy is validated as one, and its size is AWS's ACLSizePerRole.
    let identity = doc("Allow", "s3:*", "*");
    let e = err(
        &iam,
        "CreateRole",
        &format!("RoleName=x&AssumeRolePolicyDocument={identity}"),
    )
    .await;
    assert!(matches!(e, IamError::MalformedPolicyDocument(_)), "{e:?}");
    let big = super::url_encode(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"ec2.amazonaws.com"}},"Action":"sts:AssumeRole","Condition":{{"StringEquals":{{"sts:ExternalId":"{}"}}}}}}]}}"#,
        "x".repeat(2000)
    ));
    let e = err(
        &iam,
        "CreateRole",
        &format!("RoleName=x&AssumeRolePolicyDocument={big}"),
    )
    .await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::LimitExceeded(_))),
        "Cannot exceed quota for ACLSizePerRole: 2048"
    );
    let e = err(
        &iam,
        "UpdateAssumeRolePolicy",
        &format!("RoleName=web&PolicyDocument={big}"),
    )
    .await;
    assert!(matches!(e, IamError::LimitExceeded(_)), "{e:?}");
    // A boundary policy that does not exist.
    let e = err(
        &iam,
        "CreateRole",
        &format!("RoleName=x&AssumeRolePolicyDocument={EC2_TRUST}&PermissionsBoundary=arn%3Aaws%3Aiam%3A%3A123456789012%3Apolicy%2Fnone"),
    )
    .await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::NoSuchEntity(_))),
        "Scope ARN: arn:aws:iam::123456789012:policy/none does not exist or is not attachable."
    );
    // UpdateRole, UpdateRoleDescription.
    ok(&iam, "UpdateRole", "RoleName=web&MaxSessionDuration=43200").await;
    let xml = ok(
        &iam,
        "UpdateRoleDescription",
        "RoleName=web&Description=new",
    )
    .await;
    assert!(
        xml.contains("<Description>new</Description>")
            && xml.contains("<MaxSessionDuration>43200</MaxSessionDuration>"),
        "{xml}"
    );
    // ListRoles: path prefix, name order, paging.
    for n in ["b", "a", "C"] {
        ok(
            &iam,
            "CreateRole",
            &format!("RoleName={n}&AssumeRolePolicyDocument={EC2_TRUST}"),
        )
        .await;
    }
    let xml = ok(&iam, "ListRoles", "PathPrefix=/app/").await;
    assert!(xml.contains("<RoleName>web</RoleName>") && !xml.contains("<RoleName>a<"));
    let xml = ok(&iam, "ListRoles", "MaxItems=2").await;
    assert!(
        xml.contains("<RoleName>a</RoleName><RoleId>")
            || xml.find("<RoleName>a<") < xml.find("<RoleName>b<"),
        "{xml}"
    );
    assert!(xml.contains("<IsTruncated>true</IsTruncated>"), "{xml}");
    let marker = field(&xml, "Marker").to_string();
    let xml = ok(&iam, "ListRoles", &format!("MaxItems=2&Marker={marker}")).await;
    assert!(
        xml.contains("<RoleName>C</RoleName>") && xml.contains("<RoleName>web</RoleName>"),
        "{xml}"
    );
    // Inline policies: a role holds 10,240 bytes; what it holds must go before it.
    let p = sized_doc(4000);
    for name in ["p1", "p2"] {
        ok(
            &iam,
            "PutRolePolicy",
            &format!("RoleName=web&PolicyName={name}&PolicyDocument={p}"),
        )
        .await;
    }
    let e = err(
        &iam,
        "PutRolePolicy",
        &format!("RoleName=web&PolicyName=p3&PolicyDocument={p}"),
    )
    .await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::LimitExceeded(_))),
        "Maximum policy size of 10240 bytes exceeded for role web"
    );
    assert_eq!(iam.read().role_names.len(), 4);
    assert_eq!(
        <crate::state::Role as crate::entity::Entity>::by_name(&iam.read(), "web")
            .unwrap()
            .effective
            .len(),
        2
    );
    let xml = ok(&iam, "GetRolePolicy", "RoleName=web&PolicyName=p1").await;
    assert!(xml.contains("<RoleName>web</RoleName>"), "{xml}");
    assert!(ok(&iam, "ListRolePolicies", "RoleName=web")
        .await
        .contains("<member>p1</member><member>p2</member>"));
    let e = err(&iam, "DeleteRole", "RoleName=web").await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::DeleteConflict(_))),
        "Cannot delete entity, must delete policies first."
    );
    for name in ["p1", "p2"] {
        ok(
            &iam,
            "DeleteRolePolicy",
            &format!("RoleName=web&PolicyName={name}"),
        )
        .await;
    }
    let e = err(&iam, "GetRolePolicy", "RoleName=web&PolicyName=p1").await;
    assert_eq!(
        e.to_string(),
        "The role policy with name p1 cannot be found."
    );
    // Tags.
    ok(
        &iam,
        "TagRole",
        "RoleName=web&Tags.member.1.Key=TEAM&Tags.member.1.Value=ops",
    )
    .await;
    let xml = ok(&iam, "ListRoleTags", "RoleName=web").await;
    assert!(xml.contains("<Key>TEAM</Key><Value>ops</Value>") && !xml.contains(">team<"));
    ok(&iam, "UntagRole", "RoleName=web&TagKeys.member.1=team").await;
    assert!(!ok(&iam, "ListRoleTags", "RoleName=web")
        .await
        .contains("<Key>"));
    // In an instance profile: it must be removed first.
    ok(&iam, "CreateInstanceProfile", "InstanceProfileName=web").await;
    ok(
        &iam,
        "AddRoleToInstanceProfile",
        "InstanceProfileName=web&RoleName=web",
    )
    .await;
    let e = err(&iam, "DeleteRole", "RoleName=web").await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::DeleteConflict(_))),
        "Cannot delete entity, must remove roles from instance profile first."
    );
    ok(
        &iam,
        "RemoveRoleFromInstanceProfile",
        "InstanceProfileName=web&RoleName=web",
    )
    .await;
    ok(&iam, "DeleteRole", "RoleName=web").await;
    assert!(matches!(
        err(&iam, "GetRole", "RoleName=web").await,
        IamError::NoSuchEntity(_)
    ));
    let xml = ok(&iam, "GetAccountSummary", "").await;
    assert!(
        xml.contains("<entry><key>Roles</key><value>3</value></entry>"),
        "{xml}"
    );
    assert!(
        xml.contains("<entry><key>InstanceProfiles</key><value>1</value></entry>"),
        "{xml}"
    );
}

#[tokio::test]
async fn roles_per_account_quota() {
    let iam = open(MemStore::default()).await;
    for i in 0..super::quota::ROLES {
        ok(
            &iam,
            "CreateRole",
            &format!("RoleName=r{i}&AssumeRolePolicyDocument={EC2_TRUST}"),
        )
        .await;
    }
    let e = err(
        &iam,
        "CreateRole",
        &format!("RoleName=one-more&AssumeRolePolicyDocument={EC2_TRUST}"),
    )
    .await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::LimitExceeded(_))),
        "Cannot exceed quota for RolesPerAccount: 1000"
    );
}

/// AWS binds a user or role ARN in a trust policy to the principal's unique id: a
/// principal that does not exist is refused; deleted and recreated, it is no longer
/// trusted, and GetRole shows the old unique id in place of the ARN.
#[tokio::test]
async fn trust_policies_are_bound_to_principal_ids() {
    let store = MemStore::default();
    let iam = open(store.clone()).await;
    let alice = "arn:aws:iam::123456789012:user/alice";
    let e = err(
        &iam,
        "CreateRole",
        &format!("RoleName=r&AssumeRolePolicyDocument={}", trust(alice)),
    )
    .await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::MalformedPolicyDocument(_))),
        "Invalid principal in policy: \"AWS\":\"arn:aws:iam::123456789012:user/alice\""
    );
    let xml = ok(&iam, "CreateUser", "UserName=alice").await;
    let old_id = field(&xml, "UserId").to_string();
    ok(
        &iam,
        "CreateRole",
        &format!("RoleName=r&AssumeRolePolicyDocument={}", trust(alice)),
    )
    .await;
    // Another account's principals and the account itself are not looked up.
    ok(
        &iam,
        "CreateRole",
        &format!(
            "RoleName=other&AssumeRolePolicyDocument={}",
            trust("arn:aws:iam::111122223333:user/x")
        ),
    )
    .await;
    let trusts = |iam: &crate::core::Iam<MemStore>, arn: &str, id: &str| {
        use crate::entity::Entity;
        let state = iam.read();
        let r = crate::state::Role::by_name(&state, "r").unwrap();
        let mut ctx = iamd_policy::Context::new();
        ctx.insert("aws:PrincipalArn", arn);
        let req = iamd_policy::Request {
            action: "sts:AssumeRole",
            resource: iamd_policy::Resource::Arn("arn:aws:iam::123456789012:role/r"),
            resource_account: Some(ACCOUNT),
            caller: iamd_policy::Caller::User {
                arn,
                id,
                account: ACCOUNT,
            },
            context: &ctx,
        };
        let set = iamd_policy::PolicySet {
            trust: Some(&r.trust.compiled),
            ..Default::default()
        };
        iamd_policy::decide(&req, &set).kind == iamd_policy::DecisionKind::Allow
    };
    assert!(trusts(&iam, alice, &old_id));
    let shown = ok(&iam, "GetRole", "RoleName=r").await;
    assert!(shown.contains(&super::url_encode(alice)), "{shown}");
    // Recreated: another id, no longer trusted; GetRole and ListRoles show the old id.
    ok(&iam, "DeleteUser", "UserName=alice").await;
    let xml = ok(&iam, "CreateUser", "UserName=alice").await;
    let new_id = field(&xml, "UserId").to_string();
    assert_ne!(old_id, new_id);
    assert!(!trusts(&iam, alice, &new_id));
    for (op, form) in [("GetRole", "RoleName=r"), ("ListRoles", "")] {
        let xml = ok(&iam, op, form).await;
        assert!(
            xml.contains(&format!("%22AWS%22%3A%22{old_id}%22"))
                && !xml.contains(&super::url_encode(alice)),
            "{op}: {xml}"
        );
    }
    // Saving the trust policy again binds the new alice.
    ok(
        &iam,
        "UpdateAssumeRolePolicy",
        &format!("RoleName=r&PolicyDocument={}", trust(alice)),
    )
    .await;
    assert!(trusts(&iam, alice, &new_id));
    // A restart keeps the binding: the snapshot is what the store committed.
    let mut snap = iamd_store::Snapshot::default();
    for batch in store.committed.lock().unwrap().iter() {
        for c in batch {
            replay(&mut snap, c.clone());
        }
    }
    // Alice deleted and recreated behind the role's back (as another node would).
    snap.users.retain(|u| u.name != "alice");
    snap.users.push(iamd_store::UserRecord {
        id: "AIDAANOTHERALICE00001".into(),
        name: "alice".into(),
        path: "/".into(),
        created: 1,
        boundary_arn: None,
    });
    let again = open(MemStore::with(snap)).await;
    assert!(!trusts(&again, alice, "AIDAANOTHERALICE00001"));
    assert!(ok(&again, "GetRole", "RoleName=r").await.contains(&new_id));
}

/// Applies a committed change to a snapshot (enough of the store's semantics for the
/// changes these tests make).
fn replay(s: &mut iamd_store::Snapshot, c: iamd_store::Change) {
    use iamd_store::Change::*;
    match c {
        PutAccount(a) => s.account = Some(a),
        PutUser(u) => {
            s.users.retain(|x| x.id != u.id);
            s.users.push(u);
        }
        DeleteUser { id } => s.users.retain(|x| x.id != id),
        PutRole(r) => {
            s.roles.retain(|x| x.id != r.id);
            s.roles.push(r);
        }
        DeleteRole { id } => s.roles.retain(|x| x.id != id),
        PutAccessKey(k) => s.access_keys.push(k),
        _ => {}
    }
}

#[tokio::test]
async fn instance_profiles() {
    let iam = open(MemStore::default()).await;
    let xml = ok(
        &iam,
        "CreateInstanceProfile",
        "InstanceProfileName=web&Path=/app/&Tags.member.1.Key=tier&Tags.member.1.Value=web",
    )
    .await;
    assert!(
        xml.contains("<Arn>arn:aws:iam::123456789012:instance-profile/app/web</Arn>")
            && xml.contains("<InstanceProfileId>AIPA")
            && xml.contains("<Roles></Roles>"),
        "{xml}"
    );
    let e = err(&iam, "CreateInstanceProfile", "InstanceProfileName=WEB").await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::EntityAlreadyExists(_))),
        "Instance Profile WEB already exists."
    );
    let e = err(&iam, "GetInstanceProfile", "InstanceProfileName=nope").await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::NoSuchEntity(_))),
        "Instance Profile nope cannot be found."
    );
    for r in ["a", "b"] {
        ok(
            &iam,
            "CreateRole",
            &format!("RoleName={r}&AssumeRolePolicyDocument={EC2_TRUST}"),
        )
        .await;
    }
    ok(
        &iam,
        "AddRoleToInstanceProfile",
        "InstanceProfileName=web&RoleName=a",
    )
    .await;
    let e = err(
        &iam,
        "AddRoleToInstanceProfile",
        "InstanceProfileName=web&RoleName=b",
    )
    .await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::LimitExceeded(_))),
        "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1"
    );
    let xml = ok(&iam, "GetInstanceProfile", "InstanceProfileName=web").await;
    assert!(
        xml.contains("<Roles><member><Path>/</Path><RoleName>a</RoleName>")
            && xml.contains("<Key>tier</Key>"),
        "{xml}"
    );
    ok(&iam, "CreateInstanceProfile", "InstanceProfileName=api").await;
    let xml = ok(&iam, "ListInstanceProfilesForRole", "RoleName=a").await;
    assert!(
        xml.contains("<InstanceProfileName>web<") && !xml.contains(">api<"),
        "{xml}"
    );
    let xml = ok(&iam, "ListInstanceProfiles", "").await;
    assert!(xml.find(">api<") < xml.find(">web<"), "name order: {xml}");
    assert!(!ok(&iam, "ListInstanceProfiles", "PathPrefix=/app/")
        .await
        .contains(">api<"));
    let e = err(&iam, "DeleteInstanceProfile", "InstanceProfileName=web").await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::DeleteConflict(_))),
        "Cannot delete entity, must remove roles from instance profile first."
    );
    let e = err(
        &iam,
        "RemoveRoleFromInstanceProfile",
        "InstanceProfileName=web&RoleName=b",
    )
    .await;
    assert!(matches!(e, IamError::NoSuchEntity(_)), "{e:?}");
    ok(
        &iam,
        "RemoveRoleFromInstanceProfile",
        "InstanceProfileName=web&RoleName=a",
    )
    .await;
    ok(
        &iam,
        "UntagInstanceProfile",
        "InstanceProfileName=web&TagKeys.member.1=TIER",
    )
    .await;
    assert!(
        !ok(&iam, "ListInstanceProfileTags", "InstanceProfileName=web")
            .await
            .contains("<Key>")
    );
    ok(
        &iam,
        "TagInstanceProfile",
        "InstanceProfileName=web&Tags.member.1.Key=k&Tags.member.1.Value=v",
    )
    .await;
    ok(&iam, "DeleteInstanceProfile", "InstanceProfileName=web").await;
    assert!(matches!(
        err(&iam, "ListInstanceProfileTags", "InstanceProfileName=web").await,
        IamError::NoSuchEntity(_)
    ));
}

#[tokio::test]
async fn service_linked_roles() {
    let iam = open(MemStore::default()).await;
    let xml = ok(
        &iam,
        "CreateServiceLinkedRole",
        "AWSServiceName=elasticbeanstalk.amazonaws.com&Description=eb",
    )
    .await;
    assert!(
        xml.contains("<Path>/aws-service-role/elasticbeanstalk.amazonaws.com/</Path>")
            && xml.contains("<RoleName>AWSServiceRoleForElasticBeanstalk</RoleName>"),
        "{xml}"
    );
    let e = err(
        &iam,
        "CreateServiceLinkedRole",
        "AWSServiceName=elasticbeanstalk.amazonaws.com",
    )
    .await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::InvalidInput(_))),
        "Service role name AWSServiceRoleForElasticBeanstalk has been taken in this account, please try a different suffix."
    );
    let xml = ok(
        &iam,
        "CreateServiceLinkedRole",
        "AWSServiceName=elasticbeanstalk.amazonaws.com&CustomSuffix=two",
    )
    .await;
    assert!(
        xml.contains("<RoleName>AWSServiceRoleForElasticBeanstalk_two</RoleName>"),
        "{xml}"
    );
    let name = "AWSServiceRoleForElasticBeanstalk";
    let protected = format!(
        "Cannot perform the operation on the protected role '{name}' - this role is only modifiable by AWS"
    );
    for (op, form) in [
        (
            "UpdateRole",
            format!("RoleName={name}&MaxSessionDuration=7200"),
        ),
        ("DeleteRole", format!("RoleName={name}")),
        (
            "PutRolePolicy",
            format!(
                "RoleName={name}&PolicyName=p&PolicyDocument={}",
                doc("Allow", "s3:*", "*")
            ),
        ),
        ("DeleteRolePolicy", format!("RoleName={name}&PolicyName=p")),
        (
            "UpdateAssumeRolePolicy",
            format!("RoleName={name}&PolicyDocument={EC2_TRUST}"),
        ),
    ] {
        let e = err(&iam, op, &form).await;
        assert_eq!(
            message(
                e,
                |e| matches!(e, IamError::Modeled(m, _) if m.code == "UnmodifiableEntity")
            ),
            protected,
            "{op}"
        );
    }
    // Its description may be edited.
    ok(
        &iam,
        "UpdateRoleDescription",
        &format!("RoleName={name}&Description=d"),
    )
    .await;
    // An ordinary role is not deleted as a service-linked one.
    ok(
        &iam,
        "CreateRole",
        &format!("RoleName=plain&AssumeRolePolicyDocument={EC2_TRUST}"),
    )
    .await;
    assert!(matches!(
        err(&iam, "DeleteServiceLinkedRole", "RoleName=plain").await,
        IamError::NoSuchEntity(_)
    ));
    let xml = ok(&iam, "DeleteServiceLinkedRole", &format!("RoleName={name}")).await;
    let task = field(&xml, "DeletionTaskId").to_string();
    assert!(
        task.starts_with(&format!(
            "task/aws-service-role/elasticbeanstalk.amazonaws.com/{name}/"
        )),
        "{task}"
    );
    assert!(matches!(
        err(&iam, "GetRole", &format!("RoleName={name}")).await,
        IamError::NoSuchEntity(_)
    ));
    let xml = ok(
        &iam,
        "GetServiceLinkedRoleDeletionStatus",
        &format!("DeletionTaskId={}", super::url_encode(&task)),
    )
    .await;
    assert!(xml.contains("<Status>SUCCEEDED</Status>"), "{xml}");
    let e = err(
        &iam,
        "GetServiceLinkedRoleDeletionStatus",
        "DeletionTaskId=task%2Fnone%2Fx%2F1",
    )
    .await;
    assert!(matches!(e, IamError::NoSuchEntity(_)), "{e:?}");
}

/// The role operations' condition keys: request tags and the boundary on CreateRole,
/// the role's resource tags on the others; a Deny on one tag wins.
#[tokio::test]
async fn role_checks_carry_their_condition_keys() {
    let iam = open(MemStore::default()).await;
    ok(
        &iam,
        "CreateRole",
        &format!("RoleName=prod&AssumeRolePolicyDocument={EC2_TRUST}&Tags.member.1.Key=env&Tags.member.1.Value=prod"),
    )
    .await;
    let checks = iam
        .checks(
            &caller(),
            &request(
                "CreateRole",
                TABLE.iter().find(|(op, _)| *op == "CreateRole").unwrap().1,
            ),
        )
        .unwrap();
    let keys: Vec<&str> = checks[0].keys.iter().map(|(k, _)| k.as_str()).collect();
    assert!(
        keys.contains(&"aws:RequestTag/k")
            && keys.contains(&"aws:TagKeys")
            && keys.contains(&"iam:PermissionsBoundary"),
        "{keys:?}"
    );
    let checks = iam
        .checks(&caller(), &request("GetRole", "RoleName=prod"))
        .unwrap();
    let keys: Vec<&str> = checks[0].keys.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["aws:ResourceTag/env", "iam:ResourceTag/env"]);
    ok(&iam, "CreateUser", "UserName=dev").await;
    let allow = doc("Allow", "iam:*", "*");
    let deny = super::url_encode(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:*","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/env":"prod"}}}]}"#,
    );
    ok(
        &iam,
        "PutUserPolicy",
        &format!("UserName=dev&PolicyName=all&PolicyDocument={allow}"),
    )
    .await;
    ok(
        &iam,
        "PutUserPolicy",
        &format!("UserName=dev&PolicyName=not-prod&PolicyDocument={deny}"),
    )
    .await;
    let dev = user(&iam, "dev");
    let e = call(&iam, &dev, "DeleteRole", "RoleName=prod")
        .await
        .unwrap_err();
    assert_eq!(
        message(e, |e| matches!(e, IamError::AccessDenied(_))),
        "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: iam:DeleteRole on resource: role prod with an explicit deny in an identity-based policy"
    );
    call(
        &iam,
        &dev,
        "CreateRole",
        &format!("RoleName=test&AssumeRolePolicyDocument={EC2_TRUST}"),
    )
    .await
    .unwrap();
    call(&iam, &dev, "DeleteRole", "RoleName=test")
        .await
        .unwrap();
}

/// Startup loads every kind the store holds (roles with their inline policies, tags
/// and instance profiles; instance profiles' tags; deletion tasks).
#[tokio::test]
async fn startup_loads_roles_and_instance_profiles() {
    let mut snap = iamd_store::testing::every_change_snapshot();
    // The fixture's secrets are not sealed with this test's master key.
    snap.access_keys.clear();
    snap.key_usage.clear();
    let iam = open(MemStore::with(snap)).await;
    let xml = ok(&iam, "GetRole", "RoleName=houdini-writer").await;
    assert!(
        xml.contains("<Key>team</Key>") && xml.contains("<Region>eu-west-1</Region>"),
        "{xml}"
    );
    assert!(ok(&iam, "ListRolePolicies", "RoleName=houdini-writer")
        .await
        .contains("<member>write</member>"));
    let xml = ok(&iam, "GetInstanceProfile", "InstanceProfileName=web").await;
    assert!(
        xml.contains("<RoleName>houdini-writer</RoleName>") && xml.contains("<Key>tier</Key>"),
        "{xml}"
    );
    let e = err(
        &iam,
        "DeleteRole",
        "RoleName=AWSServiceRoleForElasticBeanstalk",
    )
    .await;
    assert!(
        matches!(e, IamError::Modeled(m, _) if m.code == "UnmodifiableEntity"),
        "{e:?}"
    );
    assert_eq!(iam.read().deletion_tasks.len(), 1);
}

/// The STS limits iamd checks by hand are the model's (a newer model moves them).
#[test]
fn sts_limits_are_the_models() {
    assert_eq!(super::sts::session_policy_max(), 2048);
    assert_eq!(crate::authz_message::max_encoded(), 10_240);
}

/// A role's trust policy holds exactly 2,048 characters (whitespace outside strings not
/// counted) and its inline policies 10,240: the limit is accepted, one more refused
/// with AWS's text.
#[tokio::test]
async fn role_document_sizes_at_the_limit() {
    let iam = open(MemStore::default()).await;
    // A document of exactly `size` characters, padded inside a string.
    let sized = |template: &str, size: usize| {
        let base = iamd_policy::size_without_whitespace(&template.replace("PAD", ""));
        let text = template.replace("PAD", &"x".repeat(size - base));
        assert_eq!(iamd_policy::size_without_whitespace(&text), size);
        super::url_encode(&text)
    };
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow", "Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"PAD"}}}]}"#;
    let inline = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow", "Action":"s3:GetObject","Resource":"arn:aws:s3:::PAD"}]}"#;
    let too_big = "Cannot exceed quota for ACLSizePerRole: 2048";
    for (op, form) in [
        ("CreateRole", "RoleName=edge&AssumeRolePolicyDocument="),
        ("UpdateAssumeRolePolicy", "RoleName=edge&PolicyDocument="),
    ] {
        let e = err(&iam, op, &format!("{form}{}", sized(trust, 2049))).await;
        assert_eq!(
            message(e, |e| matches!(e, IamError::LimitExceeded(_))),
            too_big,
            "{op}"
        );
        ok(&iam, op, &format!("{form}{}", sized(trust, 2048))).await;
    }
    let put = |name: &str, size: usize| {
        format!(
            "RoleName=edge&PolicyName={name}&PolicyDocument={}",
            sized(inline, size)
        )
    };
    let e = err(&iam, "PutRolePolicy", &put("p", 10_241)).await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::LimitExceeded(_))),
        "Maximum policy size of 10240 bytes exceeded for role edge"
    );
    ok(&iam, "PutRolePolicy", &put("p", 10_240)).await;
    // Full: another policy of any size is one too many; replacing p at the limit is not.
    let e = err(&iam, "PutRolePolicy", &put("q", 200)).await;
    assert!(matches!(e, IamError::LimitExceeded(_)), "{e:?}");
    ok(&iam, "PutRolePolicy", &put("p", 10_240)).await;
}
