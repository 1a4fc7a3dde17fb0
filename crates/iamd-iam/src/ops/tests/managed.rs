//! Managed policies through the front door: customer-managed policies, versions,
//! attachments (and their effect on the next decision), the AWS-managed catalogue.

use super::*;

const P: &str = "arn:aws:iam::123456789012:policy/p";
const READ_ONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";

fn enc(s: &str) -> String {
    super::super::url_encode(s)
}

async fn create(iam: &crate::core::Iam<MemStore>, name: &str, document: &str) -> String {
    ok(
        iam,
        "CreatePolicy",
        &format!("PolicyName={name}&PolicyDocument={document}"),
    )
    .await
}

#[tokio::test]
async fn customer_managed_policies() {
    let iam = open(MemStore::default()).await;
    let xml = ok(
        &iam,
        "CreatePolicy",
        &format!(
            "PolicyName=p&PolicyDocument={}&Description=d&Tags.member.1.Key=team&Tags.member.1.Value=ci",
            doc("Allow", "s3:GetObject", "*")
        ),
    )
    .await;
    for want in [
        "<PolicyName>p</PolicyName>",
        "<Arn>arn:aws:iam::123456789012:policy/p</Arn>",
        "<DefaultVersionId>v1</DefaultVersionId>",
        "<AttachmentCount>0</AttachmentCount>",
        "<IsAttachable>true</IsAttachable>",
        "<PolicyId>ANPA",
        "<Key>team</Key>",
    ] {
        assert!(xml.contains(want), "{want} in {xml}");
    }
    // Names are unique case-insensitively.
    let e = err(
        &iam,
        "CreatePolicy",
        &format!("PolicyName=P&PolicyDocument={}", doc("Allow", "s3:*", "*")),
    )
    .await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::EntityAlreadyExists(_))),
        "A policy called P already exists. Duplicate names are not allowed."
    );
    // A managed policy needs Version 2012-10-17.
    let e = err(
        &iam,
        "CreatePolicy",
        &format!(
            "PolicyName=old&PolicyDocument={}",
            enc(r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#)
        ),
    )
    .await;
    assert!(matches!(e, IamError::MalformedPolicyDocument(_)), "{e:?}");
    // 6,144 characters, whitespace not counted.
    let e = err(
        &iam,
        "CreatePolicy",
        &format!("PolicyName=big&PolicyDocument={}", sized_doc(6200)),
    )
    .await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::LimitExceeded(_))),
        "Cannot exceed quota for PolicySize: 6144"
    );
    create(&iam, "fits", &sized_doc(6100)).await;
    let xml = ok(&iam, "GetPolicy", &format!("PolicyArn={P}")).await;
    assert!(
        xml.contains("<Description>d</Description>") && xml.contains("<Value>ci</Value>"),
        "{xml}"
    );
    let e = err(
        &iam,
        "GetPolicy",
        "PolicyArn=arn:aws:iam::123456789012:policy/nope",
    )
    .await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::NoSuchEntity(_))),
        "Policy arn:aws:iam::123456789012:policy/nope was not found."
    );
    // Listing: Local only, in name order, paged.
    let xml = ok(&iam, "ListPolicies", "Scope=Local&MaxItems=1").await;
    assert!(
        xml.contains("<PolicyName>fits</PolicyName>")
            && xml.contains("<IsTruncated>true</IsTruncated>"),
        "{xml}"
    );
    let marker = field(&xml, "Marker").to_string();
    let xml = ok(
        &iam,
        "ListPolicies",
        &format!("Scope=Local&MaxItems=1&Marker={}", enc(&marker)),
    )
    .await;
    assert!(
        xml.contains("<PolicyName>p</PolicyName>")
            && xml.contains("<IsTruncated>false</IsTruncated>"),
        "{xml}"
    );
    // Tags.
    ok(
        &iam,
        "TagPolicy",
        &format!("PolicyArn={P}&Tags.member.1.Key=env&Tags.member.1.Value=prod"),
    )
    .await;
    ok(
        &iam,
        "UntagPolicy",
        &format!("PolicyArn={P}&TagKeys.member.1=TEAM"),
    )
    .await;
    let xml = ok(&iam, "ListPolicyTags", &format!("PolicyArn={P}")).await;
    assert!(
        xml.contains("<Key>env</Key>") && !xml.contains("<Key>team</Key>"),
        "{xml}"
    );
    ok(&iam, "DeletePolicy", &format!("PolicyArn={P}")).await;
    let e = err(&iam, "DeletePolicy", &format!("PolicyArn={P}")).await;
    assert!(matches!(e, IamError::NoSuchEntity(_)), "{e:?}");
    let bad = "arn:aws:iam::aws:policy/arn:aws:iam::aws:policy/SecurityAudit";
    let e = err(&iam, "GetPolicy", &format!("PolicyArn={bad}")).await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::InvalidInput(_))),
        format!("ARN {bad} is not valid.")
    );
}

#[tokio::test]
async fn policy_versions() {
    let iam = open(MemStore::default()).await;
    create(&iam, "p", &doc("Allow", "s3:GetObject", "*")).await;
    for i in 2..=5 {
        let xml = ok(
            &iam,
            "CreatePolicyVersion",
            &format!(
                "PolicyArn={P}&PolicyDocument={}",
                doc("Allow", &format!("s3:Get{i}"), "*")
            ),
        )
        .await;
        assert!(
            xml.contains(&format!("<VersionId>v{i}</VersionId>")),
            "{xml}"
        );
        assert!(xml.contains("<IsDefaultVersion>false</IsDefaultVersion>"));
    }
    let e = err(
        &iam,
        "CreatePolicyVersion",
        &format!("PolicyArn={P}&PolicyDocument={}", doc("Allow", "s3:*", "*")),
    )
    .await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::LimitExceeded(_))),
        "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version."
    );
    // Newest first.
    let xml = ok(&iam, "ListPolicyVersions", &format!("PolicyArn={P}")).await;
    let v5 = xml.find("<VersionId>v5</VersionId>").unwrap();
    let v1 = xml.find("<VersionId>v1</VersionId>").unwrap();
    assert!(v5 < v1, "{xml}");
    assert!(!xml.contains("<Document>"), "{xml}");
    // The document as AWS returns it: URL-encoded.
    let xml = ok(
        &iam,
        "GetPolicyVersion",
        &format!("PolicyArn={P}&VersionId=v3"),
    )
    .await;
    assert!(
        xml.contains(&format!(
            "<Document>{}</Document>",
            doc("Allow", "s3:Get3", "*")
        )),
        "{xml}"
    );
    let e = err(
        &iam,
        "GetPolicyVersion",
        &format!("PolicyArn={P}&VersionId=v9"),
    )
    .await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::NoSuchEntity(_))),
        format!("Policy {P} version v9 does not exist or is not attachable.")
    );
    let e = err(
        &iam,
        "DeletePolicyVersion",
        &format!("PolicyArn={P}&VersionId=v1"),
    )
    .await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::DeleteConflict(_))),
        "Cannot delete the default version of a policy."
    );
    let e = err(&iam, "DeletePolicy", &format!("PolicyArn={P}")).await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::DeleteConflict(_))),
        "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy."
    );
    ok(
        &iam,
        "SetDefaultPolicyVersion",
        &format!("PolicyArn={P}&VersionId=v4"),
    )
    .await;
    assert!(ok(&iam, "GetPolicy", &format!("PolicyArn={P}"))
        .await
        .contains("<DefaultVersionId>v4</DefaultVersionId>"));
    for v in ["v1", "v2", "v3", "v5"] {
        ok(
            &iam,
            "DeletePolicyVersion",
            &format!("PolicyArn={P}&VersionId={v}"),
        )
        .await;
    }
    // Version ids are never reused.
    let xml = ok(
        &iam,
        "CreatePolicyVersion",
        &format!(
            "PolicyArn={P}&PolicyDocument={}&SetAsDefault=true",
            doc("Allow", "s3:*", "*")
        ),
    )
    .await;
    assert!(
        xml.contains("<VersionId>v6</VersionId>")
            && xml.contains("<IsDefaultVersion>true</IsDefaultVersion>"),
        "{xml}"
    );
    ok(
        &iam,
        "DeletePolicyVersion",
        &format!("PolicyArn={P}&VersionId=v4"),
    )
    .await;
    ok(&iam, "DeletePolicy", &format!("PolicyArn={P}")).await;
}

/// Switching a policy's default version changes the very next decision of every
/// principal that has it attached (here through a group).
#[tokio::test]
async fn switching_the_default_version_changes_the_next_decision() {
    let iam = open(MemStore::default()).await;
    ok(&iam, "CreateUser", "UserName=u").await;
    ok(&iam, "CreateGroup", "GroupName=g").await;
    ok(&iam, "AddUserToGroup", "GroupName=g&UserName=u").await;
    create(&iam, "p", &doc("Allow", "iam:ListUsers", "*")).await;
    ok(
        &iam,
        "AttachGroupPolicy",
        &format!("GroupName=g&PolicyArn={P}"),
    )
    .await;
    let u = user(&iam, "u");
    call(&iam, &u, "ListUsers", "").await.unwrap();
    assert!(call(&iam, &u, "ListGroups", "").await.is_err());
    ok(
        &iam,
        "CreatePolicyVersion",
        &format!(
            "PolicyArn={P}&PolicyDocument={}&SetAsDefault=true",
            doc("Allow", "iam:ListGroups", "*")
        ),
    )
    .await;
    let e = call(&iam, &u, "ListUsers", "").await.unwrap_err();
    assert!(matches!(e, IamError::AccessDenied(_)), "{e:?}");
    call(&iam, &u, "ListGroups", "").await.unwrap();
    ok(
        &iam,
        "SetDefaultPolicyVersion",
        &format!("PolicyArn={P}&VersionId=v1"),
    )
    .await;
    call(&iam, &u, "ListUsers", "").await.unwrap();
    assert!(call(&iam, &u, "ListGroups", "").await.is_err());
    // The simulator sees the attached policy too.
    let xml = ok(
        &iam,
        "SimulatePrincipalPolicy",
        "PolicySourceArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Auser%2Fu&ActionNames.member.1=iam%3AListUsers",
    )
    .await;
    assert!(
        xml.contains("<EvalDecision>allowed</EvalDecision>"),
        "{xml}"
    );
}

#[tokio::test]
async fn attachments_decide_and_block_deletion() {
    let iam = open(MemStore::default()).await;
    ok(&iam, "CreateUser", "UserName=u").await;
    let u = user(&iam, "u");
    assert!(call(&iam, &u, "ListUsers", "").await.is_err());
    ok(
        &iam,
        "AttachUserPolicy",
        &format!("UserName=u&PolicyArn={READ_ONLY}"),
    )
    .await;
    // Again: nothing changes.
    ok(
        &iam,
        "AttachUserPolicy",
        &format!("UserName=u&PolicyArn={READ_ONLY}"),
    )
    .await;
    call(&iam, &u, "ListUsers", "").await.unwrap();
    let e = call(&iam, &u, "CreateUser", "UserName=v")
        .await
        .unwrap_err();
    assert!(matches!(e, IamError::AccessDenied(_)), "{e:?}");
    let xml = ok(&iam, "ListAttachedUserPolicies", "UserName=u").await;
    assert!(
        xml.contains("<PolicyName>ReadOnlyAccess</PolicyName>")
            && xml.contains(&format!("<PolicyArn>{READ_ONLY}</PolicyArn>")),
        "{xml}"
    );
    let xml = ok(&iam, "GetPolicy", &format!("PolicyArn={READ_ONLY}")).await;
    assert!(
        xml.contains("<AttachmentCount>1</AttachmentCount>"),
        "{xml}"
    );
    let xml = ok(
        &iam,
        "ListEntitiesForPolicy",
        &format!("PolicyArn={READ_ONLY}"),
    )
    .await;
    assert!(xml.contains("<UserName>u</UserName>"), "{xml}");
    let e = err(&iam, "DeleteUser", "UserName=u").await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::DeleteConflict(_))),
        "Cannot delete entity, must detach all policies first."
    );
    ok(
        &iam,
        "DetachUserPolicy",
        &format!("UserName=u&PolicyArn={READ_ONLY}"),
    )
    .await;
    assert!(call(&iam, &u, "ListUsers", "").await.is_err());
    let e = err(
        &iam,
        "DetachUserPolicy",
        &format!("UserName=u&PolicyArn={READ_ONLY}"),
    )
    .await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::NoSuchEntity(_))),
        format!("Policy {READ_ONLY} was not found.")
    );
    // Nothing holds ReadOnlyAccess any more: its compiled document is dropped.
    assert!(iam.read().aws_compiled.is_empty());
    let e = err(
        &iam,
        "AttachUserPolicy",
        "UserName=u&PolicyArn=arn:aws:iam::aws:policy/NoSuchPolicy",
    )
    .await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::NoSuchEntity(_))),
        "Policy arn:aws:iam::aws:policy/NoSuchPolicy does not exist or is not attachable."
    );
    // A customer-managed policy attached cannot be deleted.
    create(&iam, "p", &doc("Allow", "s3:*", "*")).await;
    ok(
        &iam,
        "AttachUserPolicy",
        &format!("UserName=u&PolicyArn={P}"),
    )
    .await;
    let e = err(&iam, "DeletePolicy", &format!("PolicyArn={P}")).await;
    assert_eq!(
        message(e, |e| matches!(e, IamError::DeleteConflict(_))),
        "Cannot delete a policy attached to entities."
    );
    ok(
        &iam,
        "DetachUserPolicy",
        &format!("UserName=u&PolicyArn={P}"),
    )
    .await;
    ok(&iam, "DeletePolicy", &format!("PolicyArn={P}")).await;
    ok(&iam, "DeleteUser", "UserName=u").await;
}

/// A store with user `u`, group `g` and role `r`.
async fn user_group_and_role() -> crate::core::Iam<MemStore> {
    let iam = open(MemStore::default()).await;
    ok(&iam, "CreateUser", "UserName=u").await;
    ok(&iam, "CreateGroup", "GroupName=g").await;
    ok(
        &iam,
        "CreateRole",
        &format!("RoleName=r&AssumeRolePolicyDocument={}", super::EC2_TRUST),
    )
    .await;
    iam
}

#[tokio::test]
async fn ten_managed_policies_per_user_group_and_role() {
    let iam = user_group_and_role().await;
    for i in 0..11 {
        create(&iam, &format!("p{i}"), &doc("Allow", "s3:GetObject", "*")).await;
    }
    for (attach, who, quota) in [
        ("AttachUserPolicy", "UserName=u", "PoliciesPerUser"),
        ("AttachGroupPolicy", "GroupName=g", "PoliciesPerGroup"),
        ("AttachRolePolicy", "RoleName=r", "PoliciesPerRole"),
    ] {
        for i in 0..10 {
            ok(
                &iam,
                attach,
                &format!("{who}&PolicyArn=arn:aws:iam::123456789012:policy/p{i}"),
            )
            .await;
        }
        let e = err(
            &iam,
            attach,
            &format!("{who}&PolicyArn=arn:aws:iam::123456789012:policy/p10"),
        )
        .await;
        assert_eq!(
            message(e, |e| matches!(e, IamError::LimitExceeded(_))),
            format!("Cannot exceed quota for {quota}: 10")
        );
    }
    // The role's identity policies are its attached ones.
    {
        use crate::entity::Entity;
        let state = iam.read();
        assert_eq!(
            crate::state::Role::by_name(&state, "r")
                .unwrap()
                .effective
                .len(),
            10
        );
    }
    let xml = ok(
        &iam,
        "ListEntitiesForPolicy",
        "PolicyArn=arn:aws:iam::123456789012:policy/p0",
    )
    .await;
    assert!(
        xml.contains("<GroupName>g</GroupName>")
            && xml.contains("<RoleName>r</RoleName>")
            && xml.contains("<UserName>u</UserName>"),
        "{xml}"
    );
    let xml = ok(
        &iam,
        "ListEntitiesForPolicy",
        "PolicyArn=arn:aws:iam::123456789012:policy/p0&EntityFilter=Role",
    )
    .await;
    assert!(
        xml.contains("<RoleName>r</RoleName>") && !xml.contains("<UserName>"),
        "{xml}"
    );
    for (op, who) in [("DeleteGroup", "GroupName=g"), ("DeleteRole", "RoleName=r")] {
        let e = err(&iam, op, who).await;
        assert_eq!(
            message(e, |e| matches!(e, IamError::DeleteConflict(_))),
            "Cannot delete entity, must detach all policies first."
        );
    }
    let xml = ok(&iam, "GetAccountSummary", "").await;
    for (k, v) in [
        ("Policies", 11),
        ("PolicyVersionsInUse", 11),
        ("AttachedPoliciesPerUserQuota", 10),
    ] {
        let want = format!("<entry><key>{k}</key><value>{v}</value></entry>");
        assert!(xml.contains(&want), "{want} in {xml}");
    }
}

#[tokio::test]
async fn aws_managed_policies_are_readable_and_read_only() {
    let iam = open(MemStore::default()).await;
    let xml = ok(&iam, "GetPolicy", &format!("PolicyArn={READ_ONLY}")).await;
    assert!(
        xml.contains("<PolicyName>ReadOnlyAccess</PolicyName>")
            && xml.contains("<PolicyId>ANPA")
            && xml.contains("<AttachmentCount>0</AttachmentCount>"),
        "{xml}"
    );
    // The same derived id every time.
    assert_eq!(
        field(&xml, "PolicyId"),
        field(
            &ok(&iam, "GetPolicy", &format!("PolicyArn={READ_ONLY}")).await,
            "PolicyId"
        )
    );
    let xml = ok(
        &iam,
        "ListPolicyVersions",
        &format!("PolicyArn={READ_ONLY}"),
    )
    .await;
    assert!(
        xml.contains("<IsDefaultVersion>true</IsDefaultVersion>"),
        "{xml}"
    );
    // An older version of a policy whose history the catalogue has.
    let c = iamd_catalog::catalog().unwrap();
    let with_history = c.iter().find(|p| p.versions().count() > 1).unwrap();
    let older = with_history.versions().nth(1).unwrap().id().to_string();
    let xml = ok(
        &iam,
        "GetPolicyVersion",
        &format!("PolicyArn={}&VersionId={older}", with_history.arn()),
    )
    .await;
    assert!(
        xml.contains("<IsDefaultVersion>false</IsDefaultVersion>") && xml.contains("<Document>%7B"),
        "{xml}"
    );
    // Scope=AWS: the catalogue, paged.
    let xml = ok(&iam, "ListPolicies", "Scope=AWS").await;
    assert_eq!(xml.matches("<member>").count(), 100, "default page");
    assert!(xml.contains("<IsTruncated>true</IsTruncated>"));
    let xml = ok(&iam, "ListPolicies", "Scope=AWS&PathPrefix=/job-function/").await;
    assert!(
        xml.contains("<PolicyName>ViewOnlyAccess</PolicyName>"),
        "{xml}"
    );
    assert!(!xml.contains("<Path>/</Path>"), "{xml}");
    // Read-only: AWS's AccessDenied on the `aws` account's resource.
    for (op, form) in [
        ("DeletePolicy", format!("PolicyArn={READ_ONLY}")),
        (
            "CreatePolicyVersion",
            format!(
                "PolicyArn={READ_ONLY}&PolicyDocument={}",
                doc("Allow", "*", "*")
            ),
        ),
        (
            "DeletePolicyVersion",
            format!("PolicyArn={READ_ONLY}&VersionId=v1"),
        ),
        (
            "SetDefaultPolicyVersion",
            format!("PolicyArn={READ_ONLY}&VersionId=v1"),
        ),
        (
            "TagPolicy",
            format!("PolicyArn={READ_ONLY}&Tags.member.1.Key=k&Tags.member.1.Value=v"),
        ),
    ] {
        let e = err(&iam, op, &form).await;
        assert_eq!(
            message(e, |e| matches!(e, IamError::AccessDenied(_))),
            format!("User: arn:aws:iam::123456789012:root is not authorized to perform: iam:{op} on resource: policy {READ_ONLY}")
        );
    }
    // A document with resource types the engine once rejected (IAM role templates):
    // every AWS-managed policy validates now, so it compiles as an attachment would
    // compile it. (It is a service-linked role's policy: attaching it to a user is
    // PolicyNotAttachable, `service_role_policies_are_not_attachable`.)
    let templated = c.get("AWSCloudWatchOmniServiceRolePolicy").unwrap();
    let document = templated.default_version().document().unwrap();
    assert!(document.contains("role-template/"), "{document}");
    assert!(iamd_policy::CompiledPolicy::from_json(
        &document,
        iamd_policy::PolicyType::Managed,
        templated.name()
    )
    .is_ok());
}

#[tokio::test]
async fn managed_policy_checks_carry_their_condition_keys() {
    let iam = open(MemStore::default()).await;
    ok(&iam, "CreateUser", "UserName=u").await;
    let checks = iam
        .checks(
            &caller(),
            &request(
                "AttachUserPolicy",
                &format!("UserName=u&PolicyArn={READ_ONLY}"),
            ),
        )
        .unwrap();
    assert_eq!(checks[0].target, Target::Arn(SOURCE.to_string()));
    assert!(checks[0]
        .keys
        .contains(&("iam:PolicyARN".to_string(), vec![READ_ONLY.to_string()])));
    let checks = iam
        .checks(
            &caller(),
            &request(
                "CreatePolicy",
                "PolicyName=p&Path=/ci/&PolicyDocument=%7B%7D&Tags.member.1.Key=k&Tags.member.1.Value=v",
            ),
        )
        .unwrap();
    assert_eq!(
        checks[0].target,
        Target::Arn("arn:aws:iam::123456789012:policy/ci/p".to_string())
    );
    let keys: Vec<&str> = checks[0].keys.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["aws:RequestTag/k", "aws:TagKeys"]);
    // iam:PolicyARN decides: a user may attach only ReadOnlyAccess.
    let only = enc(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"iam:AttachUserPolicy","Resource":"*","Condition":{{"ArnEquals":{{"iam:PolicyARN":"{READ_ONLY}"}}}}}}]}}"#
    ));
    ok(
        &iam,
        "PutUserPolicy",
        &format!("UserName=u&PolicyName=only&PolicyDocument={only}"),
    )
    .await;
    let u = user(&iam, "u");
    call(
        &iam,
        &u,
        "AttachUserPolicy",
        &format!("UserName=u&PolicyArn={READ_ONLY}"),
    )
    .await
    .unwrap();
    let e = call(
        &iam,
        &u,
        "AttachUserPolicy",
        "UserName=u&PolicyArn=arn:aws:iam::aws:policy/AdministratorAccess",
    )
    .await
    .unwrap_err();
    assert_eq!(
        message(e, |e| matches!(e, IamError::AccessDenied(_))),
        "User: arn:aws:iam::123456789012:user/u is not authorized to perform: iam:AttachUserPolicy on resource: user u because no identity-based policy allows the iam:AttachUserPolicy action"
    );
    // Denials name a policy by its ARN.
    ok(&iam, "CreateUser", "UserName=w").await;
    let w = user(&iam, "w");
    let e = call(&iam, &w, "GetPolicy", &format!("PolicyArn={READ_ONLY}"))
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains(&format!("on resource: policy {READ_ONLY} ")),
        "{e}"
    );
}

/// Startup loads customer-managed policies with their versions and tags, and the
/// attachments (AWS-managed ones compiled), from what the store committed.
#[tokio::test]
async fn startup_loads_managed_policies() {
    let mut snap = iamd_store::testing::every_change_snapshot();
    snap.access_keys.clear();
    snap.key_usage.clear();
    let iam = open(MemStore::with(snap)).await;
    let deploy = "arn:aws:iam::123456789012:policy/ci/ci-deploy";
    let xml = ok(&iam, "GetPolicy", &format!("PolicyArn={deploy}")).await;
    assert!(
        xml.contains("<DefaultVersionId>v2</DefaultVersionId>")
            && xml.contains("<AttachmentCount>1</AttachmentCount>")
            && xml.contains("<Key>team</Key>"),
        "{xml}"
    );
    let xml = ok(&iam, "GetPolicy", &format!("PolicyArn={READ_ONLY}")).await;
    assert!(
        xml.contains("<AttachmentCount>2</AttachmentCount>"),
        "{xml}"
    );
    let state = iam.read();
    assert!(state.aws_compiled.contains_key(READ_ONLY));
    let melvins = state
        .users
        .values()
        .find(|u| u.rec.name == "melvins")
        .unwrap();
    // Its inline policy, ci-deploy, and its group's inline policy and ReadOnlyAccess.
    assert_eq!(melvins.effective.len(), 4);
}

/// A service-linked role's AWS-managed policy (`/aws-service-role/`) attaches to no
/// user, group or role of a customer: PolicyNotAttachable, nothing attached (the
/// botocore model lists the error on the three Attach… operations).
#[tokio::test]
async fn service_role_policies_are_not_attachable() {
    let iam = user_group_and_role().await;
    let slr = enc("arn:aws:iam::aws:policy/aws-service-role/AmazonECSServiceRolePolicy");
    ok(&iam, "GetPolicy", &format!("PolicyArn={slr}")).await;
    for (attach, who, list) in [
        ("AttachUserPolicy", "UserName=u", "ListAttachedUserPolicies"),
        (
            "AttachGroupPolicy",
            "GroupName=g",
            "ListAttachedGroupPolicies",
        ),
        ("AttachRolePolicy", "RoleName=r", "ListAttachedRolePolicies"),
    ] {
        let e = err(&iam, attach, &format!("{who}&PolicyArn={slr}")).await;
        assert_eq!(
            message(
                e,
                |e| matches!(e, IamError::Modeled(m, _) if m.code == "PolicyNotAttachable")
            ),
            "Cannot attach a Service Role Policy to a Customer Role."
        );
        let xml = ok(&iam, list, who).await;
        assert!(!xml.contains("<PolicyArn>"), "{xml}");
    }
    let xml = ok(&iam, "GetPolicy", &format!("PolicyArn={slr}")).await;
    assert!(
        xml.contains("<AttachmentCount>0</AttachmentCount>"),
        "{xml}"
    );
}
