"""A lock an assertion says is held: ``ASSERT(rw_is_write_locked(l))``,
directly or through a macro of ASSERT, resolved as an ``asserted`` effect of
``l`` (dataflow.Engine: a path that does not hold it there was entered with
the caller's).  BUG_ON is a branch of the CFG, whose surviving arm no
resolver sees."""

from __future__ import annotations

import re
from dataclasses import replace

from xenpatch.analysis.events import ASSERTED, Resolved
from xenpatch.analysis.headers import split_args
from xenpatch.analysis.locktable import LockTable, resolve

ASSERTS = frozenset({"ASSERT"})
# The predicate call an assertion names, and a leading "!" (which it must
# not have: "not held" says nothing of whose the lock is).
_PREDICATE = re.compile(r"\s*(!?)\s*([A-Za-z_]\w*)\s*\((.*)\)\s*", re.S)


def asserted_held(table: LockTable, name: str, args: list[str]) -> Resolved | None:
    """``name(args)``, an assertion, as the locks it says are held; None if
    its condition is not one query of the lock table."""
    m = _PREDICATE.fullmatch(args[0]) if name in ASSERTS and len(args) == 1 else None
    if m is None or m.group(1):
        return None
    effs = resolve(table, m.group(2), split_args(m.group(3)))
    held = tuple(replace(e, action=ASSERTED) for e in effs or () if e.action == "query")
    return Resolved(held) if held else None
