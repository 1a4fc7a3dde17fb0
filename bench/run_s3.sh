#!/usr/bin/env bash
# S3 side of the replay benchmark: GetObject of a 1 KiB object, signed by melvins
# (inline policy s3:* on houdini, so every request goes through the policy engine),
# against iamd, the ceiling server (crates/iamd/examples/ceiling.rs answering a fixed
# 1 KiB body to iamd's request bytes: the machine's bare-hyper HTTP ceiling) and
# moto_server in the same run, with the tools in bench/tools. Prints req/s medians
# and the ratios iamd/ceiling (issue 13's target: >= 50 %) and iamd/moto.
#   usage: bench/run_s3.sh [--reps N] [--duration 10s] [--conns 16]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_args "$@"
bench_setup
IAMD_PORT=19921; MOTO_PORT=19922; CEILING_PORT=19923; CEILING_ARGS="--body-bytes 1024"
bench_start iamd-bench-s3

bench_melvins iamd $IAMD_PORT
bench_melvins moto $MOTO_PORT
echo "iamd RSS idle: $(( $(rss $IAMD_PID) / 1024 )) MiB"
# The ceiling gets iamd's request bytes (and ignores them).
bench_wrk --ops s3-get-object \
  --server "iamd=http://127.0.0.1:$IAMD_PORT" \
  --server "ceiling=http://127.0.0.1:$CEILING_PORT@iamd" \
  --server "moto=http://127.0.0.1:$MOTO_PORT" \
  --ratio iamd/ceiling --ratio iamd/moto --names "s3-get-object=S3 GetObject 1 KiB (melvins)"
