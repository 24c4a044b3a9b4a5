"""Path-sensitive held-lock analysis of one function.

The analysis explores pairs (CFG node, state) breadth-first, where a state
is the set of held locks (with how each was taken) plus a few facts about
flag variables and repeated conditions.  Held sets are sets, not counters
(only recursive locks count, up to a small cap), so the pairs are finite and
the exploration is exact: a pair is reached iff some path of the CFG, with
the recorded facts, reaches it.  Each pair remembers the pair it came from,
which gives every finding a shortest witness path.

Checks are not written here; an ``Observer`` is told of every acquire,
release, query and exit with the state at that point, and decides.
"""

from __future__ import annotations

import functools
from collections import deque
from dataclasses import replace

from xenpatch.analysis import counters, flagbits, guardtests, irqstate, values
from xenpatch.analysis.branchfacts import remembered, repeated_fact, taught_edges
from xenpatch.analysis.entrykeys import entry_held_keys, first_entry_release, names_indirectly
from xenpatch.analysis.equalities import kept_in_object, named_here
from xenpatch.analysis.events import (
    ASSERTED,
    AssignAct,
    DerefAct,
    FreeAct,
    IrqAct,
    KillCondAct,
    OpAct,
    RebindAct,
    RenameAct,
    StoreAct,
    Taught,
    TryAssignAct,
    UpdateAct,
)
from xenpatch.analysis.functions import FunctionInfo
from xenpatch.analysis.heldnames import (
    may_be_named,
    named_otherwise,
    rebound,
    renamed,
    stale_name,
)
from xenpatch.analysis.lockkeys import holder
from xenpatch.analysis.locktable import ASSERTED_HOLD, MAYRELEASE, Effect, may_retake
from xenpatch.analysis.pathstate import (
    UNKNOWN,
    Held,
    Observer,
    OwedSwap,
    Result,
    State,
    TooManyStates,
)
from xenpatch.analysis.releaseloops import ReleaseLoops
from xenpatch.analysis.switches import cases_possible
from xenpatch.analysis.values import EXACT, NZ, ZERO
from xenpatch.c.cfg import Cfg, Kind

RECURSION_CAP = 3
STATE_LIMIT = 20000
# Distinct states a node may collect before new arrivals lose their facts:
# facts are a precision aid, and unbounded they multiply with every flag.
FACT_BUDGET = 64
_IRQ_FLAVOURS = {"plain", "irq", "irqsave"}
# A fact: the lock of each element named after it (a "[*]" key) was released
# in this round of the loop (Engine.release()).
_ROUND = "%round:"


# Lock kinds whose hold is a reference through a pointer (an RCU domain
# reference, *d), which storing the pointer may hand on.
HANDED_ON = frozenset({"rcu"})


class Engine:
    def __init__(self, cfg: Cfg, info: FunctionInfo, observer: Observer | None,
                 path_sensitive: bool = True,
                 entry_facts: tuple[tuple[str, str], ...] = ()) -> None:
        self.cfg = cfg
        # Facts the callers establish (the IRQ state on entry: irqentry.py).
        self.entry_facts = tuple(sorted(entry_facts))
        self.info = info
        self.obs = observer
        self.path_sensitive = path_sensitive
        # (line, via, key) of the effects that made a lock or a path unknown.
        self.unknowns: set[tuple[int, str, str]] = set()
        # (field path, variable) of the function's stores p->f = v (_kept_edges).
        self._stores: frozenset[tuple[str, str]] | None = None
        self._release_loops: ReleaseLoops | None = None

    def run(self) -> Result:
        cfg, info = self.cfg, self.info
        entry_keys = entry_held_keys(cfg, info)
        self.entry_keys = entry_keys
        held: list[Held] = []
        for k in sorted(entry_keys):
            e = first_entry_release(info, k)
            if e is None:
                continue
            held.append(_callers(e, k, 0))
        start = State(tuple(held), self.entry_facts)
        parents: dict[tuple[int, State], tuple[int, State] | None] = {(cfg.entry, start): None}
        exits: dict[int, list[tuple[State, State]]] = {}
        work = deque([(cfg.entry, start)])
        per_node: dict[int, int] = {}
        # Most nodes do nothing (step()'s first case): their successors,
        # found here without the call.
        acts = info.acts
        flows = [
            node.succ if (node.kind is Kind.STMT or node.kind is Kind.NOP)
            and not (acts[i] if i < len(acts) else ()) and i not in cfg.loop_heads else None
            for i, node in enumerate(cfg.nodes)
        ]
        while work:
            here = work.popleft()
            n, st = here
            plain = flows[n]
            is_return = plain is None and cfg.nodes[n].kind is Kind.RETURN
            for succ, nst in ([(x, st) for x in plain] if plain is not None
                              else self.step(n, st)):
                if is_return:
                    lst = exits.setdefault(n, [])
                    if all(nst != a for a, _ in lst):
                        lst.append((nst, st))
                    continue
                seen_here = per_node.get(succ, 0)
                if nst.facts and seen_here >= FACT_BUDGET:
                    # Repeated-condition facts go first; flag variables last.
                    # (Owed swaps are bounded and needed to excuse a release.)
                    drop = ("?",) if seen_here < 2 * FACT_BUDGET else ("?", "$", "")
                    keep = tuple(kv for kv in nst.facts if not kv[0].startswith(drop))
                    nst = State(nst.held, keep, nst.owed)
                pair = (succ, nst)
                if pair in parents:
                    continue
                per_node[succ] = seen_here + 1
                parents[pair] = here
                if len(parents) > STATE_LIMIT:
                    raise TooManyStates(cfg.name)
                work.append(pair)
        return Result(cfg, exits, parents, entry_keys, self.path_sensitive,
                      frozenset(self.unknowns))

    # -- transfer -----------------------------------------------------------

    def step(self, n: int, st: State) -> list[tuple[int, State]]:
        node = self.cfg.nodes[n]
        kind = node.kind
        acts = self.info.acts[n] if n < len(self.info.acts) else ()
        if st.facts and n in self.cfg.loop_heads:
            # A loop's round: the element released in the last one is not
            # this one's (release()).
            st = _next_round(st)
        if not acts and (kind is Kind.STMT or kind is Kind.NOP):
            # Most nodes: the state just flows on.
            return [(x, st) for x in node.succ]
        if kind is Kind.ABORT:
            return []
        states = [st]
        for act in acts:
            nxt: list[State] = []
            for s in states:
                nxt.extend(self.apply(n, s, act))
            states = nxt
        if node.kind is Kind.RETURN:
            return [(-1, s) for s in states]
        out: list[tuple[int, State]] = []
        br = self.info.branches[n] if node.kind is Kind.COND else None
        pp = self.cfg.pp_conds.get(n) if node.kind is Kind.SWITCH else None
        cases = self.info.switch_facts.get(n) if self.path_sensitive else None
        sv = self.info.switch_vars.get(n) if self.path_sensitive else None
        for s in states:
            if node.kind is Kind.COND:
                out.extend(self.branch(n, s, br))
            elif sv is not None:
                ok = cases_possible(s, *sv)
                edges = (self._case(s, succ, cases[i]) if cases is not None else (succ, s)
                         for i, succ in enumerate(node.succ) if ok[i])
                out.extend(x for x in edges if x is not None)
            elif cases is not None:
                edges = (self._case(s, succ, facts)
                         for succ, facts in zip(node.succ, cases, strict=True))
                out.extend(x for x in edges if x is not None)
            elif pp is not None and self.path_sensitive:
                k = "?#" + pp
                v = s.fact(k)
                yes, no = node.succ
                if v != "F":
                    out.append((yes, s.with_fact(k, "T")))
                if v != "T":
                    out.append((no, s.with_fact(k, "F")))
            else:
                out.extend((x, s) for x in node.succ)
        return out

    @staticmethod
    def _case(s: State, succ: int, facts: tuple[tuple[str, str], ...]):
        """The state along one case edge, or None if what is known of the
        switched value rules the case out."""
        for t, v in facts:
            known = s.fact("?" + t)
            if known is not None and known != v:
                return None
            s = s.with_fact("?" + t, v)
        return succ, s

    def branch(self, n: int, s: State, br) -> list[tuple[int, State]]:
        out = self._branch(n, s, br)
        if br is not None and br.on_false is not None and self.path_sensitive:
            # v < K false: v == K; true: v != K (v counts up by one).
            f = self.cfg.nodes[n].succ[1]
            k = "?" + br.on_false
            out = [(x, st.with_fact(k, "T" if x == f else "F")) for x, st in out]
        if br is not None and br.text is not None and self.path_sensitive:
            out = self._kept_edges(n, br.text, out)
        if self._release_loops is None:
            self._release_loops = ReleaseLoops(self.cfg, self.info)
        skipped = self._release_loops.guarded(n)
        if skipped:
            # "if ( taken(i) ) unlock(&a[i].lock)": which elements a loop
            # of such releases frees depends on what each test says of its
            # element, which no fact relates to the takes: past a skipped
            # one the collective lock may or may not be held (unknown, not
            # a leak; -v says so).
            f = self.cfg.nodes[n].succ[1]
            out = [(x, self._may_be_released(st, skipped) if x == f else st) for x, st in out]
        left = self._release_loops.leaving(n)
        if left:
            # Leaving a loop of such releases (analysis/releaseloops.py).
            out = [(x, self._may_be_released(st, left[x]) if x in left else st) for x, st in out]
        return out

    def _kept(self, s: State, var: str, line: int, via: str) -> State:
        """A reference held through *var, and var kept in a longer-lived
        object: handed on there (released later by whoever reads it back)
        or still the function's to drop.  Which, nothing here tells:
        unknown from here, neither a leak nor a release."""
        cur = s.get("*" + var)
        if cur is None or cur.unknown or cur.kind not in HANDED_ON:
            return s
        self.unknowns.add((line, via, cur.key))
        return s.with_held(replace(cur, unknown=True), cur.key)

    def _kept_edges(self, n: int, text: str,
                    out: list[tuple[int, State]]) -> list[tuple[int, State]]:
        """Along the edges where ``v == p->f`` holds and the function hands
        v on by ``p->f = v`` elsewhere, v is as kept there as after that
        store (equalities.kept_in_object())."""
        if self._stores is None:
            self._stores = frozenset(
                (a.path, a.var) for acts in self.info.acts for a in acts
                if isinstance(a, StoreAct))
        v = kept_in_object(text, self._stores) if self._stores else None
        if v is None:
            return out
        line = self.cfg.nodes[n].line
        return [(x, self._kept(st, v, line, text) if st.fact("?" + text) == "T" else st)
                for x, st in out]

    def _may_be_released(self, s: State, skipped: tuple[OpAct, ...]) -> State:
        for a in skipped:
            cur = s.get(a.effect.key)
            if cur is not None and not cur.unknown:
                # -v names the release skipped, at its own line.
                s = self.make_unknown(s, a.effect, a.line)
        return s

    def _branch(self, n: int, s: State, br) -> list[tuple[int, State]]:
        t, f = self.cfg.nodes[n].succ
        if br is None:
            return [(t, s), (f, s)]
        if br.try_op is not None:
            ok = self.try_success(n, s, br.try_op.effects, br.try_line, br.try_col)
            ok, s = _with_outs(ok, s, br.try_op.outs)
            if br.try_op.conditional == "zero":
                return [(f, ok), (t, s)]
            return [(t, ok), (f, s)]
        if not self.path_sensitive:
            return [(t, s), (f, s)]
        if br.bound_test is not None and (known := counters.decided(s, br.bound_test)) is not None:
            return [(t, s)] if known else [(f, s)]
        if br.var_test is not None:
            vt = br.var_test
            cls = s.fact(vt.var)
            if vt.k is not None:
                known = vt.eval_exact(cls, s.fact(EXACT + vt.var))
            elif vt.test is not None:
                known = values.member_test(cls, vt.test, self.info.value_rules)
            else:
                known = vt.eval(cls) if cls is not None else None
            if known is True:
                return [(t, s)]
            if known is False:
                return [(f, s)]
            sides: list[State | None] = [s, s]
            if vt.k is not None:
                # v == K went one way: v is K, or is not.
                exact = s.fact(EXACT + vt.var)
                sides = [s.with_fact(EXACT + vt.var, vt.exact_after(o, exact))
                         for o in (True, False)]
            elif vt.test is None:
                for i, outcome in enumerate((True, False)):
                    new = vt.refine(outcome, cls) or cls
                    # A pointer whose object's lock is held is not NULL.
                    null_held = new == ZERO and self._holds_through(s, vt.var)
                    sides[i] = None if null_held else s.with_fact(vt.var, new)
            if br.text is not None:
                # The value cannot tell; an earlier test of the same
                # condition (or a case label) on this path can.
                sides = remembered(br, s.fact("?" + br.text), sides)
            return [(succ, x) for succ, x in zip((t, f), sides, strict=True) if x is not None]
        fact = functools.partial(repeated_fact, s)
        taught: list[Taught] | None = None
        if br.strict_ne is not None and br.excludes is None:
            taught = br.ordered(fact)
        elif br.text is not None:
            if br.eq is not None and fact(br.text) is None:
                a, b = (x if values.constant_side(x) else s.fact(x) for x in br.eq)
                equal = values.same(a, b, self.info.value_rules)
                if equal is not None:
                    return [(t, s)] if equal != br.negated else [(f, s)]
            taught = br.repeated(fact)
        counted = br.text if br.text is not None and br.excludes is None else br.counted
        if counted is not None:
            taught = counters.under_bindings(s, taught, counted, br.negated)
        if taught is None:
            return [(t, s), (f, s)]
        return taught_edges(s, (t, f), taught)

    @staticmethod
    def _holds_through(s: State, var: str) -> bool:
        for h in s.held:
            # p->lock held, or *p itself (an RCU domain reference, a lock
            # passed by pointer): p points at it.
            if holder(h.key) == var and not h.entry and not h.key.endswith("'") and (
                "->" in h.key or h.key == "*" + var
            ):
                return True
        return False

    def try_success(self, n: int, s: State, effects, line: int, col: int) -> State:
        for e in effects:
            if e.action in ("try", "acquire"):
                s = self.acquire(n, s, e, line, col, trying=True) or s
                # A helper's success returns with IRQs off (summaries.py):
                # the side of the test it succeeded on has them off.
                s = irqstate.callee_after(s, e)
            elif e.action == "release":
                s = irqstate.callee_after(self.release(n, s, e, line, col), e)
            elif e.action == "unknown":
                # What a successful try-like helper may also hold (its
                # summary cannot say when): unknown here, as it was there.
                s = self.make_unknown(s, e, line)
        return s

    def apply(self, n: int, s: State, act) -> list[State]:
        if isinstance(act, OpAct):
            e = act.effect
            if e.action == "acquire":
                after = self.acquire(n, s, e, act.line, act.col, trying=False)
                return [] if after is None else [after]
            if e.action == "release":
                return [self.release(n, s, e, act.line, act.col)]
            if e.action == "try":
                # A trylock whose result nobody tests: either outcome.
                won = self.acquire(n, s, e, act.line, act.col, trying=True) or s
                return [irqstate.callee_off(won) if e.irq == "off" else won, s]
            if e.action == "unknown":
                return [self.make_unknown(s, e, act.line)]
            if e.action == MAYRELEASE:
                # Released on some of the callee's paths, kept on the others
                # (both are, whatever the caller: mayrelease.may_release()).
                # Where it released, what follows may test what tells the
                # two apart (a result, an out-parameter): unknown there,
                # remembering where for a release straight after the call.
                cur = s.get(e.key)
                if cur is None or cur.unknown:
                    return [s]
                gone = replace(cur, unknown=True, dropped_at=n,
                               dropped_by=f"{e.origin}, called at line {act.line}")
                return [s.with_held(gone, e.key), s]
            if e.action == ASSERTED:
                # Asserted held where this path does not hold it: held by
                # the caller, as a lock the function only drops is (a
                # release of it is the caller's hand-off, an exit holding it
                # no leak); not "not held", and nothing the callers learn.
                if s.get(e.key) is None and s.get(e.key + "'") is None:
                    held = replace(e, flavour=ASSERTED_HOLD)
                    return [s.with_held(_callers(held, e.key, act.line), e.key)]
                return [s]
            if e.action == "take":
                # A lock a callee takes (and drops) during its run: checked
                # against what is held here, nothing changes.  One it takes
                # on an argument's say only when that argument is known to
                # say so here.
                w = e.when.lstrip("!") if e.when is not None else ""
                if e.when is not None and flagbits.when_truth(
                        w, s.fact(w), self.info, self.cfg.body) is not (not e.when.startswith("!")):
                    return [s]
                if self.obs is not None:
                    self.obs.acquire(n, s, e, act.line, act.col, False)
                return [s]
            if e.action == "query" and self.obs is not None:
                self.obs.query(n, s, e, act.line, act.col)
            if e.action == irqstate.IRQ_ON:
                return [irqstate.transfer(s, act)]  # a callee that turns IRQs on
            return [s]
        if isinstance(act, TryAssignAct):
            var = act.var or "$ret"

            def ok() -> State:
                return self.try_success(n, s, act.resolved.effects, act.line, act.col)

            if act.tested:
                return self.tested(n, s, act)
            if act.guard:
                known = s.fact(act.var) if act.var and self.path_sensitive else None
                if known is None:
                    if not self.path_sensitive or not act.var:
                        return [ok(), s]
                    return [ok().with_fact(var, NZ), s.with_fact(var, ZERO)]
                return [ok()] if known != ZERO else [s]
            (succ_cls, succ_x), (fail_cls, fail_x) = values.outcomes(
                act.resolved.conditional or NZ)
            if succ_cls == NZ and act.origin is not None and act.origin.startswith("call:"):
                succ_cls = values.nonnull_call(act.origin)  # what it returned, not NULL
            if not self.path_sensitive and act.var:
                return [ok(), s]
            won, lost = _with_outs(ok(), s, act.resolved.outs)
            other = [s.with_fact(var, None).with_fact(EXACT + var, None)] if act.arm else []
            return [won.with_fact(var, succ_cls).with_fact(EXACT + var, succ_x),
                    lost.with_fact(var, fail_cls).with_fact(EXACT + var, fail_x), *other]
        if isinstance(act, IrqAct):
            # local_irq_restore()/local_irq_enable() after a plain release
            # of an irqsave/irq lock settles the swap.
            if act.flavour:
                s = s.with_owed(f"{act.flavour}>plain", None)
            return [irqstate.transfer(s, act)]
        if isinstance(act, RebindAct):
            return [rebound(s, act.var, self.info.aliases)]
        if isinstance(act, RenameAct):
            return [renamed(s, act.path, self.info.aliases)]
        if isinstance(act, StoreAct):
            return [self._kept(s, act.var, act.line, act.via)]
        if isinstance(act, FreeAct):
            # The lock went with the object holding it: nothing to release,
            # nor to leak (a primed key is an older object's).
            for h in list(s.held):
                if not h.entry and not h.key.endswith("'") and (
                        h.key.startswith(act.var + "->") or h.key.startswith(act.var + ".")):
                    s = s.with_held(None, h.key)
            return [s]
        if not self.path_sensitive:
            return [s]
        if isinstance(act, AssignAct):
            exact = None if act.exact is None else str(act.exact)
            if act.bound is not None and s.fact("?" + act.bound) == "T":
                exact = "<" + act.bound.rpartition("<")[2]  # below that bound
            s = s.with_fact(act.var, act.cls)
            return [s.with_fact(EXACT + act.var, exact)]
        if isinstance(act, UpdateAct):
            exact = s.fact(EXACT + act.var)
            new = values.updated(exact, act.op, act.k)
            if new is not None:
                s = s.with_fact(act.var, values.int_class(new))
                return [s.with_fact(EXACT + act.var, str(new))]
            # v |= K of an unknown v: not zero now, whatever it was.
            s = s.with_fact(act.var, NZ if act.op == "|" and act.k else None)
            return [s.with_fact(EXACT + act.var, None)]
        if isinstance(act, DerefAct):
            cls = s.fact(act.var)
            if cls == ZERO:
                return []  # a NULL dereference: this path ends
            return [s if cls is not None else s.with_fact(act.var, NZ)]
        if isinstance(act, KillCondAct):
            for t in act.texts:
                s = s.with_fact("?" + t, act.value)
            return [counters.assigned(s, act)]
        return [s]

    def tested(self, n: int, s: State, act: TryAssignAct) -> list[State]:
        """A helper whose effects happen exactly when its bound test holds
        (guardtests.py): the path follows what it knows of the test, else
        splits on it.  Where the test is false a take was skipped: the path
        says so of the lock, for a release that is not the pair's."""
        # A take past the test blocks as any take does: taken twice, the
        # path deadlocks there.
        took: State | None = s
        for e in act.resolved.effects:
            if took is not None and e.action == "acquire":
                took = self.acquire(n, took, e, act.line, act.col, trying=False)
                took = None if took is None else irqstate.callee_after(took, e)
            elif took is not None:
                took = self.try_success(n, took, (e,), act.line, act.col)
        return guardtests.split(s, took, act, self.path_sensitive)

    def make_unknown(self, s: State, e: Effect, line: int) -> State:
        """What an effect nobody can state leaves: the lock it names (or,
        for "*", every lock and the path itself) is unknown from here."""
        self.unknowns.add((line, e.via, e.key))
        if e.key == "*":
            for h in s.held:
                s = s.with_held(replace(h, unknown=True), h.key)
            return s.with_fact(UNKNOWN, e.via)
        cur = s.get(e.key)
        if cur is not None:
            return s.with_held(replace(cur, unknown=True), e.key)
        return s.with_held(Held(e.key, e.kind, e.mode, e.flavour, e.owner, e.via, 1, False,
                                -1, line, True), e.key)

    def acquire(self, n: int, s: State, e: Effect, line: int, col: int,
                trying: bool) -> State | None:
        """The state after taking a lock, or None if this CPU deadlocks on
        itself there (the path ends: what follows never runs)."""
        unbound = False
        if e.mode_arg is not None:
            # lock_both(d, write): the caller's flag, as far as it is known.
            cls = s.fact(e.mode_arg)
            unbound = cls is None
            e = replace(e, mode_arg=None, mode="" if cls is None else (
                "read" if cls == ZERO else "write"))
        if self.obs is not None:
            self.obs.acquire(n, s, e, line, col, trying)
        cur = s.get(e.key)
        mode = e.mode or ("" if unbound else "write")
        if cur is not None and cur.unknown:
            if cur.count > RECURSION_CAP:
                return s  # held more times than counted: still so
            cur = None  # taken now: known from here
        if cur is not None and "[*]" in e.key:
            return s  # another element's lock: the collective stays held
        if "[*]" in e.key:
            s = s.with_fact(_ROUND + e.key, None)
        if cur is not None:
            if may_retake(cur.flavour, cur.mode, e.flavour, mode):
                if cur.count >= RECURSION_CAP:
                    # Taken more times than counted (a loop of takes): how
                    # many releases free it, nothing here knows.
                    self.unknowns.add((line, e.via, e.key))
                    return s.with_held(replace(cur, count=RECURSION_CAP + 1, unknown=True),
                                       e.key)
                return s.with_held(replace(cur, count=cur.count + 1), e.key)
            if trying:
                return s
            return None
        entry = e.key in self.entry_keys
        h = Held(e.key, e.kind, mode, e.flavour, e.owner, e.via, 1, entry, n, line)
        return s.with_held(h, e.key)

    def release(self, n: int, s: State, e: Effect, line: int, col: int) -> State:
        if e.nonnull is not None and (
                s.fact(e.nonnull) == ZERO or e.nonnull in ("NULL", "0")):
            return s  # unlock_x(NULL) does nothing
        if e.when is not None and s.facts and s.fact(e.when) == ZERO:
            return s  # past its early return: its pair took nothing either
        cur = s.get(e.key)
        if cur is None and s.get(e.key + "'") is not None:
            # The same expression's lock from an earlier loop round.
            e = replace(e, key=e.key + "'")
            cur = s.get(e.key)
        if cur is None and s.facts and (
                k := named_here(e.key, s.facts, self.info.aliases, s.get)) is not None:
            # (c ? a : b)->lock with c known; a pointer found equal to the holder's.
            e, cur = replace(e, key=k), s.get(k)
        if cur is None and (h := stale_name(s, e)) is not None:
            # Named through a pointer stored into since it was found equal
            # to the holder's (heldnames.renamed()): the same lock, or another.
            self.unknowns.add((line, e.via, h.key))
            return s.with_held(replace(h, unknown=True), h.key)
        if cur is None and names_indirectly(e):
            other = named_otherwise(s, e)
            if other is not None:
                e = replace(e, key=other.key)
                cur = other
            else:
                maybe = may_be_named(s, e)
                if maybe:
                    # A helper's release through a path (a back-pointer) that
                    # may or may not be one of these held locks: unknown, not
                    # a release of the one with the same field name, nor one
                    # of a lock not held (issue 9, item 7).
                    for h in maybe:
                        self.unknowns.add((line, e.via, h.key.rstrip("'")))
                        s = s.with_held(replace(h, unknown=True), h.key)
                    return s
        if cur is not None and cur.unknown and cur.count > RECURSION_CAP:
            return s  # held more times than counted: maybe still held
        if cur is not None and cur.unknown:
            gone = s.with_held(None, cur.key)
            if cur.dropped_at >= 0 and self.obs is not None and \
                    _no_test_between(self.cfg, cur.dropped_at, n):
                # Nothing between the call and this release tests anything:
                # on the callee's paths that released it, this releases it
                # again (issue 9, item 2: a summary's condition met).
                self.obs.release(n, s, replace(e, origin=cur.dropped_by), line, col, False)
            return gone
        excused = False
        if cur is not None and not cur.entry and cur.flavour == "plain" and \
                e.flavour in ("irq", "irqsave") and s.fact("%cpu") == "1":
            # local_irq_save(f); spin_lock(l); ... spin_unlock_irqrestore(l,
            # f): IRQs are off by the CPU-level call, and the release's IRQ
            # half undoes that call, not the plain take: no swap.
            excused = True
        elif cur is not None and not cur.entry and cur.kind == e.kind and cur.flavour != e.flavour \
                and "any" not in (cur.flavour, e.flavour) and {
            cur.flavour, e.flavour
        } <= _IRQ_FLAVOURS:
            # spin_lock_irqsave(a); spin_lock(b); spin_unlock(a);
            # spin_unlock_irqrestore(b): the IRQ state travels with the last
            # release, which is fine; only an unmatched swap is a bug.
            inverse = f"{e.flavour}>{cur.flavour}"
            excused = True
            if s.owed_swap(inverse) is not None:
                s = s.with_owed(inverse, None)
            else:
                # Owed: a later release the other way round settles it
                # (lock_irq a; unlock a; lock b; unlock_irq b); if none
                # does by the exit, the lint reports this release.
                s = s.with_owed(f"{cur.flavour}>{e.flavour}",
                                OwedSwap(n, line, col, e.via, cur.via, e.key, cur.site))
        if cur is None and "[*]" in e.key and s.fact(_ROUND + e.key) is None:
            return s  # releasing each element: the first release freed them all
        if cur is None and s.facts and s.fact(guardtests.UNTAKEN + e.key) is not None:
            # A helper skipped taking it on a test this release does not
            # repeat: whether it is held is the caller's guess, not ours.
            return s
        if self.obs is not None:
            self.obs.release(n, s, e, line, col, excused)
        if cur is None:
            return s
        if cur.count > 1:
            return s.with_held(replace(cur, count=cur.count - 1), e.key)
        if "[*]" in e.key:
            # This round's element released: released again before the
            # loop's next round (its head), it is released twice.
            s = s.with_fact(_ROUND + e.key, "1")
        return s.with_held(None, e.key)


def _no_test_between(cfg: Cfg, a: int, b: int) -> bool:
    """Is ``b`` reached from ``a`` through statements alone, no branch
    between (a join is no test: what comes in there from elsewhere never
    passed ``a``)?"""
    n, seen = a, set()
    while n not in seen:
        seen.add(n)
        succ = cfg.nodes[n].succ
        if len(succ) != 1:
            return False
        n = succ[0]
        if n == b:
            return True
        if cfg.nodes[n].kind not in (Kind.STMT, Kind.NOP):
            return False
    return False


def _callers(e: Effect, key: str, line: int) -> Held:
    """``key`` held by the caller on entry (the function only drops it),
    as the effect ``e`` names it."""
    return Held(key, e.kind, e.mode, e.flavour, e.owner, e.via, 1, True, -1, line)










def _with_outs(ok: State, failed: State,
               outs: tuple[tuple[str, str, str], ...]) -> tuple[State, State]:
    """What a try-like helper left in its out-parameters, on each outcome."""
    for v, yes, no in outs:
        (a, ax), (b, bx) = values.fact_slots(v, yes)
        ok = ok.with_fact(a, ax).with_fact(b, bx)
        (a, ax), (b, bx) = values.fact_slots(v, no)
        failed = failed.with_fact(a, ax).with_fact(b, bx)
    return ok, failed


def _next_round(s: State) -> State:
    """``s`` at a loop's head: no element released yet in this round."""
    if not any(k.startswith(_ROUND) for k, _ in s.facts):
        return s
    return State(s.held, tuple(kv for kv in s.facts if not kv[0].startswith(_ROUND)), s.owed)
