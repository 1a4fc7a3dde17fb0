#!/usr/bin/env python3
"""Generates boto 2.49.0-signed requests for iamd-sigv4's tests.

Run (boto 2 needs its own virtualenv): python3 -m venv /tmp/b2 &&
/tmp/b2/bin/pip install boto==2.49.0 && /tmp/b2/bin/python generate_boto2.py > boto2.vectors

boto 2 derives the scope from the endpoint host: 127.0.0.1 gives region '0' and
service '127', localhost gives 'localhost'/'localhost'. The requests are built and
signed by boto 2 itself (no network); the Host header is what httplib would send.
"""
import os

os.environ["S3_USE_SIGV4"] = "True"

import boto  # noqa: E402
import boto.iam  # noqa: E402
import boto.s3.connection  # noqa: E402
import boto.sts  # noqa: E402

AKID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def emit(name, conn, req, expect="ok"):
    path, _, query = req.path.partition("?")
    print(f"name: {name}")
    print(f"method: {req.method}")
    print(f"path: {path}")
    print(f"query: {query}")
    if "Host" not in req.headers:
        host = conn.host if conn.port in (80, 443) else f"{conn.host}:{conn.port}"
        print(f"header: Host: {host}")
    for k, v in req.headers.items():
        print(f"header: {k}: {v}")
    body = req.body or b""
    if isinstance(body, str):
        body = body.encode()
    print(f"body_hex: {body.hex()}")
    print(f"secret: {SECRET}")
    print(f"now: {req.headers['X-Amz-Date']}")
    print(f"expect: {expect}")
    print("---")


def query_request(conn, params):
    req = conn.build_base_http_request("POST", "/", None, params, {}, "", conn.host)
    req.authorize(connection=conn)
    return req


for host, label in (("127.0.0.1", "127-0-0-1"), ("localhost", "localhost")):
    iam = boto.iam.IAMConnection(AKID, SECRET, host=host, port=8080, is_secure=False)
    req = query_request(iam, {"Action": "ListUsers", "Version": "2010-05-08"})
    emit(f"boto2-iam-listusers-{label}", iam, req)
    req = query_request(iam, {"Action": "CreateUser", "Version": "2010-05-08",
                              "UserName": "lorax", "Path": "/staff/"})
    emit(f"boto2-iam-createuser-{label}", iam, req)

from boto.regioninfo import RegionInfo  # noqa: E402
sts = boto.sts.STSConnection(AKID, SECRET, port=8080, is_secure=False,
                             region=RegionInfo(name="us-east-1", endpoint="127.0.0.1"))
req = query_request(sts, {"Action": "GetSessionToken", "Version": "2011-06-15"})
emit("boto2-sts-getsessiontoken-127-0-0-1", sts, req)

s3 = boto.s3.connection.S3Connection(AKID, SECRET, host="127.0.0.1", port=8080, is_secure=False,
                                     calling_format=boto.s3.connection.OrdinaryCallingFormat())
# boto 2 cannot derive an S3 region from an IP host (UnboundLocalError): users set it.
s3._auth_handler.region_name = "us-east-1"
req = s3.build_base_http_request("PUT", "/houdini/a%20b~c.png", None, {}, {"Content-Length": "5"},
                                 b"hello", "127.0.0.1")
req.authorize(connection=s3)
emit("boto2-s3-put-127-0-0-1", s3, req)
