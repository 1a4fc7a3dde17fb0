#!/usr/bin/env bash
# Instructions per request of one replayed operation, counted by callgrind on the
# server (user space only; stable on a busy machine, unlike req/s). The server runs
# under valgrind with instrumentation off; after a warm-up, it is switched on for a
# wrk run of DURATION, and the total is divided by the requests wrk completed.
#   usage: bench/callgrind.sh [--op iam-get-user] [--duration 10s] [--conns 4] [--ceiling|--floor]
# --ceiling measures the ceiling server (replaying iamd's bytes) instead of iamd,
# --floor the floor server (the ceiling server verifying the bytes' SigV4 signature).
# Ops: those of bench/tools/sign.py (s3-get-object seeds the S3 bucket and object), signed
# by the caller bench/README.md's table names (--floor: the root's requests only).
# Prints the figure and leaves OUT/callgrind.out for callgrind_annotate.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
AK=AKIAIOSFODNN7EXAMPLE; SK=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
OP=iam-get-user; CG_DURATION=10s; CG_CONNS=4; CEILING=; CEILING_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --op) OP=$2; shift 2;;
    --duration) CG_DURATION=$2; shift 2;;
    --conns) CG_CONNS=$2; shift 2;;
    --ceiling) CEILING=ceiling; shift;;
    --floor) CEILING=floor; CEILING_ARGS=(--verify "$SK"); shift;;
    *) echo "unknown argument $1" >&2; exit 2;;
  esac
done
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind; }
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release -p iamd --bin iamd --example ceiling --quiet
BIN=${IAMD_BENCH_BIN:-${CARGO_TARGET_DIR:-target}/release/iamd}
CEILING_BIN=${CARGO_TARGET_DIR:-target}/release/examples/ceiling
PORT=19921; CEILING_PORT=19922
OUT=$(mktemp -d -t iamd-callgrind.XXXXXX)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
wait_port() { for _ in $(seq 300); do (echo >/dev/tcp/127.0.0.1/$1) 2>/dev/null && return; sleep 0.1; done; }

# iamd serves the seed and the signing check; under valgrind only when it is measured.
VG=(valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT/callgrind.out")
if [ -n "$CEILING" ]; then IAMD_VG=(); else IAMD_VG=("${VG[@]}"); fi
IAMD_ROOT_ACCESS_KEY_ID=$AK IAMD_ROOT_SECRET_ACCESS_KEY=$SK IAMD_LOG=warn \
  "${IAMD_VG[@]}" "$BIN" serve --listen 127.0.0.1:$PORT --data-dir "$OUT/data" \
  --account-id 123456789012 >"$OUT/iamd.log" 2>&1 &
PIDS+=($!); TARGET_PID=$!
wait_port $PORT
URL=http://127.0.0.1:$PORT
python3 bench/tools/seed.py "$URL" $AK $SK $([ "$OP" = s3-get-object ] && echo --s3) \
  --callers "$OUT/callers.sh" >/dev/null
. "$OUT/callers.sh"
bench_sign_op iamd $PORT "$OP"
ln -s "requests/iamd_$OP.lua" "$OUT/req.lua"
if [ -n "$CEILING" ]; then
  "${VG[@]}" "$CEILING_BIN" 127.0.0.1:$CEILING_PORT "${CEILING_ARGS[@]}" >"$OUT/ceiling.log" 2>&1 &
  PIDS+=($!); TARGET_PID=$!
  wait_port $CEILING_PORT
  URL=http://127.0.0.1:$CEILING_PORT
fi
wrk -t1 -c"$CG_CONNS" -d3s -s "$OUT/req.lua" "$URL" >"$OUT/warmup.txt"
callgrind_control -i on $TARGET_PID >/dev/null
wrk -t1 -c"$CG_CONNS" -d"$CG_DURATION" -s "$OUT/req.lua" "$URL" >"$OUT/wrk.txt"
callgrind_control -d $TARGET_PID >/dev/null
grep -q 'Non-2xx' "$OUT/wrk.txt" && { echo "non-2xx answers:"; cat "$OUT/wrk.txt"; exit 1; }
sleep 1
REQS=$(awk '/requests in/ {print $1}' "$OUT/wrk.txt")
FILE=$(ls -t "$OUT"/callgrind.out* | head -1)
IR=$(awk '/^(summary|totals):/ {print $2; exit}' "$FILE")
echo "$OP${CEILING:+ ($CEILING server)}: $REQS requests, $IR instructions," \
  "$(( IR / REQS )) per request"
echo "profile: $FILE (callgrind_annotate --inclusive=yes $FILE)"
