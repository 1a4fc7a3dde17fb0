#!/usr/bin/env bash
# Builds every libFuzzer target of fuzz/ on the stable toolchain (no cargo-fuzz, no
# nightly: the sanitizer-coverage passes cargo-fuzz would add, nothing else) and runs
# each over its committed corpus for a short time. Fails on a crash, a timeout or an
# out-of-memory; prints per target the executions, coverage and the result.
#
#   scripts/fuzz-smoke.sh                  # every target, FUZZ_SECONDS (default 20) each
#   scripts/fuzz-smoke.sh sigv4 query      # only these
#   FUZZ_BUILD_ONLY=1 scripts/fuzz-smoke.sh
#
# Long runs use the same binaries (fuzz/target/<host>/release/<target>), e.g.
#   nice -n 19 fuzz/target/x86_64-unknown-linux-gnu/release/sigv4 \
#     -max_total_time=1800 -artifact_prefix=fuzz/artifacts/sigv4/ fuzz/scratch/sigv4 fuzz/corpus/sigv4
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds="${FUZZ_SECONDS:-20}"
all=(sigv4 query chunked s3_authz s3_guard session_token)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

host="$(rustc -vV | sed -n 's/^host: //p')"
# As cargo-fuzz: coverage-guided (inline 8-bit counters, PC table, comparison
# tracing), `cfg(fuzzing)`, debug assertions and overflow checks on. No sanitizer:
# the code forbids `unsafe`. `--target` keeps these flags off build scripts and
# proc-macros.
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
export CARGO_TARGET_DIR="$PWD/target"
bins=()
for t in "${targets[@]}"; do bins+=(--bin "$t"); done
echo "==> building fuzz targets (${targets[*]}) for $host"
cargo build --release --locked --target "$host" "${bins[@]}"
[ -z "${FUZZ_BUILD_ONLY:-}" ] || exit 0

failed=0
summary=()
for t in "${targets[@]}"; do
  bin="target/$host/release/$t"
  work="$(mktemp -d)"
  mkdir -p "artifacts/$t"
  log="$work/log"
  echo "==> fuzzing $t for ${seconds}s over corpus/$t"
  # New inputs go to a scratch directory: the committed corpus is only read.
  if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
      -print_final_stats=1 -artifact_prefix="artifacts/$t/" "$work" "corpus/$t" >"$log" 2>&1; then
    result=ok
  else
    result=FAILED
    failed=1
    tail -n 60 "$log"
  fi
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  speed="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
  cov="$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1)"
  summary+=("$(printf '%-10s %-7s executions=%s exec/s=%s %s' "$t" "$result" "${execs:-?}" "${speed:-?}" "$cov")")
  rm -rf "$work"
done
echo "==> fuzz smoke summary"
printf '%s\n' "${summary[@]}"
exit "$failed"
