"""S3 request integrity (issue 9): Content-MD5 and x-amz-checksum-* on every
body-carrying operation, DeleteObjects' required digest, x-amz-decoded-content-length
on aws-chunked uploads, the 20 KB bucket policy cap, AWS's bucket naming rules, and
private modes of the blob files."""

import base64
import hashlib
import io
import json
import os
import re
import stat
import xml.etree.ElementTree as ET
import zlib

import botocore.exceptions
import botocore.httpchecksum
import pytest

import e2e_util as u
from test_s3_ops import send_raw, signed

BUCKET = "integ"


@pytest.fixture(scope="module")
def root(server):
    c = server.client("s3")
    c.create_bucket(Bucket=BUCKET)
    return c


def b64(d: bytes) -> str:
    return base64.b64encode(d).decode()


def md5(body: bytes) -> str:
    return b64(hashlib.md5(body).digest())


def crc32(body: bytes) -> str:
    return b64(zlib.crc32(body).to_bytes(4, "big"))


def call(server, method, path, body=b"", query="", headers=None):
    """A root-signed request; (status, error code, error message) — code and message
    are None on success."""
    h = {"Content-Length": str(len(body)), **(headers or {})}
    status, resp = send_raw(server, signed(server, method, path, u.ROOT_ACCESS_KEY_ID,
                                           u.ROOT_SECRET_ACCESS_KEY, h, body, query), body)
    if status < 300:
        return status, None, None
    err = ET.fromstring(resp)
    return status, err.findtext("Code"), err.findtext("Message")


def client_error(ei):
    r = ei.value.response
    return r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"], r["Error"]["Message"]


BAD_DIGEST = (400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
INVALID_DIGEST = (400, "InvalidDigest", "The Content-MD5 you specified was invalid.")


def delete_xml(*keys) -> bytes:
    objs = "".join(f"<Object><Key>{k}</Key></Object>" for k in keys)
    return f'<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{objs}</Delete>'.encode()


def keys(root, prefix):
    return sorted(o["Key"] for o in root.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


# -- DeleteObjects -------------------------------------------------------------------

def test_delete_objects_requires_and_verifies_a_digest(server, root):
    for k in ("del/a", "del/b"):
        root.put_object(Bucket=BUCKET, Key=k, Body=b"x")
    body = delete_xml("del/a", "del/b")
    xml = {"Content-Type": "application/xml"}
    wrong_md5 = md5(body + b" ")
    assert call(server, "POST", f"/{BUCKET}", body, "delete", {**xml, "Content-MD5": wrong_md5}) == BAD_DIGEST
    assert call(server, "POST", f"/{BUCKET}", body, "delete", {**xml, "Content-MD5": "not base64!"}) == INVALID_DIGEST
    assert call(server, "POST", f"/{BUCKET}", body, "delete", xml) == (
        400, "InvalidRequest", "Missing required header for this request: Content-MD5 OR x-amz-checksum-*")
    assert call(server, "POST", f"/{BUCKET}", body, "delete",
                {**xml, "x-amz-checksum-crc32": crc32(body + b" ")}) == (
        400, "BadDigest", "The CRC32 you specified did not match the calculated checksum.")
    assert call(server, "POST", f"/{BUCKET}", body, "delete", {**xml, "x-amz-checksum-crc32": "AAAA"}) == (
        400, "InvalidRequest", "Value for x-amz-checksum-crc32 header is invalid.")
    wrong_sha = b64(hashlib.sha256(b"other").digest())
    assert call(server, "POST", f"/{BUCKET}", body, "delete", {**xml, "x-amz-checksum-sha256": wrong_sha}) == (
        400, "BadDigest", "The SHA256 you specified did not match the calculated checksum.")
    assert keys(root, "del/") == ["del/a", "del/b"]  # nothing was deleted

    sha = b64(hashlib.sha256(body).digest())
    assert call(server, "POST", f"/{BUCKET}", body, "delete", {**xml, "x-amz-checksum-sha256": sha})[0] == 200
    assert keys(root, "del/") == []
    root.put_object(Bucket=BUCKET, Key="del/c", Body=b"x")
    body = delete_xml("del/c")
    assert call(server, "POST", f"/{BUCKET}", body, "delete", {**xml, "Content-MD5": md5(body)})[0] == 200
    assert keys(root, "del/") == []


def test_authorization_comes_before_the_digest(server, root):
    """A caller the engine refuses learns nothing from the body: AccessDenied, not
    BadDigest/InvalidDigest (the body is read only after the decision). DeleteObjects
    and PutObjectTagging are decided per key after their body is read, so their digest
    is checked first, as on AWS."""
    import http.client
    body = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*"}]}).encode()
    host, port = server.host_port
    for digest in (md5(body + b" "), "not base64!"):
        conn = http.client.HTTPConnection(host, port, timeout=30)
        try:
            conn.request("PUT", f"/{BUCKET}?policy", body=body, headers={"Content-MD5": digest})
            r = conn.getresponse()
            status, doc = r.status, r.read()
        finally:
            conn.close()
        assert status == 403, doc
        assert ET.fromstring(doc).findtext("Code") == "AccessDenied"


def test_boto3_delete_objects_sends_crc32_and_works(server, root):
    sent = []
    root.meta.events.register("before-send.s3.DeleteObjects",
                              lambda request, **kw: sent.append(dict(request.headers)))
    try:
        for k in ("b3/a", "b3/b"):
            root.put_object(Bucket=BUCKET, Key=k, Body=b"x")
        r = root.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "b3/a"}, {"Key": "b3/b"}]})
    finally:
        root.meta.events.unregister("before-send.s3.DeleteObjects")
    assert sorted(d["Key"] for d in r["Deleted"]) == ["b3/a", "b3/b"]
    assert keys(root, "b3/") == []
    assert any(k.lower() == "x-amz-checksum-crc32" for k in sent[0]), sent[0]


# -- Content-MD5 on every other body-carrying operation ------------------------------

def test_put_object_and_upload_part_verify_digests(server, root):
    data = b"object body"
    assert call(server, "PUT", f"/{BUCKET}/md5/obj", data, headers={"Content-MD5": "zzz"}) == INVALID_DIGEST
    assert call(server, "PUT", f"/{BUCKET}/md5/obj", data,
                headers={"Content-MD5": hashlib.md5(data).hexdigest()}) == INVALID_DIGEST
    assert call(server, "PUT", f"/{BUCKET}/md5/obj", data, headers={"Content-MD5": md5(b"x")}) == BAD_DIGEST
    assert call(server, "PUT", f"/{BUCKET}/md5/obj", data, headers={"x-amz-checksum-crc32": crc32(b"x")}) == (
        400, "BadDigest", "The CRC32 you specified did not match the calculated checksum.")
    two = {"x-amz-checksum-crc32": crc32(data), "x-amz-checksum-sha1": b64(hashlib.sha1(data).digest())}
    assert call(server, "PUT", f"/{BUCKET}/md5/obj", data, headers=two)[:2] == (400, "InvalidRequest")
    assert keys(root, "md5/") == []
    assert call(server, "PUT", f"/{BUCKET}/md5/obj", data,
                headers={"Content-MD5": md5(data), "x-amz-checksum-crc32": crc32(data)})[0] == 200
    root.put_object(Bucket=BUCKET, Key="md5/sha", Body=data, ChecksumAlgorithm="SHA256")
    assert keys(root, "md5/") == ["md5/obj", "md5/sha"]

    up = root.create_multipart_upload(Bucket=BUCKET, Key="md5/mp")["UploadId"]
    q = f"partNumber=1&uploadId={up}"
    assert call(server, "PUT", f"/{BUCKET}/md5/mp", data, q, {"Content-MD5": "!!"}) == INVALID_DIGEST
    assert call(server, "PUT", f"/{BUCKET}/md5/mp", data, q, {"Content-MD5": md5(b"x")}) == BAD_DIGEST
    assert root.list_parts(Bucket=BUCKET, Key="md5/mp", UploadId=up).get("Parts", []) == []
    assert call(server, "PUT", f"/{BUCKET}/md5/mp", data, q, {"Content-MD5": md5(data)})[0] == 200
    root.abort_multipart_upload(Bucket=BUCKET, Key="md5/mp", UploadId=up)


def test_xml_body_operations_verify_content_md5(server, root):
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/pub/*"}]})
    tagging = (b'<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet>'
               b"<Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>")
    create = (b'<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
              b"</CreateBucketConfiguration>")
    root.put_object(Bucket=BUCKET, Key="tagme", Body=b"x")
    up = root.create_multipart_upload(Bucket=BUCKET, Key="mpu")["UploadId"]
    etag = root.upload_part(Bucket=BUCKET, Key="mpu", UploadId=up, PartNumber=1, Body=b"part")["ETag"]
    complete = (f'<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part>'
                f"<PartNumber>1</PartNumber><ETag>{etag}</ETag></Part></CompleteMultipartUpload>").encode()
    cases = [  # (method, path, query, body)
        ("PUT", f"/{BUCKET}", "policy", policy.encode()),
        ("PUT", f"/{BUCKET}/tagme", "tagging", tagging),
        ("POST", f"/{BUCKET}/mpu", f"uploadId={up}", complete),
        ("PUT", "/integ-created", "", create),
    ]
    for method, path, query, body in cases:
        assert call(server, method, path, body, query, {"Content-MD5": md5(body + b"!")}) == BAD_DIGEST, path
        assert call(server, method, path, body, query, {"Content-MD5": "bad"}) == INVALID_DIGEST, path
        # CompleteMultipartUpload's x-amz-checksum-* names the object's checksum, not the
        # body's: a CRC32 for an upload keeping S3's default CRC64NVME is refused as such.
        refusal = "InvalidRequest" if method == "POST" else "BadDigest"
        assert call(server, method, path, body, query, {"x-amz-checksum-crc32": crc32(b"!")})[:2] == (
            400, refusal), path
    # None of them took effect.
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        root.get_bucket_policy(Bucket=BUCKET)
    assert client_error(ei)[1] == "NoSuchBucketPolicy"
    assert root.get_object_tagging(Bucket=BUCKET, Key="tagme")["TagSet"] == []
    assert root.list_parts(Bucket=BUCKET, Key="mpu", UploadId=up)["Parts"][0]["PartNumber"] == 1
    assert "integ-created" not in [b["Name"] for b in root.list_buckets()["Buckets"]]
    # With the right digest each succeeds.
    for method, path, query, body in cases:
        assert call(server, method, path, body, query, {"Content-MD5": md5(body)})[0] in (200, 204), path
    assert json.loads(root.get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"][0]["Action"] == "s3:GetObject"
    assert root.get_object_tagging(Bucket=BUCKET, Key="tagme")["TagSet"] == [{"Key": "k", "Value": "v"}]
    assert root.get_object(Bucket=BUCKET, Key="mpu")["Body"].read() == b"part"
    root.delete_bucket(Bucket="integ-created")
    root.delete_bucket_policy(Bucket=BUCKET)


# -- aws-chunked: x-amz-decoded-content-length and trailer checksums ----------------

def chunked_put(server, path, data, declared=None, trailer_value=None):
    """PUT with STREAMING-UNSIGNED-PAYLOAD-TRAILER, encoded by botocore's own
    aws-chunked writer with an x-amz-checksum-crc32 trailer (64 KiB chunks)."""
    wrapper = botocore.httpchecksum.AwsChunkedWrapper(
        io.BytesIO(data), checksum_cls=botocore.httpchecksum.Crc32Checksum,
        checksum_name="x-amz-checksum-crc32", chunk_size=64 * 1024)
    encoded = wrapper.read()
    if trailer_value is not None:
        encoded = re.sub(rb"x-amz-checksum-crc32:[^\r]*", b"x-amz-checksum-crc32:" + trailer_value.encode(), encoded)
    h = {
        "X-Amz-Content-SHA256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "Content-Encoding": "aws-chunked",
        "X-Amz-Trailer": "x-amz-checksum-crc32",
        "X-Amz-Decoded-Content-Length": str(len(data) if declared is None else declared),
        "Content-Length": str(len(encoded)),
    }
    status, resp = send_raw(server, signed(server, "PUT", path, u.ROOT_ACCESS_KEY_ID,
                                           u.ROOT_SECRET_ACCESS_KEY, h), encoded)
    code = ET.fromstring(resp).findtext("Code") if status >= 300 else None
    msg = ET.fromstring(resp).findtext("Message") if status >= 300 else None
    return status, code, msg


def blob_files(server):
    return sorted(p.name for p in (server.data_dir / "s3" / "blobs").iterdir())


def tmp_files(server):
    return sorted(p.name for p in (server.data_dir / "s3" / "tmp").iterdir())


@pytest.mark.process
def test_decoded_content_length_is_enforced(server, root):
    data = os.urandom(200_000)
    before = blob_files(server)
    for declared in (1, 0, 199_000, 201_000):
        key = f"chunked/declared-{declared}"
        assert chunked_put(server, f"/{BUCKET}/{key}", data, declared) == (
            400, "IncompleteBody",
            "You did not provide the number of bytes specified by the Content-Length HTTP header"), declared
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            root.head_object(Bucket=BUCKET, Key=key)
        assert client_error(ei)[0] == 404
    assert blob_files(server) == before
    assert tmp_files(server) == []
    assert chunked_put(server, f"/{BUCKET}/chunked/exact", data)[0] == 200
    assert root.get_object(Bucket=BUCKET, Key="chunked/exact")["Body"].read() == data


@pytest.mark.process
def test_aws_chunked_trailer_checksum_is_verified(server, root):
    data = os.urandom(150_000)
    before = blob_files(server)
    assert chunked_put(server, f"/{BUCKET}/chunked/bad-trailer", data, trailer_value=crc32(b"other")) == (
        400, "BadDigest", "The CRC32 you specified did not match the calculated checksum.")
    assert blob_files(server) == before and tmp_files(server) == []
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        root.head_object(Bucket=BUCKET, Key="chunked/bad-trailer")
    assert client_error(ei)[0] == 404
    assert chunked_put(server, f"/{BUCKET}/chunked/good-trailer", data)[0] == 200
    assert root.get_object(Bucket=BUCKET, Key="chunked/good-trailer")["Body"].read() == data


# -- bucket policy size --------------------------------------------------------------

def policy_of(n_statements: int) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": f"S{i}", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/p{i}/*"} for i in range(n_statements)]}, separators=(",", ":"))


def test_bucket_policy_is_capped_at_20_kb(server, root):
    small = policy_of(2)
    root.put_bucket_policy(Bucket=BUCKET, Policy=small)
    n = 1
    while len(policy_of(n + 1)) <= 20 * 1024:
        n += 1
    fits, over = policy_of(n), policy_of(n + 1)
    assert len(fits) <= 20 * 1024 < len(over)
    too_large = (400, "PolicyTooLarge", "Policy exceeds the maximum allowed document size.")
    for doc in (over, policy_of(20_000)):
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            root.put_bucket_policy(Bucket=BUCKET, Policy=doc)
        assert client_error(ei) == too_large
    # 5 MB: refused as too large (before any JSON is parsed: it is not even JSON).
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        root.put_bucket_policy(Bucket=BUCKET, Policy="x" * (5 * 1024 * 1024))
    assert client_error(ei) == too_large
    assert root.get_bucket_policy(Bucket=BUCKET)["Policy"] == small
    root.put_bucket_policy(Bucket=BUCKET, Policy=fits)
    assert root.get_bucket_policy(Bucket=BUCKET)["Policy"] == fits
    root.delete_bucket_policy(Bucket=BUCKET)


# -- bucket names --------------------------------------------------------------------

@pytest.mark.parametrize("name", ["a.-b", "abc-s3alias", "abc--ol-s3", "sthree-abc",
                                  "a-.b", "xn--abc", "amzn-s3-demo-x", "abc.mrap",
                                  "abc--table-s3", "ab", "a_b"])
def test_reserved_or_malformed_bucket_names_are_refused(server, root, name):
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        root.create_bucket(Bucket=name)
    assert client_error(ei) == (400, "InvalidBucketName", "The specified bucket is not valid.")
    assert name not in [b["Name"] for b in root.list_buckets()["Buckets"]]


def test_names_boto3_signs_for_other_services_are_refused(server, root):
    # boto3 signs an IP-formatted name and a directory-bucket (`--x-s3`) name for other
    # services than plain s3, so these requests are made raw.
    invalid = (400, "InvalidBucketName", "The specified bucket is not valid.")
    for name in ("192.168.5.4", "abc--x-s3"):
        assert call(server, "PUT", f"/{name}") == invalid, name
    assert call(server, "GET", "/192.168.5.4/k") == invalid


def test_valid_edge_case_bucket_names_are_accepted(server, root):
    for name in ["abc", "a" * 63, "a-b.c1", "a--b", "xn-abc", "abc-s3alias1", "sthree",
                 "prefix-192.168.5.4", "1.2.3", "9ab"]:
        root.create_bucket(Bucket=name)
        root.delete_bucket(Bucket=name)


# -- private files -------------------------------------------------------------------

@pytest.mark.process
def test_blob_files_are_0600_and_directories_0700(tmp_path):
    old = os.umask(0o022)
    try:
        s = u.new_server(tmp_path)
    finally:
        os.umask(old)
    try:
        c = s.client("s3")
        c.create_bucket(Bucket="modes")
        c.put_object(Bucket="modes", Key="k", Body=b"secret")
        up = c.create_multipart_upload(Bucket="modes", Key="mp")["UploadId"]
        e = c.upload_part(Bucket="modes", Key="mp", UploadId=up, PartNumber=1, Body=b"part")["ETag"]
        c.complete_multipart_upload(Bucket="modes", Key="mp", UploadId=up,
                                    MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e}]})
        s3 = s.data_dir / "s3"
        files = list((s3 / "blobs").iterdir())
        assert len(files) == 2
        for p in files:
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
        for d in (s3, s3 / "blobs", s3 / "tmp"):
            assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
    finally:
        s.kill()
