"""The queueing model: its bounds and monotone facts, for any parameters."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from xenpatch.cost.counts import CostError, contended
from xenpatch.cost.throughput import Params, curve, sim_points, transfer_ns

CPUS = [1, 2, 4, 8, 16]
KINDS = [("rwlock", "rw16"), ("rwlock", "q417"), ("spinlock", "rw16"), ("percpu", "rw16"),
         ("percpu", "q417")]

params = st.builds(
    Params,
    section_ns=st.floats(0, 2000),
    write_fraction=st.sampled_from([0.0, 0.001, 0.01, 0.1]),
    sockets=st.integers(1, 4),
    same_socket_ns=st.floats(5, 100),
    cross_socket_ns=st.floats(5, 300),
    rmw_ns=st.floats(1, 30),
    barrier_ns=st.floats(1, 40),
    access_ns=st.floats(0.1, 3),
)


def _sections_per_ns(kind: str, p: Params, read_per_us: float) -> float:
    x = read_per_us / 1000.0
    return x if kind == "spinlock" else x / (1 - p.write_fraction)


@settings(max_examples=25, deadline=None)
@given(params, st.sampled_from(KINDS))
def test_throughput_is_within_the_asymptotic_bounds(p: Params, which: tuple[str, str]):
    """No more than N CPUs working alone, no more than the lock line can serve."""
    kind, model = which
    for pt in curve(kind, model, CPUS, p):  # type: ignore[arg-type]
        x = _sections_per_ns(kind, p, pt.read_per_us)
        assert x * pt.serial_ns <= 1 + 1e-9
        assert x <= pt.cpus / (pt.own_ns + pt.serial_ns) + 1e-9


# Found by the test below on the old recursion, where the contention level
# of n CPUs came from the queue of n - 1 and x was capped at 1/D afterwards:
# with no serialised demand for one contender (a percpu section of length 0)
# the level stayed at the unstable 1 or left it by rounding, so it did or did
# not collapse by chance (CI: 430.8 -> 536.5 reads/us at 16 CPUs).
CI_PERCPU = Params(section_ns=0.0, write_fraction=0.1, sockets=2, same_socket_ns=5.0,
                   cross_socket_ns=44.0, rmw_ns=1.0, barrier_ns=1.0, access_ns=1.0)


@settings(max_examples=25, deadline=None)
@given(params, st.sampled_from(KINDS), st.floats(1.01, 4))
@example(CI_PERCPU, ("percpu", "q417"), 2.0)
@example(Params(section_ns=0.0, write_fraction=0.1, sockets=2, same_socket_ns=5.0,
                cross_socket_ns=44.0, rmw_ns=1.5, barrier_ns=1.0, access_ns=0.1015625),
         ("percpu", "q417"), 2.0)
@example(Params(section_ns=0.0, write_fraction=0.1, sockets=1, same_socket_ns=23.0,
                cross_socket_ns=5.0, rmw_ns=1.0, barrier_ns=3.0, access_ns=0.109375),
         ("percpu", "rw16"), 2.0)
def test_slower_transfers_never_help(p: Params, which: tuple[str, str], k: float):
    kind, model = which
    slow = Params(**{**p.as_dict(), "cross_socket_ns": p.cross_socket_ns * k,
                     "same_socket_ns": p.same_socket_ns * k})
    for a, b in zip(curve(kind, model, CPUS, p), curve(kind, model, CPUS, slow), strict=True):  # type: ignore[arg-type]
        assert b.read_per_us <= a.read_per_us * (1 + 1e-9)


def _mva_queue(z: float, d: float, n: int) -> float:
    """Mean queue of exact MVA, n customers, fixed own time z and demand d."""
    q = 0.0
    for m in range(1, n + 1):
        r = d * (1 + q)
        q = m * r / (z + r) if r > 0 else 0.0
    return q


@settings(max_examples=25, deadline=None)
@given(params, st.sampled_from(KINDS))
@example(CI_PERCPU, ("percpu", "q417"))
def test_the_contention_level_is_consistent_with_itself(p: Params, which: tuple[str, str]):
    """An arriving CPU finds c - 1 others at the lock, c being the level
    whose counts gave the point's demands (the arrival theorem)."""
    kind, model = which
    for pt in curve(kind, model, CPUS, p):  # type: ignore[arg-type]
        q = _mva_queue(pt.own_ns, pt.serial_ns, pt.cpus - 1)
        assert pt.contenders == pytest.approx(1 + q, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("model", ["rw16", "q417", "qrw"])
@pytest.mark.parametrize("kind", ["rwlock", "spinlock"])
def test_the_shared_locks_meet_the_monotone_argument(kind: str, model: str):
    """throughput.py's argument that slower transfers cannot help rests on
    two facts of the counts: no critical transfer of these locks is own
    time (Z does not depend on the latencies), and own counts do not fall
    as contention grows (Z(c) is non-decreasing)."""
    ks = sim_points(64)  # the default table's
    runs = [contended(kind, model, 2, "serial")] + [contended(kind, model, k)  # type: ignore[arg-type]
                                                    for k in ks[1:]]
    for side in ("read", "write"):
        counts = [getattr(r, side) for r in runs]
        assert all(c.critical == c.serialising for c in counts)
        for field in ("rmw", "full_barriers", "loads", "stores"):
            seen = [getattr(c, field) for c in counts]
            assert seen == sorted(seen), (side, field, seen)


def test_a_vanishing_section_changes_next_to_nothing():
    """The curve is continuous in its parameters: with no serialised demand
    for one contender, contention 1 is consistent but unstable, and a
    section of a femtosecond must not decide whether the lock collapses."""
    near = Params(**{**CI_PERCPU.as_dict(), "section_ns": 1e-6})
    for a, b in zip(curve("percpu", "q417", CPUS, CI_PERCPU), curve("percpu", "q417", CPUS, near),
                    strict=True):
        assert a.read_per_us == pytest.approx(b.read_per_us, rel=1e-3)


@settings(max_examples=20, deadline=None)
@given(params)
def test_percpu_readers_scale_linearly_without_writers(p: Params):
    p = Params(**{**p.as_dict(), "write_fraction": 0.0})
    pts = curve("percpu", "q417", CPUS, p)
    for pt in pts:
        assert pt.read_per_us == pytest.approx(pt.cpus * pts[0].read_per_us)


def test_a_shared_rwlock_saturates_and_the_2016_one_collapses():
    p = Params()
    q = curve("rwlock", "q417", [16, 32, 64], p)
    # one RMW line at a time: never more than one section per two transfers
    assert all(pt.read_per_us <= 1000 / (2 * transfer_ns(pt.cpus, p)) * 1.01 for pt in q)
    rw16 = curve("rwlock", "rw16", [4, 16, 64], p)
    assert rw16[0].read_per_us > rw16[1].read_per_us > rw16[2].read_per_us


def test_one_socket_transfers_are_same_socket():
    p = Params(sockets=1)
    assert transfer_ns(16, p) == p.same_socket_ns
    assert transfer_ns(2, Params(sockets=2)) == Params().cross_socket_ns


@pytest.mark.parametrize("bad", [
    {"write_fraction": 1.0}, {"write_fraction": -0.1}, {"sockets": 0}, {"section_ns": -1.0},
    {"cross_socket_ns": -5.0},
])
def test_bad_parameters(bad: dict):
    with pytest.raises(CostError):
        curve("rwlock", "q417", [1, 2], Params(**bad))


def test_work_outside_the_lock_bounds_the_speedup():
    """Amdahl: the more each CPU does outside the lock, the less converting
    the lock can give; with nothing else to do it gives the most."""
    def ratio(outside: float) -> float:
        p = Params(outside_ns=outside)
        pc = curve("percpu", "rw16", [16], p)[0].read_per_us
        rw = curve("rwlock", "rw16", [16], p)[0].read_per_us
        return pc / rw

    seen = [ratio(w) for w in (0.0, 1000.0, 5000.0, 20000.0, 1e6)]
    assert seen == sorted(seen, reverse=True)
    assert seen[0] > 100 and seen[-1] == pytest.approx(1.0, abs=0.01)
