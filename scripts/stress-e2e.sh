#!/usr/bin/env bash
# Runs the end-to-end suite RUNS times while every CPU is kept busy, to shake out
# tests that fail only on a loaded machine. One line per run, then
# "N passed, M failed"; exits non-zero if any run failed.
#
#   scripts/stress-e2e.sh                     # 10 runs of tests/e2e
#   RUNS=1 scripts/stress-e2e.sh -k s3_story  # extra arguments go to pytest
#
# Environment:
#   RUNS         number of runs (default 10)
#   LOAD         CPU hogs (default: one per CPU, nproc)
#   RUN_TIMEOUT  seconds one run may take before it is killed and counted failed
#                (default 1800)
#   IAMD_BIN     server binary (default: target/debug/iamd, built first)
#   LOG_DIR      where each run's pytest output is kept (default: a new temp dir)
#
# The load is stress-ng (installed from Debian with apt-get if missing and we are
# root or have password-less sudo), else one bash busy loop per CPU. Either way it is
# stopped when the script exits, and it stops by itself after the time the runs may
# take at most.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-10}
LOAD=${LOAD:-$(nproc)}
RUN_TIMEOUT=${RUN_TIMEOUT:-1800}
LOG_DIR=${LOG_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/iamd-stress-e2e.XXXXXX")}
mkdir -p "$LOG_DIR"
# Upper bound for the load: every run at its timeout, plus setup.
LOAD_LIMIT=$((RUNS * (RUN_TIMEOUT + 60) + 120))

if [ -z "${IAMD_BIN:-}" ]; then
  cargo build -p iamd --quiet
  IAMD_BIN="$PWD/target/debug/iamd"
fi
export IAMD_BIN
bash tests/e2e/setup_boto2.sh >/dev/null

load_pids=()
stop_load() {
  if [ ${#load_pids[@]} -gt 0 ]; then
    kill "${load_pids[@]}" 2>/dev/null || true
    wait "${load_pids[@]}" 2>/dev/null || true
    load_pids=()
  fi
}
trap stop_load EXIT
trap 'stop_load; exit 130' INT
trap 'stop_load; exit 143' TERM

have_stress_ng() {
  command -v stress-ng >/dev/null 2>&1 && return 0
  local sudo=()
  if [ "$(id -u)" != 0 ]; then
    sudo -n true 2>/dev/null || return 1
    sudo=(sudo -n)
  fi
  echo "installing stress-ng (apt-get)"
  "${sudo[@]}" apt-get update -qq >/dev/null 2>&1 &&
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq stress-ng >/dev/null 2>&1 &&
    command -v stress-ng >/dev/null 2>&1
}

if have_stress_ng; then
  stress-ng --cpu "$LOAD" --timeout "${LOAD_LIMIT}s" --quiet &
  load_pids+=($!)
  echo "load: stress-ng --cpu $LOAD"
else
  for _ in $(seq "$LOAD"); do
    (end=$((SECONDS + LOAD_LIMIT)); while ((SECONDS < end)); do :; done) &
    load_pids+=($!)
  done
  echo "load: $LOAD bash busy loops"
fi
echo "runs: $RUNS x pytest tests/e2e $*  (at most ${RUN_TIMEOUT}s each; logs in $LOG_DIR)"

passed=0
failed=0
for i in $(seq "$RUNS"); do
  log="$LOG_DIR/run-$i.log"
  start=$SECONDS
  rc=0
  timeout --kill-after=30 "$RUN_TIMEOUT" \
    python3 -m pytest -q -p no:cacheprovider tests/e2e "$@" >"$log" 2>&1 || rc=$?
  took=$((SECONDS - start))
  summary=$(tail -n 5 "$log" | grep -E ' in [0-9.]+s' | tail -1 | tr -d '=' | sed 's/^ *//; s/ *$//' || true)
  if [ "$rc" = 0 ]; then
    passed=$((passed + 1))
    echo "run $i/$RUNS: PASS in ${took}s ($summary)"
  else
    failed=$((failed + 1))
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
      summary="killed after ${RUN_TIMEOUT}s"
    fi
    echo "run $i/$RUNS: FAIL in ${took}s (exit $rc; ${summary:-no summary}) log: $log"
    grep -E '^(FAILED|ERROR) ' "$log" | sed 's/^/    /' || true
  fi
done
stop_load
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
