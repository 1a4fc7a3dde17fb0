"""`iamd serve --ephemeral --test-mode`: moto's conventions for test suites.

Each test starts the real binary with the flags under test (its own HOME, cwd and
TMPDIR, so that "nothing left behind" can be checked) and drives it with boto3.
"""

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

import e2e_util as u

pytestmark = pytest.mark.process

ALLOW_S3 = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})


class Proc:
    def __init__(self, root: Path, *flags, env=None, listen_host="127.0.0.1"):
        self.root = root
        self.home, self.cwd, self.tmp = root / "home", root / "cwd", root / "tmp"
        for d in (self.home, self.cwd, self.tmp):
            d.mkdir(parents=True, exist_ok=True)
        self.port = u.free_port()
        e = {k: v for k, v in os.environ.items() if not k.startswith("IAMD_")}
        e.update(HOME=str(self.home), TMPDIR=str(self.tmp))
        e.update(env or {})
        self.cmd = [str(u.iamd_bin()), "serve", "--listen", f"{listen_host}:{self.port}",
                    "--account-id", u.ACCOUNT_ID, *flags]
        self.proc = subprocess.Popen(self.cmd, env=e, cwd=self.cwd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def wait_listening(self, timeout=15.0):
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"iamd exited {self.proc.returncode}: {self.proc.stderr.read().decode()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def finish(self, timeout=15.0):
        """(exit code, stdout, stderr) once the process ends (SIGTERM first if running)."""
        if self.proc.poll() is None:
            self.proc.terminate()
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out.decode(), err.decode()

    def client(self, service, ak="testing", sk="testing", token=None, **kw):
        if token is None:
            return u.make_client(self.endpoint, service, ak, sk, **kw)
        return boto3.session.Session().client(
            service, endpoint_url=self.endpoint, region_name=u.REGION, aws_access_key_id=ak,
            aws_secret_access_key=sk, aws_session_token=token,
            config=BotoConfig(retries={"total_max_attempts": 1}))

    def post(self, path, body=b""):
        req = urllib.request.Request(self.endpoint + path, data=body, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()


def files_under(*dirs):
    return sorted(str(p) for d in dirs for p in Path(d).rglob("*"))


@pytest.fixture
def tm(tmp_path):
    p = Proc(tmp_path, "--ephemeral", "--test-mode").wait_listening()
    yield p
    p.finish()


def user_with_key(iam, name, policy=None):
    iam.create_user(UserName=name)
    if policy:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy)
    k = iam.create_access_key(UserName=name)["AccessKey"]
    return k["AccessKeyId"], k["SecretAccessKey"]


def test_unknown_key_is_root_of_the_default_account_everywhere(tm):
    # moto's convention: any key and secret, even with a session token.
    for ak, sk, token in [("testing", "testing", None), ("AKIAFAKEFAKEFAKE1234", "x", None),
                          ("testing", "testing", "testing")]:
        ident = tm.client("sts", ak, sk, token).get_caller_identity()
        assert ident["Arn"] == u.ROOT_ARN and ident["Account"] == u.ACCOUNT_ID
    # Any region in the signature scope.
    other_region = boto3.session.Session().client(
        "sts", endpoint_url=tm.endpoint, region_name="eu-west-3", aws_access_key_id="testing",
        aws_secret_access_key="testing", config=BotoConfig(retries={"total_max_attempts": 1}))
    assert other_region.get_caller_identity()["Arn"] == u.ROOT_ARN
    iam = tm.client("iam", "AKIAANYTHING", "whatever")
    iam.create_user(UserName="alice")
    assert [x["UserName"] for x in tm.client("iam").list_users()["Users"]] == ["alice"]
    s3 = tm.client("s3", "someone", "else")
    s3.create_bucket(Bucket="bucket-one")
    s3.put_object(Bucket="bucket-one", Key="k", Body=b"hello")
    assert tm.client("s3").get_object(Bucket="bucket-one", Key="k")["Body"].read() == b"hello"
    # A presigned URL with an unknown key works too.
    s3.put_object(Bucket="bucket-one", Key="t", Body=b"token")
    assert tm.client("s3", "testing", "testing", "testing").get_object(Bucket="bucket-one", Key="t")["Body"].read() == b"token"
    # SigV2 (header), as old clients sign.
    v2 = tm.client("s3", "old-client", "secret", signature_version="s3")
    assert v2.get_object(Bucket="bucket-one", Key="k")["Body"].read() == b"hello"
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "bucket-one", "Key": "k"})
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.read() == b"hello"


def test_malformed_signature_is_still_refused(tm):
    req = urllib.request.Request(
        tm.endpoint + "/?Action=GetCallerIdentity&Version=2011-06-15",
        headers={"Authorization": "AWS4-HMAC-SHA256 garbage"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code in (400, 403)


def test_issued_key_keeps_identity_and_is_enforced(tm):
    iam = tm.client("iam")
    ak, sk = user_with_key(iam, "bob")
    bob_sts = tm.client("sts", ak, sk)
    assert bob_sts.get_caller_identity()["Arn"] == u.user_arn("bob")
    with pytest.raises(ClientError) as e:
        tm.client("iam", ak, sk).create_user(UserName="x")
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError) as e:
        tm.client("s3", ak, sk).create_bucket(Bucket="bobs")
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    # The real secret is checked for a key the server holds.
    with pytest.raises(ClientError) as e:
        tm.client("sts", ak, "wrong-secret").get_caller_identity()
    assert e.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    with pytest.raises(ClientError) as e:
        tm.client("s3", ak, "wrong-secret").list_buckets()
    assert e.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    # With a policy, the same key may.
    iam.put_user_policy(UserName="bob", PolicyName="s3", PolicyDocument=ALLOW_S3)
    tm.client("s3", ak, sk).create_bucket(Bucket="bobs")


def test_reset_empties_everything(tm):
    iam = tm.client("iam")
    ak, sk = user_with_key(iam, "carol", ALLOW_S3)
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(
        {"Statement": [{"Effect": "Allow", "Principal": {"AWS": u.ROOT_ARN}, "Action": "sts:AssumeRole"}]}))
    iam.create_policy(PolicyName="p", PolicyDocument=ALLOW_S3)
    iam.create_group(GroupName="g")
    s3 = tm.client("s3")
    s3.create_bucket(Bucket="keep")
    s3.put_object(Bucket="keep", Key="k", Body=b"x" * 1000)
    t0 = time.perf_counter()
    status, body = tm.post("/moto-api/reset")
    elapsed_ms = (time.perf_counter() - t0) * 1000
    print(f"reset round trip: {elapsed_ms:.1f} ms")
    assert status == 200, body
    assert iam.list_users()["Users"] == []
    assert iam.list_roles()["Roles"] == []
    assert iam.list_groups()["Groups"] == []
    assert iam.list_policies(Scope="Local")["Policies"] == []
    assert s3.list_buckets()["Buckets"] == []
    # The old user's key is gone: it is now an unknown key, hence root.
    assert tm.client("sts", ak, sk).get_caller_identity()["Arn"] == u.ROOT_ARN
    # The objects' files are gone too.
    assert [p for p in files_under(tm.tmp) if Path(p).is_file()] == []


def test_reset_auth_lets_exactly_n_through(tm):
    iam = tm.client("iam")
    ak, sk = user_with_key(iam, "dave")
    dave = tm.client("iam", ak, sk)
    status, body = tm.post("/moto-api/reset-auth", json.dumps({"value": 2}).encode())
    assert status == 200, body
    dave.create_user(UserName="one")
    dave.create_user(UserName="two")
    with pytest.raises(ClientError) as e:
        dave.create_user(UserName="three")
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    names = {x["UserName"] for x in iam.list_users()["Users"]}
    assert names == {"dave", "one", "two"}
    # The passes are root's whatever the key: even a wrong secret for a held key.
    tm.post("/moto-api/reset-auth", b'{"value": 1}')
    assert tm.client("sts", ak, "wrong").get_caller_identity()["Arn"] == u.ROOT_ARN
    with pytest.raises(ClientError):
        tm.client("sts", ak, "wrong").get_caller_identity()
    assert tm.post("/moto-api/reset-auth", b'{"value": "x"}')[0] == 400


def test_control_endpoints_are_404_outside_test_mode(tmp_path):
    p = Proc(tmp_path, "--ephemeral",
             env={"IAMD_ROOT_ACCESS_KEY_ID": u.ROOT_ACCESS_KEY_ID,
                  "IAMD_ROOT_SECRET_ACCESS_KEY": u.ROOT_SECRET_ACCESS_KEY}).wait_listening()
    try:
        for path in ("/moto-api/reset", "/moto-api/reset-auth"):
            status, _ = p.post(path, b'{"value": 5}')
            assert status == 404, path
        # Without test mode an unknown key is refused, a known one works.
        with pytest.raises(ClientError) as e:
            p.client("sts").get_caller_identity()
        assert e.value.response["Error"]["Code"] == "InvalidClientTokenId"
        with pytest.raises(ClientError) as e:
            p.client("s3").list_buckets()
        assert e.value.response["Error"]["Code"] == "InvalidAccessKeyId"
        root = p.client("sts", u.ROOT_ACCESS_KEY_ID, u.ROOT_SECRET_ACCESS_KEY)
        assert root.get_caller_identity()["Arn"] == u.ROOT_ARN
    finally:
        p.finish()


def test_test_mode_env_variable(tmp_path):
    p = Proc(tmp_path, "--ephemeral", env={"IAMD_TEST_MODE": "1"}).wait_listening()
    try:
        assert p.client("sts").get_caller_identity()["Arn"] == u.ROOT_ARN
        assert p.post("/moto-api/reset")[0] == 200
    finally:
        code, _, err = p.finish()
    assert code == 0
    assert sum("WARN" in line and "TEST MODE" in line for line in err.splitlines()) == 1, err


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_ephemeral_leaves_no_file_behind(tmp_path, sig):
    p = Proc(tmp_path, "--ephemeral", "--test-mode")
    before = files_under(p.home, p.cwd, p.tmp)
    p.wait_listening()
    s3 = p.client("s3")
    s3.create_bucket(Bucket="bkt")
    s3.put_object(Bucket="bkt", Key="big", Body=os.urandom(300_000))
    p.client("iam").create_user(UserName="u")
    during = files_under(p.tmp)
    assert during, "S3 objects are expected in the temporary directory while running"
    assert files_under(p.home, p.cwd) == before == []
    p.proc.send_signal(getattr(__import__("signal"), sig))
    code, _, err = p.finish()
    assert code == 0, err
    assert files_under(p.home, p.cwd, p.tmp) == [], err


@pytest.mark.parametrize("flags,listen,message", [
    (["--test-mode"], "127.0.0.1", "--test-mode needs --ephemeral"),
    (["--test-mode", "--ephemeral"], "0.0.0.0", "loopback"),
])
def test_test_mode_refuses_unsafe_starts(tmp_path, flags, listen, message):
    p = Proc(tmp_path, "--data-dir", str(tmp_path / "data"), *flags, listen_host=listen)
    p.proc.wait(timeout=15)
    code, _, err = p.finish()
    assert code == 2, err
    assert message in err
    assert not (tmp_path / "data").exists()


def test_insecure_flag_allows_test_mode_on_any_address(tmp_path):
    p = Proc(tmp_path, "--ephemeral", "--test-mode", "--i-know-this-is-insecure",
             listen_host="0.0.0.0").wait_listening()
    try:
        assert p.client("sts").get_caller_identity()["Arn"] == u.ROOT_ARN
    finally:
        p.finish()
