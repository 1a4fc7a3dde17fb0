#!/usr/bin/env bash
# Builds the `iamd` wheel (the release binary + the pytest plugin) into dist/.
# Usage: bash packaging/build_wheel.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v maturin >/dev/null || python3 -m pip install -q --disable-pip-version-check maturin==1.15.0
(cd packaging && maturin build --release -o ../dist)
ls dist/iamd-*.whl
