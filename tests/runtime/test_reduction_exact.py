"""The reduced search against the plain one where the reductions are hardest:
percpu writers polling CPUs that run identical programs.

Symmetry is now on with percpu writers (canonicalising only states with no
sweep running or ahead, symmetry.py), stubborn and sleep sets are on, states
are packed ints.  On generated programs with percpu and plain locks, under
the 2016 counter rwlock and the queued one, the reduced search must report
the same hazards as the plain breadth-first search -- by kind and by the
operations involved, CPUs named by the program they run (symmetry keeps one
hazard per orbit of CPU renamings) -- and every schedule it reports must
replay on the machine to that hazard.  The mutation checks break each
reduction on purpose and show this property then fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, Phase, assume, example, given, settings
from hypothesis import strategies as st

from xenpatch.runtime import explore as explore_mod
from xenpatch.runtime import symmetry
from xenpatch.runtime.explore import Result, explore, hazards_at_end
from xenpatch.runtime.machine import Config, Machine
from xenpatch.runtime.programs import (
    LockDecl,
    Op,
    Program,
    Scenario,
    format_scenario,
    parse_program_text,
    scenario,
)

MODELS = [Config(e, b) for e in ("rw16", "qrw") for b in ("release", "debug")]  # type: ignore[arg-type]
BOUND = 60_000  # plain-search states; bigger examples are skipped (assume)

READS = {"percpu": ("percpu_read_lock", "percpu_read_unlock"),
         "rwlock": ("read_lock", "read_unlock"), "spinlock": ("spin_lock", "spin_unlock")}
WRITES = {"percpu": ("percpu_write_lock", "percpu_write_unlock"),
          "rwlock": ("write_lock", "write_unlock"), "spinlock": ("spin_lock", "spin_unlock")}


def _op(kind: str, lock: str, ltype: str) -> Op:
    return Op(kind, lock, "C" if kind.startswith("percpu") else None)


@st.composite
def _ops(draw: st.DrawFn, types: dict[str, str], table: dict[str, tuple[str, str]],
         most: int) -> tuple[Op, ...]:
    """Up to ``most`` ops: mostly matched pairs, sometimes a lone half
    (misuse: an unmatched lock or unlock, nesting in any order)."""
    ops: list[Op] = []
    while len(ops) < most:
        n = draw(st.sampled_from(sorted(types)))
        lock, unlock = table[types[n]]
        shape = draw(st.integers(0, 5))
        if shape == 0:
            ops.append(_op(lock, n, types[n]))
        elif shape == 1:
            ops.append(_op(unlock, n, types[n]))
        else:
            ops += [_op(lock, n, types[n]), _op(unlock, n, types[n])]
        if draw(st.booleans()):
            break
    return tuple(ops[:most])


@st.composite
def percpu_with_peers(draw: st.DrawFn) -> Scenario:
    """A percpu lock A (class C) and a lock B of any type; 2-3 CPUs run one
    reader program, 1-2 CPUs run programs that also write -- identical
    CPUs for symmetry to merge, and percpu writers polling them."""
    types = {"A": "percpu", "B": draw(st.sampled_from(sorted(READS)))}
    if draw(st.booleans()):
        types = {"A": "percpu"}
    reader = Program(draw(_ops(types, READS, 3)))
    writers = [Program(draw(_ops(types, draw(st.sampled_from([WRITES, READS])), 3)))
               for _ in range(draw(st.integers(1, 2)))]
    if not any(op.kind == "percpu_write_lock" for p in writers for op in p.ops):
        writers[0] = Program((_op("percpu_write_lock", "A", "percpu"),
                              _op("percpu_write_unlock", "A", "percpu")) + writers[0].ops)
    progs = [reader] * draw(st.integers(2, 3)) + writers
    order = draw(st.permutations(range(len(progs))))
    progs = [progs[k] for k in order][:4]
    return scenario(progs, [LockDecl(n, t, "C" if t == "percpu" else None)  # type: ignore[arg-type]
                            for n, t in types.items()])


def orbit_key(m: Machine, key: tuple[str, str]) -> tuple[str, str]:
    """A hazard with each CPU named by its program (the lowest CPU running
    it) and the involved parts in a fixed order: what a renaming of CPUs
    running identical programs leaves unchanged."""
    progs = m.sc.programs
    cls = {i: progs.index(p) for i, p in enumerate(progs)}

    def sub(text: str) -> str:
        return re.sub(r"cpu(\d+)", lambda mo: f"prog{cls[int(mo.group(1))]}", text)

    kind, msg = key
    if kind == "deadlock":
        head, parts = msg.split(": ", 1)
        return kind, head + ": " + "; ".join(sorted(sub(p) for p in parts.split("; ")))
    if kind == "exclusion":
        lock, rest = msg.split(": ", 1)
        pair = rest.removesuffix(" in critical section together").split(" and ")
        return kind, lock + ": " + " and ".join(sorted(sub(p) for p in pair))
    return kind, sub(msg)


def check_exact(sc: Scenario, cfg: Config, **reduced: bool) -> tuple[Result, Result]:
    """The property: same hazards up to renaming, and replayable schedules."""
    m = Machine(sc, cfg)
    full = explore(m, reduce=False, shortest=False, max_states=BOUND)
    if not full.complete:
        assume(False)
    red = explore(m, shortest=False, max_states=BOUND, **reduced)  # type: ignore[arg-type]
    where = format_scenario(sc)
    assert red.complete, where
    assert {orbit_key(m, k) for k in red.hazards} == {orbit_key(m, k) for k in full.hazards}, \
        (where, sorted(red.hazards), sorted(full.hazards))
    for key, h in red.hazards.items():
        assert key in (hazards_at_end(m, h.schedule) or set()), (where, key, h.schedule)
    assert red.states <= full.states
    return full, red


PROPS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# The case that switched symmetry off (its deadlock's schedule did not
# replay when two CPUs polled in the wrong order were merged).
NESTED = " ".join([
    "percpu_read_lock(A, C) percpu_read_lock(B, C) cs percpu_read_unlock(B, C)",
    "percpu_read_unlock(A, C) percpu_write_lock(B, C) percpu_write_lock(A, C) cs",
    "percpu_write_unlock(A, C) percpu_write_unlock(B, C)"])
SWAPPED = parse_program_text(f"lock A percpu C\nlock B percpu C\ncpu0: {NESTED}\ncpu1: {NESTED}\n")
# One writer, two identical readers, one of which reads twice over A (H1).
READERS = parse_program_text("\n".join([
    "lock A percpu C",
    "cpu0: percpu_write_lock(A, C) percpu_write_unlock(A, C)",
    "cpu1: percpu_read_lock(A, C) percpu_read_lock(A, C) percpu_read_unlock(A, C)",
    "cpu2: percpu_read_lock(A, C) percpu_read_lock(A, C) percpu_read_unlock(A, C)"]))


@PROPS
@given(percpu_with_peers(), st.sampled_from(MODELS))
@example(SWAPPED, Config("rw16", "release"))
@example(READERS, Config("qrw", "release"))
def test_symmetry_and_por_find_what_the_plain_search_does(sc: Scenario, cfg: Config) -> None:
    check_exact(sc, cfg, reduce=True, symmetry=True)


@PROPS
@given(percpu_with_peers(), st.sampled_from(MODELS))
def test_symmetry_alone_finds_what_the_plain_search_does(sc: Scenario, cfg: Config) -> None:
    check_exact(sc, cfg, reduce=False, symmetry=True)


def test_symmetry_merges_states_once_no_sweep_is_ahead() -> None:
    """Not vacuous: with a percpu writer in the program, symmetry now cuts
    states (after the writer's last sweep), where it used to be off."""
    sc = parse_program_text("\n".join([
        "lock A percpu C",
        "cpu0: percpu_write_lock(A, C) percpu_write_unlock(A, C)",
        *[f"cpu{i}: percpu_read_lock(A, C) percpu_read_unlock(A, C)" for i in (1, 2, 3)]]))
    m = Machine(sc, Config("qrw"))
    full = explore(m, reduce=False, shortest=False)
    sym = explore(m, reduce=False, symmetry=True, shortest=False)
    assert sym.complete and full.complete
    assert sym.states < full.states
    assert sym.kinds() == full.kinds()


# ---------------------------------------------------------------------------
# Mutation checks: each reduction broken on purpose; the property must fail.

def _fails(sc: Scenario, cfg: Config, **reduced: bool) -> bool:
    try:
        check_exact(sc, cfg, **reduced)
    except AssertionError:
        return True
    return False


MUTANT_SEARCH = settings(max_examples=150, deadline=None, database=None,
                         phases=[Phase.explicit, Phase.generate],
                         suppress_health_check=[HealthCheck.too_slow])


# Programs on which hypothesis killed each mutant, kept as explicit examples
# so the mutation checks do not hang on the random draw.
KILLS = [
    (parse_program_text("\n".join([
        "lock A percpu C", "lock B percpu C",
        "cpu0: percpu_read_lock(A, C) percpu_read_lock(A, C) percpu_read_lock(A, C)",
        "cpu1: percpu_read_lock(A, C) percpu_read_lock(A, C) percpu_read_lock(A, C)",
        "cpu2: percpu_write_lock(A, C) percpu_write_lock(A, C) percpu_write_lock(A, C)"])),
     Config("rw16", "release")),
    (parse_program_text("\n".join([
        "lock A percpu C",
        "cpu0: percpu_read_lock(A, C) percpu_read_unlock(A, C)",
        "cpu1: percpu_write_lock(A, C) percpu_write_unlock(A, C)",
        "cpu2: percpu_read_lock(A, C) percpu_read_unlock(A, C)",
        "cpu3: percpu_read_lock(A, C) percpu_read_unlock(A, C)"])),
     Config("qrw", "release")),
]


def _property_fails(**reduced: bool) -> bool:
    """Run the property over generated programs; True once one fails."""
    failed: list[bool] = []

    @MUTANT_SEARCH
    @given(percpu_with_peers(), st.sampled_from(MODELS))
    @example(*KILLS[0])
    @example(*KILLS[1])
    def prop(sc: Scenario, cfg: Config) -> None:
        if not failed and _fails(sc, cfg, **reduced):
            failed.append(True)

    prop()
    return bool(failed)


MUTANTS: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    # Symmetry as it was before it was switched off: every state
    # canonicalised, the writer's poll order ignored.
    "symmetry ignores the poll order": lambda mp: mp.setattr(
        symmetry.Symmetry, "__init__", _no_writers(symmetry.Symmetry.__init__)),
    # Sleep sets told that any two CPUs' steps commute (a dependent pair
    # declared independent).
    "sleep sets: every pair independent": lambda mp: mp.setattr(
        explore_mod, "_independent", lambda a, b: a[0] != b[0]),
}


def _no_writers(init: Callable[..., None]) -> Callable[..., None]:
    def patched(self: symmetry.Symmetry, m: Machine) -> None:
        init(self, m)
        self.writers = []

    return patched


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_property_fails_on_a_broken_reduction(name: str, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    # Intact, the known examples pass ...
    for sc, cfg in [(SWAPPED, Config("rw16", "release")), (READERS, Config("qrw", "release")),
                    *KILLS]:
        assert not _fails(sc, cfg, reduce=True, symmetry=True)
    MUTANTS[name](monkeypatch)
    # ... broken, the property fails on generated programs.
    assert _property_fails(reduce=True, symmetry=True), name
