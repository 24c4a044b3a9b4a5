"""The file's own functions called with IRQs known off, run in that state:
what they call of other files' functions is then called with IRQs off
too (irqentry.call_witnesses() reads their runs).

VT-d's msi_msg_to_remap_entry() holds an IOMMU's lock with
spin_lock_irqsave() and calls set_msi_source_id(), a static helper with
no lock of its own, which calls pci.c's find_upstream_bridge(): the
helper is no lock-relevant function of its file, so no run of it says
in which state it makes that call, and pci.c never learns that its
function is entered with IRQs off.  Here the helper is run entered with
IRQs off, because a run whose state is no guess (irqsafe.sound_runs())
calls it with IRQs off on every path to the call, and so on down the
file's own calls: each run in the state some real path gives it.

One caller's word, as a context is (irqcontext.py): the other callers
may call it in another state, which says nothing against this one.  A
call passing a constant where the callee branches on that argument
gives no state for all the callee's paths and is left out
(irqentry.specialised()).  At most ``BOUND`` functions are run: a chain
cut there gives fewer witnesses, never a wrong one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from tree_sitter import Node

from xenpatch.analysis import fnptrs
from xenpatch.analysis.fileanalysis import FileAnalysis
from xenpatch.analysis.irqentry import Sites, node_of, specialised, tested_params
from xenpatch.analysis.kept import run_entered
from xenpatch.analysis.pathstate import Result
from xenpatch.analysis.unit import FunctionUnit

BOUND = 32  # functions run per file


def off_runs(fa: FileAnalysis, runs: Iterable[tuple[FunctionUnit, Result]],
             refs_of: Callable[[], fnptrs.FnRefs],
             unchecked: Callable[[FunctionUnit], set[int]] | None = None
             ) -> list[tuple[FunctionUnit, Result]]:
    """The file's functions some of ``runs`` (whose entry is no guess)
    calls with IRQs known off, directly or down such a chain, each run
    entered with IRQs off (module doc).  ``unchecked(g)``: g's CFG nodes
    where check_lock() checks nothing (spin_debug_disable()): no chain is
    followed from a call there (XL017 reads the witnesses)."""
    given = {f: res for f, res in runs if f.node is not None}
    if not any(_reaches_off(res) for res in given.values()):
        return []
    refs = refs_of()
    # Caller (its definition's start) -> the file's functions it calls.
    calls: dict[int, list[tuple[FunctionUnit, Node]]] = {}
    for name, sites in refs.direct.items():
        h = fa.fns.get(name)
        if h is None or h.src is not fa.src or h.node is None:
            continue
        for caller, call in sites:
            calls.setdefault(caller.start_byte, []).append((h, call))
    memo: dict[FunctionUnit, Result | None] = {}

    def run(g: FunctionUnit, entry: str | None) -> Result | None:
        if entry != "off":
            return None  # only the off runs are made here
        if g not in memo:
            memo[g] = run_entered(g, "off", fa.prepare)
        return memo[g]

    at = Sites(run, given)
    work: list[tuple[FunctionUnit, str | None]] = [(g, None) for g in given]
    done: set[FunctionUnit] = set()
    out: list[tuple[FunctionUnit, Result]] = []
    while work:
        g, entry = work.pop(0)
        for h, call in calls.get(g.node.start_byte, ()):
            if h in done or h is g or specialised(g.src, call, tested_params(h)):
                continue
            if at.state(g, entry, call, h.name) != "off":
                continue
            if unchecked is not None and node_of(at.calls[g], call) in unchecked(g):
                continue
            done.add(h)
            if len(done) > BOUND:
                return out
            res = run(h, "off")
            if res is not None:
                out.append((h, res))
                work.append((h, "off"))
    return out


def _reaches_off(res: Result) -> bool:
    """Does some state of the run have IRQs off?"""
    return any(st.fact("%irq") == "off" for _, st in res.parents)


__all__ = ["BOUND", "off_runs"]
