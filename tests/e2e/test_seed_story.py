"""The seed article's story with boto3, then who may do what afterwards.

The story runs twice, on a server of its own each time: as the article tells it
(group `admins` gets the inline allow-all policy) and with the AWS-managed
`AdministratorAccess` attached to `admins` instead. Either way, removing lorax from
the group cuts him off at his very next request.

(The S3 half of the story — melvins uploading to bucket houdini and nowhere else —
belongs to the S3 endpoint, which is not in the server's first version.)"""

import json

import pytest
from botocore.exceptions import ClientError

import e2e_util as u
from e2e_util import aws_error, not_authorized

ALLOW_ALL_2011 = '{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"


@pytest.fixture(scope="module", params=["inline", "managed"])
def story(request, tmp_path_factory):
    """`inline`: admins gets the allow-all inline policy (the module's server);
    `managed`: admins gets AdministratorAccess attached (a server of its own)."""
    if request.param == "inline":
        server = request.getfixturevalue("server")
    else:
        server = u.new_server(tmp_path_factory.mktemp("iamd-managed-story"))
        request.addfinalizer(server.kill)
    iam = server.client("iam")
    keys = {}
    user = iam.create_user(UserName="melvins")["User"]
    iam.put_user_policy(UserName="melvins", PolicyName="allow_access_houdini", PolicyDocument=u.HOUDINI_POLICY)
    keys["melvins"] = iam.create_access_key(UserName="melvins")["AccessKey"]

    iam.create_group(GroupName="admins")
    if request.param == "inline":
        iam.put_group_policy(GroupName="admins", PolicyName="allow_all", PolicyDocument=ALLOW_ALL_2011)
    else:
        iam.attach_group_policy(GroupName="admins", PolicyArn=ADMINISTRATOR_ACCESS)
    for name in ("buzzo", "lorax", "dale"):
        iam.create_user(UserName=name)
        keys[name] = iam.create_access_key(UserName=name)["AccessKey"]
    for name in ("buzzo", "lorax", "dale"):
        iam.add_user_to_group(GroupName="admins", UserName=name)

    clients = {n: server.client("iam", k["AccessKeyId"], k["SecretAccessKey"]) for n, k in keys.items()}
    sts = {n: server.client("sts", k["AccessKeyId"], k["SecretAccessKey"]) for n, k in keys.items()}
    # While in admins, lorax is trusted ...
    clients["lorax"].create_user(UserName="hired-by-lorax")
    # ... until he leaves.
    iam.remove_user_from_group(GroupName="admins", UserName="lorax")
    # The very next request with his key.
    try:
        clients["lorax"].create_user(UserName="right-after")
        next_request = None
    except ClientError as e:
        next_request = e.response
    return {"variant": request.param, "root": iam, "user": user, "keys": keys, "iam": clients, "sts": sts,
            "lorax_next": next_request}


def test_story_state(story):
    iam = story["root"]
    assert story["user"]["Arn"] == "arn:aws:iam::123456789012:user/melvins"
    k = story["keys"]["melvins"]
    assert u.ACCESS_KEY_ID_RE.match(k["AccessKeyId"]) and u.SECRET_RE.match(k["SecretAccessKey"])
    assert iam.get_user_policy(UserName="melvins", PolicyName="allow_access_houdini")["PolicyDocument"] == json.loads(u.HOUDINI_POLICY)
    assert sorted(x["UserName"] for x in iam.get_group(GroupName="admins")["Users"]) == ["buzzo", "dale"]
    assert iam.list_groups_for_user(UserName="lorax")["Groups"] == []
    assert "hired-by-lorax" in u.list_all_user_names(iam)
    inline = iam.list_group_policies(GroupName="admins")["PolicyNames"]
    attached = iam.list_attached_group_policies(GroupName="admins")["AttachedPolicies"]
    if story["variant"] == "inline":
        assert (inline, attached) == (["allow_all"], [])
    else:
        assert (inline, attached) == ([], [{"PolicyName": "AdministratorAccess", "PolicyArn": ADMINISTRATOR_ACCESS}])
        assert iam.get_policy(PolicyArn=ADMINISTRATOR_ACCESS)["Policy"]["AttachmentCount"] == 1


def test_everyone_knows_who_they_are(story):
    for name, sts in story["sts"].items():
        assert sts.get_caller_identity()["Arn"] == u.user_arn(name)


def test_melvins_refused_iam(story):
    me = story["iam"]["melvins"]
    arn = u.user_arn("melvins")
    with aws_error("AccessDenied", 403, not_authorized(arn, "iam:CreateUser", "arn:aws:iam::123456789012:user/x")):
        me.create_user(UserName="x")
    with aws_error("AccessDenied", 403, not_authorized(arn, "iam:ListUsers", "arn:aws:iam::123456789012:user/")):
        me.list_users()
    with aws_error("AccessDenied", 403, not_authorized(arn, "iam:GetUser", u.res_user("melvins"))):
        me.get_user(UserName="melvins")
    with aws_error("AccessDenied", 403, message_re=u.not_authorized_self_re(arn, "iam:CreateAccessKey", "melvins")):
        me.create_access_key()
    with aws_error("AccessDenied", 403, not_authorized(arn, "iam:PutUserPolicy", u.res_user("melvins"))):
        me.put_user_policy(UserName="melvins", PolicyName="escalate", PolicyDocument=u.ALLOW_ALL)
    with aws_error("AccessDenied", 403, not_authorized(arn, "iam:AddUserToGroup", u.res_group("admins"))):
        me.add_user_to_group(GroupName="admins", UserName="melvins")


def test_buzzo_may_administer(story):
    me = story["iam"]["buzzo"]
    made = me.create_user(UserName="hired-by-buzzo")["User"]
    assert made["Arn"] == u.user_arn("hired-by-buzzo")
    assert "melvins" in u.list_all_user_names(me)
    me.put_user_policy(UserName="hired-by-buzzo", PolicyName="p", PolicyDocument=u.HOUDINI_POLICY)
    me.delete_user_policy(UserName="hired-by-buzzo", PolicyName="p")
    me.delete_user(UserName="hired-by-buzzo")


def test_lorax_refused_right_after_leaving(story):
    r = story["lorax_next"]
    assert r is not None, "lorax could still create users right after leaving admins"
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert r["Error"]["Code"] == "AccessDenied"
    assert r["Error"]["Message"] == not_authorized(
        u.user_arn("lorax"), "iam:CreateUser", "arn:aws:iam::123456789012:user/right-after")


def test_lorax_refused_after_leaving(story):
    me = story["iam"]["lorax"]
    arn = u.user_arn("lorax")
    with aws_error("AccessDenied", 403, not_authorized(arn, "iam:CreateUser", "arn:aws:iam::123456789012:user/comeback")):
        me.create_user(UserName="comeback")
    with aws_error("AccessDenied", 403, not_authorized(arn, "iam:ListUsers", "arn:aws:iam::123456789012:user/")):
        me.list_users()
    with aws_error("AccessDenied", 403, not_authorized(arn, "iam:AddUserToGroup", u.res_group("admins"))):
        me.add_user_to_group(GroupName="admins", UserName="lorax")
    # His key still authenticates (it was not deleted) — it just grants nothing.
    assert story["sts"]["lorax"].get_caller_identity()["Arn"] == arn


def test_dale_still_allowed(story):
    me = story["iam"]["dale"]
    assert me.get_group(GroupName="admins")["Group"]["GroupName"] == "admins"
    me.create_user(UserName="hired-by-dale")
    me.delete_user(UserName="hired-by-dale")


def test_master_keys_never_needed(story):
    # The staff can now do the admin's job without the root keys: dale removes lorax's key.
    dale = story["iam"]["dale"]
    lorax_key = story["keys"]["lorax"]["AccessKeyId"]
    dale.delete_access_key(UserName="lorax", AccessKeyId=lorax_key)
    with aws_error("InvalidClientTokenId", 403, "The security token included in the request is invalid."):
        story["sts"]["lorax"].get_caller_identity()
