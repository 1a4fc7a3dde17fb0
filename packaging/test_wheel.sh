#!/usr/bin/env bash
# The way a user meets it: build the wheel, install it into a fresh virtualenv with
# boto3 and pytest, and run the sample project (examples/pytest-iamd) there.
# Usage: bash packaging/test_wheel.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/build_wheel.sh
venv=$(mktemp -d)
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
wheel=$(ls -t dist/iamd-*.whl | head -1)
"$venv/bin/pip" install -q "$wheel" "$(grep '^boto3==' requirements.txt)" "$(grep '^pytest==' requirements.txt)"
test -x "$venv/bin/iamd"
"$venv/bin/iamd" --version
# Run from an empty directory with no IAMD_BIN: the plugin must find the wheel's iamd.
(cd "$venv" && env -u IAMD_BIN "$venv/bin/python" -m pytest -q -p no:cacheprovider "$OLDPWD/examples/pytest-iamd")
