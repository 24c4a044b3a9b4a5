"""What a lock routine sees during one scheduler step (``Ctx``) and how a
step ends early: a crash, a second access, a false await.  The machine
(machine.py) drives steps; the routines (locks.py) only talk to a Ctx."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xenpatch.runtime.state import Cpu, MachineView


class Crash(Exception):
    """An ASSERT (debug builds) or BUG fired: the hypervisor stops."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class _Yield(Exception):
    """The current pc wants a second access: end the step before it."""


class _Blocked(Exception):
    """The step's await condition is false."""


class Ctx:
    """What a routine sees during one step: shared memory with an overlay of
    this step's writes, the CPU's private fields, and checks."""

    __slots__ = (
        "m", "mem", "over", "me", "preempt", "in_irq", "dbg", "accesses",
        "reads", "writes", "started", "on_start", "trace", "head", "queued", "debug",
        "tracking", "rw_latch", "owner_check", "lay", "irq_off", "irq_saved",
    )

    def __init__(self, m: MachineView, mem: tuple[int, ...], cpu: Cpu, me: int,
                 trace: bool) -> None:
        self.m = m
        self.mem = mem
        self.over: dict[int, int] = {}
        self.me = me
        self.preempt = cpu.preempt
        self.in_irq = cpu.in_irq
        self.irq_off = cpu.irq_off
        self.irq_saved = cpu.irq_saved
        self.dbg = cpu.dbg
        self.accesses = 0
        self.reads = 0
        self.writes = 0
        self.started = cpu.started
        self.on_start: Callable[[], None] | None = None
        self.trace: list[str] | None = [] if trace else None
        self.head = m.cfg.head
        self.queued = m.cfg.queued
        self.rw_latch = m.cfg.rw_latch
        self.owner_check = m.cfg.owner_check and m.cfg.debug
        self.debug = m.cfg.debug
        self.tracking = m.cfg.tracking
        self.lay = m.cfg.layout

    # -- access accounting -------------------------------------------------
    def _access(self) -> None:
        if self.accesses:
            raise _Yield
        self.accesses = 1
        if not self.started:
            self.started = True
            if self.on_start is not None:
                self.on_start()

    def _get(self, v: int) -> int:
        self.reads |= 1 << v
        o = self.over
        return o[v] if v in o else self.mem[v]

    def _set(self, v: int, val: int) -> None:
        self.writes |= 1 << v
        self.over[v] = val

    def _log(self, text: str) -> None:
        if self.trace is not None:
            self.trace.append(text)

    def name(self, v: int) -> str:
        return self.m.var_names[v]

    # -- primary accesses: one per step ------------------------------------
    def load(self, v: int) -> int:
        self._access()
        val = self._get(v)
        self._log(f"load {self.name(v)} = {val:#x}")
        return val

    def load_many(self, vs: Iterable[int]) -> tuple[int, ...]:
        """One atomic read of several fields of one word (e.g. head and tail)."""
        self._access()
        vals = tuple(self._get(v) for v in vs)
        pairs = zip(vs, vals, strict=True)
        self._log("load " + ", ".join(f"{self.name(v)} = {x:#x}" for v, x in pairs))
        return vals

    def store(self, v: int, val: int) -> None:
        self._access()
        self._set(v, val)
        self._log(f"store {self.name(v)} := {val:#x}")

    def xchg(self, v: int, val: int) -> int:
        self._access()
        old = self._get(v)
        self._set(v, val)
        self._log(f"xchg {self.name(v)}: {old:#x} -> {val:#x}")
        return old

    def cas(self, v: int, old: int, new: int) -> bool:
        self._access()
        cur = self._get(v)
        ok = cur == old
        if ok:
            self._set(v, new)
        outcome = "ok" if ok else f"fail (is {cur:#x})"
        self._log(f"cas {self.name(v)} {old:#x} -> {new:#x}: {outcome}")
        return ok

    def cas_many(self, vs: tuple[int, ...], old: tuple[int, ...], new: tuple[int, ...]) -> bool:
        self._access()
        cur = tuple(self._get(v) for v in vs)
        ok = cur == old
        if ok:
            for v, x in zip(vs, new, strict=True):
                self._set(v, x)
        names = "/".join(self.name(v) for v in vs)
        self._log(f"cas {names} {old} -> {new}: {'ok' if ok else 'fail'}")
        return ok

    def fetch_add(self, v: int, delta: int, mask: int = 0xFFFFFFFF) -> int:
        self._access()
        old = self._get(v)
        self._set(v, (old + delta) & mask)
        self._log(f"fetch_add {self.name(v)} {delta:+#x}: {old:#x} -> {(old + delta) & mask:#x}")
        return old

    def add_return(self, v: int, delta: int, mask: int = 0xFFFFFFFF) -> int:
        return (self.fetch_add(v, delta, mask) + delta) & mask

    def plain_add(self, v: int, delta: int, mask: int = 0xFFFFFFFF) -> int:
        """``v += delta`` by the only CPU that writes v (x86 ``add_sized``):
        one step like fetch_add, but a plain load and store, not a locked
        instruction -- the cost model tells the two apart."""
        self._access()
        old = self._get(v)
        self._set(v, (old + delta) & mask)
        self._log(f"add {self.name(v)} {delta:+#x}: {old:#x} -> {(old + delta) & mask:#x}")
        return old

    def fetch_and(self, v: int, bits: int) -> int:
        self._access()
        old = self._get(v)
        self._set(v, old & bits)
        self._log(f"and {self.name(v)} &= {bits:#x}: {old:#x} -> {old & bits:#x}")
        return old

    def await_(self, v: int, cond: Callable[[int], bool], what: str = "") -> int:
        """SPIN until cond(mem[v]); returns the value that satisfied it."""
        self._access()
        val = self._get(v)
        if not cond(val):
            raise _Blocked
        self._log(f"spin until {what or self.name(v)}: {self.name(v)} = {val:#x}")
        return val

    def await_many(
        self, vs: tuple[int, ...], cond: Callable[[tuple[int, ...]], bool]
    ) -> tuple[int, ...]:
        self._access()
        vals = tuple(self._get(v) for v in vs)
        if not cond(vals):
            raise _Blocked
        return vals

    # -- non-primary: folded into the step's access ------------------------
    def own(self, v: int) -> int:
        """Read a word only this CPU writes (its own slot) or whose answer
        for this CPU no other CPU can change (``recurse_cpu == me``).  Not a
        step of its own, but still a read for the reduction: misuse (another
        CPU's unlock) can write such a word."""
        return self._get(v)

    def fold_store(self, v: int, val: int) -> None:
        """Store to a word whose other readers cannot tell when it happened
        (recursion fields, debug owner)."""
        self._set(v, val)
        self._log(f"store {self.name(v)} := {val:#x}")

    def fence(self, what: str) -> None:
        # Sequentially consistent model: a barrier orders nothing further, it
        # is shown in traces so replays read like the C.
        self._log(f"FENCE ({what})")

    def note(self, text: str) -> None:
        self._log(text)

    # -- checks -------------------------------------------------------------
    def assert_(self, cond: bool, what: str) -> None:
        if self.debug and not cond:
            raise Crash("assert", f"ASSERT({what}) failed")

    def bug_on(self, cond: bool, what: str) -> None:
        if cond:
            raise Crash("bug", f"BUG_ON({what})")

    def track_enter(self, key: int) -> None:
        """HEAD CONFIG_DEBUG_LOCKS: a blocking acquire of a lock this CPU
        already holds is a BUG."""
        if self.tracking and key in self.dbg:
            raise Crash("bug", f"BUG: {self.m.key_names[key]} taken recursively")

    def track_add(self, key: int) -> None:
        if self.tracking:
            self.dbg = self.dbg + (key,)

    def track_remove(self, key: int) -> None:
        if self.tracking and key in self.dbg:
            i = self.dbg.index(key)
            self.dbg = self.dbg[:i] + self.dbg[i + 1 :]

    @property
    def ncpus(self) -> int:
        return self.m.ncpus
