"""The IRQ state each function of a file is entered in, for the checks
that read it and for XL017 across files: the callers' agreement within
the file (analysis/irqentry.py), what other files' calls and the tree's
entry code state (analysis/irqroots.py), the runs in those states and the
ones whose entry is no guess (irqsafe.sound_runs()).  lint_functions()
(filelint.py) asks; nothing here reports.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from xenpatch.analysis import cbargs, fnptrs, irqroots
from xenpatch.analysis.events import IrqAct
from xenpatch.analysis.fileanalysis import FileAnalysis
from xenpatch.analysis.functions import shape_fn
from xenpatch.analysis.irqentry import (
    BOOT,
    CALL_KEY,
    FIELD_KEY,
    ON_TOO,
    STATED,
    WANT,
    WITNESS,
    entry_matters,
    entry_states,
    external_calls,
    external_entries,
    field_summary,
)
from xenpatch.analysis.kept import run_engine, run_entered
from xenpatch.analysis.locktable import Summary
from xenpatch.analysis.pathstate import Result
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.lint import irqwitness
from xenpatch.lint.checks import CheckObserver, PercpuOracle, RawFinding
from xenpatch.lint.config import LintConfig
from xenpatch.lint.irqchecks import IRQ_CODES
from xenpatch.lint.irqcontext import context_findings
from xenpatch.lint.irqsafe import sound_runs
from xenpatch.lint.pathnotes import agreement


def entered(fa: FileAnalysis, done: list[tuple[FunctionUnit, Result, list[RawFinding]]],
            extra: set[FunctionUnit], entries: Mapping[str, str],
            runs: Mapping[FunctionUnit, Result], first: Mapping[FunctionUnit, Result],
            refs_of: Callable[[], fnptrs.FnRefs]) -> dict[FunctionUnit, Result]:
    """``runs`` (sound_runs()) with the ``extra`` functions whose callers
    agree on their entry state run in it (without checks: only XL017 across
    files reads them), where that entry is no guess."""
    more: dict[FunctionUnit, Result] = {}
    for f in extra:
        if f.name in entries and (res := _run_entered(f, entries[f.name])) is not None:
            more[f] = res
    if not more:
        return dict(runs)
    final = {**{f: res for f, res, _ in done}, **more}
    return sound_runs(fa.order, first, final, entries, refs_of, stated_calls(fa))


def from_roots(fa: FileAnalysis, done: list[tuple[FunctionUnit, Result, list[RawFinding]]],
               wanted: set[FunctionUnit], entries: Mapping[str, str],
               runs: Mapping[FunctionUnit, Result], first: Mapping[FunctionUnit, Result],
               refs_of: Callable[[], fnptrs.FnRefs]
               ) -> tuple[dict[FunctionUnit, Result], set[FunctionUnit]]:
    """``runs`` with the functions the tree's entry code or their own body
    state the way in of (stated_calls()) run in that state, and those of
    them that are a bring-up (BOOT): the calls they make are in it (a CPU's
    bring-up calls its set-up with IRQs off), for the files defining the
    callees (irqentry.call_states())."""
    stated = stated_calls(fa)
    roots = {f for f in fa.order if f.src is fa.src and f.name in entries
             and stated.get(f.name) in STATED}
    out = dict(entered(fa, done, roots - wanted, entries, runs, first, refs_of)
               if roots - wanted else runs)
    boot: set[FunctionUnit] = set()
    for f in roots:
        # sound_runs() keeps a bring-up's unknown entry for what XL017
        # reads: its own calls are run in it here.
        if entries[f.name] == BOOT and (res := _run_entered(f, BOOT)) is not None:
            out[f] = res
            boot.add(f)
    return out, boot


def _run_entered(f: FunctionUnit, entry: str) -> Result | None:
    """f's dataflow entered in ``entry``, without checks (None if f has no
    facts to run)."""
    if f.info is None:
        return None
    f.entry_irq = entry
    try:
        return run_engine(f, None)
    finally:
        f.entry_irq = None


def ways_in(fa: FileAnalysis, xrec: irqwitness.Records,
            linted: Mapping[FunctionUnit, Result]) -> set[FunctionUnit]:
    """The functions entered in a state the tree states (other files'
    calls, the entry code's) that the lint left out as quiet -- their
    locks are their callees' -- but whose callees take one in their state:
    a hypercall's dispatcher is where the takes below it get their state
    (XL017 across files reads them)."""
    stated = stated_calls(fa)
    out: set[FunctionUnit] = set()
    for f in fa.order:
        if f in linted or f.is_static or stated.get(f.name) not in ("on", "off"):
            continue
        fa.prepare(f)
        if f.skip is None and f.info is not None and f.cfg is not None and \
                any(not t.off for t in xrec.of(f)[0]):
            out.add(f)
    return out


def stated_calls(fa: FileAnalysis) -> dict[str, str]:
    """Per function, the state the file's own callers of it are met with:
    what other files' calls agree on, the tree's entry code's calls and
    what the file's functions' own bodies say of their way in
    (analysis/irqroots.py); once per analysis."""
    return _stated(fa)[0]


def self_stated(fa: FileAnalysis) -> dict[str, str]:
    """The file's functions whose own body states their way in
    (irqroots.self_stated()): static ones too, whose callers are all in
    the file (entry_states() meets them)."""
    return _stated(fa)[1]


def _stated(fa: FileAnalysis) -> tuple[dict[str, str], dict[str, str]]:
    """stated_calls() and self_stated(), worked out together once per
    analysis (kept on the parse while the other files' facts are these)."""
    got = fa.src.derived.get("stated_calls")
    if got is not None and got[0] is fa.external:
        return got[1]  # type: ignore[no-any-return]
    names = {n.encode() for n in irqroots.enables(fa.config.irq)}
    own: dict[str, str] = {}
    for f in fa.order:
        if f.src is not fa.src or not names & fa.identifiers(f) or fa.fns.get(f.name) is not f:
            continue
        fa.prepare(f)
        if f.skip is None and (state := irqroots.self_stated(f)) is not None:
            own[f.name] = state
    calls = irqroots.stated(fa.config.irq, fa.headers.root, external_calls(fa.external))
    for name, state in own.items():
        irqroots.meet_into(calls, name, state)
    fa.src.derived["stated_calls"] = (fa.external, (calls, own))
    return calls, own


# Why a finding's path starts with IRQs in a state (the function's entry).
_ENTERED = {
    "on": "'{f}' is entered with IRQs on: every way in the lint sees (its callers, the "
          "tree's entry code) has them on",
    "off": "'{f}' is entered with IRQs off: every way in the lint sees (its callers) has "
           "them off",
    BOOT: "'{f}' is entered with IRQs off: called before its caller first turns them on "
          "(a CPU's bring-up, an entry from assembly)",
}


def entry_noted(f: FunctionUnit, before: list[RawFinding],
                after: list[RawFinding]) -> list[RawFinding]:
    """``after`` (the findings of f's run in its entry state, f.entry_irq),
    those that the run with the entry unknown (``before``) did not give
    noted with where the state comes from, as the first step of their
    path."""
    seen = {(r.check, r.node, r.key) for r in before}
    text = _ENTERED.get(f.entry_irq or "")
    if text is None:
        return after
    line, col = f.src.line_col(f.node.start_byte)
    note = (line, col, text.format(f=f.name))
    return [r if (r.check, r.node, r.key) in seen else replace(r, notes=(note, *r.notes))
            for r in after]


def fn_refs(fa: FileAnalysis) -> fnptrs.FnRefs:
    """The file's function references (fnptrs.index()), a function of its
    text, the rules' callbacks and where the tree declares them
    (analysis/cbargs.py): kept on the parse, for a second pass over it
    (nothing changes an index once made)."""
    root = fa.headers.root
    where = (root / fa.tree_path).parent if root is not None and fa.tree_path else None
    callbacks = cbargs.callback_args(fa.config.irq, root, fa.headers.arch, where, fa.src.raw)
    names = [g.name for g in fa.order]
    got = fa.src.derived.get("fnptrs")
    if got is not None and got[0] == callbacks and got[1] == names:
        return got[2]  # type: ignore[no-any-return]
    refs = fnptrs.index(fa.src, names, callbacks)
    fa.src.derived["fnptrs"] = (callbacks, names, refs)
    return refs


# IRQ moves whose checks read the state the function was entered in.
_ENTRY_MOVES = frozenset({"lock_off", "lock_restore", "restore"})


def entry_wanted(done: list[tuple[FunctionUnit, Result, list[RawFinding]]],
                 plain_takes: set[FunctionUnit]) -> set[FunctionUnit]:
    """The functions whose checks read the state they are entered in."""
    return {f for f, _, _ in done if f.info is not None and (any(
        isinstance(a, IrqAct) and a.op in _ENTRY_MOVES for acts in f.info.acts for a in acts)
        or f in plain_takes)}


def entry_wants(fa: FileAnalysis, wanted: set[FunctionUnit], refs: fnptrs.FnRefs,
                own_fields: Mapping[str, str], entries: Mapping[str, str],
                in_context: set[FunctionUnit],
                takers: set[FunctionUnit] | None = None) -> dict[str, Summary]:
    """The tree-level facts this file would read (irqcalls.settle() settles
    only those): the entries of its non-static functions that reach a
    function in ``wanted`` and that only other files call, and what the
    other files' calls agree on for a field it stores such a function in
    and calls through in a state it cannot state alone (``own_fields``: its
    calls' states); and other files' calls one at a time of its non-static
    functions reaching one in ``in_context`` (irqcontext.context_wanted())
    whose entry it does not know; of those reaching one in ``takers`` (a
    plain take XL017 wants the state of, irqsafectx.py), such a call with
    IRQs on too (``WITNESS + NAME|on``)."""
    by_node = {f.node.start_byte: f for f in fa.order}
    matters = entry_matters({f.name for f in wanted}, refs, by_node) if wanted else set()
    by_ctx = entry_matters({f.name for f in in_context}, refs, by_node) if in_context \
        else set()
    want = field_summary(WANT)
    # A function this file calls or stores too is left to its own callers
    # (what the tree settles is read for the names asked: fewer is cheaper).
    out = {CALL_KEY + f.name: want for f in fa.order
           if f.name in matters and not f.is_static and f.name not in refs.direct
           and not refs.fields_of(f.name) and f.name not in refs.escapes}
    # And one other file's call at a time, for those whose callers here do
    # not agree (irqcontext.py).
    by_take = entry_matters({f.name for f in takers}, refs, by_node) if takers else set()
    for f in fa.order:
        if f.is_static or f.name in entries:
            continue
        if f.name in by_ctx or f.name in by_take:
            out[WITNESS + f.name] = want
        if f.name in by_take:
            out[WITNESS + f.name + ON_TOO] = want
    for fld, names in refs.stored.items():
        if own_fields.get(fld, "?") not in ("on", "off") and refs.field_calls.get(fld) \
                and names & matters:
            out[FIELD_KEY + fld + "|"] = want
    return out


def with_entry_states(fa: FileAnalysis, config: LintConfig, oracle: PercpuOracle,
                      done: list[tuple[FunctionUnit, Result, list[RawFinding]]],
                      readers_wait: bool, wanted: set[FunctionUnit],
                      in_ctx: set[FunctionUnit],
                      refs_of: Callable[[], fnptrs.FnRefs],
                      also: set[FunctionUnit] | None = None) -> tuple[dict[str, str],
                                 list[tuple[FunctionUnit, Result, RawFinding]]]:
    """The checks run again over the ``wanted`` functions (entry_wanted())
    whose callers all agree on the IRQ state at entry (analysis/irqentry.py):
    an IRQ move of theirs can tell (an _irq lock, or a restore of flags
    saved from that state), or XL017 wants the state of a plain take.  With
    them, the findings of the functions whose callers disagree in one
    caller's context (``in_ctx``: irqcontext.context_wanted()).  ``also``:
    functions whose entry states XL017 across files reads (irqwitness.py),
    not run again here."""
    if not IRQ_CODES & config.enabled or not wanted and not in_ctx and not also \
            and not self_stated(fa):
        return {}, []
    refs = refs_of()
    by_node = {f.node.start_byte: f for f in fa.order}
    first = {f: res for f, res, _ in done}

    def run(g: FunctionUnit, entry: str | None) -> Result | None:
        return run_entered(g, entry, fa.prepare)

    calls = stated_calls(fa)
    # A function with no lock of its own whose callers elsewhere agree is a
    # way in for the ones it calls (through a field too).
    units = [f for f, _, _ in done]
    own = self_stated(fa)
    units += [f for f in fa.order if f.name in calls and (not f.is_static or f.name in own)
              and f not in first]
    entries = entry_states(units, refs, by_node, run, first,
                           external_entries(fa.external, fa.tree_path), calls, own)
    for i, (f, _, _) in enumerate(done):
        if f not in wanted or f.name not in entries or f.info is None:
            continue
        f.entry_irq = entries[f.name]
        obs = CheckObserver(oracle, shape_fn(f.info), config.enabled, readers_wait)
        res = run_engine(f, obs)
        if res is not None:
            done[i] = (f, res, obs.chosen(agreement(fa.src, f, res)))
    in_context = context_findings(fa.order, in_ctx, refs_of, run, first,
                                  entries, calls, fa.external, config.enabled)
    return entries, in_context
