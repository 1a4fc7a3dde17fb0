//! Role sessions end to end inside the service: AssumeRole through the front door,
//! the token through the authenticator, the session's requests through the authorizer.

use crate::entity::Entity;

use super::*;
use crate::error::IamError;
use crate::ops::url_encode;
use crate::testing::{call, ok, open, root, MemStore, ACCOUNT};

const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/houdini-writer";

/// The text between `<tag>` and `</tag>` (the first one).
fn field(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let start = xml
        .find(&open)
        .unwrap_or_else(|| panic!("no {tag} in {xml}"))
        + open.len();
    let end = xml[start..].find(&format!("</{tag}>")).unwrap() + start;
    xml[start..end].to_string()
}

fn policy(effect: &str, actions: &str, condition: &str) -> String {
    url_encode(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"{effect}","Action":{actions},"Resource":"*"{condition}}}]}}"#
    ))
}

/// An account with user melvins and role houdini-writer, which trusts melvins with
/// ExternalId `houdini` and may list users and assume roles.
async fn setup() -> (Iam<MemStore>, Principal) {
    let iam = open(MemStore::default()).await;
    ok(&iam, "CreateUser", "UserName=melvins").await;
    let trust = url_encode(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:user/melvins"}},"Action":"sts:AssumeRole","Condition":{{"StringEquals":{{"sts:ExternalId":"houdini"}}}}}}]}}"#
    ));
    ok(
        &iam,
        "CreateRole",
        &format!("RoleName=houdini-writer&AssumeRolePolicyDocument={trust}"),
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

async fn sts_call(
    iam: &Iam<MemStore>,
    p: &Principal,
    op: &str,
    form: &str,
) -> Result<String, IamError> {
    let params = iamd_api::Params::from_form(form.as_bytes()).unwrap();
    let req = iamd_api::sts::decode(op, &params).unwrap();
    let ctx = crate::testing::context(iam, p);
    let out = iam.handle_sts(p, req, &ctx).await?;
    let mut xml = String::new();
    if let Some(o) = out {
        o.write_xml(&mut xml);
    }
    Ok(xml)
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
    denied(assume(&iam, &root(), "&ExternalId=houdini").await);
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
    let trust = url_encode(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"sts:AssumeRole"}}]}}"#
    ));
    ok(
        &iam,
        "CreateRole",
        &format!("RoleName=next&MaxSessionDuration=43200&AssumeRolePolicyDocument={trust}"),
    )
    .await;
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
