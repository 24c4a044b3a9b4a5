"""Partial-order reduction for the explorer: stubborn (persistent) sets.

At each state the search may follow the steps of a set T of CPUs instead of
all of them, when T is *stubborn* (Valmari; Godefroid's persistent sets for
processes), built as a closure from one CPU:

* a CPU in T that can move: every other CPU whose remaining program (its
  static footprint from the op it is in, machine.footprints) may touch a
  word this step writes, or write a word it reads, joins T -- the other
  CPU could otherwise run a conflicting step first;
* a CPU in T that is spinning (its await is false): every CPU whose
  remaining program may write a word the await reads joins T -- only those
  can let it through.

Then no sequence of steps of CPUs outside T touches what T's current steps
do, so every run of the full graph is equivalent to one that starts with a
step of T.  Closed over CPUs rather than single steps, this keeps working
when every CPU touches one lock: a reader whose slot store only the writer
polls, with the writer spinning on another reader's slot, is a set of two.

What the explorer checks, and how it is kept:

* final states (outcomes, deadlocks, held_at_end, stuck CPUs): kept by any
  persistent set (every terminal state of the full graph is reached);
* exclusion and overlaps are state invariants over every reachable state:
  a step that changes a hold another CPU could see (the other CPU holds the
  lock or may touch its words later) is *visible*, and a reduced set may
  not contain a visible step (C2); crashes (ASSERT/BUG) are visible too;
* the cycle proviso (C3): a reduced set is used only when all its steps
  lead to states not seen yet, so no step is put off forever around a cycle.

Why it cuts little on one lock taken by every CPU (bench/explore.py's 4x4:
one percpu writer, three readers): about 7% of the first 20,000 states, on
the 2016 rwlock and the queued one alike, so Reducer.worth_it switches it
off.  Not because the queued model's steps are coarse or declared
dependent wholesale: a reader's steps are its slot store (read by the
writer's sweep, whose await reads every slot still in its mask), its
``writer_activating`` load (written by the writer) and, on its slow path,
the rwlock word, and every one of them is dependent on a step the writer
still has ahead; the writer's steps touch the rwlock word every slow reader
may touch.  So any closure holds the writer and then every reader.  Where
it would be small, the step is usually visible: an acquire or release of
the lock the others hold or will take (11,000-15,000 seeds rejected as
visible over those 20,000 states).

Why not dynamic POR (Flanagan-Godefroid, source sets): it is a stateless
search over runs, and these lock programs have cycles (CAS retry loops, a
percpu writer re-polling); tried on the 4-CPU one-lock case, 2 ops each
(3,308 states), a stateless DPOR search had not finished after 5,000,000
nodes.  Sleep sets, DPOR's other half, are in the explorer (explore.py).
"""

from __future__ import annotations

from xenpatch.runtime.machine import RUN, Cpu, Machine
from xenpatch.runtime.packed import Packer, PState, PStep, log_bit


def visible(m: Machine, cpus: list[Cpu], i: int, r: PStep) -> bool:
    """Can the checked properties see CPU i's step r?  A crash, or a change
    of holds on a lock another CPU holds or may still touch."""
    if r.crash is not None:
        return True
    if m.cfg.record_order and (r.held or r.writes & log_bit(m)):
        # The acquisition log is part of the outcome, and a step can add
        # to it without changing a hold: a recursive lock taken again.
        return True
    if not r.held:
        return False
    held_words = 0
    for name in r.held:
        held_words |= m.lock_words[name]
    for j, c in enumerate(cpus):
        if j == i:
            continue
        if any(h[0] in r.held for h in c.holds):
            return True
        if c.status == RUN:
            fr, fw = m.footprints[j][c.op_idx]
            if held_words & (fr | fw):
                return True
    return False


def stubborn(m: Machine, cpus: list[Cpu], steps: dict[int, PStep],
             waits: dict[int, int]) -> list[int] | None:
    """The CPUs that can move of a smallest stubborn set with no visible
    step, when that is fewer than all that can move; else None.  ``steps``:
    each CPU that can move and its step; ``waits``: each spinning CPU and
    the words its await reads."""
    n = len(cpus)
    foot: list[tuple[int, int] | None] = [
        m.footprints[k][c.op_idx] if c.status == RUN else None for k, c in enumerate(cpus)]
    # out[j]: the CPUs that join a stubborn set holding j (a bitmask), -1
    # when j's step is visible (no reduced set may hold it); filled lazily.
    out: list[int | None] = [None] * n

    def joins(j: int) -> int:
        o = out[j]
        if o is not None:
            return o
        r = steps.get(j)
        mask = 0
        if r is not None:
            if visible(m, cpus, j, r):
                out[j] = -1
                return -1
            rd, wr = r.reads, r.writes
            for k in range(n):
                f = foot[k]
                if k != j and f is not None and (wr & (f[0] | f[1]) or rd & f[1]):
                    mask |= 1 << k
        else:
            awaited = waits.get(j, 0)
            for k in range(n):
                f = foot[k]
                if k != j and f is not None and f[1] & awaited:
                    mask |= 1 << k
        out[j] = mask
        return mask

    moving = 0
    for j in steps:
        moving |= 1 << j
    best = -1
    best_size = len(steps)
    for seed in sorted(steps):
        members = 1 << seed
        frontier = members
        while frontier:
            j = (frontier & -frontier).bit_length() - 1
            frontier &= frontier - 1
            o = joins(j)
            if o < 0:
                members = -1
                break
            new = o & ~members
            members |= new
            frontier |= new
            if members & moving == moving:
                break  # every CPU that can move: no reduction from this seed
        if members < 0:
            continue
        size = bin(members & moving).count("1")
        if size < best_size:
            best, best_size = members & moving, size
            if size == 1:
                break
    if best < 0:
        return None
    return [j for j in range(n) if best >> j & 1]


class Reducer:
    """Chooses the CPUs to follow at a packed state, and says when trying
    is not worth its cost."""

    # After TRIAL states, go on only if at least MIN_RATE of them were cut.
    # With memoised steps a transition is a dictionary hit, and the sets and
    # sleep-set bookkeeping cost more than they save below about a quarter
    # (bench/explore.py: 6% cut on one lock taken by 4 CPUs, 1.6-3x the CPU
    # time of the plain search; 50% cut with private locks, a gain).
    TRIAL = 5_000
    MIN_RATE = 0.25

    def __init__(self, m: Machine, pk: Packer) -> None:
        self.m = m
        self.pk = pk
        self.tried = 0
        self.cut = 0

    def worth_it(self, cut: bool) -> bool:
        """Record whether the last state was reduced; False once reducing has
        cut too few states to pay for itself (when every CPU's step is
        visible or conflicts, as on one lock all CPUs take, the sets cost
        time and save nothing, and full expansion is always sound)."""
        self.tried += 1
        self.cut += cut
        return self.tried < self.TRIAL or self.cut >= self.MIN_RATE * self.tried

    def choose(self, ps: PState, steps: dict[int, PStep]) -> list[int] | None:
        """The CPUs to follow at ps (all that can move are ``steps``), or
        None for all of them."""
        pk = self.pk
        waits: dict[int, int] = {}
        for i in range(self.m.ncpus):
            if i not in steps:
                w = pk.blocked_reads(ps, i)
                if w is not None:
                    waits[i] = w
        return stubborn(self.m, pk.records(ps), steps, waits)
