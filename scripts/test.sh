#!/usr/bin/env bash
# Runs every test of iamd on a fresh machine: installs what the tests need
# (Debian's PostgreSQL for the store tests, rclone for its e2e test, the pinned Python packages, boto 2.49 in
# its own virtualenv), checks formatting, lints and generated code, then runs the
# Rust tests (unit, corpus, property, SQLite and PostgreSQL store tests), a short
# run of every fuzz target over its committed corpus, and the end-to-end tests that
# start the real `iamd serve` and drive it with boto3, the aws CLI, boto 2 and the
# AWS SDK for JavaScript v3.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "system packages"
need=()
command -v initdb >/dev/null 2>&1 || [ -x /usr/lib/postgresql/15/bin/initdb ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v rclone >/dev/null 2>&1 || need+=(rclone)  # tests/e2e/test_s3_rclone.py
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  fi
fi

step "python packages"
python3 -m pip install -q --disable-pip-version-check -r requirements.txt
bash tests/e2e/setup_boto2.sh

step "AWS SDK for JavaScript v3 (tests/e2e/js, pinned by its package-lock.json)"
if command -v npm >/dev/null 2>&1; then
  npm ci --prefix tests/e2e/js --no-audit --no-fund --silent
fi

step "generated code is up to date"
bash codegen/check.sh

step "every § reference names a section of docs/policy-semantics.md"
python3 docs/check_refs.py

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "build"
cargo build --workspace --bins --quiet

step "rust tests"
cargo nextest run --workspace --no-fail-fast

step "fuzz smoke (every fuzz target over its committed corpus, 20 s each)"
./scripts/fuzz-smoke.sh

step "fuzz crate tests (the aws-chunked oracle's unit and property tests)"
(cd fuzz && cargo test --lib --quiet)

step "end-to-end tests"
export IAMD_BIN="$PWD/target/debug/iamd"
python3 -m pytest -q -p no:cacheprovider codegen/tests tests/e2e

step "pip install iamd: the wheel into a fresh virtualenv, the sample pytest project there"
bash packaging/test_wheel.sh
