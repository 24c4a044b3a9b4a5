"""Differential test of the model against Xen 4.17's own lock code.

The same programs run on real threads over rwlock.h/rwlock.c/spinlock.c
(built by conftest.build_harness) and through the explorer with the HEAD
model (queued rwlock, which 4.17 has).  Every outcome seen on the threads --
final lock state, acquisition order, trylock results, critical sections
seen overlapping, a hang, an ASSERT -- must be one the model allows.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from xenpatch.runtime.era import detect
from xenpatch.runtime.explore import Result, explore
from xenpatch.runtime.machine import Config, Machine
from xenpatch.runtime.programs import (
    QUERY_OPS,
    TRYLOCK_RELEASE,
    LockDecl,
    Op,
    Scenario,
    parse_program_text,
    release_of,
    scenario,
    skip_failed_trylock,
)

pytestmark = pytest.mark.xen


@dataclass(frozen=True)
class Case:
    name: str
    text: str
    build: str = "release"
    runs: int = 300
    timeout_ms: int = 2000
    must_see: str = "R"  # harness line kinds every run of the case produces


CASES = [
    Case("L1 rwlock", """
        cpu0: read_lock(A) cs read_unlock(A)
        cpu1: write_lock(A) cs write_unlock(A)
        cpu2: read_lock(A) cs read_unlock(A)"""),
    Case("L1 percpu", """
        cpu0: percpu_read_lock(A, C) cs percpu_read_unlock(A, C)
        cpu1: percpu_write_lock(A, C) cs percpu_write_unlock(A, C)
        cpu2: percpu_read_lock(A, C) cs percpu_read_unlock(A, C)"""),
    Case("L3 percpu nested", """
        cpu0: percpu_read_lock(A, C) percpu_read_lock(B, C) cs
        + percpu_read_unlock(B, C) percpu_read_unlock(A, C)
        cpu1: percpu_write_lock(B, C) cs percpu_write_unlock(B, C)"""),
    Case("L5 percpu release", """
        cpu0: percpu_read_lock(A, C) percpu_read_lock(A, C) cs
        + percpu_read_unlock(A, C) percpu_read_unlock(A, C)
        cpu1: percpu_read_lock(A, C) cs percpu_read_unlock(A, C)"""),
    Case("L8 write then read", """
        cpu0: write_lock(A) read_lock(A) cs read_unlock(A) write_unlock(A)
        cpu1: read_lock(A) cs read_unlock(A)"""),
    Case("L8 percpu write then read", """
        cpu0: percpu_write_lock(A, C) percpu_read_lock(A, C) cs
        + percpu_read_unlock(A, C) percpu_write_unlock(A, C)
        cpu1: percpu_read_lock(A, C) cs percpu_read_unlock(A, C)"""),
    Case("L13 raw write_lock vs fast reader", """
        cpu0: percpu_read_lock(A, C) cs percpu_read_unlock(A, C)
        cpu1: write_lock(A) cs write_unlock(A)"""),
    Case("L14 class mismatch", """
        lock A percpu C1
        cpu0: percpu_read_lock(A, C1) cs percpu_read_unlock(A, C1)
        cpu1: percpu_write_lock(A, C2) cs percpu_write_unlock(A, C2)"""),
    Case("L15 query while writer polls", """
        cpu0: percpu_read_lock(A, C) cs percpu_read_unlock(A, C)
        cpu1: percpu_write_lock(A, C) cs percpu_write_unlock(A, C)
        cpu2: rw_is_write_locked(A) rw_is_write_locked(A)"""),
    Case("queries and spin_barrier", """
        cpu0: spin_lock(S) write_lock(R) cs write_unlock(R) spin_unlock(S)
        cpu1: spin_barrier(S) spin_is_locked(S) rw_is_locked(R) rw_is_write_locked(R)
        cpu2: read_lock(R) rw_is_locked(R) read_unlock(R)"""),
    Case("trylocks", """
        cpu0: spin_trylock(S) cs spin_unlock(S) write_trylock(R) cs write_unlock(R)
        cpu1: spin_lock(S) cs spin_unlock(S) read_trylock(R) cs read_unlock(R)
        cpu2: read_lock(R) cs read_unlock(R)"""),
    Case("recursive trylock", """
        cpu0: spin_trylock_recursive(S) spin_lock_recursive(S) cs
        + spin_unlock_recursive(S) spin_unlock_recursive(S)
        cpu1: spin_lock(S) cs spin_unlock(S) spin_trylock_recursive(S) spin_unlock_recursive(S)"""),
    Case("recursive spinlock", """
        cpu0: spin_lock_recursive(S) spin_lock_recursive(S) cs
        + spin_unlock_recursive(S) spin_unlock_recursive(S)
        cpu1: spin_lock(S) cs spin_unlock(S)"""),
    Case("H8 percpu read, raw unlock", """
        cpu0: percpu_read_lock(A, C) read_unlock(A)
        cpu1: percpu_write_lock(A, C) percpu_write_unlock(A, C)""", runs=100, timeout_ms=300,
         must_see=""),
    Case("L7 self-deadlock", "cpu0: read_lock(A) write_lock(A) write_unlock(A) read_unlock(A)",
         runs=1, timeout_ms=200, must_see="S"),
    Case("L4 percpu debug", """
        cpu0: percpu_read_lock(A, C) percpu_read_lock(B, C)
        + percpu_read_unlock(A, C) percpu_read_unlock(B, C)
        cpu1: percpu_write_lock(B, C)
        + percpu_write_unlock(B, C)""", build="debug", runs=50, must_see="A"),
    Case("L5 percpu debug", """
        cpu0: percpu_read_lock(A, C) percpu_read_lock(A, C)
        + percpu_read_unlock(A, C) percpu_read_unlock(A, C)
        cpu1: percpu_read_lock(A, C) cs
        + percpu_read_unlock(A, C)""", build="debug", runs=50, must_see="A"),
    Case("L8 debug, no lock tracking in 4.17", """
        cpu0: write_lock(A) read_lock(A) cs read_unlock(A) write_unlock(A)
        cpu1: read_lock(A) cs read_unlock(A)""", build="debug", runs=100),
    Case("H12 write in irq debug", """
        cpu0: irq_enter percpu_write_lock(A, C) percpu_write_unlock(A, C) irq_exit""",
         build="debug", runs=5, must_see="A"),
]


# ---------------------------------------------------------------- model side
def _signed(x: int) -> int:
    return x - (1 << 32) if x & (1 << 31) else x


def _rw(m: Machine, mem: tuple[int, ...], base: int) -> str:
    if not m.cfg.queued:
        return f"x{mem[base]}"  # the 2016 counter rwlock: the raw word
    lay = m.cfg.layout
    cnts = mem[base]
    ws = (cnts & lay.qw_wmask) // lay.qw_waiting
    readers = _signed(cnts) >> (lay.qr_bias.bit_length() - 1)
    return f"r{readers}:{ws}:{cnts & lay.qw_cpumask if ws else -1}:" \
           f"{int(mem[base + 1] != mem[base + 2])}"


def final_text(m: Machine, mem: tuple[int, ...]) -> str:
    """The harness's fin= field, computed from a model state."""
    parts = []
    for info in m.locks.values():
        if info.type == "spinlock":
            rc = mem[info.base + 2]
            parts.append(f"s{int(mem[info.base] != mem[info.base + 1])}:"
                         f"{-1 if rc == m.cfg.layout.no_cpu else rc}")
        elif info.type == "rwlock":
            parts.append(_rw(m, mem, info.base))
        else:
            parts.append(f"{_rw(m, mem, info.base)}:{mem[info.wa]}")
    for k, base in enumerate(m.slots.values()):
        slots = ",".join(str(mem[base + c] - 1) for c in range(m.ncpus))
        parts.append(f"c{k}={slots}")
    return ";".join(parts)


def _observed_ops(sc: Scenario) -> list[tuple[int, int]]:
    return [(c, i) for c, p in enumerate(sc.programs) for i, op in enumerate(p.ops)
            if op.kind in TRYLOCK_RELEASE or op.kind in QUERY_OPS]


def model_view(m: Machine, res: Result) -> tuple[set[tuple[str, str, str]], set[str]]:
    """(order, obs, fin) of every final outcome, and every overlap, as text."""
    lock_idx = {name: k for k, name in enumerate(m.locks)}
    wanted = _observed_ops(m.sc)
    outs = set()
    for o in res.outcomes:
        order = ",".join(f"{lock_idx[lk]}:{c}" for lk, c in o.order)
        got = {(c, i): int(v) for c, obs in enumerate(o.obs) for i, v in obs}
        obs = ",".join(f"{c}:{i}:{got.get((c, i), 0)}" for c, i in wanted)
        outs.add((order, obs, final_text(m, o.mem)))
    overlaps = {f"{lock_idx[lk]}:{i}:{j}" for lk, i, j in res.overlaps}
    return outs, overlaps


# ---------------------------------------------------------------- C side
def harness_input(sc: Scenario, runs: int, timeout_ms: int, seed: int) -> str:
    m = Machine(sc)
    classes = {c: k for k, c in enumerate(m.slots)}
    locks = {d.name: k for k, d in enumerate(sc.locks)}
    lines = [f"threads {len(sc.programs)} runs {runs} seed {seed} timeout_ms {timeout_ms} "
             f"classes {len(classes)} locks {len(sc.locks)}"]
    for d in sc.locks:
        lines.append(f"lock {d.type[0] if d.type != 'percpu' else 'p'} "
                     f"{classes[d.owner] if d.owner else -1}")
    for p in sc.programs:
        lines.append(f"cpu {len(p.ops)}")
        for op in p.ops:
            lines.append(f"{op.kind} {locks[op.lock] if op.lock else -1} "
                         f"{classes[op.owner] if op.owner else -1}")
    return "\n".join(lines) + "\n"


def run_harness(exe: Path, sc: Scenario, runs: int, timeout_ms: int, seed: int) -> list[str]:
    proc = subprocess.run([str(exe)], input=harness_input(sc, runs, timeout_ms, seed),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_real_c_outcomes_are_model_outcomes(case: Case, harnesses: dict[str, Path]) -> None:
    # Xen 4.17: the queued rwlock in its 12-bit-owner layout, no lock tracking.
    cfg = Config("q417", case.build, record_order=True)  # type: ignore[arg-type]
    check_against_model(case, cfg, harnesses[case.build])


def _other_trees() -> list[Path]:
    return [Path(p) for p in os.environ.get("XENPATCH_LOCK_TREES", "").split(os.pathsep) if p]


_OTHER = [(t, c) for t in _other_trees() for c in CASES]


@pytest.mark.parametrize("tree,case", _OTHER or [(None, None)],
                         ids=[f"{t.name}-{c.name}" for t, c in _OTHER] or ["none"])
def test_other_releases_real_c_outcomes_are_model_outcomes(
        tree: Path | None, case: Case | None, harness_for: Callable[[Path, bool], Path]) -> None:
    """The same comparison on the trees XENPATCH_LOCK_TREES lists (folders
    holding xen/, separated by the path separator), each with the model its
    headers select (runtime/era.py): how the models are measured on releases
    CI does not download (4.7-4.16)."""
    if tree is None or case is None:
        pytest.skip("XENPATCH_LOCK_TREES lists no other Xen tree to compare the models on")
    era = detect(tree)
    cfg = era.config(case.build, record_order=True)  # type: ignore[arg-type]
    check_against_model(case, cfg, harness_for(tree, case.build == "debug"))


def check_against_model(case: Case, cfg: Config, exe: Path) -> None:
    """Every outcome of the real lock code's runs is one the model allows."""
    sc = parse_program_text(case.text, case.name)
    m = Machine(sc, cfg)
    res = explore(m)
    assert res.complete
    outcomes, overlaps = model_view(m, res)
    runs, timeout_ms = case.runs, case.timeout_ms
    if res.stuck and not res.outcomes:
        runs, timeout_ms = 1, 200  # every run hangs on this model: one is enough
    seen: set[str] = set()
    for seed in (1, 2):
        for line in run_harness(exe, sc, runs, timeout_ms, seed):
            tag, _, rest = line.partition(" ")
            seen.add(tag)
            if tag == "R":
                fields = dict(f.split("=", 1) for f in rest.split(" "))
                assert (fields["order"], fields["obs"], fields["fin"]) in outcomes, \
                    f"{case.name}: real run {line!r} is not a model outcome"
                for ov in filter(None, fields["ov"].split(",")):
                    assert ov in overlaps, f"{case.name}: overlap {ov} the model forbids"
            elif tag == "S":
                stuck = tuple(None if x == "-1" else int(x) for x in rest.split(","))
                assert stuck in res.stuck, f"{case.name}: hang at {stuck}, model: {res.stuck}"
            elif tag == "A":
                cpu, op, _expr = rest.split(" ", 2)
                assert ("assert", int(cpu), int(op)) in res.crash_points, line
            else:
                pytest.fail(f"{case.name}: unexpected harness line {line!r}")
    assert seen, "the harness reported nothing"
    if (runs, timeout_ms) == (case.runs, case.timeout_ms):
        assert set(case.must_see) <= seen, \
            f"{case.name}: expected {case.must_see} lines, got {seen}"


def _unheld_releases(sc: Scenario) -> set[tuple[int, int]]:
    """(cpu, op) of every release some path of its program runs without
    holding that lock in that mode, each trylock taken both ways.

    The model folds the holder's plain read-modify-writes (head += 1,
    recurse_cnt, recurse_cpu) into single steps, exact while only the holder
    writes those words; a release by a non-holder races them in Xen's code
    (lost updates, a torn recurse_cpu), which the comparison cannot judge."""
    def mode(kind: str) -> str:  # as machine.py keys holds
        return "x" if kind.startswith("spin") else "w" if "write" in kind else "r"

    bad: set[tuple[int, int]] = set()
    for c, p in enumerate(sc.programs):
        todo: list[tuple[int, tuple[tuple[str | None, str], ...]]] = [(0, ())]
        seen = set()
        while todo:
            i, holds = todo.pop()
            if i >= len(p.ops) or (i, holds) in seen:
                continue
            seen.add((i, holds))
            op = p.ops[i]
            key = (op.lock, mode(op.kind))
            if "unlock" in op.kind:
                if key not in holds:
                    bad.add((c, i))
                    todo.append((i + 1, holds))
                else:
                    j = len(holds) - 1 - holds[::-1].index(key)
                    todo.append((i + 1, holds[:j] + holds[j + 1:]))
            elif release_of(op.kind) is not None:
                todo.append((i + 1, holds + (key,)))
                if op.kind in TRYLOCK_RELEASE:
                    todo.append((skip_failed_trylock(p.ops, i), holds))
            else:
                todo.append((i + 1, holds))
    return bad


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_cases_release_only_what_they_hold(case: Case) -> None:
    assert not _unheld_releases(parse_program_text(case.text, case.name))


def test_unheld_releases_are_found() -> None:
    sc = parse_program_text("cpu0: spin_lock(S) spin_unlock(S) spin_unlock_recursive(S)\n"
                            "cpu1: read_trylock(R) read_unlock(R) read_unlock(R)")
    assert _unheld_releases(sc) == {(0, 2), (1, 2)}


def test_harness_skips_a_failed_trylock_body_like_the_model(harnesses: dict[str, Path]) -> None:
    # One CPU, so the run is deterministic: holding S with a plain lock, its
    # recursive trylock fails (recurse_cpu is not this CPU, the ticket is
    # taken) and the nested body is skipped whole.  Skipping to the first
    # spin_unlock_recursive ran the second one unheld: recurse_cnt wrapped to
    # 15, the debug build's next spin_lock_recursive ASSERTed, the release
    # build's left S held ("s1:0").
    sc = parse_program_text(
        "cpu0: spin_lock(S) spin_trylock_recursive(S) spin_lock_recursive(S) cs\n"
        "+ spin_unlock_recursive(S) spin_unlock_recursive(S) spin_unlock(S)\n"
        "+ spin_lock_recursive(S) spin_unlock_recursive(S)")
    want = ("0:0,0:0", "0:1:0", "s0:-1")
    for build, exe in harnesses.items():
        m = Machine(sc, Config("q417", build, record_order=True))  # type: ignore[arg-type]
        assert model_view(m, explore(m))[0] == {want}
        for line in run_harness(exe, sc, 5, 2000, 1):
            tag, _, rest = line.partition(" ")
            fields = dict(f.split("=", 1) for f in rest.split(" ")) if tag == "R" else {}
            assert (fields.get("order"), fields.get("obs"), fields.get("fin")) == want, line


def test_model_view_matches_harness_format() -> None:
    # The abstraction must render an untouched machine the way the harness
    # renders freshly initialised locks.
    sc = scenario([[Op("percpu_read_lock", "A", "C"), Op("spin_lock", "S")]],
                  [LockDecl("A", "percpu", "C"), LockDecl("S", "spinlock")])
    for model in ("q417", "qrw"):
        m = Machine(sc, Config(model))  # type: ignore[arg-type]
        assert final_text(m, m.init_mem) == "r0:0:-1:0:0;s0:-1;c0=-1"
