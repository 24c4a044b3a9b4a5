"""spinlock_t as step functions: Xen's ticket lock, its recursive forms
and the debug builds' IRQ-safety latch (spec 1 of docs/xen-locks.md; the
calling convention: steps.py).

The holder's plain read-modify-writes -- ``head += 1`` (x86 add_sized) and
the recursion fields (``--recurse_cnt``, ``recurse_cpu := ...``) -- are one
step each here (plain_add, own/fold_store).  That is exact while only the
holder writes those words, which is what every release by a holder
guarantees.  A release by a CPU that does not hold the lock is misuse, and
there Xen's code races the holder's writes: in 2016 and 4.17
``recurse_cpu:12`` and ``recurse_cnt:4`` share one u16, so two concurrent
``spin_unlock_recursive`` can both see the count reach 0 and both release
(head passes tail), and gcc's byte store of ``--recurse_cnt`` can put
NO_CPU's top bits over another CPU's recurse_cpu (0xf01).  Those outcomes
are not in this model; the hazards of such programs are (the foreign
release itself: held_at_end, exclusion, the debug BUG).  So the model's
final states are exact only for programs whose releases are held -- the
condition tests/runtime/test_real_c.py checks of the programs it compares
with Xen's own code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from xenpatch.runtime.ctx import Crash
from xenpatch.runtime.steps import M16, NO_CPU, Res, call, goto, ret

if TYPE_CHECKING:
    from xenpatch.runtime.ctx import Ctx

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
    if ctx.owner_check:
        ctx.fold_store(b + 4, ctx.me)  # got_lock
    if tracked:
        ctx.track_add(b)
    return ret()


def spin_unlock(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> Res:
    b, tracked = a
    if ctx.owner_check:
        mine = ctx.own(b + 4) == ctx.me
        if ctx.head:
            ctx.bug_on(not mine, "spinlock released by another CPU")
        else:  # 4.13's rel_lock(): an ASSERT
            ctx.assert_(mine, "debug->cpu == smp_processor_id()")
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
    if ctx.owner_check:
        ctx.fold_store(b + 4, ctx.me)
    ctx.track_add(b)
    return ret(True)


def _recurse_once(ctx: Ctx, b: int) -> None:
    """recurse_cnt++ of the lock at ``b``, this CPU being its recurse_cpu."""
    n = ctx.own(b + 3)
    ctx.assert_(n < ctx.lay.max_recurse, "recurse_cnt < SPINLOCK_MAX_RECURSE")
    ctx.fold_store(b + 3, (n + 1) & ctx.lay.recurse_mask)


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
    _recurse_once(ctx, b)
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
    _recurse_once(ctx, b)
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


SPIN = {
    "spin_lock": spin_lock, "spin_unlock": spin_unlock, "spin_trylock": spin_trylock,
    "spin_lock_recursive": spin_lock_recursive, "spin_unlock_recursive": spin_unlock_recursive,
    "spin_trylock_recursive": spin_trylock_recursive,
    "spin_barrier": spin_barrier, "spin_is_locked": spin_is_locked,
}
