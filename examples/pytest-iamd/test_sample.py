"""A sample test project using iamd's pytest plugin (`pip install iamd boto3 pytest`).

Written the way moto-style suites are: root creates what a test needs, then a user's
own key is used, and iamd decides its requests with the AWS policy language.
"""

import json

import pytest
from botocore.exceptions import ClientError

READ_ONLY_REPORTS = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
         "Resource": ["arn:aws:s3:::reports", "arn:aws:s3:::reports/*"]},
    ],
}


def test_any_credentials_are_the_root(iamd):
    ident = iamd.client("sts").get_caller_identity()
    assert ident["Arn"] == f"arn:aws:iam::{iamd.account_id}:root"


def test_each_test_starts_empty(iamd):
    iam = iamd.client("iam")
    assert iam.list_users()["Users"] == []
    iam.create_user(UserName="only-in-this-test")


def test_each_test_starts_empty_again(iamd):
    assert iamd.client("iam").list_users()["Users"] == []


def test_user_may_read_but_not_write(iamd):
    s3 = iamd.client("s3")
    s3.create_bucket(Bucket="reports")
    s3.put_object(Bucket="reports", Key="q1.csv", Body=b"a,b\n")
    reader = iamd.client_for_new_user("s3", policy=READ_ONLY_REPORTS)
    assert reader.get_object(Bucket="reports", Key="q1.csv")["Body"].read() == b"a,b\n"
    with pytest.raises(ClientError) as denied:
        reader.put_object(Bucket="reports", Key="q2.csv", Body=b"x")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    # iamd says why, as AWS does.
    assert "s3:PutObject" in str(denied.value)


def test_iam_user_without_policy_is_denied(iamd):
    name, key_id, secret = iamd.create_user()
    me = iamd.client("iam", key_id, secret)
    with pytest.raises(ClientError) as denied:
        me.create_user(UserName="mallory")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    assert "no identity-based policy allows the iam:CreateUser action" in str(denied.value)


def test_reset_auth_lets_two_requests_through(iamd):
    _, key_id, secret = iamd.create_user(name="limited")
    iam = iamd.client("iam", key_id, secret)
    iamd.reset_auth(2)
    iam.create_user(UserName="one")
    iam.create_user(UserName="two")
    with pytest.raises(ClientError):
        iam.create_user(UserName="three")


def test_role_assumed_with_its_policy(iamd):
    iam = iamd.client("iam")
    assume = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}
    _, key_id, secret = iamd.create_user(policy=assume, name="app")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"AWS": f"arn:aws:iam::{iamd.account_id}:user/app"}}]}
    iam.create_role(RoleName="app-role", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName="app-role", PolicyName="list", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]}))
    creds = iamd.client("sts", key_id, secret).assume_role(
        RoleArn=f"arn:aws:iam::{iamd.account_id}:role/app-role", RoleSessionName="app-session")["Credentials"]
    s3 = iamd.client("s3", creds["AccessKeyId"], creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    s3.list_buckets()
    with pytest.raises(ClientError) as denied:
        s3.create_bucket(Bucket="not-allowed")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"


def test_denial_is_explained(iamd):
    # A test that fails on an AccessDenied gets this explanation in its report; here it
    # is asked for directly.
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "NoNewUsers", "Effect": "Deny", "Action": "iam:CreateUser", "Resource": "*"},
        {"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}
    admin = iamd.client_for_new_user("iam", policy=policy)
    with pytest.raises(ClientError) as denied:
        admin.create_user(UserName="mallory")
    why = json.loads(iamd.explain(denied.value))
    assert why["explicitDeny"] is True
    [statement] = why["matchedStatements"]["items"]
    assert statement["statementId"] == "NoNewUsers"
