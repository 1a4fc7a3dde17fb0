"""IAM Access Analyzer's ValidatePolicy against iamd (boto3 and the aws CLI)."""

import json

import pytest
from botocore.exceptions import ClientError

import e2e_util as u


@pytest.fixture(scope="module")
def aa(server):
    return server.client("accessanalyzer")


def validate(aa, document, policy_type="IDENTITY_POLICY", **kw):
    return aa.validate_policy(policyDocument=document, policyType=policy_type, **kw)


def codes(res):
    return [(f["findingType"], f["issueCode"]) for f in res["findings"]]


def text_at(document, pos):
    """The character at an Access Analyzer position (line from 1, column from 0)."""
    assert document[pos["offset"]] == document.split("\n")[pos["line"] - 1][pos["column"]]
    return document[pos["offset"]]


PASSROLE = ('{"Version": "2012-10-17", "Statement": [\n'
            '  {"Effect": "Allow", "Action": ["iam:GetRole", "iam:PassRole"], "Resource": "*"},\n'
            '  {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b"}\n'
            ']}')


def test_identity_policy_findings_with_locations(aa):
    res = validate(aa, PASSROLE)
    assert codes(res) == [("SECURITY_WARNING", "PASS_ROLE_WITH_STAR_IN_RESOURCE"),
                          ("WARNING", "RESOURCE_TYPE_MISMATCH")]
    f0, f1 = res["findings"]
    loc = f0["locations"][0]
    assert loc["path"] == [{"value": "Statement"}, {"index": 0}, {"value": "Action"}, {"index": 1}]
    start, end = loc["span"]["start"], loc["span"]["end"]
    assert start["line"] == 2
    assert PASSROLE[start["offset"]:end["offset"]] == '"iam:PassRole"'
    assert text_at(PASSROLE, start) == '"'
    loc = f1["locations"][0]
    assert loc["path"] == [{"value": "Statement"}, {"index": 1}, {"value": "Resource"}]
    assert PASSROLE[loc["span"]["start"]["offset"]:loc["span"]["end"]["offset"]] == '"arn:aws:s3:::b"'
    assert f0["learnMoreLink"].startswith("https://docs.aws.amazon.com/")
    assert f0["findingDetails"]


def test_clean_policy_has_no_findings(aa):
    clean = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]})
    assert validate(aa, clean)["findings"] == []


def test_other_services_are_checked(aa):
    """Every AWS service's actions and condition keys (the embedded Service Authorization
    Reference): a misspelled EC2 action and an EC2 key the service does not define are
    errors where they stand; the corrected policy is clean."""
    def ec2(action, key):
        return json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": [action, "ec2:TerminateInstances"],
             "Resource": "arn:aws:ec2:*:*:instance/*",
             "Condition": {"StringEquals": {key: "t3.micro"}}},
            {"Effect": "Allow", "Action": "dynamodb:GetItem",
             "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/Books"}]})

    bad = ec2("ec2:StartInstance", "ec2:InstanceTypes")
    res = validate(aa, bad)
    assert codes(res) == [("ERROR", "INVALID_ACTION"), ("ERROR", "INVALID_SERVICE_CONDITION_KEY")]
    f0, f1 = res["findings"]
    assert f0["findingDetails"] == "The action ec2:StartInstance does not exist."
    assert f0["locations"][0]["path"] == [{"value": "Statement"}, {"index": 0}, {"value": "Action"},
                                          {"index": 0}]
    span = f0["locations"][0]["span"]
    assert bad[span["start"]["offset"]:span["end"]["offset"]] == '"ec2:StartInstance"'
    assert f1["findingDetails"] == ("The condition key ec2:InstanceTypes does not exist in the service "
                                    "ec2. Use a valid condition key.")
    assert validate(aa, ec2("ec2:StartInstances", "ec2:InstanceType"))["findings"] == []


def test_errors(aa):
    res = validate(aa, '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject"}]}')
    assert codes(res) == [("ERROR", "POLICY_SYNTAX_ERROR")]
    assert res["findings"][0]["findingDetails"] == "Policy statement must contain resources."
    res = validate(aa, "{not json")
    assert codes(res) == [("ERROR", "POLICY_SYNTAX_ERROR")]


def test_bucket_and_trust_policies(aa):
    bucket = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]})
    res = validate(aa, bucket, "RESOURCE_POLICY", validatePolicyResourceType="AWS::S3::Bucket")
    assert codes(res) == [("SECURITY_WARNING", "PUBLIC_PRINCIPAL_WITHOUT_CONDITION")]
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})
    res = validate(aa, trust, "RESOURCE_POLICY", validatePolicyResourceType="AWS::IAM::AssumeRolePolicyDocument")
    assert codes(res) == [("SECURITY_WARNING", "PUBLIC_PRINCIPAL_WITHOUT_CONDITION")]
    # A trust policy may only name sts actions: an ERROR under the trust type only.
    bad_trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "s3:GetObject"}]})
    res = validate(aa, bad_trust, "RESOURCE_POLICY", validatePolicyResourceType="AWS::IAM::AssumeRolePolicyDocument")
    assert ("ERROR", "POLICY_SYNTAX_ERROR") in codes(res)


def test_paging(aa):
    doc = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["iam:PassRole", "iam:PassRole", "iam:PassRole"], "Resource": "*"}]})
    everything = codes(validate(aa, doc))
    assert len(everything) == 5
    seen, token, pages = [], None, 0
    while True:
        kw = {"maxResults": 2}
        if token:
            kw["nextToken"] = token
        res = validate(aa, doc, **kw)
        pages += 1
        seen += codes(res)
        token = res.get("nextToken")
        if not token:
            break
    assert pages == 3
    assert seen == everything
    paginated = []
    for page in aa.get_paginator("validate_policy").paginate(
            policyDocument=doc, policyType="IDENTITY_POLICY", PaginationConfig={"PageSize": 2}):
        paginated += codes(page)
    assert paginated == everything


def test_authorization(server, user_with_key, iam):
    name, ak, sk = user_with_key("analyst")
    c = server.client("accessanalyzer", ak, sk)
    with pytest.raises(ClientError) as e:
        validate(c, PASSROLE)
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "access-analyzer:ValidatePolicy" in e.value.response["Error"]["Message"]
    iam.put_user_policy(UserName=name, PolicyName="aa", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "access-analyzer:ValidatePolicy", "Resource": "*"}]}))
    assert len(validate(c, PASSROLE)["findings"]) == 2
    bad = server.client("accessanalyzer", ak, "x" * 40)
    with pytest.raises(ClientError) as e:
        validate(bad, PASSROLE)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_query_protocol_still_served(server, iam):
    # The analyzer branch must not capture IAM requests on the same listener.
    assert iam.get_account_summary()["SummaryMap"]


def test_aws_cli_validate_policy(server):
    p = u.run_aws(server, "accessanalyzer", "validate-policy",
                  "--policy-type", "IDENTITY_POLICY", "--policy-document", PASSROLE, timeout=60)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert [f["issueCode"] for f in out["findings"]] == ["PASS_ROLE_WITH_STAR_IN_RESOURCE", "RESOURCE_TYPE_MISMATCH"]
