"""Signature V4 over the wire: header and presigned-query auth, and AWS's auth errors."""

import datetime as dt
import re
import urllib.parse

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest

import e2e_util as u
from e2e_util import aws_error

MISMATCH = ("The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
INVALID_TOKEN = "The security token included in the request is invalid."
TS = r"(\d{8}T\d{6}Z)"

IAM_LIST = u.form(Action="ListUsers", Version=u.IAM_VERSION)
STS_WHO = u.form(Action="GetCallerIdentity", Version=u.STS_VERSION)


@pytest.mark.parametrize("service", ["iam", "sts"])
def test_wrong_secret(server, service):
    c = server.client(service, u.ROOT_ACCESS_KEY_ID, "x" * 40)
    with aws_error("SignatureDoesNotMatch", 403, MISMATCH):
        c.get_caller_identity() if service == "sts" else c.list_users()


@pytest.mark.parametrize("service", ["iam", "sts"])
def test_unknown_access_key(server, service):
    c = server.client(service, "AKIAZZZZZZZZZZZZZZZZ", "y" * 40)
    with aws_error("InvalidClientTokenId", 403, INVALID_TOKEN):
        c.get_caller_identity() if service == "sts" else c.list_users()


@pytest.mark.parametrize("service,body", [("iam", IAM_LIST), ("sts", STS_WHO)])
def test_missing_authentication(server, service, body):
    r = u.send(botocore.awsrequest.AWSRequest(
        method="POST", url=server.endpoint + "/", data=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}).prepare())
    assert r.status == 403, r.body
    assert r.error() == ("Sender", "MissingAuthenticationToken", "Request is missing Authentication Token")


def test_tampered_body(server):
    req = u.sign_request(server.endpoint, "POST", u.form(Action="CreateUser", Version=u.IAM_VERSION, UserName="honest"))
    req.body = u.form(Action="CreateUser", Version=u.IAM_VERSION, UserName="evilxx").encode()
    r = u.send(req)
    assert r.status == 403, r.body
    assert r.error() == ("Sender", "SignatureDoesNotMatch", MISMATCH)
    assert "evilxx" not in u.list_all_user_names(server.client("iam"))


def test_garbled_authorization_header(server):
    r = u.send(botocore.awsrequest.AWSRequest(
        method="POST", url=server.endpoint + "/", data=IAM_LIST.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                 "Authorization": "AWS4-HMAC-SHA256 garbage",
                 "X-Amz-Date": dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")}).prepare())
    assert r.status == 400, r.body
    assert r.error()[1] == "IncompleteSignature"


@pytest.mark.parametrize("service,body", [("iam", IAM_LIST), ("sts", STS_WHO)])
def test_request_signed_20_minutes_ago(server, service, body):
    when = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(minutes=20)
    r = u.raw_call(server.endpoint, body, service=service, when=when)
    assert r.status == 403, r.body
    typ, code, msg = r.error()
    assert (typ, code) == ("Sender", "SignatureDoesNotMatch")
    m = re.fullmatch(rf"Signature expired: {TS} is now earlier than {TS} \({TS} - 15 min\.\)", msg)
    assert m, msg
    assert m.group(1) == when.strftime("%Y%m%dT%H%M%SZ")
    limit, now = (dt.datetime.strptime(g, "%Y%m%dT%H%M%SZ") for g in m.group(2, 3))
    assert now - limit == dt.timedelta(minutes=15)


def test_request_signed_20_minutes_ahead(server):
    when = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(minutes=20)
    r = u.raw_call(server.endpoint, STS_WHO, service="sts", when=when)
    assert r.status == 403, r.body
    typ, code, msg = r.error()
    assert (typ, code) == ("Sender", "SignatureDoesNotMatch")
    assert re.fullmatch(rf"Signature not yet current: {TS} is still later than {TS} \({TS} \+ 15 min\.\)", msg), msg


def test_small_clock_skew_is_fine(server):
    when = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(minutes=3)
    r = u.raw_call(server.endpoint, STS_WHO, service="sts", when=when)
    assert r.status == 200, r.body


def test_get_with_query_string_iam(server):
    r = u.send(u.sign_request(server.endpoint, "GET", None, query=IAM_LIST))
    assert r.status == 200, r.body
    assert r.xml().tag == "{" + u.IAM_NS + "}ListUsersResponse"


def test_get_with_query_string_sts(server):
    r = u.send(u.sign_request(server.endpoint, "GET", None, query=STS_WHO, service="sts"))
    assert r.status == 200, r.body
    ns = "{" + u.STS_NS + "}"
    assert r.xml().findtext(f"{ns}GetCallerIdentityResult/{ns}Arn") == u.ROOT_ARN


def presign(endpoint, ak, sk, expires=60, headers=None, when=None):
    """A presigned GetCallerIdentity URL, built the way aws-iam-authenticator builds it."""
    req = botocore.awsrequest.AWSRequest(
        method="GET", url=f"{endpoint}/?Action=GetCallerIdentity&Version=2011-06-15", headers=headers or {})
    signer = botocore.auth.SigV4QueryAuth(botocore.credentials.Credentials(ak, sk), "sts", "us-east-1", expires=expires)
    if when is None:
        signer.add_auth(req)
    else:
        from unittest import mock
        with mock.patch.object(botocore.auth, "get_current_datetime", lambda *a, **k: when):
            signer.add_auth(req)
    return req.prepare()


def test_presigned_get_caller_identity(server, user_with_key, iam):
    name, ak, sk = user_with_key("k8s")
    prepared = presign(server.endpoint, ak, sk, headers={"x-k8s-aws-id": "my-cluster"})
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(prepared.url).query)
    assert q["X-Amz-SignedHeaders"] == ["host;x-k8s-aws-id"]
    assert "Authorization" not in prepared.headers
    r = u.send(prepared)
    assert r.status == 200, r.body
    ns = "{" + u.STS_NS + "}"
    res = r.xml().find(ns + "GetCallerIdentityResult")
    assert res.findtext(ns + "Arn") == u.user_arn(name)
    assert res.findtext(ns + "UserId") == iam.get_user(UserName=name)["User"]["UserId"]
    assert res.findtext(ns + "Account") == u.ACCOUNT_ID


def test_presigned_url_errors(server, user_with_key):
    name, ak, sk = user_with_key("k8sbad")
    # Signed header missing from the actual request.
    prepared = presign(server.endpoint, ak, sk, headers={"x-k8s-aws-id": "my-cluster"})
    del prepared.headers["x-k8s-aws-id"]
    r = u.send(prepared)
    assert r.status == 403 and r.error()[1] == "SignatureDoesNotMatch", r.body
    # Wrong secret.
    r = u.send(presign(server.endpoint, ak, "z" * 40))
    assert r.status == 403 and r.error() == ("Sender", "SignatureDoesNotMatch", MISMATCH), r.body
    # Expired: X-Amz-Expires=60 but signed two minutes ago.
    old = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(minutes=2)
    r = u.send(presign(server.endpoint, ak, sk, expires=60, when=old))
    assert r.status == 403, r.body
    r.error()


def test_boto2_style_scope_is_accepted(server):
    # iamd design decision (DESIGN.md): accept the signing scope as the client sent it.
    # boto 2 signs requests to 127.0.0.1 with region "0" and service "127".
    r = u.raw_call(server.endpoint, IAM_LIST, service="127", region="0")
    assert r.status == 200, r.body
    assert r.xml().tag == "{" + u.IAM_NS + "}ListUsersResponse"
