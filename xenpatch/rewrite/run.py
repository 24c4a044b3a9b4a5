"""A conversion over a whole tree: scan in parallel, plan, then render the result."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from xenpatch.c.defindex import TreeText
from xenpatch.c.types import TypeIndex
from xenpatch.errors import XenpatchError
from xenpatch.rewrite.edits import apply_edits, unified_diff
from xenpatch.rewrite.plan import Diagnostic, Plan, build_plan, precheck, stopped
from xenpatch.rewrite.scan import FileScan, scan_text
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
    files_parsed: int = 0

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
        top = str(root)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            rel_dir = os.path.relpath(dirpath, top).replace(os.sep, "/")
            for name in filenames:
                if name.endswith((".c", ".h")):
                    if os.path.islink(os.path.join(dirpath, name)):
                        continue
                    found.append(f"{rel_dir}/{name}")
    return sorted(set(found))


def scan_tree(root: Path, rule: ConversionRule, text: TreeText) -> list[FileScan]:
    """Text first: only the files whose text holds a call on the field are parsed;
    the types their sites need are looked up, and their headers parsed, on demand."""
    placed = frozenset(p for p in (rule.placement.declare_in, rule.placement.define_in) if p)
    return [s for f in text.files
            if (s := scan_text(text, f, rule.lock.field, rule.lock.owner, placed)) is not None]


def run_rule(root: Path, rule: ConversionRule, jobs: int | None = None,
             macros_path: str | None = None) -> Result:
    """``jobs`` is accepted for compatibility: the text-first scan parses so few
    files that worker processes would cost more than they save."""
    from xenpatch.c.masking import default_macro_table, load_macro_table, tree_table

    check_tree(root)
    files = source_files(root, rule.paths)
    macros = load_macro_table(Path(macros_path)) if macros_path else default_macro_table()
    # the tree's own #defines say what else to mask (derived once per tree)
    text = TreeText(root, files, tree_table(macros, root))
    index = TypeIndex(definitions=text)

    def raw_of(path: str) -> bytes:
        return text.raw(path)

    # The field first: a tree converted already, or a clash, needs no site.
    checked = precheck(rule, index, raw_of, text)
    scans = [] if stopped(checked[0]) else scan_tree(root, rule, text)
    for scan in scans:
        index.add(scan.facts)
    plan = build_plan(rule, scans, index, raw_of, text, checked)
    result = Result(plan, files_scanned=len(files),
                    functions=sum(s.functions for s in scans),
                    functions_with_errors=sum(s.functions_with_errors for s in scans))
    result.files_parsed = len(text.parsed) + sum(s.path not in text.parsed for s in scans)
    if stopped(plan):
        return result
    for path, edits in sorted(plan.edits.items()):
        old = raw_of(path)
        result.old[path] = old
        result.new[path] = apply_edits(old, edits, path)
    return result


__all__ = ["Diagnostic", "Result", "TreeError", "check_tree", "run_rule", "source_files"]


# What each command that plans a conversion does instead of a refused one.
WRITES = "nothing written (--allow-partial converts the others)"
NOT_MODELLED = ("the conversion of the others alone is not modelled: convert these by hand "
                "first (`xenpatch rewrite --allow-partial` writes the others)")


def refusal(rule: ConversionRule, plan: Plan, instead: str = WRITES) -> str | None:
    """The one line that says a plan is refused (errors, or sites left that
    cannot be converted), or None when it may be applied whole; ``instead``:
    what the command does not do (and how the user can go on).  The
    command prints it after ``xenpatch: ``, under the plan's errors and
    sites (``refused_sites()``)."""
    if plan.errors:
        return f"{rule.path}: not applied ({counted(len(plan.errors), 'error')})"
    if plan.remaining:
        return (f"{rule.path}: refused: {counted(len(plan.remaining), 'site')} of "
                f"{rule.struct_type}.{rule.lock.field} cannot be converted (listed above); "
                + instead)
    return None


def counted(n: int, noun: str) -> str:
    """``1 site``, ``2 sites``: a count as the messages say it."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def refused_sites(plan: Plan) -> list[str]:
    """The lines a refusal() is said under: the plan's errors and its sites
    that cannot be converted."""
    return [str(d) for d in plan.errors + plan.remaining]
