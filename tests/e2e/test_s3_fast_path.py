"""The S3 fast path (iamd_s3::fast): a plain GetObject / HeadObject is answered without
s3s, byte-identical to s3s's answer. Each plain request (fast path) is compared with
the same request forced onto s3s with `If-Match: <the object's ETag>` (which s3s answers
200 alike): status, every header but the request ids and Date, and the body. That the
fast path answered is read from the server's log (a DEBUG line with the request id per
fast answer); that its caches follow writes, from answers right after overwrites,
deletes, a denying bucket policy and a lifecycle expiration."""

import datetime
import json
import time

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest

import e2e_util as u

pytestmark = pytest.mark.process

IGNORED = {"x-amz-request-id", "x-amz-id-2", "date"}


ENV = {"IAMD_LOG": "info,iamd::s3=debug", "IAMD_S3_LIFECYCLE_INTERVAL": "1"}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request, tmp_path_factory):
    """One server on SQLite (the object cache on) or PostgreSQL (off: other nodes write
    objects); `server.pg_url` names the PostgreSQL database."""
    if u.EXTERNAL_ENDPOINT:
        pytest.skip("reads the server's log")
    with u.server_on(request.param, tmp_path_factory.mktemp(f"iamd-fast-{request.param}"),
                     extra_env=ENV) as s:
        yield s


@pytest.fixture(scope="module")
def root(server):
    return server.client("s3")


@pytest.fixture(scope="module")
def bucket(root):
    name = u.uniq("fast").lower()
    root.create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="module")
def melvins(server):
    """A user allowed s3:* by an inline policy: (name, key id, secret)."""
    iam = server.client("iam")
    name = u.uniq("melvins")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="s3", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }))
    k = iam.create_access_key(UserName=name)["AccessKey"]
    return name, k["AccessKeyId"], k["SecretAccessKey"]


def request(server, method, path, ak, sk, token=None, headers=None, data=None):
    req = botocore.awsrequest.AWSRequest(method=method, url=server.endpoint + path, headers=dict(headers or {}), data=data)
    botocore.auth.S3SigV4Auth(botocore.credentials.Credentials(ak, sk, token), "s3", u.REGION).add_auth(req)
    return u.send(req.prepare())


def fast_answered(server, r) -> bool:
    rid = r.headers["x-amz-request-id"]
    return any("s3 fast path answered" in line and rid in line for line in server.stderr_path.read_text(errors="replace").splitlines())


def compare(server, path, creds, fast_get=True, fast_head=True, headers=None):
    """GET and HEAD of `path` (with `headers`), plain and forced onto s3s: the same
    answers; the plain ones answered by the fast path as told. Returns the plain GET's
    answer."""
    ak, sk, token = creds
    got = {}
    for method in ("GET", "HEAD"):
        plain = request(server, method, path, ak, sk, token, headers)
        assert plain.status == 200, (method, plain.status, plain.body)
        forced = request(server, method, path, ak, sk, token, {**(headers or {}), "If-Match": plain.headers["etag"]})
        assert forced.status == 200, (method, forced.status, forced.body)
        strip = lambda h: {k: v for k, v in h.items() if k not in IGNORED}
        assert strip(plain.headers) == strip(forced.headers), method
        assert plain.body == forced.body
        assert not fast_answered(server, forced)
        assert fast_answered(server, plain) == (fast_get if method == "GET" else fast_head), method
        got[method] = plain
    return got["GET"]


def root_creds(server):
    return server.root_ak, server.root_sk, None


def test_answers_match_s3s(server, root, bucket, melvins):
    _, ak, sk = melvins
    objects = {
        "plain": {"Body": b"hello world"},
        "meta": {"Body": b"m", "Metadata": {"a": "1", "b-c": "x y", "long": "v" * 200}},
        "headers": {
            "Body": b"<p>x</p>",
            "ContentType": "text/html; charset=utf-8",
            "ContentEncoding": "identity",
            "ContentDisposition": 'attachment; filename="a.txt"',
            "CacheControl": "max-age=60",
            "ContentLanguage": "en-GB",
            "Expires": datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
        },
        "tagged": {"Body": b"t", "Tagging": "a=b&c=d"},
        "checksum": {"Body": b"sum", "ChecksumAlgorithm": "SHA256"},
        "empty": {"Body": b""},
        "dir/with space+plus": {"Body": b"spaced"},
    }
    for key, kw in objects.items():
        root.put_object(Bucket=bucket, Key=key, **kw)
    up = root.create_multipart_upload(Bucket=bucket, Key="multi")["UploadId"]
    part = root.upload_part(Bucket=bucket, Key="multi", UploadId=up, PartNumber=1, Body=b"p" * 1000)
    root.complete_multipart_upload(Bucket=bucket, Key="multi", UploadId=up,
                                   MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    for creds in (root_creds(server), (ak, sk, None)):
        for key in list(objects) + ["multi"]:
            path = f"/{bucket}/" + key.replace(" ", "%20").replace("+", "%2B")
            r = compare(server, path, creds)
            if key == "multi":
                assert r.headers["etag"].endswith('-1"')
                assert r.body == b"p" * 1000
            elif key == "meta":
                assert r.headers["x-amz-meta-b-c"] == "x y"
            elif key != "headers":
                assert r.body == objects[key]["Body"]
            # As boto3 and the other current SDKs ask on every GetObject: the stored
            # checksum, if any, comes back, from the fast path as from s3s.
            r = compare(server, path, creds, headers={"x-amz-checksum-mode": "ENABLED"})
            assert ("x-amz-checksum-sha256" in r.headers) == (key == "checksum"), key
            if key == "checksum":
                assert r.headers["x-amz-checksum-type"] == "FULL_OBJECT"
    # Another spelling of the value: left to s3s (the fast path takes botocore's alone).
    compare(server, f"/{bucket}/checksum", root_creds(server), fast_get=False, fast_head=False,
            headers={"x-amz-checksum-mode": "enabled"})
    # boto3's own GetObject (it sends x-amz-checksum-mode: ENABLED and validates what
    # comes back) is answered by the fast path.
    got = root.get_object(Bucket=bucket, Key="checksum")
    assert got["Body"].read() == b"sum" and got["ChecksumSHA256"]
    rid = got["ResponseMetadata"]["RequestId"]
    assert any("s3 fast path answered" in line and rid in line
               for line in server.stderr_path.read_text(errors="replace").splitlines())


def test_what_the_fast_path_leaves_to_s3s(server, root, bucket):
    creds = root_creds(server)
    # Metadata s3s encodes (RFC 2047), and a body too large to cache: s3s answers the
    # GET (the HEAD of the large one is fast); the answers are the same.
    # (boto3 refuses non-ASCII metadata: a raw PUT with it RFC 2047-encoded.)
    put = request(server, "PUT", f"/{bucket}/accent", *creds, headers={"x-amz-meta-n": "=?UTF-8?B?Y2Fmw6k=?="}, data=b"a")
    assert put.status == 200, put.body
    compare(server, f"/{bucket}/accent", creds, fast_get=False, fast_head=False)
    root.put_object(Bucket=bucket, Key="large", Body=b"L" * (64 * 1024 + 1))
    big = compare(server, f"/{bucket}/large", creds, fast_get=False)
    assert big.body == b"L" * (64 * 1024 + 1)
    # A wrong secret, a missing key, a Range: s3s's answers.
    bad = request(server, "GET", f"/{bucket}/large", creds[0], "x" * 40)
    assert bad.status == 403 and bad.xml().findtext("Code") == "SignatureDoesNotMatch"
    missing = request(server, "GET", f"/{bucket}/nope", *creds)
    assert missing.status == 404 and missing.xml().findtext("Code") == "NoSuchKey"
    # An x-amz-* header left unsigned: the guard's refusal (the fast path runs before
    # the guard and must not answer it).
    # (Signed without x-amz-content-sha256, which is then sent with the value signed
    # for the empty body: the signature holds, the header is not covered.)
    req = botocore.awsrequest.AWSRequest(method="GET", url=f"{server.endpoint}/{bucket}/plain")
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(creds[0], creds[1]), "s3", u.REGION).add_auth(req)
    req.headers["x-amz-content-sha256"] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    unsigned = u.send(req.prepare())
    assert unsigned.status == 403 and unsigned.xml().findtext("Code") == "AccessDenied", unsigned.body
    assert unsigned.xml().findtext("HeadersNotSigned") == "x-amz-content-sha256"
    part = request(server, "GET", f"/{bucket}/large", *creds, headers={"Range": "bytes=0-1"})
    assert part.status == 206 and part.body == b"LL" and not fast_answered(server, part)


def test_writes_are_seen_at_once(server, root, bucket, melvins):
    name, ak, sk = melvins
    creds = (ak, sk, None)
    path = f"/{bucket}/changing"
    root.put_object(Bucket=bucket, Key="changing", Body=b"one")
    assert compare(server, path, creds).body == b"one"
    # Overwritten: the new bytes and ETag at once, from the fast path.
    root.put_object(Bucket=bucket, Key="changing", Body=b"two", Metadata={"k": "v"})
    r = compare(server, path, creds)
    assert r.body == b"two" and r.headers["x-amz-meta-k"] == "v"
    # Copied over, tagged, its metadata replaced by a copy onto itself.
    root.copy_object(Bucket=bucket, Key="changing", CopySource={"Bucket": bucket, "Key": "plain"})
    assert compare(server, path, creds).body == b"hello world"
    root.copy_object(Bucket=bucket, Key="changing", CopySource={"Bucket": bucket, "Key": "changing"},
                     MetadataDirective="REPLACE", Metadata={"new": "1"}, ContentType="text/plain")
    r = compare(server, path, creds)
    assert r.headers["x-amz-meta-new"] == "1" and r.headers["content-type"] == "text/plain"
    # Deleted (alone and in a DeleteObjects): s3s's NoSuchKey at once.
    root.delete_object(Bucket=bucket, Key="changing")
    gone = request(server, "GET", path, *creds)
    assert gone.status == 404 and gone.xml().findtext("Code") == "NoSuchKey"
    root.put_object(Bucket=bucket, Key="changing", Body=b"three")
    assert compare(server, path, creds).body == b"three"
    root.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "changing"}]})
    assert request(server, "GET", path, *creds).status == 404
    # A bucket policy denying the user: s3s's AccessDenied at once; lifted, fast again.
    root.put_object(Bucket=bucket, Key="changing", Body=b"four")
    assert compare(server, path, creds).body == b"four"
    user_arn = f"arn:aws:iam::{u.ACCOUNT_ID}:user/{name}"
    root.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": {"AWS": user_arn}, "Action": "s3:GetObject",
                       "Resource": f"arn:aws:s3:::{bucket}/*"}],
    }))
    denied = request(server, "GET", path, *creds)
    assert denied.status == 403 and denied.xml().findtext("Code") == "AccessDenied"
    assert not fast_answered(server, denied)
    root.delete_bucket_policy(Bucket=bucket)
    assert compare(server, path, creds).body == b"four"
    # A policy that reads the request's keys is decided with them (an allow from
    # policies that read none is taken without building them): a Deny on this client's
    # address holds; on another address it does not apply.
    def deny_from(cidr):
        root.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Principal": {"AWS": user_arn}, "Action": "s3:GetObject",
                           "Resource": f"arn:aws:s3:::{bucket}/*",
                           "Condition": {"IpAddress": {"aws:SourceIp": cidr}}}],
        }))
    deny_from("127.0.0.0/8")
    denied = request(server, "GET", path, *creds)
    assert denied.status == 403 and denied.xml().findtext("Code") == "AccessDenied"
    assert not fast_answered(server, denied)
    deny_from("192.0.2.0/24")
    assert compare(server, path, creds).body == b"four"
    root.delete_bucket_policy(Bucket=bucket)


def test_versioned_bucket(server, root):
    creds = root_creds(server)
    name = u.uniq("fastver").lower()
    root.create_bucket(Bucket=name)
    root.put_object(Bucket=name, Key="k", Body=b"null version")
    r = compare(server, f"/{name}/k", creds)
    assert "x-amz-version-id" not in r.headers
    root.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    r = compare(server, f"/{name}/k", creds)
    assert r.headers["x-amz-version-id"] == "null"
    v = root.put_object(Bucket=name, Key="k", Body=b"v2")["VersionId"]
    r = compare(server, f"/{name}/k", creds)
    assert r.headers["x-amz-version-id"] == v and r.body == b"v2"
    # A delete marker: NoSuchKey with the marker's headers (s3s).
    marker = root.delete_object(Bucket=name, Key="k")["VersionId"]
    gone = request(server, "GET", f"/{name}/k", *creds)
    assert gone.status == 404 and gone.headers["x-amz-version-id"] == marker
    # The marker removed: the previous version is current again.
    root.delete_object(Bucket=name, Key="k", VersionId=marker)
    r = compare(server, f"/{name}/k", creds)
    assert r.headers["x-amz-version-id"] == v and r.body == b"v2"


def test_session_credentials(server, bucket, melvins):
    _, ak, sk = melvins
    sts = u.make_client(server.endpoint, "sts", ak, sk)
    c = sts.get_session_token()["Credentials"]
    creds = (c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    r = compare(server, f"/{bucket}/plain", creds)
    assert r.body == b"hello world"
    # A damaged token: s3s's refusal, not the fast path.
    bad = request(server, "GET", f"/{bucket}/plain", creds[0], creds[1], creds[2][:-4] + "AAAA")
    assert bad.status in (400, 403) and not bad.body.startswith(b"hello")


def test_lifecycle_expiration_is_seen(server, root, bucket):
    creds = root_creds(server)
    root.put_object(Bucket=bucket, Key="expiring/a", Body=b"soon gone")
    assert compare(server, f"/{bucket}/expiring/a", creds).body == b"soon gone"
    root.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "x", "Filter": {"Prefix": "expiring/"}, "Status": "Enabled",
         "Expiration": {"Date": "2020-01-01T00:00:00Z"}}]})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and root.list_objects_v2(Bucket=bucket, Prefix="expiring/").get("KeyCount"):
        time.sleep(0.2)
    assert not root.list_objects_v2(Bucket=bucket, Prefix="expiring/").get("KeyCount")
    # Listed as gone: a GET agrees at once (the cached answer went with the write).
    gone = request(server, "GET", f"/{bucket}/expiring/a", *creds)
    assert gone.status == 404 and gone.xml().findtext("Code") == "NoSuchKey"
    root.delete_bucket_lifecycle(Bucket=bucket)


def test_postgres_other_nodes_writes_are_seen(server, root, bucket, tmp_path):
    """On PostgreSQL another node's object writes reach this node through the database
    only: the fast path reads it every time (no object cache there)."""
    if server.pg_url is None:
        pytest.skip("PostgreSQL only")
    creds = root_creds(server)
    root.put_object(Bucket=bucket, Key="shared", Body=b"here")
    assert compare(server, f"/{bucket}/shared", creds).body == b"here"
    other = u.new_server(tmp_path, extra_env={**ENV, "IAMD_MASTER_KEY": u.PG_MASTER_KEY, "IAMD_DATABASE_URL": server.pg_url})
    try:
        other.client("s3").delete_object(Bucket=bucket, Key="shared")
    finally:
        other.kill()
    gone = request(server, "GET", f"/{bucket}/shared", *creds)
    assert gone.status == 404 and gone.xml().findtext("Code") == "NoSuchKey"
