#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz targets into fuzz/seeds/<target>/ from real
requests: botocore signs IAM, STS and S3 calls (header auth, presigned URLs,
aws-chunked uploads) with the fuzz targets' fixed key, and the requests are captured
before they are sent. The committed corpora (fuzz/corpus/) are these seeds merged
(`-merge=1`) with what the fuzzers found; rerun this only to add seeds.

    python3 fuzz/seeds.py && fuzz/target/<host>/release/sigv4 -merge=1 fuzz/corpus/sigv4 fuzz/seeds/sigv4
"""
import datetime
import hashlib
import hmac
import io
import os
import shutil
from unittest import mock
from urllib.parse import urlsplit

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials

ACCESS_KEY = "AKIDFUZZEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
EP = "http://127.0.0.1:9911"
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "seeds")


class Captured(Exception):
    pass


def capture(service, call, endpoint="http", **cfg):
    """The signed request botocore would send for `call(client)`."""
    got = []

    def before_send(request, **_):
        got.append(request)
        raise Captured()

    client = boto3.client(
        service,
        endpoint_url=EP.replace("http", endpoint, 1),
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET,
        config=botocore.config.Config(retries={"max_attempts": 0}, **cfg),
    )
    client.meta.events.register("before-send", before_send)
    try:
        call(client)
    except Captured:
        pass
    return got[0]


def body_bytes(req):
    b = req.body
    if b is None:
        return b""
    if isinstance(b, str):
        return b.encode()
    if isinstance(b, (bytes, bytearray)):
        return bytes(b)
    data = b.read()
    return data.encode() if isinstance(data, str) else data


def raw_text(req):
    """METHOD path?query HTTP/1.1, headers, empty line, body."""
    u = urlsplit(req.url)
    target = u.path or "/"
    if u.query:
        target += "?" + u.query
    lines = [f"{req.method} {target} HTTP/1.1", f"host: {u.netloc}"]
    for k, v in req.headers.items():
        if k.lower() == "host":
            continue
        v = v.decode() if isinstance(v, bytes) else v
        lines.append(f"{k}: {v}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body_bytes(req)


def presigned_text(method, url, extra_headers=()):
    u = urlsplit(url)
    lines = [f"{method} {u.path}?{u.query} HTTP/1.1", f"host: {u.netloc}"]
    lines += [f"{k}: {v}" for k, v in extra_headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def iam_calls():
    doc = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::houdini","arn:aws:s3:::houdini/*"]}]}'
    return {
        "iam-create-user": ("iam", lambda c: c.create_user(UserName="melvins", Path="/bands/", Tags=[{"Key": "k", "Value": "v w"}])),
        "iam-list-users": ("iam", lambda c: c.list_users(MaxItems=10, Marker="abc")),
        "iam-put-user-policy": ("iam", lambda c: c.put_user_policy(UserName="melvins", PolicyName="allow_access_houdini", PolicyDocument=doc)),
        "iam-create-access-key": ("iam", lambda c: c.create_access_key(UserName="melvins")),
        "iam-simulate": ("iam", lambda c: c.simulate_custom_policy(PolicyInputList=[doc], ActionNames=["s3:GetObject", "s3:PutObject"], ResourceArns=["arn:aws:s3:::houdini/a"], ContextEntries=[{"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["10.0.0.1"], "ContextKeyType": "ip"}])),
        "iam-create-role": ("iam", lambda c: c.create_role(RoleName="r", AssumeRolePolicyDocument='{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}', MaxSessionDuration=3600)),
        "iam-tag-user": ("iam", lambda c: c.tag_user(UserName="melvins", Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": ""}])),
        "iam-update-key": ("iam", lambda c: c.update_access_key(UserName="melvins", AccessKeyId="AKIAIOSFODNN7EXAMPLE", Status="Inactive")),
        "sts-gci": ("sts", lambda c: c.get_caller_identity()),
        "sts-assume-role": ("sts", lambda c: c.assume_role(RoleArn="arn:aws:iam::123456789012:role/r", RoleSessionName="sess", DurationSeconds=900, Tags=[{"Key": "p", "Value": "q"}], PolicyArns=[{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}])),
        "sts-session-token": ("sts", lambda c: c.get_session_token(DurationSeconds=3600)),
    }


def s3_calls():
    big = b"x" * 70
    return {
        "s3-put": lambda c: c.put_object(Bucket="houdini", Key="photo.jpg", Body=b"hello", ContentType="image/jpeg", Metadata={"a": "b"}),
        "s3-put-tagging": lambda c: c.put_object(Bucket="houdini", Key="dir/a b+c~.txt", Body=big, Tagging="k1=v1&k2=v%202", ACL="public-read"),
        "s3-get": lambda c: c.get_object(Bucket="houdini", Key="photo.jpg", Range="bytes=0-3"),
        "s3-list": lambda c: c.list_objects_v2(Bucket="houdini", Prefix="a/", Delimiter="/", MaxKeys=5),
        "s3-copy": lambda c: c.copy_object(Bucket="houdini", Key="copy", CopySource={"Bucket": "src", "Key": "k y"}, MetadataDirective="REPLACE"),
        "s3-delete-objects": lambda c: c.delete_objects(Bucket="houdini", Delete={"Objects": [{"Key": "a"}, {"Key": "b"}]}),
        "s3-put-policy": lambda c: c.put_bucket_policy(Bucket="houdini", Policy='{"Statement":[]}'),
        "s3-create-bucket": lambda c: c.create_bucket(Bucket="houdini", GrantRead="id=abc"),
        "s3-mpu": lambda c: c.create_multipart_upload(Bucket="houdini", Key="big", Tagging="a=b"),
        "s3-upload-part": lambda c: c.upload_part(Bucket="houdini", Key="big", UploadId="u1", PartNumber=2, Body=b"part"),
        "s3-list-buckets": lambda c: c.list_buckets(),
        "s3-get-tagging": lambda c: c.get_object_tagging(Bucket="houdini", Key="k"),
    }


def chunked_body(chunks, trailer=None):
    out = b""
    for ch in chunks:
        out += b"%x\r\n" % len(ch) + ch + b"\r\n"
    out += b"0\r\n"
    if trailer:
        out += trailer.encode() + b"\r\n"
    return out + b"\r\n"


def streaming_signed(chunks, trailer=None):
    """A PUT with STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER], headers signed by
    botocore, chunk (and trailer) signatures chained as the AWS SDKs do."""
    when = datetime.datetime(2026, 11, 28, 10, 10, 10)
    mode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" + ("-TRAILER" if trailer else "")
    h = {"X-Amz-Content-SHA256": mode, "Content-Encoding": "aws-chunked",
         "X-Amz-Decoded-Content-Length": str(sum(map(len, chunks)))}
    if trailer:
        h["X-Amz-Trailer"] = trailer.split(":")[0]
    req = botocore.awsrequest.AWSRequest(method="PUT", url=EP + "/houdini/chunked.bin", headers=h)
    with mock.patch.object(botocore.auth, "get_current_datetime", lambda *a, **k: when):
        botocore.auth.SigV4Auth(botocore.credentials.Credentials(ACCESS_KEY, SECRET), "s3", "us-east-1").add_auth(req)
    amz_date = req.headers["X-Amz-Date"]
    prev = req.headers["Authorization"].rsplit("Signature=", 1)[1]
    day = amz_date[:8]
    scope = f"{day}/us-east-1/s3/aws4_request"
    key = ("AWS4" + SECRET).encode()
    for part in (day, "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    sign = lambda sts: hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    empty = hashlib.sha256(b"").hexdigest()
    body = b""
    for c in list(chunks) + [b""]:
        prev = sign("\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev, empty, hashlib.sha256(c).hexdigest()]))
        body += f"{len(c):x};chunk-signature={prev}\r\n".encode() + c + (b"\r\n" if c or not trailer else b"")
    if trailer:
        th = hashlib.sha256((trailer + "\n").encode()).hexdigest()
        sig = sign("\n".join(["AWS4-HMAC-SHA256-TRAILER", amz_date, scope, prev, th]))
        body += f"{trailer}\r\nx-amz-trailer-signature:{sig}\r\n\r\n".encode()
    req.headers["Content-Length"] = str(len(body))
    req.data = body
    return req


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    iam = iam_calls()
    for name, (svc, call) in iam.items():
        req = capture(svc, call)
        text = raw_text(req)
        write("sigv4", name, b"\x00" + text)          # header auth, body as bytes
        write("sigv4", name + "-resign", b"\x60" + text)  # + re-sign as iam
        body = body_bytes(req)
        write("query", name, bytes([len(name)]) + b"\n" + body)
        write("query", name + "-in-query", b"\x07" + body + b"\n")
    s3c = dict(signature_version="s3v4", s3={"addressing_style": "path"})
    for name, call in s3_calls().items():
        req = capture("s3", call, **s3c)
        text = raw_text(req)
        write("sigv4", name, b"\x09" + text)  # payload unknown, as iamd's S3 path
        write("sigv4", name + "-resign", b"\x29" + text)
        write("s3_authz", name, bytes([OPS.index(S3_OP[name]), 0x01]) + text)
        write("s3_authz", name + "-raw", bytes([OPS.index(S3_OP[name]), 0x00]) + text)
    # aws-chunked uploads as botocore sends them (checksum trailer, unsigned chunks).
    req = capture("s3", lambda c: c.put_object(Bucket="houdini", Key="k", Body=io.BytesIO(b"hello world" * 3)),
                  request_checksum_calculation="when_supported", **s3c)
    write("sigv4", "s3-put-checksum", b"\x09" + raw_text(req))
    req = capture("s3", lambda c: c.put_object(Bucket="houdini", Key="k", Body=io.BytesIO(b"hello world" * 3)),
                  request_checksum_calculation="when_supported", endpoint="https")
    body = body_bytes(req)
    req.body = body
    write("sigv4", "s3-put-unsigned-trailer", b"\x09" + raw_text(req))
    write("chunked", "unsigned-botocore", b"\x00\x00" + body)
    write("sigv4", "s3-put-streaming-signed", b"\x09" + raw_text(streaming_signed([b"a" * 100, b"tail"])))
    write("sigv4", "s3-put-streaming-trailer",
          b"\x09" + raw_text(streaming_signed([b"abc"], "x-amz-checksum-crc32:NSRBwg==")))
    # Presigned URLs (query auth).
    s3 = boto3.client("s3", endpoint_url=EP, region_name="us-east-1", aws_access_key_id=ACCESS_KEY,
                      aws_secret_access_key=SECRET, config=botocore.config.Config(**s3c))
    for name, method, params, op in [
        ("get", "get_object", {"Bucket": "houdini", "Key": "cat.jpg"}, "GetObject"),
        ("put", "put_object", {"Bucket": "houdini", "Key": "a/b c.txt"}, "PutObject"),
        ("list", "list_objects_v2", {"Bucket": "houdini", "Prefix": "x+y"}, "ListObjectsV2"),
    ]:
        url = s3.generate_presigned_url(method, Params=params, ExpiresIn=3600)
        text = presigned_text("PUT" if method == "put_object" else "GET", url)
        write("sigv4", "presigned-" + name, b"\x00" + text)
        write("sigv4", "presigned-" + name + "-resign", b"\xa0" + text)
        write("s3_authz", "presigned-" + name, bytes([OPS.index(op), 0x01]) + text)
    sts = boto3.client("sts", endpoint_url=EP, region_name="us-east-1", aws_access_key_id=ACCESS_KEY,
                       aws_secret_access_key=SECRET)
    url = sts.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=900)
    # botocore signs a presigned STS URL for the operation's method (POST).
    write("sigv4", "presigned-sts", b"\x00" + presigned_text("POST", url))
    # Headers the S3 mapping reads.
    for i, (op, hdrs, target) in enumerate([
        ("CopyObject", ["x-amz-copy-source: /src%20b/k%2Bey?versionId=3", "x-amz-tagging: a=1&b=%zz",
                        "x-amz-metadata-directive: COPY", "x-amz-acl: private", "x-amz-server-side-encryption: AES256"], "/b/k"),
        ("UploadPartCopy", ["x-amz-copy-source: b/"], "/b/k?partNumber=1&uploadId=x"),
        ("PutObject", ["x-amz-grant-read: id=1", "authorization: AWS AKID:sig"], "/b/k"),
        ("ListObjects", [], "/b?prefix=%E2%82%AC&delimiter=%2F&max-keys=7"),
        ("GetObject", ["x-amz-date: 20240229T120000Z"],
         "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20991231T235959Z"),
        ("GetObject", [], "/b/k?Signature=abc&AWSAccessKeyId=x&Expires=1"),
        ("DeleteObjects", [], "/b?delete"),
    ]):
        text = ("\r\n".join([f"GET {target} HTTP/1.1", "host: 127.0.0.1"] + hdrs) + "\r\n\r\n").encode()
        write("s3_authz", f"hand-{i}", bytes([OPS.index(op), 0x01]) + text)
    # aws-chunked: flags, split, material (see fuzz_targets/chunked.rs).
    real = chunked_body([b"hello world" * 3], "x-amz-checksum-crc32:rfzDgw==")
    write("chunked", "unsigned-real", b"\x00\x00" + real)
    write("chunked", "unsigned-real-split", b"\x00\x05" + real)
    write("chunked", "unsigned-two", b"\x00\x03" + chunked_body([b"abc", b"defg"], "x-amz-checksum-sha256:abc="))
    write("chunked", "unsigned-no-trailer", b"\x00\x00" + chunked_body([b"abc"]))
    write("chunked", "unsigned-truncated", b"\x00\x00" + b"5\r\nhello\r\n")
    aws_doc = (b"10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n"
               + b"a" * 64 + b"\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n")
    write("chunked", "signed-raw", b"\x01\x00" + aws_doc)
    write("chunked", "signed-trailer-raw", b"\x02\x00" + aws_doc[:-2] + b"x-amz-checksum-crc32:AAAAAA==\r\nx-amz-trailer-signature:" + b"0" * 64 + b"\r\n\r\n")
    for flags, split, material, name in [
        (0x03, 0, b"hello|world", "built-unsigned"),
        (0x04, 0, b"hello|world|!", "built-signed"),
        (0x04, 7, b"a" * 100, "built-signed-split"),
        (0x05, 0, b"abc|x-amz-checksum-crc32:NhCmhg==", "built-signed-trailer"),
        (0x0c, 0, b"hello", "built-signed-len-body"),
        (0x14, 0, b"hello", "built-signed-len-plus"),
        (0x24, 3, b"hello|world", "built-signed-cut"),
        (0x44, 0, b"hello|world", "built-signed-no-final"),
        (0x43, 0, b"hello|world", "built-unsigned-no-final"),
        (0x64, 0, b"hello", "built-signed-extra"),
    ]:
        write("chunked", name, bytes([flags, split]) + material)


OPS = ["ListBuckets", "CreateBucket", "HeadBucket", "DeleteBucket", "GetBucketLocation", "ListObjects",
       "ListObjectsV2", "ListMultipartUploads", "GetObject", "HeadObject", "PutObject", "CopyObject",
       "UploadPartCopy", "DeleteObject", "DeleteObjects", "CreateMultipartUpload", "UploadPart",
       "CompleteMultipartUpload", "AbortMultipartUpload", "ListParts", "PutBucketPolicy", "GetBucketPolicy",
       "DeleteBucketPolicy", "GetBucketPolicyStatus", "GetObjectTagging", "PutObjectTagging",
       "DeleteObjectTagging", "GetObjectAcl", "PutBucketVersioning", ""]
S3_OP = {"s3-put": "PutObject", "s3-put-tagging": "PutObject", "s3-get": "GetObject", "s3-list": "ListObjectsV2",
         "s3-copy": "CopyObject", "s3-delete-objects": "DeleteObjects", "s3-put-policy": "PutBucketPolicy",
         "s3-create-bucket": "CreateBucket", "s3-mpu": "CreateMultipartUpload", "s3-upload-part": "UploadPart",
         "s3-list-buckets": "ListBuckets", "s3-get-tagging": "GetObjectTagging"}

if __name__ == "__main__":
    main()
