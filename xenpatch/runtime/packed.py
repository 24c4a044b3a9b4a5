"""Compact states and memoised steps for the explorer.

A machine ``State`` is nested tuples of per-CPU records; two equal records
reached on different paths are two objects, and every step re-runs the
interpreter.  The explorer works on packed states instead: one int holding, in fixed
32-bit fields, ``mem id, cpu id ..., log id`` (low to high), whose parts are
interned once (equal memories, CPU records and acquisition logs share one
id).  A packed state costs one int in the visited set, and hashing it does
not walk the records.  An int rather than a tuple of ids because a step is
then two int operations: the memo is keyed on the state masked down to the
stepping CPU's record and the memory (``key = ps & keymask[i]``), and it
stores the xor that turns those fields into the step's result
(``ps ^ delta``), where a tuple would be rebuilt and rehashed.

A CPU's step is a function of its own record and the memory alone
(``Machine.cpu_step``), so it is memoised per CPU on ``(record id, mem id)``:
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

PState = int  # fields of W bits: mem id, cpu id per CPU..., log id

W = 32
FIELD = (1 << W) - 1

# A memoised step: (xor taking the key's fields to the new record and memory,
# reads, writes, held, crash, log appended, ticket shift the other CPUs'
# records need), the ids already normalised.
_Hit = tuple[int, int, int, frozenset[str], Crash | None, tuple, tuple]


def log_bit(m: Machine) -> int:
    """The pseudo-word a step appending to the acquisition log writes (past
    the machine's memory words): two such steps do not commute."""
    return 1 << len(m.init_mem)


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
        # Per CPU, keyed by the state's mem and record fields of that CPU.
        self._memos: list[dict[int, _Hit | None]] = [{} for _ in range(self.n)]
        self.keymask = [FIELD | FIELD << (W * (1 + i)) for i in range(self.n)]
        self._blocked: dict[tuple[int, int], int] = {}
        self._norm: dict[int, tuple[int, tuple]] = {}
        self._cpu_norm: dict[tuple[int, tuple], int] = {}
        self._tickets = m._tickets
        self._log_bit = log_bit(m)
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

    def encode(self, parts: list[int] | tuple[int, ...]) -> PState:
        """The packed state of (mem id, cpu ids..., log id)."""
        ps = 0
        for k, x in enumerate(parts):
            ps |= x << (W * k)
        return ps

    def decode(self, ps: PState) -> list[int]:
        return [ps >> (W * k) & FIELD for k in range(self.n + 2)]

    def pack(self, state: State) -> PState:
        mem, cpus, log = state
        return self.encode([self.mem_id(mem), *(self.cpu_id(c) for c in cpus),
                            self.log_id(log)])

    def unpack(self, ps: PState) -> State:
        parts = self.decode(ps)
        cpus = self.cpus
        return (self.mems[parts[0]], tuple(cpus[k] for k in parts[1:-1]), self.logs[parts[-1]])

    def cpu_of(self, ps: PState, i: int) -> Cpu:
        return self.cpus[ps >> (W * (1 + i)) & FIELD]

    def records(self, ps: PState) -> list[Cpu]:
        cpus = self.cpus
        return [cpus[ps >> (W * (1 + i)) & FIELD] for i in range(self.n)]

    def holds_key(self, ps: PState) -> tuple[int, ...]:
        hid = self.hold_ids
        return tuple(hid[ps >> (W * (1 + i)) & FIELD] for i in range(self.n))

    # -- stepping ------------------------------------------------------------
    def step(self, ps: PState, i: int) -> PStep | None:
        """CPU i's step from packed state ps, or None if it cannot move."""
        memo = self._memos[i]
        key = ps & self.keymask[i]
        if key in memo:
            hit = memo[key]
        else:
            hit = memo[key] = self._run(i, key)
        if hit is None:
            return None
        delta, reads, writes, held, crash, log_add, shift = hit
        if shift or log_add:
            return self._step_slow(ps, i, hit)
        return PStep(ps ^ delta, reads, writes, held, crash)

    def moves(self, ps: PState) -> list[tuple[int, PState, frozenset[str], Crash | None]]:
        """(cpu, new state, locks whose holds changed, crash) for every CPU
        that can move: ``step`` for all CPUs at once, without the fields
        only the reduction needs (the plain search's inner loop)."""
        out = []
        memos, keymask = self._memos, self.keymask
        for i in range(self.n):
            memo = memos[i]
            key = ps & keymask[i]
            if key in memo:
                hit = memo[key]
            else:
                hit = memo[key] = self._run(i, key)
            if hit is None:
                continue
            if hit[5] or hit[6]:
                out.append((i, self._step_slow(ps, i, hit).state, hit[3], hit[4]))
            else:
                out.append((i, ps ^ hit[0], hit[3], hit[4]))
        return out

    def _step_slow(self, ps: PState, i: int, hit: _Hit) -> PStep:
        """A step that shifts the other CPUs' tickets or appends to the log."""
        delta, reads, writes, held, crash, log_add, shift = hit
        parts = self.decode(ps ^ delta)
        if shift:
            cn = self._cpu_norm
            for j in range(1, self.n + 1):
                if j == 1 + i:
                    continue  # already shifted in the memo
                k2 = (parts[j], shift)
                c2 = cn.get(k2)
                if c2 is None:
                    c2 = cn[k2] = self._shift_cpu(parts[j], shift)
                parts[j] = c2
        if log_add:
            parts[-1] = self.log_id(self.logs[parts[-1]] + log_add)
            writes |= self._log_bit
        return PStep(self.encode(parts), reads, writes, held, crash)

    def blocked_reads(self, ps: PState, i: int) -> int | None:
        """The words CPU i's disabled step waits on (None: finished or
        crashed, or not tried yet by step())."""
        return self._blocked.get((i, ps & self.keymask[i]))

    def _run(self, i: int, key: int) -> _Hit | None:
        """Run the interpreter once for (CPU i, record, memory): the new
        record and memory with the tickets already normalised (the shift
        the other CPUs' records still need comes with it)."""
        sh = W * (1 + i)
        cid, mid = key >> sh & FIELD, key & FIELD
        c = self.cpus[cid]
        if c.status != RUN:
            return None
        raw = self.m.cpu_step(self.mems[mid], c, i, ())
        if raw is None:
            self._blocked[(i, key)] = self.m.blocked_reads
            return None
        mem, new, reads, writes, held, crash, log, _ = raw
        cid2, mid2 = self.cpu_id(new), self.mem_id(mem)
        shift: tuple = ()
        if self._tickets:
            mid2, shift = self._normal(mid2)
            if shift:
                cid2 = self._shift_cpu(cid2, shift)
        if max(cid2, mid2) > FIELD:
            raise RuntimeError("explore: more than 2^32 distinct records or memories")
        return (key ^ (cid2 << sh | mid2), reads, writes, held, crash, log, shift)

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

    def sweeping(self, sym: Symmetry, ps: PState) -> bool:
        """Symmetry.polling on a packed state."""
        cpus = self.cpus
        for i, ahead in sym.writers:
            if ahead[cpus[ps >> W * (1 + i) & FIELD].op_idx]:
                break
        else:
            return False
        return True

    def canon(self, sym: Symmetry, ps: PState, settled: bool = False
              ) -> tuple[PState, Perm | None]:
        """Symmetry.canon on a packed state (``settled``: the caller knows
        no sweep is running or ahead)."""
        if not settled and self.sweeping(sym, ps):
            return ps, None  # kept as it is
        parts = self.decode(ps)
        mem = self.mems[parts[0]]
        perm: list[int] | None = None
        for g, places in self._groups(sym):
            # Sort key: the CPU's record id, then its slots (lock ids, < 2^16).
            keys = []
            for p, addrs in places:
                k = parts[p]
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
        mk = (parts[0], t)
        mid = self._perm_mem.get(mk)
        if mid is None:
            mid = self._perm_mem[mk] = self.mem_id(sym.apply_mem(mem, t, inv))
        out = [mid]
        out.extend(parts[1 + i] for i in t)
        out.append(parts[-1])
        return self.encode(out), t
