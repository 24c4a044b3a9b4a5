"""Which lock model a Xen tree needs, read from the tree's own headers.

The rwlock of a tree is the 2016 counter (``RW_WRITE_FLAG``, no queued
``cnts``) or the queued rwlock: first with a writer byte and no writer CPU
(``_QW_LOCKED 0xff``, ``_QR_SHIFT 8``: 4.7-4.13), then with a writer-CPU
field 12 bits wide up to 4.18 and 14 bits from 4.19 (``_QW_SHIFT``).
Debug builds' checks are read apart: the per-CPU list of held locks is
there when ``spinlock.h`` declares ``lock_enter``, an rwlock latches its IRQ
safety at every acquire when ``rwlock.h`` calls ``check_lock()``, and a
spinlock's release is checked against its holder when ``lock_debug`` has a
``cpu`` field.  Nothing here knows version numbers: the headers decide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from xenpatch.analysis.rwera import counter_rwlock_text, queued_rwlock_text, read_header
from xenpatch.errors import XenpatchError
from xenpatch.runtime.machine import LAYOUTS, MODEL_NAMES, LockModel
from xenpatch.runtime.state import Build, Config


class EraError(XenpatchError, ValueError):
    """The tree's headers do not say which lock model it needs."""


@dataclass(frozen=True)
class Era:
    lock_model: LockModel
    lock_tracking: bool
    evidence: str  # which header lines decided
    rw_irq_latch: bool = False  # rwlock.h calls check_lock() (4.15 on)
    spin_owner_check: bool = False  # lock_debug records the holder (4.13 on)

    def config(self, build: Build = "release", record_order: bool = False) -> Config:
        """The model's Config with the debug-build checks these headers have."""
        return Config(self.lock_model, build, record_order=record_order,
                      lock_tracking=self.lock_tracking, rw_irq_latch=self.rw_irq_latch,
                      spin_owner_check=self.spin_owner_check)

    @property
    def description(self) -> str:
        return MODEL_NAMES[self.lock_model]


_QW_SHIFT = re.compile(r"#\s*define\s+_QW_SHIFT\s+\(?\s*(\d+)")
_QW_CPUMASK = re.compile(r"#\s*define\s+_QW_CPUMASK\s+(0x[0-9a-fA-F]+)U?")
_CPU_BITS = re.compile(r"#\s*define\s+SPINLOCK_CPU_BITS\s+(\d+)")
_WRITER_BYTE = {name: re.compile(rf"#\s*define\s+{name}\s+\(?\s*(0x[0-9a-fA-F]+|\d+)U?\s*\)?\s")
                for name in ("_QW_WAITING", "_QW_LOCKED", "_QW_WMASK", "_QR_SHIFT")}


def _writer_byte(rwlock: str) -> dict[str, int] | None:
    """The first queued rwlock's constants, when the header spells them as
    numbers (no _QW_SHIFT to derive them from)."""
    got = {n: r.search(rwlock) for n, r in _WRITER_BYTE.items()}
    if any(m is None for m in got.values()):
        return None
    return {n: int(m.group(1), 0) for n, m in got.items() if m is not None}


def detect(tree: Path) -> Era:
    """The lock model of the tree (the folder holding ``xen/``)."""
    inc = tree / "xen" / "include" / "xen"
    rwlock = read_header(inc / "rwlock.h")
    spin = read_header(inc / "spinlock.h")
    if spin is None:
        raise EraError(f"{inc / 'spinlock.h'}: cannot read it to tell the lock era; "
                       "give --lock-model")
    tracking = re.search(r"\block_enter\s*\(", spin) is not None
    owner = re.search(r"\bcpu\s*:\s*SPINLOCK_CPU_BITS", spin) is not None
    queued = queued_rwlock_text(rwlock)
    if not queued:
        if counter_rwlock_text(rwlock) or counter_rwlock_text(spin):
            where = "rwlock.h" if counter_rwlock_text(rwlock) else "spinlock.h"
            return Era("rw16", tracking, f"{where}: RW_WRITE_FLAG counter rwlock")
        raise EraError(f"{inc}: neither a queued rwlock nor RW_WRITE_FLAG in rwlock.h/"
                       "spinlock.h; give --lock-model")
    assert rwlock is not None
    m = _QW_SHIFT.search(rwlock)
    shift: int | None = int(m.group(1)) if m else None
    if m is None:
        mask = _QW_CPUMASK.search(rwlock)
        if mask is not None:
            shift = int(mask.group(1), 16).bit_length()
    cpu_bits = _CPU_BITS.search(spin)
    latch = re.search(r"\bcheck_lock\s*\(", rwlock) is not None
    byte = _writer_byte(rwlock) if m is None and shift is None else None
    if byte is not None:
        lay = LAYOUTS["q47"]
        if (byte["_QW_WAITING"], byte["_QW_LOCKED"], byte["_QW_WMASK"],
                1 << byte["_QR_SHIFT"]) == (lay.qw_waiting, lay.qw_locked, lay.qw_wmask,
                                            lay.qr_bias) and (
                cpu_bits is None or lay.no_cpu == (1 << int(cpu_bits.group(1))) - 1):
            return Era("q47", tracking, f"rwlock.h: _QW_LOCKED {byte['_QW_LOCKED']:#x}, "
                       f"_QR_SHIFT {byte['_QR_SHIFT']}, no writer CPU", latch, owner)
    for model in ("q417", "qrw"):
        lay = LAYOUTS[model]
        if shift is not None and lay.qw_waiting == 1 << shift and (
                cpu_bits is None or lay.no_cpu == (1 << int(cpu_bits.group(1))) - 1):
            bits = f", SPINLOCK_CPU_BITS {cpu_bits.group(1)}" if cpu_bits else ""
            latched = ", check_lock()" if latch else ""
            return Era(model, tracking,  # type: ignore[arg-type]
                       f"rwlock.h: _QW_SHIFT {shift}{bits}{latched}", latch, owner)
    raise EraError(f"{inc / 'rwlock.h'}: a queued rwlock layout no model has "
                   f"(_QW_SHIFT {shift}); give --lock-model")
