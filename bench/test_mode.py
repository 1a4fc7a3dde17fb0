"""Start-to-listening and reset latency of `iamd serve --ephemeral --test-mode`.

    python3 bench/test_mode.py [--bin target/release/iamd] [--starts 20] [--resets 200]

Start-to-listening: from spawning the process to the first accepted TCP connection
(polled every 0.5 ms), median and max over --starts runs. Reset: round trip of
`POST /moto-api/reset` on a kept-alive connection, with a user, a role, a bucket and
an object created before each; median and p95. A report, not a timed test.
"""

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import boto3


TRUST = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
         '"Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}')


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary, tmp):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IAMD_")}
    env["TMPDIR"] = tmp
    t0 = time.perf_counter()
    proc = subprocess.Popen([binary, "serve", "--ephemeral", "--test-mode", "--listen", f"127.0.0.1:{port}",
                             "--log", "warn"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, port, time.perf_counter() - t0
        except OSError:
            if proc.poll() is not None:
                sys.exit(f"iamd exited with {proc.returncode}")
            time.sleep(0.0005)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.environ.get("IAMD_BIN", "target/release/iamd"))
    ap.add_argument("--starts", type=int, default=20)
    ap.add_argument("--resets", type=int, default=200)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        times = []
        for _ in range(a.starts):
            proc, _, t = start(a.bin, tmp)
            times.append(t * 1000)
            proc.terminate()
            proc.wait()
        print(f"start-to-listening: median {statistics.median(times):.1f} ms, max {max(times):.1f} ms "
              f"({a.starts} starts)")
        proc, port, _ = start(a.bin, tmp)
        try:
            ep = f"http://127.0.0.1:{port}"
            kw = dict(endpoint_url=ep, region_name="us-east-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing")
            iam, s3 = boto3.client("iam", **kw), boto3.client("s3", **kw)
            conn = http.client.HTTPConnection("127.0.0.1", port)
            resets = []
            for i in range(a.resets):
                iam.create_user(UserName="u")
                iam.create_role(RoleName="r", AssumeRolePolicyDocument=TRUST)
                s3.create_bucket(Bucket="bkt")
                s3.put_object(Bucket="bkt", Key="k", Body=b"x" * 1024)
                t0 = time.perf_counter()
                conn.request("POST", "/moto-api/reset")
                r = conn.getresponse()
                r.read()
                resets.append((time.perf_counter() - t0) * 1000)
                assert r.status == 200, r.status
            resets.sort()
            print(f"reset: median {statistics.median(resets):.2f} ms, p95 {resets[int(len(resets) * 0.95)]:.2f} ms "
                  f"({a.resets} resets)")
        finally:
            proc.terminate()
            proc.wait()
        left = [os.path.join(d, f) for d, _, fs in os.walk(tmp) for f in fs] + \
               [d for d, ds, _ in os.walk(tmp) if d != tmp]
        print(f"left in TMPDIR after exit: {len(left)} entries")


if __name__ == "__main__":
    main()
