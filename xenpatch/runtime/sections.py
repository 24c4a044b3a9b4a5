"""The lock-relevant abstraction difftest explores a combination as.

Most programs a conversion yields only read: a sequence of *read sections*
``read_lock(X) cs.. read_unlock(X)`` (or the percpu pair), never two locks
held at once (on the 2016 grant table 64 of 69 programs, all of them paths
of ``gnttab_transfer``, ``__acquire_grant_for_copy`` and the like, with 2
distinct sets of sections).  On the 2016 counter rwlock, and on the percpu
rwlock over it, in a release build, which hazard kinds a combination
reaches depends on such a program only through the *set* of its sections,
not their order or repetition.  So difftest runs each reader-only program
as its sections, each once, in a canonical order, and a combination as the
multiset of those: the grant table's 59,570 combinations on 2 and 3 CPUs
are 112 explorations.

Why the set suffices.  Call a CPU running read sections P.

1. *A section only delays the other CPUs.*  Every step of another CPU that
   reads a word a section writes (the rwlock word; P's percpu slot) either
   waits (an await not enabled while P reads: a writer's "readers drained",
   a percpu writer's sweep of the slots), or fails a CAS and retries from
   where it was (a reader's or writer's ``cmpxchg`` racing P's), or is a
   sweep's poll that keeps P for a later poll; a writer whose CAS saw P's
   count waits for the drain it would otherwise have skipped.  Nothing else
   reads those words: no trylock or query is in the combination (a failed
   trylock would take another branch; such combinations are explored as
   they are), and the debug build's IRQ-safety latch (the one word a
   section would leave changed) is off in a release build.
2. *A section run alone from the initial state completes and restores it*:
   no writer bit, no ``writer_activating``, so it takes the fast path and
   leaves the word at 0 and its slot NULL; P holds nothing between sections.
3. So, given a run of the combination reaching a hazard, drop P's
   completed sections (and, by 1, the retries and polls that saw them): the
   other CPUs' steps are still a run, their memory the same but for P's
   count.  Keep the section P is in when the hazard is reached, if any,
   where it was, and run the sections another program with the same set
   runs before it at the very start, alone (by 2 they change nothing): the
   same hazard kind.  A deadlock with P blocked is P blocked in the same
   section's acquire (the same writer holds the same lock); one with P
   done, or an end with a lock held (P holds none at its end), is the
   other program run whole first.  Read both ways, this gives equality.

The queued rwlocks (4.17, 4.19+) are not covered: there a reader's count
makes a writer's fast-path CAS fail into the slow path, another branch,
so ``reducible`` says no and every combination is explored as it is.
``tests/runtime/test_sections.py`` checks the reduced difftest against the
unreduced one on generated programs, and that a key which forgets the lock
of a section is caught.
"""

from __future__ import annotations

from collections.abc import Sequence

from xenpatch.runtime.machine import Config
from xenpatch.runtime.programs import (
    IRQ_VARIANTS,
    QUERY_OPS,
    TRYLOCK_RELEASE,
    Op,
    Program,
)

Section = tuple[Op, ...]
Pair = tuple[Program, Program]

READ_PAIRS = {"read_lock": "read_unlock", "percpu_read_lock": "percpu_read_unlock"}
# Ops whose outcome another CPU's read hold could change (a trylock's branch,
# a query's answer), or that bring in the IRQ state: a combination with any
# of them is explored as it is.
UNREDUCIBLE = (frozenset(TRYLOCK_RELEASE) | frozenset(IRQ_VARIANTS) | QUERY_OPS
               | {"irq_enter", "irq_exit", "local_irq_disable", "local_irq_enable"})


def reducible(before: Config, after: Config) -> bool:
    """Do both sides' models give the set argument (module docstring)?"""
    return all(c.lock_model == "rw16" and not c.debug for c in (before, after))


def read_sections(p: Program) -> tuple[Section, ...] | None:
    """p's read sections, or None when p is not only non-nested read sections."""
    if p.loop:
        return None
    out: list[Section] = []
    cur: list[Op] = []
    for op in p.ops:
        if not cur:
            if op.kind not in READ_PAIRS:
                return None
            cur.append(op)
            continue
        cur.append(op)
        if op.kind == "cs":
            continue
        first = cur[0]
        if op.kind != READ_PAIRS[first.kind] or (op.lock, op.owner) != (first.lock, first.owner):
            return None
        out.append(tuple(cur))
        cur = []
    return tuple(out) if out and not cur else None


def abstract_pair(before: Program, after: Program) -> Pair:
    """The pair difftest explores for (before, after): its distinct read
    sections once each in a canonical order when both sides are reader-only
    and convert section for section; else the pair itself."""
    sb, sa = read_sections(before), read_sections(after)
    if sb is None or sa is None or len(sb) != len(sa):
        return before, after
    if any(len(x) != len(y) for x, y in zip(sb, sa, strict=True)):
        return before, after
    distinct = sorted(set(zip(sb, sa, strict=True)), key=lambda s: (str(s[0]), str(s[1])))
    return (Program(tuple(op for s, _ in distinct for op in s)),
            Program(tuple(op for _, s in distinct for op in s)))


def mixes_in(programs: Sequence[Program]) -> bool:
    """Does any program use an op the set argument excludes?"""
    return any(op.kind in UNREDUCIBLE for p in programs for op in p.ops)
