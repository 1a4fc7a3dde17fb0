"""The IAM policy simulator: SimulateCustomPolicy, SimulatePrincipalPolicy,
GetContextKeysFor*Policy, and the proof that it decides like enforcement."""

import json
import os
import shutil
import subprocess

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
    rsr = res["EvaluationResults"][2]["ResourceSpecificResults"]
    assert rsr[0]["EvalResourceName"] == "arn:aws:s3:::three/x"
    assert rsr[0]["EvalResourceDecision"] == "implicitDeny"


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
    assert r["EvalDecisionDetails"]["Resource Policy"] == "allowed"
    # Cross-account owner: both sides must allow.
    other = "arn:aws:iam::210987654321:root"
    res = sim(iam, [doc(allow("iam:GetUser"))], ["s3:GetObject"], ResourceArns=["arn:aws:s3:::shared/k"],
              ResourcePolicy=bucket, CallerArn=caller, ResourceOwner=other)
    assert decisions(res) == ["implicitDeny"]
    res = sim(iam, [identity], ["s3:GetObject"], ResourceArns=["arn:aws:s3:::shared/k"],
              ResourcePolicy=bucket, CallerArn=caller, ResourceOwner=other)
    assert decisions(res) == ["allowed"]
    # A caller the bucket policy does not name.
    res = sim(iam, [doc(allow("iam:GetUser"))], ["s3:GetObject"], ResourceArns=["arn:aws:s3:::shared/k"],
              ResourcePolicy=bucket, CallerArn=f"arn:aws:iam::{ACCT}:user/bob",
              ResourceOwner=other)
    assert decisions(res) == ["implicitDeny"]


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
    assert (r[0]["MatchedStatements"][0]["SourcePolicyId"], r[0]["MatchedStatements"][0]["SourcePolicyType"]) == ("own", "user")
    assert (r[1]["MatchedStatements"][0]["SourcePolicyId"], r[1]["MatchedStatements"][0]["SourcePolicyType"]) == ("grp", "group")
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


# ---------------------------------------------------------------- aws CLI


def test_aws_cli_simulate_custom_policy(server):
    aws = shutil.which("aws") or "aws"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "IAMD_")) and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env.update({"AWS_ACCESS_KEY_ID": u.ROOT_ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": u.ROOT_SECRET_ACCESS_KEY,
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null",
                "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_PAGER": ""})
    p = subprocess.run([aws, "--endpoint-url", server.endpoint, "iam", "simulate-custom-policy",
                        "--policy-input-list", doc(allow("iam:GetUser"), deny("iam:DeleteUser")),
                        "--action-names", "iam:GetUser", "iam:DeleteUser", "iam:ListUsers"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert [r["EvalDecision"] for r in out["EvaluationResults"]] == ["allowed", "explicitDeny", "implicitDeny"]
