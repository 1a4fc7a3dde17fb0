"""iamd serve on PostgreSQL: the same storage interface as SQLite, a second
implementation. A throwaway cluster is started by the test itself
(crates/iamd-store/pg-test-cluster.sh, Debian's initdb/pg_ctl)."""

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

import e2e_util as u

pytestmark = pytest.mark.process

REPO = Path(__file__).resolve().parents[2]
CLUSTER = REPO / "crates" / "iamd-store" / "pg-test-cluster.sh"
MASTER_KEY = "7f" * 32


@pytest.fixture(scope="module")
def pg():
    # Not under pytest's tmp dir: that is private to root, and the cluster runs as
    # the postgres OS user.
    parent = Path(tempfile.mkdtemp(prefix="iamd-e2e-pg-"))
    parent.chmod(0o755)
    d = parent / "cluster"
    url = subprocess.run(["bash", str(CLUSTER), "start", str(d)], check=True,
                         capture_output=True, text=True).stdout.strip()
    assert url.startswith("postgres://"), url
    yield url
    subprocess.run(["bash", str(CLUSTER), "stop", str(d)], check=False, capture_output=True)
    shutil.rmtree(parent, ignore_errors=True)


def make_db(pg_url: str, name: str) -> str:
    base, _ = pg_url.rsplit("/", 1)
    subprocess.run(["psql", pg_url, "-qc", f"CREATE DATABASE {name}"], check=True, capture_output=True)
    return f"{base}/{name}"


def pg_server(tmp, url, node):
    s = u.new_server(tmp / node, extra_env={"IAMD_DATABASE_URL": url, "IAMD_MASTER_KEY": MASTER_KEY})
    return s


def test_seed_story_survives_restart_and_kill(pg, tmp_path):
    url = make_db(pg, "story")
    s = pg_server(tmp_path, url, "a")
    try:
        iam = s.client("iam")
        iam.create_user(UserName="melvins")
        iam.put_user_policy(UserName="melvins", PolicyName="allow_access_houdini", PolicyDocument=json.dumps(
            {"Statement": [{"Effect": "Allow", "Action": "s3:*",
                            "Resource": ["arn:aws:s3:::houdini", "arn:aws:s3:::houdini/*"]}]}))
        key = iam.create_access_key(UserName="melvins")["AccessKey"]
        iam.create_group(GroupName="admins")
        iam.put_group_policy(GroupName="admins", PolicyName="allow_all", PolicyDocument=json.dumps(
            {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        for n in ("buzzo", "lorax", "dale"):
            iam.create_user(UserName=n)
            iam.add_user_to_group(GroupName="admins", UserName=n)
        iam.remove_user_from_group(GroupName="admins", UserName="lorax")
        s.kill()  # kill -9: every acknowledged write must be in PostgreSQL
        s.start()
        iam = s.client("iam")
        names = sorted(m["UserName"] for m in iam.get_group(GroupName="admins")["Users"])
        assert names == ["buzzo", "dale"]
        assert iam.list_user_policies(UserName="melvins")["PolicyNames"] == ["allow_access_houdini"]
        # The key still verifies after restart (secret decrypted with the same master key)…
        who = s.client("sts", key["AccessKeyId"], key["SecretAccessKey"]).get_caller_identity()
        assert who["Arn"] == "arn:aws:iam::123456789012:user/melvins"
        # …and melvins is still refused IAM.
        with pytest.raises(ClientError) as e:
            s.client("iam", key["AccessKeyId"], key["SecretAccessKey"]).create_user(UserName="x")
        assert e.value.response["Error"]["Code"] == "AccessDenied"
        # The secret is not stored in clear in the database.
        dump = subprocess.run(["psql", url, "-Atc", "SELECT * FROM access_keys"], check=True,
                              capture_output=True, text=True).stdout
        assert key["AccessKeyId"] in dump and key["SecretAccessKey"] not in dump
    finally:
        s.kill()


def test_two_nodes_conflicting_create_one_wins(pg, tmp_path):
    """Two servers on one database: the database's uniqueness decides, the loser
    gets AWS's conflict error and nothing half-written."""
    url = make_db(pg, "nodes")
    a = pg_server(tmp_path, url, "a")
    b = pg_server(tmp_path, url, "b")
    try:
        a.client("iam").create_user(UserName="Shared")
        with pytest.raises(ClientError) as e:
            b.client("iam").create_user(UserName="shared")  # b has not seen a's write in memory
        assert e.value.response["Error"]["Code"] == "EntityAlreadyExists"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
        b.restart()
        assert [x["UserName"] for x in b.client("iam").list_users()["Users"]] == ["Shared"]
    finally:
        a.kill()
        b.kill()
