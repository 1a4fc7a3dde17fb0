#!/usr/bin/env python3
"""Seed an endpoint's IAM side for the replay benchmark: exactly 100 users
(melvins, then bench-user-NNN).  usage: seed_iam.py ENDPOINT AK SK"""
import sys

import boto3

ep, ak, sk = sys.argv[1:4]
iam = boto3.client("iam", endpoint_url=ep, region_name="us-east-1",
                   aws_access_key_id=ak, aws_secret_access_key=sk)
have = {u["UserName"] for p in iam.get_paginator("list_users").paginate() for u in p["Users"]}
want = ["melvins"] + [f"bench-user-{i:03d}" for i in range(1, 100)]
for name in want:
    if len(have) >= 100:
        break
    if name not in have:
        iam.create_user(UserName=name)
        have.add(name)
print(f"{ep}: {len(iam.list_users(MaxItems=1000)['Users'])} users")
