"""Counts from the lock models, on cases worked out by hand from
docs/xen-locks.md, and the facts that must hold at every CPU count."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xenpatch.cost.counts import CostError, contended, simulate, uncontended


def test_uncontended_read_sections():
    rw16 = uncontended("rwlock", "rw16").read
    # await !W (a load), cmpxchg(x, x+1), then the unlock's atomic decrement
    assert (rw16.rmw, rw16.loads, rw16.stores, rw16.transfers) == (2, 1, 0, 0)
    q = uncontended("rwlock", "q417").read
    # atomic_add_return, atomic_sub
    assert (q.rmw, q.loads, q.stores) == (2, 0, 0)
    spin = uncontended("spinlock", "q417").read
    # the ticket's fetch-and-add, the head's load, the owner's plain increment
    assert (spin.rmw, spin.loads, spin.stores) == (1, 1, 1)
    pc = uncontended("percpu", "rw16").read
    # slot := lock, smp_mb, load writer_activating; slot := NULL
    assert (pc.rmw, pc.stores, pc.full_barriers) == (0, 2, 1)


def test_two_cpus_in_turn():
    # the load then the cmpxchg each take the line from the last reader
    assert contended("rwlock", "rw16", 2, "serial").read.transfers == 2
    # one RMW takes the line, the unlock finds it still here
    assert contended("rwlock", "q417", 2, "serial").read.transfers == 1
    assert contended("percpu", "q417", 2, "serial").read.transfers == 0


def test_a_store_waits_only_when_a_barrier_or_locked_op_drains_it():
    """Two CPUs at once on a spinlock: the unlock's plain increment finds
    the line taken by the other CPU's ticket RMW; that transfer completes
    in the store buffer, off the critical path."""
    c = contended("spinlock", "q417", 2).read
    assert c.transfers == 3
    assert c.critical == 2


def test_a_write_costs_percpu_readers_their_lines():
    """A percpu writer polls every slot and writes writer_activating: each
    reader then pays transfers it never pays without writers."""
    c = contended("percpu", "q417", 4)
    assert c.read.transfers == 0
    assert c.write.transfers >= 4  # the rwlock, and three slots polled
    assert c.write_ops["percpu_write_lock"].full_barriers == 1


@settings(max_examples=10, deadline=None)
@given(st.sampled_from([1, 2, 3, 5, 8, 13, 16]), st.sampled_from(["rw16", "q417", "qrw"]))
def test_percpu_readers_touch_no_shared_line(n: int, model: str):
    c = contended("percpu", model, n)  # type: ignore[arg-type]
    assert c.read.rmw == 0
    assert c.read.transfers == 0
    assert c.read.serialising == 0


def test_rwlock_transfers_per_section_grow_with_cpus():
    for model in ("rw16", "q417"):
        seen = [contended("rwlock", model, n).read.serialising for n in (1, 2, 4, 8, 16)]  # type: ignore[arg-type]
        assert seen == sorted(seen), (model, seen)
        assert seen[0] == 0 and seen[1] > 0
    rw16 = [contended("rwlock", "rw16", n).read.serialising for n in (2, 4, 8, 16)]
    # the compare-and-swap loop fails and retries as CPUs are added
    assert all(b > a for a, b in zip(rw16, rw16[1:], strict=False))


def test_no_cpus_is_bad_input():
    with pytest.raises(CostError):
        simulate("rwlock", "q417", 0)


def test_warm_up_is_not_counted():
    run = simulate("rwlock", "q417", 2, sections=2, warm=1)
    assert run.sections == {"read": 4}
    assert run.runs[("read", "read_lock")] == 4
