//! Permissions boundaries through the front door: the operations and their errors,
//! enforcement (identity ∩ boundary, resource-policy grants, role sessions), the
//! condition keys, persistence through a restart, and the property that a boundary
//! never adds a permission.

use std::sync::Arc;

use super::*;
use crate::principal::{Check, Identity, RoleSession};

const BOUNDARY: &str = "arn:aws:iam::123456789012:policy/b";
const READ_ONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";

fn enc(s: &str) -> String {
    super::super::url_encode(s)
}

async fn policy(iam: &crate::core::Iam<MemStore>, name: &str, action: &str) {
    ok(
        iam,
        "CreatePolicy",
        &format!(
            "PolicyName={name}&PolicyDocument={}",
            doc("Allow", action, "*")
        ),
    )
    .await;
}

/// A user `name` whose inline policy allows everything.
async fn admin(iam: &crate::core::Iam<MemStore>, name: &str, boundary: Option<&str>) {
    let b = boundary
        .map(|b| format!("&PermissionsBoundary={}", enc(b)))
        .unwrap_or_default();
    ok(iam, "CreateUser", &format!("UserName={name}{b}")).await;
    ok(
        iam,
        "PutUserPolicy",
        &format!(
            "UserName={name}&PolicyName=all&PolicyDocument={}",
            doc("Allow", "*", "*")
        ),
    )
    .await;
}

/// A session `s` of the role `name` (id `role_id`), without session policies.
fn session_of(role_id: &str, name: &str) -> Principal {
    Principal::AssumedRole(Arc::new(RoleSession {
        account: ACCOUNT.to_string(),
        role_id: role_id.to_string(),
        role_name: name.to_string(),
        role_arn: format!("arn:aws:iam::{ACCOUNT}:role/{name}"),
        session_name: "s".to_string(),
        arn: format!("arn:aws:sts::{ACCOUNT}:assumed-role/{name}/s"),
        user_id: format!("{role_id}:s"),
        issued_at: 0,
        issued_at_text: "1970-01-01T00:00:00Z".to_string(),
        expires_at: u64::MAX,
        source_identity: None,
        session_policies: Default::default(),
        tags: Vec::new(),
        transitive_tag_keys: Vec::new(),
        chained: false,
    }))
}

/// Whether `p` may do `action` on `*` (through [`crate::core::Iam::authorize`]).
fn may<S: iamd_store::Store>(
    iam: &crate::core::Iam<S>,
    p: &Principal,
    action: &'static str,
) -> bool {
    let ctx = crate::testing::context(iam, p);
    iam.authorize(
        p,
        &[Check::wildcard(action)],
        &crate::LazyContext::ready(&ctx),
    )
    .is_ok()
}

#[tokio::test]
async fn operations_and_their_errors() {
    let iam = open(MemStore::default()).await;
    policy(&iam, "b", "s3:*").await;
    ok(&iam, "CreateUser", "UserName=alice").await;
    let e = BOUNDARY.replace('/', "%2F").replace(':', "%3A");
    ok(
        &iam,
        "PutUserPermissionsBoundary",
        &format!("UserName=alice&PermissionsBoundary={e}"),
    )
    .await;
    let xml = ok(&iam, "GetUser", "UserName=alice").await;
    assert!(
        xml.contains(&format!(
            "<PermissionsBoundary><PermissionsBoundaryType>PermissionsBoundaryPolicy</PermissionsBoundaryType><PermissionsBoundaryArn>{BOUNDARY}</PermissionsBoundaryArn></PermissionsBoundary>"
        )),
        "{xml}"
    );
    // ListUsers does not show boundaries (AWS).
    let xml = ok(&iam, "ListUsers", "").await;
    assert!(!xml.contains("PermissionsBoundary"), "{xml}");
    let xml = ok(&iam, "GetPolicy", &format!("PolicyArn={e}")).await;
    assert!(
        xml.contains("<PermissionsBoundaryUsageCount>1</PermissionsBoundaryUsageCount>")
            && xml.contains("<AttachmentCount>0</AttachmentCount>"),
        "{xml}"
    );
    let xml = ok(
        &iam,
        "ListPolicies",
        "Scope=Local&PolicyUsageFilter=PermissionsBoundary",
    )
    .await;
    assert!(xml.contains("<PolicyName>b</PolicyName>"), "{xml}");
    let xml = ok(
        &iam,
        "ListPolicies",
        "Scope=Local&PolicyUsageFilter=PermissionsPolicy",
    )
    .await;
    assert!(!xml.contains("<PolicyName>b</PolicyName>"), "{xml}");
    let xml = ok(
        &iam,
        "ListEntitiesForPolicy",
        &format!("PolicyArn={e}&PolicyUsageFilter=PermissionsBoundary"),
    )
    .await;
    assert!(xml.contains("<UserName>alice</UserName>"), "{xml}");
    let e2 = err(&iam, "DeletePolicy", &format!("PolicyArn={e}")).await;
    assert_eq!(
        message(e2, |e| matches!(e, IamError::DeleteConflict(_))),
        "Cannot delete a policy attached to entities."
    );
    // Errors: the ARN's shape, the user, the policy.
    let e2 = err(
        &iam,
        "PutUserPermissionsBoundary",
        "UserName=alice&PermissionsBoundary=arn%3Aaws%3Aiam%3A%3A123456789012%3Auser%2Fx",
    )
    .await;
    assert_eq!(
        message(e2, |e| matches!(e, IamError::InvalidInput(_))),
        "ARN arn:aws:iam::123456789012:user/x is not valid."
    );
    let e2 = err(
        &iam,
        "PutUserPermissionsBoundary",
        &format!("UserName=nobody&PermissionsBoundary={e}"),
    )
    .await;
    assert_eq!(
        message(e2, |e| matches!(e, IamError::NoSuchEntity(_))),
        "The user with name nobody cannot be found."
    );
    for missing in [
        "arn:aws:iam::123456789012:policy/none",
        "arn:aws:iam::aws:policy/NoSuchPolicy",
    ] {
        let e2 = err(
            &iam,
            "PutUserPermissionsBoundary",
            &format!("UserName=alice&PermissionsBoundary={}", enc(missing)),
        )
        .await;
        assert_eq!(
            message(e2, |e| matches!(e, IamError::NoSuchEntity(_))),
            format!("Scope ARN: {missing} does not exist or is not attachable.")
        );
        let e2 = err(
            &iam,
            "CreateUser",
            &format!("UserName=carol&PermissionsBoundary={}", enc(missing)),
        )
        .await;
        assert!(matches!(e2, IamError::NoSuchEntity(_)), "{e2:?}");
    }
    assert!(err(&iam, "GetUser", "UserName=carol")
        .await
        .to_string()
        .contains("carol"));
    // Deleting it (twice: nothing to delete is no error).
    ok(&iam, "DeleteUserPermissionsBoundary", "UserName=alice").await;
    ok(&iam, "DeleteUserPermissionsBoundary", "UserName=alice").await;
    let xml = ok(&iam, "GetUser", "UserName=alice").await;
    assert!(!xml.contains("PermissionsBoundary"), "{xml}");
    ok(&iam, "DeletePolicy", &format!("PolicyArn={e}")).await;

    // Roles: an AWS-managed boundary on CreateRole, Put/Delete, service-linked roles.
    let trust = enc(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
    );
    let xml = ok(
        &iam,
        "CreateRole",
        &format!(
            "RoleName=web&AssumeRolePolicyDocument={trust}&PermissionsBoundary={}",
            enc(READ_ONLY)
        ),
    )
    .await;
    assert!(
        xml.contains(&format!(
            "<PermissionsBoundaryArn>{READ_ONLY}</PermissionsBoundaryArn>"
        )),
        "{xml}"
    );
    let xml = ok(&iam, "GetPolicy", &format!("PolicyArn={}", enc(READ_ONLY))).await;
    assert!(
        xml.contains("<PermissionsBoundaryUsageCount>1</PermissionsBoundaryUsageCount>"),
        "{xml}"
    );
    assert!(iam.read().aws_compiled.contains_key(READ_ONLY));
    ok(&iam, "DeleteRolePermissionsBoundary", "RoleName=web").await;
    assert!(!iam.read().aws_compiled.contains_key(READ_ONLY));
    let xml = ok(&iam, "GetRole", "RoleName=web").await;
    assert!(!xml.contains("PermissionsBoundaryArn"), "{xml}");
    ok(
        &iam,
        "PutRolePermissionsBoundary",
        &format!("RoleName=web&PermissionsBoundary={}", enc(READ_ONLY)),
    )
    .await;
    let xml = ok(&iam, "GetRole", "RoleName=web").await;
    assert!(xml.contains("PermissionsBoundaryArn"), "{xml}");
    // A service-linked role's policy is no boundary for a role of a customer.
    let slr_policy = "arn:aws:iam::aws:policy/aws-service-role/AmazonECSServiceRolePolicy";
    ok(&iam, "GetPolicy", &format!("PolicyArn={}", enc(slr_policy))).await;
    let e2 = err(
        &iam,
        "PutRolePermissionsBoundary",
        &format!("RoleName=web&PermissionsBoundary={}", enc(slr_policy)),
    )
    .await;
    assert!(
        matches!(&e2, IamError::Modeled(m, _) if m.code == "PolicyNotAttachable"),
        "{e2:?}"
    );
    assert_eq!(
        e2.to_string(),
        "Cannot attach a Service Role Policy to a Customer Role."
    );
    let e2 = err(&iam, "DeleteRolePermissionsBoundary", "RoleName=nobody").await;
    assert_eq!(
        message(e2, |e| matches!(e, IamError::NoSuchEntity(_))),
        "The role with name nobody cannot be found."
    );
    ok(
        &iam,
        "CreateServiceLinkedRole",
        "AWSServiceName=elasticbeanstalk.amazonaws.com",
    )
    .await;
    for (op, extra) in [
        (
            "PutRolePermissionsBoundary",
            format!("&PermissionsBoundary={}", enc(READ_ONLY)),
        ),
        ("DeleteRolePermissionsBoundary", String::new()),
    ] {
        let e2 = err(
            &iam,
            op,
            &format!("RoleName=AWSServiceRoleForElasticBeanstalk{extra}"),
        )
        .await;
        assert_eq!(
            e2.to_string(),
            "Cannot perform the operation on the protected role 'AWSServiceRoleForElasticBeanstalk' - this role is only modifiable by AWS",
            "{op}"
        );
    }
}

#[tokio::test]
async fn a_boundary_bounds_every_decision_from_the_next_request_on() {
    let iam = open(MemStore::default()).await;
    policy(&iam, "b", "s3:*").await;
    admin(&iam, "alice", Some(BOUNDARY)).await;
    let alice = user(&iam, "alice");
    assert!(may(&iam, &alice, "s3:ListAllMyBuckets"));
    assert!(!may(&iam, &alice, "iam:ListUsers"));
    // The denial names the boundary, as AWS's does.
    let e = call(&iam, &alice, "ListUsers", "").await.unwrap_err();
    assert!(
        e.to_string()
            .ends_with("because no permissions boundary allows the iam:ListUsers action"),
        "{e}"
    );
    // A new default version of the boundary applies at once.
    let e = BOUNDARY.replace('/', "%2F").replace(':', "%3A");
    ok(
        &iam,
        "CreatePolicyVersion",
        &format!(
            "PolicyArn={e}&PolicyDocument={}&SetAsDefault=true",
            doc("Allow", "iam:*", "*")
        ),
    )
    .await;
    assert!(may(&iam, &alice, "iam:ListUsers"));
    assert!(!may(&iam, &alice, "s3:ListAllMyBuckets"));
    ok(
        &iam,
        "SetDefaultPolicyVersion",
        &format!("PolicyArn={e}&VersionId=v1"),
    )
    .await;
    assert!(!may(&iam, &alice, "iam:ListUsers"));
    // An AWS-managed boundary; then none.
    ok(
        &iam,
        "PutUserPermissionsBoundary",
        &format!("UserName=alice&PermissionsBoundary={}", enc(READ_ONLY)),
    )
    .await;
    assert!(may(&iam, &alice, "iam:ListUsers"));
    assert!(!may(&iam, &alice, "iam:CreateUser"));
    ok(&iam, "DeleteUserPermissionsBoundary", "UserName=alice").await;
    assert!(may(&iam, &alice, "iam:CreateUser"));
    // A boundary gives nothing by itself.
    ok(
        &iam,
        "CreateUser",
        &format!("UserName=bob&PermissionsBoundary={e}"),
    )
    .await;
    assert!(!may(&iam, &user(&iam, "bob"), "s3:ListAllMyBuckets"));
}

/// A role session is bounded by its role's boundary as the role has it now.
#[tokio::test]
async fn role_sessions_are_bounded() {
    let iam = open(MemStore::default()).await;
    let trust = enc(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
    );
    ok(
        &iam,
        "CreateRole",
        &format!("RoleName=r&AssumeRolePolicyDocument={trust}"),
    )
    .await;
    ok(
        &iam,
        "PutRolePolicy",
        &format!(
            "RoleName=r&PolicyName=all&PolicyDocument={}",
            doc("Allow", "*", "*")
        ),
    )
    .await;
    let role_id = {
        use crate::entity::Entity;
        crate::state::Role::by_name(&iam.read(), "r")
            .unwrap()
            .rec
            .id
            .clone()
    };
    let session = session_of(&role_id, "r");
    assert!(may(&iam, &session, "iam:CreateUser"));
    ok(
        &iam,
        "PutRolePermissionsBoundary",
        &format!("RoleName=r&PermissionsBoundary={}", enc(READ_ONLY)),
    )
    .await;
    assert!(!may(&iam, &session, "iam:CreateUser"));
    assert!(may(&iam, &session, "iam:ListUsers"));
}

/// docs/policy-semantics.md §4.3: a same-account resource policy naming the user's ARN grants despite the
/// boundary; one naming the role ARN for a session does not; `*` grants; an explicit
/// deny in the boundary always wins.
#[test]
fn resource_policy_grants_and_the_boundary() {
    use iamd_policy::{CompiledPolicy, Context, PolicyType};
    let compile = |d: &str, ty| Arc::new(CompiledPolicy::from_json(d, ty, "p").unwrap());
    let bucket = |principal: &str| {
        compile(
            &format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}]}}"#
            ),
            PolicyType::Resource,
        )
    };
    let boundary = compile(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#,
        PolicyType::PermissionsBoundary,
    );
    let deny = compile(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"s3:GetObject","Resource":"*"}]}"#,
        PolicyType::PermissionsBoundary,
    );
    let user_arn = format!("arn:aws:iam::{ACCOUNT}:user/alice");
    let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/r");
    let user = Principal::User {
        id: "AIDAALICE".into(),
        name: "alice".into(),
        arn: user_arn.clone(),
        account: ACCOUNT.into(),
    };
    let session = session_of("AROAR", "r");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let iam = rt.block_on(open(MemStore::default()));
    let decide = |p: &Principal, b: &Arc<CompiledPolicy>, rp: &Arc<CompiledPolicy>| {
        let identity = Identity {
            policies: Arc::from(Vec::new()),
            boundary: Some(b.clone()),
        };
        let check = Check::on("s3:GetObject", "arn:aws:s3:::b/k".to_string(), Vec::new());
        crate::core::Iam::<MemStore>::evaluate_check(
            p.caller(),
            ACCOUNT,
            &check,
            &Context::new(),
            |req| {
                iam.decide(Some(p), &identity, Some(rp), req, "arn:aws:s3:::b/k")
                    .is_ok()
            },
        )
    };
    assert!(decide(&user, &boundary, &bucket(&user_arn)));
    assert!(decide(&user, &boundary, &bucket("*")));
    assert!(!decide(&user, &boundary, &bucket(ACCOUNT)));
    assert!(!decide(&session, &boundary, &bucket(&role_arn)));
    assert!(!decide(&user, &deny, &bucket(&user_arn)));
}

/// `iam:PermissionsBoundary`: the boundary a request sets (CreateUser,
/// Put…PermissionsBoundary), else the target's current one on the actions whose
/// reference row lists the key; `iam:PolicyARN` on attachments.
#[tokio::test]
async fn checks_carry_the_boundary_key() {
    let iam = open(MemStore::default()).await;
    policy(&iam, "b", "s3:*").await;
    ok(
        &iam,
        "CreateUser",
        &format!("UserName=alice&PermissionsBoundary={}", enc(BOUNDARY)),
    )
    .await;
    ok(&iam, "CreateUser", "UserName=bob").await;
    let key = |op: &str, form: &str| -> Option<Vec<String>> {
        let checks = iam.checks(&root(), &request(op, form)).unwrap();
        checks[0]
            .keys
            .iter()
            .find(|(k, _)| k == "iam:PermissionsBoundary")
            .map(|(_, v)| v.clone())
    };
    let b = Some(vec![BOUNDARY.to_string()]);
    assert_eq!(
        key(
            "CreateUser",
            &format!("UserName=x&PermissionsBoundary={}", enc(BOUNDARY))
        ),
        b
    );
    assert_eq!(key("CreateUser", "UserName=alice"), None);
    for (op, form) in [
        (
            "AttachUserPolicy",
            format!("UserName=alice&PolicyArn={}", enc(READ_ONLY)),
        ),
        (
            "DetachUserPolicy",
            format!("UserName=alice&PolicyArn={}", enc(READ_ONLY)),
        ),
        (
            "PutUserPolicy",
            format!(
                "UserName=alice&PolicyName=p&PolicyDocument={}",
                doc("Allow", "*", "*")
            ),
        ),
        (
            "DeleteUserPolicy",
            "UserName=alice&PolicyName=p".to_string(),
        ),
        (
            "DeleteUserPermissionsBoundary",
            "UserName=alice".to_string(),
        ),
    ] {
        assert_eq!(key(op, &form), b, "{op}");
        assert_eq!(key(op, &form.replace("alice", "bob")), None, "{op}");
    }
    // Not on actions whose row does not list it.
    assert_eq!(key("GetUser", "UserName=alice"), None);
    // The new boundary, not the current one.
    assert_eq!(
        key(
            "PutUserPermissionsBoundary",
            &format!("UserName=alice&PermissionsBoundary={}", enc(READ_ONLY))
        ),
        Some(vec![READ_ONLY.to_string()])
    );
    let checks = iam
        .checks(
            &root(),
            &request(
                "AttachUserPolicy",
                &format!("UserName=alice&PolicyArn={}", enc(READ_ONLY)),
            ),
        )
        .unwrap();
    assert!(checks[0]
        .keys
        .contains(&("iam:PolicyARN".to_string(), vec![READ_ONLY.to_string()])));
}

/// The boundary is stored on the user and role records: a restart brings it back,
/// compiled, with its usage count.
#[tokio::test]
async fn boundaries_survive_a_restart() {
    let store = MemStore::default();
    let iam = open(store.clone()).await;
    policy(&iam, "b", "s3:*").await;
    admin(&iam, "alice", Some(BOUNDARY)).await;
    let mut snap = iamd_store::Snapshot::default();
    for batch in store.committed.lock().unwrap().iter() {
        for c in batch {
            replay_all(&mut snap, c.clone());
        }
    }
    let again = open(MemStore::with(snap)).await;
    let alice = user(&again, "alice");
    assert!(may(&again, &alice, "s3:ListAllMyBuckets"));
    assert!(!may(&again, &alice, "iam:ListUsers"));
    let xml = ok(&again, "GetUser", "UserName=alice").await;
    assert!(xml.contains(BOUNDARY), "{xml}");
}

/// The changes these tests commit, applied to a snapshot.
fn replay_all(s: &mut iamd_store::Snapshot, c: iamd_store::Change) {
    use iamd_store::Change::*;
    match c {
        PutManagedPolicy(p) => s.managed_policies.push(p),
        PutPolicyVersion(v) => s.policy_versions.push(v),
        PutInlinePolicy(p) => s.inline_policies.push(p),
        other => super::replay(s, other),
    }
}

/// Adding a boundary never adds a permission: for random identity policies, boundary
/// and requests, whatever the user may do with the boundary it may do without.
#[test]
fn a_boundary_never_adds_a_permission() {
    use proptest::prelude::*;
    const ACTIONS: &[&str] = &[
        "iam:ListUsers",
        "iam:CreateUser",
        "s3:ListAllMyBuckets",
        "s3:GetObject",
    ];
    const PATTERNS: &[&str] = &[
        "*",
        "iam:*",
        "s3:*",
        "iam:List*",
        "s3:GetObject",
        "iam:CreateUser",
    ];
    let statement = (any::<bool>(), 0..PATTERNS.len()).prop_map(|(allow, i)| {
        format!(
            r#"{{"Effect":"{}","Action":"{}","Resource":"*"}}"#,
            if allow { "Allow" } else { "Deny" },
            PATTERNS[i]
        )
    });
    let document = proptest::collection::vec(statement, 1..4).prop_map(|s| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
            s.join(",")
        )
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let config = ProptestConfig {
        cases: 48,
        ..ProptestConfig::default()
    };
    proptest!(config, |(identity in document.clone(), boundary in document)| {
        rt.block_on(async {
            let iam = open(MemStore::default()).await;
            ok(&iam, "CreatePolicy", &format!("PolicyName=b&PolicyDocument={}", enc(&boundary))).await;
            ok(&iam, "CreateUser", "UserName=u").await;
            ok(&iam, "PutUserPolicy", &format!("UserName=u&PolicyName=p&PolicyDocument={}", enc(&identity))).await;
            let u = user(&iam, "u");
            let without: Vec<bool> = ACTIONS.iter().map(|a| may(&iam, &u, a)).collect();
            ok(&iam, "PutUserPermissionsBoundary", &format!("UserName=u&PermissionsBoundary={}", enc(BOUNDARY))).await;
            for (a, before) in ACTIONS.iter().zip(without) {
                let after = may(&iam, &u, a);
                prop_assert!(before || !after, "{a}: allowed only with the boundary {boundary} (identity {identity})");
            }
            Ok(())
        })?;
    });
}
