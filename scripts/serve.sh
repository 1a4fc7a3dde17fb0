#!/usr/bin/env bash
# Builds iamd (release) and runs it on its embedded default: SQLite under ./iamd-data.
# Extra arguments go to `iamd serve` (e.g. --listen 0.0.0.0:9911).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p iamd --quiet
exec ./target/release/iamd serve --data-dir "${IAMD_DATA_DIR:-./iamd-data}" "$@"
