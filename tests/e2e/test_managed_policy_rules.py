"""Managed policies' rules with boto3, as AWS's: 6,144 characters per version with
whitespace outside strings not counted (CreatePolicy and CreatePolicyVersion),
GetPolicyVersion's document URL-encoded on the wire, names, paths and descriptions
(the model's constraints), NoSuchEntity texts for missing entities, policies and
versions, a service-linked role's policy that attaches to no user, group or role of a
customer, `iam:PolicyARN` and ABAC on policy operations, a default-version switch
reaching every holder at its next request, and the listings' filters
(ListPolicies' Scope, OnlyAttached, PathPrefix and PolicyUsageFilter;
ListEntitiesForPolicy's EntityFilter, PathPrefix and PolicyUsageFilter;
ListAttached…Policies' PathPrefix)."""

import json
import re
import urllib.parse

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import e2e_util as u

SIZE = 6144
READ_ONLY_ARN = "arn:aws:iam::aws:policy/ReadOnlyAccess"
SLR_POLICY = "arn:aws:iam::aws:policy/aws-service-role/AmazonECSServiceRolePolicy"
PATH_PATTERN = r"Member must satisfy regular expression pattern: ((/[A-Za-z0-9\.,\+@=_-]+)*)/"


def sized(n):
    """A document of exactly `n` characters without whitespace, and the same
    document indented (whitespace outside strings only)."""
    def doc(pad):
        return {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::" + "x" * pad}]}
    base = len(json.dumps(doc(0), separators=(",", ":")))
    compact = json.dumps(doc(n - base), separators=(",", ":"))
    assert len(compact) == n
    pretty = json.dumps(doc(n - base), indent=40)
    assert len(pretty) > n and "".join(pretty.split()) == compact
    return compact, pretty


def test_size_counts_characters_without_whitespace(iam):
    fits, fits_indented = sized(SIZE)
    too_big, too_big_indented = sized(SIZE + 1)
    arn = iam.create_policy(PolicyName=u.uniq("size"), PolicyDocument=fits_indented)["Policy"]["Arn"]
    got = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]["Document"]
    assert got == json.loads(fits)
    v = iam.create_policy_version(PolicyArn=arn, PolicyDocument=fits, SetAsDefault=True)["PolicyVersion"]
    assert v["VersionId"] == "v2"
    for doc in (too_big, too_big_indented):
        with u.aws_error("LimitExceeded", 409, f"Cannot exceed quota for PolicySize: {SIZE}"):
            iam.create_policy(PolicyName=u.uniq("size"), PolicyDocument=doc)
        with u.aws_error("LimitExceeded", 409, f"Cannot exceed quota for PolicySize: {SIZE}"):
            iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc)
    assert [x["VersionId"] for x in iam.list_policy_versions(PolicyArn=arn)["Versions"]] == ["v2", "v1"]
    iam.delete_policy_version(PolicyArn=arn, VersionId="v1")
    iam.delete_policy(PolicyArn=arn)


@pytest.mark.parametrize("kw, member, value, constraint", [
    ({"PolicyName": "bad name"}, "policyName", "bad name", u.NAME_PATTERN),
    ({"PolicyName": "n" * 129}, "policyName", "n" * 128 + "...",
     "Member must have length less than or equal to 128"),
    ({"Path": "ci/"}, "path", "ci/", PATH_PATTERN),
    ({"Path": "/ci"}, "path", "/ci", PATH_PATTERN),
    ({"Path": "/a//b/"}, "path", "/a//b/", PATH_PATTERN),
    ({"Path": "/" + "p" * 511 + "/"}, "path", "/" + "p" * 127 + "...",
     "Member must have length less than or equal to 512"),
    ({"Description": "d" * 1001}, "description", "d" * 128 + "...",
     "Member must have length less than or equal to 1000"),
])
def test_names_paths_and_descriptions(iam_raw, kw, member, value, constraint):
    args = {"PolicyName": u.uniq("ok"), "PolicyDocument": u.ALLOW_ALL, **kw}
    with u.aws_error("ValidationError", 400, u.validation_message(value, member, constraint)):
        iam_raw.create_policy(**args)


def test_longest_name_and_path_fit(iam):
    name = "n" * 128
    path = "/" + "p" * 510 + "/"
    p = iam.create_policy(PolicyName=name, Path=path, PolicyDocument=u.ALLOW_ALL)["Policy"]
    assert p["Arn"] == f"{u.ARN_PREFIX}:policy{path}{name}" and p["Path"] == path
    iam.delete_policy(PolicyArn=p["Arn"])


def test_no_such_entity_texts(iam):
    missing = f"{u.ARN_PREFIX}:policy/{u.uniq('missing')}"
    for call in (
        lambda: iam.get_policy(PolicyArn=missing),
        lambda: iam.delete_policy(PolicyArn=missing),
        lambda: iam.list_policy_versions(PolicyArn=missing),
        lambda: iam.list_entities_for_policy(PolicyArn=missing),
        lambda: iam.create_policy_version(PolicyArn=missing, PolicyDocument=u.ALLOW_ALL),
        lambda: iam.set_default_policy_version(PolicyArn=missing, VersionId="v1"),
        lambda: iam.list_policy_tags(PolicyArn=missing),
    ):
        with u.aws_error("NoSuchEntity", 404, f"Policy {missing} was not found."):
            call()
    arn = iam.create_policy(PolicyName=u.uniq("texts"), PolicyDocument=u.ALLOW_ALL)["Policy"]["Arn"]
    for call in (
        lambda: iam.get_policy_version(PolicyArn=arn, VersionId="v9"),
        lambda: iam.set_default_policy_version(PolicyArn=arn, VersionId="v9"),
        lambda: iam.delete_policy_version(PolicyArn=arn, VersionId="v9"),
    ):
        with u.aws_error("NoSuchEntity", 404, f"Policy {arn} version v9 does not exist or is not attachable."):
            call()
    nobody = u.uniq("nobody")
    for call, kind in (
        (lambda: iam.attach_user_policy(UserName=nobody, PolicyArn=arn), "user"),
        (lambda: iam.attach_group_policy(GroupName=nobody, PolicyArn=arn), "group"),
        (lambda: iam.attach_role_policy(RoleName=nobody, PolicyArn=arn), "role"),
        (lambda: iam.list_attached_user_policies(UserName=nobody), "user"),
        (lambda: iam.list_attached_group_policies(GroupName=nobody), "group"),
        (lambda: iam.list_attached_role_policies(RoleName=nobody), "role"),
    ):
        with u.aws_error("NoSuchEntity", 404, f"The {kind} with name {nobody} cannot be found."):
            call()
    user = u.uniq("texts")
    iam.create_user(UserName=user)
    with u.aws_error("NoSuchEntity", 404, f"Policy {missing} does not exist or is not attachable."):
        iam.attach_user_policy(UserName=user, PolicyArn=missing)
    with u.aws_error("NoSuchEntity", 404, f"Policy {arn} was not found."):
        iam.detach_user_policy(UserName=user, PolicyArn=arn)
    iam.delete_user(UserName=user)
    iam.delete_policy(PolicyArn=arn)


def test_service_role_policy_attaches_to_no_customer_entity(iam):
    assert iam.get_policy(PolicyArn=SLR_POLICY)["Policy"]["Path"].startswith("/aws-service-role/")
    user, group, role = u.uniq("slr-u"), u.uniq("slr-g"), u.uniq("slr-r")
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ecs.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    for call in (
        lambda: iam.attach_user_policy(UserName=user, PolicyArn=SLR_POLICY),
        lambda: iam.attach_group_policy(GroupName=group, PolicyArn=SLR_POLICY),
        lambda: iam.attach_role_policy(RoleName=role, PolicyArn=SLR_POLICY),
    ):
        with u.aws_error("PolicyNotAttachable", 400, "Cannot attach a Service Role Policy to a Customer Role."):
            call()
    assert iam.get_policy(PolicyArn=SLR_POLICY)["Policy"]["AttachmentCount"] == 0
    assert iam.list_attached_user_policies(UserName=user)["AttachedPolicies"] == []
    iam.delete_user(UserName=user)
    iam.delete_group(GroupName=group)
    iam.delete_role(RoleName=role)


def test_listing_filters(iam):
    tag = u.uniq("lf").replace("-", "")
    pa, pb = f"/{tag}a/", f"/{tag}b/"
    doc = u.ALLOW_ALL

    def create(name, path):
        return iam.create_policy(PolicyName=f"{tag}{name}", Path=path, PolicyDocument=doc)["Policy"]["Arn"]

    attached, bounding, unused = create("attached", pa), create("bounding", pb), create("unused", pa)
    user, bounded, group, role = f"{tag}u", f"{tag}bu", f"{tag}g", f"{tag}r"
    iam.create_user(UserName=user, Path="/eng/")
    iam.create_user(UserName=bounded, Path="/ops/", PermissionsBoundary=bounding)
    iam.create_group(GroupName=group)
    iam.create_role(RoleName=role, Path="/svc/", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))
    iam.attach_user_policy(UserName=user, PolicyArn=attached)
    iam.attach_user_policy(UserName=user, PolicyArn=READ_ONLY_ARN)
    iam.attach_group_policy(GroupName=group, PolicyArn=attached)
    iam.attach_role_policy(RoleName=role, PolicyArn=attached)
    iam.attach_role_policy(RoleName=role, PolicyArn=bounding)

    def arns(**kw):
        return [p["Arn"] for page in iam.get_paginator("list_policies").paginate(**kw) for p in page["Policies"]]

    def ours(**kw):
        return sorted(a for a in arns(**kw) if tag in a)

    # Scope: All (the default) is AWS's and the account's, merged in name order.
    every, aws, local = arns(), arns(Scope="AWS"), arns(Scope="Local")
    assert sorted(every) == sorted(aws + local) and READ_ONLY_ARN in every and attached in every
    listed = [(p["PolicyName"], p["Arn"]) for page in iam.get_paginator("list_policies").paginate()
              for p in page["Policies"]]
    assert listed == sorted(listed)
    # Small pages across the merge of both lists give the same list.
    assert arns(PaginationConfig={"PageSize": 37}) == every
    assert not any(tag in a for a in aws)
    assert ours(PathPrefix=pa) == sorted([attached, unused])
    assert ours(Scope="AWS", PathPrefix=pa) == []
    assert ours(Scope="Local", OnlyAttached=True) == sorted([attached, bounding])
    assert READ_ONLY_ARN in arns(Scope="All", OnlyAttached=True)
    assert ours(PolicyUsageFilter="PermissionsBoundary") == [bounding]
    assert ours(PolicyUsageFilter="PermissionsPolicy") == sorted([attached, bounding])
    # Paging: one at a time, the same list.
    assert arns(Scope="Local", PathPrefix=pa, PaginationConfig={"PageSize": 1}) == arns(
        Scope="Local", PathPrefix=pa)
    first = iam.list_policies(Scope="Local", PathPrefix=pa, MaxItems=1)
    assert first["IsTruncated"] and len(first["Policies"]) == 1 and first["Marker"]

    def entities(arn, **kw):
        r = iam.list_entities_for_policy(PolicyArn=arn, **kw)
        return ([g["GroupName"] for g in r["PolicyGroups"]], [r_["RoleName"] for r_ in r["PolicyRoles"]],
                [x["UserName"] for x in r["PolicyUsers"]])

    assert entities(attached) == ([group], [role], [user])
    assert entities(attached, EntityFilter="User") == ([], [], [user])
    assert entities(attached, EntityFilter="Group") == ([group], [], [])
    assert entities(attached, EntityFilter="LocalManagedPolicy") == ([], [], [])
    assert entities(attached, PathPrefix="/svc/") == ([], [role], [])
    assert entities(bounding) == ([], [role], [bounded])
    assert entities(bounding, PolicyUsageFilter="PermissionsBoundary") == ([], [], [bounded])
    assert entities(bounding, PolicyUsageFilter="PermissionsPolicy") == ([], [role], [])
    assert entities(unused) == ([], [], [])
    got = iam.list_attached_user_policies(UserName=user, PathPrefix=pa)["AttachedPolicies"]
    assert got == [{"PolicyName": f"{tag}attached", "PolicyArn": attached}]
    assert iam.list_attached_user_policies(UserName=user, PathPrefix="/nowhere/")["AttachedPolicies"] == []
    assert sorted(p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]) == \
        sorted([READ_ONLY_ARN, attached])
    assert [(p["Arn"], p["AttachmentCount"], p["PermissionsBoundaryUsageCount"])
            for p in (iam.get_policy(PolicyArn=a)["Policy"] for a in (attached, bounding, unused))] == [
        (attached, 3, 0), (bounding, 1, 1), (unused, 0, 0)]


def test_policy_version_document_is_url_encoded_on_the_wire(iam, server):
    """As AWS's: the JSON as given (spacing kept), percent-encoded in <Document>, for a
    customer-managed version and an AWS-managed one."""
    given = '{"Version": "2012-10-17",\n "Statement": [{"Sid": "A", "Effect": "Allow", "Action": "s3:GetObject",' \
        ' "Resource": "arn:aws:s3:::b/caf\u00e9 <&>"}]}'
    arn = iam.create_policy(PolicyName=u.uniq("wire"), PolicyDocument=given)["Policy"]["Arn"]
    ns = "{https://iam.amazonaws.com/doc/2010-05-08/}"
    for policy, version in ((arn, "v1"), (READ_ONLY_ARN, iam.get_policy(PolicyArn=READ_ONLY_ARN)[
            "Policy"]["DefaultVersionId"])):
        r = u.raw_call(server.endpoint, u.form(Action="GetPolicyVersion", Version=u.IAM_VERSION,
                                               PolicyArn=policy, VersionId=version))
        assert r.status == 200, r.body
        raw = r.xml().findtext(f"{ns}GetPolicyVersionResult/{ns}PolicyVersion/{ns}Document")
        assert raw.startswith("%7B") and "{" not in raw and " " not in raw, raw[:80]
        if policy == arn:
            assert urllib.parse.unquote(raw) == given
        else:
            assert json.loads(urllib.parse.unquote(raw))["Version"] == "2012-10-17"
    iam.delete_policy(PolicyArn=arn)


def doc_of(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_policy_arn_condition_limits_what_may_be_attached(iam, server, user_with_key):
    """AWS's pattern for delegating attachments: Attach…/Detach…Policy allowed only for
    the policies `iam:PolicyARN` names, on users, groups and roles alike."""
    allowed = [READ_ONLY_ARN, "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]
    admin_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
    name, ak, sk = user_with_key("attacher", policy=doc_of(
        {"Effect": "Allow", "Resource": "*",
         "Action": ["iam:AttachUserPolicy", "iam:DetachUserPolicy", "iam:AttachGroupPolicy",
                    "iam:DetachGroupPolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy"],
         "Condition": {"ArnEquals": {"iam:PolicyARN": allowed}}}))
    me = server.client("iam", ak, sk)
    target, group, role = u.uniq("target"), u.uniq("pa-g"), u.uniq("pa-r")
    iam.create_user(UserName=target)
    iam.create_group(GroupName=group)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    for kind, who, resource in (("User", {"UserName": target}, f"user {target}"),
                                ("Group", {"GroupName": group}, f"group {group}"),
                                ("Role", {"RoleName": role}, f"role {role}")):
        attach, detach = getattr(me, f"attach_{kind.lower()}_policy"), getattr(me, f"detach_{kind.lower()}_policy")
        for arn in allowed:
            attach(PolicyArn=arn, **who)
        for call in (attach, detach):
            action = f"iam:{'Attach' if call is attach else 'Detach'}{kind}Policy"
            with u.aws_error("AccessDenied", 403, u.not_authorized(u.user_arn(name), action, resource)):
                call(PolicyArn=admin_arn, **who)
        for arn in allowed:
            detach(PolicyArn=arn, **who)
    # Nor to itself.
    with u.aws_error("AccessDenied", 403, u.not_authorized(u.user_arn(name), "iam:AttachUserPolicy",
                                                           f"user {name}")):
        me.attach_user_policy(UserName=name, PolicyArn=admin_arn)
    assert iam.list_attached_user_policies(UserName=name)["AttachedPolicies"] == []
    iam.delete_user(UserName=target)
    iam.delete_group(GroupName=group)
    iam.delete_role(RoleName=role)


def test_abac_on_customer_managed_policies(iam, server, user_with_key):
    """Tags on customer-managed policies decide as AWS's ABAC: `aws:RequestTag/team` on
    CreatePolicy and TagPolicy, `aws:ResourceTag/team` (the tags before the request) on
    the version operations and tagging, and no way out by re-tagging."""
    team = [{"Key": "team", "Value": "a"}]
    name, ak, sk = user_with_key("pm", policy=doc_of(
        {"Effect": "Allow", "Action": "iam:CreatePolicy", "Resource": "*",
         "Condition": {"StringEquals": {"aws:RequestTag/team": "a"}}},
        {"Effect": "Allow", "Resource": "*",
         "Action": ["iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicyVersion"],
         "Condition": {"StringEquals": {"aws:ResourceTag/team": "a"}}},
        {"Effect": "Allow", "Action": ["iam:TagPolicy", "iam:UntagPolicy"], "Resource": "*",
         "Condition": {"StringEquals": {"aws:ResourceTag/team": "a", "aws:RequestTag/team": "a"}}}))
    me = server.client("iam", ak, sk)
    me_arn = u.user_arn(name)
    acct_policy = f"{u.ARN_PREFIX}:policy/"

    def denied(action, resource):
        return u.aws_error("AccessDenied", 403, u.not_authorized(me_arn, action, resource))

    mine, theirs = u.uniq("mine"), u.uniq("theirs")
    # (How AWS names the policy to be in this denial is not pinned here: iamd shows
    # its ARN, as for CreateUser; AWS has been seen to show "policy NAME".)
    for tags in ([], [{"Key": "team", "Value": "b"}]):
        with u.aws_error("AccessDenied", 403, message_re=re.escape(
                f"User: {me_arn} is not authorized to perform: iam:CreatePolicy on resource: ") + ".*"
                + re.escape(f"{mine} because no identity-based policy allows the iam:CreatePolicy action")):
            me.create_policy(PolicyName=mine, PolicyDocument=u.ALLOW_ALL, Tags=tags)
    arn = me.create_policy(PolicyName=mine, PolicyDocument=u.ALLOW_ALL, Tags=team)["Policy"]["Arn"]
    other = iam.create_policy(PolicyName=theirs, PolicyDocument=u.ALLOW_ALL,
                              Tags=[{"Key": "team", "Value": "b"}])["Policy"]["Arn"]
    assert (arn, other) == (acct_policy + mine, acct_policy + theirs)
    # Its own team's policy: versions as it likes.
    me.create_policy_version(PolicyArn=arn, PolicyDocument=u.ALLOW_ALL, SetAsDefault=True)
    me.delete_policy_version(PolicyArn=arn, VersionId="v1")
    # The other team's: nothing, not even by tagging it into the own team first.
    with denied("iam:CreatePolicyVersion", f"policy {other}"):
        me.create_policy_version(PolicyArn=other, PolicyDocument=u.ALLOW_ALL)
    with denied("iam:TagPolicy", f"policy {other}"):
        me.tag_policy(PolicyArn=other, Tags=team)
    # Nor moving its own out of the team, or stripping the tag.
    with denied("iam:TagPolicy", f"policy {arn}"):
        me.tag_policy(PolicyArn=arn, Tags=[{"Key": "team", "Value": "b"}])
    with denied("iam:UntagPolicy", f"policy {arn}"):
        me.untag_policy(PolicyArn=arn, TagKeys=["team"])
    assert iam.list_policy_tags(PolicyArn=other)["Tags"] == [{"Key": "team", "Value": "b"}]
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == team
    # Once the root moves the other policy into team a, it is within reach at once.
    iam.tag_policy(PolicyArn=other, Tags=team)
    me.create_policy_version(PolicyArn=other, PolicyDocument=u.ALLOW_ALL)
    iam.delete_policy_version(PolicyArn=other, VersionId="v2")
    for a in (arn, other):
        iam.delete_policy(PolicyArn=a)


def test_default_version_switch_reaches_every_holder_at_once(iam, server):
    """One SetDefaultPolicyVersion changes the very next decision of every principal
    that holds the policy: a user it is attached to, a member of a group it is
    attached to, a live session of a role it is attached to, and a user it bounds."""
    arn = iam.create_policy(PolicyName=u.uniq("switch"), PolicyDocument=doc_of(
        {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}))["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc_of(
        {"Effect": "Allow", "Action": "iam:ListGroups", "Resource": "*"}))
    direct, member, bounded, group, role = (u.uniq(k) for k in ("direct", "member", "bounded", "sw-g", "sw-r"))
    iam.create_user(UserName=direct)
    iam.put_user_policy(UserName=direct, PolicyName="assume", PolicyDocument=doc_of(
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}))
    iam.attach_user_policy(UserName=direct, PolicyArn=arn)
    iam.create_user(UserName=member)
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=member)
    iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    iam.create_user(UserName=bounded, PermissionsBoundary=arn)
    iam.put_user_policy(UserName=bounded, PolicyName="all", PolicyDocument=u.ALLOW_ALL)
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=doc_of(
        {"Effect": "Allow", "Principal": {"AWS": u.user_arn(direct)}, "Action": "sts:AssumeRole"}))["Role"]["Arn"]
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)

    def client(name):
        k = iam.create_access_key(UserName=name)["AccessKey"]
        return server.client("iam", k["AccessKeyId"], k["SecretAccessKey"])

    clients = {n: client(n) for n in (direct, member, bounded)}
    k = iam.create_access_key(UserName=direct)["AccessKey"]
    creds = server.client("sts", k["AccessKeyId"], k["SecretAccessKey"]).assume_role(
        RoleArn=role_arn, RoleSessionName="switch")["Credentials"]
    clients["session"] = boto3.session.Session().client(
        "iam", endpoint_url=server.endpoint, region_name=u.REGION,
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"], config=Config(retries={"total_max_attempts": 1}))

    def may(c, call):
        try:
            call(c)()
            return True
        except ClientError as e:
            assert e.response["Error"]["Code"] == "AccessDenied", e.response
            return False

    def decisions():
        return {n: (may(c, lambda c: c.list_users), may(c, lambda c: c.list_groups)) for n, c in clients.items()}

    assert set(decisions().values()) == {(True, False)}
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v2")
    assert set(decisions().values()) == {(False, True)}
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    assert set(decisions().values()) == {(True, False)}
