"""The rest of STS with real clients: managed session policies (PolicyArns), federated
users (GetFederationToken) on IAM, STS and S3 (header-signed and presigned), transitive
session tags along a role chain, GetAccessKeyInfo, and the encoded authorization
message every AccessDenied carries (decoded with boto3 and with
`aws sts decode-authorization-message`)."""

import json
import os
import subprocess
import urllib.error
import urllib.request

import boto3
import botocore
import pytest
from botocore.config import Config

import e2e_util as u

HEADER = "x-iamd-authorization-message"


def client(server, service, creds):
    return boto3.session.Session().client(
        service, endpoint_url=server.endpoint, region_name=u.REGION,
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds.get("SessionToken"),
        config=Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"},
                      signature_version="s3v4" if service == "s3" else None))


def error(ei):
    e = ei.value
    return (e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"],
            e.response["Error"].get("Message"))


def doc(statements):
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


@pytest.fixture(scope="module")
def story(server, iam):
    s3 = server.client("s3")
    for b in ("fedbucket", "elsewhere"):
        s3.create_bucket(Bucket=b)
        s3.put_object(Bucket=b, Key="a.txt", Body=b"hello " + b.encode())
    iam.create_user(UserName="proxy")
    iam.tag_user(UserName="proxy", Tags=[{"Key": "team", "Value": "red"}])
    iam.put_user_policy(UserName="proxy", PolicyName="all-s3", PolicyDocument=doc([
        {"Effect": "Allow", "Action": ["s3:*", "sts:GetFederationToken", "sts:AssumeRole", "sts:TagSession",
                                        "iam:ListUsers"], "Resource": "*"}]))
    k = iam.create_access_key(UserName="proxy")["AccessKey"]
    creds = {"AccessKeyId": k["AccessKeyId"], "SecretAccessKey": k["SecretAccessKey"]}
    arn = iam.get_user(UserName="proxy")["User"]["Arn"]
    return {"creds": creds, "arn": arn, "account": arn.split(":")[4],
            "sts": client(server, "sts", creds)}


def test_managed_session_policies(server, iam, story):
    trust = doc([{"Effect": "Allow", "Principal": {"AWS": story["arn"]},
                  "Action": ["sts:AssumeRole", "sts:TagSession"]}])
    role = iam.create_role(RoleName="reader", AssumeRolePolicyDocument=trust)["Role"]
    iam.attach_role_policy(RoleName="reader", PolicyArn="arn:aws:iam::aws:policy/AmazonS3FullAccess")
    only = iam.create_policy(PolicyName="only-fedbucket", PolicyDocument=doc([
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::fedbucket/*"}]))["Policy"]
    out = story["sts"].assume_role(RoleArn=role["Arn"], RoleSessionName="m1",
                                   PolicyArns=[{"arn": only["Arn"]}])
    assert "PackedPolicySize" in out
    s3 = client(server, "s3", out["Credentials"])
    assert s3.get_object(Bucket="fedbucket", Key="a.txt")["Body"].read() == b"hello fedbucket"
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.get_object(Bucket="elsewhere", Key="a.txt")
    assert error(ei)[:2] == ("AccessDenied", 403)
    # An AWS-managed session policy.
    out = story["sts"].assume_role(RoleArn=role["Arn"], RoleSessionName="m2",
                                   PolicyArns=[{"arn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}])
    s3 = client(server, "s3", out["Credentials"])
    s3.get_object(Bucket="elsewhere", Key="a.txt")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.put_object(Bucket="elsewhere", Key="b.txt", Body=b"no")
    assert error(ei)[:2] == ("AccessDenied", 403)
    # Unknown ARN; more than ten.
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        story["sts"].assume_role(RoleArn=role["Arn"], RoleSessionName="m3",
                                 PolicyArns=[{"arn": f"arn:aws:iam::{story['account']}:policy/nope"}])
    assert error(ei) == ("InvalidParameterValue", 400,
                         f"Policy arn:aws:iam::{story['account']}:policy/nope does not exist or is not attachable.")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        story["sts"].assume_role(RoleArn=role["Arn"], RoleSessionName="m4",
                                 PolicyArns=[{"arn": only["Arn"]}] * 11)
    assert error(ei)[:2] == ("ValidationError", 400)


def test_federated_user(server, iam, story):
    policy = doc([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::fedbucket/*"}])
    out = story["sts"].get_federation_token(Name="bob", Policy=policy, DurationSeconds=900,
                                            Tags=[{"Key": "project", "Value": "p1"}])
    arn = f"arn:aws:sts::{story['account']}:federated-user/bob"
    assert out["FederatedUser"] == {"FederatedUserId": f"{story['account']}:bob", "Arn": arn}
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    me = client(server, "sts", creds).get_caller_identity()
    assert me["Arn"] == arn and me["UserId"] == f"{story['account']}:bob"
    s3 = client(server, "s3", creds)
    assert s3.get_object(Bucket="fedbucket", Key="a.txt")["Body"].read() == b"hello fedbucket"
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.get_object(Bucket="elsewhere", Key="a.txt")
    assert error(ei)[:2] == ("AccessDenied", 403)
    # A presigned URL made with the federated user's credentials.
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "fedbucket", "Key": "a.txt"},
                                    ExpiresIn=300)
    assert "X-Amz-Security-Token" in url
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.read() == b"hello fedbucket"
    # IAM refuses federated credentials; of STS only GetCallerIdentity.
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        client(server, "iam", creds).list_users()
    assert error(ei)[:2] == ("InvalidClientTokenId", 403)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        client(server, "sts", creds).get_session_token()
    assert error(ei) == ("AccessDenied", 403, "Cannot call GetSessionToken with session credentials")
    # Session credentials may not federate.
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        client(server, "sts", creds).get_federation_token(Name="eve")
    assert error(ei)[:2] == ("AccessDenied", 403)


def test_federated_user_without_session_policy(server, story):
    creds = story["sts"].get_federation_token(Name="carol")["Credentials"]
    s3 = client(server, "s3", creds)
    # No session policy: no permissions, even where the user's policies allow.
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.get_object(Bucket="fedbucket", Key="a.txt")
    assert error(ei)[:2] == ("AccessDenied", 403)
    # A bucket policy naming the federated user grants on its own.
    arn = f"arn:aws:sts::{story['account']}:federated-user/carol"
    server.client("s3").put_bucket_policy(Bucket="elsewhere", Policy=doc([
        {"Effect": "Allow", "Principal": {"AWS": arn}, "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::elsewhere/*"}]))
    assert s3.get_object(Bucket="elsewhere", Key="a.txt")["Body"].read() == b"hello elsewhere"


def test_transitive_tags_along_a_chain(server, iam, story):
    first_trust = doc([{"Effect": "Allow", "Principal": {"AWS": story["arn"]},
                        "Action": ["sts:AssumeRole", "sts:TagSession"]}])
    first = iam.create_role(RoleName="first", AssumeRolePolicyDocument=first_trust)["Role"]
    iam.put_role_policy(RoleName="first", PolicyName="hop", PolicyDocument=doc([
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]))
    second_trust = doc([{"Effect": "Allow", "Principal": {"AWS": first["Arn"]},
                         "Action": ["sts:AssumeRole", "sts:TagSession"]}])
    second = iam.create_role(RoleName="second", AssumeRolePolicyDocument=second_trust)["Role"]
    # The second role may read only where the inherited tag says.
    # A tag that is not transitive would allow ListUsers; it must not reach the second hop.
    iam.put_role_policy(RoleName="second", PolicyName="abac", PolicyDocument=doc([
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::fedbucket/*",
         "Condition": {"StringEquals": {"aws:PrincipalTag/project": "p1"}}},
        {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*",
         "Condition": {"StringEquals": {"aws:PrincipalTag/stage": "x"}}}]))
    one = story["sts"].assume_role(RoleArn=first["Arn"], RoleSessionName="one",
                                   Tags=[{"Key": "project", "Value": "p1"},
                                         {"Key": "stage", "Value": "x"}],
                                   TransitiveTagKeys=["project"])["Credentials"]
    hop = client(server, "sts", one)
    two = hop.assume_role(RoleArn=second["Arn"], RoleSessionName="two")["Credentials"]
    assert client(server, "s3", two).get_object(Bucket="fedbucket", Key="a.txt")["Body"].read() == b"hello fedbucket"
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        client(server, "iam", two).list_users()
    assert error(ei)[:2] == ("AccessDenied", 403)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        hop.assume_role(RoleArn=second["Arn"], RoleSessionName="two",
                        Tags=[{"Key": "project", "Value": "p2"}])
    assert error(ei)[:2] == ("InvalidParameterValue", 400)


def test_get_access_key_info(server, sts, story):
    assert sts.get_access_key_info(AccessKeyId=story["creds"]["AccessKeyId"])["Account"] == story["account"]
    session = story["sts"].get_session_token(DurationSeconds=900)["Credentials"]
    assert sts.get_access_key_info(AccessKeyId=session["AccessKeyId"])["Account"] == story["account"]
    # An id AWS minted for another account decodes to that account.
    assert sts.get_access_key_info(AccessKeyId="ASIAY34FZKBOKMUTVV7A")["Account"] == "609629065308"


def test_denials_carry_a_decodable_message(server, sts, story, tmp_path):
    proxy_iam = client(server, "iam", story["creds"])
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        proxy_iam.create_user(UserName="nope")
    code, status, message = error(ei)
    assert (code, status) == ("AccessDenied", 403)
    # AWS's message unchanged; the explanation in the header, sealed.
    assert message == u.not_authorized(story["arn"], "iam:CreateUser", u.user_arn("nope"))
    encoded = ei.value.response["ResponseMetadata"]["HTTPHeaders"][HEADER]
    assert "proxy" not in encoded and "CreateUser" not in encoded
    # The denied caller may not decode it.
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        story["sts"].decode_authorization_message(EncodedMessage=encoded)
    assert error(ei)[:2] == ("AccessDenied", 403)
    decoded = json.loads(sts.decode_authorization_message(EncodedMessage=encoded)["DecodedMessage"])
    assert decoded["allowed"] is False and decoded["explicitDeny"] is False
    assert decoded["matchedStatements"] == {"items": []}
    assert decoded["context"]["principal"]["arn"] == story["arn"]
    assert decoded["context"]["action"] == "iam:CreateUser"
    keys = {c["key"]: c["values"]["items"] for c in decoded["context"]["conditions"]["items"]}
    assert keys["aws:username"] == [{"value": "proxy"}]
    # S3 denials carry one too, with the explicit Deny that decided.
    server.client("s3").put_bucket_policy(Bucket="fedbucket", Policy=doc([
        {"Sid": "NoDelete", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject",
         "Resource": "arn:aws:s3:::fedbucket/*"}]))
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        client(server, "s3", story["creds"]).delete_object(Bucket="fedbucket", Key="a.txt")
    assert error(ei)[:2] == ("AccessDenied", 403)
    encoded = ei.value.response["ResponseMetadata"]["HTTPHeaders"][HEADER]
    # The aws CLI decodes it.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "IAMD_")) and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env.update({"HOME": str(tmp_path), "AWS_ACCESS_KEY_ID": server.root_ak, "AWS_SECRET_ACCESS_KEY": server.root_sk,
                "AWS_DEFAULT_REGION": u.REGION, "AWS_MAX_ATTEMPTS": "1", "AWS_PAGER": ""})
    p = subprocess.run([u.AWS_CLI, "sts", "decode-authorization-message", "--encoded-message", encoded,
                        "--endpoint-url", server.endpoint, "--output", "json"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    decoded = json.loads(json.loads(p.stdout)["DecodedMessage"])
    assert decoded["explicitDeny"] is True
    [st] = decoded["matchedStatements"]["items"]
    assert st["statementId"] == "NoDelete" and st["effect"] == "DENY"
    assert st["policyType"] == "ResourcePolicy" and st["statementIndex"] == 0
    assert decoded["context"]["action"] == "s3:DeleteObject"
    # Damaged: AWS's modeled error.
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        sts.decode_authorization_message(EncodedMessage=encoded[:-4] + "AAAA")
    assert error(ei)[:2] == ("InvalidAuthorizationMessageException", 400)


def test_packed_policy_too_large(server, story):
    # Fifty long session tags and a long session policy do not fit AWS's 4,096-byte token.
    tags = [{"Key": f"k{i:02d}" + "x" * 100, "Value": "v" * 256} for i in range(50)]
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        story["sts"].get_federation_token(Name="big", Tags=tags, PolicyArns=[
            {"arn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}] * 10)
    code, status, message = error(ei)
    assert (code, status) == ("PackedPolicyTooLarge", 400)
    assert "4096-byte limit" in message, message
    # A small session fits, and says how close it is.
    out = story["sts"].get_federation_token(Name="small", PolicyArns=[
        {"arn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}])
    assert 0 < out["PackedPolicySize"] <= 100 and out["SessionTokenSize"] < 4096
