"""Xen's lock primitives as step functions (spec: docs/xen-locks.md).

Every routine has the signature ``routine(ctx, pc, args, loc, rv)`` and
returns one of

* ``(GOTO, pc, loc)``                      continue at ``pc``
* ``(CALL, ret_pc, loc, routine, args)``   run ``routine``; resume at ``ret_pc``
                                           with its return value in ``rv``
* ``(RET, value)``

``args`` is static (memory word indices); ``loc`` holds the routine's local
variables.  Each memory access goes through ``ctx`` (machine.Ctx), which
turns the second access of a step into a step boundary, so a pc may do local
work freely and the numbering below follows the spec's step numbers where it
has them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from xenpatch.runtime.ctx import Crash
from xenpatch.runtime.machine import CALL, GOTO, NULL, RET, Layout, LockInfo
from xenpatch.runtime.programs import IRQ_VARIANTS, Op

if TYPE_CHECKING:
    from xenpatch.runtime.ctx import Ctx
    from xenpatch.runtime.machine import Machine

Res = tuple

M16 = 0xFFFF
M32 = 0xFFFFFFFF
NO_CPU = 0xFFF  # the 2016 and 4.17 SPINLOCK_NO_CPU; Layout.no_cpu per era


def goto(pc: int, loc: tuple = ()) -> Res:
    return (GOTO, pc, loc)


def call(routine: Any, args: tuple, ret_pc: int, loc: tuple = ()) -> Res:
    return (CALL, ret_pc, loc, routine, args)


def ret(value: Any = None) -> Res:
    return (RET, value)


# ---------------------------------------------------------------------------
# spinlock_t: ticket lock (spec 1).  Words: head, tail, recurse_cpu,
# recurse_cnt, debug cpu.  args = (base, tracked): the queued rwlock's
# internal lock is not tracked on its own (its debug field is the rwlock's).

IRQ_UNSEEN = 2  # debug irq_safe latch before first use (the C's -1)


def spinlock_fields(name: str, no_cpu: int = NO_CPU) -> list[tuple[str, int]]:
    return [(f"{name}.head", 0), (f"{name}.tail", 0), (f"{name}.recurse_cpu", no_cpu),
            (f"{name}.recurse_cnt", 0), (f"{name}.debug_cpu", no_cpu),
            (f"{name}.irq_safe", IRQ_UNSEEN)]


def check_lock(ctx: Ctx, latch: int, trying: bool = False) -> None:
    """Debug builds' IRQ-safety latch (check_lock): a lock's first use
    records whether interrupts were off; a later blocking use the other way
    is a BUG.  Since 4.x a trylock with interrupts off is exempt (it cannot
    spin).  Folded into the acquire's first access: the cmpxchg on the
    debug word only decides which user latched first."""
    if not ctx.debug:
        return
    safe = int(ctx.irq_off)
    if trying and safe and ctx.head:
        return
    seen = ctx.own(latch)
    if seen == IRQ_UNSEEN:
        ctx.fold_store(latch, safe)
    elif seen != safe:
        raise Crash("bug", "CHECKLOCK FAILURE: lock taken with IRQs "
                    f"{'off' if safe else 'on'}, latched IRQ-{'unsafe' if safe else 'safe'}")


def spin_lock(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    b, tracked = a
    if pc == 0:
        if tracked:
            check_lock(ctx, b + 5)  # step 1
            ctx.track_enter(b)
        if ctx.head:
            ctx.preempt += 1
        t = ctx.fetch_add(b + 1, 1, M16)  # step 2: take a ticket
        return goto(1, (t,))
    # step 3: wait for our turn (rmb before each read: SC, nothing to model)
    ctx.await_(b, lambda h: h == loc[0], f"head == {loc[0]}")
    ctx.fence("acquire barrier")
    if not ctx.head:
        ctx.preempt += 1
    if ctx.head and ctx.debug:
        ctx.fold_store(b + 4, ctx.me)  # got_lock
    if tracked:
        ctx.track_add(b)
    return ret()


def spin_unlock(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    b, tracked = a
    if ctx.head and ctx.debug:
        ctx.bug_on(ctx.own(b + 4) != ctx.me, "spinlock released by another CPU")
        ctx.fold_store(b + 4, ctx.lay.no_cpu)
    ctx.fence("release barrier")
    # head := head+1 is a plain load+store by the owner; one step, since
    # only the owner writes head.
    ctx.plain_add(b, 1, M16)
    ctx.preempt -= 1
    if tracked:
        ctx.track_remove(b)
    return ret()


def spin_trylock(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    b, _ = a
    if pc == 0:
        check_lock(ctx, b + 5, trying=True)
        if ctx.head:
            ctx.preempt += 1
        h, t = ctx.load_many((b, b + 1))
        if h != t:
            if ctx.head:
                ctx.preempt -= 1
            return ret(False)
        return goto(1, (h, t))
    h, t = loc
    if not ctx.cas_many((b, b + 1), (h, t), (h, (t + 1) & M16)):
        if ctx.head:
            ctx.preempt -= 1
        return ret(False)  # no retry: trylock never spins
    if not ctx.head:
        ctx.preempt += 1
    if ctx.head and ctx.debug:
        ctx.fold_store(b + 4, ctx.me)
    ctx.track_add(b)
    return ret(True)


def spin_lock_recursive(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    b, _ = a
    if pc == 0:
        # Only this CPU can make recurse_cpu equal to itself, so the racy
        # read cannot change its answer under us.
        if ctx.own(b + 2) != ctx.me:
            return call(spin_lock, a, 1)
        return goto(2)
    if pc == 1:
        ctx.fold_store(b + 2, ctx.me)
    n = ctx.own(b + 3)
    ctx.assert_(n < ctx.lay.max_recurse, "recurse_cnt < SPINLOCK_MAX_RECURSE")
    ctx.fold_store(b + 3, (n + 1) & ctx.lay.recurse_mask)
    return ret()


def spin_trylock_recursive(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    b, _ = a
    if pc == 0:
        if ctx.own(b + 2) != ctx.me:
            return call(spin_trylock, a, 1)
        return goto(2)
    if pc == 1:
        if not rv:
            return ret(False)
        ctx.fold_store(b + 2, ctx.me)
    n = ctx.own(b + 3)
    ctx.assert_(n < ctx.lay.max_recurse, "recurse_cnt < SPINLOCK_MAX_RECURSE")
    ctx.fold_store(b + 3, (n + 1) & ctx.lay.recurse_mask)
    return ret(True)


def spin_unlock_recursive(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    b, _ = a
    if pc == 1:
        return ret()
    n = (ctx.own(b + 3) - 1) & ctx.lay.recurse_mask
    ctx.fold_store(b + 3, n)
    if n == 0:
        ctx.fold_store(b + 2, ctx.lay.no_cpu)
        return call(spin_unlock, a, 1)
    return ret()


def spin_barrier(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    """Wait out the current holder, if any, without acquiring."""
    b, _ = a
    if pc == 0:
        ctx.fence("smp_mb")
        h, t = ctx.load_many((b, b + 1))
        if h == t:
            ctx.fence("smp_mb")
            return ret()
        return goto(1, (h,))
    ctx.await_(b, lambda h: h != loc[0], f"head != {loc[0]}")
    ctx.fence("smp_mb")
    return ret()


def spin_is_locked(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    h, t = ctx.load_many((a[0], a[0] + 1))
    return ret(h != t)  # held by someone; not who


# ---------------------------------------------------------------------------
# rwlock_t, 2016 (spec 2a): one word, bit 31 = writer, bits 0-30 readers.

W16 = 1 << 31


def rw16_read_lock(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    b = a[0]
    if pc == 0:
        check_lock(ctx, b + 1)
        ctx.track_enter(b)
        x = ctx.await_(b, lambda v: not v & W16, "!W")
        return goto(1, (x,))
    if ctx.cas(b, loc[0], loc[0] + 1):
        ctx.preempt += 1
        ctx.track_add(b)
        return ret()
    return goto(0)


def rw16_read_trylock(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    b = a[0]
    if pc == 0:
        check_lock(ctx, b + 1, trying=True)
        x = ctx.load(b)
        if x & W16:
            return ret(False)
        return goto(1, (x,))
    if ctx.cas(b, loc[0], loc[0] + 1):
        ctx.preempt += 1
        ctx.track_add(b)
        return ret(True)
    return goto(0)  # read_trylock retries CAS races


def rw16_read_unlock(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    b = a[0]
    ctx.preempt -= 1
    ctx.fetch_add(b, -1, M32)
    ctx.track_remove(b)
    return ret()


def rw16_write_lock(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    b = a[0]
    if pc == 0:
        check_lock(ctx, b + 1)
        ctx.track_enter(b)
        x = ctx.await_(b, lambda v: not v & W16, "!W")
        return goto(1, (x,))
    if pc == 1:
        if not ctx.cas(b, loc[0], loc[0] | W16):
            return goto(0)
        if loc[0] != 0:
            return goto(2)
        # ``while ( x != 0 )`` tests the value the CAS replaced: no reader
        # was in, so the C reads the lock no more.
    else:
        # We own W; readers already in drain, new ones wait.
        ctx.await_(b, lambda v: (v & ~W16) == 0, "readers drained")
    ctx.preempt += 1
    ctx.track_add(b)
    return ret()


def rw16_write_trylock(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    b = a[0]
    check_lock(ctx, b + 1, trying=True)
    if ctx.cas(b, 0, W16):
        ctx.preempt += 1
        ctx.track_add(b)
        return ret(True)
    return ret(False)


def rw16_write_unlock(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    b = a[0]
    ctx.preempt -= 1
    old = ctx.xchg(b, 0)
    ctx.bug_on(old != W16, "write_unlock: lock != RW_WRITE_FLAG")
    ctx.track_remove(b)
    return ret()


def rw16_is_write_locked(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    return ret(ctx.load(a[0]) == W16)  # false while the writer drains readers


def rw16_is_locked(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    return ret(ctx.load(a[0]) != 0)


# ---------------------------------------------------------------------------
# rwlock_t, HEAD (spec 2b): queued rwlock.  Words: cnts, then the internal
# ticket lock.  cnts: bits 0-13 writer CPU, 14-15 writer state, readers in
# units of BIAS.

INT_MAX = 0x7FFFFFFF


def _can_read(c: int, me: int, lay: Layout) -> bool:
    wm = c & lay.qw_wmask
    return c <= INT_MAX and (not wm or (wm == lay.qw_locked and (c & lay.qw_cpumask) == me))


def qrw_read_lock(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    b = a[0]
    L = ctx.lay
    q = (b + 1, False)
    if pc == 0:
        check_lock(ctx, b + 6)
        ctx.track_enter(b)
        ctx.preempt += 1
        c = ctx.add_return(b, L.qr_bias)
        if _can_read(c, ctx.me, ctx.lay):
            ctx.track_add(b)
            return ret()
        return goto(1)
    if pc == 1:
        ctx.fetch_add(b, -L.qr_bias, M32)  # undo, then queue up (FIFO)
        return call(spin_lock, q, 2)
    if pc == 2:
        ctx.await_(b, lambda v: not v & L.qw_wmask, "no writer")
        return goto(3)
    if pc == 3:
        c = ctx.add_return(b, L.qr_bias)
        if (c & L.qw_wmask) == L.qw_locked:
            return goto(4)  # an incoming writer stole it in the interim
        return call(spin_unlock, q, 5)
    if pc == 4:
        ctx.await_(b, lambda v: (v & L.qw_wmask) != L.qw_locked, "writer gone")
        return call(spin_unlock, q, 5)
    ctx.track_add(b)
    return ret()


def qrw_read_trylock(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    b = a[0]
    L = ctx.lay
    if pc == 0:
        check_lock(ctx, b + 6, trying=True)
        ctx.preempt += 1
        if _can_read(ctx.load(b), ctx.me, ctx.lay):
            return goto(1)
        ctx.preempt -= 1
        return ret(False)
    if pc == 1:
        if _can_read(ctx.add_return(b, ctx.lay.qr_bias), ctx.me, ctx.lay):
            ctx.track_add(b)
            return ret(True)
        return goto(2)
    ctx.fetch_add(b, -L.qr_bias, M32)
    ctx.preempt -= 1
    return ret(False)


def qrw_read_unlock(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    b = a[0]
    L = ctx.lay
    ctx.fence("release barrier")
    ctx.fetch_add(b, -L.qr_bias, M32)
    ctx.preempt -= 1
    ctx.track_remove(b)
    return ret()


def qrw_write_lock(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    b = a[0]
    L = ctx.lay
    q = (b + 1, False)
    mine = ctx.lay.qw_locked | ctx.me
    if pc == 0:
        check_lock(ctx, b + 6)
        ctx.track_enter(b)
        ctx.preempt += 1
        if ctx.cas(b, 0, mine):
            ctx.track_add(b)
            return ret()
        return call(spin_lock, q, 1)
    if pc == 1:
        if ctx.load(b) == 0:
            return goto(2)
        return goto(3)
    if pc == 2:
        if ctx.cas(b, 0, mine):
            return call(spin_unlock, q, 7)
        return goto(3)
    if pc == 3:
        c = ctx.await_(b, lambda v: not v & L.qw_wmask, "no writer state")
        return goto(4, (c,))
    if pc == 4:
        if ctx.cas(b, loc[0], loc[0] | L.qw_waiting):
            return goto(5)  # new readers now queue behind us
        return goto(3)
    if pc == 5:
        ctx.await_(b, lambda v: v == L.qw_waiting, "cnts == WAITING")
        return goto(6)
    if pc == 6:
        if ctx.cas(b, L.qw_waiting, mine):
            return call(spin_unlock, q, 7)
        return goto(5)
    ctx.track_add(b)
    return ret()


def qrw_write_trylock(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    b = a[0]
    if pc == 0:
        check_lock(ctx, b + 6, trying=True)
        ctx.preempt += 1
        if ctx.load(b) != 0:
            ctx.preempt -= 1
            return ret(False)
        return goto(1)
    if ctx.cas(b, 0, ctx.lay.qw_locked | ctx.me):
        ctx.track_add(b)
        return ret(True)
    ctx.preempt -= 1
    return ret(False)


def qrw_write_unlock(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    b = a[0]
    L = ctx.lay
    # The owner bits cannot change while we own them, so the ASSERT's read
    # folds into the release.
    c = ctx.own(b)
    ctx.assert_((c & L.qw_wmask) == L.qw_locked and (c & L.qw_cpumask) == ctx.me,
                "_is_write_locked_by_me(cnts)")
    ctx.fence("release barrier")
    ctx.fetch_and(b, ~(L.qw_cpumask | L.qw_wmask) & M32)
    ctx.preempt -= 1
    ctx.track_remove(b)
    return ret()


def qrw_is_write_locked(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    return ret((ctx.load(a[0]) & ctx.lay.qw_wmask) == ctx.lay.qw_locked)


def qrw_is_locked(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    return ret(ctx.load(a[0]) != 0)  # includes WAITING and transient biases


RW = {
    False: {
        "read_lock": rw16_read_lock, "read_unlock": rw16_read_unlock,
        "write_lock": rw16_write_lock, "write_unlock": rw16_write_unlock,
        "read_trylock": rw16_read_trylock, "write_trylock": rw16_write_trylock,
        "rw_is_write_locked": rw16_is_write_locked, "rw_is_locked": rw16_is_locked,
    },
    True: {
        "read_lock": qrw_read_lock, "read_unlock": qrw_read_unlock,
        "write_lock": qrw_write_lock, "write_unlock": qrw_write_unlock,
        "read_trylock": qrw_read_trylock, "write_trylock": qrw_write_trylock,
        "rw_is_write_locked": qrw_is_write_locked, "rw_is_locked": qrw_is_locked,
    },
}


def rwlock_fields(name: str, head: bool, no_cpu: int = NO_CPU) -> list[tuple[str, int]]:
    if not head:
        return [(f"{name}.lock", 0), (f"{name}.irq_safe", IRQ_UNSEEN)]
    return [(f"{name}.cnts", 0)] + spinlock_fields(f"{name}.lock", no_cpu)


# ---------------------------------------------------------------------------
# percpu_rwlock_t (spec 3).  args = (lid, rw base, writer_activating word,
# first slot word of the class passed, owner check passes).

def pc_read_lock(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    lid, rw, wa, s0, owner_ok = a
    rw_ops = RW[ctx.head]
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
        return call(RW[ctx.head]["read_unlock"], (rw,), 1)
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
        return call(RW[ctx.head]["write_lock"], (rw,), 1)  # step 2
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
    return call(RW[ctx.head]["write_unlock"], (rw,), 1)


# Routines whose locals at pc 1 are tickets (or a sampled head) of lock args[0].
_TICKET_HOLDERS = (spin_lock, spin_trylock, spin_barrier)

PERCPU = {
    "percpu_read_lock": pc_read_lock, "percpu_read_unlock": pc_read_unlock,
    "percpu_write_lock": pc_write_lock, "percpu_write_unlock": pc_write_unlock,
}
SPIN = {
    "spin_lock": spin_lock, "spin_unlock": spin_unlock, "spin_trylock": spin_trylock,
    "spin_lock_recursive": spin_lock_recursive, "spin_unlock_recursive": spin_unlock_recursive,
    "spin_trylock_recursive": spin_trylock_recursive,
    "spin_barrier": spin_barrier, "spin_is_locked": spin_is_locked,
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

def routine_for(m: Machine, op: Op, cpu: int) -> tuple[Any, tuple]:
    info = m.locks[op.lock or ""]
    if op.kind in SPIN:
        return SPIN[op.kind], (info.base, True)
    if op.kind in PERCPU:
        owner_ok = op.owner == info.owner
        return PERCPU[op.kind], (info.lid, info.base, info.wa, m.slots[op.owner or ""], owner_ok)
    return RW[m.cfg.head][op.kind], (info.base,)


def _mask(lo: int, n: int) -> int:
    return ((1 << n) - 1) << lo


def op_footprint(m: Machine, op: Op, cpu: int) -> tuple[int, int]:
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


def ticket_bases(m: Machine) -> list[int]:
    """First word of every ticket lock, including queued rwlocks' internal ones."""
    out = []
    for info in m.locks.values():
        if info.type == "spinlock":
            out.append(info.base)
        elif m.cfg.head:
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


def write_locked_word(m: Machine, info: LockInfo, mem: tuple[int, ...]) -> bool:
    w = mem[info.base]
    lay = m.cfg.layout
    return (w & lay.qw_wmask) == lay.qw_locked if m.cfg.head else w == W16


def reader_count(m: Machine, info: LockInfo, mem: tuple[int, ...]) -> int:
    w = mem[info.base]
    return w // m.cfg.layout.qr_bias if m.cfg.head else w & ~W16


def is_clean(m: Machine, info: LockInfo, mem: tuple[int, ...]) -> bool:
    words = mem[info.base : info.base + info.size]
    if info.type == "spinlock":
        return words[0] == words[1] and words[2] == m.cfg.layout.no_cpu
    rw_clean = words[0] == 0 and (not m.cfg.head or words[1] == words[2])
    if info.type == "rwlock":
        return rw_clean
    slots_clean = all(
        mem[s + c] != info.lid for s in m.slots.values() for c in range(m.ncpus)
    )
    return rw_clean and mem[info.wa] == 0 and slots_clean
