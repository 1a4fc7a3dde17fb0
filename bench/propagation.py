"""Change propagation across a cluster (issue 15): three `iamd serve` nodes on one
throwaway PostgreSQL (crates/iamd-store/pg-test-cluster.sh); each trial makes one write
on node A, and, from the moment A acknowledged it, polls the decision on B and on C (one
thread per node) until it shows the write. Reported: p50 / p99 / max of that delay on B
and on C, over every trial.

The trials cycle through the writes the issue names, each undoing the previous one's
effect on the probe user's decision:
  policy   PutUserPolicy / DeleteUserPolicy (iam:GetUser allowed / not)
  group    AddUserToGroup / RemoveUserFromGroup (a group allowing iam:GetUser)
  key      UpdateAccessKey Inactive / Active (the key refused / accepted)
  managed  AttachUserPolicy / DetachUserPolicy (a managed policy allowing iam:GetUser)
The poll is GetUser signed by the probe user's key: it shows OK, AccessDenied or
InvalidClientTokenId. The resolution is one GetUser round trip (about a millisecond).

    python3 bench/propagation.py [--trials 1000] [--bin target/release/iamd]
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

REPO = Path(__file__).resolve().parents[1]
CLUSTER = REPO / "crates" / "iamd-store" / "pg-test-cluster.sh"
ROOT = ("AKIAPROPAGATIONROOT1", "propagation-root-secret-0123456789abcdef")
MASTER_KEY = "3c" * 32
ALLOW_GET_USER = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}]})


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def client(endpoint, ak, sk):
    return boto3.session.Session().client(
        "iam", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=ak,
        aws_secret_access_key=sk, config=Config(retries={"total_max_attempts": 1}))


def iamd_binary(path):
    """The iamd binary at `path`, resolved; exits saying how to build it if missing."""
    binary = Path(path).resolve()
    if not binary.exists():
        sys.exit(f"{binary} not found: cargo build --release -p iamd --bin iamd")
    return binary


def start_node(binary, url, work, name):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IAMD_")}
    if url is not None:  # else the node's embedded SQLite under its data directory
        env["IAMD_DATABASE_URL"] = url
    env.update({"IAMD_MASTER_KEY": MASTER_KEY,
                "IAMD_ROOT_ACCESS_KEY_ID": ROOT[0], "IAMD_ROOT_SECRET_ACCESS_KEY": ROOT[1],
                "RUST_LOG": "warn"})
    log = open(work / f"{name}.log", "wb")
    p = subprocess.Popen([str(binary), "serve", "--listen", f"127.0.0.1:{port}",
                          "--data-dir", str(work / name), "--account-id", "123456789012"],
                         env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return p, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    p.kill()
    sys.exit(f"node {name} did not start: see {work}/{name}.log")


@contextmanager
def throwaway_postgres(prefix, databases):
    """A temporary folder, a throwaway PostgreSQL cluster in it with DATABASES created,
    and a list for the node processes started there: (folder, {name: url}, processes).
    On exit the processes (or (process, endpoint) pairs) are killed, the cluster
    stopped and the folder removed."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    work.chmod(0o755)
    cluster = work / "pg"
    url = subprocess.run(["bash", str(CLUSTER), "start", str(cluster)], check=True,
                         capture_output=True, text=True).stdout.strip()
    base = url.rsplit("/", 1)[0]
    procs = []
    try:
        for db in databases:
            subprocess.run(["psql", url, "-qc", f"CREATE DATABASE {db}"], check=True,
                           capture_output=True)
        yield work, {db: f"{base}/{db}" for db in databases}, procs
    finally:
        for p in procs:
            p = p[0] if isinstance(p, tuple) else p
            p.kill()
            p.wait()
        subprocess.run(["bash", str(CLUSTER), "stop", str(cluster)], check=False, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def outcome(iam):
    try:
        iam.get_user()
        return "OK"
    except ClientError as e:
        return e.response["Error"]["Code"]


def percentile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--bin", default=str(REPO / "target" / "release" / "iamd"))
    args = ap.parse_args()
    binary = iamd_binary(args.bin)

    with throwaway_postgres("iamd-propagation-", ["propagation"]) as (work, urls, procs):
        for n in ("a", "b", "c"):
            procs.append(start_node(binary, urls["propagation"], work, n))
        (_, ea), (_, eb), (_, ec) = procs
        admin = client(ea, *ROOT)
        admin.create_user(UserName="probe")
        key = admin.create_access_key(UserName="probe")["AccessKey"]
        admin.create_group(GroupName="readers")
        admin.put_group_policy(GroupName="readers", PolicyName="get", PolicyDocument=ALLOW_GET_USER)
        arn = admin.create_policy(PolicyName="get", PolicyDocument=ALLOW_GET_USER)["Policy"]["Arn"]
        probe_ak, probe_sk = key["AccessKeyId"], key["SecretAccessKey"]
        pollers = {n: client(e, probe_ak, probe_sk) for n, e in (("B", eb), ("C", ec))}

        # (kind, write on A, the decision it leads to)
        steps = [
            ("policy", lambda: admin.put_user_policy(UserName="probe", PolicyName="get",
                                                     PolicyDocument=ALLOW_GET_USER), "OK"),
            ("policy", lambda: admin.delete_user_policy(UserName="probe", PolicyName="get"), "AccessDenied"),
            ("group", lambda: admin.add_user_to_group(GroupName="readers", UserName="probe"), "OK"),
            ("key", lambda: admin.update_access_key(UserName="probe", AccessKeyId=probe_ak,
                                                     Status="Inactive"), "InvalidClientTokenId"),
            ("key", lambda: admin.update_access_key(UserName="probe", AccessKeyId=probe_ak,
                                                     Status="Active"), "OK"),
            ("group", lambda: admin.remove_user_from_group(GroupName="readers", UserName="probe"),
             "AccessDenied"),
            ("managed", lambda: admin.attach_user_policy(UserName="probe", PolicyArn=arn), "OK"),
            ("managed", lambda: admin.detach_user_policy(UserName="probe", PolicyArn=arn), "AccessDenied"),
        ]
        # Wait until B and C show the setup (a denied probe), and warm the clients.
        for iam in pollers.values():
            deadline = time.monotonic() + 10
            while outcome(iam) != "AccessDenied":
                if time.monotonic() > deadline:
                    sys.exit("the setup did not reach B and C")

        delays = {"B": [], "C": []}
        by_kind = {}
        for t in range(args.trials):
            kind, write, want = steps[t % len(steps)]
            write()
            acked = time.perf_counter()
            got = {}

            def poll(name):
                iam = pollers[name]
                deadline = acked + 10
                while True:
                    seen = outcome(iam)
                    now = time.perf_counter()
                    if seen == want:
                        got[name] = now - acked
                        return
                    if now > deadline:
                        got[name] = None
                        return
            threads = [threading.Thread(target=poll, args=(n,)) for n in pollers]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            for n, d in got.items():
                if d is None:
                    sys.exit(f"trial {t} ({kind}): {n} did not show {want} within 10 s")
                delays[n].append(d * 1000)
                by_kind.setdefault(kind, []).append(d * 1000)

        print(f"{args.trials} trials, 3 nodes on one PostgreSQL, {binary.name} "
              f"({'release' if 'release' in str(binary) else 'debug'} build); delay (ms) from A's "
              "acknowledgement until the node decides accordingly:")
        print(f"{'node':<10}{'p50':>8}{'p99':>8}{'max':>8}")
        rows = [(f"B", delays["B"]), ("C", delays["C"]), ("B and C", delays["B"] + delays["C"])]
        rows += [(k, v) for k, v in sorted(by_kind.items())]
        for name, xs in rows:
            print(f"{name:<10}{percentile(xs, 0.5):8.1f}{percentile(xs, 0.99):8.1f}{max(xs):8.1f}")


if __name__ == "__main__":
    main()
