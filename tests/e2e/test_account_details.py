"""The account-wide views with boto3 and the aws CLI: GetAccountAuthorizationDetails
(every filter, paging through boto3's paginator and the CLI, every nested shape of
the botocore model parsed with its fields, documents URL-encoded as AWS's and decoded
by botocore), GetAccountSummary's counts and quotas, GetContextKeysForPrincipalPolicy
over attached managed policies."""

import json

import botocore.session
import pytest

import e2e_util as u

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
MODEL = botocore.session.get_session().get_service_model("iam")


def doc(action, condition=None):
    st = {"Effect": "Allow", "Action": action, "Resource": "*"}
    if condition:
        st["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [st]}


EC2_TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


@pytest.fixture(scope="module")
def account(iam):
    """A user in a group, a role in an instance profile, inline and attached policies,
    tags, a customer-managed policy with two versions, an unattached one, and the
    AWS-managed ReadOnlyAccess attached (the only AWS-managed policy in use)."""
    n = {k: u.uniq(k) for k in ("melvins", "buzzo", "admins", "writer", "web", "deploy", "unused")}
    iam.create_user(UserName=n["melvins"], Tags=[{"Key": "team", "Value": "a"}])
    iam.create_user(UserName=n["buzzo"])
    iam.put_user_policy(UserName=n["melvins"], PolicyName="houdini",
                        PolicyDocument=json.dumps(doc("s3:GetObject")))
    iam.create_group(GroupName=n["admins"])
    iam.add_user_to_group(GroupName=n["admins"], UserName=n["melvins"])
    iam.put_group_policy(GroupName=n["admins"], PolicyName="all", PolicyDocument=json.dumps(doc("*")))
    deploy = iam.create_policy(PolicyName=n["deploy"], Path="/ci/", Description="ci deploys",
                               PolicyDocument=json.dumps(doc("s3:GetObject")))["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=deploy, SetAsDefault=True,
                              PolicyDocument=json.dumps(doc("s3:PutObject", {
                                  "StringEquals": {"aws:PrincipalTag/team": "a"}})))
    iam.create_policy(PolicyName=n["unused"], PolicyDocument=json.dumps(doc("s3:ListBucket")))
    iam.attach_user_policy(UserName=n["melvins"], PolicyArn=READ_ONLY)
    iam.attach_group_policy(GroupName=n["admins"], PolicyArn=deploy)
    iam.create_role(RoleName=n["writer"], AssumeRolePolicyDocument=json.dumps(EC2_TRUST),
                    Tags=[{"Key": "tier", "Value": "web"}])
    iam.put_role_policy(RoleName=n["writer"], PolicyName="w", PolicyDocument=json.dumps(doc("s3:*")))
    iam.attach_role_policy(RoleName=n["writer"], PolicyArn=deploy)
    iam.create_instance_profile(InstanceProfileName=n["web"])
    iam.add_role_to_instance_profile(InstanceProfileName=n["web"], RoleName=n["writer"])
    n["deploy_arn"] = deploy
    return n


def fields(shape_name, exempt=()):
    return set(MODEL.shape_for(shape_name).members) - set(exempt)


def has_fields(item, shape_name, exempt=()):
    missing = fields(shape_name, exempt) - set(item)
    assert not missing, f"{shape_name} lacks {missing}: {item}"


def by_name(items, key):
    return {x[key]: x for x in items}


def test_every_shape_and_relationship(iam, account):
    d = iam.get_account_authorization_details()
    assert d["IsTruncated"] is False and "Marker" not in d
    users = by_name(d["UserDetailList"], "UserName")
    groups = by_name(d["GroupDetailList"], "GroupName")
    roles = by_name(d["RoleDetailList"], "RoleName")
    policies = by_name(d["Policies"], "Arn")
    assert {account["melvins"], account["buzzo"]} <= set(users)

    m = users[account["melvins"]]
    # No boundary yet: every other member of UserDetail is there.
    has_fields(m, "UserDetail", exempt=["PermissionsBoundary"])
    assert m["Arn"] == u.user_arn(account["melvins"]) and m["Path"] == "/"
    assert m["UserId"] == iam.get_user(UserName=account["melvins"])["User"]["UserId"]
    # botocore decodes the URL-encoded documents (policyDocumentType) back to JSON.
    assert m["UserPolicyList"] == [{"PolicyName": "houdini", "PolicyDocument": doc("s3:GetObject")}]
    assert m["GroupList"] == [account["admins"]]
    assert m["AttachedManagedPolicies"] == [{"PolicyName": "ReadOnlyAccess", "PolicyArn": READ_ONLY}]
    assert m["Tags"] == [{"Key": "team", "Value": "a"}]
    b = users[account["buzzo"]]
    assert (b["UserPolicyList"], b["GroupList"], b["AttachedManagedPolicies"], b["Tags"]) == ([], [], [], [])

    g = groups[account["admins"]]
    has_fields(g, "GroupDetail")
    assert g["GroupPolicyList"] == [{"PolicyName": "all", "PolicyDocument": doc("*")}]
    assert g["AttachedManagedPolicies"] == [{"PolicyName": account["deploy"], "PolicyArn": account["deploy_arn"]}]

    r = roles[account["writer"]]
    has_fields(r, "RoleDetail", exempt=["PermissionsBoundary"])
    assert r["AssumeRolePolicyDocument"] == EC2_TRUST
    assert r["RolePolicyList"] == [{"PolicyName": "w", "PolicyDocument": doc("s3:*")}]
    assert r["AttachedManagedPolicies"] == [{"PolicyName": account["deploy"], "PolicyArn": account["deploy_arn"]}]
    assert r["Tags"] == [{"Key": "tier", "Value": "web"}]
    assert r["RoleLastUsed"] == {}
    [ip] = r["InstanceProfileList"]
    has_fields(ip, "InstanceProfile", exempt=["Tags"])
    assert ip["InstanceProfileName"] == account["web"]
    assert [x["RoleName"] for x in ip["Roles"]] == [account["writer"]]
    assert ip["Roles"][0]["AssumeRolePolicyDocument"] == EC2_TRUST
    assert ip == iam.get_instance_profile(InstanceProfileName=account["web"])["InstanceProfile"]

    p = policies[account["deploy_arn"]]
    has_fields(p, "ManagedPolicyDetail")
    assert (p["Path"], p["Description"], p["DefaultVersionId"]) == ("/ci/", "ci deploys", "v2")
    assert (p["AttachmentCount"], p["PermissionsBoundaryUsageCount"], p["IsAttachable"]) == (2, 0, True)
    versions = p["PolicyVersionList"]
    for v in versions:
        has_fields(v, "PolicyVersion")
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in versions] == [("v2", True), ("v1", False)]
    assert versions[0]["Document"] == doc("s3:PutObject", {"StringEquals": {"aws:PrincipalTag/team": "a"}})
    assert versions[1]["Document"] == doc("s3:GetObject")
    got = iam.get_policy(PolicyArn=account["deploy_arn"])["Policy"]
    for k in ("PolicyName", "PolicyId", "Arn", "Path", "DefaultVersionId", "AttachmentCount", "CreateDate", "UpdateDate"):
        assert p[k] == got[k], k

    # AWS-managed: only the one attached, with its default version's document.
    aws_managed = [a for a in policies if a.startswith("arn:aws:iam::aws:policy/")]
    assert aws_managed == [READ_ONLY]
    ro = policies[READ_ONLY]
    has_fields(ro, "ManagedPolicyDetail", exempt=["Description"])
    assert ro["AttachmentCount"] == 1
    [v] = ro["PolicyVersionList"]
    assert v["IsDefaultVersion"] and v["VersionId"] == ro["DefaultVersionId"]
    want = iam.get_policy_version(PolicyArn=READ_ONLY, VersionId=ro["DefaultVersionId"])["PolicyVersion"]
    assert v["Document"] == want["Document"]
    # The unattached customer-managed policy is listed too.
    unused = [x for x in d["Policies"] if x["PolicyName"] == account["unused"]]
    assert len(unused) == 1 and unused[0]["AttachmentCount"] == 0


@pytest.mark.parametrize("filters,lists", [
    (["User"], {"UserDetailList"}),
    (["Group"], {"GroupDetailList"}),
    (["Role"], {"RoleDetailList"}),
    (["LocalManagedPolicy"], {"Policies"}),
    (["AWSManagedPolicy"], {"Policies"}),
    (["User", "Role"], {"UserDetailList", "RoleDetailList"}),
    (["Group", "LocalManagedPolicy", "AWSManagedPolicy"], {"GroupDetailList", "Policies"}),
])
def test_filters(iam, account, filters, lists):
    d = iam.get_account_authorization_details(Filter=filters)
    everything = iam.get_account_authorization_details()
    for name in ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"):
        if name not in lists:
            assert d[name] == [], name
    for name in lists - {"Policies"}:
        assert d[name] == everything[name], name
    if "Policies" in lists:
        aws = {p["Arn"] for p in d["Policies"] if p["Arn"].startswith("arn:aws:iam::aws:")}
        local = {p["Arn"] for p in d["Policies"]} - aws
        assert (aws == {READ_ONLY}) == ("AWSManagedPolicy" in filters)
        assert (account["deploy_arn"] in local) == ("LocalManagedPolicy" in filters)
        if "AWSManagedPolicy" not in filters:
            assert not aws


def test_invalid_filter(iam_raw):
    with u.aws_error("ValidationError", 400, message=u.validation_message(
            "Users", "filter.1.member",
            "Member must satisfy enum value set: [User, Role, Group, LocalManagedPolicy, AWSManagedPolicy]")):
        iam_raw.get_account_authorization_details(Filter=["Users"])


def entity_ids(page):
    return ([x["UserId"] for x in page["UserDetailList"]] + [x["GroupId"] for x in page["GroupDetailList"]]
            + [x["RoleId"] for x in page["RoleDetailList"]] + [x["Arn"] for x in page["Policies"]])


def test_paging_counts_every_kind(iam, account):
    everything = entity_ids(iam.get_account_authorization_details())
    assert len(everything) >= 7
    seen, marker, pages = [], None, 0
    while True:
        kw = {"MaxItems": 2} | ({"Marker": marker} if marker else {})
        page = iam.get_account_authorization_details(**kw)
        got = entity_ids(page)
        pages += 1
        assert len(got) <= 2
        seen += got
        if not page["IsTruncated"]:
            assert "Marker" not in page
            break
        assert len(got) == 2
        marker = page["Marker"]
    assert seen == everything
    assert pages == (len(everything) + 1) // 2
    # boto3's paginator walks the same.
    paged = iam.get_paginator("get_account_authorization_details").paginate(
        Filter=["User", "Group", "Role", "LocalManagedPolicy", "AWSManagedPolicy"],
        PaginationConfig={"PageSize": 3})
    assert [i for p in paged for i in entity_ids(p)] == everything


def test_cli_get_account_authorization_details(server, account):
    d = json.loads(u.run_aws(server, "iam", "get-account-authorization-details").stdout)
    assert account["melvins"] in {x["UserName"] for x in d["UserDetailList"]}
    assert account["writer"] in {x["RoleName"] for x in d["RoleDetailList"]}
    role = [x for x in d["RoleDetailList"] if x["RoleName"] == account["writer"]][0]
    assert role["AssumeRolePolicyDocument"] == EC2_TRUST
    assert role["InstanceProfileList"][0]["InstanceProfileName"] == account["web"]
    # The CLI pages by itself (page size 1 here) and joins the pages.
    joined = json.loads(u.run_aws(server, "iam", "get-account-authorization-details",
                                  "--filter", "User", "LocalManagedPolicy", "--page-size", "1").stdout)
    assert {x["UserName"] for x in joined["UserDetailList"]} == {x["UserName"] for x in d["UserDetailList"]}
    assert joined["GroupDetailList"] == [] and joined["RoleDetailList"] == []
    local = {p["Arn"] for p in d["Policies"] if not p["Arn"].startswith("arn:aws:iam::aws:")}
    assert {p["Arn"] for p in joined["Policies"]} == local


def test_account_summary(iam, account):
    m = iam.get_account_summary()["SummaryMap"]
    assert set(m) == set(MODEL.shape_for("summaryKeyType").enum)
    users = iam.get_paginator("list_users").paginate()
    assert m["Users"] == sum(len(p["Users"]) for p in users)
    assert m["Groups"] == sum(len(p["Groups"]) for p in iam.get_paginator("list_groups").paginate())
    assert m["Roles"] == sum(len(p["Roles"]) for p in iam.get_paginator("list_roles").paginate())
    assert m["InstanceProfiles"] == sum(
        len(p["InstanceProfiles"]) for p in iam.get_paginator("list_instance_profiles").paginate())
    local = [p for page in iam.get_paginator("list_policies").paginate(Scope="Local") for p in page["Policies"]]
    assert m["Policies"] == len(local)
    versions = sum(len(iam.list_policy_versions(PolicyArn=p["Arn"])["Versions"]) for p in local)
    attached_aws = [p for page in iam.get_paginator("list_policies").paginate(Scope="AWS", OnlyAttached=True)
                    for p in page["Policies"]]
    assert m["PolicyVersionsInUse"] == versions + len(attached_aws)
    for k, v in {
        "UsersQuota": 5000, "GroupsQuota": 300, "RolesQuota": 1000, "InstanceProfilesQuota": 1000,
        "PoliciesQuota": 1500, "PolicySizeQuota": 6144, "PolicyVersionsInUseQuota": 10000,
        "VersionsPerPolicyQuota": 5, "AttachedPoliciesPerUserQuota": 10,
        "AttachedPoliciesPerGroupQuota": 10, "AttachedPoliciesPerRoleQuota": 10,
        "GroupsPerUserQuota": 10, "AccessKeysPerUserQuota": 2, "UserPolicySizeQuota": 2048,
        "GroupPolicySizeQuota": 5120, "RolePolicySizeQuota": 10240, "AssumeRolePolicySizeQuota": 2048,
        "ServerCertificatesQuota": 20, "SigningCertificatesPerUserQuota": 2,
        "AccountMFAEnabled": 0, "AccountPasswordPresent": 0, "MFADevices": 0, "Providers": 0,
    }.items():
        assert m[k] == v, k
    # A new user counts at once.
    extra = u.uniq("extra")
    iam.create_user(UserName=extra)
    assert iam.get_account_summary()["SummaryMap"]["Users"] == m["Users"] + 1
    iam.delete_user(UserName=extra)


def test_context_keys_cover_attached_policies(iam, account):
    """deploy's default version (attached to admins and writer) has a condition key;
    melvins gets it through admins."""
    for arn in (u.user_arn(account["melvins"]), u.group_arn(account["admins"]),
                iam.get_role(RoleName=account["writer"])["Role"]["Arn"]):
        keys = iam.get_context_keys_for_principal_policy(PolicySourceArn=arn)["ContextKeyNames"]
        assert "aws:PrincipalTag/team" in keys, (arn, keys)
    keys = iam.get_context_keys_for_principal_policy(
        PolicySourceArn=u.user_arn(account["buzzo"]))["ContextKeyNames"]
    assert "aws:PrincipalTag/team" not in keys
