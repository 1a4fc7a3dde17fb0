"""A 200-test moto-style pytest suite, a reset before each test, run against
`iamd serve --ephemeral --test-mode` and against moto_server in the same run.

    python3 bench/test_suite_vs_moto.py [--bin target/release/iamd] [--tests 200] [--reps 3]

Each test does what moto-based suites typically do: create a user, put an inline
policy, create an access key, call with it (the outcome is not asserted: moto allows
what iamd denies), create a bucket, put and get an object. The suite is written to a
temporary directory and run by pytest in a subprocess (the same for both servers);
the best wall time of --reps runs is reported, and the ratio. Needs moto[server]
(bench/lib.sh installs 5.2.1).
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFTEST = '''
import json, os, urllib.request
import boto3, pytest
from botocore.config import Config

EP = os.environ["SUITE_ENDPOINT"]

@pytest.fixture(autouse=True)
def reset():
    urllib.request.urlopen(urllib.request.Request(EP + "/moto-api/reset", method="POST")).read()

@pytest.fixture
def client():
    session = boto3.session.Session()
    def make(service, ak="testing", sk="testing"):
        return session.client(service, endpoint_url=EP, region_name="us-east-1", aws_access_key_id=ak,
                              aws_secret_access_key=sk, config=Config(retries={"total_max_attempts": 1}))
    return make
'''

TESTS = '''
import json
import pytest
from botocore.exceptions import ClientError

POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/*"}]})

@pytest.mark.parametrize("i", range(int(__import__("os").environ["SUITE_TESTS"])))
def test_typical(client, i):
    iam = client("iam")
    iam.create_user(UserName=f"user{i}")
    iam.put_user_policy(UserName=f"user{i}", PolicyName="p", PolicyDocument=POLICY)
    key = iam.create_access_key(UserName=f"user{i}")["AccessKey"]
    s3 = client("s3")
    s3.create_bucket(Bucket="data")
    s3.put_object(Bucket="data", Key="k", Body=b"x" * 100)
    mine = client("s3", key["AccessKeyId"], key["SecretAccessKey"])
    assert mine.get_object(Bucket="data", Key="k")["Body"].read() == b"x" * 100
    try:
        mine.put_object(Bucket="data", Key="k2", Body=b"y")
    except ClientError:
        pass
    assert [u["UserName"] for u in iam.list_users()["Users"]] == [f"user{i}"]
'''


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(port, proc):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    sys.exit("server did not listen")


def run_suite(suite_dir, endpoint, tests):
    env = dict(os.environ, SUITE_ENDPOINT=endpoint, SUITE_TESTS=str(tests))
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-p", "no:iamd",
                        str(suite_dir)], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"suite failed against {endpoint}:\n{r.stdout[-3000:]}")
    return elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.environ.get("IAMD_BIN", "target/release/iamd"))
    ap.add_argument("--tests", type=int, default=200)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        suite = Path(tmp) / "suite"
        suite.mkdir()
        (suite / "conftest.py").write_text(CONFTEST)
        (suite / "test_typical.py").write_text(TESTS)
        ip, mp = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("IAMD_")}
        iamd = subprocess.Popen([a.bin, "serve", "--ephemeral", "--test-mode", "--listen", f"127.0.0.1:{ip}",
                                 "--account-id", "123456789012", "--log", "warn"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        moto = subprocess.Popen(["moto_server", "-p", str(mp)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            wait(ip, iamd)
            wait(mp, moto)
            best = {"iamd": [], "moto": []}
            for _ in range(a.reps):
                best["iamd"].append(run_suite(suite, f"http://127.0.0.1:{ip}", a.tests))
                best["moto"].append(run_suite(suite, f"http://127.0.0.1:{mp}", a.tests))
            i, m = min(best["iamd"]), min(best["moto"])
            print(f"{a.tests} tests, reset before each, best of {a.reps}: iamd {i:.2f} s, moto_server {m:.2f} s, "
                  f"moto/iamd = {m / i:.2f}")
        finally:
            for p in (iamd, moto):
                p.terminate()
                p.wait()


if __name__ == "__main__":
    main()
