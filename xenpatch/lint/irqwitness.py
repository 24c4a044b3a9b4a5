"""XL017 across files: a lock taken with IRQs known on in one file and known
off in another (lint/irqsafe.py compares the takes of one file).

Xen's check_lock() latches a lock's IRQ safety at its first take over the
whole hypervisor.  The commonest miss is the allocator's: a function holding
a lock with IRQs off (spin_lock_irqsave()) calls xmalloc(), whose pool lock
is taken plainly in xmalloc_tlsf.c -- with IRQs off there, and with IRQs on
wherever the allocator is called with IRQs known on.

Each file's first pass of a whole-tree run exports (keys under ``XKEY``,
a CALL_KEY prefix: every filter keeping tree facts out of function
summaries covers them):

- ``TAKES + NAME``: the takes inside each of its non-static functions, in
  callers' terms (analysis/irqtakes.py: an _irq/_irqsave take, or a plain
  one no IRQ move of the function precedes, which happens in the caller's
  state) -- not those whose path a call site must bind (below): merge()
  reads no call site's arguments or path;
- ``LOCK + IDENT|STATE``: per lock identity (irqsafe.identity(), a
  file-scope static object qualified by its file: each file has its own),
  one take with IRQs known in STATE -- its own, or inside a function of
  the file -- from the runs whose entry is no guess (irqsafe.sound_runs());
  an _irq/_irqsave take's STATE is ``IRQ``;
- ``CALLS + NAME|STATE``: one call with IRQs known in STATE of each
  function another file defines, made here or by a helper of the file
  (or a header inline) that calls it on entry -- no IRQ move before it --
  and on every path, or on paths no caller's argument decides
  (pathconds.blind_to_caller(): sidtab_insert() allocates on a lookup
  miss, init_one_irq_desc() for a descriptor not set up yet).  A call on
  paths an argument decides (a size, a command, a pointer's own value)
  or a put deciding on its caller's reference (vgic_put_irq() frees the
  last reference of an LPI only) is the helper's business, which no
  caller's state says; a NULL test of a pointer parameter is bound where
  the caller dereferenced its argument before the call on every path
  (irqtakes.nonnull_at()), and a caller whose own path to the call
  contradicts the helper's (pathconds.may_exclude()) does not meet it.
  The file's own takes on some paths are its record whatever decides
  them (the allocator takes its pool's lock for small sizes only);
- ``HOPS + NAME``: the other files' functions each non-static function
  calls in its callers' state (Records.own(): no IRQ move before, on every
  path or on paths no caller's argument decides), with what a call site
  must bind (arguments non-NULL, path conditions).  A file naming no lock
  op is not parsed by its first pass: lint/irqhops.py gives the records
  of its functions some file calls with IRQs known off, before merge().

merge() puts them together over the tree (a function two files define
with different records: the definition the Makefiles build when the
others are known not built, c/builtobjs.py; else no record), the
records composed first (composed(): a function's takes are its own and
those of the functions its HOPS name, to a fixpoint -- create_irq()
holds an irqsave lock around init_one_irq_desc() of common/irq.c, which
allocates: the allocator's lock, two files away): a call of another
file's function in a known state is a take, in that state, of each lock
of file scope the callee takes in its caller's state (an _irq take:
off), named as the defining file names it, and of each struct field of
a parameter it takes so, named by its class (the struct type and the
path: a vCPU's inject lock whichever vCPU the caller passes, as a typed
variable's take of it is in any file; past a hop too, whose parameters
no record maps to the taker's, under a key no call binds).  A take
through a hop whose
call site must bind it (``weak``) marks the file for its second pass,
which binds it at the call (irqtakes.function_takes()), but is no
other file's witness.  A lock's convention is what its takes
declare: IRQ-safe where one of them is an _irq/_irqsave form, IRQ-unsafe
where all are plain.  Only locks taken in both states somewhere are kept,
with up to two takes in the state of the convention from different files,
and every file with a take against it (IRQs on for an IRQ-safe lock, off
for an IRQ-unsafe one: the allocator called under an irqsave lock) where
another file has one of those is marked (``RELINT``) for the second pass.
There (lint/irqacross.py) a file reports each of its takes (its own, or inside a callee, this
file's or another's through ``TAKES``) against the convention, naming
its own take the other way first where it has one inside another file's
function (the same report whichever files a run read), else another
file's -- unless the file takes the lock in both states by its own lock
ops: that pair is the one-file check's.  Two files under different
arch/NAME/ are never built together: their takes never meet, nor does a
take in one with another architecture's file-scope lock.

A run on some files of a tree (lint FILE, the hook) runs merge() over
the few files lint/lazywitness.py finds for a file calling another
file's function with IRQs known off, or lint/lazyfield.py for a file
taking a struct field's lock with IRQs known off (the files naming its
identity): the whole-tree run's report of it where that search decides
it; the symmetric case (a file taking plainly
with IRQs on a lock some other file takes _irq) is the whole-tree run's,
but for a struct field's lock taken in a caller's context
(irqsafectx.py's ASK: lint/upchains.py answers it for a file linted
alone).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from xenpatch.analysis.extmemo import of_mapping
from xenpatch.analysis.fileanalysis import FileAnalysis
from xenpatch.analysis.inert import without_acts
from xenpatch.analysis.irqentry import LOCKS_KEY
from xenpatch.analysis.irqtakes import (
    Call,
    Take,
    Template,
    ahead_at,
    ahead_states,
    class_key,
    function_takes,
    shown,
    state_in,
    states_by_node,
)
from xenpatch.analysis.lockkeys import KEY_HEAD
from xenpatch.analysis.locktable import Effect, Summary
from xenpatch.analysis.pathconds import (
    Deciders,
    blind_to_caller,
    branch_conds,
    deciding_branches,
    encode,
    pointer_params,
    template_conds,
)
from xenpatch.analysis.pathstate import Result, State
from xenpatch.analysis.takes import hidden_at, hidden_names
from xenpatch.analysis.templates import template
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.c.builtobjs import built_one
from xenpatch.lint.irqrecords import (
    Witness,
    effect,
    record_templates,
    witness_effect,
    witnesses_of,
)
from xenpatch.lint.irqsafe import identity
from xenpatch.lint.treeexports import architecture

XKEY = LOCKS_KEY
TAKES = XKEY + "take:"
LOCK = XKEY + "lock:"
CALLS = XKEY + "call:"
HOPS = XKEY + "hop:"
RELINT = XKEY + "file:"
# A struct field's lock a file takes plainly in a function whose state only
# a caller's context may give (irqsafectx.py): the file asks for the tree's
# IRQ-safe takes of it (``ASK + IDENT``), which merge() gives (``SAFE +
# IDENT``: up to _MAX takes in an _irq form, from other files).
ASK = XKEY + "ask:"
# ASK_BY + IDENT|NAME: the entry of the file's function NAME decides a take
# of the asked lock IDENT (irqsafectx.safe_asks(); upchains.py reads it).
ASK_BY = XKEY + "askby:"
SAFE = XKEY + "safe:"
# The state of an _irq/_irqsave take (off, and the lock declared IRQ-safe).
IRQ = "irq"
_MAX = 2  # takes kept per lock and state, from different files


def _static_heads(raw: bytes) -> frozenset[str]:
    """The names the file declares static at file scope (roughly: a
    ``static`` declaration's last identifier before ``;``, ``=``, ``[`` or
    ``,``, and ``static DEFINE_SPINLOCK(x)``)."""
    out = {m.group(1).decode() for m in _STATIC_DECL.finditer(raw)}
    out |= {m.group(1).decode() for m in _STATIC_DEFINE.finditer(raw)}
    return frozenset(out)


_STATIC_DECL = re.compile(rb"(?m)^static\b[^;{}()=]*?\b([A-Za-z_]\w*)\s*(?:\[[^\]]*\]\s*)*[;=,]")
_STATIC_DEFINE = re.compile(rb"(?m)^static\s+DEFINE_\w+\s*\(\s*([A-Za-z_]\w*)")


class Records:
    """The takes of a file's functions (irqtakes.function_takes()), with its
    own functions' records and other files' (``TAKES`` in ``external``)."""

    def __init__(self, fa: FileAnalysis, kinds: frozenset[str],
                 unchecked: frozenset[str] = frozenset()) -> None:
        self.fa, self.kinds, self.unchecked = fa, kinds, unchecked
        self.ext = {k[len(TAKES):]: record_templates(s) for k, s in fa.external.items()
                    if k.startswith(TAKES)}
        # The lock API, and the IRQ API (moves, not calls of another file's).
        self.names = frozenset(fa.table.names()) | frozenset(fa.config.irq.calls)
        self.memo: dict[FunctionUnit, tuple[list[Take], list[Call]]] = {}
        self.tmpl: dict[str, list[Template] | None] = {}
        self.busy: set[str] = set()
        self.aheads: dict[FunctionUnit, dict[int, str]] = {}
        self._static: frozenset[str] | None = None
        # Per function: what decides its CFG's paths, its pointer
        # parameters and hidden names, and each deciding branch's verdict
        # (blind()).
        self.facts: dict[FunctionUnit, tuple[Deciders, frozenset[str], frozenset[str],
                                             dict[tuple[int, bool | None, frozenset[str]],
                                                  bool | int | None]]] = {}
        self.blinds: dict[tuple[FunctionUnit, int], tuple[frozenset[int], str] | None] = {}
        # Per function and parameter: the nodes writing it, and the nodes
        # reached after one (takes.hidden_at(), asked for many nodes of g).
        self.written: dict[tuple[FunctionUnit, str], frozenset[int]] = {}

    def ahead(self, f: FunctionUnit, node: int, line: int, col: int) -> str | None:
        """The state every path from the point states (irqtakes.ahead_at())."""
        if f.cfg is None or f.info is None:
            return None
        got = self.aheads.get(f)
        if got is None:
            got = self.aheads[f] = ahead_states(f.cfg, f.info.acts)
        return ahead_at(got, f.cfg, f.info.acts, node, line, col) if got else None

    def of(self, f: FunctionUnit) -> tuple[list[Take], list[Call]]:
        got = self.memo.get(f)
        if got is None:
            got = self.memo[f] = function_takes(f, self.kinds, self.templates,
                                                self.fa.macro_calls, self.names,
                                                self.unchecked)
        return got

    def templates(self, name: str) -> list[Template] | None:
        """What a call of ``name`` takes; None: nothing known (another
        file's function the tree has no record of, a recursion)."""
        if name in self.tmpl:
            return self.tmpl[name]
        g = self.fa.fns.get(name)
        if g is None and name in self.fa.headers.inlines:
            g = self.fa.header_fn(name)  # zalloc_cpumask_var() allocates
        if g is None:
            return self.ext.get(name)
        if name in self.busy:
            return None
        self.busy.add(name)
        try:
            # A function reaching no lock of the file's may still call
            # another file's that takes one (sidtab_insert() allocates):
            # of one that cannot lock nor move IRQs, its CFG and calls
            # are all this reads, not its fill (analysis/inert.py).
            unit = without_acts(self.fa, g)
            if unit is None:
                self.fa.prepare(g)
                unit = g
            ok = unit.skip is None and unit.info is not None and unit.cfg is not None
            out = self.own(unit) if ok else None
        finally:
            self.busy.discard(name)
        self.tmpl[name] = out
        return out

    def own(self, g: FunctionUnit) -> list[Template]:
        """g's takes in its callers' terms."""
        assert g.info is not None
        out: dict[tuple[str, bool], Template] = {}
        takes, calls = self.of(g)
        # A name g calls on every path (clean) has that call's record, which
        # no call on some paths replaces (_keep()): those need no verdict.
        every = {c.name for c in calls if c.clean and c.every}
        for c in calls:
            # Another file's function called on some paths of g only: the
            # callers' business when no caller's argument decides the path
            # (pathconds.blind_to_caller(): init_one_irq_desc() allocates
            # for a descriptor not yet initialised), else g's, which no
            # caller's state says (vgic_put_irq() frees the last reference
            # of an LPI only: a put, and a test of its argument's number).
            # The file's own functions' takes on some paths are its record
            # (the allocator takes its pool's lock for small sizes only).
            if not c.clean or (not c.every and c.name in every):
                continue
            got = (frozenset[int](), "") if c.every else self.blind(g, c.node)
            if got is not None:
                new = Template(c.name, "", False, c.name, call=True,
                               nonnull=tuple(sorted(got[0])), conds=got[1], some=not c.every)
                _keep(out, ("()" + c.name, False), new)
        for t in takes:
            if not t.off and not t.clean:
                continue  # after an IRQ move of g's: in no state its caller knows
            why: tuple[frozenset[int], str] | None = (frozenset(), "")
            if t.callee and not t.every and t.callee not in self.fa.fns and \
                    t.callee not in self.fa.headers.inlines:
                # Another file's function, called on some paths (above).
                why = self.blind(g, t.node)
                if why is None:
                    continue
            # A class met past a hop is named by its class's text, which no
            # parameter of g's may be read into (a parameter named vcpu).
            k = class_key(t.ident) if struct_ident(t.ident) and t.key == shown(t.ident) \
                else template(t.key, g.info)
            if k is None:
                continue
            ident = t.ident or self.ident(g, t.key) or ""
            if "$" in k and not struct_ident(ident):
                # A parameter's lock names no class but a struct field's: the
                # one its caller passes, which no record here binds.
                ident = ""
            assert why is not None
            _keep(out, (k, t.off), Template(k, t.kind, t.off, t.via, ident,
                                            nonnull=tuple(sorted(why[0])), conds=why[1]))
        return [out[k] for k in sorted(out)]

    def blind(self, g: FunctionUnit, node: int) -> tuple[frozenset[int], str] | None:
        """Is CFG ``node`` of g reached on paths no caller's argument
        decides (pathconds.blind_to_caller()): None if not, else the
        parameters a call must pass non-NULL, and what the path tests in
        its callers' terms (a caller's path may contradict it)."""
        assert g.cfg is not None and g.info is not None
        if (g, node) in self.blinds:  # the calls of one node share it
            return self.blinds[(g, node)]
        self.blinds[(g, node)] = out = self._blind(g, node)
        return out

    def _blind(self, g: FunctionUnit, node: int) -> tuple[frozenset[int], str] | None:
        assert g.cfg is not None and g.info is not None
        got = self.facts.get(g)
        if got is None:  # once per function, not per call node asked
            got = self.facts[g] = (Deciders(g.cfg), pointer_params(g.src, g.node),
                                   hidden_names(g), {})
        deciders, pointers, hidden, verdicts = got
        branches = deciding_branches(g.cfg, node, deciders)
        # Blind: by the parameters' values at the branches; what the path
        # tests is still read as before (a name the body assigns stays out
        # of it: may_exclude() reads the conditions a caller shares).
        need = blind_to_caller(g.src, g.cfg, branches, g.info.params, pointers,
                               hidden_at(g, hidden, [c for c, _ in branches], self.written),
                               verdicts)
        if need is None:
            return None
        conds = template_conds(branch_conds(g.src, g.cfg, branches), g.info.params,
                               set(hidden))
        return need, encode(conds)

    def ident(self, f: FunctionUnit, key: str) -> str | None:
        """The lock's identity across files, as text: a file-scope static
        object's is its file's alone."""
        assert f.info is not None
        got = identity(f.info, key)
        if got is None:
            return None
        t, path = got
        if not t:
            m = KEY_HEAD.match(key.lstrip("&"))
            if self._static is None:
                self._static = _static_heads(self.fa.src.raw)
            if m is not None and m.group(2) in self._static:
                path = f"{self.fa.src.path}:{path}"
        return f"{t}#{path}"


def _keep(out: dict[tuple[str, bool], Template], k: tuple[str, bool], new: Template) -> None:
    """One template per key: the first, unless a later one needs less of
    its callers (no argument non-NULL, no path condition)."""
    had = out.get(k)
    if had is None or (_needs(had) and not _needs(new)):
        out[k] = new


def _needs(t: Template) -> bool:
    """Does the template need something of its callers (an argument
    non-NULL, a path condition), or hold on some paths of a hop only?"""
    return bool(t.nonnull or t.conds or t.some)


def take_state(rec: Records, t: Take, f: FunctionUnit,
           by_node: Mapping[int, Sequence[State]]) -> str | None:
    """``by_node``: the run's states (irqtakes.states_by_node())."""
    assert f.info is not None
    return "off" if t.off else state_in(by_node.get(t.node, ()), f.info.acts, t.node,
                                        t.line, t.col, rec.ahead(f, t.node, t.line, t.col))


def records(rec: Records, name: str) -> dict[str, Summary]:
    """A non-static function's records for other files: ``TAKES``, its
    takes no call site must bind (merge() reads no call's arguments or
    path); ``HOPS``, its calls of other files' functions in its callers'
    state (Records.own(): clean, on every path or on paths no caller's
    argument decides), with what their call sites must bind, which the
    second pass of a caller's file does (irqtakes.function_takes())."""
    tmpl = rec.templates(name) or ()
    got = [t for t in tmpl if not t.call and not t.nonnull and not t.conds]
    hops = [t for t in tmpl if t.call]
    out: dict[str, Summary] = {}
    if got:
        out[TAKES + name] = Summary(tuple(effect(t) for t in got), None)
    if hops:
        out[HOPS + name] = Summary(tuple(effect(t) for t in hops), None)
    return out


def exports(rec: Records, runs: Mapping[FunctionUnit, Result],
            relevant: Sequence[FunctionUnit],
            maybe: Callable[[FunctionUnit, int], bool] | None = None) -> dict[str, Summary]:
    """The file's first-pass facts (module doc).  ``maybe(f, node)``: may
    the tree find a take or call at f's CFG node made with check_lock()
    off (lint/unarmedfile.py)?  A witness so is followed by the first one
    that may not, and marked (``MAYBE``): merge() drops it where the tree
    did find so, keeping it if other takes of the file might stand."""
    fa = rec.fa
    out: dict[str, Summary] = {}
    for f in relevant:
        if f.is_static or f.info is None or f.cfg is None or f.skip is not None:
            continue
        # A take needing the call's argument non-NULL, or on a path a
        # caller's may contradict: no other file's call site is read
        # (merge() binds a call's state, not its arguments or path).
        out.update(records(rec, f.name))
    locks: dict[str, tuple[tuple[int, int], Witness]] = {}
    calls: dict[str, tuple[tuple[int, int], Witness]] = {}
    # Per key, the first witness no take of which the tree may find
    # unchecked, and whether another function's may be (maybe()).
    sure: dict[str, tuple[tuple[int, int], Witness]] = {}
    doubt: dict[str, set[str]] = {}

    def keep(into: dict[str, tuple[tuple[int, int], Witness]], k: str, f: FunctionUnit,
             node: int, at: tuple[int, int], w: Witness) -> None:
        if k not in into or at < into[k][0]:
            into[k] = (at, w)
        if maybe is not None and maybe(f, node):
            doubt.setdefault(k, set()).add(f.name)
        elif k not in sure or at < sure[k][0]:
            sure[k] = (at, w)

    for f, res in runs.items():
        if f.info is None:
            continue
        takes, called = rec.of(f)
        by_node = states_by_node(res) if takes or called else {}
        for t in takes:
            st = take_state(rec, t, f, by_node)
            ident = (t.ident or rec.ident(f, t.key)) if st is not None else None
            if ident is None:
                continue
            w = Witness(f.name, fa.src.path, t.line, t.callee or t.via, t.key)
            keep(locks, f"{LOCK}{ident}|{IRQ if t.off else st}", f, t.node, (t.line, t.col), w)
        for c in called:
            st = state_in(by_node.get(c.node, ()), f.info.acts, c.node, c.line, c.col,
                          rec.ahead(f, c.node, c.line, c.col))
            if st is None:
                continue
            keep(calls, f"{CALLS}{c.name}|{st}", f, c.node, (c.line, c.col),
                 Witness(f.name, fa.src.path, c.line, c.name, ""))
    for k, (_, w) in [*locks.items(), *calls.items()]:
        st = k.rpartition("|")[2]
        effects = [witness_effect(st, w)]
        if w.fn in doubt.get(k, ()):
            if k in sure:
                effects.append(witness_effect(st, sure[k][1]))
            more = bool(doubt[k] - {w.fn})
            effects.append(Effect(MAYBE, "spin", "more" if more else "", "plain", "", None,
                                  "", inferred=True))
        out[k] = Summary(tuple(effects), None)
    return out


# An effect marking a file's witness as one the tree may find unchecked.
MAYBE = "irqwitness-maybe"


def standing(s: Summary, quiet: Callable[[str, str], bool] | None) -> list[Witness]:
    """A file's witnesses of a key, less its first where that is marked
    (exports()) and in a function the tree entered with the check off
    (``quiet(fn, file)``): then the next one, or itself where another
    function's take might stand (no finding fewer), else none."""
    ws = witnesses_of(s)
    mark = next((e for e in s.effects if e.action == MAYBE), None)
    if mark is None or quiet is None or not ws or not quiet(ws[0].fn, ws[0].file):
        return ws
    if len(ws) > 1:
        return ws[1:]
    return ws if mark.mode == "more" else []


def merge(per_file: Sequence[tuple[Path, str, Mapping[str, Summary]]],
          quiet: Callable[[str, str], bool] | None = None) -> dict[str, Summary]:
    """The tree's takes per lock and state (module doc), the callees'
    records the files' second passes bind, and the files to lint again.
    A whole-tree run gives first the records of the functions called with
    IRQs known off that no first pass gave (irqhops.merged(): a file naming
    no lock op is not parsed by its first pass).  ``quiet(fn, file)``: is
    the function entered with check_lock() off (lint/unarmedsettle.py):
    its witnesses are none (standing())."""
    defs: dict[str, dict[Path, list[Summary | None]]] = {}
    found: dict[tuple[str, str], list[Witness]] = {}
    calls: list[tuple[str, str, Witness]] = []
    for path, _, ex in per_file:
        for k, s in ex.items():
            if not k.startswith(XKEY):
                continue
            if k.startswith((TAKES, HOPS)):
                at = 0 if k.startswith(TAKES) else 1
                name = k[len(TAKES):] if at == 0 else k[len(HOPS):]
                defs.setdefault(name, {}).setdefault(path, [None, None])[at] = s
            elif k.startswith(LOCK):
                ident, _, st = k[len(LOCK):].rpartition("|")
                found.setdefault((ident, st), []).extend(standing(s, quiet))
            elif k.startswith(CALLS):
                name, _, st = k[len(CALLS):].rpartition("|")
                calls.extend((name, st, w) for w in standing(s, quiet))
    asked = {k[len(ASK):] for _, _, ex in per_file for k in ex if k.startswith(ASK)}
    own: dict[str, list[Template]] = {}
    hops: dict[str, list[Template]] = {}
    for n, by in defs.items():
        got = list(by.items())
        one: int | None = 0
        if not all(x == got[0][1] for _, x in got):
            # Defined twice with different records: the one the Makefiles
            # build, when the others are known not built (the parent of a
            # rewrite keeps both allocators); else no record.
            one = built_one([p for p, _ in got])
        if one is not None:
            t, h = got[one][1]
            own[n] = record_templates(t) if t is not None else []
            hops[n] = record_templates(h, "irqcall") if h is not None else []
    takes = composed(own, hops)
    # A call of another file's function takes its file-scope locks there.
    # A take of a parameter's struct field is one of the field's class
    # whatever the caller passes (irqsafe.identity(): the struct type and
    # the path), as a typed variable's take of it in any file is.
    for name, st, w in calls:
        for tp in takes.get(name, ()):
            if not tp.ident or "$" in tp.key and not struct_ident(tp.ident):
                continue
            found.setdefault((tp.ident, IRQ if tp.off else st), []).append(
                Witness(w.fn, w.file, w.line, name, shown_key(tp), weak=_needs(tp),
                        through=True))
    out: dict[str, Summary] = safe_takes(found, asked)
    marked: set[str] = set()
    for ident in sorted({i for i, _ in found}):
        # The lock's convention: IRQ-safe where some take is an _irq form,
        # IRQ-unsafe where every take is plain.  The takes against it are
        # the ones reported (a plain take with IRQs on of an IRQ-safe lock,
        # a plain take with IRQs off of an IRQ-unsafe one: the allocator's
        # pool lock under a caller's irqsave).
        good = [w for w in ([*found.get((ident, IRQ), []), *found.get((ident, "off"), [])]
                            if (ident, IRQ) in found else found.get((ident, "on"), []))
                if not w.weak]
        bad = found.get((ident, "on" if (ident, IRQ) in found else "off"), [])
        if not good or not bad:
            continue
        kept: list[Witness] = []
        for w in good:
            # Up to _MAX files per architecture (and of common code).
            same = [x for x in kept if architecture(x.file) == architecture(w.file)]
            if all(w.file != x.file for x in same) and len(same) < _MAX:
                kept.append(w)
        # A file taking it both ways is marked too where one of the takes is
        # inside another file's function: the one-file check does not see
        # that pair (irqacross.findings()).
        mark = {w.file for w in bad if any(
            built_together(x.file, w.file) and (x.file != w.file or x.through or w.through)
            for x in good)}
        if not mark:
            continue
        marked |= mark
        st = "off" if (ident, IRQ) in found else "on"
        out[f"{LOCK}{ident}|{st}"] = Summary(tuple(witness_effect(st, w) for w in kept), None)
    if not marked:
        return out
    out.update({TAKES + n: Summary(tuple(effect(t) for t in ts), None)
                for n, ts in takes.items() if ts})
    out.update({RELINT + f: Summary((), None) for f in sorted(marked)})
    return out


def safe_takes(found: Mapping[tuple[str, str], Sequence[Witness]], asked: Iterable[str]
               ) -> dict[str, Summary]:
    """``SAFE + IDENT`` for each ``asked`` lock some file takes in an _irq
    form, its own take (``through`` none: a callee's take is bound at its
    call): up to _MAX such takes from different files per architecture, in
    the run's order."""
    out: dict[str, Summary] = {}
    for ident in sorted(set(asked)):
        kept: list[Witness] = []
        for w in found.get((ident, IRQ), ()):
            same = [x for x in kept if architecture(x.file) == architecture(w.file)]
            if not w.weak and not w.through and all(w.file != x.file for x in same) \
                    and len(same) < _MAX:
                kept.append(w)
        if kept:
            out[SAFE + ident] = Summary(tuple(witness_effect(IRQ, w) for w in kept), None)
    return out


def safe_of(external: Mapping[str, Summary]) -> dict[str, list[Witness]]:
    """The tree's IRQ-safe takes merge() gave the file, per lock identity
    (shared by the lints reading one mapping: read it, do not change it)."""
    return of_mapping(external, "safe takes", lambda: {
        k[len(SAFE):]: witnesses_of(s) for k, s in external.items() if k.startswith(SAFE)})


def composed(own: Mapping[str, Sequence[Template]],
             hops: Mapping[str, Sequence[Template]]) -> dict[str, list[Template]]:
    """Each function's takes with those of the other files' functions it
    calls in its callers' state (``hops``), to a fixpoint (a chain reaching
    back to itself adds nothing more).  A callee's take is followed when no
    call site must bind it (a callee's own path conditions are in its
    parameters' terms, which no record here binds); it then needs what
    the hop needs of its own call site (pathconds: the caller's second
    pass binds them, irqtakes.function_takes())."""
    out: dict[str, dict[tuple[str, bool], Template]] = {}
    for n in set(own) | set(hops):
        cur = out[n] = {}
        for t in own.get(n, ()):
            _keep(cur, (t.key, t.off), t)
    changed = True
    while changed:
        changed = False
        for n, hs in hops.items():
            cur = out[n]
            for h in hs:
                for t in list(out.get(h.key, {}).values()):
                    if t.nonnull or t.conds or not t.ident or \
                            "$" in t.key and not struct_ident(t.ident):
                        continue
                    # A parameter's field, past the hop, is its class.
                    key = t.key if "$" not in t.key else class_key(t.ident)
                    k = (key, t.off)
                    had = cur.get(k)
                    _keep(cur, k, Template(key, t.kind, t.off, t.via, t.ident,
                                           nonnull=h.nonnull, conds=h.conds,
                                           some=h.some or t.some))
                    changed |= cur[k] is not had
    return {n: [cur[k] for k in sorted(cur)] for n, cur in out.items()}


def struct_ident(ident: str) -> bool:
    """Is the identity a struct field's class ("struct vcpu#->lock"), not a
    file-scope object's ("#name", "#file.c:name") or none?"""
    return "#" in ident and not ident.startswith("#")


def shown_key(t: Template) -> str:
    """A take's lock as a witness names it: a parameter's struct field by
    its class (shown()), not by the callee's parameter number."""
    return shown(t.ident) if "$" in t.key and struct_ident(t.ident) else t.key


def built_together(a: str, b: str) -> bool:
    """Can the two files be in one hypervisor: not two architectures'
    (check_lock() latches per running hypervisor)."""
    x, y = architecture(a), architecture(b)
    return x is None or y is None or x == y


def home_of(ident: str) -> str:
    """The file a file-scope lock's identity names ("#FILE:NAME"); "" for
    any other lock."""
    home, sep, _ = ident[1:].partition(":") if ident.startswith("#") else ("", "", "")
    return home if sep else ""


def wanted(external: Mapping[str, Summary], path: str) -> bool:
    """Has the tree a take of a lock this file takes in the other state?"""
    return RELINT + path in external


__all__ = ["ASK", "ASK_BY", "CALLS", "HOPS", "LOCK", "MAYBE", "RELINT", "Records", "SAFE", "TAKES",
           "XKEY",
           "built_together", "composed", "effect", "exports", "home_of", "merge",
           "record_templates", "records", "safe_of", "safe_takes", "standing", "take_state",
           "wanted",
           "witnesses_of"]
