"""A file's parse kept from its first pass over a tree for its second.

The second pass (workers.again) lints again the files that call another
file's helper, with the tree's summaries: what it asks of the file's text
alone (the masking, the parse, each function's CFG and collected facts,
kept on the SourceFile: analysis/kept.py) is what the
first pass had.  The worker that linted a file first gets its second pass
too (passes.py), and finds the parse here; another process parses again.

Kept in memory only, for the files parsed first, biggest first (the
runner's order), up to a budget of text: a parsed file holds about twenty
times its size in trees and CFGs.  Each kept parse is handed out once,
unless the lint that took it puts it back (keep_again()): a later round
over the tree (lint/rounds.py) may lint the file once more.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from xenpatch.c.masking import MacroTable
from xenpatch.c.source import SourceFile

# Bytes of source text whose parses one process keeps.
BUDGET = 4 << 20

_KEPT: dict[tuple[str, Path], tuple[bytes, MacroTable, SourceFile]] | None = None
_used = 0
_budget = BUDGET
# Are the kept fills' dataflow runs kept with them (_slim())?
_runs = True


def start(budget: int | None = None, runs: bool = True) -> None:
    """Keep the parses of this process's first passes (a worker's whole
    life: the pool ends with the run), up to ``budget`` bytes of their
    text (BUDGET); ``runs``: with their fills' dataflow runs (_slim())."""
    global _KEPT, _budget, _runs
    if _KEPT is None:
        _KEPT = {}
        _budget = BUDGET if budget is None else budget
        _runs = runs


def stop() -> None:
    global _KEPT, _used, _runs
    _KEPT, _used, _runs = None, 0, True


@contextmanager
def keeping(budget: int | None = None, runs: bool = True) -> Iterator[None]:
    """Keep them within (both passes run in this process)."""
    start(budget, runs)
    try:
        yield
    finally:
        stop()


def keep(display: str, path: Path, raw: bytes, macros: MacroTable, src: SourceFile) -> None:
    global _used
    if _KEPT is None or _used + len(raw) > _budget:
        return
    _KEPT[(display, path)] = (raw, macros, _slim(src))
    _used += len(raw)


# What a kept parse lets go of (SourceFile.derived, by the first item of
# their keys): what a later lint asks only of the functions whose fill it
# makes again, derived again then in less time than the rest of that
# fill (the facts collected from each function, what the fill works out
# before its first question, the node indexes), and the identifiers of
# each function (a scan of the text).  On Xen 4.17 they held a third of a
# kept parse's memory, and cost a worker ~2% more CPU in the later rounds.
_LET_GO = frozenset({"idents", "collect", "fill prelude"})


def _slim(src: SourceFile) -> SourceFile:
    for key in [k for k in src.derived
                if (k[0] if isinstance(k, tuple) and k else k) in _LET_GO]:
        del src.derived[key]
    src._indexes.clear()
    if not _runs:
        # The dataflow runs kept with each fill (kept.run_engine) are
        # three quarters of what a kept parse holds in Python objects (8.5
        # of 11.5 MB for mm.c, grant_table.c and credit2.c of Xen 4.17),
        # and a later pass takes one again only where it takes the whole
        # fill again (a fifth of the functions it lints): a whole-tree
        # worker lets go of them (its peak 202 -> 189 MB; the later passes
        # run the engine 2,125 times instead of 1,048, +0.19 s of 17 s).
        for key, fill in src.derived.items():
            if isinstance(key, tuple) and key and key[0] == "filled":
                fill.runs.clear()
    return src


def keep_again(display: str, path: Path, raw: bytes, macros: MacroTable,
               src: SourceFile) -> None:
    """Put back a parse take() handed out (its text counted already)."""
    if _KEPT is not None:
        _KEPT[(display, path)] = (raw, macros, _slim(src))


def drop(display: str, path: Path) -> None:
    """Let go of a kept parse no later lint of this run will take (its
    text stays counted: the budget bounds what was ever kept)."""
    if _KEPT is not None:
        _KEPT.pop((display, path), None)


def take(display: str, path: Path, raw: bytes, macros: MacroTable) -> SourceFile | None:
    """The parse kept of this text with this macro table, if any."""
    if _KEPT is None:
        return None
    got = _KEPT.pop((display, path), None)
    if got is None or got[1] is not macros or got[0] != raw:
        return None
    return got[2]
