"""The IAM policy simulator: SimulateCustomPolicy, SimulatePrincipalPolicy,
GetContextKeysFor*Policy, and the proof that it decides like enforcement."""

import itertools
import json

import boto3
import botocore
import botocore.config
import pytest
from botocore.exceptions import ClientError

import e2e_util as u

ACCT = u.ACCOUNT_ID


def doc(*statements, version=True):
    d = {"Statement": list(statements)}
    if version:
        d = {"Version": "2012-10-17", **d}
    return json.dumps(d, indent=2)


def allow(action, resource="*", **kw):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **kw}


def deny(action, resource="*", **kw):
    return {"Effect": "Deny", "Action": action, "Resource": resource, **kw}


def sim(iam, policies, actions, **kw):
    return iam.simulate_custom_policy(PolicyInputList=policies, ActionNames=actions, **kw)


def decisions(res):
    return [r["EvalDecision"] for r in res["EvaluationResults"]]


def text_at(document, pos):
    """The character at a 1-based (Line, Column) of a document."""
    line = document.split("\n")[pos["Line"] - 1]
    return line[pos["Column"] - 1]


def error_code(exc):
    return exc.value.response["Error"]["Code"]


# ---------------------------------------------------------------- custom policy


def test_identity_allow_explicit_and_implicit_deny(iam):
    p = doc(allow("iam:GetUser"), deny("iam:DeleteUser"))
    res = sim(iam, [p], ["iam:GetUser", "iam:DeleteUser", "iam:CreateUser"])
    assert decisions(res) == ["allowed", "explicitDeny", "implicitDeny"]
    r0, r1, r2 = res["EvaluationResults"]
    assert r0["EvalActionName"] == "iam:GetUser"
    assert r0["EvalResourceName"] == "*"
    assert r0["MatchedStatements"][0]["SourcePolicyId"] == "PolicyInputList.1"
    assert r0["MatchedStatements"][0]["SourcePolicyType"] == "IAM Policy"
    assert r1["MatchedStatements"][0]["SourcePolicyId"] == "PolicyInputList.1"
    assert r2["MatchedStatements"] == []
    assert res["IsTruncated"] is False
    # Resource "*": the missing keys are on the result; AWS returns neither
    # EvalDecisionDetails nor ResourceSpecificResults, and no Organizations detail
    # (the account is in no organization).
    for r in (r0, r1, r2):
        assert r["MissingContextValues"] == []
        for absent in ("EvalDecisionDetails", "ResourceSpecificResults", "OrganizationsDecisionDetail",
                       "PermissionsBoundaryDecisionDetail"):
            assert absent not in r, (absent, r)


def test_matched_statement_positions_point_into_the_document(iam):
    p = doc(allow("s3:ListBucket", "arn:aws:s3:::a"), allow("s3:GetObject", "arn:aws:s3:::a/*"))
    res = sim(iam, [p], ["s3:GetObject"], ResourceArns=["arn:aws:s3:::a/k"])
    (st,) = res["EvaluationResults"][0]["MatchedStatements"]
    start, end = st["StartPosition"], st["EndPosition"]
    assert text_at(p, start) == "{"
    # The end is just past the statement's closing brace.
    assert text_at(p, {"Line": end["Line"], "Column": end["Column"] - 1}) == "}"
    lines = p.split("\n")
    body = "\n".join(lines[start["Line"] - 1:end["Line"]])
    assert "s3:GetObject" in body and "s3:ListBucket" not in body


def test_second_policy_and_multiple_resources(iam):
    p1 = doc(allow("s3:GetObject", "arn:aws:s3:::one/*"))
    p2 = doc(allow("s3:GetObject", "arn:aws:s3:::two/*"))
    res = sim(iam, [p1, p2], ["s3:GetObject"],
              ResourceArns=["arn:aws:s3:::one/x", "arn:aws:s3:::two/x", "arn:aws:s3:::three/x"])
    assert decisions(res) == ["allowed", "allowed", "implicitDeny"]
    assert res["EvaluationResults"][1]["MatchedStatements"][0]["SourcePolicyId"] == "PolicyInputList.2"
    for r, arn in zip(res["EvaluationResults"], ["arn:aws:s3:::one/x", "arn:aws:s3:::two/x", "arn:aws:s3:::three/x"]):
        assert r["EvalResourceName"] == arn
        # One resource-specific result per simulated resource, with the matched statements
        # (missing context values only when there are some).
        (rsr,) = r["ResourceSpecificResults"]
        assert set(rsr) == {"EvalResourceName", "EvalResourceDecision", "MatchedStatements"}, rsr
        assert rsr["EvalResourceName"] == arn
        assert rsr["EvalResourceDecision"] == r["EvalDecision"]
        assert rsr["MatchedStatements"] == r["MatchedStatements"]
        # Same account with a resource ARN: EvalDecisionDetails is present but empty.
        assert r["EvalDecisionDetails"] == {}
        assert r["MissingContextValues"] == []
        assert "OrganizationsDecisionDetail" not in r


def test_permissions_boundary(iam):
    identity = doc(allow("iam:*"))
    boundary = doc(allow(["iam:Get*", "iam:List*"]))
    res = sim(iam, [identity], ["iam:GetUser", "iam:CreateUser"],
              PermissionsBoundaryPolicyInputList=[boundary])
    assert decisions(res) == ["allowed", "implicitDeny"]
    r0, r1 = res["EvaluationResults"]
    assert r0["PermissionsBoundaryDecisionDetail"]["AllowedByPermissionsBoundary"] is True
    assert r1["PermissionsBoundaryDecisionDetail"]["AllowedByPermissionsBoundary"] is False
    ids = {s["SourcePolicyId"] for s in r0["MatchedStatements"]}
    assert ids == {"PolicyInputList.1", "PermissionsBoundaryPolicyInputList.1"}
    assert {s["SourcePolicyType"] for s in r0["MatchedStatements"]} == {"IAM Policy"}
    # With a resource ARN the boundary detail is on the resource-specific result too.
    res = sim(iam, [identity], ["iam:CreateUser"], ResourceArns=[f"arn:aws:iam::{ACCT}:user/x"],
              PermissionsBoundaryPolicyInputList=[boundary])
    r = res["EvaluationResults"][0]
    assert r["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}
    assert r["ResourceSpecificResults"][0]["PermissionsBoundaryDecisionDetail"] == {
        "AllowedByPermissionsBoundary": False}


def test_boundary_explicit_deny(iam):
    res = sim(iam, [doc(allow("*"))], ["iam:DeleteUser"],
              PermissionsBoundaryPolicyInputList=[doc(allow("*"), deny("iam:Delete*"))])
    assert decisions(res) == ["explicitDeny"]


def test_resource_policy_cross_account_and_same_account(iam):
    caller = f"arn:aws:iam::{ACCT}:user/alice"
    bucket = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": caller}, "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::shared/*"}]})
    identity = doc(allow("s3:GetObject", "arn:aws:s3:::shared/*"))
    # Same account: the bucket policy alone grants.
    res = sim(iam, [doc(allow("iam:GetUser"))], ["s3:GetObject"], ResourceArns=["arn:aws:s3:::shared/k"],
              ResourcePolicy=bucket, CallerArn=caller, ResourceOwner=f"arn:aws:iam::{ACCT}:root")
    r = res["EvaluationResults"][0]
    assert r["EvalDecision"] == "allowed"
    assert r["MatchedStatements"][0]["SourcePolicyId"] == "ResourcePolicy"
    assert r["MatchedStatements"][0]["SourcePolicyType"] == "Resource Policy"
    # Within one account EvalDecisionDetails is present but empty.
    assert r["EvalDecisionDetails"] == {}
    assert "EvalDecisionDetails" not in r["ResourceSpecificResults"][0]
    # Without ResourceOwner the resource belongs to the caller's account: same result.
    res = sim(iam, [doc(allow("iam:GetUser"))], ["s3:GetObject"], ResourceArns=["arn:aws:s3:::shared/k"],
              ResourcePolicy=bucket, CallerArn=caller)
    assert decisions(res) == ["allowed"]
    assert res["EvaluationResults"][0]["EvalDecisionDetails"] == {}
    # Cross-account owner: both sides must allow; the details say which side decided.
    other = "arn:aws:iam::210987654321:root"
    res = sim(iam, [doc(allow("iam:GetUser"))], ["s3:GetObject"], ResourceArns=["arn:aws:s3:::shared/k"],
              ResourcePolicy=bucket, CallerArn=caller, ResourceOwner=other)
    assert decisions(res) == ["implicitDeny"]
    r = res["EvaluationResults"][0]
    details = {"IAM Policy": "implicitDeny", "Resource Policy": "allowed"}
    assert r["EvalDecisionDetails"] == details
    assert r["ResourceSpecificResults"][0]["EvalDecisionDetails"] == details
    res = sim(iam, [identity], ["s3:GetObject"], ResourceArns=["arn:aws:s3:::shared/k"],
              ResourcePolicy=bucket, CallerArn=caller, ResourceOwner=other)
    assert decisions(res) == ["allowed"]
    assert res["EvaluationResults"][0]["EvalDecisionDetails"] == {"IAM Policy": "allowed", "Resource Policy": "allowed"}
    assert {s["SourcePolicyType"] for s in res["EvaluationResults"][0]["MatchedStatements"]} == {
        "IAM Policy", "Resource Policy"}
    # A boundary limits the caller in its own account, also on a cross-account request.
    res = sim(iam, [identity], ["s3:GetObject"], ResourceArns=["arn:aws:s3:::shared/k"],
              ResourcePolicy=bucket, CallerArn=caller, ResourceOwner=other,
              PermissionsBoundaryPolicyInputList=[doc(allow("s3:*"))])
    r = res["EvaluationResults"][0]
    assert r["EvalDecision"] == "allowed"
    assert r["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": True}
    assert r["ResourceSpecificResults"][0]["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": True}
    # Cross-account without a resource policy: the identity side alone does not suffice.
    res = sim(iam, [identity], ["s3:GetObject"], ResourceArns=["arn:aws:s3:::shared/k"],
              CallerArn=caller, ResourceOwner=other)
    assert decisions(res) == ["implicitDeny"]
    assert res["EvaluationResults"][0]["EvalDecisionDetails"] == {
        "IAM Policy": "allowed", "Resource Policy": "implicitDeny"}
    # A caller the bucket policy does not name.
    res = sim(iam, [doc(allow("iam:GetUser"))], ["s3:GetObject"], ResourceArns=["arn:aws:s3:::shared/k"],
              ResourcePolicy=bucket, CallerArn=f"arn:aws:iam::{ACCT}:user/bob",
              ResourceOwner=other)
    assert decisions(res) == ["implicitDeny"]


def test_resource_policy_needs_a_user_caller(iam):
    """AWS: CallerArn is required with a ResourcePolicy unless PolicySourceArn is a user."""
    bucket = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]})
    group = u.uniq("simrp")
    garn = iam.create_group(GroupName=group)["Group"]["Arn"]
    msg = "Invalid caller - Caller must be an IAM user in this context."
    with u.aws_error("InvalidInput", 400, message=msg):
        iam.simulate_principal_policy(PolicySourceArn=garn, ActionNames=["s3:GetObject"], ResourcePolicy=bucket)
    with u.aws_error("InvalidInput", 400, message=msg):
        sim(iam, [doc(allow("iam:GetUser"))], ["s3:GetObject"], ResourcePolicy=bucket)
    # With a user as the caller the same simulations run.
    caller = f"arn:aws:iam::{ACCT}:user/alice"
    res = iam.simulate_principal_policy(PolicySourceArn=garn, ActionNames=["s3:GetObject"], ResourcePolicy=bucket,
                                        CallerArn=caller, ResourceArns=["arn:aws:s3:::b/k"])
    assert decisions(res) == ["allowed"]
    res = sim(iam, [doc(allow("iam:GetUser"))], ["s3:GetObject"], ResourcePolicy=bucket, CallerArn=caller,
              ResourceArns=["arn:aws:s3:::b/k"])
    assert decisions(res) == ["allowed"]
    # ResourceOwner is an account ARN (arn:aws:iam::ID:root); AWS's message otherwise.
    with u.aws_error("InvalidInput", 400, message="'123456789012' is not a valid as a Resource Owner."):
        sim(iam, [doc(allow("*"))], ["s3:GetObject"], ResourceOwner="123456789012")


EC2_SCENARIOS = ["EC2-VPC-InstanceStore", "EC2-VPC-InstanceStore-Subnet", "EC2-VPC-EBS", "EC2-VPC-EBS-Subnet",
                 "EC2-Classic-InstanceStore", "EC2-Classic-EBS"]


@pytest.mark.parametrize("option", EC2_SCENARIOS)
def test_resource_handling_option_scenarios(iam, new_user, option):
    """AWS's scenarios are EC2's; no IAM, STS or S3 action has one, so a simulation of
    those actions is the same with or without the option (every action on every resource,
    individually)."""
    p = doc(allow("s3:GetObject", "arn:aws:s3:::a/*"), deny("iam:DeleteUser"))
    actions = ["s3:GetObject", "iam:DeleteUser", "iam:ListUsers"]
    resources = ["arn:aws:s3:::a/k", "arn:aws:s3:::b/k"]
    plain = sim(iam, [p], actions, ResourceArns=resources)
    scenario = sim(iam, [p], actions, ResourceArns=resources, ResourceHandlingOption=option)
    assert scenario["EvaluationResults"] == plain["EvaluationResults"]
    assert decisions(scenario) == ["allowed", "implicitDeny", "explicitDeny", "explicitDeny",
                                   "implicitDeny", "implicitDeny"]
    name = new_user("rho")
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=p)
    arn = f"arn:aws:iam::{ACCT}:user/{name}"
    plain = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=actions, ResourceArns=resources)
    scenario = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=actions, ResourceArns=resources,
                                             ResourceHandlingOption=option)
    assert scenario["EvaluationResults"] == plain["EvaluationResults"]


def test_resource_handling_option_length(iam_raw):
    """The model's only constraint on ResourceHandlingOption: 1 to 64 characters."""
    p = [doc(allow("*"))]
    for value, constraint in [("", "Member must have length greater than or equal to 1"),
                              ("x" * 65, "Member must have length less than or equal to 64")]:
        with u.aws_error("ValidationError", 400,
                         message=u.validation_message(value, "resourceHandlingOption", constraint)):
            iam_raw.simulate_custom_policy(PolicyInputList=p, ActionNames=["iam:GetUser"],
                                           ResourceHandlingOption=value)
    assert decisions(iam_raw.simulate_custom_policy(PolicyInputList=p, ActionNames=["iam:GetUser"],
                                                    ResourceHandlingOption="x" * 64)) == ["allowed"]


def test_missing_context_values(iam):
    p = doc(allow("s3:GetObject", "*", Condition={
        "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
        "StringEquals": {"aws:PrincipalTag/team": "blue"}}))
    res = sim(iam, [p], ["s3:GetObject"])
    r = res["EvaluationResults"][0]
    assert r["EvalDecision"] == "implicitDeny"
    assert sorted(x.lower() for x in r["MissingContextValues"]) == ["aws:principaltag/team", "aws:sourceip"]
    res = sim(iam, [p], ["s3:GetObject"], ContextEntries=[
        {"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["10.1.2.3"], "ContextKeyType": "ip"},
        {"ContextKeyName": "aws:PrincipalTag/team", "ContextKeyValues": ["blue"], "ContextKeyType": "string"},
    ])
    r = res["EvaluationResults"][0]
    assert r["EvalDecision"] == "allowed"
    assert r["MissingContextValues"] == []
    # With resource ARNs the missing keys are reported per resource instead.
    res = sim(iam, [p], ["s3:GetObject"], ResourceArns=["arn:aws:s3:::b/k"])
    r = res["EvaluationResults"][0]
    assert r["MissingContextValues"] == []
    (rsr,) = r["ResourceSpecificResults"]
    assert sorted(x.lower() for x in rsr["MissingContextValues"]) == ["aws:principaltag/team", "aws:sourceip"]


TYPED = [
    ("string", ["blue"], "StringEquals", "blue", "red"),
    ("stringList", ["a", "b"], "ForAnyValue:StringEquals", "b", "c"),
    ("numeric", ["5"], "NumericLessThan", "10", "3"),
    ("numericList", ["5", "50"], "ForAnyValue:NumericGreaterThan", "40", "60"),
    ("boolean", ["true"], "Bool", "true", "false"),
    ("booleanList", ["true", "true"], "ForAllValues:Bool", "true", "false"),
    ("ip", ["192.0.2.7"], "IpAddress", "192.0.2.0/24", "198.51.100.0/24"),
    ("ipList", ["192.0.2.7", "10.0.0.1"], "ForAnyValue:IpAddress", "10.0.0.0/8", "172.16.0.0/12"),
    ("binary", ["aGVsbG8="], "BinaryEquals", "aGVsbG8=", "d29ybGQ="),
    ("binaryList", ["aGVsbG8=", "d29ybGQ="], "ForAnyValue:BinaryEquals", "d29ybGQ=", "Zm9v"),
    ("date", ["2030-01-01T00:00:00Z"], "DateGreaterThan", "2029-01-01T00:00:00Z", "2031-01-01T00:00:00Z"),
    ("dateList", ["2020-01-01T00:00:00Z", "2030-01-01T00:00:00Z"], "ForAnyValue:DateLessThan",
     "2021-01-01T00:00:00Z", "2019-01-01T00:00:00Z"),
]


@pytest.mark.parametrize("ty,values,op,match,nomatch", TYPED, ids=[t[0] for t in TYPED])
def test_context_entries_of_every_type(iam, ty, values, op, match, nomatch):
    entry = [{"ContextKeyName": "test:key", "ContextKeyValues": values, "ContextKeyType": ty}]
    yes = doc(allow("iam:GetUser", Condition={op: {"test:key": match}}))
    no = doc(allow("iam:GetUser", Condition={op: {"test:key": nomatch}}))
    assert decisions(sim(iam, [yes], ["iam:GetUser"], ContextEntries=entry)) == ["allowed"]
    assert decisions(sim(iam, [no], ["iam:GetUser"], ContextEntries=entry)) == ["implicitDeny"]


def test_bad_context_values_are_invalid_input(iam):
    for ty, v in [("numeric", "ten"), ("boolean", "yes"), ("ip", "300.1.1.1"), ("date", "tomorrow")]:
        with pytest.raises(ClientError) as e:
            sim(iam, [doc(allow("*"))], ["iam:GetUser"], ContextEntries=[
                {"ContextKeyName": "test:key", "ContextKeyValues": [v], "ContextKeyType": ty}])
        assert error_code(e) == "InvalidInput", ty


def test_malformed_policy_input(iam):
    for bad in ['{"Statement": [{"Effect": "Allow", "Action": "iam:GetUser"}]}',
                '{"Statement": [{"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*",'
                ' "Condition": {"StringEqualz": {"a:b": "c"}}}]}',
                "not json"]:
        with pytest.raises(ClientError) as e:
            sim(iam, [bad], ["iam:GetUser"])
        assert error_code(e) == "MalformedPolicyDocument"


def test_paging(iam):
    actions = [f"iam:{a}" for a in ["GetUser", "CreateUser", "DeleteUser", "ListUsers", "TagUser"]]
    p = doc(allow("iam:*User"))
    seen, marker = [], None
    pages = 0
    while True:
        kw = {"MaxItems": 2}
        if marker:
            kw["Marker"] = marker
        res = sim(iam, [p], actions, **kw)
        pages += 1
        seen += [r["EvalActionName"] for r in res["EvaluationResults"]]
        if not res["IsTruncated"]:
            break
        marker = res["Marker"]
    assert pages == 3
    assert seen == actions
    paginated = []
    for page in iam.get_paginator("simulate_custom_policy").paginate(
            PolicyInputList=[p], ActionNames=actions, PaginationConfig={"PageSize": 2}):
        paginated += [r["EvalDecision"] for r in page["EvaluationResults"]]
    assert paginated == ["allowed", "allowed", "allowed", "implicitDeny", "allowed"]


def test_get_context_keys_for_custom_policy(iam):
    p = doc(allow("s3:GetObject", "arn:aws:s3:::b/${aws:username}/*", Condition={
        "StringEquals": {"aws:PrincipalTag/Team": "x"}, "Bool": {"aws:SecureTransport": "true"}}))
    keys = iam.get_context_keys_for_custom_policy(PolicyInputList=[p])["ContextKeyNames"]
    assert {k.lower() for k in keys} == {"aws:username", "aws:principaltag/team", "aws:securetransport"}


# ---------------------------------------------------------------- principal policy


def test_simulate_principal_policy_user_and_groups(iam, new_user):
    name = new_user("simuser")
    group = u.uniq("simgroup")
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=name)
    own = doc(allow("iam:GetUser"))
    grp = doc(deny("iam:DeleteUser"), allow("iam:ListUsers"))
    iam.put_user_policy(UserName=name, PolicyName="own", PolicyDocument=own)
    iam.put_group_policy(GroupName=group, PolicyName="grp", PolicyDocument=grp)
    arn = f"arn:aws:iam::{ACCT}:user/{name}"
    res = iam.simulate_principal_policy(
        PolicySourceArn=arn, ActionNames=["iam:GetUser", "iam:DeleteUser", "iam:ListUsers", "iam:TagUser"])
    assert decisions(res) == ["allowed", "explicitDeny", "allowed", "implicitDeny"]
    r = res["EvaluationResults"]
    # AWS labels every identity-based policy "IAM Policy" (inline, group, managed alike).
    assert (r[0]["MatchedStatements"][0]["SourcePolicyId"], r[0]["MatchedStatements"][0]["SourcePolicyType"]) == ("own", "IAM Policy")
    assert (r[1]["MatchedStatements"][0]["SourcePolicyId"], r[1]["MatchedStatements"][0]["SourcePolicyType"]) == ("grp", "IAM Policy")
    # PolicyInputList adds to the principal's policies.
    res = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["iam:TagUser"],
                                        PolicyInputList=[doc(allow("iam:TagUser"))])
    assert decisions(res) == ["allowed"]
    # The group itself.
    garn = iam.get_group(GroupName=group)["Group"]["Arn"]
    res = iam.simulate_principal_policy(PolicySourceArn=garn, ActionNames=["iam:ListUsers", "iam:GetUser"])
    assert decisions(res) == ["allowed", "implicitDeny"]


def test_simulate_principal_policy_principal_keys(iam, new_user):
    name = new_user("tagged", Tags=[{"Key": "team", "Value": "blue"}])
    p = doc(allow("s3:GetObject", "arn:aws:s3:::home/${aws:username}/*",
                  Condition={"StringEquals": {"aws:PrincipalTag/team": "blue"}}))
    iam.put_user_policy(UserName=name, PolicyName="home", PolicyDocument=p)
    arn = f"arn:aws:iam::{ACCT}:user/{name}"
    res = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["s3:GetObject"],
                                        ResourceArns=[f"arn:aws:s3:::home/{name}/f", "arn:aws:s3:::home/other/f"])
    assert decisions(res) == ["allowed", "implicitDeny"]
    assert res["EvaluationResults"][0]["MissingContextValues"] == []
    keys = iam.get_context_keys_for_principal_policy(PolicySourceArn=arn)["ContextKeyNames"]
    assert {k.lower() for k in keys} == {"aws:username", "aws:principaltag/team"}


def test_simulate_principal_policy_unknown(iam):
    with pytest.raises(ClientError) as e:
        iam.simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{ACCT}:user/nobody-here",
                                      ActionNames=["iam:GetUser"])
    assert error_code(e) == "NoSuchEntity"


def test_simulator_authorization(iam, server, user_with_key):
    name, ak, sk = user_with_key("simcaller")
    c = server.client("iam", ak, sk)
    arn = f"arn:aws:iam::{ACCT}:user/{name}"
    with pytest.raises(ClientError) as e:
        c.simulate_custom_policy(PolicyInputList=[doc(allow("*"))], ActionNames=["iam:GetUser"])
    assert error_code(e) == "AccessDenied"
    assert "iam:SimulateCustomPolicy" in str(e.value)
    with pytest.raises(ClientError) as e:
        c.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["iam:GetUser"])
    assert error_code(e) == "AccessDenied"
    iam.put_user_policy(UserName=name, PolicyName="sim", PolicyDocument=doc(
        allow("iam:SimulateCustomPolicy"), allow("iam:SimulatePrincipalPolicy", arn)))
    assert decisions(c.simulate_custom_policy(
        PolicyInputList=[doc(allow("*"))], ActionNames=["iam:GetUser"])) == ["allowed"]
    res = c.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["iam:SimulateCustomPolicy"])
    assert decisions(res) == ["allowed"]
    other = f"arn:aws:iam::{ACCT}:user/{iam.create_user(UserName=u.uniq('other'))['User']['UserName']}"
    with pytest.raises(ClientError) as e:
        c.simulate_principal_policy(PolicySourceArn=other, ActionNames=["iam:GetUser"])
    assert error_code(e) == "AccessDenied"


# ---------------------------------------------------------------- one engine


def _call(c, action, target):
    """Perform a real signed IAM request; True if authorized (any non-AccessDenied outcome)."""
    try:
        if action == "iam:GetUser":
            c.get_user(UserName=target)
        elif action == "iam:ListUserTags":
            c.list_user_tags(UserName=target)
        elif action == "iam:ListUserPolicies":
            c.list_user_policies(UserName=target)
        elif action == "iam:GetGroup":
            c.get_group(GroupName=target)
        elif action == "iam:ListUsers":
            c.list_users()
        elif action == "iam:GetAccountSummary":
            c.get_account_summary()
        elif action == "iam:ListGroups":
            c.list_groups()
        else:
            raise AssertionError(action)
    except ClientError as e:
        if e.response["Error"]["Code"] == "AccessDenied":
            return False
        return True
    return True


ENGINE_CORPUS = [
    doc(allow("iam:GetUser")),
    doc(allow("iam:Get*"), deny("iam:GetUser")),
    doc(allow("iam:*", "arn:aws:iam::*:user/*")),
    doc(allow("iam:*", "arn:aws:iam::*:user/tgt*")),
    doc(allow("iam:List*"), deny("*", "arn:aws:iam::*:user/tgt*")),
    doc(allow("iam:*", Condition={"StringEquals": {"aws:ResourceTag/env": "prod"}})),
    doc(allow("iam:*", Condition={"StringEquals": {"iam:ResourceTag/env": "dev"}})),
    doc(allow("iam:*", Condition={"StringEquals": {"aws:PrincipalTag/role": "ops"}})),
    doc(allow("iam:*", f"arn:aws:iam::{ACCT}:user/${{aws:username}}")),
    doc({"Effect": "Allow", "NotAction": "iam:Get*", "Resource": "*"}),
    doc({"Effect": "Allow", "Action": "iam:*", "NotResource": "arn:aws:iam::*:group/*"}),
    doc(allow("iam:GetAccountSummary"), allow("iam:GetGroup", "arn:aws:iam::*:group/g*")),
    doc(allow("iam:*", Condition={"Null": {"aws:ResourceTag/env": "true"}})),
]


def test_simulator_decides_like_enforcement(iam, server):
    """For every policy of a corpus × a set of IAM requests, SimulatePrincipalPolicy's
    decision equals the outcome of the same request made with the user's own keys."""
    target = u.uniq("tgt")
    iam.create_user(UserName=target, Tags=[{"Key": "env", "Value": "prod"}])
    group = u.uniq("grp")
    iam.create_group(GroupName=group)
    caller = u.uniq("eng")
    iam.create_user(UserName=caller, Tags=[{"Key": "role", "Value": "ops"}])
    k = iam.create_access_key(UserName=caller)["AccessKey"]
    c = server.client("iam", k["AccessKeyId"], k["SecretAccessKey"])
    caller_arn = f"arn:aws:iam::{ACCT}:user/{caller}"
    requests = [
        ("iam:GetUser", target, f"arn:aws:iam::{ACCT}:user/{target}"),
        ("iam:GetUser", caller, caller_arn),
        ("iam:ListUserTags", target, f"arn:aws:iam::{ACCT}:user/{target}"),
        ("iam:ListUserPolicies", caller, caller_arn),
        ("iam:GetGroup", group, f"arn:aws:iam::{ACCT}:group/{group}"),
        ("iam:GetAccountSummary", None, "*"),
        ("iam:ListUsers", None, f"arn:aws:iam::{ACCT}:user/"),
        ("iam:ListGroups", None, f"arn:aws:iam::{ACCT}:group/"),
    ]
    compared = 0
    outcomes = set()
    for i, p in enumerate(ENGINE_CORPUS):
        iam.put_user_policy(UserName=caller, PolicyName="corpus", PolicyDocument=p)
        for action, name, resource in requests:
            res = iam.simulate_principal_policy(PolicySourceArn=caller_arn, ActionNames=[action],
                                                ResourceArns=[resource])
            simulated = res["EvaluationResults"][0]["EvalDecision"] == "allowed"
            real = _call(c, action, name)
            assert simulated == real, (i, p, action, resource, res["EvaluationResults"][0])
            compared += 1
            outcomes.add(real)
    assert compared == len(ENGINE_CORPUS) * len(requests)
    assert outcomes == {True, False}


# ---------------------------------------------------------------- one engine: S3

# Each case: the user's identity policy and the bucket policy (statements; None for
# none), one real S3 request, and the expected decision with the policy type an explicit
# deny comes from. Placeholders: {B} bucket, {U} the user's ARN, {N} its name, {O} another
# user's ARN.
S3_OBJ = "arn:aws:s3:::{B}/*"
S3_BKT = "arn:aws:s3:::{B}"
ANY_IP = {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}


def _bp(effect, principal, action, resource, **kw):
    return {"Effect": effect, "Principal": principal, "Action": action, "Resource": resource, **kw}


S3_CORPUS = [
    # (name, identity statements, bucket policy statements, request, expected, deny source)
    ("get", [allow("s3:GetObject", S3_OBJ)], None, ("get", "docs/a.txt"), "allowed", None),
    ("get-outside-prefix", [allow("s3:GetObject", "arn:aws:s3:::{B}/docs/*")], None,
     ("get", "secret/s.txt"), "implicitDeny", None),
    ("object-action-on-bucket-arn", [allow("s3:*", S3_BKT)], None, ("get", "docs/a.txt"), "implicitDeny", None),
    ("bucket-action-on-object-arn", [allow("s3:ListBucket", S3_OBJ)], None, ("list", {}), "implicitDeny", None),
    ("list", [allow("s3:ListBucket", S3_BKT)], None, ("list", {}), "allowed", None),
    ("prefix-match", [allow("s3:ListBucket", S3_BKT, Condition={"StringLike": {"s3:prefix": "docs/*"}})], None,
     ("list", {"Prefix": "docs/"}), "allowed", None),
    ("prefix-other", [allow("s3:ListBucket", S3_BKT, Condition={"StringLike": {"s3:prefix": "docs/*"}})], None,
     ("list", {"Prefix": "secret/"}), "implicitDeny", None),
    ("prefix-absent", [allow("s3:ListBucket", S3_BKT, Condition={"StringLike": {"s3:prefix": "docs/*"}})], None,
     ("list", {}), "implicitDeny", None),
    ("prefix-ifexists-absent",
     [allow("s3:ListBucket", S3_BKT, Condition={"StringLikeIfExists": {"s3:prefix": "docs/*"}})], None,
     ("list", {}), "allowed", None),
    ("max-keys-within", [allow("s3:ListBucket", S3_BKT, Condition={"NumericLessThanEquals": {"s3:max-keys": "10"}})],
     None, ("list", {"MaxKeys": 5}), "allowed", None),
    ("max-keys-default", [allow("s3:ListBucket", S3_BKT, Condition={"NumericLessThanEquals": {"s3:max-keys": "10"}})],
     None, ("list", {}), "implicitDeny", None),
    ("source-ip-in", [allow("s3:GetObject", S3_OBJ, Condition=ANY_IP)], None, ("get", "docs/a.txt"), "allowed", None),
    ("source-ip-out", [allow("s3:GetObject", S3_OBJ, Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})],
     None, ("get", "docs/a.txt"), "implicitDeny", None),
    ("deny-not-ip", [allow("s3:*", S3_OBJ), deny("s3:*", S3_OBJ, Condition={"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}})],
     None, ("get", "docs/a.txt"), "explicitDeny", "identity"),
    ("deny-insecure-transport", [allow("s3:*", S3_OBJ), deny("*", Condition={"Bool": {"aws:SecureTransport": "false"}})],
     None, ("get", "docs/a.txt"), "explicitDeny", "identity"),
    ("require-secure-transport", [allow("s3:GetObject", S3_OBJ, Condition={"Bool": {"aws:SecureTransport": "true"}})],
     None, ("get", "docs/a.txt"), "implicitDeny", None),
    ("acl-private", [allow(["s3:PutObject", "s3:PutObjectAcl"], S3_OBJ),
                     deny("s3:PutObject", S3_OBJ, Condition={"StringEquals": {"s3:x-amz-acl": "public-read"}})],
     None, ("put", "up/k", {"ACL": "private"}), "allowed", None),
    ("acl-public-denied", [allow(["s3:PutObject", "s3:PutObjectAcl"], S3_OBJ),
                           deny("s3:PutObject", S3_OBJ, Condition={"StringEquals": {"s3:x-amz-acl": "public-read"}})],
     None, ("put", "up/k", {"ACL": "public-read"}), "explicitDeny", "identity"),
    ("acl-required-missing",
     [allow("s3:PutObject", S3_OBJ, Condition={"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}})],
     None, ("put", "up/k", {}), "implicitDeny", None),
    ("acl-required-given",
     [allow("s3:PutObject", S3_OBJ, Condition={"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}),
      allow("s3:PutObjectAcl", S3_OBJ)],
     None, ("put", "up/k", {"ACL": "bucket-owner-full-control"}), "allowed", None),
    ("acl-public-denied-on-put-object-acl",
     [allow(["s3:PutObject", "s3:PutObjectAcl"], S3_OBJ),
      deny("s3:PutObjectAcl", S3_OBJ, Condition={"StringEquals": {"s3:x-amz-acl": "public-read"}})],
     None, ("put", "up/k", {"ACL": "public-read"}), "explicitDeny", "identity"),
    ("acl-needs-put-object-acl",
     [allow("s3:PutObject", S3_OBJ)], None, ("put", "up/k", {"ACL": "private"}), "implicitDeny", None),
    ("delete-denied", [allow("s3:*", [S3_BKT, S3_OBJ]), deny("s3:DeleteObject", S3_OBJ)], None,
     ("delete", "docs/a.txt"), "explicitDeny", "identity"),
    ("not-resource", [{"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::{B}/secret/*"}], None,
     ("get", "secret/s.txt"), "implicitDeny", None),
    ("not-resource-elsewhere", [{"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::{B}/secret/*"}],
     None, ("get", "docs/a.txt"), "allowed", None),
    ("username-variable", [allow("s3:GetObject", "arn:aws:s3:::{B}/home/${aws:username}/*")], None,
     ("get", "home/{N}/f"), "allowed", None),
    # Bucket policies.
    ("bucket-policy-grants-user", None, [_bp("Allow", {"AWS": "{U}"}, "s3:GetObject", S3_OBJ)],
     ("get", "docs/a.txt"), "allowed", None),
    ("bucket-policy-grants-another-user", None, [_bp("Allow", {"AWS": "{O}"}, "s3:GetObject", S3_OBJ)],
     ("get", "docs/a.txt"), "implicitDeny", None),
    ("bucket-policy-bucket-arn-only", None, [_bp("Allow", {"AWS": "{U}"}, "s3:*", S3_BKT)],
     ("get", "docs/a.txt"), "implicitDeny", None),
    ("bucket-policy-anyone-from-ip", None, [_bp("Allow", "*", "s3:GetObject", S3_OBJ, Condition=ANY_IP)],
     ("get", "docs/a.txt"), "allowed", None),
    ("bucket-policy-prefix", None,
     [_bp("Allow", {"AWS": "{U}"}, "s3:ListBucket", S3_BKT,
          Condition={"StringLike": {"s3:prefix": "home/${aws:username}/*"}})],
     ("list", {"Prefix": "home/{N}/"}), "allowed", None),
    ("bucket-policy-prefix-other", None,
     [_bp("Allow", {"AWS": "{U}"}, "s3:ListBucket", S3_BKT,
          Condition={"StringLike": {"s3:prefix": "home/${aws:username}/*"}})],
     ("list", {"Prefix": "home/"}), "implicitDeny", None),
    # Naming the account delegates to its identity policies; it grants no user by itself.
    ("bucket-policy-names-the-account", None, [_bp("Allow", {"AWS": f"arn:aws:iam::{ACCT}:root"}, "s3:GetObject", S3_OBJ)],
     ("get", "docs/a.txt"), "implicitDeny", None),
    ("bucket-policy-explicit-deny", [allow("s3:*", [S3_BKT, S3_OBJ])],
     [_bp("Deny", "*", "s3:GetObject", S3_OBJ)], ("get", "docs/a.txt"), "explicitDeny", "resource"),
    ("bucket-policy-denies-insecure", [allow("s3:*", [S3_BKT, S3_OBJ])],
     [_bp("Deny", "*", "s3:*", [S3_BKT, S3_OBJ], Condition={"Bool": {"aws:SecureTransport": "false"}})],
     ("list", {}), "explicitDeny", "resource"),
    ("identity-deny-beats-bucket-allow", [deny("s3:GetObject", S3_OBJ)],
     [_bp("Allow", {"AWS": "{U}"}, "s3:GetObject", S3_OBJ)], ("get", "docs/a.txt"), "explicitDeny", "identity"),
]


def _fill(value, subst):
    text = json.dumps(value)
    for k, v in subst.items():
        text = text.replace("{" + k + "}", v)
    return json.loads(text)


def _s3_checks(op, target, kw, bucket):
    """The checks S3 enforcement makes for a request (action, resource, request-specific
    context entries), in enforcement order."""
    obj = f"arn:aws:s3:::{bucket}/{target}" if isinstance(target, str) else None
    if op == "get":
        return [("s3:GetObject", obj, [])]
    if op == "delete":
        return [("s3:DeleteObject", obj, [])]
    if op == "put":
        acl = kw.get("ACL")
        keys = [{"ContextKeyName": "s3:x-amz-acl", "ContextKeyValues": [acl], "ContextKeyType": "string"}] if acl else []
        checks = [("s3:PutObject", obj, keys)]
        if acl:
            checks.append(("s3:PutObjectAcl", obj, keys))  # s3:x-amz-acl applies to both
        return checks
    if op == "list":
        keys = [{"ContextKeyName": "s3:max-keys", "ContextKeyValues": [str(target.get("MaxKeys", 1000))],
                 "ContextKeyType": "numeric"}]
        if "Prefix" in target:
            keys.append({"ContextKeyName": "s3:prefix", "ContextKeyValues": [target["Prefix"]],
                         "ContextKeyType": "string"})
        return [("s3:ListBucket", f"arn:aws:s3:::{bucket}", keys)]
    raise AssertionError(op)


def _s3_call(c, op, target, kw, bucket):
    """The real signed request; None if authorized (any outcome but AccessDenied), else
    the AccessDenied message."""
    try:
        if op == "get":
            c.get_object(Bucket=bucket, Key=target)
        elif op == "delete":
            c.delete_object(Bucket=bucket, Key=target)
        elif op == "put":
            c.put_object(Bucket=bucket, Key=target, Body=b"x", **kw)
        elif op == "list":
            c.list_objects_v2(Bucket=bucket, **target)
        else:
            raise AssertionError(op)
    except ClientError as e:
        if e.response["Error"]["Code"] == "AccessDenied":
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 403
            return e.response["Error"]["Message"]
    return None


# The request-wide keys every request here carries (plain HTTP from loopback).
S3_REQUEST_CONTEXT = [
    {"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["127.0.0.1"], "ContextKeyType": "ip"},
    {"ContextKeyName": "aws:SecureTransport", "ContextKeyValues": ["false"], "ContextKeyType": "boolean"},
]

DENY_SOURCE = {"identity": ("an identity-based policy", "IAM Policy"),
               "resource": ("a resource-based policy", "Resource Policy")}


def test_simulator_decides_like_s3_enforcement(iam, server):
    """For every case of the S3 corpus, SimulatePrincipalPolicy (with the bucket policy as
    ResourcePolicy, the account as ResourceOwner and the user as CallerArn) decides as the
    real signed S3 request made with the user's keys, and the AccessDenied message names
    the same action, resource and reason."""
    s3root = server.client("s3")
    other = iam.create_user(UserName=u.uniq("s3other"))["User"]["Arn"]
    seen = set()
    for name, identity, bucket_policy, request, expected, source in S3_CORPUS:
        user = u.uniq("s3sim")
        uarn = iam.create_user(UserName=user)["User"]["Arn"]
        bucket = u.uniq("simb")
        subst = {"B": bucket, "U": uarn, "N": user, "O": other}
        op, target, *rest = _fill(request, subst)
        kw = rest[0] if rest else {}
        s3root.create_bucket(Bucket=bucket)
        for key in ("docs/a.txt", "secret/s.txt", f"home/{user}/f"):
            s3root.put_object(Bucket=bucket, Key=key, Body=b"data")
        if identity is not None:
            iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=doc(*_fill(identity, subst)))
        sim_kw = {"CallerArn": uarn, "ResourceOwner": f"arn:aws:iam::{ACCT}:root"}
        if bucket_policy is not None:
            bp = doc(*_fill(bucket_policy, subst))
            s3root.put_bucket_policy(Bucket=bucket, Policy=bp)
            sim_kw["ResourcePolicy"] = bp
        simulated = []
        for action, arn, keys in _s3_checks(op, target, kw, bucket):
            res = iam.simulate_principal_policy(PolicySourceArn=uarn, ActionNames=[action], ResourceArns=[arn],
                                                ContextEntries=S3_REQUEST_CONTEXT + keys, **sim_kw)
            (r,) = res["EvaluationResults"]
            assert (r["EvalActionName"], r["EvalResourceName"]) == (action, arn)
            assert r["ResourceSpecificResults"][0]["EvalResourceDecision"] == r["EvalDecision"]
            simulated.append((action, arn, r))
        denied = [(a, arn, r) for a, arn, r in simulated if r["EvalDecision"] != "allowed"]
        decision = denied[0][2]["EvalDecision"] if denied else "allowed"
        k = iam.create_access_key(UserName=user)["AccessKey"]
        c = server.client("s3", k["AccessKeyId"], k["SecretAccessKey"])
        message = _s3_call(c, op, target, kw, bucket)
        # One engine: allowed by the simulator ⇔ the real request is not AccessDenied …
        assert (message is None) == (decision == "allowed"), (name, message, simulated)
        # … and both say what the case expects.
        assert decision == expected, (name, simulated)
        seen.add(decision)
        if message is None:
            continue
        # The denial names the first check the simulator denies, and the same reason.
        action, arn, r = denied[0]
        assert message.startswith(f"User: {uarn} is not authorized to perform: {action} on resource: {arn} "), \
            (name, message)
        if decision == "explicitDeny":
            text, policy_type = DENY_SOURCE[source]
            assert message.endswith(f"with an explicit deny in {text}"), (name, message)
            assert policy_type in {st["SourcePolicyType"] for st in r["MatchedStatements"]}, (name, r)
        else:
            assert message.endswith(f"because no identity-based policy allows the {action} action"), (name, message)
    assert seen == {"allowed", "implicitDeny", "explicitDeny"}


# ---------------------------------------------------------------- debug log


def test_denial_logged_with_deciding_statement(fresh_server):
    fresh_server.stop()
    fresh_server.extra_env["IAMD_LOG"] = "iamd_iam=debug,info"
    fresh_server.start()
    iam = fresh_server.client("iam")
    iam.create_user(UserName="denied")
    iam.put_user_policy(UserName="denied", PolicyName="nope", PolicyDocument=doc(
        allow("*"), {"Sid": "NoDelete", "Effect": "Deny", "Action": "iam:DeleteUser", "Resource": "*"}))
    k = iam.create_access_key(UserName="denied")["AccessKey"]
    c = fresh_server.client("iam", k["AccessKeyId"], k["SecretAccessKey"])
    with pytest.raises(ClientError):
        c.delete_user(UserName="denied")
    log = fresh_server.stderr() + fresh_server.stdout_path.read_text()
    lines = [ln for ln in log.splitlines() if "authorization decision" in ln and "iam:DeleteUser" in ln]
    assert lines, log[-3000:]
    assert "ExplicitDeny" in lines[0] and "nope" in lines[0] and "NoDelete" in lines[0]
    assert k["SecretAccessKey"] not in log


def test_s3_decisions_logged_by_the_same_authorizer(fresh_server):
    """S3 enforcement goes through the same authorizer as IAM, so its decisions are
    logged with the deciding bucket-policy statement too (anonymous callers included)."""
    fresh_server.stop()
    fresh_server.extra_env["IAMD_LOG"] = "iamd_iam=debug,info"
    fresh_server.start()
    s3 = fresh_server.client("s3")
    s3.create_bucket(Bucket="logged")
    s3.put_bucket_policy(Bucket="logged", Policy=doc({
        "Sid": "NoAnonymousList", "Effect": "Deny", "Principal": "*", "Action": "s3:ListBucket",
        "Resource": "arn:aws:s3:::logged"}))
    anon = boto3.client("s3", endpoint_url=fresh_server.endpoint, region_name=u.REGION,
                        config=botocore.config.Config(signature_version=botocore.UNSIGNED))
    with pytest.raises(ClientError):
        anon.list_objects_v2(Bucket="logged")
    log = fresh_server.stderr() + fresh_server.stdout_path.read_text()
    lines = [ln for ln in log.splitlines() if "authorization decision" in ln and "s3:ListBucket" in ln]
    assert any("anonymous" in ln and "ExplicitDeny" in ln and "NoAnonymousList" in ln for ln in lines), log[-3000:]


# ---------------------------------------------------------------- aws CLI


def test_aws_cli_simulate_custom_policy(server):
    p = u.run_aws(server, "iam", "simulate-custom-policy",
                  "--policy-input-list", doc(allow("iam:GetUser"), deny("iam:DeleteUser")),
                  "--action-names", "iam:GetUser", "iam:DeleteUser", "iam:ListUsers", timeout=60)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert [r["EvalDecision"] for r in out["EvaluationResults"]] == ["allowed", "explicitDeny", "implicitDeny"]


# ---------------------------------------------------------------- roles and trust


def _session_client(server, service, creds):
    return boto3.session.Session().client(
        service, endpoint_url=server.endpoint, region_name=u.REGION,
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        config=botocore.config.Config(retries={"total_max_attempts": 1}))


def test_simulate_principal_policy_with_a_role(iam, server):
    """A role as PolicySourceArn: its inline and attached policies, its boundary, and the
    keys a session of it has (aws:PrincipalArn the role, aws:PrincipalType AssumedRole,
    aws:PrincipalTag from its tags); the simulated decision equals what a real session
    of the role gets."""
    assumer = u.uniq("assumer")
    iam.create_user(UserName=assumer)
    k = iam.create_access_key(UserName=assumer)["AccessKey"]
    name = u.uniq("simrole")
    trust = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:user/{assumer}"},
                 "Action": "sts:AssumeRole"})
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust,
                          Tags=[{"Key": "team", "Value": "blue"}])["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=doc(
        allow("iam:GetUser", Condition={"StringEquals": {
            "aws:PrincipalTag/team": "blue", "aws:PrincipalType": "AssumedRole", "aws:PrincipalArn": arn}}),
        allow("iam:ListUsers"), deny("iam:ListGroups")))
    managed = iam.create_policy(PolicyName=u.uniq("simrolemp"),
                                PolicyDocument=doc(allow("iam:ListRoles"), allow("iam:ListPolicies")))
    iam.attach_role_policy(RoleName=name, PolicyArn=managed["Policy"]["Arn"])
    boundary = iam.create_policy(PolicyName=u.uniq("simrolepb"),
                                 PolicyDocument=doc(allow("iam:Get*"), allow("iam:List*"), deny("iam:ListPolicies")))
    iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=boundary["Policy"]["Arn"])
    actions = ["iam:GetUser", "iam:ListUsers", "iam:ListGroups", "iam:ListRoles", "iam:ListPolicies",
               "iam:GetAccountSummary"]
    res = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=actions)
    simulated = decisions(res)
    assert simulated == ["allowed", "allowed", "explicitDeny", "allowed", "explicitDeny", "implicitDeny"]
    assert res["EvaluationResults"][0]["MatchedStatements"][0]["SourcePolicyId"] == "inline"
    assert res["EvaluationResults"][0]["MissingContextValues"] == []
    assert res["EvaluationResults"][0]["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": True}
    # The same requests made by a session of the role.
    creds = server.client("sts", k["AccessKeyId"], k["SecretAccessKey"]).assume_role(
        RoleArn=arn, RoleSessionName="sim")["Credentials"]
    c = _session_client(server, "iam", creds)
    calls = {
        "iam:GetUser": lambda: c.get_user(UserName=assumer),
        "iam:ListUsers": c.list_users, "iam:ListGroups": c.list_groups, "iam:ListRoles": c.list_roles,
        "iam:ListPolicies": c.list_policies, "iam:GetAccountSummary": c.get_account_summary,
    }
    for action, decision in zip(actions, simulated):
        try:
            calls[action]()
            real = True
        except ClientError as e:
            assert e.response["Error"]["Code"] == "AccessDenied", e
            real = False
        assert real == (decision == "allowed"), (action, decision)
    # The role's context keys are the role's, not a user's.
    keys = iam.get_context_keys_for_principal_policy(PolicySourceArn=arn)["ContextKeyNames"]
    assert {k.lower() for k in keys} == {"aws:principaltag/team", "aws:principaltype", "aws:principalarn"}


# Trust policies × callers: (statement conditions, the caller's identity policy allows
# sts:AssumeRole, ExternalId given). Principal "SELF" is the caller's ARN, "ACCT" the account.
TRUST_CORPUS = [
    ("SELF", None),
    ("SELF", {"StringEquals": {"sts:ExternalId": "ext-1"}}),
    ("ACCT", None),
    ("ACCT", {"StringEquals": {"sts:ExternalId": "ext-1"}}),
    ("OTHER", None),
    ("SELF", {"StringLike": {"sts:RoleSessionName": "ok-*"}}),
    ("SELF", {"Bool": {"aws:MultiFactorAuthPresent": "true"}}),
]


def test_simulated_assume_role_decides_like_sts(iam, server):
    """sts:AssumeRole on a role ARN is simulated against the role's trust policy (AWS's own
    simulator ignores trust policies): for a corpus of trust policies × callers with and
    without an identity grant × requests with and without an ExternalId × two session
    names (one the corpus's sts:RoleSessionName condition refuses), the simulated
    decision equals the real AssumeRole's, and an allowing trust statement is the
    matched statement."""
    caller = u.uniq("trusting")
    iam.create_user(UserName=caller)
    k = iam.create_access_key(UserName=caller)["AccessKey"]
    caller_arn = f"arn:aws:iam::{ACCT}:user/{caller}"
    other = u.uniq("untrusted")
    iam.create_user(UserName=other)
    sts = server.client("sts", k["AccessKeyId"], k["SecretAccessKey"])
    principals = {"SELF": caller_arn, "ACCT": f"arn:aws:iam::{ACCT}:root",
                  "OTHER": f"arn:aws:iam::{ACCT}:user/{other}"}
    compared, outcomes, by_session = 0, set(), {}
    for i, (principal, condition) in enumerate(TRUST_CORPUS):
        statement = {"Effect": "Allow", "Principal": {"AWS": principals[principal]}, "Action": "sts:AssumeRole"}
        if condition:
            statement["Condition"] = condition
        name = u.uniq(f"trust{i}")
        role_arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=doc(statement))["Role"]["Arn"]
        for identity in (False, True):
            if identity:
                iam.put_user_policy(UserName=caller, PolicyName="assume",
                                    PolicyDocument=doc(allow("sts:AssumeRole", role_arn)))
            elif iam.list_user_policies(UserName=caller)["PolicyNames"]:
                iam.delete_user_policy(UserName=caller, PolicyName="assume")
            for external_id, session in itertools.product((None, "ext-1"), ("ok-1", "no-1")):
                entries = [{"ContextKeyName": "sts:RoleSessionName", "ContextKeyValues": [session],
                            "ContextKeyType": "string"},
                           {"ContextKeyName": "aws:MultiFactorAuthPresent", "ContextKeyValues": ["false"],
                            "ContextKeyType": "boolean"}]
                kw = {}
                if external_id:
                    entries.append({"ContextKeyName": "sts:ExternalId", "ContextKeyValues": [external_id],
                                    "ContextKeyType": "string"})
                    kw["ExternalId"] = external_id
                res = iam.simulate_principal_policy(PolicySourceArn=caller_arn, ActionNames=["sts:AssumeRole"],
                                                    ResourceArns=[role_arn], ContextEntries=entries)
                r = res["EvaluationResults"][0]
                try:
                    sts.assume_role(RoleArn=role_arn, RoleSessionName=session, **kw)
                    real = True
                except ClientError as e:
                    assert e.response["Error"]["Code"] == "AccessDenied", e
                    real = False
                assert (r["EvalDecision"] == "allowed") == real, (i, identity, external_id, session, r)
                if real:
                    ids = {s["SourcePolicyId"] for s in r["MatchedStatements"]}
                    assert "AssumeRolePolicy" in ids, r
                compared += 1
                outcomes.add(real)
                by_session.setdefault((principal, str(condition), session), set()).add(real)
    assert compared == len(TRUST_CORPUS) * 8
    assert outcomes == {True, False}
    # The session name decides where the trust policy reads it, and nowhere else.
    named = ("SELF", str({"StringLike": {"sts:RoleSessionName": "ok-*"}}))
    assert by_session[(*named, "ok-1")] == {True} and by_session[(*named, "no-1")] == {False}
    assert by_session[("SELF", "None", "ok-1")] == by_session[("SELF", "None", "no-1")] == {True}
