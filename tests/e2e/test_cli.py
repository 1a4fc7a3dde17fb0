"""The aws CLI (v1, as pinned in requirements.txt) against the server, via subprocess."""

import json

import e2e_util as u

run_aws = u.run_aws


def j(p):
    return json.loads(p.stdout)


def test_cli_story(server, tmp_path):
    melvins = u.uniq("melvins")
    user = j(run_aws(server, "iam", "create-user", "--user-name", melvins))["User"]
    assert user["UserName"] == melvins
    assert user["Arn"] == u.user_arn(melvins)
    assert user["Path"] == "/"
    assert u.USER_ID_RE.match(user["UserId"])
    assert user["CreateDate"].startswith("20")

    policy = tmp_path / "houdini.json"
    policy.write_text(u.HOUDINI_POLICY)
    p = run_aws(server, "iam", "put-user-policy", "--user-name", melvins,
                "--policy-name", "allow_access_houdini", "--policy-document", f"file://{policy}")
    assert p.stdout.strip() == ""
    got = j(run_aws(server, "iam", "get-user-policy", "--user-name", melvins, "--policy-name", "allow_access_houdini"))
    assert got["PolicyDocument"] == json.loads(u.HOUDINI_POLICY)
    assert j(run_aws(server, "iam", "list-user-policies", "--user-name", melvins))["PolicyNames"] == ["allow_access_houdini"]

    key = j(run_aws(server, "iam", "create-access-key", "--user-name", melvins))["AccessKey"]
    assert key["UserName"] == melvins and key["Status"] == "Active"
    assert u.ACCESS_KEY_ID_RE.match(key["AccessKeyId"]) and u.SECRET_RE.match(key["SecretAccessKey"])

    listed = j(run_aws(server, "iam", "list-users", "--output", "json"))["Users"]
    assert melvins in {x["UserName"] for x in listed}

    root = j(run_aws(server, "sts", "get-caller-identity"))
    assert root == {"UserId": u.ACCOUNT_ID, "Account": u.ACCOUNT_ID, "Arn": u.ROOT_ARN}
    me = j(run_aws(server, "sts", "get-caller-identity", ak=key["AccessKeyId"], sk=key["SecretAccessKey"]))
    assert me["Arn"] == u.user_arn(melvins) and me["UserId"] == user["UserId"]

    # melvins may not administer IAM.
    target = u.uniq("x")
    p = run_aws(server, "iam", "create-user", "--user-name", target,
                ak=key["AccessKeyId"], sk=key["SecretAccessKey"], check=False)
    assert p.returncode == 255, (p.returncode, p.stderr)  # awscli v1: 255 on service errors
    assert ("An error occurred (AccessDenied) when calling the CreateUser operation: "
            + u.not_authorized(u.user_arn(melvins), "iam:CreateUser", u.user_arn(target))) in p.stderr

    # Deleting a user with keys and policies conflicts.
    p = run_aws(server, "iam", "delete-user", "--user-name", melvins, check=False)
    assert p.returncode == 255
    assert "An error occurred (DeleteConflict) when calling the DeleteUser operation: Cannot delete entity" in p.stderr


def test_cli_errors(server):
    p = run_aws(server, "iam", "get-user", "--user-name", "nobody-cli", check=False)
    assert p.returncode == 255, p.returncode
    assert ("An error occurred (NoSuchEntity) when calling the GetUser operation: "
            "The user with name nobody-cli cannot be found.") in p.stderr
    assert p.stdout == ""

    name = u.uniq("clidup")
    run_aws(server, "iam", "create-user", "--user-name", name)
    p = run_aws(server, "iam", "create-user", "--user-name", name, check=False)
    assert p.returncode == 255
    assert f"An error occurred (EntityAlreadyExists) when calling the CreateUser operation: User with name {name} already exists." in p.stderr

    p = run_aws(server, "sts", "get-caller-identity", sk="w" * 40, check=False)
    assert p.returncode == 255
    assert "An error occurred (SignatureDoesNotMatch) when calling the GetCallerIdentity operation" in p.stderr

    p = run_aws(server, "sts", "get-caller-identity", ak="AKIAZZZZZZZZZZZZZZZZ", check=False)
    assert p.returncode == 255
    assert "An error occurred (InvalidClientTokenId) when calling the GetCallerIdentity operation: The security token included in the request is invalid." in p.stderr


def test_cli_groups_and_pagination(server):
    group = u.uniq("admins")
    g = j(run_aws(server, "iam", "create-group", "--group-name", group))["Group"]
    assert g["Arn"] == u.group_arn(group) and u.GROUP_ID_RE.match(g["GroupId"])
    prefix = f"/{u.uniq('cli')}/"
    names = sorted(u.uniq("c") for _ in range(3))
    for n in names:
        run_aws(server, "iam", "create-user", "--user-name", n, "--path", prefix)
        run_aws(server, "iam", "add-user-to-group", "--group-name", group, "--user-name", n)
    # --page-size 1 makes the CLI follow the server's Marker across three requests.
    listed = j(run_aws(server, "iam", "list-users", "--path-prefix", prefix, "--page-size", "1"))
    assert sorted(x["UserName"] for x in listed["Users"]) == names
    members = j(run_aws(server, "iam", "get-group", "--group-name", group, "--page-size", "2"))
    assert sorted(x["UserName"] for x in members["Users"]) == names
    assert members["Group"]["GroupName"] == group
    run_aws(server, "iam", "remove-user-from-group", "--group-name", group, "--user-name", names[0])
    groups = j(run_aws(server, "iam", "list-groups-for-user", "--user-name", names[0]))["Groups"]
    assert groups == []
    text = run_aws(server, "iam", "list-users", "--path-prefix", prefix, "--output", "text",
                   "--query", "Users[].UserName").stdout.split()
    assert sorted(text) == names
