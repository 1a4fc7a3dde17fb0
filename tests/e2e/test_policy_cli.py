"""`iamd policy simulate`: offline, exit codes, output and --json."""

import json
import subprocess

import pytest

import e2e_util as u

IDENTITY = """{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
    {"Sid": "NoSecret", "Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/secret/*"},
    {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b",
     "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}
  ]
}
"""

BOUNDARY = """{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}
"""

BUCKET = """{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:user/alice"},
   "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"}]}
"""


@pytest.fixture
def files(tmp_path):
    paths = {}
    for name, text in [("identity.json", IDENTITY), ("boundary.json", BOUNDARY), ("bucket.json", BUCKET)]:
        p = tmp_path / name
        p.write_text(text)
        paths[name] = str(p)
    return paths


def simulate(*args):
    return subprocess.run([str(u.iamd_bin()), "policy", "simulate", *args],
                          capture_output=True, text=True, timeout=30)


def test_allowed_exits_0_and_names_the_statement(files):
    p = simulate("--policy", files["identity.json"], "--action", "s3:GetObject",
                 "--resource", "arn:aws:s3:::b/x")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("allowed: s3:GetObject on arn:aws:s3:::b/x")
    assert f"decided by {files['identity.json']}:4:5: statement 0" in p.stdout


def test_explicit_deny_exits_2_with_sid_and_position(files):
    p = simulate("--policy", files["identity.json"], "--action", "s3:GetObject",
                 "--resource", "arn:aws:s3:::b/secret/k")
    assert p.returncode == 2
    assert p.stdout.startswith("explicitDeny:")
    assert f"{files['identity.json']}:5:5: statement 1 (Sid NoSecret), Deny" in p.stdout


def test_implicit_deny_exits_2_with_reason(files):
    p = simulate("--policy", files["identity.json"], "--action", "s3:PutObject",
                 "--resource", "arn:aws:s3:::b/x")
    assert p.returncode == 2
    assert "implicitDeny" in p.stdout
    assert "because no identity-based policy allows the s3:PutObject action" in p.stdout


def test_context_and_missing_keys(files):
    args = ["--policy", files["identity.json"], "--action", "s3:ListBucket", "--resource", "arn:aws:s3:::b"]
    p = simulate(*args)
    assert p.returncode == 2
    assert "missing context keys: aws:SourceIp" in p.stdout
    p = simulate(*args, "--context", "aws:SourceIp=ip:10.1.2.3")
    assert p.returncode == 0, p.stdout
    p = simulate(*args, "--context", "aws:SourceIp=ip:192.0.2.1")
    assert p.returncode == 2
    p = simulate(*args, "--context", "aws:SourceIp=ip:not-an-ip")
    assert p.returncode == 1
    assert "not a valid ip" in p.stderr


def test_boundary(files):
    p = simulate("--policy", files["identity.json"], "--boundary", files["boundary.json"],
                 "--action", "s3:GetObject", "--resource", "arn:aws:s3:::b/x", "--json")
    assert p.returncode == 2
    out = json.loads(p.stdout)
    r = out["EvaluationResults"][0]
    assert r["EvalDecision"] == "implicitDeny"
    assert r["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}


def test_resource_policy_and_json_positions(files):
    p = simulate("--policy", files["identity.json"], "--resource-policy", files["bucket.json"],
                 "--caller-arn", "arn:aws:iam::123456789012:user/alice",
                 "--action", "s3:PutObject", "--resource", "arn:aws:s3:::b/x", "--json")
    assert p.returncode == 0, p.stdout + p.stderr
    out = json.loads(p.stdout)
    assert out["IsTruncated"] is False
    (st,) = out["EvaluationResults"][0]["MatchedStatements"]
    assert st["SourcePolicyId"] == "ResourcePolicy"
    assert st["SourcePolicyType"] == "Resource Policy"  # as SimulateCustomPolicy says
    line = BUCKET.split("\n")[st["StartPosition"]["Line"] - 1]
    assert line[st["StartPosition"]["Column"] - 1] == "{"
    # Another caller is not named by the bucket policy.
    p = simulate("--policy", files["identity.json"], "--resource-policy", files["bucket.json"],
                 "--caller-arn", "arn:aws:iam::123456789012:user/bob",
                 "--action", "s3:PutObject", "--resource", "arn:aws:s3:::b/x")
    assert p.returncode == 2


def test_malformed_policy_exits_1(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"Statement": [{"Effect": "Allow", "Action": "s3:GetObject"}]}')
    p = simulate("--policy", str(bad), "--action", "s3:GetObject")
    assert p.returncode == 1
    assert "bad.json:" in p.stderr


def validate(*args):
    return subprocess.run([str(u.iamd_bin()), "policy", "validate", *args],
                          capture_output=True, text=True, timeout=30)


def test_validate_prints_findings_with_path_and_position(tmp_path):
    f = tmp_path / "w.json"
    f.write_text('{"Version": "2012-10-17", "Statement": [\n'
                 '  {"Effect": "Allow", "Action": ["iam:PassRole", "iam:GetRole"], "Resource": "*"},\n'
                 '  {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b"}\n'
                 ']}\n')
    p = validate(str(f))
    assert p.returncode == 0, p.stdout + p.stderr
    lines = p.stdout.splitlines()
    assert f"{f}:2:34: SECURITY_WARNING PASS_ROLE_WITH_STAR_IN_RESOURCE:" in lines[0]
    assert lines[0].endswith("[Statement[0].Action[0]]")
    assert f"{f}:3:61: WARNING RESOURCE_TYPE_MISMATCH:" in lines[1]
    assert lines[1].endswith("[Statement[1].Resource]")
    assert lines[-1] == f"{f}: valid identity policy, 2 finding(s)"


def test_validate_errors_exit_1_and_clean_policy(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject"}]}')
    p = validate(str(bad))
    assert p.returncode == 1
    good = tmp_path / "good.json"
    good.write_text(IDENTITY)
    p = validate(str(good))
    assert p.returncode == 0
    assert p.stdout.strip() == f"{good}: valid identity policy"
