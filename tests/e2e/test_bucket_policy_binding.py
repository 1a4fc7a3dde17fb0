"""Bucket policies bind the IAM users and roles they name to their unique ids when the
policy is put, as AWS does (IAM User Guide, "AWS JSON policy elements: Principal"): a
user or role deleted and recreated under the same name has another id, so the policy
no longer grants it, and GetBucketPolicy shows the old unique id where the ARN was; a
renamed user is shown under its new ARN and keeps its access. The account root and
"*" are not bound. On SQLite (with a restart) and on two PostgreSQL nodes, where the
IAM change is made on the other node.

Waits poll with a deadline (never a fixed sleep); the deadline only bounds a failure."""

import json
import time
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import e2e_util as u

pytestmark = pytest.mark.process

ACCOUNT = u.ACCOUNT_ID
BUCKET = "bindings"
ROOT_ARN = f"arn:aws:iam::{ACCOUNT}:root"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"AWS": ROOT_ARN}, "Action": "sts:AssumeRole"}]})
ASSUME = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]})
DEADLINE = 10.0


def arn(kind, name):
    return f"arn:aws:iam::{ACCOUNT}:{kind}/{name}"


def policy():
    # Formatted as a client may send it: GetBucketPolicy answers this text, with only
    # the principals that no longer stand for what they named rewritten.
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "named", "Effect": "Allow",
         "Principal": {"AWS": [arn("user", "lorax"), arn("role", "reader"), arn("user", "dale"), ROOT_ARN]},
         "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"},
        {"Sid": "public", "Effect": "Allow", "Principal": "*",
         "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/public/*"},
    ]}, indent=2)


code_of = u.code_of


def until(what, check, deadline=DEADLINE):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        got = check()
        if got:
            return got
        time.sleep(0.01)
    raise AssertionError(f"{what}: not within {deadline}s")


def anonymous_get(server, key):
    try:
        with urllib.request.urlopen(f"{server.endpoint}/{BUCKET}/{key}", timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def user_with_key(iam, name):
    uid = iam.create_user(UserName=name)["User"]["UserId"]
    k = iam.create_access_key(UserName=name)["AccessKey"]
    return uid, (k["AccessKeyId"], k["SecretAccessKey"])


def delete_user(iam, name):
    for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=name, AccessKeyId=k["AccessKeyId"])
    iam.delete_user(UserName=name)


def read(s3):
    """HeadObject (s3:GetObject; the object's body is in one node's data directory:
    a node reads the metadata every node shares)."""
    try:
        s3.head_object(Bucket=BUCKET, Key="k")
        return "OK"
    except ClientError as e:
        return {"403": "AccessDenied"}.get(e.response["Error"]["Code"], e.response["Error"]["Code"])


def get(server, creds):
    return read(server.client("s3", *creds))


def role_creds(server, assumer):
    c = server.client("sts", *assumer).assume_role(
        RoleArn=arn("role", "reader"), RoleSessionName="reading")["Credentials"]
    return c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]


def get_as_role(server, assumer):
    ak, sk, token = role_creds(server, assumer)
    s3 = boto3.session.Session().client(
        "s3", endpoint_url=server.endpoint, region_name=u.REGION, aws_access_key_id=ak,
        aws_secret_access_key=sk, aws_session_token=token,
        config=Config(retries={"total_max_attempts": 1}))
    return read(s3)


def shown(server):
    doc = server.client("s3").get_bucket_policy(Bucket=BUCKET)["Policy"]
    return doc, json.loads(doc)["Statement"][0]["Principal"]["AWS"]


def setup(server):
    """The bucket, lorax, dale, the role reader and a user that may assume it; the
    policy naming them. Returns (ids, keys)."""
    iam, s3 = server.client("iam"), server.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="k", Body=b"bound")
    s3.put_object(Bucket=BUCKET, Key="public/p", Body=b"anyone")
    ids, keys = {}, {}
    for name in ("lorax", "dale"):
        ids[name], keys[name] = user_with_key(iam, name)
    ids["reader"] = iam.create_role(RoleName="reader", AssumeRolePolicyDocument=TRUST)["Role"]["RoleId"]
    _, keys["assumer"] = user_with_key(iam, "assumer")
    iam.put_user_policy(UserName="assumer", PolicyName="assume", PolicyDocument=ASSUME)
    s3.put_bucket_policy(Bucket=BUCKET, Policy=policy())
    return ids, keys


def test_recreated_principals_lose_access_on_sqlite(tmp_path):
    s = u.new_server(tmp_path)
    try:
        ids, keys = setup(s)
        iam = s.client("iam")
        assert s.client("s3", *keys["lorax"]).get_object(Bucket=BUCKET, Key="k")["Body"].read() == b"bound"
        assert get(s, keys["dale"]) == "OK"
        assert get_as_role(s, keys["assumer"]) == "OK"
        assert shown(s)[0] == policy()

        # lorax leaves; a new lorax is another user to the policy.
        delete_user(iam, "lorax")
        new_id, new_key = user_with_key(iam, "lorax")
        assert new_id != ids["lorax"]
        assert get(s, new_key) == "AccessDenied"
        assert code_of(lambda: s.client("s3", *new_key).get_object(Bucket=BUCKET, Key="k")) == "AccessDenied"
        # The role likewise: recreated, its sessions are refused.
        iam.delete_role(RoleName="reader")
        iam.create_role(RoleName="reader", AssumeRolePolicyDocument=TRUST)
        assert get_as_role(s, keys["assumer"]) == "AccessDenied"
        # dale renamed: the policy follows him (his new ARN) and he keeps reading.
        iam.update_user(UserName="dale", NewUserName="dale2")
        assert get(s, keys["dale"]) == "OK"

        expected = [ids["lorax"], ids["reader"], arn("user", "dale2"), ROOT_ARN]
        doc, principals = shown(s)
        assert principals == expected
        # Only the bound principals changed in the text sent.
        assert doc == policy().replace(f'"{arn("user", "lorax")}"', f'"{ids["lorax"]}"') \
            .replace(f'"{arn("role", "reader")}"', f'"{ids["reader"]}"') \
            .replace(f'"{arn("user", "dale")}"', f'"{arn("user", "dale2")}"')
        # "*" is not bound.
        assert anonymous_get(s, "public/p") == 200

        # The bindings are stored with the policy: a restart changes nothing.
        s.restart()
        assert get(s, new_key) == "AccessDenied"
        assert get_as_role(s, keys["assumer"]) == "AccessDenied"
        assert get(s, keys["dale"]) == "OK"
        assert shown(s)[1] == expected
        assert anonymous_get(s, "public/p") == 200

        # Put again, the policy binds the new lorax and role.
        s.client("s3").put_bucket_policy(Bucket=BUCKET, Policy=policy().replace("/dale", "/dale2"))
        assert get(s, new_key) == "OK"
        assert get_as_role(s, keys["assumer"]) == "OK"
    finally:
        s.kill()


def test_a_policy_stored_without_bindings_is_bound_when_loaded(tmp_path):
    """A policy an older build stored (no bindings row): bound when loaded to the ids
    of that moment; a principal already gone then is never matched by its bare ARN."""
    import sqlite3

    s = u.new_server(tmp_path)
    try:
        iam, s3 = s.client("iam"), s.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="k", Body=b"bound")
        old_id, key = user_with_key(iam, "lorax")
        user_with_key(iam, "gone")
        doc = json.dumps({"Statement": [{
            "Effect": "Allow", "Principal": {"AWS": [arn("user", "lorax"), arn("user", "gone")]},
            "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}]})
        s3.put_bucket_policy(Bucket=BUCKET, Policy=doc)
        delete_user(iam, "gone")
        s.stop()
        db = sqlite3.connect(s.data_dir / "iamd.db")
        with db:
            n = db.execute("DELETE FROM s3_bucket_settings WHERE kind = 'policy-bindings'").rowcount
        db.close()
        assert n == 1
        s.start()
        iam = s.client("iam")
        assert get(s, key) == "OK"
        _, gone_key = user_with_key(iam, "gone")
        assert get(s, gone_key) == "AccessDenied"
        assert shown(s)[1] == [arn("user", "lorax"), ""]
        delete_user(iam, "lorax")
        _, new_key = user_with_key(iam, "lorax")
        assert get(s, new_key) == "AccessDenied"
        assert shown(s)[1] == [old_id, ""]
    finally:
        s.kill()


@pytest.fixture(scope="module")
def pg():
    with u.pg_cluster() as cluster:
        yield cluster


def test_recreated_principals_lose_access_across_postgres_nodes(pg, tmp_path):
    """The policy is put on A; lorax and the role are recreated on B; A refuses them
    as soon as it follows B's change, and both show the old ids."""
    url = u.make_db(pg[0], "bind_two_nodes")
    env = {"IAMD_DATABASE_URL": url, "IAMD_MASTER_KEY": "5e" * 32}
    a = u.new_server(tmp_path / "a", extra_env=env)
    b = u.new_server(tmp_path / "b", extra_env=env)
    try:
        ids, keys = setup(a)
        until("lorax reads on B", lambda: get(b, keys["lorax"]) == "OK")
        assert get(a, keys["lorax"]) == "OK"
        assert get_as_role(a, keys["assumer"]) == "OK"

        iam_b = b.client("iam")
        delete_user(iam_b, "lorax")
        _, new_key = user_with_key(iam_b, "lorax")
        iam_b.delete_role(RoleName="reader")
        iam_b.create_role(RoleName="reader", AssumeRolePolicyDocument=TRUST)
        assert get(b, new_key) == "AccessDenied"
        # A follows: the new lorax's key authenticates there, and is refused.
        until("new lorax refused on A", lambda: get(a, new_key) == "AccessDenied")
        until("new role refused on A", lambda: code_of(lambda: role_creds(a, keys["assumer"])) == "OK"
              and get_as_role(a, keys["assumer"]) == "AccessDenied")
        expected = [ids["lorax"], ids["reader"], arn("user", "dale"), ROOT_ARN]
        assert shown(a)[1] == expected
        assert shown(b)[1] == expected
        assert get(a, keys["dale"]) == "OK"
    finally:
        a.kill()
        b.kill()
