#!/usr/bin/env python3
"""Sign one AWS request with botocore's SigV4 signer and write it out for replay.

A SigV4 signature stays valid for about 15 minutes (X-Amz-Date), so one signed
request, replayed verbatim by wrk, stands in for a client that signs every call.
Sign right before the runs.

usage: sign.py --endpoint URL --access-key AK --secret-key SK [--session-token T]
               --op OP [--user-name N] [--role-arn ARN] [--bucket B --key K] --out PREFIX

Writes PREFIX.lua (a wrk script that sends the request) and PREFIX.json (method,
path, headers and body, which wrk_runs.py sends once to check the status first, and
this command's arguments, with which wrk_runs.py signs it again before each repetition).
With --session-token the request carries and signs X-Amz-Security-Token. Operations
that differ only by their caller (the -session, -attached and -inline ones) send the
same request as the operation they extend; the caller is the key given.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.parse

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

FORM = "application/x-www-form-urlencoded; charset=utf-8"


def operation(op: str, a: argparse.Namespace) -> tuple[str, str, str, dict | None]:
    """(service, method, path, form fields or None) of a named operation."""
    key = urllib.parse.quote(a.key, safe="/~")
    table = {
        "sts-get-caller-identity":
            ("sts", "POST", "/", {"Action": "GetCallerIdentity", "Version": "2011-06-15"}),
        "sts-assume-role":
            ("sts", "POST", "/", {"Action": "AssumeRole", "RoleArn": a.role_arn,
                                  "RoleSessionName": a.session_name, "Version": "2011-06-15"}),
        "iam-get-user":
            ("iam", "POST", "/", {"Action": "GetUser", "UserName": a.user_name, "Version": "2010-05-08"}),
        "iam-list-users":
            ("iam", "POST", "/", {"Action": "ListUsers", "Version": "2010-05-08"}),
        "iam-list-policies-aws":
            ("iam", "POST", "/", {"Action": "ListPolicies", "Scope": "AWS", "Version": "2010-05-08"}),
        "s3-get-object": ("s3", "GET", f"/{a.bucket}/{key}", None),
    }
    table["sts-get-caller-identity-session"] = table["sts-get-caller-identity"]
    table["iam-get-user-attached"] = table["iam-get-user-inline"] = table["iam-get-user"]
    if op == "sts-assume-role" and not a.role_arn:
        raise SystemExit("sts-assume-role needs --role-arn")
    if op not in table:
        raise SystemExit(f"unknown operation {op}; known: {', '.join(sorted(table))}")
    return table[op]


def lua_string(data: bytes) -> str:
    """A Lua string literal of `data`, byte for byte."""
    out = []
    for b in data:
        if b in (0x22, 0x5C):  # " and \
            out.append("\\" + chr(b))
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append(f"\\{b:03d}")
    return '"' + "".join(out) + '"'


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoint", required=True)
    p.add_argument("--access-key", required=True)
    p.add_argument("--secret-key", required=True)
    p.add_argument("--op", required=True)
    p.add_argument("--session-token")
    p.add_argument("--user-name", default="melvins")
    p.add_argument("--role-arn")
    p.add_argument("--session-name", default="bench")
    p.add_argument("--bucket", default="houdini")
    p.add_argument("--key", default="obj-1k.bin")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--out", required=True, help="output prefix")
    a = p.parse_args(argv)

    service, method, path, form = operation(a.op, a)
    endpoint = a.endpoint.rstrip("/")
    # Host is signed as given, so the replay must send exactly this value.
    headers = {"Host": urllib.parse.urlsplit(endpoint).netloc}
    body = b""
    if form is not None:
        body = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = FORM
    req = AWSRequest(method=method, url=endpoint + path, data=body, headers=headers)
    signer = S3SigV4Auth if service == "s3" else SigV4Auth
    signer(Credentials(a.access_key, a.secret_key, a.session_token), service, a.region).add_auth(req)
    prepared = req.prepare()
    sent = {k: v for k, v in prepared.headers.items() if k.lower() != "content-length"}
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()

    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    lines = [f"-- {a.op}, signed {sent.get('X-Amz-Date')} by bench/tools/sign.py",
             f"wrk.method = {lua_string(method.encode())}",
             f"wrk.path = {lua_string(path.encode())}",
             "wrk.headers = {}"]
    lines += [f"wrk.headers[{lua_string(k.encode())}] = {lua_string(v.encode())}" for k, v in sent.items()]
    if body:
        lines.append(f"wrk.body = {lua_string(body)}")
    with open(a.out + ".lua", "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(a.out + ".json", "w") as f:
        json.dump({"op": a.op, "method": method, "path": path, "headers": sent,
                   "body": body.decode("latin-1"),
                   "sign_argv": sys.argv[1:] if argv is None else argv}, f, indent=1)


if __name__ == "__main__":
    main()
