"""The machine's data that its lock routines share with it: each era's bit
layouts of the lock words, a lock's place in memory (LockInfo), and the
routines' result codes.  A leaf: machine.py and the routines (locks.py,
spinlock.py, rwlock.py, steps.py) import it, it imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

LockModel = Literal["rw16", "q47", "q417", "qrw"]

# What each model is, for summaries: the tree it follows.
MODEL_NAMES: dict[str, str] = {
    "rw16": "2016 counter rwlock (W bit + reader count; 12/4-bit spinlock recursion)",
    "q47": "4.7-4.13 queued rwlock (8-bit writer byte, readers from bit 8, no writer CPU; "
           "2016-era spinlock preempt counting; 12/4-bit spinlock recursion)",
    "q417": "4.17 queued rwlock (12-bit writer CPU, readers from bit 14; "
            "12/4-bit spinlock recursion)",
    "qrw": "4.19+ queued rwlock layout (14-bit writer CPU, readers from bit 16; "
           "16/8-bit spinlock recursion)",
}


class Layout(NamedTuple):
    """Bit layouts of one era's lock words (rwlock.h, spinlock.h)."""

    qw_cpumask: int
    qw_waiting: int
    qw_locked: int
    qw_wmask: int
    qr_bias: int
    no_cpu: int  # SPINLOCK_NO_CPU: all ones in recurse_cpu's width
    recurse_mask: int  # recurse_cnt's width
    max_recurse: int


def _layout(qw_shift: int, cpu_bits: int, recurse_bits: int) -> Layout:
    return Layout((1 << qw_shift) - 1, 1 << qw_shift, 3 << qw_shift, 3 << qw_shift,
                  1 << (qw_shift + 2), (1 << cpu_bits) - 1, (1 << recurse_bits) - 1, 15)


LAYOUTS: dict[str, Layout] = {
    "rw16": _layout(12, 12, 4),  # no queued rwlock: the qw fields are unused
    # 55d8424e4e's qrwlock (4.7-4.13): a writer byte (WAITING 1, LOCKED
    # 0xff) and no writer CPU, so no read-after-own-write (qw_cpumask 0).
    "q47": Layout(0, 1, 0xFF, 0xFF, 1 << 8, 0xFFF, 0xF, 15),
    "q417": _layout(12, 12, 4),
    "qrw": _layout(14, 16, 8),
}

NULL = 0  # value of an empty percpu slot; lock ids start at 1

# Routine results (see locks.py).
GOTO, CALL, RET = 0, 1, 2


@dataclass(frozen=True)
class LockInfo:
    name: str
    lid: int  # the lock's "address"; what a percpu slot holds
    type: str
    base: int  # first memory word of the lock (percpu: of its inner rwlock)
    size: int
    wa: int = -1  # percpu writer_activating word
    owner: str | None = None
