"""AWS's S3 edge rules and the bucket settings tools probe (issue 13): request ids,
501s logged quietly, us-east-1's CreateBucket, DeleteBucket aborting unfinished
uploads, 404-vs-403 for missing keys, invalid principals, ListObjectVersions on
unversioned buckets, ACLs with Object Ownership BucketOwnerEnforced, and the stored
settings (tagging, ownership controls, public access block and its enforcement,
CORS, lifecycle)."""

import http.client
import json
import os
import re
import time
import subprocess
import urllib.parse
import xml.etree.ElementTree as ET

import botocore
import pytest

import e2e_util as u

B = "210987654321"


def s3c(server, ak=None, sk=None, **cfg):
    return server.client("s3", ak, sk, **cfg)


def err(ei):
    r = ei.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


def raises(call):
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        call()
    return ei


@pytest.fixture(scope="module")
def root(server):
    return s3c(server)


def user(server, iam, statements):
    name = u.uniq("edge")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": statements}))
    k = iam.create_access_key(UserName=name)["AccessKey"]
    return s3c(server, k["AccessKeyId"], k["SecretAccessKey"])


def bucket(root, prefix="edge"):
    name = u.uniq(prefix).lower()
    root.create_bucket(Bucket=name)
    return name


def raw(server, method, path, headers=None, body=None):
    host, port = server.host_port
    c = http.client.HTTPConnection(host, port, timeout=15)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


# -- 1. request ids ------------------------------------------------------------------

def test_request_ids_on_success_and_errors(server, root):
    name = bucket(root)
    meta = root.put_object(Bucket=name, Key="k", Body=b"v")["ResponseMetadata"]
    assert re.fullmatch(r"[0-9A-F]{16}", meta["RequestId"])
    assert meta["HostId"]
    ei = raises(lambda: root.get_object(Bucket=name, Key="missing"))
    r = ei.value.response
    assert r["ResponseMetadata"]["RequestId"] and r["ResponseMetadata"]["HostId"]
    assert r["Error"]["Message"] == "The specified key does not exist."
    ei = raises(lambda: root.head_object(Bucket=name, Key="missing"))
    assert ei.value.response["ResponseMetadata"]["RequestId"]
    # Every error document: Message (AWS's text where s3s has none), RequestId and
    # HostId equal to the headers. Anonymous, s3s's MethodNotAllowed (POST to a key),
    # a bad bucket name.
    for method, path in [("GET", f"/{name}/k"), ("POST", f"/{name}/k"), ("GET", "/A_b/k")]:
        status, headers, body = raw(server, method, path)
        assert status >= 400, (method, path)
        doc = ET.fromstring(body)
        assert doc.findtext("Code"), body
        assert doc.findtext("Message"), body
        assert doc.findtext("RequestId") == headers["x-amz-request-id"]
        assert doc.findtext("HostId") == headers["x-amz-id-2"]


# -- 2. unsupported operations ---------------------------------------------------------

def test_unsupported_operation_is_one_debug_line(tmp_path):
    s = u.new_server(tmp_path, extra_env={"IAMD_LOG": "debug"})
    try:
        c = s3c(s)
        c.create_bucket(Bucket="quiet")
        ei = raises(lambda: c.get_bucket_website(Bucket="quiet"))
        assert err(ei) == ("NotImplemented", 501)
        rid = ei.value.response["ResponseMetadata"]["RequestId"]
        ei = raises(lambda: c.get_bucket_logging(Bucket="quiet"))
        assert err(ei) == ("NotImplemented", 501)
    finally:
        s.stop()
    logs = s.logs().decode(errors="replace")
    lines = [line for line in logs.splitlines() if rid in line]
    assert len(lines) == 1, lines
    assert "DEBUG" in lines[0] and "501" in lines[0]
    assert "ERROR" not in logs, logs


# -- 3. CreateBucket of your own bucket ---------------------------------------------

def test_create_own_bucket_again(server, root):
    name = bucket(root)
    # us-east-1: 200, nothing changes.
    root.put_object(Bucket=name, Key="k", Body=b"v")
    root.create_bucket(Bucket=name)
    root.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-east-1"})
    assert root.get_object(Bucket=name, Key="k")["Body"].read() == b"v"
    ei = raises(lambda: root.create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}))
    assert err(ei) == ("BucketAlreadyOwnedByYou", 409)


# -- 4. DeleteBucket with unfinished uploads ----------------------------------------

def blob_files(server):
    out = []
    for d, _, files in os.walk(server.data_dir / "s3"):
        out += [f for f in files if not f.startswith(".")]
    return out


def test_delete_bucket_aborts_unfinished_uploads(fresh_server):
    c = s3c(fresh_server)
    c.create_bucket(Bucket="pending")
    before = len(blob_files(fresh_server))
    for key in ("a", "b"):
        up = c.create_multipart_upload(Bucket="pending", Key=key)["UploadId"]
        c.upload_part(Bucket="pending", Key=key, UploadId=up, PartNumber=1, Body=b"x" * 1024)
    assert len(blob_files(fresh_server)) == before + 2
    c.put_object(Bucket="pending", Key="obj", Body=b"o")
    ei = raises(lambda: c.delete_bucket(Bucket="pending"))
    assert err(ei) == ("BucketNotEmpty", 409)
    c.delete_object(Bucket="pending", Key="obj")
    c.delete_bucket(Bucket="pending")
    ei = raises(lambda: c.head_bucket(Bucket="pending"))
    assert err(ei)[1] == 404
    # The parts' files went with the uploads.
    assert len(blob_files(fresh_server)) == before
    c.create_bucket(Bucket="pending")
    assert c.list_multipart_uploads(Bucket="pending").get("Uploads", []) == []


# -- 5. missing keys: 404 with s3:ListBucket, 403 without ------------------------------

def test_missing_key_is_404_only_with_list_bucket(server, root, iam):
    name = bucket(root)
    root.put_object(Bucket=name, Key="here", Body=b"v")
    get_only = user(server, iam, [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"}])
    get_and_list = user(server, iam, [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{name}"}])
    for c in (get_only, get_and_list):
        assert c.get_object(Bucket=name, Key="here")["Body"].read() == b"v"
    ei = raises(lambda: get_only.get_object(Bucket=name, Key="missing"))
    assert err(ei) == ("AccessDenied", 403)
    assert "s3:ListBucket" in ei.value.response["Error"]["Message"]
    ei = raises(lambda: get_only.head_object(Bucket=name, Key="missing"))
    assert err(ei)[1] == 403
    ei = raises(lambda: get_and_list.get_object(Bucket=name, Key="missing"))
    assert err(ei) == ("NoSuchKey", 404)
    ei = raises(lambda: get_and_list.head_object(Bucket=name, Key="missing"))
    assert err(ei)[1] == 404


def test_other_reads_of_a_missing_key_are_404_only_with_list_bucket(server, root, iam):
    """The same rule for the other reads of an object: CopyObject's and UploadPartCopy's
    source, GetObjectAcl, GetObjectAttributes."""
    src, dst = bucket(root), bucket(root)
    reads = ["s3:GetObject", "s3:GetObjectAcl", "s3:GetObjectAttributes"]
    base = [{"Effect": "Allow", "Action": reads, "Resource": f"arn:aws:s3:::{src}/*"},
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{dst}/*"}]
    no_list = user(server, iam, base)
    may_list = user(server, iam, base + [
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{src}"}])
    up = root.create_multipart_upload(Bucket=dst, Key="mp")["UploadId"]
    calls = {
        "CopyObject": lambda c: c.copy_object(Bucket=dst, Key="copy", CopySource=f"{src}/missing"),
        "UploadPartCopy": lambda c: c.upload_part_copy(
            Bucket=dst, Key="mp", UploadId=up, PartNumber=1, CopySource=f"{src}/missing"),
        "GetObjectAcl": lambda c: c.get_object_acl(Bucket=src, Key="missing"),
        "GetObjectAttributes": lambda c: c.get_object_attributes(
            Bucket=src, Key="missing", ObjectAttributes=["ETag"]),
    }
    for op, call in calls.items():
        ei = raises(lambda: call(no_list))
        assert err(ei) == ("AccessDenied", 403), op
        assert "s3:ListBucket" in ei.value.response["Error"]["Message"], op
        assert err(raises(lambda: call(may_list))) == ("NoSuchKey", 404), op
    # an existing source is copied either way
    root.put_object(Bucket=src, Key="here", Body=b"v")
    no_list.copy_object(Bucket=dst, Key="copy", CopySource=f"{src}/here")
    assert root.get_object(Bucket=dst, Key="copy")["Body"].read() == b"v"


# -- 6. principals that cannot exist ------------------------------------------------

def test_invalid_principals_are_refused(server, root):
    name = bucket(root)

    def policy(principal):
        return json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": principal, "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{name}/*"}]})

    for bad in [{"AWS": "1234"}, {"AWS": "arn:aws:iam::12345:root"}, {"AWS": "arn:aws:iam:123456789012"},
                {"AWS": "arn:aws:s3:::bucket"}, {"AWS": "someone"}, {"Service": "not a service"},
                {"CanonicalUser": "abc"}]:
        ei = raises(lambda: root.put_bucket_policy(Bucket=name, Policy=policy(bad)))
        assert err(ei) == ("MalformedPolicy", 400), bad
        assert ei.value.response["Error"]["Message"] == "Invalid principal in policy", bad
    for good in ["*", {"AWS": "210987654321"}, {"AWS": "arn:aws:iam::210987654321:root"},
                 {"AWS": ["arn:aws:iam::210987654321:user/x", "arn:aws:sts::210987654321:assumed-role/r/s"]},
                 {"Service": "logging.s3.amazonaws.com"}]:
        root.put_bucket_policy(Bucket=name, Policy=policy(good))


# -- 7. ListObjectVersions and GetBucketVersioning on unversioned buckets -------------

def test_versions_of_an_unversioned_bucket(server, root, iam):
    name = bucket(root)
    v = root.get_bucket_versioning(Bucket=name)
    assert "Status" not in v and "MFADelete" not in v
    keys = ["a", "b", "dir/x", "dir/y", "e", "f"]
    for k in keys:
        root.put_object(Bucket=name, Key=k, Body=k.encode())
    r = root.list_object_versions(Bucket=name)
    assert [x["Key"] for x in r["Versions"]] == keys
    assert all(x["VersionId"] == "null" and x["IsLatest"] for x in r["Versions"])
    assert r["Versions"][0]["Size"] == 1 and r["Versions"][0]["ETag"]
    assert r["Versions"][0]["Owner"]["ID"] == root.get_bucket_acl(Bucket=name)["Owner"]["ID"]
    assert r["IsTruncated"] is False
    # Paging with a delimiter: the common prefix counts once and is not repeated.
    seen, prefixes, marker = [], [], {}
    while True:
        page = root.list_object_versions(Bucket=name, MaxKeys=2, Delimiter="/", **marker)
        seen += [x["Key"] for x in page.get("Versions", [])]
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        if not page["IsTruncated"]:
            break
        assert page["NextVersionIdMarker"] == "null"
        marker = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}
    assert seen == ["a", "b", "e", "f"] and prefixes == ["dir/"]
    r = root.list_object_versions(Bucket=name, Prefix="dir/", KeyMarker="dir/x")
    assert [x["Key"] for x in r["Versions"]] == ["dir/y"]
    # Emptying a bucket the way tools do: list versions, delete them, delete the bucket.
    for x in root.list_object_versions(Bucket=name)["Versions"]:
        root.delete_object(Bucket=name, Key=x["Key"])
    root.delete_bucket(Bucket=name)
    # Authorized as s3:ListBucketVersions, not s3:ListBucket.
    other = bucket(root)
    lister = user(server, iam, [
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{other}"}])
    lister.list_objects_v2(Bucket=other)
    ei = raises(lambda: lister.list_object_versions(Bucket=other))
    assert err(ei) == ("AccessDenied", 403)
    assert "s3:ListBucketVersions" in ei.value.response["Error"]["Message"]
    versions = user(server, iam, [
        {"Effect": "Allow", "Action": "s3:ListBucketVersions", "Resource": f"arn:aws:s3:::{other}"}])
    assert versions.list_object_versions(Bucket=other)["IsTruncated"] is False


# -- 8. ACLs with Object Ownership BucketOwnerEnforced, AWS's defaults --------------

def test_acls_with_bucket_owner_enforced(server, root):
    name = bucket(root)
    acl = root.get_bucket_acl(Bucket=name)
    owner = acl["Owner"]["ID"]
    assert re.fullmatch(r"[0-9a-f]{64}", owner)
    assert owner == root.list_buckets()["Owner"]["ID"]
    assert acl["Grants"] == [{"Grantee": {"ID": owner, "Type": "CanonicalUser"}, "Permission": "FULL_CONTROL"}]
    root.put_object(Bucket=name, Key="k", Body=b"v")
    oacl = root.get_object_acl(Bucket=name, Key="k")
    assert oacl["Owner"]["ID"] == owner and oacl["Grants"] == acl["Grants"]
    assert err(raises(lambda: root.get_object_acl(Bucket=name, Key="missing"))) == ("NoSuchKey", 404)
    # Accepted: no ACL, private, bucket-owner-full-control, the owner's grant in XML.
    root.put_bucket_acl(Bucket=name, ACL="private")
    root.put_bucket_acl(Bucket=name, AccessControlPolicy={"Grants": acl["Grants"], "Owner": acl["Owner"]})
    root.put_object_acl(Bucket=name, Key="k", ACL="bucket-owner-full-control")
    root.put_object(Bucket=name, Key="k2", Body=b"v", ACL="bucket-owner-full-control")
    root.put_object(Bucket=name, Key="k3", Body=b"v", ACL="private")
    # Refused: anything else.
    for call in (
        lambda: root.put_bucket_acl(Bucket=name, ACL="public-read"),
        lambda: root.put_object_acl(Bucket=name, Key="k", ACL="public-read"),
        lambda: root.put_object(Bucket=name, Key="k4", Body=b"v", ACL="public-read-write"),
        lambda: root.put_object(Bucket=name, Key="k4", Body=b"v", GrantRead='uri="http://acs.amazonaws.com/groups/global/AllUsers"'),
        lambda: root.create_multipart_upload(Bucket=name, Key="k4", ACL="authenticated-read"),
        lambda: root.create_bucket(Bucket=u.uniq("acl").lower(), ACL="public-read"),
    ):
        ei = raises(call)
        assert err(ei) == ("AccessControlListNotSupported", 400)
        assert ei.value.response["Error"]["Message"] == "The bucket does not allow ACLs"
    assert err(raises(lambda: root.head_object(Bucket=name, Key="k4")))[1] == 404
    root.create_bucket(Bucket=u.uniq("acl").lower(), ACL="private")
    assert root.get_bucket_request_payment(Bucket=name)["Payer"] == "BucketOwner"
    assert root.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"] == {
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


# -- 9. stored settings -------------------------------------------------------------

def test_bucket_tagging(server, root, iam):
    name = bucket(root)
    ei = raises(lambda: root.get_bucket_tagging(Bucket=name))
    assert err(ei) == ("NoSuchTagSet", 404)
    tags = [{"Key": "team", "Value": "a"}, {"Key": "cost", "Value": "1"}]
    root.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags})
    assert root.get_bucket_tagging(Bucket=name)["TagSet"] == tags
    for bad in ([{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}], [{"Key": "aws:x", "Value": "1"}],
                [{"Key": "k", "Value": "v" * 257}]):
        assert err(raises(lambda: root.put_bucket_tagging(Bucket=name, Tagging={"TagSet": bad}))) == ("InvalidTag", 400)
    assert root.get_bucket_tagging(Bucket=name)["TagSet"] == tags
    reader = user(server, iam, [
        {"Effect": "Allow", "Action": "s3:GetBucketTagging", "Resource": f"arn:aws:s3:::{name}"}])
    assert reader.get_bucket_tagging(Bucket=name)["TagSet"] == tags
    for call in (lambda: reader.put_bucket_tagging(Bucket=name, Tagging={"TagSet": []}),
                 lambda: reader.delete_bucket_tagging(Bucket=name)):
        ei = raises(call)
        assert err(ei) == ("AccessDenied", 403)
        assert "s3:PutBucketTagging" in ei.value.response["Error"]["Message"]
    root.delete_bucket_tagging(Bucket=name)
    assert err(raises(lambda: root.get_bucket_tagging(Bucket=name))) == ("NoSuchTagSet", 404)
    # Settings go with their bucket.
    root.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags})
    root.delete_bucket(Bucket=name)
    assert err(raises(lambda: root.get_bucket_tagging(Bucket=name))) == ("NoSuchBucket", 404)
    root.create_bucket(Bucket=name)
    assert err(raises(lambda: root.get_bucket_tagging(Bucket=name))) == ("NoSuchTagSet", 404)


def test_ownership_controls(server, root):
    name = bucket(root)
    root.put_bucket_ownership_controls(
        Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})
    assert root.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "ObjectWriter"}]
    # ACLs enabled, but iamd keeps none: only the owner's FULL_CONTROL is taken.
    root.put_object(Bucket=name, Key="k", Body=b"v", ACL="private")
    assert err(raises(lambda: root.put_object(Bucket=name, Key="k", Body=b"v", ACL="public-read"))) == \
        ("NotImplemented", 501)
    root.delete_bucket_ownership_controls(Bucket=name)
    ei = raises(lambda: root.get_bucket_ownership_controls(Bucket=name))
    assert err(ei) == ("OwnershipControlsNotFoundError", 404)
    other = u.uniq("own").lower()
    root.create_bucket(Bucket=other, ObjectOwnership="BucketOwnerPreferred")
    assert root.get_bucket_ownership_controls(Bucket=other)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerPreferred"}]


def public_policy(name, condition=None):
    st = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"}
    if condition:
        st["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [st]})


def test_public_access_block_is_enforced(server, root, iam):
    name = bucket(root)
    root.put_object(Bucket=name, Key="k", Body=b"open")
    ei = raises(lambda: root.get_public_access_block(Bucket=name))
    assert err(ei) == ("NoSuchPublicAccessBlockConfiguration", 404)
    root.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={"BlockPublicPolicy": True})
    assert root.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": False}
    # BlockPublicPolicy: a public policy is refused, a non-public one is not.
    ei = raises(lambda: root.put_bucket_policy(Bucket=name, Policy=public_policy(name)))
    assert err(ei) == ("AccessDenied", 403)
    assert "because public policies are blocked by the BlockPublicPolicy block public access setting" in \
        ei.value.response["Error"]["Message"]
    assert err(raises(lambda: root.get_bucket_policy(Bucket=name))) == ("NoSuchBucketPolicy", 404)
    vpc_only = public_policy(name, {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}})
    root.put_bucket_policy(Bucket=name, Policy=vpc_only)
    assert root.get_bucket_policy_status(Bucket=name)["PolicyStatus"]["IsPublic"] is False
    root.delete_public_access_block(Bucket=name)
    assert err(raises(lambda: root.get_public_access_block(Bucket=name)))[1] == 404
    root.put_bucket_policy(Bucket=name, Policy=public_policy(name))
    assert root.get_bucket_policy_status(Bucket=name)["PolicyStatus"]["IsPublic"] is True
    # RestrictPublicBuckets: the public policy no longer lets anonymous callers in; the
    # owner's account still gets what it grants.
    url = f"/{name}/k"
    assert raw(server, "GET", url)[0] == 200
    same_account = user(server, iam, [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}])
    assert same_account.get_object(Bucket=name, Key="k")["Body"].read() == b"open"
    root.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={"RestrictPublicBuckets": True})
    status, _, body = raw(server, "GET", url)
    assert status == 403 and ET.fromstring(body).findtext("Code") == "AccessDenied"
    assert same_account.get_object(Bucket=name, Key="k")["Body"].read() == b"open"
    assert root.get_bucket_policy_status(Bucket=name)["PolicyStatus"]["IsPublic"] is True
    root.delete_public_access_block(Bucket=name)
    assert raw(server, "GET", url)[0] == 200


def test_cors(server, root):
    name = bucket(root)
    ei = raises(lambda: root.get_bucket_cors(Bucket=name))
    assert err(ei) == ("NoSuchCORSConfiguration", 404)
    assert raw(server, "OPTIONS", f"/{name}/k", {
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"})[0] == 403
    rules = [{"AllowedHeaders": ["*"], "AllowedMethods": ["GET", "PUT"],
              "AllowedOrigins": ["https://app.example.com"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 300}]
    ei = raises(lambda: root.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": [
        dict(rules[0], AllowedMethods=["PATCH"])]}))
    assert err(ei) == ("InvalidRequest", 400)
    root.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
    assert root.get_bucket_cors(Bucket=name)["CORSRules"] == rules
    status, h, _ = raw(server, "OPTIONS", f"/{name}/k", {
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "Content-Type, X-Amz-Date"})
    assert status == 200
    assert h["access-control-allow-origin"] == "https://app.example.com"
    assert h["access-control-allow-methods"] == "GET, PUT"
    assert h["access-control-allow-headers"] == "content-type, x-amz-date"
    assert h["access-control-max-age"] == "300"
    assert h["x-amz-request-id"]
    for headers, code in (
        ({"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}, 403),
        ({"Origin": "https://app.example.com", "Access-Control-Request-Method": "DELETE"}, 403),
        ({"Access-Control-Request-Method": "GET"}, 400),
    ):
        assert raw(server, "OPTIONS", f"/{name}/k", headers)[0] == code, headers
    # A request with Origin gets the rule's headers (here an anonymous, refused GET).
    root.put_object(Bucket=name, Key="k", Body=b"v")
    status, h, _ = raw(server, "GET", f"/{name}/k", {"Origin": "https://app.example.com"})
    assert status == 403
    assert h["access-control-allow-origin"] == "https://app.example.com"
    assert h["access-control-expose-headers"] == "ETag"
    _, h, _ = raw(server, "GET", f"/{name}/k", {"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in h
    root.delete_bucket_cors(Bucket=name)
    assert err(raises(lambda: root.get_bucket_cors(Bucket=name)))[1] == 404
    assert raw(server, "OPTIONS", f"/{name}/k", {
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"})[0] == 403


def test_lifecycle_configuration(server, root):
    name = bucket(root)
    ei = raises(lambda: root.get_bucket_lifecycle_configuration(Bucket=name))
    assert err(ei) == ("NoSuchLifecycleConfiguration", 404)
    rules = [{"ID": "logs", "Filter": {"Prefix": "logs/"}, "Status": "Enabled",
              "Expiration": {"Days": 30}},
             {"ID": "uploads", "Filter": {"Prefix": ""}, "Status": "Enabled",
              "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}]
    root.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
    assert root.get_bucket_lifecycle_configuration(Bucket=name)["Rules"] == rules
    for bad, code in (
        ([dict(rules[0], Expiration={"Days": 0})], "InvalidArgument"),
        ([rules[0], rules[0]], "InvalidArgument"),
        ([{"ID": "x", "Filter": {"Prefix": ""}, "Status": "Enabled"}], "InvalidRequest"),
    ):
        ei = raises(lambda: root.put_bucket_lifecycle_configuration(
            Bucket=name, LifecycleConfiguration={"Rules": bad}))
        assert err(ei) == (code, 400), bad
    root.delete_bucket_lifecycle(Bucket=name)
    assert err(raises(lambda: root.get_bucket_lifecycle_configuration(Bucket=name)))[1] == 404


def test_lifecycle_rules_are_applied(tmp_path):
    """Expiration by date (already past) expires what the rule selects, by prefix and
    tag, within a pass of the background task (every second here)."""
    s = u.new_server(tmp_path, extra_env={"IAMD_S3_LIFECYCLE_INTERVAL": "1"})
    try:
        c = s3c(s)
        c.create_bucket(Bucket="aging")
        for key in ("logs/a", "logs/b", "keep/c", "tmp/tagged", "tmp/untagged"):
            c.put_object(Bucket="aging", Key=key, Body=b"x",
                         Tagging="expire=yes" if key == "tmp/tagged" else "")
        up = c.create_multipart_upload(Bucket="aging", Key="logs/big")["UploadId"]
        past = "2020-01-01T00:00:00Z"
        c.put_bucket_lifecycle_configuration(Bucket="aging", LifecycleConfiguration={"Rules": [
            {"ID": "logs", "Filter": {"Prefix": "logs/"}, "Status": "Enabled", "Expiration": {"Date": past}},
            {"ID": "tagged", "Filter": {"And": {"Prefix": "tmp/", "Tags": [{"Key": "expire", "Value": "yes"}]}},
             "Status": "Enabled", "Expiration": {"Date": past}},
            {"ID": "off", "Filter": {"Prefix": "keep/"}, "Status": "Disabled", "Expiration": {"Date": past}},
        ]})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            keys = [o["Key"] for o in c.list_objects_v2(Bucket="aging").get("Contents", [])]
            if keys == ["keep/c", "tmp/untagged"]:
                break
            time.sleep(0.2)
        assert keys == ["keep/c", "tmp/untagged"]
        # The upload is not old enough for any rule (none aborts uploads here).
        assert [x["UploadId"] for x in c.list_multipart_uploads(Bucket="aging")["Uploads"]] == [up]
    finally:
        s.stop()
