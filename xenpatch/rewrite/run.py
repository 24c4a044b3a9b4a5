"""A conversion over a whole tree: scan in parallel, plan, then render the result."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from xenpatch.c.types import TypeIndex
from xenpatch.errors import XenpatchError
from xenpatch.rewrite.edits import apply_edits, unified_diff
from xenpatch.rewrite.plan import Diagnostic, Plan, build_plan
from xenpatch.rewrite.scan import FileScan, scan_file
from xenpatch.rules import ConversionRule


class TreeError(XenpatchError):
    """The tree itself is unusable; ``str()`` is the one-line message."""


@dataclass
class Result:
    plan: Plan
    old: dict[str, bytes] = field(default_factory=dict)
    new: dict[str, bytes] = field(default_factory=dict)
    files_scanned: int = 0
    functions: int = 0
    functions_with_errors: int = 0

    @property
    def changed(self) -> list[str]:
        return sorted(p for p in self.new if self.new[p] != self.old[p])

    def diff(self) -> str:
        return "".join(unified_diff(p, self.old[p], self.new[p]) for p in self.changed)


def check_tree(root: Path) -> None:
    if not root.is_dir():
        raise TreeError(f"{root}: not a directory")
    if not (root / "xen" / "include" / "xen").is_dir() or not (root / "xen" / "common").is_dir():
        raise TreeError(f"{root}: not a Xen tree (no xen/include/xen and xen/common)")


def source_files(root: Path, prefixes: tuple[str, ...]) -> list[str]:
    found: list[str] = []
    for prefix in prefixes:
        base = root / prefix
        if not base.exists():
            raise TreeError(f"{base}: no such folder in the tree")
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in filenames:
                if name.endswith((".c", ".h")):
                    full = Path(dirpath) / name
                    if full.is_symlink():
                        continue
                    found.append(full.relative_to(root).as_posix())
    return sorted(set(found))


def scan_tree(root: Path, rule: ConversionRule, files: list[str], jobs: int | None = None,
              macros_path: str | None = None) -> list[FileScan]:
    placed = frozenset(p for p in (rule.placement.declare_in, rule.placement.define_in) if p)
    work = partial(scan_file, str(root), field_name=rule.lock.field, owner=rule.lock.owner,
                   macros_path=macros_path, always=placed)
    jobs = jobs or os.cpu_count() or 1
    if jobs == 1 or len(files) < 64:
        return [work(f) for f in files]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(work, files, chunksize=16))


def run_rule(root: Path, rule: ConversionRule, jobs: int | None = None,
             macros_path: str | None = None) -> Result:
    check_tree(root)
    files = source_files(root, rule.paths)
    scans = scan_tree(root, rule, files, jobs, macros_path)
    index = TypeIndex.from_facts([s.facts for s in scans])
    cache: dict[str, bytes] = {}

    def raw_of(path: str) -> bytes:
        if path not in cache:
            cache[path] = (root / path).read_bytes()
        return cache[path]

    plan = build_plan(rule, scans, index, raw_of)
    result = Result(plan, files_scanned=len(scans),
                    functions=sum(s.functions for s in scans),
                    functions_with_errors=sum(s.functions_with_errors for s in scans))
    if plan.errors:
        return result
    for path, edits in sorted(plan.edits.items()):
        old = raw_of(path)
        result.old[path] = old
        result.new[path] = apply_edits(old, edits, path)
    return result


__all__ = ["Diagnostic", "Result", "TreeError", "check_tree", "run_rule", "source_files"]
