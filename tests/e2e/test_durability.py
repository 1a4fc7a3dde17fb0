"""Keeping data safe: generated root credentials, secrets encrypted at rest,
crash safety under kill -9, graceful SIGTERM, restarts keeping all state."""

import configparser
import json
import os
import secrets
import stat
import threading
import time

import pytest

import e2e_util as u
from e2e_util import aws_error

pytestmark = pytest.mark.process


def mode(p):
    return stat.S_IMODE(os.stat(p).st_mode)


def test_generated_root_credentials(tmp_path):
    if u.EXTERNAL_ENDPOINT:
        pytest.skip("needs its own iamd process")
    s = u.Server(data_dir=tmp_path / "data", log_dir=tmp_path / "logs", with_root_env=False).start()
    try:
        path = s.data_dir / "root-credentials"
        assert path.is_file()
        assert mode(path) == 0o600
        cp = configparser.ConfigParser()
        cp.read_string(path.read_text())
        assert cp.sections() == ["default"]
        ak, sk = cp["default"]["aws_access_key_id"], cp["default"]["aws_secret_access_key"]
        assert u.ACCESS_KEY_ID_RE.match(ak), ak
        assert u.SECRET_RE.match(sk), sk
        assert mode(s.data_dir / "master.key") == 0o600
        ident = s.client("sts", ak, sk).get_caller_identity()
        assert ident["Arn"] == u.ROOT_ARN and ident["UserId"] == u.ACCOUNT_ID
        s.client("iam", ak, sk).create_user(UserName="melvins")
        # The secret is never printed.
        assert s.stop() == 0
        assert sk.encode() not in s.logs()
        # A restart keeps the same credentials.
        s.start()
        assert (s.data_dir / "root-credentials").read_text() == path.read_text()
        assert s.client("iam", ak, sk).get_user(UserName="melvins")["User"]["UserName"] == "melvins"
        assert sk.encode() not in s.logs()
    finally:
        s.kill()


def test_env_master_key_is_not_written(tmp_path):
    if u.EXTERNAL_ENDPOINT:
        pytest.skip("needs its own iamd process")
    key = secrets.token_hex(32)
    s = u.Server(data_dir=tmp_path / "data", log_dir=tmp_path / "logs", extra_env={"IAMD_MASTER_KEY": key}).start()
    try:
        iam = s.client("iam")
        iam.create_user(UserName="keyed")
        k = iam.create_access_key(UserName="keyed")["AccessKey"]
        assert not (s.data_dir / "master.key").exists()
        assert u.scan_files_for(s.data_dir, [key.encode(), key.upper().encode(), bytes.fromhex(key)]) == []
        s.restart()
        assert s.client("sts", k["AccessKeyId"], k["SecretAccessKey"]).get_caller_identity()["Arn"] == u.user_arn("keyed")
        # Another master key cannot decrypt the stored secrets: fail closed.
        s.stop()
        s.extra_env["IAMD_MASTER_KEY"] = secrets.token_hex(32)
        try:
            s.start()
        except RuntimeError:
            return  # refusing to start is a fine way to fail closed
        r = u.raw_call(s.endpoint, u.form(Action="GetCallerIdentity", Version=u.STS_VERSION),
                       service="sts", ak=k["AccessKeyId"], sk=k["SecretAccessKey"])
        assert r.status != 200, r.body
    finally:
        s.kill()


def test_secrets_encrypted_at_rest(fresh_server):
    s = fresh_server
    iam = s.client("iam")
    made = []
    for i in range(4):
        name = f"sec{i}"
        iam.create_user(UserName=name)
        for _ in range(2):
            made.append(iam.create_access_key(UserName=name)["AccessKey"])
    # Exercise the keys so that last-used data is written too.
    for k in made:
        s.client("sts", k["AccessKeyId"], k["SecretAccessKey"]).get_caller_identity()
    needles = [k["SecretAccessKey"].encode() for k in made] + [u.ROOT_SECRET_ACCESS_KEY.encode()]
    # While running (database plus WAL / journal files) ...
    assert u.scan_files_for(s.data_dir, needles) == []
    # ... and after a clean shutdown (checkpointed).
    assert s.stop() == 0
    assert u.scan_files_for(s.data_dir, needles) == []
    # Nor do the logs carry them.
    for n in needles:
        assert n not in s.logs()
    # Still usable after a restart: encrypted, not lost.
    s.start()
    for k in made:
        ident = s.client("sts", k["AccessKeyId"], k["SecretAccessKey"]).get_caller_identity()
        assert ident["Arn"].startswith(u.user_arn("sec"))


def test_sigterm_is_graceful_and_state_survives(fresh_server):
    s = fresh_server
    iam = s.client("iam")
    iam.create_user(UserName="melvins", Path="/partners/", Tags=[{"Key": "team", "Value": "images"}])
    iam.put_user_policy(UserName="melvins", PolicyName="allow_access_houdini", PolicyDocument=u.HOUDINI_POLICY)
    key = iam.create_access_key(UserName="melvins")["AccessKey"]
    old = iam.create_access_key(UserName="melvins")["AccessKey"]
    iam.update_access_key(UserName="melvins", AccessKeyId=old["AccessKeyId"], Status="Inactive")
    iam.create_group(GroupName="admins")
    iam.put_group_policy(GroupName="admins", PolicyName="allow_all", PolicyDocument=u.ALLOW_ALL)
    for n in ("buzzo", "lorax", "dale"):
        iam.create_user(UserName=n)
        iam.add_user_to_group(GroupName="admins", UserName=n)
    iam.remove_user_from_group(GroupName="admins", UserName="lorax")
    user_before = iam.get_user(UserName="melvins")["User"]

    t0 = time.monotonic()
    assert s.stop(timeout=10) == 0
    assert time.monotonic() - t0 < 5, "SIGTERM should stop the server promptly"

    s.start()
    iam = s.client("iam")
    assert iam.get_user(UserName="melvins")["User"] == user_before
    assert iam.get_user_policy(UserName="melvins", PolicyName="allow_access_houdini")["PolicyDocument"] == json.loads(u.HOUDINI_POLICY)
    assert sorted((m["AccessKeyId"], m["Status"]) for m in iam.list_access_keys(UserName="melvins")["AccessKeyMetadata"]) == sorted(
        [(key["AccessKeyId"], "Active"), (old["AccessKeyId"], "Inactive")])
    assert sorted(x["UserName"] for x in iam.get_group(GroupName="admins")["Users"]) == ["buzzo", "dale"]
    assert iam.list_group_policies(GroupName="admins")["PolicyNames"] == ["allow_all"]
    assert s.client("sts", key["AccessKeyId"], key["SecretAccessKey"]).get_caller_identity()["Arn"] == \
        "arn:aws:iam::123456789012:user/partners/melvins"
    with aws_error("InvalidClientTokenId", 403, "The security token included in the request is invalid."):
        s.client("sts", old["AccessKeyId"], old["SecretAccessKey"]).get_caller_identity()


def test_kill_9_loses_no_acknowledged_write(fresh_server):
    s = fresh_server
    acked, keys = [], {}
    lock = threading.Lock()
    stop = threading.Event()

    def writer(w):
        iam = s.client("iam", read_timeout=5)
        i = 0
        while not stop.is_set():
            name = f"u-{w}-{i}"
            try:
                iam.create_user(UserName=name)
                with lock:
                    acked.append(name)
                if i % 5 == 0:
                    k = iam.create_access_key(UserName=name)["AccessKey"]
                    with lock:
                        keys[name] = k
            except Exception:
                return  # the server is gone
            i += 1

    threads = [threading.Thread(target=writer, args=(w,), daemon=True) for w in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 15
    while len(acked) < 80 and time.monotonic() < deadline:
        time.sleep(0.01)
    s.kill()  # SIGKILL, mid-write
    stop.set()
    for t in threads:
        t.join(10)
    assert len(acked) >= 80, f"only {len(acked)} writes acknowledged in 15s"

    s.start()
    iam = s.client("iam")
    present = u.list_all_user_names(iam)
    missing = [n for n in acked if n not in present]
    assert missing == [], f"acknowledged but lost after kill -9: {missing}"
    for name, k in keys.items():
        ident = s.client("sts", k["AccessKeyId"], k["SecretAccessKey"]).get_caller_identity()
        assert ident["Arn"] == u.user_arn(name)
    # And the store accepts writes again.
    iam.create_user(UserName="after-crash")
