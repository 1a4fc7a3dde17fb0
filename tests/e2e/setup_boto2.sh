#!/usr/bin/env bash
# Create <repo>/.venv-boto2 with boto 2.49.0 (idempotent). test_boto2.py runs the
# seed article's script with this venv's python.
#
# Compatibility shims (kept minimal; installed as the venv's sitecustomize.py):
#   * collections.Mapping & co. aliases to collections.abc (removed in Python 3.10;
#     boto 2 uses them in boto.mws — not on the IAM path, harmless elsewhere).
#   * an empty `imp` module stub, only when the interpreter has none (Python >= 3.12):
#     boto/plugin.py imports it at import time but only calls it for plugin dirs.
# On this machine's Python 3.11 boto 2.49 needs neither for IAM; nothing in boto
# is patched, and nothing in the server is adapted to boto.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="${BOTO2_VENV:-$REPO/.venv-boto2}"
PY="${PYTHON:-python3}"

if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import boto, sys; sys.exit(boto.__version__ != "2.49.0")' 2>/dev/null; then
  echo "boto 2.49.0 ready in $VENV"
  exit 0
fi

"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "boto==2.49.0"
SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
cat > "$SITE/sitecustomize.py" <<'PYEOF'
# Compatibility shims for boto 2.49 on modern Python; see tests/e2e/setup_boto2.sh.
import collections
import collections.abc
import sys
import types

for _name in ("Mapping", "MutableMapping", "Sequence", "MutableSequence", "Iterable", "Callable", "Set"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))

try:
    import imp  # noqa: F401  (present up to Python 3.11)
except ImportError:
    sys.modules["imp"] = types.ModuleType("imp")
PYEOF
"$VENV/bin/python" -W ignore -c 'import boto, boto.iam.connection; print("boto", boto.__version__, "ready in", "'"$VENV"'")'
