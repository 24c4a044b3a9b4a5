"""Compact states and memoised steps for the explorer.

A machine ``State`` is nested tuples of per-CPU records; two equal records
reached on different paths are two objects, and every step re-runs the
interpreter.  The explorer works on packed states instead: a flat tuple of
small ints ``(mem id, cpu id ..., log id)`` whose parts are interned once
(equal memories, CPU records and acquisition logs share one id).  A packed
state costs a tuple of n + 2 ints in the visited set, and hashing it does
not walk the records.

A CPU's step is a function of its own record and the memory alone
(``Machine.cpu_step``), so it is memoised on ``(cpu, record id, mem id)``:
a program has few distinct records and memories compared with the states
they combine into, so most steps are a dictionary hit.  Ticket
normalisation, the only part that looks at the other CPUs, is memoised per
memory and per record as well.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from xenpatch.runtime.ctx import Crash
from xenpatch.runtime.machine import RUN, Cpu, Machine, State

if TYPE_CHECKING:
    from xenpatch.runtime.symmetry import Perm, Symmetry

PState = tuple[int, ...]  # (mem id, cpu id per CPU..., log id)

# A memoised step: (cpu id, mem id, reads, writes, held, crash, log appended).
_Hit = tuple[int, int, int, int, frozenset[str], Crash | None, tuple]


class PStep(NamedTuple):
    """A step on packed states; the fields of machine.StepResult the
    explorer needs."""

    state: PState
    reads: int
    writes: int
    held: frozenset[str]
    crash: Crash | None


class Packer:
    """Interning tables and step memo for one Machine."""

    def __init__(self, m: Machine) -> None:
        self.m = m
        self.n = m.ncpus
        self.mems: list[tuple[int, ...]] = []
        self._mem_ids: dict[tuple[int, ...], int] = {}
        self.cpus: list[Cpu] = []
        self._cpu_ids: dict[Cpu, int] = {}
        self.logs: list[tuple] = []
        self._log_ids: dict[tuple, int] = {}
        # Per CPU record id: the id of its holds tuple (for the exclusion memo).
        self.hold_ids: list[int] = []
        self._holds: dict[tuple, int] = {}
        self._memo: dict[tuple[int, int, int], _Hit | None] = {}
        self._blocked: dict[tuple[int, int, int], int] = {}
        self._norm: dict[int, tuple[int, tuple]] = {}
        self._cpu_norm: dict[tuple[int, tuple], int] = {}
        self._tickets = m._tickets
        self._log_bit = 1 << len(m.init_mem)
        self._perm_mem: dict[tuple[int, Perm], int] = {}
        self._sym_groups: list[tuple[list[int], list[tuple[int, tuple[int, ...]]]]] | None = None

    # -- interning -----------------------------------------------------------
    def mem_id(self, mem: tuple[int, ...]) -> int:
        k = self._mem_ids.get(mem)
        if k is None:
            k = self._mem_ids[mem] = len(self.mems)
            self.mems.append(mem)
        return k

    def cpu_id(self, c: Cpu) -> int:
        k = self._cpu_ids.get(c)
        if k is None:
            k = self._cpu_ids[c] = len(self.cpus)
            self.cpus.append(c)
            h = self._holds.get(c.holds)
            if h is None:
                h = self._holds[c.holds] = len(self._holds)
            self.hold_ids.append(h)
        return k

    def log_id(self, log: tuple) -> int:
        k = self._log_ids.get(log)
        if k is None:
            k = self._log_ids[log] = len(self.logs)
            self.logs.append(log)
        return k

    def pack(self, state: State) -> PState:
        mem, cpus, log = state
        return (self.mem_id(mem), *(self.cpu_id(c) for c in cpus), self.log_id(log))

    def unpack(self, ps: PState) -> State:
        cpus = self.cpus
        return (self.mems[ps[0]], tuple(cpus[k] for k in ps[1:-1]), self.logs[ps[-1]])

    def records(self, ps: PState) -> list[Cpu]:
        cpus = self.cpus
        return [cpus[k] for k in ps[1:-1]]

    def holds_key(self, ps: PState) -> tuple[int, ...]:
        hid = self.hold_ids
        return tuple(hid[k] for k in ps[1:-1])

    # -- stepping ------------------------------------------------------------
    def step(self, ps: PState, i: int) -> PStep | None:
        """CPU i's step from packed state ps, or None if it cannot move."""
        key = (i, ps[1 + i], ps[0])
        memo = self._memo
        if key in memo:
            hit = memo[key]
        else:
            hit = memo[key] = self._run(key)
        if hit is None:
            return None
        cid, mid, reads, writes, held, crash, log_add = hit
        parts = list(ps)
        parts[1 + i] = cid
        parts[0] = mid
        if self._tickets:
            mid2, shift = self._normal(mid)
            if shift:
                parts[0] = mid2
                cn = self._cpu_norm
                for j in range(1, self.n + 1):
                    k2 = (parts[j], shift)
                    c2 = cn.get(k2)
                    if c2 is None:
                        c2 = cn[k2] = self._shift_cpu(parts[j], shift)
                    parts[j] = c2
        if log_add:
            parts[-1] = self.log_id(self.logs[ps[-1]] + log_add)
            writes |= self._log_bit
        return PStep(tuple(parts), reads, writes, held, crash)

    def blocked_reads(self, ps: PState, i: int) -> int | None:
        """The words CPU i's disabled step waits on (None: finished or
        crashed, or not tried yet by step())."""
        return self._blocked.get((i, ps[1 + i], ps[0]))

    def _run(self, key: tuple[int, int, int]) -> _Hit | None:
        i, cid, mid = key
        c = self.cpus[cid]
        if c.status != RUN:
            return None
        raw = self.m.cpu_step(self.mems[mid], c, i, ())
        if raw is None:
            self._blocked[key] = self.m.blocked_reads
            return None
        mem, new, reads, writes, held, crash, log, _ = raw
        return (self.cpu_id(new), self.mem_id(mem), reads, writes, held, crash, log)

    def _normal(self, mid: int) -> tuple[int, tuple]:
        hit = self._norm.get(mid)
        if hit is None:
            from xenpatch.runtime import locks

            mem = self.mems[mid]
            shift = tuple((b, mem[b]) for b in self._tickets if mem[b])
            if shift:
                new, _ = locks.normalise_tickets(self._tickets, mem, ())
                hit = (self.mem_id(new), shift)
            else:
                hit = (mid, ())
            self._norm[mid] = hit
        return hit

    def _shift_cpu(self, cid: int, shift: tuple) -> int:
        from xenpatch.runtime import locks

        c = self.cpus[cid]
        d = dict(shift)
        stack = tuple(locks._shift_frame(f, d) for f in c.stack)
        return cid if stack == c.stack else self.cpu_id(c._replace(stack=stack))

    # -- symmetry ------------------------------------------------------------
    def _groups(self, sym: Symmetry) -> list[tuple[list[int], list[tuple[int, tuple[int, ...]]]]]:
        """Per symmetry group: its CPUs, and each one's place in a packed
        state and the addresses of its slots."""
        if self._sym_groups is None:
            self._sym_groups = [(g, [(1 + i, tuple(s + i for s in sym.slot_bases)) for i in g])
                                for g in sym.groups]
        return self._sym_groups

    def canon(self, sym: Symmetry, ps: PState) -> tuple[PState, Perm | None]:
        """Symmetry.canon on a packed state."""
        mem = self.mems[ps[0]]
        perm: list[int] | None = None
        for g, places in self._groups(sym):
            # Sort key: the CPU's record id, then its slots (lock ids, < 2^16).
            keys = []
            for p, addrs in places:
                k = ps[p]
                for a in addrs:
                    k = (k << 16) | mem[a]
                keys.append(k)
            if keys == sorted(keys):
                continue
            if perm is None:
                perm = list(range(self.n))
            # sorted() is stable: equal keys keep CPU-number order.
            order = [i for _, i in sorted(zip(keys, g, strict=True), key=lambda p: p[0])]
            for p, i in zip(g, order, strict=True):
                perm[p] = i
        if perm is None:
            return ps, None
        t = tuple(perm)
        inv = [0] * self.n
        for p, i in enumerate(t):
            inv[i] = p
        mk = (ps[0], t)
        mid = self._perm_mem.get(mk)
        if mid is None:
            mid = self._perm_mem[mk] = self.mem_id(sym.apply_mem(mem, t, inv))
        out = [mid]
        out.extend(ps[1 + i] for i in t)
        out.append(ps[-1])
        return tuple(out), t
