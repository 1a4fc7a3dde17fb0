"""boto 2.49 (2011-era client) runs the seed article's script unchanged except for
the connection (see boto2_seed.py), in its own virtualenv (setup_boto2.sh)."""

import json
import os
import subprocess
import urllib.parse
from pathlib import Path

import pytest

import e2e_util as u

HERE = Path(__file__).resolve().parent
VENV = Path(os.environ.get("BOTO2_VENV", u.REPO / ".venv-boto2"))
PY = VENV / "bin" / "python"


@pytest.fixture(scope="module")
def boto2_python():
    if not PY.exists():
        p = subprocess.run(["bash", str(HERE / "setup_boto2.sh")], capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stdout + p.stderr
    return PY


@pytest.fixture(scope="module")
def seed_run(server, boto2_python, tmp_path_factory):
    host, port = server.host_port
    home = tmp_path_factory.mktemp("boto2home")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "BOTO", "IAMD_")) and "proxy" not in k.lower()}
    # boto 2 retries 5xx answers with exponential backoff; fail fast instead.
    (home / "boto.cfg").write_text("[Boto]\nnum_retries = 0\nhttp_socket_timeout = 30\n")
    env.update({"HOME": str(home), "BOTO_CONFIG": str(home / "boto.cfg"), "PYTHONWARNINGS": "ignore"})
    p = subprocess.run([str(boto2_python), str(HERE / "boto2_seed.py"), host, str(port),
                        u.ROOT_ACCESS_KEY_ID, u.ROOT_SECRET_ACCESS_KEY],
                       env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"boto 2 script failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"
    lines = [l for l in p.stdout.splitlines() if l.startswith("RESULT ")]
    assert len(lines) == 1, p.stdout
    return p.stdout, json.loads(lines[0][len("RESULT "):])


def test_boto2_version(seed_run):
    assert seed_run[1]["boto_version"] == "2.49.0"


def test_printed_user(seed_run):
    user = seed_run[1]["user"]
    assert set(user) == {"path", "create_date", "arn", "user_name", "user_id"}, user
    assert user["path"] == "/"
    assert user["user_name"] == "melvins"
    assert user["arn"] == "arn:aws:iam::123456789012:user/melvins"
    assert u.USER_ID_RE.match(user["user_id"]), user
    assert u.ISO_Z_RE.match(user["create_date"]), user
    assert '"arn": "arn:aws:iam::123456789012:user/melvins"' in seed_run[0]
    assert seed_run[1]["request_id"]


def test_printed_key(seed_run):
    key = seed_run[1]["key"]
    assert set(key) == {"status", "user_name", "create_date", "secret_access_key", "access_key_id"}, key
    assert key["status"] == "Active"
    assert key["user_name"] == "melvins"
    assert u.ISO_Z_RE.match(key["create_date"]), key
    assert u.SECRET_RE.match(key["secret_access_key"]), key
    assert u.ACCESS_KEY_ID_RE.match(key["access_key_id"]), key
    out = seed_run[0]
    assert f"AWS_ACCESS_KEY_ID {key['access_key_id']}" in out
    assert f"AWS_SECRET_ACCESS_KEY {key['secret_access_key']}" in out


def test_policy_without_version_stored_verbatim(seed_run):
    raw = seed_run[1]["policy"]  # boto 2 hands back the URL-encoded document as sent on the wire
    assert "{" not in raw
    doc = urllib.parse.unquote(raw)
    assert json.loads(doc) == {"Statement": [{"Effect": "Allow", "Action": ["s3:*"],
                                              "Resource": ["arn:aws:s3:::houdini", "arn:aws:s3:::houdini/*"]}]}
    assert doc.startswith('{\n  "Statement":[{\n')


def test_group_and_members(seed_run):
    r = seed_run[1]
    assert r["group"]["arn"] == "arn:aws:iam::123456789012:group/admins"
    assert r["group"]["group_name"] == "admins"
    assert u.GROUP_ID_RE.match(r["group"]["group_id"]), r["group"]
    assert r["members"] == ["buzzo", "dale"]
    assert r["all_users"] == ["buzzo", "dale", "lorax", "melvins"]
    for name, k in r["staff_keys"].items():
        assert k["user_name"] == name and u.ACCESS_KEY_ID_RE.match(k["access_key_id"])


def test_authorization_seen_from_boto2(seed_run):
    r = seed_run[1]["as"]
    assert r["buzzo"] == {"ok": True}
    assert r["dale"] == {"ok": True}
    assert r["lorax"] == {"ok": False, "status": 403, "code": "AccessDenied", "message": u.not_authorized(
        u.user_arn("lorax"), "iam:CreateUser", u.user_arn("from-lorax"))}
    assert r["melvins"] == {"ok": False, "status": 403, "code": "AccessDenied", "message": u.not_authorized(
        u.user_arn("melvins"), "iam:CreateUser", u.user_arn("from-melvins"))}


def test_duplicate_error_seen_from_boto2(seed_run):
    assert seed_run[1]["duplicate"] == {"status": 409, "code": "EntityAlreadyExists",
                                        "message": "User with name melvins already exists."}


def test_state_seen_from_boto3(seed_run, iam, server):
    names = u.list_all_user_names(iam)
    assert {"melvins", "buzzo", "lorax", "dale", "from-buzzo"} <= names
    assert not names & {"from-lorax", "from-melvins"}
    key = seed_run[1]["key"]
    ident = server.client("sts", key["access_key_id"], key["secret_access_key"]).get_caller_identity()
    assert ident["Arn"] == u.user_arn("melvins")
    doc = iam.get_user_policy(UserName="melvins", PolicyName="allow_access_houdini")["PolicyDocument"]
    assert doc["Statement"][0]["Resource"] == ["arn:aws:s3:::houdini", "arn:aws:s3:::houdini/*"]


BOTO2_ASSUME_ROLE = r'''
import json, sys
import boto.iam.connection
import boto.sts
from boto.exception import BotoServerError
from boto.regioninfo import RegionInfo

host, port, ak, sk, role_arn = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
sts = boto.sts.STSConnection(ak, sk, is_secure=False, port=port,
                             region=RegionInfo(name="us-east-1", endpoint=host))
out = {}
try:
    sts.assume_role(role_arn, "boto2", external_id="wrong")
except BotoServerError as e:
    out["wrong_external_id"] = [e.status, e.error_code]
creds = sts.assume_role(role_arn, "boto2", external_id="houdini").credentials
out["access_key"] = creds.access_key
iam = boto.iam.connection.IAMConnection(creds.access_key, creds.secret_key, host=host, port=port,
                                        is_secure=False, security_token=creds.session_token)
users = iam.get_all_users()["list_users_response"]["list_users_result"]["users"]
out["users"] = sorted(u["user_name"] for u in users)
try:
    iam.create_user("not-allowed")
except BotoServerError as e:
    out["create_user"] = [e.status, e.error_code]
print("RESULT " + json.dumps(out))
'''


def test_boto2_assumes_a_role_and_uses_its_session(server, boto2_python, tmp_path):
    """boto 2's `STSConnection.assume_role` (SigV4) against iamd: a wrong ExternalId is
    refused, the session's credentials (with their token) call IAM through boto 2's
    IAMConnection within the role's policy and no further."""
    iam = server.client("iam")
    name = u.uniq("b2")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": u.user_arn(name)}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": "houdini"}}}]}
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    iam.put_role_policy(RoleName=name, PolicyName="list", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}]}))
    host, port = server.host_port
    home = tmp_path / "home"
    home.mkdir()
    (home / "boto.cfg").write_text("[Boto]\nnum_retries = 0\nhttp_socket_timeout = 30\n")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "BOTO", "IAMD_")) and "proxy" not in k.lower()}
    env.update({"HOME": str(home), "BOTO_CONFIG": str(home / "boto.cfg"), "PYTHONWARNINGS": "ignore"})
    p = subprocess.run([str(boto2_python), "-c", BOTO2_ASSUME_ROLE, host, str(port),
                        key["AccessKeyId"], key["SecretAccessKey"], role["Arn"]],
                       env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"boto 2 failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"
    lines = [l for l in p.stdout.splitlines() if l.startswith("RESULT ")]
    assert len(lines) == 1, p.stdout
    got = json.loads(lines[0][len("RESULT "):])
    assert got["wrong_external_id"] == [403, "AccessDenied"]
    assert got["access_key"].startswith("ASIA")
    assert name in got["users"]
    assert got["create_user"] == [403, "AccessDenied"]
