//! Role sessions end to end inside the service: AssumeRole through the front door,
//! the token through the authenticator, the session's requests through the authorizer.

use crate::entity::Entity;

use super::*;
use crate::error::IamError;
use crate::ops::url_encode;
use crate::testing::{call, field, ok, open, root, sts_call, MemStore, ACCOUNT};

const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/houdini-writer";

fn policy(effect: &str, actions: &str, condition: &str) -> String {
    url_encode(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"{effect}","Action":{actions},"Resource":"*"{condition}}}]}}"#
    ))
}

/// Creates role `name` whose trust policy lets melvins assume it under `condition` (a
/// Condition element).
async fn melvins_may_assume(iam: &Iam<MemStore>, name: &str, condition: &str) {
    let trust = url_encode(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:user/melvins"}},"Action":"sts:AssumeRole","Condition":{condition}}}]}}"#
    ));
    ok(
        iam,
        "CreateRole",
        &format!("RoleName={name}&AssumeRolePolicyDocument={trust}"),
    )
    .await;
}

/// An account with user melvins and role houdini-writer, which trusts melvins with
/// ExternalId `houdini` and may list users and assume roles.
async fn setup() -> (Iam<MemStore>, Principal) {
    let iam = open(MemStore::default()).await;
    ok(&iam, "CreateUser", "UserName=melvins").await;
    melvins_may_assume(
        &iam,
        "houdini-writer",
        r#"{"StringEquals":{"sts:ExternalId":"houdini"}}"#,
    )
    .await;
    let allow = policy(
        "Allow",
        r#"["iam:ListUsers","iam:ListGroups","sts:AssumeRole"]"#,
        "",
    );
    ok(
        &iam,
        "PutRolePolicy",
        &format!("RoleName=houdini-writer&PolicyName=work&PolicyDocument={allow}"),
    )
    .await;
    let melvins = {
        let state = iam.read();
        let u = crate::state::User::by_name(&state, "melvins").unwrap();
        Principal::User {
            id: u.rec.id.clone(),
            name: "melvins".into(),
            arn: format!("arn:aws:iam::{ACCOUNT}:user/melvins"),
            account: ACCOUNT.into(),
        }
    };
    (iam, melvins)
}

/// AssumeRole by `p` with the extra form `extra`: the result's XML.
async fn assume(iam: &Iam<MemStore>, p: &Principal, extra: &str) -> Result<String, IamError> {
    let form = format!("RoleArn={}&RoleSessionName=s1{extra}", url_encode(ROLE_ARN));
    sts_call(iam, p, "AssumeRole", &form).await
}

/// The session's (key id, token, principal) from an AssumeRole result.
fn session(iam: &Iam<MemStore>, xml: &str) -> (String, String, Principal) {
    let key = field(xml, "AccessKeyId");
    let token = field(xml, "SessionToken");
    let a = iam.authenticate(&key, Some(&token)).unwrap();
    assert_eq!(&*a.secret, field(xml, "SecretAccessKey"));
    assert!(a.usage.is_none());
    (key, token, a.principal)
}

/// Creates role `name` (extra form fields `extra`) whose trust policy names the account.
async fn role_trusting_the_account(iam: &Iam<MemStore>, name: &str, extra: &str) {
    let trust = url_encode(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"sts:AssumeRole"}}]}}"#
    ));
    ok(
        iam,
        "CreateRole",
        &format!("RoleName={name}{extra}&AssumeRolePolicyDocument={trust}"),
    )
    .await;
}

fn denied(r: Result<String, IamError>) -> String {
    match r {
        Err(IamError::AccessDenied(m)) => m,
        other => panic!("expected AccessDenied, got {other:?}"),
    }
}

#[tokio::test]
async fn assume_and_act_as_the_role() {
    let (iam, melvins) = setup().await;
    let xml = assume(&iam, &melvins, "&ExternalId=houdini").await.unwrap();
    assert!(field(&xml, "AccessKeyId").starts_with("ASIA"), "{xml}");
    assert!(xml.contains("<SessionTokenSize>") && xml.contains("<SessionTokenUtilization>"));
    let arn = format!("arn:aws:sts::{ACCOUNT}:assumed-role/houdini-writer/s1");
    assert_eq!(field(&xml, "Arn"), arn);
    let (_, _, p) = session(&iam, &xml);
    let me = sts_call(&iam, &p, "GetCallerIdentity", "").await.unwrap();
    assert_eq!(field(&me, "Arn"), arn);
    assert!(field(&me, "UserId").starts_with("AROA") && field(&me, "UserId").ends_with(":s1"));
    // The role's policy allows ListUsers, nothing allows CreateUser.
    call(&iam, &p, "ListUsers", "").await.unwrap();
    let m = match call(&iam, &p, "CreateUser", "UserName=x").await {
        Err(IamError::AccessDenied(m)) => m,
        other => panic!("{other:?}"),
    };
    assert!(
        m.starts_with(&format!(
            "User: {arn} is not authorized to perform: iam:CreateUser"
        )),
        "{m}"
    );
    // Condition keys of the session.
    let ctx = crate::testing::context(&iam, &p);
    assert_eq!(
        ctx.get("aws:PrincipalType").map(|v| v.to_vec()),
        Some(vec!["AssumedRole".to_string()])
    );
    assert_eq!(
        ctx.get("aws:PrincipalArn").map(|v| v.to_vec()),
        Some(vec![ROLE_ARN.to_string()])
    );
    assert!(ctx.get("aws:username").is_none());
    assert!(ctx.get("aws:TokenIssueTime").is_some());
    // RoleLastUsed recorded.
    let role = ok(&iam, "GetRole", "RoleName=houdini-writer").await;
    assert!(
        role.contains("<LastUsedDate>") && role.contains("<Region>us-east-1</Region>"),
        "{role}"
    );
}

#[tokio::test]
async fn refused_without_trust() {
    let (iam, melvins) = setup().await;
    let want = format!(
        "User: arn:aws:iam::{ACCOUNT}:user/melvins is not authorized to perform: sts:AssumeRole on resource: {ROLE_ARN}"
    );
    // Without the ExternalId, with a wrong one, for another account's role, as root.
    assert_eq!(denied(assume(&iam, &melvins, "").await), want);
    assert_eq!(
        denied(assume(&iam, &melvins, "&ExternalId=other").await),
        want
    );
    ok(&iam, "CreateUser", "UserName=bob").await;
    let other = "arn:aws:iam::210987654321:role/houdini-writer";
    let form = format!(
        "RoleArn={}&RoleSessionName=s1&ExternalId=houdini",
        url_encode(other)
    );
    let m = denied(sts_call(&iam, &melvins, "AssumeRole", &form).await);
    assert!(m.ends_with(&format!("on resource: {other}")), "{m}");
    // The root cannot assume a role, even one whose trust names the account (AWS).
    role_trusting_the_account(&iam, "account-trust", "").await;
    let xml = sts_call(&iam, &root(), "GetSessionToken", "")
        .await
        .unwrap();
    let (_, _, root_session) = session(&iam, &xml);
    for p in [root(), root_session] {
        for role in [ROLE_ARN, "arn:aws:iam::123456789012:role/account-trust"] {
            let form = format!(
                "RoleArn={}&RoleSessionName=s1&ExternalId=houdini",
                url_encode(role)
            );
            assert_eq!(
                denied(sts_call(&iam, &p, "AssumeRole", &form).await),
                "Roles may not be assumed by root accounts."
            );
        }
    }
}

#[tokio::test]
async fn expiry_and_damaged_tokens() {
    let (iam, melvins) = setup().await;
    let xml = assume(&iam, &melvins, "&ExternalId=houdini&DurationSeconds=900")
        .await
        .unwrap();
    let (key, token, p) = session(&iam, &xml);
    let Principal::AssumedRole(s) = &p else {
        panic!()
    };
    assert_eq!(s.expires_at - s.issued_at, 900);
    assert!(iam
        .authenticate_at(&key, Some(&token), s.expires_at - 1)
        .is_ok());
    assert_eq!(
        iam.authenticate_at(&key, Some(&token), s.expires_at)
            .map(|_| ()),
        Err(KeyProblem::ExpiredToken)
    );
    // Any changed character, another key id, no token, a long-term key with a token.
    let mut bytes = token.clone().into_bytes();
    bytes[40] = if bytes[40] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    assert_eq!(
        iam.authenticate(&key, Some(&tampered)).map(|_| ()),
        Err(KeyProblem::InvalidToken)
    );
    let other_key = format!("ASIA{}", "Q".repeat(16));
    assert_eq!(
        iam.authenticate(&other_key, Some(&token)).map(|_| ()),
        Err(KeyProblem::InvalidToken)
    );
    assert_eq!(
        iam.authenticate(&key, None).map(|_| ()),
        Err(KeyProblem::Unknown)
    );
    assert_eq!(
        iam.authenticate(crate::testing::ROOT_KEY, Some(&token))
            .map(|_| ()),
        Err(KeyProblem::InvalidToken)
    );
    // The secret is answered by key id only for a verified, unexpired token.
    assert!(iam.secret_for(&key).is_some());
    assert!(iam.secret_for(&other_key).is_none());
}

#[tokio::test]
async fn session_policy_narrows() {
    let (iam, melvins) = setup().await;
    let narrow = policy("Allow", r#""iam:ListGroups""#, "");
    let xml = assume(
        &iam,
        &melvins,
        &format!("&ExternalId=houdini&Policy={narrow}"),
    )
    .await
    .unwrap();
    assert!(xml.contains("<PackedPolicySize>"), "{xml}");
    let (_, _, p) = session(&iam, &xml);
    call(&iam, &p, "ListGroups", "").await.unwrap();
    let m = match call(&iam, &p, "ListUsers", "").await {
        Err(IamError::AccessDenied(m)) => m,
        other => panic!("{other:?}"),
    };
    assert!(
        m.ends_with("because no session policy allows the iam:ListUsers action"),
        "{m}"
    );
    // A malformed session policy.
    let bad = url_encode(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow"}]}"#);
    match assume(&iam, &melvins, &format!("&ExternalId=houdini&Policy={bad}")).await {
        Err(IamError::Modeled(m, _)) => assert_eq!(m.code, "MalformedPolicyDocument"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn role_changes_and_revocation_reach_live_sessions() {
    let (iam, melvins) = setup().await;
    let xml = assume(&iam, &melvins, "&ExternalId=houdini").await.unwrap();
    let (_, _, p) = session(&iam, &xml);
    call(&iam, &p, "ListUsers", "").await.unwrap();
    // AWS's AWSRevokeOlderSessions: deny sessions issued before a later instant.
    let Principal::AssumedRole(s) = &p else {
        panic!()
    };
    let cutoff = iamd_api::Timestamp::from_secs(s.issued_at as i64 + 1).to_iso8601();
    let revoke = policy(
        "Deny",
        r#""*""#,
        &format!(r#","Condition":{{"DateLessThan":{{"aws:TokenIssueTime":"{cutoff}"}}}}"#),
    );
    ok(
        &iam,
        "PutRolePolicy",
        &format!(
            "RoleName=houdini-writer&PolicyName=AWSRevokeOlderSessions&PolicyDocument={revoke}"
        ),
    )
    .await;
    let m = match call(&iam, &p, "ListUsers", "").await {
        Err(IamError::AccessDenied(m)) => m,
        other => panic!("{other:?}"),
    };
    assert!(
        m.contains("with an explicit deny in an identity-based policy"),
        "{m}"
    );
    ok(
        &iam,
        "DeleteRolePolicy",
        "RoleName=houdini-writer&PolicyName=AWSRevokeOlderSessions",
    )
    .await;
    call(&iam, &p, "ListUsers", "").await.unwrap();
    // Removing the role's policy takes the permission from the live session.
    ok(
        &iam,
        "DeleteRolePolicy",
        "RoleName=houdini-writer&PolicyName=work",
    )
    .await;
    assert!(matches!(
        call(&iam, &p, "ListUsers", "").await,
        Err(IamError::AccessDenied(_))
    ));
}

#[tokio::test]
async fn durations() {
    let (iam, melvins) = setup().await;
    match assume(&iam, &melvins, "&ExternalId=houdini&DurationSeconds=7200").await {
        Err(IamError::Validation(m)) => assert_eq!(
            m,
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
        ),
        other => panic!("{other:?}"),
    }
    ok(
        &iam,
        "UpdateRole",
        "RoleName=houdini-writer&MaxSessionDuration=43200",
    )
    .await;
    let xml = assume(&iam, &melvins, "&ExternalId=houdini&DurationSeconds=43200")
        .await
        .unwrap();
    let (_, _, p) = session(&iam, &xml);
    // Role chaining: the session assumes a role trusting the account.
    role_trusting_the_account(&iam, "next", "&MaxSessionDuration=43200").await;
    let next = url_encode("arn:aws:iam::123456789012:role/next");
    let form = format!("RoleArn={next}&RoleSessionName=chain&DurationSeconds=7200");
    match sts_call(&iam, &p, "AssumeRole", &form).await {
        Err(IamError::Validation(m)) => assert_eq!(
            m,
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
        ),
        other => panic!("{other:?}"),
    }
    let form = format!("RoleArn={next}&RoleSessionName=chain");
    let xml = sts_call(&iam, &p, "AssumeRole", &form).await.unwrap();
    assert!(xml.contains("assumed-role/next/chain"), "{xml}");
}

#[tokio::test]
async fn get_session_token() {
    let (iam, melvins) = setup().await;
    let xml = sts_call(&iam, &melvins, "GetSessionToken", "DurationSeconds=1800")
        .await
        .unwrap();
    let (key, token, p) = session(&iam, &xml);
    let Principal::Session(s) = &p else {
        panic!("{p:?}")
    };
    assert_eq!(
        (s.base.clone(), s.expires_at - s.issued_at, s.mfa),
        (melvins.clone(), 1800, false)
    );
    // The same identity as the user's long-term credentials.
    let me = sts_call(&iam, &p, "GetCallerIdentity", "").await.unwrap();
    assert_eq!(
        field(&me, "Arn"),
        format!("arn:aws:iam::{ACCOUNT}:user/melvins")
    );
    let ctx = crate::testing::context(&iam, &p);
    assert_eq!(
        ctx.get("aws:username").map(|v| v.to_vec()),
        Some(vec!["melvins".to_string()])
    );
    assert_eq!(
        ctx.get("aws:MultiFactorAuthPresent").map(|v| v.to_vec()),
        Some(vec!["false".to_string()])
    );
    // Not with session credentials.
    assert_eq!(
        denied(sts_call(&iam, &p, "GetSessionToken", "").await),
        "Cannot call GetSessionToken with session credentials"
    );
    let role_session = assume(&iam, &melvins, "&ExternalId=houdini").await.unwrap();
    let (_, _, rp) = session(&iam, &role_session);
    assert_eq!(
        denied(sts_call(&iam, &rp, "GetSessionToken", "").await),
        "Cannot call GetSessionToken with session credentials"
    );
    // Assuming a role from it is role chaining: an hour at most.
    ok(
        &iam,
        "UpdateRole",
        "RoleName=houdini-writer&MaxSessionDuration=43200",
    )
    .await;
    match assume(&iam, &p, "&ExternalId=houdini&DurationSeconds=7200").await {
        Err(IamError::Validation(m)) => assert!(m.contains("role chaining"), "{m}"),
        other => panic!("{other:?}"),
    }
    assume(&iam, &p, "&ExternalId=houdini").await.unwrap();
    // The root's session is capped at an hour; an MFA code cannot be validated.
    let xml = sts_call(&iam, &root(), "GetSessionToken", "DurationSeconds=7200")
        .await
        .unwrap();
    let (_, _, rootp) = session(&iam, &xml);
    let Principal::Session(rs) = &rootp else {
        panic!()
    };
    assert_eq!(rs.expires_at - rs.issued_at, 3600);
    assert!(denied(
        sts_call(
            &iam,
            &melvins,
            "GetSessionToken",
            "SerialNumber=arn%3Aaws%3Aiam%3A%3A123456789012%3Amfa%2Fm&TokenCode=123456"
        )
        .await
    )
    .starts_with("MultiFactorAuthentication failed, unable to validate MFA code."));
    assert!(iam.authenticate(&key, Some(&token)).is_ok());
}

#[tokio::test]
async fn session_tags_need_tag_session_in_the_trust() {
    let (iam, melvins) = setup().await;
    let tags = "&Tags.member.1.Key=team&Tags.member.1.Value=blue";
    let m = denied(assume(&iam, &melvins, &format!("&ExternalId=houdini{tags}")).await);
    assert_eq!(
        m,
        format!("User: arn:aws:iam::{ACCOUNT}:user/melvins is not authorized to perform: sts:TagSession on resource: {ROLE_ARN}")
    );
    let trust = url_encode(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:user/melvins"}},"Action":["sts:AssumeRole","sts:TagSession"]}}]}}"#
    ));
    ok(
        &iam,
        "UpdateAssumeRolePolicy",
        &format!("RoleName=houdini-writer&PolicyDocument={trust}"),
    )
    .await;
    ok(&iam, "TagRole", "RoleName=houdini-writer&Tags.member.1.Key=Team&Tags.member.1.Value=red&Tags.member.2.Key=cost&Tags.member.2.Value=7").await;
    let xml = assume(&iam, &melvins, tags).await.unwrap();
    let (_, _, p) = session(&iam, &xml);
    // The session tag overrides the role tag of the same key, case-insensitively.
    let ctx = crate::testing::context(&iam, &p);
    assert_eq!(
        ctx.get("aws:PrincipalTag/team").map(|v| v.to_vec()),
        Some(vec!["blue".to_string()])
    );
    assert_eq!(
        ctx.get("aws:PrincipalTag/cost").map(|v| v.to_vec()),
        Some(vec!["7".to_string()])
    );
}

/// `PolicyArns=...` form parameters for `arns`.
fn policy_arns(arns: &[&str]) -> String {
    arns.iter()
        .enumerate()
        .map(|(i, a)| format!("&PolicyArns.member.{}.arn={}", i + 1, url_encode(a)))
        .collect()
}

#[tokio::test]
async fn managed_session_policies() {
    let (iam, melvins) = setup().await;
    let groups = policy("Allow", r#""iam:ListGroups""#, "");
    ok(
        &iam,
        "CreatePolicy",
        &format!("PolicyName=groups&PolicyDocument={groups}"),
    )
    .await;
    let customer = format!("arn:aws:iam::{ACCOUNT}:policy/groups");
    // A customer-managed session policy narrows the session to ListGroups.
    let xml = assume(
        &iam,
        &melvins,
        &format!("&ExternalId=houdini{}", policy_arns(&[&customer])),
    )
    .await
    .unwrap();
    assert!(xml.contains("<PackedPolicySize>"), "{xml}");
    let (_, _, p) = session(&iam, &xml);
    call(&iam, &p, "ListGroups", "").await.unwrap();
    let m = denied(call(&iam, &p, "ListUsers", "").await);
    assert!(
        m.ends_with("because no session policy allows the iam:ListUsers action"),
        "{m}"
    );
    // Resolved at request time: a new default version reaches the live session.
    let users = policy("Allow", r#""iam:ListUsers""#, "");
    ok(
        &iam,
        "CreatePolicyVersion",
        &format!(
            "PolicyArn={}&PolicyDocument={users}&SetAsDefault=true",
            url_encode(&customer)
        ),
    )
    .await;
    call(&iam, &p, "ListUsers", "").await.unwrap();
    denied(call(&iam, &p, "ListGroups", "").await);
    // An AWS-managed one with the inline one: the union of the session policies,
    // intersected with the role's.
    let aws = "arn:aws:iam::aws:policy/IAMReadOnlyAccess";
    let narrow = policy("Allow", r#""sts:AssumeRole""#, "");
    let xml = assume(
        &iam,
        &melvins,
        &format!("&ExternalId=houdini&Policy={narrow}{}", policy_arns(&[aws])),
    )
    .await
    .unwrap();
    let (_, _, p) = session(&iam, &xml);
    call(&iam, &p, "ListUsers", "").await.unwrap();
    call(&iam, &p, "ListGroups", "").await.unwrap();
    // ReadOnly allows GetUser, the role does not.
    denied(call(&iam, &p, "GetUser", "UserName=melvins").await);
    // Deleting the only managed session policy leaves the session nothing.
    let xml = assume(
        &iam,
        &melvins,
        &format!("&ExternalId=houdini{}", policy_arns(&[&customer])),
    )
    .await
    .unwrap();
    let (_, _, p) = session(&iam, &xml);
    ok(
        &iam,
        "DeletePolicyVersion",
        &format!("PolicyArn={}&VersionId=v1", url_encode(&customer)),
    )
    .await;
    // (v2 is the default; delete the policy by removing the version first is not
    // possible, so delete the policy itself.)
    ok(
        &iam,
        "DeletePolicy",
        &format!("PolicyArn={}", url_encode(&customer)),
    )
    .await;
    denied(call(&iam, &p, "ListUsers", "").await);
}

#[tokio::test]
async fn managed_session_policy_errors() {
    let (iam, melvins) = setup().await;
    let unknown = format!("arn:aws:iam::{ACCOUNT}:policy/nope");
    match assume(
        &iam,
        &melvins,
        &format!("&ExternalId=houdini{}", policy_arns(&[&unknown])),
    )
    .await
    {
        Err(IamError::Modeled(m, msg)) => {
            assert_eq!((m.code, m.status), ("InvalidParameterValue", 400));
            assert_eq!(
                msg,
                format!("Policy {unknown} does not exist or is not attachable.")
            );
        }
        other => panic!("{other:?}"),
    }
    let aws_unknown = "arn:aws:iam::aws:policy/NoSuchPolicyAtAll";
    assert!(matches!(
        assume(&iam, &melvins, &format!("&ExternalId=houdini{}", policy_arns(&[aws_unknown]))).await,
        Err(IamError::Modeled(m, _)) if m.code == "InvalidParameterValue"
    ));
    let eleven: Vec<&str> =
        std::iter::repeat_n("arn:aws:iam::aws:policy/ReadOnlyAccess", 11).collect();
    match assume(
        &iam,
        &melvins,
        &format!("&ExternalId=houdini{}", policy_arns(&eleven)),
    )
    .await
    {
        Err(IamError::Validation(m)) => assert!(
            m.contains("'policyArns'") && m.ends_with("less than or equal to 10"),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
    // Ten fit.
    let ten: Vec<&str> =
        std::iter::repeat_n("arn:aws:iam::aws:policy/ReadOnlyAccess", 10).collect();
    assume(
        &iam,
        &melvins,
        &format!("&ExternalId=houdini{}", policy_arns(&ten)),
    )
    .await
    .unwrap();
}

/// GetFederationToken by `p` with the extra form `extra`.
async fn federate(iam: &Iam<MemStore>, p: &Principal, extra: &str) -> Result<String, IamError> {
    sts_call(iam, p, "GetFederationToken", &format!("Name=bob{extra}")).await
}

#[tokio::test]
async fn federated_users() {
    let (iam, melvins) = setup().await;
    // melvins may federate and list users and groups.
    let allow = policy(
        "Allow",
        r#"["sts:GetFederationToken","iam:ListUsers","iam:ListGroups"]"#,
        "",
    );
    ok(
        &iam,
        "PutUserPolicy",
        &format!("UserName=melvins&PolicyName=fed&PolicyDocument={allow}"),
    )
    .await;
    // Without session policies: no permissions; STS only GetCallerIdentity.
    let xml = federate(&iam, &melvins, "").await.unwrap();
    let arn = format!("arn:aws:sts::{ACCOUNT}:federated-user/bob");
    assert_eq!(field(&xml, "Arn"), arn);
    assert_eq!(field(&xml, "FederatedUserId"), format!("{ACCOUNT}:bob"));
    assert!(!xml.contains("<PackedPolicySize>"), "{xml}");
    let (_, _, p) = session(&iam, &xml);
    let me = sts_call(&iam, &p, "GetCallerIdentity", "").await.unwrap();
    assert_eq!(field(&me, "Arn"), arn);
    assert_eq!(field(&me, "UserId"), format!("{ACCOUNT}:bob"));
    // IAM refuses the credentials outright (AWS).
    assert!(matches!(
        call(&iam, &p, "ListUsers", "").await,
        Err(IamError::InvalidClientTokenId)
    ));
    for (op, form) in [
        ("GetSessionToken", String::new()),
        ("GetFederationToken", "Name=eve".to_string()),
        (
            "AssumeRole",
            format!("RoleArn={}&RoleSessionName=xy", url_encode(ROLE_ARN)),
        ),
    ] {
        let m = denied(sts_call(&iam, &p, op, &form).await);
        assert_eq!(m, format!("Cannot call {op} with session credentials"));
    }
    // The condition keys of a federated user.
    let ctx = crate::testing::context(&iam, &p);
    let get = |k: &str| ctx.get(k).map(|v| v.to_vec());
    assert_eq!(
        get("aws:PrincipalType"),
        Some(vec!["FederatedUser".to_string()])
    );
    assert_eq!(get("aws:userid"), Some(vec![format!("{ACCOUNT}:bob")]));
    assert_eq!(get("aws:PrincipalArn"), Some(vec![arn.clone()]));
    assert!(get("aws:username").is_none());
    assert!(get("aws:TokenIssueTime").is_some());
    // The permissions are decided by the same authorizer as S3's: identity ∩ session.
    let decide = |p: &Principal, action: &str| {
        let ctx = crate::testing::context(&iam, p);
        let id = iam.identity_policies(p);
        let req = iamd_policy::Request {
            action,
            resource: iamd_policy::Resource::Wildcard,
            resource_account: Some(ACCOUNT),
            caller: p.caller(),
            context: &ctx,
        };
        iam.decide(Some(p), &id, None, &req, "*")
    };
    decide(&p, "iam:ListUsers").unwrap_err();
    let narrow = policy("Allow", r#"["iam:ListGroups","s3:GetObject"]"#, "");
    let xml = federate(
        &iam,
        &melvins,
        &format!("&Policy={narrow}&DurationSeconds=129600"),
    )
    .await
    .unwrap();
    assert!(xml.contains("<PackedPolicySize>"), "{xml}");
    let (_, _, p) = session(&iam, &xml);
    decide(&p, "iam:ListGroups").unwrap();
    // Not in the session policy / not in melvins's policies.
    decide(&p, "iam:ListUsers").unwrap_err();
    decide(&p, "s3:GetObject").unwrap_err();
    // Session credentials may not federate.
    let xml = assume(&iam, &melvins, "&ExternalId=houdini").await.unwrap();
    let (_, _, role) = session(&iam, &xml);
    let m = denied(federate(&iam, &role, "").await);
    assert_eq!(m, "Cannot call GetFederationToken with session credentials");
}

#[tokio::test]
async fn federation_is_authorized_and_durations() {
    let (iam, melvins) = setup().await;
    let m = denied(federate(&iam, &melvins, "").await);
    assert!(
        m.starts_with(&format!("User: arn:aws:iam::{ACCOUNT}:user/melvins is not authorized to perform: sts:GetFederationToken on resource: arn:aws:sts::{ACCOUNT}:federated-user/bob")),
        "{m}"
    );
    // The root may federate, for at most an hour; its federated user has what the
    // session policy allows.
    let now = now_secs();
    let req = iamd_api::sts::GetFederationTokenRequest {
        name: "ops".into(),
        policy: Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}"#.into()),
        duration_seconds: Some(7200),
        ..Default::default()
    };
    let out = crate::ops::sts::get_federation_token(req, &iam, &root(), now)
        .unwrap()
        .unwrap();
    let mut xml = String::new();
    out.write_xml(&mut xml);
    let (_, _, p) = session(&iam, &xml);
    let Principal::FederatedUser(f) = &p else {
        panic!("{p:?}")
    };
    assert_eq!(f.expires_at - f.issued_at, 3600);
    assert_eq!(f.issuer_arn, format!("arn:aws:iam::{ACCOUNT}:root"));
    let ctx = crate::testing::context(&iam, &p);
    assert!(iam
        .authorize(
            &p,
            &[crate::principal::Check::wildcard("iam:ListUsers")],
            &crate::LazyContext::ready(&ctx)
        )
        .is_ok());
    assert!(iam
        .authorize(
            &p,
            &[crate::principal::Check::wildcard("iam:ListGroups")],
            &crate::LazyContext::ready(&ctx)
        )
        .is_err());
}

#[tokio::test]
async fn transitive_tags_pass_down_a_chain() {
    let (iam, melvins) = setup().await;
    let trust = url_encode(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:user/melvins"}},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}}]}}"#
    ));
    ok(
        &iam,
        "UpdateAssumeRolePolicy",
        &format!("RoleName=houdini-writer&PolicyDocument={trust}"),
    )
    .await;
    let next = url_encode(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{ROLE_ARN}"}},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}}]}}"#
    ));
    ok(
        &iam,
        "CreateRole",
        &format!("RoleName=next&AssumeRolePolicyDocument={next}"),
    )
    .await;
    let next_arn = format!("arn:aws:iam::{ACCOUNT}:role/next");
    let xml = assume(
        &iam,
        &melvins,
        "&Tags.member.1.Key=team&Tags.member.1.Value=blue&Tags.member.2.Key=cost&Tags.member.2.Value=7&TransitiveTagKeys.member.1=team&SourceIdentity=melvins",
    )
    .await
    .unwrap();
    let (_, _, first) = session(&iam, &xml);
    let chain = |extra: &str| {
        format!(
            "RoleArn={}&RoleSessionName=s2{extra}",
            url_encode(&next_arn)
        )
    };
    let xml = sts_call(&iam, &first, "AssumeRole", &chain(""))
        .await
        .unwrap();
    // The source identity stays.
    assert_eq!(field(&xml, "SourceIdentity"), "melvins");
    let (_, _, second) = session(&iam, &xml);
    let ctx = crate::testing::context(&iam, &second);
    assert_eq!(
        ctx.get("aws:PrincipalTag/team").map(|v| v.to_vec()),
        Some(vec!["blue".to_string()])
    );
    // Not transitive: not inherited.
    assert!(ctx.get("aws:PrincipalTag/cost").is_none());
    let Principal::AssumedRole(s) = &second else {
        panic!()
    };
    assert_eq!(s.transitive_tag_keys, vec!["team".to_string()]);
    // An inherited transitive tag cannot be overridden (any case of its key).
    match sts_call(
        &iam,
        &first,
        "AssumeRole",
        &chain("&Tags.member.1.Key=TEAM&Tags.member.1.Value=red"),
    )
    .await
    {
        Err(IamError::Modeled(m, msg)) => {
            assert_eq!(m.code, "InvalidParameterValue");
            assert!(msg.contains("team"), "{msg}");
        }
        other => panic!("{other:?}"),
    }
    // Another tag may be added.
    sts_call(
        &iam,
        &first,
        "AssumeRole",
        &chain("&Tags.member.1.Key=env&Tags.member.1.Value=ci"),
    )
    .await
    .unwrap();
    // Nor can the source identity change along the chain.
    let m = denied(sts_call(&iam, &first, "AssumeRole", &chain("&SourceIdentity=other")).await);
    assert!(m.contains("sts:SetSourceIdentity"), "{m}");
    // The third link inherits the second's transitive tags too.
    let third = sts_call(&iam, &second, "AssumeRole", &chain("")).await;
    // `next` does not trust itself: refused, but not for the tags.
    denied(third);
}

#[test]
fn key_ids_carry_the_account() {
    // A real key id published with its account in the public write-up of the format
    // (AWS itself documents only that the id identifies the account).
    assert_eq!(
        account_of_key_id("ASIAY34FZKBOKMUTVV7A").as_deref(),
        Some("609629065308")
    );
    for (account, random) in [
        ("123456789012", [0xffu8; 10]),
        ("000000000001", [0u8; 10]),
        ("999999999999", [0x5a; 10]),
    ] {
        let id = key_id_for_account("ASIA", account, random).unwrap();
        assert_eq!(id.len(), 20);
        assert!(
            id.starts_with("ASIA") && id[4..].bytes().all(|b| BASE32.contains(&b)),
            "{id}"
        );
        assert_eq!(account_of_key_id(&id).as_deref(), Some(account));
    }
    assert!(key_id_for_account("ASIA", "12345", [0; 10]).is_none());
    assert!(account_of_key_id("AKIA0000000000000000").is_none());
    assert!(account_of_key_id("AKIASHORT").is_none());
}

#[tokio::test]
async fn get_access_key_info() {
    let (iam, melvins) = setup().await;
    let info = |id: String| {
        let iam = &iam;
        async move {
            sts_call(
                iam,
                &root(),
                "GetAccessKeyInfo",
                &format!("AccessKeyId={id}"),
            )
            .await
            .map(|x| (x, ()))
        }
    };
    // A session key id minted here.
    let xml = assume(&iam, &melvins, "&ExternalId=houdini").await.unwrap();
    let key = field(&xml, "AccessKeyId");
    let (out, _) = info(key).await.unwrap();
    assert_eq!(field(&out, "Account"), ACCOUNT);
    // A long-term key this server holds (random id): its account.
    let created = ok(&iam, "CreateAccessKey", "UserName=melvins").await;
    let (out, _) = info(field(&created, "AccessKeyId")).await.unwrap();
    assert_eq!(field(&out, "Account"), ACCOUNT);
    // Another account's key: decoded, as AWS does.
    let other = key_id_for_account("AKIA", "210987654321", [7; 10]).unwrap();
    let (out, _) = info(other).await.unwrap();
    assert_eq!(field(&out, "Account"), "210987654321");
    match info("AKIA0000000000000000".to_string()).await {
        Err(IamError::Modeled(m, _)) => assert_eq!(m.code, "InvalidParameterValue"),
        other => panic!("{other:?}"),
    }
    // The caller needs sts:GetAccessKeyInfo.
    denied(
        sts_call(
            &iam,
            &melvins,
            "GetAccessKeyInfo",
            "AccessKeyId=AKIAIOSFODNN7EXAMPLE",
        )
        .await,
    );
}

/// XML text to plain text (the entities the XML writer uses).
fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn denials_carry_an_encoded_authorization_message() {
    let (iam, melvins) = setup().await;
    let deny = policy("Deny", r#""iam:CreateUser""#, "");
    ok(
        &iam,
        "PutUserPolicy",
        &format!("UserName=melvins&PolicyName=no&PolicyDocument={deny}"),
    )
    .await;
    // An explicit deny, captured as the binary captures it.
    let (r, message) =
        crate::capture_denial(call(&iam, &melvins, "CreateUser", "UserName=x")).await;
    let m = denied(r);
    assert!(m.contains("with an explicit deny"), "{m}");
    let encoded = message.expect("an encoded message");
    assert!(
        !encoded.contains("CreateUser") && !encoded.contains("melvins"),
        "sealed"
    );
    // melvins may not decode it; the root may.
    let form = format!("EncodedMessage={}", url_encode(&encoded));
    denied(sts_call(&iam, &melvins, "DecodeAuthorizationMessage", &form).await);
    let xml = sts_call(&iam, &root(), "DecodeAuthorizationMessage", &form)
        .await
        .unwrap();
    let decoded = unescape(&field(&xml, "DecodedMessage"));
    assert!(decoded.starts_with(r#"{"allowed":false,"explicitDeny":true,"matchedStatements":{"items":[{"statementId":"","effect":"DENY","principals":{"items":[{"value":"AIDA"#), "{decoded}");
    assert!(decoded.contains(r#""policyId":"no""#), "{decoded}");
    assert!(decoded.contains(r#""statementIndex":0"#), "{decoded}");
    assert!(
        decoded.contains(r#""action":"iam:CreateUser""#),
        "{decoded}"
    );
    assert!(
        decoded.contains(&format!(r#""arn":"arn:aws:iam::{ACCOUNT}:user/melvins""#)),
        "{decoded}"
    );
    iamd_policy::json::parse(&decoded).unwrap();
    assert!(
        decoded.contains(r#"{"key":"aws:username","values":{"items":[{"value":"melvins"}]}}"#),
        "{decoded}"
    );
    // An implicit deny: no matched statement.
    let (r, message) = crate::capture_denial(call(&iam, &melvins, "ListRoles", "")).await;
    denied(r);
    let form = format!("EncodedMessage={}", url_encode(&message.unwrap()));
    let xml = sts_call(&iam, &root(), "DecodeAuthorizationMessage", &form)
        .await
        .unwrap();
    let decoded = unescape(&field(&xml, "DecodedMessage"));
    assert!(
        decoded.starts_with(
            r#"{"allowed":false,"explicitDeny":false,"matchedStatements":{"items":[]}"#
        ),
        "{decoded}"
    );
    // Outside a capturing task no message is made.
    assert!(!crate::authz_message::wanted());
    // A damaged message.
    let bad = format!("EncodedMessage={}A", url_encode(&encoded));
    match sts_call(&iam, &root(), "DecodeAuthorizationMessage", &bad).await {
        Err(IamError::Modeled(m, _)) => assert_eq!(m.code, "InvalidAuthorizationMessageException"),
        other => panic!("{other:?}"),
    }
    // A refusal outside the engine gets one too (what the binary sends).
    let r = iam.encode_refusal(&melvins, "sts:GetSessionToken").unwrap();
    let form = format!("EncodedMessage={}", url_encode(&r));
    let xml = sts_call(&iam, &root(), "DecodeAuthorizationMessage", &form)
        .await
        .unwrap();
    assert!(field(&xml, "DecodedMessage").contains("sts:GetSessionToken"));
}

/// A trust policy requiring `aws:MultiFactorAuthPresent` refuses sessions without MFA
/// (long-term keys, where the key is absent, and GetSessionToken credentials without
/// MFA, where it is false); `SerialNumber`/`TokenCode` name no device here, which fails
/// before the trust policy is consulted, for any role.
#[tokio::test]
async fn mfa_required_by_the_trust_policy() {
    let (iam, melvins) = setup().await;
    melvins_may_assume(
        &iam,
        "mfa-only",
        r#"{"Bool":{"aws:MultiFactorAuthPresent":"true"}}"#,
    )
    .await;
    let mfa_role = url_encode("arn:aws:iam::123456789012:role/mfa-only");
    let form = format!("RoleArn={mfa_role}&RoleSessionName=s1");
    let refused = format!("User: arn:aws:iam::{ACCOUNT}:user/melvins is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/mfa-only");
    assert_eq!(
        denied(sts_call(&iam, &melvins, "AssumeRole", &form).await),
        refused
    );
    let xml = sts_call(&iam, &melvins, "GetSessionToken", "")
        .await
        .unwrap();
    let (_, _, gst) = session(&iam, &xml);
    assert_eq!(
        denied(sts_call(&iam, &gst, "AssumeRole", &form).await),
        refused
    );
    let unknown = "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user.";
    let mfa = "&SerialNumber=arn%3Aaws%3Aiam%3A%3A123456789012%3Amfa%2Fmelvins&TokenCode=123456";
    for role in [
        mfa_role.as_str(),
        &url_encode(ROLE_ARN),
        &url_encode("arn:aws:iam::123456789012:role/none"),
    ] {
        let form = format!("RoleArn={role}&RoleSessionName=s1{mfa}");
        assert_eq!(
            denied(sts_call(&iam, &melvins, "AssumeRole", &form).await),
            unknown
        );
    }
    assert_eq!(
        denied(sts_call(&iam, &melvins, "GetSessionToken", &mfa[1..]).await),
        unknown
    );
}

/// Token key rotation (issue 11): the generation follows the clock without a restart;
/// a token opens until its generation's retirement + 36 h, cached or not.
#[tokio::test]
async fn token_keys_rotate_on_the_clock() {
    let (iam, melvins) = setup().await;
    let before = now_secs();
    let xml = assume(&iam, &melvins, "&ExternalId=houdini").await.unwrap();
    let after = now_secs();
    let (key, token, _) = session(&iam, &xml);
    let master = &iam.inner.master;
    let schedule = master.session_schedule();
    // Sealed under the generation of the moment it was issued (a rotation boundary
    // may fall between the clock readings around the call: either side is right).
    let today = iamd_session::token_generation(&token).unwrap();
    assert!(
        (schedule.generation_at(before)..=schedule.generation_at(after)).contains(&today),
        "{today}"
    );
    let claims = iamd_session::open(
        &master.session_keyring(now_secs()),
        &token,
        &key,
        now_secs(),
    )
    .unwrap();
    // Generation N, a few periods ahead of the real clock: it starts at `start`, retires
    // at `end`; its tokens open until `refused` (`end` + 36 h).
    let n = today + 2;
    let (start, end) = (schedule.retired_at(n - 1), schedule.retired_at(n));
    let refused = schedule.opens_until(n);
    assert_eq!(refused, end + 36 * 3600);
    // A token of `claims` issued at `issued` for `secs` seconds, sealed at `sealed`.
    let issue = |issued: u64, secs: u64, sealed: u64| {
        let mut c = claims.clone();
        c.issued_at = issued;
        c.expires_at = issued + secs;
        iam.issue_token_at(&c, sealed).unwrap()
    };
    let auth = |(key, token): &(String, String), now: u64| {
        iam.authenticate_at(key, Some(token), now).map(|_| ())
    };
    let first = issue(start, 3600, start);
    let last = issue(end - 1, 36 * 3600, end - 1);
    // A token sealed by a node whose clock was still in N, with claims that outlive N's
    // grace (only such a token can be live when its generation is refused).
    let skewed = issue(end + 3600, 36 * 3600, end - 1);
    let skewed_uncached = issue(end + 3600, 36 * 3600, end - 1);
    for t in [&first, &last, &skewed, &skewed_uncached] {
        assert_eq!(iamd_session::token_generation(&t.1), Some(n));
    }
    assert_eq!(auth(&first, start), Ok(()));
    // The generation moves on at `end`, without a restart.
    let next = issue(end, 3600, end);
    assert_eq!(iamd_session::token_generation(&next.1), Some(n + 1));
    assert_eq!(auth(&next, end), Ok(()));
    // N's tokens open in N + 1, first opened (`last`) or from the cache (`skewed`).
    assert_eq!(auth(&skewed, end), Ok(()));
    assert_eq!(auth(&last, end), Ok(()));
    assert_eq!(auth(&first, end), Err(KeyProblem::ExpiredToken));
    // The edges of N's grace: a table of (token, time, answer).
    let table = [
        (&last, refused - 2, Ok(())),
        (&last, refused - 1, Err(KeyProblem::ExpiredToken)),
        (&last, refused, Err(KeyProblem::InvalidToken)),
        (&skewed, refused - 1, Ok(())),
        (&skewed, refused, Err(KeyProblem::InvalidToken)),
        (&skewed_uncached, refused, Err(KeyProblem::InvalidToken)),
        (&skewed, refused + 1, Err(KeyProblem::InvalidToken)),
        (&next, refused, Err(KeyProblem::ExpiredToken)),
    ];
    for (i, (t, now, answer)) in table.into_iter().enumerate() {
        assert_eq!(auth(t, now), answer, "row {i}");
    }
    // The secret is answered by key id only while the token may be used (real time is
    // long before N: the cached `skewed` is usable; nothing of N is refused yet).
    assert!(iam.secret_for(&skewed.0).is_some());
    // Generations never move back: a clock stepping back keeps sealing with N + 2.
    let back = issue(start, 3600, start);
    assert_eq!(iamd_session::token_generation(&back.1), Some(n + 2));
}
