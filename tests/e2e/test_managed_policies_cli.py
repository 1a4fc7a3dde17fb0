"""Managed policies with the aws CLI: a customer-managed policy's versions switched
with `create-policy-version --set-as-default` and `set-default-policy-version`,
attached to a user, its group and a role and detached again, each change deciding
the user's very next request (made with the CLI too); the CLI's error texts at
AWS's quotas; GetAccountSummary's counts, exact, on a server of its own."""

import json
import os
import subprocess

import pytest

import e2e_util as u

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
README = u.REPO / "README.md"


def allow(*actions):
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}


def cli(server, *args, **kw):
    """The CLI's JSON answer (empty for the commands that answer nothing)."""
    out = u.run_aws(server, *args, **kw).stdout
    return json.loads(out) if out.strip() else {}


def cli_error(server, code, operation, message, *args, **kw):
    """The CLI fails with AWS's code and message, as the CLI prints them."""
    p = u.run_aws(server, *args, check=False, **kw)
    assert p.returncode != 0, (args, p.stdout)
    want = f"An error occurred ({code}) when calling the {operation} operation: {message}"
    assert want in p.stderr, (want, p.stderr)


def denied(server, name, ak, sk, action, resource, *args):
    cli_error(server, "AccessDenied", action.split(":")[1],
              u.not_authorized(u.user_arn(name), action, resource), *args, ak=ak, sk=sk)


def test_versions_and_attachments_decide_the_next_request(server, tmp_path, user_with_key):
    name, ak, sk = user_with_key("cli-flow")
    me = {"ak": ak, "sk": sk}
    doc = tmp_path / "doc.json"

    def document(*actions):
        doc.write_text(json.dumps(allow(*actions)))
        return f"file://{doc}"

    users = ("iam", "list-users")
    groups = ("iam", "list-groups")
    users_res, groups_res = f"{u.ARN_PREFIX}:user/", f"{u.ARN_PREFIX}:group/"
    pname = u.uniq("flow")
    policy = cli(server, "iam", "create-policy", "--policy-name", pname, "--path", "/ci/",
                 "--policy-document", document("iam:ListUsers"))["Policy"]
    arn = policy["Arn"]
    assert arn == f"{u.ARN_PREFIX}:policy/ci/{pname}"
    assert (policy["DefaultVersionId"], policy["AttachmentCount"]) == ("v1", 0)
    denied(server, name, ak, sk, "iam:ListUsers", users_res, *users)

    # Attached to the user: allowed from the next request on.
    cli(server, "iam", "attach-user-policy", "--user-name", name, "--policy-arn", arn)
    assert cli(server, "iam", "list-attached-user-policies", "--user-name", name)["AttachedPolicies"] == [
        {"PolicyName": pname, "PolicyArn": arn}]
    assert name in [x["UserName"] for x in cli(server, *users, **me)["Users"]]
    denied(server, name, ak, sk, "iam:ListGroups", groups_res, *groups)

    # A new default version: the old grant is gone, the new one there, at once.
    v2 = cli(server, "iam", "create-policy-version", "--policy-arn", arn,
             "--policy-document", document("iam:ListGroups"), "--set-as-default")["PolicyVersion"]
    assert (v2["VersionId"], v2["IsDefaultVersion"]) == ("v2", True)
    denied(server, name, ak, sk, "iam:ListUsers", users_res, *users)
    cli(server, *groups, **me)

    # A version that is not the default changes nothing.
    v3 = cli(server, "iam", "create-policy-version", "--policy-arn", arn,
             "--policy-document", document("iam:*"))["PolicyVersion"]
    assert (v3["VersionId"], v3["IsDefaultVersion"]) == ("v3", False)
    denied(server, name, ak, sk, "iam:ListUsers", users_res, *users)
    listed = cli(server, "iam", "list-policy-versions", "--policy-arn", arn)["Versions"]
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in listed] == [
        ("v3", False), ("v2", True), ("v1", False)]

    # Back to v1.
    cli(server, "iam", "set-default-policy-version", "--policy-arn", arn, "--version-id", "v1")
    cli(server, *users, **me)
    denied(server, name, ak, sk, "iam:ListGroups", groups_res, *groups)
    got = cli(server, "iam", "get-policy", "--policy-arn", arn)["Policy"]
    assert (got["DefaultVersionId"], got["AttachmentCount"]) == ("v1", 1)
    got = cli(server, "iam", "get-policy-version", "--policy-arn", arn, "--version-id", "v1")["PolicyVersion"]
    assert (got["Document"], got["IsDefaultVersion"]) == (allow("iam:ListUsers"), True)

    # Version deletion: never the default; the others go.
    cli_error(server, "DeleteConflict", "DeletePolicyVersion", "Cannot delete the default version of a policy.",
              "iam", "delete-policy-version", "--policy-arn", arn, "--version-id", "v1")
    cli(server, "iam", "delete-policy-version", "--policy-arn", arn, "--version-id", "v2")
    cli_error(server, "NoSuchEntity", "GetPolicyVersion",
              f"Policy {arn} version v2 does not exist or is not attachable.",
              "iam", "get-policy-version", "--policy-arn", arn, "--version-id", "v2")
    listed = cli(server, "iam", "list-policy-versions", "--policy-arn", arn)["Versions"]
    assert [v["VersionId"] for v in listed] == ["v3", "v1"]

    # Detached: refused at the next request.
    cli(server, "iam", "detach-user-policy", "--user-name", name, "--policy-arn", arn)
    denied(server, name, ak, sk, "iam:ListUsers", users_res, *users)
    assert cli(server, "iam", "list-attached-user-policies", "--user-name", name)["AttachedPolicies"] == []
    cli_error(server, "NoSuchEntity", "DetachUserPolicy", f"Policy {arn} was not found.",
              "iam", "detach-user-policy", "--user-name", name, "--policy-arn", arn)

    # Through a group: the same.
    group = u.uniq("cli-grp")
    cli(server, "iam", "create-group", "--group-name", group)
    cli(server, "iam", "add-user-to-group", "--group-name", group, "--user-name", name)
    cli(server, "iam", "attach-group-policy", "--group-name", group, "--policy-arn", arn)
    cli(server, *users, **me)
    assert cli(server, "iam", "list-attached-group-policies", "--group-name", group)["AttachedPolicies"] == [
        {"PolicyName": pname, "PolicyArn": arn}]
    ents = cli(server, "iam", "list-entities-for-policy", "--policy-arn", arn)
    assert ([g["GroupName"] for g in ents["PolicyGroups"]], ents["PolicyUsers"], ents["PolicyRoles"]) == (
        [group], [], [])
    cli(server, "iam", "detach-group-policy", "--group-name", group, "--policy-arn", arn)
    denied(server, name, ak, sk, "iam:ListUsers", users_res, *users)

    # A role, and the account's view of who has the policy.
    role = u.uniq("cli-role")
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    cli(server, "iam", "create-role", "--role-name", role, "--assume-role-policy-document", f"file://{trust}")
    cli(server, "iam", "attach-role-policy", "--role-name", role, "--policy-arn", arn)
    cli(server, "iam", "attach-role-policy", "--role-name", role, "--policy-arn", READ_ONLY)
    attached = cli(server, "iam", "list-attached-role-policies", "--role-name", role)["AttachedPolicies"]
    assert sorted(p["PolicyArn"] for p in attached) == sorted([arn, READ_ONLY])
    only = cli(server, "iam", "list-policies", "--scope", "Local", "--only-attached", "--path-prefix", "/ci/")
    assert arn in [p["Arn"] for p in only["Policies"]]
    ents = cli(server, "iam", "list-entities-for-policy", "--policy-arn", arn, "--entity-filter", "Role")
    assert [r["RoleName"] for r in ents["PolicyRoles"]] == [role]
    cli_error(server, "DeleteConflict", "DeletePolicy", "Cannot delete a policy attached to entities.",
              "iam", "delete-policy", "--policy-arn", arn)
    for p in (arn, READ_ONLY):
        cli(server, "iam", "detach-role-policy", "--role-name", role, "--policy-arn", p)
    cli(server, "iam", "delete-role", "--role-name", role)

    # Gone with its last version.
    cli_error(server, "DeleteConflict", "DeletePolicy",
              "This policy has more than one version. Before you delete a policy, you must delete the "
              "policy's versions. The default version is deleted with the policy.",
              "iam", "delete-policy", "--policy-arn", arn)
    cli(server, "iam", "delete-policy-version", "--policy-arn", arn, "--version-id", "v3")
    cli(server, "iam", "delete-policy", "--policy-arn", arn)
    cli_error(server, "NoSuchEntity", "GetPolicy", f"Policy {arn} was not found.",
              "iam", "get-policy", "--policy-arn", arn)


def test_quota_errors_as_the_cli_prints_them(server, iam, tmp_path):
    """Set up with boto3 (the CLI is slow to start); the refused calls with the CLI."""
    doc = tmp_path / "doc.json"
    doc.write_text(json.dumps(allow("s3:GetObject")))
    arns = [iam.create_policy(PolicyName=u.uniq(f"q{i}"), PolicyDocument=doc.read_text())["Policy"]["Arn"]
            for i in range(11)]
    user, group = u.uniq("cli-quota"), u.uniq("cli-quota-g")
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    for kind, name, quota in (("user", user, "PoliciesPerUser"), ("group", group, "PoliciesPerGroup")):
        attach = getattr(iam, f"attach_{kind}_policy")
        for arn in arns[:10]:
            attach(**{f"{kind.capitalize()}Name": name, "PolicyArn": arn})
        # Attaching one already attached changes nothing and is no error.
        cli(server, "iam", f"attach-{kind}-policy", f"--{kind}-name", name, "--policy-arn", arns[0])
        cli_error(server, "LimitExceeded", f"Attach{kind.capitalize()}Policy",
                  f"Cannot exceed quota for {quota}: 10",
                  "iam", f"attach-{kind}-policy", f"--{kind}-name", name, "--policy-arn", arns[10])
        got = cli(server, "iam", f"list-attached-{kind}-policies", f"--{kind}-name", name)["AttachedPolicies"]
        assert sorted(p["PolicyArn"] for p in got) == sorted(arns[:10])
    for _ in range(2, 6):
        iam.create_policy_version(PolicyArn=arns[10], PolicyDocument=doc.read_text())
    cli_error(server, "LimitExceeded", "CreatePolicyVersion",
              "A managed policy can have up to 5 versions. Before you create a new version, you must delete "
              "an existing version.",
              "iam", "create-policy-version", "--policy-arn", arns[10], "--policy-document", f"file://{doc}")
    for kind, name in (("user", user), ("group", group)):
        for arn in arns[:10]:
            getattr(iam, f"detach_{kind}_policy")(**{f"{kind.capitalize()}Name": name, "PolicyArn": arn})
        getattr(iam, f"delete_{kind}")(**{f"{kind.capitalize()}Name": name})


@pytest.mark.process
def test_account_summary_counts_exactly(fresh_server):
    """On a server of its own: Policies counts the customer-managed policies,
    PolicyVersionsInUse every version of each and the AWS-managed policies attached
    (set up with boto3; the summary read with the CLI, then boto3)."""
    s = fresh_server
    iam = s.client("iam")
    doc = json.dumps(allow("s3:GetObject"))
    keys = ("Users", "Groups", "Roles", "Policies", "PolicyVersionsInUse")

    def summary():
        m = iam.get_account_summary()["SummaryMap"]
        return tuple(m[k] for k in keys)

    m = cli(s, "iam", "get-account-summary")["SummaryMap"]
    assert tuple(m[k] for k in keys) == (0, 0, 0, 0, 0)
    a = iam.create_policy(PolicyName="a", PolicyDocument=doc)["Policy"]["Arn"]
    b = iam.create_policy(PolicyName="b", PolicyDocument=doc)["Policy"]["Arn"]
    for _ in range(2):
        iam.create_policy_version(PolicyArn=a, PolicyDocument=doc)
    assert summary() == (0, 0, 0, 2, 4)
    iam.create_user(UserName="u")
    iam.create_group(GroupName="g")
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    iam.attach_user_policy(UserName="u", PolicyArn=a)
    iam.attach_group_policy(GroupName="g", PolicyArn=a)
    # An AWS-managed policy counts once, however many entities have it.
    iam.attach_user_policy(UserName="u", PolicyArn=READ_ONLY)
    iam.attach_group_policy(GroupName="g", PolicyArn=READ_ONLY)
    iam.attach_role_policy(RoleName="r", PolicyArn=READ_ONLY)
    m = cli(s, "iam", "get-account-summary")["SummaryMap"]
    assert tuple(m[k] for k in keys) == (1, 1, 1, 2, 5)
    iam.delete_policy_version(PolicyArn=a, VersionId="v2")
    iam.detach_user_policy(UserName="u", PolicyArn=READ_ONLY)
    iam.detach_role_policy(RoleName="r", PolicyArn=READ_ONLY)
    assert summary() == (1, 1, 1, 2, 4)
    iam.detach_group_policy(GroupName="g", PolicyArn=READ_ONLY)
    iam.delete_policy(PolicyArn=b)
    assert summary() == (1, 1, 1, 1, 2)


def readme_block(section):
    """The first ```sh block after the README heading `section`."""
    text = README.read_text()
    after = text[text.index(f"\n## {section}\n"):]
    start = after.index("```sh\n") + len("```sh\n")
    return after[start:after.index("```", start)]


@pytest.mark.process
def test_the_readme_managed_policy_commands_work(fresh_server, tmp_path):
    """The README's managed-policy commands, run as written (endpoint and account
    substituted) by bash with the aws CLI, after the quickstart's melvins."""
    s = fresh_server
    s.client("iam").create_user(UserName="melvins")
    script = readme_block("Managed policies").replace("http://127.0.0.1:9911", s.endpoint).replace(
        "ACCOUNT", u.ACCOUNT_ID)
    assert "attach-user-policy --user-name melvins" in script and "policy/ReadOnlyAccess" in script
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IAMD_"))}
    env.update({"AWS_ACCESS_KEY_ID": s.root_ak, "AWS_SECRET_ACCESS_KEY": s.root_sk,
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null",
                "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_MAX_ATTEMPTS": "1", "AWS_PAGER": ""})
    p = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, (p.stdout, p.stderr)
    iam = s.client("iam")
    arn = f"{u.ARN_PREFIX}:policy/ci-deploy"
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v1"
    assert [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]] == ["v2", "v1"]
    assert iam.list_attached_user_policies(UserName="melvins")["AttachedPolicies"] == []
