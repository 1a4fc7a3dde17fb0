"""Authorization of IAM/STS calls made with users' own keys (identity-based policies)."""

import json

import e2e_util as u
from e2e_util import aws_error, not_authorized


def pol(*statements, version="2012-10-17"):
    d = {"Statement": list(statements)}
    if version:
        d = {"Version": version, **d}
    return json.dumps(d)


def test_houdini_user_refused_iam(server, user_with_key):
    name, ak, sk = user_with_key("houdini", policy=u.HOUDINI_POLICY)
    iam = server.client("iam", ak, sk)
    target = u.uniq("x")
    with aws_error("AccessDenied", 403, not_authorized(u.user_arn(name), "iam:CreateUser", u.user_arn(target))):
        iam.create_user(UserName=target)
    with aws_error("AccessDenied", 403, not_authorized(u.user_arn(name), "iam:ListUsers", "arn:aws:iam::123456789012:user/")):
        iam.list_users()


def test_no_policy_user_refused(server, user_with_key, iam):
    name, ak, sk = user_with_key("nopol")
    other = u.uniq("o")
    iam.create_user(UserName=other)
    with aws_error("AccessDenied", 403, not_authorized(u.user_arn(name), "iam:GetUser", u.res_user(other))):
        server.client("iam", ak, sk).get_user(UserName=other)


def test_denied_request_changes_nothing(server, user_with_key, iam):
    name, ak, sk = user_with_key("nochange", policy=u.HOUDINI_POLICY)
    target = u.uniq("notmade")
    r = u.raw_call(server.endpoint, u.form(Action="CreateUser", Version=u.IAM_VERSION, UserName=target), ak=ak, sk=sk)
    assert r.status == 403
    assert r.error() == ("Sender", "AccessDenied", not_authorized(u.user_arn(name), "iam:CreateUser", u.user_arn(target)))
    assert target not in u.list_all_user_names(iam)


def test_group_policy_grants_and_revokes_immediately(server, iam, user_with_key):
    group = u.uniq("admins")
    iam.create_group(GroupName=group)
    iam.put_group_policy(GroupName=group, PolicyName="allow_all", PolicyDocument=u.ALLOW_ALL)
    name, ak, sk = user_with_key("staff")
    me = server.client("iam", ak, sk)
    iam.add_user_to_group(GroupName=group, UserName=name)
    made = u.uniq("made")
    assert me.create_user(UserName=made)["User"]["Arn"] == u.user_arn(made)
    iam.remove_user_from_group(GroupName=group, UserName=name)
    nxt = u.uniq("next")
    with aws_error("AccessDenied", 403, not_authorized(u.user_arn(name), "iam:CreateUser", u.user_arn(nxt))):
        me.create_user(UserName=nxt)
    # Back in the group: allowed again at once; policy deleted: refused at once.
    iam.add_user_to_group(GroupName=group, UserName=name)
    me.create_user(UserName=nxt)
    iam.delete_group_policy(GroupName=group, PolicyName="allow_all")
    third = u.uniq("third")
    with aws_error("AccessDenied", 403, not_authorized(u.user_arn(name), "iam:CreateUser", u.user_arn(third))):
        me.create_user(UserName=third)


def test_explicit_deny_wins(server, iam, user_with_key):
    group = u.uniq("allowers")
    iam.create_group(GroupName=group)
    iam.put_group_policy(GroupName=group, PolicyName="allow_all", PolicyDocument=u.ALLOW_ALL)
    deny = pol({"Effect": "Deny", "Action": "iam:CreateUser", "Resource": "*"})
    name, ak, sk = user_with_key("denied", policy=deny)
    iam.add_user_to_group(GroupName=group, UserName=name)
    me = server.client("iam", ak, sk)
    target = u.uniq("t")
    with aws_error("AccessDenied", 403, not_authorized(u.user_arn(name), "iam:CreateUser", u.user_arn(target), explicit=True)):
        me.create_user(UserName=target)
    # Everything else is still allowed by the group.
    assert me.get_user(UserName=name)["User"]["UserName"] == name


def test_wildcard_actions_and_not_action(server, iam, user_with_key):
    lister, ak, sk = user_with_key("lister", policy=pol({"Effect": "Allow", "Action": "iam:List*", "Resource": "*"}))
    me = server.client("iam", ak, sk)
    assert lister in u.list_all_user_names(me)
    t = u.uniq("t")
    with aws_error("AccessDenied", 403, not_authorized(u.user_arn(lister), "iam:CreateUser", u.user_arn(t))):
        me.create_user(UserName=t)

    na, ak2, sk2 = user_with_key("notaction", policy=pol(
        {"Effect": "Allow", "NotAction": "iam:CreateUser", "Resource": "*"}))
    me2 = server.client("iam", ak2, sk2)
    me2.list_users()
    with aws_error("AccessDenied", 403, not_authorized(u.user_arn(na), "iam:CreateUser", u.user_arn(t))):
        me2.create_user(UserName=t)


def test_action_names_case_insensitive(server, user_with_key):
    name, ak, sk = user_with_key("casey", policy=pol({"Effect": "Allow", "Action": "IAM:listusers", "Resource": "*"}))
    server.client("iam", ak, sk).list_users()


def test_resource_arn_with_path(server, iam, user_with_key):
    inside, outside = u.uniq("in"), u.uniq("out")
    iam.create_user(UserName=inside, Path="/team/")
    iam.create_user(UserName=outside)
    name, ak, sk = user_with_key("pathreader", policy=pol(
        {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "arn:aws:iam::123456789012:user/team/*"}))
    me = server.client("iam", ak, sk)
    assert me.get_user(UserName=inside)["User"]["Path"] == "/team/"
    with aws_error("AccessDenied", 403, not_authorized(u.user_arn(name), "iam:GetUser", u.res_user(outside))):
        me.get_user(UserName=outside)


SELF_KEYS = pol({"Effect": "Allow", "Action": "iam:*AccessKey*",
                 "Resource": "arn:aws:iam::123456789012:user/${aws:username}"})


def test_manage_only_own_access_keys(server, iam, user_with_key):
    name, ak, sk = user_with_key("selfie", policy=SELF_KEYS)
    other = u.uniq("other")
    iam.create_user(UserName=other)
    others_key = iam.create_access_key(UserName=other)["AccessKey"]["AccessKeyId"]
    me = server.client("iam", ak, sk)

    # Own keys: no UserName means "me".
    new = me.create_access_key()["AccessKey"]
    assert new["UserName"] == name
    assert sorted(k["AccessKeyId"] for k in me.list_access_keys()["AccessKeyMetadata"]) == sorted([ak, new["AccessKeyId"]])
    assert len(me.list_access_keys(UserName=name)["AccessKeyMetadata"]) == 2
    me.update_access_key(AccessKeyId=new["AccessKeyId"], Status="Inactive")
    assert me.get_access_key_last_used(AccessKeyId=ak)["UserName"] == name
    me.delete_access_key(AccessKeyId=new["AccessKeyId"])

    # Someone else's keys: refused, and nothing changes.
    other_res = u.res_user(other)
    with aws_error("AccessDenied", 403, not_authorized(u.user_arn(name), "iam:CreateAccessKey", other_res)):
        me.create_access_key(UserName=other)
    with aws_error("AccessDenied", 403, not_authorized(u.user_arn(name), "iam:ListAccessKeys", other_res)):
        me.list_access_keys(UserName=other)
    with aws_error("AccessDenied", 403, not_authorized(u.user_arn(name), "iam:DeleteAccessKey", other_res)):
        me.delete_access_key(UserName=other, AccessKeyId=others_key)
    with aws_error("AccessDenied", 403, not_authorized(u.user_arn(name), "iam:UpdateAccessKey", other_res)):
        me.update_access_key(UserName=other, AccessKeyId=others_key, Status="Inactive")
    meta = iam.list_access_keys(UserName=other)["AccessKeyMetadata"]
    assert [(m["AccessKeyId"], m["Status"]) for m in meta] == [(others_key, "Active")]
    # ... and the policy grants nothing else.
    with aws_error("AccessDenied", 403, not_authorized(u.user_arn(name), "iam:GetUser", u.res_user(name))):
        me.get_user(UserName=name)


def test_policy_variable_needs_version_2012(server, iam, user_with_key):
    # Without "Version": "2012-10-17" the policy language is 2008-10-17, where
    # ${aws:username} is a literal string, so it matches no user.
    legacy = pol({"Effect": "Allow", "Action": "iam:*AccessKey*",
                  "Resource": "arn:aws:iam::123456789012:user/${aws:username}"}, version=None)
    name, ak, sk = user_with_key("legacy", policy=legacy)
    with aws_error("AccessDenied", 403, message_re=u.not_authorized_self_re(u.user_arn(name), "iam:ListAccessKeys", name)):
        server.client("iam", ak, sk).list_access_keys()
    with aws_error("AccessDenied", 403, not_authorized(u.user_arn(name), "iam:ListAccessKeys", u.res_user(name))):
        server.client("iam", ak, sk).list_access_keys(UserName=name)


def test_get_caller_identity_always_allowed(server, iam, user_with_key):
    deny_all = pol({"Effect": "Deny", "Action": "*", "Resource": "*"})
    name, ak, sk = user_with_key("denyall", policy=deny_all)
    ident = server.client("sts", ak, sk).get_caller_identity()
    assert ident["Arn"] == u.user_arn(name)
    deny_sts = pol({"Effect": "Deny", "Action": "sts:GetCallerIdentity", "Resource": "*"})
    iam.put_user_policy(UserName=name, PolicyName="p2", PolicyDocument=deny_sts)
    assert server.client("sts", ak, sk).get_caller_identity()["Arn"] == u.user_arn(name)
    with aws_error("AccessDenied", 403, not_authorized(u.user_arn(name), "iam:GetUser", u.res_user(name), explicit=True)):
        server.client("iam", ak, sk).get_user(UserName=name)
