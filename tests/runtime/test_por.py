"""The reductions against the plain search, on generated programs.

The reduced explorer (stubborn sets, sleep sets, packed memoised states)
must find exactly what the plain breadth-first search over every
interleaving finds: the same final outcomes, hazards, overlapping holds,
stuck CPUs and crash points.  Programs of up to four CPUs on up to three
locks, misuse included, so deadlocks, ASSERTs and exclusion failures all
occur among the examples.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_explore_props import ALL_LOCKS, ANY_OPS, CONFIGS, _op  # tests/runtime on sys.path

from xenpatch.runtime.explore import Result, explore, hazards_at_end, state_graph
from xenpatch.runtime.machine import DONE, Config, Machine
from xenpatch.runtime.por import Reducer
from xenpatch.runtime.programs import (
    LockDecl,
    Op,
    Program,
    Scenario,
    format_scenario,
    parse_program_text,
    scenario,
)


@st.composite
def programs(draw: st.DrawFn) -> Scenario:
    """2-4 CPUs, each a few ops on A, B or P; lock types drawn per lock."""
    types = draw(st.fixed_dictionaries({n: st.sampled_from(sorted(ANY_OPS)) for n in ALL_LOCKS}))
    progs = []
    for _ in range(draw(st.integers(2, 4))):
        ops: list[Op] = []
        for _ in range(draw(st.integers(1, 3))):
            n = draw(st.sampled_from(ALL_LOCKS))
            mode = draw(st.sampled_from(sorted(ANY_OPS[types[n]])))
            kind = ANY_OPS[types[n]][mode][draw(st.integers(0, 1))]
            ops.append(_op(kind, n, types[n]) if kind.startswith("percpu") else Op(kind, n))
        progs.append(Program(tuple(ops)))
    used = {op.lock for p in progs for op in p.ops if op.lock}
    return scenario(progs, [LockDecl(n, types[n], "C" if types[n] == "percpu" else None)  # type: ignore[arg-type]
                            for n in ALL_LOCKS if n in used])


def _same(full: Result, red: Result, sc: Scenario) -> None:
    where = format_scenario(sc)
    assert red.complete and full.complete
    assert red.outcomes == full.outcomes, where
    assert set(red.hazards) == set(full.hazards), where
    assert red.overlaps == full.overlaps, where
    assert red.stuck == full.stuck, where
    assert red.crash_points == full.crash_points, where


PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(programs(), st.sampled_from(CONFIGS))
def test_reduced_search_finds_what_the_plain_one_does(sc: Scenario, cfg: Config) -> None:
    m = Machine(sc, cfg)
    full = explore(m, reduce=False, shortest=False)
    red = explore(m, reduce=True, shortest=False)
    _same(full, red, sc)
    assert red.states <= full.states
    for key, h in red.hazards.items():
        assert key in (hazards_at_end(m, h.schedule) or set()), key


@PROPS
@given(programs(), st.sampled_from(CONFIGS))
def test_reduction_switched_off_midway_stays_exact(sc: Scenario, cfg: Config) -> None:
    """Reducer.worth_it stops reducing after a trial; states queued with
    sleep sets and reduced states then meet fully expanded ones."""
    m = Machine(sc, cfg)
    full = explore(m, reduce=False, shortest=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Reducer, "TRIAL", 3)
        mp.setattr(Reducer, "MIN_RATE", 2.0)  # never worth it after the trial
        red = explore(m, reduce=True, shortest=False)
    _same(full, red, sc)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.sampled_from(CONFIGS))
def test_packed_search_has_the_machine_state_graph(sc: Scenario, cfg: Config) -> None:
    """Packed, memoised states (packed.py) against Machine.step on whole
    states: the same number of states and the same final ones."""
    m = Machine(sc, cfg)
    states, edges = state_graph(m)
    full = explore(m, reduce=False, shortest=False)
    # The state graph leaves out the states where a CPU crashed; explore counts them.
    crashed = {r.state for s in states for i in range(m.ncpus)
               if (r := m.step(s, i)) is not None and r.crash is not None}
    assert full.states == len(states) + len(crashed)
    ends = {(s[0], tuple(c.obs for c in s[1])) for s, e in zip(states, edges, strict=True)
            if not e and all(c.status == DONE for c in s[1])}
    assert {(o.mem, o.obs) for o in full.outcomes} == ends


TWO_PAIRS = """\
cpu0: spin_lock(A) spin_unlock(A) spin_lock(A) spin_unlock(A)
cpu1: spin_lock(A) spin_unlock(A) spin_lock(A) spin_unlock(A)
cpu2: write_lock(B) write_unlock(B) read_lock(B) read_unlock(B)
cpu3: read_lock(B) read_unlock(B) write_lock(B) write_unlock(B)
"""


@pytest.mark.parametrize("model", ["rw16", "qrw"])
def test_stubborn_sets_cut_two_pairs_on_two_locks(model: str) -> None:
    """Two CPUs on A, two on B: every step conflicts with the partner, so no
    single CPU may run alone, but each pair is a stubborn set."""
    sc = parse_program_text(TWO_PAIRS, "pairs")
    m = Machine(sc, Config(model))  # type: ignore[arg-type]
    full = explore(m, reduce=False, shortest=False)
    red = explore(m, shortest=False)
    _same(full, red, sc)
    assert red.states < 0.75 * full.states
