"""Managed policies against the real binary, with boto3 and the aws CLI:
customer-managed policies and their versions, the AWS-managed catalogue
(`ReadOnlyAccess` attached: the user can list users but not create one),
attachments deciding the next request, AWS's delete conflicts and quotas, and a
restart that keeps it all."""

import json
import urllib.parse

import pytest

import e2e_util as u

run_aws = u.run_aws

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def j(p):
    return json.loads(p.stdout)


def allow(*actions):
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}


def account_of(iam):
    return iam.get_user()["User"]["Arn"].split(":")[4]


def test_customer_managed_policy_lifecycle_with_boto3(iam):
    acct = account_of(iam)
    name = u.uniq("pol")
    p = iam.create_policy(PolicyName=name, Path="/ci/", PolicyDocument=json.dumps(allow("s3:GetObject")),
                          Description="reads", Tags=[{"Key": "team", "Value": "ci"}])["Policy"]
    arn = f"arn:aws:iam::{acct}:policy/ci/{name}"
    assert p["Arn"] == arn and p["PolicyId"].startswith("ANPA") and len(p["PolicyId"]) == 21
    assert (p["DefaultVersionId"], p["AttachmentCount"], p["IsAttachable"]) == ("v1", 0, True)
    got = iam.get_policy(PolicyArn=arn)["Policy"]
    assert got["Description"] == "reads" and got["Tags"] == [{"Key": "team", "Value": "ci"}]
    with u.aws_error("EntityAlreadyExists", 409,
                     f"A policy called {name.upper()} already exists. Duplicate names are not allowed."):
        iam.create_policy(PolicyName=name.upper(), PolicyDocument=json.dumps(allow("s3:*")))
    with u.aws_error("MalformedPolicyDocument", 400):
        iam.create_policy(PolicyName=u.uniq("bad"), PolicyDocument=json.dumps(
            {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    big = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::" + "x" * 6200}]}
    with u.aws_error("LimitExceeded", 409, "Cannot exceed quota for PolicySize: 6144"):
        iam.create_policy(PolicyName=u.uniq("big"), PolicyDocument=json.dumps(big))
    with u.aws_error("NoSuchEntity", 404, f"Policy arn:aws:iam::{acct}:policy/nope was not found."):
        iam.get_policy(PolicyArn=f"arn:aws:iam::{acct}:policy/nope")
    # Versions: five at most, newest first, documents URL-encoded on the wire.
    for i in range(2, 6):
        v = iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(allow(f"s3:Get{i}")))["PolicyVersion"]
        assert (v["VersionId"], v["IsDefaultVersion"]) == (f"v{i}", False)
    with u.aws_error("LimitExceeded", 409, "A managed policy can have up to 5 versions. Before you create a new "
                     "version, you must delete an existing version."):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(allow("s3:*")))
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [v["VersionId"] for v in versions] == ["v5", "v4", "v3", "v2", "v1"]
    v3 = iam.get_policy_version(PolicyArn=arn, VersionId="v3")["PolicyVersion"]
    assert v3["Document"] == allow("s3:Get3") and v3["IsDefaultVersion"] is False
    with u.aws_error("DeleteConflict", 409, "Cannot delete the default version of a policy."):
        iam.delete_policy_version(PolicyArn=arn, VersionId="v1")
    with u.aws_error("DeleteConflict", 409, "This policy has more than one version. Before you delete a policy, "
                     "you must delete the policy's versions. The default version is deleted with the policy."):
        iam.delete_policy(PolicyArn=arn)
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v5")
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v5"
    for v in ["v1", "v2", "v3", "v4"]:
        iam.delete_policy_version(PolicyArn=arn, VersionId=v)
    # Tags.
    iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "env", "Value": "prod"}])
    iam.untag_policy(PolicyArn=arn, TagKeys=["TEAM"])
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == [{"Key": "env", "Value": "prod"}]
    local = [x["Arn"] for x in iam.list_policies(Scope="Local", PathPrefix="/ci/")["Policies"]]
    assert arn in local
    iam.delete_policy(PolicyArn=arn)
    with u.aws_error("NoSuchEntity", 404):
        iam.get_policy(PolicyArn=arn)


def test_aws_managed_catalogue(iam):
    got = iam.get_policy(PolicyArn=READ_ONLY)["Policy"]
    assert got["PolicyName"] == "ReadOnlyAccess" and got["PolicyId"].startswith("ANPA")
    assert got["PolicyId"] == iam.get_policy(PolicyArn=READ_ONLY)["Policy"]["PolicyId"]
    doc = iam.get_policy_version(PolicyArn=READ_ONLY, VersionId=got["DefaultVersionId"])["PolicyVersion"]["Document"]
    assert doc["Version"] == "2012-10-17"
    versions = iam.list_policy_versions(PolicyArn=READ_ONLY)["Versions"]
    assert versions[0]["IsDefaultVersion"] and len(versions) > 1
    older = iam.get_policy_version(PolicyArn=READ_ONLY, VersionId=versions[1]["VersionId"])["PolicyVersion"]
    assert older["IsDefaultVersion"] is False
    names = []
    for page in iam.get_paginator("list_policies").paginate(Scope="AWS"):
        names += [p["PolicyName"] for p in page["Policies"]]
    assert len(names) > 1500 and "AdministratorAccess" in names and names == sorted(names)
    for call in [
        lambda: iam.delete_policy(PolicyArn=READ_ONLY),
        lambda: iam.create_policy_version(PolicyArn=READ_ONLY, PolicyDocument=json.dumps(allow("*"))),
        lambda: iam.set_default_policy_version(PolicyArn=READ_ONLY, VersionId="v1"),
        lambda: iam.tag_policy(PolicyArn=READ_ONLY, Tags=[{"Key": "k", "Value": "v"}]),
    ]:
        with u.aws_error("AccessDenied", 403, message_re=r"User: arn:aws:iam::\d{12}:root is not authorized to "
                         r"perform: iam:\w+ on resource: policy arn:aws:iam::aws:policy/ReadOnlyAccess"):
            call()


def test_attachments_decide_the_next_request(iam, server, user_with_key):
    name, ak, sk = user_with_key("reader")
    me = server.client("iam", ak=ak, sk=sk)
    with u.aws_error("AccessDenied", 403):
        me.list_users()
    iam.attach_user_policy(UserName=name, PolicyArn=READ_ONLY)
    assert name in [x["UserName"] for x in me.list_users()["Users"]]
    with u.aws_error("AccessDenied", 403):
        me.create_user(UserName=u.uniq("nope"))
    attached = iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]
    assert attached == [{"PolicyName": "ReadOnlyAccess", "PolicyArn": READ_ONLY}]
    ents = iam.list_entities_for_policy(PolicyArn=READ_ONLY)
    assert name in [x["UserName"] for x in ents["PolicyUsers"]]
    keyless = u.uniq("keyless")
    iam.create_user(UserName=keyless)
    iam.attach_user_policy(UserName=keyless, PolicyArn=READ_ONLY)
    assert iam.get_policy(PolicyArn=READ_ONLY)["Policy"]["AttachmentCount"] >= 2
    with u.aws_error("DeleteConflict", 409, "Cannot delete entity, must detach all policies first."):
        iam.delete_user(UserName=keyless)
    iam.detach_user_policy(UserName=keyless, PolicyArn=READ_ONLY)
    iam.delete_user(UserName=keyless)
    iam.detach_user_policy(UserName=name, PolicyArn=READ_ONLY)
    with u.aws_error("AccessDenied", 403):
        me.list_users()
    with u.aws_error("NoSuchEntity", 404, f"Policy {READ_ONLY} was not found."):
        iam.detach_user_policy(UserName=name, PolicyArn=READ_ONLY)
    with u.aws_error("NoSuchEntity", 404,
                     "Policy arn:aws:iam::aws:policy/NoSuchPolicy does not exist or is not attachable."):
        iam.attach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/NoSuchPolicy")
    # Through a group, with a customer-managed policy whose default switches.
    acct = account_of(iam)
    group = u.uniq("grp")
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=name)
    pname = u.uniq("switch")
    arn = iam.create_policy(PolicyName=pname, PolicyDocument=json.dumps(allow("iam:ListUsers")))["Policy"]["Arn"]
    iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    me.list_users()
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(allow("iam:ListGroups")), SetAsDefault=True)
    with u.aws_error("AccessDenied", 403):
        me.list_users()
    me.list_groups()
    with u.aws_error("DeleteConflict", 409, "Cannot delete a policy attached to entities."):
        iam.delete_policy(PolicyArn=arn)
    iam.remove_user_from_group(GroupName=group, UserName=name)
    with u.aws_error("DeleteConflict", 409, "Cannot delete entity, must detach all policies first."):
        iam.delete_group(GroupName=group)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    assert [g["GroupName"] for g in iam.list_entities_for_policy(PolicyArn=arn)["PolicyGroups"]] == [group]
    iam.detach_group_policy(GroupName=group, PolicyArn=arn)
    iam.delete_policy_version(PolicyArn=arn, VersionId="v1")
    iam.delete_policy(PolicyArn=arn)
    iam.delete_group(GroupName=group)
    assert acct


def test_managed_policy_story_with_the_aws_cli(server, tmp_path, user_with_key):
    name, ak, sk = user_with_key("cli-reader")
    pol = tmp_path / "pol.json"
    pol.write_text(json.dumps(allow("s3:GetObject")))
    pname = u.uniq("cli-pol")
    created = j(run_aws(server, "iam", "create-policy", "--policy-name", pname,
                        "--policy-document", f"file://{pol}"))["Policy"]
    arn = created["Arn"]
    pol.write_text(json.dumps(allow("iam:ListUsers")))
    v2 = j(run_aws(server, "iam", "create-policy-version", "--policy-arn", arn,
                   "--policy-document", f"file://{pol}", "--set-as-default"))["PolicyVersion"]
    assert (v2["VersionId"], v2["IsDefaultVersion"]) == ("v2", True)
    got = j(run_aws(server, "iam", "get-policy-version", "--policy-arn", arn, "--version-id", "v2"))
    assert got["PolicyVersion"]["Document"] == allow("iam:ListUsers")
    run_aws(server, "iam", "attach-user-policy", "--user-name", name, "--policy-arn", READ_ONLY)
    listed = j(run_aws(server, "iam", "list-users", ak=ak, sk=sk))["Users"]
    assert name in [x["UserName"] for x in listed]
    p = run_aws(server, "iam", "create-user", "--user-name", u.uniq("no"), ak=ak, sk=sk, check=False)
    assert p.returncode != 0 and "AccessDenied" in p.stderr
    attached = j(run_aws(server, "iam", "list-attached-user-policies", "--user-name", name))["AttachedPolicies"]
    assert attached == [{"PolicyName": "ReadOnlyAccess", "PolicyArn": READ_ONLY}]
    keyless = u.uniq("cli-keyless")
    run_aws(server, "iam", "create-user", "--user-name", keyless)
    run_aws(server, "iam", "attach-user-policy", "--user-name", keyless, "--policy-arn", arn)
    p = run_aws(server, "iam", "delete-user", "--user-name", keyless, check=False)
    assert p.returncode != 0 and "must detach all policies first" in p.stderr
    p = run_aws(server, "iam", "delete-policy", "--policy-arn", arn, check=False)
    assert p.returncode != 0 and "Cannot delete a policy attached to entities." in p.stderr
    run_aws(server, "iam", "detach-user-policy", "--user-name", keyless, "--policy-arn", arn)
    run_aws(server, "iam", "delete-user", "--user-name", keyless)
    run_aws(server, "iam", "detach-user-policy", "--user-name", name, "--policy-arn", READ_ONLY)
    p = run_aws(server, "iam", "list-users", ak=ak, sk=sk, check=False)
    assert p.returncode != 0 and "AccessDenied" in p.stderr
    p = run_aws(server, "iam", "delete-policy", "--policy-arn", arn, check=False)
    assert p.returncode != 0 and "more than one version" in p.stderr
    run_aws(server, "iam", "delete-policy-version", "--policy-arn", arn, "--version-id", "v1")
    run_aws(server, "iam", "delete-policy", "--policy-arn", arn)


def test_role_attachments(iam):
    role = u.uniq("role")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    arns = []
    for i in range(11):
        arns.append(iam.create_policy(PolicyName=u.uniq(f"r{i}"),
                                      PolicyDocument=json.dumps(allow("s3:GetObject")))["Policy"]["Arn"])
    for arn in arns[:10]:
        iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    with u.aws_error("LimitExceeded", 409, "Cannot exceed quota for PoliciesPerRole: 10"):
        iam.attach_role_policy(RoleName=role, PolicyArn=arns[10])
    got = iam.list_attached_role_policies(RoleName=role, MaxItems=4)
    assert len(got["AttachedPolicies"]) == 4 and got["IsTruncated"]
    with u.aws_error("DeleteConflict", 409, "Cannot delete entity, must detach all policies first."):
        iam.delete_role(RoleName=role)
    for arn in arns[:10]:
        iam.detach_role_policy(RoleName=role, PolicyArn=arn)
    iam.delete_role(RoleName=role)
    for arn in arns:
        iam.delete_policy(PolicyArn=arn)


@pytest.mark.process
def test_restart_keeps_policies_versions_and_attachments(fresh_server):
    s = fresh_server
    iam = s.client("iam")
    iam.create_user(UserName="reader")
    k = iam.create_access_key(UserName="reader")["AccessKey"]
    arn = iam.create_policy(PolicyName="lister", PolicyDocument=json.dumps(allow("iam:GetUser")),
                            Tags=[{"Key": "k", "Value": "v"}])["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(allow("iam:ListGroups")), SetAsDefault=True)
    iam.attach_user_policy(UserName="reader", PolicyArn=arn)
    iam.attach_user_policy(UserName="reader", PolicyArn=READ_ONLY)
    before = iam.get_policy(PolicyArn=arn)["Policy"]
    summary = iam.get_account_summary()["SummaryMap"]
    assert (summary["Policies"], summary["PolicyVersionsInUse"]) == (1, 3)

    s.restart()
    iam = s.client("iam")
    me = s.client("iam", ak=k["AccessKeyId"], sk=k["SecretAccessKey"])
    assert iam.get_policy(PolicyArn=arn)["Policy"] == before
    assert [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]] == ["v2", "v1"]
    assert {p["PolicyArn"] for p in iam.list_attached_user_policies(UserName="reader")["AttachedPolicies"]} == {
        arn, READ_ONLY}
    assert iam.get_policy(PolicyArn=READ_ONLY)["Policy"]["AttachmentCount"] == 1
    me.list_users()
    iam.detach_user_policy(UserName="reader", PolicyArn=READ_ONLY)
    me.list_groups()
    with u.aws_error("AccessDenied", 403):
        me.list_users()
    # The next version id survives too.
    v = iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(allow("s3:*")))["PolicyVersion"]
    assert v["VersionId"] == "v3"
