"""IAM users through boto3: create/get/list/update/delete, tags, AWS rules and errors."""

import datetime as dt
import json


import e2e_util as u
from e2e_util import aws_error


def _recent(ts):
    assert ts.tzinfo is not None
    now = dt.datetime.now(dt.timezone.utc)
    assert now - dt.timedelta(minutes=5) < ts < now + dt.timedelta(minutes=5), ts


def test_create_user_shape(iam):
    name = u.uniq("melvins")
    user = iam.create_user(UserName=name)["User"]
    assert user["UserName"] == name
    assert user["Path"] == "/"
    assert user["Arn"] == u.user_arn(name)
    assert u.USER_ID_RE.match(user["UserId"]), user["UserId"]
    _recent(user["CreateDate"])
    got = iam.get_user(UserName=name)["User"]
    assert {k: got[k] for k in ("UserName", "Path", "Arn", "UserId", "CreateDate")} == {
        k: user[k] for k in ("UserName", "Path", "Arn", "UserId", "CreateDate")
    }


def test_user_ids_are_unique(iam):
    ids = {iam.create_user(UserName=u.uniq("idu"))["User"]["UserId"] for _ in range(5)}
    assert len(ids) == 5


def test_create_user_wire_format(server):
    name = u.uniq("wire")
    r = u.raw_call(server.endpoint, u.form(Action="CreateUser", Version=u.IAM_VERSION, UserName=name))
    assert r.status == 200, r.body
    assert r.headers.get("content-type", "").startswith(("text/xml", "application/xml")), r.headers
    root = r.xml()
    ns = "{" + u.IAM_NS + "}"
    assert root.tag == ns + "CreateUserResponse"
    user = root.find(f"{ns}CreateUserResult/{ns}User")
    assert user.findtext(ns + "UserName") == name
    assert u.ISO_Z_RE.match(user.findtext(ns + "CreateDate")), user.findtext(ns + "CreateDate")
    request_id = root.findtext(f"{ns}ResponseMetadata/{ns}RequestId")
    assert request_id
    # AWS repeats the request id in the x-amzn-RequestId header.
    assert r.headers.get("x-amzn-requestid") == request_id, r.headers


def test_create_user_with_path(iam):
    name = u.uniq("pathy")
    path = "/division_abc/subdivision_xyz/"
    user = iam.create_user(UserName=name, Path=path)["User"]
    assert user["Path"] == path
    assert user["Arn"] == f"arn:aws:iam::123456789012:user/division_abc/subdivision_xyz/{name}"
    assert iam.get_user(UserName=name)["User"]["Arn"] == user["Arn"]


def test_get_user_not_found(iam):
    with aws_error("NoSuchEntity", 404, "The user with name nobody-here cannot be found."):
        iam.get_user(UserName="nobody-here")


def test_get_user_without_name_as_root(iam):
    # AWS: the root identity is returned as a pseudo-user: Arn ...:root, UserId = account id,
    # and no UserName.
    user = iam.get_user()["User"]
    assert user["Arn"] == u.ROOT_ARN
    assert user["UserId"] == u.ACCOUNT_ID
    assert "UserName" not in user


def test_get_user_without_name_as_user(iam, server, user_with_key):
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}]})
    name, ak, sk = user_with_key("self", policy=policy)
    me = server.client("iam", ak, sk).get_user()["User"]
    assert me["UserName"] == name
    assert me["Arn"] == u.user_arn(name)
    assert me["UserId"] == iam.get_user(UserName=name)["User"]["UserId"]


def test_duplicate_name_case_insensitive(iam):
    name = u.uniq("Dup")
    iam.create_user(UserName=name)
    with aws_error("EntityAlreadyExists", 409, f"User with name {name} already exists."):
        iam.create_user(UserName=name)
    upper = name.upper()
    with aws_error("EntityAlreadyExists", 409, f"User with name {upper} already exists."):
        iam.create_user(UserName=upper)
    assert upper not in u.list_all_user_names(iam)


def test_user_name_pattern_validation(iam_raw, iam):
    with aws_error("ValidationError", 400, u.validation_message("a b", "userName", u.NAME_PATTERN)):
        iam_raw.create_user(UserName="a b")
    assert "a b" not in u.list_all_user_names(iam)


def test_user_name_length_validation(iam_raw, iam):
    long = "x" * 65
    with aws_error("ValidationError", 400, u.validation_message(long, "userName", "Member must have length less than or equal to 64")):
        iam_raw.create_user(UserName=long)
    # 64 is fine.
    ok = "y" * 60 + u.uniq("")[-4:]
    ok = (ok + "z" * 64)[:64]
    iam.create_user(UserName=ok)
    assert iam.get_user(UserName=ok)["User"]["UserName"] == ok


def test_user_path_validation(iam_raw):
    name = u.uniq("badpath")
    with aws_error("ValidationError", 400, u.validation_message(
        "abc", "path",
        r"Member must satisfy regular expression pattern: (\u002F)|(\u002F[\u0021-\u007E]+\u002F)",
    )):
        iam_raw.create_user(UserName=name, Path="abc")


def test_missing_user_name(iam_raw):
    with aws_error("ValidationError", 400,
                   "1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null"):
        iam_raw.create_user()


def test_list_users_path_prefix_and_paging(iam):
    prefix = f"/{u.uniq('pager')}/"
    names = sorted(u.uniq("pg") for _ in range(7))
    for n in names:
        iam.create_user(UserName=n, Path=prefix)
    other = u.uniq("outside")
    iam.create_user(UserName=other, Path="/elsewhere/")

    # One call, MaxItems=3: truncated with a marker.
    first = iam.list_users(PathPrefix=prefix, MaxItems=3)
    assert len(first["Users"]) == 3
    assert first["IsTruncated"] is True
    assert isinstance(first["Marker"], str) and first["Marker"]

    # The paginator (Marker/MaxItems under the hood) walks all of them, no repeats.
    pages = list(iam.get_paginator("list_users").paginate(
        PathPrefix=prefix, PaginationConfig={"PageSize": 3}))
    assert [len(p["Users"]) for p in pages] == [3, 3, 1]
    assert [p["IsTruncated"] for p in pages] == [True, True, False]
    assert "Marker" not in pages[-1]
    seen = [x["UserName"] for p in pages for x in p["Users"]]
    assert sorted(seen) == names
    assert all(x["Path"] == prefix and x["Arn"] == u.user_arn(x["UserName"], prefix)
               for p in pages for x in p["Users"])

    # A prefix matching nothing, and the default prefix "/" listing everything.
    assert iam.list_users(PathPrefix="/no-such-prefix/")["Users"] == []
    everyone = u.list_all_user_names(iam)
    assert set(names) | {other} <= everyone


def test_list_users_not_truncated(iam):
    r = iam.list_users(PathPrefix="/no-such-prefix-either/")
    assert r["IsTruncated"] is False
    assert "Marker" not in r


def test_update_user_rename(iam, server):
    old, new = u.uniq("old"), u.uniq("new")
    created = iam.create_user(UserName=old)["User"]
    group = u.uniq("g")
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=old)
    k = iam.create_access_key(UserName=old)["AccessKey"]
    key = k["AccessKeyId"]
    iam.put_user_policy(UserName=old, PolicyName="keep", PolicyDocument=u.ALLOW_ALL)

    assert iam.update_user(UserName=old, NewUserName=new)["ResponseMetadata"]["HTTPStatusCode"] == 200
    with aws_error("NoSuchEntity", 404, f"The user with name {old} cannot be found."):
        iam.get_user(UserName=old)
    renamed = iam.get_user(UserName=new)["User"]
    assert renamed["UserId"] == created["UserId"]
    assert renamed["Arn"] == u.user_arn(new)
    assert renamed["CreateDate"] == created["CreateDate"]
    # Keys, memberships and inline policies follow the user.
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName=new)["AccessKeyMetadata"]] == [key]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=new)["Groups"]] == [group]
    assert iam.list_user_policies(UserName=new)["PolicyNames"] == ["keep"]
    assert [m["UserName"] for m in iam.get_group(GroupName=group)["Users"]] == [new]
    # The key now authenticates the renamed user.
    ident = server.client("sts", key, k["SecretAccessKey"]).get_caller_identity()
    assert ident["Arn"] == u.user_arn(new)


def test_update_user_new_path(iam):
    name = u.uniq("mover")
    iam.create_user(UserName=name)
    iam.update_user(UserName=name, NewPath="/moved/here/")
    got = iam.get_user(UserName=name)["User"]
    assert got["Path"] == "/moved/here/"
    assert got["Arn"] == u.user_arn(name, "/moved/here/")


def test_update_user_errors(iam, iam_raw):
    a, b = u.uniq("ua"), u.uniq("ub")
    iam.create_user(UserName=a)
    iam.create_user(UserName=b)
    with aws_error("EntityAlreadyExists", 409, f"User with name {b} already exists."):
        iam.update_user(UserName=a, NewUserName=b)
    with aws_error("NoSuchEntity", 404, "The user with name ghost-user cannot be found."):
        iam.update_user(UserName="ghost-user", NewUserName=u.uniq("x"))
    with aws_error("ValidationError", 400, u.validation_message("bad name", "newUserName", u.NAME_PATTERN)):
        iam_raw.update_user(UserName=a, NewUserName="bad name")
    # Nothing changed.
    assert iam.get_user(UserName=a)["User"]["UserName"] == a
    assert iam.get_user(UserName=b)["User"]["UserName"] == b


def test_delete_user(iam):
    name = u.uniq("gone")
    iam.create_user(UserName=name, Tags=[{"Key": "tags", "Value": "do not block deletion"}])
    iam.delete_user(UserName=name)
    with aws_error("NoSuchEntity", 404, f"The user with name {name} cannot be found."):
        iam.get_user(UserName=name)
    with aws_error("NoSuchEntity", 404, f"The user with name {name} cannot be found."):
        iam.delete_user(UserName=name)
    # The name is free again.
    iam.create_user(UserName=name)


def test_delete_user_conflict_access_keys(iam):
    name = u.uniq("haskey")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
    with aws_error("DeleteConflict", 409, "Cannot delete entity, must delete access keys first."):
        iam.delete_user(UserName=name)
    assert iam.get_user(UserName=name)["User"]["UserName"] == name
    iam.delete_access_key(UserName=name, AccessKeyId=key)
    iam.delete_user(UserName=name)


def test_delete_user_conflict_inline_policies(iam):
    name = u.uniq("haspol")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p1", PolicyDocument=u.ALLOW_ALL)
    with aws_error("DeleteConflict", 409, "Cannot delete entity, must delete policies first."):
        iam.delete_user(UserName=name)
    iam.delete_user_policy(UserName=name, PolicyName="p1")
    iam.delete_user(UserName=name)


def test_delete_user_conflict_group_membership(iam):
    name, group = u.uniq("member"), u.uniq("grp")
    iam.create_user(UserName=name)
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=name)
    with aws_error("DeleteConflict", 409, "Cannot delete entity, must remove users from group first."):
        iam.delete_user(UserName=name)
    iam.remove_user_from_group(GroupName=group, UserName=name)
    iam.delete_user(UserName=name)
    assert iam.get_group(GroupName=group)["Users"] == []


def test_tags(iam):
    name = u.uniq("tagged")
    created = iam.create_user(UserName=name, Tags=[{"Key": "team", "Value": "images"}])["User"]
    assert created["Tags"] == [{"Key": "team", "Value": "images"}]
    iam.tag_user(UserName=name, Tags=[{"Key": "cost-center", "Value": "42"}, {"Key": "team", "Value": "uploads"}])
    tags = iam.list_user_tags(UserName=name)
    assert sorted((t["Key"], t["Value"]) for t in tags["Tags"]) == [("cost-center", "42"), ("team", "uploads")]
    assert tags["IsTruncated"] is False
    assert sorted(t["Key"] for t in iam.get_user(UserName=name)["User"]["Tags"]) == ["cost-center", "team"]
    iam.untag_user(UserName=name, TagKeys=["team", "not-there"])
    assert iam.list_user_tags(UserName=name)["Tags"] == [{"Key": "cost-center", "Value": "42"}]
    iam.untag_user(UserName=name, TagKeys=["cost-center"])
    assert iam.list_user_tags(UserName=name)["Tags"] == []
    assert "Tags" not in iam.get_user(UserName=name)["User"]


def test_tag_errors(iam, iam_raw):
    with aws_error("NoSuchEntity", 404, "The user with name ghost-tags cannot be found."):
        iam.tag_user(UserName="ghost-tags", Tags=[{"Key": "a", "Value": "b"}])
    with aws_error("NoSuchEntity", 404, "The user with name ghost-tags cannot be found."):
        iam.list_user_tags(UserName="ghost-tags")
    with aws_error("NoSuchEntity", 404, "The user with name ghost-tags cannot be found."):
        iam.untag_user(UserName="ghost-tags", TagKeys=["a"])
    name = u.uniq("badtag")
    iam.create_user(UserName=name)
    with aws_error("ValidationError", 400, message_re=r"1 validation error detected: Value 'bad!key' at 'tags\.1\.member\.key' failed to satisfy constraint: Member must satisfy regular expression pattern: \[\\p\{L\}\\p\{Z\}\\p\{N\}_\.:/=\+\\-@\]\+"):
        iam_raw.tag_user(UserName=name, Tags=[{"Key": "bad!key", "Value": "v"}])
    assert iam.list_user_tags(UserName=name)["Tags"] == []


def test_max_items_validation(iam_raw):
    with aws_error("ValidationError", 400, u.validation_message(
            "1001", "maxItems", "Member must have value less than or equal to 1000")):
        iam_raw.list_users(MaxItems=1001)
    with aws_error("ValidationError", 400, u.validation_message(
            "0", "maxItems", "Member must have value greater than or equal to 1")):
        iam_raw.list_users(MaxItems=0)


def test_path_prefix_is_a_string_prefix(iam):
    tag = u.uniq("pfx").replace("-", "")
    a, b, c = u.uniq("pa"), u.uniq("pb"), u.uniq("pc")
    iam.create_user(UserName=a, Path=f"/{tag}_abc/subdivision_xyz/")
    iam.create_user(UserName=b, Path=f"/{tag}_abc/")
    iam.create_user(UserName=c, Path=f"/{tag}_def/")
    def names(prefix):
        return sorted(x["UserName"] for p in iam.get_paginator("list_users").paginate(PathPrefix=prefix) for x in p["Users"])
    assert names(f"/{tag}_abc/subdivision_xyz/") == [a]
    assert names(f"/{tag}_abc/") == sorted([a, b])
    assert names(f"/{tag}") == sorted([a, b, c])
