"""The locks a function's callers hold when they call it, and the takes of
such a lock inside it (a self-deadlock the callers' own runs cannot see).

A lock is held on entry to a function when every call site of it the
analysis sees -- direct, or through a struct field it is stored in
(fnptrs.py) -- is reached holding the lock on every path, as the
held-lock dataflow of the caller says at the call (a lock asserted held
counts, as the dataflow holds it), or the caller holds it on its own entry
and no path to the call touches it.  An address that escapes, an API that
calls it back, a caller not analysed, a non-static function other files may
call, a field other files may call through (unless the tree settled what
they hold: lint/entryheld.py), or no caller at all: no entry fact.  As in
irqentry.py, the facts are a fixpoint over the callers, all unknown first.

Only locks that are the same object in caller and callee are carried: a
file-scope name (``pcidevs_lock``, ``state.lock``), that neither function
declares as a parameter or local.  A parameter's lock (``d->lock``) would
need the call's arguments translated: left out.

One direct caller is also a context of its own: where a caller holds the
lock only because its own callers do (its entry, or its own context), and
calls the function on every path holding it, the function meets it in
that caller's context (the caller's own takes are the caller's checks).

A take of such a lock inside the function is a self-deadlock when the
function takes it (not recursively on a recursive hold) on every path
from its entry to a return, and nothing on some path to that take has
touched it first: no release handed the caller's hold over.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from tree_sitter import Node

from xenpatch.analysis import fnptrs
from xenpatch.analysis.events import OpAct, TryAssignAct
from xenpatch.analysis.irqentry import cfg_nodes, node_of
from xenpatch.analysis.locktable import MAYRELEASE, is_recursive
from xenpatch.analysis.pathstate import UNKNOWN, Result, State
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.c.cfg import Kind

ROUNDS = 12
_GLOBAL = re.compile(r"^([A-Za-z_]\w*)(?:\.[A-Za-z_]\w*)*$")
# Lock actions that change what is held (a callee's "take" and drop does not).
_MOVES = frozenset({"acquire", "release", "try", "unknown", MAYRELEASE})
_KINDS = frozenset({"spin", "rw"})


@dataclass(frozen=True)
class Hold:
    """How a caller holds a lock: its kind, mode ("read"/"write"/"" for a
    spinlock or unknown) and flavour; ``where``: the call sites that say so
    ("caller (file:line)"), for the notes."""

    kind: str
    mode: str
    flavour: str
    where: tuple[str, ...] = ()


HeldSet = Mapping[str, Hold]
# A note shown with a finding: (line, col, text), in the callee's file.
Note = tuple[int, int, str]


def global_root(key: str) -> str | None:
    """The file-scope name a lock key starts from, or None for any other
    key (a parameter's, an array element, a per-CPU variable)."""
    m = _GLOBAL.match(key)
    return m.group(1) if m else None


def is_global(key: str, fns: Iterable[FunctionUnit]) -> bool:
    """Is the key the same object in each of ``fns`` (a file-scope name
    none of them declares as a parameter or local)?"""
    root = global_root(key)
    if root is None:
        return False
    return all((i := f.text_facts()) is not None and root not in i.params
               and root not in i.locals for f in fns)


def meet(sets: Sequence[HeldSet]) -> dict[str, Hold]:
    """The locks every set holds, each in the weakest way one holds it
    (a read hold anywhere is a read hold; a recursive one recursive)."""
    if not sets:
        return {}
    out: dict[str, Hold] = {}
    for k, h in sets[0].items():
        hs = [s.get(k) for s in sets]
        if any(x is None or x.kind != h.kind for x in hs):
            continue
        modes = {x.mode for x in hs if x is not None}
        mode = "read" if "read" in modes else (h.mode if len(modes) == 1 else "")
        flav = next((x.flavour for x in hs if x is not None and is_recursive(x.flavour)),
                    h.flavour)
        where = tuple(w for x in hs if x is not None for w in x.where)
        out[k] = Hold(h.kind, mode, flav, tuple(dict.fromkeys(where)))
    return out


def _touched(f: FunctionUnit, i: int) -> set[str]:
    """The lock keys node ``i`` may change the hold of ("*": any)."""
    assert f.info is not None
    out: set[str] = set()
    acts = f.info.acts[i] if i < len(f.info.acts) else []
    for a in acts:
        if isinstance(a, OpAct) and a.effect.action in _MOVES:
            out.add(a.effect.key)
        elif isinstance(a, TryAssignAct):
            out.update(e.key for e in a.resolved.effects)
            if not a.resolved.effects:
                out.add("*")
    b = f.info.branches[i] if i < len(f.info.branches) else None
    if b is not None and b.try_op is not None:
        out.update(e.key for e in b.try_op.effects)
    return out


class Flow:
    """One function's CFG read for the questions asked of it: the states
    reached at each node, the nodes some path reaches only after touching a
    lock."""

    def __init__(self, f: FunctionUnit, res: Result) -> None:
        assert f.cfg is not None and f.info is not None
        self.f, self.res = f, res
        self._states: dict[int, list[State]] | None = None
        self._touch: list[set[str]] | None = None
        self._after: dict[str, set[int]] = {}
        self._nodes: dict[tuple[int, int, str], int] | None = None

    # Made when first asked: most functions of a file are no caller of
    # interest.
    @property
    def states(self) -> dict[int, list[State]]:
        if self._states is None:
            self._states = {}
            for n, st in self.res.parents:
                self._states.setdefault(n, []).append(st)
        return self._states

    @property
    def touch(self) -> list[set[str]]:
        if self._touch is None:
            assert self.f.cfg is not None
            self._touch = [_touched(self.f, i) for i in range(len(self.f.cfg.nodes))]
        return self._touch

    def node(self, call: Node) -> int | None:
        if self._nodes is None:
            assert self.f.cfg is not None
            self._nodes = cfg_nodes(self.f.cfg)
        return node_of(self._nodes, call)

    def after(self, key: str) -> set[int]:
        """The nodes reached from a node that touches ``key`` (or any)."""
        got = self._after.get(key)
        if got is None:
            assert self.f.cfg is not None
            nodes = self.f.cfg.nodes
            work = [s for i, t in enumerate(self.touch) if key in t or "*" in t
                    for s in nodes[i].succ]
            got = set()
            while work:
                n = work.pop()
                if n not in got:
                    got.add(n)
                    work.extend(nodes[n].succ)
            self._after[key] = got
        return got

    def clean(self, key: str, node: int) -> bool:
        """No path from the entry to ``node`` touches ``key`` before it."""
        return node not in self.after(key)

    def held_at(self, node: int, entry: HeldSet, callee: str, others: Sequence[FunctionUnit],
                where: str) -> dict[str, Hold] | None:
        """The global locks held on arrival at ``node`` on every path (None:
        no path reaches it): held in each state there, or held on entry and
        untouched up to it.  Keys another act of the node moves are left
        out (the call's place among them is unknown)."""
        sts = self.states.get(node)
        if not sts:
            return None
        moved: set[str] = set()
        assert self.f.info is not None
        for a in self.f.info.acts[node] if node < len(self.f.info.acts) else []:
            if isinstance(a, OpAct) and a.effect.action in _MOVES and a.effect.via != callee:
                moved.add(a.effect.key)
            elif isinstance(a, TryAssignAct):
                moved.add("*")
        if "*" in moved:
            return {}
        fns = (self.f, *others)
        # A lock the run holds from the entry because the function drops it
        # (entrykeys.py) is the engine's reading of the function, not its
        # callers' word: only the entry facts say that.
        seeded = self.res.entry_keys
        sets: list[dict[str, Hold]] = []
        for st in sts:
            if st.fact(UNKNOWN) is not None:
                return {}
            sets.append({h.key: Hold(h.kind, h.mode, h.flavour, (where,)) for h in st.held
                         if not h.unknown and h.kind in _KINDS and h.key not in moved
                         and not (h.entry and h.key in seeded) and is_global(h.key, fns)})
        out = meet(sets)
        for k, h in entry.items():
            if k not in out and k not in moved and self.clean(k, node) and is_global(k, fns):
                out[k] = Hold(h.kind, h.mode, h.flavour, (where, *h.where))
        return out


class Flows:
    """The file's functions' flows: the analysed ones' runs, and a run made
    on demand of another caller, only when it holds something on entry
    (one with no lock of its own and none on entry holds none)."""

    def __init__(self, done: Iterable[tuple[FunctionUnit, Result]],
                 run: Callable[[FunctionUnit], Result | None]) -> None:
        self.flows: dict[FunctionUnit, Flow | None] = {
            f: Flow(f, res) for f, res in done if f.cfg is not None and f.info is not None}
        self.analysed = frozenset(self.flows)
        self.run = run

    def get(self, g: FunctionUnit) -> Flow | None:
        if g not in self.flows:
            res = self.run(g)
            self.flows[g] = Flow(g, res) if res is not None and g.cfg is not None \
                and g.info is not None else None
        return self.flows[g]

    def held(self, g: FunctionUnit, call: Node, entry: HeldSet, callee: str,
             others: Sequence[FunctionUnit], where: str) -> dict[str, Hold] | None:
        """What g holds at ``call`` (Flow.held_at()); {} when it cannot say."""
        if g not in self.analysed and not entry:
            return {}
        fl = self.get(g)
        node = fl.node(call) if fl is not None else None
        if fl is None or node is None:
            return {}
        return fl.held_at(node, entry, callee, others, where)


def _where(g: FunctionUnit, call: Node) -> str:
    return f"'{g.name}' ({g.src.path}:{g.src.line_of(call.start_byte)})"


def _sites(refs: fnptrs.FnRefs, name: str) -> list[fnptrs.Site] | None:
    c = refs.callers(name)
    if c is None or c[1]:
        return None  # an escaping address, an API calling it back
    return c[0]


def entry_holds(units: Sequence[FunctionUnit], refs: fnptrs.FnRefs,
                by_node: Mapping[int, FunctionUnit], flows: Flows,
                fields: Mapping[str, HeldSet | None],
                calls: Mapping[str, HeldSet | None] | None = None
                ) -> dict[str, dict[str, Hold]]:
    """Function name -> the global locks every caller holds at its call.

    ``flows``: the file's analysed functions (the callers it can read);
    ``fields``: per struct field, what the other files' calls through it
    hold (lint/entryheld.py's settle; absent: unknown, so a function
    stored in that field has no entry fact; None: no other file calls
    through it); ``calls``: the same of the other files' direct calls of
    a function that is not static (absent: unknown, so no entry fact)."""
    others = calls or {}
    callers: dict[str, list[fnptrs.Site]] = {}
    outside: dict[str, list[HeldSet]] = {}
    by_name = {f.name: [f] for f in units}
    for f in units:
        if not f.is_static and f.name not in others:
            continue
        sites = _sites(refs, f.name)
        if sites is None:
            continue
        fl = refs.fields_of(f.name)
        if any(x not in fields for x in fl):
            continue
        # Another file's name is this function's lock only if the function
        # does not declare that name itself.
        theirs = [fields[x] for x in fl]
        if not f.is_static:
            theirs.append(others[f.name])
        outside[f.name] = [{k: v for k, v in h.items() if is_global(k, (f,))}
                           for h in theirs if h is not None]
        callers[f.name] = sites
    entry: dict[str, dict[str, Hold]] = {}
    for _ in range(ROUNDS):
        new: dict[str, dict[str, Hold]] = {}
        for name, sites in callers.items():
            got: list[HeldSet] = list(outside[name])
            seen_all = True
            for caller, call in sites:
                g = by_node.get(caller.start_byte)
                if g is None:
                    seen_all = False
                    break
                s = flows.held(g, call, entry.get(g.name, {}), name, by_name[name],
                               _where(g, call))
                if s is not None:
                    got.append(s)
            if seen_all and got:
                m = meet(got)
                if m:
                    new[name] = m
        if new == entry:
            return _grounded(entry, callers, outside, by_node)
        entry = new
    return {}


def _grounded(entry: dict[str, dict[str, Hold]], callers: Mapping[str, list[fnptrs.Site]],
              outside: Mapping[str, list[HeldSet]], by_node: Mapping[int, FunctionUnit]
              ) -> dict[str, dict[str, Hold]]:
    """The facts of the functions some way in reaches: a call from another
    file, or a caller that is none of the candidates or is itself reached.
    A cycle of static functions nothing else calls holds what its own
    calls hold, vacuously (the calls inside it are the callers' checks)."""
    names: dict[str, set[str]] = {}
    for n, sites in callers.items():
        names[n] = {g.name for c, _ in sites if (g := by_node.get(c.start_byte)) is not None}
    reached = {n for n in callers if outside[n] or any(g not in callers for g in names[n])}
    changed = True
    while changed:
        changed = False
        for n in callers:
            if n not in reached and names[n] & reached:
                reached.add(n)
                changed = True
    return {n: h for n, h in entry.items() if n in reached}


def contexts(units: Sequence[FunctionUnit], refs: fnptrs.FnRefs,
             by_node: Mapping[int, FunctionUnit], flows: Flows,
             entry: Mapping[str, HeldSet]) -> dict[str, dict[str, Hold]]:
    """Function name -> the global locks one direct caller holds at its call
    only because its own callers do (its entry facts, or a context of its
    own), on every path to the call: one caller's word, whatever the other
    callers do.  A caller's own takes are not carried (its run reports
    the callee's take at the call)."""
    by_name = {f.name: f for f in units}
    ctx: dict[str, dict[str, Hold]] = {}
    for _ in range(ROUNDS):
        changed = False
        for name, f in sorted(by_name.items()):
            for caller, call in refs.direct.get(name, []):
                g = by_node.get(caller.start_byte)
                mine = {**ctx.get(g.name, {}), **entry.get(g.name, {})} if g else {}
                fl = flows.get(g) if g is not None and mine else None
                if g is None or fl is None or (node := fl.node(call)) is None:
                    continue
                s = fl.held_at(node, mine, name, [f], _where(g, call))
                for k, h in (s or {}).items():
                    if k in mine and k not in entry.get(name, {}) and \
                            k not in ctx.get(name, {}) and fl.clean(k, node):
                        ctx.setdefault(name, {})[k] = h
                        changed = True
        if not changed:
            break
    return ctx


@dataclass(frozen=True)
class Take:
    node: int
    line: int
    col: int
    key: str
    via: str
    state: State


def _conflicts(h: Hold, kind: str, mode: str, flavour: str) -> bool:
    """A take of a lock held so self-deadlocks as XL010 says (a read
    hold taken for writing is XL007's; a read on a read, XL016's)."""
    if h.kind != kind or h.mode == "read" or (kind == "rw" and (not h.mode or not mode)):
        return False
    return not (is_recursive(h.flavour) and is_recursive(flavour))


def self_takes(fl: Flow, holds: HeldSet, own: Iterable[str]) -> Iterator[tuple[Take, Hold]]:
    """The takes in ``fl``'s function of a lock of ``holds`` that deadlock:
    the function takes it on every path from its entry to a return, and
    some reached path to this take has not touched it before.  A take
    inside a callee of ``own`` (the file's functions) is that callee's
    (contexts() carries the hold to it)."""
    f = fl.f
    assert f.cfg is not None and f.info is not None
    own = set(own)
    for key, h in sorted(holds.items()):
        takes: dict[int, OpAct] = {}
        for i, acts in enumerate(f.info.acts):
            for a in acts:
                if not isinstance(a, OpAct) or a.effect.key != key:
                    continue
                e = a.effect
                mine = e.action == "acquire" or (e.action == "take" and e.when is None and
                                                 e.origin is None and e.via not in own)
                if mine and _conflicts(h, e.kind, e.mode or ("write" if e.kind == "rw" else ""),
                                       e.flavour):
                    takes.setdefault(i, a)
        if not takes or not _always(f, set(takes)):
            continue
        for i, a in sorted(takes.items()):
            if not fl.clean(key, i):
                continue
            st = next((s for s in fl.states.get(i, []) if s.fact(UNKNOWN) is None
                       and s.get(key) is None), None)
            if st is not None:
                yield Take(i, a.line, a.col, key, a.effect.via, st), h
                break


def always_taken(f: FunctionUnit) -> set[str]:
    """The global locks ``f`` acquires on every path from its entry to a
    return (the takes a caller's hold could deadlock: self_takes())."""
    if f.info is None or f.cfg is None:
        return set()
    at: dict[str, set[int]] = {}
    for i, acts in enumerate(f.info.acts):
        for a in acts:
            if isinstance(a, OpAct) and a.effect.action == "acquire" and \
                    a.effect.kind in _KINDS and a.effect.mode != "read" and \
                    is_global(a.effect.key, (f,)):
                at.setdefault(a.effect.key, set()).add(i)
    return {k for k, nodes in at.items() if _always(f, nodes)}


def _always(f: FunctionUnit, takes: set[int]) -> bool:
    """Does every path from the entry to a return pass one of ``takes``?"""
    assert f.cfg is not None
    nodes = f.cfg.nodes
    seen: set[int] = set()
    work = [f.cfg.entry]
    while work:
        n = work.pop()
        if n in seen or n in takes:
            continue
        seen.add(n)
        if nodes[n].kind in (Kind.RETURN, Kind.EXIT):
            return False
        work.extend(nodes[n].succ)
    return True


__all__ = ["Flow", "Flows", "HeldSet", "Hold", "Take", "always_taken", "contexts", "entry_holds",
           "global_root", "is_global", "meet", "self_takes"]
