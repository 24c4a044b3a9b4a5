"""Schedule exploration over a Machine.

``explore`` is breadth-first over every interleaving with a visited set, so
the first schedule reaching a hazard is a shortest one (in the reduced graph
when the reduction is on; ``minimise`` then drops steps that the hazard does
not need).  The reduction (por.py) follows a stubborn set of CPUs
instead of all of them where one exists with no step the checked
properties can see, under the cycle proviso (a reduced set whose step
closes onto a visited state forces full expansion).  Sleep sets drop the
steps whose interleavings with the explored siblings are covered; states
are stored packed and steps memoised (packed.py).

``random_walks`` samples seeded random schedules for cases too big to
exhaust.  ``fair_starvation`` (fairness.py, re-exported here) searches the
full graph for a strongly fair cycle in which one CPU never completes an op
(L11, L12).
"""

from __future__ import annotations

import random
import resource
import sys
import time
from array import array
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from xenpatch.runtime.fairness import Lasso, fair_starvation, state_graph, successors
from xenpatch.runtime.machine import CRASHED, DONE, RUN, Machine, State
from xenpatch.runtime.packed import Packer, PState, PStep
from xenpatch.runtime.por import Reducer
from xenpatch.runtime.symmetry import Perm, Symmetry, compose

HAZARD_KINDS = ("exclusion", "deadlock", "assert", "bug", "held_at_end")

__all__ = ["HAZARD_KINDS", "Hazard", "Lasso", "Outcome", "Result", "explore",
           "fair_starvation", "format_replay", "format_schedule", "hazards_at_end",
           "minimise", "random_walks", "replay", "state_graph"]


@dataclass(frozen=True)
class Hazard:
    """A property violation and a schedule (CPU per step) reaching it."""

    kind: str  # one of HAZARD_KINDS
    message: str
    schedule: tuple[int, ...]

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.message)


class Outcome(NamedTuple):
    """How a run in which every CPU finished ended."""

    mem: tuple[int, ...]
    obs: tuple[tuple, ...]  # per CPU: (op index, value) of trylocks/queries
    order: tuple  # (lock, cpu) acquisitions, when Config.record_order


@dataclass
class Result:
    hazards: dict[tuple[str, str], Hazard] = field(default_factory=dict)
    outcomes: set[Outcome] = field(default_factory=set)
    overlaps: set[tuple[str, int, int]] = field(default_factory=set)  # lock, cpu, cpu
    # Where runs stopped early: per CPU the op index it is stuck in (None
    # if finished), and (kind, cpu, op index) of each ASSERT/BUG.
    stuck: set[tuple[int | None, ...]] = field(default_factory=set)
    crash_points: set[tuple[str, int, int]] = field(default_factory=set)
    states: int = 0
    transitions: int = 0
    complete: bool = True  # False when a bound stopped the search
    stopped_by: str = ""  # which bound, when not complete
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.hazards

    def kinds(self) -> set[str]:
        return {h.kind for h in self.hazards.values()}

    def of_kind(self, kind: str) -> list[Hazard]:
        return sorted((h for h in self.hazards.values() if h.kind == kind),
                      key=lambda h: (len(h.schedule), h.message))

    def _add(self, h: Hazard) -> None:
        old = self.hazards.get(h.key)
        if old is None or len(h.schedule) < len(old.schedule):
            self.hazards[h.key] = h


# ---------------------------------------------------------------------------
# Properties of states

def exclusion(m: Machine, state: State) -> tuple[list[str], set[tuple[str, int, int]]]:
    """(violations, overlaps): a writer (or spinlock holder) sharing a lock
    with another CPU's hold; overlaps are all cross-CPU shared holds."""
    cpus = state[1]
    bad: list[str] = []
    seen: set[tuple[str, int, int]] = set()
    for i in range(len(cpus)):
        hi = cpus[i].holds
        if not hi:
            continue
        for j in range(i + 1, len(cpus)):
            for lock, mi, ki in hi:
                for lock2, mj, kj in cpus[j].holds:
                    if lock2 != lock:
                        continue
                    seen.add((lock, i, j))
                    if mi != "r" or mj != "r":
                        bad.append(f"{lock}: cpu{i} ({mi} {ki}) and cpu{j} ({mj} {kj}) "
                                   "in critical section together")
    return bad, seen


def _record_end(m: Machine, state: State, res: Result, k: int,
                report: Callable[[int, list[tuple[str, str]]], None]) -> None:
    """A state where no CPU can move: its outcome if all finished, and its
    hazards, handed to report with the state's node k."""
    if all(c.status == DONE for c in state[1]):
        res.outcomes.add(_outcome(state))
    found = _terminal(m, state)
    if any(kind == "deadlock" for kind, _ in found):
        res.stuck.add(_stuck_at(m, state))
    if found:
        report(k, found)


def _terminal(m: Machine, state: State) -> list[tuple[str, str]]:
    """Hazards of a state where no CPU can move."""
    cpus = state[1]
    if any(c.status == CRASHED for c in cpus):
        return []
    if any(c.status == RUN for c in cpus):
        # Each CPU by the operation it is blocked in (not where inside it,
        # which would count one deadlock once per spin point).
        stuck = "; ".join(f"cpu{i} blocked in {m.blocked_op(state, i)}"
                          for i, c in enumerate(cpus) if c.status == RUN)
        return [("deadlock", f"no CPU can move: {stuck}")]
    out = [("held_at_end", f"cpu{i} ends holding {lock} ({mode} {kind})")
           for i, c in enumerate(cpus) for lock, mode, kind in c.holds]
    if not out:
        out = [("held_at_end", f"{name} not back to unlocked at end")
               for name in m.dirty_locks(state[0])]
    return out


def _stuck_at(m: Machine, state: State) -> tuple[int | None, ...]:
    return tuple(None if c.status == DONE else m.blocked_index(state, i)
                 for i, c in enumerate(state[1]))


def _outcome(state: State) -> Outcome:
    return Outcome(state[0], tuple(c.obs for c in state[1]), state[2])


# ---------------------------------------------------------------------------
# Exhaustive search

def _rss_mb() -> float:
    """Peak resident size of this process in megabytes (Linux: ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _independent(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
    """Steps (cpu, reads, writes) of different CPUs commute."""
    return a[0] != b[0] and not (a[2] & (b[1] | b[2]) or b[2] & a[1])


def explore(
    m: Machine,
    reduce: bool = True,
    max_states: int = 5_000_000,
    stop: Callable[[Result], bool] | None = None,
    shortest: bool = True,
    max_memory_mb: int | None = None,
    progress: bool = False,
    symmetry: bool = False,
) -> Result:
    """Breadth-first exploration of every schedule of m.

    States are stored packed (packed.py: interned ids, memoised steps).
    ``symmetry`` stores one state per permutation class of CPUs running
    identical programs (symmetry.py); hazards and their schedules are then
    computed on a real replay, but ``outcomes``, ``overlaps`` and ``stuck``
    are recorded up to that permutation.

    Each hazard comes with a shortest schedule reaching it (with the
    reduction on, a second, unreduced search that stops early finds those;
    ``shortest=False`` skips it and keeps the reduced graph's schedules)."""
    t0 = time.perf_counter()
    res = Result()
    pk = Packer(m)
    init = pk.pack(m.initial_state())
    index: dict[PState, int] = {init: 0}
    parent = array("l", [-1])
    via = array("b", [-1])
    queue: deque[tuple[PState, int, frozenset[tuple[int, int, int]], frozenset[int] | None]]
    queue = deque([(init, 0, frozenset(), None)])

    sym = Symmetry(m) if symmetry else None
    if sym is not None and not sym.active:
        sym = None
    perms: dict[int, Perm] = {}
    writer_cpus = {i for i, _ in sym.writers} if sym is not None else set()
    ident = tuple(range(m.ncpus))

    def path(k: int) -> tuple[int, ...]:
        nodes = []
        while k > 0:
            nodes.append(k)
            k = parent[k]
        nodes.reverse()
        if sym is None:
            return tuple(via[x] for x in nodes)
        # Steps are stored in each parent's numbering: map them to real CPUs.
        sigma, out = ident, []
        for x in nodes:
            out.append(sigma[via[x]])
            sigma = compose(sigma, perms.get(x))
        return tuple(out)

    canon_seen: set[tuple[str, str]] = set()

    def report(k: int, keys: list[tuple[str, str]]) -> None:
        if sym is None:
            for kind, msg in keys:
                res._add(Hazard(kind, msg, path(k)))
            return
        new = [key for key in keys if key not in canon_seen]
        if not new:
            return
        canon_seen.update(new)
        # The messages name CPUs: take them from the real schedule's end.
        sched = path(k)
        for kind, msg in hazards_at_end(m, sched) or keys:
            res._add(Hazard(kind, msg, sched))

    def canon(s: PState) -> tuple[PState, Perm | None]:
        return pk.canon(sym, s) if sym is not None else (s, None)

    # The exclusion check reads only the holds: memoised on their ids.
    excl: dict[tuple[int, ...], tuple[list[str], set[tuple[str, int, int]]]] = {}

    def check(ps: PState, k: int) -> None:
        key = pk.holds_key(ps)
        hit = excl.get(key)
        if hit is None:
            hit = excl[key] = exclusion(m, pk.unpack(ps))
        bad, seen = hit
        if seen:
            res.overlaps |= seen
        if bad:
            report(k, [("exclusion", msg) for msg in bad])

    check(init, 0)
    # Sleep sets (per state, the CPUs whose step need not be taken because an
    # equivalent interleaving was already explored), kept as
    # (cpu, reads, writes) so independence can be checked without re-running.
    # Only non-empty ones are stored: most states have none.
    sleep_of: dict[int, frozenset[tuple[int, int, int]]] = {}

    last_check = -4096  # the memory bound is checked from the first state on
    cpu_range = range(m.ncpus)
    step, moves = pk.step, pk.moves
    reducer = Reducer(m, pk)
    # Full expansion and empty sleep sets are always sound: the reduction
    # switches itself off where it does not pay (Reducer.worth_it).
    reducing = reduce
    no_sleep: frozenset[tuple[int, int, int]] = frozenset()

    def expand(state: PState, k: int, asleep_set: frozenset[tuple[int, int, int]],
               only: frozenset[int] | None) -> None:
        """Expand state with the stubborn set, sleep sets and wake-ups."""
        nonlocal reducing
        asleep = {c for c, _, _ in asleep_set}
        steps: dict[int, PStep] = {}
        for i in cpu_range:
            if only is not None and i not in only:
                continue
            r = step(state, i)
            if r is not None:
                steps[i] = r
        if not steps:
            if only is None:
                _record_end(m, pk.unpack(state), res, k, report)
            return
        succ = [(i, r) for i, r in steps.items() if i not in asleep]
        if reducing and only is None and len(steps) > 1:
            chosen = reducer.choose(state, steps)
            cut = False
            if chosen is not None:
                # Cycle proviso: every step of the reduced set reaches a new state.
                few = [(i, steps[i]) for i in chosen if i not in asleep]
                if all(canon(r.state)[0] not in index for _, r in few):
                    succ, cut = few, True
            reducing = reducer.worth_it(cut)
        done: list[tuple[int, int, int]] = []
        for i, r in succ:
            res.transitions += 1
            me = (i, r.reads, r.writes)
            child_sleep = frozenset(
                t for t in (*asleep_set, *done) if _independent(t, me)
            ) if reducing and (asleep_set or done) else no_sleep
            done.append(me)
            s2, perm = canon(r.state)
            if perm is not None:
                # The sleepers' CPU numbers and words are the parent's.
                child_sleep = no_sleep
            k2 = index.get(s2)
            if k2 is not None:
                old = sleep_of.get(k2)
                if old is None or old <= child_sleep:
                    continue
                # Reached again with fewer sleepers: wake the difference.
                new = old & child_sleep
                if new:
                    sleep_of[k2] = new
                else:
                    del sleep_of[k2]
                woken = frozenset(c for c, _, _ in old) - {c for c, _, _ in new}
                queue.append((s2, k2, new, woken))
                continue
            k2 = len(parent)
            index[s2] = k2
            parent.append(k)
            via.append(i)
            if perm is not None:
                perms[k2] = perm
            if r.crash is not None:
                res.crash_points.add((r.crash.kind, i, pk.cpu_of(r.state, i).op_idx))
                report(k2, [(r.crash.kind, f"cpu{i}: {r.crash.message}")])
                continue
            if child_sleep:
                sleep_of[k2] = child_sleep
            if r.held:
                check(s2, k2)
            queue.append((s2, k2, child_sleep, None))

    index_get, parent_append, via_append = index.get, parent.append, via.append
    queue_append, queue_pop = queue.append, queue.popleft
    while queue:
        state, k, asleep_set, only = queue_pop()
        if not reducing and not asleep_set and only is None:
            # The plain expansion, kept lean: this loop is the explorer's cost
            # once the reduction is off (or was never on).
            mv = moves(state)
            res.transitions += len(mv)
            # Only a writer's step can end the last sweep, and no step starts
            # one again: the children of a sweeping state that are not a
            # writer's are sweeping too, and stay as they are.
            z = sym is not None and not pk.sweeping(sym, state)
            for i, s1, held, crash in mv:
                s2, perm = pk.canon(sym, s1, z) if z or i in writer_cpus else (s1, None)  # type: ignore[arg-type]
                k2 = index_get(s2)
                if k2 is not None:
                    old = sleep_of.get(k2)
                    if old is not None:
                        # Reached again with no sleepers: wake them all.
                        del sleep_of[k2]
                        queue.append((s2, k2, no_sleep, frozenset(c for c, _, _ in old)))
                    continue
                k2 = len(parent)
                index[s2] = k2
                parent_append(k)
                via_append(i)
                if perm is not None:
                    perms[k2] = perm
                if crash is not None:
                    res.crash_points.add((crash.kind, i, pk.cpu_of(s1, i).op_idx))
                    report(k2, [(crash.kind, f"cpu{i}: {crash.message}")])
                    continue
                if held:
                    # A step that changes no hold leaves the exclusion verdict
                    # of its source, already recorded there (and shorter).
                    check(s2, k2)
                queue_append((s2, k2, no_sleep, None))
            if not mv:
                _record_end(m, pk.unpack(state), res, k, report)
        else:
            expand(state, k, asleep_set, only)
        if len(index) >= max_states:
            res.complete, res.stopped_by = False, f"--max-states {max_states}"
            break
        if stop is not None and stop(res):
            res.complete, res.stopped_by = False, "the caller"
            break
        if len(index) - last_check >= 4096:
            last_check = len(index)
            if max_memory_mb is not None and _rss_mb() > max_memory_mb:
                res.complete, res.stopped_by = False, f"--max-memory {max_memory_mb}"
                break
            if progress:
                print(f"\rexplore: {len(index)} states, {len(queue)} queued, "
                      f"{time.perf_counter() - t0:.0f}s", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    res.states = len(index)
    if reduce and shortest and res.hazards:
        _shorten(m, res, max_states)
    res.seconds = time.perf_counter() - t0
    return res


def _shorten(m: Machine, res: Result, max_states: int) -> None:
    """Replace the reduced search's schedules by shortest ones.

    The reduced graph runs independent steps early, and the hazard may have
    a shorter schedule of another shape (fewer steps of another CPU); an
    unreduced BFS that stops once it has seen every hazard finds them."""
    wanted = set(res.hazards)
    full = explore(m, reduce=False, max_states=max_states,
                   stop=lambda r: wanted <= r.hazards.keys())
    for key in wanted:
        h = full.hazards.get(key)
        res.hazards[key] = h if h is not None else minimise(m, res.hazards[key])


# ---------------------------------------------------------------------------
# Replay and minimisation

@dataclass(frozen=True)
class ReplayStep:
    n: int
    cpu: int
    lines: tuple[str, ...]
    where_after: str


def replay(m: Machine, schedule: tuple[int, ...]) -> tuple[list[ReplayStep], State]:
    """Run schedule step by step with traces.  Raises ValueError when a
    scheduled CPU cannot move."""
    state = m.initial_state()
    steps: list[ReplayStep] = []
    for n, i in enumerate(schedule, 1):
        r = m.step(state, i, trace=True)
        if r is None:
            raise ValueError(f"step {n}: cpu{i} cannot move")
        state = r.state
        lines = r.trace + ((f"{r.crash.kind.upper()}: {r.crash.message}",) if r.crash else ())
        steps.append(ReplayStep(n, i, lines, m.where(state, i)))
    return steps, state


def format_replay(m: Machine, h: Hazard) -> str:
    return format_schedule(m, h.schedule, f"{h.kind}: {h.message}")


def format_schedule(m: Machine, schedule: tuple[int, ...], title: str) -> str:
    steps, state = replay(m, schedule)
    out = [title, f"schedule ({len(schedule)} steps): " + " ".join(str(c) for c in schedule)]
    for s in steps:
        out.append(f"  {s.n:3d}. cpu{s.cpu}: " + "; ".join(s.lines))
    out.append("  final: " + "; ".join(f"cpu{i} {m.where(state, i)}" for i in range(m.ncpus)))
    return "\n".join(out)


def op_order(m: Machine, schedule: tuple[int, ...]) -> list[int]:
    """The CPU of each op completion along schedule, in order: the
    interleaving of whole operations the schedule realises."""
    state = m.initial_state()
    order: list[int] = []
    for i in schedule:
        before = state[1][i].op_idx
        r = m.step(state, i)
        if r is None:
            raise ValueError(f"cpu{i} cannot move")
        state = r.state
        after = state[1][i].op_idx
        order += [i] * (after - before if after >= before else len(m.sc.programs[i].ops))
    return order


def follow_op_order(m: Machine, order: list[int], max_steps: int = 100_000) -> tuple[int, ...]:
    """A schedule of m completing operations in ``order`` where it can (a CPU
    that cannot move yet lets the lowest-numbered movable CPU step), then
    running every CPU to its end.  Used to show how a program that differs
    only in its lock ops behaves under the same interleaving of operations."""
    state = m.initial_state()
    sched: list[int] = []
    pending = list(order)
    for _ in range(max_steps):
        cpus = state[1]
        live = [i for i, c in enumerate(cpus) if c.status == RUN]
        if not live:
            break
        want = next((c for c in pending if cpus[c].status == RUN), None)
        r = m.step(state, want) if want is not None else None
        i = want
        if r is None:
            i, r = next(((j, x) for j in live if (x := m.step(state, j)) is not None),
                        (None, None))
            if r is None:
                break  # nobody can move
        assert i is not None and r is not None
        done = r.state[1][i].op_idx - cpus[i].op_idx
        for _ in range(max(done, 0)):
            if i in pending:
                pending.remove(i)
        state = r.state
        sched.append(i)
        if r.crash is not None:
            break
    return tuple(sched)


def hazards_at_end(m: Machine, schedule: tuple[int, ...]) -> set[tuple[str, str]] | None:
    """Hazard keys the schedule shows at its end, or None if it cannot run
    (or the machine stopped before its end)."""
    state = m.initial_state()
    r = None
    for n, i in enumerate(schedule, 1):
        r = m.step(state, i)
        if r is None or (r.crash is not None and n < len(schedule)):
            return None
        state = r.state
    keys = {("exclusion", msg) for msg in exclusion(m, state)[0]}
    if r is not None and r.crash is not None:
        keys.add((r.crash.kind, f"cpu{schedule[-1]}: {r.crash.message}"))
    if not successors(m, state):
        keys |= set(_terminal(m, state))
    return keys


def first_hit(m: Machine, schedule: tuple[int, ...], key: tuple[str, str]) -> int | None:
    """Length of the shortest prefix of schedule that shows hazard key."""
    state = m.initial_state()
    kind = key[0]
    for n, i in enumerate(schedule, 1):
        r = m.step(state, i)
        if r is None:
            # A CPU that cannot move may mean the deadlock came early.
            if kind in ("deadlock", "held_at_end") and not successors(m, state):
                return n - 1 if key in _terminal(m, state) else None
            return None
        state = r.state
        if r.crash is not None:
            return n if (r.crash.kind, f"cpu{i}: {r.crash.message}") == key else None
        if kind == "exclusion" and key[1] in exclusion(m, state)[0]:
            return n
    if kind in ("deadlock", "held_at_end") and not successors(m, state) \
            and key in _terminal(m, state):
        return len(schedule)
    return None


def minimise(m: Machine, h: Hazard) -> Hazard:
    """Drop steps while the same hazard still shows, cutting the schedule
    where the hazard first shows (a dropped step may bring it earlier)."""
    sched = h.schedule
    j = len(sched) - 1
    while j >= 0:
        trial = sched[:j] + sched[j + 1 :]
        n = first_hit(m, trial, h.key)
        if n is not None:
            sched = trial[:n]
            j = min(j, len(sched)) - 1
        else:
            j -= 1
    return Hazard(h.kind, h.message, sched)


# ---------------------------------------------------------------------------
# Random mode

def random_walks(m: Machine, runs: int, seed: int, max_steps: int = 20_000) -> Result:
    """Seeded random schedules; hazards come back minimised."""
    t0 = time.perf_counter()
    rng = random.Random(seed)
    res = Result(complete=False)
    seen: set[State] = set()
    for _ in range(runs):
        state = m.initial_state()
        sched: list[int] = []
        for _ in range(max_steps):
            seen.add(state)
            bad, ov = exclusion(m, state)
            res.overlaps |= ov
            for msg in bad:
                res._add(Hazard("exclusion", msg, tuple(sched)))
            succ = successors(m, state)
            if not succ:
                here = tuple(sched)

                def report(_k: int, keys: list[tuple[str, str]], here: tuple = here) -> None:
                    for kind, msg in keys:
                        res._add(Hazard(kind, msg, here))

                _record_end(m, state, res, 0, report)
                break
            i, r = rng.choice(succ)
            res.transitions += 1
            sched.append(i)
            state = r.state
            if r.crash is not None:
                res.crash_points.add((r.crash.kind, i, state[1][i].op_idx))
                res._add(Hazard(r.crash.kind, f"cpu{i}: {r.crash.message}", tuple(sched)))
                break
    res.hazards = {k: minimise(m, h) for k, h in res.hazards.items()}
    res.states = len(seen)
    res.seconds = time.perf_counter() - t0
    return res
