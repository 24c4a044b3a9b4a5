"""The hazards of docs/xen-locks.md section 5 that the litmus table does not
already cover, each checked against what the explorer derives."""

from __future__ import annotations

import pytest

from xenpatch.runtime.explore import Result, explore, state_graph
from xenpatch.runtime.locks import pc_read_lock
from xenpatch.runtime.machine import DONE, Config, Machine
from xenpatch.runtime.programs import Scenario, parse_program_text

ERAS = ("rw16", "qrw")


def run(text: str, era: str = "qrw", build: str = "release") -> tuple[Machine, Result]:
    sc: Scenario = parse_program_text(text)
    m = Machine(sc, Config(era, build))  # type: ignore[arg-type]
    res = explore(m)
    assert res.complete
    return m, res


H1 = """
    cpu0: percpu_read_lock(A, C) irq_enter percpu_read_lock(A, C) percpu_read_unlock(A, C)
    + irq_exit percpu_read_unlock(A, C)
"""


@pytest.mark.parametrize("era", ERAS)
def test_h1_irq_reads_lock_its_cpu_fast_holds(era: str) -> None:
    _, res = run(H1, era, "debug")
    assert res.kinds() == {"assert"}
    _, res = run(H1, era)
    assert res.ok  # release: the nested hold goes slow and it works alone...
    _, res = run(H1 + "cpu1: percpu_write_lock(A, C) percpu_write_unlock(A, C)\n", era)
    assert "deadlock" in res.kinds()  # ...until a writer waits


H2 = """
    cpu0: percpu_read_lock(B, C) percpu_read_lock(A, C) percpu_read_lock(A, C)
    + percpu_read_unlock(A, C) percpu_read_unlock(A, C) percpu_read_unlock(B, C)
"""


def test_h2_slow_held_recursion_escapes_the_assert() -> None:
    assert run(H2, "rw16", "debug")[1].ok  # 2016's ASSERT only sees the slot
    assert run(H2, "qrw", "debug")[1].kinds() == {"bug"}  # HEAD's lock tracking
    with_writer = H2 + "cpu1: percpu_write_lock(A, C) percpu_write_unlock(A, C)\n"
    for era in ERAS:
        assert "deadlock" in run(with_writer, era)[1].kinds()  # H10 underneath


@pytest.mark.parametrize("era", ERAS)
def test_h7_raw_read_lock_with_percpu_unlock(era: str) -> None:
    text = "lock A percpu C\ncpu0: read_lock(A) percpu_read_unlock(A, C)\n"
    assert run(text, era, "debug")[1].kinds() == {"assert"}
    assert run(text, era)[1].ok  # the release happens to work


@pytest.mark.parametrize("era", ERAS)
def test_h8_percpu_read_raw_unlock_underflows(era: str) -> None:
    text = """
        cpu0: percpu_read_lock(A, C) read_unlock(A)
        cpu1: read_lock(A) read_unlock(A)
    """
    _, res = run(text, era)
    if era == "rw16":
        assert "deadlock" in res.kinds()  # the underflow sets W: everyone hangs
    else:
        assert "deadlock" not in res.kinds()  # HEAD: readers still get in
    assert any("A not back to unlocked" in h.message for h in res.of_kind("held_at_end"))
    _, res = run("cpu0: percpu_read_lock(A, C) read_unlock(A)\n"
                 "cpu1: percpu_write_lock(A, C) percpu_write_unlock(A, C)\n", era)
    assert "deadlock" in res.kinds()  # writers hang in both eras


@pytest.mark.parametrize("era", ERAS)
def test_h9_mixed_write_ops(era: str) -> None:
    m, res = run("cpu0: percpu_write_lock(A, C) write_unlock(A)\n"
                 "cpu1: percpu_read_lock(A, C) percpu_read_unlock(A, C)\n", era)
    # writer_activating stays 1: every later read goes slow, the end is dirty.
    assert {h.message for h in res.of_kind("held_at_end")} == {"A not back to unlocked at end"}
    wa = m.locks["A"].wa
    assert all(o.mem[wa] == 1 for o in res.outcomes)
    # A reader after the broken unlock always backs off to A.rw (steps 6-9).
    sts, edges = state_graph(m)
    checked = 0
    for k, s in enumerate(sts):
        if s[1][0].status == DONE and [f[:2] for f in s[1][1].stack][-1:] == [(pc_read_lock, 2)]:
            for cpu, k2 in edges[k]:
                if cpu == 1:
                    assert sts[k2][1][1].stack[0][:2] == (pc_read_lock, 3)
                    checked += 1
    assert checked
    text = "lock A percpu C\ncpu0: write_lock(A) percpu_write_unlock(A, C)\n"
    assert run(text, era, "debug")[1].kinds() == {"assert"}


@pytest.mark.parametrize("era", ERAS)
def test_h11_lock_set_up_without_owner(era: str) -> None:
    text = """
        lock A percpu -
        cpu0: percpu_read_lock(A, C) cs percpu_read_unlock(A, C)
        cpu1: percpu_write_lock(A, C) cs percpu_write_unlock(A, C)
    """
    (h, *_) = run(text, era, "debug")[1].of_kind("assert")
    assert "percpu_owner" in h.message
    assert run(text, era)[1].ok  # release has no owner field; one class is consistent


@pytest.mark.parametrize("era", ERAS)
def test_h12_percpu_write_lock_in_irq(era: str) -> None:
    text = "cpu0: irq_enter percpu_write_lock(A, C) percpu_write_unlock(A, C) irq_exit\n"
    (h,) = run(text, era, "debug")[1].hazards.values()
    assert h.kind == "assert" and "in_irq" in h.message


@pytest.mark.parametrize("era", ERAS)
def test_h13_grant_lock_under_entry_lock(era: str) -> None:
    text = """
        cpu0: spin_lock(act) percpu_write_lock(A, C) percpu_write_unlock(A, C) spin_unlock(act)
        cpu1: percpu_read_lock(A, C) spin_lock(act) spin_unlock(act) percpu_read_unlock(A, C)
    """
    assert run(text, era)[1].kinds() == {"deadlock"}


@pytest.mark.parametrize("era", ERAS)
def test_h14_spinlock_recursion_mixing(era: str) -> None:
    assert run("cpu0: spin_lock(S) spin_lock(S)\n", era)[1].kinds() == {"deadlock"}
    assert run("cpu0: spin_lock(S) spin_lock_recursive(S)\n", era)[1].kinds() == {"deadlock"}
    # A plain unlock of a recursive hold leaves recurse_cpu = me: the next
    # recursive lock on this CPU skips the ticket.
    _, res = run("""
        cpu0: spin_lock_recursive(S) spin_unlock(S) spin_lock_recursive(S) cs
        + spin_unlock_recursive(S)
        cpu1: spin_lock(S) cs spin_unlock(S)
    """, era)
    assert "exclusion" in res.kinds()
    nested = "cpu0: spin_lock_recursive(S) spin_lock_recursive(S) " \
             "spin_unlock_recursive(S) spin_unlock_recursive(S)\n"
    assert run(nested + "cpu1: spin_lock(S) cs spin_unlock(S)\n", era)[1].ok
    _, res = run("cpu0: spin_lock_recursive(S) spin_trylock_recursive(S) cs\n"
                 "+ spin_unlock_recursive(S) spin_unlock_recursive(S)\n"
                 "cpu1: spin_trylock_recursive(S) cs spin_unlock_recursive(S)\n", era)
    assert res.ok
    # CPU0's nested trylock always succeeds; CPU1's fails only while CPU0 holds.
    assert {o.obs[0] for o in res.outcomes} == {((1, True),)}
    assert {o.obs[1] for o in res.outcomes} == {((0, True),), ((0, False),)}
    deep = "cpu0: " + "spin_lock_recursive(S) " * 16 + "\n"
    (h,) = run(deep, era, "debug")[1].hazards.values()
    assert h.kind == "assert" and "SPINLOCK_MAX_RECURSE" in h.message


@pytest.mark.parametrize("era", ERAS)
def test_spin_barrier_waits_out_the_holder_without_acquiring(era: str) -> None:
    m, res = run("cpu0: spin_lock(S)\ncpu1: spin_barrier(S)\n", era)
    # Sampled held: waits forever for this holder; sampled free: passes, and
    # CPU0 ends holding the lock it never released.
    assert res.kinds() == {"deadlock", "held_at_end"}
    assert res.stuck == {(None, 0)}
    _, res = run("cpu0: spin_lock(S) cs spin_unlock(S)\n"
                 "cpu1: spin_barrier(S) spin_lock(S) cs spin_unlock(S)\n", era)
    assert res.ok and res.overlaps == set()


@pytest.mark.parametrize("era", ERAS)
def test_is_locked_queries(era: str) -> None:
    _, res = run("cpu0: read_lock(R) rw_is_locked(R) rw_is_write_locked(R) read_unlock(R)\n"
                 "cpu1: spin_is_locked(S) spin_lock(S) spin_is_locked(S) spin_unlock(S)\n", era)
    assert {o.obs for o in res.outcomes} == {(((1, True), (2, False)), ((0, False), (2, True)))}


@pytest.mark.parametrize("era", ("rw16", "q417", "qrw"))
@pytest.mark.parametrize("kind", ("spin", "read", "write"))
def test_h14_lock_used_with_irqs_on_and_off(era: str, kind: str) -> None:
    lock = "S" if kind == "spin" else "R"
    on = f"{kind}_lock({lock}) cs {kind}_unlock({lock})"
    off = f"{kind}_lock_irq({lock}) cs {kind}_unlock_irq({lock})"
    mixed = f"cpu0: {off}\ncpu1: {on}\n"
    _, res = run(mixed, era, "debug")
    assert res.kinds() == {"bug"}
    assert all("CHECKLOCK FAILURE" in h.message for h in res.hazards.values())
    assert run(mixed, era)[1].ok  # release builds do not check
    # Consistent use either way is fine, and the save/restore nests.
    assert run(f"cpu0: {off}\ncpu1: {off}\n", era, "debug")[1].ok
    saved = (f"cpu0: {kind}_lock_irqsave({lock}) {kind}_unlock_irqrestore({lock}) "
             f"{kind}_lock_irq({lock}) {kind}_unlock_irq({lock})\n")
    assert run(saved, era, "debug")[1].ok


@pytest.mark.parametrize("era", ("rw16", "qrw"))
def test_lock_irq_with_irqs_already_off_asserts(era: str) -> None:
    text = "cpu0: local_irq_disable spin_lock_irq(S) spin_unlock_irq(S)\n"
    (h,) = run(text, era, "debug")[1].hazards.values()
    assert h.kind == "assert" and "local_irq_is_enabled" in h.message
    # irqsave restores what it found: the plain lock after it is IRQ-off,
    # as the first use latched.
    text = ("cpu0: local_irq_disable spin_lock_irqsave(S) spin_unlock_irqrestore(S) "
            "spin_lock(S) spin_unlock(S)\n")
    assert run(text, era, "debug")[1].ok


def test_trylock_with_irqs_off_is_exempt_from_the_latch_after_2016() -> None:
    text = ("cpu0: spin_lock(S) spin_unlock(S) local_irq_disable spin_trylock(S) "
            "spin_unlock(S)\n")
    assert run(text, "qrw", "debug")[1].ok
    assert run(text, "rw16", "debug")[1].kinds() == {"bug"}


@pytest.mark.parametrize("kind", ("read", "write"))
def test_h14_rwlocks_of_4_7_to_4_13_latch_only_when_queued(kind: str) -> None:
    # Their rwlock.h calls no check_lock(): only the internal spinlock a
    # contended acquire queues on latches (in spin_lock()), so mixed use is
    # caught only when two acquires with IRQs set differently both queue.
    # Spinlocks latch on every acquire, as in every era.
    off = f"{kind}_lock_irq(R) cs {kind}_unlock_irq(R)"
    on = f"{kind}_lock(R) cs {kind}_unlock(R)"
    assert run(f"cpu0: {off} {on}\n", "q47", "debug")[1].ok
    assert run(f"cpu0: {off}\ncpu1: {on}\n", "q47", "debug")[1].ok
    three = run(f"cpu0: {off}\ncpu1: {on}\ncpu2: {on}\n", "q47", "debug")[1]
    assert three.kinds() == ({"bug"} if kind == "write" else set())
    assert run(f"cpu0: {off} {on}\n", "q417", "debug")[1].kinds() == {"bug"}
    spin = "cpu0: spin_lock_irq(S) cs spin_unlock_irq(S) spin_lock(S) cs spin_unlock(S)\n"
    assert run(spin, "q47", "debug")[1].kinds() == {"bug"}


def test_write_unlock_of_a_lock_not_write_held_before_4_14() -> None:
    # 4.7-4.13's _write_unlock() is atomic_sub(_QW_LOCKED) with no ASSERT: a
    # read hold (0x100) released as a write leaves 0x01, a writer WAITING
    # that nobody is, so every later acquire waits.  4.14 on ASSERT that
    # this CPU write-holds it.
    m, res = run("cpu0: read_lock(R) write_unlock(R)\n", "q47", "debug")
    assert res.kinds() == {"held_at_end"} and len(res.outcomes) == 1
    (o,) = res.outcomes
    assert o.mem[m.locks["R"].base] == 0x01
    _, res = run("cpu0: read_lock(R) write_unlock(R) read_lock(R)\n", "q47")
    assert res.kinds() == {"deadlock"}
    assert run("cpu0: read_lock(R) write_unlock(R)\n", "q417", "debug")[1].kinds() == {"assert"}


def test_h14_percpu_fast_path_latches_from_4_15() -> None:
    # e19bcb626f (4.15) made the percpu read fast path call check_lock() on
    # its rwlock's spinlock; before, only the read_lock() of a slow path did.
    text = ("cpu0: local_irq_disable percpu_read_lock(A, C) percpu_read_unlock(A, C) "
            "local_irq_enable percpu_read_lock(A, C) percpu_read_unlock(A, C)\n")
    for era in ("q417", "qrw"):
        (h,) = run(text, era, "debug")[1].hazards.values()
        assert h.kind == "bug" and "CHECKLOCK FAILURE" in h.message
        assert run(text, era)[1].ok
    for cfg in (Config("q417", "debug", rw_irq_latch=False), Config("q47", "debug"),
                Config("rw16", "debug")):
        res = explore(Machine(parse_program_text(text), cfg))
        assert res.complete and res.ok, (cfg, res.hazards)
    # The rwlocks' own fast paths, the same way.
    plain = "cpu0: local_irq_disable read_lock(R) read_unlock(R) local_irq_enable " \
            "read_lock(R) read_unlock(R)\n"
    assert run(plain, "q417", "debug")[1].kinds() == {"bug"}
    res = explore(Machine(parse_program_text(plain), Config("q417", "debug", rw_irq_latch=False)))
    assert res.ok


def test_a_spinlock_released_by_another_cpu_by_era() -> None:
    # Debug builds record the holder from 4.13 (got_lock()/rel_lock(): an
    # ASSERT at the release), a BUG_ON from 4.14; before 4.13 nothing checks.
    text = "cpu0: spin_lock(S) cs\ncpu1: spin_unlock(S)\n"
    kinds = {era: run(text, era, "debug")[1].kinds() for era in ("rw16", "q47", "q417", "qrw")}
    assert kinds["q417"] == kinds["qrw"] == {"bug"}
    assert not kinds["rw16"] & {"bug", "assert"} and not kinds["q47"] & {"bug", "assert"}
    res = explore(Machine(parse_program_text(text), Config("q47", "debug",
                                                           spin_owner_check=True)))
    assert res.kinds() == {"assert"}
    assert all("smp_processor_id" in h.message for h in res.hazards.values())
