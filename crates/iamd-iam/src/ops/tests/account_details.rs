//! The account-wide views: GetAccountAuthorizationDetails (shapes, filters, paging),
//! GetAccountSummary, GetContextKeysForPrincipalPolicy over attached policies.

use super::*;

const READ_ONLY: &str = "arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess";
const P: &str = "arn%3Aaws%3Aiam%3A%3A123456789012%3Apolicy%2Fci%2Fdeploy";

/// A user in a group, a role in an instance profile, each with inline and attached
/// policies and tags, a customer-managed policy with two versions, one AWS-managed
/// policy attached and one unattached policy of each kind.
async fn account() -> crate::core::Iam<MemStore> {
    let iam = open(MemStore::default()).await;
    let s3 = doc("Allow", "s3:GetObject", "*");
    for (op, form) in [
        ("CreateUser", "UserName=melvins&Tags.member.1.Key=team&Tags.member.1.Value=a".to_string()),
        ("CreateUser", "UserName=buzzo".to_string()),
        ("PutUserPolicy", format!("UserName=melvins&PolicyName=houdini&PolicyDocument={s3}")),
        ("CreateGroup", "GroupName=admins".to_string()),
        ("AddUserToGroup", "GroupName=admins&UserName=melvins".to_string()),
        ("PutGroupPolicy", format!("GroupName=admins&PolicyName=all&PolicyDocument={}", doc("Allow", "*", "*"))),
        ("CreatePolicy", format!("PolicyName=deploy&Path=/ci/&Description=ci&PolicyDocument={s3}")),
        ("CreatePolicyVersion", format!("PolicyArn={P}&SetAsDefault=true&PolicyDocument={}", doc("Allow", "s3:PutObject", "*"))),
        ("CreatePolicy", format!("PolicyName=unused&PolicyDocument={s3}")),
        ("AttachUserPolicy", format!("UserName=melvins&PolicyArn={READ_ONLY}")),
        ("AttachGroupPolicy", format!("GroupName=admins&PolicyArn={P}")),
        ("CreateRole", format!("RoleName=writer&AssumeRolePolicyDocument={EC2_TRUST}&Tags.member.1.Key=tier&Tags.member.1.Value=web")),
        ("PutRolePolicy", format!("RoleName=writer&PolicyName=w&PolicyDocument={s3}")),
        ("AttachRolePolicy", format!("RoleName=writer&PolicyArn={P}")),
        ("CreateInstanceProfile", "InstanceProfileName=web".to_string()),
        ("AddRoleToInstanceProfile", "InstanceProfileName=web&RoleName=writer".to_string()),
    ] {
        ok(&iam, op, &form).await;
    }
    iam
}

fn count(xml: &str, s: &str) -> usize {
    xml.matches(s).count()
}

#[tokio::test]
async fn authorization_details_show_every_entity_and_what_is_attached() {
    let iam = account().await;
    let xml = ok(&iam, "GetAccountAuthorizationDetails", "").await;
    let s3 = super::super::url_encode(&percent_decode(&doc("Allow", "s3:GetObject", "*")));
    for want in [
        // The user: inline policy URL-encoded, group, attached policy, tags.
        "<UserName>melvins</UserName>",
        &format!("<UserPolicyList><member><PolicyName>houdini</PolicyName><PolicyDocument>{s3}</PolicyDocument></member></UserPolicyList>"),
        "<GroupList><member>admins</member></GroupList>",
        "<AttachedManagedPolicies><member><PolicyName>ReadOnlyAccess</PolicyName><PolicyArn>arn:aws:iam::aws:policy/ReadOnlyAccess</PolicyArn></member></AttachedManagedPolicies>",
        "<Tags><member><Key>team</Key><Value>a</Value></member></Tags>",
        // An empty user: every list present, empty.
        "<UserName>buzzo</UserName><UserId>",
        "<UserPolicyList></UserPolicyList><GroupList></GroupList><AttachedManagedPolicies></AttachedManagedPolicies>",
        // The group.
        "<GroupName>admins</GroupName>",
        "<GroupPolicyList><member><PolicyName>all</PolicyName>",
        "<AttachedManagedPolicies><member><PolicyName>deploy</PolicyName><PolicyArn>arn:aws:iam::123456789012:policy/ci/deploy</PolicyArn>",
        // The role: trust policy URL-encoded, its instance profile, last use.
        "<RoleName>writer</RoleName>",
        "<AssumeRolePolicyDocument>%7B%22Version%22",
        "<InstanceProfileList><member><Path>/</Path><InstanceProfileName>web</InstanceProfileName>",
        "<RolePolicyList><member><PolicyName>w</PolicyName>",
        "<Key>tier</Key>",
        "<RoleLastUsed>",
        // Policies: the customer-managed ones with every version, newest first.
        "<PolicyName>deploy</PolicyName>",
        "<Description>ci</Description>",
        "<PolicyVersionList><member><Document>%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3APutObject%22",
        "<VersionId>v2</VersionId><IsDefaultVersion>true</IsDefaultVersion>",
        "<VersionId>v1</VersionId><IsDefaultVersion>false</IsDefaultVersion>",
        "<PolicyName>unused</PolicyName>",
        // The attached AWS-managed one, with its default version.
        "<Arn>arn:aws:iam::aws:policy/ReadOnlyAccess</Arn>",
        "<IsTruncated>false</IsTruncated>",
    ] {
        assert!(xml.contains(want), "{want} in {xml}");
    }
    assert_eq!(count(&xml, "<UserName>"), 2);
    assert_eq!(count(&xml, "<GroupName>"), 1);
    // The role, and the role inside its instance profile.
    assert_eq!(count(&xml, "<RoleName>writer</RoleName>"), 2);
    // deploy, unused and ReadOnlyAccess: no other AWS-managed policy.
    assert_eq!(count(&xml, "<PolicyId>"), 3, "{xml}");
    assert_eq!(count(&xml, "arn:aws:iam::aws:policy/"), 2, "{xml}");
}

/// `%XX` → byte (the test's documents are ASCII).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn authorization_details_filters() {
    let iam = account().await;
    let names = |xml: &str| {
        (
            count(xml, "<UserName>"),
            count(xml, "<GroupName>"),
            count(xml, "<RoleId>"),
            count(xml, "<PolicyId>"),
        )
    };
    for (filter, want) in [
        ("Filter.member.1=User", (2, 0, 0, 0)),
        ("Filter.member.1=Group", (0, 1, 0, 0)),
        // The role and its copy inside the instance profile.
        ("Filter.member.1=Role", (0, 0, 2, 0)),
        ("Filter.member.1=LocalManagedPolicy", (0, 0, 0, 2)),
        ("Filter.member.1=AWSManagedPolicy", (0, 0, 0, 1)),
        (
            "Filter.member.1=User&Filter.member.2=AWSManagedPolicy",
            (2, 0, 0, 1),
        ),
    ] {
        let xml = ok(&iam, "GetAccountAuthorizationDetails", filter).await;
        assert_eq!(names(&xml), want, "{filter}: {xml}");
        // Every list is there, empty or not.
        for list in [
            "UserDetailList",
            "GroupDetailList",
            "RoleDetailList",
            "Policies",
        ] {
            assert!(xml.contains(&format!("<{list}>")), "{filter}: {list}");
        }
    }
    // Another value is the model's ValidationError.
    let p = iamd_api::Params::from_form(b"Filter.member.1=Users").unwrap();
    let e = iamd_api::iam::decode("GetAccountAuthorizationDetails", &p).unwrap_err();
    assert_eq!(e.code, "ValidationError");
}

/// MaxItems counts entities of every kind; the markers walk them all once.
#[tokio::test]
async fn authorization_details_pages() {
    let iam = account().await;
    let mut marker: Option<String> = None;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let form = match &marker {
            Some(m) => format!("MaxItems=2&Marker={}", super::super::url_encode(m)),
            None => "MaxItems=2".to_string(),
        };
        let xml = ok(&iam, "GetAccountAuthorizationDetails", &form).await;
        pages += 1;
        for tag in ["UserName", "GroupName", "PolicyName"] {
            let mut rest = xml.as_str();
            while let Some(i) = rest.find(&format!("<{tag}>")) {
                rest = &rest[i + tag.len() + 2..];
                seen.push(rest[..rest.find('<').unwrap()].to_string());
            }
        }
        if xml.contains("<IsTruncated>true</IsTruncated>") {
            marker = Some(field(&xml, "Marker").to_string());
        } else {
            assert!(!xml.contains("<Marker>"));
            break;
        }
    }
    // 2 users + 1 group + 1 role + 3 policies = 7 entities, 2 a page.
    assert_eq!(pages, 4);
    seen.retain(|n| n != "houdini" && n != "all" && n != "w");
    seen.sort();
    // Policy names: as attachments (melvins: ReadOnlyAccess; admins, writer: deploy)
    // and as the policies themselves.
    let mut want = vec![
        "ReadOnlyAccess",
        "ReadOnlyAccess",
        "admins",
        "buzzo",
        "deploy",
        "deploy",
        "deploy",
        "melvins",
        "unused",
    ];
    want.sort();
    assert_eq!(seen, want);
}

#[tokio::test]
async fn account_summary_counts_what_exists() {
    let iam = account().await;
    let xml = ok(&iam, "GetAccountSummary", "").await;
    let value = |k: &str| {
        let at = xml
            .find(&format!("<key>{k}</key>"))
            .unwrap_or_else(|| panic!("{k} in {xml}"));
        let rest = &xml[at..];
        let v = &rest[rest.find("<value>").unwrap() + 7..];
        v[..v.find('<').unwrap()].parse::<i64>().unwrap()
    };
    for (k, want) in [
        ("Users", 2),
        ("Groups", 1),
        ("Roles", 1),
        ("InstanceProfiles", 1),
        ("Policies", 2),
        // deploy v1, v2, unused v1, ReadOnlyAccess's default.
        ("PolicyVersionsInUse", 4),
        ("AttachedPoliciesPerUserQuota", 10),
        ("PoliciesQuota", 1500),
        ("PolicyVersionsInUseQuota", 10000),
        ("VersionsPerPolicyQuota", 5),
        ("RolesQuota", 1000),
        ("InstanceProfilesQuota", 1000),
        ("UsersQuota", 5000),
        ("GroupsQuota", 300),
    ] {
        assert_eq!(value(k), want, "{k}");
    }
    // An AWS-managed policy set only as a boundary is in use too (as ListPolicies'
    // OnlyAttached and GetAccountAuthorizationDetails count it).
    ok(
        &iam,
        "PutUserPermissionsBoundary",
        "UserName=buzzo&PermissionsBoundary=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FPowerUserAccess",
    )
    .await;
    let xml = ok(&iam, "GetAccountSummary", "").await;
    let at = xml.find("<key>PolicyVersionsInUse</key>").unwrap();
    assert!(
        xml[at..].starts_with("<key>PolicyVersionsInUse</key><value>5</value>"),
        "{xml}"
    );
    let details = ok(
        &iam,
        "GetAccountAuthorizationDetails",
        "Filter.member.1=AWSManagedPolicy",
    )
    .await;
    assert!(
        details.contains("<PolicyName>PowerUserAccess</PolicyName>"),
        "{details}"
    );
    // Every key of the model's summaryKeyType, once.
    for k in [
        "Users",
        "UsersQuota",
        "Groups",
        "GroupsQuota",
        "ServerCertificates",
        "ServerCertificatesQuota",
        "UserPolicySizeQuota",
        "GroupPolicySizeQuota",
        "GroupsPerUserQuota",
        "SigningCertificatesPerUserQuota",
        "AccessKeysPerUserQuota",
        "MFADevices",
        "MFADevicesInUse",
        "AccountMFAEnabled",
        "AccountAccessKeysPresent",
        "AccountPasswordPresent",
        "AccountSigningCertificatesPresent",
        "AttachedPoliciesPerGroupQuota",
        "AttachedPoliciesPerRoleQuota",
        "AttachedPoliciesPerUserQuota",
        "Policies",
        "PoliciesQuota",
        "PolicySizeQuota",
        "PolicyVersionsInUse",
        "PolicyVersionsInUseQuota",
        "VersionsPerPolicyQuota",
        "GlobalEndpointTokenVersion",
        "AssumeRolePolicySizeQuota",
        "InstanceProfiles",
        "InstanceProfilesQuota",
        "Providers",
        "RolePolicySizeQuota",
        "Roles",
        "RolesQuota",
    ] {
        assert_eq!(count(&xml, &format!("<key>{k}</key>")), 1, "{k}");
    }
    assert_eq!(count(&xml, "<key>"), 34);
}

/// GetContextKeysForPrincipalPolicy reads the attached managed policies too: a
/// user's (and its groups'), a group's, a role's.
#[tokio::test]
async fn context_keys_cover_attached_policies() {
    let iam = open(MemStore::default()).await;
    let keyed = super::super::url_encode(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"a"}}}]}"#,
    );
    ok(
        &iam,
        "CreatePolicy",
        &format!("PolicyName=keyed&PolicyDocument={keyed}"),
    )
    .await;
    ok(&iam, "CreateGroup", "GroupName=g").await;
    ok(&iam, "CreateUser", "UserName=u").await;
    ok(&iam, "AddUserToGroup", "GroupName=g&UserName=u").await;
    ok(
        &iam,
        "AttachGroupPolicy",
        "GroupName=g&PolicyArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Apolicy%2Fkeyed",
    )
    .await;
    ok(
        &iam,
        "CreateRole",
        &format!("RoleName=r&AssumeRolePolicyDocument={EC2_TRUST}"),
    )
    .await;
    ok(
        &iam,
        "AttachRolePolicy",
        "RoleName=r&PolicyArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Apolicy%2Fkeyed",
    )
    .await;
    for source in ["group%2Fg", "user%2Fu", "role%2Fr"] {
        let xml = ok(
            &iam,
            "GetContextKeysForPrincipalPolicy",
            &format!("PolicySourceArn=arn%3Aaws%3Aiam%3A%3A123456789012%3A{source}"),
        )
        .await;
        assert!(
            xml.contains("<member>aws:PrincipalTag/team</member>"),
            "{source}: {xml}"
        );
    }
}
