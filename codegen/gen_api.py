#!/usr/bin/env python3
"""Generate crates/iamd-api/src/generated/{iam,sts}.rs from botocore's models.

Usage: python3 codegen/gen_api.py [--out-dir DIR] [--no-rustfmt]

Reads the IAM (2010-05-08) and STS (2011-06-15) `service-2.json` models from
the installed botocore, which must be exactly the version pinned in
requirements.txt, and writes deterministic, rustfmt'ed Rust. The example-value
functions here are also imported by codegen/tests/test_roundtrip.py so that the
test expects precisely what the generated `example()` constructors build.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import re
import subprocess
import sys
import zlib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "crates", "iamd-api", "src", "generated")
SERVICES = [("iam", "2010-05-08"), ("sts", "2011-06-15")]

RUST_KEYWORDS = {
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use",
    "where", "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final",
    "macro", "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
}


# --------------------------------------------------------------------------- botocore


def pinned_botocore_version() -> str:
    path = os.path.join(REPO, "requirements.txt")
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"\s*botocore\s*==\s*([^\s#;]+)", line)
            if m:
                return m.group(1)
    sys.exit(f"gen_api.py: no 'botocore==X' pin found in {path}")


def load_models() -> tuple[str, dict]:
    try:
        import botocore
        import botocore.session
    except ImportError:
        sys.exit("gen_api.py: botocore is not installed (pip install -r requirements.txt)")
    pin = pinned_botocore_version()
    if botocore.__version__ != pin:
        sys.exit(
            f"gen_api.py: installed botocore is {botocore.__version__}, but requirements.txt pins "
            f"{pin}. The generated code must come from the pinned models: "
            f"pip install botocore=={pin}"
        )
    session = botocore.session.get_session()
    models = {}
    for name, version in SERVICES:
        data = session.get_service_data(name, api_version=version)
        if data["metadata"]["apiVersion"] != version or data["metadata"]["protocol"] != "query":
            sys.exit(f"gen_api.py: unexpected {name} model metadata {data['metadata']}")
        models[name] = data
    return botocore.__version__, models


# --------------------------------------------------------------------------- naming


def pascal(name: str) -> str:
    return name[0].upper() + name[1:]


def snake(name: str) -> str:
    out = []
    for i, c in enumerate(name):
        if c.isupper():
            prev = name[i - 1] if i else ""
            nxt = name[i + 1] if i + 1 < len(name) else ""
            if i and (prev.islower() or prev.isdigit() or (prev.isupper() and nxt.islower())):
                out.append("_")
            out.append(c.lower())
        else:
            out.append(c)
    s = "".join(out)
    return f"r#{s}" if s in RUST_KEYWORDS else s


def lower_camel(name: str) -> str:
    return name[0].lower() + name[1:]


def upper_snake(name: str) -> str:
    s = snake(name)
    return s[2:].upper() if s.startswith("r#") else s.upper()


def rust_str(s: str) -> str:
    out = ['"']
    for c in s:
        o = ord(c)
        if c == "\\":
            out.append("\\\\")
        elif c == '"':
            out.append('\\"')
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif c == "\r":
            out.append("\\r")
        elif o < 0x20 or o > 0x7E:
            out.append(f"\\u{{{o:x}}}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


# --------------------------------------------------------------------------- patterns


def _java_units(pattern: str):
    r"""Yield (kind, text) tokens: ('u', codepoint) for \uXXXX[XX], ('esc', c) for
    other escapes, ('ch', c) for literal characters, and track class depth."""
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            e = pattern[i + 1]
            if e == "u":
                j = i + 2
                while j < n and j - (i + 2) < 6 and pattern[j] in "0123456789abcdefABCDEF":
                    j += 1
                digits = pattern[i + 2 : j]
                while len(digits) > 4 and int(digits, 16) > 0x10FFFF:
                    digits = digits[:-1]
                if len(digits) < 4:
                    raise ValueError(f"bad \\u escape in {pattern!r}")
                yield ("u", int(digits, 16))
                i += 2 + len(digits)
                continue
            if e == "x":
                # Java's `\xhh` and `\x{h...h}`.
                m = re.compile(r"\{([0-9a-fA-F]+)\}|([0-9a-fA-F]{2})").match(pattern, i + 2)
                if not m:
                    raise ValueError(f"bad \\x escape in {pattern!r}")
                digits, nxt = m.group(1) or m.group(2), m.end()
                yield ("u", int(digits, 16))
                i = nxt
                continue
            if e == "p" and i + 2 < n and pattern[i + 2] == "{":
                end = pattern.index("}", i)
                yield ("prop", pattern[i + 3 : end])
                i = end + 1
                continue
            yield ("esc", e)
            i += 2
            continue
        yield ("ch", c)
        i += 1


# A path segment of `[A-Za-z0-9._-]+` that is not exactly `.` or `..`, without
# look-ahead: it starts with a non-dot, or is a dot and a non-dot, or two dots and
# at least one more character. Equal to Java's `(?!\.{1,2}(?:/|$))[A-Za-z0-9._-]+`
# wherever that run is followed by `/` or the end, as in both patterns below.
_SEGMENT = r"(?:[A-Za-z0-9_-][A-Za-z0-9._-]*|\.[A-Za-z0-9_-][A-Za-z0-9._-]*|\.\.[A-Za-z0-9._-]+)"
_PLACEHOLDER = r"\{[A-Za-z0-9:/._-]+\}"

# Model patterns with look-arounds (which Rust's `regex` lacks), each mapped to an
# equivalent pattern without them (Java syntax; translated like any other). The
# round-trip test checks each against the original with Python's `re`.
LOOKAROUND_FREE = {
    # IAM WorkloadIdentityPathPrefixType: segments, none exactly `.` or `..`.
    r"^(?!\.{1,2}(?:/|$))[A-Za-z0-9._-]+(?:/(?!\.{1,2}(?:/|$))[A-Za-z0-9._-]+)*$": (
        f"^{_SEGMENT}(?:/{_SEGMENT})*$"
    ),
    # IAM WorkloadIdentityTemplatePathPatternType: segments that are placeholders or
    # literals (not `.`/`..`), and `(?=.*\{)`: a `{`, which only a placeholder can
    # hold, so at least one placeholder. Written as: literals up to the first
    # placeholder, then anything.
    r"^(?=.*\{)(?:\{[A-Za-z0-9:/._-]+\}|(?!\.{1,2}(?:/|$))[A-Za-z0-9._-]+)"
    r"(?:/(?:\{[A-Za-z0-9:/._-]+\}|(?!\.{1,2}(?:/|$))[A-Za-z0-9._-]+))*$": (
        f"^(?:{_SEGMENT}/)*{_PLACEHOLDER}(?:/(?:{_PLACEHOLDER}|{_SEGMENT}))*$"
    ),
}


def translate_pattern(pattern: str, flavor: str) -> tuple[str, str | None]:
    """Translate a model (Java) regex to an anchored Rust or Python regex.

    Java's `\\w`/`\\d` are ASCII-only; so are ours. `\\uXXXX` (also the model's
    5-6 digit `\\u10000`) and `\\xhh` become code point escapes. For Rust, the
    look-ahead `-(?!-)` ("no two hyphens in a row") is removed from the regex and
    returned as a forbidden substring instead; the other look-arounds of the
    models are replaced by their equivalents in `LOOKAROUND_FREE`.
    """
    forbid = None
    src = LOOKAROUND_FREE.get(pattern, pattern) if flavor == "rust" else pattern
    if flavor == "rust" and src.count("(?!") == 1 and "-(?!-)" in src:
        src = src.replace("-(?!-)", "-")
        forbid = "--"
    if flavor == "rust" and any(la in src for la in ("(?=", "(?!", "(?<")):
        raise ValueError(f"unsupported look-around in pattern {pattern!r}")
    out = []
    depth = 0
    for kind, val in _java_units(src):
        if kind == "u":
            if flavor == "rust":
                out.append(f"\\x{{{val:X}}}")
            else:
                out.append(f"\\U{val:08x}" if val > 0xFFFF else f"\\u{val:04x}")
        elif kind == "prop":
            if flavor == "rust":
                out.append(f"\\p{{{val}}}")
            else:  # approximation, only used to pick example values
                approx = {"L": "a-zA-Z", "Z": " ", "N": "0-9"}[val]
                out.append(approx if depth else f"[{approx}]")
        elif kind == "esc":
            if val == "w":
                out.append("0-9A-Za-z_" if depth else "[0-9A-Za-z_]")
            elif val == "d":
                out.append("0-9" if depth else "[0-9]")
            elif val in "/:":
                out.append(val)
            elif val == "-" and depth:
                out.append("\\-")
            elif val.isalnum() and val not in "nrtsS":
                raise ValueError(f"unsupported escape \\{val} in pattern {pattern!r}")
            else:
                out.append("\\" + val)
        else:
            if val == "[":
                depth += 1
            elif val == "]" and depth:
                depth -= 1
            elif val == "-" and depth and flavor == "rust":
                # A '-' right after a range (e.g. `a-z-/`) is literal in Java; escape it.
                prev = out[-1] if out else ""
                if not prev.endswith("[") and len(out) >= 2 and out[-2] == "-":
                    out.append("\\-")
                    continue
            out.append(val)
    body = "".join(out)
    return (f"^(?:{body})$" if flavor == "rust" else f"^(?:{body})\\Z"), forbid


def python_pattern(pattern: str):
    py, _ = translate_pattern(pattern, "python")
    return re.compile(py)


# --------------------------------------------------------------------------- example values

BASE_TIME = _dt.datetime(2011, 1, 22, 20, 2, 27, tzinfo=_dt.timezone.utc)


def _crc(s: str) -> int:
    return zlib.crc32(s.encode("utf-8"))


def example_string(shape: dict, hint: str, variant: int) -> str:
    if "enum" in shape:
        vals = shape["enum"]
        return vals[variant % len(vals)]
    lo = shape.get("min", 0)
    hi = shape.get("max", 10_000)
    alnum = re.sub(r"[^A-Za-z0-9]", "", hint) or "value"
    tag = alnum + (str(variant + 1) if variant else "")
    cands = [
        tag,
        f"/{tag}/",
        "/",
        f"arn:aws:iam::123456789012:policy/{tag}",
        "123456789012",
        "v1",
        "o-abcdefghij",
        "o-abcdefghij/r-abcd",
        "p-abcdefgh",
        f"https://example.com/{tag}",
        tag.lower(),
        tag.upper(),
        "1234",
        f"{{{tag}}}/{tag.lower()}",
        f"arn:aws:iam::123456789012:workload-identity-template/{tag}",
    ]
    pat = python_pattern(shape["pattern"]) if "pattern" in shape else None
    for c in cands:
        if len(c) < lo:
            c = c + ("0" * (lo - len(c)) if not c.endswith("/") else "")
        if len(c) > hi:
            c = c[:hi]
        if len(c) < lo or len(c) > hi:
            continue
        if pat is None or pat.match(c):
            return c
    raise ValueError(f"no example string for {hint} {shape}")


def example_int(shape: dict, hint: str, variant: int) -> int:
    lo = shape.get("min", 1)
    hi = shape.get("max", lo + 998)
    return lo + (_crc(hint) + variant) % (hi - lo + 1)


def example_members(shape: dict, variant: int) -> dict:
    """The members an example of structure `shape` sets: all of them, but only
    one of a union (the `variant`-th, cycling), as botocore requires."""
    members = shape["members"]
    if not shape.get("union"):
        return members
    name = list(members)[variant % len(members)]
    return {name: members[name]}


def example_value(shapes: dict, shape_name: str, hint: str, variant: int, vary_structs: bool, depth: int = 0):
    """Deterministic example for `shape_name` (member `hint`), as a Python value
    in botocore's parsed form (str, int, bool, datetime, bytes, list, dict)."""
    if depth > 12:
        raise ValueError(f"recursive shape {shape_name}")
    sh = shapes[shape_name]
    t = sh["type"]
    if t == "string":
        return example_string(sh, hint, variant)
    if t in ("integer", "long"):
        return example_int(sh, hint, variant)
    if t == "boolean":
        return variant % 2 == 0
    if t == "timestamp":
        return BASE_TIME + _dt.timedelta(seconds=_crc(hint) % 100_000_000 + variant)
    if t == "blob":
        return (hint + str(variant)).encode("utf-8")
    if t == "list":
        n = max(2, sh.get("min", 0))
        n = min(n, sh.get("max", n))
        item = sh["member"]["shape"]
        is_struct = shapes[item]["type"] == "structure"
        return [
            example_value(shapes, item, hint, (i if (vary_structs or not is_struct) else 0), vary_structs, depth + 1)
            for i in range(n)
        ]
    if t == "map":
        n = max(2, sh.get("min", 0))
        n = min(n, sh.get("max", n))
        ks, vs = sh["key"]["shape"], sh["value"]["shape"]
        out = {}
        for i in range(n):
            k = example_value(shapes, ks, hint + "Key", i, vary_structs, depth + 1)
            out[k] = example_value(shapes, vs, hint + "Value", i, vary_structs, depth + 1)
        return out
    if t == "structure":
        return {
            m: example_value(shapes, ms["shape"], m, variant if vary_structs else 0, vary_structs, depth + 1)
            for m, ms in example_members(sh, variant if vary_structs else 0).items()
        }
    raise ValueError(f"unsupported shape type {t} ({shape_name})")


# --------------------------------------------------------------------------- generator


class Gen:
    def __init__(self, svc: str, model: dict, botocore_version: str):
        self.svc = svc
        self.model = model
        self.meta = model["metadata"]
        self.shapes = model["shapes"]
        self.ops = model["operations"]
        self.bv = botocore_version
        self.output_shapes = {op["output"]["shape"] for op in self.ops.values() if "output" in op}
        self.input_shapes = {op["input"]["shape"] for op in self.ops.values() if "input" in op}
        self.synthetic_inputs = {}  # op name -> struct name for ops without input
        for name, op in self.ops.items():
            if "input" not in op:
                sname = f"{name}Request"
                if sname in self.shapes:
                    raise ValueError(f"synthetic input name collision: {sname}")
                self.synthetic_inputs[name] = sname
        self.decode_set = self._reach(self.input_shapes)
        self.encode_set = self._reach(self.output_shapes)
        self.patterns: dict[str, int] = {}
        for n in sorted(set(self.decode_set)):
            sh = self.shapes[n]
            if sh["type"] == "string" and "pattern" in sh:
                self.patterns.setdefault(sh["pattern"], len(self.patterns))
        self.out: list[str] = []

    # ---- helpers
    def _reach(self, roots):
        seen = set()
        stack = list(roots)
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            sh = self.shapes[n]
            if sh["type"] == "structure":
                stack.extend(m["shape"] for m in sh["members"].values())
            elif sh["type"] == "list":
                stack.append(sh["member"]["shape"])
            elif sh["type"] == "map":
                stack += [sh["key"]["shape"], sh["value"]["shape"]]
        return seen

    def struct_name(self, shape_name: str) -> str:
        if shape_name in self.output_shapes and shape_name.endswith("Response"):
            return pascal(shape_name[: -len("Response")] + "Result")
        return pascal(shape_name)

    def rtype(self, shape_name: str) -> str:
        sh = self.shapes[shape_name]
        t = sh["type"]
        if t == "string":
            return "String"
        if t == "integer":
            return "i32"
        if t == "long":
            return "i64"
        if t == "boolean":
            return "bool"
        if t == "timestamp":
            return "Timestamp"
        if t == "blob":
            return "Vec<u8>"
        if t == "list":
            if self.shapes[sh["member"]["shape"]]["type"] == "blob":
                raise ValueError("lists of blobs are not supported")
            return f"Vec<{self.rtype(sh['member']['shape'])}>"
        if t == "map":
            if self.shapes[sh["key"]["shape"]]["type"] != "string":
                raise ValueError("non-string map keys are not supported")
            return f"BTreeMap<String, {self.rtype(sh['value']['shape'])}>"
        if t == "structure":
            return self.struct_name(shape_name)
        raise ValueError(f"unsupported type {t}")

    def structs(self):
        """(rust name, shape name or None, members, required) for every struct emitted."""
        res = []
        for n in sorted(self.decode_set | self.encode_set):
            sh = self.shapes[n]
            if sh["type"] == "structure" and not sh.get("exception"):
                res.append((self.struct_name(n), n, sh["members"], set(sh.get("required", []))))
        for op, sname in sorted(self.synthetic_inputs.items()):
            res.append((sname, None, {}, set()))
        return sorted(res)

    def w(self, s: str = ""):
        self.out.append(s)

    def fields(self, members: dict, required: set):
        for mname, m in members.items():
            yield mname, m, snake(mname), mname in required

    # ---- validators
    def has_rule(self, shape_name: str) -> bool:
        sh = self.shapes[shape_name]
        t = sh["type"]
        if t == "string":
            return any(k in sh for k in ("min", "max", "pattern", "enum"))
        if t in ("integer", "long"):
            return "min" in sh or "max" in sh
        if t in ("list", "map", "blob"):
            return "min" in sh or "max" in sh
        return False

    def rule_name(self, shape_name: str) -> str:
        return f"RULE_{upper_snake(shape_name)}"

    def rule_ref(self, shape_name: str) -> str:
        return f"Some(&{self.rule_name(shape_name)})" if self.has_rule(shape_name) else "None"

    def emit_rules(self):
        for pat, idx in sorted(self.patterns.items(), key=lambda kv: kv[1]):
            rx, forbid = translate_pattern(pat, "rust")
            self.w(f"static RE_{idx}: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new({rust_str(rx)}).ok());")
            fb = f"Some({rust_str(forbid)})" if forbid else "None"
            self.w(f"static PAT_{idx}: rt::Pattern = rt::Pattern {{ text: {rust_str(pat)}, re: &RE_{idx}, forbid: {fb} }};")
        self.w("/// Every distinct model pattern of the input shapes (tests, introspection).")
        refs = ", ".join(f"&PAT_{i}" for _, i in sorted(self.patterns.items(), key=lambda kv: kv[1]))
        self.w(f"pub static PATTERNS: &[&rt::Pattern] = &[{refs}];")
        self.w()
        for n in sorted(self.decode_set):
            sh = self.shapes[n]
            if not self.has_rule(n):
                continue
            t = sh["type"]
            opt = lambda k: f"Some({sh[k]})" if k in sh else "None"  # noqa: E731
            if t == "string":
                pat = f"Some(&PAT_{self.patterns[sh['pattern']]})" if "pattern" in sh else "None"
                ev = ", ".join(rust_str(v) for v in sh.get("enum", []))
                self.w(f"/// Constraints of `{n}`.")
                self.w(
                    f"pub static {self.rule_name(n)}: rt::StrRule = rt::StrRule {{ min: {opt('min')}, max: {opt('max')}, "
                    f"pattern: {pat}, enum_values: &[{ev}], sensitive: {str(bool(sh.get('sensitive'))).lower()} }};"
                )
            elif t in ("integer", "long"):
                self.w(f"/// Constraints of `{n}`.")
                self.w(f"pub static {self.rule_name(n)}: rt::IntRule = rt::IntRule {{ min: {opt('min')}, max: {opt('max')} }};")
            else:
                self.w(f"/// Constraints of `{n}`.")
                self.w(f"pub static {self.rule_name(n)}: rt::LenRule = rt::LenRule {{ min: {opt('min')}, max: {opt('max')} }};")
        self.w()

    # ---- decoders
    def decode_expr(self, shape_name: str, key: str, path: str) -> str:
        """Expression of type Result<Option<T>,_>-less `Option<T>` (with `?` applied)."""
        sh = self.shapes[shape_name]
        t = sh["type"]
        rule = self.rule_ref(shape_name)
        if t == "string":
            return f"rt::string(p, {key}, {path}, {rule}, errs)"
        if t == "integer":
            return f"rt::int(p, {key}, {path}, {rule}, errs)?"
        if t == "long":
            return f"rt::long(p, {key}, {path}, {rule}, errs)?"
        if t == "boolean":
            return f"rt::boolean(p, {key})?"
        if t == "timestamp":
            return f"rt::timestamp(p, {key})?"
        if t == "blob":
            return f"rt::blob(p, {key}, {path}, {rule}, errs)?"
        if t in ("list", "map"):
            return f"decode_{snake(shape_name).removeprefix('r#')}(p, {key}, {path}, errs)?"
        if t == "structure":
            sn = self.struct_name(shape_name)
            return f"if rt::has_struct(p, {key}) {{ Some({sn}::decode(p, {key}, {path}, errs)?) }} else {{ None }}"
        raise ValueError(t)

    def emit_collection_decoders(self):
        for n in sorted(self.decode_set):
            sh = self.shapes[n]
            if sh["type"] not in ("list", "map"):
                continue
            fname = f"decode_{snake(n).removeprefix('r#')}"
            ty = self.rtype(n)
            self.w(f"fn {fname}(p: &Params, key: &str, path: &str, errs: &mut rt::Validation) -> Result<Option<{ty}>, ApiError> {{")
            if sh["type"] == "list":
                if sh.get("flattened"):
                    raise ValueError("flattened input lists are not supported")
                item = sh["member"].get("locationName", "member")
                self.w(f"let Some(n) = rt::count(p, key, {rust_str(item)})? else {{ return Ok(None) }};")
                self.w("let mut out = Vec::with_capacity(n);")
                self.w("for i in 1..=n {")
                self.w(f"let k = rt::item_key(key, {rust_str(item)}, i);")
                self.w("let pa = rt::item_path(path, i);")
                el = sh["member"]["shape"]
                if self.shapes[el]["type"] == "structure":
                    self.w(f"out.push({self.struct_name(el)}::decode(p, &k, &pa, errs)?);")
                else:
                    self.w(f"out.push(rt::req({self.decode_expr(el, '&k', '&pa')}, &pa, errs));")
                self.w("}")
                if self.has_rule(n):
                    self.w(f"rt::check_len(errs, out.len(), path, &{self.rule_name(n)});")
                self.w("Ok(Some(out))")
            else:
                kname = sh["key"].get("locationName", "key")
                vname = sh["value"].get("locationName", "value")
                self.w("let Some(n) = rt::count(p, key, \"entry\")? else { return Ok(None) };")
                self.w("let mut out = BTreeMap::new();")
                self.w("for i in 1..=n {")
                self.w("let k = rt::item_key(key, \"entry\", i);")
                self.w(f"let kk = rt::key(&k, {rust_str(kname)});")
                self.w(f"let vk = rt::key(&k, {rust_str(vname)});")
                self.w(f"let kp = format!(\"{{path}}.{{i}}.{kname}\");")
                self.w(f"let vp = format!(\"{{path}}.{{i}}.{vname}\");")
                self.w(f"let kv = rt::req({self.decode_expr(sh['key']['shape'], '&kk', '&kp')}, &kp, errs);")
                vs = sh["value"]["shape"]
                if self.shapes[vs]["type"] == "structure":
                    self.w(f"let vv = {self.struct_name(vs)}::decode(p, &vk, &vp, errs)?;")
                else:
                    self.w(f"let vv = rt::req({self.decode_expr(vs, '&vk', '&vp')}, &vp, errs);")
                self.w("out.insert(kv, vv);")
                self.w("}")
                if self.has_rule(n):
                    self.w(f"rt::check_len(errs, out.len(), path, &{self.rule_name(n)});")
                self.w("Ok(Some(out))")
            self.w("}")
            self.w()

    def emit_struct_decoder(self, rname, members, required):
        self.w(f"impl {rname} {{")
        self.w("/// Decodes this structure from the parameters under `prefix` (empty: top level),")
        self.w("/// recording constraint violations (validation paths under `path`) in `errs`.")
        allow = "" if members else "#[allow(unused_variables)]\n"
        self.w(f"{allow}pub fn decode(p: &Params, prefix: &str, path: &str, errs: &mut rt::Validation) -> Result<Self, ApiError> {{")
        if not members:
            self.w("Ok(Self {})")
            self.w("}")
            self.w("}")
            return
        self.w("Ok(Self {")
        for mname, m, field, req in self.fields(members, required):
            if m.get("locationName") or m.get("flattened"):
                raise ValueError("locationName/flattened on input members not supported")
            expr = self.decode_expr(m["shape"], "&k", "&pa")
            val = f"rt::req({expr}, &pa, errs)" if req else expr
            pa = f"let pa = rt::key(path, {rust_str(lower_camel(mname))}); " if "&pa" in val else ""
            self.w(f"{field}: {{ let k = rt::key(prefix, {rust_str(mname)}); {pa}{val} }},")
        self.w("})")
        self.w("}")
        self.w("}")

    # ---- encoders
    def xml_write_value(self, shape_name: str, elem: str, v: str, loc: dict | None = None) -> list[str]:
        """Statements writing value `v` (a reference) as element `elem`."""
        sh = self.shapes[shape_name]
        t = sh["type"]
        e = rust_str(elem)
        # The value of a Copy scalar: `&self.x` -> `self.x`, `x` -> `*x`.
        val = v[1:] if v.startswith("&") else f"*{v}"
        if t == "string":
            return [f"xml::elem_str(out, {e}, {v});"]
        if t == "integer":
            return [f"xml::elem_i32(out, {e}, {val});"]
        if t == "long":
            return [f"xml::elem_i64(out, {e}, {val});"]
        if t == "boolean":
            return [f"xml::elem_bool(out, {e}, {val});"]
        if t == "timestamp":
            return [f"xml::elem_ts(out, {e}, {v});"]
        if t == "blob":
            return [f"xml::elem_blob(out, {e}, {v});"]
        if t == "structure":
            return [f"xml::elem_struct(out, {e}, {v});"]
        if t == "list":
            item = sh["member"]
            flattened = sh.get("flattened") or (loc or {}).get("flattened")
            iname = item.get("locationName", elem if flattened else "member")
            inner = self.xml_write_value(item["shape"], iname, "x")
            body = " ".join(inner)
            if flattened:
                return [f"for x in {v} {{ {body} }}"]
            return [f"xml::start(out, {e});", f"for x in {v} {{ {body} }}", f"xml::end(out, {e});"]
        if t == "map":
            if sh.get("flattened"):
                raise ValueError("flattened maps not supported")
            kn = sh["key"].get("locationName", "key")
            vn = sh["value"].get("locationName", "value")
            kb = " ".join(self.xml_write_value(sh["key"]["shape"], kn, "k"))
            vb = " ".join(self.xml_write_value(sh["value"]["shape"], vn, "v"))
            return [
                f"xml::start(out, {e});",
                f"for (k, v) in {v} {{ xml::start(out, \"entry\"); {kb} {vb} xml::end(out, \"entry\"); }}",
                f"xml::end(out, {e});",
            ]
        raise ValueError(t)

    def emit_struct_encoder(self, rname, members, required):
        self.w(f"impl WriteXml for {rname} {{")
        if not members:
            self.w("fn write_xml(&self, _out: &mut String) {}")
            self.w("}")
            return
        self.w("fn write_xml(&self, out: &mut String) {")
        for mname, m, field, req in self.fields(members, required):
            elem = m.get("locationName", mname)
            if req:
                for s in self.xml_write_value(m["shape"], elem, f"&self.{field}", m):
                    self.w(s)
            else:
                self.w(f"if let Some(x) = &self.{field} {{")
                for s in self.xml_write_value(m["shape"], elem, "x", m):
                    self.w(s)
                self.w("}")
        self.w("}")
        self.w("}")

    # ---- json
    def json_stmt(self, shape_name: str, v: str) -> str:
        if self.shapes[shape_name]["type"] == "blob":
            return f"json::blob(out, {v});"
        return f"{v}.write_json(out);"

    def emit_struct_json(self, rname, members, required):
        self.w(f"impl WriteJson for {rname} {{")
        self.w("fn write_json(&self, out: &mut String) {")
        if not members:
            self.w('out.push_str("{}");')
        else:
            self.w("out.push('{');")
            self.w("let mut first = true;")
            for mname, m, field, req in self.fields(members, required):
                if req:
                    self.w(f"json::field(out, &mut first, {rust_str(mname)}); {self.json_stmt(m['shape'], f'self.{field}')}")
                else:
                    self.w(
                        f"if let Some(x) = &self.{field} {{ json::field(out, &mut first, {rust_str(mname)}); "
                        f"{self.json_stmt(m['shape'], 'x')} }}"
                    )
            self.w("out.push('}');")
        self.w("}")
        self.w("}")

    # ---- examples
    def example_expr(self, shape_name: str, hint: str, variant: int) -> str:
        sh = self.shapes[shape_name]
        t = sh["type"]
        if t == "structure":
            return f"{self.struct_name(shape_name)}::example()"
        if t == "list":
            vals = example_value(self.shapes, shape_name, hint, variant, False)
            item = sh["member"]["shape"]
            is_struct = self.shapes[item]["type"] == "structure"
            parts = [self.example_expr(item, hint, 0 if is_struct else i) for i in range(len(vals))]
            return f"vec![{', '.join(parts)}]"
        if t == "map":
            vals = example_value(self.shapes, shape_name, hint, variant, False)
            ks, vs = sh["key"]["shape"], sh["value"]["shape"]
            parts = []
            for i, _ in enumerate(vals):
                parts.append(f"({self.example_expr(ks, hint + 'Key', i)}, {self.example_expr(vs, hint + 'Value', i)})")
            return f"BTreeMap::from([{', '.join(parts)}])"
        v = example_value(self.shapes, shape_name, hint, variant, False)
        if t == "string":
            return f"{rust_str(v)}.to_owned()"
        if t in ("integer", "long"):
            return str(v)
        if t == "boolean":
            return "true" if v else "false"
        if t == "timestamp":
            return f"Timestamp::from_secs({int(v.timestamp())})"
        if t == "blob":
            return f"{rust_str(v.decode())}.as_bytes().to_vec()"
        raise ValueError(t)

    def emit_struct_example(self, rname, sname, members, required):
        union = sname is not None and self.shapes[sname].get("union")
        chosen = example_members(self.shapes[sname], 0) if union else members
        self.w(f"impl {rname} {{")
        what = "its first member set (a union)" if union else "every member set"
        self.w(f"/// A deterministic value with {what} (tests, docs).")
        self.w("pub fn example() -> Self {")
        if not members:
            self.w("Self {}")
        else:
            self.w("Self {")
            for mname, m, field, req in self.fields(members, required):
                if mname not in chosen:
                    self.w(f"{field}: None,")
                    continue
                e = self.example_expr(m["shape"], mname, 0)
                self.w(f"{field}: {e if req else f'Some({e})'},")
            self.w("}")
        self.w("}")
        self.w("}")

    # ---- whole file
    def generate(self) -> str:
        svc, meta = self.svc, self.meta
        Svc = pascal(svc)
        self.w(f"// @generated by codegen/gen_api.py from botocore {self.bv} ({meta['serviceId']} {meta['apiVersion']}).")
        self.w("// Do not edit: change the generator and run `python3 codegen/gen_api.py`.")
        self.w(f"//! {meta['serviceFullName']} ({meta['apiVersion']}): generated wire types, decoders and encoders.")
        self.w()
        if any(self.shapes[n]["type"] == "map" for n in self.decode_set | self.encode_set):
            self.w("use std::collections::BTreeMap;")
        self.w("use std::sync::LazyLock;")
        self.w()
        self.w("use regex::Regex;")
        self.w()
        self.w("use crate::error::{ApiError, ModeledError};")
        self.w("use crate::json::{self, WriteJson};")
        self.w("use crate::params::Params;")
        self.w("use crate::rt;")
        self.w("use crate::time::Timestamp;")
        self.w("use crate::xml::{self, WriteXml};")
        self.w()
        self.w(f"/// `Version` of this API.\npub const API_VERSION: &str = {rust_str(meta['apiVersion'])};")
        self.w(f"/// XML namespace of responses.\npub const XMLNS: &str = {rust_str(meta['xmlNamespace'])};")
        self.w(f"/// botocore version the code was generated from.\npub const BOTOCORE_VERSION: &str = {rust_str(self.bv)};")
        ops = sorted(self.ops)
        self.w("/// All operation names, sorted.")
        self.w(f"pub const OPERATIONS: &[&str] = &[{', '.join(rust_str(o) for o in ops)}];")
        self.w()
        # errors
        errs = []
        for n in sorted(self.shapes):
            sh = self.shapes[n]
            if sh["type"] == "structure" and sh.get("exception"):
                e = sh.get("error", {})
                errs.append((n, e.get("code", n), e.get("httpStatusCode", 400), bool(e.get("senderFault", False))))
        self.w("/// Modeled errors (code, HTTP status, sender fault) from the model's `error` traits.")
        self.w("pub mod errors {")
        self.w("use crate::error::ModeledError;")
        for n, code, status, sender in errs:
            self.w(f"/// `{code}` ({status}); shape `{n}`.")
            self.w(
                f"pub const {upper_snake(code)}: ModeledError = ModeledError {{ shape: {rust_str(n)}, "
                f"code: {rust_str(code)}, status: {status}, sender_fault: {str(sender).lower()} }};"
            )
        self.w("/// All modeled errors, sorted by code.")
        errs_by_code = sorted(errs, key=lambda e: e[1])
        self.w(f"pub static ALL: &[ModeledError] = &[{', '.join(upper_snake(e[1]) for e in errs_by_code)}];")
        self.w("}")
        self.w()
        self.w("/// The modeled error with wire code `code`.")
        self.w("pub fn modeled_error(code: &str) -> Option<&'static ModeledError> {")
        self.w("errors::ALL.iter().find(|e| e.code == code)")
        self.w("}")
        self.w()
        self.w("/// Wire codes of the errors the model lists for operation `op`.")
        self.w("pub fn operation_errors(op: &str) -> &'static [&'static str] {")
        self.w("match op {")
        for o in ops:
            codes = []
            for e in self.ops[o].get("errors", []):
                es = self.shapes[e["shape"]]
                codes.append(es.get("error", {}).get("code", e["shape"]))
            self.w(f"{rust_str(o)} => &[{', '.join(rust_str(c) for c in codes)}],")
        self.w("_ => &[],")
        self.w("}")
        self.w("}")
        self.w()
        # rules
        self.emit_rules()
        # structs
        for rname, sname, members, required in self.structs():
            origin = f"`{sname}`" if sname else "(operation without input in the model)"
            self.w(f"/// {meta['serviceId']} shape {origin}.")
            if sname and self.shapes[sname].get("union"):
                self.w("///")
                self.w("/// A union in the model: exactly one member is meant to be set. The")
                self.w("/// decoder accepts any combination; the operation checks it.")
            self.w("#[derive(Debug, Clone, PartialEq, Default)]")
            self.w(f"pub struct {rname} {{")
            for mname, m, field, req in self.fields(members, required):
                ty = self.rtype(m["shape"])
                self.w(f"/// `{mname}`{' (required)' if req else ''}.")
                self.w(f"pub {field}: {ty if req else f'Option<{ty}>'},")
            self.w("}")
            self.w()
            is_dec = sname is None or sname in self.decode_set
            is_enc = sname is not None and sname in self.encode_set
            if is_dec:
                self.emit_struct_decoder(rname, members, required)
                self.emit_struct_json(rname, members, required)
            if is_enc:
                self.emit_struct_encoder(rname, members, required)
            self.emit_struct_example(rname, sname, members, required)
            self.w()
        self.emit_collection_decoders()
        # dispatch
        def in_struct(o):
            op = self.ops[o]
            return self.struct_name(op["input"]["shape"]) if "input" in op else self.synthetic_inputs[o]

        self.w(f"/// A decoded {Svc} request: one variant per operation.")
        self.w("#[derive(Debug, Clone, PartialEq)]")
        self.w(f"pub enum {Svc}Request {{")
        for o in ops:
            self.w(f"/// `{o}`.")
            self.w(f"{o}({in_struct(o)}),")
        self.w("}")
        self.w()
        self.w(f"impl {Svc}Request {{")
        self.w("/// The operation name (the `Action`).")
        self.w("pub fn operation_name(&self) -> &'static str {")
        self.w("match self {")
        for o in ops:
            self.w(f"Self::{o}(_) => {rust_str(o)},")
        self.w("}")
        self.w("}")
        self.w()
        self.w("/// The decoded input as JSON (model member names).")
        self.w("pub fn to_json(&self) -> String {")
        self.w("match self {")
        for o in ops:
            self.w(f"Self::{o}(x) => x.to_json(),")
        self.w("}")
        self.w("}")
        self.w("}")
        self.w()
        self.w(f"/// Decodes and validates the parameters of operation `action`.")
        self.w("///")
        self.w("/// Errors: `InvalidAction` for an unknown action, `MalformedQueryString`")
        self.w("/// for broken list/map numbering, `InvalidParameterValue` for unconvertible")
        self.w("/// values, `ValidationError` listing every constraint violation.")
        self.w(f"pub fn decode(action: &str, p: &Params) -> Result<{Svc}Request, ApiError> {{")
        self.w("let mut errs = rt::Validation::default();")
        self.w("let req = match action {")
        for o in ops:
            self.w(f"{rust_str(o)} => {Svc}Request::{o}({in_struct(o)}::decode(p, \"\", \"\", &mut errs)?),")
        self.w(f"_ => return Err(ApiError::invalid_action(action, API_VERSION)),")
        self.w("};")
        self.w("errs.into_result()?;")
        self.w("Ok(req)")
        self.w("}")
        self.w()
        self.w("/// Reads `Action` and `Version` from `p` and decodes the request.")
        self.w("///")
        self.w("/// No `Action`: `MissingAction`. A `Version` other than [`API_VERSION`]:")
        self.w("/// `InvalidAction` (\"Could not find operation A for version V\"). A missing")
        self.w("/// `Version` is accepted. Otherwise as [`decode`].")
        self.w(f"pub fn decode_request(p: &Params) -> Result<{Svc}Request, ApiError> {{")
        self.w("let action = p.action().ok_or_else(ApiError::missing_action)?;")
        self.w("if let Some(v) = p.version() {")
        self.w("if v != API_VERSION {")
        self.w("return Err(ApiError::invalid_action(action, v));")
        self.w("}")
        self.w("}")
        self.w("decode(action, p)")
        self.w("}")
        self.w()
        self.w("/// Whether `name` is an operation of this service.")
        self.w("pub fn is_operation(name: &str) -> bool {")
        self.w("OPERATIONS.binary_search(&name).is_ok()")
        self.w("}")
        self.w()
        self.w("/// Whether operation `op` has an output (a `<{op}Result>` element).")
        self.w("pub fn has_output(op: &str) -> bool {")
        with_out = [o for o in ops if "output" in self.ops[o]]
        self.w(f"matches!(op, {' | '.join(rust_str(o) for o in with_out)})")
        self.w("}")
        self.w()
        self.w("/// Writes the success response of `op` (with `result`, if the operation")
        self.w("/// has output) in the service's envelope.")
        self.w("pub fn encode_response(op: &str, result: Option<&dyn WriteXml>, request_id: &str, out: &mut String) {")
        self.w("xml::encode_response(XMLNS, op, result, request_id, out);")
        self.w("}")
        self.w()
        self.w("/// Writes `err` as this service's `<ErrorResponse>`.")
        self.w("pub fn encode_error(err: &ApiError, request_id: &str, out: &mut String) {")
        self.w("err.write_xml(XMLNS, request_id, out);")
        self.w("}")
        self.w()
        self.w("/// The example result of `op` encoded in its envelope (`None`: unknown op).")
        self.w("/// Operations without output encode an envelope without `<{op}Result>`.")
        self.w("pub fn example_response(op: &str, request_id: &str) -> Option<String> {")
        self.w("let mut out = String::with_capacity(1024);")
        self.w("match op {")
        for o in ops:
            op = self.ops[o]
            if "output" in op:
                self.w(f"{rust_str(o)} => encode_response(op, Some(&{self.struct_name(op['output']['shape'])}::example()), request_id, &mut out),")
            else:
                self.w(f"{rust_str(o)} => encode_response(op, None, request_id, &mut out),")
        self.w("_ => return None,")
        self.w("}")
        self.w("Some(out)")
        self.w("}")
        self.w()
        self.w("#[cfg(test)]")
        self.w("mod generated_tests {")
        self.w("#[test]")
        self.w("fn all_patterns_compile() {")
        for pat, idx in sorted(self.patterns.items(), key=lambda kv: kv[1]):
            self.w(f"assert!(super::RE_{idx}.is_some(), \"pattern {{}} does not compile\", super::PAT_{idx}.text);")
        self.w("}")
        self.w("}")
        return "\n".join(self.out) + "\n"


def rustfmt(code: str) -> str:
    try:
        r = subprocess.run(
            ["rustfmt", "--edition", "2021", "--emit", "stdout", "--quiet"],
            input=code.encode("utf-8"),
            capture_output=True,
            cwd=REPO,  # same rustfmt.toml discovery as `cargo fmt`
            check=False,
        )
    except FileNotFoundError:
        sys.exit("gen_api.py: rustfmt not found (rustup component add rustfmt)")
    if r.returncode != 0:
        sys.exit("gen_api.py: rustfmt failed:\n" + r.stderr.decode("utf-8", "replace"))
    return r.stdout.decode("utf-8")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", default=DEFAULT_OUT)
    ap.add_argument("--no-rustfmt", action="store_true")
    args = ap.parse_args(argv)
    bv, models = load_models()
    os.makedirs(args.out_dir, exist_ok=True)
    for svc, _ in SERVICES:
        code = Gen(svc, models[svc], bv).generate()
        if not args.no_rustfmt:
            code = rustfmt(code)
        path = os.path.join(args.out_dir, f"{svc}.rs")
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(code)
        print(f"wrote {path} ({code.count(chr(10))} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
