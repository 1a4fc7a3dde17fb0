"""Roles, instance profiles and service-linked roles against the real binary, with
boto3 and the aws CLI: AWS's shapes, errors and quotas, trust policies bound to the
principals' unique ids, and a restart that keeps it all."""

import json
import urllib.parse

import pytest

import e2e_util as u

run_aws = u.run_aws


def j(p):
    return json.loads(p.stdout)


EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def trusting(arn):
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": arn}, "Action": "sts:AssumeRole"}],
    }


def account_of(iam):
    return iam.get_user()["User"]["Arn"].split(":")[4]


def test_role_lifecycle_with_boto3(iam, iam_raw):
    acct = account_of(iam)
    name = u.uniq("web")
    r = iam.create_role(
        RoleName=name, Path="/app/", AssumeRolePolicyDocument=json.dumps(EC2_TRUST),
        Description="serves", Tags=[{"Key": "team", "Value": "web"}],
    )["Role"]
    assert r["Arn"] == f"arn:aws:iam::{acct}:role/app/{name}"
    assert r["RoleId"].startswith("AROA") and len(r["RoleId"]) == 21
    # boto3 decodes the URL-encoded document into a dict.
    assert r["AssumeRolePolicyDocument"] == EC2_TRUST
    got = iam.get_role(RoleName=name.upper())["Role"]
    assert got["RoleName"] == name and got["MaxSessionDuration"] == 3600
    assert got["RoleLastUsed"] == {}
    assert got["Tags"] == [{"Key": "team", "Value": "web"}]
    with u.aws_error("EntityAlreadyExists", 409, f"Role with name {name.upper()} already exists."):
        iam.create_role(RoleName=name.upper(), AssumeRolePolicyDocument=json.dumps(EC2_TRUST))
    with u.aws_error("NoSuchEntity", 404, "The role with name nobody-here cannot be found."):
        iam.get_role(RoleName="nobody-here")
    with u.aws_error("MalformedPolicyDocument", 400):
        iam.create_role(RoleName=u.uniq("bad"), AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    big = dict(EC2_TRUST)
    big["Statement"] = [dict(EC2_TRUST["Statement"][0], Condition={"StringEquals": {"sts:ExternalId": "x" * 2000}})]
    with u.aws_error("LimitExceeded", 409, "Cannot exceed quota for ACLSizePerRole: 2048"):
        iam.create_role(RoleName=u.uniq("big"), AssumeRolePolicyDocument=json.dumps(big))
    with u.aws_error("NoSuchEntity", 404, f"Scope ARN: arn:aws:iam::{acct}:policy/none does not exist or is not attachable."):
        iam.create_role(RoleName=u.uniq("b"), AssumeRolePolicyDocument=json.dumps(EC2_TRUST),
                        PermissionsBoundary=f"arn:aws:iam::{acct}:policy/none")
    iam.update_role(RoleName=name, MaxSessionDuration=43200)
    desc = iam.update_role_description(RoleName=name, Description="new")["Role"]
    assert desc["Description"] == "new" and desc["MaxSessionDuration"] == 43200
    for value, bound in ((3599, "greater than or equal to 3600"), (43201, "less than or equal to 43200")):
        with u.aws_error("ValidationError", 400, u.validation_message(
                str(value), "maxSessionDuration", f"Member must have value {bound}")):
            iam_raw.update_role(RoleName=name, MaxSessionDuration=value)
    listed = iam.list_roles(PathPrefix="/app/")["Roles"]
    assert [x["RoleName"] for x in listed] == [name]
    # Inline policies (10,240 bytes per role) and tags.
    pol = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                   "Resource": "arn:aws:s3:::" + "x" * 4500}]}
    iam.put_role_policy(RoleName=name, PolicyName="p1", PolicyDocument=json.dumps(pol))
    iam.put_role_policy(RoleName=name, PolicyName="p2", PolicyDocument=json.dumps(pol))
    with u.aws_error("LimitExceeded", 409, f"Maximum policy size of 10240 bytes exceeded for role {name}"):
        iam.put_role_policy(RoleName=name, PolicyName="p3", PolicyDocument=json.dumps(pol))
    assert iam.get_role_policy(RoleName=name, PolicyName="p1")["PolicyDocument"] == pol
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == ["p1", "p2"]
    with u.aws_error("DeleteConflict", 409, "Cannot delete entity, must delete policies first."):
        iam.delete_role(RoleName=name)
    iam.delete_role_policy(RoleName=name, PolicyName="p1")
    iam.delete_role_policy(RoleName=name, PolicyName="p2")
    with u.aws_error("NoSuchEntity", 404, "The role policy with name p1 cannot be found."):
        iam.get_role_policy(RoleName=name, PolicyName="p1")
    iam.tag_role(RoleName=name, Tags=[{"Key": "TEAM", "Value": "ops"}])
    assert iam.list_role_tags(RoleName=name)["Tags"] == [{"Key": "TEAM", "Value": "ops"}]
    iam.untag_role(RoleName=name, TagKeys=["team"])
    assert iam.list_role_tags(RoleName=name)["Tags"] == []
    summary = iam.get_account_summary()["SummaryMap"]
    assert summary["Roles"] >= 1 and summary["RolesQuota"] == 1000
    iam.delete_role(RoleName=name)
    with u.aws_error("NoSuchEntity", 404):
        iam.get_role(RoleName=name)


def test_roles_are_listed_in_name_order_with_paging(iam):
    prefix = "/" + u.uniq("p") + "/"
    names = [u.uniq(n) for n in ("c", "a", "b")]
    for n in names:
        iam.create_role(RoleName=n, Path=prefix, AssumeRolePolicyDocument=json.dumps(EC2_TRUST))
    seen, marker = [], None
    while True:
        kw = {"Marker": marker} if marker else {}
        page = iam.list_roles(PathPrefix=prefix, MaxItems=2, **kw)
        seen += [r["RoleName"] for r in page["Roles"]]
        if not page["IsTruncated"]:
            break
        marker = page["Marker"]
    assert seen == sorted(names, key=str.lower)
    paginated = [r["RoleName"] for p in iam.get_paginator("list_roles").paginate(PathPrefix=prefix, PaginationConfig={"PageSize": 1}) for r in p["Roles"]]
    assert paginated == seen


def test_instance_profiles(iam):
    role = u.uniq("ec2")
    other = u.uniq("ec2b")
    for r in (role, other):
        iam.create_role(RoleName=r, AssumeRolePolicyDocument=json.dumps(EC2_TRUST))
    prof = u.uniq("prof")
    ip = iam.create_instance_profile(InstanceProfileName=prof, Path="/web/",
                                     Tags=[{"Key": "tier", "Value": "web"}])["InstanceProfile"]
    assert ip["InstanceProfileId"].startswith("AIPA") and ip["Roles"] == []
    assert ip["Arn"].endswith(f":instance-profile/web/{prof}")
    with u.aws_error("EntityAlreadyExists", 409, f"Instance Profile {prof} already exists."):
        iam.create_instance_profile(InstanceProfileName=prof)
    with u.aws_error("NoSuchEntity", 404, "Instance Profile none-such cannot be found."):
        iam.get_instance_profile(InstanceProfileName="none-such")
    iam.add_role_to_instance_profile(InstanceProfileName=prof, RoleName=role)
    with u.aws_error("LimitExceeded", 409, "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1"):
        iam.add_role_to_instance_profile(InstanceProfileName=prof, RoleName=other)
    got = iam.get_instance_profile(InstanceProfileName=prof)["InstanceProfile"]
    assert [r["RoleName"] for r in got["Roles"]] == [role]
    assert got["Roles"][0]["AssumeRolePolicyDocument"] == EC2_TRUST
    assert [p["InstanceProfileName"] for p in iam.list_instance_profiles_for_role(RoleName=role)["InstanceProfiles"]] == [prof]
    assert prof in [p["InstanceProfileName"] for p in iam.list_instance_profiles(PathPrefix="/web/")["InstanceProfiles"]]
    assert iam.list_instance_profile_tags(InstanceProfileName=prof)["Tags"] == [{"Key": "tier", "Value": "web"}]
    iam.untag_instance_profile(InstanceProfileName=prof, TagKeys=["tier"])
    iam.tag_instance_profile(InstanceProfileName=prof, Tags=[{"Key": "k", "Value": "v"}])
    assert iam.list_instance_profile_tags(InstanceProfileName=prof)["Tags"] == [{"Key": "k", "Value": "v"}]
    with u.aws_error("DeleteConflict", 409, "Cannot delete entity, must remove roles from instance profile first."):
        iam.delete_role(RoleName=role)
    with u.aws_error("DeleteConflict", 409, "Cannot delete entity, must remove roles from instance profile first."):
        iam.delete_instance_profile(InstanceProfileName=prof)
    assert iam.get_account_summary()["SummaryMap"]["InstanceProfiles"] >= 1
    iam.remove_role_from_instance_profile(InstanceProfileName=prof, RoleName=role)
    iam.delete_instance_profile(InstanceProfileName=prof)
    iam.delete_role(RoleName=role)
    iam.delete_role(RoleName=other)


def test_add_role_to_instance_profile_needs_pass_role(iam, user_with_key, server):
    """AWS's API reference: the caller of AddRoleToInstanceProfile must be granted
    iam:PassRole on the role; iam:AssociatedResourceArn is arn:aws:ec2:*:ACCOUNT:instance/*."""
    acct = account_of(iam)
    allowed, other, prof = u.uniq("passable"), u.uniq("unpassable"), u.uniq("passprof")
    for r in (allowed, other):
        iam.create_role(RoleName=r, AssumeRolePolicyDocument=json.dumps(EC2_TRUST))
    iam.create_instance_profile(InstanceProfileName=prof)
    name, ak, sk = user_with_key("passer", policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:AddRoleToInstanceProfile", "Resource": "*"}]}))
    c = server.client("iam", ak, sk)
    with u.aws_error("AccessDenied", 403, message_re=(
            rf"User: arn:aws:iam::{acct}:user/{name} is not authorized to perform: iam:PassRole "
            rf"on resource: role {allowed} because no identity-based policy allows the iam:PassRole action")):
        c.add_role_to_instance_profile(InstanceProfileName=prof, RoleName=allowed)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:AddRoleToInstanceProfile", "Resource": "*"},
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": f"arn:aws:iam::{acct}:role/{allowed}",
         "Condition": {"ArnLike": {"iam:AssociatedResourceArn": f"arn:aws:ec2:*:{acct}:instance/*"}}}]}))
    with u.aws_error("AccessDenied", 403, message_re=rf".* iam:PassRole on resource: role {other} .*"):
        c.add_role_to_instance_profile(InstanceProfileName=prof, RoleName=other)
    c.add_role_to_instance_profile(InstanceProfileName=prof, RoleName=allowed)
    assert [r["RoleName"] for r in iam.get_instance_profile(InstanceProfileName=prof)["InstanceProfile"]["Roles"]] == [allowed]
    iam.remove_role_from_instance_profile(InstanceProfileName=prof, RoleName=allowed)


def test_service_linked_roles(iam):
    svc = "elasticbeanstalk.amazonaws.com"
    r = iam.create_service_linked_role(AWSServiceName=svc, Description="eb")["Role"]
    name = "AWSServiceRoleForElasticBeanstalk"
    assert r["RoleName"] == name and r["Path"] == f"/aws-service-role/{svc}/"
    assert r["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": [svc]}
    with u.aws_error("InvalidInput", 400, f"Service role name {name} has been taken in this account, please try a different suffix."):
        iam.create_service_linked_role(AWSServiceName=svc)
    suffixed = iam.create_service_linked_role(AWSServiceName=svc, CustomSuffix="two")["Role"]["RoleName"]
    assert suffixed == f"{name}_two"
    protected = f"Cannot perform the operation on the protected role '{name}' - this role is only modifiable by AWS"
    with u.aws_error("UnmodifiableEntity", 400, protected):
        iam.delete_role(RoleName=name)
    with u.aws_error("UnmodifiableEntity", 400, protected):
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    with u.aws_error("UnmodifiableEntity", 400, protected):
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(EC2_TRUST))
    task = iam.delete_service_linked_role(RoleName=name)["DeletionTaskId"]
    assert task.startswith(f"task/aws-service-role/{svc}/{name}/")
    assert iam.get_service_linked_role_deletion_status(DeletionTaskId=task)["Status"] == "SUCCEEDED"
    with u.aws_error("NoSuchEntity", 404):
        iam.get_role(RoleName=name)
    iam.delete_service_linked_role(RoleName=suffixed)


def test_role_story_with_the_aws_cli(server, tmp_path):
    name = u.uniq("cli-role")
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps(EC2_TRUST))
    role = j(run_aws(server, "iam", "create-role", "--role-name", name,
                     "--assume-role-policy-document", f"file://{trust}"))["Role"]
    assert role["RoleName"] == name and role["AssumeRolePolicyDocument"] == EC2_TRUST
    got = j(run_aws(server, "iam", "get-role", "--role-name", name))["Role"]
    assert got["RoleId"] == role["RoleId"]
    assert name in [r["RoleName"] for r in j(run_aws(server, "iam", "list-roles"))["Roles"]]
    pol = tmp_path / "pol.json"
    pol.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::houdini/*"}]}))
    run_aws(server, "iam", "put-role-policy", "--role-name", name, "--policy-name", "read",
            "--policy-document", f"file://{pol}")
    run_aws(server, "iam", "tag-role", "--role-name", name, "--tags", "Key=team,Value=ops")
    assert j(run_aws(server, "iam", "list-role-tags", "--role-name", name))["Tags"] == [{"Key": "team", "Value": "ops"}]
    p = run_aws(server, "iam", "delete-role", "--role-name", name, check=False)
    assert p.returncode != 0 and "DeleteConflict" in p.stderr and "must delete policies first" in p.stderr
    prof = u.uniq("cli-prof")
    run_aws(server, "iam", "create-instance-profile", "--instance-profile-name", prof)
    run_aws(server, "iam", "add-role-to-instance-profile", "--instance-profile-name", prof, "--role-name", name)
    got = j(run_aws(server, "iam", "get-instance-profile", "--instance-profile-name", prof))["InstanceProfile"]
    assert [r["RoleName"] for r in got["Roles"]] == [name]
    run_aws(server, "iam", "remove-role-from-instance-profile", "--instance-profile-name", prof, "--role-name", name)
    run_aws(server, "iam", "delete-instance-profile", "--instance-profile-name", prof)
    run_aws(server, "iam", "delete-role-policy", "--role-name", name, "--policy-name", "read")
    run_aws(server, "iam", "delete-role", "--role-name", name)
    slr = j(run_aws(server, "iam", "create-service-linked-role", "--aws-service-name", "autoscaling.amazonaws.com"))["Role"]
    assert slr["RoleName"] == "AWSServiceRoleForAutoScaling"
    task = j(run_aws(server, "iam", "delete-service-linked-role", "--role-name", slr["RoleName"]))["DeletionTaskId"]
    st = j(run_aws(server, "iam", "get-service-linked-role-deletion-status", "--deletion-task-id", task))
    assert st["Status"] == "SUCCEEDED"


@pytest.mark.process
def test_trust_binding_and_restart(fresh_server):
    s = fresh_server
    iam = s.client("iam")
    acct = account_of(iam)
    alice_arn = f"arn:aws:iam::{acct}:user/alice"
    with u.aws_error("MalformedPolicyDocument", 400, f'Invalid principal in policy: "AWS":"{alice_arn}"'):
        iam.create_role(RoleName="trusts-alice", AssumeRolePolicyDocument=json.dumps(trusting(alice_arn)))
    old_id = iam.create_user(UserName="alice")["User"]["UserId"]
    iam.create_role(RoleName="trusts-alice", AssumeRolePolicyDocument=json.dumps(trusting(alice_arn)),
                    Tags=[{"Key": "k", "Value": "v"}])
    assert iam.get_role(RoleName="trusts-alice")["Role"]["AssumeRolePolicyDocument"] == trusting(alice_arn)
    iam.create_instance_profile(InstanceProfileName="ip")
    iam.add_role_to_instance_profile(InstanceProfileName="ip", RoleName="trusts-alice")
    iam.put_role_policy(RoleName="trusts-alice", PolicyName="p", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    task = iam.create_service_linked_role(AWSServiceName="ecs.amazonaws.com")["Role"]["RoleName"]
    task = iam.delete_service_linked_role(RoleName=task)["DeletionTaskId"]
    # Alice deleted and recreated: the trust shows her old unique id.
    iam.delete_user(UserName="alice")
    new_id = iam.create_user(UserName="alice")["User"]["UserId"]
    assert new_id != old_id
    assert iam.get_role(RoleName="trusts-alice")["Role"]["AssumeRolePolicyDocument"] == trusting(old_id)
    listed = [r for r in iam.list_roles()["Roles"] if r["RoleName"] == "trusts-alice"]
    assert listed[0]["AssumeRolePolicyDocument"] == trusting(old_id)
    before = iam.get_role(RoleName="trusts-alice")["Role"]

    s.restart()
    iam = s.client("iam")
    after = iam.get_role(RoleName="trusts-alice")["Role"]
    assert after == before
    assert after["AssumeRolePolicyDocument"] == trusting(old_id)
    assert after["Tags"] == [{"Key": "k", "Value": "v"}]
    assert iam.list_role_policies(RoleName="trusts-alice")["PolicyNames"] == ["p"]
    ip = iam.get_instance_profile(InstanceProfileName="ip")["InstanceProfile"]
    assert [r["RoleName"] for r in ip["Roles"]] == ["trusts-alice"]
    assert iam.get_service_linked_role_deletion_status(DeletionTaskId=task)["Status"] == "SUCCEEDED"
    # Saving the trust again binds the new alice; a restart keeps that too.
    iam.update_assume_role_policy(RoleName="trusts-alice", PolicyDocument=json.dumps(trusting(alice_arn)))
    assert iam.get_role(RoleName="trusts-alice")["Role"]["AssumeRolePolicyDocument"] == trusting(alice_arn)
    s.restart()
    iam = s.client("iam")
    assert iam.get_role(RoleName="trusts-alice")["Role"]["AssumeRolePolicyDocument"] == trusting(alice_arn)
    summary = iam.get_account_summary()["SummaryMap"]
    assert (summary["Roles"], summary["InstanceProfiles"]) == (1, 1)


def test_tag_conditions_guard_roles(iam, user_with_key, server):
    """aws:ResourceTag of a role, aws:RequestTag on CreateRole, end to end."""
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "iam:*", "Resource": "*",
         "Condition": {"StringEquals": {"aws:ResourceTag/env": "prod"}}},
        {"Effect": "Deny", "Action": "iam:CreateRole", "Resource": "*",
         "Condition": {"StringEquals": {"aws:RequestTag/env": "prod"}}},
    ]}
    name, ak, sk = user_with_key("roles-dev", policy=json.dumps(policy))
    dev = server.client("iam", ak=ak, sk=sk)
    prod = u.uniq("prod")
    iam.create_role(RoleName=prod, AssumeRolePolicyDocument=json.dumps(EC2_TRUST),
                    Tags=[{"Key": "env", "Value": "prod"}])
    acct = account_of(iam)
    with u.aws_error("AccessDenied", 403,
                     f"User: arn:aws:iam::{acct}:user/{name} is not authorized to perform: iam:DeleteRole on resource: role {prod} with an explicit deny in an identity-based policy"):
        dev.delete_role(RoleName=prod)
    with u.aws_error("AccessDenied", 403):
        dev.create_role(RoleName=u.uniq("x"), AssumeRolePolicyDocument=json.dumps(EC2_TRUST),
                        Tags=[{"Key": "env", "Value": "prod"}])
    mine = u.uniq("dev")
    dev.create_role(RoleName=mine, AssumeRolePolicyDocument=json.dumps(EC2_TRUST))
    dev.delete_role(RoleName=mine)
    iam.delete_role(RoleName=prod)
