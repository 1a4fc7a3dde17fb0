# What bench/run.sh and bench/run_s3.sh share (sourced from the repository root):
# arguments, tools and the release build, iamd and moto_server started side by side,
# the wrk runs and the ratio table. Functions set globals, as the scripts did inline.

# [--reps N] [--duration 10s] → REPS, DURATION.
bench_args() {
  REPS=3; DURATION=10s
  while [ $# -gt 0 ]; do
    case "$1" in
      --reps) REPS=$2; shift 2;;
      --duration) DURATION=$2; shift 2;;
      *) echo "unknown argument $1" >&2; exit 2;;
    esac
  done
}

# wrk, moto_server, the Python packages and a release build of iamd (BIN); SHARED: the
# shared bench tools (../shared/bench or $SHARED_BENCH); AK/SK: the root key.
bench_setup() {
  SHARED=${SHARED_BENCH:-$(cd .. && pwd)/shared/bench}
  command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
  python3 -m pip install -q -r requirements.txt 'moto[server]==5.2.1'
  cargo build --release -p iamd --quiet
  BIN=${CARGO_TARGET_DIR:-target}/release/iamd
  AK=AKIAIOSFODNN7EXAMPLE; SK=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
}

bench_cleanup() { kill "${IAMD_PID:-}" "${MOTO_PID:-}" 2>/dev/null || true; }

# bench_start NAME: a new /tmp/NAME.XXXXXX (OUT) for data and logs; iamd on IAMD_PORT
# (IAMD_PID) and moto_server on MOTO_PORT (MOTO_PID), both stopped on exit; returns
# once both accept connections.
bench_start() {
  OUT=$(mktemp -d "/tmp/$1.XXXXXX")
  trap bench_cleanup EXIT
  IAMD_ROOT_ACCESS_KEY_ID=$AK IAMD_ROOT_SECRET_ACCESS_KEY=$SK IAMD_LOG=warn \
    "$BIN" serve --listen 127.0.0.1:$IAMD_PORT --data-dir "$OUT/data" --account-id 123456789012 \
    >"$OUT/iamd.log" 2>&1 &
  IAMD_PID=$!
  moto_server -p $MOTO_PORT >"$OUT/moto.log" 2>&1 &
  MOTO_PID=$!
  local port
  for port in $IAMD_PORT $MOTO_PORT; do
    for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
  done
}

rss() { awk '/VmRSS/ {print $2}' /proc/$1/status; }

# Copies the shared tools into $OUT/tools (run_wrk.py writes results beside itself)
# and works in $OUT from then on.
bench_enter_out() {
  mkdir -p "$OUT/tools" && cp "$SHARED"/*.py "$OUT/tools/"
  cd "$OUT"
}

# bench_wrk ENDPOINT LABEL REPLAY...: the wrk runs of one server; for iamd, its RSS
# 5 s into the load (LOAD_RSS).
bench_wrk() {
  local ep=$1 label=$2; shift 2
  python3 tools/run_wrk.py --endpoint "$ep" --label "$label" --reps "$REPS" --duration "$DURATION" \
    "$@" &
  local wrk=$!
  if [ "$label" = iamd ]; then
    sleep 5; LOAD_RSS=$(rss $IAMD_PID)
  fi
  wait $wrk
}

# bench_report ROW...: the iamd-vs-moto table, one row per ROW ("name=op", or just
# "op" when the row is named by it), then iamd's RSS idle (IDLE_RSS) and under load.
bench_report() {
  python3 - "$OUT" "$IDLE_RSS" "$LOAD_RSS" "$@" <<'PY'
import json, sys, glob, os
out, idle, load = sys.argv[1], sys.argv[2], sys.argv[3]
res = {}
for f in glob.glob(os.path.join(out, "tools", "results", "wrk_*.json")):
    res[os.path.basename(f)[4:-5]] = json.load(open(f))
def find(label, op):
    for k, v in res[label].items():
        if op in k:
            return v
print("\n| request | iamd req/s | iamd p50 ms | moto req/s | moto p50 ms | ratio |")
print("|---|---:|---:|---:|---:|---:|")
for row in sys.argv[4:]:
    name, op = row.split("=", 1) if "=" in row else (row, row)
    a, b = find("iamd", op), find("moto", op)
    print(f"| {name} | {a['rps']:.0f} | {a['p50_ms']:.2f} | {b['rps']:.0f} | {b['p50_ms']:.1f} | {a['rps']/b['rps']:.0f}x |")
print(f"\niamd RSS idle {int(idle)/1024:.1f} MiB, under load {int(load)/1024:.1f} MiB")
PY
}
