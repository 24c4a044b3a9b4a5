"""rwlock_t as step functions: the 2016 one-word lock and the queued
rwlock of later trees (specs 2a and 2b of docs/xen-locks.md; the calling
convention: steps.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from xenpatch.runtime.layout import Layout
from xenpatch.runtime.spinlock import (
    IRQ_UNSEEN,
    check_lock,
    spin_lock,
    spin_unlock,
    spinlock_fields,
)
from xenpatch.runtime.steps import M32, NO_CPU, Res, call, goto, ret

if TYPE_CHECKING:
    from xenpatch.runtime.ctx import Ctx

# ---------------------------------------------------------------------------
# rwlock_t, 2016 (spec 2a): one word, bit 31 = writer, bits 0-30 readers.

W16 = 1 << 31


def _await_no_writer(ctx: Ctx, b: int) -> Res:
    """Step 0 of both blocking rw16 acquires: spin until no writer holds
    the lock, then try the CAS from the value seen (step 1)."""
    check_lock(ctx, b + 1)
    ctx.track_enter(b)
    x = ctx.await_(b, lambda v: not v & W16, "!W")
    return goto(1, (x,))


def rw16_read_lock(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    b = a[0]
    if pc == 0:
        return _await_no_writer(ctx, b)
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
        return _await_no_writer(ctx, b)
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
    # Read-after-own-write needs the writer's CPU in the word (868a01021c);
    # the writer byte of 4.7-4.13 has none (qw_cpumask 0).
    return c <= INT_MAX and (not wm or (lay.qw_cpumask != 0 and wm == lay.qw_locked
                                        and (c & lay.qw_cpumask) == me))


def _mine(ctx: Ctx) -> int:
    """The word a write hold leaves: LOCKED, and the writer's CPU where the
    layout records it."""
    return ctx.lay.qw_locked | (ctx.me & ctx.lay.qw_cpumask)


def _enter(ctx: Ctx, b: int, trying: bool = False) -> None:
    """The acquire's first step: the rwlock's own check_lock() (4.15 on) and
    preempt count (2020 on); before, the internal spinlock's check_lock()
    runs on the slow path only (_slow())."""
    if ctx.rw_latch:
        check_lock(ctx, b + 6, trying)
    if not trying:
        ctx.track_enter(b)
    if ctx.head:
        ctx.preempt += 1


def _slow(ctx: Ctx, b: int) -> None:
    if not ctx.rw_latch:
        check_lock(ctx, b + 6)  # spin_lock(&lock->lock)'s, in the slow path


def qrw_read_lock(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    b = a[0]
    L = ctx.lay
    q = (b + 1, False)
    if pc == 0:
        _enter(ctx, b)
        c = ctx.add_return(b, L.qr_bias)
        if _can_read(c, ctx.me, ctx.lay):
            ctx.track_add(b)
            return ret()
        return goto(1)
    if pc == 1:
        _slow(ctx, b)
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
        _enter(ctx, b, trying=True)
        if _can_read(ctx.load(b), ctx.me, ctx.lay):
            return goto(1)
        _leave(ctx)
        return ret(False)
    if pc == 1:
        if _can_read(ctx.add_return(b, ctx.lay.qr_bias), ctx.me, ctx.lay):
            ctx.track_add(b)
            return ret(True)
        return goto(2)
    ctx.fetch_add(b, -L.qr_bias, M32)
    _leave(ctx)
    return ret(False)


def _leave(ctx: Ctx) -> None:
    if ctx.head:
        ctx.preempt -= 1


def qrw_read_unlock(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    b = a[0]
    L = ctx.lay
    ctx.fence("release barrier")
    ctx.fetch_add(b, -L.qr_bias, M32)
    _leave(ctx)
    ctx.track_remove(b)
    return ret()


def qrw_write_lock(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    b = a[0]
    L = ctx.lay
    q = (b + 1, False)
    mine = _mine(ctx)
    if pc == 0:
        _enter(ctx, b)
        if ctx.cas(b, 0, mine):
            ctx.track_add(b)
            return ret()
        _slow(ctx, b)
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
        _enter(ctx, b, trying=True)
        if ctx.load(b) != 0:
            _leave(ctx)
            return ret(False)
        return goto(1)
    if ctx.cas(b, 0, _mine(ctx)):
        ctx.track_add(b)
        return ret(True)
    _leave(ctx)
    return ret(False)


def qrw_write_unlock(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    b = a[0]
    L = ctx.lay
    # The owner bits cannot change while we own them, so the ASSERT's read
    # folds into the release.
    if not L.qw_cpumask:
        # 4.7-4.13: no owner to assert; atomic_sub(_QW_LOCKED), which a
        # release of a lock not write-held turns into garbage, as the C does.
        ctx.fence("release barrier")
        ctx.fetch_add(b, -L.qw_locked, M32)
        ctx.track_remove(b)
        return ret()
    c = ctx.own(b)
    ctx.assert_((c & L.qw_wmask) == L.qw_locked and (c & L.qw_cpumask) == ctx.me,
                "_is_write_locked_by_me(cnts)")
    ctx.fence("release barrier")
    ctx.fetch_and(b, ~(L.qw_cpumask | L.qw_wmask) & M32)
    _leave(ctx)
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
