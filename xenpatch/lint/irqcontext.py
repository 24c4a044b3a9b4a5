"""IRQ-state findings (XL011-XL014) in one caller's context.

A function whose callers do not all agree on the IRQ state at its entry
is run with the entry unknown (analysis/irqentry.py), which says nothing
of a ``spin_lock_irq()`` that re-enables IRQs under a caller that had them
off.  Each caller is its own context, though: when one calls it with IRQs
off (or on) on every path to the call, the function runs with that entry
again, and what that run reports beyond the unknown-entry run is a
finding in that caller's context, shown with a note naming the caller
(and, when the caller's state came from its own caller, that one first).

The callers are this file's direct calls, read from runs whose entry is
no guess (irqsafe.guessed_entries()), and in a whole-tree run one call per
state from each other file (irqentry.call_witnesses(), settled over the
tree by irqcalls.settle(): only for a function the tree defines once).  A
call passing a constant where the callee branches on that argument is no
context for all the callee's paths and is left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from xenpatch.analysis import fnptrs
from xenpatch.analysis.events import IrqAct, OpAct
from xenpatch.analysis.fileanalysis import FileAnalysis
from xenpatch.analysis.irqentry import (
    STATES,
    WITNESS,
    Note,
    Run,
    call_witnesses,
    caller_contexts,
    entry_matters,
    external_witnesses,
    tested_params,
    witness_hops,
)
from xenpatch.analysis.irqstate import CALLER_OFF, IRQ_ON
from xenpatch.analysis.irqtakes import unchecked_nodes
from xenpatch.analysis.kept import run_engine
from xenpatch.analysis.locktable import Summary
from xenpatch.analysis.pathstate import Result
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.lint.checks import RawFinding
from xenpatch.lint.irqchecks import irq_findings, tail_call
from xenpatch.lint.irqsafe import guessed_entries
from xenpatch.lint.offchains import off_runs


def context_wanted(units: Iterable[FunctionUnit]) -> set[FunctionUnit]:
    """The functions whose IRQ checks a caller's context can change: an
    IRQ move that reads the state it meets (an _irq lock, a restore) or a
    callee that turns IRQs on."""
    return {f for f in units if f.info is not None and any(
        (isinstance(a, IrqAct) and a.op in _ENTRY_MOVES) or
        (isinstance(a, OpAct) and a.effect.action == IRQ_ON)
        for acts in f.info.acts for a in acts)}


_ENTRY_MOVES = frozenset({"lock_off", "lock_restore", "restore"})


def context_findings(units: list[FunctionUnit], wanted: Iterable[FunctionUnit],
                     refs_of: Callable[[], fnptrs.FnRefs], run: Run,
                     first: Mapping[FunctionUnit, Result], entries: Mapping[str, str],
                     settled: Mapping[str, str], external: Mapping[str, object],
                     enabled: frozenset[str]) -> list[tuple[FunctionUnit, Result, RawFinding]]:
    """The findings of the ``wanted`` functions (context_wanted()) that a
    caller's context gives and the unknown entry does not.  ``first``: the
    runs with the entry unknown; ``settled``: the entries the tree settled
    (irqsafe.guessed_entries())."""
    todo = [f for f in wanted if f.name not in entries and f in first]
    if not todo:
        return []
    refs = refs_of()
    guessed = guessed_entries(units, entries, refs_of, settled)
    by_node = {f.node.start_byte: f for f in units}
    names = entry_matters({f.name for f in todo}, refs, by_node)
    seeds = external_seeds(units, names, entries, external)
    ctx = caller_contexts(names, units, refs, by_node, run, first, entries, guessed, seeds,
                          tail_call)
    out: list[tuple[FunctionUnit, Result, RawFinding]] = []
    for f in todo:
        states = ctx.get(f.name)
        if not states:
            continue
        seen = {(r.check, r.node, r.key) for r in irq_findings(f, first[f], enabled)}
        for state in sorted(states):
            # IRQs off by the caller, as an assert at the entry would say:
            # a callee's enable breaks the caller's section (XL014) too.
            res = run(f, CALLER_OFF if state == "off" else state)
            if res is None:
                continue
            for r in irq_findings(f, res, enabled):
                k = (r.check, r.node, r.key)
                if k in seen:
                    continue
                seen.add(k)
                msg = r.message.replace(_MINE, _CALLERS)
                out.append((f, res, RawFinding(r.check, r.node, r.state, r.line, r.col, r.key,
                                               msg, r.acq_site, r.nodes,
                                               (*states[state], *r.notes))))
    return out


# XL014's words for a section opened by no move of the function: in a
# context run, the caller's.
_MINE = "IRQs turned off in this function is still open here"
_CALLERS = "the caller's IRQs-off section is still open here"


def external_seeds(units: list[FunctionUnit], names: set[str], entries: Mapping[str, str],
                   external: Mapping[str, object], checked: bool = False,
                   chained: bool = False) -> dict[str, dict[str, tuple[Note, ...]]]:
    """The contexts the other files' calls give the file's non-static
    functions (irqentry.external_witnesses()), each with a note at the
    function's name; ``checked``: only calls where check_lock() checks;
    ``chained``: those made through other files' functions too
    (witnesschain.py, asked for XL017 only: the IRQ checks here read the
    direct calls)."""
    got = external_witnesses(external, checked)  # type: ignore[arg-type]
    if not got:
        return {}
    out: dict[str, dict[str, tuple[Note, ...]]] = {}
    for f in units:
        if f.name not in names or f.name in entries or f.is_static or f.name not in got:
            continue
        tested = tested_params(f)
        line, col = f.src.line_col(f.node.start_byte)
        for state, (_, _, _, lits) in got[f.name].items():
            if tested & lits:
                continue  # the caller's constant picks the callee's paths
            # A state carried through other files' functions
            # (lint/witnesschain.py): each call of the chain, the way in
            # first.
            hops = witness_hops(external[f"{WITNESS}{f.name}|{state}"])  # type: ignore[arg-type]
            if len(hops) > 1 and not chained:
                continue
            callees = [f.name, *(h[0] for h in hops)]
            out.setdefault(f.name, {})[state] = tuple(
                (line, col, f"'{callee}' called with IRQs {state} by '{h[0]}' ({h[1]}:{h[2]})")
                for callee, h in reversed(list(zip(callees, hops, strict=False))))
    return out



def witness_exports(fa: FileAnalysis, runs: Mapping[FunctionUnit, Result],
                    done: Mapping[FunctionUnit, Result],
                    refs_of: Callable[[], fnptrs.FnRefs],
                    unchecked: frozenset[str] = frozenset()) -> dict[str, Summary]:
    """The file's calls with IRQs known off or on of functions other files
    define (irqentry.call_witnesses(), WITNESS keys), from ``runs`` (those
    whose entry is no guess) and the functions not analysed for locks that
    turn IRQs off themselves (the stop-machine side of CPU teardown): their
    calls are contexts for what they call.  Then the file's functions
    those call with IRQs off, run so (lint/offchains.py): a helper with no
    lock of its own called under an _irqsave section calls another file's
    function with IRQs off too.  The calls with IRQs on are for XL017
    (irqsafectx.py), which compares a take in one caller's context with
    one in another's; the IRQ checks read the off ones only.  ``unchecked``:
    the calls after which check_lock() checks nothing (spin_debug_disable()):
    a call they may precede is marked (irqentry.witness_summary()), and no
    chain is followed from it."""
    skip = {*fa.fns, *fa.table.ops, *fa.table.wrappers, *fa.macro_calls, *fa.headers.inlines}
    base = [*runs.items(), *_irq_only_runs(fa, done)]
    # The chains come last: a function's first witness stays the one a
    # run whose entry is no guess gives.
    memo: dict[FunctionUnit, set[int]] = {}

    def quiet(g: FunctionUnit) -> set[int]:
        if g not in memo:
            memo[g] = unchecked_nodes(g, unchecked)
        return memo[g]

    got = call_witnesses([*base, *off_runs(fa, base, refs_of, quiet)], fa.src.raw, skip,
                         frozenset(STATES), quiet)
    return {f"{WITNESS}{name}|{state}": s for name, by_state in got.items()
            for state, s in by_state.items()}


def _irq_only_runs(fa: FileAnalysis, done: Mapping[FunctionUnit, Result]
                   ) -> list[tuple[FunctionUnit, Result]]:
    """The runs, entry unknown, of the file's functions not analysed for
    locks that turn IRQs off themselves."""
    off = {n.encode() for n, (effect, _) in fa.config.irq.calls.items()
           if effect in ("off", "save")}
    out: list[tuple[FunctionUnit, Result]] = []
    for f in fa.order:
        if f in done or f.src is not fa.src or fa.identifiers(f).isdisjoint(off):
            continue
        fa.prepare(f)
        res = run_engine(f, None) if f.skip is None and f.cfg is not None and \
            f.info is not None else None
        f.skip = None
        if res is not None:
            out.append((f, res))
    return out


__all__ = ["context_findings", "context_wanted", "external_seeds", "witness_exports"]
