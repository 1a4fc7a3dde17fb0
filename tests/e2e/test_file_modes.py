"""File modes of what iamd keeps on disk: the data directory it creates is 0700 and
every file it creates there is 0600 whatever the umask (database, -wal, -shm,
master.key, root-credentials); a data directory or master key file that group or
others may access is refused at start with a message naming the path, its mode and
the fix (the ssh rule for private keys); the master key may live outside the data
directory (IAMD_MASTER_KEY_FILE, `master_key_file` in the TOML file), same rule.
Objects under <data-dir>/s3 are not checked here."""

import contextlib
import os
import re
import socket
import stat
import subprocess
import time

import pytest

import e2e_util as u

pytestmark = pytest.mark.process

PRIVATE_FILES = ["iamd.db", "iamd.db-wal", "iamd.db-shm", "master.key", "root-credentials"]


def mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


@contextlib.contextmanager
def umask(m: int):
    """The umask iamd is started with (a child inherits it at spawn)."""
    old = os.umask(m)
    try:
        yield
    finally:
        os.umask(old)


def start_refused(data_dir, extra_env=None, timeout: float = 60.0) -> tuple[int, str]:
    """Starts `iamd serve` under umask 022 and returns (exit code, stderr) once it has
    exited; fails the test if it listens instead."""
    port = u.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IAMD_")}
    env["IAMD_ROOT_ACCESS_KEY_ID"] = u.ROOT_ACCESS_KEY_ID
    env["IAMD_ROOT_SECRET_ACCESS_KEY"] = u.ROOT_SECRET_ACCESS_KEY
    env.update(extra_env or {})
    cmd = [str(u.iamd_bin()), "serve", "--listen", f"127.0.0.1:{port}",
           "--data-dir", str(data_dir), "--account-id", u.ACCOUNT_ID]
    with umask(0o022):
        p = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    try:
        while p.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    raise AssertionError("iamd started listening instead of refusing to start")
            except OSError:
                pass
            assert time.monotonic() < deadline, f"iamd neither refused nor listened within {timeout}s"
            time.sleep(0.05)
        return p.returncode, p.stderr.read().decode(errors="replace")
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
        p.stderr.close()


def assert_refused(rc: int, err: str, what: str, path, shown_mode: int, fix: str):
    assert rc != 0, err
    assert f"permissions {shown_mode:04o} for {what} {path} are too open" in err, err
    assert f"Fix: chmod {fix} {path}" in err, err


def exercise(s: u.Server):
    """Writes through IAM and S3 (so the WAL is in use)."""
    iam = s.client("iam")
    iam.create_user(UserName="melvins")
    iam.put_user_policy(UserName="melvins", PolicyName="p", PolicyDocument=u.HOUDINI_POLICY)
    key = iam.create_access_key(UserName="melvins")["AccessKey"]
    s3 = s.client("s3")
    s3.create_bucket(Bucket="houdini")
    s3.put_object(Bucket="houdini", Key="k", Body=b"v")
    return key


@pytest.mark.parametrize("dir_mode", [0o755, 0o710, 0o702], ids=oct)
def test_data_dir_open_to_others_is_refused(tmp_path, dir_mode):
    d = tmp_path / "data"
    d.mkdir()
    d.chmod(dir_mode)
    rc, err = start_refused(d)
    assert_refused(rc, err, "data directory", d, dir_mode, "700")
    assert list(d.iterdir()) == [], "nothing is written into a refused data directory"
    assert mode(d) == dir_mode


def test_umask_022_precreated_data_dir_is_refused(tmp_path):
    d = tmp_path / "data"
    with umask(0o022):
        d.mkdir()
    assert mode(d) == 0o755
    rc, err = start_refused(d)
    assert_refused(rc, err, "data directory", d, 0o755, "700")


@pytest.mark.parametrize("mask", [0o022, 0o000], ids=oct)
def test_fresh_data_dir_and_its_files_are_private(tmp_path, mask):
    d = tmp_path / "fresh" / "data"
    s = u.Server(data_dir=d, log_dir=tmp_path / "logs", with_root_env=False)
    with umask(mask):
        s.start()
    try:
        exercise(s)
        assert mode(d) == 0o700
        for name in PRIVATE_FILES:
            assert mode(d / name) == 0o600, (name, oct(mode(d / name)))
        # Nothing else directly in the data directory is open either (s3/ holds objects).
        for p in d.iterdir():
            if p.name != "s3":
                assert mode(p) & 0o077 == 0, (p.name, oct(mode(p)))
        assert s.stop() == 0
        # After a restart under the same umask the recreated -wal/-shm are private too.
        with umask(mask):
            s.start()
        s.client("iam").get_user(UserName="melvins")
        s.client("iam").create_user(UserName="buzzo")
        for name in PRIVATE_FILES:
            assert mode(d / name) == 0o600, (name, oct(mode(d / name)))
    finally:
        s.kill()


def test_master_key_file_outside_the_data_dir(tmp_path):
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    key_file = keys / "iamd.key"
    d = tmp_path / "data"
    s = u.Server(data_dir=d, log_dir=tmp_path / "logs",
                 extra_env={"IAMD_MASTER_KEY_FILE": str(key_file)})
    with umask(0o022):
        s.start()
    try:
        key = exercise(s)
        # Created on first start, private, and not in the data directory.
        assert mode(key_file) == 0o600
        assert re.fullmatch(r"[0-9a-f]{64}\n", key_file.read_text())
        assert not (d / "master.key").exists()
        hex_key = key_file.read_text().strip()
        assert u.scan_files_for(d, [hex_key.encode(), bytes.fromhex(hex_key)]) == []
        # A restart decrypts the stored secrets with the same file; so does the TOML
        # `master_key_file` setting.
        s.restart()
        sts = s.client("sts", key["AccessKeyId"], key["SecretAccessKey"])
        assert sts.get_caller_identity()["Arn"] == u.user_arn("melvins")
        s.stop()
        cfg = tmp_path / "iamd.toml"
        cfg.write_text(f'master_key_file = "{key_file}"\n')
        s.extra_env = {"IAMD_CONFIG": str(cfg)}
        s.start()
        sts = s.client("sts", key["AccessKeyId"], key["SecretAccessKey"])
        assert sts.get_caller_identity()["Arn"] == u.user_arn("melvins")
        assert not (d / "master.key").exists()
        s.stop()
        # The key file may not be readable by others, whichever way it is configured.
        key_file.chmod(0o644)
        for env in ({"IAMD_MASTER_KEY_FILE": str(key_file)}, {"IAMD_CONFIG": str(cfg)}):
            rc, err = start_refused(d, env)
            assert_refused(rc, err, "master key file", key_file, 0o644, "600")
        # IAMD_MASTER_KEY and a key file at once is ambiguous: refused.
        key_file.chmod(0o600)
        rc, err = start_refused(d, {"IAMD_MASTER_KEY_FILE": str(key_file), "IAMD_MASTER_KEY": hex_key})
        assert rc != 0 and "both IAMD_MASTER_KEY and a master key file" in err, err
    finally:
        s.kill()


def test_default_master_key_open_to_group_is_refused(tmp_path):
    d = tmp_path / "data"
    s = u.Server(data_dir=d, log_dir=tmp_path / "logs")
    s.start()
    try:
        exercise(s)
        assert s.stop() == 0
        (d / "master.key").chmod(0o640)
        rc, err = start_refused(d)
        assert_refused(rc, err, "master key file", d / "master.key", 0o640, "600")
    finally:
        s.kill()
