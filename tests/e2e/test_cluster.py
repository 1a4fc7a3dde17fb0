"""Three iamd nodes on one PostgreSQL database: a write acknowledged by one node is
enforced by the others (the change log and its follower), writes are serialized
through the database, the nodes survive the database stopping and a node killed with
-9, and a node with another master key refuses to start.

Waits poll with a deadline (never a fixed sleep): a propagation normally takes a few
milliseconds (bench/propagation.py measures it); the deadline only bounds a failure."""

import json
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

import e2e_util as u

pytestmark = pytest.mark.process

REPO = Path(__file__).resolve().parents[2]
CLUSTER = u.PG_TEST_CLUSTER
MASTER_KEY = "5e" * 32
DEADLINE = 10.0


@pytest.fixture(scope="module")
def pg():
    with u.pg_cluster() as cluster:
        yield cluster


make_db = u.make_db


def node(tmp, url, name, key=MASTER_KEY):
    return u.new_server(tmp / name, extra_env={"IAMD_DATABASE_URL": url, "IAMD_MASTER_KEY": key})


@pytest.fixture
def nodes(pg, tmp_path, request):
    url = make_db(pg[0], request.node.name.replace("test_", "c_")[:40])
    started = [node(tmp_path, url, "a")]
    started += [node(tmp_path, url, n) for n in ("b", "c")]
    yield started, url
    for s in started:
        s.kill()


def until(what, check, deadline=DEADLINE):
    """Polls `check` until it returns a true value; fails after `deadline` seconds."""
    end = time.monotonic() + deadline
    last = None
    while time.monotonic() < end:
        try:
            got = check()
            if got:
                return got
        except ClientError as e:
            last = e
        time.sleep(0.01)
    raise AssertionError(f"{what}: not within {deadline}s (last error: {last})")


code_of = u.code_of


def probe(s, path):
    try:
        with urllib.request.urlopen(s.endpoint + path, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


class Load:
    """Calls `call` in a loop on a thread until stopped; counts outcomes."""

    def __init__(self, call):
        self.call, self.stop_flag, self.codes = call, threading.Event(), {}
        self.thread = threading.Thread(target=self.run)
        self.thread.start()

    def run(self):
        while not self.stop_flag.is_set():
            c = code_of(self.call)
            self.codes[c] = self.codes.get(c, 0) + 1

    def stop(self):
        self.stop_flag.set()
        self.thread.join()
        return self.codes


def test_seed_story_across_three_nodes(nodes):
    (a, b, c), _ = nodes
    iam_a = a.client("iam")
    iam_a.create_user(UserName="melvins")
    iam_a.put_user_policy(UserName="melvins", PolicyName="allow_access_houdini", PolicyDocument=json.dumps(
        {"Statement": [{"Effect": "Allow", "Action": "s3:*",
                        "Resource": ["arn:aws:s3:::houdini", "arn:aws:s3:::houdini/*"]}]}))
    mk = iam_a.create_access_key(UserName="melvins")["AccessKey"]
    iam_a.create_group(GroupName="admins")
    iam_a.put_group_policy(GroupName="admins", PolicyName="allow_all", PolicyDocument=json.dumps(
        {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    for n in ("buzzo", "lorax", "dale"):
        iam_a.create_user(UserName=n)
        iam_a.add_user_to_group(GroupName="admins", UserName=n)
    lk = iam_a.create_access_key(UserName="lorax")["AccessKey"]

    # The keys made on A work on B: melvins is who he is, lorax an admin.
    sts_b = b.client("sts", mk["AccessKeyId"], mk["SecretAccessKey"])
    who = until("melvins' key on B", sts_b.get_caller_identity)
    assert who["Arn"] == "arn:aws:iam::123456789012:user/melvins"
    lorax_b = b.client("iam", lk["AccessKeyId"], lk["SecretAccessKey"])
    until("lorax an admin on B", lambda: lorax_b.list_users()["Users"])
    assert code_of(lambda: b.client("iam", mk["AccessKeyId"], mk["SecretAccessKey"])
                   .list_users()) == "AccessDenied"

    # C takes lorax out of admins and deletes melvins' key; A refuses both.
    iam_c = c.client("iam")
    until("lorax in admins on C", lambda: "lorax" in
          [x["UserName"] for x in iam_c.get_group(GroupName="admins")["Users"]])
    iam_c.remove_user_from_group(GroupName="admins", UserName="lorax")
    until("melvins' key on C", lambda: iam_c.list_access_keys(UserName="melvins")["AccessKeyMetadata"])
    iam_c.delete_access_key(UserName="melvins", AccessKeyId=mk["AccessKeyId"])
    lorax_a = a.client("iam", lk["AccessKeyId"], lk["SecretAccessKey"])
    until("lorax refused on A", lambda: code_of(lorax_a.list_users) == "AccessDenied")
    sts_a = a.client("sts", mk["AccessKeyId"], mk["SecretAccessKey"])
    until("melvins' key refused on A",
          lambda: code_of(sts_a.get_caller_identity) == "InvalidClientTokenId")
    # And B agrees.
    until("lorax refused on B", lambda: code_of(lorax_b.list_users) == "AccessDenied")
    assert sorted(x["UserName"] for x in a.client("iam").get_group(GroupName="admins")["Users"]) \
        == ["buzzo", "dale"]


def test_three_nodes_started_at_once_on_an_empty_database(pg, tmp_path):
    """Nodes of a cluster started together race to create the account and its root
    key: each commits at the log position it loaded, so the losers load again and
    build on the winner's account. All three start and serve one account."""
    url = make_db(pg[0], "c_started_at_once")
    started, errors = {}, []

    def start(name):
        try:
            started[name] = node(tmp_path, url, name)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(f"{name}: {e}")

    threads = [threading.Thread(target=start, args=(n,)) for n in ("a", "b", "c")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert not errors, errors
        a, b, c = started["a"], started["b"], started["c"]
        a.client("iam").create_user(UserName="together")
        for s in (b, c):
            got = until("the user made on A", lambda: s.client("iam").get_user(UserName="together"))
            assert got["User"]["Arn"] == "arn:aws:iam::123456789012:user/together"
    finally:
        for s in started.values():
            s.kill()


def test_racing_writes_on_two_nodes(nodes):
    (a, b, c), _ = nodes
    clients = [a.client("iam"), b.client("iam")]

    def race(call):
        results = [None, None]
        go = threading.Barrier(2)

        def run(i):
            go.wait()
            results[i] = code_of(lambda: call(clients[i]))
        ts = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return sorted(results)

    for i in range(5):
        assert race(lambda iam: iam.create_user(UserName=f"racer{i}")) == ["EntityAlreadyExists", "OK"]
    # A policy with four versions: the fifth is AWS's limit, one node gets it.
    doc = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}]})
    arn = clients[0].create_policy(PolicyName="raced", PolicyDocument=doc)["Policy"]["Arn"]
    for _ in range(3):
        clients[0].create_policy_version(PolicyArn=arn, PolicyDocument=doc)
    until("four versions on B", lambda: len(clients[1].list_policy_versions(PolicyArn=arn)["Versions"]) == 4)
    assert race(lambda iam: iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc)) \
        == ["LimitExceeded", "OK"]
    iam_c = c.client("iam")
    until("five versions on C", lambda: len(iam_c.list_policy_versions(PolicyArn=arn)["Versions"]) == 5)
    assert sorted(x["UserName"] for x in iam_c.list_users()["Users"]) == [f"racer{i}" for i in range(5)]


def test_bucket_policy_changed_on_a_is_enforced_on_b(nodes):
    (a, b, c), _ = nodes
    iam_a = a.client("iam")
    iam_a.create_user(UserName="melvins")
    iam_a.put_user_policy(UserName="melvins", PolicyName="s3", PolicyDocument=json.dumps(
        {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    mk = iam_a.create_access_key(UserName="melvins")["AccessKey"]
    a.client("s3").create_bucket(Bucket="houdini")
    s3_b = b.client("s3", mk["AccessKeyId"], mk["SecretAccessKey"])
    # B caches the bucket (no policy) while melvins lists it.
    until("melvins lists houdini on B", lambda: code_of(lambda: s3_b.list_objects_v2(Bucket="houdini")) == "OK")
    deny = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::123456789012:user/melvins"},
        "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::houdini"}]}
    a.client("s3").put_bucket_policy(Bucket="houdini", Policy=json.dumps(deny))
    until("the deny enforced on B",
          lambda: code_of(lambda: s3_b.list_objects_v2(Bucket="houdini")) == "AccessDenied")
    a.client("s3").delete_bucket_policy(Bucket="houdini")
    until("the deny lifted on B", lambda: code_of(lambda: s3_b.list_objects_v2(Bucket="houdini")) == "OK")


def test_database_stop_and_start(pg, nodes):
    (a, b, c), _ = nodes
    iam_a = a.client("iam")
    iam_a.create_user(UserName="before")
    lk = iam_a.create_access_key(UserName="before")["AccessKey"]
    iam_a.put_user_policy(UserName="before", PolicyName="read", PolicyDocument=json.dumps(
        {"Statement": [{"Effect": "Allow", "Action": "iam:Get*", "Resource": "*"}]}))
    me_b = b.client("iam", lk["AccessKeyId"], lk["SecretAccessKey"])
    until("the user on B", lambda: me_b.get_user()["User"]["UserName"] == "before")
    assert probe(b, "/readyz") == 200 and probe(b, "/healthz") == 200

    reads = Load(me_b.get_user)  # decisions on B under load, through the outage
    subprocess.run(["bash", str(CLUSTER), "pause", str(pg[1])], check=True, capture_output=True)
    try:
        t0 = time.monotonic()
        with pytest.raises(ClientError) as e:
            iam_a.create_user(UserName="during")
        took = time.monotonic() - t0
        assert e.value.response["Error"]["Code"] == "ServiceFailure"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        assert took < 10, took
        with pytest.raises(ClientError) as e:
            a.client("s3").create_bucket(Bucket="during")
        assert e.value.response["Error"]["Code"] == "ServiceUnavailable"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        # Reads and decisions keep being served from memory.
        assert me_b.get_user()["User"]["UserName"] == "before"
        assert code_of(me_b.list_users) == "AccessDenied"
        assert c.client("iam").get_user(UserName="before")["User"]["UserName"] == "before"
        assert probe(c, "/healthz") == 200
        until("B not ready", lambda: probe(b, "/readyz") == 503)
    finally:
        subprocess.run(["bash", str(CLUSTER), "resume", str(pg[1])], check=True, capture_output=True)
    codes = reads.stop()
    assert set(codes) == {"OK"} and codes["OK"] > 10, codes

    until("A writes again", lambda: code_of(lambda: iam_a.create_user(UserName="after")) == "OK",
          deadline=30)
    iam_c = c.client("iam")
    until("the write after the outage on C", lambda: code_of(lambda: iam_c.get_user(UserName="after")) == "OK")
    iam_c.delete_user_policy(UserName="before", PolicyName="read")
    until("the policy removal on B", lambda: code_of(me_b.get_user) == "AccessDenied")
    until("B ready again", lambda: probe(b, "/readyz") == 200)


def test_node_killed_and_restarted_is_current(nodes):
    (a, b, c), _ = nodes
    iam_a = a.client("iam")
    iam_a.create_user(UserName="early")
    until("early on B", lambda: code_of(lambda: b.client("iam").get_user(UserName="early")) == "OK")
    # Writes on A under load while B is killed and restarted: every acknowledged one
    # is on B afterwards.
    acked = []

    def writer():
        for i in range(400):
            if stop.is_set():
                return
            if code_of(lambda: iam_a.create_user(UserName=f"load{i}")) == "OK":
                acked.append(f"load{i}")
    stop = threading.Event()
    t = threading.Thread(target=writer)
    t.start()
    b.kill()  # kill -9
    iam_a.create_user(UserName="while-down")
    iam_a.delete_user(UserName="early")
    b.start()
    stop.set()
    t.join()
    assert len(acked) > 5, acked
    iam_b = b.client("iam")
    assert code_of(lambda: iam_b.get_user(UserName="while-down")) == "OK"
    assert code_of(lambda: iam_b.get_user(UserName="early")) == "NoSuchEntity"
    iam_a.delete_user(UserName="while-down")
    until("the delete after the restart on B",
          lambda: code_of(lambda: iam_b.get_user(UserName="while-down")) == "NoSuchEntity")
    names = until("every acknowledged write on B", lambda: (lambda have: have if set(acked) <= have else None)(
        u.list_all_user_names(iam_b)))
    assert set(acked) <= names
    # Writes on the restarted node reach the others.
    iam_b.create_user(UserName="from-b")
    until("B's write on C", lambda: code_of(lambda: c.client("iam").get_user(UserName="from-b")) == "OK")
    assert probe(b, "/readyz") == 200


def test_a_node_with_another_master_key_refuses_to_start(nodes, tmp_path):
    (a, b, c), url = nodes
    a.client("iam").create_user(UserName="keyed")
    a.client("iam").create_access_key(UserName="keyed")
    with pytest.raises(RuntimeError) as e:
        node(tmp_path, url, "d", key="11" * 32)
    msg = str(e.value)
    assert "master key cannot decrypt the secrets stored in the database" in msg, msg
