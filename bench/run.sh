#!/usr/bin/env bash
# Side-by-side wrk replay of iamd, moto_server, the ceiling server (a bare hyper
# server answering a fixed body: crates/iamd/examples/ceiling.rs) and the floor (the
# same server verifying the request's SigV4 signature first) in the same run,
# with the tools in bench/tools. Prints req/s medians per operation, the ratios
# iamd/ceiling, floor/ceiling, iamd/floor and iamd/moto, and iamd's resident memory idle and under load.
#   usage: bench/run.sh [--reps N] [--duration 10s] [--conns 16]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_args "$@"
bench_setup
IAMD_PORT=19911; MOTO_PORT=19912; CEILING_PORT=19913; FLOOR_PORT=19914
bench_start iamd-bench

python3 bench/tools/seed.py "http://127.0.0.1:$IAMD_PORT" $AK $SK
python3 bench/tools/seed.py "http://127.0.0.1:$MOTO_PORT" $AK $SK
echo "iamd RSS idle: $(( $(rss $IAMD_PID) / 1024 )) MiB"

OPS="sts-get-caller-identity iam-get-user iam-list-users"
for op in $OPS; do
  bench_sign iamd $IAMD_PORT $AK $SK $op
  bench_sign moto $MOTO_PORT $AK $SK $op
done
# The ceiling and floor servers get iamd's request bytes (the ceiling ignores them, the
# floor verifies their signature).
bench_wrk --ops $OPS \
  --server "iamd=http://127.0.0.1:$IAMD_PORT" \
  --server "ceiling=http://127.0.0.1:$CEILING_PORT@iamd" \
  --server "floor=http://127.0.0.1:$FLOOR_PORT@iamd" \
  --server "moto=http://127.0.0.1:$MOTO_PORT" \
  --ratio iamd/ceiling --ratio floor/ceiling --ratio iamd/floor --ratio iamd/moto \
  --names "sts-get-caller-identity=STS GetCallerIdentity (root)" \
          "iam-get-user=IAM GetUser melvins (root)" \
          "iam-list-users=IAM ListUsers, 100 users (root)"
