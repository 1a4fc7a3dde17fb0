"""Several accounts in one server (issue 11): `iamd account create` makes a second
account whose root key is in a private file of the data directory; every account has
its own IAM namespace, root keys and buckets; cross-account AssumeRole and bucket
policies need both sides' permission, as on AWS."""

import json
import os
import re
import stat
import subprocess

import pytest

import e2e_util as u

pytestmark = pytest.mark.process

A = u.ACCOUNT_ID
B = "210987654321"
ROLE = f"arn:aws:iam::{A}:role/shared"


def account_create(data_dir, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("IAMD_")}
    return subprocess.run(
        [str(u.iamd_bin()), "account", "create", "--data-dir", str(data_dir), *args],
        env=env, capture_output=True, text=True, timeout=60,
    )


def read_key(path):
    import configparser

    cp = configparser.ConfigParser()
    cp.read_string(path.read_text())
    return cp["default"]["aws_access_key_id"], cp["default"]["aws_secret_access_key"]


@pytest.fixture(scope="module")
def setup(server):
    """The module's server, stopped while account B is created, then started again."""
    server.stop()
    r = account_create(server.data_dir, "--account-id", B)
    server.start()
    assert r.returncode == 0, r.stderr
    cred = server.data_dir / f"root-credentials-{B}"
    ak, sk = read_key(cred)
    return server, r.stdout, cred, ak, sk


@pytest.fixture(scope="module")
def b_iam(setup):
    server, _, _, ak, sk = setup
    return server.client("iam", ak, sk)


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource):
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def b_user(server, b_iam, name, *statements):
    """A user of account B (with an inline policy of `statements`) and its clients' keys."""
    b_iam.create_user(UserName=name)
    if statements:
        b_iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy(*statements))
    k = b_iam.create_access_key(UserName=name)["AccessKey"]
    return k["AccessKeyId"], k["SecretAccessKey"]


def test_cli_prints_where_the_key_is_never_the_secret(setup):
    server, out, cred, ak, sk = setup
    assert str(cred) in out and B in out, out
    assert sk not in out and ak not in out
    assert stat.S_IMODE(cred.stat().st_mode) == 0o600
    # An existing id is refused (the first account's too); a random id is 12 digits.
    for taken in (B, A):
        r = account_create(server.data_dir, "--account-id", taken)
        assert r.returncode != 0 and taken in r.stderr, (r.stdout, r.stderr)
    r = account_create(server.data_dir, "--account-id", "12ab")
    assert r.returncode != 0 and "12 digits" in r.stderr
    r = account_create(server.data_dir)
    assert r.returncode == 0, r.stderr
    new = re.search(r"account (\d{12}) created", r.stdout).group(1)
    assert (server.data_dir / f"root-credentials-{new}").exists()
    # A data directory the server never initialized is refused, and left as it was.
    r = account_create(server.data_dir.parent / "nothing-here")
    assert r.returncode != 0
    empty = server.data_dir.parent / "empty"
    empty.mkdir(mode=0o700)
    r = account_create(empty)
    assert r.returncode != 0 and "start the server once" in r.stderr, r.stderr
    assert list(empty.iterdir()) == []


def test_no_account_without_its_credentials_file(setup):
    """The root secret is shown once: when its file cannot be written, no account is
    committed (the same id is free afterwards); an existing file is never replaced."""
    server, _, _, _, _ = setup
    c = "310987654321"
    blocked = server.data_dir / f"root-credentials-{c}"
    blocked.mkdir(mode=0o700)
    r = account_create(server.data_dir, "--account-id", c)
    assert r.returncode != 0 and str(blocked) in r.stderr, (r.stdout, r.stderr)
    blocked.rmdir()
    blocked.write_text("someone else's\n")
    r = account_create(server.data_dir, "--account-id", c)
    assert r.returncode != 0 and blocked.read_text() == "someone else's\n", r.stderr
    assert not (server.data_dir / f"root-credentials-{c}.tmp").exists()
    blocked.unlink()
    r = account_create(server.data_dir, "--account-id", c)
    assert r.returncode == 0, r.stderr
    assert read_key(blocked)[0].startswith("AKIA")


def test_first_start_keeps_its_root_key_before_committing(tmp_path):
    """The first account's generated root key is in root-credentials before it is
    committed: a start that cannot write the file creates nothing, and the next start
    (file writable) generates the key and writes it."""
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    blocked = data / "root-credentials"
    blocked.mkdir()
    s = u.Server(data_dir=data, log_dir=tmp_path / "logs", with_root_env=False)
    with pytest.raises(RuntimeError) as e:
        s.start()
    assert "root-credentials" in str(e.value), e.value
    blocked.rmdir()
    s.start()
    try:
        ak, sk = u.read_root_credentials(data)
        who = s.client("sts", ak, sk).get_caller_identity()
        assert who["Arn"] == f"arn:aws:iam::{A}:root"
    finally:
        s.stop()


def test_each_account_has_its_own_namespace(setup, b_iam, iam):
    server, _, _, ak, sk = setup
    who = server.client("sts", ak, sk).get_caller_identity()
    assert (who["Account"], who["Arn"]) == (B, f"arn:aws:iam::{B}:root")
    iam.create_user(UserName="bob")
    made = b_iam.create_user(UserName="bob")["User"]
    assert made["Arn"] == f"arn:aws:iam::{B}:user/bob"
    b_iam.create_group(GroupName="only-in-b")
    assert "only-in-b" not in [g["GroupName"] for g in iam.list_groups()["Groups"]]
    with u.aws_error("NoSuchEntity", 404):
        iam.get_group(GroupName="only-in-b")
    # B's user key works, in B.
    k = b_iam.create_access_key(UserName="bob")["AccessKey"]
    who = server.client("sts", k["AccessKeyId"], k["SecretAccessKey"]).get_caller_identity()
    assert who["Arn"] == f"arn:aws:iam::{B}:user/bob"


def test_root_manages_its_own_access_keys(setup, b_iam):
    _, _, _, ak, _ = setup
    keys = b_iam.list_access_keys()["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [ak]
    second = b_iam.create_access_key()["AccessKey"]
    assert second["Status"] == "Active"
    with u.aws_error("LimitExceeded", 409, "Cannot exceed quota for AccessKeysPerUser: 2"):
        b_iam.create_access_key()
    listed = {k["AccessKeyId"] for k in b_iam.list_access_keys()["AccessKeyMetadata"]}
    assert listed == {ak, second["AccessKeyId"]}
    b_iam.update_access_key(AccessKeyId=second["AccessKeyId"], Status="Inactive")
    statuses = {k["AccessKeyId"]: k["Status"] for k in b_iam.list_access_keys()["AccessKeyMetadata"]}
    assert statuses[second["AccessKeyId"]] == "Inactive"
    b_iam.delete_access_key(AccessKeyId=second["AccessKeyId"])
    assert [k["AccessKeyId"] for k in b_iam.list_access_keys()["AccessKeyMetadata"]] == [ak]


def shared_role(iam, name, trusted):
    trust = policy({"Effect": "Allow", "Principal": {"AWS": trusted}, "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": "x-42"}}})
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=policy(allow("iam:ListUsers", "*")))


def test_cross_account_assume_role(setup, b_iam, iam):
    server = setup[0]
    shared_role(iam, "shared", f"arn:aws:iam::{B}:root")
    shared_role(iam, "elsewhere", "arn:aws:iam::333333333333:root")
    dev = b_user(server, b_iam, "dev", allow("sts:AssumeRole", f"arn:aws:iam::{A}:role/*"))
    idle = b_user(server, b_iam, "idle")
    dev_sts = server.client("sts", *dev)
    creds = dev_sts.assume_role(RoleArn=ROLE, RoleSessionName="ci", ExternalId="x-42")
    assert creds["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{A}:assumed-role/shared/ci"
    c = creds["Credentials"]
    import boto3  # the session token needs its own client

    sess_sts = boto3.session.Session().client(
        "sts", endpoint_url=server.endpoint, region_name=u.REGION, aws_access_key_id=c["AccessKeyId"],
        aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
    who = sess_sts.get_caller_identity()
    assert (who["Account"], who["Arn"]) == (A, f"arn:aws:sts::{A}:assumed-role/shared/ci")
    sess_iam = boto3.session.Session().client(
        "iam", endpoint_url=server.endpoint, region_name=u.REGION, aws_access_key_id=c["AccessKeyId"],
        aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
    names = [x["UserName"] for x in sess_iam.list_users()["Users"]]
    assert "dev" not in names  # A's users, not B's
    denied = f"User: arn:aws:iam::{B}:user/dev is not authorized to perform: sts:AssumeRole on resource: {ROLE}"
    # The wrong ExternalId: the trust policy refuses.
    with u.aws_error("AccessDenied", 403, denied):
        dev_sts.assume_role(RoleArn=ROLE, RoleSessionName="ci", ExternalId="nope")
    # Trusted by A, but nothing in B allows it: refused (both sides are needed).
    with u.aws_error("AccessDenied", 403,
                     f"User: arn:aws:iam::{B}:user/idle is not authorized to perform: sts:AssumeRole on resource: {ROLE}"):
        server.client("sts", *idle).assume_role(RoleArn=ROLE, RoleSessionName="ci", ExternalId="x-42")
    # Allowed by B, but A's trust policy names another account: refused.
    other = f"arn:aws:iam::{A}:role/elsewhere"
    with u.aws_error("AccessDenied", 403,
                     f"User: arn:aws:iam::{B}:user/dev is not authorized to perform: sts:AssumeRole on resource: {other}"):
        dev_sts.assume_role(RoleArn=other, RoleSessionName="ci", ExternalId="x-42")


def test_cross_account_bucket_policy(setup, b_iam):
    server = setup[0]
    s3 = server.client("s3")
    bucket = u.uniq("xacct").lower()
    private = u.uniq("private").lower()
    s3.create_bucket(Bucket=bucket)
    s3.create_bucket(Bucket=private)
    reader_arn = f"arn:aws:iam::{B}:user/reader"
    grant = policy({"Effect": "Allow", "Principal": {"AWS": reader_arn}, "Action": ["s3:GetObject", "s3:PutObject"],
                    "Resource": f"arn:aws:s3:::{bucket}/*"})
    # As on AWS, a user of an account the server holds must exist to be named.
    with pytest.raises(Exception) as e:
        s3.put_bucket_policy(Bucket=bucket, Policy=grant)
    err = e.value.response
    assert (err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]) == (
        "MalformedPolicy", "Invalid principal in policy", 400)
    reader = b_user(server, b_iam, "reader", allow("s3:*", "*"))
    s3.put_bucket_policy(Bucket=bucket, Policy=grant)
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"from A")
    s3.put_object(Bucket=private, Key="a.txt", Body=b"private")
    unpermitted = b_user(server, b_iam, "unpermitted")
    r3 = server.client("s3", *reader)
    assert r3.get_object(Bucket=bucket, Key="a.txt")["Body"].read() == b"from A"
    r3.put_object(Bucket=bucket, Key="b.txt", Body=b"from B")
    assert s3.get_object(Bucket=bucket, Key="b.txt")["Body"].read() == b"from B"
    # The bucket policy does not grant it: refused, whatever B allows.
    with pytest.raises(Exception) as e:
        r3.get_object(Bucket=private, Key="a.txt")
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    # B grants nothing to this user: the bucket policy alone is not enough.
    with pytest.raises(Exception) as e:
        server.client("s3", *unpermitted).get_object(Bucket=bucket, Key="a.txt")
    assert e.value.response["Error"]["Code"] == "AccessDenied"


def test_bucket_names_are_global(setup, b_iam):
    server, _, _, ak, sk = setup
    a3 = server.client("s3")
    b3 = server.client("s3", ak, sk)
    name = u.uniq("houdini").lower()
    a3.create_bucket(Bucket=name)
    with pytest.raises(Exception) as e:
        b3.create_bucket(Bucket=name)
    err = e.value.response
    assert (err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]) == ("BucketAlreadyExists", 409)
    # us-east-1: creating a bucket you already own succeeds (AWS's legacy behaviour).
    a3.create_bucket(Bucket=name)
    mine = u.uniq("mine").lower()
    b3.create_bucket(Bucket=mine)
    listed_b = [x["Name"] for x in b3.list_buckets()["Buckets"]]
    assert mine in listed_b and name not in listed_b
    listed_a = a3.list_buckets()
    assert name in [x["Name"] for x in listed_a["Buckets"]] and mine not in [x["Name"] for x in listed_a["Buckets"]]
    # Owners are canonical user ids: one per account, the same in ACLs.
    owner_b = b3.list_buckets()["Owner"]["ID"]
    assert re.fullmatch(r"[0-9a-f]{64}", owner_b)
    assert owner_b == b3.get_bucket_acl(Bucket=mine)["Owner"]["ID"]
    assert owner_b != listed_a["Owner"]["ID"]


def test_a_restart_keeps_every_account(setup, b_iam):
    server, _, _, ak, sk = setup
    b_iam.create_user(UserName="survivor")
    server.restart()
    b = server.client("iam", ak, sk)
    assert b.get_user(UserName="survivor")["User"]["Arn"] == f"arn:aws:iam::{B}:user/survivor"
    with u.aws_error("NoSuchEntity", 404):
        server.client("iam").get_user(UserName="survivor")


def test_trust_binds_another_accounts_user_to_its_unique_id(setup):
    """As on AWS, a user of another account named in a trust policy is bound to its
    unique id: a user that does not exist is an invalid principal; deleted and
    recreated, it is no longer trusted (after a restart too), and GetRole shows the old
    unique id where its ARN was."""
    # After the module's other restart, with clients of the port the server has now;
    # last in the module: it restarts the server again.
    server, _, _, ak, sk = setup
    iam, b_iam = server.client("iam"), server.client("iam", ak, sk)
    arn = f"arn:aws:iam::{B}:user/binder"
    with u.aws_error("MalformedPolicyDocument", 400, f'Invalid principal in policy: "AWS":"{arn}"'):
        shared_role(iam, "bound", arn)
    first = b_user(server, b_iam, "binder", allow("sts:AssumeRole", f"arn:aws:iam::{A}:role/*"))
    old_id = b_iam.get_user(UserName="binder")["User"]["UserId"]
    shared_role(iam, "bound", arn)
    role = f"arn:aws:iam::{A}:role/bound"
    server.client("sts", *first).assume_role(RoleArn=role, RoleSessionName="s1", ExternalId="x-42")
    assert iam.get_role(RoleName="bound")["Role"]["AssumeRolePolicyDocument"]["Statement"][0][
        "Principal"] == {"AWS": arn}
    b_iam.delete_user_policy(UserName="binder", PolicyName="p")
    b_iam.delete_access_key(UserName="binder", AccessKeyId=first[0])
    b_iam.delete_user(UserName="binder")
    again = b_user(server, b_iam, "binder", allow("sts:AssumeRole", f"arn:aws:iam::{A}:role/*"))
    assert b_iam.get_user(UserName="binder")["User"]["UserId"] != old_id
    denied = f"User: {arn} is not authorized to perform: sts:AssumeRole on resource: {role}"
    for restarted in (False, True):
        if restarted:
            server.restart()
            iam = server.client("iam")  # the restarted server listens on another port
        shown = iam.get_role(RoleName="bound")["Role"]["AssumeRolePolicyDocument"]
        assert shown["Statement"][0]["Principal"] == {"AWS": old_id}, (restarted, shown)
        with u.aws_error("AccessDenied", 403, denied):
            server.client("sts", *again).assume_role(RoleArn=role, RoleSessionName="s1", ExternalId="x-42")
