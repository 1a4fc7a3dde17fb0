#!/usr/bin/env python3
"""Checks the references to docs/policy-semantics.md.

1. Every section number cited with `§` anywhere in the repository (`§5.1`, `§1.4–§1.6`,
   `§5.1–5.3`, `§7`) is a heading of docs/policy-semantics.md (`## §5 ...`, `### §5.1 ...`).
   A range cites every section between its ends.
2. Every file (other than the document itself) that cites a section names the document as
   `docs/policy-semantics.md` somewhere, so a reader knows which document `§` means.
3. No file names the document by another spelling (`policy-semantics §5.1`,
   `policy-semantics.md` without `docs/`), which would point at a copy outside the
   repository.

Run from anywhere: `python3 docs/check_refs.py`. Exit status 0 when all holds, 1 otherwise;
one line per problem as `path:line: message`.
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DOC = os.path.join(HERE, "policy-semantics.md")
DOC_NAME = "docs/policy-semantics.md"

# Files that may cite the document. Generated or vendored trees are skipped.
EXTENSIONS = (".rs", ".md", ".py", ".sh", ".toml")
SKIP_DIRS = {".git", "target", "node_modules", "generated", "__pycache__", ".venv", "venv"}

HEADING = re.compile(r"^#{1,6}\s+§(\d+(?:\.\d+)?)\b")
NUM = r"(\d+(?:\.\d+)?)"
# `§1.4`, `§1.4–§1.6`, `§5.1–5.3`, `§1.4-1.6`
REF = re.compile(r"§" + NUM + r"(?:\s*[–-]\s*§?" + NUM + r")?")
# the document named without its directory
BARE_NAME = re.compile(r"(?<![\w/.-])policy-semantics(?:\.md)?")


def parse(num):
    major, _, minor = num.partition(".")
    return int(major), (int(minor) if minor else None)


def expand(start, end):
    """Section numbers a reference cites: one number, or every number of a range."""
    if end is None:
        return [start]
    (a_major, a_minor), (b_major, b_minor) = parse(start), parse(end)
    if a_major == b_major and a_minor is not None and b_minor is not None and a_minor <= b_minor:
        return [f"{a_major}.{m}" for m in range(a_minor, b_minor + 1)]
    if a_minor is None and b_minor is None and a_major <= b_major:
        return [str(m) for m in range(a_major, b_major + 1)]
    return [start, end]


def headings():
    found = set()
    with open(DOC, encoding="utf-8") as f:
        in_code = False
        for line in f:
            if line.startswith("```"):
                in_code = not in_code
                continue
            m = None if in_code else HEADING.match(line)
            if m:
                found.add(m.group(1))
    return found


def files():
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("target"))
        for name in sorted(filenames):
            if name.endswith(EXTENSIONS):
                yield os.path.join(dirpath, name)


def main():
    known = headings()
    problems = []
    refs = 0
    citing = 0
    for path in files():
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except (UnicodeDecodeError, OSError):
            continue
        rel = os.path.relpath(path, ROOT)
        is_doc = os.path.abspath(path) == DOC
        cited = False
        for n, line in enumerate(lines, 1):
            for m in REF.finditer(line):
                refs += 1
                cited = True
                for num in expand(m.group(1), m.group(2)):
                    if num not in known:
                        problems.append(f"{rel}:{n}: §{num} is not a heading of {DOC_NAME}")
            if not is_doc and rel != os.path.relpath(__file__, ROOT):
                for m in BARE_NAME.finditer(line):
                    problems.append(
                        f"{rel}:{n}: names the document as '{m.group(0)}'; write {DOC_NAME}"
                    )
        if cited and not is_doc:
            citing += 1
            if not any(DOC_NAME in line for line in lines):
                problems.append(f"{rel}:1: cites § sections but never names {DOC_NAME}")
    for p in problems:
        print(p)
    status = "FAILED" if problems else "ok"
    print(
        f"check_refs: {refs} § references in {citing} files (plus the document itself), "
        f"{len(known)} headings, {len(problems)} problems: {status}"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
