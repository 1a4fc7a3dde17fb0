"""iamd serve on PostgreSQL: the same storage interface as SQLite, a second
implementation. A throwaway cluster is started by the test itself
(crates/iamd-store/pg-test-cluster.sh, Debian's initdb/pg_ctl)."""

import json
import subprocess
import time

import pytest
from botocore.exceptions import ClientError

import e2e_util as u

pytestmark = pytest.mark.process

MASTER_KEY = "7f" * 32


@pytest.fixture(scope="module")
def pg():
    with u.pg_cluster() as (url, _):
        yield url


make_db = u.make_db


def pg_server(tmp, url, node):
    s = u.new_server(tmp / node, extra_env={"IAMD_DATABASE_URL": url, "IAMD_MASTER_KEY": MASTER_KEY})
    return s


def test_seed_story_survives_restart_and_kill(pg, tmp_path):
    url = make_db(pg, "story")
    s = pg_server(tmp_path, url, "a")
    try:
        iam = s.client("iam")
        iam.create_user(UserName="melvins")
        iam.put_user_policy(UserName="melvins", PolicyName="allow_access_houdini", PolicyDocument=json.dumps(
            {"Statement": [{"Effect": "Allow", "Action": "s3:*",
                            "Resource": ["arn:aws:s3:::houdini", "arn:aws:s3:::houdini/*"]}]}))
        key = iam.create_access_key(UserName="melvins")["AccessKey"]
        iam.create_group(GroupName="admins")
        iam.put_group_policy(GroupName="admins", PolicyName="allow_all", PolicyDocument=json.dumps(
            {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        for n in ("buzzo", "lorax", "dale"):
            iam.create_user(UserName=n)
            iam.add_user_to_group(GroupName="admins", UserName=n)
        iam.remove_user_from_group(GroupName="admins", UserName="lorax")
        s.kill()  # kill -9: every acknowledged write must be in PostgreSQL
        s.start()
        iam = s.client("iam")
        names = sorted(m["UserName"] for m in iam.get_group(GroupName="admins")["Users"])
        assert names == ["buzzo", "dale"]
        assert iam.list_user_policies(UserName="melvins")["PolicyNames"] == ["allow_access_houdini"]
        # The key still verifies after restart (secret decrypted with the same master key)…
        who = s.client("sts", key["AccessKeyId"], key["SecretAccessKey"]).get_caller_identity()
        assert who["Arn"] == "arn:aws:iam::123456789012:user/melvins"
        # …and melvins is still refused IAM.
        with pytest.raises(ClientError) as e:
            s.client("iam", key["AccessKeyId"], key["SecretAccessKey"]).create_user(UserName="x")
        assert e.value.response["Error"]["Code"] == "AccessDenied"
        # The secret is not stored in clear in the database.
        dump = subprocess.run(["psql", url, "-Atc", "SELECT * FROM access_keys"], check=True,
                              capture_output=True, text=True).stdout
        assert key["AccessKeyId"] in dump and key["SecretAccessKey"] not in dump
    finally:
        s.kill()


def test_two_nodes_conflicting_create_one_wins(pg, tmp_path):
    """Two servers on one database: the database's uniqueness decides, the loser
    gets AWS's conflict error and nothing half-written."""
    url = make_db(pg, "nodes")
    a = pg_server(tmp_path, url, "a")
    b = pg_server(tmp_path, url, "b")
    try:
        a.client("iam").create_user(UserName="Shared")
        with pytest.raises(ClientError) as e:
            b.client("iam").create_user(UserName="shared")  # b has not seen a's write in memory
        assert e.value.response["Error"]["Code"] == "EntityAlreadyExists"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
        b.restart()
        assert [x["UserName"] for x in b.client("iam").list_users()["Users"]] == ["Shared"]
    finally:
        a.kill()
        b.kill()


def test_permissions_boundary_survives_restart(pg, tmp_path):
    url = make_db(pg, "boundaries")
    s = pg_server(tmp_path, url, "a")
    try:
        iam = s.client("iam")
        barn = iam.create_policy(PolicyName="b", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:GetUser",
                                                      "Resource": "*"}]}))["Policy"]["Arn"]
        iam.create_user(UserName="bounded", PermissionsBoundary=barn)
        iam.put_user_policy(UserName="bounded", PolicyName="all", PolicyDocument=json.dumps(
            {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="bounded")["AccessKey"]
        s.kill()
        s.start()
        iam = s.client("iam")
        user = iam.get_user(UserName="bounded")["User"]
        assert user["PermissionsBoundary"] == {"PermissionsBoundaryType": "PermissionsBoundaryPolicy",
                                               "PermissionsBoundaryArn": barn}
        assert iam.get_policy(PolicyArn=barn)["Policy"]["PermissionsBoundaryUsageCount"] == 1
        me = s.client("iam", key["AccessKeyId"], key["SecretAccessKey"])
        me.get_user(UserName="bounded")
        with pytest.raises(ClientError) as e:
            me.list_users()
        assert e.value.response["Error"]["Code"] == "AccessDenied"
        assert "because no permissions boundary allows the iam:ListUsers action" in \
            e.value.response["Error"]["Message"]
    finally:
        s.kill()


def session_client(s, service, creds):
    import boto3
    from botocore.config import Config
    return boto3.session.Session().client(
        service, endpoint_url=s.endpoint, region_name=u.REGION,
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        config=Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"}))


def test_role_story_survives_kill_on_postgres(pg, tmp_path):
    """The role story on PostgreSQL: a role trusting melvins with an ExternalId, its inline
    and attached policies and instance profile; melvins assumes it with boto3; after kill -9
    and a restart the role, its policies and the live session (a self-contained token
    under a key derived from the same master key) all still work."""
    url = make_db(pg, "roles")
    s = pg_server(tmp_path, url, "a")
    try:
        iam = s.client("iam")
        s.client("s3").create_bucket(Bucket="houdini")
        iam.create_user(UserName="melvins")
        melvins_arn = iam.get_user(UserName="melvins")["User"]["Arn"]
        key = iam.create_access_key(UserName="melvins")["AccessKey"]
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": melvins_arn}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": "houdini-ext"}}}]}
        role = iam.create_role(RoleName="houdini-writer", AssumeRolePolicyDocument=json.dumps(trust),
                               Tags=[{"Key": "team", "Value": "houdini"}])["Role"]
        iam.put_role_policy(RoleName="houdini-writer", PolicyName="houdini", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*",
             "Resource": ["arn:aws:s3:::houdini", "arn:aws:s3:::houdini/*"]}]}))
        lister = iam.create_policy(PolicyName="lister", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListUsers",
                                                      "Resource": "*"}]}))["Policy"]["Arn"]
        iam.attach_role_policy(RoleName="houdini-writer", PolicyArn=lister)
        iam.create_instance_profile(InstanceProfileName="web")
        iam.add_role_to_instance_profile(InstanceProfileName="web", RoleName="houdini-writer")
        sts = s.client("sts", key["AccessKeyId"], key["SecretAccessKey"])
        creds = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="before",
                                ExternalId="houdini-ext")["Credentials"]
        session_client(s, "s3", creds).put_object(Bucket="houdini", Key="k", Body=b"written before")

        s.kill()  # kill -9
        s.start()

        iam = s.client("iam")
        got = iam.get_role(RoleName="houdini-writer")["Role"]
        assert got["RoleId"] == role["RoleId"]
        doc = got["AssumeRolePolicyDocument"]
        assert doc["Statement"][0]["Principal"] == {"AWS": melvins_arn}
        assert doc["Statement"][0]["Condition"] == {"StringEquals": {"sts:ExternalId": "houdini-ext"}}
        assert got["Tags"] == [{"Key": "team", "Value": "houdini"}]
        assert "LastUsedDate" in got["RoleLastUsed"]
        assert iam.list_role_policies(RoleName="houdini-writer")["PolicyNames"] == ["houdini"]
        assert [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="houdini-writer")["AttachedPolicies"]] == [lister]
        assert [r["RoleName"] for r in iam.get_instance_profile(InstanceProfileName="web")["InstanceProfile"]["Roles"]] == ["houdini-writer"]
        # The live session of before the kill: still valid, still the role's permissions.
        who = session_client(s, "sts", creds).get_caller_identity()
        assert who["Arn"] == "arn:aws:sts::123456789012:assumed-role/houdini-writer/before"
        s3 = session_client(s, "s3", creds)
        assert s3.get_object(Bucket="houdini", Key="k")["Body"].read() == b"written before"
        assert "melvins" in [x["UserName"] for x in session_client(s, "iam", creds).list_users()["Users"]]
        with pytest.raises(ClientError) as e:
            session_client(s, "iam", creds).list_roles()
        assert e.value.response["Error"]["Code"] == "AccessDenied"
        # The trust still holds, ExternalId included.
        again = s.client("sts", key["AccessKeyId"], key["SecretAccessKey"]).assume_role(
            RoleArn=role["Arn"], RoleSessionName="after", ExternalId="houdini-ext")["Credentials"]
        assert session_client(s, "sts", again).get_caller_identity()["Arn"].endswith("/houdini-writer/after")
        with pytest.raises(ClientError) as e:
            s.client("sts", key["AccessKeyId"], key["SecretAccessKey"]).assume_role(
                RoleArn=role["Arn"], RoleSessionName="after")
        assert e.value.response["Error"]["Code"] == "AccessDenied"
        # A policy change reaches the live session at once, after the restart too.
        iam.detach_role_policy(RoleName="houdini-writer", PolicyArn=lister)
        with pytest.raises(ClientError) as e:
            session_client(s, "iam", creds).list_users()
        assert e.value.response["Error"]["Code"] == "AccessDenied"
    finally:
        s.kill()


def test_managed_policies_boundaries_and_tags_survive_restart(pg, tmp_path):
    """Customer-managed policies (versions, default, path, description, tags),
    attachments to a user, a group and a role (customer- and AWS-managed), boundaries
    (customer- and AWS-managed), tags and the counts all come back from PostgreSQL
    after kill -9, and decide as before; the versions still switch afterwards."""
    url = make_db(pg, "managed")
    s = pg_server(tmp_path, url, "a")
    read_only = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    s3_read_only = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"

    def allow(*actions):
        return json.dumps({"Version": "2012-10-17",
                           "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]})

    def body(r):
        return {k: v for k, v in r.items() if k != "ResponseMetadata"}

    def snapshot(iam, arns):
        return {
            "policies": [iam.get_policy(PolicyArn=a)["Policy"] for a in arns],
            "versions": [iam.list_policy_versions(PolicyArn=a)["Versions"] for a in arns],
            "documents": [iam.get_policy_version(PolicyArn=arns[0], VersionId=v)["PolicyVersion"]["Document"]
                          for v in ("v1", "v2", "v3")],
            "entities": [body(iam.list_entities_for_policy(PolicyArn=a)) for a in arns],
            "bounded": body(iam.list_entities_for_policy(PolicyArn=s3_read_only,
                                                         PolicyUsageFilter="PermissionsBoundary")),
            "policy_tags": iam.list_policy_tags(PolicyArn=arns[0])["Tags"],
            "user": iam.get_user(UserName="reader")["User"],
            "role": iam.get_role(RoleName="r")["Role"],
            "attached": [iam.list_attached_user_policies(UserName="reader")["AttachedPolicies"],
                         iam.list_attached_group_policies(GroupName="g")["AttachedPolicies"],
                         iam.list_attached_role_policies(RoleName="r")["AttachedPolicies"]],
            "local": iam.list_policies(Scope="Local")["Policies"],
            "aws_attached": iam.list_policies(Scope="AWS", OnlyAttached=True)["Policies"],
            "summary": iam.get_account_summary()["SummaryMap"],
        }

    def decisions(me):
        me.list_users()  # ReadOnlyAccess (the group's) within the boundary
        with pytest.raises(ClientError) as e:
            me.get_user(UserName="reader")  # ReadOnlyAccess allows it, the boundary does not
        assert "because no permissions boundary allows the iam:GetUser action" in e.value.response["Error"]["Message"]
        with pytest.raises(ClientError) as e:
            me.create_group(GroupName="made")  # deploy's default (v2) does not allow it
        assert e.value.response["Error"]["Code"] == "AccessDenied"

    try:
        iam = s.client("iam")
        bound = iam.create_policy(PolicyName="bound", PolicyDocument=allow("iam:List*", "iam:CreateGroup"))
        bound = bound["Policy"]["Arn"]
        deploy = iam.create_policy(PolicyName="deploy", Path="/ci/", Description="ci deploys",
                                   PolicyDocument=allow("iam:CreateGroup"),
                                   Tags=[{"Key": "team", "Value": "ci"}])["Policy"]["Arn"]
        iam.create_policy_version(PolicyArn=deploy, PolicyDocument=allow("iam:GetGroup"), SetAsDefault=True)
        iam.create_policy_version(PolicyArn=deploy, PolicyDocument=allow("*"))
        iam.create_user(UserName="reader", PermissionsBoundary=bound, Tags=[{"Key": "team", "Value": "a"}])
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        iam.create_group(GroupName="g")
        iam.add_user_to_group(GroupName="g", UserName="reader")
        iam.attach_user_policy(UserName="reader", PolicyArn=deploy)
        iam.attach_group_policy(GroupName="g", PolicyArn=read_only)
        iam.create_role(RoleName="r", PermissionsBoundary=s3_read_only, Tags=[{"Key": "tier", "Value": "web"}],
                        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
                            "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                            "Action": "sts:AssumeRole"}]}))
        iam.attach_role_policy(RoleName="r", PolicyArn=deploy)
        iam.attach_role_policy(RoleName="r", PolicyArn=read_only)
        arns = [deploy, bound, read_only, s3_read_only]
        before = snapshot(iam, arns)
        assert [(p["AttachmentCount"], p["PermissionsBoundaryUsageCount"]) for p in before["policies"]] == [
            (2, 0), (0, 1), (2, 0), (0, 1)]
        assert [r["RoleName"] for r in before["bounded"]["PolicyRoles"]] == ["r"]
        # deploy's 3 versions, bound's 1, and the defaults of ReadOnlyAccess (attached) and
        # AmazonS3ReadOnlyAccess (a boundary: in use too, as ListPolicies' OnlyAttached counts it).
        assert (before["summary"]["Policies"], before["summary"]["PolicyVersionsInUse"]) == (2, 6)
        me = s.client("iam", key["AccessKeyId"], key["SecretAccessKey"])
        decisions(me)

        s.kill()  # kill -9: every acknowledged write must be in PostgreSQL
        s.start()
        iam = s.client("iam")
        after = snapshot(iam, arns)
        for k in before:
            assert after[k] == before[k], k
        assert iam.list_user_tags(UserName="reader")["Tags"] == [{"Key": "team", "Value": "a"}]
        assert iam.list_role_tags(RoleName="r")["Tags"] == [{"Key": "tier", "Value": "web"}]
        me = s.client("iam", key["AccessKeyId"], key["SecretAccessKey"])
        decisions(me)
        # The stored versions switch as before: v1 allows CreateGroup, within the boundary.
        iam.set_default_policy_version(PolicyArn=deploy, VersionId="v1")
        me.create_group(GroupName="made")
        assert iam.create_policy_version(PolicyArn=deploy, PolicyDocument=allow("s3:*"))[
            "PolicyVersion"]["VersionId"] == "v4"
    finally:
        s.kill()


def test_second_account_on_postgres(pg, tmp_path):
    """`iamd account create` against PostgreSQL: the second account's namespace,
    root key and a cross-account role survive a restart."""
    import os

    url = make_db(pg, "accounts")
    s = pg_server(tmp_path, url, "a")
    try:
        s.client("iam").create_user(UserName="bob")
        s.stop()
        env = {k: v for k, v in os.environ.items() if not k.startswith("IAMD_")}
        env.update({"IAMD_DATABASE_URL": url, "IAMD_MASTER_KEY": MASTER_KEY})
        r = subprocess.run([str(u.iamd_bin()), "account", "create", "--account-id", "210987654321",
                            "--data-dir", str(s.data_dir)], env=env, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stderr
        cred = s.data_dir / "root-credentials-210987654321"
        import configparser

        cp = configparser.ConfigParser()
        cp.read_string(cred.read_text())
        ak, sk = cp["default"]["aws_access_key_id"], cp["default"]["aws_secret_access_key"]
        assert sk not in r.stdout
        s.start()
        b = s.client("iam", ak, sk)
        assert b.create_user(UserName="bob")["User"]["Arn"] == "arn:aws:iam::210987654321:user/bob"
        b.put_user_policy(UserName="bob", PolicyName="p", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                      "Resource": "*"}]}))
        key = b.create_access_key(UserName="bob")["AccessKey"]
        s.client("iam").create_role(RoleName="shared", AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                      "Principal": {"AWS": "arn:aws:iam::210987654321:root"}}]}))
        s.kill()
        s.start()
        assert s.client("iam", ak, sk).get_user(UserName="bob")["User"]["Arn"] == \
            "arn:aws:iam::210987654321:user/bob"
        assert s.client("iam").get_user(UserName="bob")["User"]["Arn"] == "arn:aws:iam::123456789012:user/bob"
        got = s.client("sts", key["AccessKeyId"], key["SecretAccessKey"]).assume_role(
            RoleArn="arn:aws:iam::123456789012:role/shared", RoleSessionName="x1")
        assert got["AssumedRoleUser"]["Arn"] == "arn:aws:sts::123456789012:assumed-role/shared/x1"
    finally:
        s.kill()


def test_bucket_settings_and_edge_rules_on_postgres(pg, tmp_path):
    """Issue 13 on PostgreSQL: stored bucket settings survive a restart and go with
    their bucket; DeleteBucket aborts unfinished uploads; lifecycle rules apply."""
    url = make_db(pg, "settings")
    s = u.new_server(tmp_path / "a", extra_env={
        "IAMD_DATABASE_URL": url, "IAMD_MASTER_KEY": MASTER_KEY, "IAMD_S3_LIFECYCLE_INTERVAL": "1"})
    try:
        c = s.client("s3")
        c.create_bucket(Bucket="set")
        tags = [{"Key": "team", "Value": "a"}]
        c.put_bucket_tagging(Bucket="set", Tagging={"TagSet": tags})
        c.put_public_access_block(Bucket="set", PublicAccessBlockConfiguration={"BlockPublicPolicy": True})
        c.put_bucket_cors(Bucket="set", CORSConfiguration={"CORSRules": [
            {"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]})
        s.kill()
        s.start()
        c = s.client("s3")
        assert c.get_bucket_tagging(Bucket="set")["TagSet"] == tags
        assert c.get_public_access_block(Bucket="set")["PublicAccessBlockConfiguration"]["BlockPublicPolicy"]
        assert c.get_bucket_cors(Bucket="set")["CORSRules"][0]["AllowedOrigins"] == ["*"]
        up = c.create_multipart_upload(Bucket="set", Key="k")["UploadId"]
        c.upload_part(Bucket="set", Key="k", UploadId=up, PartNumber=1, Body=b"x")
        c.delete_bucket(Bucket="set")
        c.create_bucket(Bucket="set")
        with pytest.raises(ClientError) as e:
            c.get_bucket_tagging(Bucket="set")
        assert e.value.response["Error"]["Code"] == "NoSuchTagSet"
        assert c.list_multipart_uploads(Bucket="set").get("Uploads", []) == []
        c.put_object(Bucket="set", Key="old/a", Body=b"x")
        c.put_object(Bucket="set", Key="new/b", Body=b"x")
        c.put_bucket_lifecycle_configuration(Bucket="set", LifecycleConfiguration={"Rules": [
            {"ID": "old", "Filter": {"Prefix": "old/"}, "Status": "Enabled",
             "Expiration": {"Date": "2020-01-01T00:00:00Z"}}]})
        deadline = time.monotonic() + 30
        keys = None
        while time.monotonic() < deadline:
            keys = [o["Key"] for o in c.list_objects_v2(Bucket="set").get("Contents", [])]
            if keys == ["new/b"]:
                break
            time.sleep(0.2)
        assert keys == ["new/b"]
    finally:
        s.kill()


def test_s3_checksums_on_postgres(pg, tmp_path):
    """Checksums kept on PostgreSQL (issue 13): a part's checksum (schema 7 columns)
    between UploadPart and Complete across a kill -9, the composite it yields, and a
    PutObject's default CRC32 from boto3."""
    import base64
    import hashlib
    url = make_db(pg, "sums")
    s = pg_server(tmp_path, url, "a")
    try:
        s3 = s.client("s3")
        s3.create_bucket(Bucket="sums")
        r = s3.put_object(Bucket="sums", Key="one", Body=b"one")
        parts = [b"a" * (5 * 1024 * 1024), b"b" * 10]
        uid = s3.create_multipart_upload(Bucket="sums", Key="mp", ChecksumAlgorithm="SHA1")["UploadId"]
        done = []
        for n, p in enumerate(parts, 1):
            e = s3.upload_part(Bucket="sums", Key="mp", UploadId=uid, PartNumber=n, Body=p,
                               ChecksumAlgorithm="SHA1")
            done.append({"PartNumber": n, "ETag": e["ETag"], "ChecksumSHA1": e["ChecksumSHA1"]})
        s.kill()
        s.start()
        s3 = s.client("s3")
        listed = s3.list_parts(Bucket="sums", Key="mp", UploadId=uid)
        assert [p["ChecksumSHA1"] for p in listed["Parts"]] == [d["ChecksumSHA1"] for d in done]
        c = s3.complete_multipart_upload(Bucket="sums", Key="mp", UploadId=uid,
                                         MultipartUpload={"Parts": done})
        composite = base64.b64encode(hashlib.sha1(b"".join(
            hashlib.sha1(p).digest() for p in parts)).digest()).decode()
        assert (c["ChecksumSHA1"], c["ChecksumType"]) == (f"{composite}-2", "COMPOSITE")
        h = s3.head_object(Bucket="sums", Key="one", ChecksumMode="ENABLED")
        assert h["ChecksumCRC32"] == r["ChecksumCRC32"]
    finally:
        s.kill()
