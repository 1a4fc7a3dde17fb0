"""Aggregate throughput of a cluster (issue 15): IAM GetUser melvins signed by the root,
replayed with wrk against
  sqlite     one node on its embedded SQLite store,
  pg-1       one node on a throwaway PostgreSQL (crates/iamd-store/pg-test-cluster.sh),
  pg-3       three nodes on one database of the same PostgreSQL, loaded at once (one wrk
             per node, the connections split between them); the figure is their sum.
The configurations run in turn, REPS times, interleaved; medians of req/s are printed
with the ratios pg-3/pg-1 and pg-1/sqlite. All of it shares this machine's cores: on
two cores three nodes and three wrk processes compete, so pg-3/pg-1 measures what
the nodes cost each other here, not what three machines would give.

    python3 bench/cluster_throughput.py [--reps 3] [--duration 8s] [--conns 16]
                                        [--bin target/release/iamd]
"""

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent))
from propagation import REPO, ROOT, iamd_binary, start_node, throwaway_postgres  # noqa: E402

SIGN = REPO / "bench" / "tools" / "sign.py"
SEED = REPO / "bench" / "tools" / "seed.py"


def sign(endpoint, out):
    subprocess.run([sys.executable, str(SIGN), "--endpoint", endpoint, "--access-key", ROOT[0],
                    "--secret-key", ROOT[1], "--op", "iam-get-user", "--out", str(out)],
                   check=True, capture_output=True)
    return str(out) + ".lua"


def wrk(endpoint, script, conns, duration):
    """A started wrk process (one thread per two connections at most two threads)."""
    threads = max(1, min(2, conns // 2))
    return subprocess.Popen(["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}", "-s", script,
                             endpoint + "/"], stdout=subprocess.PIPE, text=True)


def rps(proc):
    out, _ = proc.communicate()
    if proc.returncode != 0:
        sys.exit(f"wrk failed:\n{out}")
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if m is None or non2xx is not None:
        sys.exit(f"unexpected wrk output (errors?):\n{out}")
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--duration", default="8s")
    ap.add_argument("--conns", type=int, default=16)
    ap.add_argument("--bin", default=str(REPO / "target" / "release" / "iamd"))
    args = ap.parse_args()
    binary = iamd_binary(args.bin)
    if shutil.which("wrk") is None:
        sys.exit("wrk not found (apt-get install wrk)")

    with throwaway_postgres("iamd-cluster-bench-", ["one", "three"]) as (work, urls, procs):
        nodes = {}
        for name, db in (("sqlite", None), ("pg-1", urls["one"]), ("pg-3a", urls["three"]),
                         ("pg-3b", urls["three"]), ("pg-3c", urls["three"])):
            p, ep = start_node(binary, db, work, name)
            procs.append(p)
            nodes[name] = ep
        for name in ("sqlite", "pg-1", "pg-3a"):
            subprocess.run([sys.executable, str(SEED), nodes[name], *ROOT], check=True,
                           capture_output=True)
        # The other two nodes of the three show the seed once they followed the log.
        for name in ("pg-3b", "pg-3c"):
            iam = boto3.client("iam", endpoint_url=nodes[name], region_name="us-east-1",
                               aws_access_key_id=ROOT[0], aws_secret_access_key=ROOT[1])
            deadline = time.monotonic() + 10
            while not any(u["UserName"] == "melvins" for u in iam.list_users()["Users"]):
                if time.monotonic() > deadline:
                    sys.exit(f"{name} did not show the seed within 10 s")
                time.sleep(0.05)
        scripts = {n: sign(ep, work / f"req-{n}") for n, ep in nodes.items()}

        runs = {"sqlite": [], "pg-1": [], "pg-3": []}
        for _ in range(args.reps):
            for label in ("sqlite", "pg-1"):
                runs[label].append(rps(wrk(nodes[label], scripts[label], args.conns, args.duration)))
            three = ("pg-3a", "pg-3b", "pg-3c")
            split = [args.conns // 3 + (1 if i < args.conns % 3 else 0) for i in range(3)]
            started = [wrk(nodes[n], scripts[n], c, args.duration) for n, c in zip(three, split)]
            runs["pg-3"].append(sum(rps(p) for p in started))
        med = {k: statistics.median(v) for k, v in runs.items()}
        print(f"IAM GetUser melvins (root), wrk -c{args.conns} -d{args.duration} in all, "
              f"medians of {args.reps}, {binary}")
        for k, v in med.items():
            print(f"  {k:<8}{v:>12,.0f} req/s   runs: {', '.join(f'{x:,.0f}' for x in runs[k])}")
        print(f"  pg-3/pg-1 {med['pg-3'] / med['pg-1']:.2f}   pg-1/sqlite {med['pg-1'] / med['sqlite']:.2f}")


if __name__ == "__main__":
    main()
