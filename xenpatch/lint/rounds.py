"""A bounded third round of cross-file summaries for a whole-tree run.

The second pass lints each file with the other files' first-pass
summaries; the summaries it computes then are of a second round: put_page()
of mm.c takes the heap lock only through page_alloc.c's
free_domheap_pages(), which its first pass could not see.  A file that may
call, holding a lock, a function whose summary the second round changed is
linted once more with those summaries.  The rounds stop there: a summary
the third round changes again is not followed, and the run says so (``-v``,
on the function's file).  What a result keeps as its exports stays its
first pass's, as the tree cache and the lazy plan compute them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from xenpatch.analysis.irqentry import CALL_KEY, FIELD_KEY
from xenpatch.analysis.locktable import Summary
from xenpatch.lint.findings import FileResult
from xenpatch.lint.shipping import to_workers

Merge = Callable[[Iterable[Mapping[str, Summary]]], dict[str, Summary]]


def changed(first: list[FileResult], later: list[dict[str, Summary] | None],
            exports: Mapping[str, Summary], merge: Merge) -> dict[str, Summary]:
    """The functions whose tree-level summary the second round changes (or
    gives: one with no lock of its own whose callee's take was in another
    file), with that summary."""
    plain = [{n: s for n, s in (b if b is not None else a.exports).items()
              if not n.startswith((FIELD_KEY, CALL_KEY))}
             for a, b in zip(first, later, strict=True)]
    return {n: s for n, s in merge(plain).items() if exports.get(n) != s}


def third(work: list[tuple[Path, str]], first: list[FileResult], results: list[FileResult],
          later: list[dict[str, Summary] | None], exports: dict[str, Summary], mapper: Any,
          again: Callable[..., FileResult | None], merge: Merge,
          pack: Callable[[dict[str, Summary]], Any], progress: Any = None,
          raws: list[bytes | None] | None = None) -> list[FileResult]:
    """``results`` with the files a third round of summaries changes linted
    again (``again``: run._again with ``only``; ``pack``: how the tree's
    summaries are sent to it, run.TreeExports.of)."""
    if not later:
        return results
    new = changed(first, later, exports, merge)
    # Only a file whose calls under a lock may reach one of them (its
    # header inlines and macros are followed in the worker).
    todo = [i for i, a in enumerate(first) if a.held_calls] if new else []
    if not todo:
        return results
    tree = {**exports, **new}
    raws = raws or [None] * len(work)
    with to_workers(pack(tree), mapper) as sent:
        got = list(mapper(again, [work[i] for i in todo],
                          [frozenset(first[i].exports) for i in todo], [sent] * len(todo),
                          [raws[i] for i in todo], [first[i].held_calls for i in todo],
                          [frozenset(new)] * len(todo)))
    out = list(results)
    # Names two files define with different summaries: no caller gets one.
    clash = {n for a in first for n in a.exports if n not in exports}
    for i, b in zip(todo, got, strict=True):
        if b is None:
            continue
        # Its own functions whose summary this round changes again: their
        # callers elsewhere were linted with the previous one.
        # (A file the second pass left alone kept its first-pass summaries:
        # it calls no other file's helper that matters there.)
        prev = later[i]
        moved = [] if prev is None else sorted(
            n for n, s in b.exports.items()
            if not n.startswith((FIELD_KEY, CALL_KEY)) and n not in clash and prev.get(n) != s)
        b.exports, b.held_calls = first[i].exports, first[i].held_calls
        b.unknown = [*b.unknown, *((n, 0, _BOUND) for n in moved)]
        out[i] = b
    if progress is not None:
        progress("files, third round (summaries of the second)", len(todo), len(todo))
    return out


_BOUND = ("its summary changed again in the third round of cross-file summaries: its "
          "callers in other files were linted with the second round's (the rounds stop "
          "at three)")
