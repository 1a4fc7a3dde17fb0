"""The S3 endpoint guarded by IAM: the seed story (melvins may use houdini and nothing
else; admins may do everything; removing lorax from admins revokes him at once),
bucket policies (public prefix, SecureTransport deny), the aws CLI, s3cmd, boto3,
presigned URLs and a 100 MiB multipart round trip."""

import hashlib
import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request

import botocore
import pytest
from botocore.config import Config

import e2e_util as u

S3CMD = shutil.which("s3cmd") or "s3cmd"

MELVINS_POLICY = json.dumps({
    # 2011-style: no Version.
    "Statement": [{
        "Effect": "Allow",
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::houdini", "arn:aws:s3:::houdini/*"],
    }]
})
ADMIN_POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
})


def s3_client(server, ak=None, sk=None, **cfg):
    return server.client("s3", ak, sk, **cfg)


def denied(exc_info):
    e = exc_info.value
    return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture(scope="module")
def story(server, iam):
    """Root creates houdini and other; melvins with the inline policy; buzzo, lorax
    and dale in admins."""
    root = s3_client(server)
    root.create_bucket(Bucket="houdini")
    root.create_bucket(Bucket="other")
    root.put_object(Bucket="other", Key="secret.txt", Body=b"not for melvins")
    keys = {}
    iam.create_user(UserName="melvins")
    iam.put_user_policy(UserName="melvins", PolicyName="allow_access_houdini",
                        PolicyDocument=MELVINS_POLICY)
    k = iam.create_access_key(UserName="melvins")["AccessKey"]
    keys["melvins"] = (k["AccessKeyId"], k["SecretAccessKey"])
    iam.create_group(GroupName="admins")
    iam.put_group_policy(GroupName="admins", PolicyName="all", PolicyDocument=ADMIN_POLICY)
    for name in ("buzzo", "lorax", "dale"):
        iam.create_user(UserName=name)
        iam.add_user_to_group(GroupName="admins", UserName=name)
        k = iam.create_access_key(UserName=name)["AccessKey"]
        keys[name] = (k["AccessKeyId"], k["SecretAccessKey"])
    return keys


def client_for(server, story, name, **cfg):
    ak, sk = story[name]
    return s3_client(server, ak, sk, **cfg)


def test_melvins_uses_houdini(server, story):
    m = client_for(server, story, "melvins")
    etag = m.put_object(Bucket="houdini", Key="img/cat.jpg", Body=b"meow",
                        ContentType="image/jpeg", Metadata={"shot-by": "melvins"})["ETag"]
    assert etag == '"%s"' % hashlib.md5(b"meow").hexdigest()
    listed = m.list_objects_v2(Bucket="houdini")
    assert [o["Key"] for o in listed["Contents"]] == ["img/cat.jpg"]
    got = m.get_object(Bucket="houdini", Key="img/cat.jpg")
    assert got["Body"].read() == b"meow"
    assert got["ContentType"] == "image/jpeg"
    assert got["Metadata"] == {"shot-by": "melvins"}
    m.delete_object(Bucket="houdini", Key="img/cat.jpg")
    assert m.list_objects_v2(Bucket="houdini")["KeyCount"] == 0


def test_melvins_is_refused_everywhere_else(server, story):
    m = client_for(server, story, "melvins")
    for call in (
        lambda: m.list_objects_v2(Bucket="other"),
        lambda: m.list_objects(Bucket="other"),
        lambda: m.put_object(Bucket="other", Key="x", Body=b"x"),
        lambda: m.get_object(Bucket="other", Key="secret.txt"),
        lambda: m.head_object(Bucket="other", Key="secret.txt"),
        lambda: m.delete_object(Bucket="other", Key="secret.txt"),
        lambda: m.list_buckets(),
        lambda: m.create_bucket(Bucket="melvins-own"),
        lambda: m.get_bucket_policy(Bucket="other"),
    ):
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            call()
        code, status = denied(ei)
        assert status == 403, ei.value.response
        assert code in ("AccessDenied", "403"), ei.value.response
    # The denial explains itself (engine's message) on a request with a body.
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        m.put_object(Bucket="other", Key="x", Body=b"x")
    msg = ei.value.response["Error"]["Message"]
    assert "arn:aws:iam::123456789012:user/melvins" in msg and "s3:PutObject" in msg
    assert "arn:aws:s3:::other/x" in msg
    # Nothing was written or deleted.
    root = s3_client(server)
    assert root.get_object(Bucket="other", Key="secret.txt")["Body"].read() == b"not for melvins"
    with pytest.raises(botocore.exceptions.ClientError):
        root.head_object(Bucket="other", Key="x")


def test_admins_can_do_everything(server, story):
    for name in ("buzzo", "dale"):
        c = client_for(server, story, name)
        names = {b["Name"] for b in c.list_buckets()["Buckets"]}
        assert {"houdini", "other"} <= names
        c.put_object(Bucket="other", Key=f"{name}.txt", Body=name.encode())
        assert c.get_object(Bucket="other", Key=f"{name}.txt")["Body"].read() == name.encode()
        c.delete_object(Bucket="other", Key=f"{name}.txt")
        bucket = f"{name}-bucket"
        c.create_bucket(Bucket=bucket)
        c.delete_bucket(Bucket=bucket)


def test_lorax_leaves_and_is_refused_at_once(server, story, iam):
    lorax = client_for(server, story, "lorax")
    lorax.put_object(Bucket="other", Key="lorax.txt", Body=b"hi")
    iam.remove_user_from_group(GroupName="admins", UserName="lorax")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        lorax.get_object(Bucket="other", Key="lorax.txt")
    assert denied(ei) == ("AccessDenied", 403)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        lorax.list_buckets()
    assert denied(ei) == ("AccessDenied", 403)


def test_unknown_key_and_bad_secret(server, story):
    c = s3_client(server, "AKIAZZZZZZZZZZZZZZZZ", "x" * 40)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        c.list_buckets()
    assert denied(ei) == ("InvalidAccessKeyId", 403)
    ak, _ = story["melvins"]
    c = s3_client(server, ak, "w" * 40)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        c.list_objects_v2(Bucket="houdini")
    assert denied(ei) == ("SignatureDoesNotMatch", 403)


def test_session_tokens_are_refused(server, story):
    ak, sk = story["buzzo"]
    c = boto3_client_with_token(server, ak, sk)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        c.list_buckets()
    code, status = denied(ei)
    assert status in (400, 403) and code in ("InvalidToken", "InvalidAccessKeyId"), ei.value.response


def boto3_client_with_token(server, ak, sk):
    import boto3

    return boto3.session.Session().client(
        "s3", endpoint_url=server.endpoint, region_name="us-east-1",
        aws_access_key_id=ak, aws_secret_access_key=sk, aws_session_token="FQoGZXIvYXdzEPT//////////wEaDM",
        config=Config(retries={"total_max_attempts": 1}),
    )


def unsigned(server):
    return s3_client(server, signature_version=botocore.UNSIGNED)


def test_public_prefix_by_bucket_policy(server, story):
    root = s3_client(server)
    root.create_bucket(Bucket="gallery")
    root.put_object(Bucket="gallery", Key="public/a.txt", Body=b"open")
    root.put_object(Bucket="gallery", Key="private/b.txt", Body=b"closed")
    anon = unsigned(server)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        anon.get_object(Bucket="gallery", Key="public/a.txt")
    assert denied(ei) == ("AccessDenied", 403)
    root.put_bucket_policy(Bucket="gallery", Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::gallery/public/*",
        }],
    }))
    assert anon.get_object(Bucket="gallery", Key="public/a.txt")["Body"].read() == b"open"
    # Plain urllib, no signature at all.
    with urllib.request.urlopen(f"{server.endpoint}/gallery/public/a.txt") as r:
        assert r.read() == b"open"
    for call in (
        lambda: anon.get_object(Bucket="gallery", Key="private/b.txt"),
        lambda: anon.put_object(Bucket="gallery", Key="public/new.txt", Body=b"x"),
        lambda: anon.list_objects_v2(Bucket="gallery"),
        lambda: anon.get_object(Bucket="other", Key="secret.txt"),
    ):
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            call()
        assert denied(ei)[1] == 403
    status = root.get_bucket_policy_status(Bucket="gallery")["PolicyStatus"]
    assert status["IsPublic"] is True
    root.delete_bucket_policy(Bucket="gallery")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        anon.get_object(Bucket="gallery", Key="public/a.txt")
    assert denied(ei) == ("AccessDenied", 403)


def test_bucket_policy_grants_a_user_without_identity_policy(server, story, iam):
    iam.create_user(UserName="guest")
    k = iam.create_access_key(UserName="guest")["AccessKey"]
    guest = s3_client(server, k["AccessKeyId"], k["SecretAccessKey"])
    root = s3_client(server)
    root.create_bucket(Bucket="shared")
    root.put_object(Bucket="shared", Key="doc.txt", Body=b"doc")
    with pytest.raises(botocore.exceptions.ClientError):
        guest.get_object(Bucket="shared", Key="doc.txt")
    # Naming only the account grants nothing by itself.
    root.put_bucket_policy(Bucket="shared", Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                       "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared/*"}],
    }))
    with pytest.raises(botocore.exceptions.ClientError):
        guest.get_object(Bucket="shared", Key="doc.txt")
    # Naming the user grants with no identity policy.
    root.put_bucket_policy(Bucket="shared", Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": u.user_arn("guest")},
                       "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared/*"}],
    }))
    assert guest.get_object(Bucket="shared", Key="doc.txt")["Body"].read() == b"doc"
    with pytest.raises(botocore.exceptions.ClientError):
        guest.put_object(Bucket="shared", Key="doc2.txt", Body=b"x")


def test_secure_transport_deny_blocks_plain_http(server, story):
    root = s3_client(server)
    root.create_bucket(Bucket="tlsonly")
    root.put_object(Bucket="tlsonly", Key="k", Body=b"v")
    buzzo = client_for(server, story, "buzzo")
    assert buzzo.get_object(Bucket="tlsonly", Key="k")["Body"].read() == b"v"
    root.put_bucket_policy(Bucket="tlsonly", Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": ["arn:aws:s3:::tlsonly", "arn:aws:s3:::tlsonly/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }],
    }))
    for c in (buzzo, root):
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            c.get_object(Bucket="tlsonly", Key="k")
        assert denied(ei) == ("AccessDenied", 403)
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            c.put_object(Bucket="tlsonly", Key="k2", Body=b"v")
        assert denied(ei) == ("AccessDenied", 403)
    # The owner's root can always read and replace its bucket's policy (lockout recovery).
    assert "SecureTransport" in root.get_bucket_policy(Bucket="tlsonly")["Policy"]
    root.delete_bucket_policy(Bucket="tlsonly")
    assert buzzo.get_object(Bucket="tlsonly", Key="k")["Body"].read() == b"v"


def test_malformed_bucket_policy(server, story):
    root = s3_client(server)
    for bad in ("{not json", json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::houdini/*"}]})):
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            root.put_bucket_policy(Bucket="houdini", Policy=bad)
        assert denied(ei) == ("MalformedPolicy", 400), ei.value.response
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        root.get_bucket_policy(Bucket="houdini")
    assert denied(ei) == ("NoSuchBucketPolicy", 404)


def test_presigned_urls(server, story, tmp_path):
    m = client_for(server, story, "melvins")
    m.put_object(Bucket="houdini", Key="pre/sign me.txt", Body=b"presigned")
    url = m.generate_presigned_url("get_object", Params={"Bucket": "houdini", "Key": "pre/sign me.txt"},
                                   ExpiresIn=60)
    with urllib.request.urlopen(url) as r:
        assert r.read() == b"presigned"
    # Presigned for a bucket melvins may not read: the engine still decides.
    url = m.generate_presigned_url("get_object", Params={"Bucket": "other", "Key": "secret.txt"})
    with pytest.raises(urllib.error.HTTPError) as ei:
        urllib.request.urlopen(url)
    assert ei.value.code == 403
    # Expiry is enforced.
    url = m.generate_presigned_url("get_object", Params={"Bucket": "houdini", "Key": "pre/sign me.txt"},
                                   ExpiresIn=1)
    import time

    time.sleep(2.2)
    with pytest.raises(urllib.error.HTTPError) as ei:
        urllib.request.urlopen(url)
    assert ei.value.code == 403
    assert b"AccessDenied" in ei.value.read()
    # Tampering breaks the signature.
    url = m.generate_presigned_url("get_object", Params={"Bucket": "houdini", "Key": "pre/sign me.txt"})
    with pytest.raises(urllib.error.HTTPError) as ei:
        urllib.request.urlopen(url.replace("pre/sign", "pre/SIGN"))
    assert ei.value.code == 403
    # SigV4 presigning (X-Amz-Expires enforced too), and a presigned PUT.
    ak, sk = story["melvins"]
    m4 = s3_client(server, ak, sk, signature_version="s3v4")
    url = m4.generate_presigned_url("get_object", Params={"Bucket": "houdini", "Key": "pre/sign me.txt"},
                                    ExpiresIn=1)
    assert "X-Amz-Signature=" in url
    with urllib.request.urlopen(url) as r:
        assert r.read() == b"presigned"
    time.sleep(2.2)
    with pytest.raises(urllib.error.HTTPError) as ei:
        urllib.request.urlopen(url)
    assert ei.value.code == 403
    url = m4.generate_presigned_url("put_object", Params={"Bucket": "houdini", "Key": "pre/up.txt"})
    req = urllib.request.Request(url, data=b"uploaded", method="PUT",
                                 headers={"Content-Type": "application/octet-stream"})
    with urllib.request.urlopen(req) as r:
        assert r.status == 200
    assert m.get_object(Bucket="houdini", Key="pre/up.txt")["Body"].read() == b"uploaded"


# -- the aws CLI -------------------------------------------------------------------

run_aws = u.run_aws


def test_aws_cli_cp_ls_rm_presign(server, story, tmp_path):
    ak, sk = story["melvins"]
    f = tmp_path / "photo.jpg"
    f.write_bytes(b"\xff\xd8jpeg" * 1000)
    run_aws(server, "s3", "cp", str(f), "s3://houdini/cli/photo.jpg", "--only-show-errors", ak=ak, sk=sk)
    out = run_aws(server, "s3", "ls", "s3://houdini/cli/", ak=ak, sk=sk).stdout
    assert "photo.jpg" in out and str(f.stat().st_size) in out
    back = tmp_path / "back.jpg"
    run_aws(server, "s3", "cp", "s3://houdini/cli/photo.jpg", str(back), "--only-show-errors", ak=ak, sk=sk)
    assert back.read_bytes() == f.read_bytes()
    url = run_aws(server, "s3", "presign", "s3://houdini/cli/photo.jpg", ak=ak, sk=sk).stdout.strip()
    with urllib.request.urlopen(url) as r:
        assert r.read() == f.read_bytes()
    p = run_aws(server, "s3", "cp", str(f), "s3://other/photo.jpg", ak=ak, sk=sk, check=False)
    assert p.returncode != 0 and "AccessDenied" in p.stderr
    p = run_aws(server, "s3", "ls", ak=ak, sk=sk, check=False)
    assert p.returncode != 0 and "AccessDenied" in p.stderr
    run_aws(server, "s3", "rm", "s3://houdini/cli/photo.jpg", ak=ak, sk=sk)
    assert "photo.jpg" not in run_aws(server, "s3", "ls", "s3://houdini/cli/", ak=ak, sk=sk, check=False).stdout


def big_file(tmp_path, mib=100):
    f = tmp_path / f"big{mib}.bin"
    block = os.urandom(1024 * 1024)
    h = hashlib.sha256()
    with open(f, "wb") as out:
        for i in range(mib):
            chunk = bytes([i % 256]) + block[1:]
            out.write(chunk)
            h.update(chunk)
    return f, h.hexdigest()


def sha256_file(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def test_100mib_multipart_aws_cli(server, story, tmp_path):
    ak, sk = story["melvins"]
    f, digest = big_file(tmp_path)
    run_aws(server, "s3", "cp", str(f), "s3://houdini/big/aws.bin", "--only-show-errors", ak=ak, sk=sk)
    head = s3_client(server, ak, sk).head_object(Bucket="houdini", Key="big/aws.bin")
    assert head["ContentLength"] == 100 * 1024 * 1024
    assert head["ETag"].endswith('-13"'), head["ETag"]  # 8 MiB parts: multipart
    back = tmp_path / "back.bin"
    run_aws(server, "s3", "cp", "s3://houdini/big/aws.bin", str(back), "--only-show-errors", ak=ak, sk=sk)
    assert sha256_file(back) == digest
    run_aws(server, "s3", "rm", "s3://houdini/big/aws.bin", "--only-show-errors", ak=ak, sk=sk)


def run_s3cmd(server, tmp_path, ak, sk, *args, check=True):
    host = server.endpoint.split("//", 1)[1]
    cfg = tmp_path / "s3cfg"
    cfg.write_text(
        "[default]\n"
        f"access_key = {ak}\nsecret_key = {sk}\n"
        f"host_base = {host}\nhost_bucket = {host}\n"
        "use_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n"
        "multipart_chunk_size_mb = 15\nproxy_host =\n"
    )
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    p = subprocess.run([S3CMD, "-c", str(cfg), "--no-progress", *args], env=env,
                       capture_output=True, text=True, timeout=180)
    if check:
        assert p.returncode == 0, (args, p.returncode, p.stdout, p.stderr)
    return p


@pytest.mark.skipif(shutil.which("s3cmd") is None, reason="s3cmd is not installed (requirements.txt)")
def test_100mib_multipart_s3cmd(server, story, tmp_path):
    ak, sk = story["melvins"]
    f, digest = big_file(tmp_path)
    run_s3cmd(server, tmp_path, ak, sk, "put", str(f), "s3://houdini/big/s3cmd.bin")
    head = s3_client(server, ak, sk).head_object(Bucket="houdini", Key="big/s3cmd.bin")
    assert head["ContentLength"] == 100 * 1024 * 1024
    assert head["ETag"].endswith('-7"'), head["ETag"]  # 15 MiB parts
    back = tmp_path / "back.bin"
    run_s3cmd(server, tmp_path, ak, sk, "get", "s3://houdini/big/s3cmd.bin", str(back))
    assert sha256_file(back) == digest
    out = run_s3cmd(server, tmp_path, ak, sk, "ls", "s3://houdini/big/").stdout
    assert "s3cmd.bin" in out
    p = run_s3cmd(server, tmp_path, ak, sk, "ls", "s3://other/", check=False)
    assert p.returncode != 0 and ("AccessDenied" in p.stderr or "403" in p.stderr)
    run_s3cmd(server, tmp_path, ak, sk, "del", "s3://houdini/big/s3cmd.bin")


@pytest.mark.skipif(shutil.which("s3cmd") is None, reason="s3cmd is not installed (requirements.txt)")
def test_s3cmd_info(server, story, tmp_path):
    """`s3cmd info` of a bucket and of objects reads every setting it probes
    (location, payer, ownership, versioning, lifecycle, public access block, policy,
    CORS, ACL) and an object's size, type, MD5 and metadata."""
    ak, sk = story["buzzo"]
    admin = s3_client(server, ak, sk)
    admin.create_bucket(Bucket="s3cmd-info")
    p = run_s3cmd(server, tmp_path, ak, sk, "info", "s3://s3cmd-info")
    out = p.stdout
    assert "Location:  us-east-1" in out and "Payer:     BucketOwner" in out, out
    assert "Ownership: BucketOwnerEnforced" in out and "Versioning:none" in out, out
    assert "Policy:    none" in out and "CORS:      none" in out, out
    assert "FULL_CONTROL" in out and "ERROR" not in p.stderr, p.stderr

    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{u.ACCOUNT_ID}:user/melvins"},
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::s3cmd-info/*"}]})
    admin.put_bucket_policy(Bucket="s3cmd-info", Policy=policy)
    admin.put_bucket_cors(Bucket="s3cmd-info", CORSConfiguration={
        "CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]})
    admin.put_bucket_lifecycle_configuration(Bucket="s3cmd-info", LifecycleConfiguration={
        "Rules": [{"ID": "tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 3}}]})
    admin.put_object(Bucket="s3cmd-info", Key="plain", Body=b"hi")
    f = tmp_path / "page.html"
    f.write_text("<p>x</p>")
    run_s3cmd(server, tmp_path, ak, sk, "put", "--mime-type=text/html", "--add-header=x-amz-meta-color:blue",
              str(f), "s3://s3cmd-info/page.html")

    out = run_s3cmd(server, tmp_path, ak, sk, "info", "s3://s3cmd-info").stdout
    assert "objects with key prefix 'tmp/' will expire in '3' day(s)" in out, out
    assert '"s3:GetObject"' in out and "<AllowedOrigin>*</AllowedOrigin>" in out, out

    out = run_s3cmd(server, tmp_path, ak, sk, "info", "s3://s3cmd-info/plain").stdout
    assert "File size: 2" in out and f"MD5 sum:   {hashlib.md5(b'hi').hexdigest()}" in out, out
    assert "MIME type: binary/octet-stream" in out, out  # S3's default type
    assert "FULL_CONTROL" in out, out
    out = run_s3cmd(server, tmp_path, ak, sk, "info", "s3://s3cmd-info/page.html").stdout
    assert "MIME type: text/html" in out and "x-amz-meta-color: blue" in out, out

    # melvins may not read this bucket's settings: info fails, naming the refusal
    mak, msk = story["melvins"]
    p = run_s3cmd(server, tmp_path, mak, msk, "info", "s3://s3cmd-info/plain", check=False)
    assert p.returncode != 0 and ("AccessDenied" in p.stderr or "403" in p.stderr), (p.stdout, p.stderr)
    p = run_s3cmd(server, tmp_path, ak, sk, "info", "s3://s3cmd-info/missing", check=False)
    assert p.returncode != 0 and ("404" in p.stderr or "NoSuchKey" in p.stderr), (p.stdout, p.stderr)
