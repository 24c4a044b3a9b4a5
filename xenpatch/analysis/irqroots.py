"""The functions a file's callers cannot show the IRQ state of, because
the tree's entry code calls them: a hypercall's handler, entered from the
architecture's trap code with IRQs on (rules/locks.toml's [irqentry]).

Which functions those are is read from the tree, not listed: each
``#define __HYPERVISOR_NAME <number>`` of its public xen.h names a
hypercall, whose handler Xen has named ``do_NAME`` (``compat_NAME`` for a
32-bit guest's) in every release.  A table, an assembly file or a
generated header then dispatches to it, none of which the lint reads as a
call: without this fact the handler's entry state would be unknown.

A function's own body can state its way in too: one that turns IRQs on
(local_irq_enable()) on a path from its entry where it has neither moved
nor read them before is entered with them off -- else the enable would
do nothing.  A CPU's bring-up (start_secondary()) and a VM exit's handler
are such: entered from assembly, before IRQs were ever on or with the
trap's gate closed them, and no C call shows it (self_stated()).  Their
state is irqstate.BOOT: off, as the IRQ-state checks read it, but no
witness for XL017 (check_lock() is off on a bring-up path) and no context.

The state is one way in, not every one: the handler's other callers are
met with it (irqentry.entry_states()), so a file calling a handler with
IRQs off leaves its entry unknown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from xenpatch.analysis.events import IrqAct
from xenpatch.analysis.irqstate import BOOT, ENABLED_TEST, EntryRoot, IrqTable
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.c.source import walk

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


def meet_into(out: dict[str, str], name: str, state: str) -> None:
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
            meet_into(out, name, entry.state)
    return out


def stated(table: IrqTable, root: Path | None, calls: Mapping[str, str]) -> dict[str, str]:
    """``calls`` (per function, what the other files' calls agree on) with
    the entry code's calls met in: what the file's own callers of each
    function are met with."""
    out = dict(calls)
    for name, state in roots(table, root).items():
        meet_into(out, name, state)
    return out


def enables(table: IrqTable) -> frozenset[str]:
    """The CPU-level calls that turn IRQs on (local_irq_enable())."""
    return frozenset(n for n, (effect, _) in table.calls.items() if effect == "on")


def self_stated(f: FunctionUnit) -> str | None:
    """BOOT (off, before f first turns them on) when ``f`` (prepared: its
    CFG and facts) turns IRQs on with a CPU-level enable on some path from
    its entry on which nothing before moved the IRQ state (a callee's _irq
    unlock aside), read it or tested it: f's author has them off on the
    way in.  None otherwise."""
    cfg, info = f.cfg, f.info
    if cfg is None or info is None:
        return None
    seen = {cfg.entry}
    todo = [cfg.entry]
    while todo:
        n = todo.pop()
        # Not moves here: the entry's note of the flags variables no save
        # wrote yet, and a callee that turns IRQs on (an _irq unlock of its
        # own: what it does with the state is not what f's author says of
        # it, and a callee doing so with IRQs off is what XL011 is for).
        moves = [a for a in info.acts[n] if isinstance(a, IrqAct) and a.op != "unsaved"] \
            if n < len(info.acts) else []
        if moves:
            if moves[0].op == "on" and moves[0].key in (None, "-"):
                return BOOT
            continue
        node = cfg.nodes[n]
        if node.ast is not None and any(
                c.type == "identifier" and f.src.text(c) == ENABLED_TEST for c in walk(node.ast)):
            continue
        for m in node.succ:
            if m not in seen:
                seen.add(m)
                todo.append(m)
    return None


__all__ = ["MIXED", "enables", "meet_into", "roots", "self_stated", "stated"]
