"""S3 operations and their AWS error codes, the S3 condition keys as the engine sees
them, SigV4 variants (UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD with every
chunk signature checked) and durability of acknowledged writes."""

import base64
import datetime as _dt
import hashlib
import hmac
import http.client
import json
import os
import urllib.parse

import botocore
import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest

import e2e_util as u


def s3c(server, ak=None, sk=None, **cfg):
    return server.client("s3", ak, sk, **cfg)


def err(ei):
    r = ei.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture(scope="module")
def root(server):
    c = s3c(server)
    c.create_bucket(Bucket="ops")
    return c


def user(server, iam, policy):
    name = u.uniq("s3user")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    k = iam.create_access_key(UserName=name)["AccessKey"]
    return name, s3c(server, k["AccessKeyId"], k["SecretAccessKey"]), (k["AccessKeyId"], k["SecretAccessKey"])


def allow(actions, resources, condition=None):
    st = {"Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        st["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [st]}


# -- buckets -------------------------------------------------------------------

def test_bucket_lifecycle_and_errors(server, root):
    root.create_bucket(Bucket="life")
    # us-east-1 (the client's region): creating your own bucket again succeeds.
    root.create_bucket(Bucket="life")
    root.head_bucket(Bucket="life")
    assert root.get_bucket_location(Bucket="life").get("LocationConstraint") in (None, "")
    root.put_object(Bucket="life", Key="k", Body=b"v")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        root.delete_bucket(Bucket="life")
    assert err(ei) == ("BucketNotEmpty", 409)
    root.delete_object(Bucket="life", Key="k")
    root.delete_bucket(Bucket="life")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        root.head_bucket(Bucket="life")
    assert err(ei)[1] == 404
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        root.list_objects_v2(Bucket="life")
    assert err(ei) == ("NoSuchBucket", 404)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        root.get_object(Bucket="life", Key="k")
    assert err(ei) == ("NoSuchBucket", 404)


# -- objects -------------------------------------------------------------------

def test_get_range_and_conditionals(server, root):
    body = bytes(range(256)) * 4
    etag = root.put_object(Bucket="ops", Key="range.bin", Body=body)["ETag"]
    r = root.get_object(Bucket="ops", Key="range.bin", Range="bytes=2-5")
    assert r["Body"].read() == body[2:6]
    assert r["ContentRange"] == f"bytes 2-5/{len(body)}"
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert root.get_object(Bucket="ops", Key="range.bin", Range="bytes=-3")["Body"].read() == body[-3:]
    assert root.get_object(Bucket="ops", Key="range.bin", Range="bytes=1020-")["Body"].read() == body[1020:]
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        root.get_object(Bucket="ops", Key="range.bin", Range="bytes=5000-6000")
    assert err(ei) == ("InvalidRange", 416)
    assert root.get_object(Bucket="ops", Key="range.bin", IfMatch=etag)["Body"].read() == body
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        root.get_object(Bucket="ops", Key="range.bin", IfMatch='"0000"')
    assert err(ei) == ("PreconditionFailed", 412)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        root.get_object(Bucket="ops", Key="range.bin", IfNoneMatch=etag)
    assert err(ei)[1] == 304
    future = _dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(days=1)
    past = _dt.datetime(2000, 1, 1, tzinfo=_dt.timezone.utc)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        root.get_object(Bucket="ops", Key="range.bin", IfModifiedSince=future)
    assert err(ei)[1] == 304
    assert root.get_object(Bucket="ops", Key="range.bin", IfModifiedSince=past)["ContentLength"] == len(body)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        root.get_object(Bucket="ops", Key="range.bin", IfUnmodifiedSince=past)
    assert err(ei) == ("PreconditionFailed", 412)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        root.get_object(Bucket="ops", Key="missing")
    assert err(ei) == ("NoSuchKey", 404)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        root.head_object(Bucket="ops", Key="missing")
    assert err(ei)[1] == 404


def test_content_md5_is_checked(server, root):
    good = base64.b64encode(hashlib.md5(b"data").digest()).decode()
    root.put_object(Bucket="ops", Key="md5", Body=b"data", ContentMD5=good)
    bad = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        root.put_object(Bucket="ops", Key="md5", Body=b"data", ContentMD5=bad)
    assert err(ei) == ("BadDigest", 400)
    assert root.get_object(Bucket="ops", Key="md5")["Body"].read() == b"data"


def test_legal_odd_keys_are_not_paths(server, root):
    keys = ["a//b", "../x", "dir/", "./.", "sp ace+plus%pct", "ü/é", "k" * 1024]
    for k in keys:
        root.put_object(Bucket="ops", Key=k, Body=k.encode())
    for k in keys:
        assert root.get_object(Bucket="ops", Key=k)["Body"].read() == k.encode(), k
    listed = [o["Key"] for o in root.list_objects_v2(Bucket="ops")["Contents"]]
    for k in keys:
        assert k in listed
    assert listed == sorted(listed, key=lambda s: s.encode())
    for k in keys:
        root.delete_object(Bucket="ops", Key=k)


def test_list_v2_prefix_delimiter_pagination(server, root):
    root.create_bucket(Bucket="listing")
    keys = ["a.txt", "dir1/x", "dir1/y", "dir2/z", "dir2/sub/w", "e.txt", "f+g h.txt"]
    for k in keys:
        root.put_object(Bucket="listing", Key=k, Body=b"")
    r = root.list_objects_v2(Bucket="listing", Delimiter="/")
    assert [o["Key"] for o in r["Contents"]] == ["a.txt", "e.txt", "f+g h.txt"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["dir1/", "dir2/"]
    assert r["KeyCount"] == 5
    r = root.list_objects_v2(Bucket="listing", Prefix="dir2/", Delimiter="/")
    assert [o["Key"] for o in r["Contents"]] == ["dir2/z"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["dir2/sub/"]
    # Pagination with a continuation token, delimiter included.
    seen, token = [], None
    while True:
        kw = {"ContinuationToken": token} if token else {}
        r = root.list_objects_v2(Bucket="listing", Delimiter="/", MaxKeys=2, **kw)
        seen += [o["Key"] for o in r.get("Contents", [])] + [p["Prefix"] for p in r.get("CommonPrefixes", [])]
        if not r["IsTruncated"]:
            break
        token = r["NextContinuationToken"]
    assert sorted(seen) == ["a.txt", "dir1/", "dir2/", "e.txt", "f+g h.txt"]
    r = root.list_objects_v2(Bucket="listing", StartAfter="dir2/sub/w")
    assert [o["Key"] for o in r["Contents"]] == ["dir2/z", "e.txt", "f+g h.txt"]
    # The paginator (boto3) walks everything.
    pages = root.get_paginator("list_objects_v2").paginate(Bucket="listing", PaginationConfig={"PageSize": 3})
    assert [o["Key"] for p in pages for o in p["Contents"]] == sorted(keys, key=str.encode)
    # encoding-type=url asked for explicitly: botocore leaves the keys encoded.
    r = root.list_objects_v2(Bucket="listing", EncodingType="url", Prefix="f")
    assert [o["Key"] for o in r["Contents"]] == ["f%2Bg%20h.txt"]
    # v1 with Marker.
    r = root.list_objects(Bucket="listing", Marker="dir2/z")
    assert [o["Key"] for o in r["Contents"]] == ["e.txt", "f+g h.txt"]
    # v1 paging by NextMarker with a delimiter: a page ending on a common prefix
    # resumes after all of it (the prefix is listed once, as AWS).
    seen, marker = [], {}
    while True:
        r = root.list_objects(Bucket="listing", Delimiter="/", MaxKeys=1, **marker)
        seen += [o["Key"] for o in r.get("Contents", [])] + [p["Prefix"] for p in r.get("CommonPrefixes", [])]
        if not r["IsTruncated"]:
            break
        assert len(seen) < 10, seen
        marker = {"Marker": r["NextMarker"]}
    assert seen == ["a.txt", "dir1/", "dir2/", "e.txt", "f+g h.txt"]
    r = root.list_objects(Bucket="listing", Delimiter="/", Marker="dir1/")
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["dir2/"]
    r = root.list_objects(Bucket="listing", Marker="dir1/")  # no delimiter: keys under it
    assert [o["Key"] for o in r["Contents"]][:2] == ["dir1/x", "dir1/y"]
    r = root.list_objects(Bucket="listing", MaxKeys=2)
    assert r["IsTruncated"] is True and len(r["Contents"]) == 2


def test_copy_object_metadata_directives(server, root):
    root.put_object(Bucket="ops", Key="src.txt", Body=b"copy me", ContentType="text/plain",
                    Metadata={"color": "blue"})
    r = root.copy_object(Bucket="ops", Key="dst1.txt", CopySource={"Bucket": "ops", "Key": "src.txt"})
    assert r["CopyObjectResult"]["ETag"] == '"%s"' % hashlib.md5(b"copy me").hexdigest()
    h = root.head_object(Bucket="ops", Key="dst1.txt")
    assert h["Metadata"] == {"color": "blue"} and h["ContentType"] == "text/plain"
    root.copy_object(Bucket="ops", Key="dst2.txt", CopySource="ops/src.txt",
                     MetadataDirective="REPLACE", Metadata={"color": "red"}, ContentType="text/x-red")
    h = root.head_object(Bucket="ops", Key="dst2.txt")
    assert h["Metadata"] == {"color": "red"} and h["ContentType"] == "text/x-red"
    assert root.get_object(Bucket="ops", Key="dst2.txt")["Body"].read() == b"copy me"
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        root.copy_object(Bucket="ops", Key="dst3", CopySource="ops/nothing")
    assert err(ei) == ("NoSuchKey", 404)


def test_copy_needs_get_on_source(server, iam, root):
    root.create_bucket(Bucket="copysrc")
    root.put_object(Bucket="copysrc", Key="s", Body=b"s")
    _, c, _ = user(server, iam, allow("s3:PutObject", "arn:aws:s3:::ops/*"))
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        c.copy_object(Bucket="ops", Key="stolen", CopySource="copysrc/s")
    assert err(ei) == ("AccessDenied", 403)
    _, c, _ = user(server, iam, {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::ops/*"},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::copysrc/*"}]})
    c.copy_object(Bucket="ops", Key="copied", CopySource="copysrc/s")
    assert root.get_object(Bucket="ops", Key="copied")["Body"].read() == b"s"


def test_delete_objects_reports_per_key(server, iam, root):
    for k in ("mine/1", "mine/2", "theirs/1"):
        root.put_object(Bucket="ops", Key=k, Body=b"x")
    _, c, _ = user(server, iam, allow("s3:DeleteObject", "arn:aws:s3:::ops/mine/*"))
    r = c.delete_objects(Bucket="ops", Delete={"Objects": [{"Key": k} for k in ("mine/1", "theirs/1", "mine/2")]})
    assert sorted(d["Key"] for d in r["Deleted"]) == ["mine/1", "mine/2"]
    assert [(e["Key"], e["Code"]) for e in r["Errors"]] == [("theirs/1", "AccessDenied")]
    assert root.get_object(Bucket="ops", Key="theirs/1")["Body"].read() == b"x"
    with pytest.raises(botocore.exceptions.ClientError):
        root.head_object(Bucket="ops", Key="mine/1")


def test_multipart_upload_boto3(server, root):
    up = root.create_multipart_upload(Bucket="ops", Key="mp.bin", ContentType="application/x-mp",
                                      Metadata={"m": "1"})
    uid = up["UploadId"]
    p1 = os.urandom(5 * 1024 * 1024)
    p2 = os.urandom(1234)
    e1 = root.upload_part(Bucket="ops", Key="mp.bin", UploadId=uid, PartNumber=1, Body=p1)["ETag"]
    e2 = root.upload_part(Bucket="ops", Key="mp.bin", UploadId=uid, PartNumber=2, Body=p2)["ETag"]
    parts = root.list_parts(Bucket="ops", Key="mp.bin", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in parts] == [(1, len(p1), e1), (2, len(p2), e2)]
    ups = root.list_multipart_uploads(Bucket="ops")["Uploads"]
    assert uid in [x["UploadId"] for x in ups]
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        root.complete_multipart_upload(Bucket="ops", Key="mp.bin", UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}]})
    assert err(ei) == ("InvalidPartOrder", 400)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        root.complete_multipart_upload(Bucket="ops", Key="mp.bin", UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": e2}]})
    assert err(ei) == ("InvalidPart", 400)
    r = root.complete_multipart_upload(Bucket="ops", Key="mp.bin", UploadId=uid, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    md5s = b"".join(hashlib.md5(p).digest() for p in (p1, p2))
    assert r["ETag"] == '"%s-2"' % hashlib.md5(md5s).hexdigest()
    g = root.get_object(Bucket="ops", Key="mp.bin")
    assert g["Body"].read() == p1 + p2
    assert g["ContentType"] == "application/x-mp" and g["Metadata"] == {"m": "1"}
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        root.list_parts(Bucket="ops", Key="mp.bin", UploadId=uid)
    assert err(ei) == ("NoSuchUpload", 404)
    # Abort, and UploadPartCopy.
    uid = root.create_multipart_upload(Bucket="ops", Key="mp2.bin")["UploadId"]
    r = root.upload_part_copy(Bucket="ops", Key="mp2.bin", UploadId=uid, PartNumber=1,
                              CopySource="ops/mp.bin", CopySourceRange="bytes=0-9")
    assert r["CopyPartResult"]["ETag"] == '"%s"' % hashlib.md5(p1[:10]).hexdigest()
    root.abort_multipart_upload(Bucket="ops", Key="mp2.bin", UploadId=uid)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        root.upload_part(Bucket="ops", Key="mp2.bin", UploadId=uid, PartNumber=1, Body=b"x")
    assert err(ei) == ("NoSuchUpload", 404)


def test_tagging_and_tag_conditions(server, iam, root):
    root.put_object(Bucket="ops", Key="tagged", Body=b"t", Tagging="team=blue&env=prod")
    tags = root.get_object_tagging(Bucket="ops", Key="tagged")["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("env", "prod"), ("team", "blue")]
    root.put_object(Bucket="ops", Key="red", Body=b"r", Tagging="team=red")
    # s3:ExistingObjectTag: blue objects only.
    _, c, _ = user(server, iam, allow("s3:GetObject", "arn:aws:s3:::ops/*",
                                      {"StringEquals": {"s3:ExistingObjectTag/team": "blue"}}))
    assert c.get_object(Bucket="ops", Key="tagged")["Body"].read() == b"t"
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        c.get_object(Bucket="ops", Key="red")
    assert err(ei) == ("AccessDenied", 403)
    # Retagging applies to the very next request.
    root.put_object_tagging(Bucket="ops", Key="red", Tagging={"TagSet": [{"Key": "team", "Value": "blue"}]})
    assert c.get_object(Bucket="ops", Key="red")["Body"].read() == b"r"
    root.delete_object_tagging(Bucket="ops", Key="red")
    assert root.get_object_tagging(Bucket="ops", Key="red")["TagSet"] == []
    with pytest.raises(botocore.exceptions.ClientError):
        c.get_object(Bucket="ops", Key="red")
    # s3:RequestObjectTag on PutObject and PutObjectTagging.
    _, w, _ = user(server, iam, allow(["s3:PutObject", "s3:PutObjectTagging"], "arn:aws:s3:::ops/*",
                                      {"StringEquals": {"s3:RequestObjectTag/team": "blue"}}))
    w.put_object(Bucket="ops", Key="w1", Body=b"x", Tagging="team=blue")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        w.put_object(Bucket="ops", Key="w2", Body=b"x", Tagging="team=red")
    assert err(ei) == ("AccessDenied", 403)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        w.put_object_tagging(Bucket="ops", Key="w1", Tagging={"TagSet": [{"Key": "team", "Value": "red"}]})
    assert err(ei) == ("AccessDenied", 403)
    w.put_object_tagging(Bucket="ops", Key="w1", Tagging={"TagSet": [{"Key": "team", "Value": "blue"}]})


def test_list_bucket_prefix_condition(server, iam, root):
    root.create_bucket(Bucket="homes")
    name, c, _ = user(server, iam, {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::homes",
        "Condition": {"StringLike": {"s3:prefix": ["home/${aws:username}/*", "home/${aws:username}/"]}},
    }]})
    root.put_object(Bucket="homes", Key=f"home/{name}/a", Body=b"")
    r = c.list_objects_v2(Bucket="homes", Prefix=f"home/{name}/")
    assert [o["Key"] for o in r["Contents"]] == [f"home/{name}/a"]
    for kw in ({}, {"Prefix": "home/"}, {"Prefix": "home/other/"}):
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            c.list_objects_v2(Bucket="homes", **kw)
        assert err(ei) == ("AccessDenied", 403), kw


def test_acl_and_max_keys_conditions(server, iam, root):
    _, c, _ = user(server, iam, {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:PutObjectAcl"], "Resource": "arn:aws:s3:::ops/*"},
        {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::ops/*",
         "Condition": {"StringEquals": {"s3:x-amz-acl": "public-read"}}},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::ops",
         "Condition": {"NumericLessThanEquals": {"s3:max-keys": "10"}}},
    ]})
    c.put_object(Bucket="ops", Key="acl-private", Body=b"x", ACL="private")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        c.put_object(Bucket="ops", Key="acl-public", Body=b"x", ACL="public-read")
    assert err(ei) == ("AccessDenied", 403)
    assert "explicit deny" in ei.value.response["Error"]["Message"]
    c.list_objects_v2(Bucket="ops", MaxKeys=5)
    with pytest.raises(botocore.exceptions.ClientError):
        c.list_objects_v2(Bucket="ops")  # max-keys defaults to 1000


def test_user_agent_and_source_ip_conditions(server, iam, root):
    root.put_object(Bucket="ops", Key="cond", Body=b"c")
    _, c, _ = user(server, iam, allow("s3:GetObject", "arn:aws:s3:::ops/*",
                                      {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}))
    assert c.get_object(Bucket="ops", Key="cond")["Body"].read() == b"c"
    _, c, _ = user(server, iam, allow("s3:GetObject", "arn:aws:s3:::ops/*",
                                      {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))
    with pytest.raises(botocore.exceptions.ClientError):
        c.get_object(Bucket="ops", Key="cond")
    _, c, _ = user(server, iam, allow("s3:GetObject", "arn:aws:s3:::ops/*",
                                      {"StringLike": {"aws:UserAgent": "*Boto3*"}}))
    assert c.get_object(Bucket="ops", Key="cond")["Body"].read() == b"c"


# -- SigV4 variants, signed by hand --------------------------------------------------

def signed(server, method, path, ak, sk, headers=None, body=b"", query=""):
    url = server.endpoint + path + (("?" + query) if query else "")
    headers = dict(headers or {})
    headers.setdefault("X-Amz-Content-SHA256", hashlib.sha256(body).hexdigest())
    req = botocore.awsrequest.AWSRequest(method=method, url=url, data=body, headers=headers)
    # The generic signer signs the X-Amz-Content-SHA256 header as given (S3SigV4Auth
    # would replace it with the hash of `data`); paths here need no S3 quirks.
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(ak, sk), "s3", "us-east-1").add_auth(req)
    return req


def send_raw(server, req, body):
    host, port = server.host_port
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        path = urllib.parse.urlsplit(req.url)
        target = path.path + (("?" + path.query) if path.query else "")
        conn.putrequest(req.method, target, skip_accept_encoding=True)
        for k, v in req.headers.items():
            conn.putheader(k, v)
        conn.endheaders()
        if body:
            conn.send(body)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def test_unsigned_payload_and_content_sha256_condition(server, iam, root):
    _, c, (ak, sk) = user(server, iam, {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": "arn:aws:s3:::ops/*"},
        {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::ops/nosign/*",
         "Condition": {"StringEquals": {"s3:x-amz-content-sha256": "UNSIGNED-PAYLOAD"}}}]})
    body = b"unsigned body"
    h = {"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD", "Content-Length": str(len(body))}
    req = signed(server, "PUT", "/ops/free/u.txt", ak, sk, h)
    status, _ = send_raw(server, req, body)
    assert status == 200
    assert root.get_object(Bucket="ops", Key="free/u.txt")["Body"].read() == body
    req = signed(server, "PUT", "/ops/nosign/u.txt", ak, sk, h)
    status, resp = send_raw(server, req, body)
    assert status == 403 and b"AccessDenied" in resp
    # A signed payload hash that does not match the body.
    req = signed(server, "PUT", "/ops/free/bad.txt", ak, sk, {"Content-Length": str(len(body))}, body=b"other")
    status, resp = send_raw(server, req, body)
    assert status == 400 and b"XAmzContentSHA256Mismatch" in resp, resp


def test_entity_too_large(server, root):
    size = 6 * 1024 ** 3
    h = {"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD", "Content-Length": str(size)}
    req = signed(server, "PUT", "/ops/huge", u.ROOT_ACCESS_KEY_ID, u.ROOT_SECRET_ACCESS_KEY, h)
    status, resp = send_raw(server, req, b"")
    assert status == 400 and b"EntityTooLarge" in resp, resp


def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def streaming_put(server, path, ak, sk, chunks, tamper=None):
    """PUT with STREAMING-AWS4-HMAC-SHA256-PAYLOAD: every chunk signed in a chain."""
    decoded = sum(len(c) for c in chunks)
    sig_len = len(";chunk-signature=") + 64 + 4
    encoded = sum(len(f"{len(c):x}") + sig_len + len(c) for c in chunks) + len("0") + sig_len
    h = {
        "X-Amz-Content-SHA256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "Content-Encoding": "aws-chunked",
        "X-Amz-Decoded-Content-Length": str(decoded),
        "Content-Length": str(encoded),
    }
    req = signed(server, "PUT", path, ak, sk, h)
    amz_date = req.headers["X-Amz-Date"]
    seed = req.headers["Authorization"].rsplit("Signature=", 1)[1]
    day = amz_date[:8]
    scope = f"{day}/us-east-1/s3/aws4_request"
    key = _hmac(_hmac(_hmac(_hmac(("AWS4" + sk).encode(), day), "us-east-1"), "s3"), "aws4_request")
    empty = hashlib.sha256(b"").hexdigest()
    prev, out = seed, b""
    for i, c in enumerate(list(chunks) + [b""]):
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev, empty, hashlib.sha256(c).hexdigest()])
        sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        if tamper == i:
            sig = ("0" if sig[0] != "0" else "1") + sig[1:]
        out += f"{len(c):x};chunk-signature={sig}\r\n".encode() + c + b"\r\n"
        prev = sig
    assert len(out) == encoded
    return send_raw(server, req, out)


def test_streaming_chunked_upload_verifies_every_chunk(server, root):
    chunks = [os.urandom(64 * 1024), os.urandom(64 * 1024), b"tail"]
    status, resp = streaming_put(server, "/ops/chunked.bin", u.ROOT_ACCESS_KEY_ID, u.ROOT_SECRET_ACCESS_KEY, chunks)
    assert status == 200, resp
    assert root.get_object(Bucket="ops", Key="chunked.bin")["Body"].read() == b"".join(chunks)
    for bad in (1, 3):  # a middle chunk, the final empty chunk
        status, resp = streaming_put(server, f"/ops/chunked-bad{bad}.bin", u.ROOT_ACCESS_KEY_ID,
                                     u.ROOT_SECRET_ACCESS_KEY, chunks, tamper=bad)
        assert status == 403 and b"SignatureDoesNotMatch" in resp, (status, resp)
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            root.head_object(Bucket="ops", Key=f"chunked-bad{bad}.bin")
        assert err(ei)[1] == 404


def test_clock_skew(server, root):
    when = _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(hours=1)
    req = botocore.awsrequest.AWSRequest(method="GET", url=server.endpoint + "/ops", headers={
        "X-Amz-Content-SHA256": hashlib.sha256(b"").hexdigest()})
    import unittest.mock as mock

    with mock.patch.object(botocore.auth, "get_current_datetime", lambda *a, **k: when.replace(tzinfo=None)):
        botocore.auth.SigV4Auth(botocore.credentials.Credentials(
            u.ROOT_ACCESS_KEY_ID, u.ROOT_SECRET_ACCESS_KEY), "s3", "us-east-1").add_auth(req)
    status, resp = send_raw(server, req, b"")
    assert status == 403 and b"RequestTimeTooSkewed" in resp, resp


def test_anonymous_without_policy_is_denied(server, root):
    anon = s3c(server, signature_version=botocore.UNSIGNED)
    for call in (lambda: anon.list_buckets(), lambda: anon.list_objects_v2(Bucket="ops"),
                 lambda: anon.put_object(Bucket="ops", Key="anon", Body=b"x")):
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            call()
        assert err(ei) == ("AccessDenied", 403)


# -- durability -----------------------------------------------------------------

@pytest.mark.process
def test_acknowledged_put_survives_kill_and_orphans_are_removed(fresh_server):
    c = s3c(fresh_server)
    c.create_bucket(Bucket="durable")
    body = os.urandom(3 * 1024 * 1024)
    c.put_object(Bucket="durable", Key="k", Body=body)
    blobs = fresh_server.data_dir / "s3" / "blobs"
    tmp = fresh_server.data_dir / "s3" / "tmp"
    fresh_server.kill()  # SIGKILL
    (blobs / "0123456789abcdef0123456789abcdef").write_bytes(b"orphan")
    (tmp / "fedcba9876543210fedcba9876543210").write_bytes(b"partial")
    fresh_server.start()
    c = s3c(fresh_server)
    assert c.get_object(Bucket="durable", Key="k")["Body"].read() == body
    assert not (blobs / "0123456789abcdef0123456789abcdef").exists()
    assert list(tmp.iterdir()) == []
    assert len(list(blobs.iterdir())) == 1
    # Replacing and deleting leave no stale file behind.
    c.put_object(Bucket="durable", Key="k", Body=b"new")
    assert len(list(blobs.iterdir())) == 1
    c.delete_object(Bucket="durable", Key="k")
    assert list(blobs.iterdir()) == []


@pytest.mark.process
def test_virtual_hosted_style_with_domain(tmp_path):
    s = u.Server(data_dir=tmp_path / "data", log_dir=tmp_path / "logs",
                 extra_env={"IAMD_DOMAIN": "s3.localhost"}).start()
    try:
        c = s3c(s)
        c.create_bucket(Bucket="houdini")
        c.put_object(Bucket="houdini", Key="v/k.txt", Body=b"vh")

        def vh(method, host, path):
            url = f"http://{host}:{s.port}{path}"
            req = botocore.awsrequest.AWSRequest(method=method, url=url, data=b"", headers={
                "X-Amz-Content-SHA256": hashlib.sha256(b"").hexdigest()})
            botocore.auth.SigV4Auth(botocore.credentials.Credentials(
                u.ROOT_ACCESS_KEY_ID, u.ROOT_SECRET_ACCESS_KEY), "s3", "us-east-1").add_auth(req)
            conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=15)
            try:
                conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
                conn.putheader("Host", f"{host}:{s.port}")
                for k, v in req.headers.items():
                    conn.putheader(k, v)
                conn.endheaders()
                r = conn.getresponse()
                return r.status, r.read()
            finally:
                conn.close()

        assert vh("GET", "houdini.s3.localhost", "/v/k.txt") == (200, b"vh")
        status, body = vh("GET", "houdini.s3.localhost", "/?list-type=2")
        assert status == 200 and b"<Key>v/k.txt</Key>" in body
        status, body = vh("GET", "s3.localhost", "/")
        assert status == 200 and b"<Name>houdini</Name>" in body
        status, body = vh("GET", "nosuch.s3.localhost", "/v/k.txt")
        assert status == 404 and b"NoSuchBucket" in body
        # Path style keeps working on the same listener.
        assert c.get_object(Bucket="houdini", Key="v/k.txt")["Body"].read() == b"vh"
    finally:
        s.kill()


def test_refused_upload_answers_before_closing(server, root):
    """A refused PutObject (here anonymous) is answered without reading the body; the
    server must still deliver its 403 rather than reset the connection (closing a socket
    with unread data makes the kernel send RST, which can destroy the response in flight).
    Raw sockets, no Expect: 100-continue, so the whole body is on the wire at once."""
    import socket
    import time
    root.create_bucket(Bucket="refused-upload")
    host, port = server.host_port
    body = b"x" * (256 * 1024)
    head = (f"PUT /refused-upload/k HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    for _ in range(20):
        with socket.create_connection((host, port), timeout=10) as s:
            s.sendall(head + body)
            time.sleep(0.05)  # a busy client reads late: the response must still be there
            data = b""
            while b"</Error>" not in data:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        assert data.startswith(b"HTTP/1.1 403"), data[:200]
        assert b"<Code>AccessDenied</Code>" in data
