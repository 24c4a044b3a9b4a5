"""What a machine is made of and what its lock routines read of it: the
Xen it models (``Config``), one CPU's state (``Cpu``), a whole state, and
the view of a machine that a step's context and the routines take
(``MachineView``; machine.py's ``Machine`` is one).  Below ctx.py and
locks.py, so that neither reaches up to machine.py for a type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple, Protocol

from xenpatch.runtime.layout import LAYOUTS, Layout, LockInfo, LockModel

Build = Literal["debug", "release"]


@dataclass(frozen=True)
class Config:
    """Which Xen the model is (MODEL_NAMES).  ``rw16`` is the 2016 tree
    (counter+writer-bit rwlock, preempt counted after spinlock acquisition,
    no percpu fast-path preempt, no lock tracking); ``q47`` the first queued
    rwlock (4.7-4.13: a writer byte, no writer CPU, rwlocks counting no
    preempt, spinlocks as in 2016); ``q417`` the queued
    rwlock as 4.14-4.18 lay it out (writer CPU in 12 bits); ``qrw`` 4.19 and
    later (writer CPU in 14 bits, wider spinlock recursion fields, debug lock
    tracking).  ``record_order`` keeps the order in
    which locks were acquired in the state, for comparing with real runs."""

    lock_model: LockModel = "qrw"
    build: Build = "release"
    record_order: bool = False
    # CONFIG_DEBUG_LOCKS' per-CPU list of held locks (debug builds only);
    # None: as the era has it (HEAD yes, 2016 no).  Xen 4.17 has the queued
    # rwlock but not the list: Config("qrw", "debug", lock_tracking=False).
    lock_tracking: bool | None = None
    # rwlock.h's own check_lock() on the fast paths of rwlocks and percpu
    # rwlocks (e19bcb626f, 4.15); None: as the era has it (head).  4.14 has
    # the 2020 layout without it: Config("q417", rw_irq_latch=False).
    rw_irq_latch: bool | None = None
    # Debug builds record a spinlock's holder and check it at the release
    # (got_lock()/rel_lock(), 4.13 on: an ASSERT there, a BUG_ON from 4.14);
    # None: as the era has it (head).
    spin_owner_check: bool | None = None

    @property
    def queued(self) -> bool:
        """rwlock_t is the queued rwlock (spec 2b), not the 2016 counter."""
        return self.lock_model != "rw16"

    @property
    def head(self) -> bool:
        """The eras since 2020 (preempt counted first and by rwlocks, percpu
        fast path counts preempt; the default of rw_latch and owner_check)."""
        return self.lock_model in ("q417", "qrw")

    @property
    def rw_latch(self) -> bool:
        """Do rwlocks latch IRQ safety on every acquire, not only when they
        queue on their spinlock?"""
        return self.head if self.rw_irq_latch is None else self.rw_irq_latch

    @property
    def owner_check(self) -> bool:
        return self.head if self.spin_owner_check is None else self.spin_owner_check

    @property
    def layout(self) -> Layout:
        return LAYOUTS[self.lock_model]

    @property
    def tracking(self) -> bool:
        dflt = self.lock_model == "qrw"
        on = dflt if self.lock_tracking is None else self.lock_tracking
        return on and self.debug

    @property
    def debug(self) -> bool:
        return self.build == "debug"


class Cpu(NamedTuple):
    op_idx: int
    started: bool  # current op made its first access (releases drop the hold then)
    stack: tuple  # frames (routine, pc, args, locals), innermost last
    preempt: int
    in_irq: bool
    holds: tuple  # (lock, mode r|w|x, kind) for checking only; behaviour never reads it
    dbg: tuple  # HEAD CONFIG_DEBUG_LOCKS per-CPU list of held lock keys
    obs: tuple  # (op_idx, value) of trylocks and queries
    status: int
    irq_off: bool = False  # local interrupts disabled
    irq_saved: tuple = ()  # flags saved by _irqsave locks, innermost last


State = tuple[tuple[int, ...], tuple[Cpu, ...], tuple]


class MachineView(Protocol):
    """What a step's context (ctx.Ctx) and the lock routines' glue
    (locks.py) read of the machine running them."""

    cfg: Config
    ncpus: int
    var_names: list[str]
    key_names: dict[int, str]
    locks: dict[str, LockInfo]
    slots: dict[str, int]

    def lock_name(self, lid: int) -> str: ...
