#!/usr/bin/env bash
# Runs the decision benchmark and prints criterion's *median* per scenario (criterion's
# console line shows the slope estimate; the issue's targets are medians).
# Usage: crates/iamd-policy/benches/medians.sh [runs]   (CARGO_TARGET_DIR is honoured)
set -euo pipefail
runs="${1:-1}"
target="${CARGO_TARGET_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)/target}"
for r in $(seq 1 "$runs"); do
    echo "run $r (load: $(cut -d' ' -f1-3 /proc/loadavg))"
    cargo bench -q -p iamd-policy --bench decide -- --warm-up-time 1 --measurement-time 3 2>&1 \
        | grep '^min-batch' | sed 's/^/  /'
    python3 - "$target/criterion" <<'PY'
import json, pathlib, sys
root = pathlib.Path(sys.argv[1])
median = {}
for name in ["a_seed_allow", "b_10x5_late_allow", "c_account_1000_policies",
             "c_account_10000_policies", "d_10x5_nothing_matches", "x_explain_10x5",
             "e_get_user_10_attached", "e_get_user_same_inline", "e_nothing_allows_10_attached",
             "e_nothing_allows_same_inline", "x_context_build_11_keys"]:
    e = json.loads((root / name / "new" / "estimates.json").read_text())
    median[name] = e['median']['point_estimate']
    print(f"  median {name}: {median[name]:.1f} ns")
for case in ["get_user", "nothing_allows"]:
    print(f"  e_{case}: 10 attached / same inline = "
          f"{median[f'e_{case}_10_attached'] / median[f'e_{case}_same_inline']:.2f}")
PY
done
