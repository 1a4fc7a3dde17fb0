//! Tags as condition keys (attribute-based access): the keys each tag-aware check
//! carries, and the "manage only your own team" policy deciding through the front door.

use super::*;

fn enc(s: &str) -> String {
    super::super::url_encode(s)
}

/// The condition keys of the first check of `op`, as (name, values), by the caller u.
fn keys_of(iam: &crate::core::Iam<MemStore>, op: &str, form: &str) -> Vec<(String, Vec<String>)> {
    let checks = iam.checks(&caller(), &request(op, form)).unwrap();
    checks[0].keys.clone()
}

fn key(name: &str, values: &[&str]) -> (String, Vec<String>) {
    (
        name.to_string(),
        values.iter().map(|v| v.to_string()).collect(),
    )
}

/// Tag, Untag and the other operations on tagged users, roles, policies and instance
/// profiles carry the resource's tags as they are before the request; Tag and Create
/// carry the request's (`aws:RequestTag/*`, `aws:TagKeys`), Untag the removed keys;
/// `iam:ResourceTag/*` only where the reference lists it (users and roles).
#[tokio::test]
async fn tag_condition_keys_per_operation() {
    let iam = open(MemStore::default()).await;
    let team_a = "Tags.member.1.Key=team&Tags.member.1.Value=a";
    ok(&iam, "CreateUser", &format!("UserName=bob&{team_a}")).await;
    ok(
        &iam,
        "CreateRole",
        &format!("RoleName=r&AssumeRolePolicyDocument={EC2_TRUST}&{team_a}"),
    )
    .await;
    ok(
        &iam,
        "CreatePolicy",
        &format!(
            "PolicyName=p&PolicyDocument={}&{team_a}",
            doc("Allow", "s3:*", "*")
        ),
    )
    .await;
    ok(
        &iam,
        "CreateInstanceProfile",
        &format!("InstanceProfileName=ip&{team_a}"),
    )
    .await;

    let before = [
        key("aws:ResourceTag/team", &["a"]),
        key("iam:ResourceTag/team", &["a"]),
    ];
    let to_b = "Tags.member.1.Key=team&Tags.member.1.Value=b";
    let mut want = before.to_vec();
    want.extend([
        key("aws:RequestTag/team", &["b"]),
        key("aws:TagKeys", &["team"]),
    ]);
    assert_eq!(
        keys_of(&iam, "TagUser", &format!("UserName=bob&{to_b}")),
        want
    );
    assert_eq!(
        keys_of(&iam, "TagRole", &format!("RoleName=r&{to_b}")),
        want
    );
    let mut want = before.to_vec();
    want.push(key("aws:TagKeys", &["team", "x"]));
    assert_eq!(
        keys_of(
            &iam,
            "UntagUser",
            "UserName=bob&TagKeys.member.1=team&TagKeys.member.2=x"
        ),
        want
    );
    for (op, form) in [
        ("GetUser", "UserName=bob"),
        ("DeleteUser", "UserName=bob"),
        ("ListUserTags", "UserName=bob"),
        ("PutUserPolicy", "UserName=bob&PolicyName=p&PolicyDocument=%7B%7D"),
        ("CreateAccessKey", "UserName=bob"),
        ("ListGroupsForUser", "UserName=bob"),
        ("GetRole", "RoleName=r"),
        ("UpdateAssumeRolePolicy", "RoleName=r&PolicyDocument=%7B%7D"),
        ("ListInstanceProfilesForRole", "RoleName=r"),
        ("SimulatePrincipalPolicy", "PolicySourceArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Auser%2Fbob&ActionNames.member.1=s3%3AGetObject"),
        ("GetContextKeysForPrincipalPolicy", "PolicySourceArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr"),
    ] {
        assert_eq!(keys_of(&iam, op, form), before, "{op}");
    }
    // Policies and instance profiles: aws:ResourceTag only.
    let p = "PolicyArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Apolicy%2Fp";
    let aws_only = vec![key("aws:ResourceTag/team", &["a"])];
    for (op, form) in [
        ("GetPolicy", p.to_string()),
        ("ListPolicyTags", p.to_string()),
        ("GetInstanceProfile", "InstanceProfileName=ip".to_string()),
        (
            "DeleteInstanceProfile",
            "InstanceProfileName=ip".to_string(),
        ),
    ] {
        assert_eq!(keys_of(&iam, op, &form), aws_only, "{op}");
    }
    let mut want = aws_only.clone();
    want.extend([
        key("aws:RequestTag/team", &["b"]),
        key("aws:TagKeys", &["team"]),
    ]);
    assert_eq!(keys_of(&iam, "TagPolicy", &format!("{p}&{to_b}")), want);
    assert_eq!(
        keys_of(
            &iam,
            "TagInstanceProfile",
            &format!("InstanceProfileName=ip&{to_b}")
        ),
        want
    );
    let mut want = aws_only;
    want.push(key("aws:TagKeys", &["team"]));
    assert_eq!(
        keys_of(&iam, "UntagPolicy", &format!("{p}&TagKeys.member.1=team")),
        want
    );
    // Creation: the request's tags; none without tags (no empty aws:TagKeys).
    for (op, form) in [
        ("CreateUser", "UserName=n".to_string()),
        ("CreateInstanceProfile", "InstanceProfileName=n".to_string()),
        (
            "CreatePolicy",
            "PolicyName=n&PolicyDocument=%7B%7D".to_string(),
        ),
        (
            "CreateRole",
            format!("RoleName=n&AssumeRolePolicyDocument={EC2_TRUST}"),
        ),
    ] {
        assert_eq!(keys_of(&iam, op, &form), vec![], "{op}");
        assert_eq!(
            keys_of(&iam, op, &format!("{form}&{to_b}")),
            vec![
                key("aws:RequestTag/team", &["b"]),
                key("aws:TagKeys", &["team"])
            ],
            "{op}"
        );
    }
    // An untagged or missing target has no resource keys.
    assert_eq!(keys_of(&iam, "GetUser", "UserName=nobody"), vec![]);
}

/// AWS's documented ABAC pattern, through the front door: a user may manage only the
/// users tagged with its own `team`, and cannot escape by re-tagging anyone (itself
/// included), by creating a user of another team, or by removing a team tag.
#[tokio::test]
async fn team_tag_confines_user_management() {
    let iam = open(MemStore::default()).await;
    for (name, team) in [("alice", "a"), ("bob", "a"), ("carol", "b")] {
        ok(
            &iam,
            "CreateUser",
            &format!("UserName={name}&Tags.member.1.Key=team&Tags.member.1.Value={team}"),
        )
        .await;
    }
    let policy = enc(r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":["iam:GetUser","iam:DeleteUser","iam:ListUserTags","iam:TagUser","iam:UntagUser"],
         "Resource":"arn:aws:iam::*:user/*",
         "Condition":{"StringEquals":{"iam:ResourceTag/team":"${aws:PrincipalTag/team}"}}},
        {"Effect":"Allow","Action":"iam:CreateUser","Resource":"*",
         "Condition":{"StringEquals":{"aws:RequestTag/team":"${aws:PrincipalTag/team}"}}},
        {"Effect":"Deny","Action":"iam:TagUser","Resource":"*",
         "Condition":{"StringNotEquals":{"aws:RequestTag/team":"${aws:PrincipalTag/team}"},
                      "Null":{"aws:RequestTag/team":"false"}}},
        {"Effect":"Deny","Action":"iam:UntagUser","Resource":"*",
         "Condition":{"ForAnyValue:StringEqualsIgnoreCase":{"aws:TagKeys":"team"}}}]}"#);
    ok(
        &iam,
        "PutUserPolicy",
        &format!("UserName=alice&PolicyName=team&PolicyDocument={policy}"),
    )
    .await;
    let alice = user(&iam, "alice");
    let team = |v: &str| format!("Tags.member.1.Key=team&Tags.member.1.Value={v}");
    // (operation, form, allowed), in this order.
    let steps: Vec<(&str, String, bool)> = vec![
        ("GetUser", "UserName=bob".into(), true),
        ("GetUser", "UserName=carol".into(), false),
        // Other tags on a teammate: allowed, and removing them.
        (
            "TagUser",
            "UserName=bob&Tags.member.1.Key=project&Tags.member.1.Value=x".into(),
            true,
        ),
        (
            "UntagUser",
            "UserName=bob&TagKeys.member.1=project".into(),
            true,
        ),
        // Pulling carol into team a: carol's team (before the request) is b.
        ("TagUser", format!("UserName=carol&{}", team("a")), false),
        // Moving itself or a teammate to team b, in any key case.
        ("TagUser", format!("UserName=alice&{}", team("b")), false),
        (
            "TagUser",
            "UserName=bob&Tags.member.1.Key=TEAM&Tags.member.1.Value=b".into(),
            false,
        ),
        // Removing the team tag (in any case), which would leave the user unmanaged.
        (
            "UntagUser",
            "UserName=bob&TagKeys.member.1=team".into(),
            false,
        ),
        (
            "UntagUser",
            "UserName=bob&TagKeys.member.1=Team".into(),
            false,
        ),
        // Creating: only in its own team, and only with the team tag.
        ("CreateUser", format!("UserName=dave&{}", team("b")), false),
        ("CreateUser", "UserName=dave".into(), false),
        ("CreateUser", format!("UserName=dave&{}", team("a")), true),
        ("DeleteUser", "UserName=dave".into(), true),
        ("DeleteUser", "UserName=carol".into(), false),
    ];
    for (op, form, allowed) in steps {
        match call(&iam, &alice, op, &form).await {
            Ok(_) => assert!(allowed, "{op} {form} was allowed"),
            Err(IamError::AccessDenied(_)) => assert!(!allowed, "{op} {form} was denied"),
            Err(e) => panic!("{op} {form}: {e:?}"),
        }
    }
    // Nothing changed where it was refused.
    let xml = ok(&iam, "ListUserTags", "UserName=carol").await;
    assert!(
        xml.contains("<Value>b</Value>") && !xml.contains("<Value>a</Value>"),
        "{xml}"
    );
    let xml = ok(&iam, "ListUserTags", "UserName=alice").await;
    assert!(xml.contains("<Value>a</Value>"), "{xml}");
}

/// AWS reserves the `aws:` prefix (any case) in tag keys, on creation and tagging.
#[tokio::test]
async fn aws_prefix_is_reserved_in_tag_keys() {
    let iam = open(MemStore::default()).await;
    ok(&iam, "CreateUser", "UserName=u").await;
    for (op, form) in [
        ("TagUser", "UserName=u&Tags.member.1.Key=aws%3Ateam&Tags.member.1.Value=a"),
        ("TagUser", "UserName=u&Tags.member.1.Key=AWS%3Ax&Tags.member.1.Value=a"),
        ("CreateUser", "UserName=v&Tags.member.1.Key=Aws%3Ax&Tags.member.1.Value=a"),
        (
            "CreateRole",
            &format!("RoleName=r&AssumeRolePolicyDocument={EC2_TRUST}&Tags.member.1.Key=aws%3Ax&Tags.member.1.Value=a"),
        ),
    ] {
        let e = err(&iam, op, form).await;
        assert_eq!(
            message(e, |e| matches!(e, IamError::InvalidInput(_))),
            crate::ops::tags::RESERVED_PREFIX,
            "{op}"
        );
    }
    // Nothing was created or tagged; a key merely containing `aws:` is fine.
    assert!(matches!(
        err(&iam, "GetUser", "UserName=v").await,
        IamError::NoSuchEntity(_)
    ));
    assert!(!ok(&iam, "ListUserTags", "UserName=u")
        .await
        .contains("<Key>"));
    ok(
        &iam,
        "TagUser",
        "UserName=u&Tags.member.1.Key=x%3Aaws%3A&Tags.member.1.Value=a",
    )
    .await;
}

/// Whether the Service Authorization Reference lists the service key `key` for
/// `action` (through the lint, which reads the generated reference tables).
fn sar_supports(action: &str, key: &str) -> bool {
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"*","Condition":{{"StringEquals":{{"{key}":"x"}}}}}}]}}"#
    );
    !crate::lint_policy(&policy, iamd_policy::PolicyType::Managed, 0)
        .expect("the reference decodes")
        .iter()
        .any(|f| f.issue_code == "UNSUPPORTED_ACTION_FOR_CONDITION_KEY")
}

/// Every `iam:` key a check of an implemented operation carries is one the reference
/// lists for its action, and every operation on an existing tagged user or role whose
/// action the reference gives `iam:ResourceTag/*` carries it (creations excepted: their
/// resource does not exist before the request).
/// How many operations of the table at least act on the tagged user or role with an
/// action the reference gives `iam:ResourceTag/*`.
const RESOURCE_TAGGED_AT_LEAST: usize = 40;

#[tokio::test]
async fn iam_keys_are_those_the_reference_lists() {
    let iam = open(MemStore::default()).await;
    let tagged = "Tags.member.1.Key=team&Tags.member.1.Value=a";
    for (op, form) in [
        ("CreateUser", format!("UserName=u&{tagged}")),
        ("CreateGroup", "GroupName=g".to_string()),
        (
            "CreateRole",
            format!("RoleName=r&AssumeRolePolicyDocument={EC2_TRUST}&{tagged}"),
        ),
        (
            "CreateInstanceProfile",
            format!("InstanceProfileName=ip&{tagged}"),
        ),
        (
            "CreatePolicy",
            format!(
                "PolicyName=p&PolicyDocument={}&{tagged}",
                doc("Allow", "s3:*", "*")
            ),
        ),
    ] {
        ok(&iam, op, &form).await;
    }
    let (mut carried, mut resource_tagged) = (0, 0);
    for (op, form) in TABLE {
        let action = format!("iam:{op}");
        let checks = iam.checks(&caller(), &request(op, form)).unwrap();
        for (k, _) in &checks[0].keys {
            if k.starts_with("iam:") {
                assert!(sar_supports(&action, k), "{op} carries {k}");
                carried += 1;
            }
        }
        let on_tagged = matches!(&checks[0].target, Target::Arn(a) if a.ends_with(":user/u") || a.ends_with(":role/r"));
        if on_tagged && !op.starts_with("Create") && sar_supports(&action, "iam:ResourceTag/team") {
            assert!(
                checks[0]
                    .keys
                    .iter()
                    .any(|(k, _)| k == "iam:ResourceTag/team"),
                "{op} lacks iam:ResourceTag/team"
            );
            resource_tagged += 1;
        }
    }
    assert!(carried > 20, "{carried}");
    // The iam:ResourceTag check above ran, for the user's and the role's operations.
    assert!(
        resource_tagged >= RESOURCE_TAGGED_AT_LEAST,
        "{resource_tagged}"
    );
}
