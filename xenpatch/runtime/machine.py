"""Simulated CPUs running lock programs over one shared memory.

A machine state is a pair ``(mem, cpus)`` of plain tuples, so it hashes and
compares canonically: ``mem`` holds every shared word (lock fields and
per-CPU variables other CPUs read), ``cpus`` one ``Cpu`` per CPU.

One scheduler step of a CPU performs exactly one *primary* access to shared
memory (a load, a store, a CAS, an await...) together with the local work
around it: calls, returns, branches, preempt counting, op bookkeeping.  Local
work needs no step of its own because it commutes with every other CPU's
steps, and merging it keeps the state space small.  The interpreter runs a
CPU until it is about to make its second access and rolls that partial pc
back (see ``Ctx``), so routines in ``locks.py`` need no convention about
where steps end.

A SPIN is an ``await``: a step whose condition is false is not enabled.  A
CPU spinning on an unchanged word therefore cannot move, which is what makes
deadlock "no CPU can move" and keeps spin loops out of the state space.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from xenpatch.runtime import locks, rwlock, spinlock
from xenpatch.runtime.ctx import Crash, Ctx, _Blocked, _Yield
from xenpatch.runtime.layout import CALL as CALL
from xenpatch.runtime.layout import GOTO as GOTO
from xenpatch.runtime.layout import LAYOUTS as LAYOUTS
from xenpatch.runtime.layout import MODEL_NAMES as MODEL_NAMES
from xenpatch.runtime.layout import NULL as NULL
from xenpatch.runtime.layout import RET as RET
from xenpatch.runtime.layout import Layout as Layout
from xenpatch.runtime.layout import LockInfo as LockInfo
from xenpatch.runtime.layout import LockModel as LockModel
from xenpatch.runtime.programs import (
    LOCAL_OPS,
    PERCPU_OPS,
    QUERY_OPS,
    TRYLOCK_RELEASE,
    Op,
    Scenario,
    skip_failed_trylock,
)
from xenpatch.runtime.state import Config as Config
from xenpatch.runtime.state import Cpu as Cpu
from xenpatch.runtime.state import State as State

RUN, DONE, CRASHED = 0, 1, 2

# Bound on local transitions in one step; only a program that loops without
# ever touching memory can reach it.
_MAX_LOCAL = 10_000


class StepResult(NamedTuple):
    state: State
    reads: int  # bitmask of memory words read
    writes: int  # bitmask of memory words written
    visible: bool  # changed holds or crashed: the checked properties can see it
    held: frozenset[str]  # locks whose holds on this CPU changed
    crash: Crash | None
    trace: tuple[str, ...]  # what the step did, when tracing


class Machine:
    """A Scenario laid out in memory under one Config."""

    # What a step's routines see; a subclass may observe each access (the
    # cost model records them), the semantics stay those of Ctx.
    ctx_type: type[Ctx] = Ctx

    def __init__(self, sc: Scenario, cfg: Config | None = None) -> None:
        self.sc = sc
        self.cfg = cfg or Config()
        self.ncpus = len(sc.programs)
        self.var_names: list[str] = []
        self.key_names: dict[int, str] = {}
        self.locks: dict[str, LockInfo] = {}
        init: list[int] = []

        def alloc(fields: list[tuple[str, int]]) -> int:
            base = len(init)
            for name, val in fields:
                self.var_names.append(name)
                init.append(val)
            return base

        for lid, decl in enumerate(sc.locks, 1):
            n = decl.name
            if decl.type == "spinlock":
                base = alloc(spinlock.spinlock_fields(n, self.cfg.layout.no_cpu))
                info = LockInfo(n, lid, decl.type, base, len(init) - base)
            else:
                pre = f"{n}.rw" if decl.type == "percpu" else n
                base = alloc(rwlock.rwlock_fields(pre, self.cfg.queued, self.cfg.layout.no_cpu))
                size = len(init) - base
                wa = alloc([(f"{n}.writer_activating", 0)]) if decl.type == "percpu" else -1
                info = LockInfo(n, lid, decl.type, base, size, wa, decl.owner)
            self.locks[n] = info
            self.key_names[base] = n
        classes = sorted(
            {op.owner for p in sc.programs for op in p.ops if op.owner}
            | {d.owner for d in sc.locks if d.owner}
        )
        self.slots: dict[str, int] = {
            c: alloc([(f"{c}[cpu{i}]", NULL) for i in range(self.ncpus)]) for c in classes
        }
        self.init_mem = tuple(init)
        self.lock_by_id = {info.lid: info for info in self.locks.values()}
        self._routines = locks
        self._op_cache: dict[tuple[int, int], tuple[Any, tuple]] = {}
        self.blocked_reads = 0
        self.footprints = self._footprints()
        self._tickets = locks.ticket_bases(self)
        self.lock_words = {n: ((1 << i.size) - 1) << i.base | ((1 << i.wa) if i.wa >= 0 else 0)
                           for n, i in self.locks.items()}

    # -- program -> routine -----------------------------------------------
    def op_routine(self, op: Op, cpu: int) -> tuple[Any, tuple]:
        return self._routines.routine_for(self, op, cpu)

    def _op_at(self, cpu: int, idx: int) -> tuple[Any, tuple]:
        key = (cpu, idx)
        hit = self._op_cache.get(key)
        if hit is None:
            op = self.sc.programs[cpu].ops[idx]
            hit = (None, ()) if op.kind in LOCAL_OPS else self.op_routine(op, cpu)
            self._op_cache[key] = hit
        return hit

    def _footprints(self) -> list[list[tuple[int, int]]]:
        """For each CPU and op index: (may-read, may-write) bitmasks over the
        rest of its program (all of it when it loops), for the reduction."""
        out: list[list[tuple[int, int]]] = []
        for cpu, prog in enumerate(self.sc.programs):
            per_op = [self._routines.op_footprint(self, op, cpu) for op in prog.ops]
            total_r = total_w = 0
            for r, w in per_op:
                total_r |= r
                total_w |= w
            suffix: list[tuple[int, int]] = [(0, 0)] * (len(per_op) + 1)
            if prog.loop:
                suffix = [(total_r, total_w)] * (len(per_op) + 1)
            else:
                acc_r = acc_w = 0
                for i in range(len(per_op) - 1, -1, -1):
                    acc_r |= per_op[i][0]
                    acc_w |= per_op[i][1]
                    suffix[i] = (acc_r, acc_w)
            out.append(suffix)
        return out

    # -- states ---------------------------------------------------------------
    def initial_state(self) -> State:
        cpu = Cpu(0, False, (), 0, False, (), (), (), RUN)
        return (self.init_mem, tuple(cpu for _ in range(self.ncpus)), ())

    def step(self, state: State, i: int, trace: bool = False) -> StepResult | None:
        """Run CPU i for one step, or None if it cannot move (finished,
        crashed, or spinning)."""
        mem, cpus, log = state
        raw = self.cpu_step(mem, cpus[i], i, log, trace)
        if raw is None:
            return None
        mem, new, reads, writes, held, crash, log, lines = raw
        cpus = cpus[:i] + (new,) + cpus[i + 1 :]
        if self._tickets:
            mem, cpus = self._routines.normalise_tickets(self._tickets, mem, cpus)
        if log is not state[2]:
            # The acquisition log is shared: two appends do not commute.
            writes |= 1 << len(mem)
        return StepResult((mem, cpus, log), reads, writes, bool(held) or crash is not None,
                          held, crash, lines)

    def cpu_step(self, mem: tuple[int, ...], c: Cpu, i: int, log: tuple, trace: bool = False
                 ) -> tuple[tuple[int, ...], Cpu, int, int, frozenset[str], Crash | None,
                            tuple, tuple[str, ...]] | None:
        """CPU i's step on its own record and memory: (mem, cpu, reads,
        writes, locks whose holds changed, crash, log, trace), before ticket
        normalisation.  A function of (mem, c, i) alone (log is only
        appended to), which is what lets packed.py memoise it."""
        if c.status != RUN:
            return None
        prog = self.sc.programs[i]
        ctx = self.ctx_type(self, mem, c, i, trace)
        op_idx, stack, holds, obs = c.op_idx, list(c.stack), c.holds, c.obs
        crash: Crash | None = None
        status = RUN
        retval: Any = None
        returning = False
        # Release ops end the hold when they first touch the lock.
        pending = [c.holds]

        def drop() -> None:
            pending[0] = _drop_hold(pending[0], prog.ops[op_idx])

        if stack and not c.started:
            ctx.on_start = drop
        snap: tuple | None = None
        try:
            for _ in range(_MAX_LOCAL):
                if ctx.accesses:
                    snap = (op_idx, tuple(stack), dict(ctx.over), ctx.preempt, ctx.in_irq,
                            ctx.dbg, ctx.started, pending[0], obs, log, retval, returning,
                            ctx.reads, ctx.writes, len(ctx.trace or ()), ctx.irq_off,
                            ctx.irq_saved)
                if not stack:
                    if op_idx == len(prog.ops):
                        if not prog.loop:
                            status = DONE
                            break
                        op_idx = 0
                    op = prog.ops[op_idx]
                    if op.kind in LOCAL_OPS:
                        if op.kind == "irq_enter":
                            ctx.in_irq = True
                        elif op.kind == "irq_exit":
                            ctx.in_irq = False
                        elif op.kind == "local_irq_disable":
                            ctx.irq_off = True
                        elif op.kind == "local_irq_enable":
                            ctx.irq_off = False
                        ctx.note(str(op))
                        op_idx += 1
                        continue
                    r, a = self._op_at(i, op_idx)
                    stack.append((r, 0, a, ()))
                    ctx.started = False
                    ctx.on_start = drop
                    ctx.note(f"begin {op}")
                    continue
                r, pc, a, loc = stack[-1]
                if returning:
                    res = r(ctx, pc, a, loc, retval)
                    returning = False
                else:
                    res = r(ctx, pc, a, loc, None)
                tag = res[0]
                if tag == GOTO:
                    stack[-1] = (r, res[1], a, res[2])
                elif tag == CALL:
                    stack[-1] = (r, res[1], a, res[2])
                    stack.append((res[3], 0, res[4], ()))
                else:
                    stack.pop()
                    if stack:
                        returning, retval = True, res[1]
                        continue
                    # Op complete: record what it holds or observed, move on.
                    op = prog.ops[op_idx]
                    if not ctx.started:
                        ctx.started = True
                        drop()
                    ctx.on_start = None
                    before = pending[0]
                    pending[0], obs, skip = _complete(before, obs, op, op_idx, res[1])
                    if self.cfg.record_order and _acquires(op) and res[1] is not False:
                        log = log + ((op.lock, i),)
                    op_idx = skip_failed_trylock(prog.ops, op_idx) if skip else op_idx + 1
                    if len(pending[0]) > len(before):
                        # A new hold must be seen in a state of its own, even
                        # when what follows (a recursive re-lock and unlock)
                        # touches no memory.
                        break
            else:
                raise RuntimeError(f"cpu{i}: program makes no progress")
        except _Yield:
            assert snap is not None
            (op_idx, st, over, ctx.preempt, ctx.in_irq, ctx.dbg, ctx.started, pend, obs, log,
             retval, returning, ctx.reads, ctx.writes, ntrace, ctx.irq_off,
             ctx.irq_saved) = snap
            stack = list(st)
            pending[0] = pend
            ctx.over = over
            if ctx.trace is not None:
                del ctx.trace[ntrace:]
            if returning:
                # The caller's landing pc wanted a second access: hand it the
                # return value next step through a trampoline frame.
                stack.append((_Return, 0, (retval,), ()))
        except _Blocked:
            # What the await read: the words whose change may enable it (por.py).
            self.blocked_reads = ctx.reads
            return None
        except Crash as e:
            crash = e
            status = CRASHED
        if ctx.over:
            m = list(mem)
            for v, val in ctx.over.items():
                m[v] = val
            mem = tuple(m)
        holds = pending[0]
        new = Cpu(op_idx, ctx.started, tuple(stack), ctx.preempt, ctx.in_irq, holds,
                  ctx.dbg, obs, status, ctx.irq_off, ctx.irq_saved)
        held = frozenset(h[0] for h in holds + c.holds if holds.count(h) != c.holds.count(h)) \
            if holds != c.holds else frozenset()  # counted: recursive holds repeat
        return mem, new, ctx.reads, ctx.writes, held, crash, log, tuple(ctx.trace or ())

    # -- inspection -------------------------------------------------------
    def var(self, state: State, name: str) -> int:
        return state[0][self.var_names.index(name)]

    def is_write_locked(self, state: State, name: str) -> bool:
        """``rw_is_write_locked`` (``percpu_rw_is_write_locked`` on a percpu
        lock) evaluated on a state."""
        return self._routines.write_locked_word(self, self.locks[name], state[0])

    def readers(self, state: State, name: str) -> int:
        """Reader count in the lock's (inner) rwlock word."""
        return self._routines.reader_count(self, self.locks[name], state[0])

    def slot(self, state: State, owner: str, cpu: int) -> str | None:
        """Name of the lock in percpu slot ``owner[cpu]``, None if NULL."""
        lid = state[0][self.slots[owner] + cpu]
        return self.lock_by_id[lid].name if lid else None

    def lock_name(self, lid: int) -> str:
        """What a slot holding lid points at."""
        return self.lock_by_id[lid].name if lid in self.lock_by_id else "NULL"

    def dirty_locks(self, mem: tuple[int, ...]) -> list[str]:
        """Locks whose memory is not back to the unlocked state."""
        return [info.name for info in self.locks.values()
                if not self._routines.is_clean(self, info, mem)]

    def blocked_index(self, state: State, i: int) -> int:
        """Index of the op CPU i cannot get past: the op it is in, or, when
        it is between ops, the next one that touches a lock (the local ops
        before it, a critical section, run in the same step)."""
        c = state[1][i]
        ops = self.sc.programs[i].ops
        k = c.op_idx
        if c.stack:
            return k
        for _ in range(len(ops) + 1):
            if k >= len(ops):
                k = 0
            if ops[k].kind not in LOCAL_OPS:
                return k
            k += 1
        return c.op_idx

    def blocked_op(self, state: State, i: int) -> str:
        k = self.blocked_index(state, i)
        ops = self.sc.programs[i].ops
        return f"op {k} {ops[k]}" if k < len(ops) else "end"

    def where(self, state: State, i: int) -> str:
        """Human description of where CPU i is."""
        c = state[1][i]
        prog = self.sc.programs[i]
        if c.status == DONE:
            return "done"
        at = str(prog.ops[c.op_idx]) if c.op_idx < len(prog.ops) else "end"
        frames = "/".join(f"{f[0].__name__}@{f[1]}" for f in c.stack if f[0] is not _Return)
        return f"op {c.op_idx} {at}" + (f" [{frames}]" if frames else "")


def _Return(ctx: Ctx, pc: int, a: tuple, loc: tuple, rv: Any) -> tuple:
    """Trampoline for a return whose landing pc had to wait for the next step."""
    return (RET, a[0])


def _acquires(op: Op) -> bool:
    return op.kind.endswith(("_lock", "_trylock", "lock_recursive", "_lock_irq",
                             "_lock_irqsave")) and "unlock" not in op.kind


def _mode(op: Op) -> str:
    if op.kind.startswith("spin"):
        return "x"
    return "w" if "write" in op.kind else "r"


def _drop_hold(holds: tuple, op: Op) -> tuple:
    if "unlock" not in op.kind:
        return holds
    mode = _mode(op)
    for j in range(len(holds) - 1, -1, -1):
        if holds[j][0] == op.lock and holds[j][1] == mode:
            return holds[:j] + holds[j + 1 :]
    return holds


def _complete(holds: tuple, obs: tuple, op: Op, idx: int, rv: Any) -> tuple[tuple, tuple, bool]:
    """Bookkeeping when op finishes with return value rv: (holds, obs, skip)."""
    if op.kind in QUERY_OPS:
        return holds, obs + ((idx, bool(rv)),), False
    if op.kind in TRYLOCK_RELEASE:
        obs = obs + ((idx, bool(rv)),)
        if not rv:
            return holds, obs, True
    if _acquires(op):
        if op.kind in PERCPU_OPS:
            kind = rv if isinstance(rv, str) else "percpu"
        elif op.kind.endswith("_recursive"):
            kind = "rec"
        else:
            kind = "plain"
        return holds + ((op.lock, _mode(op), kind),), obs, False
    return holds, obs, False
