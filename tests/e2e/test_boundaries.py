"""Permissions boundaries against the real binary with boto3: the four operations and
the boundary of CreateUser/CreateRole with AWS's errors, usage counts and filters,
enforcement on IAM, STS sessions and S3 (from the next request on), a restart, and
AWS's delegated-administrator pattern ("Delegating responsibility to others by using
permissions boundaries", IAM User Guide)."""

import json

import boto3
import pytest
from botocore.config import Config

import e2e_util as u

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(*actions, resource="*"):
    return {"Effect": "Allow", "Action": list(actions), "Resource": resource}


def account_of(iam):
    return iam.get_user()["User"]["Arn"].split(":")[4]


def client_for(server, iam, name):
    k = iam.create_access_key(UserName=name)["AccessKey"]
    return lambda service: server.client(service, ak=k["AccessKeyId"], sk=k["SecretAccessKey"])


def denied(fn, *args, **kw):
    with pytest.raises(Exception) as e:
        fn(*args, **kw)
    assert e.value.response["Error"]["Code"] == "AccessDenied", e.value.response
    return e.value.response["Error"]["Message"]


def test_operations_and_errors(iam, iam_raw):
    acct = account_of(iam)
    pname = u.uniq("bnd")
    parn = iam.create_policy(PolicyName=pname, PolicyDocument=doc(allow("s3:*")))["Policy"]["Arn"]
    name = u.uniq("u")
    created = iam.create_user(UserName=name, PermissionsBoundary=parn)["User"]
    want = {"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": parn}
    assert created["PermissionsBoundary"] == want
    assert iam.get_user(UserName=name)["User"]["PermissionsBoundary"] == want
    assert all("PermissionsBoundary" not in x for x in iam.list_users()["Users"])
    p = iam.get_policy(PolicyArn=parn)["Policy"]
    assert (p["PermissionsBoundaryUsageCount"], p["AttachmentCount"]) == (1, 0)
    listed = iam.list_policies(Scope="Local", PolicyUsageFilter="PermissionsBoundary")["Policies"]
    assert [x["PermissionsBoundaryUsageCount"] for x in listed if x["Arn"] == parn] == [1]
    assert parn not in [x["Arn"] for x in iam.list_policies(Scope="Local", PolicyUsageFilter="PermissionsPolicy")["Policies"]]
    ents = iam.list_entities_for_policy(PolicyArn=parn, PolicyUsageFilter="PermissionsBoundary")
    assert [x["UserName"] for x in ents["PolicyUsers"]] == [name]
    assert iam.list_entities_for_policy(PolicyArn=parn, PolicyUsageFilter="PermissionsPolicy")["PolicyUsers"] == []
    with u.aws_error("DeleteConflict", 409, "Cannot delete a policy attached to entities."):
        iam.delete_policy(PolicyArn=parn)

    # Put replaces it (AWS-managed too); Delete removes it, twice without error.
    iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=READ_ONLY)
    assert iam.get_user(UserName=name)["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == READ_ONLY
    assert iam.get_policy(PolicyArn=parn)["Policy"]["PermissionsBoundaryUsageCount"] == 0
    iam.delete_user_permissions_boundary(UserName=name)
    iam.delete_user_permissions_boundary(UserName=name)
    assert "PermissionsBoundary" not in iam.get_user(UserName=name)["User"]

    # Errors.
    missing = f"arn:aws:iam::{acct}:policy/{u.uniq('none')}"
    for arn in (missing, "arn:aws:iam::aws:policy/NoSuchPolicyAtAll"):
        with u.aws_error("NoSuchEntity", 404, f"Scope ARN: {arn} does not exist or is not attachable."):
            iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=arn)
        with u.aws_error("NoSuchEntity", 404, f"Scope ARN: {arn} does not exist or is not attachable."):
            iam.create_user(UserName=u.uniq("x"), PermissionsBoundary=arn)
    bad = f"arn:aws:iam::{acct}:user/{name}"
    with u.aws_error("InvalidInput", 400, f"ARN {bad} is not valid."):
        iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=bad)
    with u.aws_error("NoSuchEntity", 404, "The user with name nobody-here cannot be found."):
        iam.put_user_permissions_boundary(UserName="nobody-here", PermissionsBoundary=parn)
    with u.aws_error("NoSuchEntity", 404, "The user with name nobody-here cannot be found."):
        iam.delete_user_permissions_boundary(UserName="nobody-here")

    # Roles.
    trust = doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})
    rname = u.uniq("r")
    role = iam.create_role(RoleName=rname, AssumeRolePolicyDocument=trust, PermissionsBoundary=parn)["Role"]
    assert role["PermissionsBoundary"] == want
    assert iam.get_role(RoleName=rname)["Role"]["PermissionsBoundary"] == want
    assert all("PermissionsBoundary" not in x for x in iam.list_roles()["Roles"])
    iam.put_role_permissions_boundary(RoleName=rname, PermissionsBoundary=READ_ONLY)
    assert iam.get_role(RoleName=rname)["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == READ_ONLY
    assert iam.get_policy(PolicyArn=READ_ONLY)["Policy"]["PermissionsBoundaryUsageCount"] >= 1
    iam.delete_role_permissions_boundary(RoleName=rname)
    assert "PermissionsBoundary" not in iam.get_role(RoleName=rname)["Role"]
    with u.aws_error("NoSuchEntity", 404, f"Scope ARN: {missing} does not exist or is not attachable."):
        iam.create_role(RoleName=u.uniq("r"), AssumeRolePolicyDocument=trust, PermissionsBoundary=missing)
    with u.aws_error("NoSuchEntity", 404, "The role with name nobody-here cannot be found."):
        iam.put_role_permissions_boundary(RoleName="nobody-here", PermissionsBoundary=parn)
    with u.aws_error("NoSuchEntity", 404, "The role with name nobody-here cannot be found."):
        iam.delete_role_permissions_boundary(RoleName="nobody-here")
    slr = iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com")["Role"]["RoleName"]
    protected = (f"Cannot perform the operation on the protected role '{slr}' - "
                 "this role is only modifiable by AWS")
    with u.aws_error("UnmodifiableEntity", 400, protected):
        iam.put_role_permissions_boundary(RoleName=slr, PermissionsBoundary=parn)
    with u.aws_error("UnmodifiableEntity", 400, protected):
        iam.delete_role_permissions_boundary(RoleName=slr)
    # botocore's own checks off: the server's answer to a too-short ARN.
    with u.aws_error("ValidationError", 400):
        iam_raw.put_user_permissions_boundary(UserName=name, PermissionsBoundary="arn:aws")

    iam.delete_user_permissions_boundary(UserName=name)
    iam.delete_user(UserName=name)
    iam.delete_role(RoleName=rname)
    iam.delete_policy(PolicyArn=parn)


def test_enforcement_on_iam_sts_and_s3(server, iam):
    """Identity ∩ boundary on IAM, STS sessions and S3; changes apply at the next request."""
    bname = u.uniq("b")
    barn = iam.create_policy(PolicyName=bname, PolicyDocument=doc(allow("s3:*", "sts:AssumeRole")))["Policy"]["Arn"]
    name = u.uniq("u")
    iam.create_user(UserName=name, PermissionsBoundary=barn)
    iam.attach_user_policy(UserName=name, PolicyArn=ADMIN)
    c = client_for(server, iam, name)
    bucket = u.uniq("bkt").lower()
    c("s3").create_bucket(Bucket=bucket)
    c("s3").put_object(Bucket=bucket, Key="k", Body=b"x")
    msg = denied(c("iam").list_users)
    assert msg.endswith("because no permissions boundary allows the iam:ListUsers action"), msg
    # A new default version of the boundary: the very next request.
    iam.create_policy_version(PolicyArn=barn, PolicyDocument=doc(allow("iam:ListUsers")), SetAsDefault=True)
    c("iam").list_users()
    denied(c("s3").get_object, Bucket=bucket, Key="k")
    iam.set_default_policy_version(PolicyArn=barn, VersionId="v1")
    denied(c("iam").list_users)
    assert c("s3").get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"
    # A bucket policy naming the user's ARN grants despite the boundary (docs/policy-semantics.md §4.3).
    user_arn = iam.get_user(UserName=name)["User"]["Arn"]
    iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=READ_ONLY)
    denied(c("s3").put_object, Bucket=bucket, Key="k2", Body=b"y")
    server.client("s3").put_bucket_policy(Bucket=bucket, Policy=doc(
        {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "s3:PutObject",
         "Resource": f"arn:aws:s3:::{bucket}/*"}))
    c("s3").put_object(Bucket=bucket, Key="k2", Body=b"y")
    # A GetSessionToken session of the user is bounded as the user is.
    st = c("sts").get_session_token()["Credentials"]
    st_s3 = boto3.session.Session().client(
        "s3", endpoint_url=server.endpoint, region_name=u.REGION,
        aws_access_key_id=st["AccessKeyId"], aws_secret_access_key=st["SecretAccessKey"],
        aws_session_token=st["SessionToken"],
        config=Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"}))
    assert st_s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"
    server.client("s3").delete_bucket_policy(Bucket=bucket)
    denied(st_s3.put_object, Bucket=bucket, Key="k5", Body=b"y")
    iam.delete_user_permissions_boundary(UserName=name)
    st_s3.put_object(Bucket=bucket, Key="k5", Body=b"y")
    c("iam").list_users()

    # A role session: bounded by the role's boundary as it is now.
    acct = account_of(iam)
    rname = u.uniq("r")
    trust = doc({"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "sts:AssumeRole"})
    role_arn = iam.create_role(RoleName=rname, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    iam.attach_role_policy(RoleName=rname, PolicyArn=ADMIN)
    creds = c("sts").assume_role(RoleArn=role_arn, RoleSessionName="s1")["Credentials"]
    def sess(svc):
        return boto3.session.Session().client(
            svc, endpoint_url=server.endpoint, region_name=u.REGION,
            aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            config=Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"}))
    sess("s3").put_object(Bucket=bucket, Key="k3", Body=b"z")
    iam.put_role_permissions_boundary(RoleName=rname, PermissionsBoundary=READ_ONLY)
    denied(sess("s3").put_object, Bucket=bucket, Key="k4", Body=b"z")
    assert sess("s3").get_object(Bucket=bucket, Key="k3")["Body"].read() == b"z"
    # A bucket policy naming the role ARN does not lift the session's boundary…
    server.client("s3").put_bucket_policy(Bucket=bucket, Policy=doc(
        {"Effect": "Allow", "Principal": {"AWS": role_arn}, "Action": "s3:PutObject",
         "Resource": f"arn:aws:s3:::{bucket}/*"}))
    denied(sess("s3").put_object, Bucket=bucket, Key="k4", Body=b"z")
    # …one naming the session's ARN does.
    server.client("s3").put_bucket_policy(Bucket=bucket, Policy=doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:sts::{acct}:assumed-role/{rname}/s1"},
         "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*"}))
    sess("s3").put_object(Bucket=bucket, Key="k4", Body=b"z")


def test_simulator_includes_the_boundary_and_attached_policies(iam):
    name = u.uniq("u")
    barn = iam.create_policy(PolicyName=u.uniq("b"), PolicyDocument=doc(allow("s3:*")))["Policy"]["Arn"]
    iam.create_user(UserName=name, PermissionsBoundary=barn)
    iam.attach_user_policy(UserName=name, PolicyArn=ADMIN)
    arn = iam.get_user(UserName=name)["User"]["Arn"]
    res = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["s3:GetObject", "iam:ListUsers"])
    got = {r["EvalActionName"]: r for r in res["EvaluationResults"]}
    assert got["s3:GetObject"]["EvalDecision"] == "allowed"
    assert got["iam:ListUsers"]["EvalDecision"] == "implicitDeny"
    assert got["iam:ListUsers"]["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}
    # A boundary in the request replaces the user's.
    res = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["iam:ListUsers"],
                                        PermissionsBoundaryPolicyInputList=[doc(allow("iam:*"))])
    assert res["EvaluationResults"][0]["EvalDecision"] == "allowed"
    # A role: its attached policies and its boundary, as its sessions are decided.
    trust = doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})
    rname = u.uniq("r")
    rarn = iam.create_role(RoleName=rname, AssumeRolePolicyDocument=trust, PermissionsBoundary=READ_ONLY)["Role"]["Arn"]
    iam.attach_role_policy(RoleName=rname, PolicyArn=ADMIN)
    res = iam.simulate_principal_policy(PolicySourceArn=rarn, ActionNames=["iam:ListUsers", "iam:CreateUser"])
    got = {r["EvalActionName"]: r["EvalDecision"] for r in res["EvaluationResults"]}
    assert got == {"iam:ListUsers": "allowed", "iam:CreateUser": "implicitDeny"}
    acct = rarn.split(":")[4]
    with u.aws_error("NoSuchEntity", 404, "The role with name nobody-here cannot be found."):
        iam.simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{acct}:role/nobody-here",
                                      ActionNames=["iam:ListUsers"])


def test_delegated_administrator(server, iam):
    """AWS's documented pattern: the admin may create and change users only with
    boundary X, cannot edit X, cannot drop or change boundaries, cannot raise its own
    permissions; the users it creates never exceed X, even with AdministratorAccess."""
    acct = account_of(iam)
    x_name, self_name = u.uniq("XCompanyBoundaries"), u.uniq("DelegatedUserBoundary")
    x = f"arn:aws:iam::{acct}:policy/{x_name}"
    own = f"arn:aws:iam::{acct}:policy/{self_name}"
    iam.create_policy(PolicyName=x_name, PolicyDocument=doc(
        allow("s3:ListAllMyBuckets", "s3:GetObject", "iam:GetUser")))
    # The admin's own boundary: IAM only (every IAM action), no other service.
    iam.create_policy(PolicyName=self_name, PolicyDocument=doc(
        allow("iam:*")))
    admin = u.uniq("delegated-admin")
    iam.create_user(UserName=admin, PermissionsBoundary=own)
    iam.put_user_policy(UserName=admin, PolicyName="DelegatedAdmin", PolicyDocument=doc(
        {"Sid": "CreateOrChangeOnlyWithBoundary", "Effect": "Allow",
         "Action": ["iam:CreateUser", "iam:DeleteUserPolicy", "iam:AttachUserPolicy",
                    "iam:DetachUserPolicy", "iam:PutUserPermissionsBoundary", "iam:PutUserPolicy"],
         "Resource": "*", "Condition": {"StringEquals": {"iam:PermissionsBoundary": x}}},
        {"Sid": "IAMRead", "Effect": "Allow",
         "Action": ["iam:Get*", "iam:List*", "iam:CreateAccessKey", "iam:CreatePolicyVersion",
                    "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion"],
         "Resource": "*"},
        {"Sid": "NoBoundaryPolicyEdit", "Effect": "Deny",
         "Action": ["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion",
                    "iam:SetDefaultPolicyVersion"],
         "Resource": [x, own]},
        {"Sid": "NoBoundaryUserDelete", "Effect": "Deny",
         "Action": "iam:DeleteUserPermissionsBoundary", "Resource": "*"},
        # Beyond AWS's example: not even X for itself (the brief: its own boundary stays).
        {"Sid": "NoSelfBoundaryChange", "Effect": "Deny", "Action": "iam:PutUserPermissionsBoundary",
         "Resource": f"arn:aws:iam::{acct}:user/${{aws:username}}"}))
    a = client_for(server, iam, admin)("iam")
    admin_arn = iam.get_user(UserName=admin)["User"]["Arn"]

    # Cannot create a user without X, or with another boundary.
    child = u.uniq("child")
    denied(a.create_user, UserName=child)
    denied(a.create_user, UserName=child, PermissionsBoundary=READ_ONLY)
    # With X it can, and may give the user anything, AdministratorAccess included.
    a.create_user(UserName=child, PermissionsBoundary=x)
    a.attach_user_policy(UserName=child, PolicyArn=ADMIN)
    a.put_user_policy(UserName=child, PolicyName="all", PolicyDocument=doc(allow("*")))
    # It cannot remove or change the boundary of its user, nor its own.
    msg = denied(a.delete_user_permissions_boundary, UserName=child)
    assert msg == u.not_authorized(admin_arn, "iam:DeleteUserPermissionsBoundary", f"user {child}",
                                   explicit=True), msg
    denied(a.put_user_permissions_boundary, UserName=child, PermissionsBoundary=READ_ONLY)
    denied(a.delete_user_permissions_boundary, UserName=admin)
    denied(a.put_user_permissions_boundary, UserName=admin, PermissionsBoundary=x)
    # It cannot edit policy X (nor its own boundary).
    for arn in (x, own):
        denied(a.create_policy_version, PolicyArn=arn, PolicyDocument=doc(allow("*")), SetAsDefault=True)
        denied(a.set_default_policy_version, PolicyArn=arn, VersionId="v1")
        denied(a.delete_policy, PolicyArn=arn)
    # It cannot attach AdministratorAccess to itself, nor write itself a policy.
    denied(a.attach_user_policy, UserName=admin, PolicyArn=ADMIN)
    denied(a.put_user_policy, UserName=admin, PolicyName="more", PolicyDocument=doc(allow("*")))
    # Another user without X: out of its reach.
    other = u.uniq("other")
    iam.create_user(UserName=other)
    denied(a.attach_user_policy, UserName=other, PolicyArn=ADMIN)
    # The user it created cannot exceed X, AdministratorAccess notwithstanding.
    kid = client_for(server, iam, child)
    kid("iam").get_user(UserName=child)
    kid("s3").list_buckets()
    for call, kw in ((kid("iam").list_users, {}), (kid("iam").create_user, {"UserName": u.uniq("n")}),
                     (kid("iam").delete_user_permissions_boundary, {"UserName": child}),
                     (kid("iam").attach_user_policy, {"UserName": other, "PolicyArn": ADMIN})):
        msg = denied(call, **kw)
        assert "because no permissions boundary allows" in msg, msg
    denied(kid("s3").create_bucket, Bucket=u.uniq("kid").lower())
    # Nothing changed: X still bounds the user, the admin still has no more than before.
    assert iam.get_user(UserName=child)["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == x
    assert iam.list_attached_user_policies(UserName=admin)["AttachedPolicies"] == []
    assert iam.get_user(UserName=admin)["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == own
    assert iam.list_user_policies(UserName=admin)["PolicyNames"] == ["DelegatedAdmin"]
    assert [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=x)["Versions"]] == ["v1"]


@pytest.mark.process
def test_boundaries_survive_a_restart(fresh_server):
    s = fresh_server
    iam = s.client("iam")
    barn = iam.create_policy(PolicyName="b", PolicyDocument=doc(allow("iam:GetUser")))["Policy"]["Arn"]
    iam.create_user(UserName="bounded", PermissionsBoundary=barn)
    iam.attach_user_policy(UserName="bounded", PolicyArn=ADMIN)
    trust = doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=trust, PermissionsBoundary=READ_ONLY)
    k = iam.create_access_key(UserName="bounded")["AccessKey"]
    s.restart()
    iam = s.client("iam")
    me = s.client("iam", ak=k["AccessKeyId"], sk=k["SecretAccessKey"])
    assert iam.get_user(UserName="bounded")["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == barn
    assert iam.get_role(RoleName="r")["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == READ_ONLY
    assert iam.get_policy(PolicyArn=barn)["Policy"]["PermissionsBoundaryUsageCount"] == 1
    me.get_user(UserName="bounded")
    denied(me.list_users)
