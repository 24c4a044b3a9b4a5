"""One file of a tree linted once from an empty cache: when a whole-tree
run's second pass surely lints it with the other files' summaries, that
lint is its result and its first pass is not needed (lazyrun._alone).

The whole-tree run's second pass (workers.again) lints a file again if it
names another file's helper, leaving out take-only helpers except where
its first pass may hold a lock.  Here the rule is decided without that
first pass where it can be, and left to both passes where it cannot.

The configuration and the lint itself are handed in by the caller (run.py):
this module imports neither run.py nor anything importing it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xenpatch.analysis.irqentry import FIELD_KEY
from xenpatch.analysis.locktable import Summary
from xenpatch.lint.findings import FileResult
from xenpatch.lint.takers import may_meet, takes_only

if TYPE_CHECKING:
    from xenpatch.lint.config import LintConfig

# The file (path, display name) and its text linted with those summaries.
Lint = Callable[[tuple[Path, str], bytes, Mapping[str, Summary]], FileResult]


def once(item: tuple[Path, str], raw: bytes, others: dict[str, Summary],
         config: LintConfig, lint: Lint) -> FileResult | None:
    """The file's lint with the other files' summaries, if a whole-tree
    run's second pass (workers.again) surely lints it so, whatever its first pass
    finds; None if that cannot be told without the first pass.

    workers.again leaves out the file's own exports, which only its first pass
    knows: here the names the name index finds defined in the file are
    left out, a superset (the lazy plan finds every helper's file by them).
    What is left surely calls for the second pass if it holds a helper
    that does more than take locks.  Take-only helpers call for it only
    where the first pass may hold a lock; when every summary given only
    takes locks, plainly (no success class, no out-parameters, no take on
    an argument's nullness or a mode it chooses), the lint with them holds
    the same locks at every node as the lint without (a take changes no
    state and splits no path), so its own held_calls stand for the first
    pass's -- if the first pass parses the file at all: one naming no
    lock operation is left unparsed, holding nothing, unless given
    summaries.  A take on an argument's say (``when``: vfree() takes
    vm_lock for a non-NULL pointer) splits no path either, but makes the
    lint track that argument where it is a variable, and a tracked
    variable's facts may prune paths or make a parameter a guard, in the
    function tracking it and, through its summary, in what calls it: the
    held calls of the other functions (FileResult.held_untracked) are the
    first pass's, and only those witness for it (alloc_domheap_page(e, ..)
    in grant_table.c's gnttab_transfer() leaves the calls that its
    callers and it make holding a lock out, the others' stand)."""
    from xenpatch.lint import nameindex
    from xenpatch.lint.reaching import calls_any, reached_from

    path = item[0]
    mine = {d.name for d in nameindex.definitions(raw)}
    theirs = {n: s for n, s in others.items() if n not in mine and not n.startswith(FIELD_KEY)}
    if calls_any(path, frozenset(n for n, s in theirs.items() if not takes_only(s)), raw=raw):
        return lint(item, raw, others)
    if not all(plain_takes(s, said=True) for s in others.values()) \
            or not parsed_alone(path, raw, config):
        return None
    meet = frozenset(n for n, s in theirs.items() if may_meet(s, raw))
    if not calls_any(path, meet, raw=raw) or not after_acquires(path, raw, meet, config):
        # Likely the first pass's result stands: it is the one to run.
        return None
    one = lint(item, raw, others)
    # A function tracking a variable for a take on its say alone, and what
    # reaches one, may hold other locks than in the first pass: the calls
    # of the others are the first pass's too (filelint.held_untracked()).
    if calls_any(path, meet & reached_from(path, one.held_untracked), raw=raw):
        return one
    return None


def after_acquires(path: Path, raw: bytes, names: frozenset[str], config: LintConfig) -> bool:
    """May one of ``names`` be called holding a lock, as the text shows it:
    named after a lock operation that takes one in some function of the
    file (or in what its headers' inlines and macros named there call).
    Only a guess of which lint to run first: once() checks the held calls
    of the one it runs (following the file's own functions too made the
    guess yes in all 6 files of 4.19 it was tried on, wrongly in 5)."""
    from xenpatch.lint import nameindex
    from xenpatch.lint.reaching import reached_from

    table = config.table
    takes = _ACQUIRES.get(table.value_key)
    if takes is None:
        ops = sorted(n for n, op in table.ops.items() if op.action in ("acquire", "try"))
        takes = _ACQUIRES[table.value_key] = re.compile(
            rb"\b(?:" + b"|".join(n.encode() for n in ops) + rb")\s*\(")
    defs = nameindex.definitions(raw)
    after: set[str] = set()
    for i, d in enumerate(defs):
        body = raw[d.brace:defs[i + 1].brace if i + 1 < len(defs) else len(raw)]
        m = takes.search(body)
        if m is not None:
            after |= nameindex.identifiers(body[m.start():])
    return not names.isdisjoint(reached_from(path, frozenset(after)))


_ACQUIRES: dict[Any, re.Pattern[bytes]] = {}


def parsed_alone(path: Path, raw: bytes, config: LintConfig) -> bool:
    """Does lint_file() parse ``raw`` when given no summaries?"""
    from xenpatch.analysis.headers import header_index
    from xenpatch.c.source import mentions_any
    from xenpatch.lint.filelint import _seed_names

    return mentions_any(raw, _seed_names(config, header_index(path)))


def plain_takes(s: Summary, said: bool = False) -> bool:
    """Only takes, none of them decided by an argument, of a helper that
    is no try-like one: nothing a call of it does changes the caller's
    paths.  ``said``: a take on an argument's truth (``when``) counts too;
    the lint with it then tells whether it tracked a variable for it."""
    return (s.conditional is None and s.guard is None and not s.outs and s.test is None and all(
        e.action == "take" and (said or e.when is None) and e.nonnull is None
        and e.mode_arg is None for e in s.effects))
