"""More of AWS's S3 edge rules (issue 13), with boto3 and raw requests: ListBuckets
paging (MaxBuckets, ContinuationToken, Prefix, BucketRegion), presigned URLs' expiry
limits of both signature versions, GetObjectAttributes' unquoted ETag, HeadObject with
a Range, and ListObjectsV2's StartAfter against common prefixes."""

import datetime
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from unittest import mock

import botocore
import botocore.auth
import pytest

import e2e_util as u

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def err(ei):
    r = ei.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"].get("Message")


@pytest.fixture(scope="module")
def root(server):
    return server.client("s3")


def fetch(url, method="GET"):
    """Status, headers and body of a raw request (errors included)."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method)) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def error_doc(body):
    doc = ET.fromstring(body)
    return {child.tag: child.text for child in doc}


# -- ListBuckets paging ------------------------------------------------------------------


def test_list_buckets_pages_with_boto3(server, root):
    prefix = u.uniq("lbp").lower()
    names = sorted(f"{prefix}-{i:02d}" for i in range(23))
    for n in names:
        root.create_bucket(Bucket=n)
    root.create_bucket(Bucket=u.uniq("other").lower())
    # boto3's paginator, five at a time: every bucket once, in order, with regions.
    pages = list(root.get_paginator("list_buckets").paginate(
        Prefix=prefix, PaginationConfig={"PageSize": 5}))
    assert [len(p["Buckets"]) for p in pages] == [5, 5, 5, 5, 3]
    listed = [b["Name"] for p in pages for b in p["Buckets"]]
    assert listed == names
    assert all(b["BucketRegion"] == "us-east-1" for p in pages for b in p["Buckets"])
    assert all(p["Prefix"] == prefix for p in pages)
    assert "ContinuationToken" not in pages[-1]
    # The token is opaque: not a bucket name.
    token = pages[0]["ContinuationToken"]
    assert token not in names
    # MaxBuckets alone pages too; an unpaged request lists all, without regions.
    first = root.list_buckets(MaxBuckets=1)
    assert len(first["Buckets"]) == 1 and "ContinuationToken" in first
    assert "BucketRegion" in first["Buckets"][0]
    everything = root.list_buckets()
    assert set(names) <= {b["Name"] for b in everything["Buckets"]}
    assert "ContinuationToken" not in everything and "Prefix" not in everything
    assert all("BucketRegion" not in b for b in everything["Buckets"])
    # Another region holds none of them.
    assert root.list_buckets(BucketRegion="eu-west-1")["Buckets"] == []
    assert len(root.list_buckets(Prefix=prefix, BucketRegion="us-east-1")["Buckets"]) == 23


def test_list_buckets_refuses_bad_paging(server):
    raw = server.client("s3", validate=False)
    for n in (0, 10001, -3, "many"):
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            raw.list_buckets(MaxBuckets=n)
        assert err(ei) == ("InvalidArgument", 400,
                           "Argument max-buckets must be an integer between 1 and 10000.")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        raw.list_buckets(ContinuationToken="not-a-token")
    assert err(ei) == ("InvalidArgument", 400, "The continuation token provided is incorrect")


def test_list_buckets_with_the_aws_cli(server, root):
    prefix = u.uniq("lbcli").lower()
    for i in range(7):
        root.create_bucket(Bucket=f"{prefix}-{i}")
    out = u.run_aws(server, "s3api", "list-buckets", "--prefix", prefix, "--page-size", "2",
                    "--query", "Buckets[].Name", "--output", "text")
    assert out.stdout.split() == [f"{prefix}-{i}" for i in range(7)]


# -- presigned URLs ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def presigned_object(root):
    b = u.uniq("pre").lower()
    root.create_bucket(Bucket=b)
    root.put_object(Bucket=b, Key="k", Body=b"presigned body")
    return b


def v4(server):
    return server.client("s3", signature_version="s3v4")


def presign_v4_at(client, when, params, expires):
    with mock.patch.object(botocore.auth, "get_current_datetime", lambda *a, **k: when):
        return client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires)


def test_presigned_v4_expiry_limits(server, presigned_object):
    s3 = v4(server)
    params = {"Bucket": presigned_object, "Key": "k"}
    # A week is the longest.
    url = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=604800)
    status, _, body = fetch(url)
    assert (status, body) == (200, b"presigned body")
    for value, message in [
        ("604801", "X-Amz-Expires must be less than a week (in seconds); that is, the given "
                   "X-Amz-Expires must be less than 604800 seconds"),
        ("-1", "X-Amz-Expires must be non-negative"),
        ("soon", "X-Amz-Expires should be a number"),
    ]:
        status, _, body = fetch(url.replace("X-Amz-Expires=604800", f"X-Amz-Expires={value}"))
        doc = error_doc(body)
        assert (status, doc["Code"], doc["Message"]) == (
            400, "AuthorizationQueryParametersError", message), value
    # Signed two hours ago for one hour: expired, with the window's ends.
    when = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(hours=2)
    url = presign_v4_at(s3, when, params, 3600)
    status, _, body = fetch(url)
    doc = error_doc(body)
    assert (status, doc["Code"], doc["Message"]) == (403, "AccessDenied", "Request has expired")
    assert doc["X-Amz-Expires"] == "3600"
    assert doc["Expires"] == (when + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert doc["ServerTime"].endswith("Z")
    # Zero seconds: expired at once. Signed an hour ahead: not yet valid.
    url = presign_v4_at(s3, when + datetime.timedelta(hours=2), params, 0)
    assert error_doc(fetch(url)[2])["Message"] == "Request has expired"
    url = presign_v4_at(s3, when + datetime.timedelta(hours=3), params, 60)
    status, _, body = fetch(url)
    assert (status, error_doc(body)["Message"]) == (403, "Request is not yet valid")


def test_presigned_v2_expiry(server, presigned_object):
    s3 = server.client("s3", signature_version="s3")
    params = {"Bucket": presigned_object, "Key": "k"}
    url = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=60)
    assert "AWSAccessKeyId=" in url and "Expires=" in url
    status, _, body = fetch(url)
    assert (status, body) == (200, b"presigned body")
    # SigV2 has no one-week limit: a year ahead works.
    url = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=365 * 86400)
    assert fetch(url)[0] == 200
    # Signed (validly) with an Expires ten minutes past.
    past = time.time() - 600
    with mock.patch.object(botocore.auth.time, "time", lambda: past):
        url = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=1)
    status, _, body = fetch(url)
    doc = error_doc(body)
    assert (status, doc["Code"], doc["Message"]) == (403, "AccessDenied", "Request has expired")
    assert doc["Expires"] == datetime.datetime.fromtimestamp(
        int(past) + 1, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "ServerTime" in doc


# -- small rules -------------------------------------------------------------------------


def test_object_attributes_etag_is_unquoted(root, presigned_object):
    head = root.head_object(Bucket=presigned_object, Key="k")
    assert head["ETag"].startswith('"')
    attrs = root.get_object_attributes(Bucket=presigned_object, Key="k",
                                       ObjectAttributes=["ETag", "ObjectSize"])
    assert attrs["ETag"] == head["ETag"].strip('"')
    assert attrs["ObjectSize"] == len(b"presigned body")


def test_head_object_with_range(server, root, presigned_object):
    r = root.head_object(Bucket=presigned_object, Key="k", Range="bytes=2-5")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert r["ContentLength"] == 4
    assert r["ContentRange"] == "bytes 2-5/14"
    r = root.head_object(Bucket=presigned_object, Key="k", Range="bytes=-3")
    assert (r["ContentLength"], r["ContentRange"]) == (3, "bytes 11-13/14")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        root.head_object(Bucket=presigned_object, Key="k", Range="bytes=100-200")
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 416
    plain = root.head_object(Bucket=presigned_object, Key="k")
    assert plain["ResponseMetadata"]["HTTPStatusCode"] == 200 and plain["ContentLength"] == 14


def test_list_objects_v2_start_after_and_common_prefixes(root):
    b = u.uniq("sa").lower()
    root.create_bucket(Bucket=b)
    for k in ("a/1", "a/2", "b", "c/1"):
        root.put_object(Bucket=b, Key=k, Body=b"x")

    def listing(**kw):
        r = root.list_objects_v2(Bucket=b, Delimiter="/", **kw)
        return ([p["Prefix"] for p in r.get("CommonPrefixes", [])],
                [o["Key"] for o in r.get("Contents", [])])

    # Inside a common prefix: keys after it remain, so the prefix is listed.
    assert listing(StartAfter="a/1") == (["a/", "c/"], ["b"])
    # Naming the common prefix itself: past it, as ListObjects' Marker.
    assert listing(StartAfter="a/") == (["c/"], ["b"])
    assert root.list_objects(Bucket=b, Delimiter="/", Marker="a/")["CommonPrefixes"] == [{"Prefix": "c/"}]
    # Without a delimiter StartAfter is a plain key position.
    r = root.list_objects_v2(Bucket=b, StartAfter="a/")
    assert [o["Key"] for o in r["Contents"]] == ["a/1", "a/2", "b", "c/1"]
    # Paging one entry at a time never repeats a common prefix.
    seen, token = [], None
    while True:
        kw = {"ContinuationToken": token} if token else {}
        r = root.list_objects_v2(Bucket=b, Delimiter="/", MaxKeys=1, **kw)
        seen += [p["Prefix"] for p in r.get("CommonPrefixes", [])] + [o["Key"] for o in r.get("Contents", [])]
        token = r.get("NextContinuationToken")
        if not token:
            break
    assert seen == ["a/", "b", "c/"]
