#!/usr/bin/env bash
# Run the iamd end-to-end suite.
#   tests/e2e/run.sh [pytest args]            # against target/debug/iamd (build it first)
#   IAMD_BIN=/path/to/iamd tests/e2e/run.sh   # another binary
#   IAMD_E2E_ENDPOINT=http://127.0.0.1:5000 IAMD_E2E_MOTO=1 tests/e2e/run.sh   # a running moto_server
# Set IAMD_E2E_BUILD=1 to run `cargo build -p iamd` first.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$REPO"
if [ "${IAMD_E2E_BUILD:-0}" = 1 ]; then
  cargo build -p iamd
fi
bash tests/e2e/setup_boto2.sh >/dev/null
if command -v npm >/dev/null 2>&1 && [ ! -d tests/e2e/js/node_modules ]; then
  npm ci --prefix tests/e2e/js --no-audit --no-fund --silent   # the AWS SDK for JavaScript v3
fi
exec python3 -m pytest tests/e2e -p no:cacheprovider "$@"
