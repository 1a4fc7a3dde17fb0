//! Several accounts in one service: each its own namespace and keys, requests served in
//! the caller's account, cross-account AssumeRole needing both the trust policy and
//! the caller's identity policy.

use super::*;
use crate::core::Iam;
use crate::ops::url_encode;
use crate::principal::KeyProblem;

const OTHER: &str = "210987654321";

use crate::testing::{field, sts_call as sts};

/// Puts the inline policy `a` allowing `action` on `resource` on user `name` of the
/// caller's account.
async fn allow_user(
    iam: &Iam<MemStore>,
    root: &Principal,
    name: &str,
    action: &str,
    resource: &str,
) {
    let doc = url_encode(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"{resource}"}}]}}"#
    ));
    call(
        iam,
        root,
        "PutUserPolicy",
        &format!("UserName={name}&PolicyName=a&PolicyDocument={doc}"),
    )
    .await
    .unwrap();
}

/// The first account, and a second one whose root key authenticated to its root.
async fn two_accounts() -> (Iam<MemStore>, Principal) {
    let iam = open(MemStore::default()).await;
    let new = iam.create_account(Some(OTHER.into())).await.unwrap();
    assert_eq!(new.account_id, OTHER);
    let a = iam.authenticate(&new.access_key_id, None).unwrap();
    assert_eq!(&*a.secret, new.secret_access_key);
    assert!(matches!(&a.principal, Principal::Root { account } if account == OTHER));
    (iam, a.principal)
}

/// A user `name` of the caller's account with a key; the user's principal.
async fn user_with_key(iam: &Iam<MemStore>, root: &Principal, name: &str) -> Principal {
    call(iam, root, "CreateUser", &format!("UserName={name}"))
        .await
        .unwrap();
    let xml = call(iam, root, "CreateAccessKey", &format!("UserName={name}"))
        .await
        .unwrap();
    iam.authenticate(&field(&xml, "AccessKeyId"), None)
        .unwrap()
        .principal
}

#[tokio::test]
async fn every_account_has_its_own_namespace_and_keys() {
    let (iam, other_root) = two_accounts().await;
    // The same name in both accounts: two users, each listed in its own account.
    ok(&iam, "CreateUser", "UserName=bob").await;
    let xml = call(&iam, &other_root, "CreateUser", "UserName=bob")
        .await
        .unwrap();
    assert!(
        xml.contains(&format!("arn:aws:iam::{OTHER}:user/bob")),
        "{xml}"
    );
    ok(&iam, "CreateGroup", "GroupName=admins").await;
    let listed = call(&iam, &other_root, "ListGroups", "").await.unwrap();
    assert!(!listed.contains("admins"), "{listed}");
    // A key of the other account authenticates there, to its user.
    let bob = user_with_key(&iam, &other_root, "carol").await;
    assert_eq!(bob.account(), OTHER);
    assert_eq!(bob.arn(), format!("arn:aws:iam::{OTHER}:user/carol"));
    assert!(matches!(
        err(&iam, "GetUser", "UserName=carol").await,
        IamError::NoSuchEntity(_)
    ));
    // The other root's own keys: its one key, not the first account's.
    let keys = call(&iam, &other_root, "ListAccessKeys", "").await.unwrap();
    assert!(!keys.contains(crate::testing::ROOT_KEY), "{keys}");
    assert_eq!(keys.matches("<AccessKeyId>").count(), 1, "{keys}");
    // An id that exists is refused, the first account's too.
    for id in [OTHER, ACCOUNT] {
        assert!(matches!(
            iam.create_account(Some(id.into())).await,
            Err(IamError::EntityAlreadyExists(_))
        ));
    }
    assert!(matches!(
        iam.create_account(Some("12345".into())).await,
        Err(IamError::Validation(_))
    ));
    let random = iam.create_account(None).await.unwrap();
    assert_eq!(random.account_id.len(), 12);
    assert_eq!(iam.account_ids().len(), 3);
    // A deleted key of another account no longer authenticates.
    let xml = call(&iam, &other_root, "CreateAccessKey", "")
        .await
        .unwrap();
    let second = field(&xml, "AccessKeyId");
    assert!(iam.authenticate(&second, None).is_ok());
    call(
        &iam,
        &other_root,
        "DeleteAccessKey",
        &format!("AccessKeyId={second}"),
    )
    .await
    .unwrap();
    assert!(matches!(
        iam.authenticate(&second, None),
        Err(KeyProblem::Unknown)
    ));
}

const ROLE: &str = "arn:aws:iam::123456789012:role/shared";

/// Role `shared` of the first account, trusting `principal` with ExternalId `x1`.
async fn shared_role(iam: &Iam<MemStore>, principal: &str) {
    let trust = url_encode(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":"sts:AssumeRole","Condition":{{"StringEquals":{{"sts:ExternalId":"x1"}}}}}}]}}"#
    ));
    ok(
        iam,
        "CreateRole",
        &format!("RoleName=shared&AssumeRolePolicyDocument={trust}"),
    )
    .await;
    let allow = url_encode(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}"#,
    );
    ok(
        iam,
        "PutRolePolicy",
        &format!("RoleName=shared&PolicyName=p&PolicyDocument={allow}"),
    )
    .await;
}

fn assume_form(external: &str) -> String {
    format!(
        "RoleArn={}&RoleSessionName=s1&ExternalId={external}",
        url_encode(ROLE)
    )
}

#[tokio::test]
async fn cross_account_assume_role_needs_trust_and_identity_policy() {
    let (iam, other_root) = two_accounts().await;
    shared_role(&iam, &format!("arn:aws:iam::{OTHER}:root")).await;
    let dev = user_with_key(&iam, &other_root, "dev").await;
    // Trusted, but dev's own account grants nothing: refused (both are needed).
    let e = sts(&iam, &dev, "AssumeRole", &assume_form("x1"))
        .await
        .unwrap_err();
    assert!(matches!(e, IamError::AccessDenied(_)), "{e:?}");
    allow_user(&iam, &other_root, "dev", "sts:AssumeRole", ROLE).await;
    // The wrong ExternalId: refused by the trust policy.
    assert!(matches!(
        sts(&iam, &dev, "AssumeRole", &assume_form("nope")).await,
        Err(IamError::AccessDenied(_))
    ));
    // Both allow: a session of the first account, with the role's permissions there.
    let xml = sts(&iam, &dev, "AssumeRole", &assume_form("x1"))
        .await
        .unwrap();
    assert!(
        xml.contains(&format!("arn:aws:sts::{ACCOUNT}:assumed-role/shared/s1")),
        "{xml}"
    );
    let session = iam
        .authenticate(
            &field(&xml, "AccessKeyId"),
            Some(&field(&xml, "SessionToken")),
        )
        .unwrap()
        .principal;
    assert_eq!(session.account(), ACCOUNT);
    let who = sts(&iam, &session, "GetCallerIdentity", "").await.unwrap();
    assert!(
        who.contains(&format!("<Account>{ACCOUNT}</Account>")),
        "{who}"
    );
    ok(&iam, "CreateUser", "UserName=first-only").await;
    let users = call(&iam, &session, "ListUsers", "").await.unwrap();
    assert!(
        users.contains("first-only") && !users.contains("dev"),
        "{users}"
    );
    assert!(matches!(
        call(&iam, &session, "CreateUser", "UserName=x").await,
        Err(IamError::AccessDenied(_))
    ));
    // Same identity policy, but a trust policy that names another account: refused.
    ok(&iam, "DeleteRolePolicy", "RoleName=shared&PolicyName=p").await;
    ok(&iam, "DeleteRole", "RoleName=shared").await;
    shared_role(&iam, "arn:aws:iam::333333333333:root").await;
    assert!(matches!(
        sts(&iam, &dev, "AssumeRole", &assume_form("x1")).await,
        Err(IamError::AccessDenied(_))
    ));
}

/// A trust policy naming the other account's user by ARN trusts that user only, bound
/// to its unique id as a user of the role's own account is: a user deleted and
/// recreated is no longer trusted, and GetRole shows the old id; a user or role that
/// does not exist in an account the server holds is an invalid principal.
#[tokio::test]
async fn a_trust_policy_names_another_accounts_user() {
    let (iam, other_root) = two_accounts().await;
    let dev_arn = format!("arn:aws:iam::{OTHER}:user/dev");
    for missing in [dev_arn.clone(), format!("arn:aws:iam::{OTHER}:role/ci")] {
        let trust = url_encode(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{missing}"}},"Action":"sts:AssumeRole"}}]}}"#
        ));
        match err(
            &iam,
            "CreateRole",
            &format!("RoleName=early&AssumeRolePolicyDocument={trust}"),
        )
        .await
        {
            IamError::MalformedPolicyDocument(m) => assert_eq!(
                m,
                format!("Invalid principal in policy: \"AWS\":\"{missing}\"")
            ),
            other => panic!("{other:?}"),
        }
    }
    let mut callers = Vec::new();
    for name in ["dev", "ops"] {
        callers.push(user_with_key(&iam, &other_root, name).await);
        allow_user(&iam, &other_root, name, "sts:AssumeRole", "*").await;
    }
    shared_role(&iam, &dev_arn).await;
    assert!(sts(&iam, &callers[0], "AssumeRole", &assume_form("x1"))
        .await
        .is_ok());
    assert!(matches!(
        sts(&iam, &callers[1], "AssumeRole", &assume_form("x1")).await,
        Err(IamError::AccessDenied(_))
    ));
    let shown = ok(&iam, "GetRole", "RoleName=shared").await;
    assert!(shown.contains(&url_encode(&dev_arn)), "{shown}");
    // Delete dev (in its account) and create it again: another user, not trusted.
    let old_id = field(
        &call(&iam, &other_root, "GetUser", "UserName=dev")
            .await
            .unwrap(),
        "UserId",
    );
    let key = field(
        &call(&iam, &other_root, "ListAccessKeys", "UserName=dev")
            .await
            .unwrap(),
        "AccessKeyId",
    );
    for (op, form) in [
        ("DeleteUserPolicy", "UserName=dev&PolicyName=a".to_string()),
        ("DeleteAccessKey", format!("UserName=dev&AccessKeyId={key}")),
        ("DeleteUser", "UserName=dev".to_string()),
    ] {
        call(&iam, &other_root, op, &form).await.unwrap();
    }
    let shown = ok(&iam, "GetRole", "RoleName=shared").await;
    assert!(
        shown.contains(&format!("%22AWS%22%3A%22{old_id}%22")),
        "{shown}"
    );
    assert!(!shown.contains(&url_encode(&dev_arn)), "{shown}");
    // Another change to the role keeps the broken binding broken.
    ok(&iam, "UpdateRole", "RoleName=shared&Description=d").await;
    let again = user_with_key(&iam, &other_root, "dev").await;
    allow_user(&iam, &other_root, "dev", "sts:AssumeRole", "*").await;
    assert!(matches!(
        sts(&iam, &again, "AssumeRole", &assume_form("x1")).await,
        Err(IamError::AccessDenied(_))
    ));
    let shown = ok(&iam, "GetRole", "RoleName=shared").await;
    assert!(shown.contains(&old_id), "{shown}");
}

/// The simulator works in the caller's account: a principal of its own account is
/// simulated, another account's is not found (IAM reads no other account's entities).
#[tokio::test]
async fn simulate_principal_policy_stays_in_the_callers_account() {
    let (iam, other_root) = two_accounts().await;
    user_with_key(&iam, &other_root, "dev").await;
    allow_user(&iam, &other_root, "dev", "iam:ListUsers", "*").await;
    let dev = url_encode(&format!("arn:aws:iam::{OTHER}:user/dev"));
    let form = format!("PolicySourceArn={dev}&ActionNames.member.1=iam%3AListUsers");
    let xml = call(&iam, &other_root, "SimulatePrincipalPolicy", &form)
        .await
        .unwrap();
    assert!(
        xml.contains("<EvalDecision>allowed</EvalDecision>"),
        "{xml}"
    );
    assert!(matches!(
        err(&iam, "SimulatePrincipalPolicy", &form).await,
        IamError::NoSuchEntity(_)
    ));
}

/// GetAccessKeyInfo answers the account that holds a key, whichever asks.
#[tokio::test]
async fn get_access_key_info_answers_the_keys_account() {
    let (iam, other_root) = two_accounts().await;
    let xml = call(&iam, &other_root, "CreateAccessKey", "")
        .await
        .unwrap();
    let key = field(&xml, "AccessKeyId");
    let form = format!("AccessKeyId={key}");
    let info = sts(&iam, &root(), "GetAccessKeyInfo", &form).await.unwrap();
    assert!(
        info.contains(&format!("<Account>{OTHER}</Account>")),
        "{info}"
    );
    let form = format!("AccessKeyId={}", crate::testing::ROOT_KEY);
    let info = sts(&iam, &other_root, "GetAccessKeyInfo", &form)
        .await
        .unwrap();
    assert!(
        info.contains(&format!("<Account>{ACCOUNT}</Account>")),
        "{info}"
    );
}

/// ValidatePolicy (the analyzer's door) decides a caller of another account in its own
/// account: its identity policy allows it.
#[tokio::test]
async fn validate_policy_is_decided_in_the_callers_account() {
    let (iam, other_root) = two_accounts().await;
    let dev = user_with_key(&iam, &other_root, "dev").await;
    let input = crate::analyzer::ValidatePolicyInput {
        policy_document: Some(r#"{"Version":"2012-10-17","Statement":[]}"#),
        policy_type: Some("IDENTITY_POLICY"),
        ..Default::default()
    };
    let ctx = crate::testing::context(&iam, &dev);
    assert!(matches!(
        iam.validate_policy(&dev, &input, &ctx),
        Err(IamError::AccessDenied(_))
    ));
    allow_user(
        &iam,
        &other_root,
        "dev",
        "access-analyzer:ValidatePolicy",
        "*",
    )
    .await;
    assert!(iam.validate_policy(&dev, &input, &ctx).is_ok());
}

/// A resource policy may name the users and roles of the server's accounts only if
/// they exist; other accounts' principals, roots and `*` are not looked up.
#[tokio::test]
async fn missing_principals_of_held_accounts_are_found() {
    let (iam, other_root) = two_accounts().await;
    user_with_key(&iam, &other_root, "dev").await;
    ok(&iam, "CreateUser", "UserName=alice").await;
    let doc = |principals: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":[{principals}]}},"Action":"s3:GetObject","Resource":"*"}}]}}"#
        )
    };
    let present = format!(
        r#""arn:aws:iam::{ACCOUNT}:user/alice","arn:aws:iam::{OTHER}:user/dev","arn:aws:iam::{OTHER}:root","arn:aws:iam::111122223333:user/x","*""#
    );
    let bound = iam.bind_principals(&doc(&present)).unwrap();
    assert_eq!(
        bound.iter().map(|b| b.arn.as_str()).collect::<Vec<_>>(),
        [
            format!("arn:aws:iam::{ACCOUNT}:user/alice"),
            format!("arn:aws:iam::{OTHER}:user/dev")
        ]
    );
    for missing in [
        format!("arn:aws:iam::{ACCOUNT}:user/bob"),
        format!("arn:aws:iam::{OTHER}:role/ci"),
    ] {
        let d = doc(&format!(r#"{present},"{missing}""#));
        assert_eq!(iam.bind_principals(&d), Err(missing));
    }
}

/// A resource policy's bindings rebound as S3 does: `principals_version` moves with
/// every change of users (of any held account), and the view follows it: another
/// account's user renamed → its new ARN; deleted and recreated → its old unique id.
#[tokio::test]
async fn resource_policy_bindings_follow_users_of_every_held_account() {
    let (iam, other_root) = two_accounts().await;
    user_with_key(&iam, &other_root, "dev").await;
    let dev = format!("arn:aws:iam::{OTHER}:user/dev");
    let doc = format!(
        r#"{{"Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{dev}"}},"Action":"s3:GetObject","Resource":"*"}}]}}"#
    );
    let bound = iam.bind_principals(&doc).unwrap();
    let old_id = bound[0].id.clone();
    assert!(iam.rebound(&bound, &Default::default()).is_empty());
    let v0 = iam.principals_version();
    call(
        &iam,
        &other_root,
        "UpdateUser",
        "UserName=dev&NewUserName=dev2",
    )
    .await
    .unwrap();
    let v1 = iam.principals_version();
    assert!(v1 > v0);
    let view = iam.rebound(&bound, &Default::default());
    assert_eq!(
        view.get(&dev),
        Some(&format!("arn:aws:iam::{OTHER}:user/dev2"))
    );
    // dev2 leaves (its key, then the user); a new dev is created.
    let keys = call(&iam, &other_root, "ListAccessKeys", "UserName=dev2")
        .await
        .unwrap();
    let form = format!("UserName=dev2&AccessKeyId={}", field(&keys, "AccessKeyId"));
    for (action, form) in [
        ("DeleteAccessKey", form.as_str()),
        ("DeleteUser", "UserName=dev2"),
    ] {
        call(&iam, &other_root, action, form).await.unwrap();
    }
    call(&iam, &other_root, "CreateUser", "UserName=dev")
        .await
        .unwrap();
    assert!(iam.principals_version() > v1);
    let view = iam.rebound(&bound, &view);
    assert_eq!(view.get(&dev), Some(&old_id));
    // Bound again now, the policy names the new dev.
    assert_ne!(iam.bind_principals(&doc).unwrap()[0].id, old_id);
}
