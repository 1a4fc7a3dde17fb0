"""Roles and temporary credentials, the seed story continued: role houdini-writer
trusts melvins with an ExternalId; melvins assumes it and writes to houdini through
the session (header-signed and presigned), is refused elsewhere, narrows the session
with a session policy; damaged tokens and DurationSeconds are refused with AWS's codes;
the aws CLI assumes the role itself from a `role_arn` + `source_profile` profile."""

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

ROLE = "houdini-writer"
EXTERNAL_ID = "houdini-ext-1"

ROLE_POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::houdini", "arn:aws:s3:::houdini/*"],
    }],
})


def client(server, service, creds, **cfg):
    return boto3.session.Session().client(
        service, endpoint_url=server.endpoint, region_name=u.REGION,
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        config=Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"}, **cfg))


def error(ei):
    e = ei.value
    return (e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"],
            e.response["Error"].get("Message"))


@pytest.fixture(scope="module")
def story(server, iam):
    root_s3 = server.client("s3")
    root_s3.create_bucket(Bucket="houdini")
    root_s3.create_bucket(Bucket="other")
    iam.create_user(UserName="melvins")
    k = iam.create_access_key(UserName="melvins")["AccessKey"]
    melvins_arn = iam.get_user(UserName="melvins")["User"]["Arn"]
    account = melvins_arn.split(":")[4]
    trust = {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": melvins_arn},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}},
        }],
    }
    role = iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    iam.put_role_policy(RoleName=ROLE, PolicyName="houdini", PolicyDocument=ROLE_POLICY)
    melvins_sts = server.client("sts", k["AccessKeyId"], k["SecretAccessKey"])
    return {
        "account": account,
        "role_arn": role["Arn"],
        "role_id": role["RoleId"],
        "melvins": (k["AccessKeyId"], k["SecretAccessKey"]),
        "sts": melvins_sts,
    }


def assume(story, **kw):
    return story["sts"].assume_role(RoleArn=story["role_arn"], RoleSessionName="s1",
                                    ExternalId=EXTERNAL_ID, **kw)


def test_assume_and_use_the_session(server, story):
    out = assume(story)
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    arn = f"arn:aws:sts::{story['account']}:assumed-role/{ROLE}/s1"
    assert out["AssumedRoleUser"] == {"AssumedRoleId": f"{story['role_id']}:s1", "Arn": arn}
    assert 0 < out["SessionTokenSize"] < 1024 and 0 < out["SessionTokenUtilization"] <= 25
    me = client(server, "sts", creds).get_caller_identity()
    assert me["Arn"] == arn and me["UserId"] == f"{story['role_id']}:s1"
    s3 = client(server, "s3", creds)
    s3.put_object(Bucket="houdini", Key="a/session.txt", Body=b"from the role")
    assert s3.get_object(Bucket="houdini", Key="a/session.txt")["Body"].read() == b"from the role"
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.put_object(Bucket="other", Key="x", Body=b"no")
    assert error(ei)[:2] == ("AccessDenied", 403)
    # IAM: the role allows no IAM action.
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        client(server, "iam", creds).get_user(UserName="melvins")
    code, status, message = error(ei)
    assert (code, status) == ("AccessDenied", 403)
    assert message.startswith(f"User: {arn} is not authorized to perform: iam:GetUser"), message
    # RoleLastUsed is recorded.
    role = server.client("iam").get_role(RoleName=ROLE)["Role"]
    assert role["RoleLastUsed"]["Region"] == "us-east-1" and "LastUsedDate" in role["RoleLastUsed"]


def test_presigned_url_with_session_credentials(server, story):
    creds = assume(story)["Credentials"]
    s3 = client(server, "s3", creds, signature_version="s3v4")
    s3.put_object(Bucket="houdini", Key="presigned.txt", Body=b"presigned body")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "houdini", "Key": "presigned.txt"},
                                    ExpiresIn=300)
    assert "X-Amz-Security-Token" in url
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.read() == b"presigned body"
    bad = url.replace("X-Amz-Security-Token=", "X-Amz-Security-Token=A", 1)
    with pytest.raises(urllib.error.HTTPError) as ei:
        urllib.request.urlopen(bad, timeout=10)
    assert ei.value.code == 400 and b"<Code>InvalidToken</Code>" in ei.value.read()


def test_session_policy_narrows_to_a_prefix(server, story):
    narrow = json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:PutObject",
                       "Resource": "arn:aws:s3:::houdini/team/*"}],
    })
    out = assume(story, Policy=narrow)
    assert "PackedPolicySize" in out
    s3 = client(server, "s3", out["Credentials"])
    s3.put_object(Bucket="houdini", Key="team/ok.txt", Body=b"ok")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.put_object(Bucket="houdini", Key="elsewhere.txt", Body=b"no")
    assert error(ei)[:2] == ("AccessDenied", 403)


def test_refused_without_the_external_id(server, story):
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        story["sts"].assume_role(RoleArn=story["role_arn"], RoleSessionName="s1")
    melvins_arn = f"arn:aws:iam::{story['account']}:user/melvins"
    assert error(ei) == ("AccessDenied", 403,
                         f"User: {melvins_arn} is not authorized to perform: sts:AssumeRole "
                         f"on resource: {story['role_arn']}")


def test_tampered_token_refused_on_query_and_s3(server, story):
    creds = dict(assume(story)["Credentials"])
    t = creds["SessionToken"]
    creds["SessionToken"] = t[:30] + ("B" if t[30] != "B" else "C") + t[31:]
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        client(server, "sts", creds).get_caller_identity()
    assert error(ei) == ("InvalidClientTokenId", 403, "The security token included in the request is invalid.")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        client(server, "s3", creds).list_objects_v2(Bucket="houdini")
    assert error(ei) == ("InvalidToken", 400, "The provided token is malformed or otherwise invalid.")


def test_duration_validation(server, story):
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        assume(story, DurationSeconds=7200)
    assert error(ei) == ("ValidationError", 400,
                         "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    raw = u.make_client(server.endpoint, "sts", *story["melvins"], validate=False)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        raw.assume_role(RoleArn=story["role_arn"], RoleSessionName="s1", ExternalId=EXTERNAL_ID,
                        DurationSeconds=899)
    code, status, message = error(ei)
    assert (code, status) == ("ValidationError", 400)
    assert "at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900" in message
    # Role chaining: at most an hour.
    server.client("iam").update_role(RoleName=ROLE, MaxSessionDuration=43200)
    session = assume(story, DurationSeconds=43200)["Credentials"]
    trust_self = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": story["role_arn"]},
                       "Action": "sts:AssumeRole"}],
    }
    next_role = server.client("iam").create_role(
        RoleName="next-hop", MaxSessionDuration=43200,
        AssumeRolePolicyDocument=json.dumps(trust_self))["Role"]
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        client(server, "sts", session).assume_role(RoleArn=next_role["Arn"], RoleSessionName="hop",
                                                   DurationSeconds=7200)
    assert error(ei) == ("ValidationError", 400,
                         "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
    hop = client(server, "sts", session).assume_role(RoleArn=next_role["Arn"], RoleSessionName="hop")
    assert hop["AssumedRoleUser"]["Arn"].endswith(":assumed-role/next-hop/hop")


def test_aws_cli_profile_with_role_arn(server, story, tmp_path):
    ak, sk = story["melvins"]
    creds = tmp_path / "credentials"
    creds.write_text(f"[melvins]\naws_access_key_id = {ak}\naws_secret_access_key = {sk}\n")
    config = tmp_path / "config"
    config.write_text(
        "[profile assumer]\n"
        f"role_arn = {story['role_arn']}\n"
        "source_profile = melvins\n"
        f"external_id = {EXTERNAL_ID}\n"
        "region = us-east-1\n"
        "[profile melvins]\nregion = us-east-1\n")
    server.client("s3").put_object(Bucket="houdini", Key="cli.txt", Body=b"cli")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "IAMD_")) and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    # HOME of its own: the CLI caches assumed-role credentials under ~/.aws/cli/cache,
    # and a cached session of an earlier server must not be reused.
    env.update({"HOME": str(tmp_path), "AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": str(creds),
                "AWS_MAX_ATTEMPTS": "1", "AWS_PAGER": "", "AWS_ENDPOINT_URL": server.endpoint})
    p = subprocess.run([u.AWS_CLI, "--profile", "assumer", "s3", "ls", "s3://houdini",
                        "--endpoint-url", server.endpoint],
                       env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "cli.txt" in p.stdout
    p = subprocess.run([u.AWS_CLI, "--profile", "assumer", "sts", "get-caller-identity",
                        "--endpoint-url", server.endpoint],
                       env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert f":assumed-role/{ROLE}/" in json.loads(p.stdout)["Arn"]
    p = subprocess.run([u.AWS_CLI, "--profile", "assumer", "s3", "ls", "s3://other",
                        "--endpoint-url", server.endpoint],
                       env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode != 0 and "AccessDenied" in p.stderr


def test_get_session_token(server, story):
    out = story["sts"].get_session_token(DurationSeconds=900)
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and out["SessionTokenSize"] > 0
    me = client(server, "sts", creds).get_caller_identity()
    assert me["Arn"] == f"arn:aws:iam::{story['account']}:user/melvins"
    # Without MFA its credentials cannot call IAM.
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        client(server, "iam", creds).list_users()
    assert error(ei)[:2] == ("InvalidClientTokenId", 403)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        client(server, "sts", creds).get_session_token()
    assert error(ei) == ("AccessDenied", 403, "Cannot call GetSessionToken with session credentials")
    # It may assume the role (role chaining).
    hop = client(server, "sts", creds).assume_role(RoleArn=story["role_arn"], RoleSessionName="via-gst",
                                                   ExternalId=EXTERNAL_ID)
    assert hop["AssumedRoleUser"]["Arn"].endswith(f"assumed-role/{ROLE}/via-gst")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        story["sts"].get_session_token(SerialNumber="arn:aws:iam::123456789012:mfa/melvins", TokenCode="123456")
    code, status, message = error(ei)
    assert (code, status) == ("AccessDenied", 403)
    assert message.startswith("MultiFactorAuthentication failed, unable to validate MFA code.")


MFA_SERIAL = "arn:aws:iam::123456789012:mfa/melvins"
MFA_UNKNOWN = ("MultiFactorAuthentication failed, unable to validate MFA code.  "
               "Please verify your MFA serial number is valid and associated with this user.")


@pytest.mark.parametrize("member,value,constraint", [
    ("tokenCode", "12345", "Member must have length greater than or equal to 6"),
    ("tokenCode", "1234567", "Member must have length less than or equal to 6"),
    ("tokenCode", "12345a", r"Member must satisfy regular expression pattern: [\d]*"),
    ("serialNumber", "GAHT1234", "Member must have length greater than or equal to 9"),
    ("serialNumber", "arn:aws:iam::1:mfa/a b", r"Member must satisfy regular expression pattern: [\w+=/:,.@-]*"),
])
def test_mfa_parameter_formats(server, story, member, value, constraint):
    """SerialNumber and TokenCode are checked against the model's constraints with AWS's
    ValidationError text, on AssumeRole and GetSessionToken alike."""
    raw = u.make_client(server.endpoint, "sts", *story["melvins"], validate=False)
    params = {"SerialNumber": MFA_SERIAL, "TokenCode": "123456"}
    params["TokenCode" if member == "tokenCode" else "SerialNumber"] = value
    message = u.validation_message(value, member, constraint)
    with u.aws_error("ValidationError", 400, message):
        raw.assume_role(RoleArn=story["role_arn"], RoleSessionName="s1", ExternalId=EXTERNAL_ID, **params)
    with u.aws_error("ValidationError", 400, message):
        raw.get_session_token(**params)


def test_mfa_unknown_device_and_trust_requiring_mfa(server, story, iam):
    """No MFA device exists, so any SerialNumber is AWS's unknown-device AccessDenied (on
    AssumeRole before the trust policy is consulted); a trust policy requiring
    aws:MultiFactorAuthPresent refuses a session without MFA."""
    melvins_arn = iam.get_user(UserName="melvins")["User"]["Arn"]
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": melvins_arn}, "Action": "sts:AssumeRole",
        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}
    mfa_role = iam.create_role(RoleName="mfa-only", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    refused = f"User: {melvins_arn} is not authorized to perform: sts:AssumeRole on resource: {mfa_role}"
    with u.aws_error("AccessDenied", 403, refused):
        story["sts"].assume_role(RoleArn=mfa_role, RoleSessionName="no-mfa")
    gst = story["sts"].get_session_token(DurationSeconds=900)["Credentials"]
    with u.aws_error("AccessDenied", 403, refused):
        client(server, "sts", gst).assume_role(RoleArn=mfa_role, RoleSessionName="no-mfa")
    for role in (mfa_role, story["role_arn"]):
        with u.aws_error("AccessDenied", 403, MFA_UNKNOWN):
            story["sts"].assume_role(RoleArn=role, RoleSessionName="mfa", ExternalId=EXTERNAL_ID,
                                     SerialNumber=MFA_SERIAL, TokenCode="123456")
    with u.aws_error("AccessDenied", 403, MFA_UNKNOWN):
        story["sts"].get_session_token(SerialNumber=MFA_SERIAL, TokenCode="123456")
    # The simulator says the same of the trust policy.
    entries = [{"ContextKeyName": "aws:MultiFactorAuthPresent", "ContextKeyValues": [v],
                "ContextKeyType": "boolean"} for v in ("false",)]
    res = iam.simulate_principal_policy(PolicySourceArn=melvins_arn, ActionNames=["sts:AssumeRole"],
                                        ResourceArns=[mfa_role], ContextEntries=entries)
    assert res["EvaluationResults"][0]["EvalDecision"] == "implicitDeny"
    entries[0]["ContextKeyValues"] = ["true"]
    res = iam.simulate_principal_policy(PolicySourceArn=melvins_arn, ActionNames=["sts:AssumeRole"],
                                        ResourceArns=[mfa_role], ContextEntries=entries)
    assert res["EvaluationResults"][0]["EvalDecision"] == "allowed"


CHAIN_LIMIT = "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
OVER_MAX = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."


def test_duration_limits_and_role_chaining(server, story, iam):
    """DurationSeconds against the model (≤ 43200), the role's MaxSessionDuration
    (inclusive), and the one-hour cap of role chaining, from a role session and from
    GetSessionToken credentials alike; the root cannot assume roles at all."""
    raw = u.make_client(server.endpoint, "sts", *story["melvins"], validate=False)
    with u.aws_error("ValidationError", 400, u.validation_message(
            "43201", "durationSeconds", "Member must have value less than or equal to 43200")):
        raw.assume_role(RoleArn=story["role_arn"], RoleSessionName="s1", ExternalId=EXTERNAL_ID,
                        DurationSeconds=43201)
    name = u.uniq("max2h")
    melvins_arn = iam.get_user(UserName="melvins")["User"]["Arn"]
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": [melvins_arn, story["role_arn"]]},
                                                      "Action": "sts:AssumeRole"}]}
    arn = iam.create_role(RoleName=name, MaxSessionDuration=7200, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    with u.aws_error("ValidationError", 400, OVER_MAX):
        story["sts"].assume_role(RoleArn=arn, RoleSessionName="s1", DurationSeconds=7201)
    story["sts"].assume_role(RoleArn=arn, RoleSessionName="s1", DurationSeconds=7200)
    # Chained from a session of houdini-writer, and from GetSessionToken credentials.
    hop = client(server, "sts", assume(story)["Credentials"])
    gst = client(server, "sts", story["sts"].get_session_token(DurationSeconds=900)["Credentials"])
    for chained in (hop, gst):
        with u.aws_error("ValidationError", 400, CHAIN_LIMIT):
            chained.assume_role(RoleArn=arn, RoleSessionName="chained", DurationSeconds=3601)
        chained.assume_role(RoleArn=arn, RoleSessionName="chained", DurationSeconds=3600)
    # The root user cannot assume a role, even one whose trust names the account.
    acct_trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{story['account']}:root"},
                                                           "Action": "sts:AssumeRole"}]}
    acct_role = iam.create_role(RoleName=u.uniq("acct"), AssumeRolePolicyDocument=json.dumps(acct_trust))["Role"]["Arn"]
    with u.aws_error("AccessDenied", 403, "Roles may not be assumed by root accounts."):
        server.client("sts").assume_role(RoleArn=acct_role, RoleSessionName="root")
