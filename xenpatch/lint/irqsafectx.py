"""XL017 within one file, a take's IRQ state from one caller's context.

irqsafe.py compares a file's takes of a lock in the runs whose entry is
no guess: a take in a function whose callers disagree (or that other
files call in states the tree does not settle) has no state there.  One
caller is a real path, though (irqcontext.py's contexts): pci.c's
find_upstream_bridge() takes pseg->bus2bridge_lock plainly, and VT-d's
set_msi_source_id() calls it with IRQs off (under
msi_msg_to_remap_entry()'s spin_lock_irqsave()); alloc_pdev() takes the
same lock plainly inside pci_add_device(), which the PHYSDEVOP hypercall
calls with IRQs on.  Each way in gives its take a state for certain on
that path; check_lock() latches the first and BUG()s at the other.

So each function with a contested take (irqsafe.contested()) whose
entry is unknown is run again in each state a caller calls it in
(irqentry.caller_contexts(): this file's calls, chained through the
file's own callers' contexts, and one call per state from each other
file, irqentry.WITNESS, settled over the tree), and its takes there are
takes in that state.  A lock taken with IRQs known on at one take and
known off at another, one of the two from a context, is reported at each
take with IRQs on -- as irqsafe.py does -- with notes naming the callers
that give each state.  The pairs irqsafe.py reports (both states from
runs whose entry is no guess) are not reported again, nor one take met in
both states by two callers (its callers' conflict: irqwitness.py reports
the caller against the lock's convention), nor a lock of file
scope taken in another file's context: irqwitness.merge() composes that
file's call with this file's record of the take and reports it in the
calling file (a struct field's lock reached through a local or a
parameter has no such record: here is where it is compared).  Unknown
stays unknown: a caller whose state at the call is mixed gives no context,
nor one after spin_debug_disable() (check_lock() then checks nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from xenpatch.analysis import fnptrs
from xenpatch.analysis.fileanalysis import FileAnalysis
from xenpatch.analysis.irqentry import (
    ON_TOO,
    STATES,
    WANT,
    WITNESS,
    Note,
    caller_contexts,
    entry_matters,
    external_witnesses,
    field_summary,
    witness_hops,
)
from xenpatch.analysis.irqtakes import unchecked_nodes
from xenpatch.analysis.kept import run_entered
from xenpatch.analysis.locktable import Summary
from xenpatch.analysis.pathstate import Result
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.lint.checks import CHECKS, RawFinding
from xenpatch.lint.irqcontext import external_seeds
from xenpatch.lint.irqrecords import Witness
from xenpatch.lint.irqsafe import CODE, Site, Take, guessed_entries, known_takes, off_note
from xenpatch.lint.irqwitness import ASK, ASK_BY, built_together, safe_of

# A take with the run it was read from and the notes of its context.
_Seen = tuple[Take, Result, tuple[Note, ...]]


def context_safety_findings(fa: FileAnalysis, takes: Mapping[FunctionUnit, list[Site]],
                            runs: Mapping[FunctionUnit, Result],
                            first: Mapping[FunctionUnit, Result],
                            entries: Mapping[str, str], settled: Mapping[str, str],
                            refs_of: Callable[[], fnptrs.FnRefs],
                            unchecked: frozenset[str] = frozenset()
                            ) -> list[tuple[FunctionUnit, Result, RawFinding]]:
    """The module doc's findings.  ``takes``: irqsafe.contested(); ``runs``:
    the runs whose entry is no guess (irqsafe.sound_runs()); ``first``:
    the runs with the entry unknown; ``entries``: the entry states the
    callers agree on (irqentry.entry_states()); ``settled``: the states
    the tree states of other files' calls (irqsafe.guessed_entries());
    ``unchecked``: the calls after which check_lock() checks nothing."""
    todo = [f for f in takes if f.name not in entries and f in first and f.node is not None]
    if not todo:
        return []
    refs = refs_of()
    by_node = {f.node.start_byte: f for f in fa.order}
    names = entry_matters({f.name for f in todo}, refs, by_node)
    guessed = guessed_entries(fa.order, entries, refs_of, settled)
    seeds = external_seeds(fa.order, names, entries, fa.external, checked=True, chained=True)
    memo: dict[FunctionUnit, set[int]] = {}

    def quiet(g: FunctionUnit) -> set[int]:
        if g not in memo:
            memo[g] = unchecked_nodes(g, unchecked)
        return memo[g]

    # A call check_lock() does not check after (spin_debug_disable()) is
    # no context here.
    ctx = caller_contexts(names, fa.order, refs, by_node, _runner(fa), first, entries,
                          guessed, seeds, lambda g, node: node in quiet(g),
                          frozenset(STATES))
    # Where each context comes from: another file's call (its seed's
    # note first), or this file's own callers.
    files = external_witnesses(fa.external, True)  # type: ignore[arg-type]
    origin = {notes[0]: files[n][st][1] for n, by in seeds.items()
              for st, notes in by.items() if notes and st in files.get(n, {})}
    home = fa.src.path
    extra: list[_Seen] = []
    for f in todo:
        for state, notes in sorted(ctx.get(f.name, {}).items()):
            res = run_entered(f, state, fa.prepare)
            if res is None:
                continue
            away = bool(notes) and origin.get(notes[0], home) != home
            # A take check_lock() does not check latches nothing.  A lock of
            # file scope taken in another file's context is irqwitness.py's
            # (its merge composes that file's call with this file's record),
            # reported there.
            extra.extend((t, res, notes) for t in known_takes(f, res, takes[f])
                         if t.node not in quiet(f) and not (away and not t.ident[0]))
    if not extra:
        return []
    base: list[_Seen] = [(t, res, ()) for f, res in runs.items()
                         for t in known_takes(f, res, takes.get(f, []))]
    where = lambda notes: origin.get(notes[0], home) if notes else home  # noqa: E731
    # A state carried through other files' functions (witnesschain.py): a
    # longer way in, one caller's word at each hop.  Against a lock every
    # take of which is plain (IRQ-unsafe, as merge() reads the convention)
    # it names no wrong take: the IRQs-off one is the suspect, reported
    # where its state is made (the allocator's pool lock freed under an
    # irqsave lock, avc.c).  So such a pair counts only for a lock the file
    # takes in an _irq form somewhere.
    far = {notes[0] for n, by in seeds.items() for st, notes in by.items()
           if notes and len(witness_hops(fa.external[f"{WITNESS}{n}|{st}"])) > 1}
    tree = safe_of(fa.external)
    declared = {ident for lst in takes.values() for _, _, ident, plain in lst if not plain}
    declared |= {ident for lst in takes.values() for _, _, ident, _ in lst
                 if any(w.file != home and built_together(w.file, home)
                        for w in tree.get(f"{ident[0]}#{ident[1]}", ()))}
    out = _pairs(base, extra, where, lambda notes: bool(notes) and notes[0] in far, declared)
    return out + _against_tree(base, extra, where, tree, home)


def safe_asks(takes: Mapping[FunctionUnit, list[Site]], entries: Mapping[str, str],
              wants: Mapping[str, Summary],
              matters: Callable[[str], set[str]]) -> dict[str, Summary]:
    """What the first pass asks of the tree for the struct fields' locks
    the file takes plainly in a function whose entry it does not know,
    where it asks for other files' calls with IRQs on too (``wants``:
    irqentries.entry_wants()): the tree's IRQ-safe takes of each
    (irqwitness.ASK; merge() answers irqwitness.SAFE).  A context with IRQs
    on then stands against another file's _irq take of the lock
    (_against_tree()): io_apic_set_pci_routing() takes desc->lock plainly,
    irq.c takes it with spin_lock_irqsave().  And which of the asked names'
    entries each lock's takes depend on (irqwitness.ASK_BY; ``matters(name)``:
    the file's functions whose entry reaches ``name``'s,
    irqentry.entry_matters()): a run on the file alone follows the chains
    of those names only (upchains.py)."""
    if not any(k.startswith(WITNESS) and k.endswith(ON_TOO) for k in wants):
        return {}
    want = field_summary(WANT)
    out: dict[str, Summary] = {}
    for f, lst in takes.items():
        idents = sorted({f"{i[0]}#{i[1]}" for _, _, i, plain in lst if plain and i[0]})
        if f.name in entries or not idents:
            continue
        names = sorted(n for n in matters(f.name) if f"{WITNESS}{n}{ON_TOO}" in wants)
        for ident in idents:
            out[ASK + ident] = want
            out.update({f"{ASK_BY}{ident}|{n}": want for n in names})
    return out


def _against_tree(base: list[_Seen], extra: list[_Seen],
                  origin: Callable[[tuple[Note, ...]], str],
                  tree: Mapping[str, list[Witness]], home: str
                  ) -> list[tuple[FunctionUnit, Result, RawFinding]]:
    """Each take with IRQs on from a context (``extra``) of a struct
    field's lock the file takes with IRQs off nowhere (no pair for
    _pairs()) and another file takes in an _irq form (``tree``:
    irqwitness.safe_of()): against that take, the lock being IRQ-safe by
    it.  The file's own takes known on in runs whose entry is no guess
    are irqwitness.merge()'s (irqacross.py), not these."""
    if not tree:
        return []
    offs = {x[0].ident for x in [*base, *extra] if x[0].off}
    mine = {_site(x) for x in base}
    out: list[tuple[FunctionUnit, Result, RawFinding]] = []
    seen: set[tuple[int, int]] = set()
    for t, res, notes in sorted(extra, key=lambda x: (x[0].line, x[0].col)):
        if t.off or not t.ident[0] or t.ident in offs or _site((t, res, notes)) in mine:
            continue
        ws = [w for w in tree.get(f"{t.ident[0]}#{t.ident[1]}", ())
              if w.file != home and built_together(w.file, home)
              and built_together(w.file, origin(notes))]
        if not ws or (t.line, t.col) in seen:
            continue
        seen.add((t.line, t.col))
        w = ws[0]
        msg = (f"'{t.via}' takes '{t.key}' with IRQs on, but it is taken with IRQs off in "
               f"another file, at {w.file}:{w.line} (in '{w.fn}'): check_lock() wants every "
               "lock either IRQ-safe or IRQ-unsafe")
        note = (t.line, t.col, f"'{w.key}' taken with IRQs off at {w.file}:{w.line}, in "
                f"'{w.fn}' (through '{w.via}')")
        out.append((t.f, res, RawFinding(CODE, t.node, t.state, t.line, t.col, t.key, msg,
                                          notes=(*notes, note))))
    return out


def _pairs(base: list[_Seen], extra: list[_Seen], origin: Callable[[tuple[Note, ...]], str],
           far: Callable[[tuple[Note, ...]], bool] = lambda _n: False,
           declared: frozenset[tuple[str, str]] | set[tuple[str, str]] = frozenset()
           ) -> list[tuple[FunctionUnit, Result, RawFinding]]:
    """Per lock, each take with IRQs on of a lock taken with IRQs off
    elsewhere, where a context gives one of the two (module doc).
    ``origin(notes)``: the file a context's chain starts in (this one for
    its own callers): two architectures' callers never meet (irqwitness.built_together()).
    ``far(notes)``: does the context come through other files' functions
    (witnesschain.py): such a pair counts only for a lock of ``declared``
    (taken in an _irq form in the file, or in another file the tree says)."""
    by_lock: dict[tuple[str, str], tuple[list[_Seen], list[_Seen]]] = {}
    for seen, mine in ((base, False), (extra, True)):
        for x in seen:
            got = by_lock.setdefault(x[0].ident, ([], []))[x[0].off]
            # A take already in a state from a run whose entry is no guess
            # keeps that one.
            if not mine or all(_site(y) != _site(x) for y in got):
                got.append(x)
    out: list[tuple[FunctionUnit, Result, RawFinding]] = []
    base_ids = {id(x) for x in base}
    for ons, offs in by_lock.values():
        if not ons or not offs:
            continue
        sound = [x for x in offs if id(x) in base_ids]
        # irqsafe.py reports the sound takes with IRQs on against a sound one.
        todo = [x for x in ons if not sound or id(x) not in base_ids]
        for t, res, notes in sorted(todo, key=lambda x: (x[0].line, x[0].col)):
            # One take met in both states, by two callers' contexts, is its
            # callers' conflict, not this file's: the function only passes
            # their states on (irqwitness.py reports a caller against the
            # lock's convention).  Two architectures' callers never meet.
            safe = t.ident in declared
            if far(notes) and not safe:
                continue
            others = [x for x in (sound or offs) if _site(x) != _site((t, res, notes))
                      and built_together(origin(notes), origin(x[2]))
                      and (safe or not far(x[2]))]
            if not others:
                continue
            other = min(others, key=lambda x: (x[0].line, x[0].col))
            msg = CHECKS[CODE].message.format(
                via=t.via, key=t.key, other_line=other[0].line, other_fn=other[0].f.name)
            out.append((t.f, res, RawFinding(CODE, t.node, t.state, t.line, t.col, t.key, msg,
                                             notes=(*notes, *other[2], off_note(other[0])))))
    return out


def _site(x: _Seen) -> tuple[FunctionUnit, int, int, int]:
    return (x[0].f, x[0].node, x[0].line, x[0].col)


def _runner(fa: FileAnalysis) -> Callable[[FunctionUnit, str | None], Result | None]:
    return lambda g, entry: run_entered(g, entry, fa.prepare)


__all__ = ["context_safety_findings", "safe_asks"]
