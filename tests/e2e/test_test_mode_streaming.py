"""Test mode (issue 14): aws-chunked uploads from a key the server does not hold are the
root's, like every other request of such a key. Signed chunks
(`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`, chunk signatures chained from a secret the server
never knows) and unsigned ones with a checksum trailer (botocore's own aws-chunked
writer) are decoded, their length and trailer checksum checked; a key the server issued
still has every chunk signature verified."""

import hashlib
import hmac
import http.client
import io
import json
import os
import re
import urllib.parse
import xml.etree.ElementTree as ET

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.httpchecksum
import pytest

from test_test_mode import Proc

pytestmark = pytest.mark.process


@pytest.fixture
def srv(tmp_path):
    p = Proc(tmp_path, "--ephemeral", "--test-mode").wait_listening()
    yield p
    p.finish()


def signed(endpoint, path, ak, sk, headers):
    req = botocore.awsrequest.AWSRequest(method="PUT", url=endpoint + path, data=b"", headers=headers)
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(ak, sk), "s3", "us-east-1").add_auth(req)
    return req


def send(srv, req, body):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    try:
        target = urllib.parse.urlsplit(req.url).path
        conn.putrequest("PUT", target, skip_accept_encoding=True)
        for k, v in req.headers.items():
            conn.putheader(k, v)
        conn.endheaders()
        conn.send(body)
        r = conn.getresponse()
        data = r.read()
        code = ET.fromstring(data).findtext("Code") if r.status >= 300 and data else None
        return r.status, code
    finally:
        conn.close()


def hmac256(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def streaming_put(srv, path, ak, sk, chunks, tamper=None):
    """STREAMING-AWS4-HMAC-SHA256-PAYLOAD, every chunk signed in a chain with `sk`."""
    sig_len = len(";chunk-signature=") + 64 + 4
    encoded = sum(len(f"{len(c):x}") + sig_len + len(c) for c in chunks) + 1 + sig_len
    req = signed(srv.endpoint, path, ak, sk, {
        "X-Amz-Content-SHA256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "Content-Encoding": "aws-chunked",
        "X-Amz-Decoded-Content-Length": str(sum(len(c) for c in chunks)),
        "Content-Length": str(encoded),
    })
    amz_date = req.headers["X-Amz-Date"]
    day = amz_date[:8]
    scope = f"{day}/us-east-1/s3/aws4_request"
    key = hmac256(hmac256(hmac256(hmac256(("AWS4" + sk).encode(), day), "us-east-1"), "s3"), "aws4_request")
    prev, out = req.headers["Authorization"].rsplit("Signature=", 1)[1], b""
    for i, c in enumerate(list(chunks) + [b""]):
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev,
                         hashlib.sha256(b"").hexdigest(), hashlib.sha256(c).hexdigest()])
        sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        if tamper == i:
            sig = ("0" if sig[0] != "0" else "1") + sig[1:]
        out += f"{len(c):x};chunk-signature={sig}\r\n".encode() + c + b"\r\n"
        prev = sig
    return send(srv, req, out)


def trailer_put(srv, path, ak, sk, data, trailer_value=None, declared=None):
    """STREAMING-UNSIGNED-PAYLOAD-TRAILER with botocore's aws-chunked writer (CRC32)."""
    encoded = botocore.httpchecksum.AwsChunkedWrapper(
        io.BytesIO(data), checksum_cls=botocore.httpchecksum.Crc32Checksum,
        checksum_name="x-amz-checksum-crc32", chunk_size=64 * 1024).read()
    if trailer_value is not None:
        encoded = re.sub(rb"x-amz-checksum-crc32:[^\r]*", b"x-amz-checksum-crc32:" + trailer_value, encoded)
    req = signed(srv.endpoint, path, ak, sk, {
        "X-Amz-Content-SHA256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "Content-Encoding": "aws-chunked",
        "X-Amz-Trailer": "x-amz-checksum-crc32",
        "X-Amz-Decoded-Content-Length": str(len(data) if declared is None else declared),
        "Content-Length": str(len(encoded)),
    })
    return send(srv, req, encoded)


def test_streaming_uploads_of_an_unknown_key_are_the_roots(srv):
    s3 = srv.client("s3")
    s3.create_bucket(Bucket="chunks")
    chunks = [os.urandom(64 * 1024), os.urandom(64 * 1024), b"tail"]
    assert streaming_put(srv, "/chunks/signed.bin", "testing", "testing", chunks) == (200, None)
    assert s3.get_object(Bucket="chunks", Key="signed.bin")["Body"].read() == b"".join(chunks)
    data = os.urandom(150_000)
    assert trailer_put(srv, "/chunks/trailer.bin", "AKIAANYTHING", "whatever", data) == (200, None)
    got = s3.get_object(Bucket="chunks", Key="trailer.bin", ChecksumMode="ENABLED")
    assert got["Body"].read() == data
    # The trailer's CRC32 was verified; the object keeps S3's default checksum (the
    # algorithm a trailer names is not carried past the decoding).
    assert got["ChecksumType"] == "FULL_OBJECT" and "ChecksumCRC64NVME" in got
    # The framing, the length and the trailer's checksum are still checked.
    assert trailer_put(srv, "/chunks/bad.bin", "testing", "testing", data, b"AAAAAA==") == (400, "BadDigest")
    assert trailer_put(srv, "/chunks/short.bin", "testing", "testing", data, declared=100) == (400, "IncompleteBody")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="chunks")["Contents"]]
    assert keys == ["signed.bin", "trailer.bin"]
    # Written as the root: the object is in the root's bucket, a user's policy never consulted.
    assert s3.head_object(Bucket="chunks", Key="signed.bin")["ContentLength"] == len(b"".join(chunks))


def test_a_key_the_server_issued_keeps_its_chunk_signatures_checked(srv):
    iam = srv.client("iam")
    s3 = srv.client("s3")
    s3.create_bucket(Bucket="checked")
    iam.create_user(UserName="writer")
    iam.put_user_policy(UserName="writer", PolicyName="w", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::checked/*"}]}))
    k = iam.create_access_key(UserName="writer")["AccessKey"]
    ak, sk = k["AccessKeyId"], k["SecretAccessKey"]
    chunks = [os.urandom(70_000), b"end"]
    assert streaming_put(srv, "/checked/ok.bin", ak, sk, chunks) == (200, None)
    assert streaming_put(srv, "/checked/bad.bin", ak, sk, chunks, tamper=1) == (403, "SignatureDoesNotMatch")
    # Its policy applies: no write outside the bucket it names.
    s3.create_bucket(Bucket="other")
    assert streaming_put(srv, "/other/x.bin", ak, sk, chunks)[0] == 403
    assert s3.get_object(Bucket="checked", Key="ok.bin")["Body"].read() == b"".join(chunks)


JS_STREAM_PUT = r"""
const { S3Client, PutObjectCommand, GetObjectCommand, CreateBucketCommand } = require("@aws-sdk/client-s3");
const { Readable } = require("stream");
const [endpoint, bucket] = process.argv.slice(2);
const s3 = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true,
  credentials: { accessKeyId: "testing", secretAccessKey: "testing" } });
(async () => {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const parts = ["streamed ", "from ", "a ", "Readable"];
  const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "s",
    Body: Readable.from(parts.map((p) => Buffer.from(p))), ContentLength: parts.join("").length }));
  const get = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "s" }));
  console.log(JSON.stringify({ text: await get.Body.transformToString(), type: put.ChecksumType || null }));
})().catch((e) => { console.error(e.name, e.message); process.exit(1); });
"""


def test_javascript_sdk_v3_stream_upload_with_any_key(srv, tmp_path):
    """The JS SDK v3 sends a stream body aws-chunked with a CRC32 trailer
    (STREAMING-UNSIGNED-PAYLOAD-TRAILER); with moto's testing/testing key it is the root's."""
    import shutil
    import subprocess
    from pathlib import Path

    node = shutil.which("node")
    js = Path(__file__).parent / "js" / "node_modules"
    if node is None:
        pytest.skip("node is not installed")
    assert (js / "@aws-sdk" / "client-s3").is_dir(), "run `npm ci --prefix tests/e2e/js` (scripts/test.sh does)"
    script = tmp_path / "stream.js"
    script.write_text(JS_STREAM_PUT)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["NODE_PATH"] = str(js)
    p = subprocess.run([node, str(script), srv.endpoint, "jsstream"], env=env, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"text": "streamed from a Readable", "type": "FULL_OBJECT"}
