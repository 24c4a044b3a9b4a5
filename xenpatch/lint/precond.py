"""XL015: a call of a function that requires a lock held
(xenpatch.analysis.preconditions) where the caller's path shows that lock
is known not to be held.

Known, not merely unseen: the caller's entry state is unknown, so a lock
the caller never touches may well be held by its own caller.  Known not
held is either

* released on this path after the function itself held it in a way that
  rules out an outer hold: a non-recursive lock (spin, or an rwlock for
  writing), one the caller held on entry and dropped, or a recursive lock
  taken through an acquire that panics on re-entry (locks.toml's
  [reentry]); or
* not held here, and taken later on this path by such an acquire, with
  nothing done to it in between: the function cannot have been entered
  holding it.

The paths are the held-lock dataflow's own (node, state) pairs, so the
path feasibility it knows applies; pairs through an unknown effect are
never reported.
"""

from __future__ import annotations

from collections import deque

from xenpatch.analysis.dataflow import Engine
from xenpatch.analysis.events import OpAct, RebindAct, TryAssignAct
from xenpatch.analysis.fileanalysis import FileAnalysis
from xenpatch.analysis.lockkeys import apply_aliases, key_vars
from xenpatch.analysis.locktable import Effect, is_recursive
from xenpatch.analysis.nodecalls import node_calls
from xenpatch.analysis.pathstate import UNKNOWN, Held, Result, State
from xenpatch.analysis.preconditions import Preconditions, Requirement
from xenpatch.analysis.templates import instantiate
from xenpatch.analysis.unit import FunctionUnit
from xenpatch.c.cfg import Kind, call_args
from xenpatch.lint.checks import CHECKS, RawFinding

Pair = tuple[int, State]


def precondition_findings(fa: FileAnalysis, pre: Preconditions, f: FunctionUnit,
                          res: Result) -> list[RawFinding]:
    """XL015 findings of one analysed function."""
    assert f.cfg is not None and f.info is not None
    info = f.info
    touched = _touched(f)
    if not touched:
        return []
    sites: list[tuple[int, int, int, str, Requirement, str]] = []
    for node, call, name in node_calls(f):
        if name not in fa.fns and name not in fa.headers.inlines:
            continue
        reqs = pre.of(name)
        if not reqs:
            continue
        args = [f.src.text(a) for a in call_args(call)]
        for r in reqs:
            e = instantiate(Effect("query", r.kind, "", "any", r.key, None, name), args)
            key = apply_aliases(e.key, info.aliases)
            if "$" in key or key not in touched:
                continue
            sites.append((node.id, f.src.line_of(call.start_byte),
                          f.src.col_of(call.start_byte), name, r, key))
    if not sites:
        return []
    graph = _Graph(f, res)
    nonreentrant = _nonreentrant(fa)
    out: list[RawFinding] = []
    seen: set[tuple[int, str]] = set()
    # One lock's flows serve every site naming it (they read nothing else).
    locks: dict[str, _Lock] = {}
    for nid, line, col, name, r, key in sites:
        if (nid, key) in seen:
            continue
        lk = locks.get(key)
        if lk is None:
            lk = locks[key] = graph.lock(key, nonreentrant)
        for pair in graph.at(nid):
            _, st = pair
            if st.get(key) is not None or st.fact(UNKNOWN) is not None:
                continue
            why = lk.freed_why(pair) or lk.later_why(pair)
            if why is None:
                continue
            seen.add((nid, key))
            msg = CHECKS["XL015"].message.format(
                via=name, key=key, why=why,
                asserted=("it asserts so" if r.func == name
                          else f"its callee '{r.func}' asserts so"))
            out.append(RawFinding("XL015", nid, st, line, col, key, msg,
                                  nodes=tuple(lk.witness(pair))))
            break
    return out


def _touched(f: FunctionUnit) -> set[str]:
    """Locks the function itself takes or drops (directly or through a
    helper's summary): only about those can its paths know anything."""
    assert f.info is not None
    out: set[str] = set()
    for acts in f.info.acts:
        for a in acts:
            if isinstance(a, OpAct) and a.effect.action in ("acquire", "release", "try"):
                out.add(a.effect.key)
            elif isinstance(a, TryAssignAct):
                out.update(e.key for e in a.resolved.effects)
    for b in f.info.branches:
        if b is not None and b.try_op is not None:
            out.update(e.key for e in b.try_op.effects)
    return out


def _nonreentrant(fa: FileAnalysis) -> frozenset[str]:
    """The acquires (by the name called) that panic on re-entry: the
    configuration's, and the header macros whose chain reaches one
    (paging_lock() is mm_lock(paging, d, ...))."""
    names = set(fa.config.nonreentrant)
    wrappers = fa.headers.wrappers
    changed = True
    while changed:
        changed = False
        for n, w in wrappers.items():
            if n not in names and w.target in names:
                names.add(n)
                changed = True
    return frozenset(names)


class _Graph:
    """The edges between the (node, state) pairs of a dataflow run (the run
    keeps one parent per pair; the checks here need every edge)."""

    def __init__(self, f: FunctionUnit, res: Result) -> None:
        assert f.cfg is not None and f.info is not None
        self.res = res
        self.info = f.info
        eng = Engine(f.cfg, f.info, None, res.path_sensitive)
        eng.entry_keys = res.entry_keys
        self.succ: dict[Pair, list[Pair]] = {}
        self.by_node: dict[int, list[Pair]] = {}
        known = res.parents
        for pair in known:
            n, st = pair
            self.by_node.setdefault(n, []).append(pair)
            if f.cfg.nodes[n].kind is Kind.RETURN:
                continue
            out: list[Pair] = []
            for s2, nst in eng.step(n, st):
                q = _known(known, s2, nst)
                if q is not None:
                    out.append(q)
            self.succ[pair] = out
        self.entry = next(p for p, parent in known.items() if parent is None)

    def at(self, node: int) -> list[Pair]:
        return self.by_node.get(node, [])

    def lock(self, key: str, nonreentrant: frozenset[str]) -> _Lock:
        return _Lock(self, key, nonreentrant)


def _known(known: dict, n: int, st: State) -> Pair | None:
    """The explored pair a step leads to: the run may have dropped facts
    from a state reaching a busy node (dataflow.FACT_BUDGET)."""
    if (n, st) in known:
        return (n, st)
    for drop in (("?",), ("?", "$", "")):
        keep = tuple(kv for kv in st.facts if not kv[0].startswith(drop))
        q = (n, State(st.held, keep, st.owed))
        if q in known:
            return q
    return None


class _Lock:
    """Where on the run's paths one lock is known not held."""

    def __init__(self, g: _Graph, key: str, nonreentrant: frozenset[str]) -> None:
        self.g, self.key, self.nonreentrant = g, key, nonreentrant
        # Nodes that point a variable of the key elsewhere (``vpic++``):
        # what was known of the old object's lock is not the new one's, and
        # the dataflow's "release" there is a rename (its primed key).
        vars_ = key_vars(key)
        self.rebinds = {
            n for n, acts in enumerate(g.info.acts)
            if any(isinstance(a, RebindAct) and a.var in vars_ for a in acts)}
        # pair -> (the pair it came from, the release's line or -1)
        self.freed: dict[Pair, tuple[Pair, int]] = {}
        self.later: dict[Pair, tuple[Pair | None, int]] = {}
        self._forward()
        self._backward()

    def _excludes_outer(self, h: Held) -> bool:
        """Does holding ``h`` this way rule out a hold by the caller?"""
        if h.unknown:
            return False
        if not is_recursive(h.flavour):
            return h.kind == "spin" or h.mode == "write"
        return not h.entry and h.via in self.nonreentrant

    def _free(self, st: State) -> bool:
        return st.get(self.key) is None and st.fact(UNKNOWN) is None

    def _forward(self) -> None:
        work: deque[Pair] = deque()
        for p, qs in self.g.succ.items():
            h = p[1].get(self.key)
            if h is None or not self._excludes_outer(h) or p[0] in self.rebinds:
                continue
            for q in qs:
                if self._free(q[1]) and q not in self.freed:
                    self.freed[q] = (p, self.g.res.cfg.nodes[p[0]].line)
                    work.append(q)
        while work:
            p = work.popleft()
            if p[0] in self.rebinds:
                continue
            for q in self.g.succ.get(p, ()):
                if self._free(q[1]) and q not in self.freed:
                    self.freed[q] = (p, -1)
                    work.append(q)

    def _backward(self) -> None:
        preds: dict[Pair, list[Pair]] = {}
        work: deque[Pair] = deque()
        for p, qs in self.g.succ.items():
            for q in qs:
                preds.setdefault(q, []).append(p)
                h = q[1].get(self.key)
                if self._free(p[1]) and h is not None and not h.entry and (
                        self._excludes_outer(h)) and p not in self.later and (
                        p[0] not in self.rebinds):
                    self.later[p] = (None, self.g.res.cfg.nodes[p[0]].line)
                    work.append(p)
        while work:
            q = work.popleft()
            for p in preds.get(q, ()):
                if self._free(p[1]) and p not in self.later and p[0] not in self.rebinds:
                    self.later[p] = (q, -1)
                    work.append(p)

    def freed_why(self, pair: Pair) -> str | None:
        if pair not in self.freed:
            return None
        cur, line = pair, -1
        while line < 0:
            cur, line = self.freed[cur]
        return f"this path released it at line {line}"

    def later_why(self, pair: Pair) -> str | None:
        if pair not in self.later:
            return None
        cur: Pair | None = pair
        line = -1
        while cur is not None and line < 0:
            cur, line = self.later[cur]
        return f"this path takes it at line {line}, so it was not held on entry"

    def witness(self, pair: Pair) -> list[int]:
        """CFG nodes from the entry to ``pair`` along a path that shows it."""
        if pair not in self.freed:
            return self.g.res.path(*pair)
        back: list[int] = []
        cur = pair
        while True:
            back.append(cur[0])
            prev, line = self.freed[cur]
            if line >= 0:
                return [*self.g.res.path(*prev), *reversed(back)]
            cur = prev
