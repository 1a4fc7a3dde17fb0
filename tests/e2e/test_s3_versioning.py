"""S3 versioning (issue 13) with boto3, on SQLite and on PostgreSQL: PutBucketVersioning,
versions and delete markers, the null version, ListObjectVersions paging, emptying a
bucket by its versions, the `…Version…` actions in policies, lifecycle expiration on a
versioned bucket; and conditional writes (`If-None-Match: *`, `If-Match`), including a
race of concurrent writers."""

import json
import threading
import time

import botocore
import pytest

import e2e_util as u



@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request, tmp_path_factory):
    """The same server on either engine (PostgreSQL: a throwaway cluster, as
    test_postgres.py starts it)."""
    if request.param == "postgres" and u.EXTERNAL_ENDPOINT:
        pytest.skip("needs its own iamd process (IAMD_E2E_ENDPOINT is set)")
    with u.server_on(request.param, tmp_path_factory.mktemp(f"iamd-{request.param}")) as s:
        yield s


@pytest.fixture(scope="module")
def root(server):
    return server.client("s3")


@pytest.fixture(scope="module")
def iam(server):
    return server.client("iam")


def err(ei):
    r = ei.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


def raises(call):
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        call()
    return ei


def versioned_bucket(root, prefix="ver"):
    name = u.uniq(prefix).lower()
    root.create_bucket(Bucket=name)
    root.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def body(root, bucket, key, **kw):
    return root.get_object(Bucket=bucket, Key=key, **kw)["Body"].read()


def all_versions(root, bucket, **kw):
    """(key, version id, is latest, is a delete marker) of every version, by paging."""
    out = []
    for page in root.get_paginator("list_object_versions").paginate(Bucket=bucket, **kw):
        for v in page.get("Versions", []):
            out.append((v["Key"], v["VersionId"], v["IsLatest"], False, v["LastModified"]))
        for m in page.get("DeleteMarkers", []):
            out.append((m["Key"], m["VersionId"], m["IsLatest"], True, m["LastModified"]))
    return out


def test_versions_and_delete_markers(root):
    name = u.uniq("ver").lower()
    root.create_bucket(Bucket=name)
    assert "Status" not in root.get_bucket_versioning(Bucket=name)
    # Written before versioning: the null version, named by no header.
    r = root.put_object(Bucket=name, Key="k", Body=b"zero")
    assert "VersionId" not in r
    root.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    assert root.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"

    v1 = root.put_object(Bucket=name, Key="k", Body=b"one")["VersionId"]
    v2 = root.put_object(Bucket=name, Key="k", Body=b"two")["VersionId"]
    assert len({v1, v2, "null"}) == 3
    assert body(root, name, "k") == b"two"
    assert root.head_object(Bucket=name, Key="k")["VersionId"] == v2
    assert body(root, name, "k", VersionId=v1) == b"one"
    assert body(root, name, "k", VersionId="null") == b"zero"
    got = root.get_object(Bucket=name, Key="k", VersionId=v1)
    assert got["VersionId"] == v1 and got["ContentLength"] == 3
    r = root.list_object_versions(Bucket=name)
    assert [(v["VersionId"], v["IsLatest"]) for v in r["Versions"]] == [
        (v2, True), (v1, False), ("null", False)]
    assert "DeleteMarkers" not in r or r["DeleteMarkers"] == []

    # DELETE without a version: a delete marker becomes current.
    d = root.delete_object(Bucket=name, Key="k")
    assert d["DeleteMarker"] is True
    marker = d["VersionId"]
    assert marker not in (v1, v2, "null")
    ei = raises(lambda: root.get_object(Bucket=name, Key="k"))
    assert err(ei) == ("NoSuchKey", 404)
    headers = ei.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers.get("x-amz-delete-marker") == "true" and headers.get("x-amz-version-id") == marker
    assert err(raises(lambda: root.head_object(Bucket=name, Key="k")))[1] == 404
    # The marker named by id: 405 MethodNotAllowed, as AWS answers.
    ei = raises(lambda: root.get_object(Bucket=name, Key="k", VersionId=marker))
    assert err(ei) == ("MethodNotAllowed", 405)
    assert ei.value.response["ResponseMetadata"]["HTTPHeaders"].get("x-amz-delete-marker") == "true"
    # Other versions stay readable; listings of current objects skip the key.
    assert body(root, name, "k", VersionId=v2) == b"two"
    assert "Contents" not in root.list_objects_v2(Bucket=name)
    assert "Contents" not in root.list_objects(Bucket=name)
    r = root.list_object_versions(Bucket=name)
    assert [(m["VersionId"], m["IsLatest"]) for m in r["DeleteMarkers"]] == [(marker, True)]
    assert [v["VersionId"] for v in r["Versions"]] == [v2, v1, "null"]
    assert not any(v["IsLatest"] for v in r["Versions"])
    # Unknown and malformed version ids.
    ei = raises(lambda: root.get_object(Bucket=name, Key="k", VersionId="0" * 32))
    assert err(ei) == ("NoSuchVersion", 404)
    ei = raises(lambda: root.get_object(Bucket=name, Key="k", VersionId="not-a-version"))
    assert err(ei) == ("InvalidArgument", 400)

    # Removing the marker restores the version under it.
    d = root.delete_object(Bucket=name, Key="k", VersionId=marker)
    assert d["DeleteMarker"] is True and d["VersionId"] == marker
    assert body(root, name, "k") == b"two"
    assert [o["Key"] for o in root.list_objects_v2(Bucket=name)["Contents"]] == ["k"]
    # Removing the current version makes the next newest current.
    d = root.delete_object(Bucket=name, Key="k", VersionId=v2)
    assert d["VersionId"] == v2 and "DeleteMarker" not in d
    assert body(root, name, "k") == b"one"
    ei = raises(lambda: root.get_object(Bucket=name, Key="k", VersionId=v2))
    assert err(ei) == ("NoSuchVersion", 404)


def test_suspended_bucket_writes_the_null_version(root):
    name = versioned_bucket(root)
    v1 = root.put_object(Bucket=name, Key="k", Body=b"one")["VersionId"]
    root.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Suspended"})
    assert root.get_bucket_versioning(Bucket=name)["Status"] == "Suspended"
    assert root.put_object(Bucket=name, Key="k", Body=b"a")["VersionId"] == "null"
    assert root.put_object(Bucket=name, Key="k", Body=b"b")["VersionId"] == "null"
    # The second PUT replaced the null version: one null, one older version.
    assert [(k, v, latest) for k, v, latest, _, _ in all_versions(root, name)] == [
        ("k", "null", True), ("k", v1, False)]
    assert body(root, name, "k") == b"b"
    assert root.head_object(Bucket=name, Key="k")["VersionId"] == "null"
    # DELETE: a null delete marker replaces the null version.
    d = root.delete_object(Bucket=name, Key="k")
    assert d["DeleteMarker"] is True and d["VersionId"] == "null"
    assert {(v, latest, marker) for _, v, latest, marker, _ in all_versions(root, name)} == {
        ("null", True, True), (v1, False, False)}
    assert body(root, name, "k", VersionId=v1) == b"one"
    # Enabled again: new versions get ids again.
    root.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    assert root.put_object(Bucket=name, Key="k", Body=b"c")["VersionId"] not in ("null", v1)
    # Bad configurations.
    ei = raises(lambda: root.put_bucket_versioning(
        Bucket=name, VersioningConfiguration={"Status": "Enabled", "MFADelete": "Enabled"}))
    assert err(ei)[1] == 400
    ei = raises(lambda: root.put_bucket_versioning(
        Bucket="no-such-bucket-ver", VersioningConfiguration={"Status": "Enabled"}))
    assert err(ei) == ("NoSuchBucket", 404)


def test_paging_over_many_versions(root):
    name = versioned_bucket(root, "page")
    expected = []
    for key in ["a", "b/1", "b/2", "c"]:
        ids = [root.put_object(Bucket=name, Key=key, Body=f"{key}{i}".encode())["VersionId"]
               for i in range(5)]
        if key == "c":
            ids.append(root.delete_object(Bucket=name, Key=key)["VersionId"])
        expected += [(key, v) for v in reversed(ids)]
    # By hand, 3 at a time: KeyMarker/VersionIdMarker resume inside a key's versions.
    seen, marker, pages = [], {}, 0
    while True:
        page = root.list_object_versions(Bucket=name, MaxKeys=3, **marker)
        pages += 1
        entries = [(v["Key"], v["VersionId"], v["LastModified"]) for v in page.get("Versions", [])]
        entries += [(m["Key"], m["VersionId"], m["LastModified"]) for m in page.get("DeleteMarkers", [])]
        assert len(entries) <= 3
        # Versions and markers of one page, in the listing's order (key, newest first).
        order = {v: i for i, v in enumerate(expected)}
        seen += sorted(((k, v) for k, v, _ in entries), key=lambda e: order[e])
        if not page["IsTruncated"]:
            break
        assert (page["NextKeyMarker"], page["NextVersionIdMarker"]) == seen[-1]
        marker = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}
    assert seen == expected and pages == 7
    # The paginator, a prefix and a delimiter.
    assert sorted((k, v) for k, v, *_ in all_versions(root, name, PaginationConfig={"PageSize": 4})) == \
        sorted(expected)
    r = root.list_object_versions(Bucket=name, Prefix="b/", MaxKeys=1000)
    assert [(v["Key"], v["VersionId"]) for v in r["Versions"]] == [e for e in expected if e[0].startswith("b/")]
    r = root.list_object_versions(Bucket=name, Delimiter="/", MaxKeys=6)
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["b/"]
    assert [v["Key"] for v in r["Versions"]] == ["a"] * 5
    assert r["IsTruncated"] is True and r["NextKeyMarker"] == "b/"
    r = root.list_object_versions(Bucket=name, Delimiter="/", KeyMarker="b/")
    assert {v["Key"] for v in r["Versions"]} == {"c"} and not r.get("CommonPrefixes")
    # A key marker alone resumes after the key.
    r = root.list_object_versions(Bucket=name, KeyMarker="b/2")
    assert {v["Key"] for v in r["Versions"]} == {"c"}
    ei = raises(lambda: root.list_object_versions(Bucket=name, VersionIdMarker="null"))
    assert err(ei) == ("InvalidArgument", 400)


def test_a_bucket_emptied_by_its_versions_is_deleted(root):
    name = versioned_bucket(root, "empty")
    for i in range(7):
        root.put_object(Bucket=name, Key=f"k{i % 3}", Body=b"x")
    root.delete_object(Bucket=name, Key="k0")
    ei = raises(lambda: root.delete_bucket(Bucket=name))
    assert err(ei) == ("BucketNotEmpty", 409)
    # As tools do: list every version and marker, DeleteObjects them by id, page by page.
    while True:
        page = root.list_object_versions(Bucket=name, MaxKeys=4)
        items = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                 for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        if not items:
            break
        r = root.delete_objects(Bucket=name, Delete={"Objects": items})
        assert not r.get("Errors"), r
        assert sorted((d["Key"], d["VersionId"]) for d in r["Deleted"]) == \
            sorted((i["Key"], i["VersionId"]) for i in items)
        markers = {d["VersionId"] for d in r["Deleted"] if d.get("DeleteMarker")}
        assert markers == {m["VersionId"] for m in page.get("DeleteMarkers", [])}
    assert all_versions(root, name) == []
    root.delete_bucket(Bucket=name)
    assert name not in {b["Name"] for b in root.list_buckets()["Buckets"]}


def test_delete_objects_without_versions_adds_markers(root):
    name = versioned_bucket(root, "multi")
    root.put_object(Bucket=name, Key="a", Body=b"a")
    r = root.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "a"}, {"Key": "never"}]})
    by_key = {d["Key"]: d for d in r["Deleted"]}
    assert by_key["a"]["DeleteMarker"] is True and by_key["a"]["DeleteMarkerVersionId"]
    assert by_key["never"]["DeleteMarker"] is True
    assert sorted((k, marker) for k, _, _, marker, _ in all_versions(root, name)) == [
        ("a", False), ("a", True), ("never", True)]


def test_copy_tagging_attributes_and_multipart_by_version(root):
    name = versioned_bucket(root, "copy")
    v1 = root.put_object(Bucket=name, Key="src", Body=b"first", Tagging="gen=1")["VersionId"]
    v2 = root.put_object(Bucket=name, Key="src", Body=b"second")["VersionId"]
    # CopyObject of a named version (and restoring it onto its own key).
    r = root.copy_object(Bucket=name, Key="dst", CopySource={"Bucket": name, "Key": "src", "VersionId": v1})
    assert r["CopySourceVersionId"] == v1 and r["VersionId"] not in (v1, v2)
    assert body(root, name, "dst") == b"first"
    assert root.get_object_tagging(Bucket=name, Key="dst")["TagSet"] == [{"Key": "gen", "Value": "1"}]
    r = root.copy_object(Bucket=name, Key="src", CopySource={"Bucket": name, "Key": "src", "VersionId": v1})
    assert body(root, name, "src") == b"first" and r["VersionId"] not in (v1, v2)
    # A delete marker cannot be copied by id.
    marker = root.delete_object(Bucket=name, Key="dst")["VersionId"]
    ei = raises(lambda: root.copy_object(
        Bucket=name, Key="x", CopySource={"Bucket": name, "Key": "dst", "VersionId": marker}))
    assert err(ei) == ("InvalidRequest", 400)
    ei = raises(lambda: root.copy_object(Bucket=name, Key="x", CopySource={"Bucket": name, "Key": "dst"}))
    assert err(ei) == ("NoSuchKey", 404)
    # Tagging per version.
    t = root.get_object_tagging(Bucket=name, Key="src", VersionId=v2)
    assert t["TagSet"] == [] and t["VersionId"] == v2
    r = root.put_object_tagging(Bucket=name, Key="src", VersionId=v2,
                                Tagging={"TagSet": [{"Key": "gen", "Value": "2"}]})
    assert r["VersionId"] == v2
    assert root.get_object_tagging(Bucket=name, Key="src", VersionId=v2)["TagSet"] == [{"Key": "gen", "Value": "2"}]
    assert root.get_object_tagging(Bucket=name, Key="src", VersionId=v1)["TagSet"] == [{"Key": "gen", "Value": "1"}]
    assert root.delete_object_tagging(Bucket=name, Key="src", VersionId=v1)["VersionId"] == v1
    assert root.get_object_tagging(Bucket=name, Key="src", VersionId=v1)["TagSet"] == []
    ei = raises(lambda: root.get_object_tagging(Bucket=name, Key="dst", VersionId=marker))
    assert err(ei) == ("MethodNotAllowed", 405)
    # GetObjectAttributes of a version.
    a = root.get_object_attributes(Bucket=name, Key="src", VersionId=v2, ObjectAttributes=["ObjectSize", "ETag"])
    assert a["ObjectSize"] == 6 and a["VersionId"] == v2
    # A completed multipart upload is a new version; UploadPartCopy reads a named version.
    up = root.create_multipart_upload(Bucket=name, Key="src")["UploadId"]
    etag = root.upload_part(Bucket=name, Key="src", UploadId=up, PartNumber=1, Body=b"parts")["ETag"]
    r = root.complete_multipart_upload(Bucket=name, Key="src", UploadId=up,
                                       MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert r["VersionId"] not in (v1, v2)
    assert body(root, name, "src") == b"parts" and body(root, name, "src", VersionId=v2) == b"second"
    assert len([v for v in all_versions(root, name, Prefix="src") if v[0] == "src"]) == 4
    up = root.create_multipart_upload(Bucket=name, Key="pc")["UploadId"]
    r = root.upload_part_copy(Bucket=name, Key="pc", UploadId=up, PartNumber=1,
                              CopySource={"Bucket": name, "Key": "src", "VersionId": v2})
    assert r["CopySourceVersionId"] == v2
    root.complete_multipart_upload(Bucket=name, Key="pc", UploadId=up, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": r["CopyPartResult"]["ETag"]}]})
    assert body(root, name, "pc") == b"second"


def user_client(server, iam, statements):
    name = u.uniq("ver")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": statements}))
    k = iam.create_access_key(UserName=name)["AccessKey"]
    return server.client("s3", k["AccessKeyId"], k["SecretAccessKey"])


def test_policy_on_the_version_actions(server, root, iam):
    name = versioned_bucket(root, "pol")
    v1 = root.put_object(Bucket=name, Key="k", Body=b"one")["VersionId"]
    root.put_object(Bucket=name, Key="k", Body=b"two")
    objects = f"arn:aws:s3:::{name}/*"
    c = user_client(server, iam, [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:DeleteObject", "s3:PutObject"], "Resource": objects},
        {"Effect": "Deny", "Action": ["s3:GetObjectVersion", "s3:DeleteObjectVersion"], "Resource": objects},
    ])
    assert c.get_object(Bucket=name, Key="k")["Body"].read() == b"two"
    ei = raises(lambda: c.get_object(Bucket=name, Key="k", VersionId=v1))
    assert err(ei) == ("AccessDenied", 403)
    assert "s3:GetObjectVersion" in ei.value.response["Error"]["Message"]
    assert err(raises(lambda: c.head_object(Bucket=name, Key="k", VersionId=v1)))[1] == 403
    ei = raises(lambda: c.delete_object(Bucket=name, Key="k", VersionId=v1))
    assert err(ei) == ("AccessDenied", 403)
    assert "s3:DeleteObjectVersion" in ei.value.response["Error"]["Message"]
    # DeleteObjects decides per item: the versioned one is refused, the plain one
    # adds a marker.
    r = c.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "k", "VersionId": v1}, {"Key": "k"}]})
    assert [(e["Key"], e["VersionId"], e["Code"]) for e in r["Errors"]] == [("k", v1, "AccessDenied")]
    assert [d.get("DeleteMarker") for d in r["Deleted"]] == [True]
    assert root.get_object(Bucket=name, Key="k", VersionId=v1)["Body"].read() == b"one"
    # A copy of a named version needs s3:GetObjectVersion on the source.
    ei = raises(lambda: c.copy_object(Bucket=name, Key="c", CopySource={"Bucket": name, "Key": "k", "VersionId": v1}))
    assert err(ei) == ("AccessDenied", 403)
    # The bucket-level version actions.
    ei = raises(lambda: c.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Suspended"}))
    assert "s3:PutBucketVersioning" in ei.value.response["Error"]["Message"]
    ei = raises(lambda: c.get_bucket_versioning(Bucket=name))
    assert "s3:GetBucketVersioning" in ei.value.response["Error"]["Message"]
    reader = user_client(server, iam, [
        {"Effect": "Allow", "Action": "s3:GetObjectVersion", "Resource": objects},
        {"Effect": "Allow", "Action": "s3:GetBucketVersioning", "Resource": f"arn:aws:s3:::{name}"},
    ])
    assert reader.get_object(Bucket=name, Key="k", VersionId=v1)["Body"].read() == b"one"
    assert reader.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    assert err(raises(lambda: reader.get_object(Bucket=name, Key="k")))[1] == 403


# -- conditional writes ------------------------------------------------------------------

def test_conditional_puts(root):
    for versioning in (None, "Enabled"):
        name = u.uniq("cond").lower()
        root.create_bucket(Bucket=name)
        if versioning:
            root.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning})
        ei = raises(lambda: root.put_object(Bucket=name, Key="k", Body=b"x", IfMatch='"abc"'))
        assert err(ei) == ("NoSuchKey", 404)
        etag = root.put_object(Bucket=name, Key="k", Body=b"one", IfNoneMatch="*")["ETag"]
        ei = raises(lambda: root.put_object(Bucket=name, Key="k", Body=b"two", IfNoneMatch="*"))
        assert err(ei) == ("PreconditionFailed", 412)
        ei = raises(lambda: root.put_object(Bucket=name, Key="k", Body=b"two", IfMatch='"0000"'))
        assert err(ei) == ("PreconditionFailed", 412)
        assert body(root, name, "k") == b"one"
        root.put_object(Bucket=name, Key="k", Body=b"two", IfMatch=etag)
        assert body(root, name, "k") == b"two"
        # CompleteMultipartUpload: refused while the key exists (the upload stays).
        up = root.create_multipart_upload(Bucket=name, Key="k")["UploadId"]
        p = root.upload_part(Bucket=name, Key="k", UploadId=up, PartNumber=1, Body=b"mp")["ETag"]
        parts = {"Parts": [{"PartNumber": 1, "ETag": p}]}
        ei = raises(lambda: root.complete_multipart_upload(
            Bucket=name, Key="k", UploadId=up, MultipartUpload=parts, IfNoneMatch="*"))
        assert err(ei) == ("PreconditionFailed", 412)
        root.delete_object(Bucket=name, Key="k")
        root.complete_multipart_upload(Bucket=name, Key="k", UploadId=up, MultipartUpload=parts, IfNoneMatch="*")
        assert body(root, name, "k") == b"mp"
        # Nothing of the refused writes was left behind.
        current = [v for v in all_versions(root, name) if v[2]]
        assert [(k, marker) for k, _, _, marker, _ in current] == [("k", False)]


def test_concurrent_if_none_match_writers_one_wins(server):
    c = server.client("s3", max_pool_connections=16)
    for versioning in (None, "Enabled"):
        name = u.uniq("race").lower()
        c.create_bucket(Bucket=name)
        if versioning:
            c.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning})
        for round_ in range(3):
            key = f"k{round_}"
            barrier = threading.Barrier(8)
            results = [None] * 8

            def put(i):
                barrier.wait()
                try:
                    c.put_object(Bucket=name, Key=key, Body=f"writer {i}".encode(), IfNoneMatch="*")
                    results[i] = 200
                except botocore.exceptions.ClientError as e:
                    results[i] = (e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"])

            threads = [threading.Thread(target=put, args=(i,)) for i in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert results.count(200) == 1, results
            assert all(r == 200 or r in (("PreconditionFailed", 412), ("ConditionalRequestConflict", 409))
                       for r in results), results
            winner = results.index(200)
            assert body(c, name, key) == f"writer {winner}".encode()
            assert len([v for v in all_versions(c, name) if v[0] == key]) == 1
        # CompleteMultipartUpload likewise: of four uploads of one key, one completes.
        uploads = []
        for i in range(4):
            up = c.create_multipart_upload(Bucket=name, Key="mp")["UploadId"]
            etag = c.upload_part(Bucket=name, Key="mp", UploadId=up, PartNumber=1,
                                 Body=f"upload {i}".encode())["ETag"]
            uploads.append((up, etag))
        barrier = threading.Barrier(4)
        results = [None] * 4

        def complete(i):
            up, etag = uploads[i]
            barrier.wait()
            try:
                c.complete_multipart_upload(Bucket=name, Key="mp", UploadId=up, IfNoneMatch="*",
                                            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
                results[i] = 200
            except botocore.exceptions.ClientError as e:
                results[i] = (e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"])

        threads = [threading.Thread(target=complete, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results.count(200) == 1, results
        assert all(r == 200 or r in (("PreconditionFailed", 412), ("ConditionalRequestConflict", 409))
                   for r in results), results
        assert body(c, name, "mp") == f"upload {results.index(200)}".encode()


# -- lifecycle ---------------------------------------------------------------------------

@pytest.mark.process
def test_lifecycle_expiration_adds_a_delete_marker(tmp_path):
    s = u.new_server(tmp_path, extra_env={"IAMD_S3_LIFECYCLE_INTERVAL": "1"})
    try:
        c = s.client("s3")
        name = versioned_bucket(c, "aging")
        v = c.put_object(Bucket=name, Key="logs/a", Body=b"a")["VersionId"]
        c.put_object(Bucket=name, Key="keep", Body=b"k")
        c.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": [
            {"ID": "logs", "Filter": {"Prefix": "logs/"}, "Status": "Enabled",
             "Expiration": {"Date": "2020-01-01T00:00:00Z"}}]})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            keys = [o["Key"] for o in c.list_objects_v2(Bucket=name).get("Contents", [])]
            if keys == ["keep"]:
                break
            time.sleep(0.2)
        assert keys == ["keep"]
        versions = {(k, vid == v, latest, marker) for k, vid, latest, marker, _ in all_versions(c, name, Prefix="logs/")}
        assert versions == {("logs/a", True, False, False), ("logs/a", False, True, True)}
        # One marker, however many passes ran since.
        time.sleep(1.5)
        assert len(all_versions(c, name, Prefix="logs/")) == 2
        assert body(c, name, "logs/a", VersionId=v) == b"a"
        # ExpiredObjectDeleteMarker: a marker left alone (its version removed) goes;
        # a marker with versions under it stays.
        c.put_object(Bucket=name, Key="tmp/alone", Body=b"x")
        c.put_object(Bucket=name, Key="tmp/kept", Body=b"x")
        gone = c.delete_object(Bucket=name, Key="tmp/alone")
        c.delete_object(Bucket=name, Key="tmp/kept")
        for k, vid, _, marker, _ in all_versions(c, name, Prefix="tmp/alone"):
            if not marker:
                c.delete_object(Bucket=name, Key=k, VersionId=vid)
        assert [x[1] for x in all_versions(c, name, Prefix="tmp/alone")] == [gone["VersionId"]]
        c.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": [
            {"ID": "markers", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled",
             "Expiration": {"ExpiredObjectDeleteMarker": True}}]})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and all_versions(c, name, Prefix="tmp/alone"):
            time.sleep(0.2)
        assert all_versions(c, name, Prefix="tmp/alone") == []
        assert len(all_versions(c, name, Prefix="tmp/kept")) == 2
    finally:
        s.stop()
