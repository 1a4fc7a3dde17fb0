"""Access keys through boto3: create/list/update/delete, quota, inactive keys, last used."""

import datetime as dt
import json

import e2e_util as u
from e2e_util import aws_error

INVALID_TOKEN = "The security token included in the request is invalid."
GET_USER_ONLY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}]})


def test_create_access_key_shape(iam, new_user):
    user = new_user("keyed")
    k = iam.create_access_key(UserName=user)["AccessKey"]
    assert k["UserName"] == user
    assert u.ACCESS_KEY_ID_RE.match(k["AccessKeyId"]), k["AccessKeyId"]
    assert u.SECRET_RE.match(k["SecretAccessKey"]), k["SecretAccessKey"]
    assert k["Status"] == "Active"
    assert abs(k["CreateDate"] - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=5)


def test_new_key_works_immediately(server, iam, new_user):
    user = new_user("fresh")
    k = iam.create_access_key(UserName=user)["AccessKey"]
    ident = server.client("sts", k["AccessKeyId"], k["SecretAccessKey"]).get_caller_identity()
    assert ident["Arn"] == u.user_arn(user)
    assert ident["Account"] == u.ACCOUNT_ID
    assert ident["UserId"] == iam.get_user(UserName=user)["User"]["UserId"]


def test_list_access_keys_never_carries_secret(server, iam, new_user):
    user = new_user("lister")
    k1 = iam.create_access_key(UserName=user)["AccessKey"]
    k2 = iam.create_access_key(UserName=user)["AccessKey"]
    assert k1["AccessKeyId"] != k2["AccessKeyId"] and k1["SecretAccessKey"] != k2["SecretAccessKey"]
    listed = iam.list_access_keys(UserName=user)
    assert listed["IsTruncated"] is False
    meta = sorted(listed["AccessKeyMetadata"], key=lambda m: m["AccessKeyId"])
    assert [m["AccessKeyId"] for m in meta] == sorted([k1["AccessKeyId"], k2["AccessKeyId"]])
    for m in meta:
        assert set(m) == {"UserName", "AccessKeyId", "Status", "CreateDate"}, m
        assert m["UserName"] == user and m["Status"] == "Active"
    # Raw bodies of every read operation: the secret appears in none of them.
    for body in (
        u.form(Action="ListAccessKeys", Version=u.IAM_VERSION, UserName=user),
        u.form(Action="GetUser", Version=u.IAM_VERSION, UserName=user),
        u.form(Action="GetAccessKeyLastUsed", Version=u.IAM_VERSION, AccessKeyId=k1["AccessKeyId"]),
        u.form(Action="ListUsers", Version=u.IAM_VERSION),
        u.form(Action="GetAccountSummary", Version=u.IAM_VERSION),
    ):
        r = u.raw_call(server.endpoint, body)
        assert r.status == 200, r.body
        for k in (k1, k2):
            assert k["SecretAccessKey"].encode() not in r.body, body


def test_access_key_quota(iam, new_user):
    user = new_user("quota")
    a = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    iam.create_access_key(UserName=user)
    with aws_error("LimitExceeded", 409, "Cannot exceed quota for AccessKeysPerUser: 2"):
        iam.create_access_key(UserName=user)
    # Inactive keys still count.
    iam.update_access_key(UserName=user, AccessKeyId=a, Status="Inactive")
    with aws_error("LimitExceeded", 409, "Cannot exceed quota for AccessKeysPerUser: 2"):
        iam.create_access_key(UserName=user)
    assert len(iam.list_access_keys(UserName=user)["AccessKeyMetadata"]) == 2
    iam.delete_access_key(UserName=user, AccessKeyId=a)
    iam.create_access_key(UserName=user)


def test_inactive_key_is_refused(server, iam, new_user):
    user = new_user("sleepy")
    k = iam.create_access_key(UserName=user)["AccessKey"]
    sts = server.client("sts", k["AccessKeyId"], k["SecretAccessKey"])
    sts.get_caller_identity()
    iam.update_access_key(UserName=user, AccessKeyId=k["AccessKeyId"], Status="Inactive")
    meta = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    assert [m["Status"] for m in meta] == ["Inactive"]
    with aws_error("InvalidClientTokenId", 403, INVALID_TOKEN):
        sts.get_caller_identity()
    with aws_error("InvalidClientTokenId", 403, INVALID_TOKEN):
        server.client("iam", k["AccessKeyId"], k["SecretAccessKey"]).list_users()
    iam.update_access_key(UserName=user, AccessKeyId=k["AccessKeyId"], Status="Active")
    assert sts.get_caller_identity()["Arn"] == u.user_arn(user)


def test_deleted_key_is_refused(server, iam, new_user):
    user = new_user("deleted")
    k = iam.create_access_key(UserName=user)["AccessKey"]
    sts = server.client("sts", k["AccessKeyId"], k["SecretAccessKey"])
    sts.get_caller_identity()
    iam.delete_access_key(UserName=user, AccessKeyId=k["AccessKeyId"])
    assert iam.list_access_keys(UserName=user)["AccessKeyMetadata"] == []
    with aws_error("InvalidClientTokenId", 403, INVALID_TOKEN):
        sts.get_caller_identity()


def test_access_key_errors(iam, iam_raw, new_user):
    alice, bob = new_user("alice"), new_user("bob")
    bobs = iam.create_access_key(UserName=bob)["AccessKey"]["AccessKeyId"]
    missing = "AKIAZZZZZZZZZZZZZZZZ"
    with aws_error("NoSuchEntity", 404, f"The Access Key with id {missing} cannot be found."):
        iam.update_access_key(UserName=alice, AccessKeyId=missing, Status="Inactive")
    with aws_error("NoSuchEntity", 404, f"The Access Key with id {missing} cannot be found."):
        iam.delete_access_key(UserName=alice, AccessKeyId=missing)
    # Another user's key is not found under this user, and stays untouched.
    with aws_error("NoSuchEntity", 404, f"The Access Key with id {bobs} cannot be found."):
        iam.delete_access_key(UserName=alice, AccessKeyId=bobs)
    assert [m["AccessKeyId"] for m in iam.list_access_keys(UserName=bob)["AccessKeyMetadata"]] == [bobs]
    with aws_error("NoSuchEntity", 404, "The user with name ghost-keys cannot be found."):
        iam.create_access_key(UserName="ghost-keys")
    with aws_error("NoSuchEntity", 404, "The user with name ghost-keys cannot be found."):
        iam.list_access_keys(UserName="ghost-keys")
    with aws_error("ValidationError", 400, u.validation_message(
            "Sleeping", "status", "Member must satisfy enum value set: [Active, Inactive, Expired]")):
        iam_raw.update_access_key(UserName=bob, AccessKeyId=bobs, Status="Sleeping")
    assert iam.list_access_keys(UserName=bob)["AccessKeyMetadata"][0]["Status"] == "Active"


def test_access_key_last_used(server, iam, new_user):
    user = new_user("used")
    iam.put_user_policy(UserName=user, PolicyName="get", PolicyDocument=GET_USER_ONLY)
    k = iam.create_access_key(UserName=user)["AccessKey"]
    before = iam.get_access_key_last_used(AccessKeyId=k["AccessKeyId"])
    assert before["UserName"] == user
    assert before["AccessKeyLastUsed"] == {"ServiceName": "N/A", "Region": "N/A"}

    t0 = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(seconds=1)
    server.client("sts", k["AccessKeyId"], k["SecretAccessKey"]).get_caller_identity()
    after = iam.get_access_key_last_used(AccessKeyId=k["AccessKeyId"])["AccessKeyLastUsed"]
    assert after["ServiceName"] == "sts"
    assert after["Region"] == "us-east-1"
    assert t0 <= after["LastUsedDate"] <= dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=5)

    server.client("iam", k["AccessKeyId"], k["SecretAccessKey"]).get_user()
    after = iam.get_access_key_last_used(AccessKeyId=k["AccessKeyId"])["AccessKeyLastUsed"]
    assert after["ServiceName"] == "iam"
    assert after["Region"] == "us-east-1"

