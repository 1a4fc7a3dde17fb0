#!/usr/bin/env python3
"""Seed an endpoint for the replay benchmarks (idempotent): exactly 100 IAM users
(melvins, then bench-user-NNN); with --s3 also bucket houdini holding the 1 KiB
object obj-1k.bin.   usage: seed.py ENDPOINT AK SK [--s3]"""
import sys

import boto3
from botocore.config import Config

ep, ak, sk = sys.argv[1:4]
kw = dict(endpoint_url=ep, region_name="us-east-1", aws_access_key_id=ak, aws_secret_access_key=sk)
iam = boto3.client("iam", **kw)
have = {u["UserName"] for p in iam.get_paginator("list_users").paginate() for u in p["Users"]}
want = ["melvins"] + [f"bench-user-{i:03d}" for i in range(1, 100)]
for name in want:
    if len(have) >= 100:
        break
    if name not in have:
        iam.create_user(UserName=name)
        have.add(name)
note = f"{len(iam.list_users(MaxItems=1000)['Users'])} users"
if "--s3" in sys.argv[4:]:
    s3 = boto3.client("s3", config=Config(s3={"addressing_style": "path"}), **kw)
    if "houdini" not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket="houdini")
    s3.put_object(Bucket="houdini", Key="obj-1k.bin", Body=bytes(range(256)) * 4)
    note += f", houdini/obj-1k.bin {s3.head_object(Bucket='houdini', Key='obj-1k.bin')['ContentLength']} B"
print(f"{ep}: {note}")
