"""Comparison of a converted 2016 tree with the upstream commit eede22972f."""

from __future__ import annotations

import difflib
import subprocess
from pathlib import Path

from conftest import MIRROR, ROOT

from xenpatch.rewrite.run import run_rule
from xenpatch.rules import load_rule

UPSTREAM = "eede22972f"
FILES = (
    "xen/arch/arm/mm.c",
    "xen/arch/x86/mm.c",
    "xen/common/grant_table.c",
    "xen/include/xen/grant_table.h",
)


def _upstream(path: str) -> bytes:
    return subprocess.run(["git", "-C", str(MIRROR), "show", f"{UPSTREAM}:{path}"],
                          capture_output=True, check=True).stdout


def _is_comment(line: str) -> bool:
    s = line.strip()
    return s.startswith(("/*", "*")) or s == ""


def compare(tree: Path) -> tuple[int, int, list[str]]:
    """(upstream changed lines we reproduce, upstream changed lines, stray differences)."""
    result = run_rule(tree, load_rule(ROOT / "rules" / "grant_table.toml"), jobs=2)
    assert not result.plan.errors, result.plan.errors
    assert result.changed == list(FILES)
    matched = total = 0
    stray: list[str] = []
    for path in FILES:
        before = (tree / path).read_bytes().decode().splitlines()
        ours = result.new[path].decode().splitlines()
        theirs = _upstream(path).decode().splitlines()
        upstream_added = [
            line[1:] for line in difflib.unified_diff(before, theirs, lineterm="", n=0)
            if line.startswith("+") and not line.startswith("+++")
        ]
        ours_set = list(ours)
        for line in upstream_added:
            if _is_comment(line):
                continue
            total += 1
            if line in ours_set:
                matched += 1
        for line in difflib.unified_diff(theirs, ours, lineterm="", n=0):
            if line.startswith(("+++", "---", "@@")):
                continue
            if not _is_comment(line[1:]):
                stray.append(f"{path}: {line}")
    return matched, total, stray
