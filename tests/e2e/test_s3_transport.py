"""The S3 endpoint at the transport level, as an outside probe sees it: a stalled
request body times out (RequestTimeout, connection closed, no temp file left) while
a slow but steady upload goes through; Range headers AWS ignores or reads to the
end; over-long keys, header sections and metadata answered with S3's XML errors; a
credential scope for another service is a 400, not a 501; refused requests do not
flood the log, server errors still reach it."""

import datetime as _dt
import hashlib
import http.client
import json
import shutil
import socket
import time
import urllib.parse
import xml.etree.ElementTree as ET

import botocore
import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest

import e2e_util as u
from test_robustness import _drained_or_answered as _read_until_closed

pytestmark = pytest.mark.process

# The server's S3 body timeout in these tests, and how long a test waits for
# things that must happen (generous: the machine may be busy).
BODY_TIMEOUT = 3
PATIENCE = 60.0
BUCKET = "transport"
OBJECT = b"0123456789"
REQUEST_TIMEOUT_MSG = ("Your socket connection to the server was not read from or written to "
                       "within the timeout period. Idle connections will be closed.")


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    if u.EXTERNAL_ENDPOINT:
        pytest.skip("needs its own iamd process (IAMD_E2E_ENDPOINT is set)")
    s = u.Server(data_dir=tmp_path_factory.mktemp("transport") / "data",
                 log_dir=tmp_path_factory.mktemp("transport-logs"),
                 extra_env={"IAMD_S3_BODY_TIMEOUT": str(BODY_TIMEOUT)}).start()
    c = s.client("s3")
    c.create_bucket(Bucket=BUCKET)
    c.put_object(Bucket=BUCKET, Key="obj", Body=OBJECT)
    c.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                       "Resource": f"arn:aws:s3:::{BUCKET}/public/*"}]}))
    c.put_object(Bucket=BUCKET, Key="public/obj", Body=OBJECT)
    yield s
    s.kill()


def sign(server, method, path, headers=None, query="", service="s3"):
    """SigV4 header auth as root over exactly `headers` (plus host and x-amz-date)."""
    url = server.endpoint + path + (("?" + query) if query else "")
    h = {"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}
    h.update(headers or {})
    req = botocore.awsrequest.AWSRequest(method=method, url=url, headers=h)
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(
        u.ROOT_ACCESS_KEY_ID, u.ROOT_SECRET_ACCESS_KEY), service, "us-east-1").add_auth(req)
    return req


def request(server, method, target, headers=None, body=b""):
    host, port = server.host_port
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        conn.endheaders()
        if body:
            conn.send(body)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def send_signed(server, req, body=b""):
    parts = urllib.parse.urlsplit(req.url)
    target = parts.path + (("?" + parts.query) if parts.query else "")
    return request(server, req.method, target, dict(req.headers), body)


def s3_error(status, headers, body):
    """(code, message) of an S3 <Error> document carrying a request id."""
    root = ET.fromstring(body)
    assert root.tag == "Error", body
    rid = root.findtext("RequestId")
    assert rid and headers.get("x-amz-request-id") == rid, (headers, body)
    return root.findtext("Code"), root.findtext("Message")


def stderr_lines(server):
    return server.stderr_path.read_text(errors="replace").splitlines()


# -- 1. request bodies that stall ----------------------------------------------------

def _stall(srv, method, path, query, first_bytes):
    """Headers promising 1000 bytes, `first_bytes` of them, then silence."""
    req = sign(srv, method, path, {"Content-Length": "1000"}, query=query)
    host, port = srv.host_port
    sock = socket.create_connection((host, port))
    target = path + (("?" + query) if query else "")
    head = f"{method} {target} HTTP/1.1\r\nHost: {host}:{port}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in req.headers.items())
    sock.sendall(head.encode() + b"\r\n" + first_bytes)
    return sock


@pytest.mark.parametrize("op", ["PutObject", "UploadPart", "DeleteObjects"])
def test_stalled_body_times_out_closes_and_leaves_no_temp_file(srv, op):
    c = srv.client("s3")
    tmp = srv.data_dir / "s3" / "tmp"
    key = f"stalled-{op}"
    if op == "PutObject":
        args = ("PUT", f"/{BUCKET}/{key}", "", b"0123456789")
    elif op == "UploadPart":
        upload = c.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
        args = ("PUT", f"/{BUCKET}/{key}", f"partNumber=1&uploadId={upload}", b"0123456789")
    else:
        args = ("POST", f"/{BUCKET}", "delete=", b"<Delete><Object><Key>obj</Key></Obj")
    started = time.monotonic()
    sock = _stall(srv, *args)
    try:
        if op != "DeleteObjects":
            # The upload is under way: its temp file exists.
            while not any(tmp.iterdir()):
                assert time.monotonic() - started < PATIENCE, "the upload never started"
                time.sleep(0.02)
        closed, got = _read_until_closed(sock, started + PATIENCE)
    finally:
        sock.close()
    assert got, f"no answer to a body stalled for {PATIENCE}s (timeout {BODY_TIMEOUT}s)"
    head, _, body = got.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), got[:300]
    headers = {k.strip().lower(): v.strip() for k, _, v in
               (line.partition(":") for line in head.decode().split("\r\n")[1:])}
    assert headers.get("connection") == "close", head
    assert s3_error(400, headers, body) == ("RequestTimeout", REQUEST_TIMEOUT_MSG)
    assert closed, "the connection stayed open after RequestTimeout"
    assert list(tmp.iterdir()) == []
    # Nothing was stored; everybody else is served.
    assert c.get_object(Bucket=BUCKET, Key="obj")["Body"].read() == OBJECT
    if op == "PutObject":
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            c.head_object(Bucket=BUCKET, Key=key)
        assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    if op == "UploadPart":
        assert c.list_parts(Bucket=BUCKET, Key=key, UploadId=upload).get("Parts", []) == []


def test_slow_but_steady_upload_is_not_cut(srv):
    """15 chunks 0.3 s apart: 4.5 s in all, longer than the 3 s body timeout, which
    bounds the silence between bytes, not the upload."""
    chunks = [bytes([65 + i]) * 100 for i in range(15)]
    data = b"".join(chunks)
    req = sign(srv, "PUT", f"/{BUCKET}/steady", {"Content-Length": str(len(data))})
    host, port = srv.host_port
    conn = http.client.HTTPConnection(host, port, timeout=PATIENCE)
    try:
        conn.putrequest("PUT", f"/{BUCKET}/steady", skip_accept_encoding=True)
        for k, v in req.headers.items():
            conn.putheader(k, v)
        conn.endheaders()
        started = time.monotonic()
        for c in chunks:
            time.sleep(0.3)
            conn.send(c)
        r = conn.getresponse()
        status, body = r.status, r.read()
    finally:
        conn.close()
    assert status == 200, body
    assert time.monotonic() - started > BODY_TIMEOUT
    assert srv.client("s3").get_object(Bucket=BUCKET, Key="steady")["Body"].read() == data


# -- 2. Range as AWS reads it --------------------------------------------------------

def _presigned_get(srv, key, rng):
    url = srv.client("s3").generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=300)
    parts = urllib.parse.urlsplit(url)
    return request(srv, "GET", parts.path + "?" + parts.query, {"Range": rng})


def _anonymous_get(srv, key, rng):
    return request(srv, "GET", f"/{BUCKET}/{key}", {"Range": rng})


HUGE = "9" * 30


@pytest.mark.parametrize("get", [_presigned_get, _anonymous_get], ids=["presigned", "anonymous"])
@pytest.mark.parametrize("rng,status,content_range", [
    ("garbage", 200, None),                      # not a range: ignored
    ("bytes=5-3", 200, None),                    # last before first: ignored
    ("bytes=0-1,3-4", 200, None),                # several ranges: the whole object
    (f"bytes=0-{HUGE}", 206, "bytes 0-9/10"),    # to the end, however far
    ("bytes=4-18446744073709551616", 206, "bytes 4-9/10"),
    ("bytes=2-4", 206, "bytes 2-4/10"),
])
def test_range_is_read_as_aws_reads_it(srv, get, rng, status, content_range):
    key = "obj" if get is _presigned_get else "public/obj"
    got_status, headers, body = get(srv, key, rng)
    assert got_status == status, (rng, got_status, body[:300])
    assert headers.get("content-range") == content_range
    if content_range is None:
        assert body == OBJECT
    else:
        first, last = map(int, content_range.split()[1].split("/")[0].split("-"))
        assert body == OBJECT[first:last + 1]


@pytest.mark.parametrize("get", [_presigned_get, _anonymous_get], ids=["presigned", "anonymous"])
@pytest.mark.parametrize("rng", ["bytes=10-", f"bytes={HUGE}-", f"bytes={HUGE}-{HUGE}9"])
def test_range_starting_past_the_end_is_invalid_range(srv, get, rng):
    key = "obj" if get is _presigned_get else "public/obj"
    status, headers, body = get(srv, key, rng)
    assert status == 416, (rng, status, body[:300])
    assert s3_error(status, headers, body)[0] == "InvalidRange"


# -- 2. keys, header sections and metadata over AWS's limits -------------------------

def test_key_over_1024_bytes_is_key_too_long(srv):
    c = srv.client("s3")
    c.put_object(Bucket=BUCKET, Key="k" * 1024, Body=b"x")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        c.put_object(Bucket=BUCKET, Key="k" * 1025, Body=b"x")
    e = ei.value.response
    assert (e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"]) == ("KeyTooLongError", 400)
    assert e["Error"]["Message"] == "Your key is too long"
    assert e["ResponseMetadata"]["RequestId"]


def test_header_section_over_8_kib_is_s3_xml(srv):
    # Over 8 KiB in one header, and in many small ones (more than hyper's default
    # 100 header lines).
    for extra in ({"X-Pad": "a" * 8200}, {f"X-Pad-{i}": "a" * 40 for i in range(200)}):
        req = sign(srv, "GET", f"/{BUCKET}/obj", extra)
        status, headers, body = send_signed(srv, req)
        assert status == 400, (status, body[:300])
        assert s3_error(status, headers, body) == (
            "RequestHeaderSectionTooLarge", "Your request header section exceeds the maximum allowed size.")
        assert ET.fromstring(body).findtext("MaxSizeAllowed") == "8192"
    # 150 header lines within 8 KiB are an ordinary request.
    req = sign(srv, "GET", f"/{BUCKET}/obj", {f"X-Small-{i}": "v" for i in range(150)})
    status, _, body = send_signed(srv, req)
    assert (status, body) == (200, OBJECT)


def test_query_protocol_is_not_held_to_s3_limits(srv):
    # IAM/STS requests with a 9 KB header and with 150 header lines are served.
    for extra in ({"X-Pad": "a" * 9000}, {f"X-Small-{i}": "v" for i in range(150)}):
        req = u.sign_request(srv.endpoint, "POST", u.form(Action="GetCallerIdentity", Version=u.STS_VERSION),
                             service="sts", headers=extra)
        r = u.send(req)
        assert r.status == 200, (r.status, r.body[:300])
        assert b"<Account>" + u.ACCOUNT_ID.encode() in r.body


def test_user_metadata_over_2_kib_is_metadata_too_large(srv):
    c = srv.client("s3")
    c.put_object(Bucket=BUCKET, Key="meta", Body=b"x", Metadata={"k": "v" * 2047})
    assert c.head_object(Bucket=BUCKET, Key="meta")["Metadata"] == {"k": "v" * 2047}
    for call in (lambda: c.put_object(Bucket=BUCKET, Key="meta2", Body=b"x", Metadata={"k": "v" * 2048}),
                 lambda: c.create_multipart_upload(Bucket=BUCKET, Key="meta2", Metadata={"ab": "v" * 1024,
                                                                                        "cd": "v" * 1024})):
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            call()
        e = ei.value.response
        assert (e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"]) == ("MetadataTooLarge", 400)
        assert e["Error"]["Message"] == "Your metadata headers exceed the maximum allowed metadata size"
    with pytest.raises(botocore.exceptions.ClientError):
        c.head_object(Bucket=BUCKET, Key="meta2")


# -- 4. a credential scope for another service ---------------------------------------

@pytest.mark.parametrize("service", ["iam", "sts"])
def test_header_signed_for_another_service_is_authorization_header_malformed(srv, service):
    req = sign(srv, "GET", f"/{BUCKET}/obj", service=service)
    status, headers, body = send_signed(srv, req)
    assert status == 400, (status, body[:300])
    assert s3_error(status, headers, body) == (
        "AuthorizationHeaderMalformed",
        f'The authorization header is malformed; incorrect service "{service}". This endpoint belongs to "s3".')


def test_presigned_for_another_service_is_authorization_query_parameters_error(srv):
    req = botocore.awsrequest.AWSRequest(method="GET", url=f"{srv.endpoint}/{BUCKET}/obj")
    botocore.auth.SigV4QueryAuth(botocore.credentials.Credentials(
        u.ROOT_ACCESS_KEY_ID, u.ROOT_SECRET_ACCESS_KEY), "iam", "us-east-1", expires=300).add_auth(req)
    parts = urllib.parse.urlsplit(req.url)
    status, headers, body = request(srv, "GET", parts.path + "?" + parts.query)
    assert status == 400, (status, body[:300])
    assert s3_error(status, headers, body) == (
        "AuthorizationQueryParametersError",
        'Error parsing the X-Amz-Credential parameter; incorrect service "iam". This endpoint belongs to "s3".')


# -- 3. the log ---------------------------------------------------------------------

def _refuse(srv, n):
    for i in range(n):
        status, headers, body = request(srv, "GET", f"/{BUCKET}/private-{i}")
        assert s3_error(status, headers, body)[0] == "AccessDenied"


def test_refused_requests_do_not_flood_the_log_but_server_errors_are_logged(srv):
    # Each request's line (if any) is written before its answer is sent.
    before = len(stderr_lines(srv))
    _refuse(srv, 50)
    new = stderr_lines(srv)[before:]
    assert new == [], f"{len(new)} log lines for 50 refused requests:\n" + "\n".join(new[:6])
    # A server error (here: the temp directory replaced by a file) is logged at ERROR.
    tmp = srv.data_dir / "s3" / "tmp"
    shutil.rmtree(tmp)
    tmp.write_bytes(b"")
    try:
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            srv.client("s3").put_object(Bucket=BUCKET, Key="five-hundred", Body=b"x")
        assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        rid = ei.value.response["ResponseMetadata"]["RequestId"]
        deadline = time.monotonic() + PATIENCE
        while not any("ERROR" in line and rid in line for line in stderr_lines(srv)):
            assert time.monotonic() < deadline, "\n".join(stderr_lines(srv)[-5:])
            time.sleep(0.05)
    finally:
        tmp.unlink()
        tmp.mkdir()


def test_debug_logs_one_line_per_refused_request(tmp_path):
    s = u.Server(data_dir=tmp_path / "data", log_dir=tmp_path / "logs",
                 extra_env={"IAMD_LOG": "info,iamd::s3=debug"}).start()
    try:
        s.client("s3").create_bucket(Bucket=BUCKET)
        before = len(stderr_lines(s))
        _refuse(s, 5)
        new = stderr_lines(s)[before:]
        assert len(new) == 5 and all("s3 request refused" in line and "DEBUG" in line for line in new), new
    finally:
        s.kill()
