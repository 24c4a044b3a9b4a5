"""Comparison of a converted tree with the upstream commit that did the same by hand."""

from __future__ import annotations

import difflib
import subprocess
from dataclasses import dataclass
from pathlib import Path

from xensource import MIRROR, ROOT

from xenpatch.rewrite.run import run_rule
from xenpatch.rules import load_rule


@dataclass(frozen=True)
class Upstream:
    rule: str
    commit: str
    files: tuple[str, ...]

    @property
    def parent(self) -> str:
        return f"{self.commit}^"


GRANT_TABLE = Upstream("grant_table.toml", "eede22972f", (
    "xen/arch/arm/mm.c",
    "xen/arch/x86/mm.c",
    "xen/common/grant_table.c",
    "xen/include/xen/grant_table.h",
))
P2M = Upstream("p2m.toml", "66ea5ed478", (
    "xen/arch/x86/mm/mm-locks.h",
    "xen/arch/x86/mm/p2m.c",
    "xen/include/asm-x86/mm.h",
))


def _upstream(commit: str, path: str) -> bytes:
    return subprocess.run(["git", "-C", str(MIRROR), "show", f"{commit}:{path}"],
                          capture_output=True, check=True).stdout


def _is_comment_or_blank(line: str) -> bool:
    s = line.strip()
    return s.startswith(("/*", "*")) or s == ""


def compare(tree: Path, up: Upstream = GRANT_TABLE) -> tuple[int, int, list[str]]:
    """(upstream changed code lines we reproduce, upstream changed code lines, stray lines).

    Stray lines are code lines where our result and upstream's differ; comment
    wording and blank lines are left out, as the issue allows.
    """
    result = run_rule(tree, load_rule(ROOT / "rules" / up.rule), jobs=2)
    assert not result.plan.errors, result.plan.errors
    assert result.changed == sorted(up.files)
    matched = total = 0
    stray: list[str] = []
    for path in up.files:
        before = (tree / path).read_bytes().decode().splitlines()
        ours = result.new[path].decode().splitlines()
        theirs = _upstream(up.commit, path).decode().splitlines()
        upstream_added = [
            line[1:] for line in difflib.unified_diff(before, theirs, lineterm="", n=0)
            if line.startswith("+") and not line.startswith("+++")
        ]
        for line in upstream_added:
            if _is_comment_or_blank(line):
                continue
            total += 1
            matched += line in ours
        for line in difflib.unified_diff(theirs, ours, lineterm="", n=0):
            if line.startswith(("+++", "---", "@@")):
                continue
            if not _is_comment_or_blank(line[1:]):
                stray.append(f"{path}: {line}")
    return matched, total, stray
