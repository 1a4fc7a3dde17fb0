"""Attribute-based access control on IAM itself, end to end: "users may manage only
the users tagged with their own `team`" (AWS's documented pattern, with
`iam:ResourceTag/team` = `${aws:PrincipalTag/team}` and `aws:RequestTag/team` on
CreateUser/TagUser) works, and cannot be escaped by re-tagging: a team-a user cannot
pull a team-b user into team a, move itself or a teammate to team b, strip a team
tag, or create a user of another team. The same policy on a role decides for a role
session by its session tags."""

import json

import boto3
import pytest
from botocore.config import Config

import e2e_util as u

TEAM_POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "ManageOwnTeam",
            "Effect": "Allow",
            "Action": ["iam:GetUser", "iam:DeleteUser", "iam:ListUserTags", "iam:TagUser",
                       "iam:UntagUser", "iam:PutUserPolicy"],
            "Resource": "arn:aws:iam::*:user/*",
            "Condition": {"StringEquals": {"iam:ResourceTag/team": "${aws:PrincipalTag/team}"}},
        },
        {
            "Sid": "CreateInOwnTeam",
            "Effect": "Allow",
            "Action": "iam:CreateUser",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestTag/team": "${aws:PrincipalTag/team}"}},
        },
        {
            "Sid": "NoOtherTeam",
            "Effect": "Deny",
            "Action": ["iam:CreateUser", "iam:TagUser"],
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:RequestTag/team": "${aws:PrincipalTag/team}"},
                          "Null": {"aws:RequestTag/team": "false"}},
        },
        {
            "Sid": "KeepTeamTags",
            "Effect": "Deny",
            "Action": "iam:UntagUser",
            "Resource": "*",
            "Condition": {"ForAnyValue:StringEqualsIgnoreCase": {"aws:TagKeys": "team"}},
        },
    ],
})


def team(t):
    return [{"Key": "team", "Value": t}]


def denied(action, principal_arn):
    return u.aws_error("AccessDenied", 403,
                       message_re=rf"User: {principal_arn} is not authorized to perform: iam:{action} on resource: .*")


def tags_of(iam, name):
    return {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName=name)["Tags"]}


@pytest.fixture(scope="module")
def teams(iam):
    names = {k: u.uniq(k) for k in ("alice", "bob", "carol")}
    for k, t in (("alice", "a"), ("bob", "a"), ("carol", "b")):
        iam.create_user(UserName=names[k], Tags=team(t))
    return names


def check_confined(iam, me, my_arn, teams, own, other):
    """`me` (of team `own`) manages `teams['bob']` (team `own`) and nothing of team
    `other` (`teams['carol']`), and cannot change anybody's team."""
    bob, carol = teams["bob"], teams["carol"]
    assert me.get_user(UserName=bob)["User"]["UserName"] == bob
    with denied("GetUser", my_arn):
        me.get_user(UserName=carol)
    # Another tag on a teammate is fine; removing it too.
    me.tag_user(UserName=bob, Tags=[{"Key": "project", "Value": "x"}])
    me.untag_user(UserName=bob, TagKeys=["project"])
    # Pulling carol into the own team: carol is of the other team before the request.
    with denied("TagUser", my_arn):
        me.tag_user(UserName=carol, Tags=team(own))
    # Moving a teammate to the other team, in any key case.
    for key in ("team", "TEAM"):
        with denied("TagUser", my_arn):
            me.tag_user(UserName=bob, Tags=[{"Key": key, "Value": other}])
    # Stripping a team tag (then no team would confine the user), in any case.
    for key in ("team", "Team"):
        with denied("UntagUser", my_arn):
            me.untag_user(UserName=bob, TagKeys=[key])
    # Creating: only in the own team, and only tagged.
    newcomer = u.uniq("dave")
    with denied("CreateUser", my_arn):
        me.create_user(UserName=newcomer, Tags=team(other))
    with denied("CreateUser", my_arn):
        me.create_user(UserName=newcomer)
    me.create_user(UserName=newcomer, Tags=team(own))
    me.delete_user(UserName=newcomer)
    with denied("DeleteUser", my_arn):
        me.delete_user(UserName=carol)
    # Nothing refused took effect.
    assert tags_of(iam, carol) == {"team": other}
    assert tags_of(iam, bob) == {"team": own}


def test_users_manage_only_their_own_team(server, iam, teams):
    alice = teams["alice"]
    iam.put_user_policy(UserName=alice, PolicyName="team", PolicyDocument=TEAM_POLICY)
    k = iam.create_access_key(UserName=alice)["AccessKey"]
    me = server.client("iam", k["AccessKeyId"], k["SecretAccessKey"])
    alice_arn = u.user_arn(alice)
    check_confined(iam, me, alice_arn, teams, "a", "b")
    # Re-tagging itself out of its team: refused, whatever the value.
    with denied("TagUser", alice_arn):
        me.tag_user(UserName=alice, Tags=team("b"))
    with denied("UntagUser", alice_arn):
        me.untag_user(UserName=alice, TagKeys=["team"])
    assert tags_of(iam, alice) == {"team": "a"}
    # Once the root moves alice to team b, her reach moves with her, at once.
    iam.tag_user(UserName=alice, Tags=team("b"))
    assert me.get_user(UserName=teams["carol"])["User"]["UserName"] == teams["carol"]
    with denied("GetUser", alice_arn):
        me.get_user(UserName=teams["bob"])
    iam.tag_user(UserName=alice, Tags=team("a"))


def test_role_session_tags_confine_the_session(server, iam, teams):
    """The same policy on a role: a session tagged team=b (session tags override the
    role's own tag) manages team b only."""
    assumer = u.uniq("assumer")
    iam.create_user(UserName=assumer)
    k = iam.create_access_key(UserName=assumer)["AccessKey"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": u.user_arn(assumer)},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }],
    }
    role = u.uniq("team-admin")
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust),
                          Tags=team("a"))["Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="team", PolicyDocument=TEAM_POLICY)
    iam.put_user_policy(UserName=assumer, PolicyName="assume", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Resource": arn}],
    }))
    sts = server.client("sts", k["AccessKeyId"], k["SecretAccessKey"])
    creds = sts.assume_role(RoleArn=arn, RoleSessionName="sb", Tags=team("b"))["Credentials"]
    session = boto3.session.Session().client(
        "iam", endpoint_url=server.endpoint, region_name=u.REGION,
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"], config=Config(retries={"total_max_attempts": 1}))
    session_arn = arn.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/")
    # Team b: carol is the teammate here, bob the outsider.
    swapped = {"bob": teams["carol"], "carol": teams["bob"]}
    check_confined(iam, session, session_arn + "/sb", swapped, "b", "a")
    # Without session tags the role's own tag (team a) applies.
    creds = sts.assume_role(RoleArn=arn, RoleSessionName="ta")["Credentials"]
    plain = boto3.session.Session().client(
        "iam", endpoint_url=server.endpoint, region_name=u.REGION,
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"], config=Config(retries={"total_max_attempts": 1}))
    assert plain.get_user(UserName=teams["bob"])["User"]["UserName"] == teams["bob"]
    with denied("GetUser", session_arn + "/ta"):
        plain.get_user(UserName=teams["carol"])


@pytest.mark.parametrize("kind", ["user", "role", "policy", "instance_profile"])
def test_tag_rules_on_every_taggable_kind(iam, kind):
    """Tag/Untag/List…Tags on users, roles, customer-managed policies and instance
    profiles, with AWS's rules: 50 tags, case-insensitive keys (a key set again in
    another case replaces the old one), the model's length and character rules,
    the `aws:` prefix reserved."""
    name = u.uniq("tagged")
    if kind == "user":
        iam.create_user(UserName=name)
        ident = {"UserName": name}
        tag, untag, listing = iam.tag_user, iam.untag_user, iam.list_user_tags
    elif kind == "role":
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
                "Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
        ident = {"RoleName": name}
        tag, untag, listing = iam.tag_role, iam.untag_role, iam.list_role_tags
    elif kind == "policy":
        arn = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))["Policy"]["Arn"]
        ident = {"PolicyArn": arn}
        tag, untag, listing = iam.tag_policy, iam.untag_policy, iam.list_policy_tags
    else:
        iam.create_instance_profile(InstanceProfileName=name)
        ident = {"InstanceProfileName": name}
        tag, untag, listing = iam.tag_instance_profile, iam.untag_instance_profile, iam.list_instance_profile_tags

    def tags():
        return [(t["Key"], t["Value"]) for t in listing(**ident)["Tags"]]

    tag(**ident, Tags=[{"Key": "Team", "Value": "a"}, {"Key": "env", "Value": ""}])
    # The same key in another case replaces it, keeping the new spelling.
    tag(**ident, Tags=[{"Key": "team", "Value": "b"}])
    assert sorted(tags()) == [("env", ""), ("team", "b")]
    with u.aws_error("InvalidInput", 400,
                     "Duplicate tag keys found. Please note that Tag keys are case insensitive."):
        tag(**ident, Tags=[{"Key": "k", "Value": "1"}, {"Key": "K", "Value": "2"}])
    for key in ("aws:x", "AWS:team"):
        with u.aws_error("InvalidInput", 400, "Tag keys starting with 'aws:' are reserved for internal use."):
            tag(**ident, Tags=[{"Key": key, "Value": "v"}])
    with u.aws_error("ValidationError", 400, message_re=r"1 validation error detected: Value '.*' at 'tags\.1\.member\.key' failed to satisfy constraint: Member must have length less than or equal to 128"):
        tag(**ident, Tags=[{"Key": "k" * 129, "Value": "v"}])
    with u.aws_error("ValidationError", 400, message_re=r"1 validation error detected: Value '.*' at 'tags\.1\.member\.value' failed to satisfy constraint: Member must have length less than or equal to 256"):
        tag(**ident, Tags=[{"Key": "k", "Value": "v" * 257}])
    with u.aws_error("ValidationError", 400, message_re=r"1 validation error detected: Value 'a\*b' at 'tags\.1\.member\.key' failed to satisfy constraint: Member must satisfy regular expression pattern: .*"):
        tag(**ident, Tags=[{"Key": "a*b", "Value": "v"}])
    # 50 at most: 48 more fit, the 51st does not.
    tag(**ident, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(48)])
    assert len(tags()) == 50
    with u.aws_error("LimitExceeded", 409):
        tag(**ident, Tags=[{"Key": "one-more", "Value": "v"}])
    # Re-setting an existing key at the limit is fine.
    tag(**ident, Tags=[{"Key": "K0", "Value": "w"}])
    untag(**ident, TagKeys=["TEAM", "missing"])
    got = dict(tags())
    assert "team" not in got and got["K0"] == "w" and len(got) == 49
    # Paging.
    first = listing(**ident, MaxItems=20)
    assert first["IsTruncated"] and len(first["Tags"]) == 20
    rest = listing(**ident, Marker=first["Marker"])
    assert not rest["IsTruncated"] and len(first["Tags"]) + len(rest["Tags"]) == 49
    paged = [t["Key"] for t in first["Tags"] + rest["Tags"]]
    assert len(set(paged)) == 49 and set(paged) == set(got)
