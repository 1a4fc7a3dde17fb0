"""Bad input, hostile clients and races: the server answers with AWS-style XML
errors (never a 5xx, never a dropped connection), keeps state unchanged and keeps
serving everybody else."""

import concurrent.futures as cf
import http.client
import os
import socket
import threading
import time

import pytest
from botocore.exceptions import ClientError

import e2e_util as u

# How long the server may take to drop a client that stalls mid-request.
STALL_TIMEOUT = float(os.environ.get("IAMD_E2E_STALL_TIMEOUT", "40"))


def assert_xml_error(r, status=400, code=None):
    assert r.status == status, (r.status, r.body[:500])
    typ, got_code, msg = r.error()
    assert typ == "Sender"
    assert got_code and msg, r.body
    if code is not None:
        assert got_code == code, (got_code, msg)
    return got_code, msg


def test_unknown_action(server):
    r = u.raw_call(server.endpoint, u.form(Action="FooBar", Version=u.IAM_VERSION))
    code, msg = assert_xml_error(r, 400, "InvalidAction")
    assert msg == "Could not find operation FooBar for version 2010-05-08"


def test_unknown_sts_action(server):
    r = u.raw_call(server.endpoint, u.form(Action="FooBar", Version=u.STS_VERSION), service="sts")
    code, msg = assert_xml_error(r, 400, "InvalidAction")
    assert msg == "Could not find operation FooBar for version 2011-06-15"


def test_missing_required_parameter(server):
    r = u.raw_call(server.endpoint, u.form(Action="PutUserPolicy", Version=u.IAM_VERSION, UserName="x", PolicyName="p"))
    assert_xml_error(r, 400, "ValidationError")
    assert r.error()[2] == ("1 validation error detected: Value null at 'policyDocument' failed to satisfy "
                            "constraint: Member must not be null")


def test_truncated_form_body(server, iam):
    r = u.raw_call(server.endpoint, "Action=CreateUser&Version=2010-05-08&UserNa")
    assert_xml_error(r, 400, "ValidationError")
    assert r.error()[2] == ("1 validation error detected: Value null at 'userName' failed to satisfy "
                            "constraint: Member must not be null")


@pytest.mark.parametrize("body", [
    b"Action=CreateUser&Version=2010-05-08&UserName=%zzbad",
    b"Action=CreateUser&Version=2010-05-08&UserName=%ffbad",      # invalid UTF-8 once decoded
    b"Action=CreateUser&Version=2010-05-08&UserName=a&UserName=b",  # repeated parameter
    b"Action=CreateUser&Version=2010-05-08&UserName=\xff\xfebad",   # raw non-UTF-8 bytes
    b"&&&===&&",
    b"",
], ids=["bad-percent", "pct-ff", "repeated", "raw-bytes", "garbage", "empty"])
def test_malformed_bodies(server, iam, body):
    before = u.list_all_user_names(iam)
    r = u.raw_call(server.endpoint, body)
    assert 400 <= r.status < 500, (r.status, r.body[:300])
    assert u.is_xml_error(r), r.body[:300]
    assert u.list_all_user_names(iam) == before


def test_body_over_one_mebibyte(server, iam):
    name = u.uniq("huge")
    body = u.form(Action="CreateUser", Version=u.IAM_VERSION, UserName=name, Padding="a" * (1536 * 1024)).encode()
    req = u.sign_request(server.endpoint, "POST", body)
    host, port = server.host_port
    sock = socket.create_connection((host, port), timeout=20)
    head = f"POST / HTTP/1.1\r\nHost: {host}:{port}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in req.headers.items()) + "\r\n"

    def pump():
        try:
            sock.sendall(head.encode() + body)
        except OSError:
            pass  # the server may answer and stop reading early; the answer is what counts

    t = threading.Thread(target=pump, daemon=True)
    t.start()
    resp = http.client.HTTPResponse(sock)
    resp.begin()
    data = resp.read()
    sock.close()
    r = u.RawResponse(resp.status, dict(resp.getheaders()), data)
    assert r.status in (400, 413), (r.status, data[:300])
    r.error()
    assert name not in u.list_all_user_names(iam)


def _drained_or_answered(sock: socket.socket, deadline: float) -> tuple[bool, bytes]:
    """Wait until the server closes the connection; returns (closed, bytes received)."""
    got = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            return True, got
        if not chunk:
            return True, got
        got += chunk
    return False, got


def test_stalled_clients_time_out_and_others_are_served(server, sts):
    host, port = server.host_port
    # A: complete headers, body promised but never finished.
    req = u.sign_request(server.endpoint, "POST", u.form(Action="GetCallerIdentity", Version=u.STS_VERSION), service="sts")
    a = socket.create_connection((host, port))
    head = f"POST / HTTP/1.1\r\nHost: {host}:{port}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in req.headers.items() if k.lower() != "content-length")
    a.sendall((head + "Content-Length: 1000\r\n\r\nAction=Get").encode())
    # B: headers never finished (slowloris).
    b = socket.create_connection((host, port))
    b.sendall(f"POST / HTTP/1.1\r\nHost: {host}:{port}\r\nX-Slow: ".encode())
    started = time.monotonic()

    # Everyone else is served meanwhile.
    for _ in range(3):
        assert sts.get_caller_identity()["Account"] == u.ACCOUNT_ID
    assert time.monotonic() - started < 5

    deadline = started + STALL_TIMEOUT
    with cf.ThreadPoolExecutor(2) as ex:
        fa, fb = ex.submit(_drained_or_answered, a, deadline), ex.submit(_drained_or_answered, b, deadline)
        (closed_a, got_a), (closed_b, got_b) = fa.result(), fb.result()
    a.close()
    b.close()
    assert closed_a, f"server kept a stalled body open for {STALL_TIMEOUT}s"
    assert closed_b, f"server kept stalled headers open for {STALL_TIMEOUT}s"
    for got in (got_a, got_b):
        # Either a plain close or an HTTP error answer (e.g. 408/400) — never a success.
        assert got == b"" or got.startswith(b"HTTP/1.1 4"), got[:200]
    assert sts.get_caller_identity()["Account"] == u.ACCOUNT_ID


def test_many_idle_connections_do_not_starve_others(server, sts):
    host, port = server.host_port
    idle = [socket.create_connection((host, port)) for _ in range(200)]
    try:
        t0 = time.monotonic()
        for _ in range(3):
            assert sts.get_caller_identity()["Account"] == u.ACCOUNT_ID
        assert time.monotonic() - t0 < 5
    finally:
        for s in idle:
            s.close()


def _pooled(server):
    # botocore clients are thread-safe; one client with a connection per thread.
    return server.client("iam", max_pool_connections=32)


def _parallel(n, fn):
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait()
        try:
            fn(i)
            return "ok"
        except ClientError as e:
            return e.response["Error"]["Code"]

    with cf.ThreadPoolExecutor(n) as ex:
        return list(ex.map(run, range(n)))


def test_concurrent_create_same_user(server, iam):
    name = u.uniq("race")
    c = _pooled(server)
    results = _parallel(20, lambda i: c.create_user(UserName=name))
    assert sorted(results) == ["EntityAlreadyExists"] * 19 + ["ok"], results
    assert sum(1 for n in u.list_all_user_names(iam) if n.lower() == name.lower()) == 1


def test_concurrent_create_same_user_different_case(server, iam):
    base = u.uniq("casefold")
    variants = [base.lower(), base.upper(), base.capitalize(), base.swapcase()] * 2
    c = _pooled(server)
    results = _parallel(len(variants), lambda i: c.create_user(UserName=variants[i]))
    assert sorted(results) == ["EntityAlreadyExists"] * (len(variants) - 1) + ["ok"], results


def test_concurrent_access_keys_respect_quota(server, iam, new_user):
    user = new_user("keyrace")
    c = _pooled(server)
    results = _parallel(6, lambda i: c.create_access_key(UserName=user))
    assert sorted(results) == ["LimitExceeded"] * 4 + ["ok"] * 2, results
    assert len(iam.list_access_keys(UserName=user)["AccessKeyMetadata"]) == 2


def test_concurrent_group_joins_respect_quota(server, iam, new_user):
    user = new_user("joinrace")
    groups = [u.uniq("jg") for _ in range(13)]
    for g in groups:
        iam.create_group(GroupName=g)
    c = _pooled(server)
    results = _parallel(len(groups), lambda i: c.add_user_to_group(GroupName=groups[i], UserName=user))
    assert sorted(results) == ["LimitExceeded"] * 3 + ["ok"] * 10, results
    assert len(iam.list_groups_for_user(UserName=user)["Groups"]) == 10


def test_still_healthy(server, sts, iam):
    assert sts.get_caller_identity()["Account"] == u.ACCOUNT_ID
    iam.create_user(UserName=u.uniq("after"))
