"""Xen's lock primitives as step functions (spec: docs/xen-locks.md): the
percpu rwlock here, over the spinlock (spinlock.py) and rwlock (rwlock.py)
models; the _irq/_irqsave variants of each; and the glue machine.py and
packed.py use (which routine an operation runs, the words it may touch,
ticket normalisation).  The calling convention: steps.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from xenpatch.runtime.layout import NULL, LockInfo
from xenpatch.runtime.programs import IRQ_VARIANTS, Op
from xenpatch.runtime.rwlock import RW, W16
from xenpatch.runtime.spinlock import SPIN, check_lock, spin_barrier, spin_lock, spin_trylock
from xenpatch.runtime.steps import M16, Res, call, goto, ret

if TYPE_CHECKING:
    from xenpatch.runtime.ctx import Ctx
    from xenpatch.runtime.state import MachineView

# ---------------------------------------------------------------------------
# percpu_rwlock_t (spec 3).  args = (lid, rw base, writer_activating word,
# first slot word of the class passed, owner check passes).

def pc_read_lock(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    lid, rw, wa, s0, owner_ok = a
    rw_ops = RW[ctx.queued]
    slot = s0 + ctx.me
    if pc == 0:  # step 1
        ctx.assert_(owner_ok, "per_cpudata == percpu_rwlock->percpu_owner")
        s = ctx.own(slot)
        ctx.assert_(s != lid, "this_cpu_ptr(per_cpudata) != percpu_rwlock")
        if s != NULL:  # step 2: a lock of this class is fast-held here
            return call(rw_ops["read_lock"], (rw,), 1)
        ctx.track_enter(rw)
        if ctx.head:
            ctx.preempt += 1
        ctx.store(slot, lid)  # step 3
        ctx.fence("smp_mb")  # step 4
        return goto(2)
    if pc == 1:
        return ret("slow")
    if pc == 2:  # step 5
        if ctx.load(wa) == 0:
            if ctx.rw_latch:
                # 4.15 on: the fast path's own check_lock(); the other
                # paths check in the read_lock() they call.
                check_lock(ctx, rw + 6)
            ctx.track_add(rw)
            return ret("fast")
        return goto(3)
    if pc == 3:  # step 6: tell the writer we are not in, then queue on rw
        ctx.store(slot, NULL)
        return call(rw_ops["read_lock"], (rw,), 4)
    if pc == 4:  # step 8
        ctx.store(slot, lid)
        return call(rw_ops["read_unlock"], (rw,), 5)
    ctx.track_add(rw)
    return ret("fast")


def pc_read_unlock(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    lid, rw, _wa, s0, owner_ok = a
    if pc == 1:
        return ret()
    ctx.assert_(owner_ok, "per_cpudata == percpu_rwlock->percpu_owner")
    slot = s0 + ctx.me
    s = ctx.own(slot)
    ctx.assert_(s != NULL, "this_cpu_ptr(per_cpudata) != NULL")
    if s != lid:  # the slot decides fast vs slow release, not how it was taken
        return call(RW[ctx.queued]["read_unlock"], (rw,), 1)
    ctx.store(slot, NULL)
    ctx.fence("smp_wmb")
    if ctx.head:
        ctx.preempt -= 1
    ctx.track_remove(rw)
    return ret()


def pc_write_lock(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    lid, rw, wa, s0, owner_ok = a
    if pc == 0:
        ctx.assert_(owner_ok, "per_cpudata == percpu_rwlock->percpu_owner")
        return call(RW[ctx.queued]["write_lock"], (rw,), 1)  # step 2
    if pc == 1:
        ctx.store(wa, 1)  # step 3
        ctx.fence("smp_mb")  # step 4
        ctx.assert_(not ctx.in_irq, "!in_irq()")  # step 5
        return goto(2, (tuple(range(ctx.ncpus)), 0))  # step 6: mask := online
    # Step 7: sweep the mask, dropping CPUs whose slot is not this lock.
    # The sweep only spins when every CPU left still shows the lock, so that
    # is when the step is not enabled.
    mask, pos = loc
    words = tuple(s0 + c for c in mask)
    ctx.await_many(words, lambda vals: any(v != lid for v in vals))
    cpu = mask[pos]
    v = ctx.own(s0 + cpu)
    ctx.note(f"poll {ctx.name(s0 + cpu)} = {ctx.m.lock_name(v)}")
    if v != lid:
        mask = mask[:pos] + mask[pos + 1 :]
    else:
        pos += 1
    if pos < len(mask):
        return goto(2, (mask, pos))
    if not mask:
        return ret()
    ctx.note("cpu_relax")
    return goto(2, (mask, 0))


def pc_write_unlock(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    lid, rw, wa, s0, owner_ok = a
    if pc == 1:
        return ret()
    ctx.assert_(owner_ok, "per_cpudata == percpu_rwlock->percpu_owner")
    if ctx.debug:
        # ASSERT's read and the plain store, one step (only the writer
        # stores writer_activating while it holds rw).
        ctx.assert_(ctx.xchg(wa, 0) != 0, "percpu_rwlock->writer_activating")
    else:
        ctx.store(wa, 0)
    return call(RW[ctx.queued]["write_unlock"], (rw,), 1)


# Routines whose locals at pc 1 are tickets (or a sampled head) of lock args[0].
_TICKET_HOLDERS = (spin_lock, spin_trylock, spin_barrier)

PERCPU = {
    "percpu_read_lock": pc_read_lock, "percpu_read_unlock": pc_read_unlock,
    "percpu_write_lock": pc_write_lock, "percpu_write_unlock": pc_write_unlock,
}


# ---------------------------------------------------------------------------
# _irq / _irqsave variants: the base routine with interrupts off around it.

def _irq_variant(base: Any, mode: str, locking: bool) -> Any:
    def routine(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
        if pc == 0:
            if locking:
                if mode == "irq":
                    ctx.assert_(not ctx.irq_off, "local_irq_is_enabled()")
                else:
                    ctx.irq_saved = ctx.irq_saved + (ctx.irq_off,)
                ctx.irq_off = True
            return call(base, a, 1)
        if not locking:
            if mode == "irq":
                ctx.irq_off = False
            elif ctx.irq_saved:
                ctx.irq_off = ctx.irq_saved[-1]
                ctx.irq_saved = ctx.irq_saved[:-1]
        return ret(rv)

    routine.__name__ = f"{base.__name__}_{mode}"
    return routine


def _irq_table(table: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for kind, (base, mode) in IRQ_VARIANTS.items():
        if base in table:
            out[kind] = _irq_variant(table[base], mode, "unlock" not in kind)
    return out


for _t in (SPIN, RW[False], RW[True]):
    _t.update(_irq_table(_t))


# ---------------------------------------------------------------------------
# Glue for machine.py

def routine_for(m: MachineView, op: Op, cpu: int) -> tuple[Any, tuple]:
    info = m.locks[op.lock or ""]
    if op.kind in SPIN:
        return SPIN[op.kind], (info.base, True)
    if op.kind in PERCPU:
        owner_ok = op.owner == info.owner
        return PERCPU[op.kind], (info.lid, info.base, info.wa, m.slots[op.owner or ""], owner_ok)
    return RW[m.cfg.queued][op.kind], (info.base,)


def _mask(lo: int, n: int) -> int:
    return ((1 << n) - 1) << lo


def op_footprint(m: MachineView, op: Op, cpu: int) -> tuple[int, int]:
    """(may-read, may-write) words of any step of op on this CPU."""
    if op.lock is None:
        return 0, 0
    info = m.locks[op.lock]
    lock = _mask(info.base, info.size)
    if op.kind in ("rw_is_write_locked", "rw_is_locked", "spin_is_locked", "spin_barrier"):
        return lock, 0
    if op.kind not in PERCPU:
        return lock, lock
    slots = m.slots[op.owner or ""]
    wa = 1 << info.wa
    if op.kind in ("percpu_read_lock", "percpu_read_unlock"):
        mine = 1 << (slots + cpu)
        return lock | wa | mine, lock | mine
    all_slots = _mask(slots, m.ncpus)
    return lock | wa | all_slots, lock | wa


def ticket_bases(m: MachineView) -> list[int]:
    """First word of every ticket lock, including queued rwlocks' internal ones."""
    out = []
    for info in m.locks.values():
        if info.type == "spinlock":
            out.append(info.base)
        elif m.cfg.queued:
            out.append(info.base + 1)
    return out


def normalise_tickets(bases: list[int], mem: tuple[int, ...], cpus: tuple) -> tuple[tuple, tuple]:
    """Shift each ticket lock so head == 0.  A ticket lock only ever compares
    tickets with each other, so this is exact, and it keeps looping
    programs from walking through 2^16 copies of the same state."""
    if not any(mem[b] for b in bases):
        return mem, cpus
    m = list(mem)
    shift: dict[int, int] = {}
    for b in bases:
        h = m[b]
        if h:
            shift[b] = h
            m[b] = 0
            m[b + 1] = (m[b + 1] - h) & M16
    out = []
    for c in cpus:
        stack = c.stack
        if any(f[0] in _TICKET_HOLDERS and f[1] == 1 and f[2][0] in shift for f in stack):
            stack = tuple(_shift_frame(f, shift) for f in stack)
            c = c._replace(stack=stack)
        out.append(c)
    return tuple(m), tuple(out)


def _shift_frame(f: tuple, shift: dict[int, int]) -> tuple:
    r, pc, a, loc = f
    if r not in _TICKET_HOLDERS or pc != 1 or a[0] not in shift:
        return f
    d = shift[a[0]]
    return (r, pc, a, tuple((x - d) & M16 for x in loc))


def write_locked_word(m: MachineView, info: LockInfo, mem: tuple[int, ...]) -> bool:
    w = mem[info.base]
    lay = m.cfg.layout
    return (w & lay.qw_wmask) == lay.qw_locked if m.cfg.queued else w == W16


def reader_count(m: MachineView, info: LockInfo, mem: tuple[int, ...]) -> int:
    w = mem[info.base]
    return w // m.cfg.layout.qr_bias if m.cfg.queued else w & ~W16


def is_clean(m: MachineView, info: LockInfo, mem: tuple[int, ...]) -> bool:
    words = mem[info.base : info.base + info.size]
    if info.type == "spinlock":
        return words[0] == words[1] and words[2] == m.cfg.layout.no_cpu
    rw_clean = words[0] == 0 and (not m.cfg.queued or words[1] == words[2])
    if info.type == "rwlock":
        return rw_clean
    slots_clean = all(
        mem[s + c] != info.lid for s in m.slots.values() for c in range(m.ncpus)
    )
    return rw_clean and mem[info.wa] == 0 and slots_clean
