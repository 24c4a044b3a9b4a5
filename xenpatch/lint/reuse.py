"""A file's parse kept from its first pass over a tree for its second.

The second pass (run._again) lints again the files that call another
file's helper, with the tree's summaries: what it asks of the file's text
alone (the masking, the parse, each function's CFG and collected facts,
kept on the SourceFile: analysis/kept.py) is what the
first pass had.  The worker that linted a file first gets its second pass
too (passes.py), and finds the parse here; another process parses again.

Kept in memory only, for the files parsed first, biggest first (the
runner's order), up to a budget of text: a parsed file holds about twenty
times its size in trees and CFGs.  Each kept parse is handed out once.
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


def start(budget: int | None = None) -> None:
    """Keep the parses of this process's first passes (a worker's whole
    life: the pool ends with the run), up to ``budget`` bytes of their
    text (BUDGET)."""
    global _KEPT, _budget
    if _KEPT is None:
        _KEPT = {}
        _budget = BUDGET if budget is None else budget


def stop() -> None:
    global _KEPT, _used
    _KEPT, _used = None, 0


@contextmanager
def keeping(budget: int | None = None) -> Iterator[None]:
    """Keep them within (both passes run in this process)."""
    start(budget)
    try:
        yield
    finally:
        stop()


def keep(display: str, path: Path, raw: bytes, macros: MacroTable, src: SourceFile) -> None:
    global _used
    if _KEPT is None or _used + len(raw) > _budget:
        return
    _KEPT[(display, path)] = (raw, macros, src)
    _used += len(raw)


def take(display: str, path: Path, raw: bytes, macros: MacroTable) -> SourceFile | None:
    """The parse kept of this text with this macro table, if any."""
    if _KEPT is None:
        return None
    got = _KEPT.pop((display, path), None)
    if got is None or got[1] is not macros or got[0] != raw:
        return None
    return got[2]
