"""S3 object bytes on an upstream S3-compatible store (`--s3-upstream-*`): iamd
authenticates and authorizes as always, the upstream holds only bytes under opaque
names. The upstreams are real servers started here: another iamd on its local
backend, and moto_server as a third-party S3. Two nodes on one PostgreSQL database
and one upstream serve the same objects."""

import contextlib
import hashlib
import os
import re
import shutil
import socket
import subprocess
import time

import pytest
from botocore.exceptions import ClientError

import e2e_util as u
from test_postgres import MASTER_KEY, make_db, pg  # noqa: F401  (pg: the PostgreSQL fixture)

pytestmark = pytest.mark.process

UPSTREAM_BUCKET = "iamd-bytes"
BLOB_NAME = re.compile(r"^[0-9a-f]{32}$")
MIB = 1024 * 1024


@contextlib.contextmanager
def s3_fails(code, status):
    with pytest.raises(ClientError) as e:
        yield
    r = e.value.response
    assert (r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]) == (code, status), r


def upstream_env(endpoint, bucket, ak, sk, **extra):
    env = {
        "IAMD_S3_UPSTREAM_ENDPOINT": endpoint,
        "IAMD_S3_UPSTREAM_BUCKET": bucket,
        "IAMD_S3_UPSTREAM_ACCESS_KEY_ID": ak,
        "IAMD_S3_UPSTREAM_SECRET_ACCESS_KEY": sk,
    }
    env.update(extra)
    return env


class Upstream:
    """An S3 endpoint, a bucket on it and a key that may use the bucket."""

    def __init__(self, endpoint, ak, sk, bucket=UPSTREAM_BUCKET):
        self.endpoint, self.ak, self.sk, self.bucket = endpoint, ak, sk, bucket
        self.s3 = u.make_client(endpoint, "s3", ak, sk)

    def env(self, **extra):
        return upstream_env(self.endpoint, self.bucket, self.ak, self.sk, **extra)

    def names(self):
        """name → size of every object in the upstream bucket."""
        out = {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            for o in page.get("Contents", []):
                out[o["Key"]] = o["Size"]
        return out

    def read(self, name):
        return self.s3.get_object(Bucket=self.bucket, Key=name)["Body"].read()


def start_iamd_upstream(tmp):
    """iamd A on its local backend, with a bucket and a user allowed only that bucket."""
    a = u.new_server(tmp)
    iam = a.client("iam")
    iam.create_user(UserName="blobstore")
    iam.put_user_policy(UserName="blobstore", PolicyName="bytes", PolicyDocument=(
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", '
        f'"Resource": ["arn:aws:s3:::{UPSTREAM_BUCKET}", "arn:aws:s3:::{UPSTREAM_BUCKET}/*"]}}]}}'))
    k = iam.create_access_key(UserName="blobstore")["AccessKey"]
    a.client("s3").create_bucket(Bucket=UPSTREAM_BUCKET)
    return a, Upstream(a.endpoint, k["AccessKeyId"], k["SecretAccessKey"])


@pytest.fixture(scope="module")
def iamd_upstream(tmp_path_factory):
    a, up = start_iamd_upstream(tmp_path_factory.mktemp("upstream-a"))
    yield up
    a.kill()


@pytest.fixture(scope="module")
def moto_upstream(tmp_path_factory):
    exe = shutil.which("moto_server")
    if exe is None:
        pytest.skip("moto_server is not installed (pip install 'moto[server]')")
    port = u.free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    proc = subprocess.Popen([exe, "-p", str(port)], stdin=subprocess.DEVNULL,
                            stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
        up = Upstream(f"http://127.0.0.1:{port}", "motoUpstreamKeyId", "motoUpstreamSecret")
        up.s3.create_bucket(Bucket=UPSTREAM_BUCKET)
        yield up
    finally:
        proc.kill()
        proc.wait()


def assert_opaque(up, keys, expect):
    """The upstream holds exactly `expect` (sizes), under blob ids; no S3 key of iamd's
    appears in any name."""
    names = up.names()
    assert all(BLOB_NAME.match(n) for n in names), names
    for k in keys:
        for part in re.split(r"[/.]", k):
            assert all(part not in n for n in names if len(part) > 3), (k, names)
    assert sorted(names.values()) == sorted(expect), names
    return names


def object_story(s3, up):
    """Put, get, ranges, head, conditions, copy, a large put, multipart (with a part
    copy), abort and delete through iamd; checks what the upstream holds at each step."""
    s3.create_bucket(Bucket="houdini")
    small = os.urandom(3000)
    s3.put_object(Bucket="houdini", Key="plans/secret.txt", Body=small, ContentType="text/plain",
                  Metadata={"owner": "melvins"}, Tagging="level=high")
    names = assert_opaque(up, ["plans/secret.txt"], [3000])
    # The upstream has the bytes, nothing else (its name says nothing).
    assert up.read(next(iter(names))) == small

    got = s3.get_object(Bucket="houdini", Key="plans/secret.txt")
    assert got["Body"].read() == small
    assert got["ContentType"] == "text/plain" and got["Metadata"] == {"owner": "melvins"}
    etag = got["ETag"]
    assert etag == '"%s"' % hashlib.md5(small).hexdigest()
    r = s3.get_object(Bucket="houdini", Key="plans/secret.txt", Range="bytes=100-199")
    assert r["Body"].read() == small[100:200] and r["ContentRange"] == "bytes 100-199/3000"
    assert s3.get_object(Bucket="houdini", Key="plans/secret.txt",
                         Range="bytes=-10")["Body"].read() == small[-10:]
    h = s3.head_object(Bucket="houdini", Key="plans/secret.txt")
    assert (h["ContentLength"], h["ETag"]) == (3000, etag)
    with s3_fails("412", 412):
        s3.head_object(Bucket="houdini", Key="plans/secret.txt", IfMatch='"00"')
    with s3_fails("304", 304):
        s3.get_object(Bucket="houdini", Key="plans/secret.txt", IfNoneMatch=etag)
    assert s3.get_object_tagging(Bucket="houdini", Key="plans/secret.txt")["TagSet"] == [
        {"Key": "level", "Value": "high"}]

    s3.copy_object(Bucket="houdini", Key="plans/copy.txt",
                   CopySource={"Bucket": "houdini", "Key": "plans/secret.txt"})
    assert s3.get_object(Bucket="houdini", Key="plans/copy.txt")["Body"].read() == small
    assert_opaque(up, ["plans/copy.txt"], [3000, 3000])

    # Larger than one upstream part (8 MiB): an upstream multipart upload.
    big = os.urandom(9 * MIB + 123)
    s3.put_object(Bucket="houdini", Key="big.bin", Body=big)
    r = s3.get_object(Bucket="houdini", Key="big.bin", Range=f"bytes={8 * MIB - 5}-{8 * MIB + 4}")
    assert r["Body"].read() == big[8 * MIB - 5:8 * MIB + 5]
    assert hashlib.sha256(s3.get_object(Bucket="houdini", Key="big.bin")["Body"].read()).digest() == \
        hashlib.sha256(big).digest()

    # A client multipart upload: each part an upstream object until Complete.
    p1, p2 = os.urandom(5 * MIB), os.urandom(1024)
    mp = s3.create_multipart_upload(Bucket="houdini", Key="multi/part.bin")["UploadId"]
    e1 = s3.upload_part(Bucket="houdini", Key="multi/part.bin", UploadId=mp, PartNumber=1, Body=p1)["ETag"]
    e2 = s3.upload_part_copy(Bucket="houdini", Key="multi/part.bin", UploadId=mp, PartNumber=2,
                             CopySource={"Bucket": "houdini", "Key": "big.bin"},
                             CopySourceRange="bytes=0-5242879")["CopyPartResult"]["ETag"]
    e3 = s3.upload_part(Bucket="houdini", Key="multi/part.bin", UploadId=mp, PartNumber=3, Body=p2)["ETag"]
    assert_opaque(up, [], [3000, 3000, len(big), 5 * MIB, 5 * MIB, 1024])
    done = s3.complete_multipart_upload(Bucket="houdini", Key="multi/part.bin", UploadId=mp,
                                        MultipartUpload={"Parts": [
                                            {"PartNumber": 1, "ETag": e1},
                                            {"PartNumber": 2, "ETag": e2},
                                            {"PartNumber": 3, "ETag": e3}]})
    assert done["ETag"].endswith('-3"')
    whole = p1 + big[:5 * MIB] + p2
    got = s3.get_object(Bucket="houdini", Key="multi/part.bin")["Body"].read()
    assert hashlib.sha256(got).digest() == hashlib.sha256(whole).digest()
    assert s3.get_object(Bucket="houdini", Key="multi/part.bin", PartNumber=3)["Body"].read() == p2
    # The parts are gone upstream: one blob per object.
    assert_opaque(up, ["multi/part.bin"], [3000, 3000, len(big), len(whole)])

    # An aborted upload leaves nothing upstream.
    mp = s3.create_multipart_upload(Bucket="houdini", Key="aborted")["UploadId"]
    s3.upload_part(Bucket="houdini", Key="aborted", UploadId=mp, PartNumber=1, Body=b"x" * 100)
    assert len(up.names()) == 5
    s3.abort_multipart_upload(Bucket="houdini", Key="aborted", UploadId=mp)
    assert len(up.names()) == 4

    # Overwrite: the replaced blob is deleted upstream.
    s3.put_object(Bucket="houdini", Key="plans/copy.txt", Body=b"short")
    assert_opaque(up, [], [3000, 5, len(big), len(whole)])

    # Deletes reach the upstream.
    s3.delete_object(Bucket="houdini", Key="big.bin")
    s3.delete_objects(Bucket="houdini", Delete={"Objects": [
        {"Key": "plans/secret.txt"}, {"Key": "plans/copy.txt"}, {"Key": "multi/part.bin"}]})
    assert up.names() == {}
    with s3_fails("NoSuchKey", 404):
        s3.get_object(Bucket="houdini", Key="plans/secret.txt")


def test_objects_on_another_iamd(iamd_upstream, tmp_path):
    b = u.new_server(tmp_path / "b", extra_env=iamd_upstream.env(IAMD_S3_UPSTREAM_PREFIX=""))
    try:
        object_story(b.client("s3"), iamd_upstream)
        # Access is decided by B alone: a user of B's with no permission is refused,
        # whatever the upstream key could do.
        iam = b.client("iam")
        iam.create_user(UserName="nobody")
        k = iam.create_access_key(UserName="nobody")["AccessKey"]
        b.client("s3").put_object(Bucket="houdini", Key="k", Body=b"v")
        with s3_fails("AccessDenied", 403):
            b.client("s3", k["AccessKeyId"], k["SecretAccessKey"]).get_object(Bucket="houdini", Key="k")
        b.client("s3").delete_object(Bucket="houdini", Key="k")
        b.stop()
        assert iamd_upstream.sk.encode() not in b.logs()
    finally:
        b.kill()


def test_objects_on_moto_server(moto_upstream, tmp_path):
    c = u.new_server(tmp_path / "c", extra_env=moto_upstream.env())
    try:
        object_story(c.client("s3"), moto_upstream)
    finally:
        c.kill()


def test_refuses_to_start_without_a_usable_upstream(iamd_upstream, tmp_path):
    wrong = upstream_env(iamd_upstream.endpoint, UPSTREAM_BUCKET, iamd_upstream.ak,
                         "wrongSecretwrongSecretwrongSecretwrongSe")
    with pytest.raises(RuntimeError) as e:
        u.new_server(tmp_path / "w", extra_env=wrong)
    msg = str(e.value)
    assert f'upstream bucket "{UPSTREAM_BUCKET}" at {iamd_upstream.endpoint}' in msg, msg
    assert "wrongSecret" not in msg
    no_creds = {"IAMD_S3_UPSTREAM_ENDPOINT": iamd_upstream.endpoint,
                "IAMD_S3_UPSTREAM_BUCKET": UPSTREAM_BUCKET}
    with pytest.raises(RuntimeError) as e:
        u.new_server(tmp_path / "n", extra_env=no_creds)
    assert "IAMD_S3_UPSTREAM_ACCESS_KEY_ID" in str(e.value)


def test_credentials_file_and_prefix_and_a_young_orphan_is_kept(iamd_upstream, tmp_path):
    creds = tmp_path / "upstream-credentials"
    creds.write_text(f"[default]\naws_access_key_id = {iamd_upstream.ak}\n"
                     f"aws_secret_access_key = {iamd_upstream.sk}\n")
    creds.chmod(0o644)
    env = {"IAMD_S3_UPSTREAM_ENDPOINT": iamd_upstream.endpoint,
           "IAMD_S3_UPSTREAM_BUCKET": UPSTREAM_BUCKET,
           "IAMD_S3_UPSTREAM_PREFIX": "node/d/",
           "IAMD_S3_UPSTREAM_CREDENTIALS_FILE": str(creds)}
    with pytest.raises(RuntimeError) as e:
        u.new_server(tmp_path / "d", extra_env=env)
    assert "are too open" in str(e.value)
    creds.chmod(0o600)
    # Unreferenced, but younger than the sweep's grace (another node's write about to
    # commit, as far as the sweep can tell), and a name that is no blob id: both kept.
    young = "node/d/" + "ab" * 16
    iamd_upstream.s3.put_object(Bucket=UPSTREAM_BUCKET, Key=young, Body=b"in flight")
    iamd_upstream.s3.put_object(Bucket=UPSTREAM_BUCKET, Key="node/d/README", Body=b"not ours")
    d = u.new_server(tmp_path / "d", extra_env=env)
    try:
        s3 = d.client("s3")
        s3.create_bucket(Bucket="prefixed")
        s3.put_object(Bucket="prefixed", Key="k", Body=b"value")
        assert s3.get_object(Bucket="prefixed", Key="k")["Body"].read() == b"value"
        names = iamd_upstream.names()
        ours = [n for n in names if n.startswith("node/d/") and n not in (young, "node/d/README")]
        assert len(ours) == 1 and BLOB_NAME.match(ours[0][len("node/d/"):]), names
        deadline = time.monotonic() + 30
        while b"upstream orphan sweep" not in d.logs():
            assert time.monotonic() < deadline, d.stderr()
            time.sleep(0.05)
        assert young in iamd_upstream.names() and "node/d/README" in iamd_upstream.names()
    finally:
        d.kill()
        for n in (young, "node/d/README"):
            iamd_upstream.s3.delete_object(Bucket=UPSTREAM_BUCKET, Key=n)


def test_two_nodes_on_one_database_and_one_upstream(pg, iamd_upstream, tmp_path):  # noqa: F811
    url = make_db(pg, "upstream_nodes")
    env = iamd_upstream.env(IAMD_DATABASE_URL=url, IAMD_MASTER_KEY=MASTER_KEY,
                            IAMD_S3_UPSTREAM_PREFIX="cluster/")
    n1 = u.new_server(tmp_path / "n1", extra_env=env)
    n2 = u.new_server(tmp_path / "n2", extra_env=env)
    try:
        s1, s2 = n1.client("s3"), n2.client("s3")
        s1.create_bucket(Bucket="shared")
        body = os.urandom(20000)
        s1.put_object(Bucket="shared", Key="written/on/one", Body=body)
        assert s2.get_object(Bucket="shared", Key="written/on/one")["Body"].read() == body
        assert s2.get_object(Bucket="shared", Key="written/on/one",
                             Range="bytes=10-19")["Body"].read() == body[10:20]
        # A multipart upload begun on one node, continued and completed on the other.
        p1, p2 = os.urandom(5 * MIB), b"tail"
        mp = s1.create_multipart_upload(Bucket="shared", Key="mp")["UploadId"]
        e1 = s1.upload_part(Bucket="shared", Key="mp", UploadId=mp, PartNumber=1, Body=p1)["ETag"]
        e2 = s2.upload_part(Bucket="shared", Key="mp", UploadId=mp, PartNumber=2, Body=p2)["ETag"]
        s2.complete_multipart_upload(Bucket="shared", Key="mp", UploadId=mp, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
        assert s1.get_object(Bucket="shared", Key="mp")["Body"].read() == p1 + p2
        names = [n for n in iamd_upstream.names() if n.startswith("cluster/")]
        assert len(names) == 2 and all(BLOB_NAME.match(n[len("cluster/"):]) for n in names), names
        # Deleted through the second node: gone for the first, and upstream.
        s2.delete_object(Bucket="shared", Key="written/on/one")
        s2.delete_object(Bucket="shared", Key="mp")
        with s3_fails("404", 404):
            s1.head_object(Bucket="shared", Key="written/on/one")
        assert not [n for n in iamd_upstream.names() if n.startswith("cluster/")]
    finally:
        n1.kill()
        n2.kill()


def test_upstream_down_fails_closed_and_commits_nothing(tmp_path):
    """With the upstream gone, reads and writes of bytes fail at once with 500
    InternalError (never a hang), a failed PUT leaves no object, and what needs only
    the metadata (HEAD, listing) still answers."""
    a, up = start_iamd_upstream(tmp_path / "a")
    b = u.new_server(tmp_path / "b", extra_env=up.env())
    try:
        s3 = b.client("s3")
        s3.create_bucket(Bucket="houdini")
        s3.put_object(Bucket="houdini", Key="kept", Body=b"bytes")
        a.kill()
        t0 = time.monotonic()
        with s3_fails("InternalError", 500):
            s3.get_object(Bucket="houdini", Key="kept")
        with s3_fails("InternalError", 500):
            s3.put_object(Bucket="houdini", Key="new", Body=b"x" * 1000)
        assert time.monotonic() - t0 < 25
        with s3_fails("404", 404):
            s3.head_object(Bucket="houdini", Key="new")
        assert s3.head_object(Bucket="houdini", Key="kept")["ContentLength"] == 5
        assert [o["Key"] for o in s3.list_objects_v2(Bucket="houdini")["Contents"]] == ["kept"]
    finally:
        b.kill()
        a.kill()
