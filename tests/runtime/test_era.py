"""runtime/era.py: the lock model a tree's own headers select.  The header
texts are written here in each era's shape (the defines era.py reads); the
real releases were checked with tests/runtime/test_real_c.py and
XENPATCH_LOCK_TREES (4.7.6 to 4.17.7)."""

from __future__ import annotations

from pathlib import Path

import pytest

from xenpatch.runtime.era import EraError, detect

SPIN_2016 = "#define RW_WRITE_FLAG (1u<<31)\ntypedef struct { int x; } spinlock_t;\n"
SPIN = "typedef struct { int x; } spinlock_t;\n"
SPIN_BITS = "#define SPINLOCK_CPU_BITS  {bits}\nvoid lock_enter(void);\n"

RW_BYTE = """typedef struct { atomic_t cnts; spinlock_t lock; } rwlock_t;
#define    _QW_WAITING  1               /* A writer is waiting     */
#define    _QW_LOCKED   0xff            /* A writer holds the lock */
#define    _QW_WMASK    0xff            /* Writer mask.*/
#define    _QR_SHIFT    8               /* Reader count shift      */
"""
RW_SHIFT = """typedef struct { atomic_t cnts; spinlock_t lock; } rwlock_t;
#define    _QW_CPUMASK  {mask}            /* Writer CPU mask */
#define    _QW_SHIFT    {shift}               /* Writer flags shift */
#define    _QW_WAITING  (1U << _QW_SHIFT)  /* A writer is waiting */
"""


def tree(tmp_path: Path, spin: str, rwlock: str | None) -> Path:
    inc = tmp_path / "xen" / "include" / "xen"
    inc.mkdir(parents=True)
    (inc / "spinlock.h").write_text(spin)
    if rwlock is not None:
        (inc / "rwlock.h").write_text(rwlock)
    return tmp_path


def test_2016_counter(tmp_path: Path) -> None:
    era = detect(tree(tmp_path, SPIN_2016, None))
    assert (era.lock_model, era.lock_tracking) == ("rw16", False)


def test_writer_byte_is_the_first_queued_rwlock(tmp_path: Path) -> None:
    era = detect(tree(tmp_path, SPIN, RW_BYTE))
    assert (era.lock_model, era.lock_tracking) == ("q47", False)
    assert era.evidence == "rwlock.h: _QW_LOCKED 0xff, _QR_SHIFT 8, no writer CPU"


def test_writer_byte_with_12_bit_spinlock_cpu(tmp_path: Path) -> None:
    # 4.13 spells the spinlock's CPU width out; 12 bits is q47's.
    assert detect(tree(tmp_path, SPIN_BITS.format(bits=12), RW_BYTE)).lock_model == "q47"


@pytest.mark.parametrize("shift,bits,model", [(12, 12, "q417"), (14, 16, "qrw")])
def test_writer_cpu_layouts(tmp_path: Path, shift: int, bits: int, model: str) -> None:
    rw = RW_SHIFT.replace("{mask}", hex((1 << shift) - 1) + "U").replace("{shift}", str(shift))
    era = detect(tree(tmp_path, SPIN_BITS.format(bits=bits), rw))
    assert (era.lock_model, era.lock_tracking) == (model, True)


@pytest.mark.parametrize("change", [("0xff            /* A writer holds", "0x7f /* A writer holds"),
                                    ("_QR_SHIFT    8", "_QR_SHIFT    9")])
def test_a_writer_byte_no_model_has_is_refused(tmp_path: Path, change: tuple[str, str]) -> None:
    with pytest.raises(EraError, match="a queued rwlock layout no model has"):
        detect(tree(tmp_path, SPIN, RW_BYTE.replace(*change)))


def test_rwlock_check_lock_sets_the_fast_path_latch(tmp_path: Path) -> None:
    rw = RW_SHIFT.replace("{mask}", "0xfffU").replace("{shift}", "12")
    spin = SPIN_BITS.format(bits=12)
    assert detect(tree(tmp_path / "a", spin, rw)).rw_irq_latch is False
    era = detect(tree(tmp_path / "b", spin, rw + "    check_lock(&lock->lock.debug, true);\n"))
    assert (era.lock_model, era.rw_irq_latch) == ("q417", True)
    assert era.evidence.endswith(", check_lock()")


def test_a_recorded_spinlock_holder_sets_the_owner_check(tmp_path: Path) -> None:
    # 4.13 put the holder's CPU into union lock_debug (cpu:SPINLOCK_CPU_BITS).
    spin = SPIN_BITS.format(bits=12)
    assert detect(tree(tmp_path / "a", spin, RW_BYTE)).spin_owner_check is False
    debug = spin + "union lock_debug { struct { uint16_t cpu:SPINLOCK_CPU_BITS; }; };\n"
    era = detect(tree(tmp_path / "b", debug, RW_BYTE))
    assert (era.lock_model, era.spin_owner_check) == ("q47", True)
