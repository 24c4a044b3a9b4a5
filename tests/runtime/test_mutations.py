"""Mutation checks: seed a bug into one model step and show that the
litmus suite (test_litmus.py, run unchanged) fails on it.

Each mutant is the real routine with one piece of its C left out -- a CAS
whose failure is not retried, a drain or poll step skipped, the Dekker
barrier between the percpu reader's slot store and its writer_activating
load dropped (the load done first) -- patched into the tables the machine
takes its routines from.  A litmus test that still passed would be a test
that cannot fail on that bug.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import test_litmus as L  # tests/runtime is on sys.path under pytest

from xenpatch.runtime import locks, rwlock, spinlock
from xenpatch.runtime.rwlock import W16
from xenpatch.runtime.steps import call, goto, ret

Routine = Callable[..., Any]


def rw16_read_lock_no_cas_retry(ctx: Any, pc: int, a: tuple, loc: tuple, rv: Any) -> Any:
    if pc == 1:
        ctx.cas(a[0], loc[0], loc[0] + 1)  # a failed CAS taken as success
        ctx.preempt += 1
        return ret()
    return rwlock.rw16_read_lock(ctx, pc, a, loc, rv)


def rw16_write_lock_no_drain(ctx: Any, pc: int, a: tuple, loc: tuple, rv: Any) -> Any:
    if pc == 1:
        if not ctx.cas(a[0], loc[0], loc[0] | W16):
            return goto(0)
        ctx.preempt += 1  # readers already in are not waited for
        return ret()
    return rwlock.rw16_write_lock(ctx, pc, a, loc, rv)


def qrw_write_lock_no_drain(ctx: Any, pc: int, a: tuple, loc: tuple, rv: Any) -> Any:
    if pc == 5:
        lay = ctx.lay
        ctx.fetch_add(a[0], (lay.qw_locked | ctx.me) - lay.qw_waiting)  # no wait for readers
        return call(spinlock.spin_unlock, (a[0] + 1, False), 7)
    return rwlock.qrw_write_lock(ctx, pc, a, loc, rv)


def qrw_write_lock_no_cas_retry(ctx: Any, pc: int, a: tuple, loc: tuple, rv: Any) -> Any:
    if pc == 4:
        ctx.cas(a[0], loc[0], loc[0] | ctx.lay.qw_waiting)
        return goto(5)  # a failed WAITING cmpxchg taken as success
    return rwlock.qrw_write_lock(ctx, pc, a, loc, rv)


def pc_write_lock_no_poll(ctx: Any, pc: int, a: tuple, loc: tuple, rv: Any) -> Any:
    if pc == 1:
        ctx.store(a[2], 1)  # writer_activating, then no poll of the readers' slots
        return ret()
    return locks.pc_write_lock(ctx, pc, a, loc, rv)


def pc_read_lock_no_barrier(ctx: Any, pc: int, a: tuple, loc: tuple, rv: Any) -> Any:
    """The writer_activating load moved before the slot store, as a CPU may
    do when the smp_mb() between them is missing (store-load reordering)."""
    lid, rw, wa, s0, _ = a
    if pc == 0:
        if ctx.own(s0 + ctx.me) != 0:
            return locks.pc_read_lock(ctx, pc, a, loc, rv)
        if ctx.head:
            ctx.preempt += 1
        return goto(10, (ctx.load(wa),))
    if pc == 10:
        ctx.store(s0 + ctx.me, lid)
        if loc[0] == 0:
            return ret("fast")
        return goto(3)
    return locks.pc_read_lock(ctx, pc, a, loc, rv)


# (table, key, mutant, litmus test, its arguments)
MUTANTS: list[tuple[str, dict, Any, Routine, Routine, tuple]] = [
    ("rw16 read_lock: failed CAS not retried", rwlock.RW[False], "read_lock",
     rw16_read_lock_no_cas_retry, L.test_l1_reader_and_writer_never_overlap,
     ("rwlock", "rw16", "release")),
    ("rw16 write_lock: no drain of readers in", rwlock.RW[False], "write_lock",
     rw16_write_lock_no_drain, L.test_l1_reader_and_writer_never_overlap,
     ("rwlock", "rw16", "release")),
    ("queued write_lock: no wait for cnts == WAITING", rwlock.RW[True], "write_lock",
     qrw_write_lock_no_drain, L.test_l1_reader_and_writer_never_overlap,
     ("rwlock", "qrw", "release")),
    ("queued write_lock: failed WAITING cmpxchg not retried", rwlock.RW[True], "write_lock",
     qrw_write_lock_no_cas_retry, L.test_l10_read_read_cycle_needs_both_writers,
     ("rwlock", "qrw")),
    ("percpu write_lock: no poll of the readers' slots", locks.PERCPU, "percpu_write_lock",
     pc_write_lock_no_poll, L.test_l2_percpu_reader_races_writer, ("qrw",)),
    ("percpu read_lock: no barrier between slot store and flag load", locks.PERCPU,
     "percpu_read_lock", pc_read_lock_no_barrier, L.test_l2_percpu_reader_races_writer,
     ("rw16",)),
]


@pytest.mark.parametrize("name,table,key,mutant,litmus,args", MUTANTS,
                         ids=[m[0] for m in MUTANTS])
def test_litmus_suite_catches_the_mutant(name: str, table: dict, key: str, mutant: Routine,
                                         litmus: Routine, args: tuple,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    litmus(*args)  # the real model passes
    monkeypatch.setitem(table, key, mutant)
    with pytest.raises(AssertionError):
        litmus(*args)
