"""Symmetry reduction: CPUs running identical programs are interchangeable.

A state and its image under a permutation of such CPUs have the same
hazards up to CPU numbering, so the explorer stores one representative.  A
permutation moves each CPU's record, its per-CPU slot words, and every value
that names a CPU: a spinlock's ``recurse_cpu`` and debug owner, a queued
rwlock's writer-CPU bits, the CPUs left in a percpu writer's poll mask.

The representative orders the CPUs of each group by a signature of what is
theirs (their record, their slots, which CPU-valued fields name them).

A percpu writer breaks the symmetry: it polls the CPUs' slots in CPU-number
order (``for_each_cpu``), so renaming two CPUs changes which one it sees
first, and the image of a state is not a state whose future mirrors the
original's (a hazard schedule found through it did not replay on the
machine).  The order is fixed for every sweep to come, so no renaming of
CPUs commutes with the steps while a sweep is running or still ahead.  Once
none is -- no CPU whose program has a ``percpu_write_lock`` is in one or
has one left (a looping program always has) -- the steps are symmetric
again, and that set of states is closed under steps and under renaming.  So
the reduction is exact when it canonicalises only those states
(``polling``), and stores the others as they are; a schedule is mapped back
to real CPUs through the permutations met along it as before.

Making the poll order part of the state (and canonicalising it with the
rest) would be exact too, but gains nothing: the order is a total order of
all CPUs that no step changes, so each orbit would hold exactly one state of
the real machine.  Any larger reduction needs an argument that the order
does not matter for what is checked, which is not made here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xenpatch.runtime.machine import Machine, State

Perm = tuple[int, ...]  # new position p holds the CPU that was at perm[p]


class Symmetry:
    def __init__(self, m: Machine) -> None:
        self.m = m
        n = m.ncpus
        by_prog: dict[object, list[int]] = {}
        for i, p in enumerate(m.sc.programs):
            by_prog.setdefault(p, []).append(i)
        self.groups = [g for g in by_prog.values() if len(g) > 1]
        self.active = bool(self.groups) and not m.cfg.record_order
        # Per CPU whose program polls: for each op index, whether a sweep is
        # running or still ahead from there (a loop comes back to every op).
        self.writers: list[tuple[int, list[bool]]] = []
        for i, p in enumerate(m.sc.programs):
            kinds = [op.kind == "percpu_write_lock" for op in p.ops]
            if any(kinds):
                ahead = [p.loop or any(kinds[k:]) for k in range(len(kinds) + 1)]
                self.writers.append((i, ahead))
        self.slot_bases = list(m.slots.values())
        lay = m.cfg.layout
        self.lay = lay
        # Words holding a CPU number (or the era's NO_CPU).
        self.cpu_words: list[int] = []
        self.cnts_words: list[int] = []
        for info in m.locks.values():
            if info.type == "spinlock":
                self.cpu_words += [info.base + 2, info.base + 4]
            elif m.cfg.head:
                self.cnts_words.append(info.base)
                self.cpu_words += [info.base + 3, info.base + 5]
        self.n = n

    def _sig(self, state: State, i: int) -> int:
        # Any order of a group is a valid representative; the signature only
        # makes equal states pick the same one.  CPU-valued lock fields are
        # left out (cheap; ties fall back to CPU number).
        mem, cpus, _ = state
        return hash((cpus[i], tuple(mem[s + i] for s in self.slot_bases)))

    def polling(self, op_idx: list[int]) -> bool:
        """Is a percpu writer's sweep running or ahead, given each CPU's op
        index?  Such a state is stored as it is."""
        return any(ahead[op_idx[i]] for i, ahead in self.writers)

    def canon(self, state: State) -> tuple[State, Perm | None]:
        """The representative of state, and the permutation taking state to
        it (None: state is its own representative)."""
        if self.polling([c.op_idx for c in state[1]]):
            return state, None
        perm = list(range(self.n))
        changed = False
        for g in self.groups:
            order = sorted(g, key=lambda i: (self._sig(state, i), i))
            if order != g:
                changed = True
                for p, i in zip(g, order, strict=True):
                    perm[p] = i
        if not changed:
            return state, None
        t = tuple(perm)
        return self.apply(state, t), t

    def apply(self, state: State, perm: Perm) -> State:
        mem, cpus, log = state
        inv = [0] * self.n
        for p, i in enumerate(perm):
            inv[i] = p
        # CPU records hold no CPU numbers once no percpu sweep is ahead (the
        # only CPU numbers in a record are a sweep's mask).
        return (self.apply_mem(mem, perm, inv), tuple(cpus[i] for i in perm), log)

    def apply_mem(self, mem: tuple[int, ...], perm: Perm, inv: list[int]) -> tuple[int, ...]:
        """The memory of a state permuted by perm (inv: its inverse)."""
        new = list(mem)
        for s in self.slot_bases:
            for p, i in enumerate(perm):
                new[s + p] = mem[s + i]
        for w in self.cpu_words:
            v = mem[w]
            if v < self.n:
                new[w] = inv[v]
        lay = self.lay
        for w in self.cnts_words:
            v = mem[w]
            if (v & lay.qw_wmask) == lay.qw_locked and (v & lay.qw_cpumask) < self.n:
                new[w] = (v & ~lay.qw_cpumask) | inv[v & lay.qw_cpumask]
        return tuple(new)


def compose(sigma: Perm, perm: Perm | None) -> Perm:
    """sigma maps a state's CPU positions to real CPUs; after a step whose
    successor was permuted by perm, the new state's positions map to
    sigma[perm[p]]."""
    if perm is None:
        return sigma
    return tuple(sigma[i] for i in perm)
