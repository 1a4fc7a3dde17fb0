"""What a signature must cover (issue 9, items 1, 7, 8, 9): no unsigned x-amz-* header
rides along on a signed S3 or IAM request (header SigV4, presigned SigV4; SigV2 signs
them all by construction), one auth mechanism per request, S3 credentials scoped to
`s3`, and an unknown Query API version names no operation."""

import base64
import datetime as _dt
import email.utils
import hashlib
import hmac
import http.client
import urllib.parse
import xml.etree.ElementTree as ET

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.exceptions
import pytest

import e2e_util as u


@pytest.fixture(scope="module")
def s3(server):
    c = server.client("s3")
    c.create_bucket(Bucket="vault")
    c.put_object(Bucket="vault", Key="secret", Body=b"the secret")
    c.create_bucket(Bucket="drop")
    return c


@pytest.fixture(scope="module")
def s3v4(server, s3):
    """Presigns with SigV4 (boto3 presigns S3 with SigV2 unless told otherwise)."""
    return server.client("s3", signature_version="s3v4")


def raw(server, method, path, headers=None, body=b""):
    host, port = server.host_port
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def s3_error(body, request_id=True):
    root = ET.fromstring(body)
    assert root.tag == "Error", body
    if request_id:
        assert root.findtext("RequestId"), body
    return root


def path_of(url):
    s = urllib.parse.urlsplit(url)
    return s.path + ("?" + s.query if s.query else "")


def missing(s3, bucket, key):
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.head_object(Bucket=bucket, Key=key)
    return ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


# -- item 1: unsigned x-amz-* headers -------------------------------------------

@pytest.mark.parametrize("extra", [
    {"x-amz-copy-source": "vault/secret"},
    {"x-amz-tagging": "owner=mallory"},
    {"x-amz-meta-evil": "1"},
    {"x-amz-acl": "public-read"},
    {"x-amz-server-side-encryption": "AES256"},
])
def test_presigned_put_refuses_unsigned_amz_headers(server, s3, s3v4, extra):
    key = u.uniq("upload")
    url = s3v4.generate_presigned_url("put_object", Params={"Bucket": "drop", "Key": key}, ExpiresIn=300)
    status, _, body = raw(server, "PUT", path_of(url), headers=extra, body=b"")
    assert status == 403, body
    err = s3_error(body)
    assert err.findtext("Code") == "AccessDenied"
    assert err.findtext("Message") == "There were headers present in the request which were not signed"
    assert err.findtext("HeadersNotSigned") == next(iter(extra))
    assert missing(s3, "drop", key), "nothing may be stored"
    # The same URL without the extra header is a plain upload.
    status, _, body = raw(server, "PUT", path_of(url), body=b"mine")
    assert status == 200, body
    assert s3.get_object(Bucket="drop", Key=key)["Body"].read() == b"mine"


def test_presigned_copy_source_does_not_leak(server, s3, s3v4):
    """The probe's attack: an upload URL plus x-amz-copy-source copies a secret."""
    url = s3v4.generate_presigned_url("put_object", Params={"Bucket": "drop", "Key": "loot"}, ExpiresIn=300)
    assert "X-Amz-SignedHeaders=host" in url
    status, _, body = raw(server, "PUT", path_of(url),
                          headers={"x-amz-copy-source": "vault/secret", "X-Amz-Metadata-Directive": "COPY"})
    assert status == 403, body
    assert missing(s3, "drop", "loot")
    # A SigV2 presigned URL signs every x-amz-* header: the added one breaks the signature.
    url = s3.generate_presigned_url("put_object", Params={"Bucket": "drop", "Key": "loot2"}, ExpiresIn=300)
    assert "AWSAccessKeyId=" in url
    status, _, body = raw(server, "PUT", path_of(url), headers={"x-amz-copy-source": "vault/secret"})
    assert status == 403, body
    assert s3_error(body, request_id=False).findtext("Code") == "SignatureDoesNotMatch"
    assert missing(s3, "drop", "loot2")


def sign_s3(server, method, path, headers, body=b"", service="s3"):
    req = botocore.awsrequest.AWSRequest(method=method, url=server.endpoint + path, data=body,
                                         headers=dict(headers))
    req.headers["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(server.root_ak, server.root_sk),
                            service, u.REGION).add_auth(req)
    return dict(req.prepare().headers)


def test_header_signed_request_refuses_unsigned_amz_header(server, s3):
    signed = sign_s3(server, "PUT", "/drop/hdr", {}, b"x")
    tampered = dict(signed, **{"x-amz-copy-source": "vault/secret", "x-amz-tagging": "a=b"})
    status, _, body = raw(server, "PUT", "/drop/hdr", tampered, b"x")
    assert status == 403, body
    err = s3_error(body)
    assert err.findtext("Code") == "AccessDenied"
    assert set(err.findtext("HeadersNotSigned").split(", ")) == {"x-amz-copy-source", "x-amz-tagging"}
    assert missing(s3, "drop", "hdr")
    # Signed, the same header is fine.
    signed = sign_s3(server, "PUT", "/drop/hdr", {"x-amz-tagging": "a=b"}, b"x")
    status, _, body = raw(server, "PUT", "/drop/hdr", signed, b"x")
    assert status == 200, body
    assert s3.get_object_tagging(Bucket="drop", Key="hdr")["TagSet"] == [{"Key": "a", "Value": "b"}]


def sigv2_headers(server, method, path, amz):
    date = email.utils.formatdate(usegmt=True)
    canon = "".join(f"{k}:{v}\n" for k, v in sorted(amz.items()))
    sts = f"{method}\n\n\n{date}\n{canon}{path}"
    sig = base64.b64encode(hmac.new(server.root_sk.encode(), sts.encode(), hashlib.sha1).digest()).decode()
    return {"Date": date, "Authorization": f"AWS {server.root_ak}:{sig}", **amz}


def test_sigv2_signs_every_amz_header(server, s3):
    """SigV2's string to sign covers every x-amz-* header: an added one breaks it."""
    h = sigv2_headers(server, "PUT", "/drop/v2", {"x-amz-meta-a": "1"})
    status, _, body = raw(server, "PUT", "/drop/v2", h, b"v2")
    assert status == 200, body
    h = sigv2_headers(server, "PUT", "/drop/v2b", {})
    h["x-amz-copy-source"] = "vault/secret"
    status, _, body = raw(server, "PUT", "/drop/v2b", h, b"")
    assert status == 403, body
    assert s3_error(body, request_id=False).findtext("Code") == "SignatureDoesNotMatch"
    assert missing(s3, "drop", "v2b")


def test_query_api_refuses_unsigned_amz_headers(server, iam):
    name = u.uniq("unsigned")
    for extra in ({"X-Amz-Security-Token": "forged"}, {"X-Amz-Target": "x"}):
        req = u.sign_request(server.endpoint, "POST", u.form(Action="CreateUser", Version="2010-05-08", UserName=name))
        req.headers.update(extra)
        r = u.send(req)
        assert r.status == 403, r.body
        _, code, message = r.error()
        assert (code, message) == ("AccessDenied", "There were headers present in the request which were not signed")
    assert name not in u.list_all_user_names(iam)


# -- item 7: the Version parameter -------------------------------------------------

def test_unknown_version_names_no_operation(server, iam):
    name = u.uniq("version")
    r = u.raw_call(server.endpoint, u.form(Action="CreateUser", Version="garbage", UserName=name))
    assert r.status == 400, r.body
    assert r.error() == ("Sender", "InvalidAction", "Could not find operation CreateUser for version garbage")
    r = u.raw_call(server.endpoint, u.form(Action="CreateUser", UserName=name))
    assert r.status == 400, r.body
    assert r.error() == ("Sender", "MissingParameter", "The request must contain the parameter Version")
    # An STS operation under IAM's version, and the other way round.
    r = u.raw_call(server.endpoint, u.form(Action="GetCallerIdentity", Version="2010-05-08"))
    assert r.error()[1] == "InvalidAction"
    r = u.raw_call(server.endpoint, u.form(Action="CreateUser", Version="2011-06-15", UserName=name), service="sts")
    assert r.error()[1] == "InvalidAction"
    assert name not in u.list_all_user_names(iam)
    iam.create_user(UserName=name)  # the real thing still works


# -- item 8: one auth mechanism ----------------------------------------------------

def test_presigned_url_plus_authorization_header(server, s3, s3v4):
    url = s3v4.generate_presigned_url("get_object", Params={"Bucket": "vault", "Key": "secret"}, ExpiresIn=300)
    auth = sign_s3(server, "GET", "/vault/secret", {})
    status, _, body = raw(server, "GET", path_of(url), {"Authorization": auth["Authorization"]})
    assert status == 400, body
    err = s3_error(body)
    assert err.findtext("Code") == "InvalidArgument"
    assert err.findtext("Message") == (
        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
        "Signature query string parameter or the Authorization header should be specified")
    assert err.findtext("ArgumentName") == "Authorization"
    # Each alone works.
    assert raw(server, "GET", path_of(url))[0] == 200
    assert raw(server, "GET", "/vault/secret", auth)[0] == 200


# -- item 9: credential scope ------------------------------------------------------

def test_s3_request_scoped_to_another_service(server, s3):
    h = sign_s3(server, "GET", "/vault/secret", {}, service="iam")
    status, _, body = raw(server, "GET", "/vault/secret", h)
    assert status == 400, body
    err = s3_error(body)
    assert err.findtext("Code") == "AuthorizationHeaderMalformed"
    assert err.findtext("Message") == (
        'The authorization header is malformed; incorrect service "iam". This endpoint belongs to "s3".')
    # Presigned, the same in query form.
    req = botocore.awsrequest.AWSRequest(method="GET", url=server.endpoint + "/vault/secret")
    botocore.auth.SigV4QueryAuth(botocore.credentials.Credentials(server.root_ak, server.root_sk),
                                 "sts", u.REGION, expires=60).add_auth(req)
    status, _, body = raw(server, "GET", path_of(req.prepare().url))
    assert status == 400, body
    assert s3_error(body).findtext("Code") == "AuthorizationQueryParametersError"


# -- one authenticator ----------------------------------------------------------------

def test_session_tokens_refused_alike_on_every_protocol(server, s3):
    """No session token has been issued, so a signed one is refused by the same
    authenticator everywhere, each protocol with its own code."""
    import boto3
    from botocore.config import Config

    def client(service):
        return boto3.session.Session().client(
            service, endpoint_url=server.endpoint, region_name=u.REGION,
            aws_access_key_id=server.root_ak, aws_secret_access_key=server.root_sk,
            aws_session_token="FQoGZXIvYXdzEPT//////////wEaDM",
            config=Config(retries={"total_max_attempts": 1}))

    cases = [
        ("iam", lambda c: c.list_users(), ("InvalidClientTokenId", 403)),
        ("sts", lambda c: c.get_caller_identity(), ("InvalidClientTokenId", 403)),
        ("s3", lambda c: c.list_buckets(), ("InvalidToken", 400)),
        ("accessanalyzer", lambda c: c.validate_policy(policyDocument="{}", policyType="IDENTITY_POLICY"),
         ("UnrecognizedClientException", 403)),
    ]
    for service, call, expected in cases:
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            call(client(service))
        r = ei.value.response
        assert (r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]) == expected, (service, r)
