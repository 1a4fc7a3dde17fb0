#!/usr/bin/env python3
"""Generates botocore-signed requests for iamd-sigv4's tests.

Run: python3 generate_botocore.py > botocore.vectors   (botocore 1.43.11 was used)

Each record: the request exactly as botocore would put it on the wire (method, raw
path, raw query, headers, body hex), the secret, and `now` (the signing time). The
signatures come from botocore; nothing here shares code with iamd-sigv4.
"""
from urllib.parse import urlsplit

import botocore
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AKID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def emit(name, req, secret, expect="ok"):
    prepared = req.prepare()
    parts = urlsplit(prepared.url)
    print(f"name: {name}")
    print(f"method: {prepared.method}")
    print(f"path: {parts.path or '/'}")
    print(f"query: {parts.query}")
    host = parts.netloc
    if "host" not in {k.lower() for k in prepared.headers}:
        print(f"header: host: {host}")
    for k, v in prepared.headers.items():
        if isinstance(v, bytes):
            v = v.decode()
        print(f"header: {k}: {v}")
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    print(f"body_hex: {body.hex()}")
    print(f"secret: {secret}")
    print(f"now: {req.context['timestamp']}")
    print(f"expect: {expect}")
    print("---")


def form(url, params):
    return AWSRequest(method="POST", url=url, data=params,
                      headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})


creds = Credentials(AKID, SECRET)
session_creds = Credentials("ASIAIOSFODNN7EXAMPLE", SECRET, token="FwoGZXIvYXdzEXAMPLE//token+with/slashes=")

# IAM form POST (what boto3 iam.list_users() sends).
r = form("http://127.0.0.1:8080/", {"Action": "ListUsers", "Version": "2010-05-08"})
SigV4Auth(creds, "iam", "us-east-1").add_auth(r)
emit("botocore-iam-listusers", r, SECRET)

# IAM CreateUser with characters that need encoding in the body.
r = form("http://localhost:8080/", {"Action": "CreateUser", "Version": "2010-05-08",
                                    "UserName": "melvins", "Path": "/division abc/sub+x/"})
SigV4Auth(creds, "iam", "us-east-1").add_auth(r)
emit("botocore-iam-createuser", r, SECRET)

# STS with a session token (token is a signed header).
r = form("http://127.0.0.1:8080/", {"Action": "GetCallerIdentity", "Version": "2011-06-15"})
SigV4Auth(session_creds, "sts", "us-east-1").add_auth(r)
emit("botocore-sts-session-token", r, SECRET)

# Wrong secret must fail.
r = form("http://127.0.0.1:8080/", {"Action": "ListUsers", "Version": "2010-05-08"})
SigV4Auth(Credentials(AKID, SECRET + "x"), "iam", "us-east-1").add_auth(r)
emit("botocore-iam-wrong-secret", r, SECRET, expect="SignatureDoesNotMatch")

# Presigned sts:GetCallerIdentity GET (aws-iam-authenticator style).
r = AWSRequest(method="GET", url="http://127.0.0.1:8080/?Action=GetCallerIdentity&Version=2011-06-15",
               headers={"x-k8s-aws-id": "my-cluster"})
SigV4QueryAuth(creds, "sts", "us-east-1", expires=60).add_auth(r)
emit("botocore-sts-presigned-getcalleridentity", r, SECRET)

# S3 PUT with a payload hash header and an awkward key.
body = b"hello, object"
r = AWSRequest(method="PUT", url="http://127.0.0.1:8080/houdini/dir/a%20b~c%2Bd%21.txt",
               data=body, headers={"x-amz-meta-owner": "  melvins   the  band ",
                                   "Content-Type": "image/png"})
S3SigV4Auth(creds, "s3", "us-east-1").add_auth(r)
emit("botocore-s3-put-object", r, SECRET)

# S3 GET with a query string (list objects v2 with prefix containing a space).
r = AWSRequest(method="GET", url="http://localhost:8080/houdini?list-type=2&prefix=a%20b%2F&delimiter=%2F")
S3SigV4Auth(creds, "s3", "us-east-1").add_auth(r)
emit("botocore-s3-list-objects", r, SECRET)

# S3 presigned GET (generate_presigned_url), with a session token.
r = AWSRequest(method="GET", url="http://127.0.0.1:8080/houdini/photos/cat%20%281%29.jpg?versionId=abc")
S3SigV4QueryAuth(session_creds, "s3", "eu-west-1", expires=3600).add_auth(r)
emit("botocore-s3-presigned-get-token", r, SECRET)

# A streaming-signature PUT header (the body itself is checked by the chunk tests).
r = AWSRequest(method="PUT", url="http://127.0.0.1:8080/houdini/big.bin", data=b"",
               headers={"x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                        "Content-Encoding": "aws-chunked",
                        "x-amz-decoded-content-length": "66560"})
S3SigV4Auth(creds, "s3", "us-east-1").add_auth(r)
emit("botocore-s3-streaming-put-header", r, SECRET)

# boto2-style scope through botocore: region '0', service '127'.
r = form("http://127.0.0.1:8080/", {"Action": "ListUsers", "Version": "2010-05-08"})
SigV4Auth(creds, "127", "0").add_auth(r)
emit("botocore-scope-0-127", r, SECRET)
