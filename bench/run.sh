#!/usr/bin/env bash
# Side-by-side wrk replay of iamd against moto_server, in the same run, with the
# shared tools in ../shared/bench (or $SHARED_BENCH). Prints the ratio table and the
# server's resident memory idle and under load.
#   usage: bench/run.sh [--reps N] [--duration 10s]
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=3; DURATION=10s
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) REPS=$2; shift 2;;
    --duration) DURATION=$2; shift 2;;
    *) echo "unknown argument $1" >&2; exit 2;;
  esac
done
SHARED=${SHARED_BENCH:-$(cd .. && pwd)/shared/bench}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
python3 -m pip install -q -r requirements.txt 'moto[server]==5.2.1'
cargo build --release -p iamd --quiet

AK=AKIAIOSFODNN7EXAMPLE; SK=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
OUT=$(mktemp -d /tmp/iamd-bench.XXXXXX)
IAMD_PORT=19911; MOTO_PORT=19912
cleanup() { kill "${IAMD_PID:-}" "${MOTO_PID:-}" 2>/dev/null || true; }
trap cleanup EXIT

IAMD_ROOT_ACCESS_KEY_ID=$AK IAMD_ROOT_SECRET_ACCESS_KEY=$SK IAMD_LOG=warn \
  ./target/release/iamd serve --listen 127.0.0.1:$IAMD_PORT --data-dir "$OUT/data" --account-id 123456789012 \
  >"$OUT/iamd.log" 2>&1 &
IAMD_PID=$!
moto_server -p $MOTO_PORT >"$OUT/moto.log" 2>&1 &
MOTO_PID=$!
for port in $IAMD_PORT $MOTO_PORT; do
  for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
done

rss() { awk '/VmRSS/ {print $2}' /proc/$1/status; }
python3 bench/seed_iam.py "http://127.0.0.1:$IAMD_PORT" $AK $SK
python3 bench/seed_iam.py "http://127.0.0.1:$MOTO_PORT" $AK $SK
IDLE_RSS=$(rss $IAMD_PID)

mkdir -p "$OUT/tools" && cp "$SHARED"/*.py "$OUT/tools/"   # run_wrk.py writes results beside itself
cd "$OUT"
for target in iamd:$IAMD_PORT moto:$MOTO_PORT; do
  label=${target%%:*}; port=${target##*:}; ep=http://127.0.0.1:$port
  for op in sts-get-caller-identity iam-get-user iam-list-users; do
    python3 tools/sign_request.py --endpoint "$ep" --access-key $AK --secret-key $SK \
      --op $op --user-name melvins --out-prefix "replay/${label}_$op" >/dev/null
  done
  python3 tools/run_wrk.py --endpoint "$ep" --label "$label" --reps "$REPS" --duration "$DURATION" \
    replay/${label}_sts-get-caller-identity replay/${label}_iam-get-user replay/${label}_iam-list-users &
  WRK=$!
  if [ "$label" = iamd ]; then
    sleep 5; LOAD_RSS=$(rss $IAMD_PID)
  fi
  wait $WRK
done
python3 - "$OUT" "$IDLE_RSS" "$LOAD_RSS" <<'PY'
import json, sys, glob, os
out, idle, load = sys.argv[1], sys.argv[2], sys.argv[3]
res = {}
for f in glob.glob(os.path.join(out, "tools", "results", "wrk_*.json")):
    label = os.path.basename(f)[4:-5]
    res[label] = json.load(open(f))
def find(label, op):
    for k, v in res[label].items():
        if op in k:
            return v
print(f"\n| request | iamd req/s | iamd p50 ms | moto req/s | moto p50 ms | ratio |")
print("|---|---:|---:|---:|---:|---:|")
for op in ("sts-get-caller-identity", "iam-get-user", "iam-list-users"):
    a, b = find("iamd", op), find("moto", op)
    print(f"| {op} | {a['rps']:.0f} | {a['p50_ms']:.2f} | {b['rps']:.0f} | {b['p50_ms']:.1f} | {a['rps']/b['rps']:.0f}x |")
print(f"\niamd RSS idle {int(idle)/1024:.1f} MiB, under load {int(load)/1024:.1f} MiB")
PY
