#!/usr/bin/env bash
# Side-by-side wrk replay of iamd against moto_server, in the same run, with the
# shared tools in ../shared/bench (or $SHARED_BENCH). Prints the ratio table and the
# server's resident memory idle and under load.
#   usage: bench/run.sh [--reps N] [--duration 10s]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_args "$@"
bench_setup
IAMD_PORT=19911; MOTO_PORT=19912
bench_start iamd-bench

python3 bench/seed_iam.py "http://127.0.0.1:$IAMD_PORT" $AK $SK
python3 bench/seed_iam.py "http://127.0.0.1:$MOTO_PORT" $AK $SK
IDLE_RSS=$(rss $IAMD_PID)

bench_enter_out
OPS="sts-get-caller-identity iam-get-user iam-list-users"
for target in iamd:$IAMD_PORT moto:$MOTO_PORT; do
  label=${target%%:*}; port=${target##*:}; ep=http://127.0.0.1:$port
  replays=()
  for op in $OPS; do
    python3 tools/sign_request.py --endpoint "$ep" --access-key $AK --secret-key $SK \
      --op $op --user-name melvins --out-prefix "replay/${label}_$op" >/dev/null
    replays+=("replay/${label}_$op")
  done
  bench_wrk "$ep" "$label" "${replays[@]}"
done
bench_report $OPS
