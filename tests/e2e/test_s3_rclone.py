"""rclone against the real server (issue 13): `sync` of a nested tree with one file
above the multipart cutoff, `check` (sizes and MD5s, 0 differences), `lsjson` and
`purge`, each with exit code 0 and no ERROR line in rclone's log.

rclone is configured only through environment variables (a remote named IAMD of type
s3, provider Other), never from the caller's rclone.conf. scripts/test.sh installs
Debian's `rclone`; without it these tests are skipped."""

import hashlib
import json
import os
import shutil
import subprocess

import pytest

import e2e_util as u

RCLONE = shutil.which("rclone")
pytestmark = pytest.mark.skipif(RCLONE is None, reason="rclone is not installed (scripts/test.sh installs Debian's rclone)")

MiB = 1024 * 1024


def run_rclone(server, tmp_path, ak, sk, *args, check=True):
    """rclone with remote `iamd:` pointing at `server`; asserts exit 0 and no ERROR lines."""
    conf = tmp_path / "rclone.conf"
    conf.write_text("")  # an empty config of its own: nothing from the caller's
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RCLONE_", "AWS_")) and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env.update({
        "RCLONE_CONFIG": str(conf),
        "RCLONE_CONFIG_IAMD_TYPE": "s3",
        "RCLONE_CONFIG_IAMD_PROVIDER": "Other",
        "RCLONE_CONFIG_IAMD_ENDPOINT": server.endpoint,
        "RCLONE_CONFIG_IAMD_REGION": u.REGION,
        "RCLONE_CONFIG_IAMD_ACCESS_KEY_ID": ak,
        "RCLONE_CONFIG_IAMD_SECRET_ACCESS_KEY": sk,
        "RCLONE_CONFIG_IAMD_FORCE_PATH_STYLE": "true",
    })
    p = subprocess.run([RCLONE, "--log-level", os.environ.get("IAMD_E2E_RCLONE_LOG", "INFO"), "--retries", "1", "--low-level-retries", "1",
                        "--cache-dir", str(tmp_path / "rclone-cache"), *args],
                       env=env, capture_output=True, text=True, timeout=300)
    if check:
        assert p.returncode == 0, (args, p.returncode, p.stdout, p.stderr)
        errors = [line for line in p.stderr.splitlines() if "ERROR" in line]
        assert not errors, (args, errors)
    return p


def make_tree(root):
    """A nested tree: small files at three depths, an empty file and one of 11 MiB
    (three 5 MiB parts with the chunk size the tests set). Returns {path: bytes}."""
    files = {
        "top.txt": b"top level\n",
        "empty.bin": b"",
        "a/one.txt": b"one\n" * 100,
        "a/b/two.txt": b"two\n" * 1000,
        "a/b/c/three.json": json.dumps({"k": list(range(50))}).encode(),
        "z/space name.txt": b"a key with a space\n",
        "big/large.bin": hashlib.sha256(b"seed").digest() * (11 * MiB // 32) + b"tail",
    }
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return files


@pytest.fixture(scope="module")
def rclone_user(server, iam):
    """A user allowed everything on buckets named rclone-* only."""
    name = u.uniq("rclone")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:*",
             "Resource": ["arn:aws:s3:::rclone-*", "arn:aws:s3:::rclone-*/*"]},
            {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
        ]}))
    k = iam.create_access_key(UserName=name)["AccessKey"]
    return k["AccessKeyId"], k["SecretAccessKey"]


def test_sync_check_lsjson_purge(server, rclone_user, tmp_path):
    ak, sk = rclone_user
    bucket = u.uniq("rclone").lower()
    src = tmp_path / "src"
    files = make_tree(src)
    chunking = ["--s3-upload-cutoff", "1M", "--s3-chunk-size", "5M"]

    # sync creates the bucket and uploads everything (the big file in 3 parts)
    run_rclone(server, tmp_path, ak, sk, "sync", str(src), f"iamd:{bucket}", *chunking)
    s3 = server.client("s3")
    big = s3.head_object(Bucket=bucket, Key="big/large.bin")
    assert big["ContentLength"] == len(files["big/large.bin"])
    assert big["ETag"].endswith('-3"'), big["ETag"]

    # check compares sizes and MD5s (the multipart one through rclone's md5chksum metadata)
    p = run_rclone(server, tmp_path, ak, sk, "check", str(src), f"iamd:{bucket}")
    assert "0 differences found" in p.stderr, p.stderr
    assert f"{len(files)} matching files" in p.stderr, p.stderr

    # lsjson lists the tree with sizes and hashes matching the local files
    p = run_rclone(server, tmp_path, ak, sk, "lsjson", "-R", "--files-only", "--hash", f"iamd:{bucket}")
    listed = {e["Path"]: e for e in json.loads(p.stdout)}
    assert set(listed) == set(files)
    for rel, data in files.items():
        assert listed[rel]["Size"] == len(data), rel
        assert listed[rel]["Hashes"]["md5"] == hashlib.md5(data).hexdigest(), rel

    # a change and a deletion locally: sync brings the bucket back in line, check agrees
    (src / "a/one.txt").write_bytes(b"changed\n")
    (src / "a/b/two.txt").unlink()
    run_rclone(server, tmp_path, ak, sk, "sync", str(src), f"iamd:{bucket}", *chunking)
    assert s3.get_object(Bucket=bucket, Key="a/one.txt")["Body"].read() == b"changed\n"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    assert "a/b/two.txt" not in keys and len(keys) == len(files) - 1
    p = run_rclone(server, tmp_path, ak, sk, "check", str(src), f"iamd:{bucket}")
    assert "0 differences found" in p.stderr, p.stderr

    # a copy back down is byte-identical
    back = tmp_path / "back"
    run_rclone(server, tmp_path, ak, sk, "copy", f"iamd:{bucket}", str(back))
    assert (back / "big/large.bin").read_bytes() == files["big/large.bin"]

    # the version probes rclone makes (GetBucketVersioning, ListObjectVersions) and
    # cleanup (ListMultipartUploads) work on the unversioned bucket
    p = run_rclone(server, tmp_path, ak, sk, "backend", "versioning", f"iamd:{bucket}")
    assert p.stdout.strip() == "Unversioned", p.stdout
    p = run_rclone(server, tmp_path, ak, sk, "lsjson", "-R", "--files-only", "--s3-versions", f"iamd:{bucket}")
    assert {e["Path"] for e in json.loads(p.stdout)} == keys
    run_rclone(server, tmp_path, ak, sk, "cleanup", f"iamd:{bucket}")

    # purge removes every object and the bucket itself
    run_rclone(server, tmp_path, ak, sk, "purge", f"iamd:{bucket}")
    names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert bucket not in names
    # and nothing rclone did made the server log an error or a warning
    if server.proc is not None:
        logs = server.logs().decode(errors="replace")
        assert "ERROR" not in logs and "WARN" not in logs, logs[-4000:]


def test_check_reports_a_difference(server, rclone_user, tmp_path):
    """`check` can fail: a file changed behind rclone's back is reported."""
    ak, sk = rclone_user
    bucket = u.uniq("rclone").lower()
    src = tmp_path / "src"
    src.mkdir()
    (src / "f.txt").write_bytes(b"original\n")
    run_rclone(server, tmp_path, ak, sk, "sync", str(src), f"iamd:{bucket}")
    server.client("s3").put_object(Bucket=bucket, Key="f.txt", Body=b"tampered\n")
    p = run_rclone(server, tmp_path, ak, sk, "check", str(src), f"iamd:{bucket}", check=False)
    assert p.returncode != 0
    assert "1 differences found" in p.stderr, p.stderr
    run_rclone(server, tmp_path, ak, sk, "purge", f"iamd:{bucket}")


def test_denied_bucket_is_an_error(server, rclone_user, tmp_path):
    """Outside its policy the user gets rclone errors, not silent success."""
    ak, sk = rclone_user
    s3 = server.client("s3")
    other = u.uniq("norclone").lower()
    s3.create_bucket(Bucket=other)
    s3.put_object(Bucket=other, Key="x", Body=b"x")
    p = run_rclone(server, tmp_path, ak, sk, "lsjson", f"iamd:{other}", check=False)
    assert p.returncode != 0
    assert "AccessDenied" in p.stderr, p.stderr
