"""The functions a file's callers cannot show the IRQ state of, because
the tree's entry code calls them: a hypercall's handler, entered from the
architecture's trap code with IRQs on (rules/locks.toml's [irqentry]).

Which functions those are is read from the tree, not listed: each
``#define __HYPERVISOR_NAME <number>`` of its public xen.h names a
hypercall, whose handler Xen has named ``do_NAME`` (``compat_NAME`` for a
32-bit guest's) in every release.  A table, an assembly file or a
generated header then dispatches to it, none of which the lint reads as a
call: without this fact the handler's entry state would be unknown.

The state is one way in, not every one: the handler's other callers are
met with it (irqentry.entry_states()), so a file calling a handler with
IRQs off leaves its entry unknown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from xenpatch.analysis.irqstate import EntryRoot, IrqTable

# What other files' calls of a name agree on (irqentry.external_calls()),
# where one of them disagrees with the root's state: no state.
MIXED = "mixed"


@cache
def _named(root: Path, entry: EntryRoot) -> frozenset[str]:
    try:
        raw = (root / entry.header).read_text(errors="replace")
    except OSError:
        return frozenset()
    names = re.findall(rf"(?m)^[ \t]*#[ \t]*define[ \t]+{entry.define}(\w+)[ \t]+\(?\d", raw)
    return frozenset(p + n for n in names for p in entry.prefixes)


def _meet(out: dict[str, str], name: str, state: str) -> None:
    """``state`` met into what ``out`` says of ``name``: two ways in that
    disagree give no state."""
    out[name] = state if out.get(name, state) == state else MIXED


def roots(table: IrqTable, root: Path | None) -> dict[str, str]:
    """Function name -> the state the tree's entry code calls it in."""
    out: dict[str, str] = {}
    if root is None:
        return out
    for entry in table.entries:
        for name in _named(root, entry):
            _meet(out, name, entry.state)
    return out


def stated(table: IrqTable, root: Path | None, calls: Mapping[str, str]) -> dict[str, str]:
    """``calls`` (per function, what the other files' calls agree on) with
    the entry code's calls met in: what the file's own callers of each
    function are met with."""
    out = dict(calls)
    for name, state in roots(table, root).items():
        _meet(out, name, state)
    return out


__all__ = ["MIXED", "roots", "stated"]
