#!/usr/bin/env python3
"""Replay signed requests against several servers with wrk, interleaved, and print
the medians and the ratios between servers.

usage: wrk_runs.py --requests DIR --out DIR --ops OP... --server LABEL=URL[@SIGNED]...
                   [--reps 3] [--duration 10s] [--threads 1] [--conns 16]
                   [--ratio A/B]... [--skip LABEL:OP[=WHY]]... [--rss LABEL=PID]
                   [--names OP=TITLE...]

Signed requests are DIR/SIGNED_OP.lua and .json, written by sign.py (SIGNED: the
server's own label unless given; the ceiling server replays iamd's bytes). Each
request is first sent once and must answer 200 (a failing replay would measure
error handling). Then, REPS times: for each operation, each server gets one
`wrk -tT -cC -dD --latency -s SCRIPT URL` run, in turn, so that load from elsewhere
on the machine falls on all servers alike. Before every repetition but the first,
each request is signed again with the arguments sign.py recorded (a SigV4
signature is accepted for 15 minutes, less than a long run takes). Raw wrk output
goes to OUT/wrk/LABEL_OP_REP.txt, medians to OUT/results.json; the table goes to stdout.

--ratio A/B: with server labels (iamd/moto), a column of A's rate over B's per
operation; with LABEL:OP on both sides (iamd:op-x/iamd:op-y), one figure under the
table. --skip LABEL:OP=WHY: LABEL does not run OP (e.g. a server that cannot, or the
floor for a request signed with another key); its cells and ratios show WHY (or -).
With --rss, LABEL's resident memory is read halfway through each of its runs.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.parse

import sign

MS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def millis(token: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", token)
    if not m:
        raise ValueError(f"not a wrk duration: {token}")
    return float(m.group(1)) * MS[m.group(2)]


def seconds(duration: str) -> float:
    m = re.fullmatch(r"(\d+)([smh]?)", duration)
    if not m:
        raise SystemExit(f"--duration {duration}: use e.g. 10s")
    return int(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def parse(out: str) -> dict:
    def grab(pattern: str) -> str:
        m = re.search(pattern, out, re.M)
        if not m:
            raise SystemExit(f"unexpected wrk output:\n{out}")
        return m.group(1)

    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "rps": float(grab(r"Requests/sec:\s+([\d.]+)")),
        "p50_ms": millis(grab(r"^\s+50%\s+(\S+)")),
        "p99_ms": millis(grab(r"^\s+99%\s+(\S+)")),
        "requests": int(grab(r"(\d+) requests in")),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
    }


def send_once(url: str, signed: str) -> None:
    """Sends the signed request once; exits unless it answers 200."""
    with open(signed + ".json") as f:
        r = json.load(f)
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    # The signed Host header is among r["headers"]: send it, not http.client's.
    conn.putrequest(r["method"], r["path"], skip_host=True, skip_accept_encoding=True)
    body = r["body"].encode("latin-1")
    for k, v in r["headers"].items():
        conn.putheader(k, v)
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    resp = conn.getresponse()
    text = resp.read()
    conn.close()
    if resp.status != 200:
        sys.exit(f"{url} {os.path.basename(signed)}: status {resp.status}, expected 200\n{text[:600]!r}")


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--ops", nargs="+", required=True)
    ap.add_argument("--server", action="append", required=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--duration", default="10s")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--conns", type=int, default=16)
    ap.add_argument("--ratio", action="append", default=[])
    ap.add_argument("--skip", action="append", default=[])
    ap.add_argument("--rss")
    ap.add_argument("--names", nargs="*", default=[])
    a = ap.parse_args()

    servers = []  # (label, url, signed label)
    for s in a.server:
        label, rest = s.split("=", 1)
        url, _, signed = rest.partition("@")
        servers.append((label, url.rstrip("/"), signed or label))
    rss_label, rss_pid = (a.rss.split("=", 1) if a.rss else (None, "0"))
    names = dict(n.split("=", 1) for n in a.names)
    labels = [label for label, _, _ in servers]
    skip = {}  # (label, op) -> why
    for s in a.skip:
        where, _, why = s.partition("=")
        label, _, op = where.partition(":")
        if label not in labels or op not in a.ops:
            sys.exit(f"--skip {s}: no server {label!r} or operation {op!r}")
        skip[(label, op)] = why or "-"
    column_ratios, pair_ratios = [], []
    for r in a.ratio:
        x, _, y = r.partition("/")
        sides = [side.partition(":") for side in (x, y)]
        if all(op for _, _, op in sides):
            pair_ratios.append(tuple((label, op) for label, _, op in sides))
        elif not any(op for _, _, op in sides):
            column_ratios.append((x, y))
        else:
            sys.exit(f"--ratio {r}: name an operation on both sides or on neither")
    half = seconds(a.duration) / 2
    os.makedirs(os.path.join(a.out, "wrk"), exist_ok=True)

    def script(signed: str, op: str) -> str:
        return os.path.join(a.requests, f"{signed}_{op}")

    def planned():
        for op in a.ops:
            for label, url, signed in servers:
                if (label, op) not in skip:
                    yield op, label, url, signed

    for op, label, url, signed in planned():
        send_once(url, script(signed, op))

    runs: dict[str, dict[str, list[dict]]] = {
        label: {op: [] for op in a.ops if (label, op) not in skip} for label in labels}
    load_rss = 0
    for rep in range(a.reps):
        if rep:
            for prefix in sorted({script(signed, op) for op, _, _, signed in planned()}):
                with open(prefix + ".json") as f:
                    argv = json.load(f).get("sign_argv")
                if argv:
                    sign.main(argv)
        for op, label, url, signed in planned():
            cmd = ["wrk", f"-t{a.threads}", f"-c{a.conns}", f"-d{a.duration}", "--latency",
                   "-s", script(signed, op) + ".lua", url + "/"]
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
            if label == rss_label:
                time.sleep(half)
                load_rss = max(load_rss, rss_kib(int(rss_pid)))
            out, _ = proc.communicate()
            if proc.returncode != 0:
                sys.exit(f"wrk failed ({proc.returncode}): {' '.join(cmd)}")
            with open(os.path.join(a.out, "wrk", f"{label}_{op}_{rep}.txt"), "w") as f:
                f.write(" ".join(cmd) + "\n" + out)
            run = parse(out)
            if run["non2xx"]:
                sys.exit(f"{label} {op}: {run['non2xx']} non-2xx responses under load")
            runs[label][op].append(run)
            print(f"  rep {rep + 1}/{a.reps} {op:26s} {label:8s} {run['rps']:10.0f} req/s",
                  file=sys.stderr, flush=True)

    med = {label: {op: {k: statistics.median(r[k] for r in rs) for k in ("rps", "p50_ms", "p99_ms")}
                   for op, rs in per_op.items()} for label, per_op in runs.items()}
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump({"medians": med, "runs": runs, "load_rss_kib": load_rss,
                   "wrk": {"threads": a.threads, "conns": a.conns, "duration": a.duration,
                           "reps": a.reps}}, f, indent=1)

    def cell(label: str, op: str, key: str, fmt: str) -> str:
        return skip[(label, op)] if (label, op) in skip else format(med[label][op][key], fmt)

    def ratio(x: tuple[str, str], y: tuple[str, str]) -> str:
        for side in (x, y):
            if side in skip:
                return skip[side]
        r = med[x[0]][x[1]]["rps"] / med[y[0]][y[1]]["rps"]
        return f"{r * 100:.0f} %" if r < 2 else f"{r:.0f}x"

    head = ["request"] + [f"{l} req/s" for l in labels] + [f"{l} p50 ms" for l in labels] \
        + [f"{x}/{y}" for x, y in column_ratios]
    print(f"\nwrk -t{a.threads} -c{a.conns} -d{a.duration}, medians of {a.reps}, servers interleaved\n")
    print("| " + " | ".join(head) + " |")
    print("|---|" + "---:|" * (len(head) - 1))
    for op in a.ops:
        cells = [names.get(op, op)]
        cells += [cell(l, op, "rps", ".0f") for l in labels]
        cells += [cell(l, op, "p50_ms", ".2f") for l in labels]
        cells += [ratio((x, op), (y, op)) for x, y in column_ratios]
        print("| " + " | ".join(cells) + " |")
    if pair_ratios:
        print()
    for x, y in pair_ratios:
        print(f"{x[0]} {names.get(x[1], x[1])} / {y[0]} {names.get(y[1], y[1])}: {ratio(x, y)}")
    if rss_label:
        print(f"\n{rss_label} RSS under load (max of samples): {load_rss / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
