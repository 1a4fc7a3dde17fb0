"""S3 object checksums kept and returned (issue 13, integrity): PutObject's default
CRC64NVME and the client's own algorithm, HeadObject/GetObject with ChecksumMode,
CopyObject, multipart COMPOSITE and FULL_OBJECT checksums with parts verified at
Complete, GetObjectAttributes (and its authorization), the aws CLI's --checksum-*
flows and the AWS SDK for JavaScript v3 with its default checksums."""

import hashlib
import json
import os
import shutil
import subprocess
import zlib
from pathlib import Path

import botocore.config
import botocore.exceptions
import pytest

import e2e_util as u
from test_s3_integrity import b64, call, chunked_put, client_error

BUCKET = "sums"
MIB = 1024 * 1024
JS_DIR = Path(__file__).parent / "js"


@pytest.fixture(scope="module")
def s3(server):
    c = server.client("s3")
    c.create_bucket(Bucket=BUCKET)
    return c


def _crc_table(poly, width):
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table, (1 << width) - 1


_CRC32C = _crc_table(0x82F63B78, 32)
_CRC64NVME = _crc_table(0x9A6C9329AC4BC9B5, 64)


def _crc(spec, data: bytes) -> int:
    table, mask = spec
    c = mask
    for b in data:
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ mask


def digest(algorithm: str, data: bytes) -> bytes:
    """The binary checksum S3 computes (independent Python implementations)."""
    if algorithm == "CRC32":
        return zlib.crc32(data).to_bytes(4, "big")
    if algorithm == "CRC32C":
        return _crc(_CRC32C, data).to_bytes(4, "big")
    if algorithm == "CRC64NVME":
        return _crc(_CRC64NVME, data).to_bytes(8, "big")
    return hashlib.new(algorithm.lower(), data).digest()


def test_reference_checksums_match_published_check_values():
    assert digest("CRC32C", b"123456789").hex() == "e3069283"
    assert digest("CRC64NVME", b"123456789").hex() == "ae8b14860a799888"


def test_put_keeps_the_clients_checksum_and_returns_it_on_request(s3):
    body = b"the quick brown fox"
    for alg in ["CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"]:
        key = f"put-{alg}"
        want = b64(digest(alg, body))
        # botocore computes CRC32C/CRC64NVME only with awscrt: sent as values here.
        how = ({"ChecksumAlgorithm": alg} if alg in ("CRC32", "SHA1", "SHA256")
               else {f"Checksum{alg}": want})
        r = s3.put_object(Bucket=BUCKET, Key=key, Body=body, **how)
        assert r[f"Checksum{alg}"] == want
        assert r["ChecksumType"] == "FULL_OBJECT"
        h = s3.head_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
        assert (h[f"Checksum{alg}"], h["ChecksumType"]) == (want, "FULL_OBJECT"), alg
        # Without ChecksumMode, no checksum.
        h = s3.head_object(Bucket=BUCKET, Key=key)
        assert not [k for k in h if k.startswith("Checksum")], h
        # botocore validates a GET's body against the returned checksum (it raises on
        # a mismatch); the checksum must be there to be validated.
        g = s3.get_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
        assert g[f"Checksum{alg}"] == want
        assert g["Body"].read() == body
        # A range is not the object: no checksum.
        g = s3.get_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED", Range="bytes=0-3")
        assert not [k for k in g if k.startswith("Checksum")]
        assert g["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert g["ContentRange"] == f"bytes 0-3/{len(body)}"
        assert g["Body"].read() == body[:4]


def test_an_upload_without_checksum_gets_crc64nvme(server, s3):
    body = b"no checksum from the client"
    status, code, _ = call(server, "PUT", f"/{BUCKET}/plain", body)
    assert (status, code) == (200, None)
    h = s3.head_object(Bucket=BUCKET, Key="plain", ChecksumMode="ENABLED")
    assert h["ChecksumCRC64NVME"] == b64(digest("CRC64NVME", body))
    assert h["ChecksumType"] == "FULL_OBJECT"
    # boto3 without awscrt cannot check a CRC64NVME: it reads the object all the same.
    g = s3.get_object(Bucket=BUCKET, Key="plain", ChecksumMode="ENABLED")
    assert g["Body"].read() == body and g["ChecksumCRC64NVME"] == h["ChecksumCRC64NVME"]


def test_listings_name_each_objects_checksum_algorithm(s3):
    s3.put_object(Bucket=BUCKET, Key="listed/sha", Body=b"x", ChecksumAlgorithm="SHA256")
    s3.put_object(Bucket=BUCKET, Key="listed/crc", Body=b"x")
    got = {o["Key"]: (o["ChecksumAlgorithm"], o["ChecksumType"])
           for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="listed/")["Contents"]}
    assert got == {"listed/sha": (["SHA256"], "FULL_OBJECT"), "listed/crc": (["CRC32"], "FULL_OBJECT")}


def test_a_trailer_checksum_is_kept(server, s3):
    body = os.urandom(150_000)
    assert chunked_put(server, f"/{BUCKET}/trailer", body) == (200, None, None)
    h = s3.head_object(Bucket=BUCKET, Key="trailer", ChecksumMode="ENABLED")
    assert (h["ChecksumCRC32"], h["ChecksumType"]) == (b64(digest("CRC32", body)), "FULL_OBJECT")


def test_transfer_manager_multipart_upload_and_download(s3, tmp_path):
    """boto3's upload_file/download_file (s3transfer) above the 8 MiB multipart
    threshold, with their default checksums, end to end."""
    src, dst = tmp_path / "big", tmp_path / "back"
    data = os.urandom(9 * MIB)
    src.write_bytes(data)
    s3.upload_file(str(src), BUCKET, "transfer")
    s3.download_file(BUCKET, "transfer", str(dst))
    assert dst.read_bytes() == data
    h = s3.head_object(Bucket=BUCKET, Key="transfer", ChecksumMode="ENABLED")
    assert h["ETag"].strip('"').endswith("-2")
    # s3transfer asks for CRC32 parts (8 MiB chunks): a composite of the two.
    parts = [data[:8 * MIB], data[8 * MIB:]]
    composite = b64(digest("CRC32", b"".join(digest("CRC32", p) for p in parts)))
    assert (h["ChecksumCRC32"], h["ChecksumType"]) == (f"{composite}-2", "COMPOSITE")


def test_a_wrong_checksum_is_refused_and_nothing_kept(s3):
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.put_object(Bucket=BUCKET, Key="bad", Body=b"x", ChecksumSHA256=b64(b"\0" * 32))
    assert client_error(ei)[:2] == (400, "BadDigest")
    with pytest.raises(botocore.exceptions.ClientError):
        s3.head_object(Bucket=BUCKET, Key="bad")


def test_copy_recomputes_in_the_sources_or_the_requested_algorithm(s3):
    body = b"copy me" * 100
    s3.put_object(Bucket=BUCKET, Key="src", Body=body, ChecksumAlgorithm="SHA1")
    r = s3.copy_object(Bucket=BUCKET, Key="dst", CopySource={"Bucket": BUCKET, "Key": "src"})
    assert r["CopyObjectResult"]["ChecksumSHA1"] == b64(digest("SHA1", body))
    r = s3.copy_object(Bucket=BUCKET, Key="dst2", CopySource={"Bucket": BUCKET, "Key": "src"},
                       ChecksumAlgorithm="CRC32C")
    assert r["CopyObjectResult"]["ChecksumCRC32C"] == b64(digest("CRC32C", body))
    h = s3.head_object(Bucket=BUCKET, Key="dst2", ChecksumMode="ENABLED")
    assert (h["ChecksumCRC32C"], h["ChecksumType"]) == (b64(digest("CRC32C", body)), "FULL_OBJECT")
    assert "ChecksumSHA1" not in h


def parts_of(sizes):
    return [bytes([65 + i]) * n for i, n in enumerate(sizes)]


def upload(s3, key, parts, algorithm=None, kind=None, listed=True):
    """A multipart upload of `parts`; returns (upload id, the Complete parts list)."""
    kw = {}
    if algorithm:
        kw["ChecksumAlgorithm"] = algorithm
    if kind:
        kw["ChecksumType"] = kind
    c = s3.create_multipart_upload(Bucket=BUCKET, Key=key, **kw)
    if algorithm:
        assert (c["ChecksumAlgorithm"], c["ChecksumType"]) == (
            algorithm, kind or ("FULL_OBJECT" if algorithm == "CRC64NVME" else "COMPOSITE"))
    uid = c["UploadId"]
    done = []
    for n, data in enumerate(parts, 1):
        pkw = {"ChecksumAlgorithm": algorithm} if algorithm else {}
        r = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=uid, PartNumber=n, Body=data, **pkw)
        alg = algorithm or "CRC64NVME"
        assert r[f"Checksum{alg}"] == b64(digest(alg, data))
        part = {"PartNumber": n, "ETag": r["ETag"]}
        if listed:
            part[f"Checksum{alg}"] = r[f"Checksum{alg}"]
        done.append(part)
    return uid, done


def test_multipart_composite_sha256(s3):
    parts = parts_of([5 * MIB, 5 * MIB, 1024])
    uid, done = upload(s3, "mp-sha", parts, "SHA256")
    listed = s3.list_parts(Bucket=BUCKET, Key="mp-sha", UploadId=uid)
    assert (listed["ChecksumAlgorithm"], listed["ChecksumType"]) == ("SHA256", "COMPOSITE")
    assert [p["ChecksumSHA256"] for p in listed["Parts"]] == [b64(digest("SHA256", p)) for p in parts]
    # A part checksum that is not the stored one: InvalidPart, nothing completed.
    wrong = [dict(p) for p in done]
    wrong[1]["ChecksumSHA256"] = b64(digest("SHA256", b"other"))
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.complete_multipart_upload(Bucket=BUCKET, Key="mp-sha", UploadId=uid,
                                     MultipartUpload={"Parts": wrong})
    assert client_error(ei)[:2] == (400, "InvalidPart")
    r = s3.complete_multipart_upload(Bucket=BUCKET, Key="mp-sha", UploadId=uid,
                                     MultipartUpload={"Parts": done})
    composite = b64(hashlib.sha256(b"".join(digest("SHA256", p) for p in parts)).digest())
    assert (r["ChecksumSHA256"], r["ChecksumType"]) == (f"{composite}-3", "COMPOSITE")
    h = s3.head_object(Bucket=BUCKET, Key="mp-sha", ChecksumMode="ENABLED")
    assert (h["ChecksumSHA256"], h["ChecksumType"]) == (f"{composite}-3", "COMPOSITE")
    # GET with ChecksumMode: botocore skips validating a composite; the body is whole.
    g = s3.get_object(Bucket=BUCKET, Key="mp-sha", ChecksumMode="ENABLED")
    assert g["Body"].read() == b"".join(parts)

    # One part (?partNumber=): its bytes and range, the parts count, its own checksum
    # (which botocore validates against the part's body).
    g = s3.get_object(Bucket=BUCKET, Key="mp-sha", PartNumber=2, ChecksumMode="ENABLED")
    assert g["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert (g["PartsCount"], g["ContentRange"]) == (3, f"bytes {5 * MIB}-{10 * MIB - 1}/{10 * MIB + 1024}")
    assert g["ChecksumSHA256"] == b64(digest("SHA256", parts[1]))
    assert g["Body"].read() == parts[1]
    h = s3.head_object(Bucket=BUCKET, Key="mp-sha", PartNumber=3, ChecksumMode="ENABLED")
    assert (h["ContentLength"], h["PartsCount"]) == (1024, 3)
    # 206 with the part's range, as AWS (and as the GET of the part)
    assert h["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert h["ContentRange"] == f"bytes {10 * MIB}-{10 * MIB + 1023}/{10 * MIB + 1024}"
    assert h["ChecksumSHA256"] == b64(digest("SHA256", parts[2]))
    # a HEAD without partNumber stays 200 with no range
    h = s3.head_object(Bucket=BUCKET, Key="mp-sha")
    assert h["ResponseMetadata"]["HTTPStatusCode"] == 200 and "ContentRange" not in h
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.get_object(Bucket=BUCKET, Key="mp-sha", PartNumber=4)
    assert client_error(ei)[:2] == (416, "InvalidPartNumber")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.get_object(Bucket=BUCKET, Key="mp-sha", PartNumber=1, Range="bytes=0-1")
    assert client_error(ei)[:2] == (400, "InvalidRequest")

    a = s3.get_object_attributes(Bucket=BUCKET, Key="mp-sha", ObjectAttributes=[
        "ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"])
    assert a["Checksum"] == {"ChecksumSHA256": composite, "ChecksumType": "COMPOSITE"}
    assert a["ObjectSize"] == sum(map(len, parts))
    assert a["StorageClass"] == "STANDARD"
    assert a["ETag"].strip('"') == r["ETag"].strip('"')
    op = a["ObjectParts"]
    assert op["TotalPartsCount"] == 3 and op["IsTruncated"] is False
    assert [(p["PartNumber"], p["Size"], p["ChecksumSHA256"]) for p in op["Parts"]] == [
        (n, len(p), b64(digest("SHA256", p))) for n, p in enumerate(parts, 1)]
    page = s3.get_object_attributes(Bucket=BUCKET, Key="mp-sha", ObjectAttributes=["ObjectParts"],
                                    MaxParts=2)["ObjectParts"]
    assert [p["PartNumber"] for p in page["Parts"]] == [1, 2]
    assert (page["IsTruncated"], page["NextPartNumberMarker"]) == (True, 2)
    rest = s3.get_object_attributes(Bucket=BUCKET, Key="mp-sha", ObjectAttributes=["ObjectParts"],
                                    MaxParts=2, PartNumberMarker=2)["ObjectParts"]
    assert [p["PartNumber"] for p in rest["Parts"]] == [3] and rest["IsTruncated"] is False


def test_multipart_full_object_crc32_checks_the_declared_object_checksum(s3):
    parts = parts_of([5 * MIB, 3000])
    whole = b"".join(parts)
    want = b64(digest("CRC32", whole))
    uid, done = upload(s3, "mp-full", parts, "CRC32", "FULL_OBJECT")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.complete_multipart_upload(Bucket=BUCKET, Key="mp-full", UploadId=uid,
                                     MultipartUpload={"Parts": done},
                                     ChecksumCRC32=b64(digest("CRC32", b"nope")),
                                     ChecksumType="FULL_OBJECT")
    assert client_error(ei)[:2] == (400, "BadDigest")
    r = s3.complete_multipart_upload(Bucket=BUCKET, Key="mp-full", UploadId=uid,
                                     MultipartUpload={"Parts": done}, ChecksumCRC32=want,
                                     ChecksumType="FULL_OBJECT")
    assert (r["ChecksumCRC32"], r["ChecksumType"]) == (want, "FULL_OBJECT")
    g = s3.get_object(Bucket=BUCKET, Key="mp-full", ChecksumMode="ENABLED")
    assert g["ChecksumCRC32"] == want and g["Body"].read() == whole
    a = s3.get_object_attributes(Bucket=BUCKET, Key="mp-full", ObjectAttributes=["ObjectParts", "Checksum"])
    assert a["Checksum"] == {"ChecksumCRC32": want, "ChecksumType": "FULL_OBJECT"}
    assert a["ObjectParts"]["TotalPartsCount"] == 2 and "Parts" not in a["ObjectParts"]
    # A part of a full-object checksum has none of its own.
    g = s3.get_object(Bucket=BUCKET, Key="mp-full", PartNumber=2, ChecksumMode="ENABLED")
    assert g["Body"].read() == parts[1] and "ChecksumCRC32" not in g and g["PartsCount"] == 2


def test_multipart_without_algorithm_gets_a_full_object_crc64nvme(s3):
    parts = parts_of([5 * MIB, 10])
    uid, done = upload(s3, "mp-default", parts, listed=False)
    r = s3.complete_multipart_upload(Bucket=BUCKET, Key="mp-default", UploadId=uid,
                                     MultipartUpload={"Parts": done})
    # The parts' CRC64NVMEs combined: the CRC of the whole object.
    whole = b"".join(parts)
    assert r["ChecksumType"] == "FULL_OBJECT"
    assert r["ChecksumCRC64NVME"] == b64(digest("CRC64NVME", whole))


def test_multipart_checksum_rules(server, s3):
    def refused(**kw):
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            s3.create_multipart_upload(Bucket=BUCKET, Key="rules", **kw)
        return client_error(ei)

    assert refused(ChecksumAlgorithm="SHA256", ChecksumType="FULL_OBJECT") == (
        400, "InvalidRequest", "The FULL_OBJECT checksum type cannot be used with the sha256 checksum algorithm.")
    assert refused(ChecksumAlgorithm="CRC64NVME", ChecksumType="COMPOSITE") == (
        400, "InvalidRequest", "The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.")
    assert refused(ChecksumType="COMPOSITE") == (
        400, "InvalidRequest",
        "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.")
    # A part in another algorithm than the upload's.
    uid = s3.create_multipart_upload(Bucket=BUCKET, Key="rules", ChecksumAlgorithm="SHA1")["UploadId"]
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.upload_part(Bucket=BUCKET, Key="rules", UploadId=uid, PartNumber=1, Body=b"x",
                       ChecksumAlgorithm="CRC32")
    assert client_error(ei) == (400, "InvalidRequest",
                                "Checksum Type mismatch occurred, expected checksum Type: sha1, actual checksum Type: crc32")
    # A composite upload's part must carry its checksum (here: a raw request without).
    status, code, msg = call(server, "PUT", f"/{BUCKET}/rules", b"x", f"partNumber=1&uploadId={uid}")
    assert (status, code, msg) == (400, "InvalidRequest",
                                   "Checksum Type mismatch occurred, expected checksum Type: sha1, actual checksum Type: null")
    # …and its Complete must list each part's checksum.
    e = s3.upload_part(Bucket=BUCKET, Key="rules", UploadId=uid, PartNumber=1, Body=b"x",
                       ChecksumAlgorithm="SHA1")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.complete_multipart_upload(Bucket=BUCKET, Key="rules", UploadId=uid,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e["ETag"]}]})
    assert client_error(ei) == (
        400, "InvalidRequest", "The upload was created using a sha1 checksum. The complete request must "
        "include the checksum for each part. It was missing for part 1 in the request.")
    s3.abort_multipart_upload(Bucket=BUCKET, Key="rules", UploadId=uid)
    # A full-object upload's part may leave its checksum to the server.
    uid = s3.create_multipart_upload(Bucket=BUCKET, Key="rules", ChecksumAlgorithm="CRC32",
                                     ChecksumType="FULL_OBJECT")["UploadId"]
    assert call(server, "PUT", f"/{BUCKET}/rules", b"x", f"partNumber=1&uploadId={uid}")[0] == 200
    listed = s3.list_parts(Bucket=BUCKET, Key="rules", UploadId=uid)["Parts"]
    assert listed[0]["ChecksumCRC32"] == b64(digest("CRC32", b"x"))
    s3.abort_multipart_upload(Bucket=BUCKET, Key="rules", UploadId=uid)


def test_object_attributes_of_a_single_put_object(s3):
    body = b"attributes"
    s3.put_object(Bucket=BUCKET, Key="attrs", Body=body, ChecksumCRC32C=b64(digest("CRC32C", body)))
    a = s3.get_object_attributes(Bucket=BUCKET, Key="attrs",
                                 ObjectAttributes=["Checksum", "ObjectParts", "ObjectSize"])
    assert a["Checksum"] == {"ChecksumCRC32C": b64(digest("CRC32C", body)), "ChecksumType": "FULL_OBJECT"}
    assert a["ObjectSize"] == len(body)
    assert "ObjectParts" not in a and "ETag" not in a
    # An object stored whole is its own part 1, and has no other.
    g = s3.get_object(Bucket=BUCKET, Key="attrs", PartNumber=1, ChecksumMode="ENABLED")
    assert g["Body"].read() == body and "PartsCount" not in g
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.head_object(Bucket=BUCKET, Key="attrs", PartNumber=2)
    assert client_error(ei)[0] == 416
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.get_object_attributes(Bucket=BUCKET, Key="attrs", ObjectAttributes=["ETag"],
                                 VersionId="3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY")
    assert client_error(ei)[:2] == (404, "NoSuchVersion")
    a = s3.get_object_attributes(Bucket=BUCKET, Key="attrs", ObjectAttributes=["ObjectSize"],
                                 VersionId="null")
    assert a["ObjectSize"] == len(body)


def test_object_attributes_need_get_object_and_get_object_attributes(server, s3, user_with_key):
    s3.put_object(Bucket=BUCKET, Key="guarded", Body=b"g")

    def policy(*actions):
        return json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": list(actions), "Resource": f"arn:aws:s3:::{BUCKET}/*"}]})

    for actions, allowed in [(["s3:GetObject"], False), (["s3:GetObjectAttributes"], False),
                             (["s3:GetObject", "s3:GetObjectAttributes"], True)]:
        _, ak, sk = user_with_key("attrs", policy(*actions))
        c = server.client("s3", ak, sk)
        if allowed:
            assert c.get_object_attributes(Bucket=BUCKET, Key="guarded",
                                           ObjectAttributes=["ObjectSize"])["ObjectSize"] == 1
        else:
            with pytest.raises(botocore.exceptions.ClientError) as ei:
                c.get_object_attributes(Bucket=BUCKET, Key="guarded", ObjectAttributes=["ObjectSize"])
            assert client_error(ei)[:2] == (403, "AccessDenied"), actions


def test_aws_cli_checksum_flows(server, s3, tmp_path):
    f = tmp_path / "f"
    body = b"cli body\n" * 50
    f.write_bytes(body)
    crc = b64(digest("CRC32", body))
    p = u.run_aws(server, "s3api", "put-object", "--bucket", BUCKET, "--key", "cli", "--body", str(f),
                  "--checksum-crc32", "AAAAAA==", check=False)
    assert p.returncode != 0 and "BadDigest" in p.stderr, p.stderr
    p = u.run_aws(server, "s3api", "put-object", "--bucket", BUCKET, "--key", "cli", "--body", str(f),
                  "--checksum-crc32", crc)
    assert json.loads(p.stdout)["ChecksumCRC32"] == crc
    p = u.run_aws(server, "s3api", "head-object", "--bucket", BUCKET, "--key", "cli",
                  "--checksum-mode", "ENABLED")
    out = json.loads(p.stdout)
    assert (out["ChecksumCRC32"], out["ChecksumType"]) == (crc, "FULL_OBJECT")
    p = u.run_aws(server, "s3api", "head-object", "--bucket", BUCKET, "--key", "cli")
    assert "ChecksumCRC32" not in json.loads(p.stdout)


JS_PUT_GET = r"""
const { S3Client, PutObjectCommand, GetObjectCommand, HeadObjectCommand } = require("@aws-sdk/client-s3");
const [endpoint, ak, sk, bucket] = process.argv.slice(2);
const s3 = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true,
  credentials: { accessKeyId: ak, secretAccessKey: sk } });
(async () => {
  const body = "hello from the JavaScript SDK ".repeat(100);
  const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "js", Body: body }));
  // The SDK's default: a CRC32 it computes and the server keeps and returns.
  const get = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "js", ChecksumMode: "ENABLED" }));
  const text = await get.Body.transformToString();
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "js", ChecksumMode: "ENABLED" }));
  console.log(JSON.stringify({ put: put.ChecksumCRC32, get: get.ChecksumCRC32, head: head.ChecksumCRC32,
    type: head.ChecksumType, same: text === body }));
})().catch((e) => { console.error(e.name, e.message); process.exit(1); });
"""


def test_javascript_sdk_v3_default_checksums(server, s3, tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    assert (JS_DIR / "node_modules" / "@aws-sdk" / "client-s3").is_dir(), (
        "run `npm ci --prefix tests/e2e/js` (scripts/test.sh does)")
    script = tmp_path / "putget.js"
    script.write_text(JS_PUT_GET)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["NODE_PATH"] = str(JS_DIR / "node_modules")
    p = subprocess.run([node, str(script), server.endpoint, u.ROOT_ACCESS_KEY_ID,
                        u.ROOT_SECRET_ACCESS_KEY, BUCKET], env=env, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    want = b64(digest("CRC32", ("hello from the JavaScript SDK " * 100).encode()))
    assert out == {"put": want, "get": want, "head": want, "type": "FULL_OBJECT", "same": True}
