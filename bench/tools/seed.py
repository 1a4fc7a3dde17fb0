#!/usr/bin/env python3
"""Seed an endpoint for the replay benchmarks (idempotent): exactly 100 IAM users
(melvins, then bench-user-NNN); with --s3 also bucket houdini holding the 1 KiB
object obj-1k.bin.

With --callers FILE, also the callers of issues 11 and 12 (among the 100 users), and
FILE, a shell fragment setting their keys (new keys on every run; FILE is mode 0600):
  ASSUMER_AK/SK    user bench-assumer, trusted by role bench-role
  SESSION_AK/SK/TOKEN  bench-assumer's session of bench-role (AssumeRole, 1 hour)
  ROLE_ARN         bench-role's ARN
  ATTACHED_AK/SK   melvins, with 10 managed policies attached: the AWS-managed
                   AWS_MANAGED and the customer-managed bench-cm-* (CUSTOMER_MANAGED)
  INLINE_AK/SK     user bench-inline, with the same statements in one inline policy
                   (read back from the endpoint, so both servers hold the same ones)

usage: seed.py ENDPOINT AK SK [--s3] [--callers FILE]"""
import argparse
import json
import os
import shlex

import boto3
from botocore.config import Config

# Small AWS-managed policies: the inline copy of all ten must fit a user's 2,048
# characters of inline policy (whitespace not counted; ReadOnlyAccess alone has ≈86,000).
AWS_MANAGED = ["IAMReadOnlyAccess", "AmazonS3ReadOnlyAccess", "AmazonSQSReadOnlyAccess",
               "IAMUserChangePassword"]
# One statement each: Allows and Denies, wildcards, a policy variable, conditions.
CUSTOMER_MANAGED = {
    "bench-cm-deny-admins": {"Effect": "Deny", "Action": ["iam:Delete*", "iam:Put*"],
                             "Resource": "arn:aws:iam::*:user/admin-*"},
    "bench-cm-houdini-home": {"Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"],
                              "Resource": "arn:aws:s3:::houdini/home/${aws:username}/*"},
    "bench-cm-logs-vpn": {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::logs/*",
                          "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
    "bench-cm-ec2-region": {"Effect": "Allow", "Action": ["ec2:Describe*", "ec2:StartInstances"],
                            "Resource": "*",
                            "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}},
    "bench-cm-tagged-roles": {"Effect": "Deny", "Action": "iam:CreateRole", "Resource": "*",
                              "Condition": {"Null": {"aws:RequestTag/team": "true"}}},
    "bench-cm-ci-roles": {"Effect": "Allow", "Action": "sts:AssumeRole",
                          "Resource": "arn:aws:iam::*:role/ci-*"},
}
USER_INLINE_QUOTA = 2048


def doc(statements: list) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def fresh_key(iam, user: str) -> tuple[str, str]:
    """A new access key of `user`, its older ones deleted (2 per user at most)."""
    for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=user, AccessKeyId=k["AccessKeyId"])
    k = iam.create_access_key(UserName=user)["AccessKey"]
    return k["AccessKeyId"], k["SecretAccessKey"]


def seed_callers(iam, sts_for, have: set, path: str) -> None:
    for name in ("melvins", "bench-assumer", "bench-inline"):
        if name not in have:
            iam.create_user(UserName=name)
            have.add(name)
    out = {}

    # Issue 11: a role trusting bench-assumer, and one session of it.
    assumer = iam.get_user(UserName="bench-assumer")["User"]["Arn"]
    try:
        role_arn = iam.get_role(RoleName="bench-role")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role_arn = iam.create_role(RoleName="bench-role", AssumeRolePolicyDocument=doc(
            [{"Effect": "Allow", "Principal": {"AWS": assumer}, "Action": "sts:AssumeRole"}]
        ))["Role"]["Arn"]
    out["ASSUMER_AK"], out["ASSUMER_SK"] = fresh_key(iam, "bench-assumer")
    c = sts_for(out["ASSUMER_AK"], out["ASSUMER_SK"]).assume_role(
        RoleArn=role_arn, RoleSessionName="bench")["Credentials"]
    out.update(ROLE_ARN=role_arn, SESSION_AK=c["AccessKeyId"], SESSION_SK=c["SecretAccessKey"],
               SESSION_TOKEN=c["SessionToken"])

    # Issue 12: ten managed policies on melvins, the same statements inline on bench-inline.
    account = assumer.split(":")[4]
    arns = [f"arn:aws:iam::aws:policy/{n}" for n in AWS_MANAGED]
    local = {p["PolicyName"]: p["Arn"] for page in iam.get_paginator("list_policies").paginate(Scope="Local")
             for p in page["Policies"]}
    for name, statement in CUSTOMER_MANAGED.items():
        arn = local.get(name) or iam.create_policy(PolicyName=name, PolicyDocument=doc([statement]))["Policy"]["Arn"]
        arns.append(arn)
    attached = {p["PolicyArn"] for p in iam.list_attached_user_policies(UserName="melvins")["AttachedPolicies"]}
    statements = []
    for arn in arns:
        if arn not in attached:
            iam.attach_user_policy(UserName="melvins", PolicyArn=arn)
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        d = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
        if isinstance(d, str):  # boto3 decodes it to a dict; a server may send it unencoded
            d = json.loads(d)
        s = d["Statement"]
        statements += s if isinstance(s, list) else [s]
    n = len(iam.list_attached_user_policies(UserName="melvins")["AttachedPolicies"])
    if n != 10:
        raise SystemExit(f"melvins has {n} attached policies, expected 10")
    inline = doc(statements)
    size = len("".join(inline.split()))
    if size > USER_INLINE_QUOTA:
        raise SystemExit(f"the inline copy has {size} characters, more than a user may hold")
    iam.put_user_policy(UserName="bench-inline", PolicyName="same-statements", PolicyDocument=inline)
    out["ATTACHED_AK"], out["ATTACHED_SK"] = fresh_key(iam, "melvins")
    out["INLINE_AK"], out["INLINE_SK"] = fresh_key(iam, "bench-inline")
    out["ACCOUNT"] = account

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.writelines(f"{k}={shlex.quote(v)}\n" for k, v in out.items())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("endpoint")
    ap.add_argument("access_key")
    ap.add_argument("secret_key")
    ap.add_argument("--s3", action="store_true")
    ap.add_argument("--callers", metavar="FILE")
    a = ap.parse_args()

    def client(service: str, ak: str, sk: str, **extra):
        return boto3.client(service, endpoint_url=a.endpoint, region_name="us-east-1",
                            aws_access_key_id=ak, aws_secret_access_key=sk, **extra)

    iam = client("iam", a.access_key, a.secret_key)
    have = {u["UserName"] for p in iam.get_paginator("list_users").paginate() for u in p["Users"]}
    note = ""
    if a.callers:
        seed_callers(iam, lambda ak, sk: client("sts", ak, sk), have, a.callers)
        note = ", callers of issues 11/12"
    want = ["melvins"] + [f"bench-user-{i:03d}" for i in range(1, 100)]
    for name in want:
        if len(have) >= 100:
            break
        if name not in have:
            iam.create_user(UserName=name)
            have.add(name)
    note = f"{len(iam.list_users(MaxItems=1000)['Users'])} users" + note
    if a.s3:
        s3 = client("s3", a.access_key, a.secret_key, config=Config(s3={"addressing_style": "path"}))
        if "houdini" not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
            s3.create_bucket(Bucket="houdini")
        s3.put_object(Bucket="houdini", Key="obj-1k.bin", Body=bytes(range(256)) * 4)
        note += f", houdini/obj-1k.bin {s3.head_object(Bucket='houdini', Key='obj-1k.bin')['ContentLength']} B"
    print(f"{a.endpoint}: {note}")


if __name__ == "__main__":
    main()
