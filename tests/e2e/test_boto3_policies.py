"""Inline user and group policies through boto3 (and the raw wire encoding)."""

import json
import re
import urllib.parse

import pytest

import e2e_util as u
from e2e_util import aws_error

NS = "{" + u.IAM_NS + "}"


def nonws_len(doc: str) -> int:
    return len(re.sub(r"\s", "", doc))


def policy_with_size(n: int, pad: int = 0) -> str:
    """A valid policy whose length without whitespace is exactly n characters,
    surrounded by `pad` characters of whitespace on each side."""
    def build(k):
        return {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/" + "a" * k}]}
    base = nonws_len(json.dumps(build(0), separators=(",", ":")))
    doc = json.dumps(build(n - base), indent=2)
    doc = " " * pad + doc + "\n" * pad
    assert nonws_len(doc) == n
    return doc


S3_READ = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
     "Resource": ["arn:aws:s3:::houdini", "arn:aws:s3:::houdini/*"]}]}, indent=2)


def test_user_policy_roundtrip(iam, new_user):
    user = new_user("pol")
    iam.put_user_policy(UserName=user, PolicyName="allow_access_houdini", PolicyDocument=u.HOUDINI_POLICY)
    got = iam.get_user_policy(UserName=user, PolicyName="allow_access_houdini")
    assert got["UserName"] == user
    assert got["PolicyName"] == "allow_access_houdini"
    # boto3 URL-decodes and JSON-parses the document.
    assert got["PolicyDocument"] == json.loads(u.HOUDINI_POLICY)
    assert iam.list_user_policies(UserName=user)["PolicyNames"] == ["allow_access_houdini"]


def test_get_user_policy_wire_is_url_encoded(iam, server, new_user):
    user = new_user("wirepol")
    iam.put_user_policy(UserName=user, PolicyName="read", PolicyDocument=S3_READ)
    r = u.raw_call(server.endpoint, u.form(Action="GetUserPolicy", Version=u.IAM_VERSION,
                                           UserName=user, PolicyName="read"))
    assert r.status == 200, r.body
    root = r.xml()
    assert root.tag == NS + "GetUserPolicyResponse"
    raw = root.findtext(f"{NS}GetUserPolicyResult/{NS}PolicyDocument")
    # On the wire the document is URL-encoded (RFC 3986), never raw JSON ...
    assert "{" not in raw and "%7B" in raw.upper(), raw
    # ... and decodes to exactly what was stored (whitespace included).
    assert urllib.parse.unquote(raw) == S3_READ
    assert root.findtext(f"{NS}GetUserPolicyResult/{NS}UserName") == user
    assert root.findtext(f"{NS}GetUserPolicyResult/{NS}PolicyName") == "read"


def test_put_user_policy_replaces_same_name(iam, new_user):
    user = new_user("repl")
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=u.ALLOW_ALL)
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=S3_READ)
    assert iam.list_user_policies(UserName=user)["PolicyNames"] == ["p"]
    assert iam.get_user_policy(UserName=user, PolicyName="p")["PolicyDocument"] == json.loads(S3_READ)


def test_list_user_policies_paging(iam, new_user):
    user = new_user("many")
    names = sorted(f"pol{i}" for i in range(5))
    for n in names:
        iam.put_user_policy(UserName=user, PolicyName=n, PolicyDocument=u.ALLOW_ALL)
    first = iam.list_user_policies(UserName=user, MaxItems=2)
    assert len(first["PolicyNames"]) == 2 and first["IsTruncated"] is True and first["Marker"]
    pages = list(iam.get_paginator("list_user_policies").paginate(UserName=user, PaginationConfig={"PageSize": 2}))
    assert sorted(n for p in pages for n in p["PolicyNames"]) == names
    assert pages[-1]["IsTruncated"] is False


def test_user_policy_errors(iam, new_user):
    user = new_user("perr")
    with aws_error("NoSuchEntity", 404, "The user policy with name nope cannot be found."):
        iam.get_user_policy(UserName=user, PolicyName="nope")
    with aws_error("NoSuchEntity", 404, "The user policy with name nope cannot be found."):
        iam.delete_user_policy(UserName=user, PolicyName="nope")
    with aws_error("NoSuchEntity", 404, "The user with name ghost-pol cannot be found."):
        iam.put_user_policy(UserName="ghost-pol", PolicyName="p", PolicyDocument=u.ALLOW_ALL)
    with aws_error("NoSuchEntity", 404, "The user with name ghost-pol cannot be found."):
        iam.get_user_policy(UserName="ghost-pol", PolicyName="p")
    with aws_error("NoSuchEntity", 404, "The user with name ghost-pol cannot be found."):
        iam.list_user_policies(UserName="ghost-pol")


def test_delete_user_policy(iam, new_user):
    user = new_user("delp")
    iam.put_user_policy(UserName=user, PolicyName="a", PolicyDocument=u.ALLOW_ALL)
    iam.put_user_policy(UserName=user, PolicyName="b", PolicyDocument=u.ALLOW_ALL)
    iam.delete_user_policy(UserName=user, PolicyName="a")
    assert iam.list_user_policies(UserName=user)["PolicyNames"] == ["b"]
    with aws_error("NoSuchEntity", 404, "The user policy with name a cannot be found."):
        iam.get_user_policy(UserName=user, PolicyName="a")


@pytest.mark.parametrize("doc,message", [
    ("{not json", "Syntax errors in policy."),
    ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]', "Syntax errors in policy."),
    (json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:*", "Resource": "*"}]}),
     "Policy document should not specify a principal."),
    (json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*"}]}),
     "Policy statement must contain actions."),
    (json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "GetObject", "Resource": "*"}]}),
     "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."),
], ids=["not-json", "truncated-json", "principal", "no-action", "no-vendor"])
def test_malformed_user_policy(iam, new_user, doc, message):
    user = new_user("bad")
    with aws_error("MalformedPolicyDocument", 400, message):
        iam.put_user_policy(UserName=user, PolicyName="bad", PolicyDocument=doc)
    assert iam.list_user_policies(UserName=user)["PolicyNames"] == []


def test_user_policy_size_quota(iam, new_user):
    user = new_user("big")
    # Whitespace does not count: ~2000 significant characters, far more with indentation.
    roomy = policy_with_size(2000, pad=400)
    assert len(roomy) > 2300
    iam.put_user_policy(UserName=user, PolicyName="roomy", PolicyDocument=roomy)
    # The quota is on the aggregate of the user's inline policies.
    with aws_error("LimitExceeded", 409, f"Maximum policy size of 2048 bytes exceeded for user {user}"):
        iam.put_user_policy(UserName=user, PolicyName="extra", PolicyDocument=policy_with_size(150))
    assert iam.list_user_policies(UserName=user)["PolicyNames"] == ["roomy"]
    # Replacing a policy counts only its new version.
    iam.put_user_policy(UserName=user, PolicyName="roomy", PolicyDocument=policy_with_size(1800))
    # A single oversized policy on a fresh user.
    other = new_user("big2")
    with aws_error("LimitExceeded", 409, f"Maximum policy size of 2048 bytes exceeded for user {other}"):
        iam.put_user_policy(UserName=other, PolicyName="huge", PolicyDocument=policy_with_size(2150))


def test_group_policy_roundtrip_and_errors(iam, server):
    group = u.uniq("gpol")
    iam.create_group(GroupName=group)
    iam.put_group_policy(GroupName=group, PolicyName="allow_all", PolicyDocument=u.ALLOW_ALL)
    got = iam.get_group_policy(GroupName=group, PolicyName="allow_all")
    assert got["GroupName"] == group and got["PolicyName"] == "allow_all"
    assert got["PolicyDocument"] == json.loads(u.ALLOW_ALL)
    assert iam.list_group_policies(GroupName=group)["PolicyNames"] == ["allow_all"]

    r = u.raw_call(server.endpoint, u.form(Action="GetGroupPolicy", Version=u.IAM_VERSION,
                                           GroupName=group, PolicyName="allow_all"))
    raw = r.xml().findtext(f"{NS}GetGroupPolicyResult/{NS}PolicyDocument")
    assert "{" not in raw and urllib.parse.unquote(raw) == u.ALLOW_ALL

    with aws_error("NoSuchEntity", 404, "The group policy with name nope cannot be found."):
        iam.get_group_policy(GroupName=group, PolicyName="nope")
    with aws_error("NoSuchEntity", 404, "The group policy with name nope cannot be found."):
        iam.delete_group_policy(GroupName=group, PolicyName="nope")
    with aws_error("NoSuchEntity", 404, "The group with name ghost-gp cannot be found."):
        iam.put_group_policy(GroupName="ghost-gp", PolicyName="p", PolicyDocument=u.ALLOW_ALL)
    with aws_error("MalformedPolicyDocument", 400, "Syntax errors in policy."):
        iam.put_group_policy(GroupName=group, PolicyName="bad", PolicyDocument="[}")

    iam.delete_group_policy(GroupName=group, PolicyName="allow_all")
    assert iam.list_group_policies(GroupName=group)["PolicyNames"] == []


def test_group_policy_size_quota(iam):
    group = u.uniq("gbig")
    iam.create_group(GroupName=group)
    iam.put_group_policy(GroupName=group, PolicyName="a", PolicyDocument=policy_with_size(4000, pad=800))
    iam.put_group_policy(GroupName=group, PolicyName="b", PolicyDocument=policy_with_size(1000))
    with aws_error("LimitExceeded", 409, f"Maximum policy size of 5120 bytes exceeded for group {group}"):
        iam.put_group_policy(GroupName=group, PolicyName="c", PolicyDocument=policy_with_size(300))
    assert sorted(iam.list_group_policies(GroupName=group)["PolicyNames"]) == ["a", "b"]


def test_policy_name_validation(iam_raw, new_user):
    user = new_user("pn")
    with aws_error("ValidationError", 400, u.validation_message("bad name", "policyName", u.NAME_PATTERN)):
        iam_raw.put_user_policy(UserName=user, PolicyName="bad name", PolicyDocument=u.ALLOW_ALL)


def test_policy_special_characters_roundtrip(iam, server, new_user):
    user = new_user("chars")
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "Cafe", "Effect": "Allow", "Action": "iam:GetUser", "Resource": "*",
        "Condition": {"StringEquals": {"aws:username": "caf\u00e9 <&> 'q' \"dq\" 100%"}}}]},
        ensure_ascii=False)
    assert "\u00e9" in doc and "<&>" in doc
    iam.put_user_policy(UserName=user, PolicyName="chars", PolicyDocument=doc)
    assert iam.get_user_policy(UserName=user, PolicyName="chars")["PolicyDocument"] == json.loads(doc)
    r = u.raw_call(server.endpoint, u.form(Action="GetUserPolicy", Version=u.IAM_VERSION,
                                           UserName=user, PolicyName="chars"))
    raw = r.xml().findtext(f"{NS}GetUserPolicyResult/{NS}PolicyDocument")
    assert urllib.parse.unquote(raw) == doc


def test_policy_document_outside_latin1_refused(iam_raw, iam, new_user):
    user = new_user("euro")
    doc = '{"Version":"2012-10-17","Statement":[{"Sid":"x","Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::\u20ac"}]}'
    assert "\u20ac" in doc
    with aws_error("ValidationError", 400, u.validation_message(
            doc, "policyDocument",
            r"Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+")):
        iam_raw.put_user_policy(UserName=user, PolicyName="euro", PolicyDocument=doc)
    assert iam.list_user_policies(UserName=user)["PolicyNames"] == []


def test_inline_policy_change_applies_to_next_request(server, iam, user_with_key):
    name, ak, sk = user_with_key("flip")
    me = server.client("iam", ak, sk)
    target = u.uniq("t")
    with aws_error("AccessDenied", 403):
        me.get_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="get", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}]}))
    assert me.get_user(UserName=name)["User"]["UserName"] == name
    iam.delete_user_policy(UserName=name, PolicyName="get")
    with aws_error("AccessDenied", 403):
        me.get_user(UserName=name)
